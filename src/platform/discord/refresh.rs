//! Coalesced edits of posted poll messages on Discord: channel message edits count against the
//! per-channel rate limit, so each message is edited at most once per interval, and only when
//! its text or components changed. An edit is idempotent: a 429, 5xx or broken connection is
//! retried (`Rest::edit_message`).

use super::send::{Call, Rest, components, markdown, no_mentions, parts};
use crate::core::event::Platform;
use crate::core::ids::SurveyKey;
use crate::render::Renderer;
use crate::service::Service;
use serenity::all::{ChannelId, CreateAttachment, CreateMessage, EditMessage, MessageId};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::platform::refresh::Unposted;
pub(super) use crate::platform::refresh::{Cmd, Handle, channel};

async fn refresh(
    service: &Service,
    renderer: &Renderer,
    rest: &Rest,
    shown: &mut HashMap<(u64, u64), String>,
    unposted: &mut Unposted,
    dirty: BTreeSet<SurveyKey>,
) {
    for key in dirty {
        let Ok(Some((msg, kb))) = service.poll_view(key).await else {
            continue;
        };
        let Ok(postings) = service.postings(key, Platform::Discord).await else {
            continue;
        };
        let text = parts(&markdown(renderer, &msg))
            .into_iter()
            .next()
            .unwrap_or_default();
        let closed = msg.data.get("open") == Some(&serde_json::Value::Bool(false));
        let rows = components(renderer, &kb, None, msg.locale.as_deref());
        let fingerprint = format!(
            "{text}\u{0}{}",
            serde_json::to_string(&rows).unwrap_or_default()
        );
        for p in &postings {
            if p.message_id.is_none() {
                unposted.retry(key);
                continue;
            }
            let (Ok(chat), Some(Ok(id))) = (
                p.chat_id.parse::<u64>(),
                p.message_id.as_deref().map(str::parse::<u64>),
            ) else {
                continue;
            };
            if chat == 0 || id == 0 {
                continue;
            }
            if shown.get(&(chat, id)) != Some(&fingerprint) {
                let edit = EditMessage::new()
                    .content(text.clone())
                    .components(rows.clone())
                    .allowed_mentions(no_mentions());
                match rest
                    .edit_message(ChannelId::new(chat), MessageId::new(id), &edit)
                    .await
                {
                    Ok(_) => {
                        shown.insert((chat, id), fingerprint.clone());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, chat, "could not refresh a poll message");
                        continue;
                    }
                }
            }
            // A closed survey's message now shows its final state: recorded, so the closer
            // leaves it alone, also after a restart.
            if closed {
                match service
                    .record_finalised(key, Platform::Discord, &p.chat_id)
                    .await
                {
                    // The first time only: the result's chart goes under the poll once.
                    Ok(true) => send_chart(rest, ChannelId::new(chat), &msg).await,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, survey = %key, "could not record a finalised poll")
                    }
                }
            }
        }
    }
}

/// Posts a closed poll's result as a chart, when members may see it (the message carries the
/// tally then). A failure is logged: the message already shows the result.
async fn send_chart(rest: &Rest, channel: ChannelId, msg: &crate::core::event::Msg) {
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
    let m = CreateMessage::new().allowed_mentions(no_mentions());
    let file = CreateAttachment::bytes(png, "chart.png");
    if let Err(e) = rest
        .post("poll chart", Call::Creates, channel, &m, Some(file))
        .await
    {
        tracing::warn!(error = %e, "could not post the poll's chart");
    }
}

pub(super) fn spawn(
    rx: tokio::sync::mpsc::UnboundedReceiver<Cmd>,
    again: Handle,
    service: Service,
    renderer: Arc<Renderer>,
    rest: Rest,
    every: Duration,
) {
    let state = Arc::new(tokio::sync::Mutex::new((
        HashMap::new(),
        Unposted::new(again, every),
    )));
    crate::platform::refresh::spawn(rx, every, move |dirty| {
        let (service, renderer, rest, state) = (
            service.clone(),
            renderer.clone(),
            rest.clone(),
            state.clone(),
        );
        async move {
            let (shown, unposted) = &mut *state.lock().await;
            refresh(&service, &renderer, &rest, shown, unposted, dirty).await
        }
    });
}
