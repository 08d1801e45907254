//! Digest delivery bookkeeping: one row per period and destination, one per part (text chunk,
//! chart) of what is posted there, and when this install began.

use super::{Result, Store, from_ms, ms};
use chrono::{DateTime, Utc};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub period: String,
    pub destination: String,
    pub slot_at: DateTime<Utc>,
    pub status: String,
    pub late: bool,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Each part's outcome, in posting order (empty before the first attempt).
    pub parts: Vec<PartStatus>,
}

/// How one part of a delivery went, for `canvass digest --status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartStatus {
    pub seq: i64,
    pub label: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A part to store at the first claim: its label, its text and/or its image.
#[derive(Debug, Clone, Copy)]
pub struct NewPart<'a> {
    pub label: &'a str,
    pub body: Option<&'a str>,
    pub image: Option<&'a [u8]>,
}

/// A stored part, as rendered for the first attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub seq: i64,
    pub label: String,
    pub body: Option<String>,
    pub image: Option<Vec<u8>>,
    pub status: String,
}

/// What became of one part's send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartOutcome {
    Delivered,
    /// Not posted: it may be sent again.
    Failed(String),
    /// May have been posted: never sent again.
    Uncertain(String),
}

fn delivery(r: &sqlx::sqlite::SqliteRow) -> Result<Delivery> {
    Ok(Delivery {
        period: r.try_get("period")?,
        destination: r.try_get("destination")?,
        slot_at: from_ms(r.try_get("slot_at")?),
        status: r.try_get("status")?,
        late: r.try_get("late")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        next_attempt_at: from_ms(r.try_get("next_attempt_at")?),
        delivered_at: r.try_get::<Option<i64>, _>("delivered_at")?.map(from_ms),
        parts: Vec::new(),
    })
}

fn part_status(r: &sqlx::sqlite::SqliteRow) -> Result<PartStatus> {
    Ok(PartStatus {
        seq: r.try_get("seq")?,
        label: r.try_get("label")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(from_ms),
    })
}

const INTERRUPTED: &str = "interrupted while sending; not resent to avoid a duplicate";

const COLS: &str = "period, destination, slot_at, status, late, attempts, last_error, next_attempt_at, delivered_at";

impl Store {
    /// At start, before the service's writer runs: records when this install began (once).
    pub async fn record_install(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let mut tx = self.begin().await?;
        let at = tx.installed_at(now).await?;
        tx.commit().await?;
        Ok(at)
    }

    /// Deliveries that may be attempted now.
    pub async fn due_deliveries(&self, now: DateTime<Utc>) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM digest_deliveries
              WHERE status IN ('pending', 'failed') AND next_attempt_at <= ? ORDER BY slot_at, destination"
        ))
        .bind(ms(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery).collect()
    }

    /// The slot of the latest digest before `slot` that reached a destination, wholly or in
    /// part: what "since the last digest" compares with.
    pub async fn last_delivered_slot(&self, slot: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let (at,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(d.slot_at) FROM digest_deliveries d
              WHERE d.slot_at < ? AND (d.status = 'delivered' OR EXISTS (
                    SELECT 1 FROM digest_parts p WHERE p.period = d.period
                       AND p.destination = d.destination AND p.status = 'delivered'))",
        )
        .bind(ms(slot))
        .fetch_one(&self.pool)
        .await?;
        Ok(at.map(from_ms))
    }

    /// The parts stored for a delivery (empty before its first claim).
    pub async fn delivery_parts(&self, period: &str, destination: &str) -> Result<Vec<StoredPart>> {
        let rows = sqlx::query(
            "SELECT seq, label, body, image, status FROM digest_parts
              WHERE period = ? AND destination = ? ORDER BY seq",
        )
        .bind(period)
        .bind(destination)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredPart {
                    seq: r.try_get("seq")?,
                    label: r.try_get("label")?,
                    body: r.try_get("body")?,
                    image: r.try_get("image")?,
                    status: r.try_get("status")?,
                })
            })
            .collect()
    }

    pub async fn deliveries(&self) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM digest_deliveries ORDER BY slot_at DESC, destination"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows.iter().map(delivery).collect::<Result<Vec<_>>>()?;
        let parts = sqlx::query(
            "SELECT period, destination, seq, label, status, attempts, last_error, sent_at
               FROM digest_parts ORDER BY period, destination, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in &parts {
            let (period, destination): (String, String) =
                (r.try_get("period")?, r.try_get("destination")?);
            if let Some(d) = out
                .iter_mut()
                .find(|d| d.period == period && d.destination == destination)
            {
                d.parts.push(part_status(r)?);
            }
        }
        Ok(out)
    }
}

/// The digest's writes, made in the service writer's transaction (`Work::Digest`), so a claim
/// is a read-modify-write under `BEGIN IMMEDIATE` and returns only after the commit.
impl super::Tx {
    /// Creates the delivery rows of a period if they do not exist yet (idempotent).
    pub async fn plan_deliveries(
        &mut self,
        period: &str,
        slot: DateTime<Utc>,
        destinations: &[String],
        late: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        for d in destinations {
            sqlx::query(
                // Not when a later slot is already planned for this destination (a schedule
                // moved back): an older digest never follows a newer one.
                "INSERT INTO digest_deliveries (period, destination, slot_at, status, late, next_attempt_at)
                 SELECT ?, ?, ?, 'pending', ?, ?
                  WHERE NOT EXISTS (SELECT 1 FROM digest_deliveries
                                     WHERE destination = ? AND slot_at > ?)
                 ON CONFLICT (period, destination) DO NOTHING",
            )
            .bind(period)
            .bind(d)
            .bind(ms(slot))
            .bind(late)
            .bind(ms(now))
            .bind(d)
            .bind(ms(slot))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// When this install began: the first call on a fresh database records `now`, later calls
    /// return what was recorded. Digest slots before it were never due.
    pub async fn installed_at(&mut self, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        sqlx::query(
            "INSERT INTO install (id, installed_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await?;
        let (at,): (i64,) = sqlx::query_as("SELECT installed_at FROM install WHERE id = 1")
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(from_ms(at))
    }

    /// Claims a delivery for an attempt; false when someone else already did (or it is done).
    /// At the first claim `parts` are stored as what this destination gets; later claims keep
    /// the stored ones, so a retry sends the same text.
    pub async fn claim_delivery(
        &mut self,
        period: &str,
        destination: &str,
        parts: &[NewPart<'_>],
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE digest_deliveries SET status = 'sending', attempts = attempts + 1
              WHERE period = ? AND destination = ? AND status IN ('pending', 'failed')",
        )
        .bind(period)
        .bind(destination)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let (stored,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM digest_parts WHERE period = ? AND destination = ?",
        )
        .bind(period)
        .bind(destination)
        .fetch_one(&mut *self.tx)
        .await?;
        if stored == 0 {
            for (seq, p) in parts.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO digest_parts (period, destination, seq, label, body, image)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(period)
                .bind(destination)
                .bind(seq as i64)
                .bind(p.label)
                .bind(p.body)
                .bind(p.image)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        Ok(true)
    }

    /// Claims one part right before it is sent; false when it is not to be sent (delivered,
    /// uncertain, or claimed by someone else).
    pub async fn claim_part(&mut self, period: &str, destination: &str, seq: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE digest_parts SET status = 'sending', attempts = attempts + 1
              WHERE period = ? AND destination = ? AND seq = ? AND status IN ('pending', 'failed')",
        )
        .bind(period)
        .bind(destination)
        .bind(seq)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records what became of a part's send.
    pub async fn finish_part(
        &mut self,
        period: &str,
        destination: &str,
        seq: i64,
        outcome: &PartOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (status, error) = match outcome {
            PartOutcome::Delivered => ("delivered", None),
            PartOutcome::Failed(e) => ("failed", Some(e.as_str())),
            PartOutcome::Uncertain(e) => ("uncertain", Some(e.as_str())),
        };
        sqlx::query(
            "UPDATE digest_parts SET status = ?, last_error = ?,
                    sent_at = CASE WHEN ? = 'delivered' THEN ? ELSE sent_at END
              WHERE period = ? AND destination = ? AND seq = ?",
        )
        .bind(status)
        .bind(error)
        .bind(status)
        .bind(ms(now))
        .bind(period)
        .bind(destination)
        .bind(seq)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// An attempt that failed before any part could be sent (e.g. rendering failed).
    pub async fn fail_delivery(
        &mut self,
        period: &str,
        destination: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE digest_deliveries SET status = 'failed', last_error = ?, next_attempt_at = ?
              WHERE period = ? AND destination = ?",
        )
        .bind(error)
        .bind(ms(retry_at))
        .bind(period)
        .bind(destination)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Ends an attempt from its parts: every part delivered → `delivered`; a part still to send
    /// → `failed`, retried at `retry_at`; else (some uncertain, the rest delivered) →
    /// `uncertain`, never resent. Returns the new status and the first part's error.
    pub async fn settle_delivery(
        &mut self,
        period: &str,
        destination: &str,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(&'static str, Option<String>)> {
        settle_in(self, period, destination, retry_at, now).await
    }

    /// At start: a send interrupted by a crash may or may not have arrived. Never resend it;
    /// the parts of that delivery that were never claimed are sent at the next tick.
    pub async fn mark_interrupted_deliveries(&mut self, now: DateTime<Utc>) -> Result<u64> {
        sqlx::query(
            "UPDATE digest_parts SET status = 'uncertain', last_error = ? WHERE status = 'sending'",
        )
        .bind(INTERRUPTED)
        .execute(&mut *self.tx)
        .await?;
        let sending: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT d.period, d.destination,
                    EXISTS (SELECT 1 FROM digest_parts p
                             WHERE p.period = d.period AND p.destination = d.destination)
               FROM digest_deliveries d WHERE d.status = 'sending'",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        for (period, destination, has_parts) in &sending {
            if *has_parts == 1 {
                settle_in(self, period, destination, now, now).await?;
            } else {
                // A delivery from before parts were recorded: nothing tells what was sent.
                sqlx::query(
                    "UPDATE digest_deliveries SET status = 'uncertain', last_error = ?
                      WHERE period = ? AND destination = ?",
                )
                .bind(INTERRUPTED)
                .bind(period)
                .bind(destination)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        Ok(sending.len() as u64)
    }
}

/// `settle_delivery` inside an open transaction.
async fn settle_in(
    tx: &mut super::Tx,
    period: &str,
    destination: &str,
    retry_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(&'static str, Option<String>)> {
    let parts: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT label, status, last_error FROM digest_parts
          WHERE period = ? AND destination = ? ORDER BY seq",
    )
    .bind(period)
    .bind(destination)
    .fetch_all(&mut *tx.tx)
    .await?;
    let first = |want: &[&str]| {
        parts
            .iter()
            .find(|p| want.contains(&p.1.as_str()))
            .map(|(label, _, e)| format!("{label}: {}", e.as_deref().unwrap_or("not sent yet")))
    };
    let (status, error, retry) = if let Some(e) = first(&["failed", "pending"]) {
        ("failed", Some(e), retry_at)
    } else if let Some(e) = first(&["uncertain", "sending"]) {
        ("uncertain", Some(e), now)
    } else {
        ("delivered", None, now)
    };
    sqlx::query(
        "UPDATE digest_deliveries SET status = ?, last_error = ?, next_attempt_at = ?,
                delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
          WHERE period = ? AND destination = ?",
    )
    .bind(status)
    .bind(error.clone())
    .bind(ms(retry))
    .bind(status)
    .bind(ms(now))
    .bind(period)
    .bind(destination)
    .execute(&mut *tx.tx)
    .await?;
    Ok((status, error))
}
