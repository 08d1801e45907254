//! Set-based SQL for a run of poll taps in one group commit (`service/taps.rs`): event ids
//! claimed, members, respondents, current answers and drafts looked up, and the results
//! written with one statement per table for the whole run, each run bound as one JSON text
//! and read with `json_each`. Every statement crosses sqlx's worker-thread channel once per
//! run instead of once per tap, which is what costs (about 80 µs a round trip).
//!
//! Only named (not anonymous) respondents go through here, and a run never holds two taps of
//! the same member or the same event id, so the rows are those one tap at a time would write,
//! ids included: each table's rows are inserted in the run's order.

use super::members::MemberRow;
use super::respondents::{decode, encode};
use super::{Result, Tx, from_ms, ms};
use crate::core::answer::AnswerValue;
use crate::core::ids::SurveyKey;
use crate::core::interact::Draft;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::HashMap;

/// Whose answer to which question a tap of the run reads.
#[derive(Debug, Clone, Copy)]
pub struct TapKey<'a> {
    pub platform: &'a str,
    pub user_id: &'a str,
    pub survey: SurveyKey,
    pub question: &'a str,
}

/// What a tap's member has stored before the run: what `find_member`, `find_respondent`,
/// `current_answer` and `draft` would return, read for the whole run at once.
#[derive(Debug, Clone, Default)]
pub struct TapState {
    pub member: Option<MemberRow>,
    pub respondent: Option<i64>,
    pub current: Option<AnswerValue>,
    pub draft: Draft,
}

/// What one tap writes: the member upserted, the respondent found or created with its
/// current segments, then the answer superseded and added (or only superseded: a retraction)
/// and the draft set.
#[derive(Debug)]
pub struct TapWrite<'a> {
    pub platform: &'a str,
    pub user_id: &'a str,
    pub display_name: Option<&'a str>,
    /// The platform's language tag, kept on the member row.
    pub platform_locale: Option<&'a str>,
    pub survey: SurveyKey,
    pub question: &'a str,
    pub segments: &'a [String],
    pub new_member: bool,
    pub chat_segment: Option<&'a str>,
    pub answer: Option<&'a AnswerValue>,
    pub retract: bool,
    /// The new draft, when it changed (`Draft::Empty` deletes it).
    pub draft: Option<&'a Draft>,
    /// The locale the answer was given in.
    pub locale: &'a str,
    pub now: DateTime<Utc>,
}

/// A JSON array as one bound text.
fn array(items: Vec<Value>) -> String {
    Value::Array(items).to_string()
}

impl Tx {
    /// Opens the run's savepoint (`taps`) and claims the event ids not processed before, in
    /// one round trip. Each id is recorded with its own event's time. Returns, in `events`'
    /// order, whether each was new. The run's ids must be distinct.
    pub async fn claim_taps(&mut self, events: &[(&str, DateTime<Utc>)]) -> Result<Vec<bool>> {
        let batch = array(
            events
                .iter()
                .map(|(id, at)| json!({ "e": id, "at": ms(*at) }))
                .collect(),
        );
        let rows: Vec<(String,)> = sqlx::query_as(
            "SAVEPOINT taps;
             INSERT INTO processed_events (event_id, processed_at)
             SELECT j.value->>'e', j.value->>'at' FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        )
        .bind(batch)
        .fetch_all(&mut *self.tx)
        .await?;
        let claimed: std::collections::HashSet<String> = rows.into_iter().map(|r| r.0).collect();
        Ok(events.iter().map(|(id, _)| claimed.contains(*id)).collect())
    }

    /// Undoes a run that failed part way (`ROLLBACK TO taps`) and closes its savepoint: the
    /// caller applies its events one at a time instead, so a failing one rolls back alone.
    pub async fn rollback_taps(&mut self) -> Result<()> {
        sqlx::query("ROLLBACK TO taps; RELEASE taps")
            .execute(&mut *self.tx)
            .await?;
        self.surveys.clear();
        self.posted.clear();
        Ok(())
    }

    /// The stored state of every tap of a run, in `keys`' order, in one statement.
    pub async fn tap_states(&mut self, keys: &[TapKey<'_>]) -> Result<Vec<TapState>> {
        let batch = array(
            keys.iter()
                .map(|k| json!({ "p": k.platform, "u": k.user_id, "s": k.survey.0, "q": k.question }))
                .collect(),
        );
        let rows = sqlx::query(
            "SELECT j.key AS i, m.id AS mid, m.persona AS persona, m.first_seen_at AS seen,
                    m.locale_override AS locale_override, r.id AS rid, a.value AS value,
                    d.state AS draft
               FROM json_each(?) j
               LEFT JOIN members m
                 ON m.platform = j.value->>'p' AND m.platform_user_id = j.value->>'u'
               LEFT JOIN respondents r ON r.survey_id = j.value->>'s' AND r.member_id = m.id
               LEFT JOIN answers a
                 ON a.respondent_id = r.id AND a.question_id = j.value->>'q'
                AND a.superseded_at IS NULL
               LEFT JOIN drafts d ON d.respondent_id = r.id AND d.question_id = j.value->>'q'",
        )
        .bind(batch)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = vec![TapState::default(); keys.len()];
        for r in rows {
            let i: i64 = r.try_get("i")?;
            let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) else {
                continue;
            };
            let member = match r.try_get::<Option<i64>, _>("mid")? {
                Some(id) => Some(MemberRow {
                    id,
                    persona: r.try_get("persona")?,
                    first_seen_at: from_ms(r.try_get("seen")?),
                    locale_override: r.try_get("locale_override")?,
                }),
                None => None,
            };
            let current = r
                .try_get::<Option<String>, _>("value")?
                .map(|v| decode(&v, "answer value"))
                .transpose()?;
            let draft = r
                .try_get::<Option<String>, _>("draft")?
                .map(|v| decode(&v, "draft"))
                .transpose()?
                .unwrap_or_default();
            *slot = TapState {
                member,
                respondent: r.try_get("rid")?,
                current,
                draft,
            };
        }
        Ok(out)
    }

    /// Writes a run's taps, one statement per table, and releases the run's savepoint:
    /// members upserted (display name and language kept current), respondents found or
    /// created with their segments, current answers superseded, new answers added, drafts
    /// set. A run holds at most one tap per member.
    pub async fn write_taps(&mut self, taps: &[TapWrite<'_>]) -> Result<()> {
        if taps.is_empty() {
            sqlx::query("RELEASE taps").execute(&mut *self.tx).await?;
            return Ok(());
        }
        let members = array(
            taps.iter()
                .map(|t| {
                    json!({ "p": t.platform, "u": t.user_id, "n": t.display_name,
                            "l": t.platform_locale, "at": ms(t.now) })
                })
                .collect(),
        );
        let rows = sqlx::query(
            "INSERT INTO members (platform, platform_user_id, display_name, locale, first_seen_at)
             SELECT j.value->>'p', j.value->>'u', j.value->>'n', j.value->>'l', j.value->>'at'
               FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (platform, platform_user_id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, members.display_name),
                locale = COALESCE(excluded.locale, members.locale)
             RETURNING platform, platform_user_id, id",
        )
        .bind(members)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut member_ids = HashMap::with_capacity(rows.len());
        for r in rows {
            let key: (String, String) = (r.try_get(0)?, r.try_get(1)?);
            member_ids.insert(key, r.try_get::<i64, _>(2)?);
        }
        let member_of = |t: &TapWrite<'_>| {
            member_ids
                .get(&(t.platform.to_string(), t.user_id.to_string()))
                .copied()
        };
        let mut respondents = Vec::with_capacity(taps.len());
        for t in taps {
            respondents.push(json!({
                "s": t.survey.0, "m": member_of(t), "p": t.platform,
                "g": encode(&t.segments, "segments")?, "n": t.new_member, "at": ms(t.now),
            }));
        }
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "INSERT INTO respondents (survey_id, member_id, platform, segments, new_member, created_at)
             SELECT j.value->>'s', j.value->>'m', j.value->>'p', j.value->>'g', j.value->>'n',
                    j.value->>'at'
               FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (survey_id, member_id) DO UPDATE SET segments = excluded.segments
             RETURNING survey_id, member_id, id",
        )
        .bind(array(respondents))
        .fetch_all(&mut *self.tx)
        .await?;
        let respondent_ids: HashMap<(i64, i64), i64> =
            rows.into_iter().map(|(s, m, id)| ((s, m), id)).collect();
        let (mut supersede, mut insert, mut clear, mut drafts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for t in taps {
            let Some(r) = member_of(t).and_then(|m| respondent_ids.get(&(t.survey.0, m))) else {
                // Cannot happen: the statements above made both rows.
                return Err(super::StoreError::Task(
                    "a tap's respondent was not written".into(),
                ));
            };
            let at = ms(t.now);
            if t.answer.is_some() || t.retract {
                supersede.push(json!({ "r": r, "q": t.question, "at": at }));
            }
            if let Some(v) = t.answer {
                insert.push(json!({
                    "r": r, "q": t.question, "v": encode(v, "answer value")?,
                    "c": t.chat_segment, "l": t.locale, "at": at,
                }));
            }
            match t.draft {
                Some(Draft::Empty) => clear.push(json!({ "r": r, "q": t.question })),
                Some(d) => drafts.push(json!({
                    "r": r, "q": t.question, "d": encode(d, "draft")?, "at": at,
                })),
                None => {}
            }
        }
        sqlx::query(
            "UPDATE answers SET superseded_at = j.value->>'at'
               FROM json_each(?) j
              WHERE answers.respondent_id = j.value->>'r' AND answers.question_id = j.value->>'q'
                AND answers.superseded_at IS NULL;
             INSERT INTO answers (respondent_id, question_id, value, chat_segment, shown_at, answered_at, locale)
             SELECT j.value->>'r', j.value->>'q', j.value->>'v', j.value->>'c', NULL,
                    j.value->>'at', j.value->>'l'
               FROM json_each(?) j ORDER BY j.key;
             DELETE FROM drafts WHERE (respondent_id, question_id) IN
                (SELECT j.value->>'r', j.value->>'q' FROM json_each(?) j);
             INSERT INTO drafts (respondent_id, question_id, state, updated_at)
             SELECT j.value->>'r', j.value->>'q', j.value->>'d', j.value->>'at'
               FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (respondent_id, question_id) DO UPDATE
                SET state = excluded.state, updated_at = excluded.updated_at;
             RELEASE taps",
        )
        .bind(array(supersede))
        .bind(array(insert))
        .bind(array(clear))
        .bind(array(drafts))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
