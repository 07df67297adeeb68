//! The scaling section of a category (`runner run --state`): server CPU
//! per request of each listing and stats endpoint against the records in
//! the store, as a table (with the largest size's cost over the smallest's)
//! and a chart with a line per framework and endpoint; a flat line is the
//! goal, a rising one is a scan.

use super::{records, Column};
use crate::chart::{Line, LineChart};
use crate::results::Measurement;
use anyhow::Result;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

/// Largest-over-smallest cost still called flat.
pub const FLAT: f64 = 1.5;

/// One line of the section: a framework's endpoint at one connection count.
struct Curve<'a> {
    label: String,
    endpoint: &'a str,
    connections: u32,
    /// (records, measurement), ascending.
    points: Vec<(u64, &'a Measurement)>,
}

fn cpu(m: &Measurement) -> Option<f64> {
    m.cpu
        .map(|c| c.us_per_request)
        .filter(|v| *v > 0.0 && m.trusted())
}

fn curves<'a>(columns: &'a [Column<'_>]) -> Vec<Curve<'a>> {
    let mut out: Vec<Curve<'a>> = Vec::new();
    for c in columns {
        for m in c.results {
            let Some(n) = m.state else { continue };
            let at = out.iter().position(|k| {
                k.label == c.label && k.endpoint == m.name && k.connections == m.connections
            });
            match at {
                Some(i) => out[i].points.push((n, m)),
                None => out.push(Curve {
                    label: c.label.clone(),
                    endpoint: &m.name,
                    connections: m.connections,
                    points: vec![(n, m)],
                }),
            }
        }
    }
    for k in &mut out {
        k.points.sort_by_key(|(n, _)| *n);
    }
    out
}

/// Writes the section (nothing for a category without scaling figures).
pub fn section(category: &str, columns: &[Column<'_>], dir: &Path, md: &mut String) -> Result<()> {
    let curves = curves(columns);
    if curves.is_empty() {
        return Ok(());
    }
    let sizes: BTreeSet<u64> = curves
        .iter()
        .flat_map(|k| k.points.iter().map(|(n, _)| *n))
        .collect();
    let sweep = curves
        .iter()
        .map(|k| k.connections)
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let _ = writeln!(
        md,
        "### {category}: cost against the store's size\n\n\
         The store filled to each size with the contract's preload requests, then each listing and \
         stats endpoint measured on it. Server CPU µs per request; growth = the largest size's \
         cost ÷ the smallest's (flat: at most {FLAT}×). A cost that grows with the store is a \
         scan.\n"
    );
    md.push_str("| framework | endpoint | conns |");
    for n in &sizes {
        let _ = write!(md, " {} records |", records(*n));
    }
    md.push_str(" growth | req/s smallest → largest |\n|---|---|---:|");
    md.push_str(&"---:|".repeat(sizes.len() + 2));
    md.push('\n');
    for k in &curves {
        let _ = write!(md, "| {} | {} | {} |", k.label, k.endpoint, k.connections);
        for n in &sizes {
            let cell = k
                .points
                .iter()
                .find(|(at, _)| at == n)
                .map_or_else(|| "–".to_owned(), |(_, m)| super::cpu_us(m));
            let _ = write!(md, " {cell} |");
        }
        let first = k.points.first().map(|(_, m)| *m);
        let last = k.points.last().map(|(_, m)| *m);
        let growth = first
            .and_then(cpu)
            .zip(last.and_then(cpu))
            .map(|(a, b)| b / a);
        let _ = writeln!(
            md,
            " {} | {} |",
            growth.map_or_else(
                || "–".to_owned(),
                |g| format!("{g:.2}×{}", if g > FLAT { " **grows**" } else { "" })
            ),
            first.zip(last).map_or_else(
                || "–".to_owned(),
                |(a, b)| format!(
                    "{:.0} → {:.0}",
                    a.requests_per_second, b.requests_per_second
                )
            ),
        );
    }
    let lines: Vec<Line> = curves
        .iter()
        .map(|k| Line {
            label: if sweep {
                format!("{}: {} @{}", k.label, k.endpoint, k.connections)
            } else {
                format!("{}: {}", k.label, k.endpoint)
            },
            points: k
                .points
                .iter()
                .filter_map(|(n, m)| cpu(m).map(|y| ((*n as f64).log10(), y)))
                .collect(),
        })
        .collect();
    let decades = sizes
        .first()
        .zip(sizes.last())
        .map_or(1.0, |(lo, hi)| (*hi as f64 / *lo as f64).log10().ceil());
    let stem = format!("{category}-scaling");
    LineChart {
        title: &format!("{category}: server CPU per request vs records in the store"),
        x_label: "records in the store (log)",
        y_label: "CPU µs per request (log)",
        lines: &lines,
        // Decades only: 10^3.5 records is no size anyone ran.
        x_format: |x| {
            if (x - x.round()).abs() < 0.01 {
                records(10f64.powf(x.round()) as u64)
            } else {
                String::new()
            }
        },
        // One label a decade.
        x_labels: decades as usize + 1,
    }
    .write(&dir.join(&stem))?;
    let _ = writeln!(
        md,
        "\n![CPU per request vs store size]({stem}.svg)\n\nPNG: [CPU per request vs store size]({stem}.png)\n"
    );
    Ok(())
}
