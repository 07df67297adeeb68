//! The JSON shape of a file as listed, uploaded and described.

use super::FileMeta;
use serde_json::{json, Value};

/// A file's metadata and its URLs.
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
