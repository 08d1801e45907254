//! Locales: members served in their language, one set of answers across languages, the
//! `/language` override, translated templates checked against the default, RTL labels.

use crate::support::*;
use canvass::core::event::{Body, Outbound};
use canvass::render::{Renderer, Target};

/// The shared test config plus a survey worded in German and Spanish, team output in German.
fn config() -> String {
    let base = CONFIG.replacen("[team]\n", "[team]\nlocale = \"de\"\n", 1);
    format!(
        "{base}
[[surveys]]
id = \"snack\"
title = \"Snacks\"
[[surveys.questions]]
id = \"pick\"
type = \"single\"
text = \"Which snack?\"
options = [{{ id = \"nuts\", label = \"Nuts\" }}, {{ id = \"fruit\", label = \"Fruit\" }}, {{ id = \"falafel\", label = \"פלאפל\" }}]
[surveys.locales.de]
title = \"Snacks (de)\"
[surveys.locales.de.questions.pick]
text = \"Welcher Snack?\"
options = {{ nuts = \"Nüsse\", fruit = \"Obst\" }}
[surveys.locales.es]
title = \"Aperitivos\"
[surveys.locales.es.questions.pick]
text = \"¿Qué aperitivo?\"
options = {{ nuts = \"Frutos secos\", fruit = \"Fruta\", falafel = \"Falafel\" }}
"
    )
}

/// An event from a console member whose platform says `tag`.
fn said(t: &TestApp, user: &str, tag: Option<&str>, text: &str) -> canvass::core::event::Inbound {
    let mut ev = t.event(user, dm(user), Body::Text(text.into()));
    ev.actor.locale = tag.map(str::to_string);
    ev
}

async fn replies(t: &TestApp, ev: &canvass::core::event::Inbound) -> Vec<Outbound> {
    t.send(ev).await.replies().to_vec()
}

#[tokio::test]
async fn one_survey_answered_in_three_locales_is_one_set_of_answers() {
    let t = spawn_app_with(&config()).await;
    let mut tags = Vec::new();
    for (user, tag, expect_q, expect_label) in [
        ("ana", Some("de-DE"), "Welcher Snack?", "Nüsse"),
        ("bea", Some("es-419"), "¿Qué aperitivo?", "Frutos secos"),
        ("cy", Some("en-GB"), "Which snack?", "Nuts"),
    ] {
        let out = replies(&t, &said(&t, user, tag, "/start snack")).await;
        let text = t.text(&out);
        assert!(text.contains(expect_q), "{user}: {text}");
        let kb = last_keyboard(&out);
        let first = kb.buttons().next().expect("option buttons");
        let label = t.app.renderer.label(&first.label).expect("label");
        assert_eq!(label, expect_label, "{user}");
        let mut ev = said(&t, user, tag, "");
        ev.body = Body::Button(payloads(&kb)[0].clone());
        let ack = t.text(&replies(&t, &ev).await);
        assert!(
            ack.contains(expect_label),
            "{user} ack in their words: {ack}"
        );
        tags.push(tag);
    }
    // Option ids are shared: three answers to one question, all "nuts".
    let current = t.current("snack", "pick").await;
    assert_eq!(current.len(), 3, "{current:?}");
    assert!(current.iter().all(|v| v.contains("nuts")), "{current:?}");
    assert_eq!(
        t.scalar("SELECT COUNT(DISTINCT locale) FROM answers").await,
        3
    );
    // Team output is German, and counts everyone together.
    let report = t.text(&t.say("pm", group(), "/insights snack").await);
    assert!(report.contains("Welcher Snack?"), "{report}");
    assert!(report.contains("Nüsse: 3"), "{report}");
    assert!(report.contains("Kernaussage"), "{report}");
    // So is the digest, survey titles included.
    let out = t.say("pm", group(), "/digest").await;
    let digest = t.text(&out);
    assert!(digest.contains("Wochenbericht"), "{digest}");
    assert!(digest.contains("Snacks (de)"), "{digest}");
}

#[tokio::test]
async fn an_unsupported_locale_gets_the_default() {
    let t = spawn_app_with(&config()).await;
    let out = replies(&t, &said(&t, "kenji", Some("ja-JP"), "/start snack")).await;
    let text = t.text(&out);
    assert!(text.contains("Which snack?"), "{text}");
    assert!(text.contains("1 question."), "{text}");
    let help = t.text(&replies(&t, &said(&t, "kenji", Some("xx"), "/help")).await);
    assert!(help.contains("For everyone"), "{help}");
}

#[tokio::test]
async fn language_choice_persists_across_a_restart() {
    let t = spawn_app_with(&config()).await;
    let list = t.text(&replies(&t, &said(&t, "ana", Some("en-US"), "/language")).await);
    assert!(
        list.contains("de (Deutsch)") && list.contains("es (Español)"),
        "{list}"
    );
    let set = t.text(&replies(&t, &said(&t, "ana", Some("en-US"), "/language es")).await);
    assert!(set.contains("Español"), "{set}");
    let unknown = t.text(&replies(&t, &said(&t, "ana", Some("en-US"), "/language tlh")).await);
    assert!(unknown.contains("«tlh»"), "{unknown}");

    let t = t.restart().await;
    let help = t.text(&replies(&t, &said(&t, "ana", Some("en-US"), "/help")).await);
    assert!(
        help.contains("Para todos"),
        "still Spanish after a restart: {help}"
    );
    let back = t.text(&replies(&t, &said(&t, "ana", Some("en-US"), "/language auto")).await);
    assert!(back.contains("English"), "{back}");
    let help = t.text(&replies(&t, &said(&t, "ana", Some("en-US"), "/help")).await);
    assert!(help.contains("For everyone"), "{help}");
}

#[tokio::test]
async fn a_right_to_left_label_renders_without_breaking_the_message() {
    let t = spawn_app_with(&config()).await;
    let out = replies(&t, &said(&t, "dana", Some("en"), "/survey snack")).await;
    let msg = out
        .iter()
        .find_map(|o| match o {
            Outbound::Reply { msg, .. } => Some(msg.clone()),
            _ => None,
        })
        .expect("a reply");
    for target in [Target::Plain, Target::Html, Target::Markdown] {
        let text = t.app.renderer.render(target, &msg).expect("renders");
        // The Hebrew label is isolated, so the "(falafel)" after it keeps its place.
        assert!(text.contains("\u{2068}פלאפל\u{2069}"), "{target:?}: {text}");
        assert!(text.lines().count() > 3, "{text}");
    }
    let out = replies(&t, &said(&t, "dana", Some("en"), "/start snack")).await;
    let kb = last_keyboard(&out);
    let labels: Vec<String> = kb
        .buttons()
        .map(|b| t.app.renderer.label(&b.label).expect("label"))
        .collect();
    assert!(
        labels.contains(&"\u{2068}פלאפל\u{2069}".to_string()),
        "{labels:?}"
    );
}

#[test]
fn every_shipped_locale_renders_every_template_with_sample_data() {
    let r = Renderer::load(&prompts()).expect("templates load");
    assert!(r.locales().len() >= 3, "{:?}", r.locales());
    // The narrative prompts are read by the language model, not by people: English on purpose.
    let pending = ["narrative/system", "narrative/user"];
    for l in ["de", "es"] {
        assert!(r.locales().iter().any(|x| x == l), "{l} shipped");
        let missing = r.untranslated(l);
        assert!(
            missing.iter().all(|m| pending.contains(m)),
            "{l} misses {missing:?}"
        );
    }
    let n = r
        .check_samples()
        .expect("every locale renders every template");
    assert!(n > 3 * 3 * 30, "{n}");
    assert!(r.check_reports().expect("reports render in every locale") > 0);
}

/// A copy of the shipped templates with one German file replaced.
fn prompts_with(dir: &std::path::Path, name: &str, body: &str) {
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("prompts") {
            let p = e.expect("entry").path();
            if p.is_file() {
                std::fs::copy(&p, to.join(p.file_name().expect("name"))).expect("copy");
            }
        }
    };
    for sub in ["", "insight", "de", "de/insight", "es", "es/insight"] {
        copy(&prompts().join(sub), &dir.join(sub));
    }
    std::fs::write(dir.join("de").join(name), body).expect("write");
}

fn broken_locale(name: &str, body: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    prompts_with(dir.path(), name, body);
    Renderer::load(dir.path())
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn a_translation_with_an_unknown_variable_or_bad_syntax_is_refused_with_file_and_line() {
    let err = broken_locale("closed.hbs", "Geschlossen.\n„{{title}}“ von {{owner}}.\n");
    assert!(err.contains("de/closed.hbs:2"), "{err}");
    assert!(err.contains("{{owner}}"), "{err}");
    let err = broken_locale(
        "welcome.hbs",
        "Hallo!\n{{#each surveys}}\n• {{nmae}}\n{{/each}}\n",
    );
    assert!(err.contains("de/welcome.hbs:3"), "{err}");
    let err = broken_locale("help.hbs", "Hilfe\n\n{{#if team}}\nTeam\n");
    assert!(err.contains("de/help.hbs:"), "{err}");
}

#[test]
fn canvass_check_fails_naming_the_file_and_line_of_a_broken_translation() {
    let dir = tempfile::tempdir().expect("temp dir");
    prompts_with(
        &dir.path().join("prompts"),
        "closed.hbs",
        "„{{title}}“\n{{#if x}}\n",
    );
    std::fs::write(dir.path().join("bot.toml"), CONFIG).expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_canvass"))
        .arg("--config")
        .arg(dir.path().join("bot.toml"))
        .arg("check")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("de/closed.hbs:"), "{stderr}");
}
