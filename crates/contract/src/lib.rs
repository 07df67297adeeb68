//! The suite's language-neutral endpoint contracts (`shared-endpoints/*.json`)
//! and a verifier that checks any live server against one: every endpoint,
//! negative case and flow, plus TechEmpower-style header checks.

pub mod async_checks;
pub mod db_checks;
pub mod hostile;
pub mod html;
mod jsonpath;
mod load;
mod matcher;
pub mod middleware_checks;
mod model;
pub mod postgres;
mod prepare;
pub mod process;
mod random;
mod raw;
mod report;
mod verify;

pub use jsonpath::lookup;
pub use load::{contracts_dir, load, load_from, load_in, parse, CATEGORIES};
pub use matcher::{Matcher, Mismatch};
pub use model::{
    Case, CaseLoad, Contract, CsvExpect, Endpoint, Expect, Flow, GeneratedBody, HeldCount,
    LoadDefaults, MixEntry, Part, Poll, Preload, RandomKind, RandomSpec, RequestSpec, Scenario,
    Statements, Step,
};
pub use prepare::{prepare, Prepared, Vars};
pub use report::{Check, CheckKind, Report};
pub use verify::{verify, CheckId, ClientError, Failure, Session, VerifyOptions};
