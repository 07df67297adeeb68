//! Filling a stateful server's store before a scaling run (`runner run
//! --state`): the contract's `preload` requests, sent in its weighted
//! cycle, a bounded number at a time, each answer checked against its
//! endpoint's expectation, so that every framework is filled the same way
//! and a record that was refused or mis-stored stops the run.

use anyhow::{bail, Context, Result};
use contract::{Contract, Endpoint, Prepared, Vars};
use futures_util::{stream, StreamExt};
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// Preload requests in flight at once.
pub const CONCURRENCY: usize = 16;

/// What one filling step did.
#[derive(Debug, Clone, Copy)]
pub struct Filled {
    /// Requests sent (all answered as expected).
    pub sent: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Sends preload requests number `from` to `to` (exclusive) of the
/// contract's cycle to the server at `url`; the first failed check ends it
/// with an error naming the request. Random fields are drawn from `seed`
/// and the request number, so every framework gets the same records.
pub fn fill(
    rt: &tokio::runtime::Runtime,
    url: &str,
    contract: &Contract,
    from: u64,
    to: u64,
    seed: u64,
) -> Result<Filled> {
    let preload = contract
        .preload
        .as_ref()
        .with_context(|| format!("{} declares no preload", contract.category))?;
    let endpoints: Vec<&Endpoint> = preload
        .requests
        .iter()
        .map(|m| {
            contract
                .endpoint(&m.endpoint)
                .with_context(|| format!("the preload names unknown endpoint `{}`", m.endpoint))
        })
        .collect::<Result<_>>()?;
    let endpoint = |n: u64| {
        let name = preload.endpoint_at(n);
        endpoints.iter().copied().find(|e| e.name == name)
    };
    let session = crate::probe::session(url).map_err(anyhow::Error::msg)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ from.rotate_left(32));
    // Prepared as they are sent: 100,000 uploads are not held at once.
    let requests = (from..to).map(move |n| {
        let e = endpoint(n).ok_or_else(|| "empty preload".to_owned())?;
        contract::prepare(&e.method, &e.path, &e.request, &Vars::new(), &mut rng)
            .map(|p| (n, e, p))
            .map_err(|err| format!("preparing {}: {err}", e.name))
    });
    let started = Instant::now();
    let session = &session;
    let outcome: Result<u64> = rt.block_on(async move {
        let mut answers = stream::iter(requests)
            .map(
                |request: Result<(u64, &Endpoint, Prepared), String>| async move {
                    let (n, e, p) = request?;
                    session.check_prepared(&p, &e.expect).await.map_err(|err| {
                        format!(
                            "request {n} ({} {} for {}): {err}",
                            p.method, p.target, e.name
                        )
                    })
                },
            )
            .buffer_unordered(CONCURRENCY);
        let mut sent = 0;
        while let Some(answer) = answers.next().await {
            if let Err(e) = answer {
                bail!("after {sent} good answers, {e}");
            }
            sent += 1;
        }
        Ok(sent)
    });
    Ok(Filled {
        sent: outcome?,
        elapsed: started.elapsed(),
    })
}

/// The count the server gives of the records it holds (the preload's
/// `held`: a GET and a JSON path).
pub fn held(rt: &tokio::runtime::Runtime, url: &str, contract: &Contract) -> Result<u64> {
    let held = &contract
        .preload
        .as_ref()
        .with_context(|| format!("{} declares no preload", contract.category))?
        .held;
    let at = format!("{}{}", url.trim_end_matches('/'), held.path);
    let doc = crate::probe::get_json(rt, &at, Duration::from_secs(60))
        .with_context(|| format!("reading the store's size from {at}"))?;
    contract::lookup(&doc, &held.json)
        .and_then(serde_json::Value::as_u64)
        .with_context(|| format!("{at}: no count at `{}`", held.json))
}
