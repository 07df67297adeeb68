//! The validation engine on every model, single and batch: any bytes give a
//! model, a 400 or a 422 — never a panic — and what is accepted serializes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::validation::Service;

/// One validation endpoint: the body in, the answer's JSON or an error out.
type Endpoint = fn(&Service, &[u8]) -> Result<Vec<u8>, shared::Error>;

fuzz_target!(|data: &[u8]| {
    let s = Service::new();
    let endpoints: [Endpoint; 9] = [
        Service::simple_user,
        Service::advanced_user,
        Service::complex_user,
        Service::product,
        Service::error_handling,
        Service::batch_users,
        Service::batch_products,
        Service::batch_orders,
        Service::mega_batch,
    ];
    for endpoint in endpoints {
        match endpoint(&s, data) {
            Ok(json) => {
                serde_json::from_slice::<serde_json::Value>(&json).expect("answers are JSON");
            }
            Err(e) => {
                assert!(matches!(e.status, 400 | 422), "{e}");
                assert!(e.details.len() <= shared::validation::MAX_RECORDED_ERRORS);
                let _ = e.to_json();
            }
        }
    }
});
