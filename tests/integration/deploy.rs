//! The operator's side: one binary that runs from any folder with only a `bot.toml`, paths in
//! the config taken from the config file's folder, quiet exits on a closed pipe, and backups.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test (CANVASS_BIN: a copy, when the target directory is shared).
fn bin() -> PathBuf {
    std::env::var_os("CANVASS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_canvass")))
}

const CONFIG: &str = r#"
[team]
console = ["pm"]

[console]
user = "pm"
chat = "community"

[[surveys]]
id = "lunch"
title = "Lunch"
status = "open"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi"]
"#;

/// Runs `bin` in `cwd` with `args`, feeding `stdin`.
fn run_in(bin: &Path, cwd: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env_remove("CANVASS_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("the binary ends")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn the_binary_alone_with_a_bot_toml_runs_the_console_and_check_and_a_prompts_folder_overrides() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = dir.path().join("canvass");
    std::fs::copy(bin(), &exe).expect("binary copied");
    std::fs::write(dir.path().join("bot.toml"), CONFIG).expect("config");

    let out = run_in(&exe, dir.path(), &["check"], "");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ok:"), "{}", text(&out));
    assert!(stdout.contains("built-in templates"), "{}", text(&out));

    let out = run_in(
        &exe,
        dir.path(),
        &["console"],
        "/help\n/post lunch\n/as alex\n2\n/quit\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("For the product team"), "{}", text(&out));
    assert!(stdout.contains("What should we order?"), "{}", text(&out));
    assert!(stdout.contains("Saved: Sushi"), "{}", text(&out));
    assert!(
        dir.path().join("canvass.db").exists(),
        "{:?}",
        entries(dir.path())
    );

    // One template replaced; every other one still comes from the binary, German too.
    std::fs::create_dir(dir.path().join("prompts")).expect("mkdir");
    std::fs::write(
        dir.path().join("prompts").join("help.hbs"),
        "Our own help text.{{#if team}} Team too.{{/if}}\n",
    )
    .expect("override");
    let out = run_in(&exe, dir.path(), &["console"], "/help\n/surveys\n/quit\n");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Our own help text. Team too."),
        "{}",
        text(&out)
    );
    assert!(!stdout.contains("For the product team"), "{}", text(&out));
    assert!(stdout.contains("Lunch"), "{}", text(&out));
    let out = run_in(&exe, dir.path(), &["check"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 file(s) from"),
        "{}",
        text(&out)
    );
}

#[test]
fn relative_paths_in_bot_toml_are_taken_from_the_config_folder_not_the_working_folder() {
    let home = tempfile::tempdir().expect("temp dir");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("bot.toml");
    std::fs::write(
        &config,
        format!("[storage]\ndatabase = \"data/canvass.db\"\n{CONFIG}"),
    )
    .expect("config");
    std::fs::create_dir(home.path().join("data")).expect("mkdir");
    let cfg = config.to_str().expect("utf-8 path");

    // `migrate` creates the database (`surveys` reads one and never creates it).
    let out = run_in(&bin(), elsewhere.path(), &["--config", cfg, "migrate"], "");
    assert!(out.status.success(), "{}", text(&out));
    let out = run_in(&bin(), elsewhere.path(), &["--config", cfg, "surveys"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Lunch"),
        "{}",
        text(&out)
    );
    assert!(home.path().join("data/canvass.db").exists());
    // The anonymity key file is beside the config too.
    assert!(home.path().join("canvass.key").exists());
    assert!(
        entries(elsewhere.path()).is_empty(),
        "nothing is created in the working folder: {:?}",
        entries(elsewhere.path())
    );

    // A template override beside the config is found from elsewhere too.
    std::fs::create_dir(home.path().join("prompts")).expect("mkdir");
    std::fs::write(home.path().join("prompts/surveys.hbs"), "overridden list\n").expect("write");
    let out = run_in(&bin(), elsewhere.path(), &["--config", cfg, "surveys"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("overridden list"),
        "{}",
        text(&out)
    );

    // `--database` on the command line stays relative to the working folder.
    let out = run_in(
        &bin(),
        elsewhere.path(),
        &["--config", cfg, "--database", "here.db", "migrate"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(elsewhere.path().join("here.db").exists());
    assert!(!home.path().join("here.db").exists());
}

/// Runs `args` with standard output closed by its reader before anything is written, as
/// `| head -1` does once it has its line.
fn run_into_closed_pipe(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("CANVASS_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    drop(child.stdout.take());
    child.wait_with_output().expect("the binary ends")
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bot.toml"), CONFIG).expect("config");
    // Read-only commands need an existing database.
    let out = run_in(&bin(), dir.path(), &["migrate"], "");
    assert!(out.status.success(), "{}", text(&out));
    for args in [
        &["surveys"][..],
        &["insights", "lunch"],
        &["export", "lunch"],
        &["digest", "--dry-run"],
    ] {
        let out = run_into_closed_pipe(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {}", text(&out));
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {}", text(&out));
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_answers_arrive_is_consistent_and_has_every_earlier_answer() {
    use crate::support::*;
    let t = std::sync::Arc::new(spawn_app().await);
    let kb = t.post("lunch").await;
    let pizza = payloads(&kb)[0].clone();
    // Answers committed before the backup starts.
    for i in 0..40 {
        t.tap(&format!("early{i}"), group(), &pizza).await;
    }
    let before = t
        .scalar("SELECT COUNT(*) FROM answers WHERE superseded_at IS NULL")
        .await;
    assert_eq!(before, 40);
    // More answers keep arriving through the core while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (t, stop, pizza) = (t.clone(), stop.clone(), pizza.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                t.tap(&format!("late{n}"), group(), &pizza).await;
                n += 1;
            }
            n
        })
    };
    let copy = t.dir.path().join("backup.db");
    let args = vec![
        "--database".to_string(),
        t.db.display().to_string(),
        "backup".into(),
        copy.display().to_string(),
    ];
    let out =
        tokio::task::spawn_blocking(move || Command::new(bin()).args(args).output().expect("runs"))
            .await
            .expect("joined");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let late = writer.await.expect("writer");
    assert!(out.status.success(), "{}", text(&out));
    assert!(late > 0, "answers arrived during the backup");

    // The restored copy: intact, every answer committed before the backup began.
    let store = canvass::store::Store::open(&copy.display().to_string())
        .await
        .expect("the copy opens");
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(store.pool())
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let early: Vec<(String,)> = sqlx::query_as(
        "SELECT m.platform_user_id FROM answers a JOIN respondents r ON r.id = a.respondent_id
           JOIN members m ON m.id = r.member_id
          WHERE a.superseded_at IS NULL AND m.platform_user_id LIKE 'early%'",
    )
    .fetch_all(store.pool())
    .await
    .expect("query");
    assert_eq!(early.len(), 40);
    store.close().await;

    // A second backup to the same file is refused, and the file is left alone.
    let len = std::fs::metadata(&copy).expect("copy").len();
    let out = Command::new(bin())
        .args(["--database", &t.db.display().to_string(), "backup"])
        .arg(&copy)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::metadata(&copy).expect("copy").len(), len);
}
