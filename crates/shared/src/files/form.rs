//! Upload forms: a `multipart/form-data` body read part by part with multer
//! from any stream of bytes (any server's request body), each file part
//! streamed into a staging file off the reactor (sha256 on the way,
//! per-file limit), the text fields checked, and the whole request
//! committed only when it was good. A refused or broken request leaves no
//! file behind. Bounded: header blocks and preamble (see [`super::framing`]),
//! the number of parts and the size of text fields.

use super::framing::Framing;
use super::incoming::Incoming;
use super::{names, FileMeta, NewFile, Store, StoreError, Upload};
use crate::api::Error;
use crate::{FieldError, ValidationFailure};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use multer::{Constraints, Multipart, SizeLimit};
use std::collections::HashMap;
use std::sync::Arc;

/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 1000;

/// Largest text field (`category`, `description`, the flag): room for the
/// longest description in UTF-8.
pub const MAX_TEXT_FIELD: u64 = 4 * MAX_DESCRIPTION as u64 + 96;

/// The text fields of a form, each allowed once besides the file parts.
const TEXT_FIELDS: usize = 3;

/// The shape of an upload form.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// Name of the file part(s).
    pub file_field: &'static str,
    /// Name of the processing flag.
    pub flag_field: &'static str,
    /// Most file parts.
    pub max_files: usize,
}

impl Form {
    /// `POST /upload/single`: one `file` part, `category`, `description`,
    /// `auto_process`.
    pub const SINGLE: Self = Self {
        file_field: "file",
        flag_field: "auto_process",
        max_files: 1,
    };

    /// `POST /upload/multiple`: up to `max_files` `files` parts,
    /// `category`, `batch_process`.
    pub fn multiple(max_files: usize) -> Self {
        Self {
            file_field: "files",
            flag_field: "batch_process",
            max_files: max_files.max(1),
        }
    }
}

/// A received file: written to its staging file but not yet synced, or
/// (small) held in memory until the commit writes it.
pub struct Part {
    pub(crate) upload: Upload,
    /// Bytes still to write.
    head: Bytes,
    filename: String,
    content_type: Option<String>,
}

/// Everything an upload request said, validated.
pub struct Received {
    /// The files, staged.
    pub files: Vec<Part>,
    /// Their category.
    pub category: String,
    /// Their description.
    pub description: String,
    /// Whether to analyze them after the commit.
    pub process: bool,
}

fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Reads and validates an upload form from `body`: 415 not multipart, 400
/// broken, 413 over the limits (`declared` is the `Content-Length`; a
/// header block, the parts, a text field), 422 naming every bad field.
pub async fn read<S, O, E>(
    store: &Store,
    max_request_bytes: u64,
    form: &Form,
    content_type: Option<&str>,
    declared: Option<&str>,
    body: S,
) -> Result<Received, Error>
where
    S: Stream<Item = Result<O, E>> + Send,
    O: Into<Bytes> + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let content_type = content_type.unwrap_or("");
    if !is_multipart(content_type) {
        return Err(Error::unsupported_media_type("multipart/form-data"));
    }
    let boundary = multer::parse_boundary(content_type).map_err(|e| {
        Error::bad_request(
            "malformed_multipart",
            format!("no usable multipart boundary: {e}"),
        )
    })?;
    crate::api::check_declared_length(declared, max_request_bytes)?;
    let mut framing = Framing::new(&boundary);
    let body = body.map(move |item| {
        let bytes: Bytes = item.map_err(Into::into)?.into();
        framing.scan(&bytes)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(bytes)
    });
    let max_file = store.options().max_file_bytes;
    let limits = SizeLimit::new()
        .whole_stream(max_request_bytes)
        .per_field(MAX_TEXT_FIELD)
        .for_field(form.file_field, max_file);
    let mut multipart =
        Multipart::with_constraints(body, boundary, Constraints::new().size_limit(limits));
    let mut files = Vec::new();
    let mut text: HashMap<String, String> = HashMap::new();
    let mut parts = 0;
    while let Some(mut field) = multipart.next_field().await? {
        parts += 1;
        let name = field.name().unwrap_or_default().to_owned();
        if name == form.file_field {
            let Some(filename) = field.file_name().map(str::to_owned) else {
                return Err(Error::invalid(
                    &name,
                    "not_a_file",
                    format!("`{name}` must be a file part (with a filename)"),
                ));
            };
            if files.len() == form.max_files {
                return Err(Error::invalid(
                    &name,
                    "too_many_files",
                    format!("at most {} file(s) per request", form.max_files),
                ));
            }
            let content_type = field.content_type().map(|m| m.to_string());
            let held: usize = files.iter().map(|p: &Part| p.head.len()).sum();
            let mut incoming = Incoming::new(
                store.begin_upload().map_err(StoreError::from)?,
                super::IO_BUFFER.saturating_sub(held),
            );
            let received = async {
                while let Some(chunk) = field.chunk().await? {
                    incoming.push(chunk).await?;
                }
                Ok::<_, Error>(())
            }
            .await;
            if let Err(e) = received {
                incoming.abort().await;
                return Err(e);
            }
            let (upload, head) = incoming.end().await?;
            files.push(Part {
                upload,
                head,
                filename,
                content_type,
            });
        } else if parts > form.max_files + TEXT_FIELDS {
            return Err(Error::new(
                413,
                "payload_too_large",
                format!(
                    "more than {} parts in the form",
                    form.max_files + TEXT_FIELDS
                ),
            ));
        } else if ["category", "description", form.flag_field].contains(&name.as_str()) {
            let value = field.text().await?;
            text.insert(name, value);
        } else {
            return Err(Error::invalid(
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
) -> Result<Received, Error> {
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

/// Writes the small files held in memory, then syncs and commits every
/// received file in one blocking job (one hand-off to the blocking pool per
/// request, one directory sync per batch): all of them become visible, or
/// none.
pub async fn commit(store: Arc<Store>, received: Received) -> Result<Vec<Arc<FileMeta>>, Error> {
    tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(received.files.len());
        for part in received.files {
            let new = NewFile {
                filename: part.filename,
                content_type: part.content_type,
                category: received.category.clone(),
                description: received.description.clone(),
            };
            let mut upload = part.upload;
            upload.write(&part.head)?;
            batch.push((upload.finish()?, new));
        }
        store.commit_all(batch)
    })
    .await
    .map_err(|e| Error::internal(format!("commit failed: {e}")))?
    .map_err(Error::from)
}
