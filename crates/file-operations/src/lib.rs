//! Routes of the `file_operations` category over `shared::files::Service`:
//! multipart uploads streamed to the file store, ranged downloads, chunked
//! streaming, listing, info, delete, stats and processing.

pub mod config;

use futures_util::StreamExt;
use http::{header, HeaderName, HeaderValue, StatusCode};
use server_kit::{json, json_status, with_state, ApiError, Body, BodyError, Req, Response, Router};
use shared::files::service::Uploaded;
use shared::files::transfer::Transfer;
use shared::files::Service;
use std::sync::Arc;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8200;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// A file transfer as a response: sized (download) or chunked (stream).
fn transfer(t: Transfer) -> Response {
    let body = t.body.map(|r| r.map_err(BodyError::from));
    let mut resp = Response::new(match t.length {
        Some(len) => Body::sized_stream(body, len),
        None => Body::stream(body),
    });
    *resp.status_mut() = StatusCode::from_u16(t.status).unwrap_or(StatusCode::OK);
    for (name, value) in t.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            resp.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    resp
}

/// An upload: the form read from the body stream; a refused one drains the
/// rest of the body first so the client can read the answer.
async fn upload(service: Arc<Service>, req: Req, multiple: bool) -> Result<Response, ApiError> {
    let (parts, mut body) = req.into_stream();
    let text = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let (content_type, length) = (text(header::CONTENT_TYPE), text(header::CONTENT_LENGTH));
    let received = if multiple {
        service
            .upload_multiple(content_type, length, &mut body)
            .await
    } else {
        service.upload_single(content_type, length, &mut body).await
    };
    let Uploaded {
        body: answer,
        location,
    } = match received {
        Ok(u) => u,
        Err(e) => {
            body.drain().await;
            return Err(e);
        }
    };
    let mut resp = json_status(StatusCode::CREATED, &answer)?;
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, location);
    }
    Ok(resp)
}

/// The route table of the category.
pub fn router(service: &Arc<Service>) -> Router {
    Router::new()
        .get(
            "/health",
            with_state(service, |s, _| async move { json(&s.health()) }),
        )
        .get(
            "/stats",
            with_state(service, |s, _| async move { json(&s.stats()) }),
        )
        .post(
            "/upload/single",
            with_state(service, |s, req| upload(s, req, false)),
        )
        .post(
            "/upload/multiple",
            with_state(service, |s, req| upload(s, req, true)),
        )
        .get(
            "/download/{id}",
            with_state(service, |s, req: Req| async move {
                let range = req.header(header::RANGE);
                Ok(transfer(
                    s.download(req.raw_param("id"), &req.query(), range).await?,
                ))
            }),
        )
        .get(
            "/stream/{id}",
            with_state(service, |s, req: Req| async move {
                Ok(transfer(s.stream(req.raw_param("id"), &req.query()).await?))
            }),
        )
        .get(
            "/files",
            with_state(service, |s, req: Req| async move {
                json(&s.list(&req.query())?)
            }),
        )
        .get(
            "/files/{id}/info",
            with_state(service, |s, req: Req| async move {
                json(&s.info(req.raw_param("id"))?)
            }),
        )
        .delete(
            "/files/{id}",
            with_state(service, |s, req: Req| async move {
                json(&s.delete(req.raw_param("id")).await?)
            }),
        )
        .post(
            "/process/{id}",
            with_state(service, |s, req: Req| async move {
                json(&s.process(req.raw_param("id"), &req.query()).await?)
            }),
        )
}
