//! Coalesced edits of posted poll messages on Discord: channel message edits count against the
//! per-channel rate limit, so each message is edited at most once per interval, and only when
//! its text or components changed.

use super::send::{components, markdown, no_mentions, parts};
use crate::bot::Bot as Core;
use crate::render::Renderer;
use serenity::all::{ChannelId, EditMessage, Http, MessageId};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub enum Cmd {
    Mark(i64),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Cmd>,
}

impl Handle {
    pub fn mark(&self, survey: i64) {
        let _ = self.tx.send(Cmd::Mark(survey));
    }
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The handle, and the queue the task started later (once the HTTP client exists) will read.
pub fn channel() -> (Handle, mpsc::UnboundedReceiver<Cmd>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Handle { tx }, rx)
}

async fn refresh(
    core: &Core,
    renderer: &Renderer,
    http: &Http,
    shown: &mut HashMap<(u64, u64), String>,
    dirty: &mut BTreeSet<i64>,
) {
    for key in std::mem::take(dirty) {
        let Ok(Some((msg, kb))) = core.poll_view(key).await else {
            continue;
        };
        let Ok(postings) = core.store().postings(key).await else {
            continue;
        };
        let text = parts(&markdown(renderer, &msg))
            .into_iter()
            .next()
            .unwrap_or_default();
        let rows = components(renderer, &kb, None);
        let fingerprint = format!(
            "{text}\u{0}{}",
            serde_json::to_string(&rows).unwrap_or_default()
        );
        for p in postings.iter().filter(|p| p.platform == "discord") {
            let (Ok(chat), Some(Ok(id))) = (
                p.chat_id.parse::<u64>(),
                p.message_id.as_deref().map(str::parse::<u64>),
            ) else {
                continue;
            };
            if chat == 0 || id == 0 || shown.get(&(chat, id)) == Some(&fingerprint) {
                continue;
            }
            let edit = EditMessage::new()
                .content(text.clone())
                .components(rows.clone())
                .allowed_mentions(no_mentions());
            match ChannelId::new(chat)
                .edit_message(http, MessageId::new(id), edit)
                .await
            {
                Ok(_) => {
                    shown.insert((chat, id), fingerprint.clone());
                }
                Err(e) => tracing::warn!(error = %e, chat, "could not refresh a poll message"),
            }
        }
    }
}

pub fn spawn(
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    core: Core,
    renderer: Arc<Renderer>,
    http: Arc<Http>,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut dirty = BTreeSet::new();
        let mut shown = HashMap::new();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Mark(k)) => { dirty.insert(k); }
                    Some(Cmd::Flush(done)) => {
                        refresh(&core, &renderer, &http, &mut shown, &mut dirty).await;
                        let _ = done.send(());
                    }
                    None => break,
                },
                _ = tick.tick(), if !dirty.is_empty() => {
                    refresh(&core, &renderer, &http, &mut shown, &mut dirty).await
                }
            }
        }
    });
}
