//! The connection loop: flags, runtime, accept with a connection cap,
//! header-read timeout, `Server` header, panic containment and graceful
//! shutdown on SIGTERM/SIGINT.

use crate::error::ApiError;
use crate::request::Limits;
use crate::response::Response;
use crate::router::Router;
use futures_util::FutureExt;
use http::{header, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default of `--max-body-bytes`.
pub const DEFAULT_MAX_BODY_BYTES: usize = shared::api::DEFAULT_MAX_BODY_BYTES;

/// Command-line flags every server accepts (flatten into a clap parser).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one [default: the category's port].
    #[arg(long)]
    pub port: Option<u16>,
    /// Threads serving connections [default: number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// How connections are served: `shared` (one multi-threaded runtime
    /// that steals work between threads) or `per-core` (a thread per core,
    /// each with its own single-threaded runtime, as actix-web does; an
    /// acceptor hands connections out round robin).
    #[arg(long, value_enum, default_value_t = RuntimeKind::Shared)]
    pub runtime: RuntimeKind,
    /// Most threads for blocking work (file system, processing); more jobs
    /// wait for one to be free [default: Tokio's, 512].
    #[arg(long)]
    pub blocking_threads: Option<usize>,
    /// Largest accepted request body, in bytes [default: the category's,
    /// 1 MiB unless it says otherwise].
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
    /// Close connections that take longer than this to send request headers
    /// (`0s` turns the timeout off).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// Most connections served at once; further clients wait in the backlog.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
    /// Log filter (`warn`, `info`, `server_kit=debug`, …); logs go to stderr.
    #[arg(long, default_value = "warn", env = "RUST_LOG")]
    pub log: String,
}

/// How a server spreads connections over its threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// A single-threaded runtime per thread; each connection stays on one.
    PerCore,
    /// One multi-threaded, work-stealing runtime.
    Shared,
}

/// Settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Request limits.
    pub limits: Limits,
    /// Header read timeout; zero turns it off.
    pub header_timeout: Duration,
    /// Connection cap.
    pub max_connections: usize,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// Value of the `Server` header.
    pub server_name: &'static str,
}

impl ServeArgs {
    /// The [`ServeOptions`] these flags describe.
    pub fn options(&self, server_name: &'static str) -> ServeOptions {
        ServeOptions {
            limits: Limits {
                max_body_bytes: self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            },
            header_timeout: self.header_timeout,
            max_connections: self.max_connections.max(1),
            shutdown_timeout: self.shutdown_timeout,
            server_name,
        }
    }
}

/// Runs a server built by `router` until SIGTERM/SIGINT: builds the runtime,
/// binds, prints `listening on http://ADDR` on stdout, serves, then drains.
/// A bind failure is one line on stderr and exit code 1.
pub fn run(
    server_name: &'static str,
    default_port: u16,
    args: &ServeArgs,
    router: impl FnOnce() -> Router,
) -> ExitCode {
    run_with(server_name, default_port, args, |_| (router(), async {}))
}

/// [`run`] for servers with state of their own: `make` is called inside
/// the runtime with the bound address and returns the router and a future
/// that runs once the server has stopped serving (a queue draining its
/// work, say), before the runtime ends.
pub fn run_with<F>(
    server_name: &'static str,
    default_port: u16,
    args: &ServeArgs,
    make: impl FnOnce(SocketAddr) -> (Router, F),
) -> ExitCode
where
    F: Future<Output = ()>,
{
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // Per core: this thread runs a small runtime of its own (accepting,
    // signals, whatever `make` starts — a task queue's workers) beside the
    // serving threads. Shared: one runtime does everything.
    let mut builder = match args.runtime {
        RuntimeKind::PerCore => tokio::runtime::Builder::new_current_thread(),
        RuntimeKind::Shared => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(threads);
            b
        }
    };
    if let Some(n) = args.blocking_threads {
        builder.max_blocking_threads(n.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{server_name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = SocketAddr::new(args.host, args.port.unwrap_or(default_port));
    let options = args.options(server_name);
    let (kind, blocking) = (args.runtime, args.blocking_threads);
    runtime.block_on(async move {
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{server_name}: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let bound = listener.local_addr().unwrap_or(addr);
        let (router, after) = make(bound);
        let stop = shutdown_signal();
        println!("listening on http://{bound}");
        match kind {
            RuntimeKind::Shared => serve(listener, router, options, stop).await,
            RuntimeKind::PerCore => {
                let app = App::new(router, &options);
                crate::workers::serve_per_core(listener, app, options, threads, blocking, stop)
                    .await;
            }
        }
        after.await;
        ExitCode::SUCCESS
    })
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

pub(crate) struct App {
    router: Router,
    limits: Arc<Limits>,
    server: HeaderValue,
}

impl App {
    pub(crate) fn new(router: Router, options: &ServeOptions) -> Arc<Self> {
        Arc::new(Self {
            router,
            limits: Arc::new(options.limits),
            server: HeaderValue::from_static(options.server_name),
        })
    }
}

async fn handle(
    app: Arc<App>,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response, Infallible> {
    let (parts, body) = req.into_parts();
    let req = Router::request(parts, body, app.limits.clone());
    let mut resp = AssertUnwindSafe(app.router.dispatch(req))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!("handler panicked");
            crate::error_response(&ApiError::internal("the handler failed"))
        });
    resp.headers_mut()
        .insert(header::SERVER, app.server.clone());
    Ok(resp)
}

/// The HTTP/1.1 settings of every connection: keep-alive, and the header
/// read timeout unless it is zero.
pub(crate) fn http1_settings(options: &ServeOptions) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.keep_alive(true);
    if !options.header_timeout.is_zero() {
        http.timer(TokioTimer::new())
            .header_read_timeout(options.header_timeout);
    }
    http
}

/// Serves one accepted connection on the current runtime; `permit` holds
/// its place under the connection cap until it ends.
pub(crate) fn serve_connection(
    app: &Arc<App>,
    http: &http1::Builder,
    graceful: &GracefulShutdown,
    stream: tokio::net::TcpStream,
    permit: OwnedSemaphorePermit,
) {
    let app = app.clone();
    let service = service_fn(move |req| handle(app.clone(), req));
    let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("connection ended with error: {e}");
        }
        drop(permit);
    });
}

/// Accepts connections under the connection cap until `shutdown`
/// resolves, handing each (with its permit) to `serve`; then drops the
/// listener.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()>,
    mut serve: impl FnMut(tokio::net::TcpStream, OwnedSemaphorePermit),
) {
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly
                    // instead of spinning on the error.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        serve(stream, permit);
    }
    drop(listener);
}

/// Lets in-flight requests finish within `grace`.
pub(crate) async fn drain(graceful: GracefulShutdown, grace: Duration) {
    tracing::info!("shutting down: draining in-flight requests");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {grace:?}; closing");
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting, lets in-flight requests finish within the grace period and
/// returns. Keep-alive is on; pipelining is not used by clients here. Every
/// connection runs on the current (multi-threaded) runtime.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let app = App::new(router, &options);
    let http = http1_settings(&options);
    let graceful = GracefulShutdown::new();
    accept_loop(listener, &options, shutdown, |stream, permit| {
        serve_connection(&app, &http, &graceful, stream, permit);
    })
    .await;
    drain(graceful, options.shutdown_timeout).await;
}
