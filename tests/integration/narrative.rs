//! The optional model-written narrative against a fake OpenAI-compatible server: a faithful
//! text is shown everywhere, an unfaithful one is dropped with its reason, members' identities
//! never reach the model, a slow or failing endpoint does not hold up the digest, and without
//! `[narrative]` nothing is ever sent.

use crate::support::openai::{FakeOpenAi, Reply};
use crate::support::*;
use canvass::config::DigestConfig;
use canvass::core::event::{Outbound, Platform};
use canvass::digest::schedule::Schedule;
use canvass::digest::{Part, Runner, SendError, Sink, SinkError};
use canvass::insight::Report;
use canvass::insight::digest::Brief;
use canvass::insight::report::Narrative;
use canvass::render::Target;
use canvass::render::report::Format;
use canvass::service::Clock;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SURVEYS: &str = r#"
[team]
console = ["pm"]

[[surveys]]
id = "lunch"
title = "Lunch"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi", "Salad"]
[[surveys.questions]]
id = "why"
type = "open_text"
text = "Why that one?"
max_chars = 200
optional = true

[[surveys]]
id = "split"
title = "Team offsite"
[[surveys.questions]]
id = "place"
type = "single"
text = "Where should the offsite be?"
options = ["Lisbon", "Berlin"]
"#;

/// Members' platform ids and display names contain this; the model must never see it.
const WHO: &str = "zebulon4711";

const PIZZA_WHY: &str = "Pizza is quick to share with the whole team";
const SUSHI_WHY: &str = "Sushi feels lighter before afternoon meetings";

fn member(i: usize) -> String {
    format!("{WHO}_{i}")
}

/// 45 members answer `lunch` privately (30 Pizza, 15 Sushi, each with a reason) and 20 vote
/// on `split` in the group (11 Lisbon, 9 Berlin: too close to call).
async fn answered(config: &str) -> TestApp {
    let t = spawn_app_with(config).await;
    for i in 0..45 {
        let who = member(i);
        let out = t.say(&who, dm(&who), "/start lunch").await;
        let sushi = i % 3 == 0;
        let out = t
            .tap(
                &who,
                dm(&who),
                &payloads(&last_keyboard(&out))[sushi as usize],
            )
            .await;
        assert!(t.text(&out).contains("Why that one?"), "{}", t.text(&out));
        t.say(&who, dm(&who), if sushi { SUSHI_WHY } else { PIZZA_WHY })
            .await;
    }
    let p = payloads(&t.post("split").await);
    for i in 0..20 {
        t.tap(&member(100 + i), group(), &p[(i >= 11) as usize])
            .await;
    }
    t
}

fn with_narrative(fake: &FakeOpenAi, timeout_ms: u64) -> String {
    format!("{SURVEYS}{}", fake.section(timeout_ms))
}

const FAITHFUL: &str = "Pizza leads with 66.7% of 45 respondents, ahead of Sushi at 33.3%. \
     One member wrote \"Pizza is quick to share with the whole team\"; \
     treat the reading as describing the people who answered.";

async fn insights(t: &TestApp, survey: &str) -> (Report, String) {
    let out = t.say("pm", group(), &format!("/insights {survey}")).await;
    let Some(Outbound::Report { report, .. }) = out.first() else {
        panic!("expected a report, got {out:?}");
    };
    ((**report).clone(), t.text(&out))
}

fn json(t: &TestApp, r: &Report) -> serde_json::Value {
    let raw = t.app.renderer.report(Format::Json, r).expect("json");
    serde_json::from_str(&raw).expect("valid json")
}

#[tokio::test]
async fn a_faithful_narrative_is_shown_marked_everywhere_and_identities_never_leave() {
    let fake = FakeOpenAi::start(Reply::Text(FAITHFUL.into())).await;
    let t = answered(&with_narrative(&fake, 10_000)).await;
    let (report, text) = insights(&t, "lunch").await;
    assert_eq!(
        report.narrative,
        Narrative::Checked {
            text: FAITHFUL.into(),
            model: "fake-model".into()
        }
    );
    // Above the deterministic summary, marked as model-written and checked.
    let marker = text
        .find("Written by a language model (fake-model), checked")
        .expect(&text);
    let body = text.find(FAITHFUL).expect(&text);
    let headline = text.find("Headline").expect(&text);
    assert!(marker < body && body < headline, "{text}");
    assert!(text.contains("Pizza leads with 66.7%"), "{text}");

    let v = json(&t, &report);
    assert_eq!(v["narrative"]["text"], FAITHFUL);
    assert_eq!(v["narrative"]["model"], "fake-model");
    assert_eq!(v["narrative"]["checked"], true);
    assert!(v["narrative_reason"].is_null());
    let md = t.app.renderer.report(Format::Markdown, &report).unwrap();
    assert!(
        md.contains("*Written by a language model (fake-model)"),
        "{md}"
    );
    assert!(md.contains("Pizza leads with 66.7% of 45"), "{md}");
    let html = t.app.renderer.report(Format::Html, &report).unwrap();
    assert!(html.contains("class=\"narrative\""), "{html}");
    assert!(
        html.contains("One member wrote &quot;Pizza is quick"),
        "{html}"
    );

    // The digest carries it too (the split survey's narrative fails: FAITHFUL is not about it).
    let out = t.say("pm", group(), "/digest").await;
    let digest = t.text(&out);
    assert!(digest.contains(FAITHFUL), "{digest}");
    assert_eq!(
        digest.matches("Written by a language model").count(),
        1,
        "{digest}"
    );
    let counts = t.app.service.narrator().expect("configured").counts();
    assert_eq!(counts.get("shown"), Some(&2), "{counts:?}");

    // Every request: aggregates and quotes, never a platform id or display name.
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    for raw in &requests {
        let body = String::from_utf8_lossy(raw);
        assert!(!body.contains(WHO), "identity sent to the model: {body}");
        assert!(!body.contains("display"), "display name sent: {body}");
        let v: serde_json::Value = serde_json::from_slice(raw).expect("json request");
        assert_eq!(v["model"], "fake-model");
        assert_eq!(v["messages"][0]["role"], "system");
    }
    let first = String::from_utf8_lossy(&requests[0]);
    assert!(first.contains(PIZZA_WHY), "quotes are sent: {first}");
    assert!(first.contains("66.7%"), "{first}");
}

#[tokio::test]
async fn unfaithful_narratives_are_dropped_with_their_reason() {
    let fake = FakeOpenAi::start(Reply::Status(500)).await;
    let t = answered(&with_narrative(&fake, 10_000)).await;
    let cases = [
        (
            "lunch",
            "Pizza leads with 71% of 45 respondents.",
            "invented_number",
            "the number 71% does not appear in the report",
        ),
        (
            "lunch",
            "One member wrote \"Pizza is quick to share with everyone\".",
            "altered_quote",
            "the quote \"Pizza is quick to share with everyone\" is not in any answer",
        ),
        (
            "split",
            "Lisbon clearly wins the vote.",
            "winner",
            "\"clearly wins\" names a winner, but the report has no robust winner",
        ),
    ];
    for (survey, reply, code, reason) in cases {
        fake.set(Reply::Text(reply.into()));
        let (report, text) = insights(&t, survey).await;
        assert_eq!(
            report.narrative,
            Narrative::Dropped {
                reason: reason.into()
            },
            "{reply}"
        );
        // The deterministic summary is shown instead, with no trace of the rejected text.
        assert!(!text.contains(reply), "{text}");
        assert!(!text.contains("language model"), "{text}");
        assert!(text.contains("Headline"), "{text}");
        let v = json(&t, &report);
        assert!(v["narrative"].is_null());
        assert_eq!(v["narrative_reason"], reason);
        let counts = t.app.service.narrator().expect("configured").counts();
        assert_eq!(counts.get(code), Some(&1), "{counts:?}");
    }
    let (_, text) = insights(&t, "split").await;
    assert!(text.contains("too close to call"), "{text}");
}

/// Records the rendered digest it was asked to post.
struct Posted {
    renderer: Arc<canvass::render::Renderer>,
    texts: Mutex<Vec<String>>,
}

impl Sink for Posted {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }
    fn render(&self, brief: &Brief, _chart: Option<&[u8]>) -> Result<Vec<Part>, SinkError> {
        let text = self.renderer.digest(Target::Plain, brief)?;
        Ok(vec![Part {
            label: "text 1/1".into(),
            text: Some(text),
            image: None,
        }])
    }
    fn send<'a>(
        &'a self,
        _destination: &'a str,
        part: &'a Part,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(async move {
            let mut texts = self
                .texts
                .lock()
                .map_err(|e| SendError::Failed(e.to_string().into()))?;
            texts.push(part.text.clone().unwrap_or_default());
            Ok(())
        })
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .expect("time")
}

/// Runs one digest tick just after the daily `hour`:00 UTC slot of 2026-11-02 (the answers
/// are from that morning), returning how long it took and what was posted.
async fn digest_tick(t: &TestApp, hour: u32) -> (Duration, Vec<String>) {
    let sink = Arc::new(Posted {
        renderer: t.app.renderer.clone(),
        texts: Mutex::new(Vec::new()),
    });
    let clock = SetClock::at(utc(&format!("2026-11-02T{hour}:00:30Z")));
    let schedule = format!("daily {hour}:00");
    let cfg = DigestConfig {
        schedule: schedule.clone(),
        timezone: "UTC".into(),
        telegram_chats: vec![-100_500],
        discord_channels: Vec::new(),
        surveys: Vec::new(),
    };
    let runner = Runner::new(
        t.app.service.clone(),
        cfg,
        Schedule::parse(&schedule, "UTC").expect("schedule"),
        10,
        vec![sink.clone() as Arc<dyn Sink>],
        clock.clone() as Arc<dyn Clock>,
    )
    .with_narrator(t.app.service.narrator().cloned());
    let started = Instant::now();
    let tick = tokio::time::timeout(Duration::from_secs(30), runner.tick())
        .await
        .expect("the digest is not held up")
        .expect("tick");
    let took = started.elapsed();
    assert_eq!(tick.delivered, ["telegram:-100500"], "{tick:?}");
    let texts = sink.texts.lock().map(|t| t.clone()).unwrap_or_default();
    (took, texts)
}

#[tokio::test]
async fn a_hanging_or_failing_endpoint_falls_back_without_holding_up_the_digest() {
    let fake = FakeOpenAi::start(Reply::Hang).await;
    let t = answered(&with_narrative(&fake, 1000)).await;
    let (took, texts) = digest_tick(&t, 18).await;
    // Both surveys' narratives share one 1000 ms budget; the endpoint would hang for minutes.
    assert!(took < Duration::from_secs(6), "digest took {took:?}");
    let digest = texts.concat();
    assert!(digest.contains("Lunch"), "{digest}");
    assert!(digest.contains("Pizza 66.7%"), "{digest}");
    assert!(!digest.contains("language model"), "{digest}");
    let counts = t.app.service.narrator().expect("configured").counts();
    assert_eq!(counts.get("timeout"), Some(&2), "{counts:?}");

    // A 500: one bounded retry per narrative, then the deterministic text.
    fake.set(Reply::Status(500));
    let before = fake.requests().len();
    let (report, text) = insights(&t, "lunch").await;
    assert_eq!(fake.requests().len() - before, 2, "one retry, no more");
    assert_eq!(
        report.narrative,
        Narrative::Dropped {
            reason: "the endpoint answered with HTTP 500".into()
        }
    );
    assert!(text.contains("Pizza leads with 66.7%"), "{text}");
    let t2 = t.restart().await;
    let (took, texts) = digest_tick(&t2, 19).await;
    assert!(took < Duration::from_secs(6), "digest took {took:?}");
    assert!(texts.concat().contains("Pizza 66.7%"));
    let counts = t2.app.service.narrator().expect("configured").counts();
    assert_eq!(counts.get("http_status"), Some(&2), "{counts:?}");
}

#[tokio::test]
async fn without_a_narrative_section_no_request_is_ever_made() {
    let fake = FakeOpenAi::start(Reply::Text(FAITHFUL.into())).await;
    let t = answered(SURVEYS).await;
    assert!(t.app.service.narrator().is_none());
    let (report, text) = insights(&t, "lunch").await;
    assert_eq!(report.narrative, Narrative::Off);
    assert!(!text.contains("language model"), "{text}");
    let v = json(&t, &report);
    assert!(v["narrative"].is_null());
    assert_eq!(v["narrative_reason"], "no [narrative] section in bot.toml");
    t.say("pm", group(), "/digest").await;
    let (_, texts) = digest_tick(&t, 18).await;
    assert!(texts.concat().contains("Pizza 66.7%"));
    assert!(fake.requests().is_empty());
}

/// `canvass insights --narrative` on the command line, against the same fake.
async fn cli(t: &TestApp, config: &str, args: &[&str]) -> (String, String) {
    let path = t.dir.path().join("bot.toml");
    std::fs::write(&path, config).expect("write config");
    let prompts = t.dir.path().join("prompts");
    if !prompts.exists() {
        std::os::unix::fs::symlink(crate::support::prompts(), &prompts).expect("link prompts");
    }
    let mut all = vec![
        "--config".to_string(),
        path.display().to_string(),
        "--database".into(),
        t.db.display().to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    // The fake answers on this runtime, so the child is awaited off it.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_canvass"))
            .args(all)
            .output()
    })
    .await
    .expect("join")
    .expect("run canvass");
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_command_line_prints_the_outcome_the_reason_and_the_counts() {
    let fake = FakeOpenAi::start(Reply::Text(
        "Pizza leads with 71% of 45 respondents.".into(),
    ))
    .await;
    let config = with_narrative(&fake, 10_000);
    let t = answered(&config).await;
    let args = ["insights", "lunch", "--narrative", "--format", "json"];
    let (stdout, stderr) = cli(&t, &config, &args).await;
    assert!(
        stderr.contains(
            "narrative: dropped (invented_number): the number 71% does not appear in the report; \
             the deterministic summary is shown"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("narrative outcomes this run: invented_number 1"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json on stdout");
    assert!(v["narrative"].is_null());
    assert_eq!(
        v["narrative_reason"],
        "the number 71% does not appear in the report"
    );

    fake.set(Reply::Text(FAITHFUL.into()));
    let (stdout, stderr) = cli(&t, &config, &args).await;
    assert!(
        stderr.contains(
            "narrative: shown (model fake-model): 3 numbers and 1 quote checked against the report"
        ),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json on stdout");
    assert_eq!(v["narrative"]["checked"], true);
    assert_eq!(v["narrative"]["text"], FAITHFUL);
    // Without the flag the outcome is not printed, but the narrative is still used.
    let (stdout, stderr) = cli(&t, &config, &["insights", "lunch"]).await;
    assert!(!stderr.contains("narrative:"), "{stderr}");
    assert!(stdout.contains(FAITHFUL), "{stdout}");
    // Off: the flag says so.
    let (_, stderr) = cli(&t, SURVEYS, &args).await;
    assert!(
        stderr.contains("narrative: off (no [narrative] section in bot.toml)"),
        "{stderr}"
    );
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_checked_narrative_is_marked_in_the_team_locale_too() {
    use canvass::render::Target;
    use canvass::render::report::Format;
    let fake = FakeOpenAi::start(Reply::Text(FAITHFUL.into())).await;
    let t = answered(&with_narrative(&fake, 10_000)).await;
    let (report, _) = insights(&t, "lunch").await;
    let brief = Brief {
        period: "2026-11-02".into(),
        late: false,
        respondents: report.survey.respondents,
        tests: report.tests,
        reports: vec![report.clone()],
        cadence: Default::default(),
        answers: report.survey.respondents,
        quiet_surveys: Vec::new(),
    };
    for (locale, marker) in [
        ("de", "Von einem Sprachmodell geschrieben (fake-model)"),
        ("es", "Redactado por un modelo de lenguaje (fake-model)"),
    ] {
        for format in [Format::Chat(Target::Plain), Format::Markdown, Format::Html] {
            let text = t.app.renderer.report_in(locale, format, &report).unwrap();
            assert!(
                text.contains(FAITHFUL.split(',').next().unwrap_or_default()),
                "{text}"
            );
            if format == Format::Chat(Target::Plain) {
                assert!(text.contains(marker), "{locale}: {text}");
            }
        }
        let digest = t
            .app
            .renderer
            .digest_in(locale, Target::Plain, &brief)
            .unwrap();
        assert!(digest.contains(marker), "{locale}: {digest}");
    }
}

/// One more member answers `lunch` (Sushi), with digits and a negation in the reason, so a
/// quote can launder a number or an ellipsis can drop the "niemals".
const DIGITS_WHY: &str =
    "Wir waren 71 Mal beim Italiener und ich würde niemals wieder Pizza bestellen";

#[tokio::test]
async fn adversarial_narratives_are_dropped_in_a_german_report_and_an_honest_one_with_decimal_commas_passes()
 {
    let fake = FakeOpenAi::start(Reply::Status(500)).await;
    let config = with_narrative(&fake, 10_000).replace("[team]\n", "[team]\nlocale = \"de\"\n");
    let t = answered(&config).await;
    let who = member(45);
    let out = t.say(&who, dm(&who), "/start lunch").await;
    t.tap(&who, dm(&who), &payloads(&last_keyboard(&out))[1])
        .await;
    t.say(&who, dm(&who), DIGITS_WHY).await;

    // 30 of 46 chose Pizza (65,2 %), 16 Sushi (34,8 %), in the team's German.
    let honest = "Pizza liegt mit 65,2 % von 46 Befragten vorn, vor Sushi mit 34,8 %. \
                  Ein Mitglied schrieb „Pizza is quick to share with the whole team“.";
    fake.set(Reply::Text(honest.into()));
    let (report, text) = insights(&t, "lunch").await;
    assert_eq!(
        report.narrative,
        Narrative::Checked {
            text: honest.into(),
            model: "fake-model".into()
        },
        "{text}"
    );
    assert!(text.contains("65,2"), "the report is German: {text}");

    let cases = [
        // A decimal comma is one number: 65,1 is not 65 and 1.
        ("lunch", "Pizza liegt mit 65,1 % vorn.", "invented_number"),
        // A sign flip.
        ("lunch", "Sushi liegt bei -34,8 %.", "invented_number"),
        // Numbers in words and in other digits.
        (
            "lunch",
            "Drei von vier Befragten wollen Pizza.",
            "invented_number",
        ),
        ("lunch", "Pizza liegt bei ٧١ %.", "invented_number"),
        // A number laundered through a two-character quote of a member's answer.
        (
            "lunch",
            "Pizza erhielt „71“ % der Stimmen.",
            "invented_number",
        ),
        // An ellipsis that drops "niemals".
        (
            "lunch",
            "Ein Mitglied schrieb „ich würde … wieder Pizza bestellen“.",
            "altered_quote",
        ),
        // The right number on the wrong option.
        (
            "lunch",
            "Sushi liegt mit 65,2 % vorn.",
            "misattributed_number",
        ),
        // A majority the report does not support (Lisbon 11 of 20, interval far below 50%).
        ("split", "Eine Mehrheit will Lisbon.", "majority"),
        // A segment difference the report does not state.
        (
            "lunch",
            "Neue Mitglieder bevorzugen Sushi stärker als alle anderen.",
            "segment_claim",
        ),
        // Engagement as success, next to an unrelated "not".
        (
            "lunch",
            "Not everyone voted, but engagement was strong.",
            "engagement",
        ),
    ];
    // Every case is tried before failing, so a failure lists all that slipped through.
    let mut slipped = Vec::new();
    for (survey, reply, code) in cases {
        fake.set(Reply::Text(reply.into()));
        let before = t.app.service.narrator().expect("configured").counts();
        let (report, text) = insights(&t, survey).await;
        let after = t.app.service.narrator().expect("configured").counts();
        let counted =
            after.get(code).copied().unwrap_or(0) == before.get(code).copied().unwrap_or(0) + 1;
        if !matches!(&report.narrative, Narrative::Dropped { .. }) || !counted {
            slipped.push(format!("{code}: {reply} -> {:?}", report.narrative));
            continue;
        }
        assert!(!text.contains(reply), "{text}");
        assert!(!text.contains("Sprachmodell"), "{text}");
    }
    assert!(slipped.is_empty(), "{}", slipped.join("\n"));
    let counts = t.app.service.narrator().expect("configured").counts();
    let expected: std::collections::BTreeMap<&str, u64> = [
        ("shown", 1),
        ("invented_number", 5),
        ("altered_quote", 1),
        ("misattributed_number", 1),
        ("majority", 1),
        ("segment_claim", 1),
        ("engagement", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);

    // The reason names the number and what it was attached to.
    fake.set(Reply::Text("Sushi liegt mit 65,2 % vorn.".into()));
    let (report, _) = insights(&t, "lunch").await;
    assert_eq!(
        report.narrative,
        Narrative::Dropped {
            reason: "the number 65,2 % is in the report, but not for Sushi".into()
        }
    );
}

#[tokio::test]
async fn numbers_on_the_wrong_thing_fractions_single_quotes_and_winner_synonyms_are_dropped() {
    let fake = FakeOpenAi::start(Reply::Status(500)).await;
    let t = answered(&with_narrative(&fake, 10_000)).await;

    // Honest text with apostrophes, a hyphenated word and the robust leader named as leading.
    let honest = "Pizza leads with 66.7% of 45 respondents; members' reasons don't \
                  change that, and it's a well-supported lead over Sushi at 33.3%.";
    fake.set(Reply::Text(honest.into()));
    let (report, text) = insights(&t, "lunch").await;
    assert_eq!(
        report.narrative,
        Narrative::Checked {
            text: honest.into(),
            model: "fake-model".into()
        },
        "{text}"
    );

    let cases = [
        // n (45 respondents) used as the count of one option.
        (
            "lunch",
            "45 respondents chose Sushi.",
            "misattributed_number",
        ),
        // A hyphenated fraction (90%) and a Roman numeral.
        (
            "lunch",
            "Nine-tenths of respondents chose Pizza.",
            "invented_number",
        ),
        (
            "lunch",
            "LXVII percent of respondents chose Pizza.",
            "invented_number",
        ),
        // A made-up quote in single quotes.
        (
            "lunch",
            "One member wrote 'Sushi is the best lunch we ever had'.",
            "altered_quote",
        ),
        // Winner synonyms without a robust winner, and the wrong option as winner.
        ("split", "Berlin topped the poll.", "winner"),
        ("split", "Lisbon came first.", "winner"),
        ("lunch", "Sushi came out on top.", "winner"),
        // A majority synonym the report does not support.
        ("split", "Nearly everyone chose Lisbon.", "majority"),
    ];
    let mut slipped = Vec::new();
    for (survey, reply, code) in cases {
        fake.set(Reply::Text(reply.into()));
        let before = t.app.service.narrator().expect("configured").counts();
        let (report, text) = insights(&t, survey).await;
        let after = t.app.service.narrator().expect("configured").counts();
        let counted =
            after.get(code).copied().unwrap_or(0) == before.get(code).copied().unwrap_or(0) + 1;
        if !matches!(&report.narrative, Narrative::Dropped { .. }) || !counted {
            slipped.push(format!("{code}: {reply} -> {:?}", report.narrative));
            continue;
        }
        // The deterministic summary is shown instead, with no trace of the rejected text.
        assert!(!text.contains(reply), "{text}");
        assert!(!text.contains("language model"), "{text}");
    }
    assert!(slipped.is_empty(), "{}", slipped.join("\n"));
}

/// A 429 (rate limited) and an endpoint nobody listens on fall back to the deterministic
/// summary, with the reason on the report.
#[tokio::test]
async fn a_rate_limited_or_unreachable_endpoint_falls_back_with_the_reason() {
    let fake = FakeOpenAi::start(Reply::Status(429)).await;
    let t = answered(&with_narrative(&fake, 5_000)).await;
    let (report, text) = insights(&t, "lunch").await;
    let Narrative::Dropped { reason } = &report.narrative else {
        panic!("a 429 must not yield a narrative: {:?}", report.narrative);
    };
    assert!(reason.contains("429"), "{reason}");
    assert!(text.contains("Pizza leads with 66.7%"), "{text}");
    assert!(!text.contains("language model"), "{text}");

    // A port that was just freed: connection refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let section = format!(
        "\n[narrative]\nbase_url = \"http://127.0.0.1:{closed}/v1\"\nmodel = \"fake-model\"\ntimeout_ms = 5000\nmax_chars = 1200\n"
    );
    let t = answered(&format!("{SURVEYS}{section}")).await;
    let (report, text) = insights(&t, "lunch").await;
    assert!(
        matches!(report.narrative, Narrative::Dropped { .. }),
        "{:?}",
        report.narrative
    );
    assert!(text.contains("Pizza leads with 66.7%"), "{text}");
    assert!(!text.contains("language model"), "{text}");
}

/// The reason a narrative was dropped reaches the log (stderr), not only the report.
#[tokio::test]
async fn the_drop_reason_is_logged() {
    let fake = FakeOpenAi::start(Reply::Text(
        "Pizza leads with 71% of 45 respondents.".into(),
    ))
    .await;
    let config = with_narrative(&fake, 10_000);
    let t = answered(&config).await;
    let (_, stderr) = cli(&t, &config, &["insights", "lunch"]).await;
    let line = stderr
        .lines()
        .find(|l| l.contains("narrative dropped"))
        .unwrap_or_else(|| panic!("no drop logged: {stderr}"));
    assert!(
        line.contains("invented_number") && line.contains("71%"),
        "{line}"
    );
}

/// The model is sent what the report shows and nothing below `segments.min_size`: here a
/// segment ("power") of 40 of whom only 2 answered the NPS question (both 0), and a segment
/// ("most") that leaves only 3 people outside it.
#[tokio::test]
async fn the_model_never_sees_a_segment_cell_under_the_minimum_size() {
    const PULSE: &str = r#"
[[surveys]]
id = "pulse"
title = "Pricing pulse"
[[surveys.questions]]
id = "plan"
type = "single"
text = "Which plan would you pick?"
options = ["Free", "Pro"]
[[surveys.questions]]
id = "nps"
type = "nps"
text = "Would you recommend us?"
optional = true
"#;
    let mut csv = String::from("respondent,submitted_at,segment,plan,nps\n");
    for i in 0..80 {
        let power = i < 40;
        let segment = match (power, i < 77) {
            (true, _) => "power|most",
            (false, true) => "most",
            (false, false) => "",
        };
        let plan = if power == (i % 4 != 0) { "pro" } else { "free" };
        let nps = match (power, i) {
            (true, 0 | 1) => "0",
            (true, _) => "",
            (false, _) => "10",
        };
        csv.push_str(&format!(
            "m{i:02},2026-10-01T09:{:02}:00Z,{segment},{plan},{nps}\n",
            i % 60
        ));
    }
    let fake = FakeOpenAi::start(Reply::Text("Pro leads.".into())).await;
    let config = format!(
        "[team]\nconsole = [\"pm\"]\n{PULSE}{}",
        fake.section(10_000)
    );
    let t = spawn_app_with(&config).await;
    let mut cfg =
        canvass::config::Config::parse(PULSE, std::path::Path::new("pulse.toml")).expect("config");
    canvass::transfer::import(
        &t.app.store,
        &cfg.surveys.remove(0),
        csv.as_bytes(),
        Default::default(),
        t0(),
    )
    .await
    .expect("imports");
    for cmd in ["/insights pulse", "/insights pulse power"] {
        let text = t.text(&t.say("pm", dm("pm"), cmd).await);
        assert!(text.contains("Pricing pulse"), "{text}");
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "one narrative per report");
    for raw in &requests {
        let body = String::from_utf8_lossy(raw);
        // The 2-answer NPS cell of "power" (NPS -100) and the segment "most" (3 outside it).
        for leak in ["-100", "most (n", "(n = 2)", "from 2 respondents"] {
            assert!(!body.contains(leak), "{leak:?} sent to the model: {body}");
        }
    }
    // The segment that is shown is sent; the power report says its NPS is withheld.
    assert!(String::from_utf8_lossy(&requests[0]).contains("power (n = 40)"));
    let power = String::from_utf8_lossy(&requests[1]);
    assert!(!power.contains("2 detractors"), "{power}");
}
