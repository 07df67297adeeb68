//! When a figure is known: the distribution-free confidence interval of a
//! median from order statistics (no assumption about how samples spread),
//! and the stopping rule of an adaptive measurement — sample until every
//! figure's interval is within the precision asked for, between a minimum
//! and a maximum number of samples.

use serde::{Deserialize, Serialize};

/// Confidence of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// A median with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The samples' median.
    pub median: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Half the interval's width over the median (∞ for a zero median).
    pub fn relative_half_width(&self) -> f64 {
        if self.median.abs() > 0.0 {
            (self.high - self.low) / 2.0 / self.median.abs()
        } else {
            f64::INFINITY
        }
    }
}

/// P(X ≤ k) for X ~ Binomial(n, ½).
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    // Summed in log space: n stays small (tens of samples), so this is
    // exact enough and never overflows.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0; // ln C(n, 0)
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        sum += (ln_choose + ln_half_n).exp();
    }
    sum.min(1.0)
}

/// The median of `samples` with a confidence interval of at least
/// `confidence` from order statistics: `[x(j), x(n+1-j)]` for the largest
/// `j` whose coverage, 1 − 2·P(Bin(n,½) ≤ j−1), reaches it. `None` when
/// there are too few samples for any such interval (fewer than 6 at 95 %).
pub fn median_interval(samples: &[f64], confidence: f64) -> Option<Interval> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    // j = 1 is [min, max], covering 1 − 2·(½)^n.
    let mut j = 0;
    for candidate in 1..=n / 2 {
        if 2.0 * binomial_half_cdf(n, candidate - 1) <= alpha {
            j = candidate;
        } else {
            break;
        }
    }
    if j == 0 {
        return None;
    }
    Some(Interval {
        median: crate::results::median(&v),
        low: v[j - 1],
        high: v[n - j],
    })
}

/// How an adaptive measurement samples (`runner run --precision`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adaptive {
    /// Largest relative half-width of a figure's 95 % interval, e.g. 0.05.
    pub precision: f64,
    /// Samples always taken (at least 6: fewer give no 95 % interval).
    pub min_samples: u32,
    /// Samples at most; a figure not within its precision then is
    /// `unsettled`.
    pub max_samples: u32,
}

/// Fewest samples with a 95 % interval of their median.
pub const MIN_SAMPLES: u32 = 6;

impl Adaptive {
    /// Whether the samples so far — good req/s per run, and server CPU µs
    /// per good answer per run (empty when the server is not sampled) —
    /// are enough: the minimum taken and both intervals within the
    /// precision, or the maximum reached.
    pub fn done(&self, rps: &[f64], cpu_us: &[f64]) -> bool {
        let samples = rps.len();
        samples >= self.max_samples as usize
            || (samples >= self.min_samples as usize
                && self.settled(
                    median_interval(rps, CONFIDENCE),
                    cpu_us,
                    median_interval(cpu_us, CONFIDENCE),
                ))
    }

    /// Whether the req/s interval, and the CPU one when CPU was sampled,
    /// are within the precision.
    fn settled(&self, rps: Option<Interval>, cpu_us: &[f64], cpu: Option<Interval>) -> bool {
        let within =
            |i: Option<Interval>| i.is_some_and(|i| i.relative_half_width() <= self.precision);
        within(rps) && (cpu_us.is_empty() || within(cpu))
    }
}

/// What an adaptive measurement found: its samples, each figure's median
/// with its interval, and whether both met the precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Precision {
    /// The precision asked for (relative half-width).
    pub target: f64,
    /// Server CPU µs per good answer of each sample (empty when the server
    /// was not sampled); the good req/s samples are `runs_rps`.
    pub cpu_us_samples: Vec<f64>,
    /// Good req/s: median and 95 % interval.
    pub rps: Option<Interval>,
    /// CPU µs per good answer: median and 95 % interval.
    pub cpu_us: Option<Interval>,
    /// Both intervals within `target`; false = the figure is `unsettled`.
    pub settled: bool,
}

impl Precision {
    /// The record of `rps` and `cpu_us` samples against `adaptive`.
    pub fn of(adaptive: &Adaptive, rps: &[f64], cpu_us: &[f64]) -> Self {
        let (rps, cpu) = (
            median_interval(rps, CONFIDENCE),
            median_interval(cpu_us, CONFIDENCE),
        );
        Precision {
            target: adaptive.precision,
            cpu_us_samples: cpu_us.to_vec(),
            rps,
            cpu_us: cpu,
            settled: adaptive.settled(rps, cpu_us, cpu),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(X ≤ k) by counting every one of the 2^n outcomes.
    fn brute_cdf(n: usize, k: usize) -> f64 {
        let hits = (0u32..1 << n)
            .filter(|m| m.count_ones() as usize <= k)
            .count();
        hits as f64 / f64::from(1u32 << n)
    }

    #[test]
    fn the_binomial_tail_is_the_count_of_outcomes() {
        for n in 1..=14 {
            for k in 0..=n {
                let (a, b) = (binomial_half_cdf(n, k), brute_cdf(n, k));
                assert!((a - b).abs() < 1e-12, "n={n} k={k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn intervals_are_the_widest_order_statistics_that_cover_95_percent() {
        let v = |n: usize| (1..=n).map(|x| x as f64).collect::<Vec<_>>();
        // Five samples: [min, max] covers only 93.75 %.
        assert_eq!(median_interval(&v(5), CONFIDENCE), None);
        // Six: [min, max], 96.9 %.
        let i = median_interval(&v(6), CONFIDENCE).unwrap();
        assert_eq!((i.low, i.median, i.high), (1.0, 3.5, 6.0));
        // Ten: [x(2), x(9)] covers 97.9 %, [x(3), x(8)] only 89 %.
        let i = median_interval(&v(10), CONFIDENCE).unwrap();
        assert_eq!((i.low, i.high), (2.0, 9.0));
        // Order does not matter; non-finite samples are left out.
        let mut shuffled = vec![9.0, 2.0, f64::NAN, 10.0, 1.0, 5.0, 3.0, 8.0, 4.0, 7.0, 6.0];
        shuffled.reverse();
        assert_eq!(median_interval(&shuffled, CONFIDENCE), Some(i));
        // The coverage it claims holds for every n.
        for n in 6..=40 {
            let i = median_interval(&v(n), CONFIDENCE).unwrap();
            let j = i.low as usize;
            assert_eq!(i.high as usize, n + 1 - j, "symmetric at n={n}");
            assert!(
                1.0 - 2.0 * binomial_half_cdf(n, j - 1) >= CONFIDENCE,
                "n={n}"
            );
            assert!(
                1.0 - 2.0 * binomial_half_cdf(n, j) < CONFIDENCE,
                "widest at n={n}"
            );
        }
    }

    #[test]
    fn sampling_stops_when_every_figure_is_known_or_at_the_maximum() {
        let a = Adaptive {
            precision: 0.05,
            min_samples: 6,
            max_samples: 10,
        };
        let steady = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2];
        let noisy = [100.0, 150.0, 70.0, 120.0, 90.0, 130.0];
        let noisy_10 = [
            100.0, 150.0, 70.0, 120.0, 90.0, 130.0, 60.0, 140.0, 80.0, 110.0,
        ];
        assert!(!a.done(&steady[..5], &[]), "below the minimum");
        assert!(a.done(&steady, &[]));
        assert!(!a.done(&steady, &noisy), "every figure must settle");
        assert!(!a.done(&noisy, &steady), "every figure must settle");
        assert!(!a.done(&noisy_10[..9], &[]), "unsettled below the maximum");
        assert!(a.done(&noisy_10, &[]), "the maximum ends it");
        let p = Precision::of(&a, &noisy, &steady);
        assert!(!p.settled);
        assert_eq!(p.rps.unwrap().low, 70.0);
        assert!(Precision::of(&a, &steady, &[]).settled);
        assert_eq!(Precision::of(&a, &steady, &[]).cpu_us, None);
    }
}
