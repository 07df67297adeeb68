//! A category's charts: the summary bar charts and one latency chart per
//! framework, written as SVG and PNG beside the report.

use super::{mb, row_label, Column};
use crate::chart::{BarChart, Series};
use crate::results::{Measurement, Results};
use anyhow::Result;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

/// A figure read from a measurement.
type Metric = fn(&Measurement) -> f64;

/// A framework's figure for a chart row (NaN when it has none or it is
/// tainted).
type Lookup<'a> = dyn Fn(&Column<'_>, &str, &dyn Fn(&Measurement) -> f64) -> f64 + 'a;

/// The category's summary charts (req/s, share of ceiling, CPU per
/// request, p99, memory: a bar per framework and endpoint, tainted figures
/// left out) and a latency chart per framework, with their links.
pub(super) fn write(
    category: &str,
    columns: &[Column<'_>],
    runs: &[(String, Results)],
    dir: &Path,
    md: &mut String,
) -> Result<()> {
    let sweep = columns.iter().any(|c| {
        c.results
            .iter()
            .map(|m| m.connections)
            .collect::<BTreeSet<_>>()
            .len()
            > 1
    });
    let mut rows: Vec<String> = Vec::new();
    for c in columns {
        for m in c.results {
            let label = row_label(m, sweep);
            if !rows.contains(&label) {
                rows.push(label);
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    // Tainted figures (error rate above 0.1 %, wrong answers) are not drawn.
    let value = |c: &Column<'_>, row: &str, f: &dyn Fn(&Measurement) -> f64| {
        c.results
            .iter()
            .find(|m| row_label(m, sweep) == row && m.trusted())
            .map_or(f64::NAN, f)
    };
    let per_framework = |f: &dyn Fn(&Measurement) -> f64| -> Vec<Series> {
        columns
            .iter()
            .map(|c| Series {
                label: c.label.clone(),
                values: rows.iter().map(|r| value(c, r, f)).collect(),
            })
            .collect()
    };
    let ceiling = runs.first().and_then(|(_, r)| r.ceiling.results.first());
    let summaries: [(&str, &str, &str, Metric, Option<f64>); 5] = [
        (
            "rps",
            "requests per second",
            "requests/s (higher is better)",
            |m| m.requests_per_second,
            ceiling.map(|m| m.requests_per_second),
        ),
        (
            "share",
            "share of the ceiling's req/s",
            "req/s ÷ ceiling req/s (higher is better)",
            |m| m.ceiling_share.unwrap_or(f64::NAN),
            Some(1.0),
        ),
        (
            "cpu",
            "server CPU per request",
            "CPU µs per request (lower is better)",
            |m| m.cpu.map_or(f64::NAN, |c| c.us_per_request),
            ceiling.and_then(|m| m.cpu.map(|c| c.us_per_request)),
        ),
        (
            "p99",
            "p99 latency",
            "ms (lower is better)",
            |m| m.latency_us.p99 / 1000.0,
            ceiling.map(|m| m.latency_us.p99 / 1000.0),
        ),
        (
            "memory",
            "peak memory (process tree RSS)",
            "MB (lower is better)",
            |m| m.memory.map_or(f64::NAN, |x| mb(x.peak_rss_bytes)),
            ceiling.and_then(|m| m.memory.map(|x| mb(x.peak_rss_bytes))),
        ),
    ];
    for (stem, title, x_label, metric, marker) in summaries {
        BarChart {
            title: &format!("{category}: {title}"),
            x_label,
            rows: &rows,
            series: &per_framework(&metric),
            marker: marker.map(|v| ("ceiling", v)),
        }
        .write(&dir.join(format!("{category}-{stem}")))?;
    }
    let latency_links = latency(category, columns, &rows, &value, dir)?;
    let _ = writeln!(
        md,
        "![req/s]({category}-rps.svg)\n\n![share of ceiling]({category}-share.svg)\n\n\
         ![CPU per request]({category}-cpu.svg)\n\n![p99]({category}-p99.svg)\n\n\
         ![memory]({category}-memory.svg)\n\n{}\n\n\
         PNG versions: [req/s]({category}-rps.png), [share]({category}-share.png), \
         [CPU]({category}-cpu.png), [p99]({category}-p99.png), [memory]({category}-memory.png)\n",
        latency_links.join("\n\n")
    );
    Ok(())
}

/// One latency chart per framework, a bar per percentile; returns their
/// Markdown links.
fn latency(
    category: &str,
    columns: &[Column<'_>],
    rows: &[String],
    value: &Lookup<'_>,
    dir: &Path,
) -> Result<Vec<String>> {
    let mut latency_links = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let pct: [(&str, Metric); 4] = [
            ("p50", |m| m.latency_us.p50 / 1000.0),
            ("p90", |m| m.latency_us.p90 / 1000.0),
            ("p99", |m| m.latency_us.p99 / 1000.0),
            ("p99.9", |m| m.latency_us.p99_9 / 1000.0),
        ];
        let series: Vec<Series> = pct
            .iter()
            .map(|(label, f)| Series {
                label: (*label).to_owned(),
                values: rows.iter().map(|r| value(c, r, f)).collect(),
            })
            .collect();
        let stem = format!("{category}-latency-{i}");
        BarChart {
            title: &format!("{category}: latency percentiles, {}", c.label),
            x_label: "ms (lower is better)",
            rows,
            series: &series,
            marker: None,
        }
        .write(&dir.join(&stem))?;
        latency_links.push(format!("![latency {}]({stem}.svg)", c.label));
    }
    Ok(latency_links)
}
