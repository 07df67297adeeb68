//! The storage quota: stored non-fixture files plus the bytes of uploads in
//! progress (reserved as written, given back on commit or abort), with the
//! oldest unprotected files evicted past it; and pins, which keep the files
//! running jobs read (and their ancestors) from eviction.

use super::index::Index;
use super::meta::FileMeta;
use super::store::{Store, StoreError};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Staging bytes counted toward the quota; given back when dropped.
pub(crate) struct Reserved {
    store: Store,
    bytes: u64,
}

impl std::fmt::Debug for Reserved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reserved({})", self.bytes)
    }
}

impl Reserved {
    pub(crate) fn none(store: Store) -> Self {
        Self { store, bytes: 0 }
    }

    /// Reserves `n` more bytes (see [`Store::reserve`]).
    pub(crate) fn grow(&mut self, n: u64) -> Result<(), StoreError> {
        self.store.reserve(n)?;
        self.bytes += n;
        Ok(())
    }

    /// Takes over the bytes of `other`.
    pub(crate) fn absorb(&mut self, mut other: Reserved) {
        self.bytes += std::mem::take(&mut other.bytes);
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.store
                .inner
                .staged
                .fetch_sub(self.bytes, Ordering::SeqCst);
        }
    }
}

/// A file pinned for a running job; unpinned when dropped.
pub(crate) struct Pinned {
    store: Store,
    id: String,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let mut index = self.store.write();
        if let Some(n) = index.pins.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                index.pins.remove(&self.id);
            }
        }
    }
}

impl Store {
    /// Counts `n` more staging bytes toward the quota, evicting the oldest
    /// files for them; refused (nothing evicted) when the uploads in
    /// progress alone would pass the quota.
    pub(crate) fn reserve(&self, n: u64) -> Result<(), StoreError> {
        let limit = self.inner.opts.max_stored_bytes;
        let staged = &self.inner.staged;
        if staged.fetch_add(n, Ordering::SeqCst) + n > limit {
            staged.fetch_sub(n, Ordering::SeqCst);
            return Err(StoreError::Full { limit });
        }
        if self.read().quota_bytes + staged.load(Ordering::SeqCst) <= limit {
            return Ok(());
        }
        let evicted = self.over_quota(&mut self.write(), &[]);
        self.evicted(&evicted);
        Ok(())
    }

    /// Takes the oldest unprotected files (see [`Index::victim`]) out of
    /// the index until stored and staging bytes fit the quota.
    pub(crate) fn over_quota(
        &self,
        index: &mut Index,
        keep: &[Arc<FileMeta>],
    ) -> Vec<Arc<FileMeta>> {
        let opts = &self.inner.opts;
        let mut out = Vec::new();
        while index.quota_bytes + self.inner.staged.load(Ordering::SeqCst) > opts.max_stored_bytes
            || index.quota_files > opts.max_stored_files
        {
            match index.victim(keep) {
                Some(id) => out.extend(index.remove_tree(&id)),
                None => break,
            }
        }
        out
    }

    /// Counts and removes evicted files.
    pub(crate) fn evicted(&self, files: &[Arc<FileMeta>]) {
        if !files.is_empty() {
            self.inner.stats.evicted(files.len() as u64);
            self.remove_from_disk(files);
        }
    }

    /// Removes files (each as [`Store::remove_pair`]) and syncs the
    /// directories.
    pub(crate) fn remove_from_disk(&self, files: &[Arc<FileMeta>]) {
        for m in files {
            self.remove_pair(&m.id);
        }
        if !files.is_empty() {
            if let Err(e) = self.sync_dirs() {
                tracing::warn!("cannot sync the store's directories: {e}");
            }
        }
    }

    /// Syncs `files/` and `meta/` (when fsync is on), so renames into and
    /// removals from them are durable.
    pub(crate) fn sync_dirs(&self) -> std::io::Result<()> {
        if !self.inner.opts.fsync {
            return Ok(());
        }
        #[cfg(test)]
        self.hooks.dir_syncs.fetch_add(2, Ordering::Relaxed);
        super::store::sync_dir(&self.files_dir())?;
        super::store::sync_dir(&self.meta_dir())
    }

    /// The file `id`, pinned against eviction until the pin is dropped.
    pub(crate) fn pin(&self, id: &str) -> Option<(Arc<FileMeta>, Pinned)> {
        let mut index = self.write();
        let meta = index.files.get(id)?.clone();
        *index.pins.entry(meta.id.clone()).or_default() += 1;
        let pin = Pinned {
            store: self.handle(),
            id: meta.id.clone(),
        };
        Some((meta, pin))
    }
}
