//! The conversation service: turns one platform-neutral inbound event into store changes and
//! replies. Events are applied by one writer task with group commit: every event queued at that
//! moment runs in one `BEGIN IMMEDIATE` transaction, each in its own savepoint that also records
//! its event id, and no caller gets its replies before that transaction has committed. So a
//! redelivered event changes nothing, a failing event rolls back alone, and an acknowledged
//! answer is committed. Consecutive poll taps share one savepoint and a handful of set-based
//! statements (`taps.rs`); if one fails, they are applied one by one.

mod buttons;
mod commands;
mod deliveries;
mod language;
mod members;
mod polls;
mod steps;
mod taps;
mod views;
mod writer;

use crate::core::ids::SurveyKey;
use polls::PollFlags;
use writer::{Applied, Job, Work};

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
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The event was applied, but the transaction it shared with other events did not commit.
    #[error("the group commit failed: {0}")]
    Commit(Arc<StoreError>),
    /// The writer task stopped (it panicked, or the runtime is shutting down).
    #[error("the writer task stopped before the event was committed")]
    Stopped,
}

impl ServiceError {
    /// Logs the failure for the operator. A database that cannot be written gets a message
    /// saying so, since only the operator can fix it (free disk space, file permissions).
    pub fn log(&self) {
        let unavailable = match self {
            ServiceError::Store(e) => e.is_unavailable(),
            ServiceError::Commit(e) => e.is_unavailable(),
            ServiceError::Stopped => false,
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
pub struct Service {
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
    /// Whether the writer applies runs of poll taps set-based (`taps.rs`); off, every event
    /// takes the per-event path (the equivalence test and the benchmark compare the two).
    set_based: Arc<std::sync::atomic::AtomicBool>,
    /// Taps committed by the set-based path so far (tests and the benchmark read it).
    set_based_taps: Arc<std::sync::atomic::AtomicU64>,
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

impl Service {
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
            set_based: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            set_based_taps: Default::default(),
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

    /// Turns the writer's set-based path for poll taps on (the default) or off, for every
    /// clone of this service. Off, each tap costs about eleven statements of its own; the
    /// stored rows and the replies are the same either way.
    pub fn set_set_based_taps(&self, on: bool) {
        self.set_based
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many taps the set-based path has applied (counted when their run's statements
    /// succeeded; a run that fell back to the per-event path counts none).
    pub fn set_based_taps(&self) -> u64 {
        self.set_based_taps
            .load(std::sync::atomic::Ordering::Relaxed)
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
    pub async fn member_locale(&self, actor: &Actor) -> Result<String, ServiceError> {
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

    /// Takes the survey translations of a reloaded config (every clone of this service sees them).
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
    ) -> Result<Option<StoredSurvey>, ServiceError> {
        Ok(tx
            .survey_by_slug(slug)
            .await?
            .map(|s| self.worded(s, locale)))
    }

    async fn survey_by_key(
        &self,
        tx: &mut Tx,
        key: SurveyKey,
        locale: &str,
    ) -> Result<Option<StoredSurvey>, ServiceError> {
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

    /// Where survey `key` was posted on `platform`, for the refreshers.
    pub async fn postings(
        &self,
        key: SurveyKey,
        platform: Platform,
    ) -> Result<Vec<crate::store::PostingRow>, ServiceError> {
        Ok(self.store.postings(key, platform).await?)
    }

    /// Changes each time a posted poll's message id is committed (the closer waits on it).
    pub fn postings_recorded(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.postings_recorded()
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

    /// The "try again" for an event that failed, in the member's language and where its reply
    /// would have gone: privately for `/mydata` and for team commands outside team chats.
    /// The store may be what failed, so the stored `/language` choice is only tried briefly;
    /// without it the platform's language is matched to the shipped locales.
    pub async fn failed(&self, ev: &Inbound) -> Vec<Outbound> {
        let chosen = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            self.store
                .member_locale_override(ev.actor.platform.as_str(), &ev.actor.user_id),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
        let locale = self.resolve_locale(chosen.as_deref(), ev.actor.locale.as_deref());
        let msg = try_again().in_locale(&locale);
        let private = match &ev.body {
            Body::Text(t) => match command::parse(t) {
                Ok(Some(Command::MyData)) => true,
                Ok(Some(cmd)) => {
                    cmd.needs_team() && self.is_team(&ev.actor) && !self.team_output_here(ev)
                }
                _ => false,
            },
            Body::Button(_) => false,
        };
        if private {
            vec![Outbound::Private {
                msg,
                keyboard: Keyboard::default(),
            }]
        } else {
            vec![Outbound::Toast(msg)]
        }
    }

    /// Handles one inbound event. Nothing is sent by the core: adapters send the replies after
    /// this returns, which is after the event's transaction has committed.
    pub async fn handle(&self, ev: &Inbound) -> Result<Handled, ServiceError> {
        self.handle_then(ev, || {}).await
    }

    /// `handle`, calling `committed` as soon as the event's transaction committed or failed
    /// (on an early error it is dropped uncalled), before a report is built: Telegram's
    /// listener confirms the update then, without waiting for a slow report or narrative.
    pub async fn handle_then(
        &self,
        ev: &Inbound,
        committed: impl FnOnce(),
    ) -> Result<Handled, ServiceError> {
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
        let work = Work::Event {
            ev: ev.clone(),
            claim_only,
        };
        let result = self.submit(work, span.clone())?;
        let applied = result.await.map_err(|_| ServiceError::Stopped);
        committed();
        let handled = match applied?? {
            Applied::Event(h) => h,
            Applied::Recorded(_) | Applied::Digest(_) => Handled::Replies(Vec::new()),
        };
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
                let cx = Ctx {
                    ev,
                    locale: self.member_locale(&ev.actor).await?,
                    now: self.clock.now(),
                };
                let out = self.read_command(&cx, cmd.clone()).instrument(span).await?;
                let out = self.route_team(ev, &cmd, out);
                // The narrative waits on the network, so it runs after the commit, never inside.
                let mut out = self.narrate(out).await;
                for o in &mut out {
                    o.localise(&cx.locale);
                }
                Ok(Handled::Replies(out))
            }
            (_, handled) => Ok(handled),
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
            crate::reporting::narrate(n, &self.store, reports).await;
        }
        out
    }
}

/// A message and its buttons for readers in `locale`.
fn in_locale(msg: Msg, mut kb: Keyboard, locale: &str) -> (Msg, Keyboard) {
    for m in kb.template_labels_mut() {
        m.locale = Some(locale.to_string());
    }
    (msg.in_locale(locale), kb)
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

/// What the handlers of one event share besides the event: the locale the member is served in
/// (resolved once per event) and the time the event is applied at.
pub(super) struct Ctx<'a> {
    pub(super) ev: &'a Inbound,
    pub(super) locale: String,
    pub(super) now: DateTime<Utc>,
}

impl Ctx<'_> {
    pub(super) fn locale(&self) -> &str {
        &self.locale
    }
}
