//! The file_operations category's endpoints for any server: the store, the
//! processing gate, the limits, and one method per endpoint taking what the
//! request carries (path id, query, headers, body stream) and giving the
//! answer. File-system work runs on blocking threads inside these methods,
//! so they can be awaited on any Tokio runtime.

use super::form::{self, Form, Received};
use super::jobs::{result_json, Processor};
use super::transfer::{self, Transfer};
use super::views::summary;
use super::{names, FileMeta, Operation, Store, StoreOptions};
use crate::api::{Error, Query};
use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Largest `limit` of a listing.
pub const MAX_LIMIT: usize = 100;

/// Limits of the category (the reference server's flags).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted file.
    pub max_file_bytes: u64,
    /// Largest accepted upload request (all its parts).
    pub max_request_bytes: u64,
    /// Most files in one `/upload/multiple` request.
    pub max_files_per_request: usize,
    /// Quota of uploaded and derived bytes; the oldest are evicted past it.
    pub max_stored_bytes: u64,
    /// Quota of uploaded and derived files.
    pub max_stored_files: usize,
    /// Sync files and directories before answering.
    pub fsync: bool,
    /// Processing jobs at once [default: cores].
    pub process_workers: Option<usize>,
    /// Processing jobs allowed to wait; beyond it 503.
    pub process_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 128 << 20,
            max_request_bytes: 256 << 20,
            max_files_per_request: 20,
            max_stored_bytes: 4 << 30,
            max_stored_files: 100_000,
            fsync: true,
            process_workers: None,
            process_queue: 256,
        }
    }
}

impl Limits {
    /// Room for `files` stored files: the file quota raised to at least
    /// that (the byte quota is left as it is).
    pub fn with_room(mut self, files: usize) -> Self {
        self.max_stored_files = self.max_stored_files.max(files);
        self
    }
}

/// The category's state.
pub struct Service {
    /// The file store.
    pub store: Arc<Store>,
    /// The processing gate and automatic-processing records.
    pub processor: Arc<Processor>,
    max_request_bytes: u64,
    max_files_per_request: usize,
    started: Instant,
}

/// An upload's answer: the 201's body and its `Location`, if any.
pub struct Uploaded {
    /// The JSON body.
    pub body: Value,
    /// `Location` of the single file's info.
    pub location: Option<String>,
}

impl Service {
    /// Opens the store in `dir` (blocking: it seeds the fixtures and finds
    /// stored files again).
    pub fn open(dir: &Path, limits: &Limits) -> std::io::Result<Arc<Self>> {
        let mut opts = StoreOptions::new(dir);
        opts.fsync = limits.fsync;
        opts.max_file_bytes = limits.max_file_bytes;
        opts.max_stored_bytes = limits.max_stored_bytes;
        opts.max_stored_files = limits.max_stored_files;
        let store = Arc::new(Store::open(opts)?);
        let workers = limits.process_workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        Ok(Arc::new(Self {
            processor: Arc::new(Processor::new(store.clone(), workers, limits.process_queue)),
            store,
            max_request_bytes: limits.max_request_bytes,
            max_files_per_request: limits.max_files_per_request.max(1),
            started: Instant::now(),
        }))
    }

    /// The file named by an `{id}`, or 404. Ids are only looked up in the
    /// index; nothing a client sends reaches the file system.
    pub fn lookup(&self, id: &str) -> Result<Arc<FileMeta>, Error> {
        self.store
            .get(id)
            .ok_or_else(|| Error::not_found(format!("no file with id {id:?}")))
    }

    /// The largest upload request, for draining a refused body.
    pub fn max_request_bytes(&self) -> u64 {
        self.max_request_bytes
    }

    async fn receive<S, O, E>(
        &self,
        form: &Form,
        content_type: Option<&str>,
        content_length: Option<&str>,
        body: S,
    ) -> Result<Received, Error>
    where
        S: Stream<Item = Result<O, E>> + Send,
        O: Into<Bytes> + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let read = form::read(
            &self.store,
            self.max_request_bytes,
            form,
            content_type,
            content_length,
            body,
        )
        .await;
        if read.is_err() {
            self.store.stats().rejected_upload(1);
        }
        read
    }

    /// `POST /upload/single`: reads the form from `body`; on an error the
    /// caller drains what is left of its body ([`crate::api::drain`] with
    /// [`Service::max_request_bytes`]) before answering.
    pub async fn upload_single<S, O, E>(
        &self,
        content_type: Option<&str>,
        content_length: Option<&str>,
        body: S,
    ) -> Result<Uploaded, Error>
    where
        S: Stream<Item = Result<O, E>> + Send,
        O: Into<Bytes> + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let received = self
            .receive(&Form::SINGLE, content_type, content_length, body)
            .await?;
        let process = received.process;
        let stored = form::commit(self.store.clone(), received).await?;
        let file = &stored[0];
        let processing = process.then(|| self.processor.analyze_later(&file.id));
        Ok(Uploaded {
            body: json!({ "file": summary(file), "processing": processing }),
            location: Some(format!("/files/{}/info", file.id)),
        })
    }

    /// `POST /upload/multiple`: all the files committed, or none.
    pub async fn upload_multiple<S, O, E>(
        &self,
        content_type: Option<&str>,
        content_length: Option<&str>,
        body: S,
    ) -> Result<Uploaded, Error>
    where
        S: Stream<Item = Result<O, E>> + Send,
        O: Into<Bytes> + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let form = Form::multiple(self.max_files_per_request);
        let received = self
            .receive(&form, content_type, content_length, body)
            .await?;
        let process = received.process;
        let stored = form::commit(self.store.clone(), received).await?;
        let processing: Option<Vec<Value>> = process.then(|| {
            stored
                .iter()
                .map(|f| json!({ "file_id": f.id, "job": self.processor.analyze_later(&f.id) }))
                .collect()
        });
        Ok(Uploaded {
            body: json!({
                "files": stored.iter().map(|f| summary(f)).collect::<Vec<_>>(),
                "count": stored.len(),
                "total_bytes": stored.iter().map(|f| f.size).sum::<u64>(),
                "processing": processing,
            }),
            location: None,
        })
    }

    /// `GET /download/{id}?as_attachment=` with the request's `Range`.
    pub async fn download(
        &self,
        id: &str,
        q: &Query<'_>,
        range: Option<&str>,
    ) -> Result<Transfer, Error> {
        let meta = self.lookup(id)?;
        transfer::download(&self.store, &meta, q, range).await
    }

    /// `GET /stream/{id}?chunk_size=`.
    pub async fn stream(&self, id: &str, q: &Query<'_>) -> Result<Transfer, Error> {
        let meta = self.lookup(id)?;
        transfer::stream(&self.store, &meta, q).await
    }

    /// `GET /files?category=&limit=&offset=`: newest first.
    pub fn list(&self, q: &Query<'_>) -> Result<Value, Error> {
        let limit = q.get::<usize>("limit")?.unwrap_or(20);
        let offset = q.get::<usize>("offset")?.unwrap_or(0);
        let category = q.str("category").filter(|c| !c.is_empty());
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                "range",
                format!("must be from 1 to {MAX_LIMIT}"),
            ));
        }
        if let Some(c) = category.filter(|c| !names::is_valid_category(c)) {
            return Err(Error::invalid(
                "category",
                "pattern",
                format!("{c:?} is not a category (1-32 of a-z, 0-9, - and _)"),
            ));
        }
        let (total, page) = self.store.list(category, limit, offset);
        Ok(json!({
            "files": page.iter().map(|m| summary(m)).collect::<Vec<_>>(),
            "total": total,
            "limit": limit,
            "offset": offset,
            "category": category,
        }))
    }

    /// `GET /files/{id}/info`: metadata, derived files, automatic processing.
    pub fn info(&self, id: &str) -> Result<Value, Error> {
        let meta = self.lookup(id)?;
        let derived: Vec<Value> = self
            .store
            .derived_of(&meta.id)
            .iter()
            .map(|d| summary(d))
            .collect();
        let mut body = summary(&meta);
        body["etag"] = json!(meta.etag());
        body["derived_files"] = json!(derived);
        body["processing"] = json!(self.processor.job(&meta.id));
        Ok(body)
    }

    /// `DELETE /files/{id}`: the file and everything derived from it.
    pub async fn delete(&self, id: &str) -> Result<Value, Error> {
        if !names::is_valid_id(id) {
            return Err(Error::not_found(format!("no file with id {id:?}")));
        }
        let store = self.store.clone();
        let target = id.to_owned();
        let deleted = tokio::task::spawn_blocking(move || store.delete(&target))
            .await
            .map_err(|e| Error::internal(format!("delete failed: {e}")))??;
        self.processor.forget(&deleted);
        Ok(json!({ "deleted": id, "removed": deleted }))
    }

    /// `POST /process/{id}?operation=&params=`: runs the operation now (on
    /// the gate's workers) and answers with its result.
    pub async fn process(&self, id: &str, q: &Query<'_>) -> Result<Value, Error> {
        let meta = self.lookup(id)?;
        let op = Operation::parse(q.str("operation"), q.str("params"))?;
        let (processed, micros) = self.processor.run(&meta.id, op).await?;
        let mut body = result_json(&processed);
        body["file_id"] = json!(meta.id);
        body["operation"] = json!(op.name());
        body["duration_ms"] = json!(micros as f64 / 1000.0);
        Ok(body)
    }

    /// `GET /stats`.
    pub fn stats(&self) -> Value {
        let opts = self.store.options();
        json!({
            "files": self.store.snapshot(),
            "processing": self.processor.load(),
            "limits": {
                "max_file_bytes": opts.max_file_bytes,
                "max_request_bytes": self.max_request_bytes,
                "max_files_per_request": self.max_files_per_request,
                "max_stored_bytes": opts.max_stored_bytes,
                "max_stored_files": opts.max_stored_files,
                "fsync": opts.fsync,
            },
            "uptime_seconds": self.started.elapsed().as_secs(),
        })
    }

    /// `GET /health`.
    pub fn health(&self) -> Value {
        json!({
            "status": "ok",
            "category": "file_operations",
            "files": self.store.snapshot().files,
            "uptime_seconds": self.started.elapsed().as_secs(),
        })
    }
}
