//! Builds the report model from answers: per-question statistics, segments with one
//! Benjamini-Hochberg correction, quality checks, change since a previous run, and the
//! headline, confidence badge and recommendation from written rules.
//!
//! One file per concern: `choice`, `scale` (rating, NPS), `ranking` (ranking, pairwise) and
//! `open_text` per question type; `segments`, `change`, `quality` and `recommendation`.

mod change;
mod choice;
mod open_text;
mod quality;
mod ranking;
mod recommendation;
mod response;
mod scale;
mod segments;
#[cfg(test)]
mod tests;

use super::report::*;
use super::stats;
use crate::core::survey::{Question, QuestionKind, Status, Survey};
use change::change;
use quality::{quality, quality_empty};
use recommendation::{finding_is_clear, headline_question, recommend};
pub use response::{Answers, Interner, Response, Segments};
use serde_json::json;

/// False discovery rate for segment findings.
pub const FDR_Q: f64 = 0.10;
/// Segment claims need this many respondents in the segment (and outside it).
pub const CLAIM_MIN: usize = 30;

/// A previous report to compare against (an earlier run of a recurring survey, or the last digest).
#[derive(Debug, Clone)]
pub struct Previous<'a> {
    pub label: String,
    pub report: &'a Report,
}

pub struct Input<'a> {
    pub survey: &'a Survey,
    pub status: Status,
    pub responses: &'a [Response],
    /// Segments smaller than this are never shown.
    pub min_segment: usize,
    /// Restrict the report to one segment.
    pub segment: Option<&'a str>,
    pub previous: Option<Previous<'a>>,
    /// Members the survey reached, where the platform tells.
    pub members_reached: Option<usize>,
}

fn ci(i: Option<stats::Interval>) -> [f64; 2] {
    i.map(|i| [i.low, i.high]).unwrap_or([0.0, 1.0])
}

fn share(x: u64, n: usize) -> f64 {
    if n == 0 { 0.0 } else { x as f64 / n as f64 }
}

fn pct(x: f64) -> f64 {
    crate::locale::round_places(x * 100.0, 1)
}

/// One question's report over the given respondents.
fn analyse_question(q: &Question, rs: &[&Response]) -> QuestionReport {
    let mut rep = empty_question(q);
    match &q.kind {
        QuestionKind::Single { .. }
        | QuestionKind::Multi { .. }
        | QuestionKind::MessageTest { .. } => choice::analyse(q, rs, &mut rep),
        QuestionKind::Rating { scale, .. } => scale::rating(q, scale, rs, &mut rep),
        QuestionKind::Nps { .. } => scale::nps(q, rs, &mut rep),
        QuestionKind::Ranking { options, .. } => ranking::ranking(q, options, rs, &mut rep),
        QuestionKind::Pairwise { options, .. } => ranking::pairwise(q, options, rs, &mut rep),
        QuestionKind::OpenText { .. } => open_text::analyse(q, rs, &mut rep),
    }
    rep
}

/// Builds the report.
pub fn analyse(input: &Input<'_>) -> Report {
    build(input, false)
}

/// A report good only as the `Previous` of another: the per-question statistics a change
/// line compares (counts, shares, leader, NPS, mean rating), without open-text themes or
/// segment tests, which no comparison reads. The digest's view as of the last digest and a
/// recurring survey's previous run cost a fraction of a full report this way.
pub fn baseline(input: &Input<'_>) -> Report {
    build(input, true)
}

fn build(input: &Input<'_>, baseline: bool) -> Report {
    let survey = input.survey;
    let all: Vec<&Response> = input
        .responses
        .iter()
        .filter(|r| !r.answers.is_empty())
        .collect();
    let rs: Vec<&Response> = match input.segment {
        Some(s) => all
            .iter()
            .copied()
            .filter(|r| r.segments.contains(s))
            .collect(),
        None => all.clone(),
    };
    let n = rs.len();
    let info = SurveyInfo {
        id: survey.id.to_string(),
        title: survey.title.clone(),
        status: input.status.as_str().to_string(),
        respondents: n,
    };
    let mut caveats = vec![Statement::new(Code::SelfSelected, json!({}))];

    if let Some(seg) = input.segment {
        // A segment report is refused when the segment is small, and also when what is left
        // outside it is small: the full report minus this one would show those few answers.
        let refusal = if n < input.min_segment {
            Some((
                Statement::new(
                    Code::SegmentTooSmall,
                    json!({ "segment": seg, "min": input.min_segment }),
                ),
                Statement::new(Code::ReasonSegmentTooSmall, json!({})),
            ))
        } else if all.len() - n < input.min_segment {
            Some((
                Statement::new(
                    Code::SegmentComplementTooSmall,
                    json!({ "segment": seg, "min": input.min_segment }),
                ),
                Statement::new(Code::ReasonSegmentComplementTooSmall, json!({})),
            ))
        } else {
            None
        };
        if let Some((headline, reason)) = refusal {
            // Never reveal how small the segment is: report the survey's total instead.
            return Report {
                survey: SurveyInfo {
                    respondents: all.len(),
                    ..info
                },
                segment_filter: Some(seg.to_string()),
                questions: Vec::new(),
                quality: quality_empty(all.len()),
                confidence: Confidence::Directional,
                confidence_reasons: vec![reason],
                headline,
                recommendation: Recommendation {
                    next_step: Statement::new(
                        Code::CollectMore,
                        json!({ "target": input.min_segment }),
                    ),
                    would_change: Statement::new(
                        Code::NReaches,
                        json!({ "target": input.min_segment }),
                    ),
                },
                caveats,
                fdr_q: FDR_Q,
                tests: 0,
                min_segment: input.min_segment,
                narrative: Default::default(),
            };
        }
    }

    let report_on = |q: &Question| match input.segment {
        Some(_) if small_cell(q, &rs, &all, input.min_segment) => withheld(q, input.min_segment),
        _ => analyse_question(q, &rs),
    };
    let is_text = |q: &Question| matches!(q.kind, QuestionKind::OpenText { .. });
    // Open text (themes over every text) runs on a second core while the other questions and
    // the segment tests run on this one; segments never test open text, so neither waits
    // for the other. Pure work on shared data: the numbers are the same either way.
    let (mut questions, tests, texts) = std::thread::scope(|scope| {
        let texts = (!baseline && survey.questions.iter().any(is_text)).then(|| {
            scope.spawn(|| {
                survey
                    .questions
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| is_text(q))
                    .map(|(i, q)| (i, report_on(q)))
                    .collect::<Vec<_>>()
            })
        });
        let mut questions: Vec<QuestionReport> = survey
            .questions
            .iter()
            .map(|q| {
                if is_text(q) {
                    empty_question(q)
                } else {
                    report_on(q)
                }
            })
            .collect();
        let tests = if baseline {
            0
        } else {
            segments::attach(input, &rs, &mut questions)
        };
        (questions, tests, texts.map(|t| t.join()))
    });
    match texts {
        Some(Ok(texts)) => {
            for (i, r) in texts {
                if let Some(q) = questions.get_mut(i) {
                    *q = r;
                }
            }
        }
        // A panic in the text analysis is the same bug it would be on this thread.
        Some(Err(panic)) => std::panic::resume_unwind(panic),
        None => {}
    }

    // Change since the previous run.
    if let Some(prev) = &input.previous {
        for q in &mut questions {
            if let Some(b) = prev
                .report
                .questions
                .iter()
                .find(|b| b.id == q.id && b.kind == q.kind)
            {
                q.change = change(b, q, &prev.label);
            }
        }
    }

    let quality = quality(input, &rs, &questions, survey);
    let prim = headline_question(survey, &questions);
    let tier = Tier::of(n);

    // Confidence from written rules (documented in the method footer).
    let mut reasons = Vec::new();
    let mut conf = match tier {
        Tier::CountsOnly | Tier::Directional => {
            reasons.push(Statement::new(Code::SmallSample, json!({ "n": n })));
            Confidence::Directional
        }
        Tier::NoSegmentClaims => {
            reasons.push(Statement::new(Code::ModerateSample, json!({ "n": n })));
            Confidence::Medium
        }
        Tier::Full => Confidence::High,
    };
    let cap = |c: &mut Confidence, to: Confidence| {
        let rank = |c: Confidence| match c {
            Confidence::High => 2,
            Confidence::Medium => 1,
            Confidence::Directional => 0,
        };
        if rank(to) < rank(*c) {
            *c = to;
        }
    };
    if let Some(p) = prim.and_then(|i| questions.get(i)) {
        if !finding_is_clear(p) {
            reasons.push(Statement::new(Code::NotClear, json!({})));
            cap(&mut conf, Confidence::Medium);
        }
    }
    if quality.burst_flagged * 10 > n.max(1) {
        reasons.push(Statement::new(
            Code::ReasonBurst,
            json!({ "count": quality.burst_flagged }),
        ));
        cap(&mut conf, Confidence::Directional);
    }
    if quality.drift {
        reasons.push(Statement::new(Code::ReasonDrift, json!({})));
        cap(&mut conf, Confidence::Medium);
    }
    if quality.speeders * 5 > n.max(1) {
        reasons.push(Statement::new(
            Code::ReasonSpeeders,
            json!({ "count": quality.speeders }),
        ));
        cap(&mut conf, Confidence::Medium);
    }

    // Caveats.
    match tier {
        Tier::CountsOnly => caveats.push(Statement::new(Code::CountsOnlyCaveat, json!({ "n": n }))),
        Tier::Directional => caveats.push(Statement::new(Code::Directional, json!({ "n": n }))),
        Tier::NoSegmentClaims => {
            caveats.push(Statement::new(Code::NoSegmentClaims, json!({ "n": n })))
        }
        Tier::Full => {}
    }
    if input.status == Status::Open {
        caveats.push(Statement::new(Code::StillOpen, json!({})));
    }
    if quality.speeders > 0 {
        caveats.push(Statement::new(
            Code::Speeders,
            json!({ "count": quality.speeders }),
        ));
    }
    if quality.burst_flagged > 0 {
        caveats.push(Statement::new(
            Code::Burst,
            json!({ "count": quality.burst_flagged,
                    "without": quality.headline_without_flagged.map(pct), "leader": quality.leader_without_flagged }),
        ));
    }
    if quality.drift {
        caveats.push(Statement::new(
            Code::Drift,
            json!({ "p": quality.drift_p_value }),
        ));
    }
    match quality.coverage {
        Some(c) => caveats.push(Statement::new(Code::Coverage, json!({ "share": pct(c) }))),
        None => caveats.push(Statement::new(Code::CoverageUnknown, json!({}))),
    }
    if input.segment.is_none() {
        caveats.push(Statement::new(
            Code::SmallSegmentsHidden,
            json!({ "min": input.min_segment }),
        ));
    }

    let headline = match prim.and_then(|i| questions.get(i)) {
        None => Statement::new(Code::NoAnswers, json!({ "title": survey.title })),
        Some(_) if n < 10 => Statement::new(Code::TooFew, json!({ "n": n })),
        Some(q) => q.finding.clone(),
    };
    let recommendation = recommend(prim.and_then(|i| questions.get(i)), n, &quality, &questions);

    Report {
        survey: info,
        segment_filter: input.segment.map(str::to_string),
        questions,
        quality,
        confidence: conf,
        confidence_reasons: reasons,
        headline,
        recommendation,
        caveats,
        fdr_q: FDR_Q,
        tests,
        min_segment: input.min_segment,
        narrative: Default::default(),
    }
}

/// In a segment report, whether question `q` is a small cell: fewer than `min` of the
/// segment answered it, or fewer than `min` of everyone else did (the full report minus
/// this one would show their answers).
fn small_cell(q: &Question, seg: &[&Response], all: &[&Response], min: usize) -> bool {
    let answered = |rs: &[&Response]| {
        rs.iter()
            .filter(|r| r.answers.contains_key(q.id.as_str()))
            .count()
    };
    let (in_seg, total) = (answered(seg), answered(all));
    in_seg < min || total - in_seg < min
}

/// A question whose cell is too small to show: no count, no statistic, only why.
fn withheld(q: &Question, min: usize) -> QuestionReport {
    QuestionReport {
        withheld: true,
        finding: Statement::new(Code::CellWithheld, json!({ "min": min })),
        ..empty_question(q)
    }
}

fn empty_question(q: &Question) -> QuestionReport {
    QuestionReport {
        id: q.id.to_string(),
        kind: q.kind.type_name(),
        text: q.text.clone(),
        n: 0,
        withheld: false,
        detail: QuestionDetail::None,
        segments: Vec::new(),
        change: None,
        finding: Statement::new(Code::NoAnswers, json!({})),
    }
}
