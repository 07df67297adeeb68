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

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::internal(format!("response serialization failed: {e}")))
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Malformed(message) => Self::bad_request("malformed_json", message),
            Rejection::Invalid(failure) => Self::validation(failure),
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

    fn batch<'j, M: Model<'j>>(
        &self,
        endpoint: Endpoint,
        body: &'j [u8],
    ) -> Result<BatchReport<M>, Error> {
        let report = parse_batch::<M>(body)?;
        self.counter(endpoint)
            .record(report.valid as u64, report.invalid as u64);
        Ok(report)
    }

    /// `POST /validate/batch-users`: per-item results.
    pub fn batch_users(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        to_json(&self.batch::<AdvancedUser<'_>>(Endpoint::BatchUsers, body)?)
    }

    /// `POST /validate/batch-products`: per-item results.
    pub fn batch_products(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        to_json(&self.batch::<Product<'_>>(Endpoint::BatchProducts, body)?)
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
        let report = self.batch::<Order<'_>>(Endpoint::BatchOrders, body)?;
        let total_amount = report.items.iter().map(|o| o.total_amount).sum();
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
        counter.record(1, 0);
        to_json(&MegaSummary {
            valid: true,
            batch_id: &batch.batch_id,
            timestamp: &batch.timestamp,
            users: batch.users.len(),
            products: batch.products.len(),
            orders: batch.orders.len(),
            order_total: batch.orders.iter().map(|o| o.total_amount).sum(),
            inventory_value: batch
                .products
                .iter()
                .map(|p| p.price * Decimal::from(p.stock_quantity))
                .sum(),
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
