//! The head of a report: per results file, when and where it ran, with
//! which tools and load, and its ceiling.

use super::{cpu_us, mb_or_na, ms};
use crate::precision::Precision;
use crate::progress::short;
use crate::results::{Parameters, Results};
use std::fmt::Write;
use std::time::Duration;

/// One results file's header lines and ceiling table.
pub(super) fn run(md: &mut String, stem: &str, r: &Results) {
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
    if let Some(time) = time_line(r) {
        let _ = writeln!(md, "Time: {time}\n");
    }
    if r.ceiling.results.is_empty() {
        let _ = writeln!(md, "Ceiling: {}\n", r.ceiling.description);
        return;
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

/// Wall time per framework, in an adaptive run how many figures settled
/// within the precision, side by side how many runs were taken again (None
/// when nothing was timed).
fn time_line(r: &Results) -> Option<String> {
    let timed: Vec<String> = r
        .frameworks
        .iter()
        .filter_map(|f| {
            f.wall_seconds
                .map(|s| format!("{} {}", f.name, short(Duration::from_secs_f64(s))))
        })
        .collect();
    if timed.is_empty() {
        return None;
    }
    let mut line = timed.join(", ");
    if let Some(a) = &r.parameters.adaptive {
        let precision: Vec<&Precision> = r
            .frameworks
            .iter()
            .flat_map(|f| &f.categories)
            .flat_map(|c| &c.results)
            .filter_map(|m| m.precision.as_ref())
            .collect();
        let settled = precision.iter().filter(|p| p.settled).count();
        let early = precision.iter().filter(|p| p.cannot_settle).count();
        let widths: Vec<f64> = precision
            .iter()
            .filter_map(|p| p.rps.map(|i| i.relative_half_width()))
            .collect();
        let _ = write!(
            line,
            "; {settled} of {} figures within ±{:.1} %, {} `unsettled` ({early} of them stopped \
             before the maximum: no remaining runs could have settled them); the median \
             req/s interval is ±{:.1} %",
            precision.len(),
            a.precision * 100.0,
            precision.len() - settled,
            crate::results::median(&widths) * 100.0
        );
    }
    if let Some(d) = &r.parameters.database {
        let _ = write!(
            line,
            "; database category on {}",
            d.server.as_deref().unwrap_or(match d.engine {
                crate::database::Engine::Sqlite => "SQLite (embedded in each server)",
                crate::database::Engine::Postgres => "PostgreSQL",
            })
        );
    }
    if let Some(u) = &r.parameters.upstream {
        let _ = write!(line, "; async_operations' upstream: {u}");
    }
    if r.machine.open_files_limit > 0 {
        let _ = write!(line, "; open files limit {}", r.machine.open_files_limit);
    }
    if r.parameters.side_by_side {
        let retaken: u32 = r
            .frameworks
            .iter()
            .flat_map(|f| &f.categories)
            .flat_map(|c| &c.results)
            .map(|m| m.disturbed_runs)
            .sum();
        let _ = write!(
            line,
            "; {retaken} run(s) taken again because another server was busy during them"
        );
    }
    Some(line)
}

/// How the load of a run was made, in one line.
fn load_line(p: &Parameters) -> String {
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
        "wrk, {} thread(s), connections {:?}, {}, {} s warm-up; {}; \
         keep-alive {}, pipelining {}; workers per framework: {}; CPUs: {}",
        p.threads,
        p.connections,
        match &p.adaptive {
            None if p.repeat <= 1 => format!(
                "{} s × 1 run (one sample per figure, no interval: a smoke run, not a comparison)",
                p.duration_seconds
            ),
            None => format!("{} s × {} run(s) (median)", p.duration_seconds, p.repeat),
            Some(a) => format!(
                "runs of {} s until the 95 % interval of each median is within ±{:.1} % \
                 ({}–{} runs)",
                p.duration_seconds,
                a.precision * 100.0,
                a.min_samples,
                a.max_samples
            ),
        },
        p.warmup_seconds,
        match (p.side_by_side, p.frameworks.len()) {
            (true, _) => "frameworks side by side, each target's runs alternating between them",
            (false, 0 | 1) => "one framework",
            (false, _) => "one framework after another",
        },
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
