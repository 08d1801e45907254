//! /insights end to end: answers in, a decision-ready summary and chart out.

use crate::support::*;
use canvass::core::event::Outbound;

#[tokio::test]
async fn product_team_gets_a_summary_with_a_chart() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    for i in 0..45 {
        let pick = if i % 3 == 0 { 1 } else { 0 };
        t.tap(&format!("m{i}"), group(), &p[pick]).await;
    }
    let out = t.say("pm", group(), "/insights lunch").await;
    let Some(Outbound::Report {
        report, chart_png, ..
    }) = out.first()
    else {
        panic!("expected a report, got {out:?}");
    };
    assert_eq!(report.survey.respondents, 45);
    let png = chart_png.as_ref().expect("a chart");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let text = t.text(&out);
    assert!(text.contains("Pizza leads with 66.7%"), "{text}");
    assert!(text.contains("confidence: medium"), "{text}");
    assert!(
        text.contains("intervals describe the people who answered"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("engagement"), "{text}");
    // A segment that does not exist (or is under 10) is never shown.
    let out = t
        .say("pm", group(), "/insights lunch chat: elsewhere")
        .await;
    assert!(
        t.text(&out).contains("fewer than 10 respondents"),
        "{}",
        t.text(&out)
    );
    // Unknown survey.
    let out = t.say("pm", group(), "/insights nope").await;
    assert!(t.text(&out).contains("no survey called \"nope\""));
}

#[tokio::test]
async fn insights_on_an_empty_survey_say_so() {
    let t = spawn_app().await;
    let out = t.say("pm", group(), "/insights deep").await;
    let text = t.text(&out);
    assert!(text.contains("No answers yet."), "{text}");
    match out.first() {
        Some(Outbound::Report { chart_png, .. }) => assert!(chart_png.is_none()),
        other => panic!("{other:?}"),
    }
}
