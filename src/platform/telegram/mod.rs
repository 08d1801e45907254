//! The Telegram adapter (teloxide): long polling, updates translated into core events,
//! replies rendered as HTML and sent back, poll counters refreshed at a coalesced pace.

mod listen;
mod menu;
mod refresh;
mod send;
mod translate;

use crate::config::{Secret, TelegramConfig};
use crate::core::event::{Outbound, Platform};
use crate::render::Renderer;
use crate::service::{Handled, Service};
use send::{Outbox, Owed, Sender};
use std::sync::Arc;
use std::time::Duration;
use teloxide::dispatching::{Dispatcher, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{Update, UpdateKind};

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("Telegram api_url {0:?} is not a valid URL")]
    BadUrl(String),
    #[error("cannot reach Telegram (getMe failed): {0}")]
    GetMe(#[from] teloxide::RequestError),
}

struct Ctx {
    service: Service,
    sender: Sender,
    outbox: Outbox,
    inflight: Arc<listen::Inflight>,
}

/// How long after a tap its answer (answerCallbackQuery) is still useful: Telegram stops the
/// member's spinner and refuses a late answer after about this long.
const CALLBACK_WINDOW: Duration = Duration::from_secs(15);
/// From the shutdown signal to the end of `Telegram::run`: the updates in hand are committed and
/// confirmed, the poll messages refreshed and the replies owed sent, or abandoned at this point.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(9_500);

/// Posts the digest to chats: the HTML text split at Telegram's limit, then the chart.
struct DigestSink {
    bot: teloxide::Bot,
    renderer: Arc<Renderer>,
}

/// A failed digest send: unknown outcome when the request may have reached Telegram.
fn digest_send_error(e: teloxide::RequestError) -> crate::digest::SendError {
    use crate::digest::SendError;
    match &e {
        teloxide::RequestError::Network(n) if !n.is_connect() => SendError::Uncertain(e.into()),
        teloxide::RequestError::InvalidJson { .. } => SendError::Uncertain(e.into()),
        _ => SendError::Failed(e.into()),
    }
}

impl crate::digest::Sink for DigestSink {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }
    fn render(
        &self,
        brief: &crate::insight::digest::Brief,
        chart: Option<&[u8]>,
    ) -> Result<Vec<crate::digest::Part>, crate::digest::SinkError> {
        let html = self.renderer.digest(crate::render::Target::Html, brief)?;
        let chunks = crate::render::split(&html, send::MAX_TEXT, crate::render::Target::Html);
        let n = chunks.len();
        let mut parts: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(i, text)| crate::digest::Part {
                label: format!("text {}/{n}", i + 1),
                text: Some(text),
                image: None,
            })
            .collect();
        if let Some(png) = chart {
            parts.push(crate::digest::Part {
                label: "chart".into(),
                text: None,
                image: Some(png.to_vec()),
            });
        }
        Ok(parts)
    }
    fn send<'a>(
        &'a self,
        destination: &'a str,
        part: &'a crate::digest::Part,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), crate::digest::SendError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let chat = destination
                .parse::<i64>()
                .map(teloxide::types::ChatId)
                .map_err(|_| {
                    crate::digest::SendError::Failed(
                        format!("{destination:?} is not a Telegram chat id").into(),
                    )
                })?;
            let html = teloxide::types::ParseMode::Html;
            match (&part.text, &part.image) {
                (text, Some(png)) => {
                    let file =
                        teloxide::types::InputFile::memory(png.clone()).file_name("chart.png");
                    let mut req = self.bot.send_photo(chat, file);
                    if let Some(t) = text {
                        req = req.caption(t.clone()).parse_mode(html);
                    }
                    send::with_retry("sendPhoto", || req.send_ref()).await
                }
                (Some(text), None) => {
                    let req = self.bot.send_message(chat, text.clone()).parse_mode(html);
                    send::with_retry("sendMessage", || req.send_ref()).await
                }
                (None, None) => return Ok(()),
            }
            .map(|_| ())
            .map_err(digest_send_error)
        })
    }
}

/// A running Telegram adapter.
pub struct Telegram {
    sink: Arc<DigestSink>,
    bot: teloxide::Bot,
    inflight: Arc<listen::Inflight>,
    outbox: Outbox,
    dispatcher: Dispatcher<teloxide::Bot, teloxide::RequestError, teloxide::types::UserId>,
    refresher: refresh::Handle,
    /// Edits polls to their final result when they close (`platform::closer`).
    closer: tokio::task::JoinHandle<()>,
}

/// Members are processed in parallel while each member's own updates stay in order: a poll's
/// answers arrive as a burst from one group chat, which the default (per chat) would serialise.
fn by_member(update: &Update) -> Option<teloxide::types::UserId> {
    match &update.kind {
        UpdateKind::MyChatMember(_) => None,
        _ => update.from().map(|u| u.id),
    }
}

fn schema() -> UpdateHandler<teloxide::RequestError> {
    dptree::entry().endpoint(on_update)
}

async fn on_update(update: Update, ctx: Arc<Ctx>) -> Result<(), teloxide::RequestError> {
    // Telegram is told this update is done only after this guard drops.
    let handling = ctx.inflight.handling();
    let window = tokio::time::Instant::now() + CALLBACK_WINDOW;
    if let UpdateKind::MyChatMember(m) = &update.kind {
        // Removed from a group or blocked by a member: note it, nothing else to do.
        tracing::info!(chat = m.chat.id.0, status = ?m.new_chat_member.kind, "bot membership changed");
        return Ok(());
    }
    let Some(t) = translate::translate(&update) else {
        return Ok(());
    };
    // Committed, or failed with nothing saved: a redelivery could not change anything now, so
    // the guard drops then, before a report (read-only, maybe slow) is built.
    let handled = ctx
        .service
        .handle_then(&t.inbound, move || drop(handling))
        .await;
    // Replies (which may wait out a 429 or a slow Telegram) go to the member's own send queue,
    // so they hold up neither the listener nor other members, nor this member's next update.
    let owed = match handled {
        Ok(Handled::Replies(mut replies)) => {
            replies.retain(|r| match r {
                // Not a send: the refresher coalesces it, whatever this member's queue holds.
                Outbound::RefreshPolls { survey } => {
                    ctx.sender.refresh(*survey);
                    false
                }
                _ => true,
            });
            Owed::Replies(replies)
        }
        // A redelivered tap still needs its spinner stopped; nothing else happens.
        Ok(Handled::Duplicate) if t.callback_id.is_some() => Owed::Ack,
        Ok(Handled::Duplicate) => return Ok(()),
        Err(e) => {
            e.log();
            Owed::NotSaved(ctx.service.failed(&t.inbound).await)
        }
    };
    ctx.outbox.push(t, owed, window);
    Ok(())
}

impl Telegram {
    /// Connects (getMe), then builds the dispatcher. `token` never appears in logs.
    pub async fn start(
        service: Service,
        renderer: Arc<Renderer>,
        cfg: &TelegramConfig,
        token: &Secret,
    ) -> Result<Self, TelegramError> {
        let url = url::Url::parse(&cfg.api_url)
            .map_err(|_| TelegramError::BadUrl(cfg.api_url.clone()))?;
        // A loopback API (tests, a local Bot API server) must never go through a proxy.
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let client = if loopback {
            teloxide::net::default_reqwest_settings().no_proxy().build()
        } else {
            teloxide::net::default_reqwest_settings().build()
        };
        let bot = match client {
            Ok(c) => teloxide::Bot::with_client(token.expose(), c),
            Err(e) => {
                tracing::warn!(error = %e, "custom HTTP client failed; using the default");
                teloxide::Bot::new(token.expose())
            }
        }
        .set_api_url(url);
        let me = send::with_retry("getMe", || bot.get_me().send_ref()).await?;
        let username = me.user.username.clone().unwrap_or_default();
        tracing::info!(bot = %username, "connected to Telegram");
        // In the background: the menu must never hold up answering members.
        tokio::spawn(menu::publish(bot.clone(), renderer.clone()));
        let refresher = refresh::spawn(
            service.clone(),
            renderer.clone(),
            bot.clone(),
            username.clone(),
            std::time::Duration::from_millis(cfg.poll_refresh_ms.max(50)),
        );
        let closer =
            crate::platform::closer::spawn(service.clone(), Platform::Telegram, refresher.clone());
        let sender = Sender::new(
            bot.clone(),
            service.clone(),
            renderer.clone(),
            username,
            refresher.clone(),
        );
        let sink = Arc::new(DigestSink {
            bot: bot.clone(),
            renderer,
        });
        let inflight = Arc::new(listen::Inflight::default());
        let outbox = Outbox::new(sender.clone());
        let ctx = Arc::new(Ctx {
            service,
            sender,
            outbox: outbox.clone(),
            inflight: inflight.clone(),
        });
        let unhandled = inflight.clone();
        let dispatcher = Dispatcher::builder(bot.clone(), schema())
            .dependencies(dptree::deps![ctx])
            .distribution_function(by_member)
            .default_handler(move |_| {
                let _handling = unhandled.handling();
                async {}
            })
            .error_handler(
                teloxide::error_handlers::LoggingErrorHandler::with_custom_text(
                    "Telegram handler error",
                ),
            )
            .build();
        Ok(Self {
            sink,
            bot,
            inflight,
            outbox,
            dispatcher,
            refresher,
            closer,
        })
    }

    /// Posts digests through this bot.
    pub fn digest_sink(&self) -> Arc<dyn crate::digest::Sink> {
        self.sink.clone()
    }

    /// Polls until `shutdown` resolves, then stops taking updates, commits and confirms the
    /// ones in hand, sends the replies owed, and returns within `SHUTDOWN_BUDGET`.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        // Long polling does not work while a webhook is set (teloxide's default polling does
        // the same).
        match self.bot.get_webhook_info().send().await {
            Ok(info) if info.url.is_some() => {
                if let Err(e) = self.bot.delete_webhook().send().await {
                    tracing::error!(error = %e, "could not remove the webhook; polling will fail");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the webhook settings"),
        }
        let (listener, stop) = listen::listener(self.bot.clone(), self.inflight.clone());
        // The listener's stream ends on the signal, whatever the dispatcher is doing: teloxide's
        // own shutdown token is seen only while the dispatcher waits for updates, and refused
        // before it runs.
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<tokio::time::Instant>();
        let signal = tokio::spawn(async move {
            shutdown.await;
            stop.stop();
            let _ = stopped_tx.send(tokio::time::Instant::now() + SHUTDOWN_BUDGET);
        });
        let dispatch = self.dispatcher.try_dispatch_with_listener(
            listener,
            teloxide::error_handlers::LoggingErrorHandler::with_custom_text(
                "Telegram polling error",
            ),
        );
        tokio::pin!(dispatch);
        let mut stopped_rx = stopped_rx;
        let deadline = tokio::select! {
            r = &mut dispatch => {
                if let Err(e) = r {
                    tracing::error!(error = %e, "Telegram polling could not start");
                }
                signal.abort();
                tokio::time::Instant::now() + SHUTDOWN_BUDGET
            }
            Ok(deadline) = &mut stopped_rx => {
                // The dispatcher ends once the updates in hand are committed and confirmed.
                if tokio::time::timeout_at(deadline, &mut dispatch).await.is_err() {
                    tracing::warn!("the Telegram dispatcher did not stop in time; leaving it");
                }
                deadline
            }
        };
        self.closer.abort();
        if tokio::time::timeout_at(deadline, self.refresher.flush())
            .await
            .is_err()
        {
            tracing::warn!("poll messages not refreshed before shutdown");
        }
        let left = self.outbox.flush(deadline).await;
        if left > 0 {
            tracing::warn!(
                members = left,
                "replies still being sent at shutdown were dropped (the answers are saved)"
            );
        }
        tracing::info!("Telegram adapter stopped");
    }
}
