//! `canvass bench`: ingestion, insight and digest workloads, and the end-to-end commands users
//! run (import, insights, digest) as child processes, printed as Markdown tables (see
//! BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// One `canvass bench` workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Workload {
    Ingest,
    Insight,
    Digest,
    /// `canvass import`, `insights` (text and JSON) and `digest --dry-run`, each a child
    /// process of the real binary, with wall time and peak memory.
    E2e,
}

/// What the end-to-end workloads run: which binary, at which sizes.
pub(crate) struct E2e {
    pub(crate) binary: Option<PathBuf>,
    pub(crate) sizes: Vec<usize>,
    /// Keep each size's files (CSV, bot.toml, database) here instead of deleting them, to
    /// profile a command on them afterwards.
    pub(crate) keep: Option<PathBuf>,
}

/// Runs every workload (or only `only`) and prints a Markdown table; with `insight_only`, one
/// insight size in this process, for the parent to measure its peak memory.
pub(super) async fn bench(
    smoke: bool,
    insight_only: Option<usize>,
    only: Option<Workload>,
    e2e: E2e,
) -> anyhow::Result<ExitCode> {
    let run = |w: Workload| only.is_none_or(|o| o == w);
    use canvass::bench;
    if let Some(n) = insight_only {
        let (secs, answers) = bench::insight_run(n)?;
        out!("{secs},{answers},{}", bench::peak_mib().unwrap_or(0.0));
        return Ok(ExitCode::SUCCESS);
    }
    let (members, taps, sizes, surveys, digest_answers): (usize, usize, Vec<usize>, usize, usize) =
        if smoke {
            (20, 2, vec![1_000], 3, 3_000)
        } else {
            (2_000, 2, vec![10_000, 100_000, 1_000_000], 50, 2_000_000)
        };
    out!("| workload | size | result |\n|---|---|---|");
    let dir = tempfile_dir()?;
    if run(Workload::Ingest) {
        // The writer's set-based path for taps, then the per-event path it replaced, each
        // against the raw insert measured in its own run.
        for (set_based, name, sub) in [
            (
                true,
                "ingestion (Bot::handle, group commit, committed before the ack)",
                "ingest",
            ),
            (
                false,
                "ingestion, per-event writer path (before issue 21)",
                "ingest-per-event",
            ),
        ] {
            std::fs::create_dir_all(dir.join(sub))?;
            let i = bench::ingest(&dir.join(sub), members, taps, set_based).await?;
            out!(
                "| {name} | {} members x {} taps = {} answers | {:.0} answers/s; ack p50 {:.1} ms, p99 {:.1} ms; raw batched insert {:.0} rows/s; ratio {:.1}%; {} taps set-based |",
                i.members,
                taps,
                i.answers,
                i.per_second,
                i.p50_ms,
                i.p99_ms,
                i.raw_per_second,
                100.0 * i.per_second / i.raw_per_second.max(1e-9),
                i.set_based_taps
            );
        }
    }
    let exe = std::env::current_exe()?;
    for n in sizes.into_iter().filter(|_| run(Workload::Insight)) {
        let out = std::process::Command::new(&exe)
            .args(["bench", "--insight-only", &n.to_string()])
            .output()?;
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let f: Vec<&str> = line.split(',').collect();
        if let [secs, answers, peak] = f.as_slice() {
            out!(
                "| insight report (8 question types, open text) | {answers} answers | {:.3} s; peak memory {:.1} MiB |",
                secs.parse::<f64>().unwrap_or(0.0),
                peak.parse::<f64>().unwrap_or(0.0)
            );
        } else {
            out!(
                "| insight report | {n} answers | failed: {} |",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    if run(Workload::Digest) {
        let (secs, reports) =
            bench::digest_run(&dir.join("digest"), surveys, digest_answers).await?;
        out!(
            "| digest | {surveys} surveys, {digest_answers} answers | {secs:.2} s for {reports} reports |"
        );
    }
    if run(Workload::E2e) {
        let sizes = match (smoke, e2e.sizes.is_empty()) {
            (_, false) => e2e.sizes.clone(),
            (true, true) => vec![2_000],
            (false, true) => vec![10_000, 100_000, 1_000_000],
        };
        let exe = match &e2e.binary {
            Some(b) => b.clone(),
            None => std::env::current_exe()?,
        };
        end_to_end(
            &exe,
            e2e.keep.as_deref().unwrap_or(&dir),
            &sizes,
            e2e.keep.is_some(),
        )
        .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

/// The memory budget of a small VPS the growth estimate is against.
const BUDGET_MIB: f64 = 256.0;

/// One child process: wall time, and peak resident memory when `/usr/bin/time` is there.
struct Measured {
    secs: f64,
    peak_mib: Option<f64>,
    stdout: String,
}

/// Runs `exe args` in `dir` and measures it. Peak memory comes from GNU time's `%M` (the
/// child's own maximum resident set, from `wait4`), which needs no unsafe code here; without
/// it only the wall time is measured.
fn measure(exe: &Path, dir: &Path, args: &[&str], keep_stdout: bool) -> anyhow::Result<Measured> {
    let time = Path::new("/usr/bin/time");
    let rss_file = dir.join("time.out");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args)
        .current_dir(dir)
        .stdout(if keep_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output()?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        anyhow::bail!(
            "`canvass {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // GNU time writes "Command exited with ..." first when the child fails; the number is last.
    let peak_mib = std::fs::read_to_string(&rss_file).ok().and_then(|s| {
        let kib: f64 = s.lines().last()?.trim().parse().ok()?;
        Some(kib / 1024.0)
    });
    let _ = std::fs::remove_file(&rss_file);
    Ok(Measured {
        secs,
        peak_mib,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// The end-to-end workloads at each size: a fresh database, a generated CSV, then `import`,
/// `insights --format text`, `insights --format json` and `digest --dry-run` as child
/// processes of `exe`. Prints one table row per command and size, the growth per answer, the
/// largest survey estimated to fit in `BUDGET_MIB`, and the raw SQLite reference.
async fn end_to_end(exe: &Path, dir: &Path, sizes: &[usize], keep: bool) -> anyhow::Result<()> {
    let commands: [(&str, &[&str]); 4] = [
        ("import", &[]),
        (
            "insights --format text",
            &["insights", "e2e", "--format", "text"],
        ),
        (
            "insights --format json",
            &["insights", "e2e", "--format", "json"],
        ),
        ("digest --dry-run", &["digest", "--dry-run"]),
    ];
    out!(
        "\n| end to end: `canvass …` as a child process | answers | wall time | peak RSS | per answer | growth from the previous size (answers, time, memory) |\n|---|---|---|---|---|---|"
    );
    // (command, answers, seconds, peak MiB) for the growth figures.
    let mut seen: Vec<(usize, usize, f64, Option<f64>)> = Vec::new();
    for &size in sizes {
        let d = dir.join(format!("e2e-{size}"));
        std::fs::create_dir_all(&d)?;
        std::fs::write(
            d.join("bot.toml"),
            "[team]\nconsole = [\"bench-pm\"]\n[storage]\ndatabase = \"bench.db\"\n",
        )?;
        std::fs::write(d.join("survey.toml"), canvass::bench::E2E_SURVEY)?;
        let file = std::fs::File::create(d.join("responses.csv"))?;
        let (answers, rows) =
            canvass::bench::e2e_csv(size, chrono::Utc::now(), std::io::BufWriter::new(file))?;
        for (k, (name, args)) in commands.iter().enumerate() {
            let mut full = vec!["--config", "bot.toml"];
            if k == 0 {
                full.extend([
                    "import",
                    "--survey",
                    "survey.toml",
                    "--responses",
                    "responses.csv",
                ]);
            } else {
                full.extend(args.iter());
            }
            let m = measure(exe, &d, &full, k == 0)?;
            if k == 0 && !m.stdout.contains(&format!("answers: {answers}")) {
                anyhow::bail!(
                    "the import of {answers} generated answers ({rows} rows) reported otherwise:\n{}",
                    m.stdout
                );
            }
            let per = |v: f64| v / answers.max(1) as f64;
            let growth = seen
                .iter()
                .rev()
                .find(|s| s.0 == k)
                .map(|&(_, n, secs, peak)| {
                    let mem = match (m.peak_mib, peak) {
                        (Some(a), Some(b)) => format!("{:.1}x", a / b.max(1e-9)),
                        _ => "n/a".into(),
                    };
                    format!(
                        "{:.1}x, {:.1}x, {mem}",
                        answers as f64 / n.max(1) as f64,
                        m.secs / secs.max(1e-9)
                    )
                })
                .unwrap_or_else(|| "-".into());
            let (peak, per_mem) = match m.peak_mib {
                Some(p) => (
                    format!("{p:.1} MiB"),
                    format!(", {:.2} KiB", per(p * 1024.0)),
                ),
                None => ("n/a (no /usr/bin/time)".into(), String::new()),
            };
            let rate = if k == 0 {
                format!(" ({:.0} answers/s)", answers as f64 / m.secs.max(1e-9))
            } else {
                String::new()
            };
            out!(
                "| {name} | {answers} ({rows} rows) | {:.2} s{rate} | {peak} | {:.2} µs{per_mem} | {growth} |",
                m.secs,
                per(m.secs * 1e6),
            );
            seen.push((k, answers, m.secs, m.peak_mib));
        }
        if !keep {
            let _ = std::fs::remove_dir_all(&d);
        }
    }
    // The largest survey that fits in the budget, from the two largest sizes measured: peak
    // memory taken as linear in the answers between and beyond them.
    for (k, (name, _)) in commands.iter().enumerate() {
        let pts: Vec<(f64, f64)> = seen
            .iter()
            .filter(|s| s.0 == k)
            .filter_map(|s| Some((s.1 as f64, s.3?)))
            .collect();
        if let [.., (n1, m1), (n2, m2)] = pts.as_slice() {
            let slope = (m2 - m1) / (n2 - n1).max(1.0);
            let fits = if slope <= 0.0 {
                "no growth measured".to_string()
            } else {
                format!(
                    "about {:.0} answers",
                    (n2 + (BUDGET_MIB - m2) / slope).max(0.0)
                )
            };
            out!(
                "| {name}: largest survey in {BUDGET_MIB:.0} MiB (linear from the two largest sizes) | {fits} | | | {:.2} KiB per extra answer | |",
                slope * 1024.0
            );
        }
    }
    let largest = sizes.iter().copied().max().unwrap_or(0).min(200_000);
    let raw_dir = dir.join("e2e-raw");
    std::fs::create_dir_all(&raw_dir)?;
    let raw = canvass::bench::raw_reference(&raw_dir, largest).await?;
    out!(
        "| raw SQLite reference: plain multi-row INSERTs, one transaction (a respondent and an answer per row) | {largest} | {raw:.0} rows/s | | | |"
    );
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("canvass-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("ingest"))?;
    std::fs::create_dir_all(dir.join("digest"))?;
    Ok(dir)
}
