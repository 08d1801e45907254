//! Reading a CSV file of responses for `canvass import`: a strict RFC 4180 reader that knows
//! where each field began, and the checks of the header, each row and each cell against the
//! survey. Pure: the import's time is passed in. The import rules are documented in the main
//! crate's `transfer.rs`, which writes the rows this returns.

use crate::core::answer::{AnswerValue, char_len, clean_text};
use crate::core::cells::{MULTI_SEP, parse_cell, restore};
use crate::core::survey::{QuestionKind, Survey};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeSet;
use std::fmt;

/// Column names besides the question ids.
pub const RESPONDENT: &str = "respondent";
pub const SUBMITTED_AT: &str = "submitted_at";
pub const SEGMENT: &str = "segment";
/// Longest respondent id accepted, in characters: ids, not free text.
pub const MAX_RESPONDENT_CHARS: usize = 200;
/// Longest cell accepted, in bytes: the longest open-text answer (2,000 characters of up to
/// four bytes) with room to spare. Anything longer is refused before it is parsed.
pub const MAX_CELL_BYTES: usize = 10 * 1024;
/// How far past the import's own time a `submitted_at` may be: clocks differ a little, and
/// an answer from the future is a mistake in the file.
pub const FUTURE_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// CSV line; the header is line 1.
    pub line: u64,
    /// The column it is about, when it is about one.
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// A good row, ready to write.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub respondent: String,
    pub submitted_at: DateTime<Utc>,
    /// `None` when the file has no segment column.
    pub segments: Option<Vec<String>>,
    pub answers: Vec<(String, AnswerValue)>,
}

/// A whole file, read: its good rows and every problem found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows_read: usize,
    pub header_errors: Vec<RowError>,
    pub rows: Vec<Row>,
    pub bad: Vec<RowError>,
    pub bad_rows: usize,
}

/// Where each known column is.
struct Columns {
    respondent: Option<usize>,
    submitted_at: Option<usize>,
    segment: Option<usize>,
    /// (column index, question index)
    questions: Vec<(usize, usize)>,
    /// Column indices of open-text questions: the only cells that may hold a line break.
    open_text: BTreeSet<usize>,
    /// Every column's name as the header gives it, for error messages.
    names: Vec<String>,
    width: usize,
}

impl Columns {
    fn name(&self, i: usize) -> String {
        match self.names.get(i) {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("{}", i + 1),
        }
    }
}

fn read_header(survey: &Survey, header: &[String]) -> (Columns, Vec<RowError>) {
    let mut cols = Columns {
        respondent: None,
        submitted_at: None,
        segment: None,
        questions: Vec::new(),
        open_text: BTreeSet::new(),
        names: header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect(),
        width: header.len(),
    };
    let mut errors = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = BTreeSet::new();
    let err = |column: &str, reason: String| RowError {
        line: 1,
        column: Some(column.to_string()),
        reason,
    };
    for (i, raw) in header.iter().enumerate() {
        // Spreadsheets often start UTF-8 files with a byte-order mark.
        let name = raw.trim_start_matches('\u{feff}').trim();
        if name.is_empty() {
            errors.push(RowError {
                line: 1,
                column: None,
                reason: format!("column {} has no name", i + 1),
            });
            continue;
        }
        if !seen.insert(name) {
            errors.push(err(name, "appears twice in the header".into()));
            continue;
        }
        match name {
            RESPONDENT => cols.respondent = Some(i),
            SUBMITTED_AT => cols.submitted_at = Some(i),
            SEGMENT => cols.segment = Some(i),
            _ => match survey.questions.iter().position(|q| q.id.as_str() == name) {
                Some(q) => {
                    cols.questions.push((i, q));
                    if matches!(
                        survey.questions.get(q).map(|q| &q.kind),
                        Some(QuestionKind::OpenText { .. })
                    ) {
                        cols.open_text.insert(i);
                    }
                }
                None => unknown.push(name),
            },
        }
    }
    let known = survey
        .questions
        .iter()
        .map(|q| q.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for name in unknown {
        errors.push(err(
            name,
            format!("unknown column; survey {} has questions {known}", survey.id),
        ));
    }
    for (name, at) in [
        (RESPONDENT, cols.respondent),
        (SUBMITTED_AT, cols.submitted_at),
    ] {
        if at.is_none() {
            errors.push(err(name, "missing: this column is required".into()));
        }
    }
    (cols, errors)
}

/// One good CSV row: the respondent and their answers by question id.
pub type CheckedRow = (String, Vec<(String, AnswerValue)>);

/// What a CSV of responses holds for `survey`, read at `now`, without touching a store: each
/// good row, or every problem found. For the fuzz targets; `import` reads the same way.
pub fn check_responses(
    survey: &Survey,
    csv: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<CheckedRow>, Vec<RowError>> {
    let parsed = parse_file(survey, csv, now);
    if !parsed.header_errors.is_empty() || parsed.bad_rows > 0 {
        let mut errors = parsed.header_errors;
        errors.extend(parsed.bad);
        return Err(errors);
    }
    Ok(parsed
        .rows
        .into_iter()
        .map(|r| (r.respondent, r.answers))
        .collect())
}

/// Reads a whole file against `survey` at the import's time `now`.
pub fn parse_file(survey: &Survey, data: &[u8], now: DateTime<Utc>) -> Parsed {
    let mut out = Parsed::default();
    let mut records = read::Records::new(data);
    let header = match records.next() {
        Some((_, Ok(h))) => h
            .iter()
            .map(|f| restore(&String::from_utf8_lossy(&f.bytes)).to_string())
            .collect::<Vec<_>>(),
        Some((line, Err(e))) => {
            out.header_errors.push(RowError {
                line,
                column: None,
                reason: e.reason(),
            });
            return out;
        }
        None => {
            out.header_errors.push(RowError {
                line: 1,
                column: None,
                reason: "the file is empty; expected a header row".into(),
            });
            return out;
        }
    };
    let (cols, errors) = read_header(survey, &header);
    out.header_errors = errors;
    for (line, record) in records {
        out.rows_read += 1;
        let result = match record {
            Ok(fields) => check_fields(&cols, line, &fields)
                .and_then(|(cells, errors)| parse_row(survey, &cols, line, &cells, errors, now)),
            Err(e) => Err(vec![RowError {
                line: e.line(),
                column: Some(cols.name(e.field())),
                reason: e.reason(),
            }]),
        };
        match result {
            Ok(row) => out.rows.push(row),
            Err(errors) => {
                out.bad_rows += 1;
                out.bad.extend(errors);
            }
        }
    }
    out
}

/// A record's cells (`None` where refused) and the errors of the refused ones.
type CheckedFields = (Vec<Option<String>>, Vec<RowError>);

/// A record's fields as text, each through `cells::restore`; `None` (with its error) for a
/// field that cannot be a cell: a line break outside an open-text column, a NUL byte, too
/// long, not UTF-8.
fn check_fields(
    cols: &Columns,
    line: u64,
    fields: &[read::Field],
) -> Result<CheckedFields, Vec<RowError>> {
    if fields.len() != cols.width {
        return Err(vec![RowError {
            line,
            column: None,
            reason: format!("has {} fields; the header has {}", fields.len(), cols.width),
        }]);
    }
    let mut errors = Vec::new();
    let mut cells = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let problem = if f.len > MAX_CELL_BYTES {
            Some(format!(
                "is {} bytes long; a cell may hold at most {MAX_CELL_BYTES}",
                f.len
            ))
        } else if f.nul {
            Some("contains a NUL byte".to_string())
        } else if f.line_break && !cols.open_text.contains(&i) {
            Some(format!(
                "a quoted line break (the field runs from line {} to {}) is only accepted in an open-text column",
                f.line, f.end_line
            ))
        } else {
            None
        };
        let text = match (problem, std::str::from_utf8(&f.bytes)) {
            (Some(p), _) => Err(p),
            (None, Ok(t)) => Ok(restore(t).to_string()),
            (None, Err(e)) => Err(format!("is not valid UTF-8 text ({e})")),
        };
        match text {
            Ok(t) => cells.push(Some(t)),
            Err(reason) => {
                cells.push(None);
                errors.push(RowError {
                    line: f.line,
                    column: Some(cols.name(i)),
                    reason,
                });
            }
        }
    }
    Ok((cells, errors))
}

fn parse_row(
    survey: &Survey,
    cols: &Columns,
    line: u64,
    r: &[Option<String>],
    mut errors: Vec<RowError>,
    now: DateTime<Utc>,
) -> Result<Row, Vec<RowError>> {
    let mut err = |column: &str, reason: String| {
        errors.push(RowError {
            line,
            column: Some(column.to_string()),
            reason,
        })
    };
    // A refused cell (already reported) reads as None and is not checked again.
    let cell = |at: Option<usize>| match at.and_then(|i| r.get(i)) {
        Some(Some(c)) => Some(c.trim()),
        Some(None) => None,
        None => Some(""),
    };

    let respondent = cell(cols.respondent).map(str::to_string);
    match respondent.as_deref() {
        Some("") => err(RESPONDENT, "is empty".into()),
        Some(r) if char_len(r) > MAX_RESPONDENT_CHARS => err(
            RESPONDENT,
            format!(
                "is {} characters long; the limit is {MAX_RESPONDENT_CHARS}",
                char_len(r)
            ),
        ),
        _ => {}
    }
    let respondent = respondent.unwrap_or_default();
    let raw_time = cell(cols.submitted_at);
    let submitted_at = match raw_time.map(DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(t)) if t > now + FUTURE_TOLERANCE => {
            err(
                SUBMITTED_AT,
                format!(
                    "{:?} is in the future (the import runs at {})",
                    raw_time.unwrap_or_default(),
                    time(now)
                ),
            );
            None
        }
        Some(Ok(t)) => Some(t.with_timezone(&Utc)),
        Some(Err(_)) => {
            err(
                SUBMITTED_AT,
                format!(
                    "{:?} is not an RFC 3339 time such as 2026-10-01T09:30:00Z",
                    raw_time.unwrap_or_default()
                ),
            );
            None
        }
    };
    let segments = cols
        .segment
        .map(|_| split_segments(cell(cols.segment).unwrap_or_default()));
    let mut answers = Vec::new();
    for &(i, qi) in &cols.questions {
        let Some(q) = survey.questions.get(qi) else {
            continue;
        };
        let Some(raw) = cell(Some(i)) else {
            continue;
        };
        match parse_cell(q, raw) {
            Ok(Some(v)) => answers.push((q.id.to_string(), v)),
            Ok(None) => {}
            Err(e) => err(q.id.as_str(), e.to_string()),
        }
    }
    match submitted_at {
        Some(submitted_at) if errors.is_empty() => Ok(Row {
            line,
            respondent,
            submitted_at,
            segments,
            answers,
        }),
        _ => Err(errors),
    }
}

/// A time as the file writes it (RFC 3339, UTC), in `submitted_at` and in messages.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Segments as written in a cell: joined by `|`, blanks dropped, sorted so files compare.
fn split_segments(cell: &str) -> Vec<String> {
    let mut segs: Vec<String> = cell
        .split(MULTI_SEP)
        .map(clean_text)
        .filter(|s| !s.is_empty())
        .collect();
    segs.sort();
    segs.dedup();
    segs
}

/// A strict CSV reader (RFC 4180: comma, `"` quoting with `""` inside, CRLF or LF) that knows
/// where each field began, so a broken quote is reported where it was opened instead of
/// swallowing the rest of the file into one cell.
mod read {
    use super::MAX_CELL_BYTES;

    /// One field: its bytes (at most `MAX_CELL_BYTES` kept) and what the checks need.
    #[derive(Debug, Default)]
    pub(super) struct Field {
        pub bytes: Vec<u8>,
        /// The full length in bytes, also past what was kept.
        pub len: usize,
        /// The line it began on and the line it ended on.
        pub line: u64,
        pub end_line: u64,
        pub line_break: bool,
        pub nul: bool,
    }

    impl Field {
        fn push(&mut self, b: u8) {
            if self.bytes.len() < MAX_CELL_BYTES + 1 {
                self.bytes.push(b);
            }
            self.len += 1;
            self.nul |= b == 0;
        }
    }

    /// A record whose quoting is broken; reading goes on at the line after `line`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum QuoteError {
        /// A quoted field begins on `line` and the file ends before it is closed.
        Unclosed { line: u64, field: usize },
        /// A quoted field begins on `line`, closes on `closed_on`, and text follows the quote.
        TextAfter {
            line: u64,
            closed_on: u64,
            field: usize,
        },
    }

    impl QuoteError {
        pub(super) fn line(&self) -> u64 {
            match self {
                Self::Unclosed { line, .. } | Self::TextAfter { line, .. } => *line,
            }
        }

        pub(super) fn field(&self) -> usize {
            match self {
                Self::Unclosed { field, .. } | Self::TextAfter { field, .. } => *field,
            }
        }

        pub(super) fn reason(&self) -> String {
            match self {
                Self::Unclosed { .. } => "a quoted field begins on this line and is never closed (a closing \" is missing); nothing after it on this line was read".into(),
                Self::TextAfter { line, closed_on, .. } if line == closed_on => "text follows the closing quote of a quoted field; a quote inside a quoted field is written twice (\"\")".into(),
                Self::TextAfter { closed_on, .. } => format!(
                    "a quoted field begins on this line, runs to line {closed_on} and has text after its closing quote: a closing \" is probably missing on this line"
                ),
            }
        }
    }

    /// Records with the line each began on. Blank lines are skipped.
    pub(super) struct Records<'a> {
        data: &'a [u8],
        pos: usize,
        line: u64,
    }

    impl<'a> Records<'a> {
        pub(super) fn new(data: &'a [u8]) -> Self {
            // Spreadsheets often start UTF-8 files with a byte-order mark.
            let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
            Self {
                data,
                pos: 0,
                line: 1,
            }
        }

        fn peek(&self) -> Option<u8> {
            self.data.get(self.pos).copied()
        }

        /// Steps over a line break at the cursor (LF, CRLF or a lone CR), if there is one.
        fn line_break(&mut self) -> bool {
            match self.peek() {
                Some(b'\n') => self.pos += 1,
                Some(b'\r') => {
                    self.pos += 1;
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return false,
            }
            self.line += 1;
            true
        }

        /// After a broken quote: go back to where the field began and on to the next line.
        fn resync(&mut self, from: usize, line: u64) {
            self.pos = from;
            self.line = line;
            while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                self.pos += 1;
            }
            self.line_break();
        }

        fn field(&mut self, index: usize) -> Result<Field, QuoteError> {
            let (start, line) = (self.pos, self.line);
            let mut f = Field {
                line,
                ..Field::default()
            };
            if self.peek() != Some(b'"') {
                while let Some(b) = self.peek().filter(|b| !matches!(b, b',' | b'\n' | b'\r')) {
                    f.push(b);
                    self.pos += 1;
                }
                f.end_line = line;
                return Ok(f);
            }
            self.pos += 1;
            loop {
                match self.peek() {
                    None => {
                        self.resync(start, line);
                        return Err(QuoteError::Unclosed { line, field: index });
                    }
                    Some(b'"') if self.data.get(self.pos + 1) == Some(&b'"') => {
                        f.push(b'"');
                        self.pos += 2;
                    }
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b @ (b'\n' | b'\r')) => {
                        let crlf = b == b'\r' && self.data.get(self.pos + 1) == Some(&b'\n');
                        f.push(b);
                        if crlf {
                            f.push(b'\n');
                        }
                        self.line_break();
                        f.line_break = true;
                    }
                    Some(b) => {
                        f.push(b);
                        self.pos += 1;
                    }
                }
            }
            f.end_line = self.line;
            match self.peek() {
                None | Some(b',' | b'\n' | b'\r') => Ok(f),
                Some(_) => {
                    let closed_on = self.line;
                    self.resync(start, line);
                    Err(QuoteError::TextAfter {
                        line,
                        closed_on,
                        field: index,
                    })
                }
            }
        }
    }

    impl Iterator for Records<'_> {
        type Item = (u64, Result<Vec<Field>, QuoteError>);

        fn next(&mut self) -> Option<Self::Item> {
            while self.line_break() {}
            self.peek()?;
            let line = self.line;
            let mut fields = Vec::new();
            loop {
                match self.field(fields.len()) {
                    Ok(f) => fields.push(f),
                    Err(e) => return Some((line, Err(e))),
                }
                if self.peek() == Some(b',') {
                    self.pos += 1;
                    continue;
                }
                self.line_break();
                return Some((line, Ok(fields)));
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn read(s: &str) -> Vec<(u64, Result<Vec<String>, QuoteError>)> {
            Records::new(s.as_bytes())
                .map(|(l, r)| {
                    let r = r.map(|fs| {
                        fs.iter()
                            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
                            .collect()
                    });
                    (l, r)
                })
                .collect()
        }

        #[test]
        fn quoting_line_breaks_and_blank_lines() {
            let got = read("a,b\r\n\n\"x,\"\"y\"\"\",\"two\nlines\"\n,\n");
            assert_eq!(
                got,
                [
                    (1, Ok(vec!["a".into(), "b".into()])),
                    (3, Ok(vec!["x,\"y\"".into(), "two\nlines".into()])),
                    (5, Ok(vec![String::new(), String::new()])),
                ]
            );
        }

        #[test]
        fn an_unclosed_quote_is_reported_where_it_began_and_swallows_nothing() {
            let got = read("h,t\nann,\"oops forgot to close\nbo,fine\ncy,fine\n");
            assert_eq!(got[0].0, 1);
            assert_eq!(got[1], (2, Err(QuoteError::Unclosed { line: 2, field: 1 })));
            assert_eq!(got[2], (3, Ok(vec!["bo".into(), "fine".into()])));
            assert_eq!(got[3], (4, Ok(vec!["cy".into(), "fine".into()])));
            assert_eq!(got.len(), 4);
        }

        #[test]
        fn a_quote_closed_by_a_later_row_is_caught_by_the_text_after_it() {
            let got = read("ann,\"open\nbo,\"quoted\"\ncy,x\n");
            assert_eq!(
                got[0],
                (
                    1,
                    Err(QuoteError::TextAfter {
                        line: 1,
                        closed_on: 2,
                        field: 1
                    })
                )
            );
            assert_eq!(got[1], (2, Ok(vec!["bo".into(), "quoted".into()])));
            assert_eq!(got[2], (3, Ok(vec!["cy".into(), "x".into()])));
        }
    }
}
