//! Task submissions (single and batch) through the request rules: a spec,
//! a 400 or a 422 — never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::api::parse_json;
use shared::tasks::{BatchRequest, TaskRequest};

fuzz_target!(|data: &[u8]| {
    match parse_json::<TaskRequest>(data) {
        Ok(r) => {
            let _ = r.validate();
        }
        Err(e) => assert!(matches!(e.status, 400 | 422), "{e}"),
    }
    match parse_json::<BatchRequest>(data) {
        Ok(r) => {
            let _ = r.validate();
        }
        Err(e) => assert!(matches!(e.status, 400 | 422), "{e}"),
    }
});
