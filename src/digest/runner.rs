//! Delivers the digest on schedule: plans one delivery per period and destination, claims it
//! before sending, records the result, and retries failures with backoff without blocking the
//! other destinations. Time comes from the injected clock, so tests never sleep.

use super::compose::{Window, compose};
use super::schedule::Schedule;
use crate::bot::Clock;
use crate::config::DigestConfig;
use crate::insight::digest::Brief;
use crate::store::{Store, StoreError};
use chrono::Duration;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A platform that can post a brief to a destination id of its own (chat or channel id).
pub trait Sink: Send + Sync {
    /// "telegram" or "discord": destinations are written `platform:id`.
    fn platform(&self) -> &'static str;
    fn send<'a>(
        &'a self,
        destination: &'a str,
        brief: &'a Brief,
        chart: Option<&'a [u8]>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

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

pub struct Runner {
    store: Store,
    cfg: DigestConfig,
    schedule: Schedule,
    min_segment: usize,
    sinks: Vec<Arc<dyn Sink>>,
    clock: Arc<dyn Clock>,
    narrator: Option<Arc<crate::narrative::Narrator>>,
    word: Arc<super::compose::Wording>,
    charts: Arc<crate::render::report::Charts>,
}

/// What one tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub delivered: Vec<String>,
    pub failed: Vec<(String, String)>,
}

impl Runner {
    pub fn new(
        store: Store,
        cfg: DigestConfig,
        schedule: Schedule,
        min_segment: usize,
        sinks: Vec<Arc<dyn Sink>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
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
            crate::bot::insights::narrate(n, &self.store, brief.reports.iter_mut().collect()).await;
        }
    }

    /// Destinations whose platform has a sink, as `platform:id`.
    pub fn destinations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let has = |p: &str| self.sinks.iter().any(|s| s.platform() == p);
        if has("telegram") {
            out.extend(
                self.cfg
                    .telegram_chats
                    .iter()
                    .map(|c| format!("telegram:{c}")),
            );
        }
        if has("discord") {
            out.extend(
                self.cfg
                    .discord_channels
                    .iter()
                    .map(|c| format!("discord:{c}")),
            );
        }
        out
    }

    /// The brief for the latest slot (or now), for `--dry-run` and `/digest`.
    pub async fn brief_now(&self) -> Result<Brief, StoreError> {
        let now = self.clock.now();
        let slot = self.schedule.latest(now).unwrap_or(now);
        let start = self
            .schedule
            .previous(slot)
            .unwrap_or(slot - Duration::days(7));
        let mut brief = compose(
            &self.store,
            &self.cfg,
            self.min_segment,
            Window {
                period: &self.schedule.period_key(slot),
                start,
                slot: now,
                late: false,
            },
            &*self.word,
        )
        .await?;
        self.narrate(&mut brief).await;
        Ok(brief)
    }

    /// At start: sends interrupted by a crash are never repeated.
    pub async fn recover(&self) -> Result<(), StoreError> {
        let n = self.store.mark_interrupted_deliveries().await?;
        if n > 0 {
            tracing::warn!(
                count = n,
                "digest sends were interrupted by a restart; not resending (see `canvass digest --status`)"
            );
        }
        Ok(())
    }

    /// Plans the latest period and attempts every due delivery.
    pub async fn tick(&self) -> Result<Tick, StoreError> {
        let now = self.clock.now();
        let mut out = Tick::default();
        let dests = self.destinations();
        if let Some(slot) = self.schedule.latest(now) {
            let period = self.schedule.period_key(slot);
            let late = now - slot > Duration::minutes(ON_TIME);
            self.store
                .plan_deliveries(&period, slot, &dests, late, now)
                .await?;
        }
        let mut briefs: BTreeMap<String, (Brief, Option<Vec<u8>>)> = BTreeMap::new();
        for d in self.store.due_deliveries(now).await? {
            let Some((platform, id)) = d.destination.split_once(':') else {
                continue;
            };
            let Some(sink) = self.sinks.iter().find(|s| s.platform() == platform) else {
                continue;
            };
            // The brief (and its narrative, which waits on the network) is ready before the
            // claim, so a crash while writing it leaves nothing claimed and unsent.
            if !briefs.contains_key(&d.period) {
                let start = self
                    .schedule
                    .previous(d.slot_at)
                    .unwrap_or(d.slot_at - Duration::days(7));
                let mut brief = compose(
                    &self.store,
                    &self.cfg,
                    self.min_segment,
                    Window {
                        period: &d.period,
                        start,
                        slot: d.slot_at,
                        late: d.late,
                    },
                    &*self.word,
                )
                .await?;
                self.narrate(&mut brief).await;
                let chart = brief.reports.iter().find_map(|r| (self.charts)(r));
                briefs.insert(d.period.clone(), (brief, chart));
            }
            let Some((brief, chart)) = briefs.get(&d.period) else {
                continue;
            };
            if !self.store.claim_delivery(&d.period, &d.destination).await? {
                continue;
            }
            // The network call happens outside any transaction.
            let result = sink.send(id, brief, chart.as_deref()).await;
            let retry_at = now + backoff(d.attempts + 1);
            match &result {
                Ok(()) => {
                    tracing::info!(period = %d.period, destination = %d.destination, late = d.late, "digest delivered");
                    out.delivered.push(d.destination.clone());
                }
                Err(e) => {
                    tracing::warn!(period = %d.period, destination = %d.destination, error = %e, %retry_at, "digest delivery failed; will retry");
                    out.failed.push((d.destination.clone(), e.clone()));
                }
            }
            self.store
                .finish_delivery(
                    &d.period,
                    &d.destination,
                    result,
                    retry_at,
                    self.clock.now(),
                )
                .await?;
        }
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
