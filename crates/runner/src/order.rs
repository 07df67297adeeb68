//! Which framework is faster on a target, as far as a run can tell. In a
//! side-by-side run the i-th run of every framework on a target was taken
//! in the same round, seconds apart, so the machine's drift over minutes
//! cancels in the ratio of the two: two frameworks are compared by the
//! median of their per-round ratios of good req/s, with its
//! distribution-free 95 % interval ([`crate::precision::median_interval`]).
//! An interval above 1 orders them, one that holds 1 is a tie at this
//! run's precision, and fewer than six rounds give no verdict.

use crate::precision::{median_interval, Interval, CONFIDENCE};

/// Two frameworks on one target, compared round by round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// Median of the per-round ratios (first ÷ second) with its interval;
    /// `None` below six rounds.
    pub interval: Option<Interval>,
    /// The median ratio (also without an interval).
    pub ratio: f64,
    /// Rounds compared.
    pub rounds: usize,
}

/// What a pair says about its two frameworks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The first is faster: the whole interval is above 1.
    Faster,
    /// The first is slower: the whole interval is below 1.
    Slower,
    /// The interval holds 1: not told apart at this precision.
    Tie,
    /// Too few rounds for an interval.
    Unknown,
}

impl Pair {
    /// `first` against `second`, each the good req/s of its runs in round
    /// order: the rounds both have (a run stopped early has fewer), a round
    /// with a zero or non-finite figure left out. None without a round.
    pub fn of(first: &[f64], second: &[f64]) -> Option<Pair> {
        let ratios: Vec<f64> = first
            .iter()
            .zip(second)
            .map(|(a, b)| a / b)
            .filter(|r| r.is_finite() && *r > 0.0)
            .collect();
        if ratios.is_empty() {
            return None;
        }
        Some(Pair {
            interval: median_interval(&ratios, CONFIDENCE),
            ratio: crate::results::median(&ratios),
            rounds: ratios.len(),
        })
    }

    /// Whether the first is faster, slower, tied or not known.
    pub fn verdict(&self) -> Verdict {
        match self.interval {
            None => Verdict::Unknown,
            Some(i) if i.low > 1.0 => Verdict::Faster,
            Some(i) if i.high < 1.0 => Verdict::Slower,
            Some(_) => Verdict::Tie,
        }
    }
}

/// Frameworks on one target from fastest to slowest (by median good
/// req/s), each with its comparison to the one before it.
pub fn ranking<'a>(entries: &[(&'a str, &'a [f64], f64)]) -> Vec<(&'a str, Option<Pair>)> {
    let mut sorted: Vec<&(&str, &[f64], f64)> = entries.iter().collect();
    sorted.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut out = Vec::new();
    for (i, (name, runs, _)) in sorted.iter().enumerate() {
        let pair = i
            .checked_sub(1)
            .and_then(|before| Pair::of(sorted[before].1, runs));
        out.push((*name, pair));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drift_that_moves_both_cancels_in_their_ratio() {
        // Each round the machine is slower or faster (×0.3 to ×1.0); the
        // first framework is always 1.2× the second within 2 %.
        let drift = [1.0, 0.3, 0.8, 0.5, 0.9, 0.4];
        let wobble = [1.0, 1.02, 0.99, 1.01, 0.98, 1.0];
        let second: Vec<f64> = drift.iter().map(|d| 1000.0 * d).collect();
        let first: Vec<f64> = drift
            .iter()
            .zip(wobble)
            .map(|(d, w)| 1200.0 * d * w)
            .collect();
        // Their own medians' intervals overlap widely...
        let (a, b) = (
            median_interval(&first, CONFIDENCE).unwrap(),
            median_interval(&second, CONFIDENCE).unwrap(),
        );
        assert!(a.low < b.high);
        // ... the per-round ratio orders them.
        let pair = Pair::of(&first, &second).unwrap();
        assert_eq!(pair.verdict(), Verdict::Faster);
        assert!((pair.ratio - 1.2).abs() < 0.01, "{pair:?}");
        assert_eq!(
            Pair::of(&second, &first).unwrap().verdict(),
            Verdict::Slower
        );
    }

    #[test]
    fn ratios_are_the_median_and_order_statistics_of_each_round() {
        let first = [110.0, 90.0, 100.0, 130.0, 95.0, 105.0, 120.0];
        let second = [100.0, 100.0, 100.0, 100.0, 100.0, 100.0];
        let pair = Pair::of(&first, &second).unwrap();
        // Six rounds (the seventh has no partner): the interval is their
        // range, and it holds 1.
        assert_eq!(pair.rounds, 6);
        let i = pair.interval.unwrap();
        assert_eq!((i.low, i.high), (0.9, 1.3));
        assert!((pair.ratio - 1.025).abs() < 1e-12);
        assert_eq!(pair.verdict(), Verdict::Tie);
        // Three rounds: a ratio, no verdict.
        let short = Pair::of(&first[..3], &second[..3]).unwrap();
        assert_eq!((short.interval, short.verdict()), (None, Verdict::Unknown));
        assert!((short.ratio - 1.0).abs() < 1e-12);
        // A zero round is left out; nothing to compare is None.
        assert_eq!(Pair::of(&[1.0, 2.0], &[0.0, 1.0]).unwrap().rounds, 1);
        assert_eq!(Pair::of(&[], &second), None);
    }

    #[test]
    fn a_ranking_compares_each_framework_with_the_one_before() {
        let (a, b, c) = ([300.0; 6], [100.0; 6], [110.0; 6]);
        let ranked = ranking(&[("b", &b, 100.0), ("a", &a, 300.0), ("c", &c, 110.0)]);
        let names: Vec<&str> = ranked.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["a", "c", "b"]);
        assert_eq!(ranked[0].1, None);
        assert!((ranked[1].1.unwrap().ratio - 300.0 / 110.0).abs() < 1e-12);
        assert_eq!(ranked[2].1.unwrap().verdict(), Verdict::Faster);
    }
}
