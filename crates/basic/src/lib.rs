//! Routes of the `basic` category: each handler extracts its input through
//! the server kit and does its work with the `shared` crate.

mod stream;

use serde::Serialize;
use serde_json::Value;
use server_kit::{json, text, ApiError, Req, Response, Router, Valid};
use shared::basic::{self, BenchmarkProduct, BenchmarkUser, PageParams, SearchParams, USER_COUNT};
use std::time::Instant;
use validator::Validate;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8000;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// The route table of the category.
pub fn router() -> Router {
    let started = Instant::now();
    Router::new()
        .get("/", |_req: Req| async {
            Ok(text("text/plain; charset=utf-8", "Hello, World!"))
        })
        .get("/health", move |_req: Req| health(started))
        .get("/json", |_req: Req| async {
            json(&Message {
                message: "Hello, World!",
            })
        })
        .get("/user/{id}", |req: Req| async move {
            json(&basic::user_record(user_id(&req)?))
        })
        .get("/users", users)
        .get("/user/{id}/profile", |req: Req| async move {
            json(&basic::profile(user_id(&req)?))
        })
        .post("/echo", echo)
        .post("/validate/user", validate_user)
        .post("/validate/product", validate_product)
        .get("/search/validate", search)
        .get("/stream/json", stream::json_items)
        .get("/stream/csv", stream::csv_rows)
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    category: &'static str,
    uptime_seconds: u64,
}

async fn health(started: Instant) -> Result<Response, ApiError> {
    json(&Health {
        status: "ok",
        category: "basic",
        uptime_seconds: started.elapsed().as_secs(),
    })
}

/// The `{id}` of a user route, which must name a user of the directory.
fn user_id(req: &Req) -> Result<u64, ApiError> {
    let id: u64 = req.param("id")?;
    if (1..=USER_COUNT).contains(&id) {
        Ok(id)
    } else {
        Err(ApiError::not_found(format!(
            "user {id} not found (ids are 1 to {USER_COUNT})"
        )))
    }
}

async fn users(req: Req) -> Result<Response, ApiError> {
    let q = req.query();
    let page = PageParams::new(q.get("limit")?, q.get("offset")?)?;
    json(&basic::users_page(page.limit, page.offset))
}

#[derive(Serialize)]
struct Echo {
    echo: Value,
    received_bytes: usize,
}

async fn echo(req: Req) -> Result<Response, ApiError> {
    let body = req.json_bytes().await?;
    let echo: Value = server_kit::parse_json(&body)?;
    json(&Echo {
        echo,
        received_bytes: body.len(),
    })
}

async fn validate_user(req: Req) -> Result<Response, ApiError> {
    let user: BenchmarkUser = req.json().await?;
    user.validate()?;
    json(&Valid("user", &user))
}

async fn validate_product(req: Req) -> Result<Response, ApiError> {
    let product: BenchmarkProduct = req.json().await?;
    product.validate()?;
    json(&Valid("product", &product))
}

async fn search(req: Req) -> Result<Response, ApiError> {
    let q = req.query();
    let params = SearchParams::new(
        q.str("query").map(str::to_owned),
        q.get("limit")?,
        q.get("offset")?,
        q.str("sort_by").map(str::to_owned),
    )?;
    json(&Valid("params", &params))
}
