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
pub async fn ingest(dir: &Path, members: usize, taps: usize) -> Result<Ingest, BenchError> {
    let app = bench_app(dir).await?;
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
    // A period holding every seeded answer (they start three days before `seeded`, one a
    // minute), so every survey gets its section whatever the weekday.
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
        since: None,
        cadence: Default::default(),
    };
    let brief =
        crate::digest::compose::compose(&app.store.reader(), &cfg, 10, window, &|s| s).await?;
    let secs = start.elapsed().as_secs_f64();
    let n = brief.reports.len();
    app.store.close().await;
    Ok((secs, n))
}
