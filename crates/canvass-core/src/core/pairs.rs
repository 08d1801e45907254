//! Deterministic per-member orderings: pairwise card schedules and shuffled message-test variants.
//!
//! Everything is derived from a stable seed, so nothing extra is stored and a resumed survey
//! shows the same cards in the same order.

/// Stable 64-bit FNV-1a hash; `std`'s hasher may change between releases.
pub fn stable_seed(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// SplitMix64: tiny, well-distributed, and good enough for shuffling display order.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        // n is at most a few dozen; modulo bias is negligible here.
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A permutation of `0..n` for this seed (Fisher-Yates).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix(seed);
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
    v
}

/// All pairs of `m` options in round-robin order: each round uses every option once, so any
/// window of consecutive pairs spreads comparisons evenly over the options.
pub fn round_robin_pairs(m: usize) -> Vec<(usize, usize)> {
    if m < 2 {
        return Vec::new();
    }
    let slots = if m % 2 == 0 { m } else { m + 1 };
    let mut ring: Vec<usize> = (0..slots).collect();
    let mut out = Vec::with_capacity(m * (m - 1) / 2);
    for _ in 0..slots - 1 {
        for k in 0..slots / 2 {
            let (a, b) = (ring[k], ring[slots - 1 - k]);
            if a < m && b < m {
                out.push((a.min(b), a.max(b)));
            }
        }
        // Circle method: keep the first slot fixed, rotate the rest.
        if let Some(last) = ring.pop() {
            ring.insert(1, last);
        }
    }
    out
}

/// The `k` cards one member sees: a window into the balanced order starting at a seeded
/// offset, with left/right sides seeded too, so position bias averages out.
pub fn cards_for(m: usize, k: usize, seed: u64) -> Vec<(usize, usize)> {
    let all = round_robin_pairs(m);
    if all.is_empty() {
        return all;
    }
    let mut rng = SplitMix(seed);
    let start = rng.below(all.len());
    (0..k.min(all.len()))
        .map(|i| {
            let (a, b) = all[(start + i) % all.len()];
            if rng.next() & 1 == 0 { (a, b) } else { (b, a) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn round_robin_covers_every_pair_once() {
        for m in 2..=9 {
            let pairs = round_robin_pairs(m);
            assert_eq!(pairs.len(), m * (m - 1) / 2);
            let set: BTreeSet<_> = pairs.iter().copied().collect();
            assert_eq!(set.len(), pairs.len(), "m={m}");
        }
    }

    #[test]
    fn options_are_compared_about_equally_often() {
        let m = 6;
        let mut counts = vec![0usize; m];
        for member in 0..600 {
            let seed = stable_seed(&["survey", "q", &member.to_string()]);
            for (a, b) in cards_for(m, 4, seed) {
                assert_ne!(a, b);
                counts[a] += 1;
                counts[b] += 1;
            }
        }
        let total: usize = counts.iter().sum();
        let expected = total as f64 / m as f64;
        for c in counts {
            assert!(
                (c as f64 - expected).abs() / expected < 0.1,
                "{c} vs {expected}"
            );
        }
    }

    #[test]
    fn shuffle_is_a_stable_permutation() {
        let a = shuffled(5, 42);
        assert_eq!(a, shuffled(5, 42));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
        // Different members see different orders at least sometimes.
        let distinct: BTreeSet<_> = (0..20)
            .map(|s| shuffled(4, stable_seed(&[&s.to_string()])))
            .collect();
        assert!(distinct.len() > 5);
    }
}
