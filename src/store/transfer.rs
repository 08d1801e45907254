//! SQL for `canvass import` and `canvass export`: imported respondents and answers, and the
//! current answers with who gave them.

use super::respondents::Who;
use super::{Result, Store, StoreError, Tx, from_ms, ms};
use crate::core::answer::AnswerValue;
use crate::core::event::{Actor, Platform};
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

impl Tx {
    /// Finds or creates the respondent for an imported row. Non-anonymous surveys get a member
    /// with platform `import`; anonymous ones only the salted hash, as for chat answers.
    /// `segments` replaces the stored list; `None` (no segment column) keeps it.
    pub async fn import_respondent(
        &mut self,
        survey: SurveyKey,
        anonymous: bool,
        respondent: &str,
        segments: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let platform = Platform::Import.as_str();
        let who = if anonymous {
            Who::Anon(self.anon_key(survey, platform, respondent).await?)
        } else {
            let member = self
                .upsert_member(&Actor::new(Platform::Import, respondent), now)
                .await?;
            Who::Member(member.id)
        };
        if let Some(id) = self.find_respondent(survey, &who).await? {
            if let Some(segments) = segments {
                sqlx::query("UPDATE respondents SET segments = ? WHERE id = ?")
                    .bind(encode_segments(segments)?)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
            }
            return Ok(id);
        }
        self.respondent(survey, &who, platform, segments.unwrap_or(&[]), false, now)
            .await
    }

    /// Supersedes the current answer and stores an imported one: answered when the source
    /// says, superseded now, never shown by us.
    pub async fn import_answer(
        &mut self,
        respondent: i64,
        question: &str,
        value: &AnswerValue,
        answered_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.retract_answer(respondent, question, now).await?;
        let value = serde_json::to_string(value).map_err(|source| StoreError::Encode {
            what: "answer value",
            source,
        })?;
        let id = self.answer_id(respondent).await?;
        let at = match id {
            Some(_) => super::respondents::anon_day(answered_at),
            None => ms(answered_at),
        };
        sqlx::query(
            "INSERT INTO answers (id, respondent_id, question_id, value, chat_segment, shown_at, answered_at)
             VALUES (?, ?, ?, ?, NULL, NULL, ?)",
        )
        .bind(id)
        .bind(respondent)
        .bind(question)
        .bind(value)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
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
