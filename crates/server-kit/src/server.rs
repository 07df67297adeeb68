//! The connection loop: flags, runtime, accept with a connection cap,
//! header-read timeout, `Server` header, panic containment and graceful
//! shutdown on SIGTERM/SIGINT.

use crate::conn::{ConnState, InFlight, TimedIo};
use crate::error::ApiError;
use crate::request::{request_timeout, Limits};
use crate::router::Router;
use futures_util::FutureExt;
use http::{header, HeaderValue, StatusCode};
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
    /// Fail a request body read (408) when no body bytes arrive for this
    /// long once the server reads it (`0s` turns it off).
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub body_idle_timeout: Duration,
    /// Fail a buffered request body (JSON and the like, at most
    /// `--max-body-bytes`) that takes longer than this in all (408; `0s`
    /// turns it off).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub body_timeout: Duration,
    /// Fail a streamed request body (uploads) that takes longer than this
    /// in all (408; `0s` turns it off).
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub upload_timeout: Duration,
    /// Close a connection whose peer has read nothing of the response for
    /// this long (`0s` turns it off).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub write_timeout: Duration,
    /// Close a keep-alive connection with no request in flight that has
    /// received nothing for this long (`0s` turns it off).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub keep_alive_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; a larger
    /// one gets 431 (at least 8 KiB).
    #[arg(long, default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,
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
    /// Longest time the peer may read nothing of a response being written
    /// before the connection is closed; zero turns it off.
    pub write_timeout: Duration,
    /// Longest time a connection with no request in flight may receive
    /// nothing before it is closed; zero turns it off.
    pub keep_alive_timeout: Duration,
    /// Largest request head in bytes (431 beyond; at least 8 KiB).
    pub max_header_bytes: usize,
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
                body_idle_timeout: self.body_idle_timeout,
                body_timeout: self.body_timeout,
                upload_timeout: self.upload_timeout,
            },
            header_timeout: self.header_timeout,
            write_timeout: self.write_timeout,
            keep_alive_timeout: self.keep_alive_timeout,
            max_header_bytes: self.max_header_bytes,
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
    raise_open_files_limit(args.max_connections);
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
    let (code, forced) = runtime.block_on(async move {
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{server_name}: cannot listen on {addr}: {e}");
                return (ExitCode::FAILURE, false);
            }
        };
        let bound = listener.local_addr().unwrap_or(addr);
        let (router, after) = make(bound);
        let (stop, again) = stop_signals();
        println!("listening on http://{bound}");
        let serving = async move {
            match kind {
                RuntimeKind::Shared => serve(listener, router, options, stop).await,
                RuntimeKind::PerCore => {
                    let app = App::new(router, &options);
                    crate::workers::serve_per_core(listener, app, options, threads, blocking, stop)
                        .await;
                }
            }
            after.await;
        };
        tokio::select! {
            () = serving => (ExitCode::SUCCESS, false),
            signal = again => {
                tracing::warn!(
                    "second {} during shutdown: stopping now, in-flight requests are cut",
                    signal.name()
                );
                (ExitCode::from(signal.exit_status()), true)
            }
        }
    });
    if forced {
        // Do not wait for blocking jobs (file system, processing) either.
        runtime.shutdown_background();
    }
    code
}

/// A stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopSignal {
    Term,
    Int,
}

impl StopSignal {
    fn name(self) -> &'static str {
        match self {
            Self::Term => "SIGTERM",
            Self::Int => "SIGINT",
        }
    }

    /// The shell's status of a process killed by it: 128 + its number
    /// (143 for SIGTERM, 130 for SIGINT).
    fn exit_status(self) -> u8 {
        match self {
            Self::Term => 128 + 15,
            Self::Int => 128 + 2,
        }
    }
}

/// SIGTERM/SIGINT in two steps: the first future resolves on the first
/// signal (stop accepting, drain), the second on the next one (stop now).
/// The handlers are installed when this is called, so a signal sent right
/// after `listening on` is printed is not missed; once installed they
/// replace the default action for good, so the second signal must be
/// acted on here or it would be ignored.
fn stop_signals() -> (impl Future<Output = ()>, impl Future<Output = StopSignal>) {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn next(term: &mut Signal, int: &mut Signal) -> StopSignal {
        tokio::select! {
            _ = term.recv() => StopSignal::Term,
            _ = int.recv() => StopSignal::Int,
        }
    }
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
    let (second_tx, second_rx) = tokio::sync::oneshot::channel::<StopSignal>();
    tokio::spawn(async move {
        if let (Ok(mut term), Ok(mut int)) = (term, int) {
            next(&mut term, &mut int).await;
            let _ = first_tx.send(());
            let _ = second_tx.send(next(&mut term, &mut int).await);
        } else {
            let _ = tokio::signal::ctrl_c().await;
            let _ = first_tx.send(());
            let _ = tokio::signal::ctrl_c().await;
            let _ = second_tx.send(StopSignal::Int);
        }
    });
    let first = async move {
        let _ = first_rx.await;
    };
    let second = async move {
        match second_rx.await {
            Ok(signal) => signal,
            Err(_) => std::future::pending().await,
        }
    };
    (first, second)
}

/// File descriptors the server needs besides its connections: listener,
/// epoll and wake-up descriptors, standard streams, files served or being
/// written, journals.
const FD_MARGIN: u64 = 256;

/// Raises the soft limit on open files (`RLIMIT_NOFILE`, often 1024) to
/// the hard limit so `--max-connections` can be reached, and warns when
/// even that stays below `max_connections` + [`FD_MARGIN`]: past it,
/// `accept` fails with "too many open files" and clients wait.
fn raise_open_files_limit(max_connections: usize) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!("cannot read the open-file limit: {e}");
            return;
        }
    };
    // An unlimited hard limit still has the kernel's ceiling on a soft one.
    let target = if hard == RLIM_INFINITY {
        std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1 << 20)
    } else {
        hard
    };
    let mut limit = soft;
    if soft < target {
        match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
            Ok(()) => {
                tracing::info!("open-file limit raised from {soft} to {target}");
                limit = target;
            }
            Err(e) => {
                tracing::warn!("cannot raise the open-file limit from {soft} to {target}: {e}")
            }
        }
    }
    let wanted = (max_connections as u64).saturating_add(FD_MARGIN);
    if limit < wanted {
        tracing::warn!(
            "the open-file limit is {limit} (hard limit {}), below --max-connections {max_connections} + {FD_MARGIN}: \
             past about {} connections accepts fail and clients wait; raise the hard limit \
             (ulimit -Hn, LimitNOFILE=) or lower --max-connections",
            if hard == RLIM_INFINITY { "unlimited".to_owned() } else { hard.to_string() },
            limit.saturating_sub(FD_MARGIN),
        );
    }
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C). The handlers are
/// installed when this is called, not when it is first polled, so a signal
/// sent right after `listening on` is printed is not missed. ([`run`]
/// does more: a second signal during the drain stops at once.) Call it
/// inside a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    stop_signals().0
}

pub(crate) struct App {
    router: Router,
    limits: Arc<Limits>,
    server: HeaderValue,
    keep_alive_timeout: Duration,
    write_timeout: Duration,
}

impl App {
    pub(crate) fn new(router: Router, options: &ServeOptions) -> Arc<Self> {
        Arc::new(Self {
            router,
            limits: Arc::new(options.limits),
            server: HeaderValue::from_static(options.server_name),
            keep_alive_timeout: options.keep_alive_timeout,
            write_timeout: options.write_timeout,
        })
    }
}

async fn handle(
    app: Arc<App>,
    conn: Arc<ConnState>,
    client: Option<SocketAddr>,
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Tracked>, Infallible> {
    // In flight (for the keep-alive deadline) until the response body is done.
    let in_flight = conn.enter();
    let (parts, body) = req.into_parts();
    let has_body = !http_body::Body::is_end_stream(&body);
    let mut req = Router::request(parts, body, app.limits.clone()).with_client(client);
    if has_body {
        // A late report of an earlier body (one read after its response)
        // must not turn this request into a 408.
        conn.take_body_timeout();
        req = req.with_conn(conn.clone());
    }
    let mut resp = AssertUnwindSafe(app.router.dispatch(req))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!("handler panicked");
            crate::error_response(&ApiError::internal("the handler failed"))
        });
    if let Some(why) = has_body.then(|| conn.take_body_timeout()).flatten() {
        // The body did not arrive in time: whatever the handler made of the
        // failed read (an upload's service calls it a broken body), the
        // answer is a 408, and the connection closes after it.
        if resp.status() != StatusCode::REQUEST_TIMEOUT {
            resp = crate::error_response(&request_timeout(why));
        }
    }
    resp.headers_mut()
        .insert(header::SERVER, app.server.clone());
    Ok(resp.map(|body| Tracked {
        body,
        _in_flight: in_flight,
    }))
}

/// A response body that keeps its request counted in flight until hyper
/// has taken all of it (or dropped it).
pub(crate) struct Tracked {
    body: crate::Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = crate::BodyError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Default of `--max-header-bytes`: far above any legitimate head (browsers
/// send 1–2 KiB; common proxies cap at 8–64 KiB).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// The smallest head cap hyper accepts.
const MIN_HEADER_BYTES: usize = 8 * 1024;

/// The HTTP/1.1 settings of every connection: keep-alive, and the header
/// read timeout unless it is zero.
pub(crate) fn http1_settings(options: &ServeOptions) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.keep_alive(true)
        // hyper's read buffer holds the head being parsed: its cap is the
        // head limit (hyper refuses caps under 8 KiB).
        .max_buf_size(options.max_header_bytes.max(MIN_HEADER_BYTES));
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
    let client = stream.peer_addr().ok();
    let state = Arc::new(ConnState::default());
    let io = TimedIo::new(
        stream,
        state.clone(),
        app.keep_alive_timeout,
        app.write_timeout,
    );
    let service = service_fn(move |req| handle(app.clone(), state.clone(), client, req));
    let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service));
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
