//! Products and orders.

use super::{paging, search};
use crate::identity::{optional_user, required_user};
use crate::App;
use http::StatusCode;
use serde::Serialize;
use server_kit::{json, json_status, ApiError, Req, Response};
use shared::realworld::catalog::{ProductQuery, ProductView, SortKey};
use shared::realworld::orders::{OrderError, OrderRequest};
use shared::realworld::seed::CATEGORIES;
use shared::realworld::Paging;
use shared::{FieldError, ValidationFailure};
use std::sync::Arc;

/// `GET /api/products?page&limit&category_id&search&sort_by&sort_order`.
pub async fn list(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let q = req.query();
    let mut errors = Vec::new();
    let (page, limit) = paging(&q, 20, &mut errors)?;
    let category_id = q.get::<u8>("category_id").or_else(|_| {
        // Numbers too large for a category are still numbers: a range error.
        q.get::<u64>("category_id").map(|_| Some(0))
    })?;
    if let Some(c) = category_id {
        if !(1..=CATEGORIES.len()).contains(&usize::from(c)) {
            errors.push(FieldError::new(
                "category_id",
                "range",
                format!("must be from 1 to {}", CATEGORIES.len()),
            ));
        }
    }
    let search = search(&q, &mut errors);
    let sort_by = q.str("sort_by").unwrap_or("created_at");
    let key = SortKey::parse(sort_by);
    if key.is_none() {
        errors.push(FieldError::new(
            "sort_by",
            "one_of",
            "must be one of name, price, created_at, popularity",
        ));
    }
    let sort_order = q.str("sort_order").unwrap_or("asc");
    if !matches!(sort_order, "asc" | "desc") {
        errors.push(FieldError::new(
            "sort_order",
            "one_of",
            "must be asc or desc",
        ));
    }
    ValidationFailure::check(errors)?;
    let query = ProductQuery {
        page,
        limit,
        category_id,
        search,
        sort_by: key.unwrap_or(SortKey::CreatedAt),
        descending: sort_order == "desc",
    };
    let result = app.world.catalog.list(&query);
    // Serialized straight from the store's views: no JSON tree in between.
    #[derive(Serialize)]
    struct Listing<'a> {
        products: &'a [ProductView<'a>],
        pagination: Paging,
        filters: Filters<'a>,
    }
    #[derive(Serialize)]
    struct Filters<'a> {
        category_id: Option<u8>,
        search: Option<&'a str>,
        sort_by: &'a str,
        sort_order: &'a str,
    }
    json(&Listing {
        products: &result.items,
        pagination: result.paging,
        filters: Filters {
            category_id: query.category_id,
            search: query.search.as_deref(),
            sort_by,
            sort_order,
        },
    })
}

/// `GET /api/products/{id}`: counts a view; with a user (token or
/// `X-User-ID`) also notes it in their recently viewed products.
pub async fn product(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: u32 = req.param("id")?;
    let viewer = optional_user(&app, &req)?;
    let product = app
        .world
        .catalog
        .view_once(id)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))?;
    if let Some(user) = viewer {
        user.viewed(id);
    }
    json(&product)
}

/// `POST /api/orders`: 201 with the priced order; 409 when stock is short.
pub async fn place_order(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let user = required_user(&app, &req)?;
    let request: OrderRequest = req.json().await?;
    match app.world.place_order(user.id, request) {
        Ok(order) => json_status(StatusCode::CREATED, &*order),
        Err(OrderError::Invalid(failure)) => Err(ApiError::validation(failure)),
        Err(OrderError::WrongUser { acting, claimed }) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("user {acting} cannot order for user {claimed}"),
        )),
        Err(OrderError::OutOfStock(short)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "insufficient_stock",
            "not enough stock for every item; nothing was reserved",
        )
        .with_details(short.iter().map(|s| s.field_error()).collect())),
    }
}

/// `GET /api/orders/{id}`: only for the user who placed it.
pub async fn order(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: u64 = req.param("id")?;
    let user = required_user(&app, &req)?;
    let orders = &app.world.orders;
    let order = orders.get(id).ok_or_else(|| {
        if orders.was_evicted(id) {
            ApiError::not_found(format!("order {id} is no longer retained"))
        } else {
            ApiError::not_found(format!("no order {id}"))
        }
    })?;
    if order.user_id != user.id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("order {id} belongs to another user"),
        ));
    }
    json(&*order)
}
