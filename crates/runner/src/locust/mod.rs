//! Handing the contract's workload to Locust, a distributed load engine:
//! `export` writes a locustfile from a category's contract, `import` turns
//! Locust's CSV statistics into a results file.

pub mod export;
pub mod import;
