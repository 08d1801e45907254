//! Digest delivery under platform faults, through the real teloxide and serenity clients
//! against the fakes: each part (text chunk, chart) is posted at most once and only the
//! missing ones are retried, and a slow or failing destination never holds up the others.

use crate::support::discord::{self as dcf, FakeDiscord};
use crate::support::telegram::{self as tgf, FakeTelegram, Fault, TgChat};
use crate::support::*;
use canvass::config::DigestConfig;
use canvass::digest::schedule::Schedule;
use canvass::digest::{Runner, Sink};
use canvass::platform::discord::Discord;
use canvass::platform::telegram::Telegram;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::time::Instant;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Monday 2026-11-09 09:00 CET: the first slot after the test answers (2026-11-02).
const SLOT: &str = "2026-11-09T08:00:00Z";

fn runner(
    t: &TestApp,
    clock: Arc<SetClock>,
    chats: &[i64],
    channels: &[u64],
    sinks: Vec<Arc<dyn Sink>>,
) -> Runner {
    Runner::new(
        t.app.service.clone(),
        DigestConfig {
            schedule: "mon 09:00".into(),
            timezone: "Europe/Berlin".into(),
            telegram_chats: chats.to_vec(),
            discord_channels: channels.to_vec(),
            surveys: Vec::new(),
        },
        Schedule::parse("mon 09:00", "Europe/Berlin").unwrap(),
        10,
        sinks,
        clock,
    )
    .with_charts(t.app.service.charts())
}

async fn telegram(t: &TestApp, fake: &FakeTelegram) -> Telegram {
    Telegram::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &canvass::config::TelegramConfig {
            token_env: "X".into(),
            api_url: fake.url.clone(),
            poll_refresh_ms: 100,
        },
        &canvass::config::Secret::new(tgf::TOKEN),
    )
    .await
    .unwrap()
}

async fn discord(t: &TestApp, fake: &FakeDiscord) -> Discord {
    Discord::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &canvass::config::DiscordConfig {
            token_env: "X".into(),
            api_url: fake.url.clone(),
            guilds: vec![5_000],
            poll_refresh_ms: 100,
        },
        &canvass::config::Secret::new(dcf::TOKEN),
    )
    .await
    .unwrap()
}

/// The test config plus 12 polls with long titles.
fn long_config() -> String {
    let mut c = CONFIG.to_string();
    for i in 0..12 {
        c.push_str(&format!(
            "\n[[surveys]]\nid = \"extra-{i}\"\ntitle = \"Long{i:02}poll {}\"\n\
             [[surveys.questions]]\nid = \"q\"\ntype = \"single\"\ntext = \"Which one?\"\n\
             options = [\"A\", \"B\"]\n",
            "with a long title that fills the brief "
                .repeat(2)
                .trim_end()
        ));
    }
    c
}

fn titles() -> Vec<String> {
    (0..12).map(|i| format!("Long{i:02}poll")).collect()
}

/// Each long poll posted and answered once: a brief longer than one Telegram (4096) or
/// Discord (2000) message.
async fn answered_long(t: &TestApp) {
    for i in 0..12 {
        let p = payloads(&t.post(&format!("extra-{i}")).await);
        t.tap("m0", group(), &p[0]).await;
    }
}

/// Lunch answered by twelve members at 2026-11-02 09:00 UTC (the test clock); its chart is
/// the brief's.
async fn answered(t: &TestApp) {
    let p = payloads(&t.post("lunch").await);
    for i in 0..12 {
        t.tap(&format!("m{i}"), group(), &p[i % 2]).await;
    }
}

/// `canvass digest --status` on the test database.
fn status(t: &TestApp) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_canvass"))
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/bot.toml"),
            "--database",
            t.db.to_str().unwrap(),
            "digest",
            "--status",
        ])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn briefs_in(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.sent()
        .into_iter()
        .filter(|m| m.chat_id == chat)
        .map(|m| m.text)
        .collect()
}

fn photos_in(fake: &FakeTelegram, chat: i64) -> usize {
    fake.uploads()
        .iter()
        .filter(|u| u.method == "SendPhoto" && u.chat_id == chat)
        .count()
}

#[tokio::test]
async fn a_chart_that_failed_after_its_text_is_resent_alone() {
    let t = spawn_app().await;
    answered(&t).await;
    let ftg = FakeTelegram::start().await;
    ftg.add_chat(&TgChat::group(-100_500, "Team"));
    let tg = telegram(&t, &ftg).await;
    let clock = SetClock::at(utc(SLOT));
    let r = runner(&t, clock.clone(), &[-100_500], &[], vec![tg.digest_sink()]);
    // The text goes through; the chart meets a 500 once (teloxide waits 10 s on it).
    ftg.fault_next("SendPhoto", Fault::ServerError(500));
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.failed.len(), 1, "{tick:?}");
    assert_eq!(briefs_in(&ftg, -100_500).len(), 1);
    assert_eq!(photos_in(&ftg, -100_500), 0);
    let text = status(&t);
    assert!(text.contains("partial"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("text 1/1") && l.contains("delivered")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("chart") && l.contains("failed")),
        "{text}"
    );
    // The retry sends the chart only.
    clock.set(utc(SLOT) + Duration::minutes(2));
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.delivered, ["telegram:-100500"], "{tick:?}");
    assert_eq!(
        briefs_in(&ftg, -100_500).len(),
        1,
        "the text was not posted again"
    );
    assert_eq!(photos_in(&ftg, -100_500), 1);
    let text = status(&t);
    assert!(
        text.contains("delivered") && text.contains("attempts 2"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("text 1/1") && l.contains("sent 1 time")),
        "the text was sent once: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("chart") && l.contains("sent 2 times")),
        "{text}"
    );
}

#[tokio::test]
async fn a_split_telegram_brief_resends_only_the_missing_chunk() {
    let t = spawn_app_with(&long_config()).await;
    answered(&t).await;
    answered_long(&t).await;
    let ftg = FakeTelegram::start().await;
    ftg.add_chat(&TgChat::group(-100_500, "Team"));
    let tg = telegram(&t, &ftg).await;
    let clock = SetClock::at(utc(SLOT));
    let r = runner(&t, clock.clone(), &[-100_500], &[], vec![tg.digest_sink()]);
    // The first chunk goes through, the second meets a 500.
    ftg.fault_next("SendMessage", Fault::Slow(std::time::Duration::ZERO));
    ftg.fault_next("SendMessage", Fault::ServerError(500));
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.failed.len(), 1, "{tick:?}");
    assert_eq!(briefs_in(&ftg, -100_500).len(), 1, "only the first chunk");
    assert_eq!(photos_in(&ftg, -100_500), 0, "nothing after a failed chunk");
    let text = status(&t);
    assert!(text.contains("partial"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("text 1/") && l.contains("delivered")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("text 2/") && l.contains("failed")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("chart") && l.contains("not sent yet")),
        "{text}"
    );
    clock.set(utc(SLOT) + Duration::minutes(2));
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.delivered, ["telegram:-100500"], "{tick:?}");
    let sent = briefs_in(&ftg, -100_500);
    let chunks = status(&t).matches("    text ").count();
    assert!(chunks >= 2, "{}", status(&t));
    assert_eq!(sent.len(), chunks, "each chunk once");
    let all = sent.join("\n");
    for title in titles() {
        assert_eq!(all.matches(&title).count(), 1, "{title} once: {all}");
    }
    assert_eq!(photos_in(&ftg, -100_500), 1);
}

#[tokio::test]
async fn a_chunked_discord_brief_never_reposts_a_chunk_whose_outcome_is_unknown() {
    let t = spawn_app_with(&long_config()).await;
    answered(&t).await;
    answered_long(&t).await;
    let fdc = FakeDiscord::start().await;
    fdc.add_guild(5_000, "Community", &[5_001], &[]);
    let dc = discord(&t, &fdc).await;
    let clock = SetClock::at(utc(SLOT));
    let r = runner(&t, clock.clone(), &[], &[5_001], vec![dc.digest_sink()]);
    // The first chunk is posted, but the connection breaks before the bot hears so. The post
    // is repeated with the same enforced nonce, and the fake (as Discord) answers with the
    // first message: delivered, once.
    fdc.reset_next("POST", "/channels/5001/messages", true);
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.delivered, vec!["discord:5001".to_string()], "{tick:?}");
    let posted = fdc.messages(5_001);
    assert!(posted.len() >= 2, "{} messages", posted.len());
    assert!(
        posted.last().is_some_and(|m| m
            .files
            .iter()
            .any(|(n, b)| n == "chart.png" && b.starts_with(b"\x89PNG"))),
        "the chart is attached to the last chunk"
    );
    // Later ticks post nothing again.
    for minutes in [2, 10, 90] {
        clock.set(utc(SLOT) + Duration::minutes(minutes));
        let tick = r.tick().await.unwrap();
        assert_eq!(tick, Default::default());
    }
    let again = fdc.messages(5_001);
    assert_eq!(again.len(), posted.len());
    let all: String = again.iter().map(|m| m.content.as_str()).collect();
    for title in titles() {
        assert_eq!(all.matches(&title).count(), 1, "{title} once");
    }
    let text = status(&t);
    assert!(!text.contains("uncertain"), "{text}");
    assert!(!text.contains("sent 2 times"), "{text}");
}

#[tokio::test]
async fn a_slow_or_failing_destination_does_not_hold_up_the_others() {
    let t = spawn_app().await;
    answered(&t).await;
    let ftg = FakeTelegram::start().await;
    ftg.add_chat(&TgChat::group(-100_500, "Team"));
    ftg.add_chat(&TgChat::group(-100_600, "Leads"));
    let fdc = FakeDiscord::start().await;
    fdc.add_guild(5_000, "Community", &[5_001, 5_002], &[]);
    let (tg, dc) = (telegram(&t, &ftg).await, discord(&t, &fdc).await);
    let clock = SetClock::at(utc(SLOT));
    let r = runner(
        &t,
        clock,
        &[-100_500, -100_600],
        &[5_001, 5_002],
        vec![tg.digest_sink(), dc.digest_sink()],
    );
    // One Telegram chat meets a 502 (teloxide waits 10 s on it); Discord channel 5001 answers
    // 429 three times.
    ftg.fault_next("SendMessage", Fault::ServerError(502));
    for _ in 0..3 {
        fdc.rate_limit_next("POST", "/channels/5001/messages", 1.0);
    }
    let started = Instant::now();
    let (tick, telegram_at, discord_at) = tokio::join!(
        r.tick(),
        async {
            ftg.wait_for_within(
                std::time::Duration::from_secs(60),
                "a Telegram brief",
                |f| (!f.sent().is_empty()).then_some(()),
            )
            .await;
            started.elapsed()
        },
        async {
            fdc.wait_for("the healthy channel's brief", |f| {
                (!f.messages(5_002).is_empty()).then_some(())
            })
            .await;
            started.elapsed()
        },
    );
    let total = started.elapsed();
    let tick = tick.unwrap();
    assert_eq!(tick.failed.len(), 1, "the 502 is retried later: {tick:?}");
    assert_eq!(tick.delivered.len(), 3, "{tick:?}");
    assert!(
        total >= std::time::Duration::from_secs(5),
        "the faulty ones took their time: {total:?}"
    );
    assert!(
        telegram_at * 2 < total && discord_at * 2 < total,
        "healthy destinations at {telegram_at:?} and {discord_at:?}, the slowest at {total:?}"
    );
    assert_eq!(fdc.messages(5_001).len(), 1, "the rate-limited one once");
}

/// A Discord digest part that was created but answered with a 502 (the bot cannot know it was
/// posted) is repeated with the same nonce, which Discord answers with the first message: the
/// part is in the channel once.
#[tokio::test]
async fn a_discord_part_answered_with_a_5xx_after_it_was_posted_is_not_posted_twice() {
    let t = spawn_app_with(&long_config()).await;
    answered(&t).await;
    answered_long(&t).await;
    let fdc = FakeDiscord::start().await;
    fdc.add_guild(5_000, "Community", &[5_001], &[]);
    let dc = discord(&t, &fdc).await;
    let clock = SetClock::at(utc(SLOT));
    let r = runner(&t, clock.clone(), &[], &[5_001], vec![dc.digest_sink()]);
    fdc.fail_after_next("POST", "/channels/5001/messages", 502);
    r.tick().await.unwrap();
    for minutes in [2, 10, 90] {
        clock.set(utc(SLOT) + Duration::minutes(minutes));
        r.tick().await.unwrap();
    }
    let all: String = fdc
        .messages(5_001)
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    for title in titles() {
        assert_eq!(all.matches(&title).count(), 1, "{title} once in {all}");
    }
    let text = status(&t);
    assert!(!text.contains("sent 2 times"), "{text}");
}
