//! Routes of the `basic` category: each handler takes what the request
//! carries (path, query, body) and hands it to `shared::basic`.

use bytes::Bytes;
use futures_util::stream;
use server_kit::{json, json_raw, text, BodyError, Req, Response, Router, Valid};
use shared::api::Health;
use shared::basic::api::{csv_stream, json_stream, stream_count, user_id, Echo, Message, HELLO};
use shared::basic::{self, BenchmarkProduct, BenchmarkUser, PageParams, SearchParams};
use std::time::Instant;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8000;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// The route table of the category.
pub fn router() -> Router {
    let started = Instant::now();
    Router::new()
        .get("/", |_req: Req| async {
            Ok(text("text/plain; charset=utf-8", HELLO))
        })
        .get("/health", move |_req: Req| async move {
            json(&Health::new("basic", started))
        })
        .get("/json", |_req: Req| async { json(&Message::HELLO) })
        .get("/user/{id}", |req: Req| async move {
            json(&basic::user_record(user_id(req.raw_param("id"))?))
        })
        .get("/users", |req: Req| async move {
            let page = PageParams::from_query(&req.query())?;
            Ok(json_raw(basic::users_page_json(page.limit, page.offset)))
        })
        .get("/user/{id}/profile", |req: Req| async move {
            json(&basic::profile(user_id(req.raw_param("id"))?))
        })
        .post("/echo", |req: Req| async move {
            json(&Echo::of(&req.json_bytes().await?)?)
        })
        .post("/validate/user", |req: Req| async move {
            let user = BenchmarkUser::from_body(&req.json_bytes().await?)?;
            json(&Valid("user", &user))
        })
        .post("/validate/product", |req: Req| async move {
            let product = BenchmarkProduct::from_body(&req.json_bytes().await?)?;
            json(&Valid("product", &product))
        })
        .get("/search/validate", |req: Req| async move {
            json(&Valid("params", &SearchParams::from_query(&req.query())?))
        })
        .get("/stream/json", |req: Req| async move {
            let chunks = json_stream(stream_count(&req.query())?);
            Ok(chunked("application/json", chunks))
        })
        .get("/stream/csv", |req: Req| async move {
            let chunks = csv_stream(stream_count(&req.query())?);
            Ok(chunked("text/csv; charset=utf-8", chunks))
        })
}

/// A chunked response, one chunk per item, produced as the client reads.
fn chunked(
    content_type: &'static str,
    chunks: impl Iterator<Item = String> + Send + 'static,
) -> Response {
    let body = stream::iter(chunks.map(|c| Ok::<_, BodyError>(Bytes::from(c))));
    server_kit::stream(content_type, body)
}
