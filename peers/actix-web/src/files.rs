//! The `file_operations` category over `shared::files::Service`: multipart
//! uploads streamed to the store, ranged downloads, chunked streaming,
//! listing, info, delete, stats and processing.

use crate::common::{header, query, Endpoint};
use crate::error::ApiError;
use actix_web::body::SizedStream;
use actix_web::error::PayloadError;
use actix_web::http::{header as names, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use shared::files::service::Uploaded;
use shared::files::transfer::Transfer;
use shared::files::Service;
use std::sync::Arc;

/// Chunks of an upload in flight between actix's payload and the reader.
const FORWARDED_CHUNKS: usize = 8;

/// The category's routes over an opened store.
pub fn routes(service: Arc<Service>) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let service = web::Data::from(service);
    move |cfg| {
        cfg.app_data(service.clone())
            .service(Endpoint::new("/health").get(health))
            .service(Endpoint::new("/stats").get(stats))
            .service(Endpoint::new("/upload/single").post(upload_single))
            .service(Endpoint::new("/upload/multiple").post(upload_multiple))
            .service(Endpoint::new("/download/{id}").get(download))
            .service(Endpoint::new("/stream/{id}").get(stream))
            .service(Endpoint::new("/files").get(list))
            .service(Endpoint::new("/files/{id}/info").get(info))
            .service(Endpoint::new("/files/{id}").delete(delete))
            .service(Endpoint::new("/process/{id}").post(process));
    }
}

async fn health(s: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok().json(s.health())
}

async fn stats(s: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok().json(s.stats())
}

async fn upload_single(
    s: web::Data<Service>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    upload(&s, &req, payload, false).await
}

async fn upload_multiple(
    s: web::Data<Service>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    upload(&s, &req, payload, true).await
}

/// An upload: the form read from the body as it arrives; a refused one
/// drains the rest of the body first so the client can read the answer.
async fn upload(
    s: &Service,
    req: &HttpRequest,
    payload: web::Payload,
    multiple: bool,
) -> Result<HttpResponse, ApiError> {
    let content_type = header(req, names::CONTENT_TYPE);
    let length = header(req, names::CONTENT_LENGTH);
    let mut body = forwarded(payload);
    let received = if multiple {
        s.upload_multiple(content_type, length, &mut body).await
    } else {
        s.upload_single(content_type, length, &mut body).await
    };
    match received {
        Ok(Uploaded { body, location }) => {
            let mut res = HttpResponse::Created();
            if let Some(location) = location {
                res.insert_header((names::LOCATION, location));
            }
            Ok(res.json(body))
        }
        Err(e) => {
            shared::api::drain(&mut body, s.max_request_bytes()).await;
            Err(e.into())
        }
    }
}

/// actix's `Payload` belongs to its worker thread (it is not `Send`), and
/// the shared form reader cannot take it as it is: multer, which parses the
/// form, boxes its body as a `Stream + Send`, whatever thread it runs on.
/// So a task on this worker forwards the chunks through a bounded channel
/// (one hand-over per chunk, on the same thread; back-pressure still
/// reaches the socket). It ends with the body, or when the reader is gone.
/// axum's body is `Send` and goes to the reader directly.
fn forwarded(
    mut payload: web::Payload,
) -> impl Stream<Item = Result<Bytes, PayloadError>> + Send + Unpin {
    let (tx, mut rx) = tokio::sync::mpsc::channel(FORWARDED_CHUNKS);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
    });
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn download(
    s: web::Data<Service>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let range = header(&req, names::RANGE);
    Ok(transfer(s.download(&id, &query(&req), range).await?))
}

async fn stream(
    s: web::Data<Service>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    Ok(transfer(s.stream(&id, &query(&req)).await?))
}

/// A file transfer as a response: sized (a download, with
/// `Content-Length`) or chunked (a stream).
fn transfer(t: Transfer) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::from_u16(t.status).unwrap_or(StatusCode::OK));
    for (name, value) in &t.headers {
        res.insert_header((*name, value.as_str()));
    }
    match t.length {
        Some(len) => res.body(SizedStream::new(len, t.body)),
        None => res.streaming(t.body),
    }
}

async fn list(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.list(&query(&req))?))
}

async fn info(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.info(&id)?))
}

async fn delete(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.delete(&id).await?))
}

async fn process(
    s: web::Data<Service>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.process(&id, &query(&req)).await?))
}
