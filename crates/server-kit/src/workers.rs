//! Thread-per-core serving: one acceptor hands each connection, round
//! robin, to a worker thread that runs its own single-threaded runtime and
//! serves the connection there for its whole life. No work stealing, no
//! cross-thread wake-ups on the request path; blocking work still goes to
//! each runtime's blocking pool.

use crate::server::{accept_loop, http1_settings, serve_connection, App, ServeOptions};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};

/// A connection handed to a worker, with its place under the cap.
type Handed = (std::net::TcpStream, OwnedSemaphorePermit);

/// A worker thread and the channel that feeds it connections.
struct Worker {
    feed: mpsc::UnboundedSender<Handed>,
    thread: JoinHandle<()>,
}

fn spawn_worker(
    index: usize,
    app: Arc<App>,
    options: ServeOptions,
    stop: watch::Receiver<bool>,
    blocking_threads: Option<usize>,
) -> std::io::Result<Worker> {
    let (feed, mut connections) = mpsc::unbounded_channel::<Handed>();
    let mut builder = tokio::runtime::Builder::new_current_thread();
    if let Some(n) = blocking_threads {
        builder.max_blocking_threads(n.max(1));
    }
    let runtime = builder.enable_all().build()?;
    let thread = std::thread::Builder::new()
        .name(format!("http-{index}"))
        .spawn(move || {
            runtime.block_on(async move {
                let graceful = hyper_util::server::graceful::GracefulShutdown::new();
                let http = http1_settings(&options);
                let mut stop = stop;
                loop {
                    tokio::select! {
                        biased;
                        _ = stop.changed() => break,
                        next = connections.recv() => match next {
                            Some((std, permit)) => match tokio::net::TcpStream::from_std(std) {
                                Ok(stream) => serve_connection(&app, &http, &graceful, stream, permit),
                                Err(e) => tracing::warn!("cannot adopt a connection: {e}"),
                            },
                            None => break,
                        },
                    }
                }
                crate::server::drain(graceful, options.shutdown_timeout).await;
            });
        })?;
    Ok(Worker { feed, thread })
}

/// Serves on `threads` worker threads until `shutdown` resolves; accepts
/// on the calling runtime, then lets in-flight requests finish within the
/// grace period and joins the workers.
pub(crate) async fn serve_per_core(
    listener: TcpListener,
    app: Arc<App>,
    options: ServeOptions,
    threads: usize,
    blocking_threads: Option<usize>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = Vec::new();
    for i in 0..threads.max(1) {
        match spawn_worker(
            i,
            app.clone(),
            options.clone(),
            stop_rx.clone(),
            blocking_threads,
        ) {
            Ok(w) => workers.push(w),
            Err(e) => tracing::error!("cannot start worker thread {i}: {e}"),
        }
    }
    if workers.is_empty() {
        return;
    }
    let feeds: Vec<_> = workers.iter().map(|w| w.feed.clone()).collect();
    let mut next = 0usize;
    accept_loop(listener, &options, shutdown, |stream, permit| {
        // Hand it over: the worker registers it with its own reactor.
        let std = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot hand a connection over: {e}");
                return;
            }
        };
        let _ = feeds[next % feeds.len()].send((std, permit));
        next = next.wrapping_add(1);
    })
    .await;
    let _ = stop_tx.send(true);
    drop(feeds);
    let threads: Vec<JoinHandle<()>> = workers
        .into_iter()
        .map(|w| {
            drop(w.feed);
            w.thread
        })
        .collect();
    let _ = tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    })
    .await;
}
