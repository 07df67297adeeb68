//! The contract loader on any text, and request preparation of every
//! request of what loads: an error or a request — never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = contract::parse(text, std::path::Path::new("/nonexistent-fixtures")) else {
        return;
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for e in &c.endpoints {
        let _ = contract::prepare(
            &e.method,
            &e.path,
            &e.request,
            &Default::default(),
            &mut rng,
        );
    }
    for n in &c.negative_cases {
        let _ = contract::prepare(
            &n.method,
            &n.path,
            &n.request,
            &Default::default(),
            &mut rng,
        );
    }
});
