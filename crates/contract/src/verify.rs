//! Verifying a live server against a contract: a session sends each
//! check's requests (endpoints, negative and raw cases, flows, the `Date`
//! check) and judges the answers with the pure checks of `response`.

mod failure;
mod response;

pub use failure::{ClientError, Failure};

use crate::jsonpath::lookup;
use crate::model::{Contract, Expect, RequestSpec};
use crate::prepare::{prepare, Prepared, Vars};
use crate::report::{Check, CheckKind, Report};
use failure::joined;
use reqwest::header::{HeaderMap, DATE};
use response::{check_response, Exchange};
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
    /// The PostgreSQL database the server uses, when it uses one: the
    /// endpoints' `statements` are then counted in its statistics.
    pub database_url: Option<String>,
}

impl VerifyOptions {
    /// Defaults for `base_url`: 10 s timeout, date check on.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(10),
            check_date: true,
            database_url: None,
        }
    }
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
    /// `endpoints[i]`'s database statements.
    Statements(usize),
}

/// A failure to read the database's statistics.
fn statistics(e: anyhow::Error) -> Failure {
    Failure::Differences(vec![format!("the database's statistics: {e:#}")])
}

/// Requests sent to count an endpoint's statements.
pub const STATEMENT_REQUESTS: u32 = 128;

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
                .push(check(CheckKind::Headers, "client", Err(e.into())));
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

fn check(kind: CheckKind, name: &str, outcome: Result<(), Failure>) -> Check {
    Check {
        kind,
        name: name.to_owned(),
        passed: outcome.is_ok(),
        detail: outcome.err().map(|e| e.to_string()).unwrap_or_default(),
    }
}

impl Session {
    /// A session with HTTP clients built for `opts`.
    pub fn new(opts: VerifyOptions) -> Result<Self, ClientError> {
        let build = |pool: usize| {
            reqwest::Client::builder()
                .no_proxy()
                .timeout(opts.timeout)
                .pool_max_idle_per_host(pool)
                .build()
                .map_err(ClientError)
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
    pub fn set_base_url(&mut self, url: impl Into<String>) -> Result<(), ClientError> {
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
        if self.opts.database_url.is_some() {
            plan.extend(
                (0..contract.endpoints.len())
                    .filter(|&i| contract.endpoints[i].statements.is_some())
                    .map(CheckId::Statements),
            );
        }
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
            CheckId::Statements(i) => match contract.endpoints.get(i) {
                Some(e) => check(CheckKind::Statements, &e.name, self.statements(e).await),
                None => missing(CheckKind::Statements, i),
            },
        }
    }

    /// Sends [`STATEMENT_REQUESTS`] of an endpoint's requests and counts in
    /// the database's statistics what they ran: fewer statements per
    /// request than the contract's `statements` fail.
    async fn statements(&self, e: &crate::model::Endpoint) -> Result<(), Failure> {
        let (Some(url), Some(want)) = (&self.opts.database_url, e.statements) else {
            return Ok(());
        };
        crate::postgres::reset_statements(url).map_err(statistics)?;
        let mut rng = rand::rng();
        for _ in 0..STATEMENT_REQUESTS {
            let p = prepare(&e.method, &e.path, &e.request, &Vars::new(), &mut rng)
                .map_err(Failure::Request)?;
            self.check_prepared(&p, &e.expect).await?;
        }
        let got = crate::postgres::counted(url).map_err(statistics)?;
        let n = u64::from(STATEMENT_REQUESTS);
        let mut differences = Vec::new();
        let per = |count: u64| count as f64 / n as f64;
        if got.selects < u64::from(want.select) * n {
            differences.push(format!(
                "{:.2} SELECTs per request (expected at least {}) over {n} requests",
                per(got.selects),
                want.select
            ));
        }
        if got.updated_rows < u64::from(want.updated_rows) * n {
            differences.push(format!(
                "{:.2} rows updated per request (expected at least {}) over {n} requests",
                per(got.updated_rows),
                want.updated_rows
            ));
        }
        joined(differences)
    }

    async fn flow(&self, flow: &crate::model::Flow) -> Result<(), Failure> {
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
                        return Err(Failure::Step {
                            step: i + 1,
                            method: step.method.clone(),
                            path: step.path.clone(),
                            attempts: poll.map(|_| attempts),
                            cause: Box::new(e),
                        });
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
                .ok_or_else(|| Failure::NoCapture {
                    step: i + 1,
                    path: path.clone(),
                })?;
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
    ) -> Result<Checked, Failure> {
        let prepared =
            prepare(method, path, spec, vars, &mut rand::rng()).map_err(Failure::Request)?;
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
    pub async fn check_prepared(
        &self,
        prepared: &Prepared,
        expect: &Expect,
    ) -> Result<(), Failure> {
        let error_case = expect.status >= 400;
        let client = if error_case {
            &self.fresh
        } else {
            &self.client
        };
        let ex = self.send_with(client, prepared).await?;
        check_response(expect, &ex, &prepared.values, &Vars::new(), error_case).map(|_| ())
    }

    async fn send(&self, p: &Prepared) -> Result<Exchange, Failure> {
        self.send_with(&self.client, p).await
    }

    async fn send_with(&self, client: &reqwest::Client, p: &Prepared) -> Result<Exchange, Failure> {
        let method = reqwest::Method::from_bytes(p.method.as_bytes())
            .map_err(|_| Failure::BadMethod(p.method.clone()))?;
        let mut req = client.request(method, format!("{}{}", self.opts.base_url, p.target));
        for (k, v) in &p.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &p.body {
            req = req.body(body.clone());
        }
        let sent = std::time::Instant::now();
        let resp = req.send().await.map_err(|e| Failure::Send {
            method: p.method.clone(),
            target: p.target.clone(),
            cause: error_chain(&e),
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Failure::ReadBody(error_chain(&e)))?;
        Ok(Exchange {
            status,
            headers,
            body,
            elapsed: sent.elapsed(),
        })
    }

    fn authority(&self) -> Result<String, Failure> {
        let url =
            reqwest::Url::parse(&self.opts.base_url).map_err(|e| Failure::BadUrl(e.to_string()))?;
        let host = url.host_str().ok_or(Failure::NoHost)?;
        let port = url.port_or_known_default().ok_or(Failure::NoPort)?;
        Ok(format!("{host}:{port}"))
    }

    async fn raw_case(
        &self,
        _path: &str,
        spec: &RequestSpec,
        expect: &Expect,
    ) -> Result<(), Failure> {
        let bytes = spec.raw.as_deref().unwrap_or_default().as_bytes();
        let status = crate::raw::status_of(&self.authority()?, bytes, self.opts.timeout)
            .await
            .map_err(Failure::Raw)?;
        let mut failures = Vec::new();
        if status != expect.status {
            failures.push(format!("status {status} (expected {})", expect.status));
        }
        let alive = self.send(&health_request()?).await;
        if let Err(e) = alive {
            failures.push(format!("server stopped answering afterwards: {e}"));
        }
        joined(failures)
    }

    /// `Date` must be present and change between requests a second apart.
    async fn date_changes(&self) -> Check {
        let health = match health_request() {
            Ok(h) => h,
            Err(e) => return check(CheckKind::Headers, "date_changes", Err(e)),
        };
        let date = |ex: &Exchange| ex.headers.get(DATE).map(|d| d.as_bytes().to_vec());
        let outcome = async {
            let first = date(&self.send(&health).await?).ok_or(Failure::NoDate)?;
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let second = date(&self.send(&health).await?).ok_or(Failure::NoDate)?;
            if first == second {
                Err(Failure::DateUnchanged(
                    String::from_utf8_lossy(&first).into_owned(),
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
    check(kind, &format!("#{index}"), Err(Failure::NoSuchCheck))
}

/// `GET /health`, prepared.
fn health_request() -> Result<Prepared, Failure> {
    prepare(
        "GET",
        "/health",
        &RequestSpec::default(),
        &Vars::new(),
        &mut rand::rng(),
    )
    .map_err(Failure::Request)
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
