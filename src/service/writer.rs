//! The single writer: one task takes every queued event, applies each in its own savepoint of one
//! `BEGIN IMMEDIATE` transaction (group commit), commits, then answers every caller.

use super::*;
use crate::digest::ledger::{DigestError, Ledger, Write as DigestWrite, Writing, Written};
use crate::store::Reader;
use std::future::Future;
use std::pin::Pin;

/// The most events one group commit takes; bounds how long the first of them waits.
pub(super) const MAX_BATCH: usize = 256;

/// One piece of work waiting for the writer task, and where its result goes after the commit.
pub(super) struct Job {
    pub(super) work: Work,
    pub(super) done: oneshot::Sender<Result<Applied, ServiceError>>,
    pub(super) span: tracing::Span,
}

/// What the writer applies: an inbound event, or a record an adapter reports after its network
/// call (so adapters never write to the store themselves).
pub(super) enum Work {
    Event {
        ev: Inbound,
        /// Only record the event id (reports are made after the commit, outside the writer).
        claim_only: bool,
    },
    /// A posted poll's message id, recorded after the post succeeded.
    Posting {
        survey: SurveyKey,
        platform: Platform,
        chat_id: String,
        message_id: String,
    },
    /// A posted message now shows its survey's final state.
    Finalised {
        survey: SurveyKey,
        platform: Platform,
        chat_id: String,
    },
    /// A digest bookkeeping write (`deliveries.rs`).
    Digest(DigestWrite),
}

/// Consecutive taps of a batch the set-based path applies together (`taps.rs`): at most one
/// per member and per event id, so applying them together is applying them in order.
#[derive(Default)]
struct Run<'a> {
    taps: Vec<super::taps::Tap<'a>>,
    /// Each tap's index in the batch.
    at: Vec<usize>,
    members: std::collections::HashSet<(Platform, &'a str)>,
    events: std::collections::HashSet<&'a str>,
}

impl<'a> Run<'a> {
    fn takes(&self, t: &super::taps::Tap<'a>) -> bool {
        !self
            .members
            .contains(&(t.ev.actor.platform, t.ev.actor.user_id.as_str()))
            && !self.events.contains(t.ev.event_id.as_str())
    }

    fn push(&mut self, i: usize, t: super::taps::Tap<'a>) {
        self.members
            .insert((t.ev.actor.platform, t.ev.actor.user_id.as_str()));
        self.events.insert(t.ev.event_id.as_str());
        self.at.push(i);
        self.taps.push(t);
    }
}

/// The committed result of one `Work`.
pub(super) enum Applied {
    Event(Handled),
    /// Whether the record changed a row.
    Recorded(bool),
    /// What a digest write returned.
    Digest(Written),
}

impl Service {
    /// Queues `work` for the writer; the receiver answers once its batch committed (or failed).
    pub(super) fn submit(
        &self,
        work: Work,
        span: tracing::Span,
    ) -> Result<oneshot::Receiver<Result<Applied, ServiceError>>, ServiceError> {
        let (done, result) = oneshot::channel();
        self.queue(Job { work, done, span })?;
        Ok(result)
    }

    /// `submit`, waiting for the commit.
    pub(super) async fn submit_wait(&self, work: Work) -> Result<Applied, ServiceError> {
        let result = self.submit(work, tracing::Span::current())?;
        result.await.map_err(|_| ServiceError::Stopped)?
    }

    /// Records a posted poll's message id through the writer, after the post succeeded.
    pub async fn record_posting(
        &self,
        survey: SurveyKey,
        platform: Platform,
        chat_id: &str,
        message_id: &str,
    ) -> Result<(), ServiceError> {
        let work = Work::Posting {
            survey,
            platform,
            chat_id: chat_id.to_string(),
            message_id: message_id.to_string(),
        };
        self.submit_wait(work).await?;
        Ok(())
    }

    /// Records through the writer that a posted message was edited to its survey's final
    /// state, so no restart edits it again. True the first time.
    pub async fn record_finalised(
        &self,
        survey: SurveyKey,
        platform: Platform,
        chat_id: &str,
    ) -> Result<bool, ServiceError> {
        let work = Work::Finalised {
            survey,
            platform,
            chat_id: chat_id.to_string(),
        };
        match self.submit_wait(work).await? {
            Applied::Recorded(done) => Ok(done),
            Applied::Event(_) | Applied::Digest(_) => Ok(false),
        }
    }

    pub(super) fn queue(&self, job: Job) -> Result<(), ServiceError> {
        let mut writer = self.writer.lock().map_err(|_| ServiceError::Stopped)?;
        let tx = match writer.as_ref() {
            Some(tx) if !tx.is_closed() => tx,
            _ => {
                let (tx, rx) = mpsc::unbounded_channel();
                // The task's own Service has no queue, so it ends when the last user handle drops.
                let task = Service {
                    writer: Default::default(),
                    ..self.clone()
                };
                tokio::spawn(task.write_loop(rx));
                writer.insert(tx)
            }
        };
        tx.send(job).map_err(|_| ServiceError::Stopped)
    }

    /// The single writer: takes everything queued, applies it in one transaction, commits,
    /// then answers every caller.
    ///
    /// A batch that failed because the database cannot be written (locked past the busy
    /// timeout, full, read-only) also fails everything queued while it waited, at once: each
    /// later batch would wait out the same timeout, so members' "try again" would come one
    /// timeout after another, long after Telegram's 15 s for answering a tap.
    pub(super) async fn write_loop(self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
            let Some(e) = self.commit_batch(std::mem::take(&mut jobs)).await else {
                continue;
            };
            let mut failed = 0;
            while let Ok(j) = rx.try_recv() {
                let _ = j.done.send(Err(ServiceError::Commit(e.clone())));
                failed += 1;
            }
            if failed > 0 {
                tracing::error!(error = %e, events = failed, "events queued while the database could not be written fail with it; nothing of them was saved");
            }
        }
    }

    /// Applies a batch in one transaction and answers its callers. Returns the error when the
    /// batch failed because the database cannot be written.
    pub(super) async fn commit_batch(&self, jobs: Vec<Job>) -> Option<Arc<StoreError>> {
        let mut tx = match self.store.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, events = jobs.len(), "cannot open a transaction");
                let e = Arc::new(e);
                for j in jobs {
                    let _ = j.done.send(Err(ServiceError::Commit(e.clone())));
                }
                return e.is_unavailable().then_some(e);
            }
        };
        // Each job's time is read in queue order, whichever path applies it.
        let mut applied: Vec<Option<Result<Applied, ServiceError>>> =
            Vec::with_capacity(jobs.len());
        let mut broken = None;
        let set_based = self.set_based.load(std::sync::atomic::Ordering::Relaxed);
        let mut run = Run::default();
        for (i, j) in jobs.iter().enumerate() {
            applied.push(None);
            if broken.is_some() {
                continue;
            }
            // The clock is read as before this path existed: twice for an event (the time of
            // the second reading is its time), once for a record. Tests' stepping clocks
            // count the readings.
            if matches!(j.work, Work::Event { .. }) {
                self.clock.now();
            }
            let now = self.clock.now();
            let tap = match set_based {
                true => self.as_tap(&mut tx, &j.work, now).await,
                false => None,
            };
            match tap {
                Some(t) if run.takes(&t) => run.push(i, t),
                tap => {
                    self.flush(&mut tx, &jobs, &mut run, &mut applied, &mut broken)
                        .await;
                    match tap {
                        Some(t) => run.push(i, t),
                        None if broken.is_none() => {
                            applied[i] = Some(self.apply_job(&mut tx, j, now, &mut broken).await)
                        }
                        None => {}
                    }
                }
            }
        }
        self.flush(&mut tx, &jobs, &mut run, &mut applied, &mut broken)
            .await;
        drop(run);
        let results: Vec<(Job, Result<Applied, ServiceError>)> = jobs
            .into_iter()
            .zip(applied)
            .map(|(j, r)| (j, r.unwrap_or(Err(ServiceError::Stopped))))
            .collect();
        let committed = match broken {
            Some(e) => Err(e),
            None => tx.commit().await.map_err(Arc::new),
        };
        if let Err(e) = &committed {
            tracing::error!(error = %e, events = results.len(), "group commit failed; nothing of the batch was saved");
        }
        for (j, r) in results {
            let r = match (&committed, r) {
                (Ok(()), r) => r,
                (Err(_), Err(ServiceError::Store(e))) => Err(ServiceError::Store(e)),
                (Err(e), _) => Err(ServiceError::Commit(e.clone())),
            };
            // The caller may have gone away; the event is committed either way.
            let _ = j.done.send(r);
        }
        committed.err().filter(|e| e.is_unavailable())
    }

    /// Applies one job on the per-event path; a failed savepoint breaks the batch.
    async fn apply_job(
        &self,
        tx: &mut Tx,
        j: &Job,
        now: DateTime<Utc>,
        broken: &mut Option<Arc<StoreError>>,
    ) -> Result<Applied, ServiceError> {
        match self
            .apply(tx, &j.work, now)
            .instrument(j.span.clone())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                // The savepoint could not be rolled back: nothing of this batch may be
                // committed.
                j.span
                    .in_scope(|| tracing::error!(error = %e, "savepoint failed"));
                *broken = Some(Arc::new(e));
                Err(ServiceError::Stopped)
            }
        }
    }

    /// Applies the taps gathered in `run` (set-based, or one by one if that failed) and
    /// empties it.
    async fn flush(
        &self,
        tx: &mut Tx,
        jobs: &[Job],
        run: &mut Run<'_>,
        applied: &mut [Option<Result<Applied, ServiceError>>],
        broken: &mut Option<Arc<StoreError>>,
    ) {
        let taps = std::mem::take(&mut run.taps);
        let at = std::mem::take(&mut run.at);
        run.members.clear();
        run.events.clear();
        if taps.is_empty() || broken.is_some() {
            return;
        }
        match self.apply_taps(tx, &taps).await {
            Ok(Some(done)) => {
                for (i, h) in at.iter().zip(done) {
                    if let Some(slot) = applied.get_mut(*i) {
                        *slot = Some(Ok(Applied::Event(h)));
                    }
                }
            }
            Ok(None) => {
                for (i, t) in at.iter().zip(&taps) {
                    if broken.is_some() {
                        break;
                    }
                    if let (Some(j), Some(slot)) = (jobs.get(*i), applied.get_mut(*i)) {
                        *slot = Some(self.apply_job(tx, j, t.now, broken).await);
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "savepoint of a run of taps failed");
                *broken = Some(Arc::new(e));
            }
        }
    }

    /// Applies one piece of work inside its own savepoint. The outer error means the savepoint
    /// itself failed; the inner result is the work's own outcome, rolled back if an error.
    pub(super) async fn apply(
        &self,
        tx: &mut Tx,
        work: &Work,
        now: DateTime<Utc>,
    ) -> Result<Result<Applied, ServiceError>, StoreError> {
        match work {
            Work::Event { ev, claim_only } => Ok(self
                .apply_event(tx, ev, *claim_only, now)
                .await?
                .map(Applied::Event)),
            Work::Posting {
                survey,
                platform,
                chat_id,
                message_id,
            } => {
                tx.savepoint().await?;
                let r = tx
                    .record_posting(*survey, *platform, chat_id, message_id, now)
                    .await
                    .map(|()| true);
                Self::settle_record(tx, r).await
            }
            Work::Finalised {
                survey,
                platform,
                chat_id,
            } => {
                tx.savepoint().await?;
                let r = tx.record_finalised(*survey, *platform, chat_id, now).await;
                Self::settle_record(tx, r).await
            }
            Work::Digest(w) => {
                tx.savepoint().await?;
                match super::deliveries::apply(w, tx).await {
                    Ok(done) => Ok(Ok(Applied::Digest(done))),
                    Err(e) => {
                        tracing::warn!(error = %e, "digest write failed; rolled back");
                        tx.rollback_event().await?;
                        Ok(Err(ServiceError::Store(e)))
                    }
                }
            }
        }
    }

    /// A record's outcome: a failed one is rolled back alone, like a failing event.
    async fn settle_record(
        tx: &mut Tx,
        r: Result<bool, StoreError>,
    ) -> Result<Result<Applied, ServiceError>, StoreError> {
        match r {
            Ok(done) => Ok(Ok(Applied::Recorded(done))),
            Err(e) => {
                tracing::warn!(error = %e, "record failed; rolled back");
                tx.rollback_event().await?;
                Ok(Err(ServiceError::Store(e)))
            }
        }
    }

    /// Applies one event inside its own savepoint. The outer error means the savepoint itself
    /// failed; the inner result is the event's own outcome, already rolled back if an error.
    async fn apply_event(
        &self,
        tx: &mut Tx,
        ev: &Inbound,
        claim_only: bool,
        now: DateTime<Utc>,
    ) -> Result<Result<Handled, ServiceError>, StoreError> {
        if !tx.claim_event_in_savepoint(&ev.event_id, now).await? {
            tracing::debug!("duplicate event ignored");
            return Ok(Ok(Handled::Duplicate));
        }
        if claim_only {
            return Ok(Ok(Handled::Replies(Vec::new())));
        }
        let r = async {
            // Every step below words its replies for the member's resolved locale.
            let chosen = tx
                .find_member(ev.actor.platform.as_str(), &ev.actor.user_id)
                .await?
                .and_then(|m| m.locale_override);
            let locale = self.resolve_locale(chosen.as_deref(), ev.actor.locale.as_deref());
            let cx = Ctx { ev, locale, now };
            let mut out = match &ev.body {
                Body::Text(t) => self.on_text(tx, &cx, t).await?,
                Body::Button(p) => self.on_button(tx, &cx, p).await?,
            };
            for o in &mut out {
                o.localise(&cx.locale);
            }
            Ok::<_, ServiceError>(out)
        }
        .await;
        match r {
            Ok(out) => Ok(Ok(Handled::Replies(out))),
            Err(e) => {
                tracing::warn!(error = %e, "event failed; its changes are rolled back");
                if let Err(re) = tx.rollback_event().await {
                    // SQLite rolls the whole transaction back by itself on some errors (a
                    // full disk): the batch is lost, and the event's own error says why.
                    tracing::warn!(error = %re, "the savepoint is gone");
                    return Err(match e {
                        ServiceError::Store(se) => se,
                        _ => re,
                    });
                }
                Ok(Err(e))
            }
        }
    }
}

/// The digest writes through the same writer (`deliveries.rs` applies each).
impl Ledger for Service {
    fn write(&self, w: DigestWrite) -> Writing<'_> {
        Box::pin(async move {
            match self.submit_wait(Work::Digest(w)).await {
                Ok(Applied::Digest(done)) => Ok(done),
                Ok(Applied::Event(_) | Applied::Recorded(_)) => Ok(Written::Done),
                Err(ServiceError::Store(e)) => Err(DigestError::Database(e)),
                Err(e) => Err(DigestError::Write(Box::new(e))),
            }
        })
    }

    fn reader(&self) -> Reader {
        self.store.reader()
    }

    fn narrate<'a>(
        &'a self,
        narrator: &'a Arc<crate::narrative::Narrator>,
        reports: Vec<&'a mut crate::insight::Report>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            crate::reporting::narrate(narrator, &self.store, reports).await;
        })
    }
}
