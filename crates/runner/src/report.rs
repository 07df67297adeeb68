//! `runner report`: a Markdown report with charts from one or more results
//! files.

use crate::chart::{BarChart, Line, LineChart, Series};
use crate::results::{Measurement, OpenPoint, Results};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

mod scaling;

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

/// How the load of a run was made, in one line.
fn load_line(p: &crate::results::Parameters) -> String {
    if p.imported() {
        return format!(
            "{} (imported), {} user(s) over {} worker process(es), {} s; keep-alive {}",
            p.load_generator,
            p.connections.first().copied().unwrap_or(0),
            p.threads,
            p.duration_seconds,
            if p.keep_alive { "on" } else { "off" },
        );
    }
    format!(
        "wrk, {} thread(s), connections {:?}, {} s × {} run(s) (median), {} s warm-up; \
         keep-alive {}, pipelining {}; workers per framework: {}; CPUs: {}",
        p.threads,
        p.connections,
        p.duration_seconds,
        p.repeat,
        p.warmup_seconds,
        if p.keep_alive { "on" } else { "off" },
        if p.pipelining { "on" } else { "off" },
        p.workers
            .map_or_else(|| "not recorded".to_owned(), |w| w.to_string()),
        p.cpus.as_ref().map_or_else(
            || "shared by server and load".to_owned(),
            |c| format!("server {}, load {}", c.server, c.load)
        ),
    )
}

/// Writes `report.md` and the charts into `dir`; returns the report's path.
pub fn write(files: &[PathBuf], dir: &Path) -> Result<PathBuf> {
    let runs: Vec<(String, Results)> = files
        .iter()
        .map(|f| {
            let stem = f
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            Results::load(f).map(|r| (stem, r))
        })
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut md = String::from("# Benchmark report\n\n");
    for (stem, r) in &runs {
        let p = &r.parameters;
        let _ = writeln!(
            md,
            "**{stem}** — {} to {}, commit {}{}  \n\
             Machine: {} ({} cores), {:.1} GiB, {} kernel {}  \n\
             Tools: {}  \n\
             Load: {}  \n\
             Open model: {}\n",
            r.started_at,
            r.finished_at,
            r.git
                .commit
                .as_deref()
                .map_or("unknown", |c| &c[..c.len().min(12)]),
            if r.git.dirty { " (dirty)" } else { "" },
            r.machine.cpu_model,
            r.machine.cores,
            r.machine.memory_bytes as f64 / (1u64 << 30) as f64,
            r.machine.os,
            r.machine.kernel,
            r.tools
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
            load_line(p),
            p.open_model.as_ref().map_or_else(
                || "not run".to_owned(),
                |o| format!(
                    "{} for {}; {} s per rate at {} of each framework's closed-loop maximum and at {:.0} req/s for all",
                    o.tool,
                    o.categories.join(", "),
                    o.duration_seconds,
                    o.fractions.iter().map(|f| format!("{:.0}%", f * 100.0)).collect::<Vec<_>>().join(", "),
                    o.common_rate
                )
            ),
        );
        if r.ceiling.results.is_empty() {
            let _ = writeln!(md, "Ceiling: {}\n", r.ceiling.description);
            continue;
        }
        md.push_str("| ceiling | connections | req/s | p99 | CPU µs/req | peak RSS |\n|---|---:|---:|---:|---:|---:|\n");
        for m in &r.ceiling.results {
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {} | {} | {} |",
                r.ceiling.version,
                m.connections,
                m.requests_per_second,
                ms(m.latency_us.p99),
                cpu_us(m),
                mb_or_na(m.memory.map(|x| x.peak_rss_bytes))
            );
        }
        md.push('\n');
    }
    for (stem, r) in &runs {
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
    md.push_str(
        "Good req/s = answers with the status their request expects, per second (goodput: an \
         error is not a served request). Error rate = errors ÷ attempts. Share of ceiling = good \
         req/s ÷ the ceiling's req/s in the same run. CPU vs ceiling = server CPU per good answer \
         ÷ the ceiling's: on a small machine the load generator saturates first, so this is the \
         efficiency figure to read. PSS counts shared pages once (forked workers). Sampled = \
         answers checked against the contract during the load, and how many failed. Flags: \
         `littles_law` (connections ÷ mean latency disagrees with req/s by > 20 %), \
         `wrk_saturated` (wrk used ≥ 90 % of its cores), `errors`, `error_rate` (above 0.1 %) \
         and `wrong_answers` (a sampled answer failed its check); figures with either of the \
         last two are marked ⚠ and left out of the charts. A framework marked \
         **non-conforming** failed a negative case or flow of the category: its figures are \
         shown but it does not do all of the contract's work.\n\n",
    );

    let categories: BTreeSet<&str> = runs
        .iter()
        .flat_map(|(_, r)| {
            r.frameworks
                .iter()
                .flat_map(|f| f.categories.iter().map(|c| c.category.as_str()))
        })
        .collect();
    for category in categories {
        let _ = writeln!(md, "## {category}\n");
        let mut columns = Vec::new();
        for (stem, r) in &runs {
            for f in &r.frameworks {
                let Some(c) = f.categories.iter().find(|c| c.category == category) else {
                    continue;
                };
                let engine = &r.parameters.load_generator;
                let mut label = match (runs.len() > 1, engine.as_str()) {
                    (true, crate::results::WRK) => format!("{} ({stem})", f.name),
                    (true, _) => format!(
                        "{} ({}, {stem})",
                        f.name,
                        engine.split_whitespace().next().unwrap_or(engine)
                    ),
                    (false, _) => f.name.clone(),
                };
                if !c.conforming {
                    label.push_str(" (non-conforming)");
                }
                let _ = writeln!(
                    md,
                    "- **{label}** ({}){}: {}{}{}{}{}",
                    f.version,
                    c.server.as_ref().map_or_else(String::new, |s| format!(
                        " — {}{}{}",
                        if s.external {
                            format!(
                                "external server at {}{}",
                                s.url.as_deref().unwrap_or("an unrecorded address"),
                                s.pid.map_or_else(
                                    || "; server CPU and memory not sampled".to_owned(),
                                    |p| format!("; process {p} sampled")
                                )
                            )
                        } else {
                            format!("`{}`", s.command.join(" "))
                        },
                        s.single_process
                            .as_deref()
                            .map_or_else(String::new, |w| format!("; one process: {w}")),
                        if s.restarted_per_target {
                            "; restarted before each target"
                        } else {
                            ""
                        }
                    )),
                    if r.parameters.imported() {
                        "imported, not verified by the runner".to_owned()
                    } else {
                        format!(
                            "verification {} passed, {} failed",
                            c.verify.passed, c.verify.failed
                        )
                    },
                    if c.verify.skipped_endpoints.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; not benchmarked (failed verification): {}",
                            c.verify.skipped_endpoints.join(", ")
                        )
                    },
                    if c.crashes.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; server died {} time(s), during {}",
                            c.crashes.len(),
                            c.crashes
                                .iter()
                                .map(|x| format!("{} ({})", x.during, x.status))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    if c.failed_targets.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; not measured: {}",
                            c.failed_targets
                                .iter()
                                .map(|t| format!("{} ({})", t.name, t.error))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    c.error
                        .as_deref()
                        .map_or_else(String::new, |e| format!("; error: {e}")),
                );
                columns.push(Column {
                    label,
                    results: &c.results,
                    open: &c.open_model,
                });
            }
        }
        md.push_str(
            "\n| framework | endpoint | conns | good req/s | error rate | share of ceiling | CPU µs/req | CPU vs ceiling | p50 | p99 | p99.9 | peak RSS | PSS | sampled (failed) | flags |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        );
        // Endpoint by endpoint, every framework side by side.
        let mut order: Vec<String> = Vec::new();
        for col in &columns {
            for m in col.results {
                let key = row_label(m, true);
                if !order.contains(&key) {
                    order.push(key);
                }
            }
        }
        let mut rows: Vec<(usize, &Column<'_>, &Measurement)> = columns
            .iter()
            .flat_map(|col| col.results.iter().map(move |m| (col, m)))
            .map(|(col, m)| {
                let key = row_label(m, true);
                (order.iter().position(|o| *o == key).unwrap_or(0), col, m)
            })
            .collect();
        rows.sort_by_key(|(i, _, _)| *i);
        for (_, col, m) in rows {
            {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {:.0}{} | {:.2}% | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} |",
                    col.label,
                    row_label(m, false),
                    m.connections,
                    m.requests_per_second,
                    tainted(m),
                    m.error_rate * 100.0,
                    opt(m.ceiling_share, 2),
                    cpu_us(m),
                    opt(m.ceiling_cpu_ratio, 2),
                    ms(m.latency_us.p50),
                    ms(m.latency_us.p99),
                    ms(m.latency_us.p99_9),
                    mb_or_na(m.memory.map(|x| x.peak_rss_bytes)),
                    m.memory.map_or_else(
                        || "n/a".to_owned(),
                        |x| x.peak_pss_bytes.map_or_else(|| "–".to_owned(), |b| format!("{:.1} MB", mb(b)))
                    ),
                    m.load_checks.checked,
                    m.load_checks.failed,
                    m.sanity.flags.join(", ")
                );
            }
        }
        md.push('\n');
        charts(category, &columns, &runs, dir, &mut md)?;
        scaling::section(category, &columns, dir, &mut md)?;
        open_model(category, &columns, dir, &mut md)?;
    }
    let path = dir.join("report.md");
    std::fs::write(&path, md).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn charts(
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
    type Metric = fn(&Measurement) -> f64;
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
    // Latency: one chart per framework, a bar per percentile.
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
            rows: &rows,
            series: &series,
            marker: None,
        }
        .write(&dir.join(&stem))?;
        latency_links.push(format!("![latency {}]({stem}.svg)", c.label));
    }
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

/// The open-model section of a category: a table of every point and a
/// latency-vs-load chart (p99 against the offered share of each framework's
/// own maximum, one line per framework, geometric mean over its endpoints).
fn open_model(category: &str, columns: &[Column<'_>], dir: &Path, md: &mut String) -> Result<()> {
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
