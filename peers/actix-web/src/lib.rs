//! The suite's contracts in actix-web 4, embedding the `shared` crate: every
//! rule (models, validation, stores, errors) lives there, and this crate
//! only wires it into actix-web's own idiom — `HttpServer::new(|| App::new()
//! …)` with one worker per core, `web::Data` for each category's service,
//! extractors (`web::Path`, `HttpRequest`, `web::Payload` and the
//! [`common::JsonBody`] extractor), [`error::ApiError`] as the
//! `ResponseError`, `middleware::DefaultHeaders` for `Server`, and
//! `default_service` for the JSON 404 and 405s.

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

use actix_web::{http::header, web, App, HttpServer};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "actix-web";

/// How long a client may take to send a request head, and how long an idle
/// keep-alive connection is kept: the reference's `--header-timeout`.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Grace period for in-flight requests after SIGTERM/SIGINT, in seconds:
/// the reference's `--shutdown-timeout`.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Binds `addr`, calls `routes` with the bound address (port 0 picks a free
/// one), prints `listening on http://ADDR` and serves the routes on
/// `workers` actix workers until SIGTERM or SIGINT; then stops accepting,
/// lets in-flight requests finish and returns.
///
/// The listener is Tokio's (`SO_REUSEADDR`, a backlog of 1024, like the
/// reference's and actix's own `bind`), bound before the app exists so a
/// category can learn its own address (the task queue calls itself).
pub fn serve<R, F>(addr: SocketAddr, workers: usize, routes: R) -> io::Result<()>
where
    R: FnOnce(SocketAddr) -> F,
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    actix_web::rt::System::new().block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr()?;
        let routes = routes(bound);
        let stop = shutdown_signal()?;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(
                    actix_web::middleware::DefaultHeaders::new().add((header::SERVER, SERVER_NAME)),
                )
                .app_data(common::path_config())
                .configure(routes.clone())
                .default_service(web::to(common::not_found))
        })
        .workers(workers.max(1))
        .tcp_nodelay(true)
        .client_request_timeout(HEADER_TIMEOUT)
        .keep_alive(HEADER_TIMEOUT)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .shutdown_signal(stop)
        .listen(listener.into_std()?)?
        .run();
        println!("listening on http://{bound}");
        server.await
    })
}

/// Resolves on the first SIGTERM or SIGINT. actix-server's own handlers
/// treat SIGINT as a forced stop; here both are graceful, like the
/// reference. The handlers are installed now, before the server announces
/// itself, so an early signal cannot kill the process.
fn shutdown_signal() -> io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}
