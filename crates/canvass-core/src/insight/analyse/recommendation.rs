//! The headline question, whether its finding is clear (for the confidence badge), and the
//! recommendation: the next step and what would change it, from written rules.

use super::pct;
use crate::core::survey::Survey;
use crate::insight::report::*;
use serde_json::json;
use std::collections::BTreeSet;

/// The question the headline is about: the first one that is not open text.
pub(super) fn primary(report: &[QuestionReport]) -> Option<usize> {
    report
        .iter()
        .position(|q| q.kind != "open_text" && q.n > 0)
        .or_else(|| report.iter().position(|q| q.n > 0))
}

/// The configured headline question if it has answers, else the first answered one.
pub(super) fn headline_question(survey: &Survey, report: &[QuestionReport]) -> Option<usize> {
    survey
        .headline
        .as_ref()
        .and_then(|h| report.iter().position(|q| q.id == h.as_str() && q.n > 0))
        .or_else(|| primary(report))
}

pub(super) fn finding_is_clear(q: &QuestionReport) -> bool {
    if let Some(r) = q.detail.ranking() {
        return r.robust_winner.is_some();
    }
    if let Some(mt) = q.detail.message_test() {
        if mt.keep_collecting {
            return false;
        }
    }
    if let Some(l) = q.detail.leader() {
        return l.clearly_ahead;
    }
    if let Some(p) = q.detail.pairwise() {
        return p.top_beats_second.is_some_and(|p| p >= 0.8);
    }
    if let Some(n) = q.detail.nps() {
        return n.ci95[1] - n.ci95[0] <= 30.0;
    }
    if let Some(r) = q.detail.rating() {
        return r.ci95.is_some_and(|c| c[1] - c[0] <= 0.6);
    }
    q.detail.themes().is_some()
}

pub(super) fn recommend(
    prim: Option<&QuestionReport>,
    n: usize,
    quality: &Quality,
    questions: &[QuestionReport],
) -> Recommendation {
    let target = if n < 30 { 30 } else { 100 };
    let differs: Vec<String> = questions
        .iter()
        .flat_map(|q| {
            q.segments
                .iter()
                .filter(|s| s.differs)
                .map(|s| s.segment.clone())
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let Some(q) = prim else {
        return Recommendation {
            next_step: Statement::new(Code::CollectMore, json!({ "target": 30 })),
            would_change: Statement::new(Code::NReaches, json!({ "target": 30 })),
        };
    };
    if quality.burst_flagged * 10 > n.max(1) {
        return Recommendation {
            next_step: Statement::new(Code::CheckBurst, json!({ "count": quality.burst_flagged })),
            would_change: Statement::new(Code::BurstExplained, json!({})),
        };
    }
    if n < 30 {
        return Recommendation {
            next_step: Statement::new(Code::CollectMore, json!({ "target": target, "n": n })),
            would_change: Statement::new(Code::NReaches, json!({ "target": target })),
        };
    }
    if let Some(mt) = q.detail.message_test() {
        if mt.keep_collecting {
            return Recommendation {
                next_step: Statement::new(
                    Code::KeepTestRunning,
                    json!({ "min": mt.min_per_variant, "n": q.n }),
                ),
                would_change: Statement::new(Code::VariantPullsAhead, json!({})),
            };
        }
    }
    if let Some(r) = q.detail.ranking() {
        return match &r.robust_winner {
            Some(w) => Recommendation {
                next_step: Statement::new(
                    Code::ActOn,
                    json!({ "label": label_for(q, w), "segments": differs }),
                ),
                would_change: Statement::new(Code::MethodsDisagree, json!({})),
            },
            None => Recommendation {
                next_step: Statement::new(
                    Code::FollowUpPairwise,
                    json!({ "options": r.schulze_order.iter().take(2).map(|id| label_for(q, id)).collect::<Vec<_>>() }),
                ),
                would_change: Statement::new(Code::MethodsAgree, json!({})),
            },
        };
    }
    match q.detail.leader() {
        Some(l) if l.clearly_ahead => {
            let low = q
                .detail
                .options()
                .and_then(|o| o.iter().find(|o| o.id == l.id))
                .map(|o| pct(o.ci95[0]));
            Recommendation {
                next_step: Statement::new(
                    Code::ActOn,
                    json!({ "label": l.label, "segments": differs }),
                ),
                would_change: Statement::new(
                    Code::LeaderFalls,
                    json!({ "label": l.label, "low": low, "runner_up": l.runner_up }),
                ),
            }
        }
        Some(l) => Recommendation {
            next_step: Statement::new(
                Code::FollowUpBetween,
                json!({ "a": l.label, "b": l.runner_up }),
            ),
            would_change: Statement::new(Code::GapOpens, json!({ "a": l.label, "b": l.runner_up })),
        },
        None if q.detail.nps().is_some() || q.detail.rating().is_some() => Recommendation {
            next_step: Statement::new(Code::ReadDetractors, json!({})),
            would_change: Statement::new(Code::ScoreMoves, json!({})),
        },
        None => Recommendation {
            next_step: Statement::new(Code::CollectMore, json!({ "target": target, "n": n })),
            would_change: Statement::new(Code::NReaches, json!({ "target": target })),
        },
    }
}

pub(super) fn label_for(q: &QuestionReport, id: &str) -> String {
    q.detail
        .options()
        .and_then(|o| o.iter().find(|o| o.id == id).map(|o| o.label.clone()))
        .or_else(|| {
            q.detail.pairwise().and_then(|p| {
                p.bradley_terry
                    .iter()
                    .find(|s| s.option == id)
                    .map(|s| s.label.clone())
            })
        })
        .unwrap_or_else(|| id.to_string())
}
