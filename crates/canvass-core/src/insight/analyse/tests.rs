use super::*;
use crate::core::answer::AnswerValue;
use crate::core::ids::{OptionId, QuestionId, SurveyId};
use crate::core::survey::{ResultsVisibility, make_choices};
use chrono::TimeZone;
use chrono::Utc;
use std::sync::Arc;

#[test]
fn the_interner_shares_one_copy_per_string() {
    let mut ids = Interner::default();
    let a = ids.get("feature");
    let b = ids.get("feature");
    let c = ids.get("tools");
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!((&*a, &*c), ("feature", "tools"));
}

fn survey(kinds: Vec<(&str, QuestionKind)>) -> Survey {
    Survey {
        id: SurveyId::parse("s").unwrap(),
        title: "S".into(),
        intro: None,
        questions: kinds
            .into_iter()
            .map(|(id, k)| Question::new(QuestionId::parse(id).unwrap(), "Q?", k, false).unwrap())
            .collect(),
        anonymous: false,
        opens_at: None,
        closes_at: None,
        results: ResultsVisibility::AfterClose,
        follows: None,
        headline: None,
    }
    .validated()
    .unwrap()
}

fn single(labels: &[&str]) -> QuestionKind {
    QuestionKind::Single {
        options: make_choices(labels.iter().map(|l| (None, l.to_string())).collect()).unwrap(),
    }
}

fn resp(i: i64, q: &str, v: AnswerValue, segs: &[&str]) -> Response {
    Response {
        respondent: i,
        answers: [(Arc::from(q), v)].into_iter().collect(),
        segments: segs.iter().map(|s| Arc::from(*s)).collect(),
        new_member: false,
        first_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i),
        seconds: None,
        locale: None,
    }
}

fn choice(s: &str) -> AnswerValue {
    AnswerValue::Choice(OptionId::parse(s).unwrap())
}

fn run(s: &Survey, rs: &[Response], segment: Option<&str>) -> Report {
    analyse(&Input {
        survey: s,
        status: Status::Closed,
        responses: rs,
        min_segment: 10,
        segment,
        previous: None,
        members_reached: None,
    })
}

/// README §Configuration: `headline` defaults to the first question that is not open
/// text; a configured `headline` picks another.
#[test]
fn the_headline_is_about_the_first_question_that_is_not_open_text_by_default() {
    let mut s = survey(vec![
        ("why", QuestionKind::OpenText { max_chars: 200 }),
        ("first", single(&["A", "B"])),
        ("second", single(&["C", "D"])),
    ]);
    let rs: Vec<Response> = (0..40)
        .map(|i| {
            let mut r = resp(i, "why", AnswerValue::Text(format!("reason {i}")), &[]);
            let first = if i < 36 { "a" } else { "b" };
            let second = if i % 2 == 0 { "c" } else { "d" };
            r.answers.insert(Arc::from("first"), choice(first));
            r.answers.insert(Arc::from("second"), choice(second));
            r
        })
        .collect();
    let r = run(&s, &rs, None);
    assert_ne!(r.questions[1].finding, r.questions[2].finding);
    assert_eq!(r.headline, r.questions[1].finding, "{:?}", r.headline);
    s.headline = Some(QuestionId::parse("second").unwrap());
    let r = run(&s, &rs, None);
    assert_eq!(r.headline, r.questions[2].finding, "{:?}", r.headline);
}

#[test]
fn zero_and_one_answer() {
    let s = survey(vec![("q", single(&["A", "B"]))]);
    let r = run(&s, &[], None);
    assert_eq!(r.headline.code, "no_answers");
    assert_eq!(r.confidence, Confidence::Directional);
    let r = run(&s, &[resp(1, "q", choice("a"), &[])], None);
    assert_eq!(r.headline.code, "too_few");
    assert_eq!(r.questions[0].finding.code, "counts_only");
    assert_eq!(r.quality.tier, Tier::CountsOnly);
}

#[test]
fn clear_leader_and_known_interval() {
    // 71 of 214 choose A: 33.2% [27.2, 39.7] (insight-methods check value).
    let s = survey(vec![("q", single(&["A", "B", "C"]))]);
    let mut rs = Vec::new();
    for i in 0..214 {
        let o = if i < 71 {
            "a"
        } else if i < 71 + 80 {
            "b"
        } else {
            "c"
        };
        rs.push(resp(i, "q", choice(o), &[]));
    }
    let r = run(&s, &rs, None);
    let a = &r.questions[0].detail.options().unwrap()[0];
    assert_eq!((a.count, r.questions[0].n), (71, 214));
    assert!(
        (a.ci95[0] - 0.272).abs() < 0.001 && (a.ci95[1] - 0.397).abs() < 0.001,
        "{:?}",
        a.ci95
    );
    // B (80) vs A (71) is not a clear lead.
    assert_eq!(r.headline.code, "leader_unclear");
    assert_ne!(r.confidence, Confidence::High);
    assert_eq!(r.recommendation.next_step.code, "follow_up_between");
}

#[test]
fn everyone_picks_the_same_option() {
    let s = survey(vec![("q", single(&["A", "B"]))]);
    let rs: Vec<_> = (0..150).map(|i| resp(i, "q", choice("b"), &[])).collect();
    let r = run(&s, &rs, None);
    assert_eq!(r.headline.code, "leader_clear");
    assert_eq!(r.confidence, Confidence::High);
    let o = &r.questions[0].detail.options().unwrap()[1];
    assert_eq!(o.share, 1.0);
    assert!(o.ci95[0] <= 1.0 && o.ci95[1] <= 1.0 && o.ci95[0] > 0.9);
    assert!(o.prob_best > 0.99);
}

#[test]
fn ties_are_named_as_ties() {
    let s = survey(vec![("q", single(&["A", "B"]))]);
    let rs: Vec<_> = (0..40)
        .map(|i| resp(i, "q", choice(if i % 2 == 0 { "a" } else { "b" }), &[]))
        .collect();
    let r = run(&s, &rs, None);
    assert_eq!(r.headline.code, "tie");
    assert!(r.questions[0].detail.leader().is_none());
}

#[test]
fn small_segments_are_never_shown_and_differences_are_corrected() {
    let s = survey(vec![("q", single(&["A", "B"]))]);
    let mut rs = Vec::new();
    // 3 members of "tiny"; 60 of "big" who prefer B; 90 others who prefer A.
    for i in 0..3 {
        rs.push(resp(i, "q", choice("a"), &["tiny"]));
    }
    for i in 3..63 {
        rs.push(resp(
            i,
            "q",
            choice(if i % 5 == 0 { "a" } else { "b" }),
            &["big"],
        ));
    }
    for i in 63..153 {
        rs.push(resp(
            i,
            "q",
            choice(if i % 5 == 0 { "b" } else { "a" }),
            &[],
        ));
    }
    let r = run(&s, &rs, None);
    let segs = &r.questions[0].segments;
    assert!(segs.iter().all(|f| f.segment != "tiny"), "{segs:?}");
    let big = segs.iter().find(|f| f.segment == "big").unwrap();
    assert!(big.differs && big.p_adjusted <= FDR_Q && big.p_adjusted >= big.p_value);
    let r = run(&s, &rs, Some("tiny"));
    assert_eq!(r.headline.code, "segment_too_small");
    assert!(r.questions.is_empty());
    assert_eq!(
        r.survey.respondents,
        rs.len(),
        "the segment's size is not revealed"
    );
}

/// 60 "big" members answer q; only 2 of them answer the NPS question n, which 60 others
/// answer too; 3 "outsiders" complete the survey.
fn big_segment_with_a_small_cell() -> (Survey, Vec<Response>) {
    let nps = QuestionKind::Nps {
        low_label: "no".into(),
        high_label: "yes".into(),
    };
    let s = survey(vec![("q", single(&["A", "B"])), ("n", nps)]);
    let mut rs = Vec::new();
    for i in 0..60 {
        let mut r = resp(i, "q", choice(if i % 4 == 0 { "a" } else { "b" }), &["big"]);
        if i < 2 {
            r.answers.insert(Arc::from("n"), AnswerValue::Scale(0));
        }
        rs.push(r);
    }
    for i in 60..120 {
        let mut r = resp(i, "q", choice(if i % 4 == 0 { "b" } else { "a" }), &[]);
        r.answers.insert(Arc::from("n"), AnswerValue::Scale(10));
        rs.push(r);
    }
    (s, rs)
}

#[test]
fn a_segment_cell_under_min_size_is_neither_shown_nor_tested() {
    let (s, rs) = big_segment_with_a_small_cell();
    let r = run(&s, &rs, None);
    let big = &r.questions[0].segments;
    assert_eq!(big.len(), 1, "q: 60 in, 60 out");
    assert_eq!((big[0].segment.as_str(), big[0].n), ("big", 60));
    assert!(
        r.questions[1].segments.is_empty(),
        "2 of big answered n: no cell, no test: {:?}",
        r.questions[1].segments
    );
    // One chi-square and two per-option tests, all for q.
    assert_eq!(r.tests, 3);
    assert_eq!(r.min_segment, 10);
}

/// A tester's attack: segments A (40), B (12) and C (5, so never shown); the total minus
/// A minus B would read C. And two shown segments differing by 3 people read those 3.
#[test]
fn shown_segments_never_subtract_to_a_small_group() {
    let s = survey(vec![("q", single(&["A", "B", "C"]))]);
    let mut rs = Vec::new();
    for i in 0..40 {
        rs.push(resp(
            i,
            "q",
            choice(if i % 2 == 0 { "a" } else { "b" }),
            &["A"],
        ));
    }
    for i in 40..52 {
        rs.push(resp(
            i,
            "q",
            choice(if i % 2 == 0 { "a" } else { "b" }),
            &["B"],
        ));
    }
    for i in 52..57 {
        rs.push(resp(i, "q", choice("c"), &["C"]));
    }
    let r = run(&s, &rs, None);
    let shown: Vec<&str> = r.questions[0]
        .segments
        .iter()
        .map(|g| g.segment.as_str())
        .collect();
    // Without the rule both A and B are shown, and 57 - 40 - 12 = the 5 of C.
    assert_eq!(shown, vec!["A"], "{shown:?}");

    // Nested: 12 in "X" and "Y", 3 more only in "Y", 40 in neither.
    let mut rs = Vec::new();
    for i in 0..12 {
        rs.push(resp(i, "q", choice("a"), &["X", "Y"]));
    }
    for i in 12..15 {
        rs.push(resp(i, "q", choice("c"), &["Y"]));
    }
    for i in 15..55 {
        rs.push(resp(
            i,
            "q",
            choice(if i % 2 == 0 { "a" } else { "b" }),
            &[],
        ));
    }
    let r = run(&s, &rs, None);
    assert!(
        r.questions[0].segments.len() <= 1,
        "X and Y differ by 3: {:?}",
        r.questions[0].segments
    );
}

#[test]
fn a_segment_report_withholds_small_cells_and_refuses_a_small_complement() {
    let (s, mut rs) = big_segment_with_a_small_cell();
    let r = run(&s, &rs, Some("big"));
    assert_eq!(r.survey.respondents, 60);
    assert_eq!(r.questions[0].n, 60);
    assert!(!r.questions[0].withheld);
    let n = &r.questions[1];
    assert!(n.withheld && n.n == 0 && n.detail.nps().is_none(), "{n:?}");
    assert_eq!(n.finding.code, "cell_withheld");
    // Everyone but 3: the full report minus this one would show those 3 answers.
    for r in rs.iter_mut().skip(60).take(57) {
        r.segments.insert(Arc::from("most"));
    }
    for r in rs.iter_mut().take(60) {
        r.segments.insert(Arc::from("most"));
    }
    let r = run(&s, &rs, Some("most"));
    assert_eq!(r.headline.code, "segment_complement_too_small");
    assert!(r.questions.is_empty());
    assert_eq!(r.survey.respondents, rs.len());
    // Per question too: 12 outside the segment, but only 2 of them answered n.
    let mut rs: Vec<Response> = rs.into_iter().take(60).collect();
    for r in rs.iter_mut().take(10) {
        r.segments.clear();
    }
    rs.iter_mut().take(2).for_each(|r| {
        r.answers.insert(Arc::from("n"), AnswerValue::Scale(3));
    });
    for i in 200..230 {
        let mut r = resp(i, "q", choice("a"), &["big"]);
        r.answers.insert(Arc::from("n"), AnswerValue::Scale(9));
        rs.push(r);
    }
    let r = run(&s, &rs, Some("big"));
    assert_ne!(r.headline.code, "segment_complement_too_small");
    assert!(!r.questions[0].withheld);
    assert!(r.questions[1].withheld, "{:?}", r.questions[1]);
}

#[test]
fn ranking_methods_and_robust_winner() {
    let opts = make_choices(
        ["A", "B", "C", "D"]
            .iter()
            .map(|l| (None, l.to_string()))
            .collect(),
    )
    .unwrap();
    let s = survey(vec![(
        "r",
        QuestionKind::Ranking {
            options: opts,
            top_k: None,
        },
    )]);
    let id = |c: char| OptionId::parse(&c.to_ascii_lowercase().to_string()).unwrap();
    let mut rs = Vec::new();
    // The notes' 40-ballot check: methods disagree, so no robust winner.
    for (count, order) in [
        (12, "ABCD"),
        (10, "BCAD"),
        (8, "CBAD"),
        (6, "DCBA"),
        (4, "ABDC"),
    ] {
        for _ in 0..count {
            let i = rs.len() as i64;
            rs.push(resp(
                i,
                "r",
                AnswerValue::Ranking(order.chars().map(id).collect()),
                &[],
            ));
        }
    }
    let r = run(&s, &rs, None);
    let k = r.questions[0].detail.ranking().unwrap();
    assert_eq!(k.plurality_winner.as_deref(), Some("a"));
    assert_eq!(k.irv_winner.as_deref(), Some("c"));
    assert_eq!(k.schulze_order.first().map(String::as_str), Some("b"));
    assert_eq!(k.borda[0].option, "b");
    assert_eq!(k.borda[0].points, 84.0);
    assert_eq!(k.robust_winner, None);
    assert_eq!(r.headline.code, "no_robust_winner");
    assert!(!k.head_to_head.is_empty());
}

#[test]
fn ten_thousand_open_text_answers_in_many_scripts() {
    let s = survey(vec![("t", QuestionKind::OpenText { max_chars: 500 })]);
    let texts = [
        "Dark mode please, my eyes 😵",
        "Offline sync keeps failing",
        "Bitte einen dunklen Modus",
        "El precio es demasiado alto",
        "ダークモードが欲しい",
        "الوضع الليلي من فضلك",
        "🔥🔥🔥",
    ];
    let rs: Vec<_> = (0..10_000)
        .map(|i| {
            resp(
                i,
                "t",
                AnswerValue::Text(texts[i as usize % texts.len()].into()),
                &[],
            )
        })
        .collect();
    let r = run(&s, &rs, None);
    let q = &r.questions[0];
    assert_eq!(q.n, 10_000);
    let themes = q.detail.themes().unwrap();
    let classified: usize = themes.iter().map(|t| t.count).sum();
    assert_eq!(
        classified + q.detail.text_summary().unwrap().unclassified,
        10_000
    );
}

#[test]
fn change_since_previous_run_is_judged_against_noise() {
    let s = survey(vec![("q", single(&["A", "B"]))]);
    let before: Vec<_> = (0..100)
        .map(|i| resp(i, "q", choice(if i < 60 { "a" } else { "b" }), &[]))
        .collect();
    let prev = run(&s, &before, None);
    let same: Vec<_> = (0..100)
        .map(|i| resp(i, "q", choice(if i < 62 { "a" } else { "b" }), &[]))
        .collect();
    let r = analyse(&Input {
        survey: &s,
        status: Status::Closed,
        responses: &same,
        min_segment: 10,
        segment: None,
        previous: Some(Previous {
            label: "Q3".into(),
            report: &prev,
        }),
        members_reached: None,
    });
    let c = r.questions[0].change.as_ref().unwrap();
    assert!(c.within_noise, "{c:?}");
    let moved: Vec<_> = (0..100)
        .map(|i| resp(i, "q", choice(if i < 85 { "a" } else { "b" }), &[]))
        .collect();
    let r = analyse(&Input {
        survey: &s,
        status: Status::Closed,
        responses: &moved,
        min_segment: 10,
        segment: None,
        previous: Some(Previous {
            label: "Q3".into(),
            report: &prev,
        }),
        members_reached: None,
    });
    assert!(!r.questions[0].change.as_ref().unwrap().within_noise);
}

#[test]
fn intervals_contain_their_estimates() {
    for n in 1..=120u64 {
        for x in 0..=n {
            let i = stats::wilson(x, n).unwrap();
            let p = x as f64 / n as f64;
            assert!(i.low <= p + 1e-12 && p <= i.high + 1e-12, "{x}/{n}");
        }
    }
    let mut by = [0u64; 11];
    for (i, c) in [3, 0, 1, 4, 2, 5, 7, 9, 11, 13, 6].iter().enumerate() {
        by[i] = *c;
        let s = stats::nps(&by).unwrap();
        assert!(s.low <= s.score && s.score <= s.high);
    }
}

#[test]
fn a_burst_of_new_accounts_lowers_confidence() {
    let s = survey(vec![("q", single(&["A", "B"]))]);
    let mut rs: Vec<_> = (0..120)
        .map(|i| resp(i * 60, "q", choice(if i % 3 == 0 { "b" } else { "a" }), &[]))
        .collect();
    for i in 0..40 {
        let mut r = resp(10_000 + i, "q", choice("b"), &[]);
        r.new_member = true;
        rs.push(r);
    }
    let r = run(&s, &rs, None);
    assert_eq!(r.quality.burst_flagged, 40);
    assert_eq!(r.confidence, Confidence::Directional);
    assert!(r.quality.headline_without_flagged.is_some());
    assert_eq!(r.recommendation.next_step.code, "check_burst");
}

#[test]
fn a_burst_smaller_than_min_size_is_not_subtracted() {
    let s = survey(vec![("q", single(&["A", "B"]))]);
    let mut rs: Vec<_> = (0..120)
        .map(|i| resp(i * 60, "q", choice(if i % 3 == 0 { "b" } else { "a" }), &[]))
        .collect();
    for i in 0..6 {
        let mut r = resp(10_000 + i, "q", choice("b"), &[]);
        r.new_member = true;
        rs.push(r);
    }
    let r = run(&s, &rs, None);
    assert_eq!(r.quality.burst_flagged, 6);
    assert_eq!(r.quality.headline_without_flagged, None);
    assert_eq!(r.quality.leader_without_flagged, None);
}

/// Above the cap, themes come from a fixed random sample of that size, stated in the
/// finding and the summary; at or below it every answer is read, exactly as before.
#[test]
fn open_text_themes_beyond_the_cap_come_from_a_stated_fixed_sample() {
    let s = survey(vec![("t", QuestionKind::OpenText { max_chars: 500 })]);
    let texts = [
        "Dark mode please",
        "Offline sync keeps failing",
        "The price is too high",
        "Dark mode at night",
    ];
    let rs: Vec<_> = (0..400)
        .map(|i| {
            resp(
                i,
                "t",
                AnswerValue::Text(texts[i as usize % texts.len()].into()),
                &[],
            )
        })
        .collect();
    let refs: Vec<&Response> = rs.iter().collect();
    let q = &s.questions[0];
    let report = |cap: usize| {
        let mut rep = empty_question(q);
        open_text::analyse_capped(q, &refs, &mut rep, cap);
        rep
    };
    // Not sampled: the same report as the uncapped path, and no sample stated.
    let all = report(400);
    assert_eq!(all, report(usize::MAX));
    assert_eq!(all.n, 400);
    assert_eq!(all.detail.text_summary().unwrap().sample, None);
    assert!(
        all.finding
            .params
            .get("sample_of")
            .is_none_or(|v| v.is_null())
    );
    // Sampled: 100 of 400 read, the sample stated, shares of the sample.
    let some = report(100);
    assert_eq!(some.n, 400, "n counts every answer");
    let summary = some.detail.text_summary().unwrap();
    assert_eq!(
        summary.sample,
        Some(TextSample {
            analysed: 100,
            answers: 400
        })
    );
    let themes = some.detail.themes().unwrap();
    let classified: usize = themes.iter().map(|t| t.count).sum();
    assert_eq!(classified + summary.unclassified, 100);
    for t in themes {
        assert_eq!(t.share, t.count as f64 / 100.0);
    }
    assert_eq!(some.finding.params["sample_of"], 400);
    assert_eq!(some.finding.params["n"], 100);
    // The same respondents every run, whatever order they come in.
    let mut shuffled = refs.clone();
    shuffled.reverse();
    let mut again = empty_question(q);
    open_text::analyse_capped(q, &shuffled, &mut again, 100);
    assert_eq!(again.detail.text_summary().unwrap().sample, summary.sample);
    let counts = |r: &QuestionReport| {
        let mut c: Vec<(String, usize)> = r
            .detail
            .themes()
            .unwrap()
            .iter()
            .map(|t| (t.label.clone(), t.count))
            .collect();
        c.sort();
        c
    };
    assert_eq!(counts(&again), counts(&some));
}
