//! The weekly digest with an injected clock: local time across DST, exactly once across
//! restarts, catch-up after downtime, a failing destination, and delivery to the fakes.

use crate::support::*;
use canvass::config::DigestConfig;
use canvass::core::event::Platform;
use canvass::digest::schedule::Schedule;
use canvass::digest::{Ledger, Part, Runner, SendError, Sink, SinkError};
use canvass::insight::digest::Brief;
use canvass::service::Clock;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A platform that records what it was asked to post, and can be told to fail.
struct Recorder {
    platform: &'static str,
    fail: AtomicBool,
    posted: Mutex<Vec<(String, String, bool, String)>>,
}

impl Recorder {
    fn new(platform: &'static str) -> Arc<Self> {
        Arc::new(Self {
            platform,
            fail: AtomicBool::new(false),
            posted: Mutex::new(Vec::new()),
        })
    }
    fn posted(&self) -> Vec<(String, String, bool, String)> {
        self.posted.lock().unwrap().clone()
    }
}

impl Sink for Recorder {
    fn platform(&self) -> Platform {
        Platform::parse(self.platform).expect("a known platform")
    }
    fn render(&self, brief: &Brief, _chart: Option<&[u8]>) -> Result<Vec<Part>, SinkError> {
        let headline = brief
            .reports
            .first()
            .map(|r| r.survey.title.clone())
            .unwrap_or_default();
        let text = serde_json::json!([brief.period, brief.late, headline]).to_string();
        Ok(vec![Part {
            label: "text 1/1".into(),
            text: Some(text),
            image: None,
        }])
    }
    fn send<'a>(
        &'a self,
        destination: &'a str,
        part: &'a Part,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(async move {
            if self.fail.load(Ordering::SeqCst) {
                return Err(SendError::Failed(
                    "Forbidden: bot was kicked from the group chat".into(),
                ));
            }
            let (period, late, headline): (String, bool, String) =
                serde_json::from_str(part.text.as_deref().unwrap_or_default()).unwrap();
            self.posted
                .lock()
                .unwrap()
                .push((destination.to_string(), period, late, headline));
            Ok(())
        })
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn cfg() -> DigestConfig {
    DigestConfig {
        schedule: "mon 09:00".into(),
        timezone: "Europe/Berlin".into(),
        telegram_chats: vec![-100_500],
        discord_channels: vec![5_001],
        surveys: Vec::new(),
    }
}

fn runner(t: &TestApp, clock: Arc<SetClock>, sinks: Vec<Arc<dyn Sink>>) -> Runner {
    Runner::new(
        t.app.service.clone(),
        cfg(),
        Schedule::parse("mon 09:00", "Europe/Berlin").unwrap(),
        10,
        sinks,
        clock,
    )
    .with_charts(t.app.service.charts())
}

async fn with_answers() -> TestApp {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    for i in 0..12 {
        t.tap(&format!("m{i}"), group(), &p[i % 2]).await;
    }
    t
}

#[tokio::test]
async fn fires_at_nine_local_across_the_dst_change_and_never_twice() {
    let t = with_answers().await;
    // The answers were given on 2026-11-02 by the test clock, when this install began; the
    // digest periods below are in March 2027, so briefs are quiet but still posted on time.
    let clock = SetClock::at(utc("2027-03-22T07:59:00Z"));
    let (tg, dc) = (Recorder::new("telegram"), Recorder::new("discord"));
    let r = runner(&t, clock.clone(), vec![tg.clone(), dc.clone()]);
    r.tick().await.unwrap();
    assert!(
        tg.posted().iter().all(|p| p.1 != "2027-03-22 09:00 CET"),
        "not before 09:00 local"
    );
    clock.set(utc("2027-03-22T08:00:00Z")); // 09:00 CET
    r.tick().await.unwrap();
    let on_time: Vec<_> = tg
        .posted()
        .into_iter()
        .filter(|p| p.1 == "2027-03-22 09:00 CET")
        .collect();
    assert_eq!(on_time.len(), 1);
    assert!(!on_time[0].2, "on time, not late");
    // Summer time starts on 2027-03-28: the next one is at 07:00 UTC, still 09:00 local.
    clock.set(utc("2027-03-29T06:59:00Z"));
    r.tick().await.unwrap();
    assert!(tg.posted().iter().all(|p| !p.1.starts_with("2027-03-29")));
    clock.set(utc("2027-03-29T07:00:00Z"));
    r.tick().await.unwrap();
    assert!(tg.posted().iter().any(|p| p.1 == "2027-03-29 09:00 CEST"));
    assert!(dc.posted().iter().any(|p| p.1 == "2027-03-29 09:00 CEST"));
    // Ticking again, and after a restart with a new runner on the same database: nothing new.
    r.tick().await.unwrap();
    let t = t.restart().await;
    let again = runner(&t, clock.clone(), vec![tg.clone(), dc.clone()]);
    again.recover().await.unwrap();
    let tick = again.tick().await.unwrap();
    assert!(tick.delivered.is_empty(), "{tick:?}");
    let per_period = t
        .scalar("SELECT MAX(c) FROM (SELECT COUNT(*) AS c FROM digest_deliveries GROUP BY period, destination)")
        .await;
    assert_eq!(per_period, 1);
    let count = |p: &[(String, String, bool, String)], period: &str| {
        p.iter().filter(|x| x.1 == period).count()
    };
    assert_eq!(count(&tg.posted(), "2027-03-29 09:00 CEST"), 1);
    assert_eq!(count(&dc.posted(), "2027-03-29 09:00 CEST"), 1);
}

#[tokio::test]
async fn a_digest_missed_while_down_is_posted_once_and_marked_late() {
    let t = with_answers().await;
    let clock = SetClock::at(utc("2026-11-09T08:00:00Z")); // Monday 09:00 CET
    let (tg, dc) = (Recorder::new("telegram"), Recorder::new("discord"));
    let r = runner(&t, clock.clone(), vec![tg.clone(), dc.clone()]);
    r.tick().await.unwrap();
    // Down for three weeks; back on a Wednesday.
    clock.set(utc("2026-11-25T12:00:00Z"));
    let r = runner(&t, clock.clone(), vec![tg.clone(), dc.clone()]);
    r.recover().await.unwrap();
    r.tick().await.unwrap();
    r.tick().await.unwrap();
    let posted = tg.posted();
    let periods: Vec<&str> = posted.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(
        periods,
        ["2026-11-09 09:00 CET", "2026-11-23 09:00 CET"],
        "only the latest missed one"
    );
    assert!(!posted[0].2 && posted[1].2, "the missed one is marked late");
    assert_eq!(
        posted[0].3, "Lunch",
        "the survey answered during the period is in it"
    );
    assert_eq!(
        posted[1].3, "",
        "answered before the late one's period: quiet in it, no numbers"
    );
}

#[tokio::test]
async fn a_failing_destination_is_retried_with_backoff_and_does_not_block_others() {
    let t = with_answers().await;
    let clock = SetClock::at(utc("2026-11-09T08:00:00Z"));
    let (tg, dc) = (Recorder::new("telegram"), Recorder::new("discord"));
    tg.fail.store(true, Ordering::SeqCst);
    let r = runner(&t, clock.clone(), vec![tg.clone(), dc.clone()]);
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.delivered, ["discord:5001"]);
    assert_eq!(tick.failed.len(), 1);
    let status = t.app.store.deliveries().await.unwrap();
    let failed = status
        .iter()
        .find(|d| d.destination == "telegram:-100500")
        .unwrap();
    assert_eq!(failed.status, "failed");
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("kicked")
    );
    assert!(failed.next_attempt_at > clock.now());
    // Not retried before the backoff, retried after it.
    tg.fail.store(false, Ordering::SeqCst);
    clock.set(utc("2026-11-09T08:00:30Z"));
    assert!(r.tick().await.unwrap().delivered.is_empty());
    clock.set(utc("2026-11-09T08:02:00Z"));
    assert_eq!(r.tick().await.unwrap().delivered, ["telegram:-100500"]);
    assert_eq!(
        dc.posted().len(),
        1,
        "the healthy destination got it exactly once"
    );
    // `canvass digest --status` shows the outcome.
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
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("telegram:-100500") && text.contains("delivered"),
        "{text}"
    );
    assert!(text.contains("attempts 2"), "{text}");
}

#[tokio::test]
async fn the_digest_arrives_at_the_fake_telegram_and_discord_with_its_chart() {
    use crate::support::discord::{self as dcf, FakeDiscord};
    use crate::support::telegram::{self as tgf, FakeTelegram, TgChat};
    let t = with_answers().await;
    let ftg = FakeTelegram::start().await;
    ftg.add_chat(&TgChat::group(-100_500, "Team"));
    let fdc = FakeDiscord::start().await;
    fdc.add_guild(5_000, "Community", &[5_001], &[]);
    let tg = canvass::platform::telegram::Telegram::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &canvass::config::TelegramConfig {
            token_env: "X".into(),
            api_url: ftg.url.clone(),
            poll_refresh_ms: 100,
        },
        &canvass::config::Secret::new(tgf::TOKEN),
    )
    .await
    .unwrap();
    let dc = canvass::platform::discord::Discord::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &canvass::config::DiscordConfig {
            token_env: "X".into(),
            api_url: fdc.url.clone(),
            guilds: vec![5_000],
            poll_refresh_ms: 100,
        },
        &canvass::config::Secret::new(dcf::TOKEN),
    )
    .await
    .unwrap();
    let clock = SetClock::at(utc("2026-11-09T08:00:00Z"));
    let r = runner(&t, clock, vec![tg.digest_sink(), dc.digest_sink()]);
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.delivered.len(), 2, "{tick:?}");
    let sent = ftg.sent();
    let brief = sent
        .iter()
        .find(|m| m.chat_id == -100_500)
        .expect("a Telegram message");
    assert!(
        brief
            .text
            .contains("<b>Weekly brief · 2026-11-09 09:00 CET</b>"),
        "{}",
        brief.text
    );
    assert!(brief.text.contains("Lunch"), "{}", brief.text);
    let photo = ftg
        .uploads()
        .into_iter()
        .find(|u| u.method == "SendPhoto")
        .expect("the chart");
    assert!(photo.bytes.starts_with(b"\x89PNG"));
    let msgs = fdc.messages(5_001);
    let m = msgs
        .iter()
        .find(|m| m.content.contains("Weekly brief"))
        .expect("a Discord message");
    assert!(
        m.files
            .iter()
            .any(|(n, b)| n == "chart.png" && b.starts_with(b"\x89PNG"))
    );
    assert!(m.pinged().is_empty());
    assert!(!m.content.to_lowercase().contains("engagement"));
}

// ---- the window is the period (what a digest says) ---------------------------------------------

use crate::support::telegram::{self as tgf, FakeTelegram, TgChat};
use canvass::platform::telegram::Telegram;
use canvass::render::Target;

/// The Telegram adapter on a fake with the team chat -100500.
async fn fake_telegram(t: &TestApp) -> (FakeTelegram, Telegram) {
    let fake = FakeTelegram::start().await;
    fake.add_chat(&TgChat::group(-100_500, "Team"));
    let tg = Telegram::start(
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
    .unwrap();
    (fake, tg)
}

/// Every brief text posted to the team chat, oldest first.
fn briefs(fake: &FakeTelegram) -> Vec<String> {
    fake.sent()
        .into_iter()
        .filter(|m| m.chat_id == -100_500)
        .map(|m| m.text)
        .collect()
}

/// A runner on another schedule, for the team chat only.
fn runner_on(t: &TestApp, clock: Arc<SetClock>, schedule: &str, sink: Arc<dyn Sink>) -> Runner {
    Runner::new(
        t.app.service.clone(),
        DigestConfig {
            schedule: schedule.into(),
            timezone: "UTC".into(),
            telegram_chats: vec![-100_500],
            discord_channels: Vec::new(),
            surveys: Vec::new(),
        },
        Schedule::parse(schedule, "UTC").unwrap(),
        10,
        vec![sink],
        clock,
    )
}

#[tokio::test]
async fn a_survey_answered_only_before_the_period_is_named_quiet_without_old_numbers() {
    let t = with_answers().await; // twelve answers on 2026-11-02
    let (fake, tg) = fake_telegram(&t).await;
    let clock = SetClock::at(utc("2026-11-09T08:00:00Z"));
    let r = runner(&t, clock.clone(), vec![tg.digest_sink()]);
    r.tick().await.unwrap();
    let first = briefs(&fake).join("\n");
    assert!(first.contains("<b>Lunch</b> · 12 respondents"), "{first}");
    // The next week brought no answer: Lunch is named as quiet, its numbers are not repeated.
    clock.set(utc("2026-11-16T08:00:00Z"));
    r.tick().await.unwrap();
    let all = briefs(&fake);
    let second = all[1..].join("\n");
    assert!(
        second.contains("<b>Weekly brief · 2026-11-16 09:00 CET</b>"),
        "{second}"
    );
    assert!(!second.contains("respondents"), "{second}");
    assert!(!second.contains("Pizza"), "{second}");
    assert!(second.contains("A quiet week: 0 answers,"), "{second}");
    let quiet = second
        .lines()
        .find(|l| l.starts_with("No new answers this week: "))
        .unwrap_or_else(|| panic!("{second}"));
    assert!(quiet.contains("Lunch"), "{quiet}");
}

const TRIO: &str = r#"
[[surveys]]
id = "trio"
title = "Trio"
[[surveys.questions]]
id = "a"
type = "single"
text = "First?"
options = ["Yes", "No"]
[[surveys.questions]]
id = "b"
type = "single"
text = "Second?"
options = ["Yes", "No"]
[[surveys.questions]]
id = "c"
type = "single"
text = "Third?"
options = ["Yes", "No"]
"#;

#[tokio::test]
async fn a_quiet_day_counts_answers_and_a_daily_schedule_says_daily() {
    let t = spawn_app_with(&format!("{CONFIG}{TRIO}")).await;
    // Two members answer three questions each, three more answer the lunch poll: 9 answers
    // from 5 respondents.
    for who in ["ann", "bob"] {
        let mut out = t.say(who, dm(who), "/start trio").await;
        for _ in 0..3 {
            out = t
                .tap(who, dm(who), &payloads(&last_keyboard(&out))[0])
                .await;
        }
    }
    let p = payloads(&t.post("lunch").await);
    for i in 0..3 {
        t.tap(&format!("m{i}"), group(), &p[0]).await;
    }
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM answers WHERE superseded_at IS NULL")
            .await,
        9
    );
    let (fake, tg) = fake_telegram(&t).await;
    let clock = SetClock::at(utc("2026-11-02T18:00:00Z"));
    let r = runner_on(&t, clock, "daily 18:00", tg.digest_sink());
    assert_eq!(r.tick().await.unwrap().delivered, ["telegram:-100500"]);
    let text = briefs(&fake).join("\n");
    assert!(
        text.contains("<b>Daily brief · 2026-11-02 18:00 UTC</b>"),
        "{text}"
    );
    assert!(!text.contains("Weekly") && !text.contains("week"), "{text}");
    assert!(
        text.contains("A quiet day: 9 answers across 2 surveys"),
        "{text}"
    );
}

/// Lunch answered 7 Pizza : 5 Sushi at 09:00 on 2026-11-02 (the install), and after a restart
/// 3 Pizza : 1 Sushi at 10:00; `deliver_first` delivers the 09:30 digest in between.
async fn answered_around_a_slot(deliver_first: bool) -> (TestApp, Option<FakeTelegram>) {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    for i in 0..12 {
        t.tap(&format!("m{i}"), group(), &p[(i >= 7) as usize])
            .await;
    }
    let mut fake = None;
    if deliver_first {
        let (f, tg) = fake_telegram(&t).await;
        let clock = SetClock::at(utc("2026-11-02T09:30:00Z"));
        let r = runner_on(&t, clock, "daily 09:30", tg.digest_sink());
        assert_eq!(r.tick().await.unwrap().delivered, ["telegram:-100500"]);
        fake = Some(f);
    }
    let t = t.restart().await;
    for i in 12..16 {
        t.tap(&format!("m{i}"), group(), &p[(i == 15) as usize])
            .await;
    }
    (t, fake)
}

fn change_line(text: &str) -> Option<&str> {
    text.lines()
        .find(|l| l.starts_with("Since the last digest"))
}

#[tokio::test]
async fn no_change_line_before_any_digest_was_delivered() {
    let (t, _) = answered_around_a_slot(false).await;
    let (fake, tg) = fake_telegram(&t).await;
    let clock = SetClock::at(utc("2026-11-03T09:30:00Z"));
    let r = runner_on(&t, clock, "daily 09:30", tg.digest_sink());
    assert_eq!(r.tick().await.unwrap().delivered, ["telegram:-100500"]);
    let text = briefs(&fake).join("\n");
    assert!(text.contains("<b>Lunch</b> · 16 respondents"), "{text}");
    assert_eq!(change_line(&text), None, "{text}");
}

#[tokio::test]
async fn the_change_since_the_last_delivered_digest_names_the_option() {
    let (t, first) = answered_around_a_slot(true).await;
    let first = briefs(&first.expect("delivered")).join("\n");
    assert_eq!(change_line(&first), None, "the first digest: {first}");
    let (fake, tg) = fake_telegram(&t).await;
    let clock = SetClock::at(utc("2026-11-03T09:30:00Z"));
    let r = runner_on(&t, clock, "daily 09:30", tg.digest_sink());
    assert_eq!(r.tick().await.unwrap().delivered, ["telegram:-100500"]);
    let text = briefs(&fake).join("\n");
    let line = change_line(&text).unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("Since the last digest: Pizza 58"),
        "{line}"
    );
    // 10 of 16 is 62.5%: ties round up, as everywhere (`locale::round_places`).
    assert!(line.contains("→ 63"), "{line}");
}

#[tokio::test]
async fn the_dry_run_previews_exactly_what_the_next_digest_posts() {
    let digest = "\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"Europe/Berlin\"\ntelegram_chats = [-100500]\n";
    let t = spawn_app_with(&format!("{CONFIG}{digest}")).await;
    let p = payloads(&t.post("lunch").await);
    for i in 0..12 {
        t.tap(&format!("m{i}"), group(), &p[i % 2]).await;
    }
    let (fake, tg) = fake_telegram(&t).await;
    // A minute before Monday's slot, `digest --dry-run` and `/digest` (digest_now) and the
    // runner's preview all show what the slot will post.
    let before = utc("2026-11-09T07:59:00Z");
    let preview = t.app.service.digest_now(before).await.unwrap();
    let preview = t.app.renderer.digest(Target::Html, &preview).unwrap();
    let clock = SetClock::at(before);
    let r = runner(&t, clock.clone(), vec![tg.digest_sink()]);
    let from_runner = r.brief_now().await.unwrap();
    assert_eq!(
        t.app.renderer.digest(Target::Html, &from_runner).unwrap(),
        preview
    );
    assert!(
        preview.contains("<b>Weekly brief · 2026-11-09 09:00 CET</b>"),
        "{preview}"
    );
    clock.set(utc("2026-11-09T08:00:00Z"));
    assert_eq!(r.tick().await.unwrap().delivered, ["telegram:-100500"]);
    assert_eq!(briefs(&fake), [preview]);
}

// ---- a fresh install ----------------------------------------------------------------------------

#[tokio::test]
async fn a_fresh_install_does_not_post_the_slot_before_it_and_posts_the_next_on_time() {
    // The install began on Monday 2026-11-02 at 10:00 CET, an hour after that day's slot.
    let t = with_answers().await;
    let clock = SetClock::at(utc("2026-11-02T09:05:00Z"));
    let tg = Recorder::new("telegram");
    let r = runner(&t, clock.clone(), vec![tg.clone()]);
    r.recover().await.unwrap();
    assert_eq!(r.tick().await.unwrap(), Default::default());
    // Seconds before the next slot: still nothing late.
    clock.set(utc("2026-11-09T07:59:55Z"));
    r.tick().await.unwrap();
    assert!(tg.posted().is_empty(), "{:?}", tg.posted());
    assert_eq!(t.scalar("SELECT COUNT(*) FROM digest_deliveries").await, 0);
    clock.set(utc("2026-11-09T08:00:00Z"));
    r.tick().await.unwrap();
    let posted = tg.posted();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].1, "2026-11-09 09:00 CET");
    assert!(!posted[0].2, "on time");
}

// ---- a crash between a part's claim and its record ---------------------------------------------

/// Records every part it posts as (destination, label, text).
#[derive(Default)]
struct PartsPosted(Mutex<Vec<(String, String, String)>>);

impl Sink for PartsPosted {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }
    fn render(&self, _brief: &Brief, _chart: Option<&[u8]>) -> Result<Vec<Part>, SinkError> {
        Err(SinkError::Other(
            "the stored parts are sent; nothing is rendered again".into(),
        ))
    }
    fn send<'a>(
        &'a self,
        destination: &'a str,
        part: &'a Part,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(async move {
            self.0.lock().unwrap().push((
                destination.to_string(),
                part.label.clone(),
                part.text.clone().unwrap_or_default(),
            ));
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_part_claimed_but_not_recorded_before_a_crash_is_never_resent_and_the_rest_follow() {
    use canvass::store::NewPart;
    let t = with_answers().await;
    let (period, dest) = ("2026-11-09 09:00 CET", "telegram:-100500");
    let slot = utc("2026-11-09T08:00:00Z");
    // As the runner does: plan, claim the delivery with its parts, claim the first part, and
    // then the process dies before the send's outcome is recorded.
    let ledger: &dyn Ledger = &t.app.service;
    ledger
        .plan_deliveries(period, slot, &[dest.to_string()], false, slot)
        .await
        .unwrap();
    let part = |label, body| NewPart {
        label,
        body: Some(body),
        image: None,
    };
    let parts = [
        part("text 1/2", "first half"),
        part("text 2/2", "second half"),
    ];
    assert!(ledger.claim_delivery(period, dest, &parts).await.unwrap());
    assert!(ledger.claim_part(period, dest, 0).await.unwrap());
    let t = t.restart().await;
    let sink = Arc::new(PartsPosted::default());
    let clock = SetClock::at(slot + chrono::Duration::seconds(30));
    let r = runner(&t, clock, vec![sink.clone()]);
    r.recover().await.unwrap();
    let tick = r.tick().await.unwrap();
    assert_eq!(tick.uncertain.len(), 1, "{tick:?}");
    let posted = sink.0.lock().unwrap().clone();
    assert_eq!(
        posted,
        [("-100500".into(), "text 2/2".into(), "second half".into())],
        "only the part never claimed, as stored"
    );
    assert_eq!(r.tick().await.unwrap(), Default::default());
    let d = t.app.store.deliveries().await.unwrap();
    assert_eq!(d[0].status, "uncertain");
    let statuses: Vec<&str> = d[0].parts.iter().map(|p| p.status.as_str()).collect();
    assert_eq!(statuses, ["uncertain", "delivered"]);
}

#[tokio::test]
async fn the_quiet_line_names_only_surveys_open_in_the_period_never_a_draft() {
    let t = spawn_app_with(&format!("{CONFIG}{UNOPENED}")).await;
    let p = payloads(&t.post("lunch").await);
    for i in 0..12 {
        t.tap(&format!("m{i}"), group(), &p[i % 2]).await;
    }
    let (fake, tg) = fake_telegram(&t).await;
    let clock = SetClock::at(utc("2026-11-09T08:00:00Z"));
    let r = runner(&t, clock.clone(), vec![tg.digest_sink()]);
    r.tick().await.unwrap();
    clock.set(utc("2026-11-16T08:00:00Z"));
    r.tick().await.unwrap();
    let all = briefs(&fake);
    let second = all[1..].join("\n");
    let quiet = second
        .lines()
        .find(|l| l.starts_with("No new answers this week: "))
        .unwrap_or_else(|| panic!("{second}"));
    assert!(quiet.contains("Lunch"), "{quiet}");
    for draft in ["Secret pricing plan draft", "Next year's plan"] {
        assert!(
            !all.join("\n").contains(draft),
            "{draft} named in:\n{all:?}"
        );
    }
}

/// `[digest] surveys` limits the digest to those ids: another survey with answers in the
/// period is neither reported nor named quiet.
#[tokio::test]
async fn the_surveys_setting_limits_the_digest_to_those_ids() {
    let t = spawn_app_with(&format!("{CONFIG}{TRIO}")).await;
    let p = payloads(&t.post("lunch").await);
    for i in 0..6 {
        t.tap(&format!("m{i}"), group(), &p[i % 2]).await;
    }
    for who in ["ann", "bob", "cat"] {
        let mut out = t.say(who, dm(who), "/start trio").await;
        for _ in 0..3 {
            out = t
                .tap(who, dm(who), &payloads(&last_keyboard(&out))[0])
                .await;
        }
    }
    let (fake, tg) = fake_telegram(&t).await;
    let clock = SetClock::at(utc("2026-11-09T08:00:00Z"));
    let digest = DigestConfig {
        schedule: "mon 09:00".into(),
        timezone: "Europe/Berlin".into(),
        telegram_chats: vec![-100_500],
        discord_channels: Vec::new(),
        surveys: vec!["trio".into()],
    };
    let r = Runner::new(
        t.app.service.clone(),
        digest,
        Schedule::parse("mon 09:00", "Europe/Berlin").unwrap(),
        10,
        vec![tg.digest_sink()],
        clock,
    );
    r.tick().await.unwrap();
    let text = briefs(&fake).join("\n");
    assert!(text.contains("<b>Trio</b>"), "{text}");
    assert!(
        !text.contains("Lunch"),
        "lunch is not in [digest] surveys: {text}"
    );
    assert!(!text.contains("Pizza"), "{text}");
}

// ---- the grace period and a schedule moved back --------------------------------------------

#[tokio::test]
async fn a_slot_up_to_fifteen_minutes_past_is_on_time_and_later_is_marked_late() {
    let t = with_answers().await;
    // Monday 09:00 CET is 08:00 UTC; the bot comes up 14 minutes after it.
    let clock = SetClock::at(utc("2026-11-09T08:14:00Z"));
    let tg = Recorder::new("telegram");
    runner(&t, clock.clone(), vec![tg.clone()])
        .tick()
        .await
        .unwrap();
    // The next Monday, 16 minutes after the slot.
    clock.set(utc("2026-11-16T08:16:00Z"));
    runner(&t, clock.clone(), vec![tg.clone()])
        .tick()
        .await
        .unwrap();
    let posted = tg.posted();
    let seen: Vec<(&str, bool)> = posted.iter().map(|p| (p.1.as_str(), p.2)).collect();
    assert_eq!(
        seen,
        [
            ("2026-11-09 09:00 CET", false),
            ("2026-11-16 09:00 CET", true)
        ]
    );
}

#[tokio::test]
async fn an_older_slot_is_never_posted_after_a_newer_one_was_delivered() {
    let t = with_answers().await;
    // Tuesday 2026-11-10 10:00 UTC: the "tue 10:00" digest is delivered.
    let clock = SetClock::at(utc("2026-11-10T10:00:00Z"));
    let tg = Recorder::new("telegram");
    runner_on(&t, clock.clone(), "tue 10:00", tg.clone())
        .tick()
        .await
        .unwrap();
    assert_eq!(tg.posted().len(), 1, "{:?}", tg.posted());
    // The operator moves the schedule back to 09:00 and restarts: that day's 09:00 slot is
    // older than the delivered one and is not posted after it.
    clock.set(utc("2026-11-10T10:05:00Z"));
    let r = runner_on(&t, clock.clone(), "tue 09:00", tg.clone());
    r.recover().await.unwrap();
    r.tick().await.unwrap();
    r.tick().await.unwrap();
    let posted = tg.posted();
    let periods: Vec<&str> = posted.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(periods, ["2026-11-10 10:00 UTC"], "{posted:?}");
    // The next slot on the new schedule is posted as usual.
    clock.set(utc("2026-11-17T09:00:00Z"));
    r.tick().await.unwrap();
    let periods: Vec<String> = tg.posted().into_iter().map(|p| p.1).collect();
    assert_eq!(periods, ["2026-11-10 10:00 UTC", "2026-11-17 09:00 UTC"]);
}
