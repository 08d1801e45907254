//! A handle that can only read: what the digest composes and plans with, so that every digest
//! write goes through the service's single writer.

use super::{Delivery, Result, Store, StoredPart, StoredSurvey};
use crate::core::ids::SurveyKey;
use chrono::{DateTime, Utc};

/// The store's reads the digest needs, and nothing that writes.
#[derive(Clone)]
pub struct Reader(Store);

impl Store {
    /// A read-only view of this store.
    pub fn reader(&self) -> Reader {
        Reader(self.clone())
    }
}

impl Reader {
    /// Every stored survey (`Store::surveys`).
    pub async fn surveys(&self) -> Result<Vec<StoredSurvey>> {
        self.0.surveys().await
    }

    /// A survey's responses as they stood at `at` (`Store::responses_as_of`).
    pub async fn responses_as_of(
        &self,
        survey: SurveyKey,
        at: DateTime<Utc>,
    ) -> Result<Vec<crate::insight::Response>> {
        self.0.responses_as_of(survey, at).await
    }

    /// How many answers current at `until` were given after `after` (`Store::answers_given`).
    pub async fn answers_given(
        &self,
        survey: SurveyKey,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<usize> {
        self.0.answers_given(survey, after, until).await
    }

    /// `Store::last_delivered_slot`.
    pub async fn last_delivered_slot(&self, slot: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        self.0.last_delivered_slot(slot).await
    }

    /// `Store::due_deliveries`.
    pub async fn due_deliveries(&self, now: DateTime<Utc>) -> Result<Vec<Delivery>> {
        self.0.due_deliveries(now).await
    }

    /// `Store::delivery_parts`.
    pub async fn delivery_parts(&self, period: &str, destination: &str) -> Result<Vec<StoredPart>> {
        self.0.delivery_parts(period, destination).await
    }
}
