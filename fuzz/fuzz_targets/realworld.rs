//! Orders, events, registrations and comments against the seeded store:
//! accepted, or refused with a 4xx (stock never goes negative) — never a
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::realworld::accounts::HashCost;
use shared::realworld::service::{Caller, Options, Service};
use shared::realworld::Config;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

fn service() -> &'static Arc<Service> {
    static S: OnceLock<Arc<Service>> = OnceLock::new();
    S.get_or_init(|| {
        let config = Config {
            hash_cost: HashCost::CHEAPEST,
            ..Config::default()
        };
        Service::seeded(&config, &Options::default()).expect("seeded")
    })
}

fuzz_target!(|data: &[u8]| {
    let s = service();
    let user = Caller::new(None, Some("7"), Some(IpAddr::from([127, 0, 0, 1])));
    let refused = |r: Result<Vec<u8>, shared::Error>| {
        if let Err(e) = r {
            assert!((400..500).contains(&e.status) || e.status == 503, "{e}");
        }
    };
    refused(s.place_order(&user, data));
    refused(s.track(data));
    refused(s.comment("1", &user, data));
    if let Ok(text) = std::str::from_utf8(data) {
        refused(s.product(text, &user));
        refused(s.order(text, &user));
        refused(s.post(text));
    }
});
