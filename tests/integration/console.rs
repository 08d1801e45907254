//! The console adapter driven line by line, as a person at the terminal would.

use crate::support::*;

#[tokio::test]
async fn console_drives_a_poll_and_a_private_survey() {
    let t = spawn_app().await;
    let mut c = t.app.console();
    let out = c.line("/as pm").await.unwrap();
    assert!(out.contains("You are pm (product team)"), "{out}");
    let out = c.line("/post lunch").await.unwrap();
    assert!(out.contains("What should we order?"), "{out}");
    assert!(out.contains("[2] Sushi"), "{out}");
    let out = c.line("/as alice").await.unwrap();
    assert!(out.contains("You are alice, in the group"), "{out}");
    let out = c.line("2").await.unwrap();
    assert_eq!(out, "  (only you see) Saved: Sushi");
    let out = c.line("9").await.unwrap();
    assert!(out.contains("There is no button 9 here"), "{out}");
    let out = c.line("/close lunch").await.unwrap();
    assert!(out.contains("is for the product team"), "{out}");

    // A multi-question survey: the invitation's deep link opens the private chat.
    c.line("/as pm").await.unwrap();
    let out = c.line("/post deep").await.unwrap();
    assert!(out.contains("[1] Take the survey"), "{out}");
    c.line("/as bob").await.unwrap();
    let out = c.line("1").await.unwrap();
    assert!(out.contains("in your private chat"), "{out}");
    assert!(out.contains("Deep dive · 1/5"), "{out}");
    let out = c.line("2").await.unwrap();
    assert!(out.contains("Saved: Pro"), "{out}");
    assert!(out.contains("Deep dive · 2/5"), "{out}");
    let out = c.line(&"x".repeat(5000)).await.unwrap();
    assert!(out.contains("the console accepts up to 4096"), "{out}");
    let out = c.line("\u{1b}[2J/help").await.unwrap();
    assert!(
        !out.contains('\u{1b}'),
        "control characters never reach the terminal"
    );
    assert!(c.line("/quit").await.is_none());
    assert_eq!(t.current("lunch", "food").await.len(), 1);
    assert_eq!(t.current("deep", "plan").await.len(), 1);
}

#[test]
fn every_template_renders_with_sample_data() {
    let r = canvass::render::Renderer::load(&prompts()).expect("templates load");
    let n = r.check_samples().expect("every template renders");
    assert!(n >= r.names().len() * 3, "{n}");
}

#[tokio::test]
async fn console_numbers_nps_buttons_by_label_and_keeps_ranking_numbers() {
    let t = spawn_app().await;
    let mut c = t.app.console();
    c.line("/as bob").await.unwrap();
    c.line("/dm").await.unwrap();
    c.line("/start deep").await.unwrap();
    let out = c.line("2").await.unwrap();
    assert!(out.contains("[0] 0") && out.contains("[10] 10"), "{out}");
    c.line("9").await.unwrap();
    assert_eq!(
        t.current("deep", "nps").await,
        vec![r#"{"kind":"scale","value":9}"#],
        "typing 9 records 9"
    );

    let out = c.line("/start rank").await.unwrap();
    assert!(out.contains("[3] CSV export"), "{out}");
    let out = c.line("1").await.unwrap();
    assert!(
        out.contains("[3] CSV export") && out.contains("[4] SSO"),
        "options keep their numbers after a pick: {out}"
    );
    let out = c.line("4").await.unwrap();
    assert!(out.contains("[3] CSV export"), "{out}");
    assert!(!out.contains("[4] SSO"), "SSO was picked second: {out}");
}
