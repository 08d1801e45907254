//! SQL for `canvass import` and `canvass export`: imported respondents and answers, and the
//! current answers with who gave them.

use super::{Result, Store, StoreError, Tx, from_ms, ms};
use crate::core::answer::AnswerValue;
use crate::core::event::Platform;
use crate::core::ids::SurveyKey;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One current answer for export, with the member behind it when there is one.
#[derive(Debug, Clone)]
pub struct ExportAnswer {
    /// Respondent row id: the only identity exported for anonymous surveys.
    pub respondent: i64,
    /// (platform, platform user id) of a member; `None` for anonymous respondents.
    pub member: Option<(String, String)>,
    pub question_id: String,
    pub value: AnswerValue,
    pub segments: Vec<String>,
    pub chat_segment: Option<String>,
    pub answered_at: DateTime<Utc>,
}

/// Rows per multi-row statement: a few thousand bound values, well under SQLite's limit.
const CHUNK: usize = 500;

/// Keys imported respondents the way chat answers are keyed (`Tx::anon_key`), with the
/// survey's salt read once instead of once per row.
pub struct ImportHasher {
    salt: Vec<u8>,
    key: std::sync::Arc<crate::privacy::AnonKey>,
}

impl ImportHasher {
    /// The keyed hash of an imported respondent id, as `Tx::anon_key(survey, "import", id)`.
    pub fn hash(&self, respondent: &str) -> [u8; 32] {
        self.key.mac(&super::anon::inner(
            &self.salt,
            Platform::Import.as_str(),
            respondent,
        ))
    }
}

/// One distinct respondent of an import, in the order the rows first name them.
#[derive(Debug)]
pub struct ImportPerson<'a> {
    /// The id in the file (non-anonymous surveys keep it as the member's platform id).
    pub respondent: &'a str,
    /// `ImportHasher::hash` of it.
    pub hash: [u8; 32],
    /// The segments of the person's last imported row; `None` without a segment column.
    pub segments: Option<&'a [String]>,
}

/// One imported answer, in the order the import applies them.
#[derive(Debug)]
pub struct ImportAnswer<'a> {
    pub respondent: i64,
    pub question: &'a str,
    pub value: &'a AnswerValue,
    pub answered_at: DateTime<Utc>,
    /// A later row of this import answers the same question for the same respondent.
    pub superseded: bool,
}

/// `(?, ?), (?, ?), …`: `rows` copies of `tuple`.
fn values(tuple: &str, rows: usize) -> String {
    let mut out = String::with_capacity((tuple.len() + 2) * rows);
    for i in 0..rows {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(tuple);
    }
    out
}

impl Tx {
    /// What `ImportHasher::hash` needs: the anonymity key and the survey's salt.
    pub async fn import_hasher(&mut self, survey: SurveyKey) -> Result<ImportHasher> {
        let key = self.anon.clone().ok_or(StoreError::NoAnonKey)?;
        let salt = self.survey_salt(survey).await?;
        Ok(ImportHasher { salt, key })
    }

    /// Records the event ids not processed before, a chunk per statement; returns which
    /// (by index into `events`) were new.
    pub async fn claim_events(
        &mut self,
        events: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>> {
        let mut claimed = std::collections::HashSet::new();
        for chunk in events.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO processed_events (event_id, processed_at) VALUES {}
                 ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                values("(?, ?)", chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String,)>(&sql);
            let at = ms(now);
            for e in chunk {
                q = q.bind(e).bind(at);
            }
            claimed.extend(q.fetch_all(&mut *self.tx).await?.into_iter().map(|r| r.0));
        }
        Ok(events.iter().map(|e| claimed.contains(e)).collect())
    }

    /// Finds or creates the respondents of an import, a chunk per statement, and sets their
    /// segments. Non-anonymous surveys get a member with platform `import`; anonymous ones
    /// only the keyed hash, as for chat answers. Returns each respondent's id and whether it
    /// was there before, in `people`'s order (new rows are created in that order, as one row
    /// at a time would).
    pub async fn import_respondents(
        &mut self,
        survey: SurveyKey,
        anonymous: bool,
        people: &[ImportPerson<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, bool)>> {
        let platform = Platform::Import.as_str();
        let mut ids = Vec::with_capacity(people.len());
        for chunk in people.chunks(CHUNK) {
            // Who each person is: a member id, or the keyed hash.
            let members: Vec<i64> = if anonymous {
                Vec::new()
            } else {
                let sql = format!(
                    "INSERT INTO members (platform, platform_user_id, first_seen_at) VALUES {}
                     ON CONFLICT (platform, platform_user_id) DO NOTHING",
                    values("(?, ?, ?)", chunk.len())
                );
                let mut q = sqlx::query(&sql);
                for p in chunk {
                    q = q.bind(platform).bind(p.respondent).bind(ms(now));
                }
                q.execute(&mut *self.tx).await?;
                let sql = format!(
                    "SELECT platform_user_id, id FROM members
                      WHERE platform = ? AND platform_user_id IN ({})",
                    values("?", chunk.len())
                );
                let mut q = sqlx::query_as::<_, (String, i64)>(&sql).bind(platform);
                for p in chunk {
                    q = q.bind(p.respondent);
                }
                let found: std::collections::HashMap<String, i64> =
                    q.fetch_all(&mut *self.tx).await?.into_iter().collect();
                chunk
                    .iter()
                    .map(|p| {
                        found
                            .get(p.respondent)
                            .copied()
                            .ok_or(StoreError::Sql(sqlx::Error::RowNotFound))
                    })
                    .collect::<Result<_>>()?
            };
            // Respondents already there.
            let existing: std::collections::HashMap<Vec<u8>, i64> = if anonymous {
                let sql = format!(
                    "SELECT anon_key, id FROM respondents WHERE survey_id = ? AND anon_key IN ({})",
                    values("?", chunk.len())
                );
                let mut q = sqlx::query_as::<_, (Vec<u8>, i64)>(&sql).bind(survey.0);
                for p in chunk {
                    q = q.bind(p.hash.to_vec());
                }
                q.fetch_all(&mut *self.tx).await?.into_iter().collect()
            } else {
                let sql = format!(
                    "SELECT member_id, id FROM respondents WHERE survey_id = ? AND member_id IN ({})",
                    values("?", chunk.len())
                );
                let mut q = sqlx::query_as::<_, (i64, i64)>(&sql).bind(survey.0);
                for m in &members {
                    q = q.bind(m);
                }
                q.fetch_all(&mut *self.tx)
                    .await?
                    .into_iter()
                    .map(|(m, id)| (m.to_le_bytes().to_vec(), id))
                    .collect()
            };
            let lookup = |i: usize, p: &ImportPerson<'_>| -> Vec<u8> {
                if anonymous {
                    p.hash.to_vec()
                } else {
                    members[i].to_le_bytes().to_vec()
                }
            };
            // Segments of existing respondents are replaced (kept without a segment column).
            let updates: Vec<(i64, String)> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((*existing.get(&lookup(i, p))?, p.segments?)))
                .map(|(id, segs)| Ok((id, encode_segments(segs)?)))
                .collect::<Result<_>>()?;
            if !updates.is_empty() {
                let sql = format!(
                    "UPDATE respondents SET segments = v.column2
                       FROM (VALUES {}) AS v WHERE respondents.id = v.column1",
                    values("(?, ?)", updates.len())
                );
                let mut q = sqlx::query(&sql);
                for (id, segs) in &updates {
                    q = q.bind(id).bind(segs);
                }
                q.execute(&mut *self.tx).await?;
            }
            // New respondents, in order; anonymous ones with random ids and the day only.
            let mut fresh = Vec::new();
            for (i, p) in chunk.iter().enumerate() {
                if !existing.contains_key(&lookup(i, p)) {
                    let id = if anonymous {
                        Some(super::respondents::anon_row_id()?)
                    } else {
                        None
                    };
                    fresh.push((i, id, encode_segments(p.segments.unwrap_or(&[]))?));
                }
            }
            let mut created = std::collections::HashMap::new();
            if !fresh.is_empty() {
                let sql = format!(
                    "INSERT INTO respondents (id, survey_id, member_id, anon_key, platform, segments, new_member, created_at)
                     VALUES {} RETURNING id, anon_key, member_id",
                    values("(?, ?, ?, ?, ?, ?, 0, ?)", fresh.len())
                );
                let created_at = if anonymous {
                    super::respondents::anon_day(now)
                } else {
                    ms(now)
                };
                let mut q = sqlx::query_as::<_, (i64, Option<Vec<u8>>, Option<i64>)>(&sql);
                for (i, id, segs) in &fresh {
                    let p = &chunk[*i];
                    q = q
                        .bind(*id)
                        .bind(survey.0)
                        .bind(members.get(*i).copied())
                        .bind(anonymous.then(|| p.hash.to_vec()))
                        .bind(platform)
                        .bind(segs)
                        .bind(created_at);
                }
                for (id, anon, member) in q.fetch_all(&mut *self.tx).await? {
                    let k = match (anon, member) {
                        (Some(a), _) => a,
                        (None, Some(m)) => m.to_le_bytes().to_vec(),
                        (None, None) => continue,
                    };
                    created.insert(k, id);
                }
            }
            for (i, p) in chunk.iter().enumerate() {
                let k = lookup(i, p);
                let id = match existing.get(&k) {
                    Some(id) => (*id, true),
                    None => (
                        created
                            .get(&k)
                            .copied()
                            .ok_or(StoreError::Sql(sqlx::Error::RowNotFound))?,
                        false,
                    ),
                };
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Supersedes, as of `now`, the current answers of existing respondents to the questions
    /// an import answers for them, a chunk of (respondent, question) pairs per statement.
    pub async fn supersede_answers(
        &mut self,
        pairs: &[(i64, &str)],
        anonymous: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = if anonymous {
            super::respondents::anon_day(now)
        } else {
            ms(now)
        };
        for chunk in pairs.chunks(CHUNK) {
            let sql = format!(
                "UPDATE answers SET superseded_at = ?
                  WHERE superseded_at IS NULL AND (respondent_id, question_id) IN (VALUES {})",
                values("(?, ?)", chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(at);
            for (r, question) in chunk {
                q = q.bind(r).bind(*question);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Stores imported answers, a chunk per statement, in the order given: answered when the
    /// source says, never shown by us; one a later row replaces is stored superseded as of
    /// `now`. Anonymous respondents' rows get random ids and the day only.
    pub async fn import_answers(
        &mut self,
        answers: &[ImportAnswer<'_>],
        anonymous: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let stamp = |t: DateTime<Utc>| {
            if anonymous {
                super::respondents::anon_day(t)
            } else {
                ms(t)
            }
        };
        let gone = stamp(now);
        for chunk in answers.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO answers (id, respondent_id, question_id, value, chat_segment, shown_at, answered_at, superseded_at)
                 VALUES {}",
                values("(?, ?, ?, ?, NULL, NULL, ?, ?)", chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for a in chunk {
                let id = if anonymous {
                    Some(super::respondents::anon_row_id()?)
                } else {
                    None
                };
                let value =
                    serde_json::to_string(a.value).map_err(|source| StoreError::Encode {
                        what: "answer value",
                        source,
                    })?;
                q = q
                    .bind(id)
                    .bind(a.respondent)
                    .bind(a.question)
                    .bind(value)
                    .bind(stamp(a.answered_at))
                    .bind(a.superseded.then_some(gone));
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

fn encode_segments(segments: &[String]) -> Result<String> {
    serde_json::to_string(segments).map_err(|source| StoreError::Encode {
        what: "segments",
        source,
    })
}

fn decode<T: serde::de::DeserializeOwned>(raw: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(raw).map_err(|source| StoreError::Corrupt { what, source })
}

impl Store {
    /// Current answers of a survey with their member, in one statement so the export is a
    /// consistent snapshot.
    pub async fn export_answers(&self, survey: SurveyKey) -> Result<Vec<ExportAnswer>> {
        let rows = sqlx::query(
            "SELECT a.respondent_id AS rid, m.platform AS platform, m.platform_user_id AS uid,
                    a.question_id AS q, a.value AS value, r.segments AS segs,
                    a.chat_segment AS chat, a.answered_at AS at
               FROM answers a JOIN respondents r ON r.id = a.respondent_id
               LEFT JOIN members m ON m.id = r.member_id
              WHERE r.survey_id = ? AND a.superseded_at IS NULL
              ORDER BY a.respondent_id, a.id",
        )
        .bind(survey.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let platform: Option<String> = r.try_get("platform")?;
                let uid: Option<String> = r.try_get("uid")?;
                Ok(ExportAnswer {
                    respondent: r.try_get("rid")?,
                    member: platform.zip(uid),
                    question_id: r.try_get("q")?,
                    value: decode(&r.try_get::<String, _>("value")?, "answer value")?,
                    segments: decode(&r.try_get::<String, _>("segs")?, "segments")?,
                    chat_segment: r.try_get("chat")?,
                    answered_at: from_ms(r.try_get("at")?),
                })
            })
            .collect()
    }
}
