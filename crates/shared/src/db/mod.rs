//! The `database` category's domain: the seeded rows every engine holds, the
//! models and their rules, the engines (embedded SQLite, PostgreSQL as a
//! server), and the
//! endpoint-level [`service::Service`] a server wires to its routes.
//!
//! No HTTP types: an embedder calls the service's methods with what a
//! request carries and sends what they give back. Every query is
//! parameterized; no value a client sends is ever part of SQL text.

pub mod database;
pub mod error;
pub mod fortunes;
pub mod model;
pub mod params;
pub mod postgres;
pub mod schema;
pub mod seed;
pub mod service;
pub mod sqlite;

pub use database::{Database, Location};
pub use error::DbError;
pub use service::{Options, Service};
