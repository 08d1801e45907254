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

/// Respondents per round trip: few round trips, and each chunk's text stays near a MiB.
const CHUNK: i64 = 512;

/// The lowest respondent id of each chunk of `CHUNK` respondents, in id order.
const BOUNDS_SQL: &str = "SELECT json_group_array(id) FROM (
        SELECT id, row_number() OVER (ORDER BY id) AS n FROM respondents WHERE survey_id = ?1
    ) WHERE (n - 1) % ?2 = 0";

/// One chunk of respondents as text, one record per respondent, records separated by
/// U+001E. A record's first line is `id \t segments \t new_member \t first answered_at`; each
/// further line is one answer, `question \t value`, followed by
/// `\t answered_at \t answer id \t shown_at \t chat \t locale` only when the answer has a
/// shown-at time, a chat segment or a locale (the only answers whose order matters).
///
/// Why this shape: SQLite spends about 0.1 µs per operator per row, so each concatenated
/// column costs a tenth of a second per million answers; most answers (imports) have none of
/// the optional fields. Stored values, segments and the `json_quote`d texts are JSON, which
/// escapes tabs, newlines and U+001E, so the separators cannot occur inside a field. A
/// respondent without answers in the view yields NULL and drops out, as in the row-per-answer
/// path. `+r.survey_id` keeps the planner on the id range. `{view}` picks the answers: current
/// ones, or those current at a moment (`AS_OF`).
const CHUNK_SQL: &str = "SELECT group_concat(
        r.id || char(9) || r.segments || char(9) || r.new_member || char(9) ||
        (SELECT min(a.answered_at) || char(10) || group_concat(a.question_id || char(9) || a.value ||
                CASE WHEN a.shown_at IS NULL AND a.chat_segment IS NULL AND a.locale IS NULL THEN ''
                     ELSE char(9) || a.answered_at || char(9) || a.id || char(9) ||
                          ifnull(a.shown_at, '') || char(9) || json_quote(a.chat_segment) || char(9) ||
                          json_quote(a.locale) END, char(10))
           FROM answers a WHERE a.respondent_id = r.id AND {view}),
        char(30))
   FROM respondents r WHERE r.id BETWEEN ?1 AND ?2 AND +r.survey_id = ?3";

/// The current answers (the partial index `answers_current` serves this).
const CURRENT: &str = "a.superseded_at IS NULL";
/// The answers current at moment ?4: given by then, and not yet replaced or retracted.
const AS_OF: &str = "a.answered_at <= ?4 AND (a.superseded_at IS NULL OR a.superseded_at > ?4)";

/// How many of a survey's answers current at ?3 were given after ?2.
const GIVEN_SQL: &str =
    "SELECT count(*) FROM answers a JOIN respondents r ON r.id = a.respondent_id
     WHERE r.survey_id = ?1 AND a.answered_at > ?2 AND a.answered_at <= ?3
       AND (a.superseded_at IS NULL OR a.superseded_at > ?3)";

fn decode<T: serde::de::DeserializeOwned>(raw: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(raw).map_err(|source| StoreError::Corrupt { what, source })
}

fn garbled(what: &'static str) -> StoreError {
    StoreError::Corrupt {
        what,
        source: <serde_json::Error as serde::de::Error>::custom("unexpected layout"),
    }
}

fn int(raw: &str, what: &'static str) -> Result<i64> {
    raw.parse().map_err(|_| garbled(what))
}

/// The optional part of an answer line: answered at, answer id, shown at, chat, locale.
struct Extra {
    at: i64,
    id: i64,
    shown: Option<i64>,
    chat: Option<String>,
    locale: Option<String>,
}

/// One respondent's record of a chunk, folded into a response exactly as
/// `reporting::responses` folds the rows: in the order the answers were given (answered at,
/// then row id), the latest locale wins and the seconds are summed in that order
/// (floating-point sums depend on it). Only answers with an optional part can change the
/// locale, the segments or the seconds, so only they are ordered.
fn response(record: &str, ids: &mut Interner) -> Result<Response> {
    let mut lines = record.split('\n');
    let head = lines.next().ok_or_else(|| garbled("respondent"))?;
    let mut f = head.split('\t');
    let mut field = || f.next().ok_or_else(|| garbled("respondent"));
    let respondent = int(field()?, "respondent id")?;
    let segments: Vec<String> = decode(field()?, "segments")?;
    let new_member = field()? != "0";
    let first = int(field()?, "answered at")?;
    let mut r = Response {
        respondent,
        answers: Default::default(),
        segments: segments.iter().map(|s| ids.get(s)).collect(),
        new_member,
        first_at: from_ms(first),
        seconds: None,
        locale: None,
    };
    let mut extras = Vec::new();
    for line in lines {
        let mut f = line.split('\t');
        let (Some(question), Some(value)) = (f.next(), f.next()) else {
            return Err(garbled("answer"));
        };
        let value: AnswerValue = decode(value, "answer value")?;
        r.answers.insert(ids.get(question), value);
        if let Some(at) = f.next() {
            let mut field = || f.next().ok_or_else(|| garbled("answer"));
            let id = int(field()?, "answer id")?;
            let shown = match field()? {
                "" => None,
                v => Some(int(v, "shown at")?),
            };
            // `json_quote` writes NULL as `null`.
            let chat: Option<String> = decode(field()?, "chat segment")?;
            let locale: Option<String> = decode(field()?, "locale")?;
            extras.push(Extra {
                at: int(at, "answered at")?,
                id,
                shown,
                chat,
                locale,
            });
        }
    }
    extras.sort_unstable_by_key(|e| (e.at, e.id));
    for e in extras {
        if e.locale.is_some() {
            r.locale = e.locale;
        }
        if let Some(c) = &e.chat {
            r.segments.insert(ids.get(c));
        }
        if let Some(shown) = e.shown {
            let secs = (from_ms(e.at) - from_ms(shown)).num_milliseconds().max(0) as f64 / 1000.0;
            r.seconds = Some(r.seconds.unwrap_or(0.0) + secs);
        }
    }
    r.answers.shrink_to_fit();
    r.segments.shrink_to_fit();
    Ok(r)
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
                let start = out.len();
                for record in text.split('\u{1e}') {
                    out.push(response(record, &mut ids)?);
                }
                out[start..].sort_unstable_by_key(|r: &Response| r.respondent);
            }
            Ok(out)
        });
        for (i, lo) in starts.iter().enumerate() {
            let hi = starts.get(i + 1).map_or(i64::MAX, |next| next - 1);
            let mut query = sqlx::query_as(&sql).bind(lo).bind(hi).bind(survey.0);
            if let Some(at) = at {
                query = query.bind(at.timestamp_millis());
            }
            let (text,): (Option<String>,) = query.fetch_one(&mut *tx).await?;
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
