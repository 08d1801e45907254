//! `canvass bench`: measured numbers for answer ingestion (against the raw SQLite insert limit),
//! insight generation at growing sizes with peak memory, and the digest at scale.

use crate::app::{App, Options};
use crate::config::Config;
use crate::core::event::{Actor, Body, Chat, ChatKind, Inbound, Outbound, Platform};
use crate::insight;
use chrono::{TimeZone, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Bot(#[from] crate::service::ServiceError),
    #[error("benchmark setup: {0}")]
    Setup(String),
}

const BENCH_CONFIG: &str = r#"
[team]
console = ["bench-pm"]
[[surveys]]
id = "bench"
title = "Benchmark poll"
[[surveys.questions]]
id = "pick"
type = "single"
text = "Which one?"
options = ["A", "B", "C", "D"]
"#;

/// Ingestion result: answers per second and acknowledgement latency, against the raw limit.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub members: usize,
    pub answers: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub raw_per_second: f64,
    /// Taps the writer applied set-based (`service/taps.rs`); 0 on the per-event path.
    pub set_based_taps: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn bench_app(dir: &Path) -> Result<App, BenchError> {
    // Beside the database, so the anonymity key file is made there.
    let cfg = Config::parse(BENCH_CONFIG, &dir.join("bench.toml"))
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let prompts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("prompts");
    Ok(App::start(
        cfg,
        Options {
            database: Some(dir.join("bench.db").display().to_string()),
            prompts: Some(prompts),
            ..Options::default()
        },
    )
    .await?)
}

fn event(id: String, user: &str, body: Body) -> Inbound {
    Inbound {
        event_id: id,
        actor: Actor::new(Platform::Console, user),
        chat: Chat {
            id: "bench-group".into(),
            kind: ChatKind::Group,
            title: Some("bench".into()),
        },
        body,
    }
}

/// `members` concurrent members each tap `taps` times (answer, then change) through
/// `Bot::handle`, the path every adapter uses; each tap is committed before it returns.
/// `set_based` false applies every tap on the writer's per-event path (as before issue 21).
pub async fn ingest(
    dir: &Path,
    members: usize,
    taps: usize,
    set_based: bool,
) -> Result<Ingest, BenchError> {
    let app = bench_app(dir).await?;
    app.service.set_set_based_taps(set_based);
    let posted = app
        .service
        .handle(&event(
            "bench:post".into(),
            "bench-pm",
            Body::Text("/post bench".into()),
        ))
        .await?;
    let payloads: Vec<String> = posted
        .replies()
        .iter()
        .find_map(|o| match o {
            Outbound::PostPoll { keyboard, .. } => Some(
                keyboard
                    .buttons()
                    .filter_map(|b| match &b.action {
                        crate::core::event::ButtonAction::Payload(p) => Some(p.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        })
        .ok_or_else(|| BenchError::Setup("the poll was not posted".into()))?;
    let payloads = Arc::new(payloads);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(members);
    for m in 0..members {
        let bot = app.service.clone();
        let payloads = payloads.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(taps);
            for t in 0..taps {
                let p = &payloads[(m + t) % payloads.len()];
                let ev = event(
                    format!("bench:{m}:{t}"),
                    &format!("member{m}"),
                    Body::Button(p.clone()),
                );
                let s = Instant::now();
                let ok = bot.handle(&ev).await.is_ok();
                if ok {
                    lat.push(s.elapsed().as_secs_f64() * 1000.0);
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap_or_default());
    }
    let seconds = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let answers = lat.len();
    // Reference: the same rows by a plain batched insert into the same schema.
    let raw = raw_insert(&app, answers).await?;
    app.store.close().await;
    Ok(Ingest {
        members,
        answers,
        seconds,
        per_second: answers as f64 / seconds.max(1e-9),
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        raw_per_second: raw,
        set_based_taps: app.service.set_based_taps(),
    })
}

async fn raw_insert(app: &App, rows: usize) -> Result<f64, BenchError> {
    let key = app
        .store
        .survey_by_slug("bench")
        .await?
        .map(|s| s.key)
        .ok_or_else(|| BenchError::Setup("no bench survey".into()))?;
    let start = Instant::now();
    app.store.bench_raw_insert(key, rows).await?;
    Ok(rows as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MiB.
pub fn peak_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Insight generation for one survey of about `answers` answers (8 questions of every type,
/// open text included). Returns (seconds, respondents).
pub fn insight_run(answers: usize) -> Result<(f64, usize), BenchError> {
    let survey = insight::demo::survey().ok_or_else(|| BenchError::Setup("demo survey".into()))?;
    let t0 = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_default();
    // About 7.5 answers per respondent in the demo data.
    let respondents = (answers * 2 / 15).max(1);
    let rs = insight::demo::responses(&survey, respondents, t0);
    let start = Instant::now();
    let report = insight::analyse(&insight::Input {
        survey: &survey,
        status: crate::core::survey::Status::Closed,
        responses: &rs,
        min_segment: 10,
        segment: None,
        previous: None,
        members_reached: None,
    });
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(&report);
    Ok((secs, rs.iter().map(|r| r.answers.len()).sum()))
}

/// The digest over `surveys` surveys with `answers` answers in total, from the database.
pub async fn digest_run(
    dir: &Path,
    surveys: usize,
    answers: usize,
) -> Result<(f64, usize), BenchError> {
    let app = bench_app(dir).await?;
    let per = (answers / surveys.max(1)).max(1);
    let seeded = Utc::now();
    app.store.bench_seed_surveys(surveys, per, seeded).await?;
    let start = Instant::now();
    // A period holding every seeded answer (they start three days before `seeded`, one
    // respondent a minute), so every survey gets its section whatever the weekday.
    let cfg = crate::config::DigestConfig {
        schedule: "mon 09:00".into(),
        timezone: "UTC".into(),
        telegram_chats: Vec::new(),
        discord_channels: Vec::new(),
        surveys: Vec::new(),
    };
    let window = crate::digest::compose::Window {
        period: "bench",
        start: seeded - chrono::Duration::days(4),
        slot: seeded + chrono::Duration::days(3650),
        late: false,
        // As every digest after the first: compared with the view as of the last one, which
        // is a second read of each survey.
        since: Some(seeded - chrono::Duration::days(1)),
        cadence: Default::default(),
    };
    let brief =
        crate::digest::compose::compose(&app.store.reader(), &cfg, 10, window, &|s| s).await?;
    let secs = start.elapsed().as_secs_f64();
    let n = brief.reports.len();
    app.store.close().await;
    Ok((secs, n))
}

/// The survey of the end-to-end workloads (`canvass bench --only e2e`): all eight question
/// types, in the `[[surveys]]` schema `canvass import` reads.
pub const E2E_SURVEY: &str = r#"
[[surveys]]
id = "e2e"
title = "Product feedback (benchmark)"

[[surveys.questions]]
id = "feature"
type = "single"
text = "Which should we build next?"
options = [
  { id = "dark", label = "Dark mode" },
  { id = "offline", label = "Offline sync" },
  { id = "csv", label = "CSV export" },
  { id = "sso", label = "Single sign-on" },
  { id = "api", label = "Public API" },
  { id = "mobile", label = "Mobile app" },
]

[[surveys.questions]]
id = "tools"
type = "multi"
text = "Which tools do you use?"
options = [
  { id = "slack", label = "Slack" },
  { id = "discord", label = "Discord" },
  { id = "telegram", label = "Telegram" },
  { id = "teams", label = "Teams" },
]
max_choices = 3

[[surveys.questions]]
id = "ease"
type = "rating"
text = "How easy is setup?"
scale = 5
low_label = "Hard"
high_label = "Easy"
optional = true

[[surveys.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"

[[surveys.questions]]
id = "rank"
type = "ranking"
text = "Rank these"
options = [
  { id = "speed", label = "Speed" },
  { id = "offline", label = "Offline editing" },
  { id = "sso", label = "Single sign-on" },
  { id = "api", label = "Public API" },
]
top_k = 3

[[surveys.questions]]
id = "pairs"
type = "pairwise"
text = "Which matters more?"
options = [
  { id = "speed", label = "Speed" },
  { id = "price", label = "Price" },
  { id = "support", label = "Support" },
]
pairs_per_member = 2

[[surveys.questions]]
id = "tagline"
type = "message_test"
text = "Which line speaks to you?"
options = [
  { id = "seconds", label = "Ship surveys in seconds" },
  { id = "know", label = "Know what your community wants" },
]
min_per_variant = 50

[[surveys.questions]]
id = "wish"
type = "open_text"
text = "What would you change?"
max_chars = 500
optional = true
"#;

/// A small deterministic generator (a 64-bit LCG), so every run writes the same file.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }

    /// Index `i` with probability proportional to `weights[i]`.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    }
}

const OPENERS: [&str; 10] = [
    "Please",
    "Honestly,",
    "I wish you would",
    "It would help a lot to",
    "Our team needs you to",
    "Could you",
    "Top request:",
    "Not a big deal, but",
    "Mainly:",
    "After two months of daily use,",
];
const WANTS: [&str; 14] = [
    "add dark mode for late sessions",
    "fix offline sync, it fails on the train",
    "let us export to CSV for the monthly report",
    "support single sign-on with our provider",
    "open a public API so we can automate reminders",
    "make the mobile app load faster",
    "lower the price for small teams",
    "answer support tickets sooner",
    "show results while the poll is open",
    "translate the bot into Portuguese",
    "let members change their vote after closing",
    "group answers by role in the report",
    "remind people who did not answer yet",
    "keep the charts readable on phones",
];
const ENDINGS: [&str; 9] = [
    "",
    " thanks!",
    " everything else is great.",
    " it is the one thing that keeps us from paying.",
    " we talk about it every week.",
    " (our admins asked twice)",
    " otherwise we will look elsewhere.",
    " same as last quarter.",
    " please!",
];

/// Writes the end-to-end CSV for `E2E_SURVEY` with about `answers` answers (rows of about
/// seven answers, submitted over the five days before `now`, in time order) and returns the
/// number of answers written and of rows. Realistic shape: skewed options that differ by
/// segment (plan and region, some rows without any), optional questions left empty, one row
/// in fifty a respondent's second submission, and open text from tens of thousands of
/// distinct phrasings, a few repeated word for word.
pub fn e2e_csv(
    answers: usize,
    now: chrono::DateTime<Utc>,
    out: impl std::io::Write,
) -> Result<(usize, usize), BenchError> {
    let err = |e: csv::Error| BenchError::Setup(format!("writing the benchmark CSV: {e}"));
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "respondent",
        "submitted_at",
        "segment",
        "feature",
        "tools",
        "ease",
        "nps",
        "rank",
        "pairs",
        "tagline",
        "wish",
    ])
    .map_err(err)?;
    let mut rng = Rng(0x5eed);
    let rows_wanted = (answers / 7).max(1);
    let span_ms = 5 * 86_400_000_i64;
    let start =
        now - chrono::Duration::milliseconds(span_ms + now.timestamp_subsec_millis() as i64);
    let (mut written, mut rows) = (0usize, 0usize);
    let plans = ["Free plan", "Pro plan", "Team plan"];
    let regions = ["EU", "US", "APAC", "LATAM"];
    let features = ["dark", "offline", "csv", "sso", "api", "mobile"];
    let tools = ["slack", "discord", "telegram", "teams"];
    let ranked = ["speed", "offline", "sso", "api"];
    let pair_opts = ["speed", "price", "support"];
    while written < answers {
        let i = rows;
        // One row in fifty is an earlier respondent answering again (the later one wins).
        let who = if i > 100 && rng.below(50) == 0 {
            rng.below(i as u64) as usize
        } else {
            i
        };
        // Whole seconds, never past `now` (rows past the estimate bunch up at the end).
        let offset = (span_ms * i as i64 / rows_wanted as i64).min(span_ms - 60_000) / 1000;
        let at = start + chrono::Duration::seconds(offset);
        let plan = rng.weighted(&[60, 30, 10]);
        let region = rng.weighted(&[45, 35, 15, 5]);
        let segment = if rng.below(20) == 0 {
            String::new()
        } else {
            format!("{}|{}", plans[plan], regions[region])
        };
        // Paying plans lean to SSO and the API; free users to dark mode and offline sync.
        let feature = if plan == 0 {
            rng.weighted(&[40, 30, 12, 3, 5, 10])
        } else {
            rng.weighted(&[10, 15, 10, 35, 25, 5])
        };
        let mut used: Vec<&str> = Vec::new();
        for (k, t) in tools.iter().enumerate() {
            if rng.below(100) < [55, 45, 30, 15][k] && used.len() < 3 {
                used.push(t);
            }
        }
        let ease = if rng.below(10) < 2 {
            String::new()
        } else {
            (1 + rng.weighted(&[5, 10, 25, 40, 20])).to_string()
        };
        let nps = [10, 9, 9, 8, 8, 7, 7, 6, 5, 3, 0, 10][rng.below(12) as usize].to_string();
        let mut order = vec![0usize, 1, 2, 3];
        for k in (1..4).rev() {
            order.swap(k, rng.below(k as u64 + 1) as usize);
        }
        if plan > 0 && rng.below(2) == 0 {
            order.retain(|x| *x != 2);
            order.insert(0, 2);
        }
        let rank: Vec<&str> = order.iter().take(3).map(|k| ranked[*k]).collect();
        let (a, b) = (rng.below(3) as usize, rng.below(3) as usize);
        let pairs = if a == b {
            String::new()
        } else {
            // Price wins more often with free users.
            let (w, l) = if plan == 0 && (a == 1 || b == 1) {
                (1, if a == 1 { b } else { a })
            } else {
                (a, b)
            };
            format!("{}>{}", pair_opts[w], pair_opts[l])
        };
        let tagline = ["seconds", "know"][usize::from(rng.below(5) < 2)];
        let wish = if rng.below(10) < 4 {
            String::new()
        } else if rng.below(10) == 0 {
            // Some answers are the same short text.
            ["Dark mode", "SSO please", "Nothing, it is great", "Cheaper"][rng.below(4) as usize]
                .to_string()
        } else {
            format!(
                "{} {}{} #{}",
                OPENERS[rng.below(10) as usize],
                WANTS[rng.weighted(&[20, 15, 10, 12, 8, 8, 10, 5, 4, 3, 2, 1, 1, 1])],
                ENDINGS[rng.below(9) as usize],
                rng.below(1000)
            )
        };
        let cells = [
            format!("m-{who}"),
            crate::core::import::time(at),
            segment,
            features[feature].to_string(),
            used.join("|"),
            ease,
            nps,
            rank.join(">"),
            pairs,
            tagline.to_string(),
            wish,
        ];
        written += cells[3..].iter().filter(|c| !c.is_empty()).count();
        w.write_record(&cells).map_err(err)?;
        rows += 1;
    }
    w.flush()
        .map_err(|e| BenchError::Setup(format!("writing the benchmark CSV: {e}")))?;
    Ok((written, rows))
}

/// The raw SQLite reference in its own fresh database in `dir`: `rows` answers (a respondent
/// and an answer each) by plain multi-row INSERTs in one transaction, in rows per second.
pub async fn raw_reference(dir: &Path, rows: usize) -> Result<f64, BenchError> {
    let app = bench_app(dir).await?;
    let rate = raw_insert(&app, rows).await?;
    app.store.close().await;
    Ok(rate)
}
