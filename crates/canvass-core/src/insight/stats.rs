//! Statistics for poll and survey results: intervals for shares, means and NPS, tests between
//! groups, false-discovery-rate control, and Bayesian "which option is best" probabilities.
//!
//! Every function is pure and total: empty input, zero counts or impossible counts (x > n) give
//! `None` (or an empty `Vec`), never a panic, and no returned number is NaN. Intervals describe
//! noise among the people who answered; they say nothing about who did not (self-selection).

use super::special::{beta_reg, chi_square_sf, ln_beta, normal_two_sided_p, student_t_quantile};

mod monte_carlo;

#[cfg(test)]
use monte_carlo::{GammaSampler, SplitMix64, Ziggurat};
pub use monte_carlo::{
    PROB_BEST_MAX_DRAWS, PROB_BEST_MIN_DRAWS, prob_best, prob_best_draws, prob_best_independent,
};

/// z for a two-sided 95% interval (Φ⁻¹(0.975) to six decimals, as in the methods notes).
pub const Z95: f64 = 1.959964;

/// A closed interval of fractions (0..1) or points, `low <= high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Sum of counts, `None` on overflow (only possible with absurd inputs, but never wrap silently).
fn checked_total<'a>(counts: impl IntoIterator<Item = &'a u64>) -> Option<u64> {
    counts
        .into_iter()
        .try_fold(0u64, |acc, &c| acc.checked_add(c))
}

// ---------------------------------------------------------------------------------------------
// Intervals
// ---------------------------------------------------------------------------------------------

/// Wilson 95% interval for the share x/n. `None` when n == 0 or x > n.
///
/// Why Wilson: unlike the textbook p ± z·se it stays inside [0, 1] and keeps its coverage for
/// small n and shares near 0 or 1, which is exactly where polls live.
pub fn wilson(x: u64, n: u64) -> Option<Interval> {
    wilson_z(x, n, Z95)
}

/// Wilson interval with a caller-chosen z (e.g. 1.644854 for 90%). `None` when n == 0, x > n or
/// z is not a positive finite number.
pub fn wilson_z(x: u64, n: u64, z: f64) -> Option<Interval> {
    if n == 0 || x > n || !(z.is_finite() && z > 0.0) {
        return None;
    }
    let n = n as f64;
    let x = x as f64;
    let p = x / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = p + z2 / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // Analytically the bounds are inside [0, 1] and exactly 0 (x = 0) or 1 (x = n) at the
    // edges; pin those so rounding cannot show "99.99999%".
    let low = if x == 0.0 {
        0.0
    } else {
        ((centre - half) / denom).clamp(0.0, 1.0)
    };
    let high = if p == 1.0 {
        1.0
    } else {
        ((centre + half) / denom).clamp(0.0, 1.0)
    };
    Some(Interval { low, high })
}

/// Mean of ratings with its 95% Student t interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanInterval {
    pub mean: f64,
    /// Lower 95% bound; `None` when n < 2 (one value says nothing about spread).
    pub low: Option<f64>,
    /// Upper 95% bound; `None` when n < 2.
    pub high: Option<f64>,
    /// Sample standard deviation (n - 1 denominator); `None` when n < 2.
    pub sd: Option<f64>,
    pub n: usize,
}

impl MeanInterval {
    /// The interval as one value, when there is one.
    pub fn interval(&self) -> Option<Interval> {
        Some(Interval {
            low: self.low?,
            high: self.high?,
        })
    }
}

/// Mean with a 95% t interval (n - 1 degrees of freedom). `None` for no values or any value that
/// is not finite; n == 1 gives the mean without an interval.
pub fn mean_t_interval(values: &[f64]) -> Option<MeanInterval> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = values.len();
    let nf = n as f64;
    let mean = values.iter().sum::<f64>() / nf;
    if !mean.is_finite() {
        // Only values near f64::MAX can overflow the sum; there is no meaningful mean.
        return None;
    }
    if n < 2 {
        return Some(MeanInterval {
            mean,
            low: None,
            high: None,
            sd: None,
            n,
        });
    }
    // Two-pass variance: stable for ratings that are all close to each other.
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = (ss / (nf - 1.0)).sqrt();
    let t = student_t_quantile(0.975, nf - 1.0);
    let half = t * sd / nf.sqrt();
    if !half.is_finite() {
        return None;
    }
    Some(MeanInterval {
        mean,
        low: Some(mean - half),
        high: Some(mean + half),
        sd: Some(sd),
        n,
    })
}

/// Net Promoter Score on -100..100 with its adjusted-Wald 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nps {
    /// 100 · (promoters - detractors) / n, from the raw counts.
    pub score: f64,
    /// The adjusted-Wald estimate the interval is centred on: shrunk towards 0, it differs from
    /// `score` most in small samples (1 promoter of 1: score 100, centre 25).
    pub centre: f64,
    pub low: f64,
    pub high: f64,
    /// Scores 9-10.
    pub promoters: u64,
    /// Scores 7-8.
    pub passives: u64,
    /// Scores 0-6.
    pub detractors: u64,
    pub n: u64,
}

/// NPS from the number of answers for each score 0..=10. `None` when there are no answers.
///
/// Interval: add 3/4 to promoters and to detractors and 3 to n, then
/// NPS' ± z·100·sqrt((p' + d' - (p' - d')²) / n'), clamped to [-100, 100]. The adjustment keeps
/// small samples and lopsided scores from getting a zero-width interval.
pub fn nps(counts: &[u64; 11]) -> Option<Nps> {
    let detractors = checked_total(&counts[0..=6])?;
    let passives = checked_total(&counts[7..=8])?;
    let promoters = checked_total(&counts[9..=10])?;
    let n = detractors.checked_add(passives)?.checked_add(promoters)?;
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let score = 100.0 * (promoters as f64 - detractors as f64) / nf;
    let (centre, half) = adjusted_wald_diff(promoters, detractors, n);
    Some(Nps {
        score,
        centre: 100.0 * centre,
        low: (100.0 * (centre - half)).clamp(-100.0, 100.0),
        high: (100.0 * (centre + half)).clamp(-100.0, 100.0),
        promoters,
        passives,
        detractors,
        n,
    })
}

/// Adjusted-Wald centre and 95% half-width for the difference of two shares x1/n - x2/n taken
/// from the same multinomial sample (NPS, leader vs runner-up). Requires n > 0.
fn adjusted_wald_diff(x1: u64, x2: u64, n: u64) -> (f64, f64) {
    let n_adj = n as f64 + 3.0;
    let p1 = (x1 as f64 + 0.75) / n_adj;
    let p2 = (x2 as f64 + 0.75) / n_adj;
    let diff = p1 - p2;
    // Same-sample shares are negatively correlated: var = (p1 + p2 - (p1 - p2)²) / n.
    let var = ((p1 + p2 - diff * diff) / n_adj).max(0.0);
    (diff, Z95 * var.sqrt())
}

// ---------------------------------------------------------------------------------------------
// Tests between groups
// ---------------------------------------------------------------------------------------------

/// Result of a two-sided, pooled two-proportion z test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZTest {
    /// Positive when the first share is larger.
    pub z: f64,
    pub p_value: f64,
    /// x1/n1 - x2/n2.
    pub diff: f64,
}

/// Two-sided two-proportion z test with the pooled standard error (H0: equal shares).
/// `None` when either group is empty or has more successes than members. When both groups are
/// all-yes or all-no there is no evidence of a difference: z = 0, p = 1.
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<ZTest> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (x1f, n1f, x2f, n2f) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let diff = x1f / n1f - x2f / n2f;
    let pooled = (x1f + x2f) / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se.is_nan() || se <= 0.0 {
        return Some(ZTest {
            z: 0.0,
            p_value: 1.0,
            diff,
        });
    }
    let z = diff / se;
    Some(ZTest {
        z,
        p_value: normal_two_sided_p(z),
        diff,
    })
}

/// Which test produced a [`ChiSquare`] p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChiSquareMethod {
    /// Pearson chi-square on the table as given (empty rows and columns dropped).
    Pearson,
    /// Pearson chi-square after merging sparse columns into one "other" column.
    PearsonMerged,
    /// Fisher's exact test (two-sided) on a 2x2 table with an expected count below 5.
    FisherExact,
}

/// Test of independence between rows (e.g. segment vs everyone else) and columns (options).
#[derive(Debug, Clone, PartialEq)]
pub struct ChiSquare {
    /// Pearson chi-square statistic of the tested table (also reported under Fisher, for size).
    pub statistic: f64,
    /// (rows - 1)(columns - 1) of the tested table.
    pub df: usize,
    pub p_value: f64,
    /// Cramér's V = sqrt(chi² / (n · (min(r, c) - 1))), 0..1; the phi coefficient for 2x2.
    pub cramers_v: f64,
    pub method: ChiSquareMethod,
    /// Input row indices kept (rows with at least one answer), in input order.
    pub rows: Vec<usize>,
    /// For each tested column, the input column indices it holds; the last entry holds several
    /// when sparse columns were merged into "other".
    pub columns: Vec<Vec<usize>>,
    /// Smallest expected count in the tested table. Below 5 with `Pearson*` the p-value is only
    /// approximate (merging could not go further without losing all degrees of freedom).
    pub min_expected: f64,
}

/// Expected counts below this make the chi-square approximation unreliable (Cochran).
const MIN_EXPECTED: f64 = 5.0;

/// Chi-square test of independence over a contingency table (rows x columns of counts).
///
/// Empty rows and columns are dropped; ragged rows count missing cells as 0. While an expected
/// count is below 5 and more than two columns remain, the smallest column (ties: the later one)
/// is merged into an "other" column. A 2x2 table that is still sparse uses Fisher's exact test.
/// `None` when fewer than two non-empty rows or columns remain, or the counts overflow.
pub fn chi_square_independence(table: &[Vec<u64>]) -> Option<ChiSquare> {
    let width = table.iter().map(Vec::len).max().unwrap_or(0);
    let cell = |r: usize, c: usize| table[r].get(c).copied().unwrap_or(0);
    let row_totals: Vec<u64> = table.iter().map(checked_total).collect::<Option<_>>()?;
    let col_totals: Vec<u64> = (0..width)
        .map(|c| (0..table.len()).try_fold(0u64, |acc, r| acc.checked_add(cell(r, c))))
        .collect::<Option<_>>()?;
    checked_total(&row_totals)?;

    let rows: Vec<usize> = (0..table.len()).filter(|&r| row_totals[r] > 0).collect();
    let mut plain: Vec<usize> = (0..width).filter(|&c| col_totals[c] > 0).collect();
    let mut other: Vec<usize> = Vec::new();
    if rows.len() < 2 || plain.len() < 2 {
        return None;
    }

    // Build the tested table from the current column grouping.
    let build = |plain: &[usize], other: &[usize]| -> Vec<Vec<u64>> {
        rows.iter()
            .map(|&r| {
                let mut row: Vec<u64> = plain.iter().map(|&c| cell(r, c)).collect();
                if !other.is_empty() {
                    // Cannot overflow: bounded by the row total, which did not.
                    row.push(other.iter().map(|&c| cell(r, c)).sum());
                }
                row
            })
            .collect()
    };

    let mut observed = build(&plain, &other);
    let mut pearson = pearson_chi_square(&observed);
    while pearson.min_expected < MIN_EXPECTED && plain.len() + usize::from(!other.is_empty()) > 2 {
        // Why merge the smallest: rare options cause the sparse cells, and lumping them into
        // "other" keeps the big options visible while making the approximation valid.
        let take_smallest = |plain: &mut Vec<usize>| -> Option<usize> {
            let pos = (0..plain.len())
                .min_by_key(|&i| (col_totals[plain[i]], std::cmp::Reverse(plain[i])))?;
            Some(plain.remove(pos))
        };
        // The loop condition leaves at least two plain columns when "other" exists, three
        // when it does not; the `else break` arms are never taken.
        let Some(first) = take_smallest(&mut plain) else {
            break;
        };
        other.push(first);
        if other.len() == 1 {
            // A one-column "other" would merge nothing: bring in the next smallest too.
            let Some(second) = take_smallest(&mut plain) else {
                break;
            };
            other.push(second);
        }
        observed = build(&plain, &other);
        pearson = pearson_chi_square(&observed);
    }

    let mut columns: Vec<Vec<usize>> = plain.iter().map(|&c| vec![c]).collect();
    if !other.is_empty() {
        other.sort_unstable();
        columns.push(other);
    }
    let merged = columns.len() < col_totals.iter().filter(|&&t| t > 0).count();

    let r = observed.len();
    let c = columns.len();
    let df = (r - 1) * (c - 1);
    let total: f64 = observed.iter().flatten().map(|&v| v as f64).sum();
    let cramers_v = (pearson.statistic / (total * ((r.min(c) - 1) as f64)))
        .sqrt()
        .clamp(0.0, 1.0);

    let (p_value, method) = if r == 2 && c == 2 && pearson.min_expected < MIN_EXPECTED {
        let t = [
            [observed[0][0], observed[0][1]],
            [observed[1][0], observed[1][1]],
        ];
        match fisher_exact(t) {
            Some(p) => (p, ChiSquareMethod::FisherExact),
            // Only for astronomically large margins, where the chi-square is fine anyway.
            None => (
                chi_square_sf(pearson.statistic, 1.0).clamp(0.0, 1.0),
                ChiSquareMethod::Pearson,
            ),
        }
    } else {
        let p = chi_square_sf(pearson.statistic, df as f64);
        let method = if merged {
            ChiSquareMethod::PearsonMerged
        } else {
            ChiSquareMethod::Pearson
        };
        (p.clamp(0.0, 1.0), method)
    };

    Some(ChiSquare {
        statistic: pearson.statistic,
        df,
        p_value,
        cramers_v,
        method,
        rows,
        columns,
        min_expected: pearson.min_expected,
    })
}

struct Pearson {
    statistic: f64,
    min_expected: f64,
}

/// Pearson statistic and smallest expected count; every row and column total must be > 0.
fn pearson_chi_square(observed: &[Vec<u64>]) -> Pearson {
    let cols = observed.first().map_or(0, Vec::len);
    let row_t: Vec<f64> = observed
        .iter()
        .map(|r| r.iter().map(|&v| v as f64).sum())
        .collect();
    let col_t: Vec<f64> = (0..cols)
        .map(|c| observed.iter().map(|r| r[c] as f64).sum())
        .collect();
    let total: f64 = row_t.iter().sum();
    let mut statistic = 0.0;
    let mut min_expected = f64::INFINITY;
    for (row, rt) in observed.iter().zip(&row_t) {
        for (&o, ct) in row.iter().zip(&col_t) {
            let e = rt * ct / total;
            min_expected = min_expected.min(e);
            if e > 0.0 {
                let d = o as f64 - e;
                statistic += d * d / e;
            }
        }
    }
    Pearson {
        statistic,
        min_expected,
    }
}

/// Largest number of tables Fisher's test will enumerate (the range of the top-left cell).
const FISHER_MAX_TABLES: u64 = 10_000_000;

/// Two-sided Fisher exact test for a 2x2 table `[[a, b], [c, d]]`: the total probability of all
/// tables with the same margins that are no more likely than the observed one (relative
/// tolerance 1e-7, as R and scipy use). `None` for an empty table, overflowing counts, or more
/// than ten million possible tables (use the chi-square test there).
pub fn fisher_exact(table: [[u64; 2]; 2]) -> Option<f64> {
    let [[a, b], [c, d]] = table;
    let r1 = a.checked_add(b)?;
    let r2 = c.checked_add(d)?;
    let c1 = a.checked_add(c)?;
    let n = r1.checked_add(r2)?;
    if n == 0 {
        return None;
    }
    // The top-left cell x ranges over [lo, hi]; the other cells follow from the margins.
    let lo = c1.saturating_sub(r2);
    let hi = r1.min(c1);
    if hi - lo >= FISHER_MAX_TABLES {
        return None;
    }
    // ln P(x) relative to ln P(lo), by the hypergeometric ratio
    // P(x+1)/P(x) = (r1 - x)(c1 - x) / ((x + 1)(r2 - c1 + x + 1)).
    let ln_ratio = |x: u64| -> f64 {
        let (xf, r1f, c1f, r2f) = (x as f64, r1 as f64, c1 as f64, r2 as f64);
        ((r1f - xf) * (c1f - xf) / ((xf + 1.0) * (r2f - c1f + xf + 1.0))).ln()
    };
    let for_each_ln_p = |f: &mut dyn FnMut(u64, f64)| {
        let mut lp = 0.0;
        for x in lo..=hi {
            f(x, lp);
            if x < hi {
                lp += ln_ratio(x);
            }
        }
    };
    let mut ln_obs = 0.0;
    let mut ln_max = f64::NEG_INFINITY;
    for_each_ln_p(&mut |x, lp| {
        if x == a {
            ln_obs = lp;
        }
        ln_max = ln_max.max(lp);
    });
    let threshold = ln_obs + 1e-7_f64.ln_1p();
    let (mut all, mut extreme) = (0.0, 0.0);
    for_each_ln_p(&mut |_, lp| {
        let w = (lp - ln_max).exp();
        all += w;
        if lp <= threshold {
            extreme += w;
        }
    });
    Some((extreme / all).clamp(0.0, 1.0))
}

// ---------------------------------------------------------------------------------------------
// Multiple testing
// ---------------------------------------------------------------------------------------------

/// Benjamini-Hochberg adjusted p-values (same order as the input; monotone in the raw p-values,
/// capped at 1). NaN counts as 1 and values outside [0, 1] are clamped, so garbage never
/// produces a discovery.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let p: Vec<f64> = p_values
        .iter()
        .map(|&v| {
            if v.is_nan() {
                1.0
            } else if v <= 0.0 {
                0.0
            } else {
                v.min(1.0)
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]).then(i.cmp(&j)));
    let mut adjusted = vec![1.0; m];
    // Step-up: walk from the largest p down, carrying the running minimum of p·m/rank.
    let mut running = 1.0_f64;
    for (rank0, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank0 + 1) as f64);
        adjusted[i] = running;
    }
    adjusted
}

/// Which hypotheses Benjamini-Hochberg rejects at false discovery rate `q` (e.g. 0.10).
pub fn bh_reject(p_values: &[f64], q: f64) -> Vec<bool> {
    benjamini_hochberg(p_values)
        .into_iter()
        .map(|adj| adj <= q)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Bayesian comparisons (uniform priors)
// ---------------------------------------------------------------------------------------------

/// Message test where each member saw both variants: the probability that most people prefer A,
/// i.e. P(θ > 1/2) for the share θ preferring A with posterior Beta(1 + prefer_a, 1 + prefer_b).
/// 0.5 with no answers.
pub fn prob_a_preferred(prefer_a: u64, prefer_b: u64) -> f64 {
    if prefer_a == prefer_b {
        // Symmetric posterior: exactly one half (the series would give 0.4999999999999991).
        return 0.5;
    }
    // P(θ > 1/2) = 1 - I_{1/2}(1+a, 1+b) = I_{1/2}(1+b, 1+a): no cancellation.
    let p = beta_reg(1.0 + prefer_b as f64, 1.0 + prefer_a as f64, 0.5);
    if p.is_nan() { 0.5 } else { p }
}

/// Split message test (each member saw one variant): P(p_A > p_B) where p_A ~ Beta(1 + a_wins,
/// 1 + a_n - a_wins) and p_B likewise. `None` when wins exceed shown.
pub fn beta_prob_a_better(a_wins: u64, a_n: u64, b_wins: u64, b_n: u64) -> Option<f64> {
    if a_wins > a_n || b_wins > b_n {
        return None;
    }
    prob_beta_greater(
        1.0 + a_wins as f64,
        1.0 + (a_n - a_wins) as f64,
        1.0 + b_wins as f64,
        1.0 + (b_n - b_wins) as f64,
    )
}

/// Largest number of terms for the exact sum (beyond it, the integral is cheaper and as good).
const MAX_EXACT_TERMS: f64 = 1e6;

/// P(X1 > X2) for independent X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2). `None` unless all four
/// parameters are positive and finite.
///
/// Exact (Evan Miller's sum, computed in log space) when any parameter is a whole number up to
/// 1e6, which covers every "1 + count" posterior; otherwise a Stieltjes integral on a fine grid
/// (absolute error below 1e-6).
pub fn prob_beta_greater(a1: f64, b1: f64, a2: f64, b2: f64) -> Option<f64> {
    if ![a1, b1, a2, b2].iter().all(|v| v.is_finite() && *v > 0.0) {
        return None;
    }
    let whole = |v: f64| v.fract() == 0.0 && v <= MAX_EXACT_TERMS;
    // Four equivalent forms (swap the two variables and/or reflect x -> 1 - x); each needs a
    // different parameter to be whole and costs that many terms. Pick the cheapest.
    let mut best: Option<(f64, u8)> = None;
    for (v, form) in [(a1, 0u8), (a2, 1), (b2, 2), (b1, 3)] {
        if whole(v) && best.is_none_or(|(bv, _)| v < bv) {
            best = Some((v, form));
        }
    }
    let p = match best {
        Some((_, 0)) => miller_sum(a1, b1, a2, b2),
        Some((_, 1)) => 1.0 - miller_sum(a2, b2, a1, b1),
        Some((_, 2)) => miller_sum(b2, a2, b1, a1),
        Some(_) => 1.0 - miller_sum(b1, a1, b2, a2),
        None => beta_greater_integral(a1, b1, a2, b2),
    };
    Some(p.clamp(0.0, 1.0))
}

/// P(X > Y), X ~ Beta(ag, bg) with whole ag >= 1, Y ~ Beta(ao, bo):
/// Σ_{i<ag} B(ao + i, bg + bo) / ((bg + i) · B(1 + i, bg) · B(ao, bo)).
fn miller_sum(ag: f64, bg: f64, ao: f64, bo: f64) -> f64 {
    let ln_b_other = ln_beta(ao, bo);
    let exact_term =
        |i: f64| ln_beta(ao + i, bg + bo) - (bg + i).ln() - ln_beta(1.0 + i, bg) - ln_b_other;
    let terms = ag as u64;
    let mut ln_t = exact_term(0.0);
    // Running log-sum-exp: terms can under- or overflow individually, their sum cannot.
    let mut ln_max = ln_t;
    let mut scaled_sum = 1.0;
    for i in 1..terms {
        let fi = i as f64;
        ln_t = if i % 1024 == 0 {
            // Re-anchor now and then so rounding in the recurrence cannot accumulate.
            exact_term(fi)
        } else {
            // Ratio of consecutive terms, from B(x + 1, y) = B(x, y) · x / (x + y).
            ln_t + ((ao + fi - 1.0) * (bg + fi - 1.0) / ((ao + bg + bo + fi - 1.0) * fi)).ln()
        };
        if ln_t > ln_max {
            scaled_sum = scaled_sum * (ln_max - ln_t).exp() + 1.0;
            ln_max = ln_t;
        } else {
            scaled_sum += (ln_t - ln_max).exp();
        }
    }
    ln_max.exp() * scaled_sum
}

/// P(X1 > X2) = ∫ F2 dF1 by the trapezoid rule in F2 over a grid covering both distributions'
/// central 1 - 2e-12 mass. Fallback for parameters that are not whole numbers. The grid is
/// cosine-spaced: points crowd the ends, where a shape below 1 makes the CDF behave like x^a.
fn beta_greater_integral(a1: f64, b1: f64, a2: f64, b2: f64) -> f64 {
    const STEPS: usize = 8192;
    let tail = 1e-12;
    let lo = beta_quantile_bisect(a1, b1, tail).min(beta_quantile_bisect(a2, b2, tail));
    let hi = beta_quantile_bisect(a1, b1, 1.0 - tail).max(beta_quantile_bisect(a2, b2, 1.0 - tail));
    // Mass of X1 below lo: X2 is (almost) never below lo, so it contributes nothing.
    let mut prev_f1 = beta_reg(a1, b1, lo);
    let mut prev_f2 = beta_reg(a2, b2, lo);
    let mut acc = 0.0;
    for k in 1..=STEPS {
        let t = k as f64 / STEPS as f64;
        let x = lo + (hi - lo) * 0.5 * (1.0 - (std::f64::consts::PI * t).cos());
        let f1 = beta_reg(a1, b1, x);
        let f2 = beta_reg(a2, b2, x);
        acc += 0.5 * (f2 + prev_f2) * (f1 - prev_f1);
        prev_f1 = f1;
        prev_f2 = f2;
    }
    // Mass of X1 above hi: X2 is (almost) surely below it.
    acc + (1.0 - prev_f1)
}

/// Quantile of Beta(a, b) by bisection on the regularized incomplete beta.
fn beta_quantile_bisect(a: f64, b: f64, p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if beta_reg(a, b, mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

// ---------------------------------------------------------------------------------------------
// Is the leader clearly ahead?
// ---------------------------------------------------------------------------------------------

/// Leader vs runner-up in a single-choice question.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeaderTest {
    /// The option with the most votes; `None` when the top count is shared (no leader).
    pub leader: Option<usize>,
    /// The two options compared: most votes first, ties broken by lower index.
    pub top: usize,
    pub runner_up: usize,
    /// Raw difference of shares (top - runner_up) / n, 0..1.
    pub diff: f64,
    /// The adjusted-Wald estimate of the difference that the interval is centred on.
    pub centre: f64,
    /// Adjusted-Wald 95% interval for the difference, within [-1, 1].
    pub low: f64,
    pub high: f64,
    /// Two-sided p-value of the same adjusted-Wald z statistic (< 0.05 exactly when `low` > 0).
    pub p_value: f64,
    /// There is a leader and the interval excludes 0.
    pub clearly_ahead: bool,
}

/// Is the leading option clearly ahead of the runner-up? Both shares come from the same sample,
/// so var(p1 - p2) = (p1 + p2 - (p1 - p2)²) / n. The interval and p-value use the adjusted-Wald
/// shares (add 3/4 to both counts and 3 to n, as for NPS) so that tiny samples such as
/// "1 of 1" are not declared clear wins. `n` is the number of respondents (>= sum of counts).
/// `None` with fewer than two options, n == 0, or counts summing to more than n.
pub fn leader_test(counts: &[u64], n: u64) -> Option<LeaderTest> {
    if counts.len() < 2 || n == 0 || checked_total(counts)? > n {
        return None;
    }
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&i, &j| counts[j].cmp(&counts[i]).then(i.cmp(&j)));
    let (top, runner_up) = (order[0], order[1]);
    let (c1, c2) = (counts[top], counts[runner_up]);
    let leader = (c1 > c2).then_some(top);
    let diff = (c1 - c2) as f64 / n as f64;
    let (centre, half) = adjusted_wald_diff(c1, c2, n);
    let se = half / Z95;
    let p_value = if se > 0.0 {
        normal_two_sided_p(centre / se)
    } else {
        1.0
    };
    let low = (centre - half).clamp(-1.0, 1.0);
    Some(LeaderTest {
        leader,
        top,
        runner_up,
        diff,
        centre,
        low,
        high: (centre + half).clamp(-1.0, 1.0),
        p_value,
        clearly_ahead: leader.is_some() && low > 0.0,
    })
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
