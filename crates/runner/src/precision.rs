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
    let v = sorted(samples);
    let n = v.len();
    let j = order_index(n, confidence)?;
    Some(Interval {
        median: crate::results::median(&v),
        low: v[j - 1],
        high: v[n - j],
    })
}

/// The finite samples, sorted.
fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The `j` of the interval `[x(j), x(n+1-j)]` of `n` samples: the largest
/// whose coverage, 1 − 2·P(Bin(n,½) ≤ j−1), reaches `confidence` (None
/// when even `[min, max]` does not).
fn order_index(n: usize, confidence: f64) -> Option<usize> {
    let alpha = 1.0 - confidence;
    // j = 1 is [min, max], covering 1 − 2·(½)^n.
    (1..=n / 2)
        .take_while(|&j| 2.0 * binomial_half_cdf(n, j - 1) <= alpha)
        .last()
}

/// The smallest relative half-width the interval of `samples` could still
/// have once there are `max` of them, whatever the next ones are: with
/// more samples the j-th smallest can only fall and the j-th largest only
/// rise, so at `max` the interval spans at least `[y(j), y(n+1-j)]` of the
/// samples `y` so far (j of `max` samples), and the median lies inside it.
/// None when no such bound exists yet (too few samples so far).
fn narrowest_at(samples: &[f64], max: usize) -> Option<f64> {
    let y = sorted(samples);
    let j = order_index(max, CONFIDENCE)?;
    let n = y.len();
    if n + 1 < 2 * j || j == 0 {
        return None;
    }
    let (low, high) = (y[j - 1], y[n - j]);
    // Over the largest median the interval allows: the least relative width.
    (high > 0.0).then(|| (high - low) / 2.0 / high)
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
                && (self.settled(
                    median_interval(rps, CONFIDENCE),
                    cpu_us,
                    median_interval(cpu_us, CONFIDENCE),
                ) || self.cannot_settle(rps, cpu_us)))
    }

    /// Whether a figure can no longer come within the precision by the
    /// maximum, whatever the remaining samples are: sampling on would only
    /// spend time.
    pub fn cannot_settle(&self, rps: &[f64], cpu_us: &[f64]) -> bool {
        let max = self.max_samples as usize;
        [rps, cpu_us]
            .iter()
            .filter_map(|s| narrowest_at(s, max))
            .any(|width| width > self.precision)
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
    /// Stopped before the maximum: even the narrowest interval the
    /// remaining samples could give was wider than `target`.
    #[serde(default)]
    pub cannot_settle: bool,
}

impl Precision {
    /// The record of `rps` and `cpu_us` samples against `adaptive`.
    pub fn of(adaptive: &Adaptive, rps: &[f64], cpu_us: &[f64]) -> Self {
        let (rps_interval, cpu_interval) = (
            median_interval(rps, CONFIDENCE),
            median_interval(cpu_us, CONFIDENCE),
        );
        let settled = adaptive.settled(rps_interval, cpu_us, cpu_interval);
        Precision {
            target: adaptive.precision,
            cpu_us_samples: cpu_us.to_vec(),
            rps: rps_interval,
            cpu_us: cpu_interval,
            settled,
            cannot_settle: !settled
                && rps.len() < adaptive.max_samples as usize
                && adaptive.cannot_settle(rps, cpu_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `runner run`'s default sampling: ±5 %, 6 to 9 runs.
    const DEFAULT: Adaptive = Adaptive {
        precision: 0.05,
        min_samples: 6,
        max_samples: 9,
    };

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
            max_samples: 10,
            ..DEFAULT
        };
        let steady = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2];
        let noisy = [100.0, 150.0, 70.0, 120.0, 90.0, 130.0];
        let noisy_10 = [
            100.0, 150.0, 70.0, 120.0, 90.0, 130.0, 60.0, 140.0, 80.0, 110.0,
        ];
        // Far from its maximum, nothing can be ruled out early.
        let patient = Adaptive {
            max_samples: 20,
            ..a
        };
        assert!(!a.done(&steady[..5], &[]), "below the minimum");
        assert!(a.done(&steady, &[]));
        assert!(!patient.done(&steady, &noisy), "every figure must settle");
        assert!(!patient.done(&noisy, &steady), "every figure must settle");
        assert!(
            !patient.done(&noisy_10[..9], &[]),
            "unsettled below the maximum"
        );
        assert!(a.done(&noisy_10, &[]), "the maximum ends it");
        let p = Precision::of(&a, &noisy, &steady);
        assert!(!p.settled);
        assert_eq!(p.rps.unwrap().low, 70.0);
        assert!(Precision::of(&a, &steady, &[]).settled);
        assert_eq!(Precision::of(&a, &steady, &[]).cpu_us, None);
    }

    #[test]
    fn sampling_stops_early_when_no_remaining_samples_could_settle_it() {
        let a = DEFAULT;
        // At 9 samples the interval is [x(2), x(8)], so it will span at
        // least the 2nd to 5th of these six: 90..130 is ±15.4 % of 130.
        let hopeless = [100.0, 150.0, 70.0, 120.0, 90.0, 130.0];
        assert_eq!(narrowest_at(&hopeless, 9), Some(20.0 / 130.0));
        assert!(a.cannot_settle(&hopeless, &[]));
        assert!(a.done(&hopeless, &[]), "stops at the minimum");
        let p = Precision::of(&a, &hopeless, &[]);
        assert!(!p.settled && p.cannot_settle);
        // One stray sample: dropped from 9 on, so sampling goes on.
        let stray = [100.0, 101.0, 99.0, 100.5, 99.5, 140.0];
        assert!(!a.cannot_settle(&stray, &[]));
        assert!(!a.done(&stray, &[]));
        // ... and three more in line settle it.
        let settled = [100.0, 101.0, 99.0, 100.5, 99.5, 140.0, 100.1, 99.8, 100.3];
        assert!(a.done(&settled, &[]));
        assert!(Precision::of(&a, &settled, &[]).settled);
        // At the maximum it is unsettled, not stopped early.
        let p = Precision::of(
            &a,
            &[100.0, 150.0, 70.0, 120.0, 90.0, 130.0, 60.0, 140.0, 80.0],
            &[],
        );
        assert!(!p.settled && !p.cannot_settle);
        // Far from the maximum there is no bound yet; the CPU series
        // counts as much as req/s.
        assert_eq!(narrowest_at(&hopeless, 40), None);
        assert!(a.cannot_settle(&[100.0; 6], &hopeless));
    }

    #[test]
    fn the_early_stop_never_gives_up_on_a_figure_that_could_settle() {
        // Every way of adding the remaining samples to six, drawn from a
        // grid: whenever the bound says no, no completion settles.
        let a = DEFAULT;
        let grid = [90.0, 95.0, 98.0, 100.0, 102.0, 105.0, 110.0];
        let start = [
            [88.0, 92.0, 100.0, 100.0, 105.0, 112.0],
            [93.0, 96.0, 100.0, 100.0, 107.0, 112.0],
            [90.0, 95.0, 100.0, 101.0, 104.0, 115.0],
        ];
        // Near the edge on both sides.
        let verdicts: Vec<bool> = start.iter().map(|s| a.cannot_settle(s, &[])).collect();
        assert_eq!(verdicts, [true, true, false]);
        for first in start {
            let hopeless = a.cannot_settle(&first, &[]);
            for x in grid {
                for y in grid {
                    for z in grid {
                        let mut all = first.to_vec();
                        all.extend([x, y, z]);
                        let settles = median_interval(&all, CONFIDENCE)
                            .is_some_and(|i| i.relative_half_width() <= a.precision);
                        assert!(!(hopeless && settles), "{all:?}");
                    }
                }
            }
        }
    }
}
