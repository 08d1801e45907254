//! Unit tests of `stats` against reference values (scipy, statsmodels, integration) and at the edges.

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

/// From n = 10 up, where the reports show intervals, every adjusted-Wald interval (NPS, leader
/// against runner-up) contains the raw estimate shown beside it; at 1 of 1 it does not, which
/// is why smaller samples are shown as counts only.
#[test]
fn adjusted_wald_intervals_contain_the_raw_estimate_from_ten_answers() {
    for n in 10..=160u64 {
        for p in 0..=n {
            for d in 0..=(n - p) {
                let mut counts = [0u64; 11];
                counts[10] = p;
                counts[0] = d;
                counts[8] = n - p - d;
                let s = nps(&counts).expect("answers");
                assert!(
                    s.low <= s.score + 1e-9 && s.score <= s.high + 1e-9,
                    "NPS {p}/{d} of {n}: {} outside [{}, {}]",
                    s.score,
                    s.low,
                    s.high
                );
                if p >= d {
                    let t = leader_test(&[p, d, n - p - d], n).expect("two options");
                    if t.top == 0 && t.runner_up == 1 {
                        assert!(
                            t.low <= t.diff + 1e-9 && t.diff <= t.high + 1e-9,
                            "margin {p} vs {d} of {n}: {} outside [{}, {}]",
                            t.diff,
                            t.low,
                            t.high
                        );
                    }
                }
            }
        }
    }
    let one = nps(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).expect("one answer");
    assert!(one.score > one.high, "{one:?}");
    assert!((one.low..=one.high).contains(&one.centre), "{one:?}");
}
