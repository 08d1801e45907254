//! Rating and NPS questions: mean with a t interval and top-2 box, or the NPS score with
//! its interval.

use super::{Response, ci, pct, share};
use crate::core::answer::AnswerValue;
use crate::core::survey::Question;
use crate::insight::report::*;
use crate::insight::stats;
use serde_json::json;

/// Fills the report of a rating question on a 1..=`scale` scale.
pub(super) fn rating(q: &Question, scale: &u8, rs: &[&Response], rep: &mut QuestionReport) {
    let vals: Vec<f64> = rs
        .iter()
        .filter_map(|r| match r.answers.get(q.id.as_str()) {
            Some(AnswerValue::Scale(v)) if (1..=*scale).contains(v) => Some(f64::from(*v)),
            _ => None,
        })
        .collect();
    let n = vals.len();
    rep.n = n;
    if let Some(m) = stats::mean_t_interval(&vals) {
        let mut dist = vec![0u64; usize::from(*scale)];
        for v in &vals {
            if let Some(x) = dist.get_mut(*v as usize - 1) {
                *x += 1;
            }
        }
        let top = vals
            .iter()
            .filter(|v| **v >= f64::from(*scale) - 1.0)
            .count() as u64;
        let same = dist.iter().filter(|c| **c > 0).count() == 1;
        rep.detail = QuestionDetail::Rating(RatingStat {
            scale: *scale,
            mean: m.mean,
            ci95: m.interval().map(|i| [i.low, i.high]),
            top2_share: share(top, n),
            top2_ci95: ci(stats::wilson(top, n as u64)),
            distribution: dist,
        });
        rep.finding = Statement::new(
            if n < 10 {
                Code::RatingCounts
            } else {
                Code::Rating
            },
            json!({ "mean": (m.mean * 10.0).round() / 10.0, "scale": scale, "n": n,
                    "low": m.interval().map(|i| (i.low * 10.0).round() / 10.0),
                    "high": m.interval().map(|i| (i.high * 10.0).round() / 10.0),
                    "top2": pct(share(top, n)), "top2_count": top,
                    // Every answer the same point: a zero-width interval, said in words.
                    "same": same }),
        );
    }
}

/// Fills the report of an NPS question.
pub(super) fn nps(q: &Question, rs: &[&Response], rep: &mut QuestionReport) {
    let mut by = [0u64; 11];
    for r in rs {
        if let Some(AnswerValue::Scale(v)) = r.answers.get(q.id.as_str()) {
            if let Some(x) = by.get_mut(usize::from(*v)) {
                *x += 1;
            }
        }
    }
    if let Some(s) = stats::nps(&by) {
        rep.n = s.n as usize;
        rep.detail = QuestionDetail::Nps(NpsStat {
            score: s.score,
            adjusted_score: s.centre,
            ci95: [s.low, s.high],
            promoters: s.promoters,
            passives: s.passives,
            detractors: s.detractors,
        });
        rep.finding = Statement::new(
            if s.n < 10 { Code::NpsCounts } else { Code::Nps },
            json!({ "score": s.score.round() as i64, "low": s.low.round() as i64, "high": s.high.round() as i64,
                    "n": s.n, "promoters": s.promoters, "passives": s.passives, "detractors": s.detractors }),
        );
    }
}
