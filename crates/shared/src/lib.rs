//! The domain half of the benchmark suite: models, validation and the
//! deterministic data every server serves. It has no HTTP types, so any
//! server (hyper, axum, actix-web, …) can embed it and do exactly the work
//! the contract asks for: [`api`] holds the contract's request and error
//! rules, and each domain (one Cargo feature each: `basic`, `validation`,
//! `files`, `tasks`, `realworld`, all on by default; `db`, off by default
//! since it compiles SQLite) its models, stores and
//! the endpoint-level operations a server wires to its routes.
//!
//! # What blocks
//!
//! Most calls are quick, in-memory work under short locks. These block the
//! calling thread and belong off an async reactor (a blocking pool, or the
//! [`gate`]): file commits and processing (`files::Store::commit_all`,
//! `files::process`), opening the task queue's journal
//! (`tasks::Journal::open`; its syncs run on a thread of its own and are
//! awaited), and password hashing
//! (`realworld::accounts::Accounts::register`/`login`). The endpoint-level
//! services in each domain already hand these off themselves, so their
//! `async` functions are safe to await on any Tokio runtime.

pub mod api;
#[cfg(feature = "asyncops")]
pub mod asyncops;
#[cfg(feature = "basic")]
pub mod basic;
#[cfg(feature = "db")]
pub mod db;
pub mod field_error;
#[cfg(feature = "files")]
pub mod files;
#[cfg(feature = "runtime")]
pub mod gate;
pub mod hex;
#[cfg(feature = "middleware")]
pub mod middleware;
pub mod mix;
#[cfg(feature = "realworld")]
pub mod realworld;
pub mod sync;
#[cfg(feature = "tasks")]
pub mod tasks;
#[cfg(feature = "validation")]
pub mod validation;

pub use api::Error;
pub use field_error::{FieldError, ValidationFailure};
