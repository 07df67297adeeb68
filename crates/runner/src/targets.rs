//! What a load test sends: for an endpoint, its contract request (with fresh
//! random values in each variant); for a scenario, a shuffled weighted mix of
//! its endpoints' requests.

use anyhow::{Context, Result};
use contract::{CaseLoad, Contract, Endpoint, Expect, Prepared, Vars};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Variants prepared per endpoint (randomized values differ between them).
const VARIANTS: usize = 32;

/// Whether a target is one endpoint or a scenario mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// One endpoint.
    Endpoint,
    /// A weighted mix.
    Scenario,
}

/// One request of a load and what its answer must be.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// The bytes sent (with `unique` tokens renewed on every send).
    pub request: Prepared,
    /// The contract endpoint it exercises.
    pub endpoint: String,
    /// What its answer must be: the status is counted on every answer under
    /// load, the whole expectation checked before the load and on samples.
    pub expect: Expect,
}

/// A named load-test target and the requests it cycles through.
#[derive(Debug, Clone)]
pub struct Target {
    /// Endpoint or scenario.
    pub kind: TargetKind,
    /// Its name in the contract.
    pub name: String,
    /// Requests, sent in order, round-robin.
    pub requests: Vec<LoadRequest>,
    /// The contract's per-endpoint load settings: a connection cap (100 MB
    /// transfers), a fixed connection count (timer waits), a designed wait.
    pub load: CaseLoad,
}

/// The connection counts a target with `load` is measured at, for a run's
/// `levels`, each once and in order (a fixed count makes one).
pub fn levels(load: Option<&CaseLoad>, run: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for &level in run {
        let c = load.map_or(level, |l| l.connections_at(level));
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

impl Target {
    /// Whether its load settings differ from the category's (a cap or a
    /// fixed connection count): it stays out of the shared warm-up.
    pub fn has_own_load(&self) -> bool {
        self.load.max_connections.is_some() || self.load.connections.is_some()
    }

    /// The connection counts it is measured at, for a run's `levels`.
    pub fn levels(&self, run: &[u32]) -> Vec<u32> {
        levels(Some(&self.load), run)
    }

    /// The statuses its requests expect.
    pub fn statuses(&self) -> BTreeSet<u16> {
        self.requests.iter().map(|r| r.expect.status).collect()
    }

    /// Whether wrk's own count of statuses ≥ 400 tells the errors exactly:
    /// every request expects the same status, below 400. Otherwise the
    /// script counts statuses per expected status (`response()`).
    pub fn wrk_counts_errors(&self) -> bool {
        let statuses = self.statuses();
        statuses.len() == 1 && statuses.iter().all(|&s| s < 400)
    }

    /// Whether wrk's static path fits (one request, no tokens to renew, wrk
    /// counting the errors): the cheapest way wrk sends.
    pub fn is_static(&self) -> bool {
        self.requests.len() == 1
            && self.requests[0].request.unique.is_empty()
            && self.wrk_counts_errors()
    }

    /// Its distinct requests (mixes repeat variants), in order.
    pub fn distinct(&self) -> Vec<&LoadRequest> {
        let mut seen = std::collections::HashSet::new();
        self.requests
            .iter()
            .filter(|r| {
                seen.insert((
                    &r.request.method,
                    &r.request.target,
                    &r.request.body,
                    &r.request.headers,
                ))
            })
            .collect()
    }
}

/// A target of one request expecting `status` (the ceiling's).
pub fn single(name: &str, request: Prepared, status: u16) -> Target {
    Target {
        kind: TargetKind::Endpoint,
        name: name.to_owned(),
        requests: vec![LoadRequest {
            request,
            endpoint: name.to_owned(),
            expect: Expect {
                status,
                ..Expect::default()
            },
        }],
        load: CaseLoad::default(),
    }
}

fn variants(endpoint: &Endpoint, n: usize, rng: &mut impl rand::Rng) -> Result<Vec<LoadRequest>> {
    let n = if endpoint.request.randomize.is_empty() {
        1
    } else {
        n
    };
    (0..n)
        .map(|_| {
            contract::prepare(
                &endpoint.method,
                &endpoint.path,
                &endpoint.request,
                &Vars::new(),
                rng,
            )
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("preparing {}", endpoint.name))
            .map(|request| LoadRequest {
                request,
                endpoint: endpoint.name.clone(),
                expect: endpoint.expect.clone(),
            })
        })
        .collect()
}

/// The target for one endpoint.
pub fn endpoint(endpoint: &Endpoint, seed: u64) -> Result<Target> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    Ok(Target {
        kind: TargetKind::Endpoint,
        name: endpoint.name.clone(),
        requests: variants(endpoint, VARIANTS, &mut rng)?,
        load: endpoint.load.clone().unwrap_or_default(),
    })
}

/// A mix of `(endpoint, weight)`: each endpoint contributes `weight × 8`
/// requests, shuffled with a fixed seed.
pub fn mix(
    contract: &Contract,
    kind: TargetKind,
    name: &str,
    entries: &[(String, u32)],
    seed: u64,
) -> Result<Target> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut requests = Vec::new();
    for (endpoint, weight) in entries {
        let e = contract
            .endpoint(endpoint)
            .with_context(|| format!("unknown endpoint `{endpoint}` in `{name}`"))?;
        let some = variants(e, VARIANTS, &mut rng)?;
        let wanted = *weight as usize * 8;
        requests.extend(some.iter().cycle().take(wanted).cloned());
    }
    requests.shuffle(&mut rng);
    Ok(Target {
        kind,
        name: name.to_owned(),
        requests,
        load: CaseLoad::default(),
    })
}

/// The target for a contract scenario.
pub fn scenario(contract: &Contract, scenario: &contract::Scenario, seed: u64) -> Result<Target> {
    let entries: Vec<(String, u32)> = scenario
        .mix
        .iter()
        .map(|m| (m.endpoint.clone(), m.weight))
        .collect();
    mix(
        contract,
        TargetKind::Scenario,
        &scenario.name,
        &entries,
        seed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_follow_their_weights() {
        let c = contract::load("basic").unwrap();
        let t = mix(
            &c,
            TargetKind::Scenario,
            "m",
            &[("hello_world".into(), 3), ("json_echo".into(), 1)],
            7,
        )
        .unwrap();
        let hello = t
            .requests
            .iter()
            .filter(|r| r.request.target == "/")
            .count();
        assert_eq!((hello, t.requests.len()), (24, 32));
        // Each request keeps its own endpoint's expectation.
        assert!(t
            .requests
            .iter()
            .all(|r| (r.request.target == "/") == (r.endpoint == "hello_world")));
        assert_eq!(t.distinct().len(), 1 + 8);
        assert!(!t.is_static());
        assert!(mix(&c, TargetKind::Scenario, "m", &[("nope".into(), 1)], 7).is_err());
    }

    #[test]
    fn randomized_endpoints_get_distinct_variants() {
        let c = contract::load("basic").unwrap();
        let t = endpoint(c.endpoint("path_params").unwrap(), 1).unwrap();
        let distinct: std::collections::BTreeSet<_> =
            t.requests.iter().map(|r| &r.request.target).collect();
        assert!(distinct.len() > 10);
        assert_eq!(t.distinct().len(), distinct.len());
        let hello = endpoint(c.endpoint("hello_world").unwrap(), 1).unwrap();
        assert!(hello.is_static() && hello.wrk_counts_errors());
        assert_eq!(
            endpoint(c.endpoint("hello_world").unwrap(), 1)
                .unwrap()
                .requests
                .len(),
            1
        );
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn rejection_targets_and_mixed_statuses_need_the_scripts_count() {
        let c = contract::load("validation").unwrap();
        let rejecting = c
            .endpoints
            .iter()
            .find(|e| e.expect.status >= 400)
            .expect("validation measures a rejection");
        let t = endpoint(rejecting, 1).unwrap();
        assert!(!t.wrk_counts_errors() && !t.is_static());
    }
}
