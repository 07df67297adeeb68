//! The domain half of the benchmark suite: models, validation and the
//! deterministic data every server serves. It has no HTTP types, so any
//! server (hyper, axum, actix-web, …) can embed it and do exactly the work
//! the contract asks for.

pub mod basic;
pub mod field_error;
pub mod files;
pub mod mix;
pub mod realworld;
pub mod sync;
pub mod tasks;
pub mod validation;

pub use field_error::{FieldError, ValidationFailure};
