//! Per-member order of Discord interactions. serenity runs every event in a task of its own, so
//! a member's quick second tap can overtake the first. Acknowledgements never wait here; after
//! its acknowledgement an interaction waits its turn, in the order Discord created the member's
//! interactions (their ids are snowflakes), twice: once for the core step, once for its sends.
//! So a slow delivery (a 429, a slow `/insights`) holds up only the same member's later
//! replies, never an acknowledgement and never another member.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

#[derive(Default)]
pub(super) struct Turns {
    lanes: Mutex<HashMap<u64, Lane>>,
}

#[derive(Default)]
struct Lane {
    /// Interactions that have not finished their core step, with how many deliveries of each
    /// are in flight (Discord may replay an event while the first is still handled).
    core: BTreeMap<u64, u32>,
    /// Interactions that have not finished their sends, counted likewise.
    send: BTreeMap<u64, u32>,
    changed: Arc<Notify>,
}

#[derive(Clone, Copy)]
enum Stage {
    Core,
    Send,
}

impl Lane {
    fn stage(&mut self, stage: Stage) -> &mut BTreeMap<u64, u32> {
        match stage {
            Stage::Core => &mut self.core,
            Stage::Send => &mut self.send,
        }
    }
}

/// One interaction's place in its member's lane; leaving it (drop) lets the next one go.
pub(super) struct Ticket<'a> {
    turns: &'a Turns,
    member: u64,
    id: u64,
    core_left: AtomicBool,
}

impl Turns {
    fn lanes(&self) -> MutexGuard<'_, HashMap<u64, Lane>> {
        // A panic elsewhere cannot leave the sets half-changed: every change is one call.
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a place in the member's lane. Call it as soon as the interaction arrives, before
    /// anything is awaited, so an earlier interaction is in the lane before a later one checks.
    pub(super) fn arrive(&self, member: u64, id: u64) -> Ticket<'_> {
        let mut lanes = self.lanes();
        let lane = lanes.entry(member).or_default();
        *lane.core.entry(id).or_default() += 1;
        *lane.send.entry(id).or_default() += 1;
        Ticket {
            turns: self,
            member,
            id,
            core_left: AtomicBool::new(false),
        }
    }

    /// How many members have interactions in flight (for tests of the bookkeeping).
    #[cfg(test)]
    fn busy(&self) -> usize {
        self.lanes().len()
    }
}

impl Ticket<'_> {
    /// The lane's notifier while an earlier interaction of the member is still in `stage`;
    /// `None` when it is this one's turn.
    fn blocked(&self, stage: Stage) -> Option<Arc<Notify>> {
        let mut lanes = self.turns.lanes();
        let lane = lanes.get_mut(&self.member)?;
        let first = lane.stage(stage).keys().next().copied();
        match first {
            Some(first) if first < self.id => Some(lane.changed.clone()),
            _ => None,
        }
    }

    async fn wait(&self, stage: Stage) {
        while let Some(notify) = self.blocked(stage) {
            let notified = notify.notified();
            tokio::pin!(notified);
            // Registered before the second check, so a change in between is not missed.
            notified.as_mut().enable();
            if self.blocked(stage).is_none() {
                return;
            }
            notified.await;
        }
    }

    fn leave(&self, stage: Stage) {
        let mut lanes = self.turns.lanes();
        if let Some(lane) = lanes.get_mut(&self.member) {
            let waiting = lane.stage(stage);
            if let Some(n) = waiting.get_mut(&self.id) {
                *n -= 1;
                if *n == 0 {
                    waiting.remove(&self.id);
                }
            }
            lane.changed.notify_waiters();
            if lane.core.is_empty() && lane.send.is_empty() {
                lanes.remove(&self.member);
            }
        }
    }

    /// Waits until the member's earlier interactions have finished their core step.
    pub(super) async fn core_turn(&self) {
        self.wait(Stage::Core).await;
    }

    /// The core step is done: the member's next interaction may run its own.
    pub(super) fn core_done(&self) {
        if !self.core_left.swap(true, Ordering::Relaxed) {
            self.leave(Stage::Core);
        }
    }

    /// Waits until the member's earlier interactions have finished sending.
    pub(super) async fn send_turn(&self) {
        self.wait(Stage::Send).await;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.core_done();
        self.leave(Stage::Send);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_later_interaction_waits_for_an_earlier_one_that_arrived_after_it() {
        let turns = Turns::default();
        // The later tap's task runs first; the earlier one arrives before it checks its turn.
        let later = turns.arrive(7, 20);
        let earlier = turns.arrive(7, 10);
        let other = turns.arrive(8, 30);
        tokio::time::timeout(Duration::from_secs(1), other.core_turn())
            .await
            .expect("another member is not held up");
        let log = Mutex::new(Vec::new());
        let push = |s: &'static str| log.lock().unwrap_or_else(|e| e.into_inner()).push(s);
        let second = async {
            later.core_turn().await;
            push("core 20");
            later.core_done();
            later.send_turn().await;
            push("send 20");
        };
        let first = async move {
            tokio::task::yield_now().await;
            earlier.core_turn().await;
            push("core 10");
            earlier.core_done();
            tokio::task::yield_now().await;
            earlier.send_turn().await;
            push("send 10");
        };
        tokio::time::timeout(Duration::from_secs(1), async {
            tokio::join!(second, first)
        })
        .await
        .expect("no deadlock");
        assert_eq!(
            *log.lock().unwrap_or_else(|e| e.into_inner()),
            ["core 10", "core 20", "send 10", "send 20"],
            "the core of 20 runs once 10's is done; its sends wait for 10's sends"
        );
        drop(later);
        drop(other);
        assert_eq!(turns.busy(), 0, "finished lanes are removed");
    }

    #[tokio::test]
    async fn a_replay_finishing_early_does_not_let_a_later_tap_overtake_the_first() {
        let turns = Turns::default();
        let first = turns.arrive(7, 10);
        let replay = turns.arrive(7, 10);
        let later = turns.arrive(7, 20);
        // The replay is a duplicate for the core and ends at once.
        replay.core_turn().await;
        drop(replay);
        assert!(
            futures_util::FutureExt::now_or_never(later.core_turn()).is_none(),
            "the first delivery of 10 is still in its core step"
        );
        first.core_turn().await;
        first.core_done();
        tokio::time::timeout(Duration::from_secs(1), later.core_turn())
            .await
            .expect("then 20 goes");
        drop(first);
        drop(later);
        assert_eq!(turns.busy(), 0);
    }
}
