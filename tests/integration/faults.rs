//! Faults: the bot killed mid-burst, updates delivered twice, 500 members at once, platform
//! errors (429, 5xx, slow answers, broken connections) and a database that cannot be written.
//! Nothing acknowledged may be lost, nothing counted twice, nothing posted twice.

use crate::support::logs::Logs;
use crate::support::telegram::*;
use crate::support::*;
use canvass::config::{Secret, TelegramConfig};
use canvass::platform::telegram::Telegram;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::sync::oneshot;

const GROUP: i64 = -100_800;
const TOKEN_ENV: &str = "CANVASS_FAULTS_TOKEN";
/// Bursts of hundreds of taps on a machine shared with other builds take a while.
const BURST_LIMIT: Duration = Duration::from_secs(120);

fn group_chat() -> TgChat {
    TgChat::group(GROUP, "Faults")
}

fn pm() -> TgUser {
    TgUser::new(1000, "Pat")
}

fn member(i: usize) -> TgUser {
    TgUser::new(5000 + i as i64, &format!("Member {i}"))
}

// ---- the database, as rows ---------------------------------------------------------------------

/// Every table's rows (SQLite's `quote()` of each column), ordered, keyed by table name.
async fn dump(pool: &sqlx::SqlitePool) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
          ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("list tables");
    let mut out = BTreeMap::new();
    for (table,) in tables {
        let columns: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .fetch_all(pool)
        .await
        .expect("list columns");
        let row = columns
            .iter()
            .map(|(c,)| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT {row} FROM \"{table}\" ORDER BY 1"))
                .fetch_all(pool)
                .await
                .expect("dump table");
        let mut rows: Vec<String> = rows.into_iter().map(|r| r.0).collect();
        rows.sort();
        out.insert(table, rows);
    }
    out
}

/// Each member's current answer to a question (the option ids, as stored JSON) and how many
/// answer rows (current and superseded) each member has.
async fn answers_by_member(
    pool: &sqlx::SqlitePool,
    survey: &str,
) -> (BTreeMap<String, String>, BTreeMap<String, i64>) {
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT m.platform_user_id, a.value, a.superseded_at FROM answers a
           JOIN respondents r ON r.id = a.respondent_id
           JOIN members m ON m.id = r.member_id
           JOIN surveys s ON s.id = r.survey_id
          WHERE s.slug = ?",
    )
    .bind(survey)
    .fetch_all(pool)
    .await
    .expect("answers");
    let mut current = BTreeMap::new();
    let mut count = BTreeMap::new();
    for (user, value, superseded) in rows {
        *count.entry(user.clone()).or_insert(0) += 1;
        if superseded.is_none() {
            assert!(
                current.insert(user.clone(), value).is_none(),
                "two current answers for {user}"
            );
        }
    }
    (current, count)
}

/// The option ids in a stored multi-choice value (the strings of its array), sorted.
fn choices(value: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(value).expect("answer JSON");
    fn collect(v: &serde_json::Value, in_array: bool, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::String(s) if in_array => {
                out.insert(s.clone());
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, true, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| collect(x, false, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    collect(&v, false, &mut out);
    out
}

// ---- the real binary -----------------------------------------------------------------------------

const TOOLS: &str = r#"
[[surveys]]
id = "tools"
title = "Tools"
[[surveys.questions]]
id = "use"
type = "multi"
text = "Which do you use?"
options = ["Slack", "Discord", "Telegram", "Email"]
max_choices = 2
"#;

/// A `canvass run` child process on a config in `dir` that points Telegram at `fake`.
struct BotProcess {
    child: std::process::Child,
    /// Everything the bot has written to stderr so far, and a signal on each new line.
    output: std::sync::Arc<std::sync::Mutex<String>>,
    lines: tokio::sync::watch::Receiver<usize>,
}

fn write_config(dir: &Path, fake: &FakeTelegram) -> PathBuf {
    let db = dir.join("canvass.db");
    let config = format!(
        "[storage]\ndatabase = {db:?}\n\n[team]\ntelegram = [1000]\n\n[telegram]\ntoken_env = \
         \"{TOKEN_ENV}\"\napi_url = \"{}\"\npoll_refresh_ms = 50\n{TOOLS}",
        fake.url,
        db = db.display().to_string(),
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, config).expect("write config");
    // Templates are looked up beside the config.
    let prompts = dir.join("prompts");
    if !prompts.exists() {
        std::os::unix::fs::symlink(crate::support::prompts(), prompts).expect("link prompts");
    }
    path
}

impl BotProcess {
    fn spawn(config: &Path, log: &Path) -> BotProcess {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open log");
        // CANVASS_BIN: a copy of this checkout's binary, when the target directory is shared
        // with other checkouts that may overwrite it during the run.
        let bin =
            std::env::var_os("CANVASS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_canvass").into());
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env(TOKEN_ENV, TOKEN)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("CANVASS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start canvass");
        // Each stderr line goes to the log file (read after the run) and wakes `logged`.
        let stderr = child.stderr.take().expect("piped stderr");
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, lines) = tokio::sync::watch::channel(0usize);
        let out = output.clone();
        std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(file, "{line}");
                if let Ok(mut o) = out.lock() {
                    o.push_str(&line);
                    o.push('\n');
                }
                tx.send_modify(|n| *n += 1);
            }
        });
        BotProcess {
            child,
            output,
            lines,
        }
    }

    /// Waits until the bot's log contains `text`, up to `BURST_LIMIT`.
    async fn logged(&self, text: &str) {
        let mut lines = self.lines.clone();
        let seen = tokio::time::timeout(BURST_LIMIT, async {
            loop {
                if self.output.lock().is_ok_and(|o| o.contains(text)) {
                    return true;
                }
                if lines.changed().await.is_err() {
                    // stderr closed: the bot exited; one last look.
                    return self.output.lock().is_ok_and(|o| o.contains(text));
                }
            }
        })
        .await;
        assert!(seen == Ok(true), "the log never said {text:?}");
    }

    /// SIGKILL: no shutdown code runs.
    async fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.wait().await;
    }

    /// SIGTERM: the bot finishes the updates in hand and stops.
    async fn terminate(self) {
        self.sigterm();
        self.wait().await;
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (at most `limit`) for the process to exit; its status and how long that took.
    async fn exit_within(mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let started = std::time::Instant::now();
        let waited = tokio::time::timeout(
            limit,
            tokio::task::spawn_blocking(move || self.child.wait()),
        )
        .await;
        match waited {
            Ok(Ok(Ok(status))) => (status, started.elapsed()),
            other => panic!("canvass did not exit within {limit:?}: {other:?}"),
        }
    }

    async fn wait(mut self) {
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || self.child.wait()),
        )
        .await;
        match waited {
            Ok(Ok(Ok(_))) => {}
            other => panic!("canvass did not exit: {other:?}"),
        }
    }
}

/// Waits until the bot polls (a GetUpdates beyond `before`).
async fn polling(fake: &FakeTelegram, before: usize) {
    fake.wait_for_within(BURST_LIMIT, "the bot to poll for updates", |f| {
        (f.calls("GetUpdates") > before).then_some(())
    })
    .await;
}

/// Posts the tools poll as the product team; returns the message id and button payloads.
async fn post_tools(fake: &FakeTelegram) -> (i64, Vec<String>) {
    fake.send_text(&pm(), &group_chat(), "/post tools");
    let poll = fake
        .wait_for_within(BURST_LIMIT, "the poll to be posted", |f| {
            f.sent().into_iter().find(|m| m.chat_id == GROUP)
        })
        .await;
    let buttons = fake
        .buttons(GROUP, poll.message_id)
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    (poll.message_id, buttons)
}

/// Kills the bot with SIGKILL after `kill_after` taps were answered, restarts it, lets it
/// drain, and checks that every acknowledged answer is stored exactly once.
async fn crash_at(kill_after: usize) {
    const MEMBERS: usize = 24;
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let config = write_config(dir.path(), &fake);
    let log = dir.path().join("canvass.log");
    let bot = BotProcess::spawn(&config, &log);
    polling(&fake, 0).await;
    let (poll, buttons) = post_tools(&fake).await;
    // Every member toggles two options: a tap handled twice would toggle one off again.
    let mut taps = Vec::new();
    for i in 0..MEMBERS {
        let (a, b) = (i % 4, (i + 1) % 4);
        for pick in [a, b] {
            let (_, query) = fake.tap(&member(i), &group_chat(), poll, &buttons[pick]);
            taps.push((i, query));
        }
    }
    fake.wait_for_within(BURST_LIMIT, "the taps before the kill point", |f| {
        (f.callback_answers().len() >= kill_after).then_some(())
    })
    .await;
    bot.kill().await;
    // What members were told before the crash.
    let acknowledged: Vec<String> = fake
        .callback_answers()
        .into_iter()
        .filter(|a| a.text.is_some())
        .map(|a| a.id)
        .collect();
    assert!(acknowledged.len() >= kill_after);
    eprintln!(
        "kill after {kill_after}: {} of {} taps confirmed to members, {} updates unconfirmed",
        acknowledged.len(),
        taps.len(),
        fake.pending_updates()
    );

    let polls = fake.calls("GetUpdates");
    let bot = BotProcess::spawn(&config, &log);
    polling(&fake, polls).await;
    // Drained: Telegram holds nothing unconfirmed, and the bot confirms only what it handled.
    fake.wait_for_within(BURST_LIMIT, "the redelivered updates to be handled", |f| {
        (f.pending_updates() == 0).then_some(())
    })
    .await;
    bot.terminate().await;

    let store = canvass::store::Store::open(&dir.path().join("canvass.db").display().to_string())
        .await
        .expect("open the database");
    assert_eq!(store.integrity_check().await.expect("integrity"), "ok");
    let (current, rows) = answers_by_member(store.pool(), "tools").await;
    let options: Vec<String> = {
        let survey = store
            .survey_by_slug("tools")
            .await
            .expect("survey")
            .expect("tools");
        survey.survey.questions[0]
            .kind
            .options()
            .iter()
            .map(|o| o.id.as_str().to_string())
            .collect()
    };
    for (i, query) in &taps {
        if acknowledged.contains(query) {
            let user = member(*i).id.to_string();
            assert!(
                current.contains_key(&user),
                "kill after {kill_after}: member {i} was told their tap was saved, but nothing is stored"
            );
        }
    }
    // No update was lost (it was confirmed only once handled) and none counted twice.
    assert_eq!(
        current.len(),
        MEMBERS,
        "kill after {kill_after}: {current:?}"
    );
    for i in 0..MEMBERS {
        let user = member(i).id.to_string();
        let expected: BTreeSet<String> = [&options[i % 4], &options[(i + 1) % 4]]
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(
            choices(&current[&user]),
            expected,
            "kill after {kill_after}: member {i}"
        );
        assert_eq!(
            rows[&user], 2,
            "kill after {kill_after}: member {i} has extra answer rows"
        );
    }
    let events = sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM processed_events")
        .fetch_one(store.pool())
        .await
        .expect("count events")
        .0;
    assert_eq!(events as usize, 1 + taps.len(), "one claim per update");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_loses_and_doubles_nothing() {
    // Right after the first answer, in the middle of the burst, and near its end.
    for kill_after in [1, 20, 44] {
        crash_at(kill_after).await;
    }
}

/// Kills the bot as soon as Telegram confirmed the poll message (the bot may not have noted its
/// message id yet), restarts it, and checks that the poll is not posted again and still takes
/// answers.
async fn crash_after_post() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let config = write_config(dir.path(), &fake);
    let log = dir.path().join("canvass.log");
    let bot = BotProcess::spawn(&config, &log);
    polling(&fake, 0).await;
    let (poll, buttons) = post_tools(&fake).await;
    bot.kill().await;
    let polls = fake.calls("GetUpdates");
    let bot = BotProcess::spawn(&config, &log);
    polling(&fake, polls).await;
    let mut queries = Vec::new();
    for (i, data) in buttons.iter().enumerate() {
        let (_, q) = fake.tap(&member(i), &group_chat(), poll, data);
        queries.push(q);
    }
    fake.wait_for_within(BURST_LIMIT, "the taps on the poll to be answered", |f| {
        let answers = f.callback_answers();
        queries
            .iter()
            .all(|q| answers.iter().any(|a| &a.id == q && a.text.is_some()))
            .then_some(())
    })
    .await;
    fake.wait_for_within(BURST_LIMIT, "every update to be handled", |f| {
        (f.pending_updates() == 0).then_some(())
    })
    .await;
    bot.terminate().await;
    let posts = fake.sent().iter().filter(|m| m.chat_id == GROUP).count();
    assert_eq!(posts, 1, "the poll was posted once");
    let store = canvass::store::Store::open(&dir.path().join("canvass.db").display().to_string())
        .await
        .expect("open the database");
    assert_eq!(store.integrity_check().await.expect("integrity"), "ok");
    let (current, _) = answers_by_member(store.pool(), "tools").await;
    assert_eq!(current.len(), 4, "taps on the poll were taken: {current:?}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_right_after_posting_neither_reposts_nor_orphans_the_poll() {
    crash_after_post().await;
}

/// Whether each update's event id was claimed (its transaction committed), by update id.
async fn committed(db: &Path, updates: &[i64]) -> BTreeMap<i64, bool> {
    let store = canvass::store::Store::open(&db.display().to_string())
        .await
        .expect("open the database");
    let claimed: Vec<(String,)> = sqlx::query_as("SELECT event_id FROM processed_events")
        .fetch_all(store.pool())
        .await
        .expect("claims");
    store.close().await;
    let claimed: BTreeSet<String> = claimed.into_iter().map(|c| c.0).collect();
    updates
        .iter()
        .map(|u| (*u, claimed.contains(&format!("tg:{u}"))))
        .collect()
}

/// SIGTERM in the middle of a burst, 20 times: every time the bot stops within 10 s with
/// status 0, every tap a member was told was saved is committed, and every update confirmed to
/// Telegram is committed. The restarted bot takes the rest; at the end every answer is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_burst_always_completes_and_confirms_only_what_is_committed() {
    const RUNS: usize = 20;
    const MEMBERS: usize = 100;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("canvass.db");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let config = write_config(dir.path(), &fake);
    let log = dir.path().join("canvass.log");
    let mut bot = BotProcess::spawn(&config, &log);
    polling(&fake, 0).await;
    let (poll, buttons) = post_tools(&fake).await;
    // (member, update id, query id) of every tap.
    let mut taps: Vec<(usize, i64, String)> = Vec::new();
    let mut slowest = Duration::ZERO;
    for run in 0..RUNS {
        let answered_before = fake.callback_answers().len();
        for i in run * MEMBERS..(run + 1) * MEMBERS {
            for pick in [i % 4, (i + 1) % 4] {
                let (update, query) = fake.tap(&member(i), &group_chat(), poll, &buttons[pick]);
                taps.push((i, update, query));
            }
        }
        // Stop at a different point of each burst: right at its start up to well into it.
        let stop_after = answered_before + 1 + (run % 5) * 30;
        fake.wait_for_within(BURST_LIMIT, "the burst to be under way", |f| {
            (f.callback_answers().len() >= stop_after).then_some(())
        })
        .await;
        bot.sigterm();
        let (status, took) = bot.exit_within(Duration::from_secs(30)).await;
        slowest = slowest.max(took);
        assert_eq!(status.code(), Some(0), "run {run}: exit status {status:?}");
        assert!(
            took <= Duration::from_secs(10),
            "run {run}: SIGTERM took {took:?} to stop the bot"
        );
        let ids: Vec<i64> = taps.iter().map(|t| t.1).collect();
        let committed = committed(&db, &ids).await;
        let told: BTreeSet<String> = fake
            .callback_answers()
            .into_iter()
            .filter(|a| a.text.is_some())
            .map(|a| a.id)
            .collect();
        let confirmed_below = fake.acknowledged_offset();
        for (i, update, query) in &taps {
            if told.contains(query) {
                assert!(
                    committed[update],
                    "run {run}: member {i} was told tap {update} was saved; it is not committed"
                );
            }
            if *update < confirmed_below {
                assert!(
                    committed[update],
                    "run {run}: tap {update} was confirmed to Telegram but is not committed"
                );
            }
        }
        let polls = fake.calls("GetUpdates");
        bot = BotProcess::spawn(&config, &log);
        polling(&fake, polls).await;
    }
    eprintln!("slowest stop after SIGTERM: {slowest:?}");
    fake.wait_for_within(BURST_LIMIT, "the last taps to be handled", |f| {
        (f.pending_updates() == 0).then_some(())
    })
    .await;
    let (status, _) = {
        bot.sigterm();
        bot.exit_within(Duration::from_secs(30)).await
    };
    assert_eq!(status.code(), Some(0));
    let store = canvass::store::Store::open(&db.display().to_string())
        .await
        .expect("open the database");
    let (current, rows) = answers_by_member(store.pool(), "tools").await;
    assert_eq!(
        current.len(),
        RUNS * MEMBERS,
        "every member's answer is stored"
    );
    for (i, _, _) in &taps {
        let user = member(*i).id.to_string();
        assert_eq!(choices(&current[&user]).len(), 2, "member {i}: both taps");
        assert_eq!(rows[&user], 2, "member {i}: no tap applied twice");
    }
    store.close().await;
}

/// A second SIGTERM stops the bot at once, while the first is still waiting for a member's
/// reply held up by Telegram (a 429 of 8 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_exits_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let config = write_config(dir.path(), &fake);
    let log = dir.path().join("canvass.log");
    let bot = BotProcess::spawn(&config, &log);
    polling(&fake, 0).await;
    let (poll, buttons) = post_tools(&fake).await;
    let who = member(1);
    fake.rate_limit_answers(who.id, 8);
    let (update, _) = fake.tap(&who, &group_chat(), poll, &buttons[0]);
    fake.wait_for_within(BURST_LIMIT, "the 429 to be met", |f| {
        (f.calls("AnswerCallbackQuery") >= 1).then_some(())
    })
    .await;
    bot.sigterm();
    bot.logged("shutting down").await;
    bot.sigterm();
    let (status, took) = bot.exit_within(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert!(
        took < Duration::from_secs(3),
        "the second SIGTERM took {took:?} to stop the bot"
    );
    let db = dir.path().join("canvass.db");
    assert!(
        committed(&db, &[update]).await[&update],
        "the tap was committed before the bot stopped"
    );
}

// ---- the adapter in process ------------------------------------------------------------------

struct Running {
    t: TestApp,
    fake: FakeTelegram,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(t: TestApp, fake: FakeTelegram) -> Running {
    let cfg = TelegramConfig {
        token_env: "UNUSED".into(),
        api_url: fake.url.clone(),
        poll_refresh_ms: 100,
    };
    let adapter = Telegram::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &cfg,
        &Secret::new(TOKEN),
    )
    .await
    .expect("adapter starts");
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(adapter.run(async move {
        let _ = rx.await;
    }));
    Running {
        t,
        fake,
        stop,
        task,
    }
}

impl Running {
    async fn stop(self) -> (TestApp, FakeTelegram) {
        let _ = self.stop.send(());
        self.task.await.expect("adapter task");
        (self.t, self.fake)
    }

    async fn drained(&self) {
        self.fake
            .wait_for_within(BURST_LIMIT, "every update to be handled", |f| {
                (f.pending_updates() == 0).then_some(())
            })
            .await;
    }
}

#[tokio::test]
async fn replaying_the_whole_update_stream_changes_nothing() {
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    // A recorded stream: polls posted, taps in the group (changes and retractions), a private
    // survey step by step, commands.
    let mut updates = Vec::new();
    updates.push(r.fake.send_text(&pm(), &group_chat(), "/post lunch"));
    let poll = r
        .fake
        .wait_for("the lunch poll", |f| {
            f.sent().into_iter().find(|m| m.chat_id == GROUP)
        })
        .await;
    let lunch = r.fake.buttons(GROUP, poll.message_id);
    updates.push(r.fake.send_text(&pm(), &group_chat(), "/post tools"));
    let tools_poll = r
        .fake
        .wait_for("the tools poll", |f| {
            f.sent()
                .into_iter()
                .find(|m| m.chat_id == GROUP && m.message_id != poll.message_id)
        })
        .await;
    let tools = r.fake.buttons(GROUP, tools_poll.message_id);
    for i in 0..12 {
        let who = member(i);
        let (u, _) = r
            .fake
            .tap(&who, &group_chat(), poll.message_id, &lunch[i % 3].1);
        updates.push(u);
        if i % 4 == 0 {
            let (u, _) = r
                .fake
                .tap(&who, &group_chat(), poll.message_id, &lunch[(i + 1) % 3].1);
            updates.push(u);
        }
        for pick in [i % 4, (i + 2) % 4, i % 4] {
            let (u, _) = r
                .fake
                .tap(&who, &group_chat(), tools_poll.message_id, &tools[pick].1);
            updates.push(u);
        }
    }
    let ana = member(100);
    updates.push(
        r.fake
            .send_text(&ana, &TgChat::Private(ana.id), "/start lunch"),
    );
    let question = r
        .fake
        .wait_for("the private question", |f| {
            f.sent()
                .into_iter()
                .find(|m| m.chat_id == ana.id && m.reply_markup.is_some())
        })
        .await;
    let private = r.fake.buttons(ana.id, question.message_id);
    let (u, _) = r.fake.tap(
        &ana,
        &TgChat::Private(ana.id),
        question.message_id,
        &private[1].1,
    );
    updates.push(u);
    updates.push(r.fake.send_text(&ana, &TgChat::Private(ana.id), "/mydata"));
    updates.push(r.fake.send_text(&pm(), &group_chat(), "/close lunch"));
    r.drained().await;
    let (t, fake) = r.stop().await;
    let before = dump(t.app.store.pool()).await;
    assert!(
        before["answers"].len() >= 12 + 12,
        "the stream stored answers: {:?}",
        before["answers"]
    );
    let sent_before = fake.sent().len();

    // Telegram delivers the whole stream again, to a restarted adapter.
    let r = start(t, fake).await;
    for u in &updates {
        r.fake.redeliver(*u);
    }
    r.drained().await;
    let (t, fake) = r.stop().await;
    let after = dump(t.app.store.pool()).await;
    assert_eq!(before, after, "a replayed stream changed the database");
    assert_eq!(
        fake.sent().len(),
        sent_before,
        "a replayed stream posted again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_members_toggle_at_once_and_counts_are_exact() {
    const MEMBERS: usize = 500;
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    r.fake.send_text(&pm(), &group_chat(), "/post tools");
    let poll = r
        .fake
        .wait_for("the poll", |f| {
            f.sent().into_iter().find(|m| m.chat_id == GROUP)
        })
        .await;
    let buttons = r.fake.buttons(GROUP, poll.message_id);
    // Member i: one toggle, two toggles, or on-off-on patterns; the expected final choices.
    let mut expected: BTreeMap<i64, BTreeSet<usize>> = BTreeMap::new();
    let mut queries = Vec::new();
    for i in 0..MEMBERS {
        let (a, b) = (i % 4, (i + 1) % 4);
        let (picks, end): (Vec<usize>, Vec<usize>) = match i % 3 {
            0 => (vec![a], vec![a]),
            1 => (vec![a, b], vec![a, b]),
            _ => (vec![a, b, a], vec![b]),
        };
        for p in picks {
            let (_, q) = r
                .fake
                .tap(&member(i), &group_chat(), poll.message_id, &buttons[p].1);
            queries.push(q);
        }
        expected.insert(member(i).id, end.into_iter().collect());
    }
    let total = queries.len();
    r.fake
        .wait_for_within(BURST_LIMIT, "every tap to be answered", |f| {
            (f.callback_answers().len() >= total).then_some(())
        })
        .await;
    r.drained().await;
    let (t, _fake) = r.stop().await;
    let (current, _) = answers_by_member(t.app.store.pool(), "tools").await;
    let options = ["slack", "discord", "telegram", "email"];
    let mut want = BTreeMap::new();
    let mut got = BTreeMap::new();
    for (user, picks) in &expected {
        for p in picks {
            *want.entry(options[*p]).or_insert(0) += 1;
        }
        let stored = current
            .get(&user.to_string())
            .map(|v| choices(v))
            .unwrap_or_default();
        for o in stored {
            *got.entry(
                options
                    .iter()
                    .find(|x| **x == o)
                    .copied()
                    .unwrap_or("unknown"),
            )
            .or_insert(0) += 1;
        }
    }
    assert_eq!(got, want);
    assert_eq!(current.len(), MEMBERS);
    assert_eq!(t.app.store.integrity_check().await.expect("check"), "ok");
}

// ---- the disk ----------------------------------------------------------------------------------

/// Runs `pragma` on every pooled connection (the pool holds at most 4).
async fn on_every_connection(pool: &sqlx::SqlitePool, pragma: &str) {
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(pool.acquire().await.expect("connection"));
    }
    for c in &mut held {
        sqlx::query(pragma).execute(&mut **c).await.expect("pragma");
    }
}

/// The toast a member gets for a tap, and whether the tap's answer is stored.
async fn tap_and_see(r: &Running, who: &TgUser, poll: i64, data: &str) -> (String, bool) {
    let (_, query) = r.fake.tap(who, &group_chat(), poll, data);
    let answer = r
        .fake
        .wait_for("the tap to be answered", |f| {
            f.callback_answers().into_iter().find(|a| a.id == query)
        })
        .await;
    let stored =
        r.t.scalar(&format!(
            "SELECT COUNT(*) FROM answers a JOIN respondents r ON r.id = a.respondent_id
               JOIN members m ON m.id = r.member_id
              WHERE m.platform_user_id = '{}' AND a.superseded_at IS NULL",
            who.id
        ))
        .await
            == 1;
    (answer.text.unwrap_or_default(), stored)
}

async fn lunch_poll(r: &Running) -> (i64, Vec<(String, String)>) {
    r.fake.send_text(&pm(), &group_chat(), "/post lunch");
    let poll = r
        .fake
        .wait_for("the poll", |f| {
            f.sent().into_iter().find(|m| m.chat_id == GROUP)
        })
        .await;
    (poll.message_id, r.fake.buttons(GROUP, poll.message_id))
}

const TRY_AGAIN: &str = "Sorry, that did not go through and nothing was saved.";

#[tokio::test]
async fn a_read_only_database_asks_members_to_try_again_and_tells_the_operator() {
    let (logs, _guard) = Logs::capture("canvass=warn");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    let (poll, buttons) = lunch_poll(&r).await;
    let (toast, stored) = tap_and_see(&r, &member(1), poll, &buttons[0].1).await;
    assert!(toast.starts_with("Saved"), "{toast}");
    assert!(stored);

    // What SQLite does with a read-only file (SQLITE_READONLY on the first write); as root,
    // file permissions would not stop the test process, so the connection is made read-only.
    on_every_connection(r.t.app.store.pool(), "PRAGMA query_only = ON").await;
    let (toast, stored) = tap_and_see(&r, &member(2), poll, &buttons[1].1).await;
    assert!(toast.starts_with(TRY_AGAIN), "{toast}");
    assert!(!stored, "a refused write must not be stored");
    let (toast, _) = tap_and_see(&r, &member(1), poll, &buttons[2].1).await;
    assert!(
        toast.starts_with(TRY_AGAIN),
        "no false confirmation: {toast}"
    );
    let log = logs.text();
    assert!(
        log.contains("the database cannot be written") && log.contains("readonly"),
        "the operator's log says what is wrong: {log}"
    );

    on_every_connection(r.t.app.store.pool(), "PRAGMA query_only = OFF").await;
    let (toast, stored) = tap_and_see(&r, &member(2), poll, &buttons[1].1).await;
    assert!(toast.starts_with("Saved"), "trying again works: {toast}");
    assert!(stored);
    let (t, _fake) = r.stop().await;
    // Member 1 kept their first answer: the refused change did not touch it.
    assert_eq!(t.current("lunch", "food").await.len(), 2);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM answers").await,
        2,
        "nothing half-written"
    );
    assert_eq!(t.app.store.integrity_check().await.expect("check"), "ok");
}

#[tokio::test]
async fn a_full_disk_asks_members_to_try_again_and_loses_nothing_committed() {
    let (logs, _guard) = Logs::capture("canvass=warn");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    let (poll, buttons) = lunch_poll(&r).await;
    // The file may not grow by a single page: once the pages it has are full, writes fail
    // with SQLITE_FULL, as on a full disk.
    let pages = r.t.scalar("PRAGMA page_count").await;
    on_every_connection(
        r.t.app.store.pool(),
        &format!("PRAGMA max_page_count = {pages}"),
    )
    .await;
    // Members keep answering on the full disk: each is either saved and told so, or asked to
    // try again with nothing stored. Twenty more after the first refusal give SQLite many
    // chances to fail at COMMIT, which once poisoned a pooled connection for good.
    let mut saved = Vec::new();
    let mut refused = Vec::new();
    for i in 0..400 {
        if refused.len() > 20 {
            break;
        }
        let who = member(i);
        let (toast, stored) = tap_and_see(&r, &who, poll, &buttons[i % 3].1).await;
        if toast.starts_with(TRY_AGAIN) {
            assert!(
                !stored,
                "member {i} was asked to try again, but the answer is stored"
            );
            refused.push(i);
        } else {
            assert!(toast.starts_with("Saved"), "{toast}");
            assert!(
                stored,
                "member {i} was told it was saved, but it is not stored"
            );
            saved.push(i);
        }
    }
    assert!(!refused.is_empty(), "the disk filled up within 400 answers");
    let log = logs.text();
    assert!(
        log.contains("the database cannot be written") && log.contains("full"),
        "the operator's log says what is wrong: {log}"
    );

    // Space is freed; everyone who was refused tries again, through every pooled connection.
    on_every_connection(r.t.app.store.pool(), "PRAGMA max_page_count = 1073741823").await;
    for &i in &refused {
        let (toast, stored) = tap_and_see(&r, &member(i), poll, &buttons[0].1).await;
        assert!(toast.starts_with("Saved"), "{toast}; log: {}", logs.text());
        assert!(stored);
    }
    let (t, _fake) = r.stop().await;
    assert_eq!(
        t.current("lunch", "food").await.len(),
        saved.len() + refused.len(),
        "every confirmed answer is still there"
    );
    assert_eq!(t.app.store.integrity_check().await.expect("check"), "ok");
}

#[tokio::test]
async fn a_tap_that_was_not_saved_is_never_logged_as_saved() {
    let (logs, _guard) = Logs::capture("canvass=warn");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    let (poll, buttons) = lunch_poll(&r).await;
    on_every_connection(r.t.app.store.pool(), "PRAGMA query_only = ON").await;
    // Telegram refuses the acknowledgement for longer than a tap's answer is useful, so the
    // "try again" cannot be shown and the bot logs why.
    r.fake.rate_limit_answers(member(3).id, 30);
    r.fake.tap(&member(3), &group_chat(), poll, &buttons[0].1);
    let log = logs
        .wait_for("could not tell a member to try again", BURST_LIMIT)
        .await;
    assert!(
        !log.contains("its answer is saved"),
        "nothing was saved, so the log must not say it was: {log}"
    );
    assert!(log.contains("retry after 30"), "the true cause: {log}");
    let (t, _fake) = r.stop().await;
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 0);
}

#[tokio::test]
async fn a_locked_database_answers_every_waiting_tap_within_telegrams_limit() {
    let (logs, _guard) = Logs::capture("canvass=warn");
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    let (poll, buttons) = lunch_poll(&r).await;
    // Another process holds the write lock (as `BEGIN EXCLUSIVE` in the sqlite3 shell would).
    use sqlx::Connection;
    let url = format!("sqlite://{}", r.t.db.display());
    let mut other = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("a second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .expect("lock");
    // One tap reaches the writer and waits out the busy timeout; more members tap meanwhile.
    let (first, first_query) = r.fake.tap(&member(1), &group_chat(), poll, &buttons[0].1);
    r.fake
        .wait_for("the first tap taken", |f| f.delivered(first).then_some(()))
        .await;
    let mut queries = vec![(tokio::time::Instant::now(), first_query)];
    for i in 2..6 {
        let (_, q) = r.fake.tap(&member(i), &group_chat(), poll, &buttons[1].1);
        queries.push((tokio::time::Instant::now(), q));
    }
    // Each is told to try again before Telegram's 15 s for answering a tap run out, not one
    // busy timeout (10 s) after another.
    for (tapped, query) in &queries {
        let answer = r
            .fake
            .wait_for_within(Duration::from_secs(14), "a timely try again", |f| {
                f.callback_answers().into_iter().find(|a| &a.id == query)
            })
            .await;
        let text = answer.text.unwrap_or_default();
        assert!(text.starts_with(TRY_AGAIN), "{text}");
        let at = r.fake.answered_at(query).expect("answered");
        assert!(
            at.duration_since(*tapped) < Duration::from_secs(14),
            "answered {:?} after the tap",
            at.duration_since(*tapped)
        );
    }
    sqlx::query("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("unlock");
    drop(other);
    let (toast, stored) = tap_and_see(&r, &member(1), poll, &buttons[0].1).await;
    assert!(toast.starts_with("Saved"), "trying again works: {toast}");
    assert!(stored);
    let log = logs.text();
    assert!(!log.contains("its answer is saved"), "{log}");
    let (t, _fake) = r.stop().await;
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 1);
}

const TRY_AGAIN_DE: &str = "Das hat leider nicht geklappt, und es wurde nichts gespeichert.";

#[tokio::test]
async fn a_failed_tap_asks_a_german_member_to_try_again_in_german() {
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    let (poll, buttons) = lunch_poll(&r).await;
    on_every_connection(r.t.app.store.pool(), "PRAGMA query_only = ON").await;
    let mut de = member(7);
    de.language_code = Some("de".into());
    let (toast, stored) = tap_and_see(&r, &de, poll, &buttons[0].1).await;
    assert!(toast.starts_with(TRY_AGAIN_DE), "{toast}");
    assert!(!stored);
    let _ = r.stop().await;
}

#[tokio::test]
async fn a_failed_private_or_team_command_in_a_group_says_sorry_privately() {
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    lunch_poll(&r).await;
    on_every_connection(r.t.app.store.pool(), "PRAGMA query_only = ON").await;
    let before = r.fake.sent().len();
    // A member's /mydata and the team's /export: on success both answer privately.
    for (who, text) in [(member(8), "/mydata"), (pm(), "/export lunch")] {
        r.fake.send_text(&who, &group_chat(), text);
        let sorry = r
            .fake
            .wait_for("the try again", |f| {
                f.sent()
                    .into_iter()
                    .skip(before)
                    .find(|m| m.chat_id == who.id)
            })
            .await;
        assert!(sorry.text.starts_with(TRY_AGAIN), "{text}: {}", sorry.text);
    }
    r.drained().await;
    let in_group: Vec<_> = r
        .fake
        .sent()
        .into_iter()
        .skip(before)
        .filter(|m| m.chat_id == GROUP)
        .map(|m| m.text)
        .collect();
    assert!(in_group.is_empty(), "posted in the group: {in_group:?}");
    let _ = r.stop().await;
}

// ---- platform errors ---------------------------------------------------------------------------

/// Taps and waits until the fake recorded an answer to the query.
async fn toast(r: &Running, who: &TgUser, poll: i64, data: &str) -> Option<String> {
    let (_, query) = r.fake.tap(who, &group_chat(), poll, data);
    r.fake
        .wait_for("the tap to be answered", |f| {
            f.callback_answers().into_iter().find(|a| a.id == query)
        })
        .await
        .text
}

#[tokio::test]
async fn telegram_survives_429s_resets_slowness_and_5xx_without_loss_or_duplicates() {
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;

    // 429 on the post: waited out, posted once.
    r.fake.rate_limit_next("SendMessage", 1);
    let (poll, buttons) = lunch_poll(&r).await;
    assert_eq!(r.fake.sent().len(), 1);
    assert_eq!(r.fake.calls("SendMessage"), 2);

    // 429, a connection broken before or after the call, a slow answer: every member sees
    // exactly one confirmation.
    r.fake.rate_limit_next("AnswerCallbackQuery", 1);
    let t = toast(&r, &member(1), poll, &buttons[0].1).await;
    assert!(t.unwrap_or_default().starts_with("Saved"));
    r.fake.fault_next("AnswerCallbackQuery", Fault::ResetBefore);
    let t = toast(&r, &member(2), poll, &buttons[1].1).await;
    assert!(t.unwrap_or_default().starts_with("Saved"));
    r.fake.fault_next("AnswerCallbackQuery", Fault::ResetAfter);
    let t = toast(&r, &member(3), poll, &buttons[2].1).await;
    assert!(t.unwrap_or_default().starts_with("Saved"));
    r.fake.fault_next(
        "AnswerCallbackQuery",
        Fault::Slow(Duration::from_millis(1500)),
    );
    let t = toast(&r, &member(4), poll, &buttons[0].1).await;
    assert!(t.unwrap_or_default().starts_with("Saved"));

    // GetUpdates broken before and after it handed out updates: they come again, and each is
    // handled once.
    r.fake.fault_next("GetUpdates", Fault::ResetBefore);
    r.fake.fault_next("GetUpdates", Fault::ResetAfter);
    let t = toast(&r, &member(5), poll, &buttons[1].1).await;
    assert!(t.unwrap_or_default().starts_with("Saved"));

    // A 5xx on the confirmation: it is safe to repeat, so it is retried and arrives.
    r.fake
        .fault_next("AnswerCallbackQuery", Fault::ServerError(500));
    let t = toast(&r, &member(6), poll, &buttons[2].1).await;
    assert!(t.unwrap_or_default().starts_with("Saved"));
    let t = toast(&r, &member(7), poll, &buttons[2].1).await;
    assert!(t.unwrap_or_default().starts_with("Saved"));

    // A reply whose connection broke after Telegram posted it is not sent again: it may have
    // arrived, and a duplicate is worse than a missing reply.
    r.fake.fault_next("SendMessage", Fault::ResetAfter);
    let before = r.fake.calls("SendMessage");
    r.fake.send_text(&pm(), &group_chat(), "/help");
    r.fake
        .wait_for("the help reply", |f| {
            f.sent()
                .into_iter()
                .find(|m| m.chat_id == GROUP && m.message_id != poll)
        })
        .await;
    r.drained().await;
    let (t, fake) = r.stop().await;
    assert_eq!(fake.calls("SendMessage"), before + 1, "not repeated");
    assert_eq!(
        fake.sent()
            .iter()
            .filter(|m| m.chat_id == GROUP && m.message_id != poll)
            .count(),
        1,
        "posted once"
    );
    // Each member's toast arrived once (the fake refuses a second answer to a query), and
    // nobody's answer was lost, including the one whose confirmation met a 5xx.
    let answered: Vec<_> = fake.callback_answers().into_iter().map(|a| a.id).collect();
    let unique: BTreeSet<_> = answered.iter().collect();
    assert_eq!(answered.len(), unique.len());
    assert_eq!(answered.len(), 7, "every member's tap was acknowledged");
    assert_eq!(t.current("lunch", "food").await.len(), 7);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 7);
}

mod discord {
    //! The same faults against the Discord adapter, where 429s are ours to handle (serenity's
    //! rate limiter is off when pointed at a test server).

    use crate::support::discord::adapter::RunningAdapter;
    use crate::support::discord::*;
    use crate::support::*;
    use serde_json::json;

    const GUILD: u64 = 6_000;
    const CHANNEL: u64 = 6_001;
    const TEAM_ROLE: u64 = 777;

    fn pm() -> DcUser {
        DcUser::new(1_001, "Pat").with_roles(&[TEAM_ROLE])
    }

    fn member(i: u64) -> DcUser {
        DcUser::new(3_000 + i, &format!("Member {i}"))
    }

    #[tokio::test]
    async fn discord_survives_429s_5xx_and_resets_without_loss_or_duplicates() {
        let fake = FakeDiscord::start().await;
        fake.add_guild(GUILD, "Community", &[CHANNEL], &[(TEAM_ROLE, "product")]);
        fake.add_member(GUILD, &pm());
        for i in 0..6 {
            fake.add_member(GUILD, &member(i));
        }
        let t = spawn_app().await;
        let adapter = RunningAdapter::start(&t, &fake, GUILD).await;

        // A 429 on the deferral; the post's connection breaks after Discord created it: it is
        // retried with the same nonce, and Discord hands back the first message.
        fake.rate_limit_next("POST", "/interactions/", 0.25);
        fake.reset_next("POST", "/channels/", true);
        fake.slash(
            GUILD,
            CHANNEL,
            &pm(),
            "survey",
            json!([{ "name": "post", "type": 1,
                     "options": [{ "name": "survey", "type": 3, "value": "lunch" }] }]),
        );
        let poll = fake
            .wait_for("the poll message", |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .find(|m| m.via == "channel" && !m.custom_ids().is_empty())
            })
            .await;
        let ids = poll.custom_ids();

        // Each member's tap meets one fault on its acknowledgement or its confirmation.
        let faults: [&dyn Fn(&FakeDiscord); 6] = [
            &|f| f.rate_limit_next("POST", "/interactions/", 0.25),
            &|f| {
                f.fail_next(
                    "POST",
                    "/interactions/",
                    500,
                    0,
                    "500: Internal Server Error",
                )
            },
            &|f| f.reset_next("POST", "/interactions/", true),
            &|f| f.rate_limit_next("POST", "/webhooks/", 0.25),
            &|f| f.fail_next("POST", "/webhooks/", 502, 0, "502: Bad Gateway"),
            &|f| f.reset_next("POST", "/webhooks/", true),
        ];
        // Follow-up attempts per member: the 429 is retried once, nothing else is repeated.
        let attempts = [1, 1, 1, 2, 1, 1];
        let mut clicks = Vec::new();
        let mut followups = 0;
        for (i, fault) in faults.iter().enumerate() {
            // One member at a time, so each fault meets the call it was meant for.
            fault(&fake);
            let click = fake.click(GUILD, CHANNEL, &member(i as u64), poll.id, &ids[i % 3]);
            followups += attempts[i];
            fake.wait_for("the click to be handled", |f| {
                (f.response(click).is_some() && f.calls("POST", "/webhooks/") >= followups)
                    .then_some(())
            })
            .await;
            clicks.push(click);
        }
        adapter.stop().await;

        assert_eq!(
            fake.messages(CHANNEL)
                .iter()
                .filter(|m| m.via == "channel")
                .count(),
            1,
            "the poll was posted once"
        );
        assert_eq!(
            fake.calls("POST", "/channels/"),
            2,
            "the retry after the reset"
        );
        for (i, click) in clicks.iter().enumerate() {
            let confirmations = fake
                .messages(CHANNEL)
                .iter()
                .filter(|m| m.interaction_id == Some(*click) && m.via == "followup")
                .count();
            // A follow-up that met a 5xx (refused, so never posted) or a broken connection
            // (posted, answer lost) is not posted again; the others arrive exactly once.
            let expected = if i == 4 { 0 } else { 1 };
            assert_eq!(confirmations, expected, "member {i}");
        }
        assert_eq!(
            fake.calls("POST", "/webhooks/"),
            followups,
            "one retry (the 429), nothing else repeated"
        );
        // No answer lost.
        assert_eq!(t.current("lunch", "food").await.len(), 6);
    }

    #[tokio::test]
    async fn a_failed_click_asks_a_german_member_to_try_again_in_german() {
        let fake = FakeDiscord::start().await;
        fake.add_guild(GUILD, "Community", &[CHANNEL], &[(TEAM_ROLE, "product")]);
        let de = member(9).with_locale("de");
        fake.add_member(GUILD, &pm());
        fake.add_member(GUILD, &de);
        let t = spawn_app().await;
        let adapter = RunningAdapter::start(&t, &fake, GUILD).await;
        fake.slash(
            GUILD,
            CHANNEL,
            &pm(),
            "survey",
            json!([{ "name": "post", "type": 1,
                     "options": [{ "name": "survey", "type": 3, "value": "lunch" }] }]),
        );
        let poll = fake
            .wait_for("the poll message", |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .find(|m| m.via == "channel" && !m.custom_ids().is_empty())
            })
            .await;
        super::on_every_connection(t.app.store.pool(), "PRAGMA query_only = ON").await;
        let click = fake.click(GUILD, CHANNEL, &de, poll.id, &poll.custom_ids()[0]);
        let sorry = fake
            .wait_for("the try again", |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .find(|m| m.interaction_id == Some(click) && !m.content.is_empty())
            })
            .await;
        assert!(
            sorry.content.starts_with(super::TRY_AGAIN_DE),
            "{}",
            sorry.content
        );
        adapter.stop().await;
        assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 0);
    }
}

/// A Discord it cannot reach (serenity retries the gateway forever) must not stop a shutdown:
/// one SIGTERM ends the process with status 0 within 10 s.
#[tokio::test]
async fn sigterm_stops_the_bot_while_discord_is_unreachable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("canvass.db");
    let config = dir.path().join("bot.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndatabase = \"{}\"\n\n[discord]\ntoken_env = \"{TOKEN_ENV}\"\napi_url = \"http://127.0.0.1:1\"\n",
            db.display()
        ),
    )
    .expect("write config");
    std::os::unix::fs::symlink(crate::support::prompts(), dir.path().join("prompts"))
        .expect("link prompts");
    let log = dir.path().join("canvass.log");
    let bot = BotProcess::spawn(&config, &log);
    bot.logged("gateway").await;
    bot.sigterm();
    let (status, took) = bot.exit_within(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// Log lines written while a test runs on this thread (a current-thread runtime runs every
/// task here), so a test can check what the operator would read.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

/// A reply whose connection broke after Telegram may have posted it is not repeated, and the
/// log says its delivery is uncertain.
#[tokio::test]
async fn the_log_says_when_a_delivery_was_uncertain() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let r = start(spawn_app().await, fake).await;
    r.fake.fault_next("SendMessage", Fault::ResetAfter);
    r.fake.send_text(&pm(), &group_chat(), "/help");
    r.fake
        .wait_for("the help reply", |f| {
            f.sent().into_iter().find(|m| m.chat_id == GROUP)
        })
        .await;
    r.drained().await;
    let (_, fake) = r.stop().await;
    assert_eq!(fake.calls("SendMessage"), 1, "not repeated");
    let text = log.text();
    let line = text
        .lines()
        .find(|l| l.contains("may have been delivered"))
        .unwrap_or_else(|| panic!("no uncertain delivery in the log:\n{text}"));
    assert!(
        line.contains("WARN") && line.contains("sendMessage"),
        "{line}"
    );
}
