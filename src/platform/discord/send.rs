//! Core replies out to Discord: Markdown text split at 2000 characters, components within
//! Discord's limits, no mentions ever, ephemeral where only the member should see it; bounded
//! retries with backoff on 429, 5xx and network errors.

use crate::core::event::{ButtonAction, Keyboard, Msg};
use crate::render::{Renderer, Target, split};
use serde_json::json;
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption,
};

/// Whether a call may be repeated when its outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Acknowledging an interaction or editing a message: doing it twice does no harm.
    Idempotent,
    /// Posting a message or follow-up: doing it twice posts it twice.
    Creates,
}

const RETRIES: u32 = 4;
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs a Discord call, retrying at most `RETRIES` times with doubling waits: always after a
/// 429 (nothing was done), and after a 5xx or a network error only when the call is idempotent
/// or the connection was never made. A message whose outcome is unknown is not posted again:
/// a lost message is logged, a duplicate would mislead. Answers are committed before anything
/// is sent, so none is lost either way.
///
/// With serenity's rate limiter on (the real Discord) 429s are waited out inside serenity; it
/// is off when a proxy or test server is configured, and serenity then drops the
/// `retry_after` of the answer, so the wait here is our own backoff.
pub async fn with_retry<T, F, Fut>(
    what: &str,
    call: Call,
    mut attempt_call: F,
) -> serenity::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = serenity::Result<T>>,
{
    use serenity::Error;
    use serenity::http::HttpError;
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        let e = match attempt_call().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let retry = match &e {
            Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 429 => true,
            Error::Http(HttpError::UnsuccessfulRequest(r)) => {
                r.status_code.is_server_error() && call == Call::Idempotent
            }
            Error::Http(HttpError::Request(r)) => call == Call::Idempotent || r.is_connect(),
            _ => false,
        };
        if !retry || attempt >= RETRIES {
            if !retry && call == Call::Creates && matches!(&e, Error::Http(HttpError::Request(_))) {
                tracing::warn!(call = what, error = %e, "outcome unknown; not posted again, as it may have been delivered");
            }
            return Err(e);
        }
        tracing::warn!(call = what, error = %e, wait_ms = backoff.as_millis() as u64, "Discord call failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// Discord's message limit.
pub const MAX_TEXT: usize = 2000;
const MAX_BUTTON_LABEL: usize = 80;
const MAX_SELECT_LABEL: usize = 100;

/// No @everyone, no roles, no users: member text never pings anyone.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .everyone(false)
        .all_users(false)
        .all_roles(false)
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

pub fn markdown(renderer: &Renderer, msg: &Msg) -> String {
    renderer.render(Target::Markdown, msg).unwrap_or_else(|e| {
        tracing::error!(error = %e, template = msg.template, "template failed");
        "…".into()
    })
}

pub fn parts(text: &str) -> Vec<String> {
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
pub fn components(
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
