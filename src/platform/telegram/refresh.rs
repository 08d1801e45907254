//! Coalesced poll-message refreshes: at most one edit per message per interval, and only when
//! the shown text or buttons changed. Editing once per vote would hit Telegram's per-chat limit
//! and answer taps minutes late under a burst.

use super::send::{CallError, call_idempotent, markup};
use crate::core::event::Platform;
use crate::core::ids::SurveyKey;
use crate::render::{Renderer, Target};
use crate::service::Service;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub(super) use crate::platform::refresh::Handle;
use crate::platform::refresh::Unposted;

/// How long one poll message's edit is retried (after a 429, a 5xx or a network error) before
/// the refresher moves on; other polls wait behind it, so this stays short.
const EDIT_BUDGET: Duration = Duration::from_secs(10);

struct Refresher {
    service: Service,
    renderer: Arc<Renderer>,
    bot: teloxide::Bot,
    username: String,
    /// Polls whose message id is not recorded yet, refreshed again later.
    unposted: Unposted,
    /// What each message currently shows, so unchanged messages are not edited.
    shown: HashMap<(i64, i32), String>,
}

impl Refresher {
    async fn refresh(&mut self, dirty: BTreeSet<SurveyKey>) {
        for key in dirty {
            let view = match self.service.poll_view(key).await {
                Ok(Some(v)) => v,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, survey = %key, "cannot build the poll view");
                    continue;
                }
            };
            let postings = match self.service.postings(key, Platform::Telegram).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read postings");
                    continue;
                }
            };
            let html = match self
                .renderer
                .render_on(Platform::Telegram, Target::Html, &view.0)
            {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "poll template failed");
                    continue;
                }
            };
            // A closed survey's message now gets its final state: recorded once edited.
            let closed = view.0.data.get("open") == Some(&serde_json::Value::Bool(false));
            let kb = markup(&self.renderer, &self.username, &view.1);
            let fingerprint = format!(
                "{html}\u{0}{}",
                serde_json::to_string(&kb).unwrap_or_default()
            );
            for p in &postings {
                if p.message_id.is_none() {
                    self.unposted.retry(key);
                    continue;
                }
                let (Ok(chat), Some(Ok(msg))) = (
                    p.chat_id.parse::<i64>(),
                    p.message_id.as_deref().map(str::parse::<i32>),
                ) else {
                    continue;
                };
                if self.shown.get(&(chat, msg)) != Some(&fingerprint) {
                    if !self.edit(chat, msg, &html, &kb).await {
                        continue;
                    }
                    self.shown.insert((chat, msg), fingerprint.clone());
                }
                if closed {
                    match self
                        .service
                        .record_finalised(key, Platform::Telegram, &p.chat_id)
                        .await
                    {
                        // The first time only: the result's chart goes under the poll once.
                        Ok(true) => self.send_chart(chat, &view.0).await,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, survey = %key, "could not record a finalised poll");
                        }
                    }
                }
            }
        }
    }

    /// Posts a closed poll's result as a chart, when members may see it (the message carries
    /// the tally then). A failure is logged: the message already shows the result.
    async fn send_chart(&self, chat: i64, msg: &crate::core::event::Msg) {
        let title = msg.data["question"]["text"].as_str().unwrap_or_default();
        let locale = msg.locale.as_deref().unwrap_or(crate::locale::DEFAULT);
        let png = match crate::render::chart::tally_png(title, &msg.data["results"], locale) {
            Some(Ok(png)) => png,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "the poll chart failed; the message shows the result");
                return;
            }
            None => return,
        };
        use teloxide::prelude::Requester;
        use teloxide::requests::Request;
        let req = self.bot.send_photo(
            teloxide::types::ChatId(chat),
            teloxide::types::InputFile::memory(png).file_name("chart.png"),
        );
        if let Err(e) = super::send::with_retry("sendPhoto", || req.send_ref()).await {
            tracing::warn!(error = %e, chat, "could not post the poll's chart");
        }
    }

    /// Edits one poll message; false when it could not (logged).
    async fn edit(&self, chat: i64, msg: i32, html: &str, kb: &impl serde::Serialize) -> bool {
        let body = serde_json::json!({
            "chat_id": chat,
            "message_id": msg,
            "text": html,
            "parse_mode": "HTML",
            "reply_markup": kb,
        });
        let deadline = Instant::now() + EDIT_BUDGET;
        match call_idempotent(&self.bot, "editMessageText", &body, deadline).await {
            Ok(_) => true,
            Err(CallError::Refused { description, .. })
                if description.contains("message is not modified") =>
            {
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, chat, "could not refresh a poll message");
                false
            }
        }
    }
}

/// Starts the refresher task.
pub(super) fn spawn(
    service: Service,
    renderer: Arc<Renderer>,
    bot: teloxide::Bot,
    username: String,
    every: Duration,
) -> Handle {
    let (handle, rx) = crate::platform::refresh::channel();
    let r = Arc::new(tokio::sync::Mutex::new(Refresher {
        service,
        renderer,
        bot,
        username,
        unposted: Unposted::new(handle.clone(), every),
        shown: HashMap::new(),
    }));
    crate::platform::refresh::spawn(rx, every, move |dirty| {
        let r = r.clone();
        async move { r.lock().await.refresh(dirty).await }
    });
    handle
}
