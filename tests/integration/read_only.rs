//! The commands that only read (`surveys`, `insights`, `digest --status`/`--dry-run`) through
//! the real binary: they never bring a survey of `bot.toml` into the database, work while a
//! running bot holds the write lock and on a `mode=ro` URL, and create neither a database nor
//! an anonymity key; `migrate` names a missing folder and leaves no key behind.

use sqlx::Connection as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    std::env::var_os("CANVASS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_canvass")))
}

const LUNCH: &str = r#"
[team]
console = ["pm"]

[console]
user = "pm"
chat = "community"

[digest]
schedule = "mon 09:00"
timezone = "UTC"
telegram_chats = [-100500]

[[surveys]]
id = "lunch"
title = "Lunch vote"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi"]
"#;

/// A survey added to bot.toml after the database was made, with no reload.
const DINNER: &str = r#"
[[surveys]]
id = "dinner"
title = "Dinner plans"
[[surveys.questions]]
id = "where"
type = "single"
text = "Where do we eat?"
options = ["Inside", "Outside"]
"#;

fn canvass(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .arg("--config")
        .arg(dir.join("bot.toml"))
        .args(args)
        .env("CANVASS_LOG", "debug")
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn scalar(db: &Path, sql: &str) -> i64 {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut c).await.unwrap();
    n
}

/// A migrated database holding `lunch`, and a bot.toml that now also has `dinner`.
fn installed() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot.toml"), LUNCH).unwrap();
    let out = canvass(dir.path(), &["migrate"]);
    assert!(out.status.success(), "{:?}", text(&out));
    std::fs::write(dir.path().join("bot.toml"), format!("{LUNCH}{DINNER}")).unwrap();
    let db = dir.path().join("canvass.db");
    (dir, db)
}

#[tokio::test]
async fn read_only_commands_never_bring_a_config_survey_into_the_database() {
    let (dir, db) = installed();
    let d = dir.path();
    let (out, err) = text(&canvass(d, &["surveys"]));
    assert!(out.contains("lunch") && !out.contains("dinner"), "{out}");
    assert!(
        err.contains("survey dinner is in bot.toml but not yet in the database"),
        "{err}"
    );
    for args in [&["surveys", "dinner"][..], &["insights", "dinner"][..]] {
        let o = canvass(d, args);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            err.contains("survey dinner is in bot.toml but not yet in the database: start the bot or send it SIGHUP"),
            "{args:?}: {err}"
        );
    }
    for args in [&["digest", "--status"][..], &["digest", "--dry-run"][..]] {
        let o = canvass(d, args);
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
    }
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM surveys WHERE slug = 'dinner'").await,
        0,
        "a read-only command made a survey live without a reload"
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM surveys").await, 1);
}

#[tokio::test]
async fn read_only_commands_run_no_reload_check() {
    let (dir, _db) = installed();
    let d = dir.path();
    // lunch with its options reordered: the reload check would log "kept the stored definition"
    // for a posted survey; a read-only command runs no check at all.
    let edited = LUNCH.replace(r#"["Pizza", "Sushi"]"#, r#"["Sushi", "Pizza"]"#);
    std::fs::write(d.join("bot.toml"), edited).unwrap();
    for args in [
        &["surveys"][..],
        &["insights", "lunch"][..],
        &["digest", "--status"][..],
        &["digest", "--dry-run"][..],
    ] {
        let o = canvass(d, args);
        let (_, err) = text(&o);
        assert!(o.status.success(), "{args:?}: {err}");
        assert!(
            !err.contains("kept the stored definition"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("synced"), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn read_only_commands_work_while_a_running_bot_holds_the_write_lock() {
    let (dir, db) = installed();
    let d = dir.path();
    let mut writer = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut writer)
        .await
        .unwrap();
    for args in [
        &["surveys"][..],
        &["insights", "lunch"][..],
        &["digest", "--status"][..],
    ] {
        let started = Instant::now();
        let o = canvass(d, args);
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
        // Not after waiting out the 10 s busy timeout.
        assert!(started.elapsed() < Duration::from_secs(8), "{args:?}");
    }
    sqlx::query("ROLLBACK").execute(&mut writer).await.unwrap();
}

#[test]
fn read_only_commands_work_on_a_mode_ro_url() {
    let (dir, db) = installed();
    let d = dir.path();
    let url = format!("sqlite://{}?mode=ro", db.display());
    for args in [&["surveys"][..], &["digest", "--status"][..]] {
        let mut all = vec!["--database", url.as_str()];
        all.extend_from_slice(args);
        let o = canvass(d, &all);
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
        assert!(!text(&o).1.contains("read-only"), "{:?}", text(&o));
    }
}

#[test]
fn digest_on_a_missing_database_creates_neither_the_database_nor_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bot.toml"), LUNCH).unwrap();
    for args in [&["digest", "--status"][..], &["digest", "--dry-run"][..]] {
        let o = canvass(d, args);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{args:?}");
        assert!(err.contains("no database at"), "{args:?}: {err}");
        assert!(
            !d.join("canvass.db").exists(),
            "{args:?} created the database"
        );
        assert!(!d.join("canvass.key").exists(), "{args:?} created a key");
    }
}

#[test]
fn migrate_into_a_missing_folder_names_it_and_leaves_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bot.toml"), LUNCH).unwrap();
    let missing = d.join("nowhere").join("canvass.db");
    let o = canvass(d, &["--database", missing.to_str().unwrap(), "migrate"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains(&d.join("nowhere").display().to_string()),
        "{err}"
    );
    assert!(!d.join("canvass.key").exists(), "migrate left a key behind");
}

/// A hostile tester's find: a copy of the database (no -wal or -shm file) in a folder nobody
/// may write to failed every read-only command with "attempt to write a readonly database"
/// (SQLite could not create the shared-memory file). Run as an unprivileged user: as root
/// through `setpriv` to `nobody`, otherwise as ourselves (the folder is then read-only for us
/// too).
#[tokio::test]
async fn read_only_commands_work_on_a_copy_in_a_folder_nobody_may_write() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, db) = installed();
    // Everything in the main file, as a backup or a copy of a stopped bot's database has it.
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let outer = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ro = outer.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::copy(&db, ro.join("canvass.db")).unwrap();
    std::fs::copy(dir.path().join("bot.toml"), ro.join("bot.toml")).unwrap();
    for f in ["canvass.db", "bot.toml"] {
        std::fs::set_permissions(ro.join(f), std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // A copy of the binary `nobody` may run wherever the checkout lives.
    let exe = outer.path().join("canvass");
    std::fs::copy(bin(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    for args in [
        &["surveys"][..],
        &["insights", "lunch", "--format", "json"][..],
        &["digest", "--dry-run"][..],
    ] {
        let mut cmd = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let o = cmd
            .current_dir(&ro)
            .arg("--config")
            .arg(ro.join("bot.toml"))
            .args(args)
            .output()
            .expect("the binary runs");
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
    }
    assert!(
        !ro.join("canvass.db-wal").exists() && !ro.join("canvass.db-shm").exists(),
        "nothing was written beside the copy"
    );
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}
