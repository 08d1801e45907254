//! Every report format rendered on the committed fixture of 420 respondents, and /export.

use crate::support::*;
use canvass::config::Config;
use canvass::core::event::Outbound;
use canvass::render::Target;
use canvass::render::report::Format;
use serde_json::Value;
use std::path::Path;

async fn fixture() -> (TestApp, canvass::insight::Report) {
    let t = spawn_app().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cfg = Config::load(&dir.join("feedback.toml")).expect("fixture survey parses");
    let csv = std::fs::read(dir.join("feedback.csv")).expect("fixture csv");
    let report = canvass::transfer::import(
        &t.app.store,
        &cfg.surveys[0],
        &csv,
        Default::default(),
        t0(),
    )
    .await
    .expect("fixture imports");
    assert_eq!(report.rows_imported, 420);
    let s = t
        .app
        .store
        .survey_by_slug("feedback-q4")
        .await
        .unwrap()
        .unwrap();
    let r = canvass::reporting::report(&t.app.store, &s, None, 10, t0())
        .await
        .unwrap();
    (t, r)
}

#[tokio::test]
async fn every_format_renders_the_fixture() {
    let (t, r) = fixture().await;
    let renderer = &t.app.renderer;
    assert_eq!(r.survey.respondents, 420);

    let text = renderer.report(Format::Chat(Target::Plain), &r).unwrap();
    assert!(text.starts_with("Q4 product feedback"), "{text}");
    assert!(text.contains("Headline: "), "{text}");
    assert!(text.contains("Next step: "), "{text}");
    assert!(text.contains("What would change it: "), "{text}");
    assert!(
        text.contains("Differs: persona: customer"),
        "segments that differ are named: {text}"
    );
    assert!(
        text.contains("Their words:"),
        "members' phrases are shown: {text}"
    );
    assert!(text.contains("Benjamini-Hochberg"), "{text}");

    let tg = renderer.report(Format::Chat(Target::Html), &r).unwrap();
    assert!(tg.contains("<b>Headline</b>"));
    assert!(
        !tg.contains("<b>bold</b>") && !tg.contains("\"everywhere\""),
        "member text is escaped: {tg}"
    );
    let md = renderer.report(Format::Markdown, &r).unwrap();
    assert!(md.starts_with("# Q4 product feedback"), "{md}");
    assert!(
        md.contains("| option | share | 95% interval | P(best) |"),
        "{md}"
    );
    let html = renderer.report(Format::Html, &r).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert!(
        !html.contains("<b>bold</b>"),
        "member text is escaped in HTML"
    );
    assert!(!html.contains("<script"));

    let json: Value = serde_json::from_str(&renderer.report(Format::Json, &r).unwrap()).unwrap();
    for key in [
        "survey",
        "questions",
        "quality",
        "confidence",
        "headline",
        "recommendation",
        "caveats",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    for key in ["id", "title", "status", "respondents"] {
        assert!(json["survey"].get(key).is_some(), "missing survey.{key}");
    }
    let qs = json["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 9);
    let by_type = |t: &str| qs.iter().find(|q| q["type"] == t).unwrap();
    for o in by_type("single")["options"].as_array().unwrap() {
        let s = o["share"].as_f64().unwrap();
        let ci = o["ci95"].as_array().unwrap();
        assert!((0.0..=1.0).contains(&s));
        assert!(ci[0].as_f64().unwrap() <= s && s <= ci[1].as_f64().unwrap());
    }
    assert!(by_type("single").get("leader").is_some());
    let nps = &by_type("nps")["nps"];
    assert!((-100.0..=100.0).contains(&nps["score"].as_f64().unwrap()));
    for k in ["ci95", "promoters", "passives", "detractors"] {
        assert!(nps.get(k).is_some());
    }
    let rating = &by_type("rating")["rating"];
    for k in ["mean", "ci95", "top2_share"] {
        assert!(rating.get(k).is_some());
    }
    let ranking = &by_type("ranking")["ranking"];
    for k in [
        "borda",
        "schulze_order",
        "irv_winner",
        "plurality_winner",
        "robust_winner",
    ] {
        assert!(ranking.get(k).is_some(), "ranking.{k}");
    }
    let bt = by_type("pairwise")["pairwise"]["bradley_terry"]
        .as_array()
        .unwrap();
    let total: f64 = bt.iter().map(|s| s["strength"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9);
    assert_eq!(bt[0]["option"], "speed");
    let themes = by_type("open_text")["themes"].as_array().unwrap();
    assert!(!themes.is_empty());
    for th in themes {
        for k in ["label", "count", "quotes", "sentiment"] {
            assert!(th.get(k).is_some());
        }
    }
    let mut differs = 0;
    for q in qs {
        for s in q["segments"].as_array().unwrap() {
            assert!(
                s["n"].as_u64().unwrap() >= 10,
                "small segments never appear"
            );
            assert!(s["p_adjusted"].as_f64().unwrap() >= s["p_value"].as_f64().unwrap() - 1e-12);
            differs += usize::from(s["differs"] == true);
        }
    }
    assert!(differs > 0);
    let png = renderer.chart(&r).unwrap().unwrap();
    assert!(png.starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn export_in_chat_sends_the_csv() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    t.tap("bob", group(), &p[1]).await;
    let out = t.say("pm", group(), "/export lunch").await;
    let Some(Outbound::File {
        name, bytes, mime, ..
    }) = out.first()
    else {
        panic!("expected a file: {out:?}");
    };
    assert_eq!((name.as_str(), *mime), ("lunch.csv", "text/csv"));
    let csv = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        csv.starts_with("respondent,submitted_at,segment,food\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3);
    assert!(
        csv.contains("console:alice") && csv.contains(",pizza"),
        "{csv}"
    );
    assert!(t.text(&out).contains("2 respondents"), "{}", t.text(&out));
}
