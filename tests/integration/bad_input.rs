//! Bad input gets a clear message and stores nothing.

use crate::support::*;
use canvass::config::Config;
use std::path::Path;
use std::process::Command;

#[test]
fn malformed_config_is_reported_with_key_and_line() {
    let cases = [
        ("[team\nconsole = []", "line 1"),
        ("[team]\nconsoel = [\"pm\"]", "consoel"),
        (
            "[[surveys]]\nid = \"Bad Id\"\ntitle = \"x\"\n[[surveys.questions]]\ntype = \"nps\"\ntext = \"?\"",
            "line 2: survey \"Bad Id\", id",
        ),
        (
            "[[surveys]]\nid = \"s\"\ntitle = \"x\"\n[[surveys.questions]]\ntype = \"rating\"\nscale = 6\ntext = \"?\"",
            "line 6: survey \"s\", question \"q1\", scale: must be 5 or 7",
        ),
        (
            "[[surveys]]\nid = \"s\"\ntitle = \"x\"\n[[surveys.questions]]\ntype = \"single\"\ntext = \"?\"\noptions = [\"only one\"]",
            "needs at least 2 options",
        ),
        (
            "[[surveys]]\nid = \"s\"\ntitle = \"x\"\nquestions = []",
            "at least one question",
        ),
        (
            "[telegram]\ntoken_env = \"123456:SECRET\"",
            "never the token itself",
        ),
        ("[segments]\nmin_size = 3", "segments.min_size"),
    ];
    for (src, expected) in cases {
        let err = Config::parse(src, Path::new("bot.toml"))
            .expect_err(src)
            .to_string();
        assert!(err.contains(expected), "{src:?} gave {err:?}");
        assert!(err.contains("bot.toml"), "names the file: {err}");
    }
    // Line numbers point at the offending key, the survey and question named by id.
    let src = format!(
        "{}\n[[surveys]]\nid = \"late\"\ntitle = \"x\"\n[[surveys.questions]]\ntype = \"single\"\ntext = \"{}\"\noptions = [\"a\", \"b\"]\n",
        CONFIG,
        "?".repeat(301)
    );
    let err = Config::parse(&src, Path::new("bot.toml"))
        .expect_err("too long")
        .to_string();
    let expected_line = src.lines().count() - 1;
    assert!(
        src.lines()
            .nth(expected_line - 1)
            .unwrap()
            .starts_with("text = ")
    );
    assert!(err.contains(&format!("line {expected_line}:")), "{err}");
    assert!(
        err.contains(
            "survey \"late\", question \"q1\", text: is 301 characters long; the limit is 300"
        ),
        "{err}"
    );
}

#[test]
fn check_command_exits_non_zero_on_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bot.toml");
    std::fs::write(&cfg, "[team]\nconsole = \"pm\"\n").unwrap();
    std::fs::create_dir(dir.path().join("prompts")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_canvass"))
        .args(["--config", cfg.to_str().unwrap(), "check"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert!(
        err.contains("team.console: must be a list in [ ], not the text \"pm\""),
        "{err}"
    );

    // The shipped config and templates pass.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_canvass"))
        .args(["--config", shipped.to_str().unwrap(), "check"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok:"));
}

#[test]
fn a_broken_template_is_reported_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("help.hbs"), "{{#if team}}unclosed").unwrap();
    let err = canvass::render::Renderer::load(dir.path())
        .expect_err("broken")
        .to_string();
    assert!(err.contains("help.hbs"), "{err}");
}

#[tokio::test]
async fn unknown_survey_and_unknown_command() {
    let t = spawn_app().await;
    let out = t.say("pm", group(), "/post nope").await;
    assert_eq!(
        t.text(&out),
        "There is no survey called \"nope\". /surveys lists the open ones."
    );
    let out = t.say("alice", dm("alice"), "/start nope").await;
    assert!(t.text(&out).contains("no survey called \"nope\""));
    let out = t.say("alice", group(), "/frobnicate now").await;
    assert_eq!(
        t.text(&out),
        "I don't know the command /frobnicate. /help lists what I can do."
    );
    let out = t.say("pm", group(), "/poll Just a question").await;
    assert!(
        t.text(&out).contains("give at least two options"),
        "{}",
        t.text(&out)
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM postings").await, 0);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM surveys WHERE source = 'command'")
            .await,
        0
    );
}

#[tokio::test]
async fn answers_out_of_range_are_refused() {
    let t = spawn_app().await;
    let out = t.say("alice", dm("alice"), "/start deep").await;
    t.tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
        .await;
    let key = t.scalar("SELECT id FROM surveys WHERE slug = 'deep'").await;
    // A forged but well-formed payload asking for NPS 11, and typed values.
    let out = t
        .tap("alice", dm("alice"), &format!("c1.{key}.c.1.11"))
        .await;
    assert_eq!(t.text(&out), "Please pick a number from 0 to 10.");
    let out = t.say("alice", dm("alice"), "42").await;
    assert_eq!(t.text(&out), "Please pick a number from 0 to 10.");
    let out = t.say("alice", dm("alice"), "-1").await;
    assert_eq!(
        t.text(&out),
        "Please answer this one with the buttons above."
    );
    assert!(t.current("deep", "nps").await.is_empty());
    // Typing a valid number works the same as tapping.
    let out = t.say("alice", dm("alice"), "7").await;
    assert!(t.text(&out).starts_with("Saved: 7"), "{}", t.text(&out));
}

#[tokio::test]
async fn text_over_the_limit_is_refused_and_nothing_is_stored() {
    let t = spawn_app().await;
    let mut out = t.say("bob", dm("bob"), "/start deep").await;
    // Walk to the open-text question (limit 20).
    for i in [1usize, 9, 0, 0, 0, 0] {
        out = t
            .tap("bob", dm("bob"), &payloads(&last_keyboard(&out))[i])
            .await;
    }
    assert!(
        t.text(&out).contains("up to 20 characters"),
        "{}",
        t.text(&out)
    );
    let out = t.say("bob", dm("bob"), &"é".repeat(21)).await;
    assert_eq!(
        t.text(&out),
        "That is 21 characters; the limit is 20. Please shorten it and send it again. Nothing was saved."
    );
    assert!(t.current("deep", "why").await.is_empty());
    let out = t.say("bob", dm("bob"), "   ").await;
    assert!(t.text(&out).contains("empty"), "{}", t.text(&out));
    let out = t.say("bob", dm("bob"), &"é".repeat(20)).await;
    assert!(t.text(&out).contains("that's all"), "{}", t.text(&out));
}

#[tokio::test]
async fn members_cannot_run_product_team_commands() {
    let t = spawn_app().await;
    t.post("lunch").await;
    for cmd in [
        "/close lunch",
        "/post rank",
        "/poll A? | x | y",
        "/insights lunch",
        "/export lunch",
        "/digest",
    ] {
        let out = t.say("alice", group(), cmd).await;
        let name = cmd
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap();
        assert_eq!(
            t.text(&out),
            format!("Sorry, /{name} is for the product team. /help lists what you can do.")
        );
    }
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM surveys WHERE status = 'closed'")
            .await,
        0
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM postings").await, 1);
    // The product team can.
    let out = t.say("pm", group(), "/close lunch").await;
    assert!(t.text(&out).starts_with("Closed \"Lunch\""));
    // Once closed, taps change nothing.
    let key = t
        .scalar("SELECT id FROM surveys WHERE slug = 'lunch'")
        .await;
    let out = t.tap("alice", group(), &format!("c1.{key}.c.0.0")).await;
    assert_eq!(
        t.text(&out),
        "\"Lunch\" is closed, so answers can no longer change."
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 0);
}

#[tokio::test]
async fn forged_and_misplaced_buttons_change_nothing() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    let key = t
        .scalar("SELECT id FROM surveys WHERE slug = 'lunch'")
        .await;
    let stale = "This button is no longer valid. Nothing was changed.";
    for forged in [
        "garbage".to_string(),
        format!("c1.{key}.c.0.9"),
        format!("c1.{key}.c.0.01"),
        format!("c1.{key}.c.5.0"),
        "c1.999.c.0.0".to_string(),
        format!("c1.{key}.c.0.0'; DROP TABLE answers; --"),
        "x".repeat(5000),
    ] {
        let out = t.tap("mallory", group(), &forged).await;
        let text = t.text(&out);
        assert!(
            text == stale || text.contains("not part of this question"),
            "{forged}: {text}"
        );
    }
    // A real payload tapped in a chat where the poll was never posted.
    let elsewhere = canvass::core::event::Chat {
        id: "other-community".into(),
        kind: canvass::core::event::ChatKind::Group,
        title: Some("elsewhere".into()),
    };
    let out = t.tap("mallory", elsewhere, &p[0]).await;
    assert_eq!(t.text(&out), stale);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM members").await, 0);
}

#[test]
fn check_fails_on_an_unset_token_variable_at_its_line_unless_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bot.toml");
    // A loopback api_url, though `check` never connects.
    let src = format!(
        "{CONFIG}\n[telegram]\ntoken_env = \"CANVASS_CHECK_TEST_TOKEN\"\napi_url = \"http://127.0.0.1:9\"\n"
    );
    std::fs::write(&cfg, &src).unwrap();
    let line = src
        .lines()
        .position(|l| l.starts_with("token_env"))
        .unwrap()
        + 1;
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_canvass"))
            .args(["--config", cfg.to_str().unwrap(), "check"])
            .args(extra)
            .env_remove("CANVASS_CHECK_TEST_TOKEN")
            .output()
            .expect("runs")
    };
    let out = run(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "line {line}: telegram.token_env: the environment variable CANVASS_CHECK_TEST_TOKEN is not set"
        )),
        "{err}"
    );
    let out = run(&["--offline"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_fails_on_keys_urls_and_databases_that_run_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bot.toml");
    std::fs::create_dir(dir.path().join("kdir")).unwrap();
    std::fs::write(dir.path().join("short.key"), "abc\n").unwrap();
    let check = |extra: &str| {
        std::fs::write(&cfg, format!("{CONFIG}\n{extra}\n")).unwrap();
        Command::new(env!("CARGO_BIN_EXE_canvass"))
            .args(["--config", cfg.to_str().unwrap(), "check", "--offline"])
            .env("CANVASS_CHECK_SHORT_KEY", "short")
            .output()
            .expect("runs")
    };
    // The same config without the bad setting passes, so each case fails on its own setting.
    let out = check("");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases = [
        (
            "[privacy]\nkey_env = \"CANVASS_CHECK_SHORT_KEY\"",
            "privacy.key_env: the anonymity key in CANVASS_CHECK_SHORT_KEY is 5 bytes; it must be at least 32",
        ),
        (
            "[privacy]\nkey_file = \"nodir/k.key\"",
            "privacy.key_file: ",
        ),
        (
            "[privacy]\nkey_file = \"kdir\"",
            "it is a folder, not a file",
        ),
        (
            "[privacy]\nkey_file = \"short.key\"",
            "is 3 bytes; it must be at least 32",
        ),
        (
            "[telegram]\ntoken_env = \"T\"\napi_url = \"not a url\"",
            "telegram.api_url: \"not a url\" is not a URL",
        ),
        (
            "[telegram]\ntoken_env = \"T\"\napi_url = \"ftp://files.example\"",
            "telegram.api_url: \"ftp://files.example\" must be an http or https URL",
        ),
        (
            "[discord]\ntoken_env = \"T\"\napi_url = \"not a url\"",
            "discord.api_url: \"not a url\" is not a URL",
        ),
        (
            "[storage]\ndatabase = \"nodir/u5.db\"",
            "storage.database: the folder",
        ),
        (
            "[storage]\ndatabase = \"sqlite://canvass.db?mode=ro\"",
            "read-only (mode=ro)",
        ),
    ];
    for (extra, expected) in cases {
        let out = check(extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} passed check");
        assert!(err.contains(expected), "{extra:?} gave {err}");
    }
    assert!(
        String::from_utf8_lossy(&check("[privacy]\nkey_file = \"nodir/k.key\"").stderr)
            .contains("does not exist"),
        "a missing key folder is named"
    );
}

#[tokio::test]
async fn a_config_folder_with_a_question_mark_keeps_its_database_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("qu?mark #1");
    std::fs::create_dir(&folder).unwrap();
    let config = Config::parse(CONFIG, &folder.join("bot.toml")).expect("config");
    assert!(
        config.problems(true).is_empty(),
        "{:?}",
        config.problems(true)
    );
    let store = canvass::store::Store::open(&config.database())
        .await
        .expect("the database opens as a file, not a URL");
    drop(store);
    assert!(
        folder.join("canvass.db").is_file(),
        "created beside bot.toml"
    );
}

/// README §Operating: read-only commands (`backup`, `export`, `surveys`, `insights`) on a
/// database that does not exist refuse in a plain sentence and create nothing.
#[test]
fn read_only_commands_on_a_missing_database_refuse_and_create_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bot.toml"),
        "[[surveys]]\nid = \"s1\"\ntitle = \"S\"\n[[surveys.questions]]\nid = \"q1\"\ntype = \"single\"\ntext = \"Q?\"\noptions = [\"a\", \"b\"]\n",
    )
    .expect("config");
    let cases: [&[&str]; 5] = [
        &["backup", "copy.db"],
        &["export", "s1"],
        &["surveys"],
        &["insights", "s1"],
        &["--database", "typo.db", "export", "s1"],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_canvass"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(err.contains("no database at "), "{args:?}: {err}");
        for f in ["canvass.db", "typo.db", "copy.db"] {
            assert!(!dir.path().join(f).exists(), "{args:?} created {f}");
        }
    }
}

/// README §Backups: a backup reads the database only, so it works on one opened read-only;
/// an error is said once, not once per layer that passed it on.
#[test]
fn backup_reads_a_read_only_database_and_says_an_error_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bot.toml"), "[team]\nconsole = [\"pm\"]\n").expect("config");
    let canvass = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_canvass"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("runs")
    };
    let made = canvass(&["migrate"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let db = dir.path().join("canvass.db");
    let ro = format!("sqlite://{}?mode=ro", db.display());
    let out = canvass(&["--database", &ro, "backup", "copy.db"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(dir.path().join("copy.db").exists());

    let out = canvass(&["backup", "nodir/copy.db"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(err.matches("unable to open database").count(), 1, "{err}");
}

/// README §Templates: `canvass check` refuses an override that does not render; an emptied
/// one (members would get an empty message, or none) is refused too.
#[test]
fn check_refuses_an_empty_override_template() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bot.toml"), "[team]\nconsole = [\"pm\"]\n").expect("config");
    std::fs::create_dir(dir.path().join("prompts")).expect("mkdir");
    std::fs::write(dir.path().join("prompts/help.hbs"), "\n").expect("template");
    let out = Command::new(env!("CARGO_BIN_EXE_canvass"))
        .arg("check")
        .current_dir(dir.path())
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("template help") && err.contains("shows nothing"),
        "{err}"
    );
}
