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

/// A figure's 95 % interval read from a measurement, when it has one (an
/// adaptive run's).
type Spread = fn(&Measurement) -> Option<(f64, f64)>;

/// One summary chart: a figure per framework and row.
struct Summary {
    stem: &'static str,
    title: &'static str,
    x_label: &'static str,
    metric: Metric,
    spread: Spread,
    /// The ceiling's figure, drawn as a line.
    marker: Option<f64>,
}

/// No interval.
fn no_spread(_: &Measurement) -> Option<(f64, f64)> {
    None
}

/// The interval of good req/s.
fn rps_spread(m: &Measurement) -> Option<(f64, f64)> {
    m.precision
        .as_ref()
        .and_then(|p| p.rps)
        .map(|i| (i.low, i.high))
}

/// The req/s interval as shares of the ceiling (the share is req/s over the
/// ceiling's, so it scales the same way).
fn share_spread(m: &Measurement) -> Option<(f64, f64)> {
    let share = m.ceiling_share?;
    let (low, high) = rps_spread(m)?;
    let per = share / m.requests_per_second;
    per.is_finite().then_some((low * per, high * per))
}

/// The interval of CPU µs per good answer.
fn cpu_spread(m: &Measurement) -> Option<(f64, f64)> {
    m.precision
        .as_ref()
        .and_then(|p| p.cpu_us)
        .map(|i| (i.low, i.high))
}

/// A framework's trusted measurement for a chart row, if it has one.
fn trusted_in<'a>(c: &Column<'a>, row: &str, sweep: bool) -> Option<&'a Measurement> {
    c.results
        .iter()
        .find(|m| row_label(m, sweep) == row && m.trusted())
}

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
        trusted_in(c, row, sweep).map_or(f64::NAN, f)
    };
    let per_framework = |f: Metric, spread: Spread| -> Vec<Series> {
        columns
            .iter()
            .map(|c| Series {
                label: c.label.clone(),
                values: rows.iter().map(|r| value(c, r, &f)).collect(),
                intervals: rows
                    .iter()
                    .map(|r| trusted_in(c, r, sweep).and_then(spread))
                    .collect(),
            })
            .collect()
    };
    let ceiling = runs.first().and_then(|(_, r)| r.ceiling.results.first());
    let summaries = [
        Summary {
            stem: "rps",
            title: "requests per second",
            x_label: "requests/s (higher is better)",
            metric: |m| m.requests_per_second,
            spread: rps_spread,
            marker: ceiling.map(|m| m.requests_per_second),
        },
        Summary {
            stem: "share",
            title: "share of the ceiling's req/s",
            x_label: "req/s ÷ ceiling req/s (higher is better)",
            metric: |m| m.ceiling_share.unwrap_or(f64::NAN),
            spread: share_spread,
            marker: Some(1.0),
        },
        Summary {
            stem: "cpu",
            title: "server CPU per request",
            x_label: "CPU µs per request (lower is better)",
            metric: |m| m.cpu.map_or(f64::NAN, |c| c.us_per_request),
            spread: cpu_spread,
            marker: ceiling.and_then(|m| m.cpu.map(|c| c.us_per_request)),
        },
        Summary {
            stem: "p99",
            title: "p99 latency",
            x_label: "ms (lower is better)",
            metric: |m| m.latency_us.p99 / 1000.0,
            spread: no_spread,
            marker: ceiling.map(|m| m.latency_us.p99 / 1000.0),
        },
        Summary {
            stem: "memory",
            title: "peak memory (process tree RSS)",
            x_label: "MB (lower is better)",
            metric: |m| m.memory.map_or(f64::NAN, |x| mb(x.peak_rss_bytes)),
            spread: no_spread,
            marker: ceiling.and_then(|m| m.memory.map(|x| mb(x.peak_rss_bytes))),
        },
    ];
    for s in summaries {
        BarChart {
            title: &format!("{category}: {}", s.title),
            x_label: s.x_label,
            rows: &rows,
            series: &per_framework(s.metric, s.spread),
            marker: s.marker.map(|v| ("ceiling", v)),
        }
        .write(&dir.join(format!("{category}-{}", s.stem)))?;
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
                intervals: Vec::new(),
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
