//! Core replies out to Telegram: HTML rendering, keyboards, splitting at 4096 characters,
//! retries that honour 429 `retry_after` and back off on network errors, and the per-member
//! send queues (`Outbox`) that keep replies off the listener's path.

use super::translate::Translated;
use crate::core::event::{
    Body, ButtonAction, ChatKind, Inbound, Keyboard, Msg, Outbound, Platform, To,
};
use crate::core::ids::SurveyKey;
use crate::platform::refresh;
use crate::render::report::Format;
use crate::render::{Renderer, Target, split};
use crate::service::Service;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Telegram's message limit.
pub(super) const MAX_TEXT: usize = 4096;
/// Toasts (answerCallbackQuery) show at most 200 characters.
const MAX_TOAST: usize = 200;
const RETRIES: u32 = 4;
/// The longest one attempt of an idempotent call may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Backoff between attempts of an idempotent call after a 5xx or a network error.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Calls that create something (a message, a photo, a file): repeating one whose request may
/// have reached Telegram could post it twice.
fn creates(what: &str) -> bool {
    matches!(what, "sendMessage" | "sendPhoto" | "sendDocument")
}

/// Runs a request, retrying on 429 (after the time Telegram asks for) and on network errors
/// (with exponential backoff), at most `RETRIES` times. API errors are returned at once:
/// retrying cannot fix them.
///
/// A call that creates a message is repeated after a network error only when the connection
/// was never made, so Telegram cannot have seen it. After a timeout or a connection broken
/// mid-way it may have been delivered; we would rather lose that message (the log says so)
/// than post it twice. Answers are committed before anything is sent, so no answer is lost.
pub(super) async fn with_retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut backoff = Duration::from_millis(250);
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(RequestError::RetryAfter(s)) if attempt < RETRIES => {
                tracing::warn!(
                    call = what,
                    seconds = s.seconds(),
                    "rate limited by Telegram; waiting"
                );
                tokio::time::sleep(s.duration()).await;
            }
            Err(RequestError::Network(e)) if creates(what) && !e.is_connect() => {
                tracing::warn!(
                    call = what,
                    error = %crate::platform::chain(&*e),
                    "network error after the request was sent; not repeated, as it may have been delivered"
                );
                return Err(RequestError::Network(e));
            }
            Err(RequestError::Network(e)) if attempt < RETRIES => {
                tracing::warn!(call = what, error = %crate::platform::chain(&*e), "network error; backing off");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(e) => return Err(e),
        }
        attempt += 1;
    }
}

/// Why a call made without teloxide's request layer failed (`getUpdates`, and the idempotent
/// calls retried by `call_idempotent`). It never holds the request URL, which holds the token.
#[derive(Debug, thiserror::Error)]
pub(super) enum CallError {
    #[error("rate limited by Telegram: retry after {0} s")]
    RetryAfter(u64),
    #[error("Telegram server error {0}")]
    Server(u16),
    #[error("refused by Telegram ({code}): {description}")]
    Refused { code: u16, description: String },
    #[error("network error: {0}")]
    Network(#[source] reqwest::Error),
    #[error("too late: Telegram's time to answer had run out")]
    TooLate,
    #[error("unreadable answer from Telegram (HTTP {0})")]
    Malformed(u16),
}

/// One Bot API call (`POST {api_url}/bot{token}/{method}` with a JSON body) through the bot's
/// HTTP client, returning `result`. Unlike teloxide's request layer it does not sleep 10 s
/// after a 5xx: the caller decides what to wait for.
pub(super) async fn call(
    bot: &teloxide::Bot,
    method: &str,
    body: &Value,
    timeout: Duration,
) -> Result<Value, CallError> {
    let mut url = bot.api_url();
    match url.path_segments_mut() {
        Ok(mut segments) => {
            segments.push(&format!("bot{}", bot.token())).push(method);
        }
        Err(()) => return Err(CallError::Malformed(0)),
    }
    let response = bot
        .client()
        .post(url)
        .json(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| CallError::Network(e.without_url()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| CallError::Network(e.without_url()))?;
    let Ok(answer) = serde_json::from_str::<Value>(&text) else {
        return Err(if status.is_server_error() {
            CallError::Server(status.as_u16())
        } else {
            CallError::Malformed(status.as_u16())
        });
    };
    if answer["ok"].as_bool() == Some(true) {
        return Ok(answer.get("result").cloned().unwrap_or(Value::Null));
    }
    let code = answer["error_code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(status.as_u16());
    if let Some(seconds) = answer["parameters"]["retry_after"].as_u64() {
        return Err(CallError::RetryAfter(seconds));
    }
    if code >= 500 || status.is_server_error() {
        return Err(CallError::Server(code));
    }
    Err(CallError::Refused {
        code,
        description: answer["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    })
}

/// Calls a method that is safe to repeat (acknowledging a tap, editing a message) until it
/// succeeds, Telegram refuses it (4xx), or the next attempt could not finish by `deadline`:
/// after a 429 as long as Telegram asks, after a 5xx, a network error or an unreadable answer
/// with backoff from 250 ms up to 2 s. Repeating it cannot do anything twice.
pub(super) async fn call_idempotent(
    bot: &teloxide::Bot,
    method: &str,
    body: &Value,
    deadline: Instant,
) -> Result<Value, CallError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CallError::TooLate);
        }
        let error = match call(bot, method, body, left.min(ATTEMPT_TIMEOUT)).await {
            Ok(v) => return Ok(v),
            // Cut off by the deadline, not by Telegram: say so rather than "error sending
            // request", which reads as if Telegram could not be reached.
            Err(CallError::Network(e)) if e.is_timeout() && Instant::now() >= deadline => {
                return Err(CallError::TooLate);
            }
            Err(e) => e,
        };
        let wait = match &error {
            CallError::Refused { .. } => return Err(error),
            CallError::RetryAfter(s) => Duration::from_secs(*s),
            _ => backoff,
        };
        if Instant::now() + wait >= deadline {
            return Err(error);
        }
        tracing::info!(call = method, error = %crate::platform::chain(&error), wait_ms = wait.as_millis() as u64, "retrying");
        tokio::time::sleep(wait).await;
        if !matches!(error, CallError::RetryAfter(_)) {
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// Inline keyboard for Telegram: callback buttons, and URL buttons (t.me deep links) that
/// open the private chat with `/start SURVEY`.
pub(super) fn markup(renderer: &Renderer, username: &str, kb: &Keyboard) -> InlineKeyboardMarkup {
    let rows = kb
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|b| {
                    let label = truncate(&renderer.label(&b.label).unwrap_or_default(), 64);
                    match &b.action {
                        ButtonAction::Payload(p) => {
                            Some(InlineKeyboardButton::callback(label, p.clone()))
                        }
                        ButtonAction::DeepLink { survey } => {
                            url::Url::parse(&format!("https://t.me/{username}?start={survey}"))
                                .ok()
                                .map(|u| InlineKeyboardButton::url(label, u))
                        }
                    }
                })
                .collect::<Vec<_>>()
        })
        .filter(|r| !r.is_empty())
        .collect::<Vec<_>>();
    InlineKeyboardMarkup::new(rows)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[derive(Clone)]
pub(super) struct Sender {
    bot: teloxide::Bot,
    service: Service,
    renderer: Arc<Renderer>,
    username: String,
    refresher: refresh::Handle,
}

impl Sender {
    pub(super) fn new(
        bot: teloxide::Bot,
        service: Service,
        renderer: Arc<Renderer>,
        username: String,
        refresher: refresh::Handle,
    ) -> Self {
        Self {
            bot,
            service,
            renderer,
            username,
            refresher,
        }
    }

    fn html(&self, msg: &Msg) -> String {
        self.renderer
            .render_on(Platform::Telegram, Target::Html, msg)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, template = msg.template, "template failed");
                "…".into()
            })
    }

    fn plain(&self, msg: &Msg) -> String {
        self.renderer
            .render_on(Platform::Telegram, Target::Plain, msg)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, template = msg.template, "template failed");
                "…".into()
            })
    }

    pub(super) fn markup(&self, kb: &Keyboard) -> InlineKeyboardMarkup {
        markup(&self.renderer, &self.username, kb)
    }

    /// Sends HTML text, split at the limit without breaking tags; the keyboard goes on the last
    /// part. Returns the id of the last message sent.
    pub(super) async fn send_text(
        &self,
        chat: ChatId,
        html: &str,
        kb: Option<&Keyboard>,
    ) -> Result<Option<teloxide::types::MessageId>, RequestError> {
        let parts = split(html, MAX_TEXT, Target::Html);
        let n = parts.len();
        let mut last = None;
        for (i, part) in parts.into_iter().enumerate() {
            let mut req = self
                .bot
                .send_message(chat, part)
                .parse_mode(ParseMode::Html);
            if i + 1 == n {
                if let Some(kb) = kb.filter(|k| !k.is_empty()) {
                    req = req.reply_markup(self.markup(kb));
                }
            }
            let m = with_retry("sendMessage", || req.send_ref()).await?;
            last = Some(m.id);
        }
        Ok(last)
    }

    /// Marks a survey's posted poll messages for the coalesced refresh.
    pub(super) fn refresh(&self, survey: SurveyKey) {
        self.refresher.mark(survey);
    }

    /// Answers a tap (stops the member's spinner, shows `text` as a toast), retried until
    /// `window` closes. `acked` says what happened to the tap, so a failure is logged truly.
    pub(super) async fn answer_callback(
        &self,
        id: &str,
        text: Option<String>,
        window: Instant,
        acked: Acked,
    ) {
        let mut body = json!({ "callback_query_id": id });
        if let Some(t) = text {
            body["text"] = json!(truncate(&t, MAX_TOAST));
        }
        match call_idempotent(&self.bot, "answerCallbackQuery", &body, window).await {
            Ok(_) => {}
            Err(e) => {
                let error = crate::platform::chain(&e);
                match acked {
                    Acked::Redelivered => {
                        tracing::debug!(%error, "could not answer a redelivered tap (answered before?)");
                    }
                    Acked::Committed => {
                        tracing::warn!(%error, "could not acknowledge a tap; its answer is saved");
                    }
                    Acked::NotSaved => {
                        tracing::warn!(%error, "could not tell a member to try again; nothing of their tap was saved");
                    }
                }
            }
        }
    }

    fn chat_id(raw: &str) -> Option<ChatId> {
        raw.parse::<i64>().ok().map(ChatId)
    }

    /// Sends everything the core asked for, in order. A tap is acknowledged first (until
    /// `window` closes), so the member's spinner stops even if a later message is slow.
    pub(super) async fn deliver(
        &self,
        t: &Translated,
        replies: Vec<Outbound>,
        window: Instant,
        saved: bool,
    ) {
        let ev = &t.inbound;
        let Some(chat) = Self::chat_id(&ev.chat.id) else {
            tracing::error!(chat = %ev.chat.id, "not a Telegram chat id");
            return;
        };
        let toasts: Vec<String> = replies
            .iter()
            .filter_map(|r| match r {
                Outbound::Toast(m) => Some(self.plain(m)),
                _ => None,
            })
            .collect();
        match &t.callback_id {
            Some(id) => {
                let text = (!toasts.is_empty()).then(|| toasts.join("\n"));
                let acked = if saved {
                    Acked::Committed
                } else {
                    Acked::NotSaved
                };
                self.answer_callback(id, text, window, acked).await;
            }
            None => {
                // A toast in answer to a typed message becomes a short reply.
                for text in &toasts {
                    if let Err(e) = self
                        .send_text(chat, &crate::render::escape_html(text), None)
                        .await
                    {
                        tracing::warn!(error = %e, "could not send a reply");
                    }
                }
            }
        }
        for r in replies {
            if let Err(e) = self.one(t, chat, r).await {
                tracing::warn!(error = %e, chat = chat.0, "Telegram send failed");
            }
        }
    }

    async fn one(&self, t: &Translated, chat: ChatId, r: Outbound) -> Result<(), RequestError> {
        let ev = &t.inbound;
        match r {
            Outbound::Toast(_) => {}
            Outbound::Reply { msg, keyboard } => {
                self.send_text(chat, &self.html(&msg), Some(&keyboard))
                    .await?;
            }
            Outbound::Private { msg, keyboard } => {
                let Some(user) = Self::chat_id(&ev.actor.user_id) else {
                    return Ok(());
                };
                let sent = self
                    .send_text(user, &self.html(&msg), Some(&keyboard))
                    .await
                    .map(|_| ());
                // Deleting a member's data and closing a survey have happened by now: the
                // hint must not ask to send the command again.
                let done = matches!(msg.template, "forgotten" | "closed");
                self.or_hint(ev, chat, To::Private, (msg.locale.clone(), done), sent)
                    .await?;
            }
            Outbound::PostPoll {
                survey,
                msg,
                keyboard,
            } => {
                if let Some(id) = self
                    .send_text(chat, &self.html(&msg), Some(&keyboard))
                    .await?
                {
                    if let Err(e) = self
                        .service
                        .record_posting(
                            survey,
                            Platform::Telegram,
                            &chat.0.to_string(),
                            &id.0.to_string(),
                        )
                        .await
                    {
                        tracing::error!(error = %e, "could not record the poll message");
                    }
                }
            }
            Outbound::RefreshPolls { survey } => self.refresher.mark(survey),
            Outbound::Report {
                report,
                chart_png,
                to,
            } => {
                let html = self
                    .renderer
                    .report(Format::Chat(Target::Html), &report)
                    .unwrap_or_else(|e| {
                        tracing::error!(error = %e, "report template failed");
                        self.html(&crate::service::try_again())
                    });
                let Some(dest) = self.dest(ev, chat, to) else {
                    return Ok(());
                };
                let sent = self.send_brief(dest, &html, chart_png).await;
                self.or_hint(ev, chat, to, (None, false), sent).await?;
            }
            Outbound::Digest {
                brief,
                chart_png,
                to,
            } => {
                let html = self
                    .renderer
                    .digest(Target::Html, &brief)
                    .unwrap_or_else(|e| {
                        tracing::error!(error = %e, "digest template failed");
                        self.html(&crate::service::try_again())
                    });
                let Some(dest) = self.dest(ev, chat, to) else {
                    return Ok(());
                };
                let sent = self.send_brief(dest, &html, chart_png).await;
                self.or_hint(ev, chat, to, (None, false), sent).await?;
            }
            Outbound::File {
                name,
                bytes,
                caption,
                to,
                ..
            } => {
                let Some(dest) = self.dest(ev, chat, to) else {
                    return Ok(());
                };
                let req = self
                    .bot
                    .send_document(dest, InputFile::memory(bytes).file_name(name))
                    .caption(
                        split(&self.html(&caption), 1024, Target::Html)
                            .into_iter()
                            .next()
                            .unwrap_or_default(),
                    )
                    .parse_mode(ParseMode::Html);
                let sent = with_retry("sendDocument", || req.send_ref())
                    .await
                    .map(|_| ());
                self.or_hint(ev, chat, to, (caption.locale.clone(), false), sent)
                    .await?;
            }
        }
        Ok(())
    }

    /// The chat a reply goes to: this one, or the actor's private chat (a Telegram user id is
    /// also the id of their private chat with the bot).
    fn dest(&self, ev: &Inbound, chat: ChatId, to: To) -> Option<ChatId> {
        match to {
            To::Chat => Some(chat),
            To::Private => Self::chat_id(&ev.actor.user_id),
        }
    }

    /// A private send that failed from a group (a bot cannot write first) becomes a hint
    /// there: open the bot, then ask again, or (`done`: the command's effect already
    /// happened) that it was done and the details could not be sent. Nothing of the refused
    /// reply is shown.
    async fn or_hint(
        &self,
        ev: &Inbound,
        chat: ChatId,
        to: To,
        (locale, done): (Option<String>, bool),
        sent: Result<(), RequestError>,
    ) -> Result<(), RequestError> {
        let Err(e) = sent else {
            return Ok(());
        };
        if to == To::Chat || ev.chat.kind != ChatKind::Group {
            return Err(e);
        }
        tracing::info!(error = %e, "private message refused; pointing the member to the bot");
        let command = match &ev.body {
            Body::Text(t) => crate::core::command::parse(t)
                .ok()
                .flatten()
                .map(|c| c.name()),
            Body::Button(_) => None,
        };
        let mut hint = Msg::new(
            "tg_open_private",
            json!({ "name": ev.actor.display_name, "bot": self.username, "command": command, "done": done }),
        );
        hint.locale = locale;
        let mut req = self
            .bot
            .send_message(chat, self.html(&hint))
            .parse_mode(ParseMode::Html);
        if let Some(kb) = self.start_keyboard(hint.locale.as_deref()) {
            req = req.reply_markup(kb);
        }
        with_retry("sendMessage", || req.send_ref()).await?;
        Ok(())
    }

    /// A long HTML text, then the chart as a photo.
    pub(super) async fn send_brief(
        &self,
        chat: ChatId,
        html: &str,
        chart: Option<Vec<u8>>,
    ) -> Result<(), RequestError> {
        self.send_text(chat, html, None).await?;
        if let Some(png) = chart {
            let req = self
                .bot
                .send_photo(chat, InputFile::memory(png).file_name("chart.png"));
            with_retry("sendPhoto", || req.send_ref()).await?;
        }
        Ok(())
    }

    fn start_keyboard(&self, locale: Option<&str>) -> Option<InlineKeyboardMarkup> {
        let url = url::Url::parse(&format!("https://t.me/{}", self.username)).ok()?;
        let label = self
            .renderer
            .render_in(Target::Plain, locale, "button_open_private", &json!({}))
            .unwrap_or_else(|_| "Open".into());
        Some(InlineKeyboardMarkup::new(vec![vec![
            InlineKeyboardButton::url(label, url),
        ]]))
    }
}

/// What had happened to a tap when it is acknowledged.
#[derive(Clone, Copy)]
pub(super) enum Acked {
    /// Its transaction committed.
    Committed,
    /// Its transaction failed: nothing was saved, the member is asked to try again.
    NotSaved,
    /// Telegram sent it again after a restart; it was applied before.
    Redelivered,
}

/// What a member is owed once their update was committed.
pub(super) enum Owed {
    /// The core's replies.
    Replies(Vec<Outbound>),
    /// A "try again": the update's transaction failed and nothing of it was saved.
    NotSaved(Vec<Outbound>),
    /// Only the tap's acknowledgement: a redelivered tap, already applied.
    Ack,
}

struct Job {
    t: Translated,
    owed: Owed,
    window: Instant,
}

/// Per-member send queues, run off the listener's path: a member's replies go out in the order
/// their updates were committed (a private survey's question 1 before question 2), and one
/// member's 429, 5xx or slow call holds up that member's replies only, never the listener or
/// anyone else. A queue's task ends when the queue is empty.
#[derive(Clone)]
pub(super) struct Outbox(Arc<OutboxInner>);

struct OutboxInner {
    sender: Sender,
    /// Member → replies waiting; present while that member's task runs.
    queues: Mutex<HashMap<String, VecDeque<Job>>>,
    idle: Notify,
}

/// Removes a member's queue if its task ends by a panic, so a later push starts a new task.
struct Draining {
    outbox: Outbox,
    key: String,
}

impl Drop for Draining {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.outbox.queues().remove(&self.key);
            self.outbox.0.idle.notify_waiters();
        }
    }
}

impl Outbox {
    pub(super) fn new(sender: Sender) -> Self {
        Outbox(Arc::new(OutboxInner {
            sender,
            queues: Mutex::new(HashMap::new()),
            idle: Notify::new(),
        }))
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Job>>> {
        self.0.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues what the member of `t` is owed, behind what they are owed already; `window` is
    /// when a tap's acknowledgement stops being useful.
    pub(super) fn push(&self, t: Translated, owed: Owed, window: Instant) {
        let key = t.inbound.actor.user_id.clone();
        let job = Job { t, owed, window };
        let mut queues = self.queues();
        match queues.get_mut(&key) {
            Some(queue) => queue.push_back(job),
            None => {
                queues.insert(key.clone(), VecDeque::from([job]));
                tokio::spawn(self.clone().drain(key));
            }
        }
    }

    async fn drain(self, key: String) {
        let _guard = Draining {
            outbox: self.clone(),
            key: key.clone(),
        };
        loop {
            let job = {
                let mut queues = self.queues();
                match queues.get_mut(&key).and_then(VecDeque::pop_front) {
                    Some(job) => job,
                    None => {
                        queues.remove(&key);
                        drop(queues);
                        self.0.idle.notify_waiters();
                        return;
                    }
                }
            };
            match job.owed {
                Owed::Replies(replies) => {
                    self.0
                        .sender
                        .deliver(&job.t, replies, job.window, true)
                        .await;
                }
                Owed::NotSaved(replies) => {
                    self.0
                        .sender
                        .deliver(&job.t, replies, job.window, false)
                        .await;
                }
                Owed::Ack => {
                    if let Some(id) = &job.t.callback_id {
                        self.0
                            .sender
                            .answer_callback(id, None, job.window, Acked::Redelivered)
                            .await;
                    }
                }
            }
        }
    }

    /// Waits until every queue is empty or `deadline` passed; returns how many members still
    /// have replies waiting.
    pub(super) async fn flush(&self, deadline: Instant) -> usize {
        loop {
            let idle = self.0.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let waiting = self.queues().len();
            if waiting == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.queues().len();
            }
        }
    }
}
