//! Unit tests of the narrative checker: numbers, quotes and wording claims against the demo
//! report, and the adversarial and honest catalogue in every locale.

use super::*;
use crate::insight::demo;
use crate::insight::report::{Confidence, QuestionDetail, Report};

fn facts(report: &Report, shown: &str, answers: &[&str]) -> Facts {
    Facts::new(
        report,
        shown,
        answers.iter().map(|s| s.to_string()).collect(),
        "en",
    )
}

fn report(n: usize) -> Report {
    demo::report(n).expect("demo report")
}

fn n(value: f64, decimals: usize) -> Num {
    Num {
        value,
        decimals,
        percent: false,
    }
}

#[test]
fn rounding_may_drop_decimals_but_never_add_or_change_them_or_the_sign() {
    let shown = n(66.7, 1);
    assert!(rounds_to(shown, n(66.7, 1)));
    assert!(rounds_to(shown, n(67.0, 0)));
    assert!(!rounds_to(shown, n(66.7, 2)));
    assert!(!rounds_to(shown, n(66.8, 1)));
    assert!(!rounds_to(shown, n(66.0, 0)));
    assert!(!rounds_to(n(-43.0, 0), n(43.0, 0)));
    assert!(rounds_to(n(-43.0, 0), n(-43.0, 0)));
}

#[test]
fn faithful_text_passes_and_counts_what_it_checked() {
    let r = report(240);
    let f = facts(
        &r,
        "Dark mode 46.7% (40–53%) of 240",
        &["Sync keeps failing when I go offline, please fix it"],
    );
    let ok = check(
        "About 47% of 240 respondents chose Dark mode (40–53%). One wrote “sync keeps failing … please fix it”.",
        &f,
        1000,
    )
    .expect("passes");
    assert_eq!(
        ok,
        Passed {
            numbers: 4,
            quotes: 1
        }
    );
}

#[test]
fn an_invented_number_is_named() {
    let r = report(240);
    let f = facts(&r, "Dark mode 46.7% of 240", &[]);
    assert_eq!(
        check("Dark mode has 47.1% support.", &f, 1000),
        Err(Failure::Number("47.1%".into()))
    );
    // More precision than the report shows is invented too.
    assert_eq!(
        check("Dark mode has 46.70%.", &f, 1000),
        Err(Failure::Number("46.70%".into()))
    );
}

#[test]
fn quotes_must_be_verbatim_answers_or_labels() {
    let r = report(240);
    let f = facts(&r, "", &["The export is   too slow for big teams"]);
    assert!(check("“The export is too slow for big teams.”", &f, 1000).is_ok());
    assert!(check("\"the export is too slow\"", &f, 1000).is_ok());
    assert_eq!(
        check("“The export is far too slow”", &f, 1000),
        Err(Failure::Quote("The export is far too slow".into()))
    );
    // Fragments must come from one answer, in full and in order.
    assert!(check("“export is … big teams”", &f, 1000).is_ok());
    assert!(check("“export is … small teams”", &f, 1000).is_err());
    assert!(check("“big teams … export is”", &f, 1000).is_err());
    // The report's own labels may be quoted.
    let label = r.questions[0].detail.options().unwrap()[0].label.clone();
    assert!(check(&format!("“{label}”"), &f, 1000).is_ok());
}

#[test]
fn an_ellipsis_may_not_drop_a_negation() {
    let r = report(240);
    let f = facts(
        &r,
        "",
        &["I would never pay for this", "No, sync is broken"],
    );
    assert!(check("“I would … pay for this”", &f, 1000).is_err());
    assert!(check("“pay for this”", &f, 1000).is_err());
    assert!(check("“I would never pay … this”", &f, 1000).is_ok());
    assert!(check("“sync is broken”", &f, 1000).is_ok());
}

#[test]
fn certainty_is_refused_only_when_directional() {
    let mut r = report(240);
    r.confidence = Confidence::Directional;
    let f = facts(&r, "", &[]);
    assert!(matches!(
        check("Members definitely want sync.", &f, 1000),
        Err(Failure::Certainty(_))
    ));
    assert!(check("Nothing is certain yet; treat this as a hint.", &f, 1000).is_ok());
    // A "no" that negates something else excuses nothing.
    assert!(matches!(
        check(
            "No member asked for more, and sync is definitely wanted.",
            &f,
            1000
        ),
        Err(Failure::Certainty(_))
    ));
    r.confidence = Confidence::High;
    let f = facts(&r, "", &[]);
    assert!(check("Members definitely want sync.", &f, 1000).is_ok());
}

#[test]
fn winner_claims_need_a_robust_winner_for_that_question() {
    let mut r = report(240);
    r.questions.truncate(1);
    let q = &mut r.questions[0];
    let label = q.detail.options().unwrap()[0].label.clone();
    // A single-choice question: its leader is all that could name a winner (no ranking, no
    // message test).
    let QuestionDetail::Choice {
        leader: Some(l), ..
    } = &mut q.detail
    else {
        panic!("the demo's first question is single choice with a leader: {q:?}");
    };
    l.clearly_ahead = false;
    r.headline.code = crate::insight::report::Code::LeaderUnclear;
    let f = facts(&r, "", &[]);
    let text = format!("{label} clearly wins.");
    assert!(matches!(check(&text, &f, 1000), Err(Failure::Winner(p)) if p.contains("wins")));
    assert!(matches!(
        check("There is a winner.", &f, 1000),
        Err(Failure::Winner(_))
    ));
    assert!(check("There is no clear winner yet.", &f, 1000).is_ok());
    assert!(check("On top of that, opinions are split.", &f, 1000).is_ok());
    // A label inside a longer one (another question's option) names the longer one only.
    let mut two = r.clone();
    let mut other = two.questions[0].clone();
    let QuestionDetail::Choice { options, leader } = &mut other.detail else {
        panic!("single choice");
    };
    if let Some(o) = options.first_mut() {
        o.label = format!("{label} everywhere");
    }
    if let Some(l) = leader {
        // The winner must be the option the leader names, so the fixture renames both.
        l.label = format!("{label} everywhere");
        l.clearly_ahead = true;
    }
    two.questions.push(other);
    let f = facts(&two, "", &[]);
    assert!(check(&format!("{label} everywhere wins."), &f, 1000).is_ok());
    assert!(check(&format!("{label} wins."), &f, 1000).is_err());
    if let QuestionDetail::Choice {
        leader: Some(l), ..
    } = &mut r.questions[0].detail
    {
        l.clearly_ahead = true;
    }
    let f = facts(&r, "", &[]);
    assert!(check(&text, &f, 1000).is_ok());
}

#[test]
fn engagement_is_not_success() {
    let r = report(240);
    let f = facts(&r, "240", &[]);
    for bad in [
        "Engagement was strong this week.",
        "An impressive 240 responses show the community cares.",
        "Reactions went up.",
        "Not everyone voted, but engagement was strong.",
    ] {
        assert!(
            matches!(check(bad, &f, 1000), Err(Failure::Engagement(_))),
            "{bad}"
        );
    }
    for fine in [
        "240 people answered.",
        "Likes and reactions are not counted.",
        "Engagement was not strong.",
        "There is a strong preference for sync.",
        "240 responses show a strong preference for sync.",
    ] {
        assert!(check(fine, &f, 1000).is_ok(), "{fine}");
    }
}

#[test]
fn empty_and_long_texts_are_dropped() {
    let r = report(240);
    let f = facts(&r, "", &[]);
    assert_eq!(check("  ", &f, 1000), Err(Failure::Empty));
    assert!(matches!(
        check(&"word ".repeat(300), &f, 1000),
        Err(Failure::TooLong { max: 1000, .. })
    ));
}

#[test]
fn any_text_is_checked_without_panicking() {
    let r = catalogue_report();
    let f = Facts::new(
        &r,
        "Dark mode 46,7 % (40–53 %) of 240; NPS -43 (-55 bis -30)",
        vec!["I would never pay … for this".into(), "İİ ß 71".into()],
        "de",
    );
    // Pieces a model might produce, glued at random (a fixed xorshift, so runs repeat).
    let pieces = [
        "Dark mode",
        "46,7",
        "46.7",
        "%",
        " ",
        "-",
        "−",
        "–",
        "+",
        "“",
        "”",
        "„",
        "\"",
        "«",
        "»",
        "…",
        "...",
        "not",
        "no",
        "majority",
        "seventy-three",
        "three in four",
        "drei",
        "und",
        "von",
        "٧",
        "７",
        "½",
        "İ",
        "ß",
        "(",
        ")",
        ",",
        ".",
        ";",
        ":",
        "NPS",
        "interval",
        "bis",
        "between",
        "and",
        "customers",
        "more",
        "71",
        "0",
        "00,",
        ",000",
        "y",
        "de cada",
        "Prozent",
        "twice",
        "a third",
        "\n",
        "vs",
        "1,200.5",
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(x % 24) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(pieces[(x % pieces.len() as u64) as usize]);
            if x % 3 == 0 {
                text.push(' ');
            }
        }
        let _ = check(&text, &f, 2000);
    }
}

/// One locale's file of the catalogue in `src/narrative/catalogue/`.
#[derive(serde::Deserialize)]
struct Catalogue {
    locale: String,
    answers: Vec<String>,
    reject: Vec<Case>,
    pass: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    #[serde(default)]
    code: String,
    why: String,
}

/// The demo report with a negative NPS (−43, interval −55 to −30) and a directional
/// badge, so sign flips and certainty can be tried.
fn catalogue_report() -> Report {
    let mut r = report(240);
    r.confidence = Confidence::Directional;
    for q in &mut r.questions {
        if let QuestionDetail::Nps(nps) = &mut q.detail {
            nps.score = -43.0;
            nps.ci95 = [-55.0, -30.0];
        }
    }
    r
}

#[test]
fn the_adversarial_catalogue_is_rejected_and_honest_narratives_pass_in_every_locale() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let r = catalogue_report();
    let mut failures = Vec::new();
    let mut count = 0;
    for raw in [
        include_str!("catalogue/en.toml"),
        include_str!("catalogue/de.toml"),
        include_str!("catalogue/es.toml"),
    ] {
        let cat: Catalogue = toml::from_str(raw).expect("catalogue parses");
        let renderer = crate::render::Renderer::load(&dir)
            .expect("prompts")
            .with_team_locale(&cat.locale);
        let shown = renderer
            .report(
                crate::render::report::Format::Chat(crate::render::Target::Plain),
                &r,
            )
            .expect("report");
        let (_, user) = renderer.narrative_prompt(&r, 1200).expect("prompt");
        let f = Facts::new(
            &r,
            &format!("{shown}\n{user}"),
            cat.answers.clone(),
            &cat.locale,
        );
        assert!(
            cat.reject.len() >= 10 && cat.pass.len() >= 4,
            "{}",
            cat.locale
        );
        for c in &cat.reject {
            count += 1;
            match check(&c.text, &f, 2000) {
                Err(e) if e.code() == c.code => {}
                other => failures.push(format!(
                    "[{}] must be rejected as {} ({}): {:?}\n    {}",
                    cat.locale, c.code, c.why, other, c.text
                )),
            }
        }
        for c in &cat.pass {
            count += 1;
            if let Err(e) = check(&c.text, &f, 2000) {
                failures.push(format!(
                    "[{}] must pass ({}): {e:?}\n    {}",
                    cat.locale, c.why, c.text
                ));
            }
        }
    }
    assert!(count >= 45, "{count}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
