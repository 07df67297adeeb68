//! Black-box checks of a `middleware` server beyond its contract, for any
//! framework's server: with a small `--rate-limit` the request over it is
//! refused with `Retry-After` while another subject is still served, and
//! the access log holds exactly one well-formed line per heavy-stack
//! request, tagged requests logged with the status they were answered.
//! Each gives the first problem found.

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

/// Three requests tagged with their own `X-Request-ID`: a heavy-stack
/// answer (200), a refused token (401) and a refused count (422), each with
/// the subject the log must name.
const TAGGED: [(&str, &str, u16, Option<&str>); 3] = [
    (
        "/middleware-heavy?count=2",
        "check-ok",
        200,
        Some("bench-user"),
    ),
    ("/middleware-auth", "check-401", 401, None),
    (
        "/middleware-heavy?count=0",
        "check-422",
        422,
        Some("bench-user"),
    ),
];

/// The access log at `path` after three tagged requests: every line is a
/// JSON object with exactly the spec's fields (`time` RFC 3339 UTC with
/// milliseconds); each tagged request has its line, with its method, path
/// without the query, status and subject; the lines are as many as
/// `/middleware-stats` says were `logged`, their 401 and 504 lines as many
/// as `auth_rejected` and `timed_out` (every refusal and timeout is on the
/// heavy stack).
pub async fn access_log_matches(c: &reqwest::Client, base: &str, path: &Path) -> Result<()> {
    static CALL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = |t: &str| format!("{t}-{}-{call}", std::process::id());
    for (target, t, status, subject) in TAGGED {
        let mut req = c
            .get(format!("{base}{target}"))
            .header("x-request-id", tag(t));
        if subject.is_some() {
            req = req.bearer_auth(TOKEN);
        }
        let got = req
            .send()
            .await
            .with_context(|| format!("GET {target}"))?
            .status();
        ensure!(
            got == status,
            "GET {target} answered {got}, expected {status}"
        );
    }
    let stats = get_json(c, &format!("{base}/middleware-stats")).await?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the access log {}", path.display()))?;
    check_log(&text, &stats, &tag)
}

/// The checks of [`access_log_matches`] on a log's `text`, the server's
/// `stats` and the tagged requests' ids (`tag`).
pub fn check_log(text: &str, stats: &Value, tag: &dyn Fn(&str) -> String) -> Result<()> {
    let time = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")?;
    let mut statuses: BTreeMap<u64, i64> = BTreeMap::new();
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    let mut lines = 0;
    for (n, line) in text.lines().enumerate() {
        let entry: Value = serde_json::from_str(line)
            .with_context(|| format!("access log line {}: not JSON: {line}", n + 1))?;
        let mut keys: Vec<&str> = entry
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        ensure!(
            keys == [
                "duration_ms",
                "method",
                "path",
                "request_id",
                "status",
                "subject",
                "time"
            ],
            "access log line {}: fields {keys:?}: {line}",
            n + 1
        );
        for (field, ok) in [
            (
                "time",
                entry["time"].as_str().is_some_and(|t| time.is_match(t)),
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
            ensure!(ok, "access log line {}: bad {field}: {line}", n + 1);
        }
        *statuses
            .entry(entry["status"].as_u64().unwrap_or(0))
            .or_default() += 1;
        if let Some(id) = entry["request_id"].as_str() {
            by_id.insert(id.to_owned(), entry.clone());
        }
        lines += 1;
    }
    for (target, t, status, subject) in TAGGED {
        let id = tag(t);
        let entry = by_id
            .get(&id)
            .with_context(|| format!("no access-log line for GET {target} (request id {id})"))?;
        let path = target.split('?').next().unwrap_or(target);
        ensure!(
            entry["method"] == "GET"
                && entry["path"] == path
                && entry["status"] == status
                && entry["subject"].as_str() == subject,
            "GET {target} answered {status} as {subject:?}, logged as {entry}"
        );
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn line(id: &str, path: &str, status: u16, subject: Option<&str>) -> String {
        json!({"time": "2026-12-08T03:00:00.123Z", "request_id": id, "method": "GET",
               "path": path, "status": status, "duration_ms": 0.4, "subject": subject})
        .to_string()
    }

    fn log() -> Vec<String> {
        vec![
            line("check-ok-x", "/middleware-heavy", 200, Some("bench-user")),
            line("check-401-x", "/middleware-auth", 401, None),
            line("check-422-x", "/middleware-heavy", 422, Some("bench-user")),
        ]
    }

    fn check(lines: &[String], logged: i64, rejected: i64) -> Result<()> {
        let stats = json!({"logged": logged, "auth_rejected": rejected, "timed_out": 0});
        check_log(&(lines.join("\n") + "\n"), &stats, &|t: &str| {
            format!("{t}-x")
        })
    }

    #[test]
    fn a_faithful_log_passes_and_every_kind_of_lie_fails() {
        check(&log(), 3, 1).unwrap();
        let fails = |lines: Vec<String>, logged, rejected, want: &str| {
            let e = check(&lines, logged, rejected).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        };
        fails(log(), 4, 1, "access-log lines");
        fails(log(), 3, 2, "lines with 401");
        let mut lie = log();
        lie[1] = line("check-401-x", "/middleware-auth", 200, None);
        fails(lie, 3, 0, "logged as");
        let mut lie = log();
        lie[0] = line("check-ok-x", "/middleware-heavy", 200, None);
        fails(lie, 3, 1, "logged as");
        let mut lie = log();
        lie[2] = lie[2].replace(r#","subject":"bench-user""#, "");
        fails(lie, 3, 1, "fields");
        let mut lie = log();
        lie[0] = lie[0].replace("03:00:00.123Z", "03:00:00Z");
        fails(lie, 3, 1, "bad time");
        fails(log()[1..].to_vec(), 2, 1, "no access-log line");
    }
}
