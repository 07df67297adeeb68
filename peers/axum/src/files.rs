//! `file_operations` over `shared::files::Service`: multipart uploads read
//! from the request's `Body` stream, ranged downloads and chunked streams
//! sent as `Body` streams, listing, info, delete, stats and processing.

use crate::common::{App, Param, DEFAULT_BODY_LIMIT};
use crate::error::{not_found, ApiResult};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::Value;
use shared::api::drain;
use shared::api::Query;
use shared::files::service::{Limits, Uploaded};
use shared::files::transfer::Transfer;
use shared::files::Service;
use std::sync::Arc;

type Files = App<Service>;

/// A fresh temporary storage directory (removed when dropped) and the
/// store opened in it with the reference server's default limits, the file
/// quota raised to `room` (blocking: it seeds the fixtures).
pub fn open(room: usize) -> std::io::Result<(tempfile::TempDir, Arc<Service>)> {
    let dir = tempfile::Builder::new()
        .prefix("axum-peer-files-")
        .tempdir()?;
    let service = Service::open(dir.path(), &Limits::default().with_room(room))?;
    Ok((dir, service))
}

/// The category's routes.
pub fn router(service: &Arc<Service>) -> Router {
    // Uploads read the raw `Body` with the service's own limits; the body
    // limit of the state is not used by any route here.
    let app = App::new(service.clone(), DEFAULT_BODY_LIMIT);
    Router::new()
        .route(
            "/health",
            get(|State(s): State<Files>| async move { Json(s.health()) }),
        )
        .route(
            "/stats",
            get(|State(s): State<Files>| async move { Json(s.stats()) }),
        )
        .route("/upload/single", post(upload_single))
        .route("/upload/multiple", post(upload_multiple))
        .route("/download/{id}", get(download))
        .route("/stream/{id}", get(stream))
        .route("/files", get(list))
        .route("/files/{id}/info", get(info))
        .route("/files/{id}", delete(remove))
        .route("/process/{id}", post(process))
        .fallback(not_found)
        .with_state(app)
}

async fn upload_single(
    State(s): State<Files>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    upload(&s, &headers, body, false).await
}

async fn upload_multiple(
    State(s): State<Files>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    upload(&s, &headers, body, true).await
}

/// An upload: the form read from the body stream; a refused one drains the
/// rest of the body first so the client can read the answer.
async fn upload(
    s: &Service,
    headers: &HeaderMap,
    body: Body,
    multiple: bool,
) -> ApiResult<Response> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (content_type, length) = (text(header::CONTENT_TYPE), text(header::CONTENT_LENGTH));
    let mut stream = body.into_data_stream();
    let received = if multiple {
        s.upload_multiple(content_type, length, &mut stream).await
    } else {
        s.upload_single(content_type, length, &mut stream).await
    };
    let Uploaded { body, location } = match received {
        Ok(uploaded) => uploaded,
        Err(e) => {
            drain(&mut stream, s.max_request_bytes()).await;
            return Err(e.into());
        }
    };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::try_from(l).ok()) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

async fn download(
    State(s): State<Files>,
    Param(id): Param,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    Ok(transfer(
        s.download(&id, &Query::parse(q.as_deref()), range).await?,
    ))
}

async fn stream(
    State(s): State<Files>,
    Param(id): Param,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    Ok(transfer(s.stream(&id, &Query::parse(q.as_deref())).await?))
}

async fn list(State(s): State<Files>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    Ok(Json(s.list(&Query::parse(q.as_deref()))?))
}

async fn info(State(s): State<Files>, Param(id): Param) -> ApiResult<Json<Value>> {
    Ok(Json(s.info(&id)?))
}

async fn remove(State(s): State<Files>, Param(id): Param) -> ApiResult<Json<Value>> {
    Ok(Json(s.delete(&id).await?))
}

async fn process(
    State(s): State<Files>,
    Param(id): Param,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(s.process(&id, &Query::parse(q.as_deref())).await?))
}

/// A file transfer as a response: a download with its `Content-Length`
/// (hyper sends exactly that many bytes of the stream), a stream chunked.
fn transfer(t: Transfer) -> Response {
    let mut res = Body::from_stream(t.body).into_response();
    *res.status_mut() = StatusCode::from_u16(t.status).unwrap_or(StatusCode::OK);
    let headers = res.headers_mut();
    for (name, value) in t.headers {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Some(len) = t.length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    res
}
