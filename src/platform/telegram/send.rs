//! Core replies out to Telegram: HTML rendering, keyboards, splitting at 4096 characters,
//! retries that honour 429 `retry_after` and back off on network errors.

use super::refresh;
use super::translate::Translated;
use crate::bot::Bot as Core;
use crate::core::event::{Body, ButtonAction, ChatKind, Inbound, Keyboard, Msg, Outbound, To};
use crate::render::report::Format;
use crate::render::{Renderer, Target, split};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQueryId, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode,
};

/// Telegram's message limit.
pub const MAX_TEXT: usize = 4096;
/// Toasts (answerCallbackQuery) show at most 200 characters.
const MAX_TOAST: usize = 200;
const RETRIES: u32 = 4;

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
pub async fn with_retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, RequestError>
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
                    error = %e,
                    "network error after the request was sent; not repeated, as it may have been delivered"
                );
                return Err(RequestError::Network(e));
            }
            Err(RequestError::Network(e)) if attempt < RETRIES => {
                tracing::warn!(call = what, error = %e, "network error; backing off");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(e) => return Err(e),
        }
        attempt += 1;
    }
}

/// Inline keyboard for Telegram: callback buttons, and URL buttons (t.me deep links) that
/// open the private chat with `/start SURVEY`.
pub fn markup(renderer: &Renderer, username: &str, kb: &Keyboard) -> InlineKeyboardMarkup {
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
pub struct Sender {
    bot: teloxide::Bot,
    core: Core,
    renderer: Arc<Renderer>,
    username: String,
    refresher: refresh::Handle,
}

impl Sender {
    pub fn new(
        bot: teloxide::Bot,
        core: Core,
        renderer: Arc<Renderer>,
        username: String,
        refresher: refresh::Handle,
    ) -> Self {
        Self {
            bot,
            core,
            renderer,
            username,
            refresher,
        }
    }

    fn html(&self, msg: &Msg) -> String {
        self.renderer.render(Target::Html, msg).unwrap_or_else(|e| {
            tracing::error!(error = %e, template = msg.template, "template failed");
            "…".into()
        })
    }

    fn plain(&self, msg: &Msg) -> String {
        self.renderer
            .render(Target::Plain, msg)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, template = msg.template, "template failed");
                "…".into()
            })
    }

    pub fn markup(&self, kb: &Keyboard) -> InlineKeyboardMarkup {
        markup(&self.renderer, &self.username, kb)
    }

    /// Sends HTML text, split at the limit without breaking tags; the keyboard goes on the last
    /// part. Returns the id of the last message sent.
    pub async fn send_text(
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

    pub async fn answer_callback(&self, id: &str, text: Option<String>) {
        let mut req = self
            .bot
            .answer_callback_query(CallbackQueryId(id.to_string()));
        if let Some(t) = text {
            req = req.text(truncate(&t, MAX_TOAST));
        }
        if let Err(e) = with_retry("answerCallbackQuery", || req.send_ref()).await {
            // Usually a query answered before (a redelivered tap): harmless.
            tracing::debug!(error = %e, "could not answer a callback query");
        }
    }

    fn chat_id(raw: &str) -> Option<ChatId> {
        raw.parse::<i64>().ok().map(ChatId)
    }

    /// Sends everything the core asked for, in order. A tap is acknowledged first, so the
    /// member's spinner stops even if a later message is slow.
    pub async fn deliver(&self, t: &Translated, replies: Vec<Outbound>) {
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
                self.answer_callback(id, text).await;
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
                self.or_hint(ev, chat, To::Private, msg.locale.clone(), sent)
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
                    let now = self.core.now();
                    if let Err(e) = self
                        .core
                        .store()
                        .record_posting(
                            survey,
                            "telegram",
                            &chat.0.to_string(),
                            &id.0.to_string(),
                            now,
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
                        self.html(&crate::bot::try_again())
                    });
                let Some(dest) = self.dest(ev, chat, to) else {
                    return Ok(());
                };
                let sent = self.send_brief(dest, &html, chart_png).await;
                self.or_hint(ev, chat, to, None, sent).await?;
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
                        self.html(&crate::bot::try_again())
                    });
                let Some(dest) = self.dest(ev, chat, to) else {
                    return Ok(());
                };
                let sent = self.send_brief(dest, &html, chart_png).await;
                self.or_hint(ev, chat, to, None, sent).await?;
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
                self.or_hint(ev, chat, to, caption.locale.clone(), sent)
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
    /// there: open the bot, then ask again. Nothing of the refused reply is shown.
    async fn or_hint(
        &self,
        ev: &Inbound,
        chat: ChatId,
        to: To,
        locale: Option<String>,
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
            json!({ "name": ev.actor.display_name, "bot": self.username, "command": command }),
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
    pub async fn send_brief(
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
