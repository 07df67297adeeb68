//! The measured cases: which fixture, which model, how many items per call.
//! The criterion bench, the instruction counter and the pydantic/msgspec
//! comparison (`scripts/compare_pydantic.sh`) all run this table.

use super::{
    parse, parse_batch, AdvancedUser, ComplexUser, MegaBatch, Order, Product, Rejection, SimpleUser,
};

/// One measured case.
pub struct Case {
    /// Its name in the bench and the comparison table.
    pub name: &'static str,
    /// File under `shared-endpoints/fixtures/`.
    pub fixture: &'static str,
    /// Items validated per call.
    pub items: u64,
    /// Validates the bytes; whether the outcome is the expected one (broken
    /// JSON never is).
    pub run: fn(&[u8]) -> bool,
}

/// Every case, in the order of the comparison table.
pub const CASES: &[Case] = &[
    Case {
        name: "simple_user",
        fixture: "simple_user.json",
        items: 1,
        run: |b| parse::<SimpleUser>(b).is_ok(),
    },
    Case {
        name: "advanced_user",
        fixture: "advanced_user.json",
        items: 1,
        run: |b| parse::<AdvancedUser>(b).is_ok(),
    },
    Case {
        name: "complex_user",
        fixture: "complex_user.json",
        items: 1,
        run: |b| parse::<ComplexUser>(b).is_ok(),
    },
    Case {
        name: "product",
        fixture: "product.json",
        items: 1,
        run: |b| parse::<Product>(b).is_ok(),
    },
    Case {
        name: "invalid_user",
        fixture: "invalid_user.json",
        items: 1,
        run: |b| matches!(parse::<AdvancedUser>(b), Err(Rejection::Invalid(..))),
    },
    Case {
        name: "users_100",
        fixture: "users_100.json",
        items: 100,
        run: |b| parse_batch::<AdvancedUser>(b, "users").is_ok_and(|r| r.invalid == 0),
    },
    Case {
        name: "products_100",
        fixture: "products_100.json",
        items: 100,
        run: |b| parse_batch::<Product>(b, "products").is_ok_and(|r| r.invalid == 0),
    },
    Case {
        name: "orders_50",
        fixture: "orders_50.json",
        items: 50,
        run: |b| parse_batch::<Order>(b, "orders").is_ok_and(|r| r.invalid == 0),
    },
    Case {
        name: "mega_batch",
        fixture: "mega_batch.json",
        items: 125,
        run: |b| parse::<MegaBatch>(b).is_ok(),
    },
];

/// The case called `name`.
pub fn case(name: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_gives_its_expected_outcome_on_its_fixture() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared-endpoints/fixtures");
        for case in CASES {
            let bytes = std::fs::read(dir.join(case.fixture)).unwrap();
            assert!((case.run)(&bytes), "{}", case.name);
            assert!(!(case.run)(b"{"), "{} on broken JSON", case.name);
        }
    }
}
