//! Long polling that confirms updates to Telegram only once they were committed, so a crash
//! (even SIGKILL) loses no tap or message: whatever was not confirmed, Telegram delivers again,
//! and the event-id claim makes the second delivery a no-op if the first one was committed.
//!
//! teloxide's own `Polling` confirms a batch (by asking for the next one) as soon as the batch is
//! queued to the workers, before anything is handled; a crash then loses the whole batch. And
//! it reads a batch as one `Vec<Update>`: an update it cannot parse either fails the batch or
//! reaches the dispatcher as `UpdateKind::Error`, which drops it without calling a handler. So
//! this listener reads `getUpdates` as raw JSON and parses each update on its own: one it cannot
//! parse is logged once, counted as done, and confirmed with the rest.

use super::send::{CallError, call};
use futures_util::Stream;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{Update, UpdateKind};
use teloxide::update_listeners::{StatefulListener, UpdateListener};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Long-poll timeout asked of Telegram.
const POLL_SECONDS: u64 = 10;
/// How long a `getUpdates` call may take beyond the long poll before it counts as failed.
const POLL_MARGIN: Duration = Duration::from_secs(7);
/// While updates wait this long for their commit, the log says so (again every period); the
/// batch is still confirmed only once they are committed.
const SLOW_SETTLE: Duration = Duration::from_secs(10);
/// At shutdown: how long the updates in hand may take to commit before the bot stops without
/// confirming them (Telegram then delivers them again, and a committed one changes nothing).
const SETTLE_ON_STOP: Duration = Duration::from_secs(6);
/// At shutdown: how long the final confirmation may take.
const CONFIRM_ON_STOP: Duration = Duration::from_secs(2);
/// Backoff after a failed `getUpdates`: doubles from this, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Counts updates handed to the dispatcher and updates whose handling ended.
#[derive(Default)]
pub(super) struct Inflight {
    handed: AtomicU64,
    done: AtomicU64,
    changed: Notify,
}

/// Held while one update is handled, up to its commit; dropping it (also on panic) marks the
/// update done, so it may be confirmed.
pub(super) struct Handling(Arc<Inflight>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.done.fetch_add(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

impl Inflight {
    /// Marks the start of handling one update that this listener handed out.
    pub(super) fn handling(self: &Arc<Self>) -> Handling {
        Handling(self.clone())
    }

    fn idle(&self) -> bool {
        self.done.load(Ordering::SeqCst) >= self.handed.load(Ordering::SeqCst)
    }

    fn waiting(&self) -> u64 {
        self.handed
            .load(Ordering::SeqCst)
            .saturating_sub(self.done.load(Ordering::SeqCst))
    }

    /// Waits until every update handed out was handled, or `deadline` passed (then `false`).
    /// Warns every `SLOW_SETTLE` while it waits.
    async fn settled(&self, deadline: Option<Instant>) -> bool {
        let mut warn_at = Instant::now() + SLOW_SETTLE;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.idle() {
                return true;
            }
            let until = deadline.map_or(warn_at, |d| d.min(warn_at));
            if tokio::time::timeout_at(until, changed).await.is_err() {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return self.idle();
                }
                tracing::warn!(
                    waiting = self.waiting(),
                    "updates are still waiting for their commit; Telegram is asked for more only \
                     once they are committed"
                );
                warn_at = Instant::now() + SLOW_SETTLE;
            }
        }
    }
}

/// One update of a `getUpdates` batch, parsed on its own.
enum Parsed {
    Update(Box<Update>),
    /// Neither teloxide nor canvass can read it: it is confirmed and changes nothing.
    Unparseable {
        id: Option<i64>,
        kind: String,
    },
}

fn parse(raw: Value) -> (Option<i64>, Parsed) {
    let id = raw.get("update_id").and_then(Value::as_i64);
    // The kind is the update's other key; its content is never logged (it may be a message).
    let kind = raw
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "update_id").cloned())
        .unwrap_or_else(|| "(none)".into());
    // From text, not from the `Value`: teloxide's update parser reads borrowed keys first,
    // which a `Value` cannot lend, and then loses the key.
    let parsed = match serde_json::from_str::<Update>(&raw.to_string()) {
        Ok(u) if !matches!(u.kind, UpdateKind::Error(_)) => Parsed::Update(Box::new(u)),
        _ => Parsed::Unparseable { id, kind },
    };
    (id, parsed)
}

struct Poll {
    bot: teloxide::Bot,
    inflight: Arc<Inflight>,
    flag: StopFlag,
    /// The offset that confirms every update received so far.
    offset: i64,
    buffer: VecDeque<(i64, Update)>,
    failures: u32,
    finished: bool,
}

impl Poll {
    /// The next update; `None` once stopped.
    async fn next(&mut self) -> Option<Result<Update, Infallible>> {
        loop {
            if self.finished {
                return None;
            }
            if self.flag.is_stopped() {
                self.finish().await;
                return None;
            }
            if let Some((_, update)) = self.buffer.pop_front() {
                self.inflight.handed.fetch_add(1, Ordering::SeqCst);
                return Some(Ok(update));
            }
            // Asking for more confirms everything before `offset`: only once it was committed.
            tokio::select! {
                _ = self.inflight.settled(None) => {}
                () = &mut self.flag => continue,
            }
            let body = json!({ "offset": self.offset, "timeout": POLL_SECONDS });
            let wait = Duration::from_secs(POLL_SECONDS) + POLL_MARGIN;
            let result = tokio::select! {
                r = call(&self.bot, "getUpdates", &body, wait) => r,
                // The batch asked for is dropped unconfirmed: Telegram delivers it again.
                () = &mut self.flag => continue,
            };
            // An answer that is not a list of updates is a failure like any other: backed off,
            // never retried in a tight loop.
            let (retry_after, error) = match result {
                Ok(Value::Array(items)) => {
                    self.failures = 0;
                    self.take(items);
                    continue;
                }
                Ok(_) => (
                    None,
                    "getUpdates answered something other than a list of updates".to_string(),
                ),
                Err(e) => {
                    let after = match &e {
                        CallError::RetryAfter(s) => Some(Duration::from_secs(*s)),
                        _ => None,
                    };
                    (after, e.to_string())
                }
            };
            let delay = retry_after.unwrap_or_else(|| {
                FIRST_BACKOFF
                    .saturating_mul(1 << self.failures.min(16))
                    .min(MAX_BACKOFF)
            });
            self.failures = self.failures.saturating_add(1);
            tracing::warn!(error = %error, delay_ms = delay.as_millis() as u64, "getting updates failed; retrying");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = &mut self.flag => {}
            }
        }
    }

    /// Queues a batch's readable updates and moves the offset past every update, readable or
    /// not.
    fn take(&mut self, items: Vec<Value>) {
        for raw in items {
            let (id, parsed) = parse(raw);
            if let Some(id) = id {
                self.offset = self.offset.max(id + 1);
            }
            match parsed {
                Parsed::Update(u) => match id {
                    Some(id) => self.buffer.push_back((id, *u)),
                    None => tracing::warn!("an update without update_id; ignored"),
                },
                Parsed::Unparseable { id, kind } => {
                    tracing::warn!(
                        update = ?id,
                        kind = %kind,
                        "an update canvass cannot read; confirmed and ignored"
                    );
                }
            }
        }
    }

    /// Stops: what was handed out is committed, then confirmed; what was received but not
    /// handed out stays unconfirmed, so Telegram delivers it again after a restart.
    async fn finish(&mut self) {
        self.finished = true;
        let offset = self.buffer.front().map_or(self.offset, |(id, _)| *id);
        self.buffer.clear();
        let deadline = Instant::now() + SETTLE_ON_STOP;
        if !self.inflight.settled(Some(deadline)).await {
            tracing::warn!(
                waiting = self.inflight.waiting(),
                "stopping with updates not yet committed; they are not confirmed, so Telegram \
                 delivers them again"
            );
            return;
        }
        if offset <= 0 {
            return;
        }
        let body = json!({ "offset": offset, "limit": 1, "timeout": 0 });
        if let Err(e) = call(&self.bot, "getUpdates", &body, CONFIRM_ON_STOP).await {
            tracing::warn!(error = %e, "could not confirm the last updates; Telegram will resend them");
        }
    }
}

struct State {
    bot: teloxide::Bot,
    inflight: Arc<Inflight>,
    token: StopToken,
    flag: Option<StopFlag>,
}

fn stream(state: &mut State) -> impl Stream<Item = Result<Update, Infallible>> + Send + use<> {
    let flag = match state.flag.take() {
        Some(flag) => flag,
        // A second stream from the same listener: it gets a fresh stop token.
        None => {
            let (token, flag) = mk_stop_token();
            state.token = token;
            flag
        }
    };
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

/// The listener for `Dispatcher::dispatch_with_listener`, and the token that ends its stream
/// (the dispatcher then finishes the updates in hand and returns). Every update it hands out
/// must be wrapped in `inflight.handling()` by the handler.
pub(super) fn listener(
    bot: teloxide::Bot,
    inflight: Arc<Inflight>,
) -> (impl UpdateListener<Err = Infallible> + Send, StopToken) {
    let (token, flag) = mk_stop_token();
    let state = State {
        bot,
        inflight,
        token: token.clone(),
        flag: Some(flag),
    };
    (
        StatefulListener::new(state, stream, |s: &mut State| s.token.clone()),
        token,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_of_update_is_accounted_for() {
        let cases = [
            (
                json!({"update_id": 7, "some_future_kind": {"x": 1}}),
                "some_future_kind",
            ),
            (
                json!({"update_id": 8, "callback_query": {"id": "1", "chat_instance": "c"}}),
                "callback_query",
            ),
            (
                json!({"update_id": 9, "message": {"message_id": 1, "date": 0, "text": "hi"}}),
                "message",
            ),
            (json!({"update_id": 10}), "(none)"),
        ];
        for (raw, want) in cases {
            let expected = raw["update_id"].as_i64();
            match parse(raw) {
                (id, Parsed::Unparseable { kind, .. }) => {
                    assert_eq!(id, expected);
                    assert_eq!(kind, want);
                }
                (_, Parsed::Update(u)) => panic!("parsed {u:?}"),
            }
        }
        let good = json!({"update_id": 11, "message": {"message_id": 1, "date": 0, "text": "hi",
            "chat": {"id": 5, "type": "private", "first_name": "A"}}});
        assert!(matches!(parse(good), (Some(11), Parsed::Update(_))));
    }
}
