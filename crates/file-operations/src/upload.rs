//! `POST /upload/single` and `POST /upload/multiple`: multipart bodies
//! parsed part by part with `multer`; each file part streams into a staging
//! file (sha256 on the way, per-file limit), is synced, and is committed
//! only when the whole request was good. A refused or broken request
//! leaves no file behind.

use crate::errors::{self, from_multipart, from_store, invalid};
use crate::manage::summary;
use crate::App;
use http::{header, HeaderValue, StatusCode};
use multer::{Constraints, Multipart, SizeLimit};
use serde_json::{json, Value};
use server_kit::{json_status, ApiError, BodyStream, Req, Response};
use shared::files::{names, FileMeta, NewFile, Upload};
use shared::{FieldError, ValidationFailure};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest text field (`category`, `description`, …).
const MAX_TEXT_FIELD: u64 = 64 * 1024;

/// Longest description, in characters.
const MAX_DESCRIPTION: usize = 1000;

/// The shape of an upload form.
struct Form {
    /// Name of the file part(s).
    file_field: &'static str,
    /// Name of the processing flag.
    flag_field: &'static str,
    /// Most file parts.
    max_files: usize,
}

/// A received file, written to its staging file but not yet synced.
struct Part {
    upload: Upload,
    filename: String,
    content_type: Option<String>,
}

/// Everything an upload request said, validated.
struct Received {
    files: Vec<Part>,
    category: String,
    description: String,
    process: bool,
}

/// `POST /upload/single`: one `file` part, `category`, `description`,
/// `auto_process`.
pub async fn single(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let form = Form {
        file_field: "file",
        flag_field: "auto_process",
        max_files: 1,
    };
    let received = receive(&app, req, &form).await?;
    let process = received.process;
    let stored = commit(&app, received).await?;
    let file = &stored[0];
    let processing = process.then(|| app.processor.analyze_later(&file.id));
    let mut resp = json_status(
        StatusCode::CREATED,
        &json!({ "file": summary(file), "processing": processing }),
    )?;
    if let Ok(location) = HeaderValue::from_str(&format!("/files/{}/info", file.id)) {
        resp.headers_mut().insert(header::LOCATION, location);
    }
    Ok(resp)
}

/// `POST /upload/multiple`: one or more `files` parts, `category`,
/// `batch_process`.
pub async fn multiple(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let form = Form {
        file_field: "files",
        flag_field: "batch_process",
        max_files: app.max_files_per_request,
    };
    let received = receive(&app, req, &form).await?;
    let process = received.process;
    let stored = commit(&app, received).await?;
    let processing: Option<Vec<Value>> = process.then(|| {
        stored
            .iter()
            .map(|f| json!({ "file_id": f.id, "job": app.processor.analyze_later(&f.id) }))
            .collect()
    });
    json_status(
        StatusCode::CREATED,
        &json!({
            "files": stored.iter().map(|f| summary(f)).collect::<Vec<_>>(),
            "count": stored.len(),
            "total_bytes": stored.iter().map(|f| f.size).sum::<u64>(),
            "processing": processing,
        }),
    )
}

/// Reads and validates the form; on any failure drains what is left of the
/// body (so the client reads the answer) and drops what was staged.
async fn receive(app: &App, req: Req, form: &Form) -> Result<Received, ApiError> {
    let (parts, mut body) = req.into_stream();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let result = read_form(app, content_type, declared, &mut body, form).await;
    if result.is_err() {
        app.store.stats().rejected_upload(1);
        body.drain().await;
    }
    result
}

fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("multipart/form-data"))
}

async fn read_form(
    app: &App,
    content_type: &str,
    declared: Option<u64>,
    body: &mut BodyStream,
    form: &Form,
) -> Result<Received, ApiError> {
    if !is_multipart(content_type) {
        return Err(ApiError::unsupported_media_type("multipart/form-data"));
    }
    let boundary = multer::parse_boundary(content_type).map_err(|e| {
        ApiError::bad_request(
            "malformed_multipart",
            format!("no usable multipart boundary: {e}"),
        )
    })?;
    let max_request = app.max_request_bytes;
    if declared.is_some_and(|n| n > max_request) {
        return Err(errors::too_large(max_request));
    }
    let max_file = app.store.options().max_file_bytes;
    let limits = SizeLimit::new()
        .whole_stream(max_request)
        .per_field(MAX_TEXT_FIELD)
        .for_field(form.file_field, max_file);
    let mut multipart =
        Multipart::with_constraints(body, boundary, Constraints::new().size_limit(limits));
    let mut files = Vec::new();
    let mut text: HashMap<String, String> = HashMap::new();
    while let Some(mut field) = multipart.next_field().await.map_err(from_multipart)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == form.file_field {
            let Some(filename) = field.file_name().map(str::to_owned) else {
                return Err(invalid(
                    &name,
                    "not_a_file",
                    format!("`{name}` must be a file part (with a filename)"),
                ));
            };
            if files.len() == form.max_files {
                return Err(invalid(
                    &name,
                    "too_many_files",
                    format!("at most {} file(s) per request", form.max_files),
                ));
            }
            let content_type = field.content_type().map(|m| m.to_string());
            let mut upload = app.store.begin_upload().map_err(|e| from_store(e.into()))?;
            while let Some(chunk) = field.chunk().await.map_err(from_multipart)? {
                upload.write(&chunk).map_err(from_store)?;
            }
            files.push(Part {
                upload,
                filename,
                content_type,
            });
        } else if ["category", "description", form.flag_field].contains(&name.as_str()) {
            let value = field.text().await.map_err(from_multipart)?;
            text.insert(name, value);
        } else {
            return Err(invalid(
                &name,
                "unknown_field",
                format!(
                    "unexpected form field {name:?}; expected {}, category, description, {}",
                    form.file_field, form.flag_field
                ),
            ));
        }
    }
    validate(files, text, form)
}

fn validate(
    files: Vec<Part>,
    mut text: HashMap<String, String>,
    form: &Form,
) -> Result<Received, ApiError> {
    let mut errors = Vec::new();
    if files.is_empty() {
        errors.push(FieldError::new(
            form.file_field,
            "required",
            format!("a file part named `{}` is required", form.file_field),
        ));
    }
    let category = text
        .remove("category")
        .unwrap_or_else(|| "general".to_owned());
    if !names::is_valid_category(&category) {
        errors.push(FieldError::new(
            "category",
            "pattern",
            "must be 1-32 of a-z, 0-9, - and _",
        ));
    }
    let description = text.remove("description").unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(FieldError::new(
            "description",
            "length",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    let process = match text.remove(form.flag_field).as_deref().map(str::trim) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => {
            errors.push(FieldError::new(
                form.flag_field,
                "invalid_type",
                "must be true or false",
            ));
            false
        }
    };
    ValidationFailure::check(errors)?;
    Ok(Received {
        files,
        category,
        description,
        process,
    })
}

/// Syncs and commits every received file in one blocking job (one hand-off
/// to the blocking pool per request, one directory sync per batch): all of
/// them become visible, or none.
async fn commit(app: &Arc<App>, received: Received) -> Result<Vec<Arc<FileMeta>>, ApiError> {
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(received.files.len());
        for part in received.files {
            let new = NewFile {
                filename: part.filename,
                content_type: part.content_type,
                category: received.category.clone(),
                description: received.description.clone(),
            };
            batch.push((part.upload.finish()?, new));
        }
        store.commit_all(batch)
    })
    .await
    .map_err(|e| ApiError::internal(format!("commit failed: {e}")))?
    .map_err(from_store)
}
