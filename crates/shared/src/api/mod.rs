//! The contract's request and error rules, with no HTTP types: what every
//! server of the suite — hyper, axum, actix-web, or any other — answers the
//! same way.
//!
//! - [`Error`]: an error answer as data (a numeric status, a stable code, a
//!   message, the failing fields, and the headers its status calls for);
//!   every domain error converts into it with `From`, so a framework only
//!   turns it into its own response.
//! - [`parse_json`]: a request body read as JSON: unparseable is 400
//!   `malformed_json`, well-formed but of the wrong shape 422 naming the
//!   field; [`require_json`] refuses other media types with 415.
//! - [`Query`] and [`path_param`]: typed query and path parameters, 400
//!   (`invalid_query`, `invalid_path_param`) when a value does not parse.
//! - [`Valid`]: the `{"valid": true, "<key>": …}` envelope; [`Health`]: the
//!   liveness answer.
//! - `drain` (with the `runtime` feature): what is left of a refused body
//!   is read and dropped, within bounds, so the client reads the refusal.

#[cfg(feature = "runtime")]
mod drain;
mod envelope;
mod error;
mod health;
mod json;
mod query;

/// The largest request body a category accepts unless it says otherwise
/// (1 MiB; validation takes 2 MiB, uploads their own limits).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

#[cfg(feature = "runtime")]
pub use drain::{drain, DRAIN_FACTOR, DRAIN_TIME};
pub use envelope::Valid;
pub use error::{Error, ErrorBody};
pub use health::Health;
pub use json::{check_declared_length, is_bodiless, is_json, parse_json, require_json};
pub use query::{kind_of, path_param, Query};
