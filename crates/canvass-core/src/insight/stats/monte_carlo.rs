//! The probability that each option is truly best: fixed-seed Monte Carlo over the posteriors,
//! with the random number and gamma samplers it needs (no dependency, reproducible results).

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
pub(super) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(super) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
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
pub(super) struct Ziggurat {
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

    pub(super) fn new() -> Self {
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
    pub(super) fn sample_with_uniform(&self, rng: &mut SplitMix64) -> (f64, f64) {
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
pub(super) struct GammaSampler {
    d: f64,
    c: f64,
    exponential: bool,
}

impl GammaSampler {
    pub(super) fn new(shape: f64) -> Self {
        let d = shape - 1.0 / 3.0;
        Self {
            d,
            c: 1.0 / (9.0 * d).sqrt(),
            // Shape 1 (an option nobody picked) is an exponential: one logarithm, no loop.
            exponential: shape == 1.0,
        }
    }

    #[inline]
    pub(super) fn sample(&self, rng: &mut SplitMix64, normal: &Ziggurat) -> f64 {
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
