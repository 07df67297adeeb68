//! Routes of the `async_operations` category over `shared::asyncops`:
//! handlers read the request's parameters, await the operation on the
//! server's own runtime and send the answer.

use server_kit::{json, with_state, Req, Router};
use shared::api::Health;
use shared::asyncops::{self as ops, AsyncHealth, Upstream, UpstreamError};
use std::sync::Arc;
use std::time::Instant;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8600;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// The category's own flags.
#[derive(Debug, Clone, clap::Args)]
pub struct UpstreamArgs {
    /// The HTTP server `/async/upstream` calls (the runner starts the
    /// ceiling server there).
    #[arg(long, env = "BENCH_UPSTREAM_URL", default_value = ops::DEFAULT_UPSTREAM)]
    pub upstream: String,
}

impl UpstreamArgs {
    /// The pooled client for the upstream.
    pub fn client(&self) -> Result<Upstream, UpstreamError> {
        Upstream::new(&self.upstream)
    }
}

/// The category's routes, calling `upstream` for `/async/upstream`.
pub fn router(upstream: Upstream) -> Router {
    let started = Instant::now();
    let upstream = Arc::new(upstream);
    Router::new()
        .get(
            "/health",
            with_state(&upstream, move |u, _| async move {
                json(&AsyncHealth {
                    health: Health::new(ops::CATEGORY, started),
                    upstream: u.url().to_owned(),
                })
            }),
        )
        .get("/async/raw", |_req: Req| async { json(&ops::raw().await) })
        .get("/async/yield-once", |_req: Req| async {
            json(&ops::yield_once().await)
        })
        .get("/async/fanout", |req: Req| async move {
            let x = ops::fanout_x(&req.query())?;
            json(&ops::fanout(x).await)
        })
        .get("/async/chain/{steps}", |req: Req| async move {
            let steps = ops::chain_steps(req.raw_param("steps"))?;
            json(&ops::chain(steps).await)
        })
        .get("/async/sleep", |req: Req| async move {
            let ms = ops::sleep_ms(&req.query())?;
            json(&ops::sleep(ms).await)
        })
        .get(
            "/async/upstream",
            with_state(&upstream, |u, req: Req| async move {
                let n = ops::upstream_n(&req.query())?;
                json(&u.call(n).await?)
            }),
        )
}
