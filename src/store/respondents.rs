//! Respondents, the append-only answer history, drafts and private-flow state.

use super::{Result, Store, StoreError, Tx, from_ms, ms};
use crate::core::answer::AnswerValue;
use crate::core::flow::FlowState;
use crate::core::ids::SurveyKey;
use crate::core::interact::Draft;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Who answers: a known member, or for anonymous surveys only a keyed hash (`Tx::anon_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Member(i64),
    Anon(Vec<u8>),
}

/// One current answer with what the insight engine and export need.
#[derive(Debug, Clone)]
pub struct AnswerRow {
    pub respondent: i64,
    pub question_id: String,
    pub value: AnswerValue,
    pub segments: Vec<String>,
    pub chat_segment: Option<String>,
    pub new_member: bool,
    pub shown_at: Option<DateTime<Utc>>,
    pub answered_at: DateTime<Utc>,
    /// The locale the answer was given in, where known.
    pub locale: Option<String>,
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(raw: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(raw).map_err(|source| StoreError::Corrupt { what, source })
}

pub(super) fn encode<T: serde::Serialize>(v: &T, what: &'static str) -> Result<String> {
    serde_json::to_string(v).map_err(|source| StoreError::Encode { what, source })
}

/// Anonymous rows carry no time finer than the UTC day: a precise time would match the same
/// member's named answers given seconds before or after, and link them.
pub(crate) fn anon_day(t: DateTime<Utc>) -> i64 {
    const DAY: i64 = 86_400_000;
    ms(t).div_euclid(DAY) * DAY
}

/// A random negative row id for an anonymous row: sequential ids would sit next to the same
/// member's named rows, written in the same moment, and link them. Negative, because SQLite
/// gives a new row the largest id so far plus one: a large positive random id would make the
/// next named row its neighbour.
pub(crate) fn anon_row_id() -> Result<i64> {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(-(i64::from_le_bytes(raw) & i64::MAX).max(1))
}

impl Tx {
    /// Whether the respondent is anonymous (its rows then get day-only times and random ids).
    pub(crate) async fn is_anon(&mut self, respondent: i64) -> Result<bool> {
        let row: Option<(bool,)> =
            sqlx::query_as("SELECT anon_key IS NOT NULL FROM respondents WHERE id = ?")
                .bind(respondent)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(row.is_some_and(|r| r.0))
    }

    /// The time to store for a respondent's row: the UTC day for anonymous ones.
    pub(crate) async fn stamp(&mut self, respondent: i64, t: DateTime<Utc>) -> Result<i64> {
        Ok(if self.is_anon(respondent).await? {
            anon_day(t)
        } else {
            ms(t)
        })
    }

    /// The id for a new answer row: random for anonymous respondents, else the next one.
    pub(crate) async fn answer_id(&mut self, respondent: i64) -> Result<Option<i64>> {
        if self.is_anon(respondent).await? {
            Ok(Some(anon_row_id()?))
        } else {
            Ok(None)
        }
    }

    pub async fn find_respondent(&mut self, survey: SurveyKey, who: &Who) -> Result<Option<i64>> {
        let row: Option<(i64,)> = match who {
            Who::Member(m) => {
                sqlx::query_as("SELECT id FROM respondents WHERE survey_id = ? AND member_id = ?")
                    .bind(survey.0)
                    .bind(m)
                    .fetch_optional(&mut *self.tx)
                    .await?
            }
            Who::Anon(k) => {
                sqlx::query_as("SELECT id FROM respondents WHERE survey_id = ? AND anon_key = ?")
                    .bind(survey.0)
                    .bind(k)
                    .fetch_optional(&mut *self.tx)
                    .await?
            }
        };
        Ok(row.map(|r| r.0))
    }

    /// Finds or creates the respondent and records their current segments.
    pub async fn respondent(
        &mut self,
        survey: SurveyKey,
        who: &Who,
        platform: &str,
        segments: &[String],
        new_member: bool,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let segs = encode(&segments, "segments")?;
        if let Some(id) = self.find_respondent(survey, who).await? {
            sqlx::query("UPDATE respondents SET segments = ? WHERE id = ?")
                .bind(&segs)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
            return Ok(id);
        }
        let (member, anon, id, created) = match who {
            Who::Member(m) => (Some(*m), None, None, ms(now)),
            Who::Anon(k) => (None, Some(k.clone()), Some(anon_row_id()?), anon_day(now)),
        };
        let row: (i64,) = sqlx::query_as(
            "INSERT INTO respondents (id, survey_id, member_id, anon_key, platform, segments, new_member, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(id)
        .bind(survey.0)
        .bind(member)
        .bind(anon)
        .bind(platform)
        .bind(segs)
        .bind(new_member)
        .bind(created)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.0)
    }

    pub async fn current_answer(
        &mut self,
        respondent: i64,
        question: &str,
    ) -> Result<Option<AnswerValue>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT value FROM answers WHERE respondent_id = ? AND question_id = ? AND superseded_at IS NULL",
        )
        .bind(respondent)
        .bind(question)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| decode(&r.0, "answer value")).transpose()
    }

    /// The current answers to one question of a survey, as this transaction sees them: the
    /// tally a member who just voted is shown includes their vote.
    pub async fn question_answers(
        &mut self,
        survey: SurveyKey,
        question: &str,
    ) -> Result<Vec<AnswerValue>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT a.value FROM answers a JOIN respondents r ON r.id = a.respondent_id
              WHERE r.survey_id = ? AND a.question_id = ? AND a.superseded_at IS NULL",
        )
        .bind(survey.0)
        .bind(question)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| decode(&r.0, "answer value")).collect()
    }

    /// Supersedes the current answer (kept for audit and drift analysis) and stores the new one.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_answer(
        &mut self,
        respondent: i64,
        question: &str,
        value: &AnswerValue,
        chat_segment: Option<&str>,
        shown_at: Option<DateTime<Utc>>,
        locale: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let id = self.answer_id(respondent).await?;
        // Anonymous: the day only, and no time the question was shown.
        let (at, shown) = if id.is_some() {
            (anon_day(now), None)
        } else {
            (ms(now), shown_at.map(ms))
        };
        // One round trip for both statements.
        sqlx::query(
            "UPDATE answers SET superseded_at = ?
              WHERE respondent_id = ? AND question_id = ? AND superseded_at IS NULL;
             INSERT INTO answers (id, respondent_id, question_id, value, chat_segment, shown_at, answered_at, locale)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(at)
        .bind(respondent)
        .bind(question)
        .bind(id)
        .bind(respondent)
        .bind(question)
        .bind(encode(value, "answer value")?)
        .bind(chat_segment)
        .bind(shown)
        .bind(at)
        .bind(locale)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn retract_answer(
        &mut self,
        respondent: i64,
        question: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = self.stamp(respondent, now).await?;
        sqlx::query(
            "UPDATE answers SET superseded_at = ?
              WHERE respondent_id = ? AND question_id = ? AND superseded_at IS NULL",
        )
        .bind(at)
        .bind(respondent)
        .bind(question)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn draft(&mut self, respondent: i64, question: &str) -> Result<Draft> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT state FROM drafts WHERE respondent_id = ? AND question_id = ?")
                .bind(respondent)
                .bind(question)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(row
            .map(|r| decode(&r.0, "draft"))
            .transpose()?
            .unwrap_or_default())
    }

    pub async fn set_draft(
        &mut self,
        respondent: i64,
        question: &str,
        draft: &Draft,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if *draft == Draft::Empty {
            sqlx::query("DELETE FROM drafts WHERE respondent_id = ? AND question_id = ?")
                .bind(respondent)
                .bind(question)
                .execute(&mut *self.tx)
                .await?;
            return Ok(());
        }
        let at = self.stamp(respondent, now).await?;
        sqlx::query(
            "INSERT INTO drafts (respondent_id, question_id, state, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (respondent_id, question_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(respondent)
        .bind(question)
        .bind(encode(draft, "draft")?)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn flow(&mut self, respondent: i64) -> Result<Option<FlowState>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT state FROM flows WHERE respondent_id = ?")
                .bind(respondent)
                .fetch_optional(&mut *self.tx)
                .await?;
        row.map(|r| decode(&r.0, "flow state")).transpose()
    }

    pub async fn set_flow(
        &mut self,
        respondent: i64,
        state: &FlowState,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let anon = self.is_anon(respondent).await?;
        let at = if anon { anon_day(now) } else { ms(now) };
        // An anonymous flow keeps no time a question was shown (its answers keep none either).
        let mut state = state.clone();
        if anon {
            state.shown_at = None;
        }
        sqlx::query(
            "INSERT INTO flows (respondent_id, state, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (respondent_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(respondent)
        .bind(encode(&state, "flow state")?)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The respondent of `who` with an unfinished private flow, most recent first.
    pub async fn active_flows(
        &mut self,
        member: Option<i64>,
        anon_keys: &[(SurveyKey, Vec<u8>)],
    ) -> Result<Vec<(i64, SurveyKey, FlowState, DateTime<Utc>)>> {
        let mut out = Vec::new();
        if let Some(m) = member {
            let rows = sqlx::query(
                "SELECT r.id AS rid, r.survey_id AS sid, f.state AS state, f.updated_at AS at
                   FROM flows f JOIN respondents r ON r.id = f.respondent_id
                  WHERE r.member_id = ?",
            )
            .bind(m)
            .fetch_all(&mut *self.tx)
            .await?;
            for r in rows {
                out.push((
                    r.try_get("rid")?,
                    SurveyKey(r.try_get("sid")?),
                    decode::<FlowState>(&r.try_get::<String, _>("state")?, "flow state")?,
                    from_ms(r.try_get("at")?),
                ));
            }
        }
        for (survey, key) in anon_keys {
            let row = sqlx::query(
                "SELECT r.id AS rid, r.survey_id AS sid, f.state AS state, f.updated_at AS at
                   FROM flows f JOIN respondents r ON r.id = f.respondent_id
                  WHERE r.survey_id = ? AND r.anon_key = ?",
            )
            .bind(survey.0)
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
            if let Some(r) = row {
                out.push((
                    r.try_get("rid")?,
                    SurveyKey(r.try_get("sid")?),
                    decode::<FlowState>(&r.try_get::<String, _>("state")?, "flow state")?,
                    from_ms(r.try_get("at")?),
                ));
            }
        }
        out.retain(|f| !f.2.finished);
        out.sort_by_key(|f| std::cmp::Reverse(f.3));
        Ok(out)
    }
}

impl Store {
    /// Current answers of a survey, for insights and export.
    pub async fn current_answers(&self, survey: SurveyKey) -> Result<Vec<AnswerRow>> {
        Ok(self
            .answer_rows(survey, true)
            .await?
            .into_iter()
            .map(|(row, _)| row)
            .collect())
    }

    /// Every answer row of a survey with when it was superseded, for "as of" views.
    pub async fn answer_history(
        &self,
        survey: SurveyKey,
    ) -> Result<Vec<(AnswerRow, Option<DateTime<Utc>>)>> {
        self.answer_rows(survey, false).await
    }

    async fn answer_rows(
        &self,
        survey: SurveyKey,
        current_only: bool,
    ) -> Result<Vec<(AnswerRow, Option<DateTime<Utc>>)>> {
        let rows = sqlx::query(&format!(
            "SELECT a.respondent_id AS rid, a.question_id AS q, a.value AS value, r.segments AS segs,
                    a.chat_segment AS chat, r.new_member AS new_member, a.shown_at AS shown,
                    a.answered_at AS at, a.superseded_at AS gone, a.locale AS locale
               FROM answers a JOIN respondents r ON r.id = a.respondent_id
              WHERE r.survey_id = ? {}
              ORDER BY a.answered_at, a.id",
            if current_only { "AND a.superseded_at IS NULL" } else { "" }
        ))
        .bind(survey.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    AnswerRow {
                        respondent: r.try_get("rid")?,
                        question_id: r.try_get("q")?,
                        value: decode(&r.try_get::<String, _>("value")?, "answer value")?,
                        segments: decode(&r.try_get::<String, _>("segs")?, "segments")?,
                        chat_segment: r.try_get("chat")?,
                        new_member: r.try_get("new_member")?,
                        shown_at: r.try_get::<Option<i64>, _>("shown")?.map(from_ms),
                        answered_at: from_ms(r.try_get("at")?),
                        locale: r.try_get("locale")?,
                    },
                    r.try_get::<Option<i64>, _>("gone")?.map(from_ms),
                ))
            })
            .collect()
    }
}
