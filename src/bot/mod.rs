//! The conversation service: turns one platform-neutral inbound event into store changes and
//! replies. Events are applied by one writer task with group commit: every event queued at that
//! moment runs in one `BEGIN IMMEDIATE` transaction, each in its own savepoint that also records
//! its event id, and no caller gets its replies before that transaction has committed. So a
//! redelivered event changes nothing, a failing event rolls back alone, and an acknowledged
//! answer is committed.

// Loading answers into reports is shared with the digest, so it lives outside the bot.
pub use crate::reporting as insights;
mod views;

pub use views::{ask, posted};

use crate::config::Config;
use crate::core::answer::{AnswerError, AnswerValue};
use crate::core::command::{self, Command, CommandError};
use crate::core::event::{
    Actor, Body, Button, ButtonAction, Chat, ChatKind, Inbound, Keyboard, Label, Msg, Outbound,
    Platform, To,
};
use crate::core::flow::{self, FlowError, Next};
use crate::core::ids::{QuestionId, SurveyId, slugify};
use crate::core::interact::{self, Ack, Context, Input, Mode, Outcome};
use crate::core::payload::{Action, Payload};
use crate::core::survey::{
    Question, QuestionKind, ResultsVisibility, Status, Survey, make_choices,
};
use crate::locale::DEFAULT as DEFAULT_LOCALE;
use crate::store::{Store, StoreError, StoredSurvey, Tx, Who};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

pub use crate::clock::{Clock, SystemClock};

/// What broke while handling an event. The member sees a polite "please try again" and
/// nothing was committed; the operator's log carries this.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The event was applied, but the transaction it shared with other events did not commit.
    #[error("the group commit failed: {0}")]
    Commit(Arc<StoreError>),
    /// The writer task stopped (it panicked, or the runtime is shutting down).
    #[error("the writer task stopped before the event was committed")]
    Stopped,
}

/// The most events one group commit takes; bounds how long the first of them waits.
const MAX_BATCH: usize = 256;

/// One event waiting for the writer task, and where its result goes after the commit.
struct Job {
    ev: Inbound,
    /// Only record the event id (reports are made after the commit, outside the writer).
    claim_only: bool,
    done: oneshot::Sender<Result<Handled, BotError>>,
    span: tracing::Span,
}

impl BotError {
    /// Logs the failure for the operator. A database that cannot be written gets a message
    /// saying so, since only the operator can fix it (free disk space, file permissions).
    pub fn log(&self) {
        let unavailable = match self {
            BotError::Store(e) => e.is_unavailable(),
            BotError::Commit(e) => e.is_unavailable(),
            BotError::Stopped => false,
        };
        match self {
            _ if unavailable => tracing::error!(
                error = %self,
                "the database cannot be written (disk full, read-only file or locked): \
                 nothing was saved and the member was asked to try again"
            ),
            _ => tracing::error!(
                error = %self,
                "event failed: nothing was saved and the member was asked to try again"
            ),
        }
    }
}

/// The result of handling one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// The event id was seen before: nothing changed and nothing should be sent.
    Duplicate,
    /// Committed; send these.
    Replies(Vec<Outbound>),
}

impl Handled {
    pub fn replies(&self) -> &[Outbound] {
        match self {
            Handled::Duplicate => &[],
            Handled::Replies(r) => r,
        }
    }
}

/// The message shown when something broke and nothing was saved.
pub fn try_again() -> Msg {
    Msg::new("error", json!({ "kind": "try_again" }))
}

/// The service shared by all adapters.
#[derive(Clone)]
pub struct Bot {
    store: Store,
    cfg: Arc<Config>,
    clock: Arc<dyn Clock>,
    /// The writer task's queue; started on first use and restarted if it died.
    writer: Arc<Mutex<Option<mpsc::UnboundedSender<Job>>>>,
    /// Locales members can be served in (code, own name), the default first: every template
    /// locale and every locale a configured survey is worded in.
    locales: Arc<Vec<(String, String)>>,
    narrator: Option<Arc<crate::narrative::Narrator>>,
    /// Draws the chart that goes with a report; none until the app gives it a renderer.
    charts: Arc<crate::render::report::Charts>,
    /// Survey translations from `bot.toml` by survey id; replaced whole on reload (SIGHUP).
    wording: Arc<std::sync::RwLock<Arc<Wording>>>,
}

type Wording = std::collections::BTreeMap<
    String,
    std::collections::BTreeMap<String, crate::core::survey::SurveyText>,
>;

fn wording_of(cfg: &Config) -> Arc<Wording> {
    Arc::new(
        cfg.surveys
            .iter()
            .map(|s| (s.survey.id.to_string(), s.locales.clone()))
            .collect(),
    )
}

fn err(kind: &str, extra: Value) -> Msg {
    let mut data = json!({ "kind": kind });
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    Msg::new("error", data)
}

fn reply(msg: Msg) -> Outbound {
    Outbound::Reply {
        msg,
        keyboard: Keyboard::default(),
    }
}

fn answer_error(e: &AnswerError) -> Msg {
    let extra = match e {
        AnswerError::OutOfRange { min, max, got } => json!({ "min": min, "max": max, "got": got }),
        AnswerError::TooLong { max, got } => json!({ "max": max, "got": got }),
        AnswerError::TooMany { max } => json!({ "max": max }),
        AnswerError::WrongType(t) => json!({ "type": t }),
        _ => json!({}),
    };
    err(e.key(), extra)
}

fn stale() -> Msg {
    err("stale_button", json!({}))
}

impl Bot {
    pub fn new(store: Store, cfg: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        let mut bot = Self {
            store,
            wording: Arc::new(std::sync::RwLock::new(wording_of(&cfg))),
            cfg,
            clock,
            locales: Arc::new(Vec::new()),
            writer: Default::default(),
            narrator: None,
            charts: Arc::new(|_| None),
        };
        bot = bot.with_locales(vec![(DEFAULT_LOCALE.to_string(), "English".to_string())]);
        bot
    }

    /// The template locales with their own names; survey translations add theirs.
    pub fn with_locales(mut self, mut locales: Vec<(String, String)>) -> Self {
        if !locales.iter().any(|(c, _)| c == DEFAULT_LOCALE) {
            locales.insert(0, (DEFAULT_LOCALE.to_string(), DEFAULT_LOCALE.to_string()));
        }
        let persona = self.cfg.persona.iter().flat_map(|p| p.locales.keys());
        for code in self
            .cfg
            .surveys
            .iter()
            .flat_map(|s| s.locales.keys())
            .chain(persona)
        {
            if !locales.iter().any(|(c, _)| c == code) {
                locales.push((code.clone(), code.clone()));
            }
        }
        self.locales = Arc::new(locales);
        self
    }

    /// Locale codes members can be served in, the default first.
    pub fn locale_codes(&self) -> Vec<String> {
        self.locales.iter().map(|(c, _)| c.clone()).collect()
    }

    /// The locale for a member: their `/language` choice, else the platform's tag matched to
    /// what we have, else the default.
    fn resolve_locale(&self, chosen: Option<&str>, platform: Option<&str>) -> String {
        let codes = self.locale_codes();
        chosen
            .into_iter()
            .chain(platform)
            .find_map(|t| crate::locale::negotiate(t, &codes))
            .unwrap_or(DEFAULT_LOCALE)
            .to_string()
    }

    /// The locale a member is served in now, for adapters that render outside `handle`.
    pub async fn member_locale(&self, actor: &Actor) -> Result<String, BotError> {
        let chosen = self
            .store
            .member_locale_override(actor.platform.as_str(), &actor.user_id)
            .await?;
        Ok(self.resolve_locale(chosen.as_deref(), actor.locale.as_deref()))
    }

    /// A survey worded for `locale` (from `bot.toml`), falling back to its default text.
    pub fn worded(&self, mut s: StoredSurvey, locale: &str) -> StoredSurvey {
        if let Some(w) = self.localised(&s.survey, locale) {
            s.survey = w;
        }
        s
    }

    /// `survey` in `locale`'s translation, when `bot.toml` has one.
    fn localised(&self, survey: &Survey, locale: &str) -> Option<Survey> {
        let all = match self.wording.read() {
            Ok(w) => w.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        all.get(survey.id.as_str())
            .and_then(|t| crate::locale::pick(locale, t))
            .map(|t| survey.localised(Some(t)))
    }

    /// Takes the survey translations of a reloaded config (every clone of this bot sees them).
    pub fn set_wording(&self, cfg: &Config) {
        let new = wording_of(cfg);
        match self.wording.write() {
            Ok(mut w) => *w = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    async fn survey_by_slug(
        &self,
        tx: &mut Tx,
        slug: &str,
        locale: &str,
    ) -> Result<Option<StoredSurvey>, BotError> {
        Ok(tx
            .survey_by_slug(slug)
            .await?
            .map(|s| self.worded(s, locale)))
    }

    async fn survey_by_key(
        &self,
        tx: &mut Tx,
        key: i64,
        locale: &str,
    ) -> Result<Option<StoredSurvey>, BotError> {
        Ok(tx.survey_by_key(key).await?.map(|s| self.worded(s, locale)))
    }

    /// With `[narrative]`: reports and digests get a checked model-written narrative.
    pub fn with_narrator(mut self, narrator: Option<Arc<crate::narrative::Narrator>>) -> Self {
        self.narrator = narrator;
        self
    }

    /// Reports and digests carry the chart `charts` draws.
    pub fn with_charts(mut self, charts: Arc<crate::render::report::Charts>) -> Self {
        self.charts = charts;
        self
    }

    pub fn charts(&self) -> Arc<crate::render::report::Charts> {
        self.charts.clone()
    }

    pub fn narrator(&self) -> Option<&Arc<crate::narrative::Narrator>> {
        self.narrator.as_ref()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Whether the actor may run product-team commands.
    pub fn is_team(&self, a: &Actor) -> bool {
        let t = &self.cfg.team;
        match a.platform {
            Platform::Console => t.console.contains(&a.user_id),
            Platform::Telegram => a
                .user_id
                .parse::<i64>()
                .is_ok_and(|id| t.telegram.contains(&id)),
            Platform::Discord => {
                a.is_admin
                    || a.user_id
                        .parse::<u64>()
                        .is_ok_and(|id| t.discord_users.contains(&id))
                    || a.roles
                        .iter()
                        .filter_map(|r| r.parse::<u64>().ok())
                        .any(|r| t.discord_roles.contains(&r))
            }
            Platform::Import => false,
        }
    }

    /// Whether `chat` is listed in `[team] chats`.
    pub fn is_team_chat(&self, chat: &Chat) -> bool {
        self.cfg
            .team
            .chats
            .iter()
            .any(|c| c.as_chat_id() == chat.id)
    }

    /// Whether team output (reports, exports, digests, confirmations, surveys members cannot
    /// see) may be shown where `ev` came from: a private chat, or a chat in `[team] chats`.
    /// Anywhere else a group may read it, so it goes to the actor privately.
    pub fn team_output_here(&self, ev: &Inbound) -> bool {
        ev.chat.kind == ChatKind::Private || self.is_team_chat(&ev.chat)
    }

    /// The team's view (all surveys, drafts and closed ones included) for this event.
    fn team_view(&self, ev: &Inbound) -> bool {
        self.is_team(&ev.actor) && self.team_output_here(ev)
    }

    /// Team commands answer privately unless they came from a private or team chat; the
    /// poll a `/post` or `/poll` puts in the chat stays there, as that is what it asks for.
    fn route_team(&self, ev: &Inbound, cmd: &Command, out: Vec<Outbound>) -> Vec<Outbound> {
        if !cmd.needs_team() || self.team_output_here(ev) {
            return out;
        }
        out.into_iter().map(Outbound::privately).collect()
    }

    /// Handles one inbound event. Nothing is sent by the core: adapters send the replies after
    /// this returns, which is after the event's transaction has committed.
    pub async fn handle(&self, ev: &Inbound) -> Result<Handled, BotError> {
        self.handle_then(ev, || {}).await
    }

    /// `handle`, calling `committed` as soon as the event's transaction committed or failed
    /// (on an early error it is dropped uncalled), before a report is built: Telegram's
    /// listener confirms the update then, without waiting for a slow report or narrative.
    pub async fn handle_then(
        &self,
        ev: &Inbound,
        committed: impl FnOnce(),
    ) -> Result<Handled, BotError> {
        let span = tracing::info_span!(
            "event",
            event = %ev.event_id,
            platform = ev.actor.platform.as_str()
        );
        let report = match &ev.body {
            Body::Text(t) => match command::parse(t) {
                Ok(Some(cmd @ Command::Surveys)) => Some(cmd),
                Ok(Some(
                    cmd @ (Command::Insights { .. } | Command::Export(_) | Command::Digest),
                )) if self.is_team(&ev.actor) => Some(cmd),
                _ => None,
            },
            Body::Button(_) => None,
        };
        let forget = matches!(&ev.body, Body::Text(t) if matches!(command::parse(t), Ok(Some(Command::ForgetMe))));
        let claim_only = report.is_some();
        let (done, result) = oneshot::channel();
        self.queue(Job {
            ev: ev.clone(),
            claim_only,
            done,
            span: span.clone(),
        })?;
        let handled = result.await.map_err(|_| BotError::Stopped);
        committed();
        let handled = handled??;
        if forget {
            // Outside the transaction: old WAL frames still hold the deleted rows.
            match self.store.checkpoint().await {
                Ok(true) => {}
                Ok(false) => tracing::warn!("WAL checkpoint after /forgetme was partial"),
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint after /forgetme failed"),
            }
        }
        match (report, handled) {
            (Some(cmd), Handled::Replies(_)) => {
                let locale = self.member_locale(&ev.actor).await?;
                let mut local = ev.clone();
                local.actor.serve_locale = Some(locale.clone());
                let out = self
                    .read_command(&local, cmd.clone(), self.clock.now())
                    .instrument(span)
                    .await?;
                let out = self.route_team(ev, &cmd, out);
                // The narrative waits on the network, so it runs after the commit, never inside.
                let mut out = self.narrate(out).await;
                for o in &mut out {
                    o.localise(&locale);
                }
                Ok(Handled::Replies(out))
            }
            (_, handled) => Ok(handled),
        }
    }

    fn queue(&self, job: Job) -> Result<(), BotError> {
        let mut writer = self.writer.lock().map_err(|_| BotError::Stopped)?;
        let tx = match writer.as_ref() {
            Some(tx) if !tx.is_closed() => tx,
            _ => {
                let (tx, rx) = mpsc::unbounded_channel();
                // The task's own Bot has no queue, so it ends when the last user handle drops.
                let task = Bot {
                    writer: Default::default(),
                    ..self.clone()
                };
                tokio::spawn(task.write_loop(rx));
                writer.insert(tx)
            }
        };
        tx.send(job).map_err(|_| BotError::Stopped)
    }

    /// The single writer: takes everything queued, applies it in one transaction, commits,
    /// then answers every caller.
    async fn write_loop(self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
            self.commit_batch(std::mem::take(&mut jobs)).await;
        }
    }

    async fn commit_batch(&self, jobs: Vec<Job>) {
        let mut tx = match self.store.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, events = jobs.len(), "cannot open a transaction");
                let e = Arc::new(e);
                for j in jobs {
                    let _ = j.done.send(Err(BotError::Commit(e.clone())));
                }
                return;
            }
        };
        let mut results = Vec::with_capacity(jobs.len());
        let mut broken = None;
        for j in jobs {
            let r = if broken.is_some() {
                Err(BotError::Stopped)
            } else {
                match self
                    .apply(&mut tx, &j.ev, j.claim_only)
                    .instrument(j.span.clone())
                    .await
                {
                    Ok(r) => r,
                    Err(e) => {
                        // The savepoint could not be rolled back: nothing of this batch may
                        // be committed.
                        j.span
                            .in_scope(|| tracing::error!(error = %e, "savepoint failed"));
                        broken = Some(Arc::new(e));
                        Err(BotError::Stopped)
                    }
                }
            };
            results.push((j, r));
        }
        let committed = match broken {
            Some(e) => Err(e),
            None => tx.commit().await.map_err(Arc::new),
        };
        if let Err(e) = &committed {
            tracing::error!(error = %e, events = results.len(), "group commit failed; nothing of the batch was saved");
        }
        for (j, r) in results {
            let r = match (&committed, r) {
                (Ok(()), r) => r,
                (Err(_), Err(BotError::Store(e))) => Err(BotError::Store(e)),
                (Err(e), _) => Err(BotError::Commit(e.clone())),
            };
            // The caller may have gone away; the event is committed either way.
            let _ = j.done.send(r);
        }
    }

    /// Applies one event inside its own savepoint. The outer error means the savepoint itself
    /// failed; the inner result is the event's own outcome, already rolled back if an error.
    async fn apply(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        claim_only: bool,
    ) -> Result<Result<Handled, BotError>, StoreError> {
        let now = self.clock.now();
        if !tx.claim_event_in_savepoint(&ev.event_id, now).await? {
            tracing::debug!("duplicate event ignored");
            return Ok(Ok(Handled::Duplicate));
        }
        if claim_only {
            return Ok(Ok(Handled::Replies(Vec::new())));
        }
        let r = async {
            // Every step below words its replies for the member's resolved locale.
            let chosen = tx
                .find_member(ev.actor.platform.as_str(), &ev.actor.user_id)
                .await?
                .and_then(|m| m.locale_override);
            let locale = self.resolve_locale(chosen.as_deref(), ev.actor.locale.as_deref());
            let mut local = ev.clone();
            local.actor.serve_locale = Some(locale.clone());
            let ev = &local;
            let mut out = match &ev.body {
                Body::Text(t) => self.on_text(tx, ev, t, now).await?,
                Body::Button(p) => self.on_button(tx, ev, p, now).await?,
            };
            for o in &mut out {
                o.localise(&locale);
            }
            Ok::<_, BotError>(out)
        }
        .await;
        match r {
            Ok(out) => Ok(Ok(Handled::Replies(out))),
            Err(e) => {
                tracing::warn!(error = %e, "event failed; its changes are rolled back");
                if let Err(re) = tx.rollback_event().await {
                    // SQLite rolls the whole transaction back by itself on some errors (a
                    // full disk): the batch is lost, and the event's own error says why.
                    tracing::warn!(error = %re, "the savepoint is gone");
                    return Err(match e {
                        BotError::Store(se) => se,
                        _ => re,
                    });
                }
                Ok(Err(e))
            }
        }
    }

    /// Adds the checked narrative to the reports and digests among the replies, if configured.
    async fn narrate(&self, mut out: Vec<Outbound>) -> Vec<Outbound> {
        let Some(n) = &self.narrator else {
            return out;
        };
        let mut reports = Vec::new();
        for o in &mut out {
            match o {
                Outbound::Report { report, .. } => reports.push(report.as_mut()),
                Outbound::Digest { brief, .. } => reports.extend(brief.reports.iter_mut()),
                _ => {}
            }
        }
        if !reports.is_empty() {
            insights::narrate(n, &self.store, reports).await;
        }
        out
    }

    /// The current message of a posted survey (counter, status, buttons), for refreshing.
    pub async fn poll_view(&self, key: i64) -> Result<Option<(Msg, Keyboard)>, BotError> {
        let Some(s) = self.store.survey_by_key(key).await? else {
            return Ok(None);
        };
        let team = &self.cfg.team.locale;
        let s = self.worded(s, team);
        let n = self.store.respondent_count(key).await?;
        let status = s.effective_status(self.clock.now());
        let results = self.poll_results(key, &s.survey, status, team).await?;
        let (msg, kb) = views::posted(key, &s.survey, status, n, results, team);
        Ok(Some(in_locale(msg, kb, team)))
    }

    /// For the closer: the surveys with a message on `platform` not yet edited to its final
    /// state that are closed now, and the earliest `closes_at` among the others.
    pub async fn closing_polls(
        &self,
        platform: &str,
    ) -> Result<(Vec<i64>, Option<DateTime<Utc>>), BotError> {
        let now = self.clock.now();
        let mut due = Vec::new();
        let mut next: Option<DateTime<Utc>> = None;
        for key in self.store.unfinalised_postings(platform).await? {
            let Some(s) = self.store.survey_by_key(key).await? else {
                continue;
            };
            if s.effective_status(now) == Status::Closed {
                due.push(key);
            } else if let Some(c) = s.survey.closes_at {
                next = Some(next.map_or(c, |n| n.min(c)));
            }
        }
        Ok((due, next))
    }

    /// The tallies of an inline poll, when members may see them (`results = "live"`, or closed).
    async fn poll_results(
        &self,
        key: i64,
        survey: &crate::core::survey::Survey,
        status: Status,
        locale: &str,
    ) -> Result<Option<Value>, BotError> {
        let Some(q) = survey.questions.first() else {
            return Ok(None);
        };
        if !survey.is_inline_poll() || !views::results_visible(survey, status) {
            return Ok(None);
        }
        let rows = self.store.current_answers(key).await?;
        let answers: Vec<_> = rows
            .iter()
            .filter(|r| r.question_id == q.id.as_str())
            .map(|r| &r.value)
            .collect();
        Ok(Some(views::tallies(q, &answers, locale)))
    }

    async fn on_text(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        match command::parse(text) {
            Err(CommandError::Unknown(name)) => {
                Ok(vec![reply(err("unknown_command", json!({ "name": name })))])
            }
            Err(CommandError::Usage { command, problem }) => {
                let out = vec![reply(err(
                    "usage",
                    json!({ "command": command, "problem": problem }),
                ))];
                // A team command's mistake is team output too: private outside team chats.
                let team = command::TEAM_COMMANDS.contains(&command);
                Ok(if team && !self.team_output_here(ev) {
                    out.into_iter().map(Outbound::privately).collect()
                } else {
                    out
                })
            }
            Ok(Some(cmd)) => {
                if cmd.needs_team() && !self.is_team(&ev.actor) {
                    tracing::info!(command = cmd.name(), "refused: not product team");
                    return Ok(vec![reply(err(
                        "not_team",
                        json!({ "command": cmd.name() }),
                    ))]);
                }
                let out = self.on_command(tx, ev, cmd.clone(), now).await?;
                Ok(self.route_team(ev, &cmd, out))
            }
            Ok(None) if ev.chat.kind == ChatKind::Private => {
                self.on_private_text(tx, ev, text, now).await
            }
            // Group chatter is none of our business.
            Ok(None) => Ok(Vec::new()),
        }
    }

    async fn on_command(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        cmd: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let team = self.is_team(&ev.actor);
        match cmd {
            Command::Help => Ok(vec![reply(Msg::new(
                "help",
                json!({ "team": team, "platform": ev.actor.platform.as_str() }),
            ))]),
            Command::Start(None) => {
                let surveys = self.open_surveys(now, loc(ev)).await?;
                Ok(vec![reply(Msg::new(
                    "welcome",
                    json!({ "team": team, "surveys": surveys }),
                ))])
            }
            Command::Start(Some(id)) => {
                let Some(s) = self.survey_by_slug(tx, id.as_str(), loc(ev)).await? else {
                    return Ok(vec![reply(unknown_survey(&id))]);
                };
                // A draft's title is the team's until it opens: to anyone else it does not exist.
                if s.effective_status(now) == Status::Draft && !self.team_view(ev) {
                    return Ok(vec![reply(unknown_survey(&id))]);
                }
                if ev.chat.kind == ChatKind::Group {
                    let kb = Keyboard {
                        rows: vec![vec![Button {
                            label: Label::Template(Msg::new("button_take", json!({}))),
                            action: ButtonAction::DeepLink {
                                survey: s.survey.id.to_string(),
                            },
                        }]],
                    };
                    return Ok(vec![Outbound::Reply {
                        msg: Msg::new("go_private", json!({ "title": s.survey.title })),
                        keyboard: kb,
                    }]);
                }
                self.start_flow(tx, ev, &s, now).await
            }
            Command::Cancel => {
                let flows = self.active_flows(tx, &ev.actor, now).await?;
                match flows.first() {
                    Some((rid, sid, state, _)) => {
                        let mut state = state.clone();
                        state.finished = true;
                        tx.set_flow(*rid, &state, now).await?;
                        let (title, id) = self
                            .survey_by_key(tx, *sid, loc(ev))
                            .await?
                            .map(|s| (s.survey.title, s.survey.id.to_string()))
                            .unwrap_or_default();
                        Ok(vec![reply(Msg::new(
                            "cancelled",
                            json!({ "title": title, "id": id }),
                        ))])
                    }
                    None => {
                        // The persona question asked before a survey counts as that survey.
                        let member = tx
                            .find_member(ev.actor.platform.as_str(), &ev.actor.user_id)
                            .await?;
                        let pending = match member {
                            Some(m) => tx.take_pending_persona(m.id).await?,
                            None => None,
                        };
                        match pending {
                            Some(sid) => {
                                let (title, id) = self
                                    .survey_by_key(tx, sid, loc(ev))
                                    .await?
                                    .map(|s| (s.survey.title, s.survey.id.to_string()))
                                    .unwrap_or_default();
                                Ok(vec![reply(Msg::new(
                                    "cancelled",
                                    json!({ "title": title, "id": id }),
                                ))])
                            }
                            None => Ok(vec![reply(err("nothing_to_cancel", json!({})))]),
                        }
                    }
                }
            }
            Command::MyData => {
                let data = self
                    .store
                    .member_data(ev.actor.platform.as_str(), &ev.actor.user_id)
                    .await?;
                let mut surveys = std::collections::BTreeMap::new();
                if let Some(d) = &data {
                    let slugs = d.answers.iter().map(|a| &a.0);
                    for slug in slugs.chain(d.flow_drafts.iter().map(|f| &f.0)) {
                        if !surveys.contains_key(slug) {
                            if let Some(s) = self.store.survey_by_slug(slug).await? {
                                surveys.insert(slug.clone(), self.worded(s, loc(ev)).survey);
                            }
                        }
                    }
                }
                // The persona is stored as its option id; members see its label.
                let declined = data.as_ref().and_then(|d| d.persona.as_deref())
                    == Some(views::PERSONA_DECLINED_ID);
                let persona = data
                    .as_ref()
                    .and_then(|d| d.persona.as_deref())
                    .filter(|_| !declined)
                    .map(|id| {
                        self.cfg
                            .persona
                            .as_ref()
                            .map(|p| p.worded(loc(ev)))
                            .and_then(|q| {
                                q.kind
                                    .options()
                                    .iter()
                                    .find(|o| o.id.as_str() == id)
                                    .map(|o| o.label.clone())
                            })
                            .unwrap_or_else(|| id.to_string())
                    });
                Ok(vec![Outbound::Private {
                    msg: Msg::new(
                        "mydata",
                        mydata_json(data, persona, declined, &surveys, loc(ev)),
                    ),
                    keyboard: Keyboard::default(),
                }])
            }
            Command::ForgetMe => {
                let deleted = tx
                    .forget_member(ev.actor.platform.as_str(), &ev.actor.user_id)
                    .await?;
                let (surveys, total) = match &deleted {
                    Some(rows) => (
                        rows.iter()
                            .map(|(_, t, n)| json!({ "title": t, "answers": n }))
                            .collect::<Vec<_>>(),
                        rows.iter().map(|(_, _, n)| n).sum::<i64>(),
                    ),
                    None => (Vec::new(), 0),
                };
                tracing::info!(answers = total, "member data deleted on request");
                let mut out = vec![Outbound::Private {
                    msg: Msg::new(
                        "forgotten",
                        json!({ "known": deleted.is_some(), "surveys": surveys, "total": total }),
                    ),
                    keyboard: Keyboard::default(),
                }];
                // The deleted answers no longer count: open posted polls show the lower number.
                // A closed poll keeps its final result: editing it would show, by difference,
                // how this member voted in every poll.
                for (key, ..) in deleted.iter().flatten() {
                    let open = self
                        .store
                        .survey_by_key(*key)
                        .await?
                        .is_some_and(|s| s.effective_status(now) == Status::Open);
                    if open {
                        out.push(Outbound::RefreshPolls { survey: *key });
                    }
                }
                Ok(out)
            }
            Command::Surveys => self.read_command(ev, Command::Surveys, now).await,
            Command::Show(id) => {
                let s = self.survey_by_slug(tx, id.as_str(), loc(ev)).await?;
                match s {
                    // A closed survey stays visible: members see that it closed, and its
                    // result when they may.
                    Some(s) if self.team_view(ev) || s.effective_status(now) != Status::Draft => {
                        let n = self.store.respondent_count(s.key).await?;
                        let mut data = survey_json(&s, n, now, loc(ev), self.team_view(ev));
                        // Members see tallies of polls answered in the open only: a survey
                        // taken privately shows none (one respondent's tally is their answers).
                        if (s.survey.is_inline_poll() || self.team_view(ev))
                            && views::results_visible(&s.survey, s.effective_status(now))
                        {
                            let rows = self.store.current_answers(s.key).await?;
                            for (q, v) in s
                                .survey
                                .questions
                                .iter()
                                .zip(data["questions"].as_array_mut().into_iter().flatten())
                            {
                                if matches!(
                                    q.kind,
                                    QuestionKind::Pairwise { .. } | QuestionKind::OpenText { .. }
                                ) {
                                    continue;
                                }
                                let answers: Vec<&AnswerValue> = rows
                                    .iter()
                                    .filter(|r| r.question_id == q.id.as_str())
                                    .map(|r| &r.value)
                                    .collect();
                                v["tally"] = views::tallies(q, &answers, loc(ev));
                            }
                        }
                        Ok(vec![reply(Msg::new("survey", data))])
                    }
                    _ => Ok(vec![reply(unknown_survey(&id))]),
                }
            }
            Command::Poll {
                question,
                options,
                max,
                anonymous,
                results,
                closes,
            } => {
                let flags = PollFlags {
                    max,
                    anonymous,
                    results,
                    closes,
                };
                self.quick_poll(tx, ev, &question, options, flags, now)
                    .await
            }
            Command::Post(id) => {
                let Some(s) = tx.survey_by_slug(id.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&id))]);
                };
                match s.effective_status(now) {
                    Status::Closed => {
                        return Ok(vec![reply(err(
                            "survey_closed",
                            json!({ "title": s.survey.title }),
                        ))]);
                    }
                    Status::Draft if s.survey.opens_at.is_some_and(|o| now < o) => {
                        return Ok(vec![reply(err(
                            "not_open_yet",
                            json!({ "title": s.survey.title, "opens_at": views::when(s.survey.opens_at, loc(ev)) }),
                        ))]);
                    }
                    Status::Draft => tx.set_status(s.key, Status::Open, now).await?,
                    Status::Open => {}
                }
                self.post(tx, ev, s.key, &s.survey, now).await
            }
            Command::Close(id) => {
                let Some(s) = self.survey_by_slug(tx, id.as_str(), loc(ev)).await? else {
                    return Ok(vec![reply(unknown_survey(&id))]);
                };
                if s.status == Status::Closed {
                    return Ok(vec![reply(err(
                        "survey_closed",
                        json!({ "title": s.survey.title }),
                    ))]);
                }
                tx.set_status(s.key, Status::Closed, now).await?;
                let n = self.store.respondent_count(s.key).await?;
                Ok(vec![
                    reply(Msg::new(
                        "closed",
                        json!({ "title": s.survey.title, "id": s.survey.id.as_str(), "respondents": n }),
                    )),
                    Outbound::RefreshPolls { survey: s.key },
                ])
            }
            cmd @ (Command::Insights { .. } | Command::Export(_) | Command::Digest) => {
                self.read_command(ev, cmd, now).await
            }
            Command::Language(choice) => self.on_language(tx, ev, choice, now).await,
        }
    }

    /// The survey list, reports, exports and the digest read only committed data and can take seconds, so they
    /// run outside the writer's transaction and never hold up members' answers.
    async fn read_command(
        &self,
        ev: &Inbound,
        cmd: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let team = self.team_view(ev);
        match cmd {
            Command::Surveys => {
                let all: Vec<(StoredSurvey, i64)> = self
                    .store
                    .list_surveys()
                    .await?
                    .into_iter()
                    .map(|(s, n)| (self.worded(s, loc(ev)), n))
                    .collect();
                let list: Vec<Value> = all
                    .iter()
                    .filter(|(s, _)| team || s.effective_status(now) == Status::Open)
                    .map(|(s, n)| {
                        json!({
                            "id": s.survey.id.as_str(),
                            "title": s.survey.title,
                            "status": s.effective_status(now).as_str(),
                            "respondents": n,
                            "questions": s.survey.questions.len(),
                            "anonymous": s.survey.anonymous,
                        })
                    })
                    .collect();
                Ok(vec![reply(Msg::new(
                    "surveys",
                    json!({ "team": team, "surveys": list }),
                ))])
            }
            Command::Insights { survey, segment } => {
                let Some(s) = self.store.survey_by_slug(survey.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&survey))]);
                };
                // Team output: worded in the team's locale.
                let s = self.worded(s, &self.cfg.team.locale);
                let report = insights::report(
                    &self.store,
                    &s,
                    segment.as_deref(),
                    self.cfg.segments.min_size,
                    now,
                )
                .await?;
                let chart_png = (self.charts)(&report);
                Ok(vec![Outbound::Report {
                    report: Box::new(report),
                    chart_png,
                    to: To::Chat,
                }])
            }
            Command::Export(survey) => {
                let Some(s) = self.store.survey_by_slug(survey.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&survey))]);
                };
                let bytes = match crate::transfer::export_csv(&self.store, survey.as_str()).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::error!(error = %e, "export failed");
                        return Ok(vec![reply(try_again())]);
                    }
                };
                let n = self.store.respondent_count(s.key).await?;
                Ok(vec![Outbound::File {
                    name: format!("{}.csv", s.survey.id),
                    mime: "text/csv",
                    bytes,
                    caption: Msg::new(
                        "export_caption",
                        json!({ "title": s.survey.title, "id": s.survey.id.as_str(),
                                "respondents": n, "anonymous": s.survey.anonymous }),
                    ),
                    to: To::Chat,
                }])
            }
            Command::Digest => {
                let brief = self.digest_now(now).await?;
                let chart_png = brief.reports.iter().find_map(|r| (self.charts)(r));
                Ok(vec![Outbound::Digest {
                    brief: Box::new(brief),
                    chart_png,
                    to: To::Chat,
                }])
            }
            _ => Ok(Vec::new()),
        }
    }

    /// `/digest`: the brief the next scheduled digest will post, with the answers so far (the
    /// period from the latest slot to now, compared with the last digest delivered); without
    /// `[digest]`, the last seven days on a weekly cadence. `canvass digest --dry-run` is the same.
    pub async fn digest_now(
        &self,
        now: DateTime<Utc>,
    ) -> Result<crate::insight::digest::Brief, BotError> {
        let default = crate::config::DigestConfig {
            schedule: "mon 09:00".into(),
            timezone: "UTC".into(),
            telegram_chats: Vec::new(),
            discord_channels: Vec::new(),
            surveys: Vec::new(),
        };
        let cfg = self.cfg.digest.clone().unwrap_or(default);
        let schedule =
            self.cfg.digest.as_ref().and_then(|d| {
                crate::digest::schedule::Schedule::parse(&d.schedule, &d.timezone).ok()
            });
        Ok(crate::digest::compose::preview(
            &self.store,
            &cfg,
            schedule.as_ref(),
            self.cfg.segments.min_size,
            now,
            &|s| self.worded(s, &self.cfg.team.locale),
        )
        .await?)
    }

    /// `/language [CODE|auto]`: lists, chooses or clears the member's locale.
    async fn on_language(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        choice: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let available: Vec<Value> = self
            .locales
            .iter()
            .map(|(code, name)| json!({ "tag": code, "name": name }))
            .collect();
        let view = |kind: &str, locale: &str, asked: Option<&str>| {
            let name = self
                .locales
                .iter()
                .find(|(c, _)| c == locale)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| locale.to_string());
            reply(
                Msg::new(
                    "language",
                    json!({ "kind": kind, "current": locale, "current_name": name,
                            "asked": asked, "available": available }),
                )
                .in_locale(locale),
            )
        };
        let Some(asked) = choice else {
            return Ok(vec![view("list", loc(ev), None)]);
        };
        let codes = self.locale_codes();
        let chosen = if asked.eq_ignore_ascii_case("auto") {
            None
        } else {
            match crate::locale::negotiate(&asked, &codes) {
                Some(c) => Some(c.to_string()),
                None => return Ok(vec![view("unknown", loc(ev), Some(&asked))]),
            }
        };
        let m = tx.upsert_member(&ev.actor, now).await?;
        tx.set_locale_override(m.id, chosen.as_deref()).await?;
        tracing::info!(
            locale = chosen.as_deref().unwrap_or("auto"),
            "member chose a locale"
        );
        let now_in = self.resolve_locale(chosen.as_deref(), ev.actor.locale.as_deref());
        Ok(vec![view(
            if asked.eq_ignore_ascii_case("auto") {
                "auto"
            } else {
                "set"
            },
            &now_in,
            Some(&asked),
        )])
    }

    async fn open_surveys(&self, now: DateTime<Utc>, locale: &str) -> Result<Vec<Value>, BotError> {
        Ok(self
            .store
            .surveys()
            .await?
            .into_iter()
            .filter(|s| s.effective_status(now) == Status::Open)
            .map(|s| self.worded(s, locale))
            .map(|s| json!({ "id": s.survey.id.as_str(), "title": s.survey.title }))
            .collect())
    }

    async fn quick_poll(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        question: &str,
        options: Vec<String>,
        flags: PollFlags,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let closes_at = flags.closes.map(|d| d.resolve(now));
        if closes_at.is_some_and(|c| c <= now) {
            return Ok(vec![reply(err(
                "usage",
                json!({ "command": "poll", "problem": "that deadline has already passed (times are UTC)" }),
            ))]);
        }
        let longest = chrono::Duration::days(crate::core::command::MAX_POLL_DAYS);
        if closes_at.is_some_and(|c| c > now + longest) {
            return Ok(vec![reply(err(
                "usage",
                json!({ "command": "poll", "problem": format!(
                    "a poll runs at most {} days", crate::core::command::MAX_POLL_DAYS
                ) }),
            ))]);
        }
        let build = || -> Result<Survey, crate::core::survey::DefinitionError> {
            let options = make_choices(options.into_iter().map(|l| (None, l)).collect())?;
            let kind = match flags.max {
                Some(max) if max > 1 => QuestionKind::Multi {
                    options,
                    max_choices: max,
                },
                _ => QuestionKind::Single { options },
            };
            let q = Question::new(
                QuestionId::parse("q")
                    .map_err(|e| crate::core::survey::DefinitionError::new("id", e.to_string()))?,
                question,
                kind,
                false,
            )?;
            let title: String = question.chars().take(120).collect();
            Survey {
                id: SurveyId::parse("poll")
                    .map_err(|e| crate::core::survey::DefinitionError::new("id", e.to_string()))?,
                title,
                intro: None,
                questions: vec![q],
                anonymous: flags.anonymous,
                opens_at: None,
                closes_at,
                results: flags.results.unwrap_or_default(),
                follows: None,
                headline: None,
            }
            .validated()
        };
        let mut survey = match build() {
            Ok(s) => s,
            Err(e) => {
                return Ok(vec![reply(err(
                    "usage",
                    json!({ "command": "poll", "problem": e.to_string() }),
                ))]);
            }
        };
        // A readable, unique id: the question's first words plus a counter if taken.
        let base: String = slugify(question, "poll").chars().take(30).collect();
        let base = base.trim_end_matches('-').to_string();
        let mut slug = base.clone();
        let mut n = 2;
        while tx.slug_taken(&slug).await? {
            slug = format!("{base}-{n}");
            n += 1;
        }
        survey.id = match SurveyId::parse(&slug) {
            Ok(id) => id,
            Err(_) => return Ok(vec![reply(err("try_again", json!({})))]),
        };
        let key = tx
            .insert_survey(&survey, Status::Open, "command", now)
            .await?;
        tracing::info!(survey = %survey.id, "quick poll created");
        self.post(tx, ev, key, &survey, now).await
    }

    async fn post(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        key: i64,
        survey: &Survey,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        tx.reserve_posting(key, ev.actor.platform.as_str(), &ev.chat.id, now)
            .await?;
        let n = self.store.respondent_count(key).await?;
        // A group message is read by everyone: it speaks the team's locale, like its refreshes.
        let team = self.cfg.team.locale.clone();
        let worded = self
            .localised(survey, &team)
            .unwrap_or_else(|| survey.clone());
        let results = self.poll_results(key, &worded, Status::Open, &team).await?;
        let (msg, keyboard) = views::posted(key, &worded, Status::Open, n, results, &team);
        let (msg, keyboard) = in_locale(msg, keyboard, &team);
        Ok(vec![Outbound::PostPoll {
            survey: key,
            msg,
            keyboard,
        }])
    }

    /// Segments that describe the member (not the chat): mapped roles and persona.
    fn member_segments(&self, actor: &Actor, persona: Option<&str>) -> Vec<String> {
        let mut segs: Vec<String> = actor
            .roles
            .iter()
            .filter_map(|r| self.cfg.segments.roles.get(r).cloned())
            .collect();
        // "Prefer not to say" is no group: such members count only in the overall numbers.
        let persona = persona.filter(|p| *p != views::PERSONA_DECLINED_ID);
        if let (Some(p), Some(pc)) = (persona, &self.cfg.persona) {
            let label = pc
                .question
                .kind
                .options()
                .iter()
                .find(|o| o.id.as_str() == p)
                .map(|o| o.label.clone())
                .unwrap_or_else(|| p.to_string());
            segs.push(format!("persona: {label}"));
        }
        segs.sort();
        segs.dedup();
        segs
    }

    fn chat_segment(&self, ev: &Inbound) -> Option<String> {
        match ev.chat.kind {
            ChatKind::Private => None,
            ChatKind::Group => Some(
                self.cfg
                    .segments
                    .chats
                    .get(&ev.chat.id)
                    .cloned()
                    .unwrap_or_else(|| {
                        format!("chat: {}", ev.chat.title.as_deref().unwrap_or(&ev.chat.id))
                    }),
            ),
        }
    }

    /// The respondent for this actor and survey, created if `create`. Anonymous surveys never
    /// create a member row: only the salted hash is stored.
    async fn respondent(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        actor: &Actor,
        create: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, BotError> {
        let platform = actor.platform.as_str();
        let (who, persona) = if s.survey.anonymous {
            let persona = tx
                .find_member(platform, &actor.user_id)
                .await?
                .and_then(|m| m.persona);
            (
                Who::Anon(tx.anon_key(s.key, platform, &actor.user_id).await?),
                persona,
            )
        } else if create {
            let m = tx.upsert_member(actor, now).await?;
            (Who::Member(m.id), m.persona)
        } else {
            match tx.find_member(platform, &actor.user_id).await? {
                Some(m) => (Who::Member(m.id), m.persona),
                None => return Ok(None),
            }
        };
        if !create {
            return Ok(tx.find_respondent(s.key, &who).await?);
        }
        let segs = self.member_segments(actor, persona.as_deref());
        let new_member = actor
            .joined_at
            .is_some_and(|j| now - j < chrono::Duration::days(7));
        Ok(Some(
            tx.respondent(s.key, &who, platform, &segs, new_member, now)
                .await?,
        ))
    }

    /// Unfinished private flows of this actor, most recent first.
    async fn active_flows(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, flow::FlowState, DateTime<Utc>)>, BotError> {
        let platform = actor.platform.as_str();
        let member = tx
            .find_member(platform, &actor.user_id)
            .await?
            .map(|m| m.id);
        let mut anon = Vec::new();
        for s in self.store.surveys().await? {
            if s.survey.anonymous && s.effective_status(now) == Status::Open {
                anon.push((s.key, tx.anon_key(s.key, platform, &actor.user_id).await?));
            }
        }
        Ok(tx.active_flows(member, &anon).await?)
    }

    async fn start_flow(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        s: &StoredSurvey,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let to_member = |msg: Msg, keyboard: Keyboard| {
            if ev.chat.kind == ChatKind::Private {
                Outbound::Reply { msg, keyboard }
            } else {
                Outbound::Private { msg, keyboard }
            }
        };
        match s.effective_status(now) {
            Status::Open => {}
            Status::Closed => {
                return Ok(vec![to_member(
                    err("survey_closed", json!({ "title": s.survey.title })),
                    Keyboard::default(),
                )]);
            }
            Status::Draft if !self.team_view(ev) => {
                return Ok(vec![to_member(
                    unknown_survey(&s.survey.id),
                    Keyboard::default(),
                )]);
            }
            Status::Draft => {
                return Ok(vec![to_member(
                    err(
                        "not_open_yet",
                        json!({ "title": s.survey.title, "opens_at": Value::Null }),
                    ),
                    Keyboard::default(),
                )]);
            }
        }
        // Ask the persona question once, before the member's first non-anonymous survey.
        if let (Some(p), false) = (&self.cfg.persona, s.survey.anonymous) {
            let m = tx.upsert_member(&ev.actor, now).await?;
            if m.persona.is_none() {
                tx.set_pending_persona(m.id, s.key, now).await?;
                let (msg, kb) = views::persona(s.key, &p.worded(loc(ev)));
                return Ok(vec![to_member(msg, kb)]);
            }
        }
        let Some(rid) = self.respondent(tx, s, &ev.actor, true, now).await? else {
            return Ok(vec![to_member(try_again(), Keyboard::default())]);
        };
        let step = flow::start(tx.flow(rid).await?, now);
        tx.set_flow(rid, &step.state, now).await?;
        let mut out = Vec::new();
        if step.state.index == 0 {
            out.push(to_member(
                Msg::new(
                    "flow_intro",
                    json!({ "title": s.survey.title, "intro": s.survey.intro,
                            "questions": s.survey.questions.len(), "anonymous": s.survey.anonymous }),
                ),
                Keyboard::default(),
            ));
        }
        let (msg, kb) = self.ask_view(tx, s, rid, &step.state).await?;
        out.push(to_member(msg, kb));
        Ok(out)
    }

    async fn ask_view(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        rid: i64,
        state: &flow::FlowState,
    ) -> Result<(Msg, Keyboard), BotError> {
        let Some(q) = s.survey.question(state.index) else {
            return Ok((
                Msg::new("flow_done", json!({ "title": s.survey.title })),
                Keyboard::default(),
            ));
        };
        let current = tx
            .current_answer(rid, q.id.as_str())
            .await?
            .map(|v| v.describe(q));
        let seed = views::member_seed(&s.survey, q, &rid.to_string());
        Ok(views::ask(
            s.key,
            &s.survey,
            state.index,
            &state.draft,
            current,
            seed,
        ))
    }

    async fn on_private_text(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let flows = self.active_flows(tx, &ev.actor, now).await?;
        let Some((rid, sid, state, _)) = flows.into_iter().next() else {
            return Ok(vec![reply(Msg::new("no_flow", json!({})))]);
        };
        let Some(s) = self.survey_by_key(tx, sid, loc(ev)).await? else {
            return Ok(vec![reply(stale())]);
        };
        let Some(q) = s.survey.question(state.index) else {
            return Ok(vec![reply(stale())]);
        };
        let Some(input) = flow::text_input(q, text) else {
            return Ok(vec![reply(err("use_buttons", json!({})))]);
        };
        let qi = state.index;
        self.flow_step(tx, &s, rid, state, qi, input, loc(ev), now)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn flow_step(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        rid: i64,
        state: flow::FlowState,
        question: usize,
        input: Input,
        locale: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        if s.effective_status(now) != Status::Open {
            return Ok(vec![Outbound::Toast(err(
                "survey_closed",
                json!({ "title": s.survey.title }),
            ))]);
        }
        let Some(q) = s.survey.question(question) else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        let current = tx.current_answer(rid, q.id.as_str()).await?;
        let seed = views::member_seed(&s.survey, q, &rid.to_string());
        let shown_at = state.shown_at;
        let step = match flow::advance(
            &s.survey,
            state,
            question,
            input,
            current.as_ref(),
            seed,
            now,
        ) {
            Ok(step) => step,
            Err(FlowError::Answer(e)) => return Ok(vec![Outbound::Toast(answer_error(&e))]),
            Err(FlowError::NotCurrent | FlowError::AlreadyFinished) => {
                return Ok(vec![Outbound::Toast(stale())]);
            }
        };
        let mut out = Vec::new();
        if let Some((_, outcome)) = &step.answered {
            if let Some(v) = &outcome.commit {
                tx.write_answer(rid, q.id.as_str(), v, None, shown_at, Some(locale), now)
                    .await?;
            }
            out.push(Outbound::Toast(ack_msg(q, outcome)));
        }
        tx.set_flow(rid, &step.state, now).await?;
        match step.next {
            Next::Ask(_) | Next::Stay(_) => {
                let (msg, kb) = self.ask_view(tx, s, rid, &step.state).await?;
                out.push(Outbound::Reply { msg, keyboard: kb });
            }
            Next::Finished => out.push(reply(Msg::new(
                "flow_done",
                json!({ "title": s.survey.title, "id": s.survey.id.as_str(),
                        "anonymous": s.survey.anonymous,
                        "results_after_close": matches!(s.survey.results,
                            ResultsVisibility::AfterClose | ResultsVisibility::AfterVote) }),
            ))),
        }
        Ok(out)
    }

    async fn on_button(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let payload = match Payload::decode(raw) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "refused button payload");
                return Ok(vec![Outbound::Toast(stale())]);
            }
        };
        let Some(s) = self.survey_by_key(tx, payload.survey, loc(ev)).await? else {
            tracing::warn!(survey = payload.survey, "button for unknown survey");
            return Ok(vec![Outbound::Toast(stale())]);
        };
        let (question, input) = match payload.action {
            Action::Take => return self.start_flow(tx, ev, &s, now).await,
            Action::Persona { value } => return self.on_persona(tx, ev, &s, value, now).await,
            Action::Choose { question, value } => (question, Input::Choose(value)),
            Action::Undo { question } => (question, Input::Undo),
            Action::Done { question } => (question, Input::Done),
            Action::Skip { question } => (question, Input::Skip),
            Action::Pair {
                question,
                card,
                pick,
            } => (question, Input::Pair { card, pick }),
        };
        let question = usize::from(question);
        if s.effective_status(now) != Status::Open {
            return Ok(vec![Outbound::Toast(err(
                "survey_closed",
                json!({ "title": s.survey.title }),
            ))]);
        }
        if ev.chat.kind == ChatKind::Group {
            return self.on_inline(tx, ev, &s, question, input, now).await;
        }
        let Some(rid) = self.respondent(tx, &s, &ev.actor, false, now).await? else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        let Some(state) = tx.flow(rid).await? else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        self.flow_step(tx, &s, rid, state, question, input, loc(ev), now)
            .await
    }

    async fn on_inline(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        s: &StoredSurvey,
        question: usize,
        input: Input,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        // A tap must come from a chat where this poll was posted: payloads can be forged.
        let posted_here = tx
            .posted_in(s.key, ev.actor.platform.as_str(), &ev.chat.id)
            .await?;
        let Some(q) = s.survey.question(question) else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        if !posted_here || !s.survey.is_inline_poll() || question != 0 {
            tracing::warn!(survey = s.key, "tap refused: poll not posted in this chat");
            return Ok(vec![Outbound::Toast(stale())]);
        }
        // Look the member up without creating anything: a refused tap must leave no trace.
        let existing = self.respondent(tx, s, &ev.actor, false, now).await?;
        let (current, draft) = match existing {
            Some(rid) => (
                tx.current_answer(rid, q.id.as_str()).await?,
                tx.draft(rid, q.id.as_str()).await?,
            ),
            None => (None, Default::default()),
        };
        // Inline questions have no per-member schedule, so the seed does not matter here.
        let outcome = match interact::apply(
            q,
            Context {
                current: current.as_ref(),
                draft: draft.clone(),
                mode: Mode::Inline,
                seed: 0,
            },
            input,
        ) {
            Ok(o) => o,
            Err(e) => return Ok(vec![Outbound::Toast(answer_error(&e))]),
        };
        if outcome.commit.is_none() && !outcome.retract && outcome.draft == draft {
            let ack = ack_msg(q, &outcome);
            let ack = if current.is_some() {
                self.with_tally(tx, s, q, ack, loc(ev)).await?
            } else {
                ack
            };
            return Ok(vec![Outbound::Toast(ack)]);
        }
        let Some(rid) = self.respondent(tx, s, &ev.actor, true, now).await? else {
            return Ok(vec![Outbound::Toast(try_again())]);
        };
        let chat = self.chat_segment(ev);
        if let Some(v) = &outcome.commit {
            tx.write_answer(
                rid,
                q.id.as_str(),
                v,
                chat.as_deref(),
                None,
                Some(loc(ev)),
                now,
            )
            .await?;
        } else if outcome.retract {
            tx.retract_answer(rid, q.id.as_str(), now).await?;
        }
        if outcome.draft != draft {
            tx.set_draft(rid, q.id.as_str(), &outcome.draft, now)
                .await?;
        }
        let mut ack = ack_msg(q, &outcome);
        if outcome.commit.is_some() || (current.is_some() && !outcome.retract) {
            ack = self.with_tally(tx, s, q, ack, loc(ev)).await?;
        }
        let mut out = vec![Outbound::Toast(ack)];
        if outcome.commit.is_some() || outcome.retract {
            out.push(Outbound::RefreshPolls { survey: s.key });
        }
        Ok(out)
    }

    /// With `results = "after_vote"`, a member who has an answer sees the tally in the private
    /// acknowledgement of their tap (counts and shares only, never who voted).
    async fn with_tally(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        q: &Question,
        mut ack: Msg,
        locale: &str,
    ) -> Result<Msg, BotError> {
        if s.survey.results != ResultsVisibility::AfterVote {
            return Ok(ack);
        }
        let answers = tx.question_answers(s.key, q.id.as_str()).await?;
        let refs: Vec<&AnswerValue> = answers.iter().collect();
        ack.data["results"] = views::tallies(q, &refs, locale);
        Ok(ack)
    }

    async fn on_persona(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        s: &StoredSurvey,
        value: u8,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let Some(p) = &self.cfg.persona else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        // Translations keep the options' order, so the index picks the same option.
        let worded = p.worded(loc(ev));
        let (id, ack) = if value == views::PERSONA_DECLINED {
            (
                views::PERSONA_DECLINED_ID.to_string(),
                json!({ "kind": "persona_declined" }),
            )
        } else {
            let Some(choice) = worded.kind.options().get(usize::from(value)) else {
                return Ok(vec![Outbound::Toast(stale())]);
            };
            (
                choice.id.to_string(),
                json!({ "kind": "persona", "answer": choice.label }),
            )
        };
        let m = tx.upsert_member(&ev.actor, now).await?;
        tx.set_persona(m.id, &id).await?;
        let pending = tx.take_pending_persona(m.id).await?;
        let mut out = vec![Outbound::Toast(Msg::new("ack", ack))];
        let target = match pending {
            Some(k) => self.survey_by_key(tx, k, loc(ev)).await?,
            None => Some(s.clone()),
        };
        if let Some(t) = target {
            out.extend(self.start_flow(tx, ev, &t, now).await?);
        }
        Ok(out)
    }
}

/// The `/poll` flags besides the question and options.
struct PollFlags {
    max: Option<usize>,
    anonymous: bool,
    results: Option<ResultsVisibility>,
    closes: Option<command::Deadline>,
}

/// A message and its buttons for readers in `locale`.
fn in_locale(msg: Msg, mut kb: Keyboard, locale: &str) -> (Msg, Keyboard) {
    for m in kb.template_labels_mut() {
        m.locale = Some(locale.to_string());
    }
    (msg.in_locale(locale), kb)
}

/// The member's resolved locale (set in `handle`).
fn loc(ev: &Inbound) -> &str {
    ev.actor.serve_locale.as_deref().unwrap_or(DEFAULT_LOCALE)
}

fn unknown_survey(id: &SurveyId) -> Msg {
    err("unknown_survey", json!({ "survey": id.as_str() }))
}

fn ack_msg(q: &Question, o: &Outcome) -> Msg {
    let label = |i: u8| {
        q.kind
            .options()
            .get(usize::from(i))
            .map(|o| o.label.clone())
            .unwrap_or_default()
    };
    let data = match &o.ack {
        Ack::Recorded | Ack::Changed | Ack::Unchanged => json!({
            "kind": match o.ack { Ack::Recorded => "recorded", Ack::Changed => "changed", _ => "unchanged" },
            "answer": o.commit.as_ref().map(|v: &AnswerValue| v.describe(q)),
        }),
        Ack::Retracted => json!({ "kind": "retracted" }),
        Ack::Ranked {
            position,
            option,
            remaining,
        } => {
            json!({ "kind": "ranked", "position": position, "answer": label(*option), "remaining": remaining })
        }
        Ack::Toggled { selected, max } => {
            json!({ "kind": "toggled", "selected": selected, "max": max })
        }
        Ack::Compared { left } => json!({ "kind": "compared", "left": left }),
        Ack::Undone => json!({ "kind": "undone" }),
        Ack::Skipped => json!({ "kind": "skipped" }),
    };
    Msg::new("ack", data)
}

/// `/survey ID`. Question types and option ids are for the team; members see texts and labels.
fn survey_json(s: &StoredSurvey, n: i64, now: DateTime<Utc>, locale: &str, team: bool) -> Value {
    json!({
        "team": team,
        "id": s.survey.id.as_str(),
        "title": s.survey.title,
        "intro": s.survey.intro,
        "status": s.effective_status(now).as_str(),
        "anonymous": s.survey.anonymous,
        "respondents": n,
        "results": s.survey.results.as_str(),
        "closed": s.effective_status(now) == Status::Closed,
        "opens_at": views::when(s.survey.opens_at, locale),
        "closes_at": views::when(s.survey.closes_at, locale),
        "questions": s.survey.questions.iter().map(|q| json!({
            "id": q.id.as_str(),
            "text": q.text,
            "type": q.kind.type_name(),
            "optional": q.optional,
            "options": q.kind.options().iter().map(|o| json!({"id": o.id.as_str(), "label": o.label})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn mydata_json(
    data: Option<crate::store::MemberData>,
    persona: Option<String>,
    persona_declined: bool,
    surveys: &std::collections::BTreeMap<String, Survey>,
    locale: &str,
) -> Value {
    let describe = |slug: &str, q: &str, v: &AnswerValue| {
        surveys
            .get(slug)
            .and_then(|s| s.questions.iter().find(|x| x.id.as_str() == q))
            .map(|q| v.describe(q))
            .unwrap_or_else(|| serde_json::to_string(v).unwrap_or_default())
    };
    let nf = crate::locale::Numbers::for_locale(locale);
    let day = |t: &DateTime<Utc>| nf.datetime(t);
    match data {
        None => json!({ "known": false, "answers": [], "flows": [] }),
        Some(d) => json!({
            "known": true,
            "platform": d.platform,
            "user_id": d.user_id,
            "display_name": d.display_name,
            "locale": d.locale,
            "locale_override": d.locale_override,
            "persona": persona,
            "persona_declined": persona_declined,
            "first_seen_at": d.first_seen_at.as_ref().map(day),
            "surveys": d.surveys.iter().map(|p| json!({
                "title": p.title, "segments": p.segments, "new_member": p.new_member,
                "since": p.since.as_ref().map(day),
            })).collect::<Vec<_>>(),
            "answers": d.answers.iter().zip(&d.answer_context)
                .map(|((slug, title, q, v, at, current), (chat, shown))| json!({
                "survey": slug, "title": title, "question": q,
                "answer": describe(slug, q, v),
                "at": day(at),
                "current": current,
                "chat": chat,
                "shown_at": shown.as_ref().map(day),
            })).collect::<Vec<_>>(),
            "drafts": d.drafts.iter().map(|(t, q)| json!({ "title": t, "question": q }))
                .chain(d.flow_drafts.iter().map(|(slug, t, i)| json!({
                    "title": t,
                    "question": surveys.get(slug).and_then(|s| s.questions.get(*i))
                        .map(|q| q.id.to_string()).unwrap_or_else(|| (i + 1).to_string()),
                })))
                .collect::<Vec<_>>(),
            "flows": d.flows,
            "pending_persona": d.pending_persona,
        }),
    }
}
