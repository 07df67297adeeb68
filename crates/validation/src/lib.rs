//! Routes of the `validation` category: each endpoint reads its model with
//! the shared validation engine, counts the outcome, and answers with the
//! normalized model, per-item batch results, or a 422 listing every failure.

use rust_decimal::Decimal;
use serde::Serialize;
use server_kit::{json, with_state, ApiError, Req, Response, Router, Valid};
use shared::validation::{
    parse, parse_batch, AdvancedUser, BatchReport, ComplexUser, Counter, CounterSnapshot,
    MegaBatch, Model, Order, Product, SimpleUser,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8100;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// Default body limit of this category (payloads may carry 1 MB strings).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The endpoints whose work is counted, in `/validation/stats` order.
const ENDPOINTS: [&str; 9] = [
    "simple_user",
    "advanced_user",
    "complex_user",
    "product",
    "batch_users",
    "batch_products",
    "batch_orders",
    "mega_batch",
    "error_handling",
];

/// Shared state: counters per endpoint.
struct State {
    started: Instant,
    counters: [Counter; ENDPOINTS.len()],
}

impl State {
    fn counter(&self, endpoint: &str) -> &Counter {
        let i = ENDPOINTS.iter().position(|e| *e == endpoint).unwrap_or(0);
        &self.counters[i]
    }
}

/// Names a model type for every borrow of the request body.
trait Family: Send + Sync + 'static {
    type Of<'a>: Model<'a>;
}

macro_rules! families {
    ($($family:ident => $model:ident),* $(,)?) => {$(
        struct $family;
        impl Family for $family {
            type Of<'a> = $model<'a>;
        }
    )*};
}

families!(
    SimpleUsers => SimpleUser,
    AdvancedUsers => AdvancedUser,
    ComplexUsers => ComplexUser,
    Products => Product,
);

/// A single-model endpoint: 200 with the normalized model, or 400/422.
async fn single<F: Family>(
    state: Arc<State>,
    endpoint: &'static str,
    key: &'static str,
    req: Req,
) -> Result<Response, ApiError> {
    let body = req.json_bytes().await?;
    let counter = state.counter(endpoint);
    let parsed = parse::<F::Of<'_>>(&body);
    let response = match parsed {
        Ok(value) => {
            counter.record(1, 0);
            json(&Valid(key, &value))
        }
        Err(e) => {
            counter.record(0, 1);
            Err(e.into())
        }
    };
    response
}

#[derive(Serialize)]
struct OrdersReport<'a, T> {
    #[serde(flatten)]
    report: &'a BatchReport<T>,
    #[serde(with = "rust_decimal::serde::str")]
    total_amount: Decimal,
}

async fn batch<F: Family>(
    state: Arc<State>,
    endpoint: &'static str,
    req: Req,
) -> Result<Response, ApiError> {
    let body = req.json_bytes().await?;
    let report = parse_batch::<F::Of<'_>>(&body)?;
    state
        .counter(endpoint)
        .record(report.valid as u64, report.invalid as u64);
    json(&report)
}

async fn batch_orders(state: Arc<State>, req: Req) -> Result<Response, ApiError> {
    let body = req.json_bytes().await?;
    let report = parse_batch::<Order<'_>>(&body)?;
    state
        .counter("batch_orders")
        .record(report.valid as u64, report.invalid as u64);
    let total_amount = report.items.iter().map(|o| o.total_amount).sum();
    json(&OrdersReport {
        report: &report,
        total_amount,
    })
}

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

async fn mega_batch(state: Arc<State>, req: Req) -> Result<Response, ApiError> {
    let body = req.json_bytes().await?;
    let counter = state.counter("mega_batch");
    let batch = parse::<MegaBatch<'_>>(&body).inspect_err(|_| counter.record(0, 1))?;
    counter.record(1, 0);
    json(&MegaSummary {
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

#[derive(Serialize)]
struct Stats {
    uptime_seconds: u64,
    endpoints: BTreeMap<&'static str, CounterSnapshot>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    category: &'static str,
    uptime_seconds: u64,
}

async fn health(state: Arc<State>) -> Result<Response, ApiError> {
    json(&Health {
        status: "ok",
        category: "validation",
        uptime_seconds: state.started.elapsed().as_secs(),
    })
}

async fn stats(state: Arc<State>) -> Result<Response, ApiError> {
    json(&Stats {
        uptime_seconds: state.started.elapsed().as_secs(),
        endpoints: ENDPOINTS
            .iter()
            .zip(&state.counters)
            .map(|(name, c)| (*name, c.snapshot()))
            .collect(),
    })
}

/// The route table of the category.
pub fn router() -> Router {
    let st = Arc::new(State {
        started: Instant::now(),
        counters: Default::default(),
    });
    Router::new()
        .get("/health", with_state(&st, |st, _| health(st)))
        .post(
            "/validate/simple-user",
            with_state(&st, |st, req| {
                single::<SimpleUsers>(st, "simple_user", "user", req)
            }),
        )
        .post(
            "/validate/advanced-user",
            with_state(&st, |st, req| {
                single::<AdvancedUsers>(st, "advanced_user", "user", req)
            }),
        )
        .post(
            "/validate/complex-user",
            with_state(&st, |st, req| {
                single::<ComplexUsers>(st, "complex_user", "user", req)
            }),
        )
        .post(
            "/validate/product",
            with_state(&st, |st, req| {
                single::<Products>(st, "product", "product", req)
            }),
        )
        .post(
            "/validate/error-handling",
            with_state(&st, |st, req| {
                single::<AdvancedUsers>(st, "error_handling", "user", req)
            }),
        )
        .post(
            "/validate/batch-users",
            with_state(&st, |st, req| {
                batch::<AdvancedUsers>(st, "batch_users", req)
            }),
        )
        .post(
            "/validate/batch-products",
            with_state(&st, |st, req| batch::<Products>(st, "batch_products", req)),
        )
        .post("/validate/batch-orders", with_state(&st, batch_orders))
        .post("/validate/mega-batch", with_state(&st, mega_batch))
        .get("/validation/stats", with_state(&st, |st, _| stats(st)))
}
