//! What the store knows about a file, as kept on disk (`meta/<id>.json`)
//! and shown by `info`.

use serde::{Deserialize, Serialize};

/// Metadata of one stored file; immutable once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Server-generated id.
    pub id: String,
    /// The client's file name, sanitized (metadata only, never a path).
    pub filename: String,
    /// Media type served on download.
    pub content_type: String,
    /// Category slug.
    pub category: String,
    /// Free text from the uploader.
    pub description: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the content.
    pub sha256: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Creation time in milliseconds since the epoch (ordering).
    pub created_ms: u64,
    /// Whether it is a seeded fixture (read-only).
    #[serde(default)]
    pub fixture: bool,
    /// The file this one was derived from by processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<String>,
    /// The operation that produced it (`compress`, `resize`, `convert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

impl FileMeta {
    /// Strong `ETag` value: the quoted sha256.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }
}

/// What an uploader says about a new file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFile {
    /// Client file name (sanitized by the store).
    pub filename: String,
    /// Declared content type (normalized by the store).
    pub content_type: Option<String>,
    /// Category slug (checked by the caller).
    pub category: String,
    /// Description.
    pub description: String,
}
