//! Tests for README and ARCHITECTURE promises that nothing else attacked (docs/promises.md):
//! the shipped config and walkthrough through the real binary, the command-line subcommands,
//! chat commands, configuration keys, locales, and the architecture invariants as source scans.

use crate::support::*;
use canvass::config::Config;
use canvass::core::event::{Body, Inbound, Outbound};
use canvass::core::ids::SurveyKey;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real binary, started in `cwd`, with `stdin` written and closed; waits (with a deadline)
/// for it to exit and returns what it printed.
fn canvass(cwd: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    // CANVASS_BIN runs another build of the binary (e.g. a copy, when a shared target
    // directory is rebuilt underneath the test); by default, the one cargo built for this test.
    let bin =
        std::env::var_os("CANVASS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_canvass").into());
    let mut cmd = Command::new(bin);
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("CANVASS_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("stdin written");
    drop(input);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the binary finished within two minutes")
        .expect("output collected")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temp directory holding `bot.toml` with `config` and the shipped `prompts/` beside it.
fn workdir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bot.toml"), config).expect("config written");
    std::os::unix::fs::symlink(prompts(), dir.path().join("prompts")).expect("prompts linked");
    dir
}

fn event_in(
    t: &TestApp,
    user: &str,
    locale: Option<&str>,
    chat: canvass::core::event::Chat,
    text: &str,
) -> Inbound {
    let mut ev = t.event(user, chat, Body::Text(text.into()));
    ev.actor.locale = locale.map(str::to_string);
    ev
}

// ---------------------------------------------------------------- the shipped config and README

/// README §Run it: on a fresh clone, `canvass run` with the shipped `bot.toml` opens the
/// console on `canvass.db`, and the walkthrough's steps work, saving the insights chart.
#[test]
fn the_shipped_config_runs_the_readme_walkthrough_through_the_binary() {
    let shipped = std::fs::read_to_string(root().join("bot.toml")).expect("shipped bot.toml");
    let dir = workdir(&shipped);
    let script = "/help\n/as pm\n/post next-feature\n/as alex\n2\n/dm\n/start pulse\n/mydata\n\
                  /as pm\n/insights next-feature\n/export pulse\n/quit\n";
    let o = canvass(dir.path(), &["run"], script, &[]);
    let (stdout, stderr) = (out(&o), err(&o));
    assert!(
        o.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        o.status
    );
    assert!(
        dir.path().join("canvass.db").is_file(),
        "the shipped [storage] database is created"
    );
    for want in [
        "/start SURVEY: take a survey privately",
        "You are pm (product team)",
        "Which of these would make the biggest difference for you next?",
        "[2] Offline sync",
        "You are alex",
        "Saved: Offline sync",
        "your private chat with the bot",
        // The shipped persona question comes before alex's first private survey.
        "Which best describes you?",
        "[chart saved: out/insights-next-feature.png]",
        "bye",
    ] {
        assert!(
            stdout.contains(want),
            "missing {want:?} in:\n{stdout}\n{stderr}"
        );
    }
    assert!(!stdout.contains("  ! "), "no step failed:\n{stdout}");
    let png = std::fs::read(dir.path().join("out/insights-next-feature.png")).expect("chart saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(stdout.contains("[file saved: out/pulse.csv"), "{stdout}");
    assert!(dir.path().join("out/pulse.csv").is_file());
    // The tour writes nothing beside bot.toml but the database, its key and `out/` (which
    // the checkout's .gitignore lists).
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !n.starts_with("canvass.db")
                && !["bot.toml", "canvass.key", "prompts", "out"].contains(&n.as_str())
        })
        .collect();
    written.sort();
    assert!(written.is_empty(), "{written:?}");
    let ignored = std::fs::read_to_string(root().join(".gitignore")).expect(".gitignore");
    assert!(ignored.lines().any(|l| l == "/out/"), "{ignored}");
}

/// README §Languages: the shipped `bot.toml` carries both surveys and the persona question
/// in German and Spanish; `canvass check` lists no survey or persona text missing there.
#[test]
fn the_shipped_config_is_fully_worded_in_german_and_spanish() {
    let shipped = std::fs::read_to_string(root().join("bot.toml")).expect("shipped bot.toml");
    let cfg = Config::parse(&shipped, Path::new("bot.toml")).expect("shipped config parses");
    assert_eq!(cfg.surveys.len(), 2, "both surveys");
    for s in &cfg.surveys {
        for l in ["de", "es"] {
            assert!(s.locales.contains_key(l), "survey {} in {l}", s.survey.id);
        }
    }
    let persona = cfg.persona.as_ref().expect("a persona question");
    for l in ["de", "es"] {
        assert!(persona.locales.contains_key(l), "persona in {l}");
    }
    let dir = workdir(&shipped);
    let o = canvass(dir.path(), &["check"], "", &[]);
    let stdout = out(&o);
    assert!(o.status.success(), "{stdout}\n{}", err(&o));
    let gaps: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("- survey ") || l.contains("persona"))
        .collect();
    assert!(
        gaps.is_empty(),
        "untranslated survey texts: {gaps:?}\n{stdout}"
    );
}

/// README §Run it: `cargo run --example demo_report` writes a 240-respondent report in every
/// format. The example's body runs here against a temp directory.
#[test]
fn the_demo_report_example_writes_every_format_for_240_respondents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("demo-report");
    crate::demo_report::write(&prompts(), &out, "en").expect("the example runs");
    for f in [
        "report.txt",
        "report.md",
        "report.html",
        "report.json",
        "chart.png",
    ] {
        let bytes = std::fs::read(out.join(f)).unwrap_or_default();
        assert!(!bytes.is_empty(), "{f} written");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("json"))
            .expect("valid JSON");
    assert_eq!(json["survey"]["respondents"], 240, "{json:#}");
    let png = std::fs::read(out.join("chart.png")).expect("chart");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
}

// ---------------------------------------------------------------- command-line subcommands

const CLI_CONFIG: &str = r#"
[team]
console = ["pm"]

[segments.chats]
"community" = "Main chat"

[[surveys]]
id = "lunch"
title = "Lunch"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi", "Salad"]

[[surveys]]
id = "later"
title = "Later"
status = "draft"
[[surveys.questions]]
id = "when"
type = "single"
text = "When?"
options = ["Soon", "Never"]

[[surveys]]
id = "done"
title = "Done already"
status = "closed"
[[surveys.questions]]
id = "ok"
type = "rating"
text = "Was it fine?"
scale = 5
"#;

/// README §Commands: `migrate` applies every migration, and again changes nothing.
#[tokio::test]
async fn migrate_applies_every_migration_and_is_repeatable() {
    let dir = workdir(CLI_CONFIG);
    let files = std::fs::read_dir(root().join("migrations"))
        .expect("migrations")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "sql"))
        .count();
    for _ in 0..2 {
        let o = canvass(dir.path(), &["--database", "m.db", "migrate"], "", &[]);
        assert!(o.status.success(), "{}", err(&o));
        assert!(
            out(&o).contains(&format!("is at migration {files}")),
            "{}",
            out(&o)
        );
    }
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("m.db").display()))
            .await
            .expect("db opens");
    let (applied,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&pool)
            .await
            .expect("migrations table");
    assert_eq!(applied as usize, files);
    for table in [
        "surveys",
        "answers",
        "members",
        "respondents",
        "digest_deliveries",
    ] {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
                .bind(table)
                .fetch_one(&pool)
                .await
                .expect("schema");
        assert_eq!(n, 1, "table {table}");
    }
}

/// README §Commands: `surveys` lists every survey with its status and respondents;
/// `surveys ID` shows one with its questions; an unknown id fails.
#[tokio::test]
async fn surveys_lists_status_and_respondents_and_shows_one() {
    let t = spawn_app_with(CLI_CONFIG).await;
    let kb = t.post("lunch").await;
    let sushi = payloads(&kb)[1].clone();
    for u in ["ana", "ben"] {
        t.tap(u, group(), &sushi).await;
    }
    t.app.store.close().await;
    let dir = workdir(CLI_CONFIG);
    let db = t.db.display().to_string();
    let o = canvass(dir.path(), &["--database", &db, "surveys"], "", &[]);
    let list = out(&o);
    assert!(o.status.success(), "{}", err(&o));
    for want in [
        "lunch Lunch: open, 2 respondents",
        "later Later: draft, 0 respondents",
        "done Done already: closed, 0 respondents",
    ] {
        assert!(list.contains(want), "missing {want:?} in:\n{list}");
    }
    let o = canvass(
        dir.path(),
        &["--database", &db, "surveys", "lunch"],
        "",
        &[],
    );
    let one = out(&o);
    assert!(o.status.success(), "{}", err(&o));
    for want in [
        "Lunch",
        "open",
        "2 people have answered",
        "What should we order?",
        "Salad (salad)",
    ] {
        assert!(one.contains(want), "missing {want:?} in:\n{one}");
    }
    assert!(!one.contains("When?"), "only the one survey:\n{one}");
    let o = canvass(dir.path(), &["--database", &db, "surveys", "nope"], "", &[]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("no survey with id \"nope\""),
        "{}",
        err(&o)
    );
}

/// README §Commands and §Configuration: `[segments] chats` turns a chat id into a named
/// segment; `insights --segment NAME` reports on that segment only, `--chart` writes the PNG,
/// and a segment under `min_size` is not reported.
#[tokio::test]
async fn insights_by_segment_with_a_chart_through_the_binary() {
    let t = spawn_app_with(CLI_CONFIG).await;
    let kb = t.post("lunch").await;
    let p = payloads(&kb);
    let other = canvass::core::event::Chat {
        id: "side-room".into(),
        kind: canvass::core::event::ChatKind::Group,
        title: Some("Side room".into()),
    };
    let tiny = canvass::core::event::Chat {
        id: "tiny-room".into(),
        kind: canvass::core::event::ChatKind::Group,
        title: Some("Tiny room".into()),
    };
    t.say("pm", other.clone(), "/post lunch").await;
    t.say("pm", tiny.clone(), "/post lunch").await;
    for i in 0..12 {
        t.tap(&format!("main{i}"), group(), &p[0]).await;
    }
    for i in 0..11 {
        t.tap(&format!("side{i}"), other.clone(), &p[1]).await;
    }
    for i in 0..4 {
        t.tap(&format!("tiny{i}"), tiny.clone(), &p[2]).await;
    }
    let segs: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT chat_segment FROM answers")
        .fetch_all(t.app.store.pool())
        .await
        .expect("segments");
    let segs: Vec<String> = segs.into_iter().map(|r| r.0).collect();
    assert!(segs.iter().any(|s| s.contains("Main chat")), "{segs:?}");
    assert!(
        !segs.iter().any(|s| s.contains("chat: community")),
        "{segs:?}"
    );
    assert!(
        segs.iter().any(|s| s.contains("chat: Side room")),
        "{segs:?}"
    );
    t.app.store.close().await;

    let dir = workdir(CLI_CONFIG);
    let db = t.db.display().to_string();
    let o = canvass(
        dir.path(),
        &[
            "--database",
            &db,
            "insights",
            "lunch",
            "--segment",
            "Main chat",
            "--format",
            "json",
            "--chart",
            "c.png",
        ],
        "",
        &[],
    );
    assert!(o.status.success(), "{}", err(&o));
    let json: serde_json::Value = serde_json::from_str(&out(&o)).expect("JSON report");
    assert_eq!(
        json["survey"]["respondents"], 12,
        "only the segment: {json:#}"
    );
    assert_eq!(json["questions"][0]["n"], 12, "only the segment: {json:#}");
    assert_eq!(json["segment_filter"], "Main chat", "{json:#}");
    let png = std::fs::read(dir.path().join("c.png")).expect("chart written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let o = canvass(
        dir.path(),
        &[
            "--database",
            &db,
            "insights",
            "lunch",
            "--segment",
            "chat: Tiny room",
            "--format",
            "json",
        ],
        "",
        &[],
    );
    let text = out(&o);
    assert!(o.status.success(), "{}", err(&o));
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    assert_ne!(
        json["survey"]["respondents"], 4,
        "a segment of four is not reported: {json:#}"
    );
    assert_ne!(
        json["questions"][0]["n"], 4,
        "a segment of four is not reported: {json:#}"
    );
}

/// README §Operating (reload): a poll already posted keeps the meaning of its buttons. Buttons
/// carry option positions, so a reload that reorders the options of a posted survey (no
/// answers yet) is refused and reported, and a tap on the old message saves what the member
/// saw; a new option at the end is taken.
#[tokio::test]
async fn a_reload_never_moves_the_options_under_a_posted_poll() {
    let t = spawn_app_with(CLI_CONFIG).await;
    let kb = t.post("lunch").await;
    let path = t.dir.path().join("test.toml");

    let swapped = CLI_CONFIG.replace(
        r#"["Pizza", "Sushi", "Salad"]"#,
        r#"["Sushi", "Pizza", "Salad"]"#,
    );
    std::fs::write(&path, &swapped).expect("write config");
    let changes = canvass::operate::reload(&t.app).await.expect("reload runs");
    assert!(
        changes.iter().any(|c| c == "survey lunch kept as stored"),
        "{changes:?}"
    );
    let saved = t.text(&t.tap("ana", group(), &payloads(&kb)[0]).await);
    assert!(
        saved.contains("Pizza") && !saved.contains("Sushi"),
        "the first button said Pizza: {saved}"
    );

    // An option added at the end moves nothing: taken.
    let grown = CLI_CONFIG.replace(
        r#"["Pizza", "Sushi", "Salad"]"#,
        r#"["Pizza", "Sushi", "Salad", "Tacos"]"#,
    );
    std::fs::write(&path, &grown).expect("write config");
    let changes = canvass::operate::reload(&t.app).await.expect("reload runs");
    assert!(
        changes.iter().any(|c| c == "changed surveys: lunch"),
        "{changes:?}"
    );
    let stored = t.app.store.survey_by_slug("lunch").await.expect("read");
    let options = stored.expect("lunch stored").survey.questions[0]
        .kind
        .options()
        .len();
    assert_eq!(options, 4);
}

/// README §Operating (reload): a member in the middle of a survey (not posted, no answers yet)
/// keeps the meaning of the step they hold: removing the question before it is refused, and
/// their tap saves what they saw.
#[tokio::test]
async fn a_reload_never_changes_the_step_a_member_is_on() {
    const TWO: &str = r#"
[team]
console = ["pm"]

[[surveys]]
id = "two"
title = "Two steps"
[[surveys.questions]]
id = "first"
type = "single"
text = "First?"
options = ["Apple", "Banana"]
[[surveys.questions]]
id = "second"
type = "rating"
text = "Second?"
scale = 5
"#;
    let t = spawn_app_with(TWO).await;
    let out = t.say("ana", dm("ana"), "/start two").await;
    let kb = last_keyboard(&out);
    let without_first = TWO.replace(
        "[[surveys.questions]]\nid = \"first\"\ntype = \"single\"\ntext = \"First?\"\noptions = [\"Apple\", \"Banana\"]\n",
        "",
    );
    assert_ne!(without_first, TWO);
    std::fs::write(t.dir.path().join("test.toml"), &without_first).expect("write config");
    let changes = canvass::operate::reload(&t.app).await.expect("reload runs");
    assert!(
        changes.iter().any(|c| c == "survey two kept as stored"),
        "{changes:?}"
    );
    let stored = t.app.store.survey_by_slug("two").await.expect("read");
    assert_eq!(stored.expect("stored").survey.questions.len(), 2);
    let saved = t.text(&t.tap("ana", dm("ana"), &payloads(&kb)[0]).await);
    assert!(saved.contains("Second?"), "the flow goes on: {saved}");
}

/// What a start does with the edited `bot.toml` (`migrate` starts as `run` does and logs the
/// sync; the read-only `surveys` brings nothing in), then the stored survey as `surveys`
/// shows it: (its standard output, the start's log).
fn start_then_show(dir: &Path, db: &str) -> (String, String) {
    let started = canvass(dir, &["--database", db, "migrate"], "", &[]);
    assert!(started.status.success(), "{}", err(&started));
    let shown = canvass(dir, &["--database", db, "surveys", "lunch"], "", &[]);
    assert!(shown.status.success(), "{}", err(&shown));
    (out(&shown), err(&started))
}

/// README §Configuration: once a survey has answers its ids, types and option ids cannot
/// change; the start-up log says so and the stored version is kept. Wording may change.
#[tokio::test]
async fn a_survey_with_answers_keeps_its_shape_and_the_log_says_so() {
    let t = spawn_app_with(CLI_CONFIG).await;
    let kb = t.post("lunch").await;
    t.tap("ana", group(), &payloads(&kb)[0]).await;
    t.app.store.close().await;
    let db = t.db.display().to_string();

    // A new option changes the shape: refused, the stored options stay.
    let reshaped = CLI_CONFIG.replace(
        r#"["Pizza", "Sushi", "Salad"]"#,
        r#"["Pizza", "Sushi", "Tacos"]"#,
    );
    let dir = workdir(&reshaped);
    let o = start_then_show(dir.path(), &db);
    let (stdout, stderr) = o;
    assert!(
        stderr.contains("kept the stored definition"),
        "log: {stderr}"
    );
    assert!(
        stderr.contains("lunch"),
        "the log names the survey: {stderr}"
    );
    assert!(
        stdout.contains("Salad (salad)") && !stdout.contains("Tacos"),
        "{stdout}"
    );

    // A type change is refused too.
    let retyped = CLI_CONFIG.replace(
        "type = \"single\"\ntext = \"What should we order?\"",
        "type = \"multi\"\ntext = \"What should we order?\"",
    );
    assert_ne!(retyped, CLI_CONFIG);
    let dir = workdir(&retyped);
    let o = start_then_show(dir.path(), &db);
    assert!(o.1.contains("kept the stored definition"), "{}", o.1);
    assert!(o.0.contains("[single]"), "{}", o.0);

    // New wording with the same ids is taken.
    let reworded = CLI_CONFIG.replace("What should we order?", "What shall we eat?");
    let dir = workdir(&reworded);
    let o = start_then_show(dir.path(), &db);
    assert!(!o.1.contains("kept the stored definition"), "{}", o.1);
    assert!(o.0.contains("What shall we eat?"), "{}", o.0);
}

/// README §Configuration: `canvass check` lists, per locale, what falls back to the default
/// text, without failing.
#[test]
fn check_lists_what_each_locale_is_missing() {
    let config = r#"
[[surveys]]
id = "lunch"
title = "Lunch"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi"]
[[surveys.questions]]
id = "drink"
type = "single"
text = "And to drink?"
options = ["Water", "Juice"]

[surveys.locales.de]
title = "Mittagessen"
[surveys.locales.de.questions.food]
text = "Was bestellen wir?"
options = { pizza = "Pizza" }

[[surveys]]
id = "other"
title = "Other"
[[surveys.questions]]
id = "q"
type = "single"
text = "Yes?"
options = ["Yes", "No"]
"#;
    let dir = workdir(config);
    let o = canvass(dir.path(), &["check"], "", &[]);
    let stdout = out(&o);
    assert!(
        o.status.success(),
        "gaps are listed, not failed: {stdout}\n{}",
        err(&o)
    );
    // `LOCALE: falls back to the default for` and its `  - ` lines.
    let section = |locale: &str| -> String {
        let head = format!("{locale}: falls back to the default for");
        let mut lines = stdout.lines().skip_while(|l| *l != head);
        assert!(lines.next().is_some(), "no section for {locale}:\n{stdout}");
        lines
            .take_while(|l| l.starts_with("  - "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let de = section("de");
    assert!(de.contains("survey lunch") && de.contains("sushi"), "{de}");
    assert!(de.contains("drink"), "the untranslated question: {de}");
    assert!(de.contains("survey other: every text"), "{de}");
    assert!(!de.contains("title"), "the title is translated: {de}");
    let es = section("es");
    assert!(es.contains("survey lunch: every text"), "{es}");
}

// ---------------------------------------------------------------- chat commands

const CHAT_CONFIG: &str = r#"
[team]
console = ["pm"]
locale = "de"

[[surveys]]
id = "lunch"
title = "Lunch"
results = "live"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi", "Salad"]
[surveys.locales.de]
title = "Mittag"
[surveys.locales.de.questions.food]
text = "Was bestellen wir?"
options = { pizza = "Pizza", sushi = "Sushi" }

[[surveys]]
id = "drafty"
title = "Drafty"
status = "draft"
[[surveys.questions]]
id = "q"
type = "single"
text = "Q?"
options = ["A", "B"]

[[surveys]]
id = "shut"
title = "Shut"
status = "closed"
[[surveys.questions]]
id = "q"
type = "single"
text = "Q?"
options = ["A", "B"]

[[surveys]]
id = "expired"
title = "Expired"
closes_at = "2026-10-01T00:00:00Z"
[[surveys.questions]]
id = "q"
type = "single"
text = "Q?"
options = ["A", "B"]

[[surveys]]
id = "upcoming"
title = "Upcoming"
opens_at = "2027-01-01T00:00:00Z"
[[surveys.questions]]
id = "q"
type = "single"
text = "Q?"
options = ["A", "B"]

[[surveys]]
id = "deep"
title = "Deep dive"
[[surveys.questions]]
id = "plan"
type = "single"
text = "Which plan are you on?"
options = ["Free", "Pro"]
[[surveys.questions]]
id = "why"
type = "open_text"
text = "Why that plan?"
max_chars = 200
[[surveys.questions]]
id = "more"
type = "single"
text = "Anything more?"
options = ["Yes", "No"]
"#;

/// README §Commands: `/surveys` shows members only open surveys (no drafts, nothing closed,
/// nothing not yet open or past its closing time); the team sees every one.
#[tokio::test]
async fn surveys_shows_members_only_open_ones_and_the_team_all() {
    let t = spawn_app_with(CHAT_CONFIG).await;
    let member = t.text(&t.say("alice", dm("alice"), "/surveys").await);
    for open in ["Deep dive", "lunch"] {
        assert!(member.contains(open), "{open} missing:\n{member}");
    }
    for hidden in ["drafty", "shut", "expired", "upcoming"] {
        assert!(
            !member.contains(hidden),
            "{hidden} shown to a member:\n{member}"
        );
    }
    let team = t.text(&t.say("pm", dm("pm"), "/surveys").await);
    for id in ["lunch", "deep", "drafty", "shut", "expired", "upcoming"] {
        assert!(team.contains(id), "{id} missing for the team:\n{team}");
    }
}

/// README §Commands: `/cancel` stops the survey being taken, keeping the answers given.
#[tokio::test]
async fn cancel_stops_the_survey_and_keeps_the_answers_given() {
    let t = spawn_app_with(CHAT_CONFIG).await;
    let out = t.say("bob", dm("bob"), "/start deep").await;
    let kb = last_keyboard(&out);
    t.tap("bob", dm("bob"), &payloads(&kb)[1]).await;
    let out = t.say("bob", dm("bob"), "Because of the price").await;
    assert!(t.text(&out).contains("Anything more?"), "{}", t.text(&out));
    let out = t.say("bob", dm("bob"), "/cancel").await;
    assert!(t.text(&out).contains("Deep dive"), "{}", t.text(&out));
    let plan = t.current("deep", "plan").await;
    assert!(plan.len() == 1 && plan[0].contains("\"pro\""), "{plan:?}");
    assert_eq!(
        t.current("deep", "why").await.len(),
        1,
        "the text answer is kept"
    );
    assert!(t.current("deep", "more").await.is_empty());
    // Nothing is running any more: the next text answers nothing, /cancel has nothing to stop.
    t.say("bob", dm("bob"), "Another text").await;
    assert_eq!(t.current("deep", "why").await.len(), 1);
    let again = t.text(&t.say("bob", dm("bob"), "/cancel").await);
    assert!(!again.contains("Deep dive"), "{again}");
    // And the kept answers survive a restart.
    let t = t.restart().await;
    assert_eq!(t.current("deep", "plan").await.len(), 1);
    assert_eq!(t.current("deep", "why").await.len(), 1);
}

/// README §Configuration and ARCHITECTURE (locales): polls posted in a group use
/// `[team] locale`, whoever posts them, with its translated text and its template.
#[tokio::test]
async fn polls_posted_in_a_group_use_the_team_locale() {
    let t = spawn_app_with(CHAT_CONFIG).await;
    let ev = event_in(&t, "pm", Some("en-GB"), group(), "/post lunch");
    let out = t.send(&ev).await.replies().to_vec();
    let Some(Outbound::PostPoll { msg, .. }) = out.first() else {
        panic!("a poll: {out:?}")
    };
    assert_eq!(msg.locale.as_deref(), Some("de"));
    let text = t.text(&out);
    assert!(text.contains("Was bestellen wir?"), "{text}");
    assert!(text.contains("geantwortet"), "the German template: {text}");
    assert!(!text.contains("What should we order?"), "{text}");
    let view = t
        .app
        .service
        .poll_view(match out.first() {
            Some(Outbound::PostPoll { survey, .. }) => *survey,
            _ => unreachable!(),
        })
        .await
        .expect("poll view")
        .expect("the poll");
    assert_eq!(
        view.0.locale.as_deref(),
        Some("de"),
        "refreshes stay German"
    );
}

/// README §Configuration: survey text missing in a locale falls back to the default text,
/// piece by piece.
#[tokio::test]
async fn survey_text_missing_in_a_locale_falls_back_to_the_default() {
    let t = spawn_app_with(CHAT_CONFIG).await;
    let ev = event_in(&t, "dora", Some("de-AT"), dm("dora"), "/survey lunch");
    let text = t.text(t.send(&ev).await.replies());
    assert!(text.contains("Mittag"), "translated title: {text}");
    assert!(
        text.contains("Was bestellen wir?"),
        "translated question: {text}"
    );
    assert!(
        text.contains("Salad"),
        "the untranslated option falls back: {text}"
    );
    let ev = event_in(&t, "dora", Some("de-AT"), dm("dora"), "/survey deep");
    let text = t.text(t.send(&ev).await.replies());
    assert!(
        text.contains("Deep dive") && text.contains("Which plan are you on?"),
        "{text}"
    );
}

/// README §Configuration: `results = "live"` shows the tallies on the posted poll while it
/// is open; the default (`after_close`) keeps them hidden until it closes.
#[tokio::test]
async fn live_results_show_tallies_while_open_and_after_close_hides_them() {
    let config = CHAT_CONFIG.replace("locale = \"de\"", "locale = \"en\"");
    let t = spawn_app_with(&config).await;
    let kb = t.post("lunch").await;
    let p = payloads(&kb);
    for u in ["a1", "a2", "a3"] {
        t.tap(u, group(), &p[1]).await;
    }
    t.tap("a4", group(), &p[0]).await;
    let key = live_key(&t, "lunch").await;
    let (msg, _) = t
        .app
        .service
        .poll_view(key)
        .await
        .expect("view")
        .expect("poll");
    let live = t
        .app
        .renderer
        .render(canvass::render::Target::Plain, &msg)
        .expect("renders");
    assert!(
        !live.contains("Results are shown when the poll closes"),
        "{live}"
    );
    assert!(live.contains("Sushi: 3 (75%)"), "live tallies: {live}");
    assert!(live.contains("Pizza: 1 (25%)"), "live tallies: {live}");
    assert!(live.contains("Salad: 0 (0%)"), "live tallies: {live}");

    // The same survey with the default visibility shows no tallies while open.
    let hidden = config.replace("results = \"live\"\n", "");
    let t = spawn_app_with(&hidden).await;
    let kb = t.post("lunch").await;
    let p = payloads(&kb);
    for u in ["a1", "a2", "a3"] {
        t.tap(u, group(), &p[1]).await;
    }
    let key = live_key(&t, "lunch").await;
    let (msg, _) = t
        .app
        .service
        .poll_view(key)
        .await
        .expect("view")
        .expect("poll");
    let text = t
        .app
        .renderer
        .render(canvass::render::Target::Plain, &msg)
        .expect("renders");
    assert!(
        text.contains("Results are shown when the poll closes"),
        "{text}"
    );
    assert!(!text.contains("100"), "no share shown: {text}");
    // Closed, the default shows them.
    t.say("pm", group(), "/close lunch").await;
    let (msg, _) = t
        .app
        .service
        .poll_view(key)
        .await
        .expect("view")
        .expect("poll");
    let text = t
        .app
        .renderer
        .render(canvass::render::Target::Plain, &msg)
        .expect("renders");
    assert!(text.contains("Sushi: 3 (100%)"), "{text}");
}

async fn live_key(t: &TestApp, slug: &str) -> SurveyKey {
    t.app
        .store
        .survey_by_slug(slug)
        .await
        .expect("store")
        .expect("survey")
        .key
}

/// README §Commands: the console's `/dm`, `/group`, `/whoami` and `#MESSAGE.BUTTON`.
#[tokio::test]
async fn console_switches_chats_and_taps_a_button_of_an_older_message() {
    let t = spawn_app().await;
    let mut c = t.app.console();
    c.line("/as pm").await.expect("line");
    let first = c.line("/post lunch").await.expect("line");
    assert!(first.contains("#1"), "{first}");
    let second = c.line("/post tools").await.expect("line");
    assert!(second.contains("#2"), "{second}");
    c.line("/as carol").await.expect("line");
    let who = c.line("/whoami").await.expect("line");
    assert!(who.contains("You are carol, in the group"), "{who}");
    // #1.2 taps the second button of message 1, not of the latest message.
    let out = c.line("#1.2").await.expect("line");
    assert!(out.contains("Saved: Sushi"), "{out}");
    let food = t.current("lunch", "food").await;
    assert!(food.len() == 1 && food[0].contains("\"sushi\""), "{food:?}");
    assert!(t.current("tools", "use").await.is_empty());
    let out = c.line("#9.1").await.expect("line");
    assert!(!out.contains("Saved"), "no message 9: {out}");
    let dm_out = c.line("/dm").await.expect("line");
    assert!(
        dm_out.contains("your private chat with the bot"),
        "{dm_out}"
    );
    // The group's buttons are not in the private chat.
    let out = c.line("#1.1").await.expect("line");
    assert!(!out.contains("Saved"), "{out}");
    assert_eq!(t.current("lunch", "food").await, food);
    let back = c.line("/group").await.expect("line");
    assert!(back.contains("in the group"), "{back}");
    let out = c.line("#1.1").await.expect("line");
    assert!(out.contains("Changed to: Pizza"), "{out}");
    let food = t.current("lunch", "food").await;
    assert!(food.len() == 1 && food[0].contains("\"pizza\""), "{food:?}");
}

/// README §Languages: a new `prompts/<locale>/` folder adds a locale; members whose platform
/// speaks it get its templates, others do not, and what it lacks falls back to English.
#[tokio::test]
async fn a_new_prompts_folder_adds_a_locale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("prompts");
    copy_dir(&prompts(), &copy);
    let help = std::fs::read_to_string(prompts().join("help.hbs")).expect("help.hbs");
    std::fs::create_dir(copy.join("pt-BR")).expect("folder");
    std::fs::write(copy.join("pt-BR/help.hbs"), format!("OLÁ-PT-BR\n{help}")).expect("written");
    let t = spawn_app_with_prompts(CONFIG, copy).await;
    let ask = |user: &str, locale: &str| event_in(&t, user, Some(locale), dm(user), "/help");
    let pt = t.text(t.send(&ask("rui", "pt-BR")).await.replies());
    assert!(pt.contains("OLÁ-PT-BR"), "{pt}");
    let en = t.text(t.send(&ask("amy", "en-US")).await.replies());
    assert!(!en.contains("OLÁ-PT-BR"), "{en}");
    // pt-BR lacks every other template: they fall back to English.
    let s = t.text(
        t.send(&event_in(
            &t,
            "rui",
            Some("pt-BR"),
            dm("rui"),
            "/survey lunch",
        ))
        .await
        .replies(),
    );
    assert!(
        s.contains("What should we order?") && s.contains("people have answered"),
        "{s}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

// ---------------------------------------------------------------- what is stored

/// README §What is stored: deleting a `surveys` row deletes its answers (and respondents,
/// postings, drafts and flows) by cascade, with foreign keys on as the README says.
#[tokio::test]
async fn deleting_a_survey_row_cascades_to_its_answers() {
    let t = spawn_app().await;
    let kb = t.post("lunch").await;
    t.tap("ana", group(), &payloads(&kb)[0]).await;
    let out = t.say("ben", dm("ben"), "/start deep").await;
    t.tap("ben", dm("ben"), &payloads(&last_keyboard(&out))[0])
        .await;
    let kb = t.post("deep").await;
    assert!(!kb.rows.is_empty());
    t.app.store.close().await;

    // As an operator would, with a plain connection and the pragma the README names.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        t.db.display()
    ))
    .await
    .expect("db opens");
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut conn)
        .await
        .expect("pragma");
    let before: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM answers")
        .fetch_one(&mut conn)
        .await
        .expect("answers");
    assert!(before.0 >= 2, "{before:?}");
    let flows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM flows")
        .fetch_one(&mut conn)
        .await
        .expect("flows");
    assert!(flows.0 >= 1, "a survey in progress to cascade: {flows:?}");
    sqlx::query("DELETE FROM surveys WHERE slug IN ('lunch', 'deep')")
        .execute(&mut conn)
        .await
        .expect("delete");
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table'
           AND EXISTS (SELECT 1 FROM pragma_foreign_key_list(m.name) f
                        WHERE f.\"table\" IN ('surveys', 'respondents'))",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables referencing surveys");
    let tables: Vec<String> = tables.into_iter().map(|r| r.0).collect();
    for t in ["respondents", "answers", "drafts", "flows", "postings"] {
        assert!(
            tables.contains(&t.to_string()),
            "{t} not linked: {tables:?}"
        );
    }
    for table in &tables {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM \"{table}\""))
            .fetch_one(&mut conn)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table} keeps rows of a deleted survey");
    }
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM answers")
        .fetch_one(&mut conn)
        .await
        .expect("answers");
    assert_eq!(n, 0, "answers cascade");
}

/// README §What is stored: logs never carry answers or names, even at `CANVASS_LOG=trace`.
#[test]
fn logs_never_carry_answers_or_names_even_at_trace() {
    let config = r#"
[team]
console = ["pm"]
[console]
user = "pm"
chat = "community"
[[surveys]]
id = "note"
title = "Note"
[[surveys.questions]]
id = "pick"
type = "single"
text = "Pick one"
options = ["Zanzibarquux", "Other"]
[[surveys.questions]]
id = "text"
type = "open_text"
text = "Tell us"
max_chars = 200
"#;
    let dir = workdir(config);
    let name = "Wilhelmina-Xyzzyq";
    let answer = "purple elephants 4711 qwertzuiop";
    let script = format!(
        "/post note\n/as {name}\n1\n1\n{answer}\n/mydata\n/as pm\n/insights note\n/export note\n/quit\n"
    );
    let o = canvass(
        dir.path(),
        &["run"],
        &script,
        &[("CANVASS_LOG", "trace"), ("RUST_LOG", "trace")],
    );
    let (stdout, stderr) = (out(&o), err(&o));
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains(answer),
        "the answer was given and saved:\n{stdout}"
    );
    assert!(stdout.contains(name), "the name was used:\n{stdout}");
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "verbose logs on:\n{stderr}"
    );
    for needle in [
        name,
        "Xyzzyq",
        answer,
        "qwertzuiop",
        "Zanzibarquux",
        "zanzibarquux",
    ] {
        let at = stderr.find(needle).map(|i| {
            stderr
                .get(i.saturating_sub(300)..(i + needle.len()).min(stderr.len()))
                .unwrap_or(needle)
                .to_string()
        });
        assert!(
            at.is_none(),
            "{needle:?} in the log: …{}…",
            at.unwrap_or_default()
        );
    }
}

// ---------------------------------------------------------------- architecture invariants

/// Every `.rs` file under `dir` (from the repo root), with its text up to its test module.
fn sources(dir: &str) -> Vec<(String, String)> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join(dir), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("source");
            let code = match text.find("#[cfg(test)]") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            let rel = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            (rel, code)
        })
        .collect()
}

/// The code of a source file without its comments (line and block), string contents kept.
fn strip_comments(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while !rest.is_empty() {
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            rest = &rest[end..];
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map(|e| e + 2).unwrap_or(rest.len());
            rest = &rest[end..];
        } else if let Some((lit, after)) = string_literal(rest) {
            out.push_str(&rest[..rest.len() - after.len()]);
            let _ = lit;
            rest = after;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A string literal (`"…"`, `r"…"`, `r#"…"#`) at the start of `s`: its contents and the rest.
fn string_literal(s: &str) -> Option<(&str, &str)> {
    if let Some(body) = s.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return Some((&body[..i], &body[i + 1..])),
                _ => {}
            }
        }
        return Some((body, ""));
    }
    let raw = s.strip_prefix('r')?;
    let hashes = raw.len() - raw.trim_start_matches('#').len();
    let body = raw[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = body.find(&close)?;
    Some((&body[..end], &body[end + close.len()..]))
}

/// Every string literal in the code (comments skipped), with its line number.
fn literals(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    let line_of = |rest: &str| code[..code.len() - rest.len()].matches('\n').count() + 1;
    while !rest.is_empty() {
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            rest = &rest[end..];
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map(|e| e + 2).unwrap_or(rest.len());
            rest = &rest[end..];
        } else if rest.starts_with('\'') && rest[1..].chars().nth(1) == Some('\'') {
            // A char literal such as '"'.
            let n = rest[1..].chars().next().map(char::len_utf8).unwrap_or(1);
            rest = &rest[2 + n..];
        } else if rest.starts_with("'\\") {
            let end = rest[2..].find('\'').map(|e| e + 3).unwrap_or(rest.len());
            rest = &rest[end..];
        } else if let Some((lit, after)) = {
            // Only a literal, not the r of an identifier such as `for"`.
            let prev = code[..code.len() - rest.len()].chars().next_back();
            if prev.is_some_and(|c| c.is_alphanumeric() || c == '_') && rest.starts_with('r') {
                None
            } else {
                string_literal(rest)
            }
        } {
            out.push((line_of(rest), lit.to_string()));
            rest = after;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// ARCHITECTURE invariant (pure core): the pure crate (`crates/canvass-core`: core, insight,
/// event, locale, schedule) imports no platform, database, template, HTTP or async-runtime
/// crate, nor the modules that do I/O, and reads no clock, file, network, environment or
/// randomness.
#[test]
fn the_core_and_insight_engine_import_no_io_and_read_no_clock() {
    let forbidden = [
        "serenity",
        "teloxide",
        "poise",
        "sqlx",
        "handlebars",
        "reqwest",
        "tokio",
        "hyper",
        "axum",
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "std::io::stdin",
        "File::",
        "Utc::now",
        "Local::now",
        "SystemTime",
        "Instant::now",
        "getrandom",
        "thread_rng",
        "rand::",
        "crate::store",
        "crate::render",
        "crate::platform",
        "crate::service",
        "crate::narrative",
        "crate::digest",
        "crate::app",
        "crate::transfer",
        "crate::config",
    ];
    // The pure crate: core, insight, the event boundary, locale, the digest schedule.
    let files = sources("crates/canvass-core/src");
    assert!(files.len() >= 20, "the scan sees the code: {}", files.len());
    let mut found = Vec::new();
    for (path, code) in &files {
        let code = strip_comments(code);
        for (i, line) in code.lines().enumerate() {
            for f in forbidden {
                if line.contains(f) {
                    found.push(format!("{path}:{}: {f}: {}", i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the pure core does I/O:\n{}",
        found.join("\n")
    );
}

/// The SQL statements a string literal holds, judged by their leading keywords.
fn is_sql(lit: &str) -> bool {
    // The code base writes SQL keywords in capitals; prose such as "savepoint failed" is not SQL.
    let s = lit.trim_start();
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    [
        "SELECT ",
        "INSERT ",
        "UPDATE ",
        "DELETE ",
        "CREATE ",
        "DROP ",
        "ALTER ",
        "PRAGMA ",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT ",
        "RELEASE ",
        "WITH ",
        "REPLACE ",
        "VACUUM",
    ]
    .iter()
    .any(|k| s.starts_with(k))
        && (s.contains(" FROM ")
            || s.contains(" INTO ")
            || s.contains(" SET ")
            || s.contains(" TABLE ")
            || s.contains(" INDEX ")
            || s.starts_with("PRAGMA ")
            || s.starts_with("BEGIN")
            || s.starts_with("COMMIT")
            || s.starts_with("ROLLBACK")
            || s.starts_with("SAVEPOINT")
            || s.starts_with("RELEASE")
            || s.starts_with("VACUUM"))
}

/// ARCHITECTURE invariant (SQL): every SQL statement lives in `src/store`. Scans every
/// string literal in `src/` outside the store, and every use of sqlx's query functions.
#[test]
fn every_sql_statement_lives_in_src_store() {
    let files = [sources("src"), sources("crates")].concat();
    let mut in_store = 0;
    let mut found = Vec::new();
    for (path, code) in &files {
        let store = path.starts_with("src/store/");
        for (line, lit) in literals(code) {
            if is_sql(&lit) {
                if store {
                    in_store += 1;
                } else {
                    found.push(format!("{path}:{line}: {}", lit.trim()));
                }
            }
        }
        if !store {
            let code = strip_comments(code);
            for (i, l) in code.lines().enumerate() {
                // Outside the store no code even names the database library.
                if l.contains("sqlx") {
                    found.push(format!("{path}:{}: {}", i + 1, l.trim()));
                }
            }
        }
    }
    assert!(in_store >= 20, "the scan finds the store's SQL: {in_store}");
    assert!(
        found.is_empty(),
        "SQL outside src/store:\n{}",
        found.join("\n")
    );
}

/// ARCHITECTURE invariant (SQL): migrations are never edited once applied. `migrations/CHECKSUMS`
/// holds sqlx's own checksum of every migration as committed; an edited file changes it (and
/// would make sqlx refuse every database that applied the old one). A new migration is a new
/// file, with its line appended to `CHECKSUMS`.
#[tokio::test]
async fn migrations_are_never_edited() {
    let dir = root().join("migrations");
    let migrator = sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .expect("migrations load");
    let listed = std::fs::read_to_string(dir.join("CHECKSUMS")).expect("migrations/CHECKSUMS");
    let listed: std::collections::BTreeMap<i64, (String, String)> = listed
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "`VERSION SHA384 FILE` per line: {l}");
            (
                f[0].parse().expect("version"),
                (f[1].to_string(), f[2].to_string()),
            )
        })
        .collect();
    let mut seen = 0;
    for m in migrator.iter() {
        let hex: String = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
        match listed.get(&m.version) {
            Some((want, file)) => {
                assert_eq!(
                    &hex, want,
                    "migration {} ({file}) was edited: never change an applied migration, add a new numbered file",
                    m.version
                );
                seen += 1;
            }
            None => panic!(
                "migration {} ({}) is not in migrations/CHECKSUMS: append `{} {hex} <file>`, \
                 and never edit it afterwards",
                m.version, m.description, m.version
            ),
        }
    }
    assert_eq!(seen, listed.len(), "every listed migration still exists");
}

/// The functions in `code` (name, whole text from `fn` to its closing brace).
fn functions(code: &str) -> Vec<(String, String)> {
    let code = strip_comments(code);
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("fn ") {
        let start = from + i;
        from = start + 3;
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = code[start + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The body: from the first `{` after the signature to its match.
        let Some(open) = code[start..].find(['{', ';']).map(|o| start + o) else {
            break;
        };
        if code[open..].starts_with(';') {
            continue;
        }
        let mut depth = 0usize;
        let mut end = code.len();
        for (j, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((name, code[start..end].to_string()));
    }
    out
}

/// ARCHITECTURE invariant (writer): no network I/O happens inside a transaction. Only the
/// store, the service (`src/service/`: the writer and the handlers it runs) and the importer open
/// or hold a transaction; the store and the importer use no network library, and no service
/// function that holds the transaction touches a platform, the HTTP client or the narrator.
#[test]
fn no_network_io_happens_inside_a_transaction() {
    let network = [
        "reqwest",
        "teloxide",
        "serenity",
        "hyper",
        "tungstenite",
        "narrat",
        "Narrator",
        "platform::",
        "Sink",
        ".send_message",
        "TcpStream",
    ];
    let mut found = Vec::new();
    let mut holders = Vec::new();
    for (path, code) in [sources("src"), sources("crates")].concat() {
        let clean = strip_comments(&code);
        let opens =
            clean.contains(".begin()") || clean.contains("Tx,") || clean.contains("&mut Tx");
        let store = path.starts_with("src/store/");
        if opens && !store {
            holders.push(path.clone());
        }
        if store || path == "src/transfer.rs" {
            for n in network {
                if clean.contains(n) {
                    found.push(format!("{path}: {n}"));
                }
            }
        }
    }
    // The service: its writer and the handlers it runs inside the transaction.
    let service = [
        "buttons",
        "commands",
        "deliveries",
        "language",
        "members",
        "mod",
        "polls",
        "steps",
        "taps",
        "writer",
    ]
    .map(|f| format!("src/service/{f}.rs"));
    let mut expected: Vec<String> = service.to_vec();
    expected.push("src/transfer.rs".to_string());
    assert_eq!(
        holders, expected,
        "a new module holds a transaction: check it does no network I/O and add it here"
    );
    let mut seen = 0;
    for file in &service {
        let writer = std::fs::read_to_string(root().join(file)).expect("writer");
        let fns = functions(&writer);
        let in_tx: Vec<&(String, String)> = fns
            .iter()
            .filter(|(name, body)| {
                let sig = body.split('{').next().unwrap_or("");
                sig.contains("&mut Tx") || name == "commit_batch" || name == "write_loop"
            })
            .collect();
        seen += in_tx.len();
        for (name, body) in in_tx {
            for n in network {
                if body.contains(n) {
                    found.push(format!("{file} fn {name}: {n}"));
                }
            }
        }
    }
    assert!(seen >= 10, "the scan sees the writer's functions: {seen}");
    assert!(
        found.is_empty(),
        "network I/O inside a transaction:\n{}",
        found.join("\n")
    );
}

/// README §Run it on Telegram and §Who may do what: the bot needs no admin rights (it calls
/// no Bot API method that needs them), and Telegram group admins get no rights by being
/// admins (the adapter never asks who is an admin and never marks a member as one).
#[test]
fn telegram_needs_no_admin_rights_and_gives_group_admins_none() {
    let admin_only = [
        "delete_message",
        "pin_chat_message",
        "unpin",
        "restrict_chat_member",
        "ban_chat_member",
        "unban_chat_member",
        "promote_chat_member",
        "set_chat_permissions",
        "set_chat_title",
        "set_chat_photo",
        "set_chat_description",
        "export_chat_invite_link",
        "create_chat_invite_link",
        "approve_chat_join_request",
        "decline_chat_join_request",
        "set_chat_administrator_custom_title",
        "delete_chat_photo",
        "set_chat_sticker_set",
        "get_chat_administrators",
        "get_chat_member",
        "ChatMemberStatus",
        "is_privileged",
        "is_administrator",
        "is_owner",
        "is_admin",
    ];
    let files = sources("src/platform/telegram");
    assert!(
        files.len() >= 5,
        "the scan sees the adapter: {}",
        files.len()
    );
    let mut found = Vec::new();
    for (path, code) in &files {
        let clean = strip_comments(code);
        for (i, line) in clean.lines().enumerate() {
            for m in admin_only {
                if line.contains(m) {
                    found.push(format!("{path}:{}: {m}: {}", i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "admin rights used or consulted:\n{}",
        found.join("\n")
    );
}

/// README §Test it: the tests touch no network. Every server the tests start listens on
/// 127.0.0.1, every URL in the test code that is not data is a loopback one, and every test
/// config that enables a platform or the model points it at a fake.
#[test]
fn the_tests_touch_no_network() {
    let mut files = sources("tests");
    files.extend(sources("benches"));
    assert!(
        files.len() >= 15,
        "the scan sees the tests: {}",
        files.len()
    );
    let mut binds = 0;
    let mut found = Vec::new();
    for (path, code) in &files {
        let clean = strip_comments(code);
        for (i, line) in clean.lines().enumerate() {
            if let Some(at) = line.find("bind(\"") {
                binds += 1;
                if !line[at..].starts_with("bind(\"127.0.0.1:") {
                    found.push(format!("{path}:{}: {}", i + 1, line.trim()));
                }
            }
        }
        // Adapter configs built in code must name a fake's URL too.
        for ty in ["TelegramConfig {", "DiscordConfig {", "NarrativeConfig {"] {
            for (at, _) in clean.match_indices(ty) {
                let mut depth = 0usize;
                let mut body = "";
                for (j, c) in clean[at..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                body = &clean[at..at + j];
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let line = clean[..at].matches('\n').count() + 1;
                if !body.contains("api_url") && !body.contains("base_url") {
                    found.push(format!("{path}:{line}: {ty} without a fake's URL"));
                }
            }
        }
        for (line, lit) in literals(code) {
            for (at, _) in lit.match_indices("://") {
                let host: String = lit[at + 3..]
                    .chars()
                    .take_while(|c| !matches!(c, '/' | ':' | '"' | '\\' | ' ' | '`' | ')'))
                    .collect();
                let loopback = host.is_empty()
                    || host.starts_with('{')
                    || host == "127.0.0.1"
                    || host == "localhost";
                // Hostile text and attachment URLs the fakes hand out are data, never fetched:
                // `.example` is reserved, the CDN URLs are only echoed back.
                let data = host.ends_with(".example")
                    || host == "cdn.discordapp.com"
                    || host == "media.discordapp.net";
                let scheme = &lit[..at];
                if !loopback && !data && !scheme.ends_with("sqlite") {
                    found.push(format!("{path}:{line}: {host}"));
                }
            }
            for section in ["[telegram]", "[discord]", "[narrative]"] {
                if lit.contains(&format!("{section}\n")) || lit.contains(&format!("{section}\\n")) {
                    let rest = &lit[lit.find(section).unwrap_or(0)..];
                    let body = rest[section.len()..].split("\n[").next().unwrap_or("");
                    let pointed = body.contains("api_url") || body.contains("base_url");
                    // A config that only has to fail validation never starts an adapter.
                    let refused = body.contains("token_env = \\\"123456:")
                        || body.contains("token_env = \"123456:");
                    if !pointed && !refused {
                        found.push(format!("{path}:{line}: {section} without a fake's URL"));
                    }
                }
            }
        }
    }
    assert!(binds >= 3, "the fakes' listeners are seen: {binds}");
    assert!(
        found.is_empty(),
        "tests that could reach the network:\n{}",
        found.join("\n")
    );
}

/// README §Configuration: `[discord] guilds` empty registers the slash commands globally,
/// in no server.
#[tokio::test]
async fn discord_commands_are_registered_globally_without_guilds() {
    use crate::support::discord::{FakeDiscord, TOKEN};
    use canvass::config::{DiscordConfig, Secret};
    let t = spawn_app().await;
    let fake = FakeDiscord::start().await;
    fake.add_guild(5_000, "Community", &[5_001], &[(777, "product")]);
    let cfg = DiscordConfig {
        token_env: "UNUSED".into(),
        api_url: fake.url.clone(),
        guilds: vec![],
        poll_refresh_ms: 100,
    };
    let adapter = canvass::platform::discord::Discord::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &cfg,
        &Secret::new(TOKEN),
    )
    .await
    .expect("adapter starts");
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(adapter.run(async move {
        let _ = rx.await;
    }));
    fake.wait_ready().await;
    let commands = fake
        .wait_for("commands registered", |f| {
            let c = f.commands();
            (c.len() >= 7).then_some(c)
        })
        .await;
    let names: Vec<&str> = commands.iter().filter_map(|c| c["name"].as_str()).collect();
    for want in [
        "poll", "survey", "insights", "export", "mydata", "forgetme", "help",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    let in_guild: Vec<&serde_json::Value> = commands
        .iter()
        .filter(|c| !c["guild_id"].is_null())
        .collect();
    assert!(in_guild.is_empty(), "registered in a server: {in_guild:?}");
    let _ = stop.send(());
    let _ = task.await;
}

/// ARCHITECTURE invariant (insight): headlines, findings, caveats and recommendations are
/// `Statement` codes worded in `prompts/insight/statement.hbs`: every code the engine (or the
/// bot and digest) can produce has wording in every shipped locale, so none renders empty.
/// A statement's code is a `Code`, so `Code::ALL` is every code the engine can produce.
#[test]
fn every_statement_code_is_worded_in_every_shipped_locale() {
    let codes: std::collections::BTreeSet<&str> = canvass::insight::report::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert!(codes.len() >= 30, "every code: {codes:?}");
    for locale in ["", "de/", "es/"] {
        let path = prompts().join(format!("{locale}insight/statement.hbs"));
        let t = std::fs::read_to_string(&path).expect("statement.hbs");
        let missing: Vec<&&str> = codes
            .iter()
            .filter(|c| !t.contains(&format!("(eq code \"{c}\")")))
            .collect();
        assert!(
            missing.is_empty(),
            "{} words no {missing:?}",
            path.display()
        );
    }
}

/// README §What is stored: logs never carry answers or names, also where the platforms hand
/// them over: the binary at `CANVASS_LOG=trace` with both adapters, a Telegram member answering
/// in private and a Discord member through a form, and the output searched for their names
/// and answers.
#[tokio::test]
async fn platform_adapters_log_no_names_or_answers_even_at_trace() {
    use crate::support::discord::{self as dc, DcUser, FakeDiscord};
    use crate::support::telegram::{self as tg, FakeTelegram, TgChat, TgUser};
    let tgf = FakeTelegram::start().await;
    let dcf = FakeDiscord::start().await;
    dcf.add_guild(5_000, "Community", &[5_001], &[(777, "product")]);
    let dir = workdir(&format!(
        "[team]\ntelegram = [1000]\ndiscord_roles = [777]\n\
         [telegram]\ntoken_env = \"CANVASS_TELEGRAM_TOKEN\"\napi_url = \"{}\"\npoll_refresh_ms = 100\n\
         [discord]\ntoken_env = \"CANVASS_DISCORD_TOKEN\"\napi_url = \"{}\"\nguilds = [5000]\npoll_refresh_ms = 100\n\
         [[surveys]]\nid = \"note\"\ntitle = \"Note\"\n[[surveys.questions]]\nid = \"text\"\n\
         type = \"open_text\"\ntext = \"Tell us\"\nmax_chars = 200\n",
        tgf.url, dcf.url
    ));
    let bin =
        std::env::var_os("CANVASS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_canvass").into());
    let err_path = dir.path().join("err.log");
    let mut child = Command::new(bin)
        .current_dir(dir.path())
        .args(["--database", "c.db", "run"])
        .env("CANVASS_TELEGRAM_TOKEN", tg::TOKEN)
        .env("CANVASS_DISCORD_TOKEN", dc::TOKEN)
        .env("CANVASS_LOG", "trace")
        .env("RUST_LOG", "trace")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdout(std::fs::File::create(dir.path().join("out.log")).expect("log file"))
        .stderr(std::fs::File::create(&err_path).expect("log file"))
        .spawn()
        .expect("the binary starts");

    // Telegram: a member with a distinctive name answers the survey in their private chat.
    let tg_answer = "telegram-zephyrine answer 9133";
    let mut wil = TgUser::new(2_001, "Wilhelmina Xyzzyq");
    wil.username = Some("wilxyzzyq".into());
    let private = TgChat::Private(wil.id);
    tgf.send_text(&wil, &private, "/start note");
    tgf.wait_for("the question", |f| {
        f.sent()
            .into_iter()
            .find(|m| m.chat_id == wil.id && m.text.contains("Tell us"))
    })
    .await;
    tgf.send_text(&wil, &private, tg_answer);
    tgf.wait_for("the thanks", |f| {
        f.sent()
            .into_iter()
            .find(|m| m.chat_id == wil.id && m.text.contains("Thank you"))
    })
    .await;

    // Discord: another member answers through the form.
    let dc_answer = "discord-quillometry answer 4471";
    let quin = DcUser::new(2_002, "Quinberta Vexmoor");
    dcf.wait_ready().await;
    dcf.add_member(5_000, &quin);
    let i = dcf.slash(
        5_000,
        5_001,
        &quin,
        "survey",
        serde_json::json!([{"type": 1, "name": "take", "options": [{"type": 3, "name": "survey", "value": "note"}]}]),
    );
    let invite = dcf
        .wait_for("the invitation", |f| {
            f.messages(5_001).into_iter().find(|m| {
                m.interaction_id == Some(i) && !m.is_loading() && !m.custom_ids().is_empty()
            })
        })
        .await;
    let i = dcf.click(5_000, 5_001, &quin, invite.id, &invite.custom_ids()[0]);
    let q = dcf
        .wait_for("the question", |f| {
            f.messages(5_001)
                .into_iter()
                .rev()
                .find(|m| m.interaction_id == Some(i) && m.content.contains("Tell us"))
        })
        .await;
    let compose = q
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with("compose."))
        .expect("a write-your-answer button");
    let i = dcf.click(5_000, 5_001, &quin, q.id, &compose);
    dcf.wait_for("the form", |f| f.response(i)).await;
    let i = dcf.submit_modal(5_000, 5_001, &quin, "answer", &[("text", dc_answer)]);
    dcf.wait_for("the thanks", |f| {
        f.messages(5_001)
            .into_iter()
            .find(|m| m.interaction_id == Some(i) && m.content.contains("Thank you"))
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();

    let logs = std::fs::read_to_string(&err_path).expect("stderr")
        + &std::fs::read_to_string(dir.path().join("out.log")).expect("stdout");
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "verbose logs on"
    );
    for adapter in ["connected to Telegram", "connected to Discord"] {
        assert!(
            logs.contains(adapter),
            "the log was captured: {adapter:?} missing"
        );
    }
    for needle in [
        "Wilhelmina",
        "Xyzzyq",
        "wilxyzzyq",
        "Quinberta",
        "Vexmoor",
        "quinberta",
        "zephyrine",
        "quillometry",
        tg_answer,
        dc_answer,
    ] {
        let at = logs.find(needle).map(|i| {
            logs.get(i.saturating_sub(300)..(i + needle.len()).min(logs.len()))
                .unwrap_or(needle)
                .to_string()
        });
        assert!(
            at.is_none(),
            "{needle:?} in the log: …{}…",
            at.unwrap_or_default()
        );
    }
}
