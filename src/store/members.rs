//! Members, their persona, and what `/mydata` and `/forgetme` read and delete.

use super::{Result, Store, StoreError, Tx, from_ms, ms};
use crate::core::answer::AnswerValue;
use crate::core::event::Actor;
use crate::core::flow::FlowState;
use crate::core::ids::SurveyKey;
use crate::core::interact::Draft;
use chrono::{DateTime, Utc};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub id: i64,
    pub persona: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    /// The locale the member chose with `/language`, over the platform's.
    pub locale_override: Option<String>,
}

/// Everything stored about one member, for `/mydata`.
#[derive(Debug, Clone, Default)]
pub struct MemberData {
    pub platform: String,
    pub user_id: String,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    /// The language chosen with `/language`, if any (also when it is `en`).
    pub locale_override: Option<String>,
    pub persona: Option<String>,
    pub first_seen_at: Option<DateTime<Utc>>,
    /// One per survey taken: what is kept beside the answers.
    pub surveys: Vec<Participation>,
    /// (survey slug, survey title, question id, answer, answered at, current?)
    pub answers: Vec<(String, String, String, AnswerValue, DateTime<Utc>, bool)>,
    /// Where each answer came from and when its question was shown, in `answers` order.
    pub answer_context: Vec<(Option<String>, Option<DateTime<Utc>>)>,
    /// Unfinished picks (survey title, question id), kept until the answer is complete.
    pub drafts: Vec<(String, String)>,
    /// Surveys with a private flow in progress (finished flows are kept to allow changes, not listed).
    pub flows: Vec<String>,
    /// Picks made so far in a private flow's current question, e.g. a ranking in progress:
    /// (survey slug, survey title, question index).
    pub flow_drafts: Vec<(String, String, usize)>,
    /// The survey waiting for the persona question, if any.
    pub pending_persona: Option<String>,
}

/// A member's row for one survey: segments at the latest answer, and whether they were new.
#[derive(Debug, Clone, Default)]
pub struct Participation {
    pub title: String,
    pub segments: Vec<String>,
    pub new_member: bool,
    pub since: Option<DateTime<Utc>>,
}

fn member_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<MemberRow> {
    Ok(MemberRow {
        id: r.try_get("id")?,
        persona: r.try_get("persona")?,
        first_seen_at: from_ms(r.try_get("first_seen_at")?),
        locale_override: r.try_get("locale_override")?,
    })
}

impl Tx {
    /// Finds or creates the member behind an event, keeping the display name current.
    /// Never called for answers to anonymous surveys.
    pub async fn upsert_member(&mut self, actor: &Actor, now: DateTime<Utc>) -> Result<MemberRow> {
        let row = sqlx::query(
            "INSERT INTO members (platform, platform_user_id, display_name, locale, first_seen_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (platform, platform_user_id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, members.display_name),
                locale = COALESCE(excluded.locale, members.locale)
             RETURNING id, persona, first_seen_at, locale_override",
        )
        .bind(actor.platform.as_str())
        .bind(&actor.user_id)
        .bind(&actor.display_name)
        .bind(&actor.locale)
        .bind(ms(now))
        .fetch_one(&mut *self.tx)
        .await?;
        member_from_row(&row)
    }

    /// Looks a member up without creating one.
    pub async fn find_member(
        &mut self,
        platform: &str,
        user_id: &str,
    ) -> Result<Option<MemberRow>> {
        let row = sqlx::query(
            "SELECT id, persona, first_seen_at, locale_override FROM members WHERE platform = ? AND platform_user_id = ?",
        )
        .bind(platform)
        .bind(user_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(member_from_row).transpose()
    }

    /// Stores the member's own locale choice; `None` goes back to the platform's.
    pub async fn set_locale_override(&mut self, member: i64, locale: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE members SET locale_override = ? WHERE id = ?")
            .bind(locale)
            .bind(member)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_persona(&mut self, member: i64, persona: &str) -> Result<()> {
        sqlx::query("UPDATE members SET persona = ? WHERE id = ?")
            .bind(persona)
            .bind(member)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Remembers which survey to start once the persona question is answered.
    pub async fn set_pending_persona(
        &mut self,
        member: i64,
        survey: SurveyKey,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pending_persona (member_id, survey_id, created_at) VALUES (?, ?, ?)
             ON CONFLICT (member_id) DO UPDATE SET survey_id = excluded.survey_id, created_at = excluded.created_at",
        )
        .bind(member)
        .bind(survey.0)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn take_pending_persona(&mut self, member: i64) -> Result<Option<SurveyKey>> {
        let row: Option<(i64,)> =
            sqlx::query_as("DELETE FROM pending_persona WHERE member_id = ? RETURNING survey_id")
                .bind(member)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(row.map(|r| SurveyKey(r.0)))
    }

    /// Deletes the member and, by cascade, every answer, draft and flow linked to them.
    /// Returns (survey key, survey title, number of answer rows) per survey. Anonymous answers
    /// cannot be linked to anyone and stay.
    pub async fn forget_member(
        &mut self,
        platform: &str,
        user_id: &str,
    ) -> Result<Option<Vec<(SurveyKey, String, i64)>>> {
        let Some(member) = self.find_member(platform, user_id).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT s.id AS sid, s.title AS title, COUNT(a.id) AS n FROM respondents r
               JOIN surveys s ON s.id = r.survey_id
               LEFT JOIN answers a ON a.respondent_id = r.id
              WHERE r.member_id = ? GROUP BY s.id ORDER BY s.title",
        )
        .bind(member.id)
        .fetch_all(&mut *self.tx)
        .await?;
        let summary = rows
            .iter()
            .map(|r| {
                Ok((
                    SurveyKey(r.try_get("sid")?),
                    r.try_get("title")?,
                    r.try_get("n")?,
                ))
            })
            .collect::<Result<Vec<(SurveyKey, String, i64)>>>()?;
        sqlx::query("DELETE FROM members WHERE id = ?")
            .bind(member.id)
            .execute(&mut *self.tx)
            .await?;
        Ok(Some(summary))
    }
}

impl Store {
    /// Everything stored about a member, for `/mydata`.
    pub async fn member_data(&self, platform: &str, user_id: &str) -> Result<Option<MemberData>> {
        let Some(m) = sqlx::query(
            "SELECT id, display_name, locale, locale_override, persona, first_seen_at FROM members
              WHERE platform = ? AND platform_user_id = ?",
        )
        .bind(platform)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = m.try_get("id")?;
        let rows = sqlx::query(
            "SELECT s.slug AS slug, s.title AS title, a.question_id AS q, a.value AS value,
                    a.answered_at AS at, a.superseded_at IS NULL AS current,
                    a.chat_segment AS chat, a.shown_at AS shown
               FROM answers a JOIN respondents r ON r.id = a.respondent_id
               JOIN surveys s ON s.id = r.survey_id
              WHERE r.member_id = ? ORDER BY a.answered_at, a.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut answers = Vec::with_capacity(rows.len());
        let mut answer_context = Vec::with_capacity(rows.len());
        for r in &rows {
            answer_context.push((
                r.try_get("chat")?,
                r.try_get::<Option<i64>, _>("shown")?.map(from_ms),
            ));
            let raw: String = r.try_get("value")?;
            let value: AnswerValue =
                serde_json::from_str(&raw).map_err(|source| StoreError::Corrupt {
                    what: "answer value",
                    source,
                })?;
            answers.push((
                r.try_get("slug")?,
                r.try_get("title")?,
                r.try_get("q")?,
                value,
                from_ms(r.try_get("at")?),
                r.try_get::<bool, _>("current")?,
            ));
        }
        let flow_rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT s.slug, s.title, f.state FROM flows f JOIN respondents r ON r.id = f.respondent_id
               JOIN surveys s ON s.id = r.survey_id WHERE r.member_id = ? ORDER BY r.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut flows = Vec::new();
        let mut flow_drafts = Vec::new();
        for (slug, title, raw) in flow_rows {
            let state: FlowState =
                serde_json::from_str(&raw).map_err(|source| StoreError::Corrupt {
                    what: "flow state",
                    source,
                })?;
            if state.finished {
                continue;
            }
            if state.draft != Draft::Empty {
                flow_drafts.push((slug.clone(), title, state.index));
            }
            flows.push(slug);
        }
        let mut surveys = Vec::new();
        for r in sqlx::query(
            "SELECT s.title AS title, r.segments AS segments, r.new_member AS new_member,
                    r.created_at AS since
               FROM respondents r JOIN surveys s ON s.id = r.survey_id
              WHERE r.member_id = ? ORDER BY r.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let raw: String = r.try_get("segments")?;
            let segments: Vec<String> =
                serde_json::from_str(&raw).map_err(|source| StoreError::Corrupt {
                    what: "respondent segments",
                    source,
                })?;
            surveys.push(Participation {
                title: r.try_get("title")?,
                segments,
                new_member: r.try_get("new_member")?,
                since: Some(from_ms(r.try_get("since")?)),
            });
        }
        let drafts: Vec<(String, String)> = sqlx::query_as(
            "SELECT s.title, d.question_id FROM drafts d JOIN respondents r ON r.id = d.respondent_id
               JOIN surveys s ON s.id = r.survey_id WHERE r.member_id = ? ORDER BY s.title, d.question_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let pending: Option<(String,)> = sqlx::query_as(
            "SELECT s.title FROM pending_persona p JOIN surveys s ON s.id = p.survey_id
              WHERE p.member_id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(Some(MemberData {
            platform: platform.into(),
            user_id: user_id.into(),
            display_name: m.try_get("display_name")?,
            locale: m.try_get("locale")?,
            locale_override: m.try_get("locale_override")?,
            persona: m.try_get("persona")?,
            first_seen_at: Some(from_ms(m.try_get("first_seen_at")?)),
            surveys,
            answers,
            answer_context,
            drafts,
            flows,
            flow_drafts,
            pending_persona: pending.map(|p| p.0),
        }))
    }
}

impl Store {
    /// A member's `/language` choice, if they made one.
    pub async fn member_locale_override(
        &self,
        platform: &str,
        user_id: &str,
    ) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT locale_override FROM members WHERE platform = ? AND platform_user_id = ?",
        )
        .bind(platform)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| r.0))
    }
}
