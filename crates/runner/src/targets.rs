//! What a load test sends: for an endpoint, its contract request (with fresh
//! random values in each variant); for a scenario, a shuffled weighted mix of
//! its endpoints' requests.

use anyhow::{Context, Result};
use contract::{Contract, Endpoint, Prepared, Vars};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

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

/// A named load-test target and the requests it cycles through.
#[derive(Debug, Clone)]
pub struct Target {
    /// Endpoint or scenario.
    pub kind: TargetKind,
    /// Its name in the contract.
    pub name: String,
    /// Requests, sent in order, round-robin.
    pub requests: Vec<Prepared>,
    /// Whether every request is expected to get a 4xx (an endpoint that
    /// measures rejection): wrk's non-2xx count is then not an error.
    pub expects_rejection: bool,
    /// Most connections this target is measured with (the contract's
    /// per-endpoint `load`), e.g. for 100 MB transfers.
    pub max_connections: Option<u32>,
}

fn variants(endpoint: &Endpoint, n: usize, rng: &mut impl rand::Rng) -> Result<Vec<Prepared>> {
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
        expects_rejection: endpoint.expect.status >= 400,
        max_connections: endpoint.load.as_ref().map(|l| l.max_connections),
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
    let mut rejections = 0;
    for (endpoint, weight) in entries {
        let e = contract
            .endpoint(endpoint)
            .with_context(|| format!("unknown endpoint `{endpoint}` in `{name}`"))?;
        if e.expect.status >= 400 {
            rejections += 1;
        }
        let some = variants(e, VARIANTS, &mut rng)?;
        let wanted = *weight as usize * 8;
        requests.extend(some.iter().cycle().take(wanted).cloned());
    }
    requests.shuffle(&mut rng);
    Ok(Target {
        kind,
        name: name.to_owned(),
        requests,
        // A mix with some rejecting endpoints has expected non-2xx answers.
        expects_rejection: rejections > 0,
        max_connections: None,
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
        let hello = t.requests.iter().filter(|r| r.target == "/").count();
        assert_eq!((hello, t.requests.len()), (24, 32));
        assert!(mix(&c, TargetKind::Scenario, "m", &[("nope".into(), 1)], 7).is_err());
    }

    #[test]
    fn randomized_endpoints_get_distinct_variants() {
        let c = contract::load("basic").unwrap();
        let t = endpoint(c.endpoint("path_params").unwrap(), 1).unwrap();
        let distinct: std::collections::BTreeSet<_> =
            t.requests.iter().map(|r| &r.target).collect();
        assert!(distinct.len() > 10);
        assert_eq!(
            endpoint(c.endpoint("hello_world").unwrap(), 1)
                .unwrap()
                .requests
                .len(),
            1
        );
    }
}
