//! The store: a directory with `files/<id>` (content), `meta/<id>.json`
//! (metadata) and `tmp/` (staging), an in-memory index over them, and a
//! storage quota that evicts the oldest non-fixture files.
//!
//! A file becomes visible only once its content and metadata are on disk
//! and renamed into place; at start the store keeps every file whose
//! metadata and content agree, and removes staging leftovers and orphans.

use super::fixtures::{self, FIXTURES};
use super::meta::{FileMeta, NewFile};
use super::names;
use super::stats::{Stats, StatsSnapshot};
use super::upload::{HashingWriter, Staged, TempPath, Upload};
use crate::sync::{read, write};
use crate::ValidationFailure;
use std::collections::{BTreeSet, HashMap};
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
    /// The file system failed.
    #[error("storage error: {0}")]
    Io(#[from] io::Error),
}

#[derive(Default)]
struct Index {
    files: HashMap<String, Arc<FileMeta>>,
    /// `(created_ms, id)`, oldest first.
    order: BTreeSet<(u64, String)>,
    /// Source id to the ids derived from it.
    derived: HashMap<String, BTreeSet<String>>,
    /// Files per category.
    per_category: HashMap<String, usize>,
    /// Bytes and count of non-fixture files (the quota's measure).
    quota_bytes: u64,
    quota_files: usize,
    total_bytes: u64,
}

impl Index {
    fn insert(&mut self, meta: Arc<FileMeta>) -> Option<Arc<FileMeta>> {
        let old = self.remove(&meta.id);
        self.order.insert((meta.created_ms, meta.id.clone()));
        if let Some(src) = &meta.derived_from {
            self.derived
                .entry(src.clone())
                .or_default()
                .insert(meta.id.clone());
        }
        if !meta.fixture {
            self.quota_bytes += meta.size;
            self.quota_files += 1;
        }
        self.total_bytes += meta.size;
        *self.per_category.entry(meta.category.clone()).or_default() += 1;
        self.files.insert(meta.id.clone(), meta);
        old
    }

    fn remove(&mut self, id: &str) -> Option<Arc<FileMeta>> {
        let meta = self.files.remove(id)?;
        self.order.remove(&(meta.created_ms, meta.id.clone()));
        if let Some(src) = &meta.derived_from {
            if let Some(set) = self.derived.get_mut(src) {
                set.remove(id);
                if set.is_empty() {
                    self.derived.remove(src);
                }
            }
        }
        if !meta.fixture {
            self.quota_bytes -= meta.size;
            self.quota_files -= 1;
        }
        self.total_bytes -= meta.size;
        if let Some(n) = self.per_category.get_mut(&meta.category) {
            *n -= 1;
            if *n == 0 {
                self.per_category.remove(&meta.category);
            }
        }
        Some(meta)
    }

    /// Removes `id` and everything derived from it.
    fn remove_tree(&mut self, id: &str) -> Vec<Arc<FileMeta>> {
        let mut out = Vec::new();
        let children: Vec<String> = self
            .derived
            .get(id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for child in children {
            out.extend(self.remove_tree(&child));
        }
        out.extend(self.remove(id));
        out
    }
}

/// A processing output, written and synced in staging.
pub(crate) struct DerivedOutput {
    pub(crate) temp: TempPath,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) content_type: &'static str,
    pub(crate) filename: String,
}

/// The file store.
pub struct Store {
    opts: StoreOptions,
    index: RwLock<Index>,
    stats: Stats,
    staging: AtomicU64,
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
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Store {
    /// Opens (or creates) the store in `opts.dir`: clears staging leftovers,
    /// seeds missing fixtures, and loads every file whose metadata and
    /// content agree (orphans of an interrupted commit are removed).
    pub fn open(opts: StoreOptions) -> io::Result<Self> {
        let store = Self {
            opts,
            index: RwLock::default(),
            stats: Stats::default(),
            staging: AtomicU64::new(0),
        };
        for dir in [store.files_dir(), store.meta_dir(), store.tmp_dir()] {
            fs::create_dir_all(dir)?;
        }
        for entry in fs::read_dir(store.tmp_dir())? {
            let _ = fs::remove_file(entry?.path());
        }
        store.seed_fixtures()?;
        store.load_metadata()?;
        Ok(store)
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.opts
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The counters with the current file count and size.
    pub fn snapshot(&self) -> StatsSnapshot {
        let index = self.read();
        self.stats
            .snapshot(index.files.len() as u64, index.total_bytes)
    }

    fn files_dir(&self) -> PathBuf {
        self.opts.dir.join("files")
    }

    fn meta_dir(&self) -> PathBuf {
        self.opts.dir.join("meta")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.opts.dir.join("tmp")
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        read(&self.index)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        write(&self.index)
    }

    /// Path of a stored file's content. Only metadata from the index names
    /// paths, so ids from clients never reach the file system.
    pub fn content_path(&self, meta: &FileMeta) -> PathBuf {
        self.files_dir().join(&meta.id)
    }

    fn temp_file(&self, what: &str) -> TempPath {
        let n = self.staging.fetch_add(1, Ordering::Relaxed);
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
            let meta_path = self.meta_dir().join(format!("{}.json", f.id));
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
                let _ = fs::remove_file(self.meta_dir().join(format!("{name}.json")));
            }
        }
        Ok(())
    }

    /// Starts an upload in the staging directory, limited to
    /// [`StoreOptions::max_file_bytes`].
    pub fn begin_upload(&self) -> io::Result<Upload> {
        let temp = self.temp_file("part");
        let path = temp.keep();
        Upload::create(path, self.opts.max_file_bytes, self.opts.fsync)
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
    /// none does (a failure removes what was already moved). The
    /// directories are synced once for the whole batch.
    pub fn commit_all(
        &self,
        uploads: Vec<(Staged, NewFile)>,
    ) -> Result<Vec<Arc<FileMeta>>, StoreError> {
        let created_ms = now_ms();
        let items = uploads
            .into_iter()
            .map(|(staged, new)| {
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
        let stored = self.place(items)?;
        self.stats.uploads(stored.len() as u64);
        self.stats
            .upload_bytes(stored.iter().map(|m| m.size).sum::<u64>());
        Ok(stored)
    }

    /// Moves content into place and writes its metadata, for each item;
    /// syncs the directories; then indexes them all at once.
    fn place(&self, items: Vec<(TempPath, FileMeta)>) -> Result<Vec<Arc<FileMeta>>, StoreError> {
        let mut moved: Vec<Arc<FileMeta>> = Vec::with_capacity(items.len());
        let undo = |moved: &[Arc<FileMeta>], e: StoreError| {
            self.remove_from_disk(moved);
            Err(e)
        };
        for (content, meta) in items {
            match self.move_into_place(content, &meta) {
                Ok(()) => moved.push(Arc::new(meta)),
                Err(e) => return undo(&moved, e),
            }
        }
        if self.opts.fsync {
            if let Err(e) = sync_dir(&self.files_dir()).and_then(|()| sync_dir(&self.meta_dir())) {
                return undo(&moved, e.into());
            }
        }
        let evicted = {
            let mut index = self.write();
            // A source deleted while its output was being made takes the
            // output with it.
            let orphan = moved
                .iter()
                .filter_map(|m| m.derived_from.as_ref())
                .find(|src| !index.files.contains_key(src.as_str()))
                .cloned();
            if let Some(src) = orphan {
                drop(index);
                return undo(&moved, StoreError::NotFound(src));
            }
            for m in &moved {
                index.insert(m.clone());
            }
            self.over_quota(&mut index, &moved)
        };
        self.stats.evicted(evicted.len() as u64);
        self.remove_from_disk(&evicted);
        Ok(moved)
    }

    /// Writes `meta` (synced) and renames it and `content` into place.
    fn move_into_place(&self, content: TempPath, meta: &FileMeta) -> Result<(), StoreError> {
        let target = self.files_dir().join(&meta.id);
        let meta_temp = self.temp_file("meta");
        {
            let mut f = File::create(meta_temp.path())?;
            f.write_all(&serde_json::to_vec(meta).map_err(io::Error::other)?)?;
            if self.opts.fsync {
                f.sync_all()?;
            }
        }
        fs::rename(content.path(), &target)?;
        let _ = content.keep();
        let meta_path = self.meta_dir().join(format!("{}.json", meta.id));
        if let Err(e) = fs::rename(meta_temp.path(), &meta_path) {
            let _ = fs::remove_file(&target);
            return Err(e.into());
        }
        let _ = meta_temp.keep();
        Ok(())
    }

    /// Takes the oldest non-fixture files (never those in `keep` or derived
    /// from them) out of the index until the quota holds.
    fn over_quota(&self, index: &mut Index, keep: &[Arc<FileMeta>]) -> Vec<Arc<FileMeta>> {
        let kept = |id: Option<&str>| id.is_some_and(|id| keep.iter().any(|k| k.id == id));
        let mut out = Vec::new();
        while index.quota_bytes > self.opts.max_stored_bytes
            || index.quota_files > self.opts.max_stored_files
        {
            let victim = index
                .order
                .iter()
                .map(|(_, id)| id)
                .find(|id| {
                    !kept(Some(id.as_str()))
                        && index
                            .files
                            .get(*id)
                            .is_some_and(|m| !m.fixture && !kept(m.derived_from.as_deref()))
                })
                .cloned();
            match victim {
                Some(id) => out.extend(index.remove_tree(&id)),
                None => break,
            }
        }
        out
    }

    fn remove_from_disk(&self, files: &[Arc<FileMeta>]) {
        for m in files {
            let _ = fs::remove_file(self.meta_dir().join(format!("{}.json", m.id)));
            let _ = fs::remove_file(self.files_dir().join(&m.id));
        }
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
        let total = match category {
            Some(c) => index.per_category.get(c).copied().unwrap_or(0),
            None => index.files.len(),
        };
        let page = index
            .order
            .iter()
            .rev()
            .filter_map(|(_, id)| index.files.get(id))
            .filter(|m| category.is_none_or(|c| m.category == c))
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        (total, page)
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
        self.stats.delete(1);
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
        let mut placed = self.place(vec![(output.temp, meta)])?;
        placed
            .pop()
            .ok_or_else(|| StoreError::Io(io::Error::other("nothing placed")))
    }

    /// A staging file for processing output.
    pub(crate) fn output_file(&self) -> TempPath {
        self.temp_file("out")
    }
}
