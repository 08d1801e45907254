//! The digest's Discord sink: renders a brief into Markdown parts within Discord's limits and
//! posts each part once, with a nonce that guards a repeat.

use super::send::{self, Call, no_mentions, parts};
use crate::core::event::Platform;
use crate::render::{Renderer, Target};
use serenity::all::{CreateAttachment, CreateMessage};
use std::sync::Arc;

/// Posts the digest to channels: the Markdown text in chunks of Discord's limit, the chart
/// attached to the last one.
pub(super) struct DigestSink {
    pub(super) rest: send::Rest,
    pub(super) renderer: Arc<Renderer>,
}

/// A nonce for one digest part in one channel (Discord allows 25 characters).
fn digest_nonce(destination: &str, part: &crate::digest::Part) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(destination.as_bytes());
    h.update([0]);
    h.update(part.label.as_bytes());
    h.update([0]);
    h.update(part.text.as_deref().unwrap_or_default().as_bytes());
    let hex: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("d{hex}")
}

/// A failed digest send: unknown outcome when the request may have reached Discord, after a
/// broken connection or a server error (it may have been carried out; the nonce only guards
/// repeats for a few minutes, so the runner never repeats it later).
fn digest_send_error(e: send::SendError) -> crate::digest::SendError {
    use crate::digest::SendError;
    match &e {
        send::SendError::Network {
            connected: true, ..
        } => SendError::Uncertain(e.into()),
        send::SendError::Status { status, .. } if *status >= 500 => SendError::Uncertain(e.into()),
        _ => SendError::Failed(e.into()),
    }
}

impl crate::digest::Sink for DigestSink {
    fn platform(&self) -> Platform {
        Platform::Discord
    }
    fn render(
        &self,
        brief: &crate::insight::digest::Brief,
        chart: Option<&[u8]>,
    ) -> Result<Vec<crate::digest::Part>, crate::digest::SinkError> {
        let text = self.renderer.digest(Target::Markdown, brief)?;
        let chunks = parts(&text);
        let n = chunks.len();
        Ok(chunks
            .into_iter()
            .enumerate()
            .map(|(k, chunk)| {
                // The chart goes with the last chunk: one message, posted whole or not at all.
                let image = (k + 1 == n).then(|| chart.map(<[u8]>::to_vec)).flatten();
                crate::digest::Part {
                    label: if image.is_some() {
                        format!("text {}/{n} + chart", k + 1)
                    } else {
                        format!("text {}/{n}", k + 1)
                    },
                    text: Some(chunk),
                    image,
                }
            })
            .collect())
    }
    fn send<'a>(
        &'a self,
        destination: &'a str,
        part: &'a crate::digest::Part,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), crate::digest::SendError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let channel = destination
                .parse::<u64>()
                .ok()
                .filter(|c| *c != 0)
                .map(serenity::all::ChannelId::new)
                .ok_or_else(|| {
                    crate::digest::SendError::Failed(
                        format!("{destination:?} is not a Discord channel id").into(),
                    )
                })?;
            // The same part always carries the same nonce, and Discord returns the first message
            // for a repeated one: a post answered with a 5xx (which may have been carried out)
            // is repeated without posting twice.
            let m = CreateMessage::new()
                .content(part.text.clone().unwrap_or_default())
                .allowed_mentions(no_mentions())
                .nonce(serenity::all::Nonce::String(digest_nonce(
                    destination,
                    part,
                )))
                .enforce_nonce(true);
            let file = part
                .image
                .as_ref()
                .map(|png| CreateAttachment::bytes(png.clone(), "chart.png"));
            // Through `Rest`, so a 429's retry_after is honoured on any api_url too.
            self.rest
                .post("digest", Call::Idempotent, channel, &m, file)
                .await
                .map(|_| ())
                .map_err(digest_send_error)
        })
    }
}
