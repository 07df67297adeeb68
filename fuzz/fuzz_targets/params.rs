//! Query strings and path parameters through every category's rules: a
//! value, a 400 or a 422 (or the 404 of an unknown id) — never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::api::{path_param, Query};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let q = Query::parse(Some(text));
    let check = |r: Result<(), shared::Error>| {
        if let Err(e) = r {
            assert!(matches!(e.status, 400 | 404 | 422), "{e}");
        }
    };
    check(q.get::<u64>("limit").map(|_| ()));
    check(q.get::<i128>("page").map(|_| ()));
    check(q.get::<bool>("as_attachment").map(|_| ()));
    check(shared::basic::PageParams::from_query(&q).map(|_| ()));
    check(shared::basic::SearchParams::from_query(&q).map(|_| ()));
    check(shared::basic::api::stream_count(&q).map(|_| ()));
    check(shared::tasks::service::ListParams::from_query(&q).map(|_| ()));
    check(shared::realworld::service::params::product_query(&q).map(|_| ()));
    check(shared::realworld::service::params::post_query(&q).map(|_| ()));
    check(shared::realworld::service::params::dashboard_range(&q).map(|_| ()));
    check(
        shared::files::Operation::parse(q.str("operation"), q.str("params"))
            .map(|_| ())
            .map_err(Into::into),
    );
    check(shared::basic::api::user_id(text).map(|_| ()));
    check(path_param::<u32>("id", text).map(|_| ()));
});
