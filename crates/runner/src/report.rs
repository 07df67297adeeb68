//! `runner report`: a Markdown report with charts from one or more results
//! files: a header per run ([`header`]), the conformance matrix, then per
//! category its frameworks and measurements ([`table`]), the order of
//! frameworks per target in a side-by-side run ([`order`]), charts
//! ([`charts`]), the scaling section of a `--state` run ([`scaling`]) and
//! the open-model section ([`open_model`]).

use crate::results::{Measurement, OpenPoint, Results};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

mod charts;
mod header;
mod open_model;
mod order;
mod scaling;
mod table;

/// What the figures and flags of a category's table mean.
const LEGEND: &str =
    "Good req/s = answers with the status their request expects, per second (goodput: an \
         error is not a served request). Error rate = errors ÷ attempts. Share of ceiling = good \
         req/s ÷ the ceiling's req/s in the same run. CPU vs ceiling = server CPU per good answer \
         ÷ the ceiling's: on a small machine the load generator saturates first, so this is the \
         efficiency figure to read. PSS counts shared pages once (forked workers). Sampled = \
         answers checked against the contract during the load, and how many failed. Flags: \
         `littles_law` (connections ÷ mean latency disagrees with req/s by > 20 %), \
         `wrk_saturated` (wrk used ≥ 90 % of its cores), `errors`, `error_rate` (above 0.1 %) \
         and `wrong_answers` (a sampled answer failed its check); figures with either of the \
         last two are marked ⚠ and left out of the charts. In an adaptive run (the default), \
         each figure is the median of short runs taken until its 95 % interval was within the \
         precision; ±x % is that interval's half-width (the error bars in the req/s, share and \
         CPU charts), and `unsettled` marks a figure still wider at the maximum number of runs. \
         Side by side (the default for several frameworks), `disturbed` marks a figure with a \
         run kept although another framework's server was busy during it. \
         A framework marked \
         **non-conforming** failed a negative case or flow of the category: its figures are \
         shown but it does not do all of the contract's work.\n\n";

/// Writes `report.md` and the charts into `dir`; returns the report's path.
pub fn write(files: &[PathBuf], dir: &Path) -> Result<PathBuf> {
    let runs = load(files)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut md = String::from("# Benchmark report\n\n");
    for (stem, r) in &runs {
        header::run(&mut md, stem, r);
    }
    conformance(&mut md, &runs);
    md.push_str(LEGEND);
    for category in categories(&runs) {
        let _ = writeln!(md, "## {category}\n");
        let columns = table::columns(&mut md, category, &runs);
        table::measurements(&mut md, &columns);
        table::services_and_waits(&mut md, &columns);
        table::over_baseline(&mut md, category, &columns);
        order::section(&mut md, category, &runs);
        charts::write(category, &columns, &runs, dir, &mut md)?;
        scaling::section(category, &columns, dir, &mut md)?;
        open_model::write(category, &columns, dir, &mut md)?;
    }
    let path = dir.join("report.md");
    std::fs::write(&path, md).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Each results file with its file stem.
fn load(files: &[PathBuf]) -> Result<Vec<(String, Results)>> {
    files
        .iter()
        .map(|f| {
            let stem = f
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            Results::load(f).map(|r| (stem, r))
        })
        .collect()
}

/// The conformance matrix of each run that verified servers.
fn conformance(md: &mut String, runs: &[(String, Results)]) {
    for (stem, r) in runs {
        let matrix = crate::conformance::Matrix::of_results(r);
        if matrix.cells.is_empty() || r.parameters.imported() {
            continue;
        }
        let title = if runs.len() > 1 {
            format!("## Conformance ({stem})\n\n")
        } else {
            "## Conformance\n\n".to_owned()
        };
        md.push_str(&title);
        md.push_str(
            "Checks passed per framework and category (every endpoint, negative case and flow of \
             the contract). Only endpoints that pass their own check are benchmarked; a \
             framework's failed checks, crashes and unmeasured targets are listed under its \
             category.\n\n",
        );
        md.push_str(&matrix.markdown());
        md.push('\n');
    }
}

/// Every category measured in any of the runs, in name order.
fn categories(runs: &[(String, Results)]) -> BTreeSet<&str> {
    runs.iter()
        .flat_map(|(_, r)| {
            r.frameworks
                .iter()
                .flat_map(|f| f.categories.iter().map(|c| c.category.as_str()))
        })
        .collect()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ms(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

/// Server CPU per request, or `n/a` when it was not sampled.
fn cpu_us(m: &Measurement) -> String {
    m.cpu
        .map_or_else(|| "n/a".to_owned(), |c| format!("{:.1}", c.us_per_request))
}

/// A size in MB, or `n/a` when it was not sampled.
fn mb_or_na(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{:.1} MB", mb(b)))
}

/// A framework's measurements in one category, labelled for the report
/// (a non-conforming framework's label says so).
struct Column<'a> {
    label: String,
    results: &'a [Measurement],
    open: &'a [OpenPoint],
}

/// Marks a figure that is left out of rankings.
fn tainted(m: &Measurement) -> &'static str {
    if m.trusted() {
        ""
    } else {
        " ⚠"
    }
}

fn row_label(m: &Measurement, sweep: bool) -> String {
    let kind = match m.kind {
        crate::targets::TargetKind::Endpoint => "",
        crate::targets::TargetKind::Scenario => " (mix)",
    };
    let state = m
        .state
        .map_or_else(String::new, |n| format!(" · {} records", records(n)));
    if sweep {
        format!("{}{kind} @{}{state}", m.name, m.connections)
    } else {
        format!("{}{kind}{state}", m.name)
    }
}

/// A store size, short: `1k`, `100k`, `1.5M`.
fn records(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 100_000 == 0 => format!("{}M", n as f64 / 1e6),
        n if n >= 1_000 && n % 100 == 0 => format!("{}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
