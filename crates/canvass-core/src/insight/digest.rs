//! The digest's model: the reports of the surveys active in a period, with one
//! Benjamini-Hochberg correction across every test in the digest.

use super::analyse::{CLAIM_MIN, FDR_Q};
use super::report::Report;
use super::stats;
use serde::Serialize;

/// One digest: a period's decision brief across surveys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Brief {
    /// Local time of the schedule slot, e.g. "2026-11-23 09:00 CET".
    pub period: String,
    /// Posted after the slot because the bot was down.
    pub late: bool,
    /// Surveys that got answers during the period, with their numbers as of the slot.
    pub reports: Vec<Report>,
    /// Respondents across the surveys (people may answer several).
    pub respondents: usize,
    pub tests: usize,
    /// Daily or weekly, from the schedule: the header and the quiet line say which.
    pub cadence: Cadence,
    /// Answers given during the period (each member's current answer to each question).
    pub answers: usize,
    /// Titles of surveys open during the period that got no answer in it: named, no numbers.
    pub quiet_surveys: Vec<String>,
}

/// How often the digest is posted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    Daily,
    #[default]
    Weekly,
}

/// Fewer answers than this in a period make a "quiet week" digest.
pub const QUIET_BELOW: usize = 10;

impl Brief {
    pub fn quiet(&self) -> bool {
        self.answers < QUIET_BELOW
    }
}

/// Re-adjusts every segment test of every report as one family, so a digest that looks at
/// many surveys does not find differences by chance.
pub fn correct_across(reports: &mut [Report]) -> usize {
    let mut ps = Vec::new();
    for r in reports.iter() {
        for q in &r.questions {
            for f in &q.segments {
                ps.push(f.p_value);
                ps.extend(f.options.iter().map(|o| o.p_value));
            }
        }
    }
    let adjusted = stats::benjamini_hochberg(&ps);
    let mut k = 0;
    for r in reports.iter_mut() {
        let n = r.survey.respondents;
        for q in &mut r.questions {
            for f in &mut q.segments {
                f.p_adjusted = adjusted.get(k).copied().unwrap_or(1.0);
                k += 1;
                for o in &mut f.options {
                    o.p_adjusted = adjusted.get(k).copied().unwrap_or(1.0);
                    k += 1;
                }
                if let Some(g) = &mut f.largest_gap {
                    if let Some(o) = f.options.iter().find(|o| o.option == g.option) {
                        g.p_adjusted = o.p_adjusted;
                    }
                }
                f.differs =
                    f.p_adjusted <= FDR_Q && f.n >= CLAIM_MIN && n.saturating_sub(f.n) >= CLAIM_MIN;
            }
        }
        r.tests = ps.len();
    }
    ps.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_correction_across_reports_is_stricter() {
        let one = super::super::demo::report(240).unwrap();
        let alone: Vec<f64> = one
            .questions
            .iter()
            .flat_map(|q| q.segments.iter().map(|s| s.p_adjusted))
            .collect();
        let mut both = vec![one.clone(), one];
        let tests = correct_across(&mut both);
        assert_eq!(tests, both[0].tests);
        let joint: Vec<f64> = both[0]
            .questions
            .iter()
            .flat_map(|q| q.segments.iter().map(|s| s.p_adjusted))
            .collect();
        assert_eq!(alone.len(), joint.len());
        for (a, j) in alone.iter().zip(&joint) {
            assert!(j >= a, "a bigger family never adjusts less: {j} < {a}");
        }
    }
}
