//! Black-box checks of a `middleware` server beyond its contract, for any
//! framework's server: with a small `--rate-limit` the request over it is
//! refused with `Retry-After` while another subject is still served, and
//! the access log holds exactly one well-formed line per heavy-stack
//! request, with the status that was answered. Each gives the first
//! problem found.

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::db_checks::{client, get_json};

/// A token for `bench-user` (scopes read, write), signed with the default
/// key, expiring in 2100.
pub const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaC11c2VyIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiZXhwIjo0MTAyNDQ0ODAwfQ.uJALk1spGiI6HOZOw0rMzV4pmKju5pTY2pBuu_vv5Os";
/// A token for `other-user` (scope read), signed with the default key.
pub const OTHER_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvdGhlci11c2VyIiwic2NvcGUiOiJyZWFkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.PrVEhBIUWaqg9ZkiBRlk2r2dEqHnGQEUHTWO8is3Vjw";

async fn auth_status(c: &reqwest::Client, base: &str, token: &str) -> Result<reqwest::Response> {
    c.get(format!("{base}/middleware-auth"))
        .bearer_auth(token)
        .send()
        .await
        .context("GET /middleware-auth")
}

/// A server started with `--rate-limit 3` (one process): three quick
/// requests of one subject pass, the fourth gets 429 `rate_limited` with a
/// `Retry-After` of at least a second, the counter moves by one, and
/// another subject is still served.
pub async fn rate_limit_holds(c: &reqwest::Client, base: &str) -> Result<()> {
    let before = get_json(c, &format!("{base}/middleware-stats")).await?;
    for i in 1..=3 {
        let r = auth_status(c, base, TOKEN).await?;
        ensure!(
            r.status() == 200,
            "request {i} of 3 answered {}",
            r.status()
        );
    }
    let r = auth_status(c, base, TOKEN).await?;
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body: Value = r.json().await.unwrap_or(Value::Null);
    ensure!(
        status == 429,
        "the 4th request of 3 allowed answered {status}: {body}"
    );
    ensure!(body["error"] == "rate_limited", "429 body: {body}");
    ensure!(
        retry.is_some_and(|s| s >= 1),
        "Retry-After {retry:?}, expected whole seconds ≥ 1"
    );
    let r = auth_status(c, base, OTHER_TOKEN).await?;
    ensure!(
        r.status() == 200,
        "another subject answered {} while the first was limited",
        r.status()
    );
    let after = get_json(c, &format!("{base}/middleware-stats")).await?;
    let moved =
        after["rate_limited"].as_i64().unwrap_or(-1) - before["rate_limited"].as_i64().unwrap_or(0);
    ensure!(moved == 1, "rate_limited moved by {moved}, expected 1");
    Ok(())
}

/// Every line of the access log at `path` is a JSON object with the
/// spec's fields; there are as many as `/middleware-stats` says were
/// `logged`; the 401 and 504 lines are as many as `auth_rejected` and
/// `timed_out` (every refusal and timeout is on the heavy stack).
pub async fn access_log_matches(c: &reqwest::Client, base: &str, path: &Path) -> Result<()> {
    let stats = get_json(c, &format!("{base}/middleware-stats")).await?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the access log {}", path.display()))?;
    let mut statuses: BTreeMap<u64, i64> = BTreeMap::new();
    let mut lines = 0;
    for (n, line) in text.lines().enumerate() {
        let entry: Value = serde_json::from_str(line)
            .with_context(|| format!("access log line {}: not JSON: {line}", n + 1))?;
        for (field, ok) in [
            (
                "time",
                entry["time"]
                    .as_str()
                    .is_some_and(|t| t.len() >= 20 && t.ends_with('Z')),
            ),
            (
                "request_id",
                entry["request_id"].as_str().is_some_and(|s| !s.is_empty()),
            ),
            ("method", entry["method"].as_str().is_some()),
            (
                "path",
                entry["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/middleware-") && !p.contains('?')),
            ),
            ("status", entry["status"].as_u64().is_some()),
            (
                "duration_ms",
                entry["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
            ),
            (
                "subject",
                entry["subject"].is_null() || entry["subject"].is_string(),
            ),
        ] {
            ensure!(
                ok,
                "access log line {}: bad or missing {field}: {line}",
                n + 1
            );
        }
        *statuses
            .entry(entry["status"].as_u64().unwrap_or(0))
            .or_default() += 1;
        lines += 1;
    }
    let count = |k: &str| stats[k].as_i64().unwrap_or(-1);
    ensure!(
        lines == count("logged"),
        "{lines} access-log lines, but logged is {}",
        count("logged")
    );
    let of = |s: u64| statuses.get(&s).copied().unwrap_or(0);
    ensure!(
        of(401) == count("auth_rejected"),
        "{} lines with 401, auth_rejected is {}",
        of(401),
        count("auth_rejected")
    );
    ensure!(
        of(504) == count("timed_out"),
        "{} lines with 504, timed_out is {}",
        of(504),
        count("timed_out")
    );
    ensure!(
        lines > 0 && of(200) > 0,
        "no successful heavy-stack request was logged: {statuses:?}"
    );
    Ok(())
}

/// Everything asked of a `middleware` server: `start(extra_args)` starts
/// it with these flags added. Started with an access log in a temporary
/// directory it must pass its contract and log every heavy-stack request;
/// started with `--rate-limit 3` it must refuse the fourth request. Gives
/// the contract's failures or the first problem found.
pub async fn server_passes(
    start: impl Fn(&[&str]) -> Result<crate::process::ServerProcess>,
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("access.log");
    let log_arg = log.to_str().context("temporary path is not UTF-8")?;
    let server = start(&["--access-log", log_arg])?;
    let contract = crate::load("middleware")?;
    let report = crate::verify(&contract, &crate::VerifyOptions::new(&server.url)).await;
    ensure!(report.passed(), "\n{}", report.table());
    let c = client();
    access_log_matches(&c, &server.url, &log).await?;
    drop(server);
    let server = start(&["--rate-limit", "3"])?;
    rate_limit_holds(&c, &server.url).await
}
