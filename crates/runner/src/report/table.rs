//! A category's frameworks and measurements: a line per framework (its
//! server, verification, crashes, unmeasured targets) and one table of
//! every measurement, endpoint by endpoint with the frameworks side by side.

use super::{cpu_us, mb, mb_or_na, ms, opt, row_label, tainted, Column};
use crate::precision::Interval;
use crate::results::{
    CategoryResult, FrameworkResult, Measurement, Results, ServerInfo, ServiceUsage,
};
use std::fmt::Write;
use std::time::Duration;

/// Writes the category's framework lines and returns its columns, one per
/// framework of every run that has the category.
pub(super) fn columns<'a>(
    md: &mut String,
    category: &str,
    runs: &'a [(String, Results)],
) -> Vec<Column<'a>> {
    let mut columns = Vec::new();
    for (stem, r) in runs {
        for f in &r.frameworks {
            let Some(c) = f.categories.iter().find(|c| c.category == category) else {
                continue;
            };
            let label = label(f, c, r, stem, runs.len() > 1);
            let _ = writeln!(
                md,
                "- **{label}** ({}){}: {}{}",
                f.version,
                c.server.as_ref().map_or_else(String::new, server),
                if r.parameters.imported() {
                    "imported, not verified by the runner".to_owned()
                } else {
                    format!(
                        "verification {} passed, {} failed",
                        c.verify.passed, c.verify.failed
                    )
                },
                troubles(c),
            );
            columns.push(Column {
                label,
                results: &c.results,
                open: &c.open_model,
            });
        }
    }
    columns
}

/// A framework's label: its name, with the run (and a load generator
/// other than wrk) when several runs are shown, and whether it conforms.
fn label(
    f: &FrameworkResult,
    c: &CategoryResult,
    r: &Results,
    stem: &str,
    several: bool,
) -> String {
    let engine = &r.parameters.load_generator;
    let mut label = match (several, engine.as_str()) {
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
    label
}

/// How the server ran: its command or external address, one process and
/// why, restarts per target.
fn server(s: &ServerInfo) -> String {
    format!(
        " — {}{}{}{}",
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
        },
        s.database.as_ref().map_or_else(String::new, database)
    )
}

/// `; database: SQLite 3.54.1, pool 4, serializable` from what a server's
/// `/health` said of its database.
fn database(d: &serde_json::Value) -> String {
    let field = |k: &str| match d.get(k) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(v) => Some(v.to_string()),
        None => None,
    };
    let parts: Vec<String> = [
        field("engine"),
        field("pool_size").map(|p| format!("pool {p}")),
        field("isolation"),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!("; database: {}", parts.join(", "))
}

/// What went wrong in a category: endpoints not benchmarked, crashes,
/// targets not measured, an error that ended it.
fn troubles(c: &CategoryResult) -> String {
    let mut out = String::new();
    if !c.verify.skipped_endpoints.is_empty() {
        let _ = write!(
            out,
            "; not benchmarked (failed verification): {}",
            c.verify.skipped_endpoints.join(", ")
        );
    }
    if !c.crashes.is_empty() {
        let _ = write!(
            out,
            "; server died {} time(s), during {}",
            c.crashes.len(),
            c.crashes
                .iter()
                .map(|x| format!("{} ({})", x.during, x.status))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !c.failed_targets.is_empty() {
        let _ = write!(
            out,
            "; not measured: {}",
            c.failed_targets
                .iter()
                .map(|t| format!("{} ({})", t.name, t.error))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(e) = &c.error {
        let _ = write!(out, "; error: {e}");
    }
    if let Some(s) = c.wall_seconds {
        let _ = write!(
            out,
            "; took {}",
            crate::progress::short(Duration::from_secs_f64(s))
        );
    }
    out
}

/// The table of every measurement: endpoint by endpoint (in the order
/// they first appear), every framework side by side.
pub(super) fn measurements(md: &mut String, columns: &[Column<'_>]) {
    md.push_str(
        "\n| framework | endpoint | conns | good req/s | error rate | share of ceiling | CPU µs/req | CPU vs ceiling | p50 | p99 | p99.9 | peak RSS | PSS | sampled (failed) | flags |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let mut order: Vec<String> = Vec::new();
    for col in columns {
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
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0}{}{} | {:.2}% | {} | {}{} | {} | {} | {} | {} | {} | {} | {} ({}) | {} |",
            col.label,
            row_label(m, false),
            m.connections,
            m.requests_per_second,
            plus_minus(m.precision.as_ref().and_then(|p| p.rps)),
            tainted(m),
            m.error_rate * 100.0,
            opt(m.ceiling_share, 2),
            cpu_us(m),
            plus_minus(m.precision.as_ref().and_then(|p| p.cpu_us)),
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
    md.push('\n');
}

/// Where the server uses a database server (the `database` category on
/// PostgreSQL) or calls an upstream (`async_operations`): the CPU per
/// request of each and their sum, and the service's memory; then the
/// endpoints that wait by design against their ideal. Nothing of what no
/// measurement has.
pub(super) fn services_and_waits(md: &mut String, columns: &[Column<'_>]) {
    service_costs(md, columns, "database", |m| m.database.as_ref());
    service_costs(md, columns, "upstream", |m| m.upstream.as_ref());
    waits(md, columns);
}

/// What each endpoint and scenario costs beyond the category's baseline
/// endpoint (the contract's `baseline`: `home` of `middleware`, what a
/// stack costs): CPU per request minus the baseline's, per framework at the
/// same connections; ⚠ on an untrusted figure.
pub(super) fn over_baseline(md: &mut String, category: &str, columns: &[Column<'_>]) {
    let Some(base) = contract::load(category).ok().and_then(|c| c.baseline) else {
        return;
    };
    let mut rows = String::new();
    for col in columns {
        for m in col.results.iter().filter(|m| m.state.is_none()) {
            let Some(own) = m.cpu.as_ref().map(|c| c.us_per_request) else {
                continue;
            };
            let is_base = |b: &Measurement| {
                b.kind == crate::targets::TargetKind::Endpoint
                    && b.name == base
                    && b.state.is_none()
            };
            if is_base(m) {
                continue;
            }
            let Some(b) = col
                .results
                .iter()
                .find(|b| is_base(b) && b.connections == m.connections)
            else {
                continue;
            };
            let Some(base_cpu) = b.cpu.as_ref().map(|c| c.us_per_request) else {
                continue;
            };
            let _ = writeln!(
                rows,
                "| {} | {} | {} | {own:.1}{} | {base_cpu:.1}{} | {:+.1} |",
                col.label,
                row_label(m, false),
                m.connections,
                tainted(m),
                tainted(b),
                own - base_cpu,
            );
        }
    }
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        md,
        "Cost beyond `{base}` (the endpoint with the least of the category's work): each \
         endpoint's and scenario's CPU per request minus `{base}`'s, same framework and \
         connections.\n\n\
         | framework | endpoint | conns | CPU µs/req | `{base}` CPU µs/req | beyond `{base}` |\n\
         |---|---|---:|---:|---:|---:|\n{rows}\n",
    );
}

/// Endpoints that wait by design (`load.wait_ms`): good req/s against the
/// ideal, every connection's request answered right after its wait.
fn waits(md: &mut String, columns: &[Column<'_>]) {
    let rows: Vec<(&Column<'_>, &Measurement, f64)> = columns
        .iter()
        .flat_map(|col| col.results.iter().map(move |m| (col, m)))
        .filter_map(|(col, m)| Some((col, m, m.ideal_rps?)))
        .collect();
    if rows.is_empty() {
        return;
    }
    md.push_str(
        "Waiting requests held: good req/s of endpoints that wait by design, against the ideal \
         (connections × 1000 ÷ the wait in ms: every request answered right after its wait).\n\n\
         | framework | endpoint | conns | good req/s | ideal req/s | share of ideal | p99 |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for (col, m, ideal) in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {ideal:.0} | {:.1} % | {} |",
            col.label,
            row_label(m, false),
            m.connections,
            m.requests_per_second,
            100.0 * m.requests_per_second / ideal,
            ms(m.latency_us.p99),
        );
    }
    md.push('\n');
}

/// Below this CPU per request, or this share of the server's, a service did
/// no work for an endpoint (its idle process's own timers).
const MIN_SERVICE_US: f64 = 0.5;
const MIN_SERVICE_SHARE: f64 = 0.02;

/// The table of one kind of service (`what`), picked by `pick`.
fn service_costs(
    md: &mut String,
    columns: &[Column<'_>],
    what: &str,
    pick: impl Fn(&Measurement) -> Option<&ServiceUsage>,
) {
    let rows: Vec<(&Column<'_>, &Measurement, &ServiceUsage)> = columns
        .iter()
        .flat_map(|col| col.results.iter().map(move |m| (col, m)))
        .filter_map(|(col, m)| Some((col, m, pick(m)?)))
        // Endpoints that do not use the service (an upstream only
        // `/async/upstream` calls) have no row.
        .filter(|(_, m, d)| {
            let own = m.cpu.as_ref().map_or(0.0, |c| c.us_per_request);
            d.cpu.us_per_request >= MIN_SERVICE_US.max(MIN_SERVICE_SHARE * own)
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        md,
        "The {what} server's share: its CPU per request of the server (its whole process tree, \
         sampled over the same runs) and the server's and its services' together.\n\n\
         | framework | endpoint | conns | server CPU µs/req | {what} CPU µs/req | total CPU µs/req | {what} peak RSS | {what} PSS |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (col, m, d) in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {} | {} | {} |",
            col.label,
            row_label(m, false),
            m.connections,
            cpu_us(m),
            d.cpu.us_per_request,
            m.total_cpu_us()
                .map_or_else(|| "n/a".to_owned(), |t| format!("{t:.1}")),
            mb_or_na(Some(d.memory.peak_rss_bytes)),
            mb_or_na(d.memory.peak_pss_bytes),
        );
    }
    md.push('\n');
}

/// ` ±x.x%`: an adaptive measurement's 95 % interval as a share of its
/// median (nothing for a fixed number of runs).
fn plus_minus(interval: Option<Interval>) -> String {
    interval.map_or_else(String::new, |i| {
        format!(" ±{:.1}%", i.relative_half_width() * 100.0)
    })
}
