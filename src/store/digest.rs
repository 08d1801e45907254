//! Digest delivery bookkeeping: one row per period and destination.

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
    })
}

const COLS: &str = "period, destination, slot_at, status, late, attempts, last_error, next_attempt_at, delivered_at";

impl Store {
    /// Creates the delivery rows of a period if they do not exist yet (idempotent).
    pub async fn plan_deliveries(
        &self,
        period: &str,
        slot: DateTime<Utc>,
        destinations: &[String],
        late: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for d in destinations {
            sqlx::query(
                "INSERT INTO digest_deliveries (period, destination, slot_at, status, late, next_attempt_at)
                 VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (period, destination) DO NOTHING",
            )
            .bind(period)
            .bind(d)
            .bind(ms(slot))
            .bind(late)
            .bind(ms(now))
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
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

    /// Claims a delivery for sending; false when someone else already did (or it is done).
    pub async fn claim_delivery(&self, period: &str, destination: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE digest_deliveries SET status = 'sending', attempts = attempts + 1
              WHERE period = ? AND destination = ? AND status IN ('pending', 'failed')",
        )
        .bind(period)
        .bind(destination)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn finish_delivery(
        &self,
        period: &str,
        destination: &str,
        result: std::result::Result<(), String>,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let q = match &result {
            Ok(()) => sqlx::query(
                "UPDATE digest_deliveries SET status = 'delivered', delivered_at = ?, last_error = NULL
                  WHERE period = ? AND destination = ?",
            )
            .bind(ms(now)),
            Err(e) => sqlx::query(
                "UPDATE digest_deliveries SET status = 'failed', last_error = ?, next_attempt_at = ?
                  WHERE period = ? AND destination = ?",
            )
            .bind(e.clone())
            .bind(ms(retry_at)),
        };
        q.bind(period).bind(destination).execute(&self.pool).await?;
        Ok(())
    }

    /// At start: a send interrupted by a crash may or may not have arrived. Never resend it.
    pub async fn mark_interrupted_deliveries(&self) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE digest_deliveries SET status = 'uncertain',
                last_error = 'interrupted while sending; not resent to avoid a duplicate'
              WHERE status = 'sending'",
        )
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn deliveries(&self) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM digest_deliveries ORDER BY slot_at DESC, destination"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery).collect()
    }
}
