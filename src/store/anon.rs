//! Anonymous respondent keys: HMAC-SHA-256 under the operator's key (never stored here) over
//! the survey's salted SHA-256 of the platform identity, and the upgrade of pre-key rows.

use super::{Result, Store, StoreError, Tx, ms};
use crate::core::ids::SurveyKey;
use crate::privacy::AnonKey;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What `with_anon_key` found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyUpgrade {
    /// Respondents written before keyed hashes, re-keyed now.
    pub rekeyed: u64,
    /// The database was used with a different key before: anonymous respondents keyed with
    /// it no longer match their members.
    pub key_changed: bool,
}

/// The unkeyed inner hash: SHA-256(salt ‖ platform ‖ 0 ‖ user id), what was stored before
/// keys existed. Keyed, it is the stored value.
pub(super) fn inner(salt: &[u8], platform: &str, user_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(platform.as_bytes());
    h.update([0u8]);
    h.update(user_id.as_bytes());
    h.finalize().into()
}

impl Tx {
    /// The anonymous key of a person for a survey: HMAC(key, SHA-256(salt ‖ platform ‖ 0 ‖
    /// user id)). Stable per survey while the key stays, so a second vote replaces the first;
    /// unlinkable across surveys (per-survey salt) and, without the key, to anyone at all.
    pub async fn anon_key(
        &mut self,
        survey: SurveyKey,
        platform: &str,
        user_id: &str,
    ) -> Result<Vec<u8>> {
        let key = self.anon.clone().ok_or(StoreError::NoAnonKey)?;
        let salt = self.survey_salt(survey).await?;
        Ok(key.mac(&inner(&salt, platform, user_id)).to_vec())
    }
}

impl Store {
    /// Gives the store the anonymity key. Rows written before keyed hashes are re-keyed in
    /// place (HMAC of their stored value, which is exactly the inner hash), a changed key is
    /// logged loudly, and the WAL is checkpointed so no old value stays in it.
    pub async fn with_anon_key(
        mut self,
        key: AnonKey,
        now: DateTime<Utc>,
        accept_change: bool,
    ) -> Result<(Self, KeyUpgrade)> {
        let key = Arc::new(key);
        self.anon = Some(key.clone());
        let mut tx = self.begin().await?;
        let mut report = KeyUpgrade::default();
        let fingerprint = key.fingerprint().to_vec();
        let stored: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT fingerprint FROM anon_key_check WHERE id = 1")
                .fetch_optional(&mut *tx.tx)
                .await?;
        let anonymous: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM respondents WHERE anon_key IS NOT NULL AND anon_legacy = 0",
        )
        .fetch_one(&mut *tx.tx)
        .await?;
        if stored.as_ref().is_some_and(|s| s.0 != fingerprint) && anonymous.0 > 0 {
            if !accept_change {
                // Never replace the fingerprint silently: a lost key file re-created with a new
                // key would let every member of an open anonymous survey vote again.
                drop(tx);
                return Err(StoreError::AnonKeyChanged {
                    respondents: anonymous.0,
                });
            }
            report.key_changed = true;
            tracing::warn!(
                respondents = anonymous.0,
                "a new anonymity key was accepted: members of open anonymous surveys can now \
                 answer again as new respondents"
            );
        }
        if stored.as_ref().is_none_or(|s| s.0 != fingerprint) {
            sqlx::query(
                "INSERT INTO anon_key_check (id, fingerprint, set_at) VALUES (1, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, set_at = excluded.set_at",
            )
            .bind(&fingerprint)
            .bind(ms(now))
            .execute(&mut *tx.tx)
            .await?;
        }
        let legacy: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT id, anon_key FROM respondents WHERE anon_legacy = 1 AND anon_key IS NOT NULL",
        )
        .fetch_all(&mut *tx.tx)
        .await?;
        for (id, old) in &legacy {
            sqlx::query("UPDATE respondents SET anon_key = ?, anon_legacy = 0 WHERE id = ?")
                .bind(key.mac(old).to_vec())
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await?;
        report.rekeyed = legacy.len() as u64;
        if report.rekeyed > 0 {
            tracing::warn!(
                respondents = report.rekeyed,
                "anonymous respondents from before keyed hashes were re-keyed"
            );
            // The unkeyed values must not linger in old WAL frames.
            if !self.checkpoint().await? {
                tracing::warn!("WAL checkpoint after re-keying was partial");
            }
        }
        Ok((self, report))
    }
}
