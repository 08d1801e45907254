//! The report JSON (docs/report-json.md) is a stable format: the demo survey's reports, over
//! every question type, every sample tier, a segment (with withheld cells) and a change since
//! an earlier report, are compared byte for byte with a committed golden file. Regenerate it
//! with `CANVASS_BLESS=1` only for an intended format change.

use crate::support::prompts;
use canvass::core::survey::Survey;
use canvass::insight::{self, Input, Previous, demo};
use canvass::render::Renderer;
use chrono::{TimeZone, Utc};
use std::path::Path;

fn input<'a>(s: &'a Survey, rs: &'a [insight::Response]) -> Input<'a> {
    Input {
        survey: s,
        status: canvass::core::survey::Status::Closed,
        responses: rs,
        min_segment: 10,
        segment: None,
        previous: None,
        members_reached: Some(rs.len() * 3),
    }
}

fn reports() -> Vec<(String, insight::Report)> {
    let s = demo::survey().expect("demo survey");
    let t0 = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("a time");
    let mut out = Vec::new();
    for n in [240usize, 40, 12, 5, 0] {
        let rs = demo::responses(&s, n, t0);
        out.push((format!("demo {n}"), insight::analyse(&input(&s, &rs))));
    }
    let all = demo::responses(&s, 240, t0);
    let before = insight::analyse(&input(&s, &demo::responses(&s, 60, t0)));
    out.push((
        "demo 240 since 60".into(),
        insight::analyse(&Input {
            previous: Some(Previous {
                label: "last week".into(),
                report: &before,
            }),
            ..input(&s, &all)
        }),
    ));
    for segment in ["persona: customer", "persona: trying it"] {
        out.push((
            format!("demo 240 {segment}"),
            insight::analyse(&Input {
                segment: Some(segment),
                ..input(&s, &all)
            }),
        ));
    }
    out
}

#[test]
fn report_json_matches_the_golden_file() {
    let renderer = Renderer::load(&prompts()).expect("templates load");
    let mut doc = serde_json::Map::new();
    for (name, r) in reports() {
        doc.insert(name, renderer.report_json(&r).expect("renders"));
    }
    let got = serde_json::to_string_pretty(&serde_json::Value::Object(doc)).expect("json") + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report_json_golden.json");
    if std::env::var_os("CANVASS_BLESS").is_some() {
        std::fs::write(&path, &got).expect("writes the golden file");
    }
    let want = std::fs::read_to_string(&path).expect("the golden file");
    if let Some((i, (g, w))) = got
        .lines()
        .zip(want.lines())
        .enumerate()
        .find(|(_, (g, w))| g != w)
    {
        panic!(
            "the report JSON changed at line {} of {}:\n  now:    {g}\n  golden: {w}",
            i + 1,
            path.display()
        );
    }
    assert_eq!(got.len(), want.len(), "the report JSON changed in length");
    for kind in [
        "single",
        "multi",
        "rating",
        "nps",
        "ranking",
        "pairwise",
        "message_test",
        "open_text",
    ] {
        assert!(
            want.contains(&format!("\"type\": \"{kind}\"")),
            "{kind} covered"
        );
    }
}
