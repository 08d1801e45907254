//! Bradley-Terry strengths for pairwise A/B questions ("which of these two do you prefer?"),
//! fitted by the MM algorithm with a weak prior so every strength stays finite.
//!
//! Model: P(i beats j) = g_i / (g_i + g_j). The prior adds, for every option, one virtual win
//! and one virtual loss against a virtual opponent of strength 1: an option that never lost (or
//! never won) then gets a large (or small) but finite strength instead of infinity (or zero),
//! and options nobody compared stay at the neutral strength.

/// Stop when no strength changes by more than this, relative to itself.
pub const TOLERANCE: f64 = 1e-10;
/// Iteration cap; MM converges linearly, typical polls need a few hundred iterations.
pub const MAX_ITERATIONS: usize = 10_000;

/// A fitted Bradley-Terry model.
#[derive(Debug, Clone, PartialEq)]
pub struct BradleyTerry {
    /// Strength per option, summing to 1 over the real options (empty when there are none).
    pub strengths: Vec<f64>,
    /// `wins[i][j]` = judgements in which option i beat option j.
    pub wins: Vec<Vec<u64>>,
    /// Real (non-virtual) comparisons each option took part in.
    pub comparisons: Vec<u64>,
    /// MM iterations run.
    pub iterations: usize,
    /// Whether the tolerance was reached within [`MAX_ITERATIONS`].
    pub converged: bool,
}

impl BradleyTerry {
    /// Model probability that option i beats option j; `None` for an index out of range.
    pub fn prob_beats(&self, i: usize, j: usize) -> Option<f64> {
        let (gi, gj) = (*self.strengths.get(i)?, *self.strengths.get(j)?);
        // Strengths are always > 0 thanks to the prior; guard anyway.
        (gi + gj > 0.0).then(|| gi / (gi + gj))
    }
}

/// Fit Bradley-Terry strengths from judgements `(winner, loser)` over `m` options.
/// Judgements with an index >= m or with winner == loser are ignored.
pub fn bradley_terry(judgements: &[(usize, usize)], m: usize) -> BradleyTerry {
    let mut wins = vec![vec![0u64; m]; m];
    for &(w, l) in judgements {
        if w < m && l < m && w != l {
            wins[w][l] += 1;
        }
    }
    let comparisons: Vec<u64> = (0..m)
        .map(|i| (0..m).map(|j| wins[i][j] + wins[j][i]).sum())
        .collect();
    let (raw, iterations, converged) = fit_raw(&wins);
    let total: f64 = raw.iter().sum();
    let strengths = if total > 0.0 && total.is_finite() {
        raw.iter().map(|g| g / total).collect()
    } else {
        vec![1.0 / m as f64; m]
    };
    BradleyTerry {
        strengths,
        wins,
        comparisons,
        iterations,
        converged,
    }
}

/// MM iteration (Hunter 2004) with the prior, on the scale where the virtual opponent has
/// strength 1: g_i <- (W_i + 1) / (Σ_j n_ij / (g_i + g_j) + 2 / (g_i + 1)).
/// Returns the unnormalised strengths, iterations run and whether it converged.
fn fit_raw(wins: &[Vec<u64>]) -> (Vec<f64>, usize, bool) {
    let m = wins.len();
    // Only compared pairs matter: iterate over them instead of the full m x m matrix.
    let pairs: Vec<(usize, usize, f64)> = (0..m)
        .flat_map(|i| ((i + 1)..m).map(move |j| (i, j)))
        .map(|(i, j)| (i, j, (wins[i][j] + wins[j][i]) as f64))
        .filter(|&(_, _, n)| n > 0.0)
        .collect();
    // Observed wins plus the virtual win.
    let numerators: Vec<f64> = wins
        .iter()
        .map(|row| row.iter().sum::<u64>() as f64 + 1.0)
        .collect();
    let mut g = vec![1.0; m];
    let mut denominators = vec![0.0; m];
    for iteration in 1..=MAX_ITERATIONS {
        // Virtual games: one win and one loss against strength 1.
        for (d, &gi) in denominators.iter_mut().zip(&g) {
            *d = 2.0 / (gi + 1.0);
        }
        for &(i, j, n) in &pairs {
            let t = n / (g[i] + g[j]);
            denominators[i] += t;
            denominators[j] += t;
        }
        let mut max_change = 0.0_f64;
        for ((gi, &num), &den) in g.iter_mut().zip(&numerators).zip(&denominators) {
            let next = num / den;
            max_change = max_change.max((next - *gi).abs() / *gi);
            *gi = next;
        }
        if max_change < TOLERANCE {
            return (g, iteration, true);
        }
    }
    (g, MAX_ITERATIONS, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judgements_from(wins: &[Vec<u64>]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, row) in wins.iter().enumerate() {
            for (j, &n) in row.iter().enumerate() {
                out.extend(std::iter::repeat_n((i, j), n as usize));
            }
        }
        out
    }

    #[test]
    fn matches_numpy_reference() {
        // Option 0 never lost, option 4 never won. Reference: independent vectorised numpy
        // implementation of the same MM with the prior, run to 1e-15 (ref/bt_ref.py).
        let wins = vec![
            vec![0, 4, 3, 2, 1],
            vec![0, 0, 3, 2, 2],
            vec![0, 1, 0, 4, 1],
            vec![0, 2, 1, 0, 3],
            vec![0, 0, 0, 0, 0],
        ];
        let bt = bradley_terry(&judgements_from(&wins), 5);
        assert!(bt.converged);
        let want = [
            0.772_027_833_035_627_9,
            0.089_507_493_269_371_73,
            0.076_702_518_048_780_95,
            0.052_302_816_503_974_135,
            0.009_459_339_142_245_301,
        ];
        for (g, w) in bt.strengths.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{:?}", bt.strengths);
        }
        assert_eq!(bt.wins, wins);
        assert_eq!(bt.comparisons, vec![10, 14, 13, 14, 7]);
        assert!((bt.strengths.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fixed_point_satisfies_the_score_equations() {
        // At the maximum of the penalised likelihood, expected wins (including the virtual
        // game) equal observed wins + 1 for every option.
        let wins = vec![vec![0, 7, 1], vec![2, 0, 5], vec![0, 3, 0]];
        let (g, _, converged) = fit_raw(&wins);
        assert!(converged);
        for i in 0..3 {
            let observed = wins[i].iter().sum::<u64>() as f64 + 1.0;
            let mut expected = 2.0 * g[i] / (g[i] + 1.0);
            for j in 0..3 {
                let n = (wins[i][j] + wins[j][i]) as f64;
                if j != i {
                    expected += n * g[i] / (g[i] + g[j]);
                }
            }
            assert!(
                (expected - observed).abs() < 1e-8,
                "{i}: {expected} vs {observed}"
            );
        }
    }

    #[test]
    fn symmetric_results_give_equal_strengths() {
        let judgements = [
            (0, 1),
            (1, 0),
            (1, 2),
            (2, 1),
            (0, 2),
            (2, 0),
            (0, 1),
            (1, 0),
        ];
        let bt = bradley_terry(&judgements, 3);
        for s in &bt.strengths {
            assert!((s - 1.0 / 3.0).abs() < 1e-9, "{:?}", bt.strengths);
        }
        assert!((bt.prob_beats(0, 1).unwrap() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn more_wins_means_higher_strength() {
        // Same opponents, same number of games: 0 wins 8 of 10 against 2, 1 wins 5 of 10.
        let mut judgements = Vec::new();
        judgements.extend(std::iter::repeat_n((0, 2), 8));
        judgements.extend(std::iter::repeat_n((2, 0), 2));
        judgements.extend(std::iter::repeat_n((1, 2), 5));
        judgements.extend(std::iter::repeat_n((2, 1), 5));
        let bt = bradley_terry(&judgements, 3);
        assert!(bt.strengths[0] > bt.strengths[1]);
        assert!(bt.strengths[1] > bt.strengths[2]);
        assert!(bt.prob_beats(0, 2).unwrap() > 0.5);
    }

    #[test]
    fn unbeaten_and_winless_stay_finite() {
        let bt = bradley_terry(&[(0, 1); 20], 2);
        assert!(bt.converged);
        assert!(bt.strengths.iter().all(|s| s.is_finite() && *s > 0.0));
        // Prior = one virtual win and loss each: g0/g1 stays finite. numpy (ref/bt_ref.py):
        // P(0 beats 1) = 0.96583123951777 (strength ratio 28.27).
        let p = bt.prob_beats(0, 1).unwrap();
        assert!((p - 0.965_831_239_517_77).abs() < 1e-9, "{p}");
    }

    #[test]
    fn no_judgements_gives_equal_strengths() {
        let bt = bradley_terry(&[], 4);
        assert_eq!(bt.strengths, vec![0.25; 4]);
        assert_eq!(bt.comparisons, vec![0; 4]);
        assert!(bt.converged);
        // An option nobody compared keeps the neutral strength of the others' scale.
        let partial = bradley_terry(&[(0, 1), (1, 0)], 3);
        assert!((partial.strengths[2] - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn edges_and_bad_input() {
        let empty = bradley_terry(&[(0, 1)], 0);
        assert!(empty.strengths.is_empty());
        assert_eq!(empty.prob_beats(0, 0), None);
        let one = bradley_terry(&[(0, 0)], 1);
        assert_eq!(one.strengths, vec![1.0]);
        // Out-of-range and self-comparisons are ignored.
        let bt = bradley_terry(&[(0, 1), (5, 1), (1, 1), (1, 9)], 2);
        assert_eq!(bt.wins, vec![vec![0, 1], vec![0, 0]]);
        assert_eq!(bt.comparisons, vec![1, 1]);
        assert_eq!(bt.prob_beats(0, 2), None);
    }
}
