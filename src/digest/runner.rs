//! Delivers the digest on schedule: plans one delivery per period and destination, claims it
//! and each of its parts (text chunks, chart) before sending, records each result, and retries
//! what is missing with backoff. Destinations are served concurrently, each with its own
//! retries, so a slow or failing one never holds up the others. Time comes from the injected
//! clock, so tests never sleep.

use super::compose::{Window, compose, preview};
use super::ledger::{BoxError, DigestError, Ledger};
use super::schedule::Schedule;
use crate::clock::Clock;
use crate::config::DigestConfig;
use crate::core::event::Platform;
use crate::insight::digest::Brief;
use crate::store::{Delivery, NewPart, PartOutcome, Reader};
use chrono::Duration;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One message of a digest as a platform posts it: a text chunk, the chart, or a chunk with
/// the chart attached. Rendered once per destination and stored, so a retry sends the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// What it is, for `canvass digest --status`: "text 1/2", "chart", "text 2/2 + chart".
    pub label: String,
    pub text: Option<String>,
    pub image: Option<Vec<u8>>,
}

/// Why a sink could not turn a brief into parts; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The digest's templates failed for this platform.
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    /// Any other reason, in the platform's own words.
    #[error(transparent)]
    Other(BoxError),
}

/// Why a part was not confirmed as posted. The platform's error is the source; what is
/// recorded for `canvass digest --status` is its message.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The platform refused it or it never reached the platform: sending again is safe.
    #[error(transparent)]
    Failed(BoxError),
    /// It may have been posted (the connection broke after the request was sent): it is
    /// never sent again, as a duplicate would mislead.
    #[error("outcome unknown: {0}")]
    Uncertain(#[source] BoxError),
}

/// A platform that can post a brief to a destination id of its own (chat or channel id).
pub trait Sink: Send + Sync {
    /// Telegram or Discord: destinations are written `platform:id` (`Platform::as_str`).
    fn platform(&self) -> Platform;
    /// The messages that post `brief` (and its chart) here, in order.
    fn render(&self, brief: &Brief, chart: Option<&[u8]>) -> Result<Vec<Part>, SinkError>;
    /// Posts one part, with the platform's own bounded retries (429s waited out).
    fn send<'a>(
        &'a self,
        destination: &'a str,
        part: &'a Part,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

/// At most this many destinations are sent to at the same time.
const CONCURRENT: usize = 4;

/// A digest that fired less than this long ago is on time; older ones are marked late.
const ON_TIME: i64 = 15;

/// Retry delays after failures: 1, 5, 15, then every 60 minutes.
fn backoff(attempts: i64) -> Duration {
    Duration::minutes(match attempts {
        ..=1 => 1,
        2 => 5,
        3 => 15,
        _ => 60,
    })
}

/// Plans and sends the digest. It holds no handle to write with: every write goes through the
/// service's single writer (`Ledger`), every read through a read-only `Reader`.
pub struct Runner {
    ledger: Arc<dyn Ledger>,
    reader: Reader,
    cfg: DigestConfig,
    schedule: Schedule,
    min_segment: usize,
    sinks: Vec<Arc<dyn Sink>>,
    clock: Arc<dyn Clock>,
    narrator: Option<Arc<crate::narrative::Narrator>>,
    word: Arc<super::compose::Wording>,
    charts: Arc<crate::render::report::Charts>,
}

/// What one tick did, for logs and tests (destinations sorted).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub delivered: Vec<String>,
    /// To be retried, with the first error.
    pub failed: Vec<(String, String)>,
    /// Some part may or may not have arrived; it is not resent.
    pub uncertain: Vec<(String, String)>,
}

impl Runner {
    pub fn new(
        ledger: impl Ledger + 'static,
        cfg: DigestConfig,
        schedule: Schedule,
        min_segment: usize,
        sinks: Vec<Arc<dyn Sink>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            reader: ledger.reader(),
            ledger: Arc::new(ledger),
            cfg,
            schedule,
            min_segment,
            sinks,
            clock,
            narrator: None,
            word: Arc::new(|s| s),
            charts: Arc::new(|_| None),
        }
    }

    /// Survey titles and questions worded for the team's locale.
    pub fn with_wording(mut self, word: Arc<super::compose::Wording>) -> Self {
        self.word = word;
        self
    }

    /// The brief is posted with the chart `charts` draws (none by default).
    pub fn with_charts(mut self, charts: Arc<crate::render::report::Charts>) -> Self {
        self.charts = charts;
        self
    }

    /// With `[narrative]`: each survey of the brief gets a checked narrative, bounded by the
    /// narrative's time budget, so a slow endpoint never holds the digest for long.
    pub fn with_narrator(mut self, narrator: Option<Arc<crate::narrative::Narrator>>) -> Self {
        self.narrator = narrator;
        self
    }

    async fn narrate(&self, brief: &mut Brief) {
        if let Some(n) = &self.narrator {
            self.ledger
                .narrate(n, brief.reports.iter_mut().collect())
                .await;
        }
    }

    /// Destinations whose platform has a sink, as `platform:id`.
    pub fn destinations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let has = |p: Platform| self.sinks.iter().any(|s| s.platform() == p);
        if has(Platform::Telegram) {
            out.extend(
                self.cfg
                    .telegram_chats
                    .iter()
                    .map(|c| format!("telegram:{c}")),
            );
        }
        if has(Platform::Discord) {
            out.extend(
                self.cfg
                    .discord_channels
                    .iter()
                    .map(|c| format!("discord:{c}")),
            );
        }
        out
    }

    /// The brief the next scheduled digest will post, as of now: for `--dry-run`.
    pub async fn brief_now(&self) -> Result<Brief, DigestError> {
        let mut brief = preview(
            &self.reader,
            &self.cfg,
            Some(&self.schedule),
            self.min_segment,
            self.clock.now(),
            &*self.word,
        )
        .await?;
        self.narrate(&mut brief).await;
        Ok(brief)
    }

    /// At start: parts whose send was interrupted by a crash are never repeated; the parts
    /// that were never sent are sent at the next tick.
    pub async fn recover(&self) -> Result<(), DigestError> {
        let n = self
            .ledger
            .mark_interrupted_deliveries(self.clock.now())
            .await?;
        if n > 0 {
            tracing::warn!(
                count = n,
                "digest sends were interrupted by a restart; what may have arrived is not resent (see `canvass digest --status`)"
            );
        }
        Ok(())
    }

    /// The brief of a planned delivery's period: answers of the period (previous slot, slot],
    /// compared with the last digest delivered before the slot.
    async fn brief_for(&self, d: &Delivery) -> Result<Brief, DigestError> {
        let start = self
            .schedule
            .previous(d.slot_at)
            .unwrap_or(d.slot_at - Duration::days(7));
        let since = self.reader.last_delivered_slot(d.slot_at).await?;
        let mut brief = compose(
            &self.reader,
            &self.cfg,
            self.min_segment,
            Window {
                period: &d.period,
                start,
                slot: d.slot_at,
                late: d.late,
                since,
                cadence: self.schedule.cadence(),
            },
            &*self.word,
        )
        .await?;
        self.narrate(&mut brief).await;
        Ok(brief)
    }

    /// Plans the latest period (unless it is older than the install) and attempts every due
    /// delivery, destinations concurrently.
    pub async fn tick(&self) -> Result<Tick, DigestError> {
        let now = self.clock.now();
        let installed = self.ledger.installed_at(now).await?;
        let mut out = Tick::default();
        if let Some(slot) = self.schedule.latest(now) {
            // A slot before this install began was never due here: it is not "missed".
            if slot >= installed {
                let period = self.schedule.period_key(slot);
                let late = now - slot > Duration::minutes(ON_TIME);
                self.ledger
                    .plan_deliveries(&period, slot, &self.destinations(), late, now)
                    .await?;
            }
        }
        let mut briefs: BTreeMap<String, (Brief, Option<Vec<u8>>)> = BTreeMap::new();
        let mut jobs = Vec::new();
        for d in self.reader.due_deliveries(now).await? {
            let Some((platform, id)) = d.destination.split_once(':') else {
                continue;
            };
            let Some(sink) = self
                .sinks
                .iter()
                .find(|s| s.platform().as_str() == platform)
            else {
                continue;
            };
            let id = id.to_string();
            // A retry sends the parts stored at the first attempt. Otherwise the brief (and its
            // narrative, which waits on the network) is ready before the claim, so a crash
            // while writing it leaves nothing claimed and unsent.
            let mut parts = Vec::new();
            if self
                .reader
                .delivery_parts(&d.period, &d.destination)
                .await?
                .is_empty()
            {
                if !briefs.contains_key(&d.period) {
                    let brief = self.brief_for(&d).await?;
                    let chart = brief.reports.iter().find_map(|r| (self.charts)(r));
                    briefs.insert(d.period.clone(), (brief, chart));
                }
                let Some((brief, chart)) = briefs.get(&d.period) else {
                    continue;
                };
                match sink.render(brief, chart.as_deref()) {
                    Ok(p) => parts = p,
                    Err(e) => {
                        // Recorded as its message, as `canvass digest --status` shows it.
                        let e = e.to_string();
                        let retry_at = now + backoff(d.attempts + 1);
                        tracing::error!(period = %d.period, destination = %d.destination, error = %e, "digest could not be rendered");
                        self.ledger
                            .fail_delivery(&d.period, &d.destination, &e, retry_at)
                            .await?;
                        out.failed.push((d.destination.clone(), e));
                        continue;
                    }
                }
            }
            jobs.push((d, sink.clone(), id, parts));
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
        let mut running = tokio::task::JoinSet::new();
        for (d, sink, id, parts) in jobs {
            let (ledger, reader) = (self.ledger.clone(), self.reader.clone());
            let (clock, permits) = (self.clock.clone(), permits.clone());
            running.spawn(async move {
                // The semaphore is never closed; a failed acquire only lifts the bound.
                let _permit = permits.acquire_owned().await;
                let r = deliver((&*ledger, &reader), &*clock, &*sink, &d, &id, &parts).await;
                (d.destination, r)
            });
        }
        let mut error = None;
        while let Some(done) = running.join_next().await {
            match done {
                Ok((dest, Ok(Attempt::Delivered))) => out.delivered.push(dest),
                Ok((dest, Ok(Attempt::Failed(e)))) => out.failed.push((dest, e)),
                Ok((dest, Ok(Attempt::Uncertain(e)))) => out.uncertain.push((dest, e)),
                Ok((_, Ok(Attempt::NotClaimed))) => {}
                Ok((dest, Err(e))) => {
                    tracing::error!(destination = %dest, error = %e, "digest bookkeeping failed");
                    error.get_or_insert(e);
                }
                Err(e) => tracing::error!(error = %e, "a digest delivery task failed"),
            }
        }
        if let Some(e) = error {
            return Err(e);
        }
        out.delivered.sort();
        out.failed.sort();
        out.uncertain.sort();
        Ok(out)
    }

    /// Runs until `stop` flips: ticks, then waits for the next slot or retry (at most a minute).
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if let Err(e) = self.recover().await {
            tracing::error!(error = %e, "digest recovery failed");
        }
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "digest tick failed");
            }
            let now = self.clock.now();
            let next = self
                .schedule
                .next_after(now)
                .map(|t| (t - now).to_std().unwrap_or_default())
                .unwrap_or(std::time::Duration::from_secs(60))
                .min(std::time::Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(next) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
    }
}

/// How one delivery attempt ended.
enum Attempt {
    Delivered,
    Failed(String),
    Uncertain(String),
    NotClaimed,
}

/// One attempt at one destination: claims the delivery (storing `fresh` as its parts at the
/// first attempt), then sends each part not yet sent, in order, claiming it before and
/// recording it after. A part that failed stops the attempt (the rest follow at the retry, in
/// order); a part whose outcome is unknown is never sent again, and the rest still go.
async fn deliver(
    (ledger, reader): (&dyn Ledger, &Reader),
    clock: &dyn Clock,
    sink: &dyn Sink,
    d: &Delivery,
    id: &str,
    fresh: &[Part],
) -> Result<Attempt, DigestError> {
    let new: Vec<NewPart<'_>> = fresh
        .iter()
        .map(|p| NewPart {
            label: &p.label,
            body: p.text.as_deref(),
            image: p.image.as_deref(),
        })
        .collect();
    if !ledger
        .claim_delivery(&d.period, &d.destination, &new)
        .await?
    {
        return Ok(Attempt::NotClaimed);
    }
    for p in reader.delivery_parts(&d.period, &d.destination).await? {
        if !matches!(p.status.as_str(), "pending" | "failed")
            || !ledger.claim_part(&d.period, &d.destination, p.seq).await?
        {
            continue;
        }
        let part = Part {
            label: p.label,
            text: p.body,
            image: p.image,
        };
        // The network call happens outside any transaction.
        let outcome = match sink.send(id, &part).await {
            Ok(()) => PartOutcome::Delivered,
            Err(SendError::Failed(e)) => PartOutcome::Failed(e.to_string()),
            Err(SendError::Uncertain(e)) => PartOutcome::Uncertain(e.to_string()),
        };
        ledger
            .finish_part(
                &d.period,
                &d.destination,
                p.seq,
                outcome.clone(),
                clock.now(),
            )
            .await?;
        match outcome {
            PartOutcome::Delivered => {}
            PartOutcome::Failed(_) => break,
            PartOutcome::Uncertain(e) => {
                tracing::warn!(period = %d.period, destination = %d.destination, part = %part.label, error = %e, "digest part may or may not have arrived; not resent");
            }
        }
    }
    let now = clock.now();
    let retry_at = now + backoff(d.attempts + 1);
    let (status, error) = ledger
        .settle_delivery(&d.period, &d.destination, retry_at, now)
        .await?;
    let error = error.unwrap_or_default();
    Ok(match status {
        "delivered" => {
            tracing::info!(period = %d.period, destination = %d.destination, late = d.late, "digest delivered");
            Attempt::Delivered
        }
        "failed" => {
            tracing::warn!(period = %d.period, destination = %d.destination, %error, %retry_at, "digest delivery failed; what was not sent will be retried");
            Attempt::Failed(error)
        }
        _ => Attempt::Uncertain(error),
    })
}

#[cfg(test)]
mod tests {
    use super::{SendError, SinkError};
    use std::error::Error as _;

    /// A failed send reads as the platform's message (what `digest --status` records), and
    /// the platform's error stays reachable as the source.
    #[test]
    fn send_and_sink_errors_keep_the_platforms_error() {
        let failed = SendError::Failed(std::io::Error::other("Forbidden: bot was kicked").into());
        assert_eq!(failed.to_string(), "Forbidden: bot was kicked");
        let uncertain = SendError::Uncertain(std::io::Error::other("connection reset").into());
        assert_eq!(uncertain.to_string(), "outcome unknown: connection reset");
        let source = uncertain.source().expect("source");
        assert!(
            source.downcast_ref::<std::io::Error>().is_some(),
            "{source:?}"
        );
        let other = SinkError::Other(std::io::Error::other("no template").into());
        assert_eq!(other.to_string(), "no template");
    }
}
