//! Long polling that confirms updates to Telegram only once they were handled, so a crash (even
//! SIGKILL) loses no tap or message: whatever was not confirmed, Telegram delivers again, and the
//! event-id claim makes the second delivery a no-op if the first one was committed.
//!
//! teloxide's own `Polling` confirms a batch (by asking for the next one) as soon as the batch is
//! queued to the workers, before anything is handled; a crash then loses the whole batch.

use futures_util::Stream;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::Update;
use teloxide::update_listeners::{StatefulListener, UpdateListener};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Long-poll timeout asked of Telegram (the client's own request timeout is 17 s).
const POLL_SECONDS: u32 = 10;
/// A batch is confirmed at the latest this long after it was handed out, so one stuck handler
/// cannot stop the bot from receiving; only a crash inside this window can lose its update.
const SETTLE_CAP: Duration = Duration::from_secs(30);
/// Backoff after a failed GetUpdates: doubles from this, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Counts updates handed to the dispatcher and updates whose handling ended.
#[derive(Default)]
pub struct Inflight {
    handed: AtomicU64,
    done: AtomicU64,
    changed: Notify,
}

/// Held while one update is handled; dropping it (also on panic) marks the update done.
pub struct Handling(Arc<Inflight>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.done.fetch_add(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

impl Inflight {
    /// Marks the start of handling one update that this listener handed out.
    pub fn handling(self: &Arc<Self>) -> Handling {
        Handling(self.clone())
    }

    fn idle(&self) -> bool {
        self.done.load(Ordering::SeqCst) >= self.handed.load(Ordering::SeqCst)
    }

    /// Waits until every update handed out was handled, or `cap` passed.
    async fn settled(&self, cap: Duration) {
        let deadline = Instant::now() + cap;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.idle() {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                tracing::warn!(
                    "updates still being handled after {} s; confirming them to Telegram anyway",
                    cap.as_secs()
                );
                return;
            }
        }
    }
}

struct Poll {
    bot: teloxide::Bot,
    inflight: Arc<Inflight>,
    flag: StopFlag,
    /// The offset that confirms every update received so far.
    offset: i32,
    buffer: VecDeque<Update>,
    failures: u32,
    finished: bool,
}

impl Poll {
    /// The next update (or polling error); `None` once stopped.
    async fn next(&mut self) -> Option<Result<Update, RequestError>> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(update) = self.buffer.pop_front() {
                self.inflight.handed.fetch_add(1, Ordering::SeqCst);
                return Some(Ok(update));
            }
            // Asking for more confirms everything before `offset`: only once it was handled.
            self.inflight.settled(SETTLE_CAP).await;
            if self.flag.is_stopped() {
                self.finished = true;
                let confirm = self
                    .bot
                    .get_updates()
                    .offset(self.offset)
                    .limit(1)
                    .timeout(0);
                if let Err(e) = confirm.send().await {
                    tracing::warn!(error = %e, "could not confirm the last updates; Telegram will resend them");
                }
                return None;
            }
            let request = self
                .bot
                .get_updates()
                .offset(self.offset)
                .timeout(POLL_SECONDS);
            let result = tokio::select! {
                r = request.send() => r,
                () = &mut self.flag => continue,
            };
            match result {
                Ok(updates) => {
                    self.failures = 0;
                    if let Some(last) = updates.last() {
                        self.offset = last.id.as_offset();
                    }
                    self.buffer.extend(updates);
                }
                Err(e) => {
                    let delay = match &e {
                        RequestError::RetryAfter(s) => s.duration(),
                        _ => FIRST_BACKOFF
                            .saturating_mul(1 << self.failures.min(16))
                            .min(MAX_BACKOFF),
                    };
                    self.failures = self.failures.saturating_add(1);
                    tracing::warn!(error = %e, delay_ms = delay.as_millis() as u64, "getting updates failed; retrying");
                    if !self.flag.is_stopped() {
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = &mut self.flag => {}
                        }
                    }
                    return Some(Err(e));
                }
            }
        }
    }
}

struct State {
    bot: teloxide::Bot,
    inflight: Arc<Inflight>,
    token: StopToken,
    flag: Option<StopFlag>,
}

fn stream(state: &mut State) -> impl Stream<Item = Result<Update, RequestError>> + Send + use<> {
    let (token, flag) = match state.flag.take() {
        Some(flag) => (state.token.clone(), flag),
        // A second stream from the same listener: it gets a fresh stop token.
        None => {
            let (token, flag) = mk_stop_token();
            state.token = token.clone();
            (token, flag)
        }
    };
    drop(token);
    let poll = Poll {
        bot: state.bot.clone(),
        inflight: state.inflight.clone(),
        flag,
        offset: 0,
        buffer: VecDeque::new(),
        failures: 0,
        finished: false,
    };
    futures_util::stream::unfold(poll, |mut poll| async move {
        let item = poll.next().await?;
        Some((item, poll))
    })
}

/// The listener for `Dispatcher::dispatch_with_listener`. Every update it hands out must be
/// wrapped in `inflight.handling()` by the handler.
pub fn listener(
    bot: teloxide::Bot,
    inflight: Arc<Inflight>,
) -> impl UpdateListener<Err = RequestError> + Send {
    let (token, flag) = mk_stop_token();
    let state = State {
        bot,
        inflight,
        token,
        flag: Some(flag),
    };
    StatefulListener::new(state, stream, |s: &mut State| s.token.clone())
}
