//! Surveys and where they were posted.

use super::{Result, Store, StoreError, Tx, from_ms, ms, random_salt};
use crate::core::event::Platform;
use crate::core::ids::SurveyKey;
use crate::core::survey::{Status, Survey};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A survey as stored, with its store key (used in button payloads) and lifecycle status.
#[derive(Debug, Clone)]
pub struct StoredSurvey {
    pub key: SurveyKey,
    pub survey: Survey,
    pub status: Status,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl StoredSurvey {
    pub fn effective_status(&self, now: DateTime<Utc>) -> Status {
        self.survey.effective_status(self.status, now)
    }
}

/// What happened to one configured survey at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveySync {
    Created(String),
    Updated(String),
    Unchanged(String),
    /// The config moved, removed or changed questions or options of a survey that is in use
    /// (posted, or with answers, drafts or flows); the stored definition is kept, because
    /// buttons already sent carry question and option positions, and old answers their ids.
    Refused {
        slug: String,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct PostingRow {
    pub platform: Platform,
    pub chat_id: String,
    pub message_id: Option<String>,
}

const SURVEY_COLS: &str = "id, definition, status, source, created_at, closed_at";

fn survey_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<StoredSurvey> {
    let def: String = row.try_get("definition")?;
    let survey: Survey = serde_json::from_str(&def).map_err(|source| StoreError::Corrupt {
        what: "survey definition",
        source,
    })?;
    let status: String = row.try_get("status")?;
    Ok(StoredSurvey {
        key: SurveyKey(row.try_get("id")?),
        survey,
        status: Status::parse(&status).unwrap_or(Status::Closed),
        source: row.try_get("source")?,
        created_at: from_ms(row.try_get("created_at")?),
        closed_at: row.try_get::<Option<i64>, _>("closed_at")?.map(from_ms),
    })
}

fn encode(survey: &Survey) -> Result<String> {
    serde_json::to_string(survey).map_err(|source| StoreError::Encode {
        what: "survey definition",
        source,
    })
}

/// Why `new` cannot replace `old` while `old` is in use, or `None` when it can. Buttons and
/// flows carry question and option positions, so every stored question keeps its place, id
/// and settings, and every option its place and id; new questions may follow the last one,
/// and new options may follow the last option of a single or multi question (positions of
/// ranking, pairwise and message-test options are paired or shuffled, so those stay as they
/// are). Texts and labels may change; so may `anonymous` only when nothing is in use.
fn in_use_change(old: &Survey, new: &Survey) -> Option<String> {
    use crate::core::survey::QuestionKind as K;
    if old.anonymous != new.anonymous {
        return Some("the change makes it anonymous or not anonymous".into());
    }
    if new.questions.len() < old.questions.len() {
        return Some(format!(
            "the change removes questions ({} stored, {} in the file)",
            old.questions.len(),
            new.questions.len()
        ));
    }
    let ids = |o: &[crate::core::survey::Choice]| -> Vec<String> {
        o.iter().map(|c| c.id.to_string()).collect()
    };
    for (i, (o, n)) in old.questions.iter().zip(&new.questions).enumerate() {
        if o.id != n.id {
            return Some(format!(
                "question {} is {:?} in the store but {:?} in the file",
                i + 1,
                o.id.to_string(),
                n.id.to_string()
            ));
        }
        let q = o.id.to_string();
        let prefix = |a: &[crate::core::survey::Choice], b: &[crate::core::survey::Choice]| {
            b.len() >= a.len() && ids(a) == ids(&b[..a.len()])
        };
        let same = match (&o.kind, &n.kind) {
            (K::Single { options: a }, K::Single { options: b }) => prefix(a, b),
            (
                K::Multi {
                    options: a,
                    max_choices: x,
                },
                K::Multi {
                    options: b,
                    max_choices: y,
                },
            ) => prefix(a, b) && x == y,
            (K::Rating { scale: a, .. }, K::Rating { scale: b, .. }) => a == b,
            (K::Nps { .. }, K::Nps { .. }) => true,
            (K::OpenText { .. }, K::OpenText { .. }) => true,
            (
                K::Ranking {
                    options: a,
                    top_k: x,
                },
                K::Ranking {
                    options: b,
                    top_k: y,
                },
            ) => ids(a) == ids(b) && x == y,
            (
                K::Pairwise {
                    options: a,
                    pairs_per_member: x,
                },
                K::Pairwise {
                    options: b,
                    pairs_per_member: y,
                },
            ) => ids(a) == ids(b) && x == y,
            (
                K::MessageTest {
                    options: a,
                    min_per_variant: x,
                },
                K::MessageTest {
                    options: b,
                    min_per_variant: y,
                },
            ) => ids(a) == ids(b) && x == y,
            _ => false,
        };
        if !same {
            return Some(format!(
                "question {q:?} changes its type, settings, or the ids or order of its options ({} stored, {} in the file)",
                o.kind.type_name(),
                n.kind.type_name()
            ));
        }
    }
    None
}

impl Store {
    /// Brings surveys from bot.toml into the store. New ones are created with their configured
    /// status; existing ones get new wording, but never a new shape once in use (see `in_use_change`).
    pub async fn sync_surveys(
        &self,
        surveys: &[crate::config::ConfiguredSurvey],
        now: DateTime<Utc>,
    ) -> Result<Vec<SurveySync>> {
        let mut out = Vec::new();
        for c in surveys {
            let mut tx = self.begin().await?;
            let slug = c.survey.id.to_string();
            let existing = tx.survey_by_slug(&slug).await?;
            let result = match existing {
                None => {
                    tx.insert_survey(&c.survey, c.status, "config", now).await?;
                    SurveySync::Created(slug)
                }
                Some(s) if s.survey == c.survey => SurveySync::Unchanged(slug),
                // A poll made with /poll is the team's, posted with its own buttons: a survey
                // in bot.toml that happens to get its id must not take it over.
                Some(s) if s.source == "command" => SurveySync::Refused {
                    slug,
                    reason: "a poll created with /poll already has this id; give the survey in bot.toml another id".into(),
                },
                Some(s) => {
                    let refusal = if tx.in_use(s.key).await? {
                        in_use_change(&s.survey, &c.survey)
                    } else {
                        None
                    };
                    if let Some(why) = refusal {
                        SurveySync::Refused {
                            slug,
                            reason: format!(
                                "it was posted or has answers, drafts or members in the middle of it, and {why}; only new wording, new questions at the end and new options at the end of a single or multi question can be taken now; give the changed survey a new id"
                            ),
                        }
                    } else {
                        sqlx::query(
                            "UPDATE surveys SET definition = ?, title = ?, anonymous = ?, updated_at = ? WHERE id = ?",
                        )
                        .bind(encode(&c.survey)?)
                        .bind(&c.survey.title)
                        .bind(c.survey.anonymous)
                        .bind(ms(now))
                        .bind(s.key.0)
                        .execute(&mut *tx.tx)
                        .await?;
                        // A deadline moved past now reopens the poll: its message is no longer
                        // final, so the closer finalises it again when the new deadline passes.
                        if s.survey.closes_at != c.survey.closes_at
                            && c.survey.effective_status(s.status, now) == Status::Open
                        {
                            sqlx::query("UPDATE postings SET finalised_at = NULL WHERE survey_id = ?")
                                .bind(s.key.0)
                                .execute(&mut *tx.tx)
                                .await?;
                        }
                        SurveySync::Updated(slug)
                    }
                }
            };
            tx.commit().await?;
            out.push(result);
        }
        Ok(out)
    }

    pub async fn survey_by_slug(&self, slug: &str) -> Result<Option<StoredSurvey>> {
        let row = sqlx::query(&format!("SELECT {SURVEY_COLS} FROM surveys WHERE slug = ?"))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(survey_from_row).transpose()
    }

    pub async fn survey_by_key(&self, key: SurveyKey) -> Result<Option<StoredSurvey>> {
        let row = sqlx::query(&format!("SELECT {SURVEY_COLS} FROM surveys WHERE id = ?"))
            .bind(key.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(survey_from_row).transpose()
    }

    /// All surveys, newest first, without counts (counting scans every answer).
    pub async fn surveys(&self) -> Result<Vec<StoredSurvey>> {
        let rows = sqlx::query(&format!(
            "SELECT {SURVEY_COLS} FROM surveys ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(survey_from_row).collect()
    }

    /// All surveys, newest first, with their respondent counts.
    pub async fn list_surveys(&self) -> Result<Vec<(StoredSurvey, i64)>> {
        let rows = sqlx::query(&format!(
            "SELECT {SURVEY_COLS},
                (SELECT COUNT(*) FROM respondents r
                  WHERE r.survey_id = surveys.id AND EXISTS (
                    SELECT 1 FROM answers a
                     WHERE a.respondent_id = r.id AND a.superseded_at IS NULL)) AS n
             FROM surveys ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((survey_from_row(r)?, r.try_get::<i64, _>("n")?)))
            .collect()
    }

    /// Members with at least one current answer.
    pub async fn respondent_count(&self, key: SurveyKey) -> Result<i64> {
        let n: (i64,) = sqlx::query_as(
            // One index probe per respondent (the partial index of current answers) instead
            // of a scan of every answer.
            "SELECT COUNT(*) FROM respondents r
              WHERE r.survey_id = ? AND EXISTS (
                SELECT 1 FROM answers a
                 WHERE a.respondent_id = r.id AND a.superseded_at IS NULL)",
        )
        .bind(key.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.0)
    }

    /// Where survey `key` was posted on `platform` (the message id once recorded).
    pub async fn postings(&self, key: SurveyKey, platform: Platform) -> Result<Vec<PostingRow>> {
        let rows = sqlx::query(
            "SELECT chat_id, message_id FROM postings
              WHERE survey_id = ? AND platform = ? ORDER BY id",
        )
        .bind(key.0)
        .bind(platform.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PostingRow {
                    platform,
                    chat_id: r.try_get("chat_id")?,
                    message_id: r.try_get("message_id")?,
                })
            })
            .collect()
    }

    /// Surveys with a message posted on `platform` that was not edited to its final (closed)
    /// state yet.
    pub async fn unfinalised_postings(&self, platform: Platform) -> Result<Vec<SurveyKey>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT survey_id FROM postings
              WHERE platform = ? AND message_id IS NOT NULL AND finalised_at IS NULL
              ORDER BY survey_id",
        )
        .bind(platform.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| SurveyKey(r.0)).collect())
    }

    /// `Tx::record_finalised` in a transaction of its own (the service records it through its
    /// writer instead).
    pub async fn record_finalised(
        &self,
        key: SurveyKey,
        platform: Platform,
        chat_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = tx.record_finalised(key, platform, chat_id, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// `Tx::record_posting` in a transaction of its own (the service records it through its
    /// writer instead).
    pub async fn record_posting(
        &self,
        key: SurveyKey,
        platform: Platform,
        chat_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.record_posting(key, platform, chat_id, message_id, now)
            .await?;
        tx.commit().await
    }
}

impl Tx {
    /// Records that a posted message now shows its survey's final state, so no restart edits
    /// it again. True when this call recorded it (the first time).
    pub async fn record_finalised(
        &mut self,
        key: SurveyKey,
        platform: Platform,
        chat_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE postings SET finalised_at = ?
              WHERE survey_id = ? AND platform = ? AND chat_id = ? AND finalised_at IS NULL",
        )
        .bind(ms(now))
        .bind(key.0)
        .bind(platform.as_str())
        .bind(chat_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records the platform message id of a posted poll (after the network call succeeded);
    /// whoever waits on `Store::postings_recorded` hears of it after the commit.
    pub async fn record_posting(
        &mut self,
        key: SurveyKey,
        platform: Platform,
        chat_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO postings (survey_id, platform, chat_id, message_id, posted_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (survey_id, platform, chat_id)
             DO UPDATE SET message_id = excluded.message_id, posted_at = excluded.posted_at",
        )
        .bind(key.0)
        .bind(platform.as_str())
        .bind(chat_id)
        .bind(message_id)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await?;
        self.posting_recorded = true;
        Ok(())
    }
}

impl Tx {
    pub async fn survey_by_slug(&mut self, slug: &str) -> Result<Option<StoredSurvey>> {
        let row = sqlx::query(&format!("SELECT {SURVEY_COLS} FROM surveys WHERE slug = ?"))
            .bind(slug)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(survey_from_row).transpose()
    }

    pub async fn survey_by_key(&mut self, key: SurveyKey) -> Result<Option<StoredSurvey>> {
        if let Some(s) = self.surveys.get(&key) {
            return Ok(Some(s.clone()));
        }
        let row = sqlx::query(&format!("SELECT {SURVEY_COLS} FROM surveys WHERE id = ?"))
            .bind(key.0)
            .fetch_optional(&mut *self.tx)
            .await?;
        let s = row.as_ref().map(survey_from_row).transpose()?;
        if let Some(s) = &s {
            self.surveys.insert(key, s.clone());
        }
        Ok(s)
    }

    /// Inserts a survey; returns its store key.
    pub async fn insert_survey(
        &mut self,
        survey: &Survey,
        status: Status,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<SurveyKey> {
        let row: (i64,) = sqlx::query_as(
            "INSERT INTO surveys (slug, title, definition, anonymous, status, source, salt, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(survey.id.as_str())
        .bind(&survey.title)
        .bind(encode(survey)?)
        .bind(survey.anonymous)
        .bind(status.as_str())
        .bind(source)
        .bind(random_salt()?)
        .bind(ms(now))
        .bind(ms(now))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(SurveyKey(row.0))
    }

    pub async fn slug_taken(&mut self, slug: &str) -> Result<bool> {
        let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM surveys WHERE slug = ?")
            .bind(slug)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(n.0 > 0)
    }

    pub async fn set_status(
        &mut self,
        key: SurveyKey,
        status: Status,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.surveys.remove(&key);
        sqlx::query(
            "UPDATE surveys SET status = ?, updated_at = ?,
                closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END
              WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(ms(now))
        .bind(status.as_str())
        .bind(ms(now))
        .bind(key.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn survey_salt(&mut self, key: SurveyKey) -> Result<Vec<u8>> {
        let row: (Vec<u8>,) = sqlx::query_as("SELECT salt FROM surveys WHERE id = ?")
            .bind(key.0)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(row.0)
    }

    /// Whether the survey was posted in this chat (taps from elsewhere are refused).
    pub async fn posted_in(
        &mut self,
        key: SurveyKey,
        platform: Platform,
        chat_id: &str,
    ) -> Result<bool> {
        let k = (key, platform.as_str().to_string(), chat_id.to_string());
        if self.posted.contains(&k) {
            return Ok(true);
        }
        let n: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM postings WHERE survey_id = ? AND platform = ? AND chat_id = ?",
        )
        .bind(key.0)
        .bind(platform.as_str())
        .bind(chat_id)
        .fetch_one(&mut *self.tx)
        .await?;
        if n.0 > 0 {
            self.posted.insert(k);
        }
        Ok(n.0 > 0)
    }

    /// Reserves a posting row before the network call so a redelivered /post cannot post twice;
    /// the message id is filled in by `Tx::record_posting` afterwards (through the writer).
    pub async fn reserve_posting(
        &mut self,
        key: SurveyKey,
        platform: Platform,
        chat_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO postings (survey_id, platform, chat_id, posted_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (survey_id, platform, chat_id) DO UPDATE SET posted_at = excluded.posted_at",
        )
        .bind(key.0)
        .bind(platform.as_str())
        .bind(chat_id)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Whether a member could already hold a button or a step of this survey, or has answered
    /// it: it was posted, someone started it (a respondent row exists) or waits in persona.
    pub async fn in_use(&mut self, key: SurveyKey) -> Result<bool> {
        let n: (i64,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM postings WHERE survey_id = ?1)
                 OR EXISTS (SELECT 1 FROM respondents WHERE survey_id = ?1)
                 OR EXISTS (SELECT 1 FROM pending_persona WHERE survey_id = ?1)",
        )
        .bind(key.0)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n.0 != 0)
    }

    pub async fn answer_count(&mut self, key: SurveyKey) -> Result<i64> {
        let n: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM answers a JOIN respondents r ON r.id = a.respondent_id
              WHERE r.survey_id = ?",
        )
        .bind(key.0)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n.0)
    }
}
