//! The benchmark harness at smoke size, so it never rots; full sizes run by hand (BENCHMARKS.md).

#[tokio::test]
async fn every_workload_runs_at_smoke_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("i")).unwrap();
    std::fs::create_dir_all(dir.path().join("d")).unwrap();
    let i = canvass::bench::ingest(&dir.path().join("i"), 10, 2)
        .await
        .unwrap();
    assert_eq!(i.answers, 20, "every tap acknowledged");
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
}
