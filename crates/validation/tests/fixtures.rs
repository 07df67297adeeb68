//! The checked-in fixtures are exactly what the seeded generator writes.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::Path;

#[test]
fn checked_in_fixtures_match_the_generator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared-endpoints/fixtures");
    for (name, contents) in shared::validation::fixtures::all() {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
            panic!("{name}: {e} (run `cargo run -p validation --bin gen-fixtures`)")
        });
        assert!(
            on_disk == contents,
            "{name} differs from the generator: run `cargo run -p validation --bin gen-fixtures`"
        );
    }
}

#[test]
fn fixtures_have_the_documented_sizes() {
    let files = shared::validation::fixtures::all();
    let len = |name: &str| {
        let (_, text) = files.iter().find(|(n, _)| *n == name).unwrap();
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v
    };
    assert_eq!(len("users_10.json").as_array().unwrap().len(), 10);
    assert_eq!(len("users_100.json").as_array().unwrap().len(), 100);
    assert_eq!(len("products_100.json").as_array().unwrap().len(), 100);
    assert_eq!(len("orders_50.json").as_array().unwrap().len(), 50);
    let mega = len("mega_batch.json");
    assert_eq!(mega["users"].as_array().unwrap().len(), 50);
    assert_eq!(mega["products"].as_array().unwrap().len(), 50);
    assert_eq!(mega["orders"].as_array().unwrap().len(), 25);
}
