//! `runner compare`: a regression gate between two results files.
//!
//! Results from different machines or load parameters are refused (unless
//! forced). Each endpoint is compared on its share of the ceiling measured in
//! the same run (raw req/s with `raw`), so a machine that is slower today
//! does not read as a regression; a change inside the noise band is
//! "unchanged": the 95 % interval of an adaptive measurement
//! (`--precision`), else the spread of the repeats (`runs_rps`). The gate
//! fails when an endpoint disappeared, started failing verification, raised
//! its error rate, slowed beyond the threshold (and the noise), or its p99
//! grew beyond its threshold.

use crate::results::{Measurement, Results, MAX_ERROR_RATE};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Exit code: the gate passed.
pub const EXIT_PASSED: u8 = 0;
/// Exit code: a regression, a missing endpoint, a new verification failure
/// or a higher error rate.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the files cannot be compared (different machines or
/// parameters without `--force`, unreadable files).
pub const EXIT_REFUSED: u8 = 2;

/// Repeats needed on both sides for a noise band.
pub const MIN_REPEATS: usize = 3;

/// How to compare.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    /// Slowdown (fraction) beyond which an endpoint fails, if outside the
    /// noise band.
    pub max_regression: f64,
    /// p99 growth (fraction) beyond which an endpoint fails.
    pub max_p99_regression: f64,
    /// Compare raw req/s instead of shares of the ceiling.
    pub raw: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            max_regression: 0.10,
            max_p99_regression: 0.50,
            raw: false,
        }
    }
}

/// What became of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Inside the noise band.
    Unchanged,
    /// Faster beyond the noise band.
    Faster,
    /// Slower beyond the noise band, within the threshold.
    Slower,
    /// Slower beyond the noise band and the threshold.
    Regression,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Unchanged => "unchanged (within noise)",
            Verdict::Faster => "faster",
            Verdict::Slower => "slower (within threshold)",
            Verdict::Regression => "**regression**",
        }
    }
}

/// One endpoint in both files.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `framework/category/name@connections`.
    pub key: String,
    /// Share of the ceiling (or req/s with `raw`) in the baseline.
    pub before: f64,
    /// The same in the candidate.
    pub after: f64,
    /// Relative spread of the repeats, the larger side's (`None` with fewer
    /// than three repeats on a side).
    pub noise: Option<f64>,
    /// p99 before and after, µs.
    pub p99: (f64, f64),
    /// Error rate before and after.
    pub error_rate: (f64, f64),
    /// The verdict on throughput.
    pub verdict: Verdict,
}

impl Row {
    /// Relative change (`-0.1` is 10 % slower).
    pub fn delta(&self) -> f64 {
        if self.before > 0.0 {
            self.after / self.before - 1.0
        } else {
            0.0
        }
    }
}

/// The outcome of a comparison.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Endpoints in both files.
    pub rows: Vec<Row>,
    /// Why the gate fails (empty when it passes).
    pub problems: Vec<String>,
    /// Notes that do not fail it (new endpoints, no noise band).
    pub notes: Vec<String>,
}

impl Comparison {
    /// The exit code: passed or failed.
    pub fn exit_code(&self) -> u8 {
        if self.problems.is_empty() {
            EXIT_PASSED
        } else {
            EXIT_FAILED
        }
    }
}

/// Why two results files should not be compared, if they should not: a
/// different machine, or different load parameters.
pub fn incomparable(before: &Results, after: &Results) -> Option<String> {
    let (a, b) = (&before.machine, &after.machine);
    if a.cpu_model != b.cpu_model || a.cores != b.cores || a.memory_bytes != b.memory_bytes {
        return Some(format!(
            "different machines: {} ({} cores) vs {} ({} cores)",
            a.cpu_model, a.cores, b.cpu_model, b.cores
        ));
    }
    let (p, q) = (&before.parameters, &after.parameters);
    let differs = [
        ("duration", p.duration_seconds != q.duration_seconds),
        ("connections", p.connections != q.connections),
        ("wrk threads", p.threads != q.threads),
        ("repeats", p.repeat != q.repeat),
        ("adaptive sampling", p.adaptive != q.adaptive),
        ("warm-up", p.warmup_seconds != q.warmup_seconds),
        ("workers", p.workers != q.workers),
        ("CPU pinning", p.cpus != q.cpus),
        ("keep-alive", p.keep_alive != q.keep_alive),
        ("pipelining", p.pipelining != q.pipelining),
        ("load generator", p.load_generator != q.load_generator),
    ];
    let names: Vec<&str> = differs.iter().filter(|d| d.1).map(|d| d.0).collect();
    (!names.is_empty()).then(|| format!("different load parameters: {}", names.join(", ")))
}

fn index(r: &Results) -> BTreeMap<String, &Measurement> {
    let mut out = BTreeMap::new();
    for f in &r.frameworks {
        for c in &f.categories {
            for m in &c.results {
                let state = m
                    .state
                    .map_or_else(String::new, |n| format!(" on {n} records"));
                out.insert(
                    format!(
                        "{}/{}/{}@{}{state}",
                        f.name, c.category, m.name, m.connections
                    ),
                    m,
                );
            }
        }
    }
    out
}

/// A measurement's relative noise: its 95 % interval's width ÷ its median
/// when it was measured adaptively, else the spread of its repeats,
/// (max − min) ÷ median.
fn spread(m: &Measurement) -> Option<f64> {
    if let Some(i) = m.precision.as_ref().and_then(|p| p.rps) {
        if i.median > 0.0 {
            return Some((i.high - i.low) / i.median);
        }
    }
    if m.runs_rps.len() < MIN_REPEATS || m.requests_per_second <= 0.0 {
        return None;
    }
    let max = m.runs_rps.iter().copied().fold(f64::MIN, f64::max);
    let min = m.runs_rps.iter().copied().fold(f64::MAX, f64::min);
    Some((max - min) / m.requests_per_second)
}

/// Compares `after` with `before` under `gate`.
pub fn compare(before: &Results, after: &Results, gate: Gate) -> Comparison {
    let (a, b) = (index(before), index(after));
    let mut out = Comparison::default();
    // Shares of the ceiling where both sides have one; raw req/s otherwise
    // (a run without a ceiling: a remote target, an imported run).
    let shares = |m: &Measurement, n: &Measurement| {
        m.ceiling_share.zip(n.ceiling_share).filter(|_| !gate.raw)
    };
    let mut no_band = 0;
    let mut raw_instead = 0;
    for (key, m) in &a {
        let Some(n) = b.get(key) else {
            out.problems
                .push(format!("{key}: measured before, missing now"));
            continue;
        };
        let noise = spread(m).zip(spread(n)).map(|(x, y)| x.max(y));
        if noise.is_none() {
            no_band += 1;
        }
        let (before_v, after_v) = shares(m, n).unwrap_or_else(|| {
            if !gate.raw {
                raw_instead += 1;
            }
            (m.requests_per_second, n.requests_per_second)
        });
        let delta = if before_v > 0.0 {
            after_v / before_v - 1.0
        } else {
            0.0
        };
        let band = noise.unwrap_or(0.0);
        let verdict = if delta.abs() <= band {
            Verdict::Unchanged
        } else if delta > 0.0 {
            Verdict::Faster
        } else if -delta > gate.max_regression {
            Verdict::Regression
        } else {
            Verdict::Slower
        };
        if verdict == Verdict::Regression {
            out.problems.push(format!(
                "{key}: {:+.1}% (threshold -{:.1}%, noise ±{:.1}%)",
                delta * 100.0,
                gate.max_regression * 100.0,
                band * 100.0
            ));
        }
        let (p99a, p99b) = (m.latency_us.p99, n.latency_us.p99);
        if p99a > 0.0 && p99b > p99a * (1.0 + gate.max_p99_regression) {
            out.problems.push(format!(
                "{key}: p99 {:.0} µs → {:.0} µs (threshold +{:.0}%)",
                p99a,
                p99b,
                gate.max_p99_regression * 100.0
            ));
        }
        if n.error_rate > m.error_rate + MAX_ERROR_RATE {
            out.problems.push(format!(
                "{key}: error rate {:.3}% → {:.3}%",
                m.error_rate * 100.0,
                n.error_rate * 100.0
            ));
        }
        out.rows.push(Row {
            key: key.clone(),
            before: before_v,
            after: after_v,
            noise,
            p99: (p99a, p99b),
            error_rate: (m.error_rate, n.error_rate),
            verdict,
        });
    }
    for key in b.keys().filter(|k| !a.contains_key(*k)) {
        out.notes.push(format!("{key}: new, not in the baseline"));
    }
    verification(before, after, &mut out.problems);
    if raw_instead > 0 {
        out.notes.push(format!(
            "{raw_instead} endpoint(s) have no share of a ceiling on a side (no ceiling measured): \
             compared on raw req/s"
        ));
    }
    if no_band > 0 {
        out.notes.push(format!(
            "{no_band} endpoint(s) have fewer than {MIN_REPEATS} repeats on a side: no noise band, \
             any change beyond the threshold counts"
        ));
    }
    out
}

/// New verification failures: more failed checks, a framework that became
/// non-conforming, endpoints newly skipped or not measured.
fn verification(before: &Results, after: &Results, problems: &mut Vec<String>) {
    for f in &after.frameworks {
        let Some(old) = before.frameworks.iter().find(|o| o.name == f.name) else {
            continue;
        };
        for c in &f.categories {
            let Some(was) = old.categories.iter().find(|o| o.category == c.category) else {
                continue;
            };
            let at = format!("{}/{}", f.name, c.category);
            if c.verify.failed > was.verify.failed {
                problems.push(format!(
                    "{at}: {} verification check(s) failed, {} before",
                    c.verify.failed, was.verify.failed
                ));
            }
            if was.conforming && !c.conforming {
                problems.push(format!("{at}: non-conforming now"));
            }
            for e in &c.verify.skipped_endpoints {
                if !was.verify.skipped_endpoints.contains(e) {
                    problems.push(format!("{at}/{e}: fails verification now"));
                }
            }
            if was.error.is_none() {
                if let Some(e) = &c.error {
                    problems.push(format!("{at}: not measured now: {e}"));
                }
            }
        }
    }
}

/// A Markdown table of the rows, then the problems and notes.
pub fn table(c: &Comparison, gate: Gate) -> String {
    let unit = if gate.raw {
        "req/s"
    } else {
        "share of ceiling"
    };
    let mut out = format!(
        "| endpoint | before ({unit}) | after | change | noise | p99 before → after | verdict |\n\
         |---|---:|---:|---:|---:|---:|---|\n"
    );
    for r in &c.rows {
        let number = |v: f64| {
            if gate.raw {
                format!("{v:.0}")
            } else {
                format!("{v:.3}")
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:+.1}% | {} | {:.0} → {:.0} µs | {} |",
            r.key,
            number(r.before),
            number(r.after),
            r.delta() * 100.0,
            r.noise
                .map_or_else(|| "–".to_owned(), |n| format!("±{:.1}%", n * 100.0)),
            r.p99.0,
            r.p99.1,
            r.verdict.word()
        );
    }
    for p in &c.problems {
        let _ = writeln!(out, "FAIL: {p}");
    }
    for n in &c.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// Parses `5%` or `0.05` into a fraction.
pub fn parse_fraction(s: &str) -> Result<f64, String> {
    let (number, scale) = match s.trim().strip_suffix('%') {
        Some(p) => (p, 100.0),
        None => (s.trim(), 1.0),
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / scale)
        .ok_or_else(|| format!("`{s}` is not a percentage like 5% or a fraction like 0.05"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions() {
        assert_eq!(parse_fraction("5%").unwrap(), 0.05);
        assert_eq!(parse_fraction("0.1").unwrap(), 0.1);
        assert!(parse_fraction("five").is_err());
        assert!(parse_fraction("-3%").is_err());
    }
}
