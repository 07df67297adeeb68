//! The store: a directory with `files/<id>` (content), `meta/<id>.json`
//! (metadata), `tmp/` (staging) and `batches/` (intents of batch commits),
//! an in-memory index over them, and a storage quota that evicts the oldest
//! non-fixture files.
//!
//! A file becomes visible only once its content and metadata are on disk
//! and renamed into place (see [`super::commit`]); at start the store rolls
//! back interrupted batches, keeps every file whose metadata and content
//! agree, and removes staging leftovers and orphans.

use super::fixtures::{self, FIXTURES};
use super::index::Index;
use super::meta::{FileMeta, NewFile};
use super::names;
use super::quota::Reserved;
use super::stats::{Stats, StatsSnapshot};
use super::upload::{HashingWriter, Staged, TempPath, Upload};
use crate::sync::{read, write};
use crate::ValidationFailure;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Where and how files are kept.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Storage directory (created if missing).
    pub dir: PathBuf,
    /// Sync content, metadata and directories before a file is visible.
    pub fsync: bool,
    /// Largest accepted file.
    pub max_file_bytes: u64,
    /// Quota of non-fixture bytes; the oldest are evicted past it.
    pub max_stored_bytes: u64,
    /// Quota of non-fixture files; the oldest are evicted past it.
    pub max_stored_files: usize,
}

impl StoreOptions {
    /// Defaults for `dir`: fsync on, 128 MiB per file, 4 GiB and 100,000
    /// files of uploads and derived files.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fsync: true,
            max_file_bytes: 128 * 1024 * 1024,
            max_stored_bytes: 4 * 1024 * 1024 * 1024,
            max_stored_files: 100_000,
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No file with that id.
    #[error("no file with id {0:?}")]
    NotFound(String),
    /// A file exceeds the per-file limit.
    #[error("file exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Fixtures cannot be deleted.
    #[error("{0:?} is a seeded fixture and read-only")]
    ReadOnly(String),
    /// An image operation on something that is not a supported image.
    #[error("{0}")]
    NotAnImage(String),
    /// Bad operation parameters.
    #[error("invalid processing request")]
    Invalid(ValidationFailure),
    /// Uploads in progress alone would pass the storage quota.
    #[error("uploads in progress fill the storage quota of {limit} bytes")]
    Full {
        /// The quota in bytes.
        limit: u64,
    },
    /// The file system failed.
    #[error("storage error: {0}")]
    Io(#[from] io::Error),
}

/// A processing output, written and synced in staging.
pub(crate) struct DerivedOutput {
    pub(crate) temp: TempPath,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) content_type: &'static str,
    pub(crate) filename: String,
}

/// Test hooks: a crash point in commits, a step between a processing
/// job's lookup and its open, and a count of directory syncs.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Hooks {
    /// Stop a commit after this many renames (closing a batch's intent
    /// counts as one), as a crash would (nothing undone, nothing indexed).
    pub(crate) crash_after_renames: std::sync::Mutex<Option<usize>>,
    /// Runs once after a processing job looked its source up.
    #[allow(clippy::type_complexity)]
    pub(crate) before_open: std::sync::Mutex<Option<Box<dyn FnOnce(&Store) + Send>>>,
    /// Directory syncs done.
    pub(crate) dir_syncs: AtomicU64,
}

/// The file store. Uploads in progress hold a handle on it (their bytes
/// count toward the quota), so its state is shared.
pub struct Store {
    pub(super) inner: Arc<Inner>,
    #[cfg(test)]
    pub(crate) hooks: Arc<Hooks>,
}

/// The store's state, shared by its handles.
pub(super) struct Inner {
    pub(super) opts: StoreOptions,
    index: RwLock<Index>,
    pub(super) stats: Stats,
    /// Names of staging files.
    temp_names: AtomicU64,
    /// Bytes of uploads in progress (counted toward the quota).
    pub(super) staged: AtomicU64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Syncs a directory so renames into it are durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Store {
    /// Opens (or creates) the store in `opts.dir`: clears staging leftovers,
    /// rolls back interrupted batches, seeds missing fixtures, and loads
    /// every file whose metadata and content agree (orphans of an
    /// interrupted commit are removed).
    pub fn open(opts: StoreOptions) -> io::Result<Self> {
        let store = Self {
            inner: Arc::new(Inner {
                opts,
                index: RwLock::default(),
                stats: Stats::default(),
                temp_names: AtomicU64::new(0),
                staged: AtomicU64::new(0),
            }),
            #[cfg(test)]
            hooks: Arc::default(),
        };
        for dir in [store.files_dir(), store.meta_dir(), store.tmp_dir()] {
            fs::create_dir_all(dir)?;
        }
        for entry in fs::read_dir(store.tmp_dir())? {
            let _ = fs::remove_file(entry?.path());
        }
        store.roll_back_batches()?;
        store.seed_fixtures()?;
        store.load_metadata()?;
        Ok(store)
    }

    /// Another handle on the same store.
    pub(crate) fn handle(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            #[cfg(test)]
            hooks: self.hooks.clone(),
        }
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.opts
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// The counters with the current file count and size.
    pub fn snapshot(&self) -> StatsSnapshot {
        let index = self.read();
        self.inner
            .stats
            .snapshot(index.files.len() as u64, index.total_bytes)
    }

    pub(super) fn files_dir(&self) -> PathBuf {
        self.inner.opts.dir.join("files")
    }

    pub(super) fn meta_dir(&self) -> PathBuf {
        self.inner.opts.dir.join("meta")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.inner.opts.dir.join("tmp")
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, Index> {
        read(&self.inner.index)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Index> {
        write(&self.inner.index)
    }

    /// Path of a stored file's content. Only metadata from the index names
    /// paths, so ids from clients never reach the file system.
    pub fn content_path(&self, meta: &FileMeta) -> PathBuf {
        self.files_dir().join(&meta.id)
    }

    /// Path of a stored file's metadata.
    pub(super) fn meta_path(&self, id: &str) -> PathBuf {
        self.meta_dir().join(format!("{id}.json"))
    }

    /// Removes a file's metadata, then its content (so a crash between the
    /// two leaves only orphan content, removed at the next open).
    pub(super) fn remove_pair(&self, id: &str) {
        let _ = fs::remove_file(self.meta_path(id));
        let _ = fs::remove_file(self.files_dir().join(id));
    }

    pub(super) fn temp_file(&self, what: &str) -> TempPath {
        let n = self.inner.temp_names.fetch_add(1, Ordering::Relaxed);
        TempPath::new(
            self.tmp_dir()
                .join(format!("{}-{n}.{what}", std::process::id())),
        )
    }

    /// Seeds every fixture whose content is missing or the wrong size; an
    /// intact fixture keeps its recorded metadata (no re-hash at restart).
    fn seed_fixtures(&self) -> io::Result<()> {
        let mut index = self.write();
        for f in &FIXTURES {
            let path = self.files_dir().join(f.id);
            let meta_path = self.meta_path(f.id);
            let recorded = fs::read(&meta_path)
                .ok()
                .and_then(|b| serde_json::from_slice::<FileMeta>(&b).ok())
                .filter(|m| m.fixture && m.id == f.id)
                .filter(|m| fs::metadata(&path).is_ok_and(|d| d.len() == m.size));
            let meta = match recorded {
                Some(m) => m,
                None => {
                    let temp = self.temp_file("fixture");
                    let mut out = HashingWriter::new(io::BufWriter::with_capacity(
                        super::IO_BUFFER,
                        File::create(temp.path())?,
                    ));
                    fixtures::write_content(f, &mut out)?;
                    out.flush()?;
                    let HashingWriter { hasher, size, .. } = out;
                    fs::rename(temp.keep(), &path)?;
                    let meta = FileMeta {
                        id: f.id.to_owned(),
                        filename: f.filename.to_owned(),
                        content_type: f.content_type.to_owned(),
                        category: f.category.to_owned(),
                        description: format!("seeded fixture ({})", f.filename),
                        size,
                        sha256: {
                            use sha2::Digest;
                            crate::hex::hex(&hasher.finalize())
                        },
                        created_at: rfc3339(0),
                        created_ms: 0,
                        fixture: true,
                        derived_from: None,
                        operation: None,
                    };
                    let bytes = serde_json::to_vec(&meta).map_err(io::Error::other)?;
                    let temp = self.temp_file("meta");
                    fs::write(temp.path(), bytes)?;
                    fs::rename(temp.keep(), &meta_path)?;
                    meta
                }
            };
            index.insert(Arc::new(meta));
        }
        Ok(())
    }

    fn load_metadata(&self) -> io::Result<()> {
        let mut index = self.write();
        let mut keep = BTreeSet::new();
        let mut loaded = Vec::new();
        for entry in fs::read_dir(self.meta_dir())? {
            let path = entry?.path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if fixtures::find(stem).is_some() {
                continue;
            }
            let meta = fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<FileMeta>(&b).ok())
                .filter(|m| names::is_valid_id(&m.id) && !m.fixture)
                .filter(|m| path.file_name() == Some(format!("{}.json", m.id).as_ref()))
                .filter(|m| {
                    fs::metadata(self.files_dir().join(&m.id)).is_ok_and(|d| d.len() == m.size)
                });
            match meta {
                Some(m) => {
                    keep.insert(m.id.clone());
                    loaded.push(m);
                }
                None => {
                    tracing::warn!(
                        "dropping unreadable or orphaned metadata {}",
                        path.display()
                    );
                    let _ = fs::remove_file(&path);
                }
            }
        }
        // Derived files whose source is gone are dropped with it.
        loaded.retain(|m| {
            m.derived_from
                .as_ref()
                .is_none_or(|s| keep.contains(s) || fixtures::find(s).is_some())
        });
        let kept: BTreeSet<String> = loaded.iter().map(|m| m.id.clone()).collect();
        for m in loaded {
            index.insert(Arc::new(m));
        }
        for entry in fs::read_dir(self.files_dir())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !kept.contains(&name) && fixtures::find(&name).is_none() {
                let _ = fs::remove_file(entry.path());
                let _ = fs::remove_file(self.meta_path(&name));
            }
        }
        Ok(())
    }

    /// Starts an upload in the staging directory (its file is created by
    /// its first write), limited to [`StoreOptions::max_file_bytes`]; its
    /// bytes count toward the quota as they are written.
    pub fn begin_upload(&self) -> io::Result<Upload> {
        Ok(Upload::new(
            self.temp_file("part"),
            self.inner.opts.max_file_bytes,
            self.inner.opts.fsync,
            Reserved::none(self.handle()),
        ))
    }

    /// Makes a staged upload a stored file with a fresh id: renamed into
    /// place, metadata written, directories synced, then indexed. Older
    /// files may be evicted to respect the quota.
    pub fn commit(&self, staged: Staged, new: NewFile) -> Result<Arc<FileMeta>, StoreError> {
        let mut stored = self.commit_all(vec![(staged, new)])?;
        stored
            .pop()
            .ok_or_else(|| StoreError::Io(io::Error::other("nothing committed")))
    }

    /// Commits several uploads at once: all become visible together, or
    /// none does, even across a crash (see [`super::commit`]). The
    /// directories are synced once for the whole batch.
    pub fn commit_all(
        &self,
        uploads: Vec<(Staged, NewFile)>,
    ) -> Result<Vec<Arc<FileMeta>>, StoreError> {
        let created_ms = now_ms();
        let mut reserved = Reserved::none(self.handle());
        let items = uploads
            .into_iter()
            .map(|(staged, new)| {
                reserved.absorb(staged.reserved);
                let meta = FileMeta {
                    id: names::new_id(),
                    filename: names::sanitize_filename(&new.filename),
                    content_type: names::normalize_content_type(new.content_type.as_deref()),
                    category: new.category,
                    description: new.description,
                    size: staged.size,
                    sha256: staged.sha256,
                    created_at: rfc3339(created_ms),
                    created_ms,
                    fixture: false,
                    derived_from: None,
                    operation: None,
                };
                (staged.temp, meta)
            })
            .collect();
        let stored = self.place(items, reserved)?;
        self.inner.stats.uploads(stored.len() as u64);
        self.inner
            .stats
            .upload_bytes(stored.iter().map(|m| m.size).sum::<u64>());
        Ok(stored)
    }

    /// The file called `id`, if it exists (malformed ids never match).
    pub fn get(&self, id: &str) -> Option<Arc<FileMeta>> {
        if !names::is_valid_id(id) {
            return None;
        }
        self.read().files.get(id).cloned()
    }

    /// Files derived from `id`.
    pub fn derived_of(&self, id: &str) -> Vec<Arc<FileMeta>> {
        let index = self.read();
        index
            .derived
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|d| index.files.get(d).cloned())
            .collect()
    }

    /// Newest first: the total number of files in `category` (or all), and
    /// `limit` of them after skipping `offset`.
    pub fn list(
        &self,
        category: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> (usize, Vec<Arc<FileMeta>>) {
        let index = self.read();
        let empty = std::collections::BTreeSet::new();
        let keys = match category {
            Some(c) => index.by_category.get(c).unwrap_or(&empty),
            None => &index.order,
        };
        let page = keys
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .filter_map(|(_, _, id)| index.files.get(id))
            .cloned()
            .collect();
        (keys.len(), page)
    }

    /// Deletes `id` and the files derived from it; fixtures are read-only.
    /// Returns the deleted ids.
    pub fn delete(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let removed = {
            let mut index = self.write();
            match index.files.get(id) {
                None => return Err(StoreError::NotFound(id.to_owned())),
                Some(m) if m.fixture => return Err(StoreError::ReadOnly(id.to_owned())),
                Some(_) => index.remove_tree(id),
            }
        };
        self.remove_from_disk(&removed);
        self.inner.stats.delete(1);
        Ok(removed.iter().map(|m| m.id.clone()).collect())
    }

    /// Stores the output of an operation on `source` as a derived file. Its
    /// id is fixed by source, operation and parameters, so repeating an
    /// operation replaces its earlier output instead of piling up copies.
    pub(crate) fn place_derived(
        &self,
        source: &FileMeta,
        operation: &str,
        key: &str,
        output: DerivedOutput,
    ) -> Result<Arc<FileMeta>, StoreError> {
        let digest = {
            use sha2::Digest;
            crate::hex::hex(&sha2::Sha256::digest(
                format!("{}\n{operation}\n{key}", source.id).as_bytes(),
            ))
        };
        let created_ms = now_ms();
        let meta = FileMeta {
            id: format!("d-{}", &digest[..20]),
            filename: output.filename,
            content_type: output.content_type.to_owned(),
            category: "derived".to_owned(),
            description: format!("{operation} of {} ({key})", source.id),
            size: output.size,
            sha256: output.sha256,
            created_at: rfc3339(created_ms),
            created_ms,
            fixture: false,
            derived_from: Some(source.id.clone()),
            operation: Some(operation.to_owned()),
        };
        let mut placed = self.place(vec![(output.temp, meta)], Reserved::none(self.handle()))?;
        placed
            .pop()
            .ok_or_else(|| StoreError::Io(io::Error::other("nothing placed")))
    }

    /// A staging file for processing output.
    pub(crate) fn output_file(&self) -> TempPath {
        self.temp_file("out")
    }
}
