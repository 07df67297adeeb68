//! `runner compare`: two results files side by side, per endpoint, with an
//! optional regression gate.

use crate::results::{Measurement, Results};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One endpoint in both files.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `framework/category/name@connections`.
    pub key: String,
    /// Requests per second in the baseline.
    pub before: f64,
    /// Requests per second in the candidate.
    pub after: f64,
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

fn index(r: &Results) -> BTreeMap<String, &Measurement> {
    let mut out = BTreeMap::new();
    for f in &r.frameworks {
        for c in &f.categories {
            for m in &c.results {
                out.insert(
                    format!("{}/{}/{}@{}", f.name, c.category, m.name, m.connections),
                    m,
                );
            }
        }
    }
    for m in &r.ceiling.results {
        out.insert(format!("ceiling/-/{}@{}", m.name, m.connections), m);
    }
    out
}

/// Rows present in both files, and keys present in only one.
pub fn compare(before: &Results, after: &Results) -> (Vec<Row>, Vec<String>) {
    let (a, b) = (index(before), index(after));
    let rows = a
        .iter()
        .filter_map(|(k, m)| {
            b.get(k).map(|n| Row {
                key: k.clone(),
                before: m.requests_per_second,
                after: n.requests_per_second,
            })
        })
        .collect();
    let unmatched = a
        .keys()
        .filter(|k| !b.contains_key(*k))
        .chain(b.keys().filter(|k| !a.contains_key(*k)))
        .cloned()
        .collect();
    (rows, unmatched)
}

/// A Markdown table of the rows; rows slower than `max_regression` are marked.
pub fn table(rows: &[Row], max_regression: Option<f64>) -> String {
    let mut out =
        String::from("| endpoint | before req/s | after req/s | change |\n|---|---:|---:|---:|\n");
    for r in rows {
        let flag = match max_regression {
            Some(limit) if r.delta() < -limit => " **regression**",
            _ => "",
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:+.1}%{flag} |",
            r.key,
            r.before,
            r.after,
            r.delta() * 100.0
        );
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

    #[test]
    fn deltas_and_flags() {
        let rows = [Row {
            key: "a".into(),
            before: 100.0,
            after: 90.0,
        }];
        assert!((rows[0].delta() + 0.1).abs() < 1e-9);
        assert!(table(&rows, Some(0.05)).contains("**regression**"));
        assert!(!table(&rows, Some(0.2)).contains("**regression**"));
    }
}
