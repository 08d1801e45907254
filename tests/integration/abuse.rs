//! Abuse and bad input through both adapters end to end (the real teloxide and serenity
//! clients against the fakes): every hostile input gets a clear reply, markup is escaped for
//! its target, nothing pings anyone, and the database changes only as it should. Also the
//! authorisation matrix: every command × member, product team, administrator, stranger.

use crate::support::discord::{self as dc, DcUser, FakeDiscord};
use crate::support::telegram::{self as tg, FakeTelegram, TgChat, TgUser};
use crate::support::*;
use canvass::config::{DiscordConfig, Secret, TelegramConfig};
use canvass::platform::discord::Discord;
use canvass::platform::telegram::Telegram;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::oneshot;

pub(crate) const TG_GROUP: i64 = -100_500;
const TG_OTHER: i64 = -100_600;
pub(crate) const GUILD: u64 = 5_000;
pub(crate) const CHANNEL: u64 = 5_001;
const OTHER_GUILD: u64 = 6_000;
const OTHER_CHANNEL: u64 = 6_001;
const TEAM_ROLE: u64 = 777;

/// A private one-question survey with a short open-text answer.
const NOTE: &str = r#"
[[surveys]]
id = "note"
title = "Note"
[[surveys.questions]]
id = "text"
type = "open_text"
text = "Say something"
max_chars = 50
"#;

pub(crate) fn tg_group() -> TgChat {
    TgChat::group(TG_GROUP, "Community")
}
fn tg_other() -> TgChat {
    TgChat::group(TG_OTHER, "Elsewhere")
}
pub(crate) fn tg_team() -> TgUser {
    TgUser::new(1000, "Pat")
}
pub(crate) fn dc_team() -> DcUser {
    DcUser::new(1_001, "Pat").with_roles(&[TEAM_ROLE])
}

/// The app with both adapters running against their fakes.
pub(crate) struct Both {
    pub t: TestApp,
    pub tg: FakeTelegram,
    pub dc: FakeDiscord,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub(crate) async fn boot_both() -> Both {
    boot_both_with(&format!("{CONFIG}{NOTE}"), &[], &[]).await
}

/// `boot_both` with this config, and more Telegram groups and Discord channels (in `GUILD`).
pub(crate) async fn boot_both_with(config: &str, tg_chats: &[TgChat], dc_channels: &[u64]) -> Both {
    let tgf = FakeTelegram::start().await;
    tgf.add_chat(&tg_group());
    tgf.add_chat(&tg_other());
    for c in tg_chats {
        tgf.add_chat(c);
    }
    let dcf = FakeDiscord::start().await;
    let channels: Vec<u64> = std::iter::once(CHANNEL)
        .chain(dc_channels.iter().copied())
        .collect();
    dcf.add_guild(GUILD, "Community", &channels, &[(TEAM_ROLE, "product")]);
    dcf.add_guild(OTHER_GUILD, "Elsewhere", &[OTHER_CHANNEL], &[]);
    let t = spawn_app_with(config).await;
    let telegram = Telegram::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &TelegramConfig {
            token_env: "UNUSED".into(),
            api_url: tgf.url.clone(),
            poll_refresh_ms: 100,
        },
        &Secret::new(tg::TOKEN),
    )
    .await
    .expect("Telegram adapter starts");
    let discord = Discord::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &DiscordConfig {
            token_env: "UNUSED".into(),
            api_url: dcf.url.clone(),
            guilds: vec![GUILD],
            poll_refresh_ms: 100,
        },
        &Secret::new(dc::TOKEN),
    )
    .await
    .expect("Discord adapter starts");
    let (s1, r1) = oneshot::channel::<()>();
    let (s2, r2) = oneshot::channel::<()>();
    let tasks = vec![
        tokio::spawn(telegram.run(async move {
            let _ = r1.await;
        })),
        tokio::spawn(discord.run(async move {
            let _ = r2.await;
        })),
    ];
    dcf.wait_ready().await;
    dcf.wait_for("commands registered", |f| {
        (f.commands().len() >= 7).then_some(())
    })
    .await;
    Both {
        t,
        tg: tgf,
        dc: dcf,
        stops: vec![s1, s2],
        tasks,
    }
}

fn opt(name: &str, value: &str) -> Value {
    json!({ "name": name, "type": 3, "value": value })
}

/// The Discord slash command a text command is typed as (the adapter turns it back into the
/// same text). Unregistered names are sent as made-up commands.
pub(crate) fn slash_of(text: &str) -> (String, Value) {
    let rest = text.trim().trim_start_matches('/');
    let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let args = args.trim();
    let first = args.split_whitespace().next().unwrap_or("");
    let sub = |s: &str, o: Value| json!([{ "name": s, "type": 1, "options": o }]);
    match name {
        "poll" => {
            let (q, o) = args.split_once('|').unwrap_or((args, ""));
            (
                "poll".into(),
                json!([opt("question", q.trim()), opt("options", o.trim())]),
            )
        }
        "post" | "close" => ("survey".into(), sub(name, json!([opt("survey", first)]))),
        "start" if !first.is_empty() => {
            ("survey".into(), sub("take", json!([opt("survey", first)])))
        }
        "surveys" => ("survey".into(), sub("list", json!([]))),
        "survey" if !first.is_empty() => {
            ("survey".into(), sub("show", json!([opt("survey", first)])))
        }
        "insights" => {
            let seg = args[first.len()..].trim();
            let mut o = vec![opt("survey", first)];
            if !seg.is_empty() {
                o.push(opt("segment", seg));
            }
            ("insights".into(), Value::Array(o))
        }
        "export" => ("export".into(), json!([opt("survey", first)])),
        other => (other.to_string(), json!([])),
    }
}

/// Every table's rows, each row as one quoted string, for before/after comparisons.
pub(crate) async fn dump(t: &TestApp) -> BTreeMap<String, Vec<String>> {
    let pool = t.app.store.pool();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table'
            AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut out = BTreeMap::new();
    for (table,) in tables {
        let cols: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(pool)
                .await
                .expect("columns");
        let expr = cols
            .iter()
            .map(|c| format!("quote(\"{}\")", c.0))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT {expr} FROM \"{table}\" ORDER BY 1"))
                .fetch_all(pool)
                .await
                .expect("rows");
        out.insert(table, rows.into_iter().map(|r| r.0).collect());
    }
    out
}

/// Tables whose content differs, ignoring the processed event ids every event adds.
fn changed(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter(|n| n.as_str() != "processed_events" && a.get(*n) != b.get(*n))
        .cloned()
        .collect()
}

impl Both {
    /// Stops both adapters and hands back the app.
    pub(crate) async fn stop(self) -> TestApp {
        for s in self.stops {
            let _ = s.send(());
        }
        for task in self.tasks {
            let _ = task.await;
        }
        self.t
    }

    /// Waits until every posted poll's message id is recorded (done after the send returns),
    /// so a later before/after comparison does not see it land.
    async fn settle(&self) {
        // Subscribed before the check, so a recording between the two is not missed.
        let mut recorded = self.t.app.store.postings_recorded();
        while self
            .t
            .scalar("SELECT COUNT(*) FROM postings WHERE message_id IS NULL")
            .await
            > 0
        {
            tokio::time::timeout(std::time::Duration::from_secs(10), recorded.changed())
                .await
                .expect("poll message ids never recorded")
                .expect("the store is alive");
        }
    }

    /// Telegram: `from` writes `text` in `chat`; waits for a new bot message (any chat)
    /// containing `needle` and returns it.
    pub(crate) async fn tg_say(
        &self,
        from: &TgUser,
        chat: &TgChat,
        text: &str,
        needle: &str,
    ) -> tg::Sent {
        let before = self.tg.sent().len();
        let uploads = self.tg.uploads().len();
        self.tg.send_text(from, chat, text);
        let what = format!("a Telegram reply containing {needle:?} to {text:?}");
        self.tg
            .wait_for(&what, |f| {
                f.sent()
                    .into_iter()
                    .skip(before)
                    .find(|m| m.text.contains(needle))
                    .or_else(|| {
                        // Files (exports) carry their text as an HTML caption.
                        f.uploads()
                            .into_iter()
                            .skip(uploads)
                            .find(|u| u.caption.as_deref().is_some_and(|c| c.contains(needle)))
                            .map(|u| tg::Sent {
                                chat_id: u.chat_id,
                                message_id: 0,
                                text: u.caption.unwrap_or_default(),
                                parse_mode: Some("HTML".into()),
                                reply_markup: None,
                            })
                    })
            })
            .await
    }

    /// Telegram: a tap; returns the toast.
    pub(crate) async fn tg_tap(
        &self,
        from: &TgUser,
        chat: &TgChat,
        message: i64,
        data: &str,
    ) -> String {
        let (_, id) = self.tg.tap(from, chat, message, data);
        self.tg
            .wait_for("the tap to be answered", |f| {
                f.callback_answers().into_iter().find(|a| a.id == id)
            })
            .await
            .text
            .unwrap_or_default()
    }

    /// Discord: waits for a message made for interaction `i` in `channel` containing `needle`.
    pub(crate) async fn dc_reply(&self, channel: u64, i: u64, needle: &str) -> dc::Message {
        let what = format!("a Discord reply to {i} containing {needle:?}");
        self.dc
            .wait_for(&what, |f| {
                f.messages(channel)
                    .into_iter()
                    .rev()
                    .find(|m| m.interaction_id == Some(i) && m.content.contains(needle))
            })
            .await
    }

    /// Discord: the text command as a slash command; waits for the reply with `needle`.
    async fn dc_say(
        &self,
        guild: u64,
        channel: u64,
        user: &DcUser,
        text: &str,
        needle: &str,
    ) -> dc::Message {
        let (name, options) = slash_of(text);
        let i = self.dc.slash(guild, channel, user, &name, options);
        self.dc_reply(channel, i, needle).await
    }

    /// Posts `text` (a /poll or /post) as the team on both platforms; returns the Telegram
    /// poll message and the Discord one.
    pub(crate) async fn post_both(&self, text: &str) -> (tg::Sent, dc::Message) {
        let before = self.tg.sent().len();
        self.tg.send_text(&tg_team(), &tg_group(), text);
        let tgm = self
            .tg
            .wait_for("the Telegram poll", |f| {
                f.sent()
                    .into_iter()
                    .skip(before)
                    .find(|m| m.chat_id == TG_GROUP && m.reply_markup.is_some())
            })
            .await;
        let seen = self.dc.messages(CHANNEL).len();
        let (name, options) = slash_of(text);
        self.dc.slash(GUILD, CHANNEL, &dc_team(), &name, options);
        let dcm = self
            .dc
            .wait_for("the Discord poll", |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .skip(seen)
                    .find(|m| m.via == "channel" && !m.custom_ids().is_empty())
            })
            .await;
        self.settle().await;
        (tgm, dcm)
    }
}

/// Telegram HTML: member text is escaped, so the only tags are the template's own.
fn assert_tg_escaped(m: &tg::Sent, raw: &[&str]) {
    assert_eq!(m.parse_mode.as_deref(), Some("HTML"), "{m:?}");
    // Telegram's HTML mode gives Markdown no meaning: only tags matter.
    for r in raw.iter().filter(|r| r.contains('<')) {
        assert!(!m.text.contains(r), "unescaped {r:?} in {:?}", m.text);
    }
    assert!(
        !m.text.contains('\u{202E}'),
        "bidi override kept: {:?}",
        m.text
    );
}

/// Discord Markdown: member markup escaped, mentions disabled, nobody pinged.
fn assert_dc_safe(m: &dc::Message, raw: &[&str]) {
    for r in raw {
        // Every occurrence must be escaped (a backslash before it).
        let unescaped = m
            .content
            .match_indices(r)
            .any(|(i, _)| !m.content[..i].ends_with('\\'));
        assert!(!unescaped, "unescaped {r:?} in {:?}", m.content);
    }
    assert!(
        !m.content.contains('\u{202E}'),
        "bidi override kept: {:?}",
        m.content
    );
    let am = m
        .allowed_mentions
        .as_ref()
        .expect("allowed_mentions is set");
    assert_eq!(am["parse"], json!([]), "{am}");
    assert!(
        m.pinged().is_empty(),
        "{:?} pinged {:?}",
        m.content,
        m.pinged()
    );
}

/// One hostile text command: who sends it, what reply proves it was understood, what must
/// not appear unescaped, and which tables may change.
struct TextCase {
    name: &'static str,
    text: String,
    team: bool,
    /// In the plain reply on both platforms (HTML/Markdown escaping aside: keep it free of
    /// characters either target escapes).
    expect: &'static str,
    raw: Vec<&'static str>,
    may_change: &'static [&'static str],
}

#[tokio::test]
async fn hostile_commands_get_clear_replies_through_both_adapters() {
    let b = boot_both().await;
    let ana_tg = TgUser::new(2001, "Ana");
    let ana_dc = DcUser::new(2_001, "Ana");
    b.dc.add_member(GUILD, &ana_dc);
    b.dc.add_member(GUILD, &dc_team());
    let long_q = "q".repeat(301);
    let long_opt = "o".repeat(81);
    let many: Vec<String> = (0..26).map(|i| format!("option {i}")).collect();
    let refused: &[&str] = &[];
    let cases = vec![
        TextCase {
            name: "question over the limit",
            text: format!("/poll {long_q} | a | b"),
            team: true,
            expect: "longer than 300 characters",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "option over the limit",
            text: format!("/poll Q? | {long_opt} | b"),
            team: true,
            expect: "longer than 80 characters",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "too many options",
            text: format!("/poll Q? | {}", many.join(" | ")),
            team: true,
            expect: "at most 25 options",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "empty poll",
            text: "/poll".into(),
            team: true,
            expect: "write the question, then options separated by",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "a member tries a team command with markup",
            text: "/poll <b>x</b> @everyone | a | b".into(),
            team: false,
            expect: "is for the product team",
            raw: vec!["<b>x</b>"],
            may_change: refused,
        },
        TextCase {
            name: "SQL metacharacters in a survey id",
            text: "/post lunch';DROP TABLE answers;--".into(),
            team: true,
            expect: "is not a survey id",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "HTML in a survey id is reflected escaped",
            text: "/post <b>x</b>".into(),
            team: true,
            expect: "is not a survey id",
            raw: vec!["<b>x</b>"],
            may_change: refused,
        },
        TextCase {
            name: "negative number as a survey id",
            text: "/start -1".into(),
            team: false,
            expect: "There is no survey called",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "huge number as a survey id",
            text: "/close 99999999999999999999999999999999999999999999999999".into(),
            team: true,
            expect: "9999999999",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "unknown command with markup and a mention",
            text: "/frobnicate".into(),
            team: false,
            expect: "know the command /frobnicate",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "a survey that does not exist",
            text: "/post nope".into(),
            team: true,
            expect: "There is no survey called",
            raw: vec![],
            may_change: refused,
        },
        TextCase {
            name: "segment with markup",
            text: "/insights lunch <img src=x onerror=alert(1)> **x** @everyone".into(),
            team: true,
            expect: "Lunch",
            raw: vec!["<img", "**x**"],
            may_change: refused,
        },
    ];
    for c in &cases {
        let before = dump(&b.t).await;
        let (tg_user, dc_user) = if c.team {
            (tg_team(), dc_team())
        } else {
            (ana_tg.clone(), ana_dc.clone())
        };
        let m = b.tg_say(&tg_user, &tg_group(), &c.text, c.expect).await;
        assert_tg_escaped(&m, &c.raw);
        let m = b.dc_say(GUILD, CHANNEL, &dc_user, &c.text, c.expect).await;
        assert_dc_safe(&m, &c.raw);
        let after = dump(&b.t).await;
        let diff = changed(&before, &after);
        assert!(
            diff.iter().all(|t| c.may_change.contains(&t.as_str())),
            "{}: changed {diff:?}",
            c.name
        );
    }
    // Malformed commands typed on Telegram (Discord clients cannot send these).
    for (text, expect) in [
        ("/", "know the command /."),
        ("//post lunch", "know the command //post"),
        ("/post", "which survey?"),
        ("/start\u{200B}lunch", "know the command"),
    ] {
        let before = dump(&b.t).await;
        b.tg_say(&tg_team(), &tg_group(), text, expect).await;
        assert!(changed(&before, &dump(&b.t).await).is_empty(), "{text:?}");
    }
    // Text over Telegram's 4096 limit, typed privately with no survey running.
    let dm = TgChat::Private(2001);
    let m = b
        .tg_say(&ana_tg, &dm, &"x".repeat(5000), "not taking a survey")
        .await;
    assert!(m.text.chars().count() < 4096);
    b.stop().await;
}

#[tokio::test]
async fn hostile_polls_are_posted_escaped_and_ping_nobody() {
    let b = boot_both().await;
    b.dc.add_member(GUILD, &dc_team());
    b.dc.add_member(GUILD, &DcUser::new(2_001, "Ana"));
    // Markup, mentions, bidi overrides, zero-width and combining characters, emoji and SQL:
    // all accepted as text, shown literally, stored verbatim.
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "html and markdown",
            "/poll <b>bold</b> **md** __u__ ||spoiler|| [link](https://evil.example) `code`? | <i>a</i> | *b*",
            vec!["<b>bold</b>", "**md**", "<i>a</i>", "[link](https"],
        ),
        (
            "mentions",
            "/poll @everyone @here <@&777> <@1001> vote now | @everyone | <@&777>",
            vec!["<@&777>", "<@1001>"],
        ),
        (
            "bidi, zero-width, combining",
            "/poll \u{202E}txet desrever\u{202C} Z\u{0351}\u{036B}a\u{0344}l\u{0352}g\u{0363}o zero\u{200B}width? | \u{05E9}\u{05DC}\u{05D5}\u{05DD} | \u{0627}\u{0644}\u{0633}\u{0644}\u{0627}\u{0645}",
            vec![],
        ),
        (
            "emoji",
            "/poll 🍕 or 🍣? 👨\u{200D}👩\u{200D}👧 | 🍕 Pizza | 🍣 Sushi | 👍🏽",
            vec![],
        ),
        (
            "sql",
            "/poll Robert'); DROP TABLE surveys;-- | a' OR '1'='1 | \"; DELETE FROM answers; --",
            vec![],
        ),
    ];
    for (name, text, raw) in cases {
        let before = dump(&b.t).await;
        let (tgm, dcm) = b.post_both(text).await;
        assert_tg_escaped(&tgm, &raw);
        assert_dc_safe(&dcm, &raw);
        let diff = changed(&before, &dump(&b.t).await);
        assert_eq!(diff, vec!["postings", "surveys"], "{name}");
        // The question is stored as typed (no markup interpreted, nothing lost but the
        // surrounding spaces).
        let question = text
            .trim_start_matches("/poll ")
            .split('|')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let titles: Vec<(String,)> = sqlx::query_as("SELECT definition FROM surveys")
            .fetch_all(b.t.app.store.pool())
            .await
            .unwrap();
        let stored = serde_json::to_string(&question).unwrap();
        assert!(
            titles.iter().any(|(d,)| d.contains(&stored)),
            "{name}: {stored} not stored"
        );
        // A member's tap works on both platforms and the toast shows the label.
        let tg_buttons = b.tg.buttons(TG_GROUP, tgm.message_id);
        let toast = b
            .tg_tap(
                &TgUser::new(2001, "Ana"),
                &tg_group(),
                tgm.message_id,
                &tg_buttons[0].1,
            )
            .await;
        assert!(toast.starts_with("Saved: "), "{name}: {toast}");
        assert!(!toast.contains('\u{202E}'), "{name}: {toast:?}");
        let i = b.dc.click(
            GUILD,
            CHANNEL,
            &DcUser::new(2_001, "Ana"),
            dcm.id,
            &dcm.custom_ids()[0],
        );
        let m = b.dc_reply(CHANNEL, i, "Saved: ").await;
        assert_dc_safe(&m, &raw);
    }
    // Nothing was dropped by the SQL-looking text.
    assert_eq!(b.t.scalar("SELECT COUNT(*) FROM surveys").await, 17);
    b.stop().await;
}

#[tokio::test]
async fn forged_replayed_and_foreign_buttons_change_nothing_on_either_platform() {
    let b = boot_both().await;
    b.dc.add_member(GUILD, &dc_team());
    let (tgm, dcm) = b.post_both("/post lunch").await;
    let key =
        b.t.scalar("SELECT id FROM surveys WHERE slug = 'lunch'")
            .await;
    let secret =
        b.t.scalar("SELECT id FROM surveys WHERE slug = 'secret'")
            .await;
    let stale = "This button is no longer valid. Nothing was changed.";
    let unknown = "That option is not part of this question. Nothing was changed.";
    let mal_tg = TgUser::new(6666, "Mallory");
    let mal_dc = DcUser::new(6_666, "Mallory");
    b.dc.add_member(GUILD, &mal_dc);
    b.dc.add_member(GUILD, &DcUser::new(2_001, "Ana"));
    let forged: Vec<(String, &str)> = vec![
        ("garbage".into(), stale),
        (String::new(), stale),
        (format!("c1.{key}.c.0.9"), unknown),
        (format!("c1.{key}.c.0.-1"), stale),
        (format!("c1.{key}.c.0.256"), stale),
        (format!("c1.{key}.c.0.01"), stale),
        ("c1.-1.c.0.0".into(), stale),
        ("c1.99999999999999999999.c.0.0".into(), stale),
        ("c1.9223372036854775807.c.0.0".into(), stale),
        (format!("c1.{key}.c.0.0'; DROP TABLE answers;--"), stale),
        (format!("c1.{key}.c.5.0"), stale),
        // A real survey that was never posted here (another community's poll).
        (format!("c1.{secret}.c.0.0"), stale),
        ("take.lunch; DROP TABLE answers".into(), stale),
        ("compose.99999".into(), stale),
        ("x".repeat(5000), stale),
    ];
    let before = dump(&b.t).await;
    for (data, expect) in &forged {
        let toast = b.tg_tap(&mal_tg, &tg_group(), tgm.message_id, data).await;
        assert_eq!(toast, *expect, "Telegram {data:?}");
        if data.starts_with("compose.") || data.is_empty() {
            continue; // Discord answers these with a form, or clients cannot send them.
        }
        // A forged "take" button on Discord becomes `/start <text>`, parsed like a command.
        let expect = if data.starts_with("take.") {
            "is not a survey id"
        } else {
            expect
        };
        let i = b.dc.click_forged(GUILD, CHANNEL, &mal_dc, dcm.id, data);
        let m = b.dc_reply(CHANNEL, i, expect).await;
        assert!(m.is_ephemeral());
    }
    let after = dump(&b.t).await;
    assert_eq!(changed(&before, &after), Vec::<String>::new());
    assert_eq!(b.t.scalar("SELECT COUNT(*) FROM answers").await, 0);

    // A real button tapped from another community's chat: refused on both platforms.
    let real_tg = b.tg.buttons(TG_GROUP, tgm.message_id)[0].1.clone();
    let toast = b.tg_tap(&mal_tg, &tg_other(), 1, &real_tg).await;
    assert_eq!(toast, stale);
    let stranger = DcUser::new(7_007, "Stranger").admin();
    b.dc.add_member(OTHER_GUILD, &stranger);
    let i = b.dc.click_forged(
        OTHER_GUILD,
        OTHER_CHANNEL,
        &stranger,
        dcm.id,
        &dcm.custom_ids()[0],
    );
    b.dc_reply(OTHER_CHANNEL, i, stale).await;
    assert_eq!(b.t.scalar("SELECT COUNT(*) FROM answers").await, 0);

    // Replayed deliveries: counted once.
    let ana_tg = TgUser::new(2001, "Ana");
    let (update, id) = b.tg.tap(&ana_tg, &tg_group(), tgm.message_id, &real_tg);
    b.tg.wait_for("the tap", |f| {
        f.callback_answers().into_iter().find(|a| a.id == id)
    })
    .await;
    let answered = b.tg.calls("AnswerCallbackQuery");
    b.tg.redeliver(update);
    b.tg.wait_for("the redelivered tap to be handled", |f| {
        (f.calls("AnswerCallbackQuery") > answered).then_some(())
    })
    .await;
    let ana_dc = DcUser::new(2_001, "Ana");
    let i =
        b.dc.click(GUILD, CHANNEL, &ana_dc, dcm.id, &dcm.custom_ids()[1]);
    b.dc_reply(CHANNEL, i, "Saved: Sushi").await;
    let calls = b.dc.calls("POST", "/api/v10/interactions");
    b.dc.replay(i);
    b.dc.wait_for("the replay to be seen", |f| {
        (f.calls("POST", "/api/v10/interactions") > calls).then_some(())
    })
    .await;
    // A later event through the same per-member queue proves both replays were handled.
    b.tg_say(
        &ana_tg,
        &TgChat::Private(2001),
        "/cancel",
        "not taking a survey",
    )
    .await;
    b.dc_say(GUILD, CHANNEL, &ana_dc, "/help", "canvass").await;
    assert_eq!(b.t.scalar("SELECT COUNT(*) FROM answers").await, 2);
    assert_eq!(b.t.current("lunch", "food").await.len(), 2);
    b.stop().await;
}

#[tokio::test]
async fn hostile_free_text_and_names_are_stored_verbatim_and_shown_escaped() {
    let b = boot_both().await;
    let name = "<b>Mal</b> **x** @everyone \u{202E}eman";
    let tg_user = TgUser::new(2001, name);
    let dm = TgChat::Private(2001);
    let dc_user = DcUser::new(2_001, name);
    b.dc.add_member(GUILD, &dc_user);
    let dc_dm = b.dc.dm_channel(&dc_user);
    let over = "é".repeat(51);
    let hostile = "<b>hi</b> **x** @everyone '); DROP";
    // Telegram: typed answers.
    b.tg_say(&tg_user, &dm, "/start note", "Say something")
        .await;
    let m = b
        .tg_say(&tg_user, &dm, &over, "That is 51 characters")
        .await;
    assert!(m.text.contains("the limit is 50"), "{}", m.text);
    b.tg_say(&tg_user, &dm, "  \u{200B} ", "That answer is empty")
        .await;
    let m = b.tg_say(&tg_user, &dm, hostile, "Saved: ").await;
    assert_tg_escaped(&m, &["<b>hi</b>"]);
    // Discord: the answer form (a modal), forged past its max_length too.
    let i = b.dc.slash(
        0,
        dc_dm,
        &dc_user,
        "survey",
        json!([{ "name": "take", "type": 1, "options": [opt("survey", "note")] }]),
    );
    let q = b.dc_reply(dc_dm, i, "Say something").await;
    let compose = q
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with("compose."))
        .expect("a write button");
    let i = b.dc.click(0, dc_dm, &dc_user, q.id, &compose);
    b.dc.wait_for("the form", |f| f.response(i).filter(|r| r.kind == 9))
        .await;
    let s =
        b.dc.submit_modal(0, dc_dm, &dc_user, "answer", &[("text", &over)]);
    b.dc_reply(dc_dm, s, "That is 51 characters").await;
    let s =
        b.dc.submit_modal(0, dc_dm, &dc_user, "answer", &[("text", " \u{200B}  ")]);
    b.dc_reply(dc_dm, s, "That answer is empty").await;
    let s =
        b.dc.submit_modal(0, dc_dm, &dc_user, "answer", &[("text", hostile)]);
    let m = b.dc_reply(dc_dm, s, "Saved: ").await;
    assert_dc_safe(&m, &["**x**"]);
    // Stored verbatim, once per member.
    assert_eq!(
        b.t.current("note", "text").await,
        vec![
            format!(
                r#"{{"kind":"text","value":"{}"}}"#,
                hostile.replace('"', "\\\"")
            ),
            format!(
                r#"{{"kind":"text","value":"{}"}}"#,
                hostile.replace('"', "\\\"")
            ),
        ]
    );
    // The hostile display name comes back escaped in /mydata.
    let m = b
        .tg_say(&tg_user, &dm, "/mydata", "What canvass stores")
        .await;
    assert_tg_escaped(&m, &["<b>Mal</b>", "<b>hi</b>"]);
    assert!(m.text.contains("&lt;b&gt;Mal&lt;/b&gt;"), "{}", m.text);
    let i = b.dc.slash(0, dc_dm, &dc_user, "mydata", json!([]));
    let m = b.dc_reply(dc_dm, i, "What canvass stores").await;
    assert_dc_safe(&m, &["**x**", "<b>Mal"]);
    b.stop().await;
}

/// What a command does for one kind of person.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Runs, and the reply contains this.
    Runs(&'static str),
    /// Refused as a product-team command; nothing changes.
    Refused,
}
use Outcome::{Refused, Runs};

/// Who is asking.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Member,
    Team,
    /// Discord: a server administrator (ADMINISTRATOR permission) in a server listed in
    /// `[discord] guilds`. Telegram has no such role the bot can see: group admins are
    /// members, so this row checks that a group admin gets no team rights.
    Admin,
    /// Someone in another chat or server, admin there, in nobody's team.
    Stranger,
}

/// Every command, what it does for a member (and a stranger) and for the team (and an
/// administrator on Discord).
fn matrix() -> Vec<(&'static str, Outcome, Outcome)> {
    vec![
        ("/start", Runs("Hi!"), Runs("Hi!")),
        (
            "/start lunch",
            Runs("is answered in"),
            Runs("is answered in"),
        ),
        ("/help", Runs("For everyone"), Runs("For the product team")),
        // In a group the team sees what members see; the full list (closed and draft
        // surveys) only in private and team chats (team_output.rs).
        ("/surveys", Runs("Open surveys"), Runs("Open surveys")),
        (
            "/survey lunch",
            Runs("What should we order?"),
            Runs("What should we order?"),
        ),
        (
            "/mydata",
            Runs("stores nothing about you"),
            Runs("stores nothing about you"),
        ),
        (
            "/forgetme",
            Runs("nothing to delete"),
            Runs("nothing to delete"),
        ),
        (
            "/cancel",
            Runs("not taking a survey"),
            Runs("not taking a survey"),
        ),
        ("/poll Lunch? | a | b", Refused, Runs("Lunch?")),
        ("/post rank", Refused, Runs("Rank these")),
        ("/insights lunch", Refused, Runs("No answers yet")),
        ("/export lunch", Refused, Runs("Answers to")),
        ("/digest", Refused, Runs("Weekly brief")),
        ("/close tools", Refused, Runs("Tools")),
    ]
}

/// Commands Discord has as slash commands (a bare `/start` is `/survey list` there).
fn on_discord(cmd: &str) -> bool {
    cmd != "/start"
}

#[tokio::test]
async fn authorisation_matrix_every_command_by_every_role_on_both_platforms() {
    let refusal = "is for the product team";
    for role in [Role::Member, Role::Team, Role::Admin, Role::Stranger] {
        let b = boot_both().await;
        // Telegram: who and where.
        let (tg_user, tg_chat) = match role {
            Role::Member | Role::Admin => (TgUser::new(2001, "Ana"), tg_group()),
            Role::Team => (tg_team(), tg_group()),
            Role::Stranger => (TgUser::new(3001, "Stranger"), tg_other()),
        };
        // Discord: who and where.
        let (dc_user, guild, channel) = match role {
            Role::Member => (DcUser::new(2_001, "Ana"), GUILD, CHANNEL),
            Role::Team => (dc_team(), GUILD, CHANNEL),
            Role::Admin => (DcUser::new(2_009, "Admin").admin(), GUILD, CHANNEL),
            Role::Stranger => (
                DcUser::new(3_001, "Stranger").admin(),
                OTHER_GUILD,
                OTHER_CHANNEL,
            ),
        };
        b.dc.add_member(guild, &dc_user);
        for (cmd, member, team) in matrix() {
            let tg_expect = if role == Role::Team { team } else { member };
            let dc_expect = if matches!(role, Role::Team | Role::Admin) {
                team
            } else {
                member
            };
            let before = dump(&b.t).await;
            let needle = |o: Outcome| match o {
                Runs(n) => n,
                Refused => refusal,
            };
            b.tg_say(&tg_user, &tg_chat, cmd, needle(tg_expect)).await;
            if tg_expect == Refused {
                assert!(
                    changed(&before, &dump(&b.t).await).is_empty(),
                    "{role:?} {cmd} on Telegram changed the database"
                );
            }
            if on_discord(cmd) {
                b.settle().await;
                let before = dump(&b.t).await;
                let (name, options) = slash_of(cmd);
                let i = b.dc.slash(guild, channel, &dc_user, &name, options);
                let what = format!("{role:?} {cmd} on Discord: {:?}", needle(dc_expect));
                let text =
                    b.dc.wait_for(&what, |f| {
                        f.messages(channel)
                            .into_iter()
                            .filter(|m| {
                                m.interaction_id == Some(i)
                                    || (m.via == "channel" && m.content.contains(needle(dc_expect)))
                            })
                            .map(|m| m.content)
                            .find(|c| c.contains(needle(dc_expect)))
                    })
                    .await;
                assert!(!text.is_empty());
                if dc_expect == Refused {
                    assert!(
                        changed(&before, &dump(&b.t).await).is_empty(),
                        "{role:?} {cmd} on Discord changed the database"
                    );
                }
            }
            b.settle().await;
        }
        b.stop().await;
    }
}
