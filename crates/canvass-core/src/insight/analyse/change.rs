//! Change since a previous report: NPS, mean rating or the leader's share, judged against noise.

use crate::insight::report::*;
use crate::insight::stats;

pub(super) fn change(
    before: &QuestionReport,
    after: &QuestionReport,
    since: &str,
) -> Option<Change> {
    // Below the counts-only tier on either side there is no score or share to compare (one
    // answer is NPS +100 or a 100% share): no change line at all, as for a rating.
    if Tier::of(before.n) == Tier::CountsOnly || Tier::of(after.n) == Tier::CountsOnly {
        return None;
    }
    let z_p = |d: f64, se: f64| {
        if se > 0.0 {
            Some(crate::insight::special::normal_two_sided_p(d / se))
        } else {
            None
        }
    };
    // Half-width of a 95% interval back to a standard error.
    let se = |ci: [f64; 2]| (ci[1] - ci[0]) / (2.0 * stats::Z95);
    if let (Some(b), Some(a)) = (before.detail.nps(), after.detail.nps()) {
        let d = a.score - b.score;
        let p = z_p(d, (se(a.ci95).powi(2) + se(b.ci95).powi(2)).sqrt());
        return Some(Change {
            since: since.into(),
            metric: "nps",
            before: b.score,
            after: a.score,
            difference: d,
            p_value: p,
            within_noise: p.is_none_or(|p| p >= 0.05),
        });
    }
    if let (Some(b), Some(a)) = (before.detail.rating(), after.detail.rating()) {
        let (sb, sa) = (b.ci95.map(se)?, a.ci95.map(se)?);
        let d = a.mean - b.mean;
        let p = z_p(d, (sa * sa + sb * sb).sqrt());
        return Some(Change {
            since: since.into(),
            metric: "mean_rating",
            before: b.mean,
            after: a.mean,
            difference: d,
            p_value: p,
            within_noise: p.is_none_or(|p| p >= 0.05),
        });
    }
    // Choice questions: the current leader's share, then and now.
    let (ob, oa) = (before.detail.options()?, after.detail.options()?);
    let lead = after.detail.leader()?;
    let a = oa.iter().find(|o| o.id == lead.id)?;
    let b = ob.iter().find(|o| o.id == lead.id)?;
    let t = stats::two_proportion_z(a.count, after.n as u64, b.count, before.n as u64);
    let p = t.map(|t| t.p_value);
    Some(Change {
        since: since.into(),
        metric: "leader_share",
        before: b.share,
        after: a.share,
        difference: a.share - b.share,
        p_value: p,
        within_noise: p.is_none_or(|p| p >= 0.05),
    })
}
