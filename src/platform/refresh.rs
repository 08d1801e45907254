//! The coalescing loop behind poll-message refreshes, shared by the chat adapters: surveys are
//! marked dirty as votes arrive and refreshed at most once per interval.

use crate::core::ids::SurveyKey;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub enum Cmd {
    Mark(SurveyKey),
    Flush(oneshot::Sender<()>),
}

/// Cheap handle to a refresher task.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Cmd>,
}

impl Handle {
    /// Marks a survey's posted messages as possibly out of date.
    pub fn mark(&self, survey: SurveyKey) {
        let _ = self.tx.send(Cmd::Mark(survey));
    }

    /// Applies pending refreshes now (at shutdown).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The handle, and the queue a task started later will read.
pub fn channel() -> (Handle, mpsc::UnboundedReceiver<Cmd>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Handle { tx }, rx)
}

/// Runs the loop: `refresh` gets the dirty survey keys at most once per `every`, or at once
/// on a flush.
pub fn spawn<F, Fut>(mut rx: mpsc::UnboundedReceiver<Cmd>, every: Duration, mut refresh: F)
where
    F: FnMut(BTreeSet<SurveyKey>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut dirty = BTreeSet::new();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Mark(k)) => { dirty.insert(k); }
                    Some(Cmd::Flush(done)) => {
                        refresh(std::mem::take(&mut dirty)).await;
                        let _ = done.send(());
                    }
                    None => break,
                },
                _ = tick.tick(), if !dirty.is_empty() => refresh(std::mem::take(&mut dirty)).await,
            }
        }
    });
}

/// How many intervals a refresh waits for a just-posted poll's message id.
const MAX_WAITS: u32 = 20;

/// Refreshes again, one interval later, a poll whose message id is not recorded yet (its
/// post is still finishing), so its first votes still show; a post that never got its id
/// (it failed) is given up after `MAX_WAITS` tries.
pub struct Unposted {
    again: Handle,
    every: Duration,
    waits: std::collections::HashMap<SurveyKey, u32>,
}

impl Unposted {
    pub fn new(again: Handle, every: Duration) -> Self {
        Self {
            again,
            every,
            waits: Default::default(),
        }
    }

    /// Schedules another refresh of `survey`, unless it has waited long enough.
    pub fn retry(&mut self, survey: SurveyKey) {
        let waits = self.waits.entry(survey).or_default();
        if *waits < MAX_WAITS {
            *waits += 1;
            let (again, every) = (self.again.clone(), self.every);
            tokio::spawn(async move {
                tokio::time::sleep(every).await;
                again.mark(survey);
            });
        }
    }
}
