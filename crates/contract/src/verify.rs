//! Verifying a live server against a contract.

use crate::jsonpath::lookup;
use crate::model::{Contract, Expect, RequestSpec};
use crate::prepare::{prepare, substitute, substitute_str as substitute_str_value, Prepared, Vars};
use crate::report::{Check, CheckKind, Report};
use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE, DATE, TRANSFER_ENCODING};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Where and how to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Server base URL, e.g. `http://127.0.0.1:8000`.
    pub base_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Whether to check that `Date` changes across seconds (takes ~1.1 s).
    pub check_date: bool,
}

impl VerifyOptions {
    /// Defaults for `base_url`: 10 s timeout, date check on.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(10),
            check_date: true,
        }
    }
}

struct Exchange {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

/// What a checked response leaves for later flow steps.
struct Checked {
    json: Option<Value>,
    headers: HeaderMap,
}

/// A verification in progress against one server, one check at a time, so a
/// caller can watch the server between checks (did it die? restart it and
/// point the session at its new address).
pub struct Session {
    client: reqwest::Client,
    /// Negative cases get fresh connections: a server may rightly close one
    /// after refusing a request.
    fresh: reqwest::Client,
    opts: VerifyOptions,
}

/// One check of a contract, in the order [`Session::plan`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckId {
    /// `endpoints[i]`.
    Endpoint(usize),
    /// `negative_cases[i]`.
    Negative(usize),
    /// `flows[i]`.
    Flow(usize),
    /// `Date` changes across seconds.
    Date,
}

/// Runs every endpoint, negative case and flow of `contract` against the
/// server at `opts.base_url`; never panics on a misbehaving server.
pub async fn verify(contract: &Contract, opts: &VerifyOptions) -> Report {
    let mut report = Report {
        category: contract.category.clone(),
        url: opts.base_url.clone(),
        checks: Vec::new(),
    };
    let session = match Session::new(opts.clone()) {
        Ok(s) => s,
        Err(e) => {
            report
                .checks
                .push(check(CheckKind::Headers, "client", Err(e)));
            return report;
        }
    };
    let plan: Vec<CheckId> = session
        .plan(contract)
        .into_iter()
        .filter(|c| *c != CheckId::Date)
        .collect();
    let contract_checks = async {
        let mut checks = Vec::with_capacity(plan.len());
        for id in &plan {
            checks.push(session.run(contract, *id).await);
        }
        checks
    };
    // The date check mostly waits, so it runs beside the others.
    let date = async {
        if opts.check_date {
            Some(session.run(contract, CheckId::Date).await)
        } else {
            None
        }
    };
    let (date, mut checks) = tokio::join!(date, contract_checks);
    checks.extend(date);
    report.checks = checks;
    report
}

fn check(kind: CheckKind, name: &str, outcome: Result<(), String>) -> Check {
    Check {
        kind,
        name: name.to_owned(),
        passed: outcome.is_ok(),
        detail: outcome.err().unwrap_or_default(),
    }
}

fn joined(failures: Vec<String>) -> Result<(), String> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

impl Session {
    /// A session with HTTP clients built for `opts`.
    pub fn new(opts: VerifyOptions) -> Result<Self, String> {
        let build = |pool: usize| {
            reqwest::Client::builder()
                .no_proxy()
                .timeout(opts.timeout)
                .pool_max_idle_per_host(pool)
                .build()
                .map_err(|e| e.to_string())
        };
        Ok(Self {
            client: build(usize::MAX)?,
            fresh: build(0)?,
            opts,
        })
    }

    /// The server being verified.
    pub fn base_url(&self) -> &str {
        &self.opts.base_url
    }

    /// Points the session at another address (a restarted server); pooled
    /// connections to the old one are dropped.
    pub fn set_base_url(&mut self, url: impl Into<String>) -> Result<(), String> {
        let mut opts = self.opts.clone();
        opts.base_url = url.into().trim_end_matches('/').to_owned();
        *self = Self::new(opts)?;
        Ok(())
    }

    /// Every check of `contract`: endpoints, negative cases, flows, then the
    /// `Date` check when the options ask for it.
    pub fn plan(&self, contract: &Contract) -> Vec<CheckId> {
        let mut plan: Vec<CheckId> = (0..contract.endpoints.len())
            .map(CheckId::Endpoint)
            .chain((0..contract.negative_cases.len()).map(CheckId::Negative))
            .chain((0..contract.flows.len()).map(CheckId::Flow))
            .collect();
        if self.opts.check_date {
            plan.push(CheckId::Date);
        }
        plan
    }

    /// Runs one check.
    pub async fn run(&self, contract: &Contract, id: CheckId) -> Check {
        match id {
            CheckId::Endpoint(i) => {
                let Some(e) = contract.endpoints.get(i) else {
                    return missing(CheckKind::Endpoint, i);
                };
                let outcome = self
                    .request_and_check(
                        &e.method,
                        &e.path,
                        &e.request,
                        &e.expect,
                        &Vars::new(),
                        false,
                    )
                    .await
                    .map(|_| ());
                check(CheckKind::Endpoint, &e.name, outcome)
            }
            CheckId::Negative(i) => {
                let Some(c) = contract.negative_cases.get(i) else {
                    return missing(CheckKind::Negative, i);
                };
                let outcome = if c.request.raw.is_some() {
                    self.raw_case(&c.path, &c.request, &c.expect).await
                } else {
                    self.request_and_check(
                        &c.method,
                        &c.path,
                        &c.request,
                        &c.expect,
                        &Vars::new(),
                        true,
                    )
                    .await
                    .map(|_| ())
                };
                check(CheckKind::Negative, &c.name, outcome)
            }
            CheckId::Flow(i) => match contract.flows.get(i) {
                Some(f) => check(CheckKind::Flow, &f.name, self.flow(f).await),
                None => missing(CheckKind::Flow, i),
            },
            CheckId::Date => self.date_changes().await,
        }
    }

    async fn flow(&self, flow: &crate::model::Flow) -> Result<(), String> {
        let mut vars = Vars::new();
        for (i, step) in flow.steps.iter().enumerate() {
            let error_case = step.expect.status >= 400;
            let deadline = step.poll.as_ref().map(|p| {
                (
                    Instant::now() + Duration::from_millis(p.timeout_ms),
                    p.interval_ms,
                )
            });
            let mut attempts = 0u32;
            let doc = loop {
                attempts += 1;
                let outcome = self
                    .request_and_check(
                        &step.method,
                        &step.path,
                        &step.request,
                        &step.expect,
                        &vars,
                        error_case,
                    )
                    .await;
                match (outcome, deadline) {
                    (Ok(doc), _) => break doc,
                    (Err(_), Some((until, pause))) if Instant::now() < until => {
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                    (Err(e), poll) => {
                        let tries = if poll.is_some() {
                            format!(" after {attempts} attempts")
                        } else {
                            String::new()
                        };
                        return Err(format!(
                            "step {} ({} {}){tries}: {e}",
                            i + 1,
                            step.method,
                            step.path
                        ));
                    }
                }
            };
            for (name, path) in &step.capture {
                let value = match path.strip_prefix("header:") {
                    Some(h) => doc
                        .headers
                        .get(h)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| Value::String(v.to_owned())),
                    None => doc.json.as_ref().and_then(|d| lookup(d, path)).cloned(),
                }
                .ok_or_else(|| format!("step {}: nothing to capture at `{path}`", i + 1))?;
                vars.insert(name.clone(), value);
            }
        }
        Ok(())
    }

    /// Sends one request and checks its answer; returns the JSON body, if
    /// any, and the headers.
    async fn request_and_check(
        &self,
        method: &str,
        path: &str,
        spec: &RequestSpec,
        expect: &Expect,
        vars: &Vars,
        error_case: bool,
    ) -> Result<Checked, String> {
        let prepared = prepare(method, path, spec, vars, &mut rand::rng())?;
        let client = if error_case {
            &self.fresh
        } else {
            &self.client
        };
        let ex = self.send_with(client, &prepared).await?;
        let json = check_response(expect, &ex, &prepared.values, vars, error_case)?;
        Ok(Checked {
            json,
            headers: ex.headers,
        })
    }

    /// Sends one prepared request as it is (as a load generator sends it)
    /// and checks the answer against `expect`: how a load's exact request
    /// variants are verified, before and during the load.
    pub async fn check_prepared(&self, prepared: &Prepared, expect: &Expect) -> Result<(), String> {
        let error_case = expect.status >= 400;
        let client = if error_case {
            &self.fresh
        } else {
            &self.client
        };
        let ex = self.send_with(client, prepared).await?;
        check_response(expect, &ex, &prepared.values, &Vars::new(), error_case).map(|_| ())
    }

    async fn send(&self, p: &Prepared) -> Result<Exchange, String> {
        self.send_with(&self.client, p).await
    }

    async fn send_with(&self, client: &reqwest::Client, p: &Prepared) -> Result<Exchange, String> {
        let method = reqwest::Method::from_bytes(p.method.as_bytes())
            .map_err(|_| format!("bad method {}", p.method))?;
        let mut req = client.request(method, format!("{}{}", self.opts.base_url, p.target));
        for (k, v) in &p.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &p.body {
            req = req.body(body.clone());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{} {}: {}", p.method, p.target, error_chain(&e)))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("reading the body: {}", error_chain(&e)))?;
        Ok(Exchange {
            status,
            headers,
            body,
        })
    }

    fn authority(&self) -> Result<String, String> {
        let url = reqwest::Url::parse(&self.opts.base_url).map_err(|e| e.to_string())?;
        let host = url.host_str().ok_or("no host in the URL")?;
        let port = url.port_or_known_default().ok_or("no port in the URL")?;
        Ok(format!("{host}:{port}"))
    }

    async fn raw_case(
        &self,
        _path: &str,
        spec: &RequestSpec,
        expect: &Expect,
    ) -> Result<(), String> {
        let bytes = spec.raw.as_deref().unwrap_or_default().as_bytes();
        let status = crate::raw::status_of(&self.authority()?, bytes, self.opts.timeout).await?;
        let mut failures = Vec::new();
        if status != expect.status {
            failures.push(format!("status {status} (expected {})", expect.status));
        }
        let alive = self
            .send(&prepare(
                "GET",
                "/health",
                &RequestSpec::default(),
                &Vars::new(),
                &mut rand::rng(),
            )?)
            .await;
        if let Err(e) = alive {
            failures.push(format!("server stopped answering afterwards: {e}"));
        }
        joined(failures)
    }

    /// `Date` must be present and change between requests a second apart.
    async fn date_changes(&self) -> Check {
        let health = match prepare(
            "GET",
            "/health",
            &RequestSpec::default(),
            &Vars::new(),
            &mut rand::rng(),
        ) {
            Ok(h) => h,
            Err(e) => return check(CheckKind::Headers, "date_changes", Err(e)),
        };
        let date = |ex: &Exchange| ex.headers.get(DATE).map(|d| d.as_bytes().to_vec());
        let outcome = async {
            let first = date(&self.send(&health).await?).ok_or("no Date header")?;
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let second = date(&self.send(&health).await?).ok_or("no Date header")?;
            if first == second {
                Err(format!(
                    "Date did not change in 1.1 s: {}",
                    String::from_utf8_lossy(&first)
                ))
            } else {
                Ok(())
            }
        }
        .await;
        check(CheckKind::Headers, "date_changes", outcome)
    }
}

fn missing(kind: CheckKind, index: usize) -> Check {
    check(
        kind,
        &format!("#{index}"),
        Err("no such check in the contract".into()),
    )
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.replace('\n', "\\n")
}

/// Checks status, the headers every response needs, and `expect`.
fn check_response(
    expect: &Expect,
    ex: &Exchange,
    request: &Value,
    vars: &Vars,
    error_case: bool,
) -> Result<Option<Value>, String> {
    let mut f = Vec::new();
    if ex.status != expect.status {
        f.push(format!(
            "status {} (expected {}), body: {}",
            ex.status,
            expect.status,
            excerpt(&ex.body)
        ));
    }
    for name in ["server", "date", "content-type"] {
        if !ex.headers.contains_key(name) {
            f.push(format!("no {name} header"));
        }
    }
    let header = |name| ex.headers.get(name).and_then(|v| v.to_str().ok());
    let chunked =
        header(TRANSFER_ENCODING).is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if !chunked && !ex.headers.contains_key(CONTENT_LENGTH) {
        f.push("neither Content-Length nor chunked Transfer-Encoding".into());
    }
    let want_type = expect
        .content_type
        .as_deref()
        .or(error_case.then_some("application/json"));
    if let Some(want) = want_type {
        let got = header(CONTENT_TYPE).unwrap_or("");
        if !got.eq_ignore_ascii_case(want) {
            f.push(format!("Content-Type {got:?} (expected {want:?})"));
        }
    }
    if let Some(want) = expect.chunked {
        if want != chunked {
            f.push(format!("chunked is {chunked} (expected {want})"));
        }
    }
    for (name, want) in &expect.headers {
        let got = ex.headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        if want == "*" {
            if got.is_none() {
                f.push(format!("no {name} header"));
            }
            continue;
        }
        let want = match substitute_str_value(want, vars) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let want = &want;
        let tokens = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect()
        };
        let have = got.map(tokens).unwrap_or_default();
        if !tokens(want).iter().all(|t| have.contains(t)) {
            f.push(format!("header {name}: {got:?} (must list {want:?})"));
        }
    }
    if let Some(want) = &expect.body {
        if ex.body.as_ref() != want.as_bytes() {
            f.push(format!("body {:?} (expected {want:?})", excerpt(&ex.body)));
        }
    }
    if let Some(csv) = &expect.csv {
        check_csv(csv, &ex.body, request, &mut f);
    }
    if let Some(b) = &expect.body_bytes {
        check_body_bytes(b, &ex.body, request, vars, &mut f);
    }
    let needs_json = !expect.json.is_empty() || error_case || expect.error.is_some();
    let doc: Option<Value> = serde_json::from_slice(&ex.body).ok();
    match (&doc, needs_json) {
        (None, true) => f.push(format!("body is not JSON: {}", excerpt(&ex.body))),
        (Some(doc), _) => {
            for (path, m) in &expect.json {
                if let Err(e) = m.check(lookup(doc, path), request, &|v| substitute(v, vars)) {
                    let at = if path.is_empty() { "(root)" } else { path };
                    f.push(format!("{at}: {e}"));
                }
            }
            if error_case {
                check_error_shape(expect, doc, &mut f);
            }
        }
        (None, false) => {}
    }
    joined(f).map(|()| doc)
}

/// Errors are `{"error": code, "message": text, "details": [...]}`.
fn check_error_shape(expect: &Expect, doc: &Value, f: &mut Vec<String>) {
    let code = doc.get("error").and_then(Value::as_str);
    if code.is_none() {
        f.push("error body has no string `error`".into());
    }
    if !doc.get("message").is_some_and(Value::is_string) {
        f.push("error body has no string `message`".into());
    }
    let details = doc.get("details").and_then(Value::as_array);
    if details.is_none() {
        f.push("error body has no array `details`".into());
    }
    if let Some(want) = &expect.error {
        if code != Some(want.as_str()) {
            f.push(format!("error code {code:?} (expected {want:?})"));
        }
    }
    let fields: Vec<&str> = details
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("field").and_then(Value::as_str))
        .collect();
    for want in &expect.detail_fields {
        if !fields.iter().any(|named| names_field(named, want)) {
            f.push(format!("details do not name `{want}` (named: {fields:?})"));
        }
    }
}

/// Whether a detail naming `named` names the field `want`: the field itself
/// or a value inside it (`tags[1]` and `address.city` are inside `tags` and
/// `address`), so a framework that reports the exact item is not wrong.
fn names_field(named: &str, want: &str) -> bool {
    named
        .strip_prefix(want)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['[', '.']))
}

/// Largest gunzipped body the verifier inflates.
const MAX_GUNZIP: u64 = 1 << 30;

fn check_body_bytes(
    b: &crate::model::BodyBytes,
    body: &[u8],
    request: &Value,
    vars: &Vars,
    f: &mut Vec<String>,
) {
    use std::io::Read;
    let inflated;
    let data: &[u8] = if b.gunzip {
        let mut out = Vec::new();
        let read = flate2::read::GzDecoder::new(body)
            .take(MAX_GUNZIP)
            .read_to_end(&mut out);
        if let Err(e) = read {
            f.push(format!("body is not gzip: {e}"));
            return;
        }
        inflated = out;
        &inflated
    } else {
        body
    };
    let facts = serde_json::json!({
        "length": data.len(),
        "sha256": crate::prepare::sha256_hex(data),
    });
    for (name, m) in [("length", &b.length), ("sha256", &b.sha256)] {
        if let Some(m) = m {
            if let Err(e) = m.check(facts.get(name), request, &|v| substitute(v, vars)) {
                f.push(format!("body {name}: {e}"));
            }
        }
    }
    if let Some([start, end]) = b.generated {
        let want = end.saturating_sub(start) + 1;
        if data.len() as u64 != want {
            f.push(format!(
                "body has {} bytes (expected {want}: generated bytes {start}..={end})",
                data.len()
            ));
        } else if let Some(at) =
            (0..data.len()).find(|&i| u64::from(data[i]) != (start + i as u64) % 251)
        {
            f.push(format!(
                "body differs from the generated bytes at offset {}",
                start + at as u64
            ));
        }
    }
}

fn check_csv(csv: &crate::model::CsvExpect, body: &[u8], request: &Value, f: &mut Vec<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        f.push("CSV body is not UTF-8".into());
        return;
    };
    let mut lines = text.lines();
    if lines.next() != Some(csv.header.as_str()) {
        f.push(format!("CSV header is not {:?}", csv.header));
    }
    let columns = csv.header.split(',').count();
    let rows: Vec<&str> = lines.collect();
    match lookup(request, &csv.rows_from_request).and_then(Value::as_u64) {
        Some(n) if rows.len() as u64 != n => {
            f.push(format!("{} CSV rows (expected {n})", rows.len()))
        }
        None => f.push(format!(
            "the request has no number at `{}`",
            csv.rows_from_request
        )),
        _ => {}
    }
    if let Some(bad) = rows.iter().position(|r| r.split(',').count() != columns) {
        f.push(format!(
            "CSV row {} does not have {columns} columns",
            bad + 1
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::BodyBytes;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_detail_inside_a_field_names_it() {
        assert!(names_field("tags", "tags"));
        assert!(names_field("tags[1]", "tags"));
        assert!(names_field("address.city", "address"));
        assert!(!names_field("tagsx", "tags"));
        assert!(!names_field("tag", "tags"));
        assert!(!names_field("email", "personal_info.email"));
    }

    fn exchange(body: &[u8], headers: &[(&'static str, &str)]) -> Exchange {
        let mut map = HeaderMap::new();
        for (k, v) in [
            ("server", "x"),
            ("date", "x"),
            ("content-type", "application/octet-stream"),
        ]
        .iter()
        .chain(headers)
        {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        Exchange {
            status: 200,
            headers: map,
            body: Bytes::copy_from_slice(body),
        }
    }

    fn expect(body_bytes: BodyBytes, headers: &[(&str, &str)]) -> Expect {
        Expect {
            status: 200,
            body_bytes: Some(body_bytes),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Expect::default()
        }
    }

    fn run(e: &Expect, ex: &Exchange, vars: &Vars) -> Result<(), String> {
        check_response(e, ex, &Value::Null, vars, false).map(|_| ())
    }

    fn sha(s: &str) -> crate::Matcher {
        serde_json::from_value(serde_json::json!({ "equals": s })).unwrap()
    }

    #[test]
    fn body_bytes_are_checked_exactly() {
        let data: Vec<u8> = (10..2010u64).map(|i| (i % 251) as u8).collect();
        let digest = crate::prepare::sha256_hex(&data);
        let good = expect(
            BodyBytes {
                generated: Some([10, 2009]),
                sha256: Some(sha(&digest)),
                ..BodyBytes::default()
            },
            &[],
        );
        assert!(run(&good, &exchange(&data, &[]), &Vars::new()).is_ok());
        let mut flipped = data.clone();
        flipped[500] ^= 1;
        let err = run(&good, &exchange(&flipped, &[]), &Vars::new()).unwrap_err();
        assert!(
            err.contains("offset 510") && err.contains("body sha256"),
            "{err}"
        );
        let err = run(&good, &exchange(&data[1..], &[]), &Vars::new()).unwrap_err();
        assert!(err.contains("1999 bytes"), "{err}");

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &data).unwrap();
        let gz = gz.finish().unwrap();
        let mut vars = Vars::new();
        vars.insert("sha".into(), Value::String(digest));
        let gunzip = expect(
            BodyBytes {
                gunzip: true,
                sha256: Some(sha("${sha}")),
                ..BodyBytes::default()
            },
            &[],
        );
        assert!(run(&gunzip, &exchange(&gz, &[]), &vars).is_ok());
        let err = run(&gunzip, &exchange(&data, &[]), &vars).unwrap_err();
        assert!(err.contains("not gzip"), "{err}");
    }

    #[test]
    fn headers_can_be_required_or_substituted() {
        let mut vars = Vars::new();
        vars.insert("tag".into(), Value::String("\"abc\"".into()));
        let e = expect(
            BodyBytes::default(),
            &[("etag", "${tag}"), ("x-chunk-size", "*")],
        );
        let ok = exchange(b"", &[("etag", "\"abc\""), ("x-chunk-size", "1024")]);
        assert!(run(&e, &ok, &vars).is_ok());
        let err = run(&e, &exchange(b"", &[("etag", "\"abd\"")]), &vars).unwrap_err();
        assert!(
            err.contains("header etag") && err.contains("no x-chunk-size header"),
            "{err}"
        );
    }
}
