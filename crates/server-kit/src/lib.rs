//! HTTP plumbing shared by every benchmark server: a hyper 1.x connection
//! loop with limits and graceful shutdown, a method-and-path router with
//! typed parameters, request extraction with size limits, and the suite's
//! JSON error mapping. Category binaries only wire routes to the `shared`
//! crate through it.

mod body;
mod error;
mod gate;
mod query;
mod request;
mod response;
mod router;
mod server;

pub use body::{Body, BodyError};
pub use error::ApiError;
pub use gate::Gate;
pub use query::Query;
pub use request::{parse_json, BodyStream, Limits, Req};
pub use response::{json, json_status, stream, text, Response, Valid};
pub use router::{with_state, Handler, Router};
pub use server::{
    run, run_with, serve, shutdown_signal, ServeArgs, ServeOptions, DEFAULT_MAX_BODY_BYTES,
};
