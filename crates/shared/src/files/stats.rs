//! Counters of the file store, read by `GET /stats`.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters; all monotonic.
#[derive(Debug, Default)]
pub struct Stats {
    uploads: AtomicU64,
    upload_bytes: AtomicU64,
    rejected_uploads: AtomicU64,
    downloads: AtomicU64,
    streams: AtomicU64,
    bytes_out: AtomicU64,
    deletes: AtomicU64,
    evicted: AtomicU64,
    processed: AtomicU64,
    processing_failed: AtomicU64,
    analyze: AtomicU64,
    compress: AtomicU64,
    resize: AtomicU64,
    convert: AtomicU64,
    auto_processed: AtomicU64,
}

/// A copy of the counters plus the store's current size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Files stored now (fixtures, uploads and derived files).
    pub files: u64,
    /// Bytes stored now.
    pub stored_bytes: u64,
    /// Accepted uploaded files.
    pub uploads: u64,
    /// Bytes of accepted uploaded files.
    pub upload_bytes: u64,
    /// Uploads refused (limits, bad input) or broken off.
    pub rejected_uploads: u64,
    /// Download responses started.
    pub downloads: u64,
    /// Stream responses started.
    pub streams: u64,
    /// Bytes sent by downloads and streams.
    pub bytes_out: u64,
    /// Files deleted on request.
    pub deletes: u64,
    /// Oldest uploads removed to stay within the storage quota.
    pub evicted: u64,
    /// Processing jobs finished successfully.
    pub processed: u64,
    /// Processing jobs that failed (e.g. not an image).
    pub processing_failed: u64,
    /// `analyze` jobs.
    pub analyze: u64,
    /// `compress` jobs.
    pub compress: u64,
    /// `resize` jobs.
    pub resize: u64,
    /// `convert` jobs.
    pub convert: u64,
    /// Jobs queued by `auto_process` / `batch_process` uploads.
    pub auto_processed: u64,
}

macro_rules! bump {
    ($($(#[$doc:meta])* $name:ident => $field:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(&self, n: u64) {
            self.$field.fetch_add(n, Relaxed);
        }
    )*};
}

impl Stats {
    bump!(
        /// Counts an accepted file of `n` bytes (call once per file).
        upload_bytes => upload_bytes,
        /// Counts accepted files.
        uploads => uploads,
        /// Counts refused uploads.
        rejected_upload => rejected_uploads,
        /// Counts downloads.
        download => downloads,
        /// Counts streams.
        stream => streams,
        /// Counts bytes sent.
        bytes_out => bytes_out,
        /// Counts deletions.
        delete => deletes,
        /// Counts evictions.
        evicted => evicted,
        /// Counts queued automatic processing.
        auto_processed => auto_processed,
    );

    /// Counts one finished job of `operation`.
    pub fn processed(&self, operation: &str, ok: bool) {
        let per_op = match operation {
            "analyze" => &self.analyze,
            "compress" => &self.compress,
            "resize" => &self.resize,
            _ => &self.convert,
        };
        per_op.fetch_add(1, Relaxed);
        if ok {
            self.processed.fetch_add(1, Relaxed);
        } else {
            self.processing_failed.fetch_add(1, Relaxed);
        }
    }

    /// The counters with the store's current `files` and `stored_bytes`.
    pub fn snapshot(&self, files: u64, stored_bytes: u64) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Relaxed);
        StatsSnapshot {
            files,
            stored_bytes,
            uploads: g(&self.uploads),
            upload_bytes: g(&self.upload_bytes),
            rejected_uploads: g(&self.rejected_uploads),
            downloads: g(&self.downloads),
            streams: g(&self.streams),
            bytes_out: g(&self.bytes_out),
            deletes: g(&self.deletes),
            evicted: g(&self.evicted),
            processed: g(&self.processed),
            processing_failed: g(&self.processing_failed),
            analyze: g(&self.analyze),
            compress: g(&self.compress),
            resize: g(&self.resize),
            convert: g(&self.convert),
            auto_processed: g(&self.auto_processed),
        }
    }
}
