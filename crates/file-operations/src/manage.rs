//! `GET /files`, `GET /files/{id}/info`, `DELETE /files/{id}`, `GET /stats`
//! and `GET /health`.

use crate::errors::{from_store, invalid};
use crate::App;
use serde_json::{json, Value};
use server_kit::{json, ApiError, Req, Response};
use shared::files::{names, FileMeta};
use std::sync::Arc;

/// Largest `limit` of a listing.
pub const MAX_LIMIT: usize = 100;

/// A file as listed and returned by uploads: metadata and its URLs.
pub fn summary(m: &FileMeta) -> Value {
    json!({
        "id": m.id,
        "filename": m.filename,
        "content_type": m.content_type,
        "category": m.category,
        "description": m.description,
        "size": m.size,
        "sha256": m.sha256,
        "created_at": m.created_at,
        "fixture": m.fixture,
        "derived_from": m.derived_from,
        "operation": m.operation,
        "download_url": format!("/download/{}", m.id),
        "stream_url": format!("/stream/{}", m.id),
    })
}

/// The file named by the `id` path parameter, or 404. Ids are only looked
/// up in the index; nothing a client sends reaches the file system.
pub fn lookup(app: &App, req: &Req) -> Result<Arc<FileMeta>, ApiError> {
    let id: String = req.param("id")?;
    app.store
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no file with id {id:?}")))
}

/// `GET /files?category=&limit=&offset=`: newest first.
pub async fn list(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let q = req.query();
    let limit = q.get::<usize>("limit")?.unwrap_or(20);
    let offset = q.get::<usize>("offset")?.unwrap_or(0);
    let category = q.str("category").filter(|c| !c.is_empty());
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid(
            "limit",
            "range",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    if let Some(c) = category.filter(|c| !names::is_valid_category(c)) {
        return Err(invalid(
            "category",
            "pattern",
            format!("{c:?} is not a category (1-32 of a-z, 0-9, - and _)"),
        ));
    }
    let (total, page) = app.store.list(category, limit, offset);
    json(&json!({
        "files": page.iter().map(|m| summary(m)).collect::<Vec<_>>(),
        "total": total,
        "limit": limit,
        "offset": offset,
        "category": category,
    }))
}

/// `GET /files/{id}/info`: metadata, derived files, automatic processing.
pub async fn info(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let meta = lookup(&app, &req)?;
    let derived: Vec<Value> = app
        .store
        .derived_of(&meta.id)
        .iter()
        .map(|d| summary(d))
        .collect();
    let mut body = summary(&meta);
    body["etag"] = json!(meta.etag());
    body["derived_files"] = json!(derived);
    body["processing"] = json!(app.processor.job(&meta.id));
    json(&body)
}

/// `DELETE /files/{id}`: the file and everything derived from it.
pub async fn delete(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: String = req.param("id")?;
    if !names::is_valid_id(&id) {
        return Err(ApiError::not_found(format!("no file with id {id:?}")));
    }
    let store = app.store.clone();
    let target = id.clone();
    let deleted = tokio::task::spawn_blocking(move || store.delete(&target))
        .await
        .map_err(|e| ApiError::internal(format!("delete failed: {e}")))?
        .map_err(from_store)?;
    app.processor.forget(&deleted);
    json(&json!({ "deleted": id, "removed": deleted }))
}

/// `GET /stats`.
pub async fn stats(app: Arc<App>) -> Result<Response, ApiError> {
    let opts = app.store.options();
    json(&json!({
        "files": app.store.snapshot(),
        "processing": app.processor.load(),
        "limits": {
            "max_file_bytes": opts.max_file_bytes,
            "max_request_bytes": app.max_request_bytes,
            "max_files_per_request": app.max_files_per_request,
            "max_stored_bytes": opts.max_stored_bytes,
            "max_stored_files": opts.max_stored_files,
            "fsync": opts.fsync,
        },
        "uptime_seconds": app.started.elapsed().as_secs(),
    }))
}

/// `GET /health`.
pub async fn health(app: Arc<App>) -> Result<Response, ApiError> {
    json(&json!({
        "status": "ok",
        "category": "file_operations",
        "files": app.store.snapshot().files,
        "uptime_seconds": app.started.elapsed().as_secs(),
    }))
}
