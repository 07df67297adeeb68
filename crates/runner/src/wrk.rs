//! Driving wrk: a Lua script generated from the targets' requests (formatted
//! once in `init`, cycled in `request`) whose `done()` prints the summary as
//! one JSON line, and parsing that line.

use crate::targets::Target;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Marker of the JSON line `done()` prints.
const MARKER: &str = "WRK_JSON ";

/// How to tell a user to install wrk.
pub const INSTALL_HINT: &str =
    "wrk is not installed: install it with `sudo apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)";

/// wrk's version line, or an error with install instructions.
pub fn version() -> Result<String> {
    let out = Command::new("wrk").arg("--version").output();
    match out {
        // wrk prints its version and usage, and exits 1.
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            Ok(text
                .lines()
                .find(|l| l.starts_with("wrk"))
                .unwrap_or("wrk (unknown version)")
                .trim()
                .to_owned())
        }
        Err(_) => bail!(INSTALL_HINT),
    }
}

/// Errors wrk counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    /// Failed connects.
    pub connect: u64,
    /// Failed reads.
    pub read: u64,
    /// Failed writes.
    pub write: u64,
    /// Answers whose status is not what their request expects (for targets
    /// expecting one status below 400: wrk's "Non-2xx or 3xx" count).
    pub status: u64,
    /// Requests that timed out.
    pub timeout: u64,
}

impl Errors {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.status + self.timeout
    }

    /// Errors that left no answer (connect, read, write, timeout).
    pub fn unanswered(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }

    /// Adds another run's counts.
    pub fn add(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.read += o.read;
        self.write += o.write;
        self.status += o.status;
        self.timeout += o.timeout;
    }
}

/// Latency distribution in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Largest.
    pub max: f64,
}

/// What one wrk run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Completed requests.
    pub requests: u64,
    /// Measured time in microseconds.
    pub duration_us: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Error counts.
    pub errors: Errors,
    /// Latency.
    pub latency_us: Latency,
    /// Answers per status, when the script counts them.
    #[serde(default)]
    pub statuses: Option<BTreeMap<u16, u64>>,
    /// Requests sent per expected status, when the script counts them.
    #[serde(default)]
    pub expected: Option<BTreeMap<u16, u64>>,
}

impl Summary {
    /// Completed answers per second, good or not.
    pub fn rps(&self) -> f64 {
        self.per_second(self.requests)
    }

    /// Good answers (the status their request expects) per second.
    pub fn goodput(&self) -> f64 {
        self.per_second(self.requests.saturating_sub(self.unexpected()))
    }

    fn per_second(&self, n: u64) -> f64 {
        if self.duration_us == 0 {
            0.0
        } else {
            n as f64 * 1e6 / self.duration_us as f64
        }
    }

    /// Answers whose status is not the one their request expects. With
    /// per-status counts: every answer of a status beyond the requests that
    /// expected it (a 500 where nothing expects one, a 422 to a valid request
    /// beside rejected ones); otherwise wrk's count of statuses ≥ 400.
    pub fn unexpected(&self) -> u64 {
        match (&self.statuses, &self.expected) {
            (Some(got), Some(sent)) => got
                .iter()
                .map(|(s, n)| n.saturating_sub(sent.get(s).copied().unwrap_or(0)))
                .sum(),
            _ => self.errors.status,
        }
    }

    /// Answers of 400 or more that their request expects (rejections that
    /// the contract measures).
    pub fn expected_rejections(&self) -> u64 {
        match (&self.statuses, &self.expected) {
            (Some(got), Some(sent)) => got
                .iter()
                .filter(|(s, _)| **s >= 400)
                .map(|(s, n)| (*n).min(sent.get(s).copied().unwrap_or(0)))
                .sum(),
            _ => 0,
        }
    }

    /// wrk's counts with `status` made the unexpected statuses.
    pub fn errors(&self) -> Errors {
        Errors {
            status: self.unexpected(),
            ..self.errors
        }
    }
}

/// A Lua string literal for any bytes.
fn lua_string(bytes: &[u8]) -> String {
    crate::quote::quoted("", bytes, crate::quote::lua_byte)
}

/// Bodies larger than this go to a file next to the script, read at start.
const INLINE_BODY_MAX: usize = 64 * 1024;

/// A generated wrk script and the body files it reads.
#[derive(Debug)]
pub struct Script {
    /// The Lua source.
    pub lua: String,
    /// Files holding bodies over 64 KiB (delete them when done).
    pub bodies: Vec<PathBuf>,
}

/// A Lua expression for a request body: inline, or read from a side file
/// `<stem>-body-<n>.bin` at start when over 64 KiB.
fn body_expr(
    body: Option<&[u8]>,
    stem: &Path,
    n: usize,
    files: &mut Vec<PathBuf>,
) -> Result<String> {
    Ok(match body {
        None => "nil".to_owned(),
        Some(b) if b.len() <= INLINE_BODY_MAX => lua_string(b),
        Some(b) => {
            let mut path = stem.as_os_str().to_owned();
            path.push(format!("-body-{n}.bin"));
            let path = PathBuf::from(path);
            std::fs::write(&path, b).with_context(|| format!("writing {}", path.display()))?;
            let abs = std::path::absolute(&path).unwrap_or(path);
            files.push(abs.clone());
            format!("file({})", lua_string(abs.to_string_lossy().as_bytes()))
        }
    })
}

const PRELUDE: &str = "-- generated by the runner from the contract\n\
     local function file(p)\n  local f = assert(io.open(p, \"rb\"))\n  \
     local d = f:read(\"*a\")\n  f:close()\n  return d\nend\n";

/// The Lua script for a target. One request without tokens to renew, whose
/// errors wrk counts itself, takes wrk's static path (`wrk.method`, `path`,
/// `headers`, `body`: no Lua per request). Otherwise `request()` cycles the
/// requests, renewing `unique` tokens; when the requests expect statuses
/// that wrk's own count cannot tell apart (a rejection, a mix), `response()`
/// counts answers per status and `request()` per expected status, and the
/// summary carries both. Bodies over 64 KiB are written to
/// `<stem>-body-<n>.bin` files that the script reads in `init`.
pub fn script(target: &Target, stem: &Path) -> Result<Script> {
    let mut bodies = Vec::new();
    let mut s = String::from(PRELUDE);
    if target.is_static() {
        let r = &target.requests[0].request;
        let _ = writeln!(s, "wrk.method = {}", lua_string(r.method.as_bytes()));
        let _ = writeln!(s, "wrk.path = {}", lua_string(r.target.as_bytes()));
        for (k, v) in &r.headers {
            let _ = writeln!(
                s,
                "wrk.headers[{}] = {}",
                lua_string(k.as_bytes()),
                lua_string(v.as_bytes())
            );
        }
        let body = body_expr(r.body.as_deref(), stem, 0, &mut bodies)?;
        let _ = writeln!(s, "wrk.body = {body}");
        s.push_str(DONE);
        s.push_str(
            "function done(summary, latency, requests)\n  report(summary, latency, \"\")\nend\n",
        );
        return Ok(Script { lua: s, bodies });
    }
    let counts = !target.wrk_counts_errors();
    s.push_str("local raw = {\n");
    for (n, lr) in target.requests.iter().enumerate() {
        let r = &lr.request;
        let headers: Vec<String> = r
            .headers
            .iter()
            .map(|(k, v)| {
                format!(
                    "[{}] = {}",
                    lua_string(k.as_bytes()),
                    lua_string(v.as_bytes())
                )
            })
            .collect();
        let body = body_expr(r.body.as_deref(), stem, n, &mut bodies)?;
        let unique = if r.unique.is_empty() {
            "nil".to_owned()
        } else {
            let tokens: Vec<String> = r.unique.iter().map(|t| lua_string(t.as_bytes())).collect();
            format!("{{ {} }}", tokens.join(", "))
        };
        let _ = writeln!(
            s,
            "  {{ {}, {}, {{ {} }}, {}, {}, {} }},",
            lua_string(r.method.as_bytes()),
            lua_string(r.target.as_bytes()),
            headers.join(", "),
            body,
            unique,
            lr.expect.status
        );
    }
    s.push_str("}\n");
    s.push_str(DYNAMIC);
    s.push_str(DONE);
    if counts {
        s.push_str(COUNTS);
    } else {
        s.push_str(
            "function request()\n  return next_request()\nend\n\n\
             function done(summary, latency, requests)\n  report(summary, latency, \"\")\nend\n",
        );
    }
    Ok(Script { lua: s, bodies })
}

/// Cycling the requests and renewing their `unique` tokens.
const DYNAMIC: &str = r#"local reqs = {}
local renew = {}
local expect = {}
local n = 0
local i = 0
local prefix = ""
local serial = 0

function init(args)
  for k, r in ipairs(raw) do
    reqs[k] = wrk.format(r[1], r[2], r[3], r[4])
    renew[k] = r[5]
    expect[k] = r[6]
  end
  n = #reqs
  -- `unique` tokens: a per-thread random prefix and a counter, as long as
  -- the token they replace, so Content-Length stays right.
  local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + addr % 1000003)
  local p = {}
  for _ = 1, 6 do p[#p + 1] = string.char(96 + math.random(26)) end
  prefix = table.concat(p)
end

local function next_request()
  i = i % n + 1
  local tokens = renew[i]
  if tokens then
    for j, old in ipairs(tokens) do
      serial = serial + 1
      local new = prefix .. string.format("%010x", serial)
      reqs[i] = (string.gsub(reqs[i], old, new))
      tokens[j] = new
    end
  end
  return reqs[i]
end
"#;

/// Counting answers per status and requests per expected status, per
/// thread, summed in `done()`.
const COUNTS: &str = r#"
sent = {}
got = {}
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function request()
  local r = next_request()
  local want = expect[i]
  sent[want] = (sent[want] or 0) + 1
  return r
end

function response(status, headers, body)
  got[status] = (got[status] or 0) + 1
end

local function merged(name)
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get(name) or {}) do all[k] = (all[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(all) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  report(summary, latency, ',"statuses":' .. merged("got") .. ',"expected":' .. merged("sent"))
end
"#;

/// The summary as one JSON line; `extra` is appended inside the object.
const DONE: &str = r#"
function report(summary, latency, extra)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.2f,"stdev":%.2f,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p99_9":%d,"max":%d}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max) .. extra .. '}\n')
end
"#;

/// Load parameters of one wrk run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// wrk threads.
    pub threads: u32,
    /// Open connections.
    pub connections: u32,
    /// Seconds.
    pub seconds: u64,
}

impl Load {
    /// Connections wrk really opens: it gives each thread
    /// `connections / threads` of them.
    pub fn actual_connections(&self) -> u32 {
        let threads = self.threads.max(1);
        self.connections.max(threads) / threads * threads
    }
}

/// The wrk command for a run (the child is started by the caller so its CPU
/// can be sampled).
pub fn command(url: &str, script: &Path, load: Load) -> Command {
    let mut cmd = Command::new("wrk");
    cmd.arg("-t")
        .arg(load.threads.to_string())
        .arg("-c")
        .arg(load.connections.max(load.threads).to_string())
        .arg("-d")
        .arg(format!("{}s", load.seconds.max(1)))
        .arg("--timeout")
        .arg("5s")
        .arg("-s")
        .arg(script)
        .arg(url);
    cmd
}

/// The summary in wrk's output.
pub fn parse(stdout: &str) -> Result<Summary> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(MARKER))
        .context("wrk printed no summary line")?;
    serde_json::from_str(line).with_context(|| format!("bad wrk summary: {line}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::TargetKind;

    #[test]
    fn lua_strings_escape_everything() {
        assert_eq!(lua_string(b"a\"b\\c\n\x01\xff"), r#""a\"b\\c\n\001\255""#);
    }

    #[test]
    fn scripts_hold_every_request() {
        let c = contract::load("basic").unwrap();
        let t = crate::targets::endpoint(c.endpoint("validate_user_model").unwrap(), 3).unwrap();
        let dir = std::env::temp_dir();
        let lua = script(&t, &dir.join("x")).unwrap().lua;
        assert_eq!(
            lua.matches("\"POST\", \"/validate/user\"").count(),
            t.requests.len()
        );
        assert!(lua.contains("[\"content-type\"] = \"application/json\""));
        // One status below 400: wrk counts the errors, no response() hook.
        assert!(lua.contains("function request") && !lua.contains("function response"));
        let empty = Target {
            kind: TargetKind::Endpoint,
            name: "x".into(),
            requests: vec![],
            load: contract::CaseLoad::default(),
        };
        assert!(script(&empty, &dir.join("x"))
            .unwrap()
            .lua
            .contains("function done"));
    }

    #[test]
    fn one_plain_request_takes_the_static_path() {
        let c = contract::load("basic").unwrap();
        let t = crate::targets::endpoint(c.endpoint("hello_world").unwrap(), 3).unwrap();
        let lua = script(&t, &std::env::temp_dir().join("x")).unwrap().lua;
        assert!(
            lua.contains("wrk.method = \"GET\"\nwrk.path = \"/\""),
            "{lua}"
        );
        assert!(!lua.contains("function request"), "{lua}");
    }

    #[test]
    fn mixed_statuses_are_counted_per_expected_status() {
        let c = contract::load("validation").unwrap();
        let s = c
            .scenarios
            .iter()
            .find(|s| s.name == "rejection_cost")
            .unwrap();
        let t = crate::targets::scenario(&c, s, 1).unwrap();
        let lua = script(&t, &std::env::temp_dir().join("x")).unwrap().lua;
        assert!(lua.contains("function response") && lua.contains("t:get(name)"));
        assert!(
            lua.contains(", 422 },") && lua.contains(", 200 },"),
            "{lua}"
        );
    }

    #[test]
    fn unexpected_statuses_are_those_beyond_what_was_expected() {
        let mut s = Summary {
            requests: 100,
            duration_us: 1_000_000,
            ..Summary::default()
        };
        // 60 valid requests, 40 rejected by design; 10 valid ones got a 500.
        s.expected = Some(BTreeMap::from([(200, 60), (422, 41)]));
        s.statuses = Some(BTreeMap::from([(200, 50), (422, 40), (500, 10)]));
        assert_eq!(s.unexpected(), 10);
        assert_eq!(s.expected_rejections(), 40);
        assert_eq!(s.goodput(), 90.0);
        // A valid request rejected beside expected rejections is caught too.
        s.statuses = Some(BTreeMap::from([(200, 45), (422, 55)]));
        assert_eq!(s.unexpected(), 14);
        // Without per-status counts, wrk's own count is the errors.
        s.statuses = None;
        s.errors.status = 7;
        assert_eq!(s.unexpected(), 7);
        assert_eq!(s.errors().status, 7);
    }

    #[test]
    fn large_bodies_are_read_from_side_files() {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let request = contract::Prepared {
            method: "POST".into(),
            target: "/upload".into(),
            headers: vec![],
            body: Some(body.clone()),
            raw: None,
            values: serde_json::Value::Null,
            unique: Vec::new(),
        };
        let mut t = crate::targets::single("big", request, 201);
        t.load.max_connections = Some(2);
        let Script { lua, bodies } = script(&t, &dir.path().join("run-big")).unwrap();
        let side = dir.path().join("run-big-body-0.bin");
        assert_eq!(bodies, vec![side.clone()]);
        assert_eq!(std::fs::read(&side).unwrap(), body);
        assert!(
            lua.contains(&format!("file(\"{}\")", side.display())),
            "{lua}"
        );
        assert!(lua.len() < 2_000);
    }

    #[test]
    fn parses_the_summary_line() {
        let out = "Running 1s test\nWRK_JSON {\"requests\":100,\"duration_us\":1000000,\"bytes\":5,\"errors\":{\"connect\":0,\"read\":1,\"write\":0,\"status\":2,\"timeout\":0},\"latency_us\":{\"mean\":10.5,\"stdev\":1.0,\"p50\":9,\"p75\":10,\"p90\":12,\"p99\":20,\"p99_9\":30,\"max\":40}}\n";
        let s = parse(out).unwrap();
        assert_eq!(s.rps(), 100.0);
        assert_eq!(s.errors.total(), 3);
        assert!(parse("no line").is_err());
    }
}
