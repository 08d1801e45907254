//! Single-choice, multiple-choice and message-test questions: counts, intervals, P(best),
//! the leader test and the finding that names a leader, a tie or too few answers.

use super::{Response, ci, pct, share};
use crate::core::answer::AnswerValue;
use crate::core::survey::{Question, QuestionKind};
use crate::insight::report::*;
use crate::insight::stats;
use serde_json::json;

/// Fills the report of a single, multi or message-test question.
pub(super) fn analyse(q: &Question, rs: &[&Response], rep: &mut QuestionReport) {
    let multi = matches!(q.kind, QuestionKind::Multi { .. });
    let (counts, n) = choice_counts(q, rs);
    rep.n = n;
    let options = option_stats(q, &counts, n, multi);
    let leader = leader(q, &counts, n, multi);
    rep.detail = match &q.kind {
        QuestionKind::MessageTest {
            min_per_variant, ..
        } => {
            let two = counts.len() == 2;
            QuestionDetail::MessageTest {
                message_test: MessageTestStat {
                    min_per_variant: *min_per_variant,
                    keep_collecting: n < *min_per_variant,
                    prob_a_better: two.then(|| stats::prob_a_preferred(counts[0], counts[1])),
                    p_value: leader.as_ref().map(|l| l.p_value),
                },
                options,
                leader,
            }
        }
        _ => QuestionDetail::Choice { options, leader },
    };
    rep.finding = choice_finding(rep, n);
}

/// Counts per option among respondents who answered a choice question.
pub(super) fn choice_counts(q: &Question, rs: &[&Response]) -> (Vec<u64>, usize) {
    let opts = q.kind.options();
    let mut counts = vec![0u64; opts.len()];
    let mut n = 0;
    for r in rs {
        match r.answers.get(q.id.as_str()) {
            Some(AnswerValue::Choice(id)) => {
                if let Some(i) = q.option_index(id) {
                    counts[i] += 1;
                    n += 1;
                }
            }
            Some(AnswerValue::Choices(ids)) => {
                let mut any = false;
                for id in ids {
                    if let Some(i) = q.option_index(id) {
                        counts[i] += 1;
                        any = true;
                    }
                }
                n += usize::from(any);
            }
            _ => {}
        }
    }
    (counts, n)
}

pub(super) fn option_stats(q: &Question, counts: &[u64], n: usize, multi: bool) -> Vec<OptionStat> {
    let best = if multi {
        stats::prob_best_independent(counts, n as u64).unwrap_or_default()
    } else {
        stats::prob_best(counts)
    };
    q.kind
        .options()
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, (o, c))| OptionStat {
            id: o.id.to_string(),
            label: o.label.clone(),
            count: *c,
            share: share(*c, n),
            ci95: ci(stats::wilson(*c, n as u64)),
            prob_best: best.get(i).copied().unwrap_or(0.0),
        })
        .collect()
}

pub(super) fn leader(q: &Question, counts: &[u64], n: usize, multi: bool) -> Option<Leader> {
    let opts = q.kind.options();
    if n == 0 {
        return None;
    }
    if multi {
        // Options are not exclusive: call the leader clear only when intervals do not overlap.
        let mut idx: Vec<usize> = (0..counts.len()).collect();
        idx.sort_by_key(|i| std::cmp::Reverse(counts[*i]));
        let (a, b) = (idx.first().copied()?, idx.get(1).copied()?);
        if counts[a] == counts[b] {
            return None;
        }
        let (ia, ib) = (
            stats::wilson(counts[a], n as u64)?,
            stats::wilson(counts[b], n as u64)?,
        );
        let z = stats::two_proportion_z(counts[a], n as u64, counts[b], n as u64);
        return Some(Leader {
            id: opts[a].id.to_string(),
            label: opts[a].label.clone(),
            runner_up: Some(opts[b].label.clone()),
            margin: share(counts[a] - counts[b], n),
            margin_adjusted: share(counts[a] - counts[b], n),
            margin_ci95: [ia.low - ib.high, ia.high - ib.low],
            p_value: z.map(|z| z.p_value).unwrap_or(1.0),
            clearly_ahead: ia.low > ib.high,
        });
    }
    let t = stats::leader_test(counts, n as u64)?;
    let l = t.leader?;
    Some(Leader {
        id: opts.get(l)?.id.to_string(),
        label: opts.get(l)?.label.clone(),
        runner_up: opts.get(t.runner_up).map(|o| o.label.clone()),
        margin: t.diff,
        margin_adjusted: t.centre,
        margin_ci95: [t.low, t.high],
        p_value: t.p_value,
        clearly_ahead: t.clearly_ahead,
    })
}

pub(super) fn choice_finding(rep: &QuestionReport, n: usize) -> Statement {
    let opts = rep.detail.options().unwrap_or(&[]);
    if n == 0 {
        return Statement::new(Code::NoAnswers, json!({}));
    }
    if let Some(mt) = rep.detail.message_test() {
        if mt.keep_collecting {
            return Statement::new(
                Code::KeepCollecting,
                json!({ "n": n, "min": mt.min_per_variant,
                        "leader": rep.detail.leader().map(|l| l.label.clone()) }),
            );
        }
    }
    if n < 10 {
        let counts: Vec<_> = opts
            .iter()
            .map(|o| json!({ "label": o.label, "count": o.count }))
            .collect();
        return Statement::new(Code::CountsOnly, json!({ "n": n, "counts": counts }));
    }
    match rep.detail.leader() {
        Some(l) if l.clearly_ahead => {
            let o = opts.iter().find(|o| o.id == l.id);
            Statement::new(
                Code::LeaderClear,
                json!({ "label": l.label, "n": n, "runner_up": l.runner_up,
                        "share": o.map(|o| pct(o.share)), "low": o.map(|o| pct(o.ci95[0])),
                        "high": o.map(|o| pct(o.ci95[1])), "margin": pct(l.margin) }),
            )
        }
        Some(l) => {
            let a = opts.iter().find(|o| o.id == l.id);
            let b = opts.iter().filter(|o| o.id != l.id).max_by_key(|o| o.count);
            // Members needed for the current margin to become clear: n' = n * (z*se/margin)^2 / se^2.
            let needed = if l.margin > 0.0 {
                let half = (l.margin_ci95[1] - l.margin_ci95[0]) / 2.0;
                let factor = (half / l.margin).powi(2);
                Some(((n as f64) * factor).ceil() as usize)
            } else {
                None
            };
            Statement::new(
                Code::LeaderUnclear,
                json!({ "a": l.label, "b": b.map(|o| o.label.clone()), "n": n,
                        "share_a": a.map(|o| pct(o.share)), "share_b": b.map(|o| pct(o.share)),
                        "needed": needed }),
            )
        }
        None => {
            let top = opts.iter().map(|o| o.count).max().unwrap_or(0);
            let tied: Vec<_> = opts
                .iter()
                .filter(|o| o.count == top)
                .map(|o| o.label.clone())
                .collect();
            Statement::new(
                Code::Tie,
                json!({ "labels": tied, "n": n, "share": pct(share(top, n)) }),
            )
        }
    }
}
