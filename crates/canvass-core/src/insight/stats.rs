//! Statistics for poll and survey results: intervals for shares, means and NPS, tests between
//! groups, false-discovery-rate control, and Bayesian "which option is best" probabilities.
//!
//! Every function is pure and total: empty input, zero counts or impossible counts (x > n) give
//! `None` (or an empty `Vec`), never a panic, and no returned number is NaN. Intervals describe
//! noise among the people who answered; they say nothing about who did not (self-selection).

use super::special::{beta_reg, chi_square_sf, ln_beta, normal_two_sided_p, student_t_quantile};

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
// Probability that each option is truly best (Monte Carlo, deterministic)
// ---------------------------------------------------------------------------------------------

/// Most posterior draws per call (Monte Carlo standard error at most 0.5/sqrt(draws) = 0.0035).
pub const PROB_BEST_MAX_DRAWS: usize = 20_000;
/// Fewest draws per call, however many options (standard error at most 0.008).
pub const PROB_BEST_MIN_DRAWS: usize = 4_000;
/// Gamma variates per call (~10 ns each in release builds): keeps a call near 4 ms even for
/// 25 options, by trading draws for options beyond 15.
const PROB_BEST_GAMMA_BUDGET: usize = 300_000;

/// Number of Monte Carlo draws used for `gammas_per_draw` gamma variates per draw (the number of
/// options for [`prob_best`], twice that for [`prob_best_independent`]). Depends only on the
/// shape of the question, so results stay reproducible.
pub fn prob_best_draws(gammas_per_draw: usize) -> usize {
    (PROB_BEST_GAMMA_BUDGET / gammas_per_draw.max(1))
        .clamp(PROB_BEST_MIN_DRAWS, PROB_BEST_MAX_DRAWS)
}

/// Fixed seed: the same counts always give the same probabilities (reports are reproducible).
const PROB_BEST_SEED: u64 = 0x00C0_FFEE_CA4A_5500;

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, passes BigCrush; enough for Monte Carlo.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on the open interval (0, 1): never 0, so its logarithm is finite.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }
}

/// Standard normal sampler by the ziggurat method (Marsaglia & Tsang 2000, 128 layers).
/// Why not Box-Muller: ~98% of draws cost one random number, a compare and a multiply, which
/// is what keeps 25 options x 20,000 draws within a few milliseconds.
struct Ziggurat {
    /// Acceptance thresholds on |hz| (32-bit scale) per layer.
    k: [u32; 128],
    /// Layer widths, scaled by 2^-31.
    w: [f64; 128],
    /// Density at each layer's edge.
    f: [f64; 128],
}

impl Ziggurat {
    /// Start of the tail (the rightmost layer edge).
    const R: f64 = 3.442_619_855_899;
    /// Area of each layer.
    const V: f64 = 9.912_563_035_262_17e-3;

    fn new() -> Self {
        let m1 = 2_147_483_648.0_f64; // 2^31
        let mut k = [0u32; 128];
        let mut w = [0.0; 128];
        let mut f = [0.0; 128];
        let mut dn = Self::R;
        let mut tn = dn;
        let q = Self::V / (-0.5 * dn * dn).exp();
        k[0] = ((dn / q) * m1) as u32;
        k[1] = 0;
        w[0] = q / m1;
        w[127] = dn / m1;
        f[0] = 1.0;
        f[127] = (-0.5 * dn * dn).exp();
        for i in (1..=126).rev() {
            dn = (-2.0 * (Self::V / dn + (-0.5 * dn * dn).exp()).ln()).sqrt();
            k[i + 1] = ((dn / tn) * m1) as u32;
            tn = dn;
            f[i] = (-0.5 * dn * dn).exp();
            w[i] = dn / m1;
        }
        Self { k, w, f }
    }

    /// A standard normal draw plus an independent uniform on (0, 1). On the fast path the
    /// uniform comes from the 25 bits the normal did not use (resolution 3e-8, far below the
    /// Monte Carlo error), which saves a random number per gamma draw.
    #[inline]
    fn sample_with_uniform(&self, rng: &mut SplitMix64) -> (f64, f64) {
        let bits = rng.next_u64();
        // High 32 bits: signed position; low 7 bits: layer; bits 7..32: the spare uniform.
        let hz = (bits >> 32) as u32 as i32;
        let iz = (bits & 127) as usize;
        if hz.unsigned_abs() < self.k[iz] {
            let spare = ((bits >> 7) & 0x1FF_FFFF) as f64;
            return (
                f64::from(hz) * self.w[iz],
                (spare + 0.5) * (1.0 / 33_554_432.0),
            );
        }
        (self.sample_slow(rng, hz, iz), rng.uniform())
    }

    /// The ~3% of draws outside the rectangles: the tail or a wedge.
    #[cold]
    fn sample_slow(&self, rng: &mut SplitMix64, mut hz: i32, mut iz: usize) -> f64 {
        loop {
            let x = f64::from(hz) * self.w[iz];
            if iz == 0 {
                // Base layer overflow: sample the tail beyond R (Marsaglia 1964).
                loop {
                    let tx = -rng.uniform().ln() / Self::R;
                    let ty = -rng.uniform().ln();
                    if ty + ty >= tx * tx {
                        return if hz > 0 { Self::R + tx } else { -Self::R - tx };
                    }
                }
            }
            // Wedge: accept under the density, else draw again.
            if self.f[iz] + rng.uniform() * (self.f[iz - 1] - self.f[iz]) < (-0.5 * x * x).exp() {
                return x;
            }
            let bits = rng.next_u64();
            hz = (bits >> 32) as u32 as i32;
            iz = (bits & 127) as usize;
            if hz.unsigned_abs() < self.k[iz] {
                return f64::from(hz) * self.w[iz];
            }
        }
    }
}

/// Gamma(shape >= 1, scale 1) sampler by Marsaglia & Tsang (2000), constants precomputed.
#[derive(Clone, Copy)]
struct GammaSampler {
    d: f64,
    c: f64,
    exponential: bool,
}

impl GammaSampler {
    fn new(shape: f64) -> Self {
        let d = shape - 1.0 / 3.0;
        Self {
            d,
            c: 1.0 / (9.0 * d).sqrt(),
            // Shape 1 (an option nobody picked) is an exponential: one logarithm, no loop.
            exponential: shape == 1.0,
        }
    }

    #[inline]
    fn sample(&self, rng: &mut SplitMix64, normal: &Ziggurat) -> f64 {
        if self.exponential {
            return -rng.uniform().ln();
        }
        loop {
            let (x, u) = normal.sample_with_uniform(rng);
            let v = 1.0 + self.c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let x2 = x * x;
            // Cheap squeeze first; the logarithm is needed only ~2% of the time.
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + self.d * (1.0 - v + v.ln()) {
                return self.d * v;
            }
        }
    }
}

/// Win counts to probabilities, averaging over options with identical posteriors: they are
/// exchangeable, so their true probabilities are equal and averaging removes Monte Carlo noise.
fn shares_from_wins<K: PartialEq>(wins: &[u64], keys: &[K]) -> Vec<f64> {
    let draws = wins.iter().sum::<u64>().max(1) as f64;
    (0..wins.len())
        .map(|i| {
            let (sum, count) = (0..wins.len())
                .filter(|&j| keys[j] == keys[i])
                .fold((0u64, 0u64), |(s, c), j| (s + wins[j], c + 1));
            sum as f64 / count as f64 / draws
        })
        .collect()
}

/// Single choice: probability that each option has the largest true share, from the posterior
/// Dirichlet(1 + counts). Deterministic (fixed-seed Monte Carlo, [`prob_best_draws`] draws);
/// sums to 1. Empty input gives an empty `Vec`.
///
/// No `n` parameter: respondents who skipped the question form a category of their own, which
/// does not change which option has the largest share.
pub fn prob_best(counts: &[u64]) -> Vec<f64> {
    if counts.len() < 2 {
        return vec![1.0; counts.len()];
    }
    // The argmax of a Dirichlet draw is the argmax of independent Gamma(α_i) draws.
    let samplers: Vec<GammaSampler> = counts
        .iter()
        .map(|&c| GammaSampler::new(1.0 + c as f64))
        .collect();
    let mut rng = SplitMix64::new(PROB_BEST_SEED);
    let normal = Ziggurat::new();
    let mut wins = vec![0u64; counts.len()];
    for _ in 0..prob_best_draws(counts.len()) {
        let mut best = 0;
        let mut best_value = f64::NEG_INFINITY;
        for (i, s) in samplers.iter().enumerate() {
            let v = s.sample(&mut rng, &normal);
            if v > best_value {
                best_value = v;
                best = i;
            }
        }
        wins[best] += 1;
    }
    shares_from_wins(&wins, counts)
}

/// Multiple choice: probability that each option has the largest true share of respondents,
/// with independent Beta(1 + s_i, 1 + n - s_i) posteriors. `None` when some s_i > n.
/// Deterministic and sums to 1, like [`prob_best`].
pub fn prob_best_independent(successes: &[u64], n: u64) -> Option<Vec<f64>> {
    if successes.iter().any(|&s| s > n) {
        return None;
    }
    if successes.len() < 2 {
        return Some(vec![1.0; successes.len()]);
    }
    // Beta(a, b) = Ga / (Ga + Gb) with independent gammas.
    let samplers: Vec<(GammaSampler, GammaSampler)> = successes
        .iter()
        .map(|&s| {
            (
                GammaSampler::new(1.0 + s as f64),
                GammaSampler::new(1.0 + (n - s) as f64),
            )
        })
        .collect();
    let mut rng = SplitMix64::new(PROB_BEST_SEED);
    let normal = Ziggurat::new();
    let mut wins = vec![0u64; successes.len()];
    for _ in 0..prob_best_draws(2 * successes.len()) {
        let mut best = 0;
        let mut best_value = f64::NEG_INFINITY;
        for (i, (ga, gb)) in samplers.iter().enumerate() {
            let x = ga.sample(&mut rng, &normal);
            let y = gb.sample(&mut rng, &normal);
            let v = x / (x + y);
            if v > best_value {
                best_value = v;
                best = i;
            }
        }
        wins[best] += 1;
    }
    Some(shares_from_wins(&wins, successes))
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
        low,
        high: (centre + half).clamp(-1.0, 1.0),
        p_value,
        clearly_ahead: leader.is_some() && low > 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn wilson_matches_notes_check() {
        // Notes: 71 of 214 gives 33.2% [27.2, 39.7].
        let iv = wilson(71, 214).unwrap();
        assert_eq!((iv.low * 1000.0).round() / 10.0, 27.2);
        assert_eq!((iv.high * 1000.0).round() / 10.0, 39.7);
        // scipy.stats.binomtest(71, 214).proportion_ci(method="wilson") (ref/stats_ref.py;
        // scipy uses the exact z, so agreement is to ~1e-7).
        assert!(close(iv.low, 0.272_145_783_187_650_76, 1e-6), "{iv:?}");
        assert!(close(iv.high, 0.397_338_618_956_096_4, 1e-6), "{iv:?}");
    }

    #[test]
    fn wilson_edges() {
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(5, 4), None);
        let zero = wilson(0, 10).unwrap();
        assert_eq!(zero.low, 0.0);
        // scipy binomtest(0, 10) wilson upper bound.
        assert!(close(zero.high, 0.277_532_799_862_889_26, 1e-6));
        let all = wilson(10, 10).unwrap();
        assert!(close(all.low, 1.0 - 0.277_532_799_862_889_26, 1e-6));
        assert_eq!(all.high, 1.0);
        assert_eq!(wilson_z(1, 2, f64::NAN), None);
    }

    #[test]
    fn mean_t_interval_matches_scipy() {
        // scipy.stats.t.interval(0.95, 9, loc=mean, scale=sem) (ref/stats_ref.py)
        let v = [3.0, 4.0, 5.0, 4.0, 2.0, 5.0, 4.0, 3.0, 4.0, 5.0];
        let m = mean_t_interval(&v).unwrap();
        assert!(close(m.mean, 3.9, 1e-12));
        assert!(close(m.low.unwrap(), 3.188_628_400_280_501, 1e-9), "{m:?}");
        assert!(close(m.high.unwrap(), 4.611_371_599_719_499, 1e-9), "{m:?}");
        assert!(close(m.sd.unwrap(), 0.994_428_926_011_753_3, 1e-12));
        assert_eq!(m.n, 10);
        assert_eq!(m.interval().unwrap().low, m.low.unwrap());
    }

    #[test]
    fn mean_t_interval_edges() {
        assert_eq!(mean_t_interval(&[]), None);
        assert_eq!(mean_t_interval(&[1.0, f64::NAN]), None);
        assert_eq!(mean_t_interval(&[1.0, f64::INFINITY]), None);
        assert_eq!(mean_t_interval(&[f64::MAX, f64::MAX]), None);
        let one = mean_t_interval(&[4.0]).unwrap();
        assert_eq!((one.mean, one.low, one.high, one.n), (4.0, None, None, 1));
        assert_eq!(one.interval(), None);
        // No spread: the interval collapses onto the mean rather than becoming NaN.
        let same = mean_t_interval(&[3.0; 5]).unwrap();
        assert_eq!((same.low, same.high), (Some(3.0), Some(3.0)));
        // Two values: t with 1 df (12.706...).
        let two = mean_t_interval(&[1.0, 2.0]).unwrap();
        assert!(close(
            two.high.unwrap() - 1.5,
            12.706_204_736_174_694 * 0.5,
            1e-9
        ));
    }

    #[test]
    fn nps_matches_formula() {
        // 100 answers: 20 detractors, 30 passives, 50 promoters. Reference from the notes'
        // formula evaluated in Python (ref/stats_ref.py).
        let mut counts = [0u64; 11];
        counts[3] = 5;
        counts[6] = 15;
        counts[7] = 10;
        counts[8] = 20;
        counts[9] = 30;
        counts[10] = 20;
        let s = nps(&counts).unwrap();
        assert_eq!(
            (s.promoters, s.passives, s.detractors, s.n),
            (50, 30, 20, 100)
        );
        assert!(close(s.score, 30.0, 1e-12));
        assert!(close(s.low, 14.051_130_059_851_27, 1e-9), "{s:?}");
        assert!(close(s.high, 44.201_297_124_614_75, 1e-9), "{s:?}");
    }

    #[test]
    fn nps_edges() {
        assert_eq!(nps(&[0; 11]), None);
        // All promoters, n = 3: interval clamped to 100 at the top, not NaN or zero-width.
        let mut counts = [0u64; 11];
        counts[10] = 3;
        let s = nps(&counts).unwrap();
        assert_eq!(s.score, 100.0);
        assert!(s.high <= 100.0 && s.low < s.high && s.low > -100.0);
        let mut counts = [0u64; 11];
        counts[0] = 1;
        let s = nps(&counts).unwrap();
        assert_eq!(s.score, -100.0);
        assert!(s.low >= -100.0);
        let overflow = [u64::MAX, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(nps(&overflow), None);
    }

    #[test]
    fn two_proportion_z_matches_statsmodels() {
        // statsmodels.stats.proportion.proportions_ztest([45, 30], [100, 100]) (pooled).
        let t = two_proportion_z(45, 100, 30, 100).unwrap();
        assert!(close(t.z, 2.190_890_230_020_664_7, 1e-9), "{t:?}");
        assert!(close(t.p_value, 0.028_459_736_916_310_55, 1e-9), "{t:?}");
        assert!(close(t.diff, 0.15, 1e-12));
        let r = two_proportion_z(30, 100, 45, 100).unwrap();
        assert!(close(r.z, -t.z, 1e-12) && close(r.p_value, t.p_value, 1e-15));
    }

    #[test]
    fn two_proportion_z_edges() {
        assert_eq!(two_proportion_z(0, 0, 1, 2), None);
        assert_eq!(two_proportion_z(3, 2, 1, 2), None);
        let none = two_proportion_z(0, 10, 0, 20).unwrap();
        assert_eq!((none.z, none.p_value), (0.0, 1.0));
        let all = two_proportion_z(10, 10, 20, 20).unwrap();
        assert_eq!((all.z, all.p_value), (0.0, 1.0));
    }

    #[test]
    fn chi_square_plain_matches_scipy() {
        // scipy.stats.chi2_contingency(t, correction=False) (ref/stats_ref.py)
        let t = vec![vec![30, 20, 25], vec![20, 30, 40]];
        let c = chi_square_independence(&t).unwrap();
        assert_eq!(c.method, ChiSquareMethod::Pearson);
        assert_eq!(c.df, 2);
        assert!(close(c.statistic, 6.148_717_948_717_949, 1e-9), "{c:?}");
        assert!(close(c.p_value, 0.046_219_246_609_829_83, 1e-9), "{c:?}");
        // scipy.stats.contingency.association(t, method="cramer")
        assert!(close(c.cramers_v, 0.193_041_335_638_140_63, 1e-9), "{c:?}");
        assert_eq!(c.rows, vec![0, 1]);
        assert_eq!(c.columns, vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn chi_square_drops_empty_rows_and_columns() {
        let t = vec![vec![30, 0, 20, 25], vec![0, 0, 0, 0], vec![20, 0, 30, 40]];
        let c = chi_square_independence(&t).unwrap();
        assert_eq!(c.rows, vec![0, 2]);
        assert_eq!(c.columns, vec![vec![0], vec![2], vec![3]]);
        assert!(close(c.statistic, 6.148_717_948_717_949, 1e-9));
        // Ragged rows: missing cells are zeros.
        let ragged = vec![vec![30, 20, 25], vec![20, 30, 40, 0]];
        assert_eq!(chi_square_independence(&ragged).unwrap().df, 2);
    }

    #[test]
    fn chi_square_merges_sparse_columns() {
        // Columns 3 and 4 are rare; they are merged into "other" (3 columns remain). Reference:
        // scipy chi2_contingency(correction=False) on [[40,35,20,5],[30,45,25,10]] where
        // 5 = 3 + 2 and 10 = 6 + 4.
        let t = vec![vec![40, 35, 20, 3, 2], vec![30, 45, 25, 6, 4]];
        let c = chi_square_independence(&t).unwrap();
        assert_eq!(c.method, ChiSquareMethod::PearsonMerged);
        assert_eq!(c.columns, vec![vec![0], vec![1], vec![2], vec![3, 4]]);
        assert_eq!(c.df, 3);
        assert!(c.min_expected >= 5.0);
        assert!(close(c.statistic, 4.434_659_090_909_09, 1e-9), "{c:?}");
        assert!(close(c.p_value, 0.218_193_122_417_947_44, 1e-9), "{c:?}");
    }

    #[test]
    fn chi_square_uses_fisher_for_sparse_2x2() {
        // scipy.stats.fisher_exact([[8, 2], [1, 5]]) two-sided.
        let t = vec![vec![8, 2], vec![1, 5]];
        let c = chi_square_independence(&t).unwrap();
        assert_eq!(c.method, ChiSquareMethod::FisherExact);
        assert_eq!(c.df, 1);
        assert!(close(c.p_value, 0.034_965_034_965_034_975, 1e-12), "{c:?}");
        // Pearson statistic still reported for the effect size (phi).
        assert!(close(c.statistic, 6.112_169_312_169_312, 1e-9), "{c:?}");
        assert!(close(
            c.cramers_v,
            (6.112_169_312_169_312_f64 / 16.0).sqrt(),
            1e-9
        ));
    }

    #[test]
    fn chi_square_merges_down_to_fisher() {
        // A small segment over three options: merging the two rare options gives a sparse 2x2,
        // tested exactly. scipy fisher_exact([[2, 6], [20, 12]]).
        let t = vec![vec![2, 4, 2], vec![20, 7, 5]];
        let c = chi_square_independence(&t).unwrap();
        assert_eq!(c.columns, vec![vec![0], vec![1, 2]]);
        assert_eq!(c.method, ChiSquareMethod::FisherExact);
        assert!(close(c.p_value, 0.109_508_698_982_383_19, 1e-10), "{c:?}");
    }

    #[test]
    fn chi_square_edges() {
        assert_eq!(chi_square_independence(&[]), None);
        assert_eq!(chi_square_independence(&[vec![1, 2, 3]]), None);
        assert_eq!(chi_square_independence(&[vec![1], vec![2]]), None);
        assert_eq!(chi_square_independence(&[vec![0, 0], vec![0, 0]]), None);
        assert_eq!(
            chi_square_independence(&[vec![u64::MAX, 1], vec![1, 1]]),
            None
        );
        // Identical rows: no association at all.
        let c = chi_square_independence(&[vec![10, 20], vec![10, 20]]).unwrap();
        assert!(close(c.statistic, 0.0, 1e-12) && close(c.p_value, 1.0, 1e-12));
        assert!(close(c.cramers_v, 0.0, 1e-12));
        // Sparse 3x2 cannot merge further: approximate Pearson, flagged by min_expected.
        let s = chi_square_independence(&[vec![1, 2], vec![3, 1], vec![2, 2]]).unwrap();
        assert_eq!(s.method, ChiSquareMethod::Pearson);
        assert!(s.min_expected < 5.0 && s.p_value.is_finite());
    }

    #[test]
    fn fisher_exact_matches_scipy() {
        // scipy.stats.fisher_exact(t, alternative="two-sided") (ref/stats_ref.py)
        let cases: [([[u64; 2]; 2], f64); 5] = [
            ([[3, 1], [1, 3]], 0.485_714_285_714_285_65),
            ([[10, 0], [0, 10]], 1.082_508_822_446_903e-5),
            ([[0, 5], [5, 0]], 0.007_936_507_936_507_938),
            ([[1, 9], [11, 3]], 0.002_759_456_185_220_083_6),
            ([[100, 50], [60, 90]], 5.659_739_023_312_293e-6),
        ];
        for (t, want) in cases {
            let got = fisher_exact(t).unwrap();
            assert!(
                (got - want).abs() <= 1e-9 * want.max(1e-3),
                "{t:?}: {got} vs {want}"
            );
        }
        assert_eq!(fisher_exact([[0, 0], [0, 0]]), None);
        assert_eq!(fisher_exact([[5, 0], [3, 0]]), Some(1.0));
    }

    #[test]
    fn benjamini_hochberg_matches_statsmodels() {
        // statsmodels.stats.multitest.multipletests(p, method="fdr_bh") (ref/stats_ref.py)
        let p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.04, 0.9];
        let want = [
            0.04,
            0.064,
            0.064,
            0.04,
            0.266_666_666_666_666_7,
            0.571_428_571_428_571_4,
            0.064,
            0.9,
        ];
        let got = benjamini_hochberg(&p);
        for (g, w) in got.iter().zip(want) {
            assert!(close(*g, w, 1e-12), "{got:?}");
        }
        assert_eq!(
            bh_reject(&p, 0.05),
            vec![true, false, false, true, false, false, false, false]
        );
        assert_eq!(
            bh_reject(&p, 0.10),
            vec![true, true, true, true, false, false, true, false]
        );
    }

    #[test]
    fn benjamini_hochberg_edges() {
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.03]), vec![0.03]);
        // NaN is treated as 1, out-of-range values clamped, result capped at 1.
        let adj = benjamini_hochberg(&[f64::NAN, -0.5, 1.5, 0.9]);
        assert_eq!(adj, vec![1.0, 0.0, 1.0, 1.0]);
        // Monotone: a smaller raw p never gets a larger adjusted p.
        let p = [0.2, 0.001, 0.04, 0.04, 0.3, 0.011];
        let adj = benjamini_hochberg(&p);
        for i in 0..p.len() {
            for j in 0..p.len() {
                if p[i] <= p[j] {
                    assert!(adj[i] <= adj[j]);
                }
            }
            assert!(adj[i] >= p[i]);
        }
    }

    #[test]
    fn prob_beta_greater_matches_integration() {
        // scipy.integrate.quad of beta.pdf(x, a1, b1) * beta.cdf(x, a2, b2); the two non-integer
        // cases by mpmath.quad at 30 digits (ref/stats_ref.py)
        let cases = [
            ((11.0, 6.0, 8.0, 9.0), 0.857_418_404_549_847_9),
            ((1.0, 1.0, 1.0, 1.0), 0.5),
            ((3.0, 40.0, 2.0, 60.0), 0.816_295_073_253_756),
            ((201.0, 301.0, 181.0, 321.0), 0.903_477_980_140_353_9),
            ((2.5, 3.5, 4.5, 1.5), 0.098_477_091_991_882_2),
            ((0.5, 0.5, 0.7, 0.3), 0.325_733_298_825_876_24),
        ];
        for ((a1, b1, a2, b2), want) in cases {
            let got = prob_beta_greater(a1, b1, a2, b2).unwrap();
            // Exact forms agree to ~1e-12; the non-integer fallback to ~1e-7.
            let tol = if a1.fract() == 0.0 { 1e-10 } else { 1e-6 };
            assert!(
                close(got, want, tol),
                "{a1},{b1},{a2},{b2}: {got} vs {want}"
            );
            let swapped = prob_beta_greater(a2, b2, a1, b1).unwrap();
            assert!(close(got + swapped, 1.0, tol));
        }
        assert_eq!(prob_beta_greater(0.0, 1.0, 1.0, 1.0), None);
        assert_eq!(prob_beta_greater(1.0, f64::NAN, 1.0, 1.0), None);
    }

    #[test]
    fn prob_beta_greater_large_counts_is_fast_and_sane() {
        // 1 + 50_000 successes: the form with the fewest terms is chosen (b params are small).
        let p = prob_beta_greater(50_001.0, 3.0, 50_000.0, 4.0).unwrap();
        assert!(p > 0.5 && p < 1.0);
        let q = prob_beta_greater(50_000.0, 4.0, 50_001.0, 3.0).unwrap();
        assert!(close(p + q, 1.0, 1e-9));
    }

    #[test]
    fn message_test_probabilities() {
        // scipy.stats.beta.sf(0.5, 1 + 30, 1 + 20)
        assert!(close(
            prob_a_preferred(30, 20),
            0.919_610_199_094_005_8,
            1e-12
        ));
        assert_eq!(prob_a_preferred(0, 0), 0.5);
        assert!(close(prob_a_preferred(7, 7), 0.5, 1e-14));
        // beta_prob_a_better(45 of 100, 30 of 100) = P(Beta(46, 56) > Beta(31, 71)), scipy quad.
        let p = beta_prob_a_better(45, 100, 30, 100).unwrap();
        assert!(close(p, 0.985_476_491_996_166_7, 1e-10), "{p}");
        assert!(close(beta_prob_a_better(0, 0, 0, 0).unwrap(), 0.5, 1e-14));
        assert_eq!(beta_prob_a_better(3, 2, 0, 0), None);
    }

    #[test]
    fn prob_best_two_options_matches_exact() {
        // With two options the Dirichlet reduces to P(Beta(1+a, 1+b) > 1/2).
        let pb = prob_best(&[30, 20]);
        let exact = prob_a_preferred(30, 20);
        assert!(close(pb[0], exact, 0.012), "{pb:?} vs {exact}");
        assert!(close(pb[0] + pb[1], 1.0, 1e-12));
    }

    #[test]
    fn prob_best_three_options_matches_integration() {
        // scipy: integral over x of gamma.pdf(x, 1+c_i) * prod_j gamma.cdf(x, 1+c_j)
        // for counts [40, 35, 10] (ref/stats_ref.py)
        let pb = prob_best(&[40, 35, 10]);
        let want = [
            0.716_712_867_971_902_6,
            0.283_286_447_635_263_4,
            6.843_928_400_451_344e-7,
        ];
        for (g, w) in pb.iter().zip(want) {
            assert!(close(*g, w, 0.012), "{pb:?}");
        }
    }

    #[test]
    fn prob_best_is_reproducible_and_sums_to_one() {
        let counts = [12, 10, 8, 6, 4, 0, 0];
        let a = prob_best(&counts);
        let b = prob_best(&counts);
        assert_eq!(a, b);
        assert!(close(a.iter().sum::<f64>(), 1.0, 1e-12));
        // Identical counts give identical probabilities (exchangeable options are averaged).
        assert_eq!(a[5], a[6]);
        assert!(a.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(prob_best(&[]), Vec::<f64>::new());
        assert_eq!(prob_best(&[5]), vec![1.0]);
        let even = prob_best(&[0, 0, 0, 0]);
        assert!(even.iter().all(|&p| close(p, 0.25, 1e-12)));
    }

    #[test]
    fn prob_best_independent_behaves() {
        // Two options: P(Beta(41, 61) > Beta(31, 71)) exactly.
        let pb = prob_best_independent(&[40, 30], 100).unwrap();
        let exact = prob_beta_greater(41.0, 61.0, 31.0, 71.0).unwrap();
        assert!(close(pb[0], exact, 0.012), "{pb:?} vs {exact}");
        assert!(close(pb.iter().sum::<f64>(), 1.0, 1e-12));
        assert_eq!(prob_best_independent(&[3, 11], 10), None);
        assert_eq!(prob_best_independent(&[], 10), Some(vec![]));
        let tie = prob_best_independent(&[5, 5, 5], 10).unwrap();
        assert!(tie.iter().all(|&p| close(p, 1.0 / 3.0, 1e-12)));
        assert_eq!(
            prob_best_independent(&[7, 3, 5], 12),
            prob_best_independent(&[7, 3, 5], 12)
        );
    }

    #[test]
    fn samplers_have_the_right_distribution() {
        // Ziggurat normal: empirical CDF within 0.005 of Φ at several points (200k draws, the
        // Kolmogorov 99.9% band is 0.0044), mean and variance close to 0 and 1.
        let z = Ziggurat::new();
        let mut rng = SplitMix64::new(7);
        let draws: Vec<(f64, f64)> = (0..200_000)
            .map(|_| z.sample_with_uniform(&mut rng))
            .collect();
        let n = draws.len() as f64;
        for t in [-3.0, -1.5, -0.5, 0.0, 0.7, 2.0, 3.5] {
            let below = draws.iter().filter(|(x, _)| *x <= t).count() as f64 / n;
            assert!(
                close(below, super::super::special::normal_cdf(t), 0.005),
                "{t}: {below}"
            );
        }
        // The companion uniform is uniform, also given the normal's value (independence).
        let u_below = draws.iter().filter(|(_, u)| *u <= 0.3).count() as f64 / n;
        assert!(close(u_below, 0.3, 0.005));
        let tail: Vec<f64> = draws
            .iter()
            .filter(|(x, _)| *x > 1.0)
            .map(|d| d.1)
            .collect();
        let u_tail = tail.iter().filter(|&&u| u <= 0.3).count() as f64 / tail.len() as f64;
        assert!(close(u_tail, 0.3, 0.01), "{u_tail}");
        let mean = draws.iter().map(|d| d.0).sum::<f64>() / n;
        let var = draws.iter().map(|d| (d.0 - mean).powi(2)).sum::<f64>() / n;
        assert!(
            close(mean, 0.0, 0.01) && close(var, 1.0, 0.01),
            "{mean} {var}"
        );
        // Gamma(shape): mean = var = shape.
        for shape in [1.0, 1.5, 4.0, 41.0] {
            let g = GammaSampler::new(shape);
            let xs: Vec<f64> = (0..100_000).map(|_| g.sample(&mut rng, &z)).collect();
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64;
            assert!(
                close(m / shape, 1.0, 0.015) && close(v / shape, 1.0, 0.03),
                "{shape}: {m} {v}"
            );
        }
    }

    #[test]
    fn prob_best_draws_budget() {
        assert_eq!(prob_best_draws(2), PROB_BEST_MAX_DRAWS);
        assert_eq!(prob_best_draws(25), 12_000);
        assert_eq!(prob_best_draws(1_000), PROB_BEST_MIN_DRAWS);
        assert_eq!(prob_best_draws(0), PROB_BEST_MAX_DRAWS);
    }

    #[test]
    fn random_inputs_never_panic_or_give_nan() {
        // Small counts with many zeros hit the edge cases (empty rows, sparse tables, ties).
        let mut rng = SplitMix64::new(99);
        let mut small = |max: u64| rng.next_u64() % (max + 1);
        let finite = |v: f64| v.is_finite();
        for _ in 0..2_000 {
            let (x, n) = (small(6), small(6));
            if let Some(iv) = wilson(x, n) {
                assert!(finite(iv.low) && finite(iv.high) && iv.low <= iv.high);
            }
            let mut counts = [0u64; 11];
            counts.iter_mut().for_each(|c| *c = small(2));
            if let Some(s) = nps(&counts) {
                assert!([s.score, s.low, s.high].into_iter().all(finite));
                assert!(s.low <= s.high && (-100.0..=100.0).contains(&s.score));
            }
            if let Some(t) = two_proportion_z(small(5), small(5), small(5), small(5)) {
                assert!(finite(t.z) && (0.0..=1.0).contains(&t.p_value));
            }
            let rows = 1 + small(3) as usize;
            let cols = 1 + small(4) as usize;
            let table: Vec<Vec<u64>> = (0..rows)
                .map(|_| (0..cols).map(|_| small(7)).collect())
                .collect();
            if let Some(c) = chi_square_independence(&table) {
                assert!(finite(c.statistic) && finite(c.cramers_v) && finite(c.min_expected));
                assert!((0.0..=1.0).contains(&c.p_value), "{table:?} {c:?}");
                assert!(c.df >= 1);
            }
            let options: Vec<u64> = (0..small(4)).map(|_| small(5)).collect();
            let n = options.iter().sum::<u64>() + small(3);
            if let Some(l) = leader_test(&options, n) {
                assert!([l.diff, l.low, l.high, l.p_value].into_iter().all(finite));
                assert!(l.low <= l.high);
            }
            let p = prob_beta_greater(
                1.0 + small(9) as f64,
                1.0 + small(9) as f64,
                1.0 + small(9) as f64,
                1.0 + small(9) as f64,
            );
            assert!(p.is_some_and(|p| (0.0..=1.0).contains(&p)));
            let values: Vec<f64> = (0..small(4)).map(|_| small(5) as f64).collect();
            if let Some(m) = mean_t_interval(&values) {
                assert!(finite(m.mean) && m.low.is_none_or(finite));
            }
        }
    }

    #[test]
    fn leader_test_clear_and_unclear() {
        // 60 vs 20 of 100: clearly ahead. Reference: adjusted-Wald formula in Python.
        let t = leader_test(&[20, 60, 20], 100).unwrap();
        assert_eq!((t.leader, t.top), (Some(1), 1));
        assert_eq!(t.runner_up, 0);
        assert!(close(t.diff, 0.4, 1e-12));
        assert!(close(t.low, 0.233_798_803_018_424_62, 1e-9), "{t:?}");
        assert!(close(t.high, 0.542_900_226_107_788_9, 1e-9), "{t:?}");
        assert!(close(t.p_value, 8.439_158_586_661_697e-7, 1e-12), "{t:?}");
        assert!(t.clearly_ahead);
        // 12 vs 10 of 40: a leader, but not clearly ahead.
        let u = leader_test(&[12, 10, 8, 6, 4], 40).unwrap();
        assert_eq!(u.leader, Some(0));
        assert!(!u.clearly_ahead && u.low < 0.0 && u.p_value > 0.05);
        // One answer is never a clear win.
        let one = leader_test(&[1, 0], 1).unwrap();
        assert_eq!(one.leader, Some(0));
        assert!(!one.clearly_ahead);
    }

    #[test]
    fn leader_test_ties_and_edges() {
        let t = leader_test(&[5, 9, 9], 30).unwrap();
        assert_eq!((t.leader, t.top, t.runner_up), (None, 1, 2));
        assert!(!t.clearly_ahead);
        assert_eq!(t.diff, 0.0);
        assert_eq!(leader_test(&[3], 10), None);
        assert_eq!(leader_test(&[3, 2], 0), None);
        assert_eq!(leader_test(&[3, 2], 4), None);
        let z = leader_test(&[0, 0], 5).unwrap();
        assert_eq!(z.leader, None);
        assert!(z.p_value.is_finite() && z.low.is_finite());
    }
}
