//! `canvass bench`: ingestion, insight and digest workloads, printed as a Markdown table
//! (see BENCHMARKS.md).

use std::path::PathBuf;
use std::process::ExitCode;

/// One `canvass bench` workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Workload {
    Ingest,
    Insight,
    Digest,
}

/// Runs every workload (or only `only`) and prints a Markdown table; with `insight_only`, one
/// insight size in this process, for the parent to measure its peak memory.
pub(super) async fn bench(
    smoke: bool,
    insight_only: Option<usize>,
    only: Option<Workload>,
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
        let i = bench::ingest(&dir.join("ingest"), members, taps).await?;
        out!(
            "| ingestion (Bot::handle, group commit, committed before the ack) | {} members x {} taps = {} answers | {:.0} answers/s; ack p50 {:.1} ms, p99 {:.1} ms; raw batched insert {:.0} rows/s; ratio {:.1}% |",
            i.members,
            taps,
            i.answers,
            i.per_second,
            i.p50_ms,
            i.p99_ms,
            i.raw_per_second,
            100.0 * i.per_second / i.raw_per_second.max(1e-9)
        );
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
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("canvass-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("ingest"))?;
    std::fs::create_dir_all(dir.join("digest"))?;
    Ok(dir)
}
