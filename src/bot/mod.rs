//! The conversation service: turns one platform-neutral inbound event into store changes and
//! replies. Every event runs in one `BEGIN IMMEDIATE` transaction that also records its event
//! id, so a redelivered event changes nothing and an acknowledged answer is committed.

pub mod insights;
mod views;

pub use views::{ask, posted};

use crate::config::Config;
use crate::core::answer::{AnswerError, AnswerValue};
use crate::core::command::{self, Command, CommandError};
use crate::core::event::{
    Actor, Body, Button, ButtonAction, ChatKind, Inbound, Keyboard, Label, Msg, Outbound, Platform,
};
use crate::core::flow::{self, FlowError, Next};
use crate::core::ids::{QuestionId, SurveyId, slugify};
use crate::core::interact::{self, Ack, Context, Input, Mode, Outcome};
use crate::core::payload::{Action, Payload};
use crate::core::survey::{
    Question, QuestionKind, ResultsVisibility, Status, Survey, make_choices,
};
use crate::store::{Store, StoreError, StoredSurvey, Tx, Who};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

/// Source of the current time; tests inject a fixed or stepping clock.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What broke while handling an event. The member sees a polite "please try again" and
/// nothing was committed; the operator's log carries this.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BotError {
    /// Logs the failure for the operator. A database that cannot be written gets a message
    /// saying so, since only the operator can fix it (free disk space, file permissions).
    pub fn log(&self) {
        match self {
            BotError::Store(e) if e.is_unavailable() => tracing::error!(
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
        Self { store, cfg, clock }
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

    /// Handles one inbound event. Nothing is sent by the core: adapters send the replies after
    /// this returns, outside the transaction.
    #[tracing::instrument(skip_all, fields(event = %ev.event_id, platform = ev.actor.platform.as_str()))]
    pub async fn handle(&self, ev: &Inbound) -> Result<Handled, BotError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.claim_event(&ev.event_id, now).await? {
            tracing::debug!("duplicate event ignored");
            return Ok(Handled::Duplicate);
        }
        let out = match &ev.body {
            Body::Text(t) => self.on_text(&mut tx, ev, t, now).await?,
            Body::Button(p) => self.on_button(&mut tx, ev, p, now).await?,
        };
        tx.commit().await?;
        Ok(Handled::Replies(out))
    }

    /// The current message of a posted survey (counter, status, buttons), for refreshing.
    pub async fn poll_view(&self, key: i64) -> Result<Option<(Msg, Keyboard)>, BotError> {
        let Some(s) = self.store.survey_by_key(key).await? else {
            return Ok(None);
        };
        let n = self.store.respondent_count(key).await?;
        Ok(Some(views::posted(
            key,
            &s.survey,
            s.effective_status(self.clock.now()),
            n,
            None,
        )))
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
            Err(CommandError::Usage { command, problem }) => Ok(vec![reply(err(
                "usage",
                json!({ "command": command, "problem": problem }),
            ))]),
            Ok(Some(cmd)) => {
                if cmd.needs_team() && !self.is_team(&ev.actor) {
                    tracing::info!(command = cmd.name(), "refused: not product team");
                    return Ok(vec![reply(err(
                        "not_team",
                        json!({ "command": cmd.name() }),
                    ))]);
                }
                self.on_command(tx, ev, cmd, now).await
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
                let surveys = self.open_surveys(now).await?;
                Ok(vec![reply(Msg::new(
                    "welcome",
                    json!({ "team": team, "surveys": surveys }),
                ))])
            }
            Command::Start(Some(id)) => {
                let Some(s) = tx.survey_by_slug(id.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&id))]);
                };
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
                        let title = tx
                            .survey_by_key(*sid)
                            .await?
                            .map(|s| s.survey.title)
                            .unwrap_or_default();
                        Ok(vec![reply(Msg::new(
                            "cancelled",
                            json!({ "title": title }),
                        ))])
                    }
                    None => Ok(vec![reply(err("nothing_to_cancel", json!({})))]),
                }
            }
            Command::MyData => {
                let data = self
                    .store
                    .member_data(ev.actor.platform.as_str(), &ev.actor.user_id)
                    .await?;
                let mut surveys = std::collections::BTreeMap::new();
                if let Some(d) = &data {
                    for (slug, ..) in &d.answers {
                        if !surveys.contains_key(slug) {
                            if let Some(s) = self.store.survey_by_slug(slug).await? {
                                surveys.insert(slug.clone(), s.survey);
                            }
                        }
                    }
                }
                Ok(vec![Outbound::Private {
                    msg: Msg::new("mydata", mydata_json(data, &surveys)),
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
                            .map(|(t, n)| json!({ "title": t, "answers": n }))
                            .collect::<Vec<_>>(),
                        rows.iter().map(|(_, n)| n).sum::<i64>(),
                    ),
                    None => (Vec::new(), 0),
                };
                tracing::info!(answers = total, "member data deleted on request");
                Ok(vec![Outbound::Private {
                    msg: Msg::new(
                        "forgotten",
                        json!({ "known": deleted.is_some(), "surveys": surveys, "total": total }),
                    ),
                    keyboard: Keyboard::default(),
                }])
            }
            Command::Surveys => {
                let all = self.store.list_surveys().await?;
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
            Command::Show(id) => {
                let s = tx.survey_by_slug(id.as_str()).await?;
                match s {
                    Some(s) if team || s.effective_status(now) == Status::Open => {
                        let n = self.store.respondent_count(s.key).await?;
                        Ok(vec![reply(Msg::new("survey", survey_json(&s, n, now)))])
                    }
                    _ => Ok(vec![reply(unknown_survey(&id))]),
                }
            }
            Command::Poll { question, options } => {
                self.quick_poll(tx, ev, &question, options, now).await
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
                            json!({ "title": s.survey.title, "opens_at": s.survey.opens_at.map(|o| o.format("%Y-%m-%d %H:%M UTC").to_string()) }),
                        ))]);
                    }
                    Status::Draft => tx.set_status(s.key, Status::Open, now).await?,
                    Status::Open => {}
                }
                self.post(tx, ev, s.key, &s.survey, now).await
            }
            Command::Close(id) => {
                let Some(s) = tx.survey_by_slug(id.as_str()).await? else {
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
            Command::Insights { survey, segment } => {
                let Some(s) = tx.survey_by_slug(survey.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&survey))]);
                };
                let report = insights::report(
                    &self.store,
                    &s,
                    segment.as_deref(),
                    self.cfg.segments.min_size,
                    now,
                )
                .await?;
                let chart_png = match crate::render::report::chart_png(&report) {
                    Some(Ok(png)) => Some(png),
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "chart failed; sending the summary without it");
                        None
                    }
                    None => None,
                };
                Ok(vec![Outbound::Report {
                    report: Box::new(report),
                    chart_png,
                }])
            }
            Command::Export(survey) => {
                let Some(s) = tx.survey_by_slug(survey.as_str()).await? else {
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
                }])
            }
            Command::Digest => {
                let brief = self.digest_now(now).await?;
                let chart_png = brief
                    .reports
                    .iter()
                    .find_map(|r| crate::render::report::chart_png(r).and_then(Result::ok));
                Ok(vec![Outbound::Digest {
                    brief: Box::new(brief),
                    chart_png,
                }])
            }
        }
    }

    /// The digest for the period up to now: since the latest scheduled slot's predecessor when
    /// a schedule is configured, else the last seven days.
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
        let schedule = crate::digest::schedule::Schedule::parse(&cfg.schedule, &cfg.timezone).ok();
        let start = schedule
            .as_ref()
            .and_then(|s| s.latest(now))
            .unwrap_or(now - chrono::Duration::days(7));
        let period = schedule
            .as_ref()
            .map(|s| s.period_key(now))
            .unwrap_or_else(|| now.format("%Y-%m-%d %H:%M UTC").to_string());
        Ok(crate::digest::compose::compose(
            &self.store,
            &cfg,
            self.cfg.segments.min_size,
            &period,
            start,
            now,
            false,
        )
        .await?)
    }

    async fn open_surveys(&self, now: DateTime<Utc>) -> Result<Vec<Value>, BotError> {
        Ok(self
            .store
            .list_surveys()
            .await?
            .iter()
            .filter(|(s, _)| s.effective_status(now) == Status::Open)
            .map(|(s, _)| json!({ "id": s.survey.id.as_str(), "title": s.survey.title }))
            .collect())
    }

    async fn quick_poll(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        question: &str,
        options: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, BotError> {
        let build = || -> Result<Survey, crate::core::survey::DefinitionError> {
            let options = make_choices(options.into_iter().map(|l| (None, l)).collect())?;
            let q = Question::new(
                QuestionId::parse("q")
                    .map_err(|e| crate::core::survey::DefinitionError::new("id", e.to_string()))?,
                question,
                QuestionKind::Single { options },
                false,
            )?;
            let title: String = question.chars().take(120).collect();
            Survey {
                id: SurveyId::parse("poll")
                    .map_err(|e| crate::core::survey::DefinitionError::new("id", e.to_string()))?,
                title,
                intro: None,
                questions: vec![q],
                anonymous: false,
                opens_at: None,
                closes_at: None,
                results: ResultsVisibility::AfterClose,
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
        let (msg, keyboard) = views::posted(key, survey, Status::Open, n, None);
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
        for (s, _) in self.store.list_surveys().await? {
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
                let (msg, kb) = views::persona(s.key, &p.question);
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
        let Some(s) = tx.survey_by_key(sid).await? else {
            return Ok(vec![reply(stale())]);
        };
        let Some(q) = s.survey.question(state.index) else {
            return Ok(vec![reply(stale())]);
        };
        let Some(input) = flow::text_input(q, text) else {
            return Ok(vec![reply(err("use_buttons", json!({})))]);
        };
        let qi = state.index;
        self.flow_step(tx, &s, rid, state, qi, input, now).await
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
                tx.write_answer(rid, q.id.as_str(), v, None, shown_at, now)
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
                        "results_after_close": s.survey.results == ResultsVisibility::AfterClose }),
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
        let Some(s) = tx.survey_by_key(payload.survey).await? else {
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
        self.flow_step(tx, &s, rid, state, question, input, now)
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
            return Ok(vec![Outbound::Toast(ack_msg(q, &outcome))]);
        }
        let Some(rid) = self.respondent(tx, s, &ev.actor, true, now).await? else {
            return Ok(vec![Outbound::Toast(try_again())]);
        };
        let chat = self.chat_segment(ev);
        if let Some(v) = &outcome.commit {
            tx.write_answer(rid, q.id.as_str(), v, chat.as_deref(), None, now)
                .await?;
        } else if outcome.retract {
            tx.retract_answer(rid, q.id.as_str(), now).await?;
        }
        tx.set_draft(rid, q.id.as_str(), &outcome.draft, now)
            .await?;
        let mut out = vec![Outbound::Toast(ack_msg(q, &outcome))];
        if outcome.commit.is_some() || outcome.retract {
            out.push(Outbound::RefreshPolls { survey: s.key });
        }
        Ok(out)
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
        let Some(choice) = p.question.kind.options().get(usize::from(value)) else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        let m = tx.upsert_member(&ev.actor, now).await?;
        tx.set_persona(m.id, choice.id.as_str()).await?;
        let pending = tx.take_pending_persona(m.id).await?;
        let mut out = vec![Outbound::Toast(Msg::new(
            "ack",
            json!({ "kind": "persona", "answer": choice.label }),
        ))];
        let target = match pending {
            Some(k) => tx.survey_by_key(k).await?,
            None => Some(s.clone()),
        };
        if let Some(t) = target {
            out.extend(self.start_flow(tx, ev, &t, now).await?);
        }
        Ok(out)
    }
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

fn survey_json(s: &StoredSurvey, n: i64, now: DateTime<Utc>) -> Value {
    json!({
        "id": s.survey.id.as_str(),
        "title": s.survey.title,
        "intro": s.survey.intro,
        "status": s.effective_status(now).as_str(),
        "anonymous": s.survey.anonymous,
        "respondents": n,
        "results": match s.survey.results { ResultsVisibility::Live => "live", ResultsVisibility::AfterClose => "after_close" },
        "opens_at": s.survey.opens_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        "closes_at": s.survey.closes_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
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
    surveys: &std::collections::BTreeMap<String, Survey>,
) -> Value {
    let describe = |slug: &str, q: &str, v: &AnswerValue| {
        surveys
            .get(slug)
            .and_then(|s| s.questions.iter().find(|x| x.id.as_str() == q))
            .map(|q| v.describe(q))
            .unwrap_or_else(|| serde_json::to_string(v).unwrap_or_default())
    };
    match data {
        None => json!({ "known": false, "answers": [], "flows": [] }),
        Some(d) => json!({
            "known": true,
            "platform": d.platform,
            "user_id": d.user_id,
            "display_name": d.display_name,
            "persona": d.persona,
            "first_seen_at": d.first_seen_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            "answers": d.answers.iter().map(|(slug, title, q, v, at, current)| json!({
                "survey": slug, "title": title, "question": q,
                "answer": describe(slug, q, v),
                "at": at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "current": current,
            })).collect::<Vec<_>>(),
            "flows": d.flows,
        }),
    }
}
