//! Answer import and export (`canvass import`, `canvass export`, and later the chat `/export`):
//! CSV files whose cells are written as in `core::cells`, and a JSON export.
//!
//! CSV layout: a header row, then one row per submission. Columns: `respondent`,
//! `submitted_at` (RFC 3339), optional `segment` (segments joined by `|`), then one column per
//! question id, in any order; question columns may be left out. Lines are counted as in a text
//! editor, the header being line 1.
//!
//! Import rules, where a choice had to be made:
//! - Any bad row means nothing is imported, unless `skip_bad` is set. Header problems (unknown,
//!   repeated or missing columns) always refuse the whole file: an unknown column is usually a
//!   misspelt question id, and skipping it would silently drop those answers.
//! - Rows are applied in `submitted_at` order (file order for equal times). A row supersedes
//!   its respondent's current answers to the questions it answers; empty cells and absent
//!   columns keep earlier answers (history is always kept). So when a respondent appears twice,
//!   the later submission wins, and the report says so.
//! - A row whose survey, respondent and `submitted_at` were imported before is skipped, which
//!   makes importing the same file twice change nothing. The event id recorded for this holds
//!   the survey's salted hash of the respondent, not the respondent itself: processed event ids
//!   must hold no personal data, and outlive `/forgetme`.
//! - A row that answers no question is skipped.
//! - The file is read strictly (RFC 4180 quoting): a quoted field that is never closed, or is
//!   followed by text after its closing quote, makes its row bad, reported at the line where
//!   the field began, and reading goes on at the next line; it never swallows the rows after
//!   it. A line break inside a quoted field is accepted only in an open-text column.
//! - Refused cells, with line and column: a NUL byte, more than `MAX_CELL_BYTES`, text that is
//!   not UTF-8, and a `submitted_at` later than the import's time plus `FUTURE_TOLERANCE`.
//! - Cells are read through `cells::restore`, which removes the `'` the export puts before
//!   formula-like cells (`core::cells`), so an export imports back unchanged.

use crate::config::ConfiguredSurvey;
use crate::core::answer::AnswerValue;
use crate::core::cells::{MULTI_SEP, format_cell, neutralise};
use crate::core::survey::{Status, Survey};
// Reading the file is pure, so it lives in the core crate (and is fuzzed there).
pub use crate::core::import::{
    CheckedRow, FUTURE_TOLERANCE, MAX_CELL_BYTES, MAX_RESPONDENT_CHARS, RESPONDENT, RowError,
    SEGMENT, SUBMITTED_AT,
};
use crate::core::import::{parse_file, time};
use crate::store::{ImportAnswer, ImportPerson};
use crate::store::{Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{BTreeMap, HashMap};

/// Why an import or export did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no survey with id {0:?}; `canvass surveys` lists them")]
    UnknownSurvey(String),
    /// The survey file holds no survey, or not the one asked for, or several and none chosen.
    #[error("{0}")]
    SurveyChoice(String),
    #[error(
        "survey {slug:?} already exists with a different shape ({detail}); nothing imported. Import into a new survey id, or fix the survey file"
    )]
    ShapeMismatch { slug: String, detail: String },
    #[error("{}", rejected(*rows_read, *bad_rows, *skippable, errors))]
    Rejected {
        rows_read: usize,
        bad_rows: usize,
        /// False when the header itself is wrong, which `skip_bad` cannot fix.
        skippable: bool,
        errors: Vec<RowError>,
    },
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn rejected(rows_read: usize, bad_rows: usize, skippable: bool, errors: &[RowError]) -> String {
    let head = if skippable {
        format!(
            "nothing imported: {bad_rows} of {rows_read} rows have errors (--skip-bad imports the other rows)"
        )
    } else {
        "nothing imported: the file's header has errors".to_string()
    };
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    format!("{head}:\n{}", lines.join("\n"))
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Import the good rows and report the bad ones, instead of importing nothing.
    pub skip_bad: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub survey: String,
    /// The survey was created by this import (source `import`).
    pub created: bool,
    pub rows_read: usize,
    pub rows_imported: usize,
    pub rows_skipped: usize,
    /// Why rows were skipped, by line: bad cells (with `skip_bad`), already imported, empty.
    pub skipped: Vec<RowError>,
    /// Respondents on more than one row, with their lines; the later submission wins.
    pub repeated: Vec<(String, Vec<u64>)>,
    /// Distinct respondents with an imported row.
    pub respondents: usize,
    pub answers: usize,
}

impl ImportReport {
    /// A plain-text summary for the operator.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "survey {}{}\nrows read: {}, imported: {}, skipped: {}\n",
            self.survey,
            if self.created {
                " (created, source import)"
            } else {
                ""
            },
            self.rows_read,
            self.rows_imported,
            self.rows_skipped
        );
        // Row-level reasons (already imported, no answers) are grouped: a re-import of a big
        // file would otherwise print one line per row.
        let mut grouped: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for s in &self.skipped {
            match s.column {
                Some(_) => out.push_str(&format!("  skipped {s}\n")),
                None => grouped.entry(&s.reason).or_default().push(s.line),
            }
        }
        for (reason, lines) in grouped {
            let word = if lines.len() == 1 { "line" } else { "lines" };
            out.push_str(&format!("  skipped {word} {}: {reason}\n", ranges(&lines)));
        }
        for (who, lines) in &self.repeated {
            let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
            out.push_str(&format!(
                "respondent {who:?} is on lines {}: the later submission wins\n",
                lines.join(", ")
            ));
        }
        out.push_str(&format!(
            "respondents: {}, answers: {}",
            self.respondents, self.answers
        ));
        out
    }
}

/// "2-5, 7, 9-10" for sorted line numbers.
fn ranges(lines: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = lines[i];
        let mut end = start;
        while i + 1 < lines.len() && lines[i + 1] == end + 1 {
            i += 1;
            end = lines[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// Picks the survey to import from a survey file: the one named, or the only one.
pub fn pick_survey<'a>(
    surveys: &'a [ConfiguredSurvey],
    id: Option<&str>,
) -> Result<&'a ConfiguredSurvey, TransferError> {
    let ids = || {
        surveys
            .iter()
            .map(|c| c.survey.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (id, surveys) {
        (_, []) => Err(TransferError::SurveyChoice(
            "the survey file has no [[surveys]]".into(),
        )),
        (None, [one]) => Ok(one),
        (None, _) => Err(TransferError::SurveyChoice(format!(
            "the survey file holds several surveys ({}); choose one with --survey-id",
            ids()
        ))),
        (Some(id), _) => surveys
            .iter()
            .find(|c| c.survey.id.as_str() == id)
            .ok_or_else(|| {
                TransferError::SurveyChoice(format!(
                    "the survey file has no survey {id:?}; it holds {}",
                    ids()
                ))
            }),
    }
}

/// Imports a CSV of responses into `source`'s survey, creating the survey if it is new, all
/// in one transaction. See the module documentation for the rules.
pub async fn import(
    store: &Store,
    source: &ConfiguredSurvey,
    csv: &[u8],
    opts: ImportOptions,
    now: DateTime<Utc>,
) -> Result<ImportReport, TransferError> {
    let slug = source.survey.id.to_string();
    let mut tx = store.begin().await?;
    let stored = tx.survey_by_slug(&slug).await?;
    if let Some(s) = &stored {
        if let Some(detail) = shape_difference(&s.survey, &source.survey) {
            return Err(TransferError::ShapeMismatch { slug, detail });
        }
    }
    // The stored definition is authoritative for limits the shape does not cover.
    let survey = stored.as_ref().map_or(&source.survey, |s| &s.survey);
    let parsed = parse_file(survey, csv, now);
    let header_ok = parsed.header_errors.is_empty();
    if !header_ok || (parsed.bad_rows > 0 && !opts.skip_bad) {
        let mut errors = parsed.header_errors;
        errors.extend(parsed.bad);
        return Err(TransferError::Rejected {
            rows_read: parsed.rows_read,
            bad_rows: parsed.bad_rows,
            skippable: header_ok,
            errors,
        });
    }

    let (key, created) = match &stored {
        Some(s) => (s.key, false),
        None => {
            let key = tx
                .insert_survey(&source.survey, source.status, "import", now)
                .await?;
            if source.status == Status::Closed {
                // Records closed_at as well.
                tx.set_status(key, Status::Closed, now).await?;
            }
            (key, true)
        }
    };

    let mut report = ImportReport {
        survey: slug.clone(),
        created,
        rows_read: parsed.rows_read,
        rows_skipped: parsed.bad_rows,
        skipped: parsed.bad,
        ..ImportReport::default()
    };
    let mut rows = parsed.rows;
    let mut lines_of: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in &rows {
        lines_of.entry(&r.respondent).or_default().push(r.line);
    }
    report.repeated = lines_of
        .into_iter()
        .filter(|(_, lines)| lines.len() > 1)
        .map(|(who, lines)| (who.to_string(), lines))
        .collect();
    rows.sort_by_key(|r| (r.submitted_at, r.line));

    // Every row's event id, from the respondent's keyed hash (one per distinct respondent).
    let hasher = tx.import_hasher(key).await?;
    let mut hashes: HashMap<&str, [u8; 32]> = HashMap::new();
    let skip = |report: &mut ImportReport, line: u64, reason: String| {
        report.rows_skipped += 1;
        report.skipped.push(RowError {
            line,
            column: None,
            reason,
        });
    };
    // Rows that answer something and are not repeated within the file (same respondent and
    // time, which is what the event id holds).
    let mut first_line: HashMap<([u8; 32], DateTime<Utc>), u64> = HashMap::new();
    let mut candidates: Vec<usize> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if row.answers.is_empty() {
            skip(&mut report, row.line, "answers no question".into());
            continue;
        }
        let hash = *hashes
            .entry(row.respondent.as_str())
            .or_insert_with(|| hasher.hash(&row.respondent));
        if let Some(first) = first_line.get(&(hash, row.submitted_at)) {
            let reason = format!("same respondent and submitted_at as line {first}");
            skip(&mut report, row.line, reason);
            continue;
        }
        first_line.insert((hash, row.submitted_at), row.line);
        candidates.push(i);
    }
    drop(first_line);
    // Rows already imported before are skipped; the rest are claimed a batch at a time, so
    // the event ids are never all held at once.
    let mut imported: Vec<usize> = Vec::with_capacity(candidates.len());
    for batch in candidates.chunks(ANSWER_BATCH) {
        let events: Vec<String> = batch
            .iter()
            .map(|&i| {
                let row = &rows[i];
                let hash = hashes
                    .get(row.respondent.as_str())
                    .copied()
                    .unwrap_or_default();
                format!(
                    "import:{slug}:{}:{}",
                    hex(&hash),
                    row.submitted_at
                        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                )
            })
            .collect();
        let claimed = tx.claim_events(&events, now).await?;
        for (&i, new) in batch.iter().zip(claimed) {
            if new {
                imported.push(i);
            } else {
                let reason = "already imported (same respondent and submitted_at)".into();
                skip(&mut report, rows[i].line, reason);
            }
        }
    }
    drop(candidates);

    // Distinct respondents in the order their first imported row comes; each keeps the
    // segments of their last imported row, as applying the rows one by one would leave them.
    let mut person_of: HashMap<&str, usize> = HashMap::new();
    let mut people: Vec<ImportPerson<'_>> = Vec::new();
    for &i in &imported {
        let row = &rows[i];
        let p = *person_of.entry(row.respondent.as_str()).or_insert_with(|| {
            people.push(ImportPerson {
                respondent: &row.respondent,
                hash: hashes
                    .get(row.respondent.as_str())
                    .copied()
                    .unwrap_or_default(),
                segments: None,
            });
            people.len() - 1
        });
        if let Some(segs) = row.segments.as_deref() {
            people[p].segments = Some(segs);
        }
    }
    drop(hashes);
    let ids = tx
        .import_respondents(key, survey.anonymous, &people, now)
        .await?;
    let person = |i: usize| {
        person_of
            .get(rows[i].respondent.as_str())
            .and_then(|&p| ids.get(p))
            .copied()
            .unwrap_or_default()
    };

    // An answer is stored superseded when a later imported row of the same respondent answers
    // the same question; the current answers of respondents who were already there are
    // superseded first. Rows of one respondent are few, so following the chain is cheap.
    let mut later: Vec<Option<usize>> = vec![None; imported.len()];
    let mut last_at: HashMap<&str, usize> = HashMap::new();
    for (k, &i) in imported.iter().enumerate() {
        if let Some(prev) = last_at.insert(rows[i].respondent.as_str(), k) {
            later[prev] = Some(k);
        }
    }
    drop(last_at);
    let mut supersede: Vec<(i64, &str)> = Vec::new();
    let mut seen_existing: std::collections::HashSet<(i64, &str)> = Default::default();
    for &i in &imported {
        let (respondent, existed) = person(i);
        if existed {
            for (q, _) in &rows[i].answers {
                if seen_existing.insert((respondent, q.as_str())) {
                    supersede.push((respondent, q.as_str()));
                }
            }
        }
    }
    drop(seen_existing);
    tx.supersede_answers(&supersede, survey.anonymous, now)
        .await?;
    drop(supersede);
    // Answers go out a batch at a time, so they are never all held twice.
    let mut batch: Vec<ImportAnswer<'_>> = Vec::with_capacity(ANSWER_BATCH);
    for (k, &i) in imported.iter().enumerate() {
        let row = &rows[i];
        let (respondent, _) = person(i);
        for (q, value) in &row.answers {
            let mut next = later[k];
            let mut superseded = false;
            while let Some(n) = next {
                if rows[imported[n]].answers.iter().any(|(q2, _)| q2 == q) {
                    superseded = true;
                    break;
                }
                next = later[n];
            }
            batch.push(ImportAnswer {
                respondent,
                question: q,
                value,
                answered_at: row.submitted_at,
                superseded,
            });
            report.answers += 1;
        }
        if batch.len() >= ANSWER_BATCH {
            tx.import_answers(&batch, survey.anonymous, now).await?;
            batch.clear();
        }
    }
    tx.import_answers(&batch, survey.anonymous, now).await?;
    report.rows_imported = imported.len();
    report.respondents = people.len();
    tx.commit().await?;
    report.skipped.sort_by_key(|e| e.line);
    Ok(report)
}

/// Answers handed to the store at a time (it writes them a few hundred per statement).
const ANSWER_BATCH: usize = 5_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What differs between a stored survey and the file's, in the parts answers depend on.
pub fn shape_difference(stored: &Survey, file: &Survey) -> Option<String> {
    let yes_no = |b: bool| if b { "anonymous" } else { "not anonymous" };
    if stored.anonymous != file.anonymous {
        return Some(format!(
            "it is {} in the store but {} in the file",
            yes_no(stored.anonymous),
            yes_no(file.anonymous)
        ));
    }
    let (a, b) = (stored.shape(), file.shape());
    if a == b {
        return None;
    }
    for (i, (s, f)) in a.iter().zip(&b).enumerate() {
        if s.0 != f.0 {
            return Some(format!(
                "question {} is {:?} in the store but {:?} in the file",
                i + 1,
                s.0,
                f.0
            ));
        }
        if s.1 != f.1 {
            return Some(format!(
                "question {:?} is {} in the store but {} in the file",
                s.0, s.1, f.1
            ));
        }
        if s.2 != f.2 {
            return Some(format!(
                "question {:?} has options {} in the store but {} in the file",
                s.0,
                s.2.join(", "),
                f.2.join(", ")
            ));
        }
    }
    Some(format!(
        "the store has {} questions, the file {}",
        a.len(),
        b.len()
    ))
}

/// What a CSV of responses holds for `survey`, without touching a store: each good row, or
/// every problem found. For tests; `import` reads the same way.
pub fn check_responses(survey: &Survey, csv: &[u8]) -> Result<Vec<CheckedRow>, Vec<RowError>> {
    crate::core::import::check_responses(survey, csv, Utc::now())
}

/// One respondent's current answers, as exported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportRecord {
    /// See `respondent_label`.
    pub respondent: String,
    /// The latest `answered_at` of the respondent's current answers.
    pub submitted_at: DateTime<Utc>,
    /// The respondent's segments and the chats their answers came from, sorted, deduplicated.
    pub segments: Vec<String>,
    /// (question id, answer) in the survey's question order.
    pub answers: Vec<(String, AnswerValue)>,
}

/// The `respondent` column of an export. Anonymous surveys (and any respondent without a
/// member) get a pseudonym `r<digits of the respondent row id>`: stable within this database, meaningless
/// outside it, so an export never carries a platform id for them. Non-anonymous surveys get
/// `platform:user_id` (e.g. `telegram:123`), or the original id for members who came in through
/// `canvass import`, so that export then import round-trips.
pub fn respondent_label(
    anonymous: bool,
    respondent: i64,
    member: Option<&(String, String)>,
) -> String {
    match member {
        Some((platform, user)) if !anonymous => {
            if platform == "import" {
                user.clone()
            } else {
                format!("{platform}:{user}")
            }
        }
        // Anonymous row ids are random negative numbers: the digits alone are the pseudonym.
        _ => format!("r{}", respondent.unsigned_abs()),
    }
}

/// The current answers of survey `slug`, one record per respondent, ordered by
/// `submitted_at` then respondent.
pub async fn export_records(
    store: &Store,
    slug: &str,
) -> Result<(Survey, Vec<ExportRecord>), TransferError> {
    let stored = store
        .survey_by_slug(slug)
        .await?
        .ok_or_else(|| TransferError::UnknownSurvey(slug.to_string()))?;
    let survey = stored.survey;
    let order: HashMap<&str, usize> = survey
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.as_str(), i))
        .collect();
    let mut by_respondent: BTreeMap<i64, ExportRecord> = BTreeMap::new();
    for a in store.export_answers(stored.key).await? {
        // Shapes never change once answered, so this only drops rows of a corrupted store.
        if !order.contains_key(a.question_id.as_str()) {
            continue;
        }
        let rec = by_respondent
            .entry(a.respondent)
            .or_insert_with(|| ExportRecord {
                respondent: respondent_label(survey.anonymous, a.respondent, a.member.as_ref()),
                submitted_at: a.answered_at,
                segments: a.segments.clone(),
                answers: Vec::new(),
            });
        rec.submitted_at = rec.submitted_at.max(a.answered_at);
        rec.segments.extend(a.chat_segment);
        rec.answers.push((a.question_id, a.value));
    }
    let mut records: Vec<ExportRecord> = by_respondent.into_values().collect();
    for r in &mut records {
        r.segments.sort();
        r.segments.dedup();
        r.answers
            .sort_by_key(|(q, _)| order.get(q.as_str()).copied().unwrap_or(usize::MAX));
    }
    records.sort_by(|a, b| (a.submitted_at, &a.respondent).cmp(&(b.submitted_at, &b.respondent)));
    Ok((survey, records))
}

/// The survey's current answers as CSV in exactly the import format: `respondent`,
/// `submitted_at`, `segment`, then every question in survey order.
pub async fn export_csv(store: &Store, slug: &str) -> Result<Vec<u8>, TransferError> {
    let (survey, records) = export_records(store, slug).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![RESPONDENT, SUBMITTED_AT, SEGMENT];
    header.extend(survey.questions.iter().map(|q| q.id.as_str()));
    w.write_record(header.iter().map(|h| neutralise(h).into_owned()))?;
    for r in &records {
        let mut row = vec![
            r.respondent.clone(),
            time(r.submitted_at),
            r.segments.join(&MULTI_SEP.to_string()),
        ];
        for q in &survey.questions {
            let cell = r
                .answers
                .iter()
                .find(|(id, _)| id == q.id.as_str())
                .map(|(_, v)| format_cell(v))
                .unwrap_or_default();
            row.push(cell);
        }
        // Every cell, ids and open text alike: a spreadsheet must never run one.
        w.write_record(row.iter().map(|c| neutralise(c).into_owned()))?;
    }
    w.into_inner()
        .map_err(|e| TransferError::Csv(csv::Error::from(e.into_error())))
}

/// The survey's current answers as a JSON array of
/// `{respondent, submitted_at, segments, answers: {question id: answer}}`, answers in the
/// tagged `AnswerValue` form the store uses.
pub async fn export_json(store: &Store, slug: &str) -> Result<Vec<u8>, TransferError> {
    let (_, records) = export_records(store, slug).await?;
    let list: Vec<JsonRecord> = records
        .iter()
        .map(|r| JsonRecord {
            respondent: &r.respondent,
            submitted_at: time(r.submitted_at),
            segments: &r.segments,
            answers: AnswerMap(&r.answers),
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&list)?;
    out.push(b'\n');
    Ok(out)
}

/// Field order as documented, which a `json!` map would sort away.
#[derive(serde::Serialize)]
struct JsonRecord<'a> {
    respondent: &'a str,
    submitted_at: String,
    segments: &'a [String],
    answers: AnswerMap<'a>,
}

/// Answers as a JSON object in the survey's question order.
struct AnswerMap<'a>(&'a [(String, AnswerValue)]);

impl serde::Serialize for AnswerMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (q, v) in self.0 {
            map.serialize_entry(q, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::core::import::Parsed;
    use std::path::Path;

    const SURVEY: &str = r#"
[[surveys]]
id = "fb"
title = "Feedback"
[[surveys.questions]]
id = "plan"
type = "single"
text = "Plan?"
options = ["Free", "Pro"]
[[surveys.questions]]
id = "nps"
type = "nps"
text = "Recommend?"
"#;

    fn survey() -> Survey {
        Config::parse(SURVEY, Path::new("s.toml")).unwrap().surveys[0]
            .survey
            .clone()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn parse(csv: &[u8]) -> Parsed {
        parse_file(&survey(), csv, now())
    }

    #[test]
    fn rows_are_checked_cell_by_cell_with_lines_and_columns() {
        let csv = "\u{feff}respondent,submitted_at,segment,nps,plan\n\
                   ann,2026-10-01T09:00:00Z,Beta| EU |beta,9,pro\n\
                   bob,2026-10-01T09:05:00+02:00,,11,gold\n\
                   \"cy\nd\",yesterday,,,\n\
                   dee,2026-10-01T10:00:00Z,,\n";
        let p = parse(csv.as_bytes());
        assert!(p.header_errors.is_empty(), "{:?}", p.header_errors);
        assert_eq!((p.rows_read, p.bad_rows), (4, 3));
        assert_eq!(p.rows.len(), 1);
        assert_eq!(
            p.rows[0].segments,
            Some(vec!["Beta".into(), "EU".into(), "beta".into()])
        );
        let msgs: Vec<String> = p.bad.iter().map(ToString::to_string).collect();
        assert_eq!(msgs[0], "line 3, column nps: value 11 is outside 0..10");
        assert!(
            msgs[1].starts_with("line 3, column plan: unknown option id \"gold\""),
            "{msgs:?}"
        );
        // A quoted line break outside an open-text column, and the other cells still checked.
        assert!(
            msgs[2].starts_with("line 4, column respondent: a quoted line break"),
            "{msgs:?}"
        );
        assert!(
            msgs[3].starts_with("line 4, column submitted_at: \"yesterday\""),
            "{msgs:?}"
        );
        assert_eq!(msgs[4], "line 6: has 4 fields; the header has 5");
    }

    #[test]
    fn header_problems_are_named() {
        let p = parse(b"respondent,plan,plna,plan\n");
        let msgs: Vec<String> = p.header_errors.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert_eq!(msgs[0], "line 1, column plan: appears twice in the header");
        assert!(
            msgs[1].starts_with(
                "line 1, column plna: unknown column; survey fb has questions plan, nps"
            )
        );
        assert_eq!(
            msgs[2],
            "line 1, column submitted_at: missing: this column is required"
        );
        assert!(!parse(b"").header_errors.is_empty());
    }

    #[test]
    fn nul_bytes_huge_cells_and_future_times_are_refused_with_line_and_column() {
        let huge = "x".repeat(MAX_CELL_BYTES + 1);
        let csv = format!(
            "respondent,submitted_at,plan,nps\n\
             a\0b,2026-10-01T09:00:00Z,free,9\n\
             bo,2026-10-01T09:00:00Z,{huge},9\n\
             cy,2027-01-01T00:00:00Z,free,9\n\
             dee,2026-12-01T00:09:00Z,free,9\n"
        );
        let p = parse(csv.as_bytes());
        let msgs: Vec<String> = p.bad.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "line 2, column respondent: contains a NUL byte".to_string(),
                format!(
                    "line 3, column plan: is {} bytes long; a cell may hold at most {MAX_CELL_BYTES}",
                    MAX_CELL_BYTES + 1
                ),
                "line 4, column submitted_at: \"2027-01-01T00:00:00Z\" is in the future (the import runs at 2026-12-01T00:00:00Z)".to_string(),
            ]
        );
        // Within the tolerance a clock a little ahead is fine.
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].respondent, "dee");
    }

    #[test]
    fn an_unclosed_quote_is_an_error_at_its_line_and_the_rows_after_it_are_read() {
        let p = parse(
            b"respondent,submitted_at,plan\n\
              ann,2026-10-01T09:00:00Z,\"oops forgot to close\n\
              bo,2026-10-01T09:00:00Z,free\n\
              cy,2026-10-01T09:00:00Z,pro\n",
        );
        assert_eq!((p.rows_read, p.bad_rows, p.rows.len()), (3, 1, 2));
        assert!(
            p.bad[0].to_string().starts_with(
                "line 2, column plan: a quoted field begins on this line and is never closed"
            ),
            "{:?}",
            p.bad
        );
    }

    #[test]
    fn guarded_cells_are_read_back_without_their_guard() {
        let csv = "respondent,submitted_at,segment,plan\n\
                   '+49 151,2026-10-01T09:00:00Z,'=beta|EU,free\n";
        let p = parse(csv.as_bytes());
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(p.rows[0].respondent, "+49 151");
        assert_eq!(p.rows[0].segments, Some(vec!["=beta".into(), "EU".into()]));
    }

    #[test]
    fn shapes_are_compared_with_a_reason() {
        let a = survey();
        assert_eq!(shape_difference(&a, &a.clone()), None);
        let mut b = a.clone();
        b.questions[0].text = "Which plan?".into();
        assert_eq!(shape_difference(&a, &b), None, "wording may differ");
        b.anonymous = true;
        assert!(
            shape_difference(&a, &b)
                .unwrap()
                .contains("anonymous in the file")
        );
        let c = Config::parse(&SURVEY.replace("\"Pro\"", "\"Team\""), Path::new("s.toml"))
            .unwrap()
            .surveys[0]
            .survey
            .clone();
        assert_eq!(
            shape_difference(&a, &c).unwrap(),
            "question \"plan\" has options free, pro in the store but free, team in the file"
        );
    }

    #[test]
    fn respondent_labels_hide_platform_ids_of_anonymous_surveys() {
        let tg = ("telegram".to_string(), "123".to_string());
        let imp = ("import".to_string(), "ann@example.com".to_string());
        assert_eq!(respondent_label(false, 7, Some(&tg)), "telegram:123");
        assert_eq!(respondent_label(false, 7, Some(&imp)), "ann@example.com");
        assert_eq!(respondent_label(true, 7, Some(&tg)), "r7");
        assert_eq!(respondent_label(false, 7, None), "r7");
    }

    #[test]
    fn line_ranges_are_compact() {
        assert_eq!(ranges(&[2, 3, 4, 5, 7, 9, 10]), "2-5, 7, 9-10");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn picking_a_survey_from_the_file() {
        let two = format!("{SURVEY}{}", SURVEY.replace("\"fb\"", "\"fb2\""));
        let c = Config::parse(&two, Path::new("s.toml")).unwrap();
        let err = pick_survey(&c.surveys, None).unwrap_err().to_string();
        assert!(
            err.contains("fb, fb2") && err.contains("--survey-id"),
            "{err}"
        );
        assert_eq!(
            pick_survey(&c.surveys, Some("fb2"))
                .unwrap()
                .survey
                .id
                .as_str(),
            "fb2"
        );
        assert!(pick_survey(&c.surveys, Some("x")).is_err());
        assert!(pick_survey(&[], None).is_err());
    }
}
