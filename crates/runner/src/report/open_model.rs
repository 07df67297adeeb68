//! The open-model section of a category: every offered rate's point in a
//! table, and p99 against offered load as a chart.

use super::{ms, Column};
use crate::chart::{Line, LineChart};
use anyhow::Result;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

/// The open-model section of a category: a table of every point and a
/// latency-vs-load chart (p99 against the offered share of each framework's
/// own maximum, one line per framework, geometric mean over its endpoints).
pub(super) fn write(
    category: &str,
    columns: &[Column<'_>],
    dir: &Path,
    md: &mut String,
) -> Result<()> {
    if columns.iter().all(|c| c.open.is_empty()) {
        return Ok(());
    }
    let _ = writeln!(
        md,
        "### {category}: open model (constant arrival rate)\n\n\
         Requests sent at a fixed rate whatever the server's pace, latency counted from each \
         request's scheduled send time (corrected for coordinated omission). Offered = a share \
         of the framework's own closed-loop maximum for the endpoint, or the common rate. \
         **short**: the achieved rate of good answers fell below 95 % of the offered one.\n\n\
         | framework | endpoint | offered | req/s offered | good req/s | p50 | p90 | p99 | p99.9 | max | errors |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for c in columns {
        for p in c.open {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {:.0}{} | {} | {} | {} | {} | {} | {} |",
                c.label,
                p.name,
                p.fraction
                    .map_or_else(|| "common".to_owned(), |f| format!("{:.0}%", f * 100.0)),
                p.target_rps,
                p.achieved_rps,
                if p.short { " **short**" } else { "" },
                ms(p.latency_us.p50),
                ms(p.latency_us.p90),
                ms(p.latency_us.p99),
                ms(p.latency_us.p99_9),
                ms(p.latency_us.max),
                p.errors
            );
        }
    }
    let lines: Vec<Line> = columns
        .iter()
        .map(|c| {
            let fractions: BTreeSet<u64> = c
                .open
                .iter()
                .filter_map(|p| p.fraction)
                .map(f64::to_bits)
                .collect();
            let mut points: Vec<(f64, f64)> = fractions
                .into_iter()
                .map(f64::from_bits)
                .filter_map(|f| {
                    let p99: Vec<f64> = c
                        .open
                        .iter()
                        .filter(|p| p.fraction == Some(f) && p.latency_us.p99 > 0.0)
                        .map(|p| p.latency_us.p99 / 1000.0)
                        .collect();
                    (!p99.is_empty()).then(|| {
                        let mean = p99.iter().map(|v| v.ln()).sum::<f64>() / p99.len() as f64;
                        (f, mean.exp())
                    })
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Line {
                label: c.label.clone(),
                points,
            }
        })
        .collect();
    let stem = format!("{category}-open-latency");
    LineChart {
        title: &format!("{category}: p99 latency vs offered load (open model)"),
        x_label: "offered load, share of the framework's own closed-loop maximum",
        y_label: "p99 ms, geometric mean over endpoints (log)",
        lines: &lines,
        x_format: |x| format!("{:.0}%", x * 100.0),
        x_labels: 10,
    }
    .write(&dir.join(&stem))?;
    let _ = writeln!(
        md,
        "\n![p99 vs offered load]({stem}.svg)\n\nPNG: [p99 vs offered load]({stem}.png)\n"
    );
    Ok(())
}
