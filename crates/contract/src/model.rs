//! The contract file format. `shared-endpoints/contract.schema.json` is its
//! JSON Schema; both describe the same shape.

use crate::matcher::Matcher;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One category's contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Path of the JSON Schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Category name, e.g. `basic`.
    pub category: String,
    /// What the category measures.
    pub description: String,
    /// Port its servers listen on by default.
    pub default_port: u16,
    /// Limits every implementation must enforce.
    #[serde(default)]
    pub limits: ContractLimits,
    /// Endpoints with a concrete request and the response it must get.
    pub endpoints: Vec<Endpoint>,
    /// Bad requests and the errors they must get.
    pub negative_cases: Vec<Case>,
    /// Ordered steps proving state is real.
    #[serde(default)]
    pub flows: Vec<Flow>,
    /// The endpoint doing the least of the category's work (`home` of
    /// `middleware`): reports show what every other endpoint costs beyond
    /// it, in CPU per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Resources every server seeds at start.
    #[serde(default)]
    pub fixtures: Vec<Fixture>,
    /// Weighted request mixes for load tests.
    pub scenarios: Vec<Scenario>,
    /// Default load parameters.
    #[serde(default)]
    pub load: LoadDefaults,
    /// How a stateful category's store is filled before a scaling run
    /// (`runner run --state`), and what is measured on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preload: Option<Preload>,
}

/// Limits of a category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractLimits {
    /// Largest request body a server must accept; larger gets 413.
    pub max_body_bytes: u64,
}

impl Default for ContractLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// A named request and the response it must get: an endpoint of the
/// category (`endpoints`) or a bad request (`negative_cases`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique name, used by scenarios and reports.
    pub name: String,
    /// What it does, or what is wrong with the request.
    pub description: String,
    /// HTTP method (ignored for `raw` requests).
    pub method: String,
    /// Path template, e.g. `/user/{id}`.
    pub path: String,
    /// The concrete request the verifier and load tests send.
    #[serde(default)]
    pub request: RequestSpec,
    /// What the response must be.
    pub expect: Expect,
    /// Load settings of this endpoint that differ from the category's
    /// (e.g. fewer connections for 100 MB transfers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<CaseLoad>,
    /// The database work one request must do, counted from the database
    /// server's own statistics when the verifier is told which database the
    /// server uses (PostgreSQL's `pg_stat_statements`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statements: Option<Statements>,
}

/// Statements per request, at least (TechEmpower's verifier counts the
/// same way: a framework that caches or batches its reads fails).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statements {
    /// `SELECT` statements run.
    #[serde(default)]
    pub select: u32,
    /// Rows written by `UPDATE` statements (one batched statement may
    /// write them all).
    #[serde(default)]
    pub updated_rows: u32,
}

/// Per-endpoint load settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseLoad {
    /// Most open connections for this endpoint (the run's count is capped
    /// at it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// The one connection count this endpoint is measured with, whatever
    /// the run's levels (1,000 for timer waits: how many waiting requests a
    /// framework holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<u32>,
    /// Milliseconds each request waits by design (a timer): the ideal
    /// throughput is then connections × 1000 ÷ `wait_ms`, and the report
    /// gives good req/s as a share of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u32>,
}

impl CaseLoad {
    /// The connections an endpoint is measured with at a run's `level`.
    pub fn connections_at(&self, level: u32) -> u32 {
        self.connections
            .unwrap_or(level)
            .min(self.max_connections.unwrap_or(u32::MAX))
    }
}

/// Endpoints are cases that must succeed.
pub type Endpoint = Case;

/// How to build a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Values of the template's `{params}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub path_params: BTreeMap<String, Value>,
    /// Query parameters (numbers and booleans are written as text).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Value>,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (sent as `application/json` unless `content_type` says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// A raw text body, sent as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `Content-Type` of the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// A body read from `shared-endpoints/fixtures/<name>` (sent as
    /// `application/json` unless `content_type` says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// The fixture's bytes, filled in when the contract is loaded.
    #[serde(skip)]
    pub fixture_body: Option<std::sync::Arc<Vec<u8>>>,
    /// A generated JSON body of a given size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_body: Option<GeneratedBody>,
    /// A `multipart/form-data` body, part by part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multipart: Vec<Part>,
    /// Bytes written as is on a fresh TCP connection (protocol-level cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Values replaced by random ones on every send, by reference
    /// (`json.message`, `path.id`, `query.limit`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub randomize: BTreeMap<String, RandomSpec>,
}

/// One part of a multipart body: a form field (`text`) or a file (`filename`
/// with `text`, a `fixture` file, or `generated` bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// Form field name.
    pub name: String,
    /// File name, for file parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The part's `Content-Type` (files default to `application/octet-stream`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Text content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Content read from `shared-endpoints/fixtures/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// `bytes` deterministic bytes (byte i is `i mod 251`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<GeneratedBody>,
    /// The fixture's bytes, filled in when the contract is loaded.
    #[serde(skip)]
    pub fixture_bytes: Option<std::sync::Arc<Vec<u8>>>,
}

impl Part {
    /// The part's content.
    pub fn content(&self) -> Vec<u8> {
        if let Some(g) = &self.generated {
            (0..g.bytes).map(|i| (i % 251) as u8).collect()
        } else if let Some(b) = &self.fixture_bytes {
            b.as_ref().clone()
        } else {
            self.text.clone().unwrap_or_default().into_bytes()
        }
    }
}

/// A generated body: `{"padding":"xxxx…"}` of exactly `bytes` bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedBody {
    /// Total size of the body.
    pub bytes: usize,
}

/// What random value to put in place.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSpec {
    /// Kind of value.
    pub kind: RandomKind,
    /// Smallest integer, or shortest string (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Largest integer, or longest string (default 1,000,000 / 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// The values `choice` draws from (`null` leaves a query value out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    /// For `unique`: the text around the token, `{}` marking it
    /// (`"{}@example.com"`); the token alone when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// Kinds of random value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RandomKind {
    /// An integer in `min..=max`.
    Integer,
    /// Letters and digits, `min..=max` long.
    String,
    /// Lower-case letters, `min..=max` long.
    Word,
    /// `word@word.com`.
    Email,
    /// `true` or `false`.
    Boolean,
    /// One of `values`, uniformly.
    Choice,
    /// A 16-character token (`[a-z0-9]`) never sent before: load scripts
    /// renew it on every request, so creations never collide.
    Unique,
}

/// What a response must be.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Exact status.
    pub status: u16,
    /// Exact `Content-Type` (defaults to `application/json` for error cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Exact body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Response JSON: path (`user.id`, `users[0].email`, `""` for the root)
    /// to a type name or a matcher.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json: BTreeMap<String, Matcher>,
    /// Whether the body must be sent chunked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunked: Option<bool>,
    /// A CSV body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvExpect>,
    /// Error code (`{"error": code}`) for error responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fields that must each appear in the error's `details`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detail_fields: Vec<String>,
    /// Headers that must list these comma-separated tokens, in any order and
    /// case (`allow: GET` is met by `GET, HEAD`); `*` only asks for presence.
    /// `${var}` is replaced by a captured value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Headers whose whole value must match a regex (`x-request-id`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header_patterns: BTreeMap<String, String>,
    /// Headers the answer must not carry (no `Access-Control-Allow-Origin`
    /// for an origin not allowed, no `Content-Encoding` unasked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers_absent: Vec<String>,
    /// Checks on the raw body bytes (downloads, streams, gzip output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<BodyBytes>,
    /// An HTML body's table, row by row: each row's cell texts (entities
    /// decoded, tags and surrounding whitespace dropped), exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub html_table: Vec<Vec<String>>,
    /// Texts the raw body must not contain (an unescaped `<script>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_excludes: Vec<String>,
    /// The answer may not come sooner than this many milliseconds after the
    /// request was sent (a timer wait that really waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration_ms: Option<u64>,
}

/// Checks on a response's raw body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyBytes {
    /// gunzip the body first; the other checks apply to what comes out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gunzip: bool,
    /// The body's length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Matcher>,
    /// The body's lower-case hex sha256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Matcher>,
    /// The body must be exactly bytes `start..=end` of the generated
    /// content (byte i is `i mod 251`), as sent by `generated` parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<[u64; 2]>,
}

/// A CSV body: a header line, then rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvExpect {
    /// The exact first line.
    pub header: String,
    /// Request value (`query.count`) giving the number of data rows.
    pub rows_from_request: String,
}

/// Ordered requests sharing captured values.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Unique name.
    pub name: String,
    /// What it proves.
    pub description: String,
    /// The steps, run in order; the flow stops at the first failure.
    pub steps: Vec<Step>,
}

/// One request of a flow. `${var}` in the path, in query values and in JSON
/// string values (also in matchers' `equals`) is replaced by a captured value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// HTTP method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// The request.
    #[serde(default)]
    pub request: RequestSpec,
    /// What the response must be.
    pub expect: Expect,
    /// Values to capture: variable name to response JSON path, or to
    /// `header:<name>` for a response header.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
    /// Send the step again until its expectation holds (background work
    /// finishing), within a time bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Poll>,
}

/// How a step is repeated until it passes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    /// Give up (and report the last failure) after this long.
    pub timeout_ms: u64,
    /// Pause between attempts.
    pub interval_ms: u64,
}

/// A resource seeded at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Kind of resource (`file`, `task`, …).
    pub kind: String,
    /// Its id.
    pub id: String,
    /// How its content is derived, so every server seeds identical data.
    pub rule: String,
    /// Its size in bytes, when the rule fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Its sha256, when the rule fixes the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A weighted request mix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name.
    pub name: String,
    /// What it exercises.
    pub description: String,
    /// Endpoints and their weights.
    pub mix: Vec<MixEntry>,
}

/// One endpoint of a mix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixEntry {
    /// Endpoint name.
    pub endpoint: String,
    /// Relative weight (≥ 1).
    pub weight: u32,
}

/// Filling a store with records through the contract's own requests, so
/// that every framework is filled the same way, and the read-only endpoints
/// whose cost is then measured against the store's size.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preload {
    /// What the records are.
    pub description: String,
    /// Endpoints sent to create records, interleaved by weight; each
    /// request creates one record.
    pub requests: Vec<MixEntry>,
    /// Endpoints measured at each store size: GETs only, so that measuring
    /// leaves the store as it found it.
    pub measure: Vec<String>,
    /// How the store's size is read back after filling, proving it holds
    /// what was sent (nothing evicted or dropped).
    pub held: HeldCount,
}

/// A count the server reports of the records it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldCount {
    /// Path and query of a GET answering the count.
    pub path: String,
    /// Where the count is in the answer's JSON (`total`).
    pub json: String,
    /// The preload endpoints whose records it counts.
    pub of: Vec<String>,
}

impl Preload {
    /// The endpoint of the `n`th preload request (0-based): weights
    /// interleaved in a fixed cycle, so a count of `k × Σweight` sends each
    /// endpoint `k × weight` times.
    pub fn endpoint_at(&self, n: u64) -> &str {
        let total: u64 = self.requests.iter().map(|m| u64::from(m.weight)).sum();
        let mut at = n % total.max(1);
        for m in &self.requests {
            if at < u64::from(m.weight) {
                return &m.endpoint;
            }
            at -= u64::from(m.weight);
        }
        self.requests.first().map_or("", |m| m.endpoint.as_str())
    }

    /// How many of the first `n` preload requests go to an endpoint named
    /// in `endpoints`.
    pub fn sent_to(&self, endpoints: &[String], n: u64) -> u64 {
        let total: u64 = self.requests.iter().map(|m| u64::from(m.weight)).sum();
        if total == 0 {
            return 0;
        }
        let per_cycle: u64 = self
            .requests
            .iter()
            .filter(|m| endpoints.contains(&m.endpoint))
            .map(|m| u64::from(m.weight))
            .sum();
        let rest = (n / total * total..n)
            .filter(|&k| endpoints.iter().any(|e| e == self.endpoint_at(k)))
            .count() as u64;
        n / total * per_cycle + rest
    }
}

/// Default load parameters of a category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadDefaults {
    /// Open connections.
    pub connections: u32,
    /// Load generator threads.
    pub threads: u32,
    /// Measured seconds per endpoint.
    pub duration_seconds: u32,
    /// Warm-up seconds before measuring.
    pub warmup_seconds: u32,
    /// Requests under load add state (files, tasks, orders): the runner
    /// restarts the server before each target, so that every framework is
    /// measured on a store of the same size.
    #[serde(default)]
    pub stateful: bool,
}

impl Default for LoadDefaults {
    fn default() -> Self {
        Self {
            connections: 64,
            threads: 1,
            duration_seconds: 10,
            warmup_seconds: 3,
            stateful: false,
        }
    }
}

impl Contract {
    fn preload_problems(&self, p: &Preload) -> Vec<String> {
        let mut out = Vec::new();
        if !self.load.stateful {
            out.push("a preload is declared but the category is not stateful".to_owned());
        }
        if p.requests.is_empty() || p.measure.is_empty() {
            out.push("a preload needs requests and endpoints to measure".to_owned());
        }
        for m in &p.requests {
            if self.endpoint(&m.endpoint).is_none() {
                out.push(format!("preload sends unknown endpoint `{}`", m.endpoint));
            }
            if m.weight == 0 {
                out.push(format!("preload weight of `{}` is 0", m.endpoint));
            }
        }
        for name in &p.held.of {
            if !p.requests.iter().any(|m| &m.endpoint == name) {
                out.push(format!("preload counts `{name}`, which it does not send"));
            }
        }
        for name in &p.measure {
            match self.endpoint(name) {
                None => out.push(format!("preload measures unknown endpoint `{name}`")),
                Some(e) if e.method != "GET" => out.push(format!(
                    "preload measures `{name}`, a {}: only GETs leave the store as they found it",
                    e.method
                )),
                Some(_) => {}
            }
        }
        out
    }

    /// Every request spec of the contract (endpoints, cases, flow steps).
    pub fn requests_mut(&mut self) -> impl Iterator<Item = &mut RequestSpec> {
        self.endpoints
            .iter_mut()
            .chain(self.negative_cases.iter_mut())
            .map(|c| &mut c.request)
            .chain(
                self.flows
                    .iter_mut()
                    .flat_map(|f| f.steps.iter_mut().map(|s| &mut s.request)),
            )
    }

    /// The endpoint called `name`.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// Problems a JSON Schema cannot see: duplicate names, scenarios naming
    /// unknown endpoints, templates whose parameters have no value.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for name in self
            .endpoints
            .iter()
            .map(|e| &e.name)
            .chain(self.negative_cases.iter().map(|c| &c.name))
            .chain(self.flows.iter().map(|f| &f.name))
            .chain(self.scenarios.iter().map(|s| &s.name))
        {
            if !seen.insert(name) {
                out.push(format!("duplicate name `{name}`"));
            }
        }
        for s in &self.scenarios {
            for m in &s.mix {
                if self.endpoint(&m.endpoint).is_none() {
                    out.push(format!(
                        "scenario `{}` names unknown endpoint `{}`",
                        s.name, m.endpoint
                    ));
                }
            }
        }
        if let Some(b) = &self.baseline {
            if self.endpoint(b).is_none() {
                out.push(format!("baseline names unknown endpoint `{b}`"));
            }
        }
        if let Some(p) = &self.preload {
            out.extend(self.preload_problems(p));
        }
        for e in self.endpoints.iter().chain(&self.negative_cases) {
            if e.request.fixture.is_some() && e.request.fixture_body.is_none() {
                out.push(format!("`{}` names a fixture that was not loaded", e.name));
            }
        }
        for e in &self.endpoints {
            for p in crate::prepare::template_params(&e.path) {
                if !e.request.path_params.contains_key(p) {
                    out.push(format!("endpoint `{}` has no value for `{{{p}}}`", e.name));
                }
            }
        }
        out
    }
}
