//! Set-based SQL for a run of poll taps in one group commit (`service/taps.rs`): event ids
//! claimed, members, respondents, current answers and drafts looked up, and the results
//! written with one statement per table for the whole run, each run bound as one JSON text
//! and read with `json_each`: four round trips per run, each answering with at most one row,
//! instead of about eleven per tap. Round trips and rows crossing sqlx's worker-thread channel
//! are what cost (about 80 µs a round trip).
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
    /// The member row's display name and platform language, and the respondent's segments
    /// (JSON): a tap that would write the same values leaves those rows alone.
    pub display_name: Option<String>,
    pub platform_locale: Option<String>,
    pub segments: Option<String>,
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
    /// What `Tx::tap_states` read for this tap.
    pub before: &'a TapState,
}

impl TapWrite<'_> {
    /// Whether the member upsert would change or create a row (`COALESCE` keeps a stored
    /// value the platform did not send).
    fn member_changes(&self) -> bool {
        let b = self.before;
        b.member.is_none()
            || self
                .display_name
                .is_some_and(|n| b.display_name.as_deref() != Some(n))
            || self
                .platform_locale
                .is_some_and(|l| b.platform_locale.as_deref() != Some(l))
    }
}

/// A run's rows as one bound JSON text: an array of arrays (tuples), read in SQL as
/// `j.value->>0`, `j.value->>1`, …, which costs less to build and to read than objects.
fn batch<T: serde::Serialize>(rows: &[T]) -> Result<String> {
    encode(&rows, "tap batch")
}

/// The one JSON text a `json_group_array` statement returned (every statement here answers
/// with a single row: rows cross sqlx's worker channel one at a time, which costs).
fn single(rows: Vec<(String,)>) -> Result<String> {
    Ok(rows
        .into_iter()
        .next()
        .map(|r| r.0)
        .unwrap_or_else(|| "[]".into()))
}

/// One row of `tap_states`: the tap's index, the member (id, persona, first seen, chosen
/// locale, display name, platform locale), the respondent (id, segments), the current answer
/// and the draft.
type StateRow = (
    usize,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Tx {
    /// Opens the run's savepoint (`taps`) and claims the event ids not processed before, in
    /// one round trip. Each id is recorded with its own event's time. Returns, in `events`'
    /// order, whether each was new. The run's ids must be distinct.
    pub async fn claim_taps(&mut self, events: &[(&str, DateTime<Utc>)]) -> Result<Vec<bool>> {
        let rows: Vec<(&str, i64)> = events.iter().map(|(id, at)| (*id, ms(*at))).collect();
        let ids = batch(&rows)?;
        let seen: Vec<(String,)> = sqlx::query_as(
            "SAVEPOINT taps;
             SELECT json_group_array(p.event_id) FROM processed_events p
              WHERE p.event_id IN (SELECT j.value->>0 FROM json_each(?) j);
             INSERT INTO processed_events (event_id, processed_at)
             SELECT j.value->>0, j.value->>1 FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(&ids)
        .bind(&ids)
        .fetch_all(&mut *self.tx)
        .await?;
        let seen: std::collections::HashSet<String> = decode(&single(seen)?, "tap batch")?;
        Ok(events.iter().map(|(id, _)| !seen.contains(*id)).collect())
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
        let rows: Vec<(&str, &str, i64, &str)> = keys
            .iter()
            .map(|k| (k.platform, k.user_id, k.survey.0, k.question))
            .collect();
        let found: Vec<(String,)> = sqlx::query_as(
            "SELECT json_group_array(json_array(j.key, m.id, m.persona, m.first_seen_at,
                    m.locale_override, m.display_name, m.locale, r.id, r.segments, a.value,
                    d.state))
               FROM json_each(?) j
               LEFT JOIN members m
                 ON m.platform = j.value->>0 AND m.platform_user_id = j.value->>1
               LEFT JOIN respondents r ON r.survey_id = j.value->>2 AND r.member_id = m.id
               LEFT JOIN answers a
                 ON a.respondent_id = r.id AND a.question_id = j.value->>3
                AND a.superseded_at IS NULL
               LEFT JOIN drafts d ON d.respondent_id = r.id AND d.question_id = j.value->>3",
        )
        .bind(batch(&rows)?)
        .fetch_all(&mut *self.tx)
        .await?;
        let found: Vec<StateRow> = decode(&single(found)?, "tap states")?;
        let mut out = vec![TapState::default(); keys.len()];
        for (i, mid, persona, seen, chosen, name, locale, rid, segments, value, draft) in found {
            let Some(slot) = out.get_mut(i) else {
                continue;
            };
            *slot = TapState {
                member: mid.map(|id| MemberRow {
                    id,
                    persona,
                    first_seen_at: from_ms(seen.unwrap_or_default()),
                    locale_override: chosen,
                }),
                respondent: rid,
                current: value.map(|v| decode(&v, "answer value")).transpose()?,
                draft: draft
                    .map(|v| decode(&v, "draft"))
                    .transpose()?
                    .unwrap_or_default(),
                display_name: name,
                platform_locale: locale,
                segments,
            };
        }
        Ok(out)
    }

    /// Writes a run's taps and releases the run's savepoint, in two round trips: members
    /// upserted (display name and language kept current), respondents found or created with
    /// their segments, then current answers superseded, new answers added and drafts set.
    /// Rows the per-event path would rewrite with the values they already hold are left
    /// alone. A run holds at most one tap per member.
    pub async fn write_taps(&mut self, taps: &[TapWrite<'_>]) -> Result<()> {
        if taps.is_empty() {
            sqlx::query("RELEASE taps").execute(&mut *self.tx).await?;
            return Ok(());
        }
        let members: Vec<_> = taps
            .iter()
            .filter(|t| t.member_changes())
            .map(|t| {
                (
                    t.platform,
                    t.user_id,
                    t.display_name,
                    t.platform_locale,
                    ms(t.now),
                )
            })
            .collect();
        let mut respondent_ids: Vec<Option<i64>> = Vec::with_capacity(taps.len());
        let (mut respondents, mut unknown) = (Vec::new(), Vec::new());
        for (i, t) in taps.iter().enumerate() {
            let segments = encode(&t.segments, "segments")?;
            let known = t.before.respondent.filter(|_| t.before.member.is_some());
            respondent_ids.push(known);
            if known.is_none() {
                unknown.push((i, t.platform, t.user_id, t.survey.0));
            } else if t.before.segments.as_deref() == Some(segments.as_str()) {
                continue;
            }
            respondents.push((
                t.survey.0,
                t.platform,
                t.user_id,
                segments,
                t.new_member,
                ms(t.now),
            ));
        }
        let made: Vec<(String,)> = sqlx::query_as(
            "INSERT INTO members (platform, platform_user_id, display_name, locale, first_seen_at)
             SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4
               FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (platform, platform_user_id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, members.display_name),
                locale = COALESCE(excluded.locale, members.locale);
             INSERT INTO respondents (survey_id, member_id, platform, segments, new_member, created_at)
             SELECT j.value->>0,
                    (SELECT m.id FROM members m
                      WHERE m.platform = j.value->>1 AND m.platform_user_id = j.value->>2),
                    j.value->>1, j.value->>3, j.value->>4, j.value->>5
               FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (survey_id, member_id) DO UPDATE SET segments = excluded.segments;
             SELECT json_group_array(json_array(j.value->>0, r.id))
               FROM json_each(?) j
               JOIN members m ON m.platform = j.value->>1 AND m.platform_user_id = j.value->>2
               JOIN respondents r ON r.survey_id = j.value->>3 AND r.member_id = m.id",
        )
        .bind(batch(&members)?)
        .bind(batch(&respondents)?)
        .bind(batch(&unknown)?)
        .fetch_all(&mut *self.tx)
        .await?;
        let made: Vec<(usize, i64)> = decode(&single(made)?, "tap batch")?;
        for (i, id) in made {
            if let Some(slot) = respondent_ids.get_mut(i) {
                *slot = Some(id);
            }
        }
        let (mut supersede, mut insert, mut clear, mut drafts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (t, r) in taps.iter().zip(respondent_ids) {
            let Some(r) = r else {
                // Cannot happen: the statements above made the row.
                return Err(super::StoreError::Task(
                    "a tap's respondent was not written".into(),
                ));
            };
            let at = ms(t.now);
            if t.answer.is_some() || t.retract {
                supersede.push((r, t.question, at));
            }
            if let Some(v) = t.answer {
                insert.push((
                    r,
                    t.question,
                    encode(v, "answer value")?,
                    t.chat_segment,
                    t.locale,
                    at,
                ));
            }
            match t.draft {
                Some(Draft::Empty) => clear.push((r, t.question)),
                Some(d) => drafts.push((r, t.question, encode(d, "draft")?, at)),
                None => {}
            }
        }
        sqlx::query(
            "UPDATE answers SET superseded_at = j.value->>2
               FROM json_each(?) j
              WHERE answers.respondent_id = j.value->>0 AND answers.question_id = j.value->>1
                AND answers.superseded_at IS NULL;
             INSERT INTO answers (respondent_id, question_id, value, chat_segment, shown_at, answered_at, locale)
             SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, NULL, j.value->>5,
                    j.value->>4
               FROM json_each(?) j ORDER BY j.key;
             DELETE FROM drafts WHERE (respondent_id, question_id) IN
                (SELECT j.value->>0, j.value->>1 FROM json_each(?) j);
             INSERT INTO drafts (respondent_id, question_id, state, updated_at)
             SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3
               FROM json_each(?) j WHERE true ORDER BY j.key
             ON CONFLICT (respondent_id, question_id) DO UPDATE
                SET state = excluded.state, updated_at = excluded.updated_at;
             RELEASE taps",
        )
        .bind(batch(&supersede)?)
        .bind(batch(&insert)?)
        .bind(batch(&clear)?)
        .bind(batch(&drafts)?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
