//! Core replies out to Discord: Markdown text split at 2000 characters, components within
//! Discord's limits, no mentions ever, ephemeral where only the member should see it; the
//! adapter's REST calls (`Rest`) with bounded retries that honour each 429's `retry_after`.

use crate::core::event::{ButtonAction, Keyboard, Msg, Platform};
use crate::render::{Renderer, Target, split};
use serde_json::{Value, json};
use serenity::all::{
    ApplicationId, ButtonStyle, ChannelId, CreateActionRow, CreateAllowedMentions,
    CreateAttachment, CreateButton, CreateCommand, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateMessage, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption, EditInteractionResponse, EditMessage, GuildId, Http, InteractionId,
    MessageId,
};
use serenity::http::{LightMethod, Multipart, MultipartUpload, Request, Route};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The real Discord; anything else is a test server or an API proxy.
pub const DISCORD: &str = "https://discord.com";

/// Whether a call may be repeated when its outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Call {
    /// Acknowledging an interaction, editing a message, or posting with an enforced nonce:
    /// doing it twice does no harm.
    Idempotent,
    /// Posting a message or follow-up: doing it twice posts it twice.
    Creates,
}

const RETRIES: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Backoff of calls that must succeed within a deadline (acknowledgements): shorter, so
/// several attempts fit in Discord's 3 s.
const FIRST_BACKOFF_DEADLINE: Duration = Duration::from_millis(250);
/// A 429 asking for a longer wait than this is not waited out: the call is given up.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// "Interaction has already been acknowledged": the answer to a repeated callback.
const ALREADY_ACKNOWLEDGED: i64 = 40060;

/// What went wrong with one REST call made through `Rest`.
#[derive(Debug, thiserror::Error)]
pub(super) enum SendError {
    /// Discord (or the configured server) answered with an error status.
    #[error("Discord answered {status}: {message} (code {code})")]
    Status {
        status: u16,
        code: i64,
        message: String,
        /// The wait a 429 (or a 5xx) asked for: the body's `retry_after`, else the
        /// `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// The call failed on the network; `connected` false means it never reached the server.
    #[error("network error (connected: {connected}): {error}")]
    Network { connected: bool, error: String },
    #[error("{0}")]
    Other(String),
}

impl From<serenity::Error> for SendError {
    fn from(e: serenity::Error) -> Self {
        use serenity::http::HttpError;
        match e {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => SendError::Status {
                status: r.status_code.as_u16(),
                code: r.error.code as i64,
                message: r.error.message,
                retry_after: None,
            },
            serenity::Error::Http(HttpError::Request(r)) => network(r),
            other => SendError::Other(other.to_string()),
        }
    }
}

/// A reqwest failure, without the URL (it holds the interaction token).
fn network(e: reqwest::Error) -> SendError {
    SendError::Network {
        connected: !e.is_connect(),
        // With its causes: reqwest's own text ("error sending request") hides why.
        error: crate::platform::chain(&e.without_url()),
    }
}

/// How a failed call may be retried.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// 429: nothing was done; wait what was asked, if known.
    RateLimited(Option<Duration>),
    /// 5xx: maybe done; the wait asked for, if any.
    ServerError(Option<Duration>),
    /// A network failure; `connected` false means nothing reached the server.
    Network { connected: bool },
    /// Anything else: repeating would fail the same way.
    Final,
}

/// An error `with_retry_until` can judge.
pub(super) trait Failure: std::fmt::Display {
    fn verdict(&self) -> Verdict;
}

impl Failure for SendError {
    fn verdict(&self) -> Verdict {
        match self {
            SendError::Status {
                status: 429,
                retry_after,
                ..
            } => Verdict::RateLimited(*retry_after),
            SendError::Status {
                status,
                retry_after,
                ..
            } if *status >= 500 => Verdict::ServerError(*retry_after),
            SendError::Network { connected, .. } => Verdict::Network {
                connected: *connected,
            },
            _ => Verdict::Final,
        }
    }
}

/// serenity's own errors carry no `retry_after` (serenity drops it); with its rate limiter on
/// (the real Discord), 429s are waited out inside serenity before they get here.
impl Failure for serenity::Error {
    fn verdict(&self) -> Verdict {
        use serenity::Error;
        use serenity::http::HttpError;
        match self {
            Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 429 => {
                Verdict::RateLimited(None)
            }
            Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.is_server_error() => {
                Verdict::ServerError(None)
            }
            Error::Http(HttpError::Request(r)) => Verdict::Network {
                connected: !r.is_connect(),
            },
            _ => Verdict::Final,
        }
    }
}

/// Runs a Discord call, retrying at most `RETRIES` times: always after a 429 (nothing was
/// done), waiting the `retry_after` it asked for (given up above `MAX_RATE_LIMIT_WAIT`), and
/// after a 5xx or a network error only when the call is idempotent or the connection was never
/// made, with doubling waits from 0.5 s (or the server's `retry_after`). A message whose outcome
/// is unknown is not posted again: a lost message is logged, a duplicate would mislead.
/// Answers are committed before anything is sent, so none is lost either way.
///
/// For a call that is useless after `deadline` (an acknowledgement): no attempt
/// starts after it, a wait that would end after it is not begun, and the backoff starts at
/// 0.25 s so several attempts fit.
pub(super) async fn with_retry_until<T, E, F, Fut>(
    what: &str,
    call: Call,
    deadline: Option<Instant>,
    mut attempt_call: F,
) -> Result<T, E>
where
    E: Failure,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut backoff = if deadline.is_some() {
        FIRST_BACKOFF_DEADLINE
    } else {
        FIRST_BACKOFF
    };
    let mut attempt = 0;
    loop {
        let e = match attempt_call().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let verdict = e.verdict();
        let wait = match verdict {
            Verdict::RateLimited(asked) => Some(asked.unwrap_or(backoff)),
            Verdict::ServerError(asked) if call == Call::Idempotent => {
                Some(asked.unwrap_or(backoff).max(backoff))
            }
            Verdict::Network { connected: false } => Some(backoff),
            Verdict::Network { connected: true } if call == Call::Idempotent => Some(backoff),
            _ => None,
        };
        let Some(wait) = wait else {
            if call == Call::Creates && matches!(verdict, Verdict::Network { connected: true }) {
                tracing::warn!(call = what, error = %e, "outcome unknown; not posted again, as it may have been delivered");
            }
            return Err(e);
        };
        let late = deadline.is_some_and(|d| Instant::now() + wait >= d);
        if attempt >= RETRIES || wait > MAX_RATE_LIMIT_WAIT || late {
            tracing::warn!(call = what, error = %e, attempts = attempt + 1, wait_ms = wait.as_millis() as u64, "Discord call failed; giving up");
            return Err(e);
        }
        tracing::warn!(call = what, error = %e, wait_ms = wait.as_millis() as u64, "Discord call failed; retrying");
        tokio::time::sleep(wait).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// The adapter's own REST calls. On the real Discord, channel posts, poll edits and command
/// registration go through serenity's `Http` and its rate limiter, which waits out 429s before
/// they reach us; interaction callbacks and follow-ups always go direct (see `interactions`). With another `api_url` (a test
/// server or an API proxy) serenity must run with its limiter off (it ignores the proxy while
/// the limiter is on) and would then drop a 429's `retry_after`, so the calls are sent with our
/// own reqwest client (the one serenity uses too) and the answer's status, `retry_after` body
/// field and `Retry-After` header are read here.
#[derive(Clone)]
pub(super) struct Rest {
    http: Arc<Http>,
    direct: Option<Arc<Direct>>,
    /// Interaction callbacks and their webhooks always go direct: serenity's limiter puts every
    /// member's replies in one bucket and holds it while it sleeps out a 429, so one member's
    /// slow reply would hold up everyone's. Discord exempts these routes from the global limit.
    interactions: Arc<Direct>,
}

struct Direct {
    client: reqwest::Client,
    base: String,
}

/// Where the adapter's calls go: made once at start, turned into a `Rest` with the `Http` of
/// serenity's context.
#[derive(Clone)]
pub(super) struct Api {
    direct: Option<Arc<Direct>>,
    interactions: Arc<Direct>,
}

impl Api {
    /// `client` must be the one serenity's `Http` is built with; `api_url` the configured base.
    pub(super) fn new(client: reqwest::Client, api_url: &str) -> Self {
        let base = api_url.trim_end_matches('/');
        let interactions = Arc::new(Direct {
            client,
            base: base.to_string(),
        });
        let direct = (base != DISCORD).then(|| interactions.clone());
        Api {
            direct,
            interactions,
        }
    }

    /// Whether calls bypass serenity's rate limiter (any `api_url` but Discord's).
    pub(super) fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    pub(super) fn rest(&self, http: Arc<Http>) -> Rest {
        Rest {
            http,
            direct: self.direct.clone(),
            interactions: self.interactions.clone(),
        }
    }
}

impl Rest {
    /// One attempt; the body of a successful answer.
    async fn once(&self, req: Request<'_>) -> Result<Vec<u8>, SendError> {
        self.once_via(self.direct.as_deref(), req).await
    }

    /// One attempt of an interaction callback or webhook call: never through the limiter.
    async fn once_interaction(&self, req: Request<'_>) -> Result<Vec<u8>, SendError> {
        self.once_via(Some(&self.interactions), req).await
    }

    async fn once_via(
        &self,
        direct: Option<&Direct>,
        req: Request<'_>,
    ) -> Result<Vec<u8>, SendError> {
        let Some(d) = direct else {
            let response = self.http.request(req).await?;
            return response.bytes().await.map(|b| b.to_vec()).map_err(network);
        };
        let response = req
            .build(&d.client, self.http.token(), Some(&d.base))?
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let header_wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let body = response.bytes().await.map_err(network)?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let retry_after = json["retry_after"]
            .as_f64()
            .or(header_wait)
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
        Err(SendError::Status {
            status: status.as_u16(),
            code: json["code"].as_i64().unwrap_or(0),
            message: json["message"].as_str().unwrap_or_default().to_string(),
            retry_after,
        })
    }

    async fn run(
        &self,
        what: &str,
        call: Call,
        deadline: Option<Instant>,
        req: Request<'_>,
    ) -> Result<Vec<u8>, SendError> {
        with_retry_until(what, call, deadline, || self.once(req.clone())).await
    }

    async fn run_interaction(
        &self,
        what: &str,
        call: Call,
        req: Request<'_>,
    ) -> Result<Vec<u8>, SendError> {
        with_retry_until(what, call, None, || self.once_interaction(req.clone())).await
    }

    /// Answers an interaction (defer, type 6, modal) before `deadline`. A repeat after an
    /// unknown outcome that Discord refuses as "already acknowledged" counts as done.
    pub(super) async fn respond(
        &self,
        what: &str,
        id: InteractionId,
        token: &str,
        response: &CreateInteractionResponse,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let req = Request::new(
            Route::InteractionResponse {
                interaction_id: id,
                token,
            },
            LightMethod::Post,
        )
        .body(Some(to_vec(response)?));
        let tries = std::sync::atomic::AtomicU32::new(0);
        let attempt = || {
            let repeat = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0;
            let req = req.clone();
            async move {
                match self.once_interaction(req).await {
                    Err(SendError::Status { code, .. })
                        if repeat && code == ALREADY_ACKNOWLEDGED =>
                    {
                        Ok(Vec::new())
                    }
                    other => other,
                }
            }
        };
        let limit = tokio::time::timeout_at(
            deadline,
            with_retry_until(what, Call::Idempotent, Some(deadline), attempt),
        );
        match limit.await {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(SendError::Other(format!(
                "{what}: no answer within the acknowledgement window"
            ))),
        }
    }

    /// Replaces the interaction's original response (idempotent).
    pub(super) async fn edit_original(
        &self,
        app: ApplicationId,
        token: &str,
        edit: &EditInteractionResponse,
        file: Option<CreateAttachment>,
    ) -> Result<(), SendError> {
        let req = Request::new(
            Route::WebhookOriginalInteractionResponse {
                application_id: app,
                token,
            },
            LightMethod::Patch,
        );
        let req = with_body(req, edit, file)?;
        self.run_interaction("edit response", Call::Idempotent, req)
            .await
            .map(|_| ())
    }

    /// Posts a follow-up (not repeated when its outcome is unknown).
    pub(super) async fn followup(
        &self,
        app: ApplicationId,
        token: &str,
        followup: &CreateInteractionResponseFollowup,
        file: Option<CreateAttachment>,
    ) -> Result<(), SendError> {
        let req = Request::new(
            Route::WebhookFollowupMessages {
                application_id: app,
                token,
            },
            LightMethod::Post,
        );
        let req = with_body(req, followup, file)?;
        self.run_interaction("follow-up", Call::Creates, req)
            .await
            .map(|_| ())
    }

    /// Posts a channel message; `call` is `Idempotent` only when it carries an enforced nonce.
    /// Returns the message id.
    pub(super) async fn post(
        &self,
        what: &str,
        call: Call,
        channel: ChannelId,
        message: &CreateMessage,
        file: Option<CreateAttachment>,
    ) -> Result<MessageId, SendError> {
        let req = Request::new(
            Route::ChannelMessages {
                channel_id: channel,
            },
            LightMethod::Post,
        );
        let req = with_body(req, message, file)?;
        let body = self.run(what, call, None, req).await?;
        let posted: Value = serde_json::from_slice(&body)
            .map_err(|e| SendError::Other(format!("{what}: unreadable answer: {e}")))?;
        posted["id"]
            .as_str()
            .and_then(|id| id.parse::<u64>().ok())
            .filter(|id| *id != 0)
            .map(MessageId::new)
            .ok_or_else(|| SendError::Other(format!("{what}: no message id in the answer")))
    }

    /// Edits a channel message (idempotent).
    pub(super) async fn edit_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        edit: &EditMessage,
    ) -> Result<(), SendError> {
        let req = Request::new(
            Route::ChannelMessage {
                channel_id: channel,
                message_id: message,
            },
            LightMethod::Patch,
        )
        .body(Some(to_vec(edit)?));
        self.run("edit poll message", Call::Idempotent, None, req)
            .await
            .map(|_| ())
    }

    /// Replaces the application's commands, globally or in one guild (idempotent).
    pub(super) async fn set_commands(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        commands: &[CreateCommand],
    ) -> Result<(), SendError> {
        let route = match guild {
            Some(guild_id) => Route::GuildCommands {
                application_id: app,
                guild_id,
            },
            None => Route::Commands {
                application_id: app,
            },
        };
        let req = Request::new(route, LightMethod::Put).body(Some(to_vec(&commands)?));
        self.run("register commands", Call::Idempotent, None, req)
            .await
            .map(|_| ())
    }
}

fn to_vec(body: &impl serde::Serialize) -> Result<Vec<u8>, SendError> {
    serde_json::to_vec(body).map_err(|e| SendError::Other(e.to_string()))
}

/// A JSON body, or with a file the multipart form Discord expects (`payload_json` and
/// `files[0]`; the builder lists the file as attachment 0).
fn with_body<'a>(
    req: Request<'a>,
    body: &impl serde::Serialize,
    file: Option<CreateAttachment>,
) -> Result<Request<'a>, SendError> {
    Ok(match file {
        None => req.body(Some(to_vec(body)?)),
        Some(file) => req.multipart(Some(Multipart {
            upload: MultipartUpload::Attachments(vec![file]),
            fields: Vec::new(),
            payload_json: Some(
                serde_json::to_string(body).map_err(|e| SendError::Other(e.to_string()))?,
            ),
        })),
    })
}

/// Discord's message limit.
pub(super) const MAX_TEXT: usize = 2000;
const MAX_BUTTON_LABEL: usize = 80;
const MAX_SELECT_LABEL: usize = 100;

/// No @everyone, no roles, no users: member text never pings anyone.
pub(super) fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .everyone(false)
        .all_users(false)
        .all_roles(false)
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub(super) fn markdown(renderer: &Renderer, msg: &Msg) -> String {
    renderer
        .render_on(Platform::Discord, Target::Markdown, msg)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, template = msg.template, "template failed");
            "…".into()
        })
}

pub(super) fn parts(text: &str) -> Vec<String> {
    split(text, MAX_TEXT, Target::Markdown)
}

fn custom_id(action: &ButtonAction) -> String {
    match action {
        ButtonAction::Payload(p) => p.clone(),
        ButtonAction::DeepLink { survey } => format!("take.{survey}"),
    }
}

/// Converts a core keyboard into at most 5 action rows. Short keyboards stay buttons (at
/// most 5 per row); option lists longer than that become one select menu, with control
/// buttons (Undo, Done, Skip) kept as a row under it.
pub(super) fn components(
    renderer: &Renderer,
    kb: &Keyboard,
    extra: Option<CreateButton>,
    locale: Option<&str>,
) -> Vec<CreateActionRow> {
    let label = |b: &crate::core::event::Button| renderer.label(&b.label).unwrap_or_default();
    let is_control =
        |b: &crate::core::event::Button| matches!(&b.label, crate::core::event::Label::Template(_));
    let buttons: Vec<_> = kb.buttons().collect();
    let choices: Vec<_> = buttons.iter().filter(|b| !is_control(b)).collect();
    let controls: Vec<_> = buttons.iter().filter(|b| is_control(b)).collect();
    let mut rows = Vec::new();
    let fits = kb.rows.len() <= 4 && kb.rows.iter().all(|r| r.len() <= 5);
    if fits {
        for row in &kb.rows {
            let bs: Vec<CreateButton> = row
                .iter()
                .map(|b| {
                    CreateButton::new(custom_id(&b.action))
                        .label(truncate(&label(b), MAX_BUTTON_LABEL))
                        .style(if is_control(b) {
                            ButtonStyle::Secondary
                        } else {
                            ButtonStyle::Primary
                        })
                })
                .collect();
            if !bs.is_empty() {
                rows.push(CreateActionRow::Buttons(bs));
            }
        }
    } else {
        let options: Vec<CreateSelectMenuOption> = choices
            .iter()
            .take(25)
            .map(|b| {
                CreateSelectMenuOption::new(
                    truncate(&label(b), MAX_SELECT_LABEL),
                    custom_id(&b.action),
                )
            })
            .collect();
        if !options.is_empty() {
            let placeholder = renderer
                .render_in(Target::Plain, locale, "dc_select_placeholder", &json!({}))
                .unwrap_or_default();
            rows.push(CreateActionRow::SelectMenu(
                CreateSelectMenu::new("choose", CreateSelectMenuKind::String { options })
                    .placeholder(truncate(&placeholder, 150))
                    .min_values(1)
                    .max_values(1),
            ));
        }
        let bs: Vec<CreateButton> = controls
            .iter()
            .take(5)
            .map(|b| {
                CreateButton::new(custom_id(&b.action))
                    .label(truncate(&label(b), MAX_BUTTON_LABEL))
                    .style(ButtonStyle::Secondary)
            })
            .collect();
        if !bs.is_empty() {
            rows.push(CreateActionRow::Buttons(bs));
        }
    }
    if let Some(b) = extra {
        rows.push(CreateActionRow::Buttons(vec![b]));
    }
    rows.truncate(5);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn status(code: u16, retry_after: Option<f64>) -> SendError {
        SendError::Status {
            status: code,
            code: 0,
            message: String::new(),
            retry_after: retry_after.map(Duration::from_secs_f64),
        }
    }

    /// Runs `with_retry_until` against a call that fails with `fail` `failures` times.
    async fn attempts(
        call: Call,
        deadline: Option<Instant>,
        failures: u32,
        fail: impl Fn() -> SendError,
    ) -> (u32, bool) {
        let n = AtomicU32::new(0);
        let r = with_retry_until("test", call, deadline, || {
            let k = n.fetch_add(1, Ordering::SeqCst);
            let e = (k < failures).then(&fail);
            async move { e.map_or(Ok(()), Err) }
        })
        .await;
        (n.load(Ordering::SeqCst), r.is_ok())
    }

    #[tokio::test]
    async fn a_429_is_waited_out_for_as_long_as_it_asks() {
        let started = Instant::now();
        let r = attempts(Call::Creates, None, 1, || status(429, Some(0.3))).await;
        assert_eq!(r, (2, true));
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn a_wait_past_the_acknowledgement_deadline_is_not_begun() {
        let started = Instant::now();
        let deadline = Some(started + Duration::from_secs(3));
        let r = attempts(Call::Idempotent, deadline, 1, || status(429, Some(5.0))).await;
        assert_eq!(r, (1, false), "given up at once");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_5xx_is_retried_only_when_repeating_is_safe() {
        let r = attempts(Call::Idempotent, None, 1, || status(502, None)).await;
        assert_eq!(r, (2, true));
        let r = attempts(Call::Creates, None, 1, || status(502, None)).await;
        assert_eq!(r, (1, false), "a post is not repeated after a 5xx");
        let lost = || SendError::Network {
            connected: true,
            error: "reset".into(),
        };
        assert_eq!(attempts(Call::Creates, None, 1, lost).await, (1, false));
        let refused = || SendError::Network {
            connected: false,
            error: "refused".into(),
        };
        assert_eq!(attempts(Call::Creates, None, 1, refused).await, (2, true));
        let r = attempts(Call::Idempotent, None, 1, || status(403, None)).await;
        assert_eq!(r, (1, false), "a refusal is final");
    }

    #[tokio::test]
    async fn a_429_asking_for_more_than_a_minute_is_given_up() {
        let r = attempts(Call::Creates, None, 1, || status(429, Some(3600.0))).await;
        assert_eq!(r, (1, false));
    }
}
