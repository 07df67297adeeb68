//! `runner export locust`: a locustfile from a category's contract. One
//! `FastHttpUser` per scenario, its tasks weighted as the scenario's mix (or
//! one per endpoint, for endpoints measured alone);
//! each endpoint's requests are the variants the wrk scripts send (the same
//! seeds), `unique` tokens renewed per request, and an answer whose status
//! is not the contract's counts as a failure.

use crate::targets;
use anyhow::{bail, Context, Result};
use base64::Engine;
use contract::Contract;
use std::fmt::Write;
use std::io::Write as _;

/// Bodies longer than this are embedded compressed.
const INLINE_BODY_MAX: usize = 2048;

/// Where the exported file says it came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The contract file's sha256, hex.
    pub contract_sha256: Option<String>,
    /// The suite's commit, and whether its tree had changes.
    pub git: crate::results::Git,
    /// When it was generated, RFC 3339.
    pub generated_at: String,
}

/// What a locustfile loads.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Every scenario of the category, or the one named.
    Scenarios(Option<&'a str>),
    /// These endpoints, each alone (a user per endpoint).
    Endpoints(&'a [String]),
}

/// The users of a selection: scenarios as they are, endpoints as
/// one-endpoint mixes.
fn users(contract: &Contract, selection: Selection<'_>) -> Result<Vec<contract::Scenario>> {
    let scenario = match selection {
        Selection::Scenarios(scenario) => scenario,
        Selection::Endpoints(names) => {
            return names
                .iter()
                .map(|name| {
                    let e = contract.endpoint(name).with_context(|| {
                        format!("no endpoint `{name}` in {}", contract.category)
                    })?;
                    Ok(contract::Scenario {
                        name: e.name.clone(),
                        description: format!("{} alone", e.name),
                        mix: vec![contract::MixEntry {
                            endpoint: e.name.clone(),
                            weight: 1,
                        }],
                    })
                })
                .collect();
        }
    };
    Ok(match scenario {
        None => contract.scenarios.clone(),
        Some(name) => vec![contract
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .with_context(|| {
                format!(
                    "no scenario `{name}` in {} (known: {})",
                    contract.category,
                    contract
                        .scenarios
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?],
    })
}

/// The locustfile for `contract`'s scenarios or endpoints.
pub fn locustfile(
    contract: &Contract,
    selection: Selection<'_>,
    provenance: &Provenance,
) -> Result<String> {
    let scenarios = users(contract, selection)?;
    if scenarios.is_empty() {
        bail!("{} has no scenarios to export", contract.category);
    }
    let mut out = header(contract, selection, &scenarios, provenance);
    out.push_str(PRELUDE);
    out.push_str(
        "\n# Each endpoint's requests: the variants the runner's wrk scripts send.\nREQUESTS = {\n",
    );
    // The endpoints of the exported scenarios, in contract order, with the
    // seed the runner gives each (its index), so the variants are the same.
    for (i, e) in contract.endpoints.iter().enumerate() {
        if !scenarios
            .iter()
            .any(|s| s.mix.iter().any(|m| m.endpoint == e.name))
        {
            continue;
        }
        let target = targets::endpoint(e, i as u64)?;
        let _ = writeln!(out, "    {}: [", py_str(&e.name));
        for r in &target.requests {
            let p = &r.request;
            let headers: Vec<String> = p
                .headers
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_str(v)))
                .collect();
            let unique: Vec<String> = p.unique.iter().map(|u| py_str(u)).collect();
            let _ = writeln!(
                out,
                "        Request({}, {}, {{{}}}, {}, ({}), {}),",
                py_str(&p.method),
                py_str(&p.target),
                headers.join(", "),
                body_expr(p.body.as_deref())?,
                if unique.len() == 1 {
                    format!("{},", unique[0])
                } else {
                    unique.join(", ")
                },
                r.expect.status
            );
        }
        out.push_str("    ],\n");
    }
    out.push_str("}\n");
    let kind = match selection {
        Selection::Scenarios(_) => "Scenario",
        Selection::Endpoints(_) => "Endpoint",
    };
    for s in &scenarios {
        out.push_str(&user_class(kind, s));
    }
    Ok(out)
}

/// The module docstring: what it is, where it came from, how to run it.
fn header(
    contract: &Contract,
    selection: Selection<'_>,
    scenarios: &[contract::Scenario],
    provenance: &Provenance,
) -> String {
    let category = &contract.category;
    let commit = provenance.git.commit.as_deref().map_or_else(
        || "an unknown commit".to_owned(),
        |c| {
            format!(
                "commit {}{}",
                &c[..c.len().min(12)],
                if provenance.git.dirty {
                    " (with uncommitted changes)"
                } else {
                    ""
                }
            )
        },
    );
    let command = match selection {
        Selection::Scenarios(Some(s)) => {
            format!("runner export locust --category {category} --scenario {s}")
        }
        Selection::Scenarios(None) => format!("runner export locust --category {category}"),
        Selection::Endpoints(names) => format!(
            "runner export locust --category {category} --endpoints {}",
            names.join(",")
        ),
    };
    let first = &scenarios[0];
    let classes: Vec<String> = scenarios
        .iter()
        .map(|s| format!("{} ({})", class_name(&s.name), s.name))
        .collect();
    format!(
        r#""""Locust load for the `{category}` category of feature-bench, from its contract.

Generated by `{command}` from the contract
{category}.json (sha256 {sha}) at {commit}, {at}.
Regenerate it rather than edit it.

Users, one per contract scenario (tasks weighted as its mix) or endpoint:
    {classes}
Each request is one of an endpoint's randomized variants, drawn as the runner's
wrk scripts draw them (for an endpoint alone, the very variants wrk sends), its
`unique` tokens renewed on every send; an answer whose status is not the one the
contract expects is a failure, and so is no answer. Requests are named after their
endpoints in Locust's statistics.

Run one scenario (naming no user class runs them all, side by side):
    locust -f THIS_FILE --host http://HOST:PORT --headless -u 64 -r 64 -t 60s --csv out {class}
Across machines: add `--master` on one, and run `--worker --master-host MASTER`
on each of the others (the same file on every machine). Then:
    runner import locust --stats out_stats.csv --framework NAME --category {category} --scenario {scenario}
"""
"#,
        sha = provenance.contract_sha256.as_deref().unwrap_or("unknown"),
        at = provenance.generated_at,
        classes = classes.join("\n    "),
        class = class_name(&first.name),
        scenario = first.name,
    )
}

/// The shared part: the request type and the user that sends them.
const PRELUDE: &str = r#"
import base64
import itertools
import random
import string
import zlib

from locust import FastHttpUser, constant, task


def packed(size, data):
    """A body of `size` bytes embedded zlib-compressed and base64-encoded."""
    body = zlib.decompress(base64.b64decode(data))
    assert len(body) == size, f"a packed body of {len(body)} bytes, not {size}"
    return body


class Request:
    """One request as the contract prepares it, and the status its answer must have."""

    __slots__ = ("method", "path", "headers", "body", "unique", "status")

    def __init__(self, method, path, headers, body, unique, status):
        self.method = method
        self.path = path
        # As wrk, ask for no content encoding (Locust would ask for gzip,
        # deflate and br, and a compressing server would do more work).
        self.headers = {"Accept-Encoding": "identity", **headers}
        self.body = body
        self.unique = unique
        self.status = status


class ContractUser(FastHttpUser):
    """Sends an endpoint's requests and checks each answer's status."""

    abstract = True
    # A closed loop, as wrk's: the next request as soon as the answer is in.
    wait_time = constant(0)
    # wrk's timeout (--timeout 5s in the runner).
    network_timeout = 5.0
    connection_timeout = 5.0

    def on_start(self):
        # Fresh `unique` tokens: a random prefix per user (36^8 of them, so
        # thousands of users across workers do not share one) and a counter,
        # as long as the token they replace.
        self.prefix = "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
        self.serial = itertools.count(1)

    def token(self, length):
        return self.prefix + format(next(self.serial), "x").zfill(length - len(self.prefix))

    def send(self, endpoint):
        r = random.choice(REQUESTS[endpoint])
        path, headers, body = r.path, r.headers, r.body
        for old in r.unique:
            new = self.token(len(old))
            path = path.replace(old, new)
            headers = {k: v.replace(old, new) for k, v in headers.items()}
            if body is not None:
                body = body.replace(old.encode(), new.encode())
        with self.client.request(
            r.method, path, headers=headers, data=body, name=endpoint, catch_response=True
        ) as response:
            if response.status_code == r.status:
                response.success()
            elif not response.status_code:
                # No answer at all (refused, reset, timed out).
                response.failure(f"no answer: {response.error!r}")
            else:
                response.failure(f"expected status {r.status}, got {response.status_code}")
"#;

/// One scenario's (or endpoint's) user class.
fn user_class(kind: &str, s: &contract::Scenario) -> String {
    let mix: Vec<String> = s
        .mix
        .iter()
        .map(|m| format!("{} {}", m.endpoint, m.weight))
        .collect();
    let mut out = format!(
        "\n\nclass {}(ContractUser):\n    \"\"\"{kind} `{}`: {}.\"\"\"\n",
        class_name(&s.name),
        s.name,
        mix.join(", ")
    );
    for m in &s.mix {
        let _ = write!(
            out,
            "\n    @task({})\n    def {}(self):\n        self.send({})\n",
            m.weight,
            m.endpoint,
            py_str(&m.endpoint)
        );
    }
    out
}

/// `batch_processing` → `BatchProcessing`.
pub fn class_name(scenario: &str) -> String {
    scenario
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A Python string literal (a JSON string is one).
fn py_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A Python bytes literal for short bodies, a `packed(...)` call for long
/// ones, `None` for none.
fn body_expr(body: Option<&[u8]>) -> Result<String> {
    let Some(body) = body else {
        return Ok("None".to_owned());
    };
    if body.len() <= INLINE_BODY_MAX {
        return Ok(crate::quote::quoted("b", body, crate::quote::python_byte));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(body).context("compressing a body")?;
    let packed = base64::engine::general_purpose::STANDARD.encode(z.finish()?);
    Ok(format!("packed({}, {})", body.len(), py_str(&packed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_camel_case() {
        assert_eq!(class_name("batch_processing"), "BatchProcessing");
        assert_eq!(class_name("mega-batch 2"), "MegaBatch2");
    }

    #[test]
    fn bodies_round_trip_through_python_literals() {
        assert_eq!(body_expr(None).unwrap(), "None");
        assert_eq!(
            body_expr(Some(b"{\"a\":\"\\n\"}\n\x00\xff")).unwrap(),
            r#"b"{\"a\":\"\\n\"}\n\x00\xff""#
        );
        assert!(body_expr(Some(&[b'x'; 5000]))
            .unwrap()
            .starts_with("packed(5000, \""));
    }

    #[test]
    fn unknown_scenarios_are_named_with_the_known_ones() {
        let c = contract::load("basic").unwrap();
        let e = locustfile(
            &c,
            Selection::Scenarios(Some("nope")),
            &Provenance::default(),
        )
        .unwrap_err();
        assert!(format!("{e}").contains("parameter_handling"), "{e}");
    }

    #[test]
    fn one_scenario_exports_its_endpoints_and_weights_only() {
        let c = contract::load("validation").unwrap();
        let text = locustfile(
            &c,
            Selection::Scenarios(Some("complex_validation")),
            &Provenance::default(),
        )
        .unwrap();
        assert!(text.contains("class ComplexValidation(ContractUser):"));
        assert!(text.contains("@task(2)\n    def complex_user(self):"));
        assert!(text.contains("@task(1)\n    def product(self):"));
        assert!(!text.contains("\"simple_user\": ["));
        assert_eq!(text.matches("(ContractUser):").count(), 1);
    }
}
