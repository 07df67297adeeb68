//! The order of frameworks per target in a side-by-side run: fastest to
//! slowest, each neighbour compared by the median of their per-round
//! ratios of good req/s ([`crate::order`]), so a reader sees which places
//! the run could tell apart and which are ties.

use super::row_label;
use crate::order::{ranking, Pair, Verdict};
use crate::results::{Measurement, Results};
use std::fmt::Write;

/// One target's trusted measurements: framework, runs, median good req/s.
type Row<'a> = Vec<(&'a str, &'a [f64], f64)>;

/// The order section of each side-by-side run that has `category`.
pub(super) fn section(md: &mut String, category: &str, runs: &[(String, Results)]) {
    for (stem, r) in runs.iter().filter(|(_, r)| r.parameters.side_by_side) {
        let sweep = r.parameters.connections.len() > 1;
        let rows = rows(r, category, sweep);
        if rows.is_empty() {
            continue;
        }
        let title = if runs.len() > 1 {
            format!("### Order ({stem})\n\n")
        } else {
            "### Order\n\n".to_owned()
        };
        md.push_str(&title);
        md.push_str(
            "Fastest to slowest by good req/s. The frameworks ran side by side, so each one's \
             i-th run was taken in the same round as the others' and the machine's drift cancels \
             in their ratio: each neighbour is compared by the median of the per-round ratios \
             with its 95 % interval (×r: the one before did r times as many good requests). `>` \
             the interval is above 1 (told apart), `≈` it holds 1 (a tie at this run's \
             precision), `?` fewer than 6 rounds (no interval). ⚠ figures are left out.\n\n| endpoint | fastest to slowest |\n|---|---|\n",
        );
        let mut count = [0usize; 3];
        for (label, row) in &rows {
            let mut cell = String::new();
            for (i, (name, pair)) in ranking(row).into_iter().enumerate() {
                if let Some(pair) = pair {
                    let (sign, k) = sign(&pair);
                    count[k] += 1;
                    let _ = write!(cell, " {sign} {name} ({})", ratio(&pair));
                } else if i == 0 {
                    cell.push_str(name);
                }
            }
            let _ = writeln!(md, "| {label} | {cell} |");
        }
        let _ = writeln!(
            md,
            "\nNeighbours told apart: {} of {}; ties: {}; without an interval: {}.\n",
            count[0],
            count.iter().sum::<usize>(),
            count[1],
            count[2]
        );
    }
}

/// Each target of the category with two or more trusted measurements, in
/// the order they first appear.
fn rows<'a>(r: &'a Results, category: &str, sweep: bool) -> Vec<(String, Row<'a>)> {
    let mut rows: Vec<(String, Row<'a>)> = Vec::new();
    let measured = r.frameworks.iter().flat_map(|f| {
        f.categories
            .iter()
            .filter(|c| c.category == category)
            .flat_map(move |c| c.results.iter().map(move |m| (f.name.as_str(), m)))
    });
    for (name, m) in measured.filter(|(_, m)| m.trusted()) {
        let label = row_label(m, sweep);
        let entry = entry(name, m);
        match rows.iter_mut().find(|(l, _)| *l == label) {
            Some((_, row)) => row.push(entry),
            None => rows.push((label, vec![entry])),
        }
    }
    rows.retain(|(_, row)| row.len() > 1);
    rows
}

fn entry<'a>(name: &'a str, m: &'a Measurement) -> (&'a str, &'a [f64], f64) {
    (name, m.runs_rps.as_slice(), m.requests_per_second)
}

/// The sign between two neighbours and which count it adds to (told
/// apart, tie, no interval).
fn sign(pair: &Pair) -> (&'static str, usize) {
    match pair.verdict() {
        Verdict::Faster => (">", 0),
        Verdict::Slower => ("<", 0),
        Verdict::Tie => ("≈", 1),
        Verdict::Unknown => ("?", 2),
    }
}

/// `×1.05, 0.98–1.10` (or `×1.05, 3 rounds` without an interval).
fn ratio(pair: &Pair) -> String {
    match pair.interval {
        Some(i) => format!("×{:.2}, {:.2}–{:.2}", pair.ratio, i.low, i.high),
        None => format!("×{:.2}, {} rounds", pair.ratio, pair.rounds),
    }
}
