//! Quality checks: speeders, bursts of new accounts (and the headline without them), drift
//! between early and late respondents, and coverage of the members reached.

use super::choice::choice_counts;
use super::recommendation::headline_question;
use super::segments::{categories, category_labels};
use super::{Input, Response, share};
use crate::core::survey::Survey;
use crate::insight::report::*;
use crate::insight::stats;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

pub(super) fn quality_empty(n: usize) -> Quality {
    Quality {
        tier: Tier::of(n),
        respondents: n,
        speeders: 0,
        new_members: 0,
        burst_flagged: 0,
        headline_without_flagged: None,
        leader_without_flagged: None,
        drift_p_value: None,
        drift: false,
        coverage: None,
    }
}

pub(super) fn quality(
    input: &Input<'_>,
    rs: &[&Response],
    questions: &[QuestionReport],
    survey: &Survey,
) -> Quality {
    let n = rs.len();
    let mut q = quality_empty(n);
    q.coverage = input
        .members_reached
        .filter(|m| *m > 0)
        .map(|m| share(n as u64, m).min(1.0));
    // Speeders: under a third of the median answering time, once n >= 30.
    let mut secs: Vec<f64> = rs.iter().filter_map(|r| r.seconds).collect();
    if secs.len() >= 30 {
        secs.sort_by(f64::total_cmp);
        let median = secs[secs.len() / 2];
        q.speeders = secs.iter().filter(|s| **s < median / 3.0).count();
    }
    // Bursts: five or more accounts new to the community answering within an hour.
    let mut new: Vec<(DateTime<Utc>, i64)> = rs
        .iter()
        .filter(|r| r.new_member)
        .map(|r| (r.first_at, r.respondent))
        .collect();
    q.new_members = new.len();
    new.sort();
    let mut flagged = BTreeSet::new();
    let mut start = 0;
    for end in 0..new.len() {
        while new[end].0 - new[start].0 > chrono::Duration::hours(1) {
            start += 1;
        }
        if end + 1 - start >= 5 {
            for x in &new[start..=end] {
                flagged.insert(x.1);
            }
        }
    }
    q.burst_flagged = flagged.len();
    let prim = headline_question(survey, questions);
    // With and without the flagged answers, two numbers differ by the flagged group's own
    // answers: give the second only when that group is large enough to show.
    let showable = |k: usize| k >= input.min_segment.max(1);
    if showable(flagged.len()) && showable(n - flagged.len()) {
        if let Some(pq) = prim.and_then(|i| survey.questions.get(i)) {
            let kept: Vec<&Response> = rs
                .iter()
                .copied()
                .filter(|r| !flagged.contains(&r.respondent))
                .collect();
            if pq.kind.options().len() >= 2 {
                let (counts, m) = choice_counts(pq, &kept);
                let top = counts
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)));
                if let (Some((i, c)), true) = (top, m > 0) {
                    q.headline_without_flagged = Some(share(*c, m));
                    q.leader_without_flagged = pq.kind.options().get(i).map(|o| o.label.clone());
                }
            }
        }
    }
    // Drift: first third against last third of respondents by time, on the primary question.
    if n >= 30 {
        if let Some(pq) = prim.and_then(|i| survey.questions.get(i)) {
            let mut ordered: Vec<&Response> = rs.to_vec();
            ordered.sort_by_key(|r| r.first_at);
            let third = n / 3;
            let labels = category_labels(pq);
            let tally = |part: &[&Response]| {
                let mut t = vec![0u64; labels.len()];
                for r in part {
                    for c in categories(pq, r).unwrap_or_default() {
                        if let Some(x) = t.get_mut(c) {
                            *x += 1;
                        }
                    }
                }
                t
            };
            let (early, late) = (tally(&ordered[..third]), tally(&ordered[n - third..]));
            if let Some(chi) = stats::chi_square_independence(&[early, late]) {
                q.drift_p_value = Some(chi.p_value);
                q.drift = chi.p_value < 0.01;
            }
        }
    }
    q
}
