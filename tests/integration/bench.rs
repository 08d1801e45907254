//! The benchmark harness at smoke size, so it never rots; full sizes run by hand (BENCHMARKS.md).

#[tokio::test]
async fn every_workload_runs_at_smoke_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("i")).unwrap();
    std::fs::create_dir_all(dir.path().join("d")).unwrap();
    let i = canvass::bench::ingest(&dir.path().join("i"), 10, 2, true)
        .await
        .unwrap();
    assert_eq!(i.answers, 20, "every tap acknowledged");
    assert_eq!(i.set_based_taps, 20, "every tap took the set-based path");
    assert!(i.per_second > 0.0 && i.raw_per_second > 0.0 && i.p99_ms >= i.p50_ms);
    let (secs, answers) = canvass::bench::insight_run(1_000).unwrap();
    assert!(secs >= 0.0 && answers > 500, "{answers}");
    let (_, reports) = canvass::bench::digest_run(&dir.path().join("d"), 2, 600)
        .await
        .unwrap();
    assert_eq!(reports, 2);
}

#[tokio::test]
async fn the_telegram_end_to_end_workload_runs_at_smoke_size() {
    let r = crate::support::e2e::telegram_taps(30).await;
    assert_eq!(r.stored, 30, "every confirmed tap is stored");
    assert!(r.per_second > 0.0);
    let ceiling = crate::support::e2e::fake_ceiling(30).await;
    assert_eq!(
        ceiling.stored, 30,
        "the bare client confirmed every tap at the fake"
    );
}

/// `canvass bench --smoke --only e2e`: the real binary generates a file, imports it (the
/// harness checks the import reports every generated answer), and runs insights and the
/// digest as child processes, one table row each.
#[test]
fn the_end_to_end_workloads_run_the_real_binary_at_smoke_size() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_canvass"))
        .args(["bench", "--smoke", "--only", "e2e"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "| import | ",
        "| insights --format text | ",
        "| insights --format json | ",
        "| digest --dry-run | ",
        "| raw SQLite reference",
    ] {
        assert!(stdout.contains(row), "no {row:?} row in:\n{stdout}");
    }
    assert!(stdout.contains("answers/s"), "{stdout}");
}
