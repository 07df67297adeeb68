//! `runner import locust`: Locust's CSV statistics (`PREFIX_stats.csv`, and
//! `PREFIX_stats_history.csv` / `PREFIX_failures.csv` when present) as a
//! results file, so that `runner report` and `compare` read them beside the
//! runner's own runs. Each named row (a contract endpoint, as exported
//! locustfiles name their requests) becomes an endpoint measurement and the
//! `Aggregated` row the scenario's. Locust runs elsewhere: server CPU and
//! memory are unavailable, and no ceiling was measured.

use crate::results::{
    CategoryResult, Ceiling, FrameworkResult, LoadUsed, Measurement, Parameters, Results, Sanity,
    ServerInfo, SCHEMA_VERSION,
};
use crate::targets::TargetKind;
use crate::wrk::{Errors, Latency};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an import needs (the flags of `runner import locust`).
#[derive(Debug, Clone, clap::Args)]
pub struct ImportOptions {
    /// `PREFIX_stats.csv`.
    #[arg(long)]
    pub stats: PathBuf,
    /// `PREFIX_stats_history.csv` (start, end, users) [default: beside
    /// --stats, when there].
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// `PREFIX_failures.csv` (wrong statuses vs. no answer) [default:
    /// beside --stats, when there].
    #[arg(long)]
    pub failures: Option<PathBuf>,
    /// The framework that was measured.
    #[arg(long)]
    pub framework: String,
    /// Its category.
    #[arg(long)]
    pub category: String,
    /// The scenario that ran (names the whole mix's row).
    #[arg(long)]
    pub scenario: Option<String>,
    /// The server's URL (recorded).
    #[arg(long)]
    pub url: Option<String>,
    /// Simulated users, when there is no history.
    #[arg(long)]
    pub users: Option<u32>,
    /// Locust worker processes (recorded) [default: 1, Locust without
    /// workers].
    #[arg(long)]
    pub workers: Option<u32>,
    /// The contract directory (for the contract's checksum): the runner's
    /// `--contracts`.
    #[arg(skip)]
    pub contracts: PathBuf,
}

/// One row of `PREFIX_stats.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow {
    /// HTTP method (empty on the aggregated row).
    pub method: String,
    /// Request name, or `Aggregated`.
    pub name: String,
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Average response time, ms.
    pub mean_ms: f64,
    /// Largest response time, ms.
    pub max_ms: f64,
    /// Percentiles, ms, by their column (`50%`, `99.9%`).
    pub percentiles: BTreeMap<String, f64>,
}

/// The name of Locust's total row.
const AGGREGATED: &str = "Aggregated";

fn csv_rows(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: no header line", path.display()))?
        .clone();
    reader
        .records()
        .map(|r| {
            let r = r.with_context(|| format!("{}: a malformed line", path.display()))?;
            Ok(headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect())
        })
        .collect()
}

fn field<'a>(row: &'a BTreeMap<String, String>, name: &str, path: &Path) -> Result<&'a str> {
    row.get(name).map(String::as_str).with_context(|| {
        format!(
            "{}: no `{name}` column (is it Locust's PREFIX_stats.csv?)",
            path.display()
        )
    })
}

/// A number of a Locust CSV: `N/A` (no requests) is 0.
fn number(text: &str) -> Result<f64> {
    if text == "N/A" || text.is_empty() {
        return Ok(0.0);
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .with_context(|| format!("`{text}` is not a number"))
}

/// Reads `PREFIX_stats.csv`.
pub fn read_stats(path: &Path) -> Result<Vec<StatsRow>> {
    let rows = csv_rows(path)?;
    let mut out = Vec::new();
    for row in &rows {
        let num = |name: &str| -> Result<f64> {
            number(field(row, name, path)?)
                .with_context(|| format!("{}: column `{name}`", path.display()))
        };
        let percentiles = row
            .iter()
            .filter(|(k, _)| k.ends_with('%'))
            .map(|(k, v)| Ok((k.clone(), number(v)?)))
            .collect::<Result<_>>()
            .with_context(|| format!("{}: a percentile", path.display()))?;
        out.push(StatsRow {
            method: field(row, "Type", path)?.to_owned(),
            name: field(row, "Name", path)?.to_owned(),
            requests: num("Request Count")? as u64,
            failures: num("Failure Count")? as u64,
            rps: num("Requests/s")?,
            mean_ms: num("Average Response Time")?,
            max_ms: num("Max Response Time")?,
            percentiles,
        });
    }
    if !out.iter().any(|r| r.name == AGGREGATED) {
        bail!("{}: no `Aggregated` row", path.display());
    }
    Ok(out)
}

/// What the history tells: first and last timestamp (Unix seconds) and
/// the most users.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct History {
    /// First sample.
    pub start: u64,
    /// Last sample.
    pub end: u64,
    /// Most simulated users at once.
    pub users: u32,
}

/// Reads `PREFIX_stats_history.csv` (its `Aggregated` rows; `None` when
/// it has none).
pub fn read_history(path: &Path) -> Result<Option<History>> {
    let rows = csv_rows(path)?;
    let mut h: Option<History> = None;
    for row in rows
        .iter()
        .filter(|r| r.get("Name").is_some_and(|n| n == AGGREGATED))
    {
        let at = number(field(row, "Timestamp", path)?)? as u64;
        let users = number(field(row, "User Count", path)?)? as u32;
        let seen = h.get_or_insert(History {
            start: at,
            end: at,
            users,
        });
        seen.start = seen.start.min(at);
        seen.end = seen.end.max(at);
        seen.users = seen.users.max(users);
    }
    Ok(h)
}

/// Failures per request name from `PREFIX_failures.csv`: those whose
/// answer had the wrong status, and the others (no answer).
pub fn read_failures(path: &Path) -> Result<BTreeMap<String, (u64, u64)>> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in csv_rows(path)? {
        let n = number(field(&row, "Occurrences", path)?)? as u64;
        let error = field(&row, "Error", path)?;
        let entry = out
            .entry(field(&row, "Name", path)?.to_owned())
            .or_default();
        if error.contains("expected status") {
            entry.0 += n;
        } else {
            entry.1 += n;
        }
    }
    Ok(out)
}

/// A sibling of `PREFIX_stats.csv`: `PREFIX_<suffix>`.
fn sibling(stats: &Path, suffix: &str) -> Option<PathBuf> {
    let name = stats.file_name()?.to_str()?;
    let prefix = name.strip_suffix("_stats.csv")?;
    Some(stats.with_file_name(format!("{prefix}_{suffix}")))
}

fn measurement(
    row: &StatsRow,
    kind: TargetKind,
    name: &str,
    load: &LoadUsed,
    failures: Option<(u64, u64)>,
) -> Measurement {
    let pct = |k: &str| row.percentiles.get(k).copied().unwrap_or(0.0) * 1000.0;
    let latency = Latency {
        mean: row.mean_ms * 1000.0,
        stdev: 0.0,
        p50: pct("50%"),
        p75: pct("75%"),
        p90: pct("90%"),
        p99: pct("99%"),
        p99_9: pct("99.9%"),
        max: row.max_ms * 1000.0,
    };
    // Wrong statuses, and requests that got no answer (connection errors,
    // timeouts), when Locust's failure list tells them apart.
    let (status, unanswered) = failures.unwrap_or((row.failures, 0));
    let errors = Errors {
        status,
        read: unanswered,
        ..Errors::default()
    };
    let error_rate = if row.requests > 0 {
        row.failures as f64 / row.requests as f64
    } else {
        0.0
    };
    let goodput = row.rps * (1.0 - error_rate);
    // Not Little's law: Locust's latency leaves out the time its users
    // spend in Python between requests, so users ÷ latency overstates req/s.
    let mut sanity = Sanity::check(0, row.rps, latency.mean, 0.0, 1, row.failures);
    sanity.taint(error_rate, 0);
    Measurement {
        kind,
        name: name.to_owned(),
        connections: load.connections,
        runs_rps: vec![goodput],
        requests_per_second: goodput,
        throughput_rps: row.rps,
        error_rate,
        requests: row.requests,
        expected_non_2xx: 0,
        latency_us: latency,
        errors,
        cpu: None,
        memory: None,
        database: None,
        upstream: None,
        ideal_rps: None,
        ceiling_share: None,
        ceiling_cpu_ratio: None,
        sanity,
        load: Some(load.clone()),
        load_checks: Default::default(),
        state: None,
        precision: None,
        disturbed_runs: 0,
    }
}

/// The results of a Locust run.
pub fn results(opts: &ImportOptions, locust_version: &str) -> Result<Results> {
    let rows = read_stats(&opts.stats)?;
    let history = match opts
        .history
        .clone()
        .or_else(|| sibling(&opts.stats, "stats_history.csv").filter(|p| p.is_file()))
    {
        Some(p) => read_history(&p)?,
        None => None,
    };
    let failures = match opts
        .failures
        .clone()
        .or_else(|| sibling(&opts.stats, "failures.csv").filter(|p| p.is_file()))
    {
        Some(p) => Some(read_failures(&p)?),
        None => None,
    };
    let users = opts
        .users
        .or(history.map(|h| h.users))
        .filter(|&u| u > 0)
        .context("how many users ran is unknown: give --users, or the stats history")?;
    let workers = opts.workers.unwrap_or(1).max(1);
    let load = LoadUsed {
        threads: workers,
        connections: users,
        script: "locustfile".to_owned(),
    };
    let total = rows
        .iter()
        .find(|r| r.name == AGGREGATED)
        .context("no Aggregated row")?;
    if total.requests == 0 {
        bail!("{}: Locust made no requests", opts.stats.display());
    }
    let seconds = if total.rps > 0.0 {
        total.requests as f64 / total.rps
    } else {
        0.0
    };
    let scenario = opts.scenario.as_deref().unwrap_or("locust_mix");
    let measured = measurements(&rows, total, failures.as_ref(), &load, scenario);
    let (started_at, finished_at) = period(history, &opts.stats, seconds);
    let mut category = CategoryResult::new(&opts.category);
    category.results = measured;
    category.server = Some(ServerInfo {
        command: Vec::new(),
        workers: None,
        single_process: None,
        restarted_per_target: false,
        external: true,
        url: opts.url.clone(),
        pid: None,
        database: None,
    });
    category.contract_sha256 = crate::run::contract_sha256(&opts.contracts, &opts.category);
    Ok(Results {
        schema_version: SCHEMA_VERSION,
        started_at,
        finished_at,
        git: crate::machine::git(),
        machine: crate::machine::machine(),
        tools: BTreeMap::from([("locust".to_owned(), locust_version.to_owned())]),
        parameters: parameters(opts, users, workers, seconds, locust_version),
        ceiling: Ceiling {
            description: "not measured: an imported Locust run".to_owned(),
            version: String::new(),
            results: Vec::new(),
        },
        frameworks: vec![FrameworkResult {
            name: opts.framework.clone(),
            description: format!("{} (imported Locust run)", opts.framework),
            version: "version not recorded".to_owned(),
            categories: vec![category],
            wall_seconds: None,
        }],
    })
}

/// A measurement per endpoint row, then the whole mix (the Aggregated row)
/// as a scenario.
fn measurements(
    rows: &[StatsRow],
    total: &StatsRow,
    failures: Option<&BTreeMap<String, (u64, u64)>>,
    load: &LoadUsed,
    scenario: &str,
) -> Vec<Measurement> {
    let mut measured: Vec<Measurement> = rows
        .iter()
        .filter(|r| r.name != AGGREGATED)
        .map(|r| {
            let f = failures.map(|f| f.get(&r.name).copied().unwrap_or((0, 0)));
            measurement(r, TargetKind::Endpoint, &r.name, load, f)
        })
        .collect();
    let all_failures = failures.map(|f| f.values().fold((0, 0), |(a, b), (s, u)| (a + s, b + u)));
    measured.push(measurement(
        total,
        TargetKind::Scenario,
        scenario,
        load,
        all_failures,
    ));
    measured
}

/// When the run started and finished (RFC 3339): from the stats history,
/// else the stats file's modification time less the run's length.
fn period(history: Option<History>, stats: &Path, seconds: f64) -> (String, String) {
    let rfc3339 = |secs: u64| {
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        )
        .to_string()
    };
    match history {
        Some(h) => (rfc3339(h.start), rfc3339(h.end)),
        None => {
            let modified = std::fs::metadata(stats)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            (
                rfc3339(modified.saturating_sub(seconds as u64)),
                rfc3339(modified),
            )
        }
    }
}

/// The imported run's parameters: Locust's users as connections, its
/// worker processes as threads.
fn parameters(
    opts: &ImportOptions,
    users: u32,
    workers: u32,
    seconds: f64,
    locust_version: &str,
) -> Parameters {
    Parameters {
        categories: vec![opts.category.clone()],
        frameworks: vec![opts.framework.clone()],
        duration_seconds: (seconds.round() as u64).max(1),
        warmup_seconds: 0,
        connections: vec![users],
        threads: workers,
        repeat: 1,
        endpoints: None,
        scenarios: true,
        keep_alive: true,
        pipelining: false,
        workers: None,
        cpus: None,
        open_model: None,
        load_generator: locust_version.to_owned(),
        state: Vec::new(),
        adaptive: None,
        side_by_side: false,
        database: None,
        upstream: None,
    }
}

/// `locust 2.47.0`, from the environment `scripts/setup_locust.sh` makes
/// or the `locust` on PATH; `locust` when neither answers.
pub fn locust_version(root: &Path) -> String {
    let candidates = [
        root.join("target/locust-venv/bin/locust"),
        PathBuf::from("locust"),
    ];
    for program in candidates {
        if let Ok(out) = std::process::Command::new(&program)
            .arg("--version")
            .output()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(v) = text
                .split_whitespace()
                .nth(1)
                .filter(|_| out.status.success())
            {
                return format!("locust {v}");
            }
        }
    }
    "locust".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = "\
\"Type\",\"Name\",\"Request Count\",\"Failure Count\",\"Median Response Time\",\"Average Response Time\",\"Min Response Time\",\"Max Response Time\",\"Average Content Size\",\"Requests/s\",\"Failures/s\",\"50%\",\"66%\",\"75%\",\"80%\",\"90%\",\"95%\",\"98%\",\"99%\",\"99.9%\",\"99.99%\",\"100%\"
\"GET\",\"get_product\",\"300\",\"0\",\"2\",\"2.5\",\"1\",\"40\",\"512\",\"30.0\",\"0.0\",\"2\",\"3\",\"3\",\"3\",\"4\",\"5\",\"8\",\"12\",\"40\",\"40\",\"40\"
\"GET\",\"list_products\",\"500\",\"5\",\"3\",\"3.5\",\"1\",\"50\",\"2048\",\"50.0\",\"0.5\",\"3\",\"4\",\"4\",\"4\",\"5\",\"6\",\"9\",\"15\",\"50\",\"50\",\"50\"
\"\",\"Aggregated\",\"800\",\"5\",\"3\",\"3.1\",\"1\",\"50\",\"1472\",\"80.0\",\"0.5\",\"3\",\"4\",\"4\",\"4\",\"5\",\"6\",\"9\",\"14\",\"50\",\"50\",\"50\"
";

    fn options(dir: &Path) -> ImportOptions {
        ImportOptions {
            stats: dir.join("out_stats.csv"),
            history: None,
            failures: None,
            framework: "reference".into(),
            category: "real_world_scenarios".into(),
            scenario: Some("product_browsing".into()),
            url: None,
            users: None,
            workers: Some(2),
            contracts: contract::contracts_dir(),
        }
    }

    #[test]
    fn rows_become_measurements_with_failures_split() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("out_stats.csv"), STATS).unwrap();
        std::fs::write(
            dir.path().join("out_failures.csv"),
            "\"Method\",\"Name\",\"Error\",\"Occurrences\"\n\
             \"GET\",\"list_products\",\"CatchResponseError('expected status 200, got 500')\",\"3\"\n\
             \"GET\",\"list_products\",\"CatchResponseError(\"\"no answer: ConnectionResetError(104, 'reset')\"\")\",\"2\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("out_stats_history.csv"),
            "\"Timestamp\",\"User Count\",\"Type\",\"Name\",\"Requests/s\"\n\
             \"1700000000\",\"4\",\"\",\"Aggregated\",\"0\"\n\
             \"1700000010\",\"8\",\"\",\"Aggregated\",\"80\"\n",
        )
        .unwrap();
        let r = results(&options(dir.path()), "locust 2.47.0").unwrap();
        assert_eq!(r.parameters.load_generator, "locust 2.47.0");
        assert_eq!(r.parameters.connections, [8]);
        assert_eq!(r.parameters.duration_seconds, 10);
        assert_eq!(r.started_at, "2023-11-14T22:13:20Z");
        let c = &r.frameworks[0].categories[0];
        let names: Vec<&str> = c.results.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["get_product", "list_products", "product_browsing"]);
        let list = &c.results[1];
        assert_eq!(
            (list.requests, list.errors.status, list.errors.read),
            (500, 3, 2)
        );
        assert!((list.error_rate - 0.01).abs() < 1e-12);
        assert!((list.requests_per_second - 49.5).abs() < 1e-9);
        assert_eq!(list.latency_us.p99, 15_000.0);
        assert!(list.cpu.is_none() && list.memory.is_none());
        let mix = &c.results[2];
        assert_eq!(
            (mix.kind, mix.requests, mix.errors.total()),
            (TargetKind::Scenario, 800, 5)
        );
        assert!(mix.sanity.flags.contains(&"error_rate".to_owned()));
        assert!(
            c.results[0].sanity.flags.is_empty(),
            "{:?}",
            c.results[0].sanity
        );
    }

    #[test]
    fn runs_without_a_ceiling_are_compared_on_raw_throughput() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("out_stats.csv"), STATS).unwrap();
        let mut opts = options(dir.path());
        opts.users = Some(8);
        let before = results(&opts, "locust 2.47.0").unwrap();
        let gate = crate::compare::Gate::default();
        assert!(crate::compare::compare(&before, &before, gate)
            .problems
            .is_empty());
        let mut after = before.clone();
        for m in &mut after.frameworks[0].categories[0].results {
            m.requests_per_second *= 0.5;
            m.runs_rps = vec![m.requests_per_second];
        }
        let c = crate::compare::compare(&before, &after, gate);
        assert_eq!(c.problems.len(), 3, "{:?}", c.problems);
        assert!(
            c.notes.iter().any(|n| n.contains("raw req/s")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn files_that_are_not_locust_stats_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out_stats.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        assert!(
            format!("{:#}", results(&options(dir.path()), "locust").unwrap_err())
                .contains("no `Type` column")
        );
        std::fs::write(&path, STATS.replace("\"Aggregated\"", "\"Total\"")).unwrap();
        assert!(
            format!("{:#}", results(&options(dir.path()), "locust").unwrap_err())
                .contains("no `Aggregated` row")
        );
        let idle = "\"Type\",\"Name\",\"Request Count\",\"Failure Count\",\"Average Response Time\",\"Max Response Time\",\"Requests/s\",\"50%\"\n\
                    \"\",\"Aggregated\",\"0\",\"0\",\"0\",\"0\",\"0.0\",\"N/A\"\n";
        std::fs::write(&path, idle).unwrap();
        let mut opts = options(dir.path());
        opts.users = Some(1);
        assert!(format!("{:#}", results(&opts, "locust").unwrap_err()).contains("no requests"));
        std::fs::write(&path, STATS.replace("\"300\"", "\"lots\"")).unwrap();
        assert!(
            format!("{:#}", results(&options(dir.path()), "locust").unwrap_err())
                .contains("Request Count")
        );
    }
}
