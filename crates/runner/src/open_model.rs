//! The open-model phase: requests sent at a constant arrival rate, whatever
//! the server's pace, so queueing shows in the latency (a closed loop like
//! wrk's waits for each answer before the next request and hides it: the
//! coordinated omission). `oha` sends them, with `-q RATE` and
//! `--latency-correction` (latency counted from each request's scheduled send
//! time), and reports JSON.

use crate::results::{OpenLatency, OpenPoint};
use crate::targets::Target;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How to install oha, for messages.
pub const INSTALL_HINT: &str =
    "oha is not installed: run scripts/setup_tools.sh (cargo install oha into target/tools)";

/// An achieved rate below this share of the offered one is `short`.
pub const SHORT_BELOW: f64 = 0.95;

/// oha: `target/tools/bin/oha` under `root` or beside the runner's own
/// target directory (where the setup script puts it), else the one on `PATH`.
pub fn find(root: &Path) -> Option<PathBuf> {
    let beside_runner = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("tools/bin/oha")));
    let local = std::iter::once(root.join("target/tools/bin/oha"))
        .chain(beside_runner)
        .find(|p| p.is_file());
    if local.is_some() {
        return local;
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("oha"))
            .find(|p| p.is_file())
    })
}

/// oha's version line.
pub fn version(oha: &Path) -> Result<String> {
    let out = Command::new(oha)
        .arg("--version")
        .output()
        .with_context(|| format!("running {}", oha.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Why an endpoint has no open-model phase, if it has none: its requests
/// must each be unique (oha repeats one request), it is a heavy transfer
/// with a load limit of its own, or it waits by design.
pub fn unsuitable(target: &Target) -> Option<&'static str> {
    let first = target.requests.first()?;
    if !first.request.unique.is_empty() {
        Some("its requests must each be unique, and oha repeats one request")
    } else if target.load.max_connections.is_some() {
        Some("a heavy transfer with a connection limit of its own")
    } else if target.load.wait_ms.is_some() {
        Some("it waits by design: its figure is the share of the ideal at its own connection level")
    } else {
        None
    }
}

/// One oha run: `target`'s first request at `rate` req/s for `duration` over
/// up to `connections` connections, the body (if any) from `body_file`.
pub fn command(
    oha: &Path,
    url: &str,
    target: &Target,
    rate: f64,
    duration: Duration,
    connections: u32,
    body_file: Option<&Path>,
) -> Command {
    let request = &target.requests[0].request;
    let mut cmd = Command::new(oha);
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "--latency-correction",
    ])
    .arg("--wait-ongoing-requests-after-deadline")
    .arg("-z")
    .arg(format!("{}ms", duration.as_millis().max(1)))
    .arg("-q")
    .arg(format!("{rate:.3}"))
    .arg("-c")
    .arg(connections.max(1).to_string())
    .arg("-m")
    .arg(&request.method);
    for (k, v) in &request.headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    if let Some(path) = body_file {
        cmd.arg("-D").arg(path);
    }
    cmd.arg(format!("{url}{}", request.target));
    cmd
}

/// The parts of oha's JSON summary used here.
#[derive(Debug, Deserialize)]
struct OhaJson {
    summary: OhaSummary,
    #[serde(rename = "latencyPercentiles")]
    latency_percentiles: BTreeMap<String, Option<f64>>,
    #[serde(rename = "statusCodeDistribution", default)]
    status_code_distribution: BTreeMap<String, u64>,
    #[serde(rename = "errorDistribution", default)]
    error_distribution: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
struct OhaSummary {
    total: f64,
    slowest: Option<f64>,
}

/// Turns oha's JSON output into a point: good answers are those with
/// `expected_status`.
pub fn parse(
    json: &str,
    name: &str,
    fraction: Option<f64>,
    target_rps: f64,
    expected_status: u16,
) -> Result<OpenPoint> {
    let out: OhaJson = serde_json::from_str(json).context("oha printed no JSON summary")?;
    if out.summary.total <= 0.0 {
        bail!("oha measured no time");
    }
    let answers: u64 = out.status_code_distribution.values().sum();
    let good = out
        .status_code_distribution
        .get(&expected_status.to_string())
        .copied()
        .unwrap_or(0);
    let failed: u64 = out.error_distribution.values().sum();
    let seconds_to_us = |key: &str| {
        out.latency_percentiles
            .get(key)
            .copied()
            .flatten()
            .unwrap_or(0.0)
            * 1e6
    };
    let achieved = good as f64 / out.summary.total;
    Ok(OpenPoint {
        name: name.to_owned(),
        fraction,
        target_rps,
        achieved_rps: achieved,
        short: achieved < SHORT_BELOW * target_rps,
        requests: answers,
        errors: answers - good + failed,
        latency_us: OpenLatency {
            p50: seconds_to_us("p50"),
            p90: seconds_to_us("p90"),
            p99: seconds_to_us("p99"),
            p99_9: seconds_to_us("p99.9"),
            max: out.summary.slowest.unwrap_or(0.0) * 1e6,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "summary": {"successRate": 1.0, "total": 2.0, "slowest": 0.004, "fastest": 0.0001,
                  "average": 0.0003, "requestsPerSec": 1000.0, "totalData": 1, "sizePerRequest": 1, "sizePerSec": 1.0},
      "latencyPercentiles": {"p10": 0.0001, "p50": 0.0002, "p90": 0.0004, "p99": 0.001, "p99.9": 0.003, "p99.99": 0.004},
      "statusCodeDistribution": {"200": 1900, "500": 100},
      "errorDistribution": {"connection closed": 2}
    }"#;

    #[test]
    fn parses_oha_json() {
        let p = parse(SAMPLE, "hello", Some(0.5), 1000.0, 200).unwrap();
        assert_eq!(p.requests, 2000);
        assert_eq!(p.errors, 102);
        assert!((p.achieved_rps - 950.0).abs() < 1e-9);
        assert!(!p.short, "950 of 1000 is not short");
        assert!((p.latency_us.p99 - 1000.0).abs() < 1e-6);
        assert!((p.latency_us.p99_9 - 3000.0).abs() < 1e-6);
        assert!((p.latency_us.max - 4000.0).abs() < 1e-6);
        let short = parse(SAMPLE, "hello", None, 2000.0, 200).unwrap();
        assert!(short.short);
        assert!(parse("{}", "x", None, 1.0, 200).is_err());
    }

    #[test]
    fn creations_and_heavy_transfers_have_no_open_phase() {
        let basic = contract::load("basic").unwrap();
        let hello = crate::targets::endpoint(basic.endpoint("hello_world").unwrap(), 1).unwrap();
        assert_eq!(unsuitable(&hello), None);
        let files = contract::load("file_operations").unwrap();
        let big = crate::targets::endpoint(files.endpoint("download_100mb").unwrap(), 1).unwrap();
        assert!(unsuitable(&big).is_some());
        let rw = contract::load("real_world_scenarios").unwrap();
        let register = crate::targets::endpoint(rw.endpoint("register").unwrap(), 1).unwrap();
        assert!(unsuitable(&register).unwrap().contains("unique"));
    }
}
