//! The validation engine: models of the validation category read straight
//! from JSON text, with every failing field reported (path, code, message),
//! exact decimals and RFC 3339 date-times. No HTTP types.

pub mod cases;
mod engine;
pub mod fixtures;
mod members;
mod models;
pub mod patterns;
mod reader;
mod scan;
pub mod service;
mod stats;

pub use engine::{parse, parse_batch, BatchReport, ItemErrors, Rejection, MAX_BATCH};
pub use members::Members;
pub use models::{
    Address, AdvancedUser, ComplexUser, MegaBatch, Model, Order, OrderItem, Preference, Product,
    RawJson, SimpleUser,
};
pub use reader::{opt, Checker, Reader, Slot, Stop, MAX_RECORDED_ERRORS, R};
pub use scan::Kind;
pub use service::Service;
pub use stats::{Counter, CounterSnapshot};
