//! `segments.min_size` per cell: a segment's answers to one question, a segment report whose
//! complement is small, and the method footers, in every format and through chat and CLI.

use crate::support::*;
use canvass::core::event::Outbound;
use canvass::insight::Report;
use canvass::render::Target;
use canvass::render::report::Format;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const SURVEY: &str = r#"
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

/// 40 "power" members (mostly Pro), of whom only 2 answer the NPS question (both 0); 40
/// others (mostly Free) who all give 10. Every power member and 37 of the others are also in
/// "most", which leaves 3 people outside it.
fn responses() -> String {
    let mut csv = String::from("respondent,submitted_at,segment,plan,nps\n");
    for i in 0..80 {
        let power = i < 40;
        let segment = match (power, i < 77) {
            (true, _) => "power|most",
            (false, true) => "most",
            (false, false) => "",
        };
        let plan = match (power, i % 4 == 0) {
            (true, false) | (false, true) => "pro",
            _ => "free",
        };
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
    csv
}

async fn app_with_answers() -> TestApp {
    let t = spawn_app().await;
    let mut cfg = canvass::config::Config::parse(SURVEY, Path::new("pulse.toml")).unwrap();
    canvass::transfer::import(
        &t.app.store,
        &cfg.surveys.remove(0),
        responses().as_bytes(),
        Default::default(),
        t0(),
    )
    .await
    .expect("imports");
    t
}

async fn report(t: &TestApp, segment: Option<&str>) -> Report {
    let s = t.app.store.survey_by_slug("pulse").await.unwrap().unwrap();
    canvass::reporting::report(&t.app.store, &s, segment, 10, t0())
        .await
        .unwrap()
}

/// Every format a reader can get: chat text for each platform, Markdown, HTML, JSON.
fn every_format(t: &TestApp, r: &Report) -> Vec<String> {
    [
        Format::Chat(Target::Plain),
        Format::Chat(Target::Html),
        Format::Chat(Target::Markdown),
        Format::Markdown,
        Format::Html,
        Format::Json,
    ]
    .into_iter()
    .map(|f| t.app.renderer.report(f, r).expect("renders"))
    .collect()
}

#[tokio::test]
async fn a_segment_cell_of_two_answers_is_absent_from_every_format() {
    let t = app_with_answers().await;

    // The whole survey: "power" is tested on the plan (40 in, 40 out), not on the NPS
    // question, which only 2 of them answered; "most" nowhere (3 outside it).
    let r = report(&t, None).await;
    let json: Value =
        serde_json::from_str(&t.app.renderer.report(Format::Json, &r).unwrap()).expect("json");
    let plan = &json["questions"][0]["segments"];
    assert_eq!(plan.as_array().map(Vec::len), Some(1), "{plan}");
    assert_eq!(
        (&plan[0]["segment"], &plan[0]["n"]),
        (&"power".into(), &40.into())
    );
    assert_eq!(
        json["questions"][1]["segments"],
        serde_json::json!([]),
        "a 2-person cell is neither shown nor tested"
    );
    assert_eq!(json["min_segment"], 10);
    let named: Vec<&Value> = json["questions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|q| q["segments"].as_array().unwrap())
        .map(|f| &f["segment"])
        .collect();
    assert_eq!(named, [&Value::from("power")]);

    // The "power" segment alone: the NPS question is withheld in every format.
    let r = report(&t, Some("power")).await;
    let q = &r.questions[1];
    assert!(q.withheld && q.n == 0 && q.detail.nps().is_none(), "{q:?}");
    let json: Value =
        serde_json::from_str(&t.app.renderer.report(Format::Json, &r).unwrap()).expect("json");
    let nps = &json["questions"][1];
    assert_eq!((&nps["withheld"], &nps["n"]), (&true.into(), &0.into()));
    assert!(nps.get("nps").is_none(), "{nps}");
    assert_eq!(nps["segments"], serde_json::json!([]));
    for out in every_format(&t, &r) {
        assert!(out.contains("Not shown for this segment"), "{out}");
        // The two answers (NPS -100 from 2 detractors) appear nowhere.
        for leak in ["-100", "n = 2", "\"n\": 2", "2 detractors"] {
            assert!(!out.contains(leak), "{leak:?} in:\n{out}");
        }
    }
    // The plan, answered by all 40 of them, is shown.
    assert_eq!(r.questions[0].n, 40);

    // Through chat, too.
    let out = t.say("pm", dm("pm"), "/insights pulse power").await;
    let text = t.text(&out);
    assert!(
        text.contains("Not shown for this segment") && !text.contains("-100"),
        "{text}"
    );
}

#[tokio::test]
async fn a_segment_whose_complement_is_small_is_refused() {
    let t = app_with_answers().await;
    // The full report minus a "most" report would give the 3 others' answers.
    let r = report(&t, Some("most")).await;
    assert_eq!(r.headline.code, "segment_complement_too_small");
    assert!(r.questions.is_empty());
    assert_eq!(
        r.survey.respondents, 80,
        "the segment's size is not revealed"
    );
    for out in every_format(&t, &r) {
        assert!(!out.contains("\"n\": 77") && !out.contains("77"), "{out}");
    }
    let out = t.say("pm", dm("pm"), "/insights pulse most").await;
    let Some(Outbound::Report { report, .. }) = out.first() else {
        panic!("expected a report, got {out:?}");
    };
    assert!(report.questions.is_empty());
    let text = t.text(&out);
    assert!(
        text.contains("Fewer than 10 respondents are outside the segment \"most\""),
        "{text}"
    );
    // A segment that is itself too small is refused as before.
    let out = t.say("pm", dm("pm"), "/insights pulse nobody").await;
    assert!(t.text(&out).contains("fewer than 10 respondents"));
}

#[test]
fn footers_show_the_configured_min_size() {
    let dir = tempfile::tempdir().unwrap();
    // The templates are read from `prompts/` beside bot.toml.
    copy_dir(&prompts(), &dir.path().join("prompts"));
    std::fs::write(dir.path().join("pulse.toml"), SURVEY).unwrap();
    std::fs::write(dir.path().join("pulse.csv"), responses()).unwrap();
    let canvass = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_canvass"))
            .current_dir(dir.path())
            .arg("--database")
            .arg(dir.path().join("answers.db"))
            .args(args)
            .output()
            .expect("runs")
    };
    let out = canvass(&[
        "import",
        "--survey",
        "pulse.toml",
        "--responses",
        "pulse.csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (locale, config_min, want, not) in [
        ("en", None, "groups under 10 are never shown", "under 12"),
        (
            "en",
            Some(12),
            "groups under 12 are never shown",
            "under 10",
        ),
        (
            "de",
            Some(12),
            "Gruppen unter 12 werden nie gezeigt",
            "unter 10",
        ),
        (
            "es",
            Some(12),
            "los grupos de menos de 12 nunca se muestran",
            "menos de 10",
        ),
    ] {
        let mut toml = format!("[team]\nlocale = \"{locale}\"\n");
        if let Some(m) = config_min {
            toml.push_str(&format!("[segments]\nmin_size = {m}\n"));
        }
        std::fs::write(dir.path().join("bot.toml"), toml).unwrap();
        for format in ["markdown", "html", "text"] {
            let out = canvass(&["insights", "pulse", "--format", format]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                text.contains(want),
                "{locale} {format}: {want:?} missing from:\n{text}"
            );
            assert!(
                !text.contains(not),
                "{locale} {format}: {not:?} in:\n{text}"
            );
        }
        let out = canvass(&["insights", "pulse", "--format", "json"]);
        let json: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(json["min_segment"], config_min.unwrap_or(10));
    }
    // With min_size = 12 the CLI refuses "most" (3 outside it) as the chat does.
    std::fs::write(dir.path().join("bot.toml"), "[segments]\nmin_size = 12\n").unwrap();
    let out = canvass(&["insights", "pulse", "--segment", "most", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["headline_code"], "segment_complement_too_small");
    assert_eq!(json["questions"], serde_json::json!([]));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
