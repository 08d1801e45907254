//! `canvass import` and `canvass export`: every question type through CSV, bad files, re-import,
//! anonymity of exports, and the real binary.

use crate::support::*;
use canvass::config::{Config, ConfiguredSurvey};
use canvass::core::answer::AnswerValue;
use canvass::core::ids::OptionId;
use canvass::store::Store;
use canvass::transfer::{self, ExportRecord, ImportOptions, ImportReport, TransferError};
use std::path::Path;
use std::process::Command;

/// A survey with one question of every type, as a survey file would hold it.
const SURVEY: &str = r#"
[[surveys]]
id = "feedback"
title = "Editor beta feedback"
[[surveys.questions]]
id = "role"
type = "single"
text = "Your role?"
options = ["Engineer", "Designer", "Product"]
[[surveys.questions]]
id = "used"
type = "multi"
text = "Which parts did you use?"
options = ["Outline", "Comments", "Templates"]
max_choices = 2
[[surveys.questions]]
id = "ease"
type = "rating"
text = "How easy was it?"
scale = 7
[[surveys.questions]]
id = "nps"
type = "nps"
text = "Would you recommend it?"
[[surveys.questions]]
id = "next"
type = "ranking"
text = "Rank what we improve next"
options = ["Speed", "Offline", "SSO"]
top_k = 2
[[surveys.questions]]
id = "tradeoff"
type = "pairwise"
text = "Which matters more?"
options = ["Speed", "Price", "Support"]
pairs_per_member = 3
[[surveys.questions]]
id = "tagline"
type = "message_test"
text = "Which line speaks to you?"
options = ["Write without clutter", "Ship sooner"]
[[surveys.questions]]
id = "why"
type = "open_text"
text = "One thing you would change?"
max_chars = 200
optional = true
"#;

/// In export order (submitted_at, then respondent), so exporting gives this text back.
const RESPONSES: &str = r#"respondent,submitted_at,segment,role,used,ease,nps,next,tradeoff,tagline,why
ann@example.com,2026-10-01T09:00:00Z,EU|Pro plan,engineer,outline|comments,6,9,speed>offline,speed>price;support>price;speed>support,ship-sooner,"Faster search, and ""dark mode"""
bo,2026-10-01T09:30:00Z,,designer,templates,2,4,sso,price>speed,write-without-clutter,
cy,2026-10-01T10:00:00.250Z,US,product,,7,10,,,,"Two lines:
export to PDF"
dee,2026-10-02T08:00:00Z,Free plan,engineer,comments,5,0,offline>speed,support>speed;price>support,ship-sooner,ok
"#;

fn source(toml: &str) -> ConfiguredSurvey {
    let mut c = Config::parse(toml, Path::new("survey.toml")).expect("survey file parses");
    c.surveys.remove(0)
}

async fn import_into(
    store: &Store,
    toml: &str,
    csv: &str,
    skip_bad: bool,
) -> Result<ImportReport, TransferError> {
    import_source(store, &source(toml), csv, skip_bad).await
}

async fn import_source(
    store: &Store,
    source: &ConfiguredSurvey,
    csv: &str,
    skip_bad: bool,
) -> Result<ImportReport, TransferError> {
    let opts = ImportOptions { skip_bad };
    let now = t0() + chrono::Duration::days(30);
    transfer::import(store, source, csv.as_bytes(), opts, now).await
}

async fn records(store: &Store, slug: &str) -> Vec<ExportRecord> {
    transfer::export_records(store, slug)
        .await
        .expect("export")
        .1
}

async fn csv_of(store: &Store, slug: &str) -> String {
    String::from_utf8(transfer::export_csv(store, slug).await.expect("export")).expect("utf-8")
}

fn lines_and_columns(errors: &[transfer::RowError]) -> Vec<(u64, Option<&str>)> {
    errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect()
}

#[tokio::test]
async fn every_question_type_imports_and_exports_back_to_the_same_file() {
    let t = spawn_app().await;
    let report = import_into(&t.app.store, SURVEY, RESPONSES, false)
        .await
        .expect("imports");
    assert!(report.created);
    assert_eq!(
        (
            report.rows_read,
            report.rows_imported,
            report.rows_skipped,
            report.respondents,
            report.answers
        ),
        (4, 4, 0, 4, 8 + 7 + 4 + 8)
    );
    assert!(
        report
            .summary()
            .contains("rows read: 4, imported: 4, skipped: 0")
    );

    // Stored as the brief says: an imported survey, members on platform "import",
    // answered when submitted, never shown by us.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM surveys WHERE slug = 'feedback' AND source = 'import' AND status = 'open'")
            .await,
        1
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM members WHERE platform = 'import'")
            .await,
        4
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM respondents WHERE platform = 'import' AND segments = '[\"EU\",\"Pro plan\"]'")
            .await,
        1
    );
    assert_eq!(
        t.scalar(
            "SELECT COUNT(*) FROM answers WHERE shown_at IS NOT NULL OR chat_segment IS NOT NULL"
        )
        .await,
        0
    );
    let cy_at = chrono::DateTime::parse_from_rfc3339("2026-10-01T10:00:00.250Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        t.scalar(&format!(
            "SELECT COUNT(*) FROM answers WHERE answered_at = {cy_at}"
        ))
        .await,
        4
    );
    assert_eq!(
        t.current("feedback", "tradeoff").await[0],
        r#"{"kind":"pairwise","value":[["price","speed"]]}"#
    );

    assert_eq!(csv_of(&t.app.store, "feedback").await, RESPONSES);

    let json: serde_json::Value = serde_json::from_slice(
        &transfer::export_json(&t.app.store, "feedback")
            .await
            .expect("json"),
    )
    .expect("valid JSON");
    let first = &json[0];
    assert_eq!(first["respondent"], "ann@example.com");
    assert_eq!(first["submitted_at"], "2026-10-01T09:00:00Z");
    assert_eq!(first["segments"], serde_json::json!(["EU", "Pro plan"]));
    assert_eq!(
        first["answers"]["nps"],
        serde_json::json!({"kind": "scale", "value": 9})
    );
    assert_eq!(
        first["answers"]["next"],
        serde_json::json!({"kind": "ranking", "value": ["speed", "offline"]})
    );
    assert!(
        json[2]["answers"].get("used").is_none(),
        "empty cell, no answer"
    );

    // Round trip: the export imported into a fresh database gives the same current answers.
    let fresh = spawn_app().await;
    let exported = csv_of(&t.app.store, "feedback").await;
    import_into(&fresh.app.store, SURVEY, &exported, false)
        .await
        .expect("re-imports");
    assert_eq!(
        records(&fresh.app.store, "feedback").await,
        records(&t.app.store, "feedback").await
    );
}

#[tokio::test]
async fn a_file_with_bad_rows_imports_nothing_and_names_every_line_and_column() {
    let t = spawn_app().await;
    let csv = "respondent,submitted_at,role,nps,colour\n\
               ann,2026-10-01T09:00:00Z,engineer,9,blue\n\
               bo,2026-10-01T09:10:00Z,astronaut,7,red\n\
               cy,2026-10-01T09:20:00Z,product,11,green\n\
               dee,last tuesday,designer,8,\n";
    let err = import_into(&t.app.store, SURVEY, csv, false)
        .await
        .unwrap_err();
    let TransferError::Rejected {
        rows_read,
        bad_rows,
        skippable,
        errors,
    } = &err
    else {
        panic!("expected a rejection, got {err}");
    };
    assert_eq!((*rows_read, *bad_rows, *skippable), (4, 3, false));
    assert_eq!(
        lines_and_columns(errors),
        [
            (1, Some("colour")),
            (3, Some("role")),
            (4, Some("nps")),
            (5, Some("submitted_at"))
        ]
    );
    let msg = err.to_string();
    for needle in [
        "line 1, column colour: unknown column",
        "line 3, column role: unknown option id \"astronaut\" (this question's options: engineer, designer, product)",
        "line 4, column nps: value 11 is outside 0..10",
        "line 5, column submitted_at: \"last tuesday\" is not an RFC 3339 time",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing from:\n{msg}");
    }
    // Nothing at all: not the survey, not a member, not an event id.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM surveys WHERE slug = 'feedback'")
            .await,
        0
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM members").await, 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 0);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM processed_events WHERE event_id LIKE 'import:%'")
            .await,
        0
    );
    // An unknown column is a header problem: --skip-bad does not get past it.
    let err = import_into(&t.app.store, SURVEY, csv, true)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TransferError::Rejected {
            skippable: false,
            ..
        }
    ));
}

#[tokio::test]
async fn skip_bad_imports_the_good_rows_and_lists_the_bad_ones() {
    let t = spawn_app().await;
    let csv = "respondent,submitted_at,role,nps\n\
               ann,2026-10-01T09:00:00Z,engineer,9\n\
               bo,2026-10-01T09:10:00Z,astronaut,7\n\
               cy,2026-10-01T09:20:00Z,product,11\n\
               dee,last tuesday,designer,8\n\
               eve,2026-10-01T09:40:00Z,designer,\n";
    let err = import_into(&t.app.store, SURVEY, csv, false)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TransferError::Rejected {
            skippable: true,
            bad_rows: 3,
            ..
        }
    ));
    assert!(err.to_string().contains("--skip-bad"), "{err}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 0);

    let report = import_into(&t.app.store, SURVEY, csv, true)
        .await
        .expect("imports the good rows");
    assert_eq!(
        (report.rows_read, report.rows_imported, report.rows_skipped),
        (5, 2, 3)
    );
    assert_eq!(
        lines_and_columns(&report.skipped),
        [
            (3, Some("role")),
            (4, Some("nps")),
            (5, Some("submitted_at"))
        ]
    );
    assert_eq!((report.respondents, report.answers), (2, 3));
    let summary = report.summary();
    assert!(
        summary.contains("skipped line 3, column role: unknown option id"),
        "{summary}"
    );
    assert_eq!(
        t.current("feedback", "role").await,
        [
            r#"{"kind":"choice","value":"designer"}"#,
            r#"{"kind":"choice","value":"engineer"}"#
        ]
    );
}

#[tokio::test]
async fn reimporting_the_same_file_changes_no_current_answers() {
    let t = spawn_app().await;
    // The configured "deep" survey: the import uses the stored survey and keeps its source.
    let deep = t
        .app
        .config
        .surveys
        .iter()
        .find(|c| c.survey.id.as_str() == "deep")
        .expect("the test config has a deep survey")
        .clone();
    let csv = "respondent,submitted_at,plan,nps,compare,tagline,why\n\
               u1,2026-10-01T09:00:00Z,pro,9,speed>price,honest-numbers,Love it\n\
               u2,2026-10-01T09:05:00Z,free,3,price>support,fast-and-simple,\n";
    let first = import_source(&t.app.store, &deep, csv, false)
        .await
        .expect("imports");
    assert!(!first.created);
    assert_eq!(first.rows_imported, 2);
    let before = records(&t.app.store, "deep").await;
    let history = t.scalar("SELECT COUNT(*) FROM answers").await;

    let again = import_source(&t.app.store, &deep, csv, false)
        .await
        .expect("imports");
    assert_eq!(
        (again.rows_imported, again.rows_skipped, again.answers),
        (0, 2, 0)
    );
    assert!(
        again
            .skipped
            .iter()
            .all(|s| s.reason.starts_with("already imported"))
    );
    assert_eq!(records(&t.app.store, "deep").await, before);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, history);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM surveys WHERE slug = 'deep' AND source = 'config'")
            .await,
        1
    );

    // A later submission supersedes the answers it gives; the others stay, history is kept.
    let later = "respondent,submitted_at,nps,why\nu1,2026-10-05T09:00:00Z,10,\n";
    let r = import_source(&t.app.store, &deep, later, false)
        .await
        .expect("imports");
    assert_eq!((r.rows_imported, r.answers), (1, 1));
    let after = records(&t.app.store, "deep").await;
    assert_eq!(after.len(), 2);
    let u1 = after.iter().find(|r| r.respondent == "u1").unwrap();
    assert_eq!(u1.submitted_at.to_rfc3339(), "2026-10-05T09:00:00+00:00");
    let nps = u1.answers.iter().find(|(q, _)| q == "nps").unwrap();
    assert_eq!(nps.1, AnswerValue::Scale(10));
    assert_eq!(
        u1.answers.len(),
        5,
        "unanswered columns keep earlier answers"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, history + 1);
    assert_eq!(t.current("deep", "nps").await.len(), 2);
}

#[tokio::test]
async fn a_respondent_on_two_rows_keeps_the_later_submission() {
    let t = spawn_app().await;
    let csv = "respondent,submitted_at,role,nps\n\
               ann,2026-10-02T09:00:00Z,designer,\n\
               ann,2026-10-01T09:00:00Z,engineer,6\n\
               bo,2026-10-01T09:00:00Z,product,7\n\
               bo,2026-10-01T09:00:00Z,engineer,8\n";
    let r = import_into(&t.app.store, SURVEY, csv, false)
        .await
        .expect("imports");
    assert_eq!(
        r.repeated,
        [
            ("ann".to_string(), vec![2, 3]),
            ("bo".to_string(), vec![4, 5])
        ]
    );
    assert_eq!((r.rows_imported, r.rows_skipped, r.respondents), (3, 1, 2));
    assert_eq!(r.skipped[0].line, 5);
    assert!(
        r.skipped[0]
            .reason
            .contains("same respondent and submitted_at as line 4")
    );
    assert!(r.summary().contains("the later submission wins"));
    let recs = records(&t.app.store, "feedback").await;
    let ann = recs.iter().find(|r| r.respondent == "ann").unwrap();
    // Line 2 is the later submission: its role wins, line 3's NPS stays.
    assert_eq!(
        ann.answers,
        [
            (
                "role".to_string(),
                AnswerValue::Choice(OptionId::parse("designer").unwrap())
            ),
            ("nps".to_string(), AnswerValue::Scale(6)),
        ]
    );
}

#[tokio::test]
async fn an_existing_survey_with_another_shape_is_refused() {
    let t = spawn_app().await;
    let lunch = r#"
[[surveys]]
id = "lunch"
title = "Lunch"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi", "Tacos"]
"#;
    let csv = "respondent,submitted_at,food\nann,2026-10-01T09:00:00Z,pizza\n";
    let err = import_into(&t.app.store, lunch, csv, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"lunch\" already exists with a different shape")
            && err.contains("pizza, sushi, salad in the store but pizza, sushi, tacos in the file"),
        "{err}"
    );
    let as_open = lunch.replace("\"Lunch\"", "\"Lunch\"\nanonymous = true");
    let err = import_into(&t.app.store, &as_open, csv, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not anonymous in the store but anonymous in the file"),
        "{err}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 0);
}

#[tokio::test]
async fn exports_of_anonymous_surveys_carry_no_platform_ids() {
    let t = spawn_app().await;
    let user = "zq7731-unique-person";
    let p = payloads(&t.post("secret").await);
    t.tap(user, group(), &p[0]).await;
    t.tap("alice", group(), &p[1]).await;
    let secret = r#"
[[surveys]]
id = "secret"
title = "Secret ballot"
anonymous = true
[[surveys.questions]]
id = "vote"
type = "single"
text = "Who should lead?"
options = ["Ada", "Grace"]
"#;
    let csv = "respondent,submitted_at,vote\nmx-ann@example.com,2026-10-01T09:00:00Z,ada\n";
    import_into(&t.app.store, secret, csv, false)
        .await
        .expect("imports");
    assert_eq!(t.current("secret", "vote").await.len(), 3);

    let out = csv_of(&t.app.store, "secret").await;
    let json = String::from_utf8(
        transfer::export_json(&t.app.store, "secret")
            .await
            .expect("json"),
    )
    .unwrap();
    for text in [&out, &json] {
        for leak in [user, "alice", "console", "mx-ann"] {
            assert!(!text.contains(leak), "{leak} in export:\n{text}");
        }
    }
    for line in out.lines().skip(1) {
        let who = line.split(',').next().unwrap();
        assert!(
            who.starts_with('r') && who[1..].parse::<u64>().is_ok(),
            "{line}"
        );
    }
    // Imported ids of anonymous surveys are hashed like chat ids, event ids included.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM members").await, 0);
    let dir = t.dir.path().to_path_buf();
    t.app.store.close().await;
    for e in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
        assert!(
            !bytes.windows(6).any(|w| w == b"mx-ann"),
            "respondent id stored"
        );
    }
}

#[tokio::test]
async fn exports_of_chat_answers_name_platform_and_chat_segment_and_round_trip() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    t.tap("bob", group(), &p[2]).await;
    let out = csv_of(&t.app.store, "lunch").await;
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("respondent,submitted_at,segment,food"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].starts_with("console:alice,2026-11-02T09:00:"),
        "{out}"
    );
    assert!(rows[0].ends_with(",chat: community,pizza"), "{out}");
    assert!(
        rows[1].starts_with("console:bob,") && rows[1].ends_with(",salad"),
        "{out}"
    );

    // Into a fresh database, where "lunch" comes from the config: same answers, same export.
    let fresh = spawn_app().await;
    let lunch = r#"
[[surveys]]
id = "lunch"
title = "Lunch"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi", "Salad"]
"#;
    import_into(&fresh.app.store, lunch, &out, false)
        .await
        .expect("imports");
    assert_eq!(csv_of(&fresh.app.store, "lunch").await, out);
}

#[tokio::test]
async fn the_shipped_example_imports_cleanly() {
    let t = spawn_app().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/import");
    let toml = std::fs::read_to_string(dir.join("survey.toml")).unwrap();
    let csv = std::fs::read_to_string(dir.join("responses.csv")).unwrap();
    let r = import_into(&t.app.store, &toml, &csv, false)
        .await
        .expect("the example imports");
    assert_eq!((r.rows_read, r.rows_imported, r.rows_skipped), (12, 12, 0));
    assert!(r.repeated.is_empty());
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM surveys WHERE source = 'import' AND status = 'closed' AND closed_at IS NOT NULL")
            .await,
        1
    );
}

#[test]
fn the_binary_imports_and_exports_a_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("answers.db");
    let survey = dir.path().join("survey.toml");
    let responses = dir.path().join("responses.csv");
    std::fs::write(&survey, SURVEY).unwrap();
    std::fs::write(&responses, RESPONSES).unwrap();
    let canvass = |args: &[&str]| {
        // Run where there is no bot.toml: with --database neither command needs one.
        Command::new(env!("CARGO_BIN_EXE_canvass"))
            .current_dir(dir.path())
            .arg("--database")
            .arg(&db)
            .args(args)
            .output()
            .expect("runs")
    };

    let out = canvass(&[
        "import",
        "--survey",
        "survey.toml",
        "--responses",
        "responses.csv",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("survey feedback (created, source import)")
            && stdout.contains("rows read: 4, imported: 4, skipped: 0")
            && stdout.contains("respondents: 4, answers: 27"),
        "{stdout}"
    );

    let out = canvass(&["export", "feedback", "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), RESPONSES);

    // A bad file fails with the line and column, and a non-zero exit.
    std::fs::write(
        &responses,
        "respondent,submitted_at,nps\nann,2026-10-01T09:00:00Z,11\n",
    )
    .unwrap();
    let out = canvass(&[
        "import",
        "--survey",
        "survey.toml",
        "--responses",
        "responses.csv",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2, column nps: value 11 is outside 0..10"),
        "{stderr}"
    );
}

/// Runs the real binary on a database in `dir`, where there is no bot.toml.
fn run_canvass(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_canvass"))
        .current_dir(dir)
        .arg("--database")
        .arg(dir.join("answers.db"))
        .args(args)
        .output()
        .expect("runs")
}

fn import_file(dir: &Path, csv: &[u8], extra: &[&str]) -> (bool, String, String) {
    std::fs::write(dir.join("survey.toml"), SURVEY).unwrap();
    std::fs::write(dir.join("responses.csv"), csv).unwrap();
    let mut args = vec![
        "import",
        "--survey",
        "survey.toml",
        "--responses",
        "responses.csv",
    ];
    args.extend(extra);
    let out = run_canvass(dir, &args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unclosed_quote_is_refused_at_its_line_and_swallows_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "respondent,submitted_at,role,why\n\
               ann,2026-10-01T09:00:00Z,engineer,fine\n\
               bo,2026-10-01T09:10:00Z,designer,\"oops forgot to close\n\
               cy,2026-10-01T09:20:00Z,product,also fine\n\
               dee,2026-10-01T09:30:00Z,product,\n";
    let (ok, stdout, stderr) = import_file(dir.path(), csv.as_bytes(), &[]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("nothing imported: 1 of 4 rows have errors")
            && stderr.contains(
                "line 3, column why: a quoted field begins on this line and is never closed"
            ),
        "{stderr}"
    );
    // Nothing imported: not even the survey.
    let out = run_canvass(dir.path(), &["export", "feedback", "--format", "csv"]);
    assert!(!out.status.success());

    // --skip-bad imports the rows after it, each on its own; none swallowed into bo's answer.
    let (ok, stdout, stderr) = import_file(dir.path(), csv.as_bytes(), &["--skip-bad"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("rows read: 4, imported: 3, skipped: 1"),
        "{stdout}"
    );
    let out = run_canvass(dir.path(), &["export", "feedback", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json export");
    let who: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["respondent"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["ann", "cy", "dee"]);

    // A quote left open until a later row's quote: caught where it began. A quoted line
    // break in a column that is not open text: refused. In open text: kept.
    let csv = "respondent,submitted_at,role,why\n\
               bo,2026-10-01T09:10:00Z,designer,\"oops forgot to close\n\
               cy,2026-10-01T09:20:00Z,product,\"quoted\"\n\
               dee,2026-10-01T09:30:00Z,\"engineer\n\
               \",ok\n\
               eve,2026-10-01T09:40:00Z,engineer,\"two\n\
               lines, quoted\"\n";
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = import_file(dir.path(), csv.as_bytes(), &[]);
    assert!(!ok, "{stdout}");
    for needle in [
        "nothing imported: 2 of 4 rows have errors",
        "line 2, column why: a quoted field begins on this line, runs to line 3 and has text after its closing quote",
        "line 4, column role: a quoted line break (the field runs from line 4 to 5) is only accepted in an open-text column",
    ] {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from:\n{stderr}"
        );
    }
    let (ok, stdout, stderr) = import_file(dir.path(), csv.as_bytes(), &["--skip-bad"]);
    assert!(
        ok && stdout.contains("rows read: 4, imported: 2"),
        "{stdout}{stderr}"
    );
    let out = run_canvass(dir.path(), &["export", "feedback", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json export");
    let eve = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["respondent"] == "eve")
        .expect("eve imported");
    assert_eq!(eve["answers"]["why"]["value"], "two\nlines, quoted");
}

#[test]
fn future_times_nul_bytes_and_huge_cells_are_refused_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = b"respondent,submitted_at,role,why\n\
                    ann,2999-01-01T00:00:00Z,engineer,from the future\n\
                    bo,2026-10-01T09:10:00Z,designer,nul \x00 inside\n\
                    cy,2026-10-01T09:20:00Z,product,"
        .to_vec();
    csv.extend(std::iter::repeat_n(b'x', 1024 * 1024));
    csv.extend(b"\ndee,2026-10-01T09:30:00Z,product,fine\n");
    let (ok, stdout, stderr) = import_file(dir.path(), &csv, &[]);
    assert!(!ok, "{stdout}");
    for needle in [
        "nothing imported: 3 of 4 rows have errors",
        "line 2, column submitted_at: \"2999-01-01T00:00:00Z\" is in the future",
        "line 3, column why: contains a NUL byte",
        "line 4, column why: is 1048576 bytes long; a cell may hold at most 10240",
    ] {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from:\n{stderr}"
        );
    }
}

/// Answers a spreadsheet would run as formulas, exactly as `canvass export` writes them:
/// every such cell guarded with a `'`, in every column (ids, segments, open text).
const FORMULAS: &str = "respondent,submitted_at,segment,role,used,ease,nps,next,tradeoff,tagline,why\n\
'=cmd|' /C calc'!A0,2026-10-01T09:00:00Z,'@team,engineer,,,,,,,\"'=HYPERLINK(\"\"http://x.example\"\";\"\"click\"\")\"\n\
'+4915100000,2026-10-01T09:10:00Z,'-beta|EU,designer,,,,,,,'-5 stars\n\
'@alice,2026-10-01T09:20:00Z,,product,,,,,,,''=typed with a quote on purpose\n\
bo,2026-10-01T09:30:00Z,,engineer,,,,,,,'cause it's fine\n";

#[test]
fn exports_guard_formula_cells_and_import_them_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = import_file(dir.path(), FORMULAS.as_bytes(), &[]);
    assert!(ok, "{stdout}{stderr}");
    // Stored as typed, without the guard.
    let out = run_canvass(dir.path(), &["export", "feedback", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json export");
    let by = |who: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|r| r["respondent"] == who)
            .cloned()
            .unwrap_or_else(|| panic!("{who} missing from {json}"))
    };
    let cmd = by("=cmd|' /C calc'!A0");
    assert_eq!(
        cmd["answers"]["why"]["value"],
        "=HYPERLINK(\"http://x.example\";\"click\")"
    );
    assert_eq!(cmd["segments"], serde_json::json!(["@team"]));
    let phone = by("+4915100000");
    assert_eq!(phone["answers"]["why"]["value"], "-5 stars");
    assert_eq!(phone["segments"], serde_json::json!(["-beta", "EU"]));
    assert_eq!(
        by("@alice")["answers"]["why"]["value"],
        "'=typed with a quote on purpose"
    );
    assert_eq!(by("bo")["answers"]["why"]["value"], "'cause it's fine");

    // The CSV export guards every such cell: the file it writes is the file it read.
    let out = run_canvass(dir.path(), &["export", "feedback", "--format", "csv"]);
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv, FORMULAS);
    for line in csv.lines() {
        for cell in line.split(',') {
            let c = cell.trim_start_matches('"');
            assert!(
                !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {line:?}"
            );
        }
    }
    // Importing it again changes nothing.
    let (ok, stdout, _) = import_file(dir.path(), csv.as_bytes(), &[]);
    assert!(ok && stdout.contains("imported: 0, skipped: 4"), "{stdout}");
}

#[tokio::test]
async fn chat_export_guards_formula_cells() {
    let t = spawn_app().await;
    import_into(&t.app.store, SURVEY, FORMULAS, false)
        .await
        .expect("imports");
    let out = t.say("pm", dm("pm"), "/export feedback").await;
    let Some(canvass::core::event::Outbound::File { bytes, .. }) = out.first() else {
        panic!("expected a file: {out:?}");
    };
    let csv = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(csv, FORMULAS);
    for guarded in [
        "'=cmd|' /C calc'!A0,",
        "'+4915100000,",
        "'@alice,",
        ",'@team,",
        ",'-beta|EU,",
        "\"'=HYPERLINK(",
        ",'-5 stars",
        ",''=typed with a quote on purpose",
    ] {
        assert!(csv.contains(guarded), "{guarded:?} missing from:\n{csv}");
    }
    for line in csv.lines() {
        for cell in line.split(',') {
            let c = cell.trim_start_matches('"');
            assert!(!c.starts_with(['=', '+', '@']), "{cell:?} in {line:?}");
        }
    }
}
