//! HTTP plumbing shared by every benchmark server: a hyper 1.x connection
//! loop with limits and graceful shutdown, a method-and-path router with
//! typed parameters, request extraction with size limits, and the suite's
//! errors (`shared::api::Error`) written as responses. Category binaries
//! only wire routes to the `shared` crate through it.

mod body;
mod conn;
mod error;
mod middleware;
mod request;
mod response;
mod router;
mod server;
mod workers;

pub use body::{Body, BodyError};
pub use error::{error_response, ApiError};
pub use middleware::{Middleware, MiddlewareFuture, Next, Stack};
pub use request::{BodyStream, Limits, Req};
pub use response::{json, json_raw, json_status, stream, text, Response};
pub use router::{with_state, Handler, Router};
pub use server::{
    run, run_with, serve, shutdown_signal, RuntimeKind, ServeArgs, ServeOptions,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES,
};
pub use shared::api::{parse_json, Query, Valid};
pub use shared::gate::Gate;
