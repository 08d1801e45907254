//! A write the disk refuses while the bot runs, through the real binary: the member is asked
//! to try again and the log says "the database cannot be written" with SQLite's reason.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

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
"#;

/// The console under a file size limit (SIGXFSZ ignored, so a write past it fails with EFBIG):
/// SQLite's WAL soon cannot grow and each commit fails with SQLITE_IOERR_WRITE (778), as on a
/// file made immutable.
#[cfg(unix)]
#[test]
fn a_disk_io_error_is_logged_as_a_database_that_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bot.toml"), CONFIG).unwrap();
    let config = d.join("bot.toml");
    let migrate = Command::new(bin())
        .arg("--config")
        .arg(&config)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    // 64 blocks: 32 KiB (POSIX 512-byte blocks) or 64 KiB (bash): room for the 32 KiB -shm
    // and the first WAL frames, not for sixty answers.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64 && exec \"$0\" --config \"$1\" console")
        .arg(bin())
        .arg(&config)
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::from("/poll Lunch? | Pizza | Sushi\n");
    for i in 0..60 {
        input.push_str(&format!("/as u{i}\n#1.{}\n", 1 + i % 2));
    }
    input.push_str("/quit\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("Sorry"),
        "the member is asked to try again: {stdout}"
    );
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("nothing was saved"))
        .collect();
    assert!(!failed.is_empty(), "{stderr}");
    for l in &failed {
        assert!(l.contains("the database cannot be written"), "{l}");
        assert!(l.contains("disk I/O error"), "with SQLite's reason: {l}");
    }
}
