//! The suite's five categories in axum 0.8, embedding the `shared` crate:
//! one `Router` per category with its state, extractors that reject with the
//! contract's errors ([`error::ApiError`]), and `axum::serve` with graceful
//! shutdown. Every rule lives in `shared`; this is wiring.

pub mod asyncops;
pub mod basic;
pub mod common;
pub mod database;
pub mod error;
pub mod files;
pub mod middleware;
pub mod realworld;
pub mod tasks;
pub mod validation;

use axum::http::{header, HeaderValue};
use axum::serve::ListenerExt;
use axum::Router;
use futures_util::FutureExt;
use std::future::{ready, Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "axum";

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A category of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Category {
    /// Hello world, JSON, users, echo, model validation, streams.
    #[value(name = "basic")]
    Basic,
    /// The validation engine's models and batches.
    #[value(name = "validation")]
    Validation,
    /// Uploads, downloads, streams, processing.
    #[value(name = "file_operations")]
    FileOperations,
    /// The task queue.
    #[value(name = "background_tasks")]
    BackgroundTasks,
    /// Shop, blog, accounts, analytics.
    #[value(name = "real_world_scenarios")]
    RealWorldScenarios,
    /// A SQL database: TechEmpower's tests, users, accounts, transfers.
    #[value(name = "database")]
    Database,
    /// Scheduling, timer waits, upstream calls.
    #[value(name = "async_operations")]
    AsyncOperations,
    /// Light and heavy middleware stacks.
    #[value(name = "middleware")]
    Middleware,
}

impl Category {
    /// The port it listens on unless told otherwise (the contract's).
    pub fn default_port(self) -> u16 {
        match self {
            Self::Basic => 8000,
            Self::Validation => 8100,
            Self::FileOperations => 8200,
            Self::BackgroundTasks => 8300,
            Self::RealWorldScenarios => 8400,
            Self::Database => 8500,
            Self::AsyncOperations => 8600,
            Self::Middleware => 8700,
        }
    }
}

/// Serves `category` on `addr` until SIGTERM/SIGINT, then removes its
/// temporary directories. Stores are opened before binding, with room for
/// at least `room` records (0: the reference's bounds); `runtime` is shut
/// down (blocking jobs finished) before their directories go.
pub fn run(
    category: Category,
    addr: SocketAddr,
    runtime: Runtime,
    room: usize,
    database: Option<&str>,
    upstream: &str,
    stacks: Option<shared::middleware::Config>,
) -> Result<(), String> {
    match category {
        Category::Basic => runtime.block_on(serve(addr, |_| (basic::router(), ready(())))),
        Category::Validation => {
            runtime.block_on(serve(addr, |_| (validation::router(), ready(()))))
        }
        Category::FileOperations => {
            let (dir, service) =
                files::open(room).map_err(|e| format!("cannot open the file store: {e}"))?;
            let served = runtime.block_on(serve(addr, |_| (files::router(&service), ready(()))));
            drop(runtime);
            drop(service);
            drop(dir);
            served
        }
        Category::BackgroundTasks => {
            let (dir, prepared) =
                tasks::prepare(room).map_err(|e| format!("cannot open the work directory: {e}"))?;
            let served = runtime.block_on(serve(addr, |bound| tasks::start(prepared, room, bound)));
            drop(runtime);
            drop(dir);
            served
        }
        Category::RealWorldScenarios => {
            let service = realworld::service()?;
            runtime.block_on(serve(addr, |_| (realworld::router(&service), ready(()))))
        }
        Category::Database => {
            let service = database::service(database)?;
            let served = runtime.block_on(serve(addr, |_| (database::router(&service), ready(()))));
            drop(runtime);
            drop(service);
            served
        }
        Category::AsyncOperations => {
            let upstream = shared::asyncops::Upstream::new(upstream).map_err(|e| e.to_string())?;
            runtime.block_on(serve(addr, |_| (asyncops::router(upstream), ready(()))))
        }
        Category::Middleware => {
            let config = stacks.ok_or("the middleware category needs its settings")?;
            let stacks = shared::middleware::Stacks::open(config).map_err(|e| e.to_string())?;
            runtime.block_on(serve(addr, |_| (middleware::router(stacks), ready(()))))
        }
    }
}

/// Binds `addr`, builds the category's router with the bound address
/// (`make`), prints `listening on http://ADDR`, serves until SIGTERM/SIGINT
/// (in-flight requests finish within [`SHUTDOWN_GRACE`]), then awaits what
/// `make` said runs after serving.
pub async fn serve<F: Future<Output = ()>>(
    addr: SocketAddr,
    make: impl FnOnce(SocketAddr) -> (Router, F),
) -> Result<(), String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    let (router, after) = make(bound);
    // The category's router is the fallback of an outer one, so the 405
    // rewrite sees the `Allow` header axum sets on the finished answer.
    let app = Router::new()
        .fallback_service(router)
        .layer(axum::middleware::map_response(error::method_not_allowed))
        .layer(CatchPanicLayer::custom(error::panicked))
        .layer(SetResponseHeaderLayer::overriding(
            header::SERVER,
            HeaderValue::from_static(SERVER_NAME),
        ));
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let signal = shutdown_signal().shared();
    println!("listening on http://{bound}");
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(signal.clone());
    tokio::select! {
        served = server.into_future() => served.map_err(|e| format!("serving failed: {e}"))?,
        () = async { signal.await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            eprintln!("axum-peer: requests still running after {SHUTDOWN_GRACE:?}; closing");
        }
    }
    after.await;
    Ok(())
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C). The handlers are
/// installed when this is called, not when it is first polled, so a signal
/// sent right after `listening on` is printed is not missed.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
