//! The running service through the real binary: what `canvass run` logs at start and warns
//! about, and reloading surveys and templates on SIGHUP (a broken config or template is
//! refused and the running one kept).

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    std::env::var_os("CANVASS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_canvass")))
}

const SURVEY: &str = r#"
[team]
console = ["pm"]

[console]
user = "pm"
chat = "community"

[[surveys]]
id = "lunch"
title = "Lunch vote"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi"]
"#;

const DINNER: &str = r#"
[[surveys]]
id = "dinner"
title = "Dinner plans"
[[surveys.questions]]
id = "where"
type = "single"
text = "Where do we eat?"
options = ["Inside", "Outside"]
[surveys.locales.de]
title = "Abendessen"
"#;

/// Lines of one output stream, read on their own thread as they come.
struct Stream {
    rx: Receiver<String>,
    seen: Vec<String>,
    name: &'static str,
}

impl Stream {
    fn new(r: impl std::io::Read + Send + 'static, name: &'static str) -> Self {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(r).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            rx,
            seen: Vec::new(),
            name,
        }
    }

    /// Waits (up to 60 s) for a line after `from` that holds every one of `all`; its index.
    fn wait_for(&mut self, from: usize, all: &[&str]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(i) =
                (from..self.seen.len()).find(|i| all.iter().all(|w| self.seen[*i].contains(w)))
            {
                return i;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no {} line with {all:?} after line {from}; got:\n{}",
                    self.name,
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Stream {
    /// Reads the stream to its end (the process closed it), up to 60 s.
    fn wait_closed(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("canvass run did not end:\n{}", self.seen.join("\n"))
                }
            }
        }
    }
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    out: Stream,
    err: Stream,
}

impl Running {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(bin())
            .args(args)
            .arg("run")
            .current_dir(dir)
            .env_remove("CANVASS_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdin = child.stdin.take().expect("stdin");
        let out = Stream::new(child.stdout.take().expect("stdout"), "stdout");
        let err = Stream::new(child.stderr.take().expect("stderr"), "stderr");
        Self {
            child,
            stdin,
            out,
            err,
        }
    }

    fn type_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("console input");
        self.stdin.flush().expect("flush");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name}");
    }

    /// `/quit`, then the exit status must be success.
    fn quit(mut self) {
        self.type_line("/quit");
        self.wait_success();
    }

    /// SIGTERM, then success.
    fn terminate(mut self) {
        self.signal("TERM");
        self.wait_success();
    }

    fn wait_success(&mut self) {
        // The process's stderr closes when it exits: wait for that, then reap it.
        self.err.wait_closed();
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "{status:?}\n{}", self.err.seen.join("\n"));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn run_logs_at_info_what_started_and_warns_about_what_will_not_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "{SURVEY}\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"Europe/Berlin\"\ntelegram_chats = [-1001234]\n"
    );
    std::fs::write(dir.path().join("bot.toml"), &config).expect("config");
    let mut app = Running::start(dir.path(), &[]);
    let started = app
        .err
        .wait_for(0, &["INFO", "canvass started", "adapters=console"]);
    let db = dir.path().join("canvass.db").display().to_string();
    app.err.wait_for(started, &["INFO", "database", &db]);
    app.err.wait_for(
        started,
        &["INFO", "surveys from the config", "lunch (open)"],
    );
    app.err.wait_for(
        started,
        &["INFO", "digest on", "mon 09:00", "Europe/Berlin", "next="],
    );
    app.err.wait_for(started, &["INFO", "narrative off"]);
    let line = config
        .lines()
        .position(|l| l.starts_with("telegram_chats"))
        .expect("in config")
        + 1;
    app.err.wait_for(
        started,
        &[
            "WARN",
            &format!("line {line}: digest.telegram_chats"),
            "no [telegram] section",
        ],
    );
    // The console still works.
    app.type_line("/surveys");
    app.out.wait_for(0, &["Lunch vote"]);
    app.terminate();

    // The same database opened read-only: the start stops with that reason in plain words.
    let ro = format!("sqlite://{db}?mode=ro");
    let out = Command::new(bin())
        .args(["--database", &ro, "run"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the database {ro} is read-only, so no answer could be saved"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("code: 8"), "no SQLite jargon: {stderr}");
}

#[test]
fn sighup_reloads_surveys_and_templates_and_refuses_a_config_that_fails_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("bot.toml");
    std::fs::write(&cfg, SURVEY).expect("config");
    let mut app = Running::start(dir.path(), &[]);
    app.err.wait_for(0, &["canvass started"]);
    app.type_line("/surveys");
    let before = app.out.wait_for(0, &["Lunch vote"]);
    assert!(
        !app.out.seen.iter().any(|l| l.contains("Dinner plans")),
        "no dinner survey yet"
    );

    // A new survey and a changed template, then SIGHUP.
    std::fs::write(&cfg, format!("{SURVEY}{DINNER}")).expect("config");
    std::fs::create_dir(dir.path().join("prompts")).expect("mkdir");
    std::fs::write(dir.path().join("prompts/help.hbs"), "Reloaded help text.\n").expect("tpl");
    app.signal("HUP");
    let reloaded = app
        .err
        .wait_for(0, &["reloaded:", "new surveys: dinner", "1 file(s)"]);
    app.type_line("/surveys");
    app.type_line("/help");
    let shown = app.out.wait_for(before + 1, &["Dinner plans"]);
    app.out.wait_for(shown, &["Reloaded help text."]);
    // The new survey's translation too.
    app.type_line("/language de");
    app.type_line("/survey dinner");
    let shown = app.out.wait_for(shown, &["Abendessen"]);
    app.type_line("/language en");

    // A config that fails check: refused with its line, and the running one is kept.
    let broken = format!("{SURVEY}{DINNER}").replace(
        "options = [\"Inside\", \"Outside\"]",
        "options = [\"Inside\"]",
    );
    let line = broken
        .lines()
        .position(|l| l == "options = [\"Inside\"]")
        .expect("in config")
        + 1;
    std::fs::write(&cfg, &broken).expect("config");
    app.signal("HUP");
    app.err.wait_for(
        reloaded + 1,
        &[
            "ERROR",
            "reload refused",
            &format!("line {line}: survey \"dinner\", question \"where\", options"),
        ],
    );
    // A template that does not compile: refused too.
    std::fs::write(&cfg, format!("{SURVEY}{DINNER}")).expect("config");
    std::fs::write(
        dir.path().join("prompts/help.hbs"),
        "Broken\n{{#if team}}\nnever closed\n",
    )
    .expect("tpl");
    app.signal("HUP");
    let refused = app.err.wait_for(
        reloaded + 1,
        &[
            "reload refused",
            "help.hbs, line 2",
            "{{#if}} is opened here",
        ],
    );
    app.type_line("/surveys");
    app.type_line("/help");
    let again = app.out.wait_for(shown + 1, &["Dinner plans"]);
    app.out.wait_for(again, &["Reloaded help text."]);
    assert!(
        !app.err.seen[refused..]
            .iter()
            .any(|l| l.contains("reloaded:")),
        "nothing was applied"
    );
    app.quit();
}

#[test]
fn sighup_refuses_a_config_with_an_unset_secret_variable_as_check_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("bot.toml");
    std::fs::write(&cfg, SURVEY).expect("config");
    let mut app = Running::start(dir.path(), &[]);
    app.err.wait_for(0, &["canvass started"]);

    // A new survey plus a narrative key variable that is not set: `check` refuses this.
    let narrative = "\n[narrative]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key_env = \"CANVASS_TEST_UNSET_LLM_KEY\"\n";
    std::fs::write(&cfg, format!("{SURVEY}{narrative}{DINNER}")).expect("config");
    app.signal("HUP");
    let refused = app.err.wait_for(
        0,
        &[
            "reload refused",
            "narrative.api_key_env",
            "CANVASS_TEST_UNSET_LLM_KEY",
        ],
    );
    // `/help` after `/surveys`: its answer comes after the whole survey list.
    app.type_line("/surveys");
    app.type_line("/help");
    let listed = app.out.wait_for(0, &["Lunch vote"]);
    app.out
        .wait_for(listed, &["asks the community what it prefers"]);
    assert!(
        !app.out.seen.iter().any(|l| l.contains("Dinner plans")),
        "the refused config's survey was not applied"
    );
    assert!(
        !app.err.seen[..refused]
            .iter()
            .any(|l| l.contains("reloaded:")),
        "nothing was applied"
    );
    app.quit();
}

/// README §Operating: SIGHUP reloads and never ends the service, from its first moment: one
/// that comes while the database and surveys are still loading is ignored, and the start goes
/// on.
#[test]
fn a_sighup_in_the_first_moments_of_run_does_not_end_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bot.toml"), SURVEY).expect("config");
    let mut app = Running::start(dir.path(), &[]);
    // The first line `run` logs, before the database is opened.
    let first = app.err.wait_for(0, &["starting;", "SIGHUP"]);
    app.signal("HUP");
    app.signal("HUP");
    app.err.wait_for(first, &["canvass started"]);
    app.type_line("/surveys");
    app.out.wait_for(0, &["Lunch vote"]);
    app.quit();
}

/// README §Templates: `canvass check` (and start-up) refuse an override that does not render
/// with its sample data; `run` refuses it with the message `check` gives.
#[test]
fn run_refuses_a_template_override_that_check_refuses() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bot.toml"), SURVEY).expect("config");
    std::fs::create_dir(dir.path().join("prompts")).expect("mkdir");
    std::fs::write(dir.path().join("prompts/ack.hbs"), "Saved {{nosuchvar}}\n").expect("tpl");
    let check = Command::new(bin())
        .arg("check")
        .current_dir(dir.path())
        .output()
        .expect("runs");
    let check_err = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success(), "{check_err}");
    let problem = check_err
        .lines()
        .find_map(|l| l.strip_prefix("  - "))
        .expect("check lists the problem")
        .to_string();
    let run = Command::new(bin())
        .arg("run")
        .current_dir(dir.path())
        .env_remove("CANVASS_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let run_err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{run_err}");
    assert!(run_err.contains(&problem), "{problem}\nnot in:\n{run_err}");
    assert!(!run_err.contains("canvass started"), "{run_err}");
}

/// README §Operating: secrets never appear in the log; a narrative `base_url` with a user,
/// password or query key is logged without them.
#[test]
fn the_start_log_shows_the_narrative_url_without_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Never fetched: `.example` is reserved, and nothing asks the model at start.
    let userinfo = "user:s3cretPW";
    let config = format!(
        "{SURVEY}\n[narrative]\nbase_url = \"https://{userinfo}@llm.example/v1?key=QKEY\"\nmodel = \"m1\"\n"
    );
    std::fs::write(dir.path().join("bot.toml"), config).expect("config");
    let mut app = Running::start(dir.path(), &[]);
    let at = app.err.wait_for(0, &["narrative on"]);
    let line = app.err.seen[at].clone();
    assert!(line.contains("https://llm.example/v1"), "{line}");
    assert!(
        !app.err
            .seen
            .iter()
            .any(|l| l.contains("s3cretPW") || l.contains("QKEY") || l.contains("user:")),
        "{}",
        app.err.seen.join("\n")
    );
    app.quit();
}

/// README §Console: `/quit` (or the end of input) ends `canvass run` when the console is its
/// only chat adapter, with a `[digest]` scheduled too.
#[test]
fn quit_ends_run_with_only_the_console_and_a_digest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "{SURVEY}\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\ntelegram_chats = [-1001234]\n"
    );
    std::fs::write(dir.path().join("bot.toml"), config).expect("config");
    let mut app = Running::start(dir.path(), &[]);
    app.err.wait_for(0, &["canvass started"]);
    app.err.wait_for(0, &["digest on"]);
    app.quit();
}

#[test]
fn the_start_log_shows_a_stored_survey_with_its_stored_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bot.toml"), SURVEY).expect("config");
    let mut app = Running::start(dir.path(), &[]);
    app.err.wait_for(0, &["canvass started"]);
    // The team closes it; bot.toml still says open.
    app.type_line("/close lunch");
    app.out.wait_for(0, &["Closed \"Lunch vote\""]);
    app.quit();
    let mut app = Running::start(dir.path(), &[]);
    let at = app.err.wait_for(0, &["surveys from the config"]);
    let line = app.err.seen[at].clone();
    assert!(line.contains("lunch (closed)"), "{line}");
    app.quit();
}
