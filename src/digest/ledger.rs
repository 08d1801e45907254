//! The digest's bookkeeping writes as values, and `Ledger`, what applies them: the service,
//! whose single writer runs each in its own savepoint of the group-commit `BEGIN IMMEDIATE`
//! transaction and answers only after the commit. So a claim (read, then update) is atomic, a
//! part is claimed on disk before it is sent, and the digest holds no handle to write with.

use crate::insight::Report;
use crate::narrative::Narrator;
use crate::store::{NewPart, PartOutcome, Reader, StoreError};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One digest write, with what it needs owned (it waits in the writer's queue).
pub enum Write {
    Interrupted {
        now: DateTime<Utc>,
    },
    Installed {
        now: DateTime<Utc>,
    },
    Plan {
        period: String,
        slot: DateTime<Utc>,
        destinations: Vec<String>,
        late: bool,
        now: DateTime<Utc>,
    },
    Fail {
        period: String,
        destination: String,
        error: String,
        retry_at: DateTime<Utc>,
    },
    Claim {
        period: String,
        destination: String,
        parts: Vec<OwnedPart>,
    },
    ClaimPart {
        period: String,
        destination: String,
        seq: i64,
    },
    FinishPart {
        period: String,
        destination: String,
        seq: i64,
        outcome: PartOutcome,
        now: DateTime<Utc>,
    },
    Settle {
        period: String,
        destination: String,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
}

/// A part to store at a delivery's first claim.
pub struct OwnedPart {
    pub label: String,
    pub body: Option<String>,
    pub image: Option<Vec<u8>>,
}

/// What a digest write returned.
pub enum Written {
    Count(u64),
    At(DateTime<Utc>),
    Claimed(bool),
    Settled(&'static str, Option<String>),
    Done,
}

/// A platform's or the writer's own error, kept whole as the source of the error that wraps it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the digest's bookkeeping failed.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The database failed a read or a write.
    #[error(transparent)]
    Database(#[from] StoreError),
    /// The writer could not apply or commit a write; its own error is the source.
    #[error(transparent)]
    Write(BoxError),
}

/// A write in flight.
pub type Writing<'a> = Pin<Box<dyn Future<Output = Result<Written, DigestError>> + Send + 'a>>;

/// Where the digest writes and reads: implemented by the service.
pub trait Ledger: Send + Sync {
    /// Applies `w` and returns once it is committed.
    fn write(&self, w: Write) -> Writing<'_>;
    /// A read-only view of the store.
    fn reader(&self) -> Reader;
    /// Adds the checked narrative to `reports` with `narrator`, reading the answers it may quote.
    fn narrate<'a>(
        &'a self,
        narrator: &'a Arc<Narrator>,
        reports: Vec<&'a mut Report>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

impl dyn Ledger + '_ {
    /// At start: parts whose send a crash interrupted become uncertain (never resent). The
    /// number of deliveries that were being sent.
    pub async fn mark_interrupted_deliveries(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, DigestError> {
        match self.write(Write::Interrupted { now }).await? {
            Written::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// When this install began (recorded as `now` the first time).
    pub async fn installed_at(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, DigestError> {
        match self.write(Write::Installed { now }).await? {
            Written::At(at) => Ok(at),
            _ => Ok(now),
        }
    }

    /// Creates the delivery rows of a period if they do not exist yet (idempotent).
    pub async fn plan_deliveries(
        &self,
        period: &str,
        slot: DateTime<Utc>,
        destinations: &[String],
        late: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DigestError> {
        self.write(Write::Plan {
            period: period.to_string(),
            slot,
            destinations: destinations.to_vec(),
            late,
            now,
        })
        .await?;
        Ok(())
    }

    /// An attempt that failed before any part could be sent.
    pub async fn fail_delivery(
        &self,
        period: &str,
        destination: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), DigestError> {
        self.write(Write::Fail {
            period: period.to_string(),
            destination: destination.to_string(),
            error: error.to_string(),
            retry_at,
        })
        .await?;
        Ok(())
    }

    /// Claims a delivery for an attempt, storing `parts` at the first claim; false when it is
    /// not to be attempted (claimed already, or done).
    pub async fn claim_delivery(
        &self,
        period: &str,
        destination: &str,
        parts: &[NewPart<'_>],
    ) -> Result<bool, DigestError> {
        let parts = parts
            .iter()
            .map(|p| OwnedPart {
                label: p.label.to_string(),
                body: p.body.map(str::to_string),
                image: p.image.map(<[u8]>::to_vec),
            })
            .collect();
        let w = Write::Claim {
            period: period.to_string(),
            destination: destination.to_string(),
            parts,
        };
        Ok(matches!(self.write(w).await?, Written::Claimed(true)))
    }

    /// Claims one part right before it is sent; false when it is not to be sent.
    pub async fn claim_part(
        &self,
        period: &str,
        destination: &str,
        seq: i64,
    ) -> Result<bool, DigestError> {
        let w = Write::ClaimPart {
            period: period.to_string(),
            destination: destination.to_string(),
            seq,
        };
        Ok(matches!(self.write(w).await?, Written::Claimed(true)))
    }

    /// Records what became of a part's send.
    pub async fn finish_part(
        &self,
        period: &str,
        destination: &str,
        seq: i64,
        outcome: PartOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), DigestError> {
        self.write(Write::FinishPart {
            period: period.to_string(),
            destination: destination.to_string(),
            seq,
            outcome,
            now,
        })
        .await?;
        Ok(())
    }

    /// Ends an attempt from its parts; the new status and the first part's error.
    pub async fn settle_delivery(
        &self,
        period: &str,
        destination: &str,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(&'static str, Option<String>), DigestError> {
        let w = Write::Settle {
            period: period.to_string(),
            destination: destination.to_string(),
            retry_at,
            now,
        };
        match self.write(w).await? {
            Written::Settled(status, error) => Ok((status, error)),
            _ => Ok(("failed", None)),
        }
    }
}
