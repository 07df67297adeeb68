//! The validation category's endpoints for any server: each reads its model
//! from the body with the engine, counts the outcome, and answers with the
//! serialized JSON (the normalized model, per-item batch results, totals),
//! or an [`Error`] (400 unparseable, 422 with every failure).

use super::{
    parse, parse_batch, AdvancedUser, BatchReport, ComplexUser, Counter, CounterSnapshot,
    MegaBatch, Model, Order, Product, Rejection, SimpleUser,
};
use crate::api::{Error, Health, Valid};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// The invalid user the reference suite's error-handling endpoint builds
/// (id −1, username "a", email "invalid", age 200, height −1.0).
pub const INVALID_USER: &[u8] =
    br#"{"id":-1,"username":"a","email":"invalid","age":200,"height":-1.0}"#;

/// Default body limit of this category (payloads may carry 1 MB strings).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// An endpoint whose work is counted, in `/validation/stats` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /validate/simple-user`.
    SimpleUser,
    /// `POST /validate/advanced-user`.
    AdvancedUser,
    /// `POST /validate/complex-user`.
    ComplexUser,
    /// `POST /validate/product`.
    Product,
    /// `POST /validate/batch-users`.
    BatchUsers,
    /// `POST /validate/batch-products`.
    BatchProducts,
    /// `POST /validate/batch-orders`.
    BatchOrders,
    /// `POST /validate/mega-batch`.
    MegaBatch,
    /// `POST /validate/error-handling`.
    ErrorHandling,
}

const ENDPOINTS: [(Endpoint, &str); 9] = [
    (Endpoint::SimpleUser, "simple_user"),
    (Endpoint::AdvancedUser, "advanced_user"),
    (Endpoint::ComplexUser, "complex_user"),
    (Endpoint::Product, "product"),
    (Endpoint::BatchUsers, "batch_users"),
    (Endpoint::BatchProducts, "batch_products"),
    (Endpoint::BatchOrders, "batch_orders"),
    (Endpoint::MegaBatch, "mega_batch"),
    (Endpoint::ErrorHandling, "error_handling"),
];

/// The category's state: a counter per endpoint.
pub struct Service {
    started: Instant,
    counters: [Counter; ENDPOINTS.len()],
}

impl Default for Service {
    fn default() -> Self {
        Self::new()
    }
}

/// The exact sum, or `None` when a term or the sum leaves `Decimal`'s range.
fn checked_sum(terms: impl Iterator<Item = Option<Decimal>>) -> Option<Decimal> {
    terms
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, t| acc.checked_add(t?))
}

/// 422 naming `field`: a sum of the request does not fit in a decimal.
fn overflow(field: &str) -> Error {
    Error::invalid(field, "range", "the sum overflows the decimal range")
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::internal(format!("response serialization failed: {e}")))
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Malformed(message) => Self::bad_request("malformed_json", message),
            Rejection::Invalid(failure, total) => Self::validation(failure).with_total(total),
        }
    }
}

impl Service {
    /// Counters at zero.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            counters: Default::default(),
        }
    }

    fn counter(&self, endpoint: Endpoint) -> &Counter {
        let i = ENDPOINTS
            .iter()
            .position(|(e, _)| *e == endpoint)
            .unwrap_or(0);
        &self.counters[i]
    }

    /// One model from `body`, counted: the JSON answer.
    fn single<'j, M: Model<'j>>(
        &self,
        endpoint: Endpoint,
        key: &'static str,
        body: &'j [u8],
    ) -> Result<Vec<u8>, Error> {
        let counter = self.counter(endpoint);
        match parse::<M>(body) {
            Ok(value) => {
                counter.record(1, 0);
                to_json(&Valid(key, &value))
            }
            Err(e) => {
                counter.record(0, 1);
                Err(e.into())
            }
        }
    }

    /// `POST /validate/simple-user`.
    pub fn simple_user(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        self.single::<SimpleUser<'_>>(Endpoint::SimpleUser, "user", body)
    }

    /// `POST /validate/advanced-user`.
    pub fn advanced_user(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        self.single::<AdvancedUser<'_>>(Endpoint::AdvancedUser, "user", body)
    }

    /// `POST /validate/complex-user`.
    pub fn complex_user(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        self.single::<ComplexUser<'_>>(Endpoint::ComplexUser, "user", body)
    }

    /// `POST /validate/product`.
    pub fn product(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        self.single::<Product<'_>>(Endpoint::Product, "product", body)
    }

    /// `POST /validate/error-handling`: the posted (invalid) user is
    /// validated like any other, so the answer is the cost of rejecting.
    pub fn error_handling(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        self.single::<AdvancedUser<'_>>(Endpoint::ErrorHandling, "user", body)
    }

    /// `POST /validate/error-handling` with no body at all (see
    /// [`crate::api::is_bodiless`]), as the reference suite sends it: the
    /// user it builds, [`INVALID_USER`], is validated instead, so the
    /// answer is a 422 with its five failures.
    pub fn error_handling_sample(&self) -> Result<Vec<u8>, Error> {
        self.error_handling(INVALID_USER)
    }

    fn batch<'j, M: Model<'j>>(
        &self,
        endpoint: Endpoint,
        envelope: &'static str,
        body: &'j [u8],
    ) -> Result<BatchReport<M>, Error> {
        let report = parse_batch::<M>(body, envelope)?;
        self.counter(endpoint)
            .record(report.valid as u64, report.invalid as u64);
        Ok(report)
    }

    /// `POST /validate/batch-users`: per-item results.
    pub fn batch_users(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        to_json(&self.batch::<AdvancedUser<'_>>(Endpoint::BatchUsers, "users", body)?)
    }

    /// `POST /validate/batch-products`: per-item results.
    pub fn batch_products(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        to_json(&self.batch::<Product<'_>>(Endpoint::BatchProducts, "products", body)?)
    }

    /// `POST /validate/batch-orders`: per-item results and the exact sum of
    /// the valid orders' totals.
    pub fn batch_orders(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        #[derive(Serialize)]
        struct OrdersReport<'a, T> {
            #[serde(flatten)]
            report: &'a BatchReport<T>,
            #[serde(with = "rust_decimal::serde::str")]
            total_amount: Decimal,
        }
        let report = self.batch::<Order<'_>>(Endpoint::BatchOrders, "orders", body)?;
        let total_amount = checked_sum(report.items.iter().map(|o| Some(o.total_amount)))
            .ok_or_else(|| overflow("total_amount"))?;
        to_json(&OrdersReport {
            report: &report,
            total_amount,
        })
    }

    /// `POST /validate/mega-batch`: counts and exact totals.
    pub fn mega_batch(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        #[derive(Serialize)]
        struct MegaSummary<'a> {
            valid: bool,
            batch_id: &'a str,
            timestamp: &'a str,
            users: usize,
            products: usize,
            orders: usize,
            #[serde(with = "rust_decimal::serde::str")]
            order_total: Decimal,
            #[serde(with = "rust_decimal::serde::str")]
            inventory_value: Decimal,
        }
        let counter = self.counter(Endpoint::MegaBatch);
        let batch = parse::<MegaBatch<'_>>(body).inspect_err(|_| counter.record(0, 1))?;
        let order_total = checked_sum(batch.orders.iter().map(|o| Some(o.total_amount)));
        let inventory_value = checked_sum(
            batch
                .products
                .iter()
                .map(|p| p.price.checked_mul(Decimal::from(p.stock_quantity))),
        );
        let (Some(order_total), Some(inventory_value)) = (order_total, inventory_value) else {
            counter.record(0, 1);
            let field = if order_total.is_none() {
                "orders"
            } else {
                "products"
            };
            return Err(overflow(field));
        };
        counter.record(1, 0);
        to_json(&MegaSummary {
            valid: true,
            batch_id: &batch.batch_id,
            timestamp: &batch.timestamp,
            users: batch.users.len(),
            products: batch.products.len(),
            orders: batch.orders.len(),
            order_total,
            inventory_value,
        })
    }

    /// `GET /validation/stats`: requests, valid and invalid items per
    /// endpoint.
    pub fn stats(&self) -> impl Serialize {
        #[derive(Serialize)]
        struct Stats {
            uptime_seconds: u64,
            endpoints: BTreeMap<&'static str, CounterSnapshot>,
        }
        Stats {
            uptime_seconds: self.started.elapsed().as_secs(),
            endpoints: ENDPOINTS
                .iter()
                .zip(&self.counters)
                .map(|((_, name), c)| (*name, c.snapshot()))
                .collect(),
        }
    }

    /// `GET /health`.
    pub fn health(&self) -> Health {
        Health::new("validation", self.started)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_bodiless_error_handling_request_rejects_the_reference_sample() {
        let e = Service::new().error_handling_sample().unwrap_err();
        assert_eq!(e.status, 422);
        let v: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap();
        let fields: Vec<_> = v["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(fields, ["id", "username", "email", "age", "height"]);
    }

    #[test]
    fn a_flood_of_failures_gets_a_small_answer() {
        let body = format!(
            r#"{{"id":5,"username":"abc","email":"a@b.co","age":30,"height":1.8,"tags":[{}0]}}"#,
            "0,".repeat(1_000_000)
        );
        let e = Service::new().advanced_user(body.as_bytes()).unwrap_err();
        assert_eq!(e.status, 422);
        let json = e.to_json();
        assert!(json.len() < 20_000, "{} bytes", json.len());
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["truncated"], true);
        assert_eq!(v["total_errors"], 1_000_001);
        assert_eq!(v["details"].as_array().unwrap().len(), 100);
    }

    #[test]
    fn prices_past_the_maximum_are_refused_and_sums_never_panic() {
        // Two orders whose lines hold Decimal's largest value: their sum
        // used to overflow and panic (a 500). Prices now have a maximum, so
        // each line is refused by name, and the batch answers per item.
        let order = |id: u32| {
            format!(
                r#"{{"id":{id},"customer_id":1,"items":[{{"product_id":1,"quantity":1,"unit_price":"79228162514264337593543950335"}}],
                   "shipping_address":{{"street":"1 Main Street","city":"Town","state":"CA","zip_code":"12345"}},
                   "order_date":"2024-01-01T00:00:00Z","status":"pending"}}"#
            )
        };
        let body = format!("[{},{}]", order(1), order(2));
        let answer = Service::new().batch_orders(body.as_bytes()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(v["invalid"], 2);
        assert_eq!(v["errors"][0]["errors"][0]["field"], "items[0].unit_price");
        // Sums are checked all the same.
        assert_eq!(
            checked_sum([Some(Decimal::MAX), Some(Decimal::ONE)].into_iter()),
            None
        );
        assert_eq!(overflow("orders").status, 422);
    }
}
