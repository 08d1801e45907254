//! Ranking and pairwise questions: Borda, Schulze, IRV, plurality and Condorcet with a
//! robust winner when they agree, and Bradley-Terry strengths for pairwise judgements.

use super::{Response, pct};
use crate::core::answer::AnswerValue;
use crate::core::survey::{Choice, Question};
use crate::insight::report::*;
use crate::insight::{bradley_terry, voting};
use serde_json::json;

/// Fills the report of a ranking question.
pub(super) fn ranking(
    q: &Question,
    options: &[Choice],
    rs: &[&Response],
    rep: &mut QuestionReport,
) {
    let m = options.len();
    let ballots: Vec<Vec<usize>> = rs
        .iter()
        .filter_map(|r| match r.answers.get(q.id.as_str()) {
            Some(AnswerValue::Ranking(ids)) => {
                Some(ids.iter().filter_map(|id| q.option_index(id)).collect())
            }
            _ => None,
        })
        .filter(|b: &Vec<usize>| !b.is_empty())
        .collect();
    rep.n = ballots.len();
    if !ballots.is_empty() {
        let id = |i: usize| options[i].id.to_string();
        let borda = voting::borda(&ballots, m);
        let matrix = voting::pairwise_matrix(&ballots, m);
        let order = voting::schulze_order(&matrix);
        let irv = voting::instant_runoff(&ballots, m);
        let plur = voting::plurality(&ballots, m);
        let cond = voting::condorcet_winner(&matrix);
        let mut b_idx: Vec<usize> = (0..m).collect();
        b_idx.sort_by(|a, b| borda[*b].total_cmp(&borda[*a]).then(a.cmp(b)));
        let borda_top = (b_idx.len() < 2 || borda[b_idx[0]] > borda[b_idx[1]]).then(|| b_idx[0]);
        let candidates = [borda_top, order.first().copied(), irv, plur.winner, cond];
        let robust = match candidates[0] {
            Some(w) if candidates.iter().all(|c| *c == Some(w)) => Some(w),
            _ => None,
        };
        let top3: Vec<usize> = order.iter().take(3).copied().collect();
        let mut h2h = Vec::new();
        for (i, a) in top3.iter().enumerate() {
            for b in &top3[i + 1..] {
                h2h.push(HeadToHead {
                    a: options[*a].label.clone(),
                    b: options[*b].label.clone(),
                    a_over_b: matrix[*a][*b],
                    b_over_a: matrix[*b][*a],
                });
            }
        }
        let partial = ballots.iter().filter(|b| b.len() < m).count();
        rep.detail = QuestionDetail::Ranking(RankingStat {
            borda: b_idx
                .iter()
                .map(|i| Points {
                    option: id(*i),
                    label: options[*i].label.clone(),
                    points: borda[*i],
                })
                .collect(),
            schulze_order: order.iter().map(|i| id(*i)).collect(),
            irv_winner: irv.map(id),
            plurality_winner: plur.winner.map(id),
            condorcet_winner: cond.map(id),
            robust_winner: robust.map(id),
            head_to_head: h2h,
            partial_ballots: partial,
        });
        rep.finding = match robust {
            Some(w) => Statement::new(
                Code::RobustWinner,
                json!({ "label": options[w].label, "n": ballots.len() }),
            ),
            None => Statement::new(
                Code::NoRobustWinner,
                json!({
                    "n": ballots.len(),
                    "borda": borda_top.map(|i| options[i].label.clone()),
                    "schulze": order.first().map(|i| options[*i].label.clone()),
                    "irv": irv.map(|i| options[i].label.clone()),
                    "plurality": plur.winner.map(|i| options[i].label.clone()),
                }),
            ),
        };
    }
}

/// Fills the report of a pairwise question.
pub(super) fn pairwise(
    q: &Question,
    options: &[Choice],
    rs: &[&Response],
    rep: &mut QuestionReport,
) {
    let mut judgements = Vec::new();
    let mut people = 0;
    for r in rs {
        if let Some(AnswerValue::Pairwise(js)) = r.answers.get(q.id.as_str()) {
            people += 1;
            for (w, l) in js {
                if let (Some(w), Some(l)) = (q.option_index(w), q.option_index(l)) {
                    judgements.push((w, l));
                }
            }
        }
    }
    rep.n = people;
    if !judgements.is_empty() {
        let bt = bradley_terry::bradley_terry(&judgements, options.len());
        let mut idx: Vec<usize> = (0..options.len()).collect();
        idx.sort_by(|a, b| bt.strengths[*b].total_cmp(&bt.strengths[*a]));
        let top = idx.first().copied();
        let second = idx.get(1).copied();
        let p = match (top, second) {
            (Some(a), Some(b)) => bt.prob_beats(a, b),
            _ => None,
        };
        rep.detail = QuestionDetail::Pairwise(PairwiseStat {
            bradley_terry: idx
                .iter()
                .map(|i| Strength {
                    option: options[*i].id.to_string(),
                    label: options[*i].label.clone(),
                    strength: bt.strengths[*i],
                    comparisons: bt.comparisons.get(*i).copied().unwrap_or(0),
                })
                .collect(),
            wins: bt.wins.clone(),
            judgements: judgements.len(),
            top_beats_second: p,
        });
        if let Some(t) = top.filter(|_| people < 10) {
            // Below the counts-only tier: the top option's own wins and comparisons, no modelled
            // percentage (one answer gave "it would beat ... 71.3% of the time").
            let wins: u64 = bt.wins.get(t).map(|w| w.iter().sum()).unwrap_or(0);
            rep.finding = Statement::new(
                Code::PairwiseCounts,
                json!({ "label": options[t].label, "n": people, "judgements": judgements.len(),
                        "wins": wins, "comparisons": bt.comparisons.get(t).copied().unwrap_or(0) }),
            );
        } else if let Some(t) = top {
            rep.finding = Statement::new(
                Code::PairwiseTop,
                json!({ "label": options[t].label, "strength": pct(bt.strengths[t]),
                        "prob": p.map(pct), "n": people, "judgements": judgements.len(),
                        "second": second.map(|s| options[s].label.clone()) }),
            );
        }
    }
}
