//! The insight read path (`Store::current_responses`, respondents grouped inside SQLite) gives
//! exactly what the row-per-answer reference (`reporting::responses` over
//! `Store::current_answers`) gives: the same responses, and so the same report JSON to the
//! last digit, on random data with every question type, segments, chat segments, locales,
//! shown-at timings, changed and retracted answers, forgotten members, anonymous
//! respondents, a second survey interleaved, and more respondents than one read chunk.

use crate::support::{actor, prompts, t0};
use canvass::core::answer::AnswerValue;
use canvass::core::survey::{Status, Survey};
use canvass::insight::{self, Input, demo};
use canvass::render::Renderer;
use canvass::store::{Store, Who};
use chrono::Duration;

/// A small deterministic generator (xorshift), so a failing seed can be rerun.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// Writes `n` random respondents to each of two surveys (interleaved, so their ids mix) and
/// forgets some members; returns the first survey's key.
async fn seed(store: &Store, s: &Survey, n: usize, rng: &mut Rng) -> canvass::core::ids::SurveyKey {
    // Answer values come from the demo's responses: valid for every question of the survey.
    let pool = demo::responses(s, 300, t0());
    let mut other = s.clone();
    other.id = canvass::core::ids::SurveyId::parse(&format!("{}-other", s.id)).expect("survey id");
    let mut tx = store.begin().await.expect("begins");
    let key = tx
        .insert_survey(s, Status::Open, "import", t0())
        .await
        .expect("survey");
    let second = tx
        .insert_survey(&other, Status::Open, "import", t0())
        .await
        .expect("survey");
    let segments = ["persona: customer", "persona: trying it", "role: mod", "EU"];
    let mut members = Vec::new();
    for i in 0..n * 2 {
        let survey = if i % 2 == 0 { key } else { second };
        let who = if rng.chance(25) {
            let raw: Vec<u8> = (0..16).map(|_| rng.below(256) as u8).collect();
            Who::Anon(raw)
        } else {
            let user = format!("u{}", rng.below(n as u64 * 3));
            let m = tx.upsert_member(&actor(&user), t0()).await.expect("member");
            members.push(user);
            Who::Member(m.id)
        };
        let segs: Vec<String> = segments
            .iter()
            .filter(|_| rng.chance(40))
            .map(|s| s.to_string())
            .collect();
        let rid = tx
            .respondent(survey, &who, "console", &segs, rng.chance(10), t0())
            .await
            .expect("respondent");
        // Coarse times, so several answers share a moment and the row id decides their order.
        let mut at = t0() + Duration::minutes(rng.below(600) as i64);
        for q in &s.questions {
            if rng.chance(15) {
                continue;
            }
            let times = if rng.chance(20) { 2 } else { 1 };
            for _ in 0..times {
                let donor = rng.pick(&pool);
                let Some(value) = donor.answers.get(q.id.as_str()).cloned() else {
                    continue;
                };
                let chat = *rng.pick(&[None, Some("private"), Some("Main chat")]);
                let locale = *rng.pick(&[None, None, Some("de"), Some("es")]);
                let shown = rng
                    .chance(60)
                    .then(|| at - Duration::milliseconds(rng.below(90_000) as i64 - 5_000));
                tx.write_answer(rid, q.id.as_str(), &value, chat, shown, locale, at)
                    .await
                    .expect("answer");
                at += Duration::seconds(rng.below(3) as i64 * 7);
            }
            if rng.chance(4) {
                tx.retract_answer(rid, q.id.as_str(), at)
                    .await
                    .expect("retract");
            }
        }
    }
    for user in &members {
        if rng.chance(5) {
            tx.forget_member("console", user).await.expect("forget");
        }
    }
    tx.commit().await.expect("commits");
    key
}

fn report_json(
    renderer: &Renderer,
    s: &Survey,
    rs: &[insight::Response],
    segment: Option<&str>,
) -> String {
    let r = insight::analyse(&Input {
        survey: s,
        status: Status::Open,
        responses: rs,
        min_segment: 10,
        segment,
        previous: None,
        members_reached: None,
    });
    serde_json::to_string_pretty(&renderer.report_json(&r).expect("renders")).expect("json")
}

#[tokio::test]
async fn grouped_read_gives_the_same_responses_and_reports_as_the_row_reference() {
    let s = demo::survey().expect("demo survey");
    let renderer = Renderer::load(&prompts()).expect("templates load");
    for seed_value in [1u64, 7, 2026, 0x5eed] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("c.db").display().to_string())
            .await
            .expect("opens");
        let mut rng = Rng(seed_value);
        // More than one read chunk (512 respondents) of the first survey.
        let key = seed(&store, &s, 700, &mut rng).await;

        let rows = store.current_answers(key).await.expect("rows");
        assert!(
            rows.iter().any(|r| matches!(r.value, AnswerValue::Text(_))),
            "seed {seed_value}: open text is part of the data"
        );
        let old = canvass::reporting::responses(&rows);
        let new = store.current_responses(key).await.expect("grouped read");
        assert!(
            old.len() > 512,
            "seed {seed_value}: {} respondents",
            old.len()
        );
        assert!(
            old.iter().any(|r| r.respondent < 0),
            "anonymous respondents"
        );
        assert!(old.iter().any(|r| r.seconds.is_some()), "timings");
        assert!(old.iter().any(|r| r.locale.is_some()), "locales");
        assert_eq!(old.len(), new.len(), "seed {seed_value}");
        for (o, n) in old.iter().zip(&new) {
            assert_eq!(o, n, "seed {seed_value}");
        }
        for segment in [None, Some("persona: customer"), Some("Main chat")] {
            assert_eq!(
                report_json(&renderer, &s, &old, segment),
                report_json(&renderer, &s, &new, segment),
                "seed {seed_value}, segment {segment:?}"
            );
        }
        // And through the path `/insights` and `canvass insights` take.
        let stored = store
            .survey_by_key(key)
            .await
            .expect("reads")
            .expect("survey");
        let via = canvass::reporting::report(&store, &stored, None, 10, t0())
            .await
            .expect("report");
        assert_eq!(
            serde_json::to_string_pretty(&renderer.report_json(&via).expect("renders"))
                .expect("json"),
            report_json(&renderer, &s, &old, None),
            "seed {seed_value}: reporting::report"
        );
    }
}

/// The digest's views: as of a moment (`Store::responses_as_of`) and what a period brought
/// (`Store::answers_given`) equal the row reference (`Store::answer_history` filtered to the
/// moment, then `reporting::responses`), including at the exact moment of an answer, of a
/// replacement and of a retraction.
#[tokio::test]
async fn views_as_of_a_moment_equal_the_row_reference() {
    let s = demo::survey().expect("demo survey");
    let renderer = Renderer::load(&prompts()).expect("templates load");
    for seed_value in [3u64, 11, 4242] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("c.db").display().to_string())
            .await
            .expect("opens");
        let mut rng = Rng(seed_value);
        let key = seed(&store, &s, 600, &mut rng).await;
        let history = store.answer_history(key).await.expect("history");
        assert!(
            history.iter().any(|(_, gone)| gone.is_some()),
            "seed {seed_value}: some answers were replaced or retracted"
        );
        let mut moments = vec![t0() - Duration::minutes(1), t0() + Duration::hours(20)];
        for _ in 0..3 {
            let (row, gone) = rng.pick(&history);
            moments.push(row.answered_at);
            moments.extend(*gone);
            moments.push(t0() + Duration::minutes(rng.below(700) as i64));
        }
        for at in moments {
            let rows: Vec<_> = history
                .iter()
                .filter(|(row, gone)| row.answered_at <= at && gone.is_none_or(|g| g > at))
                .map(|(row, _)| row.clone())
                .collect();
            let old = canvass::reporting::responses(&rows);
            let new = store.responses_as_of(key, at).await.expect("grouped read");
            assert_eq!(old.len(), new.len(), "seed {seed_value}, at {at}");
            for (o, n) in old.iter().zip(&new) {
                assert_eq!(o, n, "seed {seed_value}, at {at}");
            }
            if !old.is_empty() {
                assert_eq!(
                    report_json(&renderer, &s, &old, None),
                    report_json(&renderer, &s, &new, None),
                    "seed {seed_value}, at {at}"
                );
            }
            let after = at - Duration::minutes(90);
            assert_eq!(
                store.answers_given(key, after, at).await.expect("counts"),
                rows.iter().filter(|r| r.answered_at > after).count(),
                "seed {seed_value}, period ending {at}"
            );
        }
    }
}

/// A survey that `follows` an earlier run: `reporting::report` (the earlier run read from the
/// store and built as a baseline) gives exactly the report whose previous is the earlier run's
/// full report from the row reference.
#[tokio::test]
async fn a_followed_runs_baseline_gives_the_report_a_full_previous_gives() {
    let renderer = Renderer::load(&prompts()).expect("templates load");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("c.db").display().to_string())
        .await
        .expect("opens");
    let mut rng = Rng(99);
    let mut before = demo::survey().expect("demo survey");
    before.id = canvass::core::ids::SurveyId::parse("q3").expect("id");
    before.title = "Q3 run".into();
    let mut now = demo::survey().expect("demo survey");
    now.id = canvass::core::ids::SurveyId::parse("q4").expect("id");
    now.follows = Some(before.id.clone());
    let prev_key = seed(&store, &before, 300, &mut rng).await;
    let key = seed(&store, &now, 300, &mut rng).await;
    let full_prev = insight::analyse(&Input {
        survey: &before,
        status: Status::Open,
        responses: &canvass::reporting::responses(
            &store.current_answers(prev_key).await.expect("rows"),
        ),
        min_segment: 10,
        segment: None,
        previous: None,
        members_reached: None,
    });
    let expected = insight::analyse(&Input {
        survey: &now,
        status: Status::Open,
        responses: &canvass::reporting::responses(&store.current_answers(key).await.expect("rows")),
        min_segment: 10,
        segment: None,
        previous: Some(insight::Previous {
            label: "Q3 run".into(),
            report: &full_prev,
        }),
        members_reached: None,
    });
    assert!(
        expected.questions.iter().any(|q| q.change.is_some()),
        "the runs are compared"
    );
    let stored = store
        .survey_by_key(key)
        .await
        .expect("reads")
        .expect("survey");
    let via = canvass::reporting::report(&store, &stored, None, 10, t0())
        .await
        .expect("report");
    assert_eq!(
        serde_json::to_string_pretty(&renderer.report_json(&via).expect("renders")).expect("json"),
        serde_json::to_string_pretty(&renderer.report_json(&expected).expect("renders"))
            .expect("json"),
    );
}
