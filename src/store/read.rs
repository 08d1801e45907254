//! The insight read path: a survey's current answers, grouped per respondent inside SQLite and
//! read a few hundred respondents per round trip, straight into the engine's responses.
//!
//! Why: sqlx hands every result row from its SQLite worker thread to the caller on its own
//! (about 3 µs a row), so a million answer rows cost seconds before any statistic. Here one
//! row carries a whole chunk of respondents as JSON text, respondent-level data (segments,
//! new member) is read once per respondent instead of once per answer, and no intermediate
//! row vector is built. `reporting::responses` over `Store::current_answers` is the reference
//! this must equal (tests/integration/read_path.rs).

use super::{Result, Store, StoreError, from_ms};
use crate::core::answer::AnswerValue;
use crate::core::ids::SurveyKey;
use crate::insight::{Interner, Response};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Respondents per round trip: few round trips, and each chunk's text stays near a MiB.
const CHUNK: i64 = 512;

/// The lowest respondent id of each chunk of `CHUNK` respondents, in id order.
const BOUNDS_SQL: &str = "SELECT json_group_array(id) FROM (
        SELECT id, row_number() OVER (ORDER BY id) AS n FROM respondents WHERE survey_id = ?1
    ) WHERE (n - 1) % ?2 = 0";

/// One chunk of respondents as a JSON array of
/// `[id, segments, new_member, [[question, value, chat, shown_at, answered_at, locale, answer id], ...]]`.
/// Built by concatenation, not JSON functions: the stored values and segments already are JSON
/// text, and SQLite would parse them again. A respondent without answers in the view
/// concatenates to NULL and drops out, as in the row-per-answer path. `+r.survey_id` keeps the
/// planner on the id range. `{view}` picks the answers: current ones, or those current at a
/// moment (`AS_OF`).
const CHUNK_SQL: &str = "SELECT '[' || group_concat(
        '[' || r.id || ',' || r.segments || ',' || r.new_member || ',[' ||
        (SELECT group_concat('[' || json_quote(a.question_id) || ',' || a.value || ',' ||
                json_quote(a.chat_segment) || ',' || ifnull(a.shown_at, 'null') || ',' ||
                a.answered_at || ',' || json_quote(a.locale) || ',' || a.id || ']', ',')
           FROM answers a WHERE a.respondent_id = r.id AND {view})
        || ']]', ',') || ']'
   FROM respondents r WHERE r.id BETWEEN ?1 AND ?2 AND +r.survey_id = ?3";

/// The current answers (the partial index `answers_current` serves this).
const CURRENT: &str = "a.superseded_at IS NULL";
/// The answers current at moment ?4: given by then, and not yet replaced or retracted.
const AS_OF: &str = "a.answered_at <= ?4 AND (a.superseded_at IS NULL OR a.superseded_at > ?4)";

/// How many of a survey's answers current at ?3 were given after ?2.
const GIVEN_SQL: &str = "SELECT count(*) FROM answers a JOIN respondents r ON r.id = a.respondent_id
     WHERE r.survey_id = ?1 AND a.answered_at > ?2 AND a.answered_at <= ?3
       AND (a.superseded_at IS NULL OR a.superseded_at > ?3)";

/// One respondent of a chunk.
type RawRespondent = (i64, Vec<String>, i64, Vec<RawAnswer>);
/// question, value, chat segment, shown at, answered at, locale, answer id.
type RawAnswer = (
    String,
    AnswerValue,
    Option<String>,
    Option<i64>,
    i64,
    Option<String>,
    i64,
);

fn decode<T: serde::de::DeserializeOwned>(raw: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(raw).map_err(|source| StoreError::Corrupt { what, source })
}

/// Folds one respondent's answers into a response exactly as `reporting::responses` does:
/// in the order they were given (answered at, then row id), the latest locale wins and the
/// seconds are summed in that order (floating-point sums depend on it).
fn response(raw: RawRespondent, ids: &mut Interner) -> Option<Response> {
    let (respondent, segments, new_member, mut answers) = raw;
    answers.sort_by_key(|a| (a.4, a.6));
    let first = answers.first()?.4;
    let mut r = Response {
        respondent,
        answers: BTreeMap::new(),
        segments: segments.iter().map(|s| ids.get(s)).collect(),
        new_member: new_member != 0,
        first_at: from_ms(first),
        seconds: None,
        locale: None,
    };
    for (question, value, chat, shown, at, locale, _) in answers {
        if locale.is_some() {
            r.locale = locale;
        }
        r.answers.insert(ids.get(&question), value);
        if let Some(c) = &chat {
            r.segments.insert(ids.get(c));
        }
        let at = from_ms(at);
        r.first_at = r.first_at.min(at);
        if let Some(shown) = shown {
            let secs = (at - from_ms(shown)).num_milliseconds().max(0) as f64 / 1000.0;
            r.seconds = Some(r.seconds.unwrap_or(0.0) + secs);
        }
    }
    Some(r)
}

impl Store {
    /// A survey's current answers as one response per respondent, in respondent id order:
    /// what `reporting::responses(&store.current_answers(survey))` gives, at a fraction of
    /// the time and memory. One read transaction, so every chunk sees the same snapshot.
    pub async fn current_responses(&self, survey: SurveyKey) -> Result<Vec<Response>> {
        self.grouped_responses(survey, None).await
    }

    /// The responses as they stood at `at`: each respondent's answers given by then and not
    /// yet replaced or retracted. What `reporting::responses` gives over the rows of
    /// `Store::answer_history` current at `at`, without a row per answer crossing from SQLite
    /// (the digest's "now" and "at the last digest" views).
    pub async fn responses_as_of(
        &self,
        survey: SurveyKey,
        at: DateTime<Utc>,
    ) -> Result<Vec<Response>> {
        self.grouped_responses(survey, Some(at)).await
    }

    /// How many of a survey's answers current at `until` were given after `after`: what a
    /// digest period brought.
    pub async fn answers_given(
        &self,
        survey: SurveyKey,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<usize> {
        let (n,): (i64,) = sqlx::query_as(GIVEN_SQL)
            .bind(survey.0)
            .bind(after.timestamp_millis())
            .bind(until.timestamp_millis())
            .fetch_one(&self.pool)
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn grouped_responses(
        &self,
        survey: SurveyKey,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Response>> {
        let sql = CHUNK_SQL.replace("{view}", if at.is_some() { AS_OF } else { CURRENT });
        let mut tx = self.pool.begin().await?;
        let (bounds,): (String,) = sqlx::query_as(BOUNDS_SQL)
            .bind(survey.0)
            .bind(CHUNK)
            .fetch_one(&mut *tx)
            .await?;
        let starts: Vec<i64> = decode(&bounds, "respondent ids")?;
        // Decoding runs on its own thread while SQLite builds the next chunk; two chunks in
        // flight at most, so memory stays at a few MiB beside the responses.
        let (send, mut chunks) = tokio::sync::mpsc::channel::<String>(2);
        let decoder = tokio::task::spawn_blocking(move || -> Result<Vec<Response>> {
            let mut ids = Interner::default();
            let mut out = Vec::new();
            while let Some(text) = chunks.blocking_recv() {
                let mut chunk: Vec<RawRespondent> = decode(&text, "answers")?;
                drop(text);
                chunk.sort_unstable_by_key(|r| r.0);
                out.extend(chunk.into_iter().filter_map(|r| response(r, &mut ids)));
            }
            Ok(out)
        });
        for (i, lo) in starts.iter().enumerate() {
            let hi = starts.get(i + 1).map_or(i64::MAX, |next| next - 1);
            let mut query = sqlx::query_as(&sql).bind(lo).bind(hi).bind(survey.0);
            if let Some(at) = at {
                query = query.bind(at.timestamp_millis());
            }
            let (text,): (Option<String>,) = query
                .fetch_one(&mut *tx)
                .await?;
            let Some(text) = text else { continue };
            if send.send(text).await.is_err() {
                // The decoder stopped on corrupt data: its error is returned below.
                break;
            }
        }
        drop(send);
        tx.commit().await?;
        decoder.await.map_err(|e| StoreError::Task(e.to_string()))?
    }
}
