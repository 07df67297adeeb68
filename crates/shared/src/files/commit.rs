//! The commit protocol. Each file: metadata written (synced) in staging,
//! content then metadata renamed into place; then the directories synced
//! once and the batch indexed. A file is visible after a restart only when
//! both renames happened. A batch of several files first writes an intent
//! record (`batches/<n>.json`, the ids to come, synced) and removes it as
//! its last step, once every file is in place and synced: a store opened
//! with intents left by a crash removes their files, so a batch survives a
//! crash whole or not at all.

use super::meta::FileMeta;
use super::quota::Reserved;
use super::store::{sync_dir, Store, StoreError};
use super::upload::TempPath;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// The intent record of a batch being committed.
struct Intent(PathBuf);

impl Store {
    fn batches_dir(&self) -> PathBuf {
        self.inner.opts.dir.join("batches")
    }

    /// Moves content into place and writes its metadata, for each item;
    /// syncs the directories; then indexes them all at once, turning the
    /// reservation of their staging bytes into stored bytes. A failure
    /// removes what was already moved.
    pub(crate) fn place(
        &self,
        items: Vec<(TempPath, FileMeta)>,
        reserved: Reserved,
    ) -> Result<Vec<Arc<FileMeta>>, StoreError> {
        let intent = match items.len() {
            0 | 1 => None,
            _ => Some(self.write_intent(&items)?),
        };
        let mut moved: Vec<Arc<FileMeta>> = Vec::with_capacity(items.len());
        let undo = |moved: &[Arc<FileMeta>], intent: Option<Intent>, e: StoreError| {
            self.remove_from_disk(moved);
            if let Some(Intent(path)) = intent {
                let _ = fs::remove_file(path);
            }
            Err(e)
        };
        let mut renames = 0;
        for (content, meta) in items {
            match self.move_into_place(content, &meta, &mut renames) {
                Ok(()) => moved.push(Arc::new(meta)),
                Err(Step::Crashed) => return Err(crashed()),
                Err(Step::Failed(e)) => return undo(&moved, intent, e),
            }
        }
        if let Err(e) = self.sync_dirs() {
            return undo(&moved, intent, e.into());
        }
        if let Some(intent) = intent {
            if self.crash_at(renames) {
                return Err(crashed());
            }
            if let Err(e) = self.close_intent(&intent) {
                return undo(&moved, Some(intent), e.into());
            }
        }
        let evicted = {
            let mut index = self.write();
            // A source deleted while its output was being made takes the
            // output with it (outputs are single files: no intent).
            let orphan = moved
                .iter()
                .filter_map(|m| m.derived_from.as_ref())
                .find(|src| !index.files.contains_key(src.as_str()))
                .cloned();
            if let Some(src) = orphan {
                drop(index);
                return undo(&moved, None, StoreError::NotFound(src));
            }
            for m in &moved {
                index.insert(m.clone());
            }
            drop(reserved);
            self.over_quota(&mut index, &moved)
        };
        self.evicted(&evicted);
        Ok(moved)
    }

    /// Writes `meta` (synced) and renames `content`, then it, into place.
    fn move_into_place(
        &self,
        content: TempPath,
        meta: &FileMeta,
        renames: &mut usize,
    ) -> Result<(), Step> {
        let target = self.files_dir().join(&meta.id);
        let meta_temp =
            self.write_synced("meta", &serde_json::to_vec(meta).map_err(io::Error::other)?)?;
        if self.crash_at(*renames) {
            return Err(Step::Crashed);
        }
        fs::rename(content.path(), &target)?;
        let _ = content.keep();
        *renames += 1;
        if self.crash_at(*renames) {
            return Err(Step::Crashed);
        }
        let meta_path = self.meta_path(&meta.id);
        if let Err(e) = fs::rename(meta_temp.path(), &meta_path) {
            let _ = fs::remove_file(&target);
            return Err(Step::Failed(e.into()));
        }
        let _ = meta_temp.keep();
        *renames += 1;
        Ok(())
    }

    /// Records the ids of a batch about to be placed, durably.
    fn write_intent(&self, items: &[(TempPath, FileMeta)]) -> Result<Intent, StoreError> {
        let ids: Vec<&str> = items.iter().map(|(_, m)| m.id.as_str()).collect();
        let temp = self.write_synced(
            "batch",
            &serde_json::to_vec(&ids).map_err(io::Error::other)?,
        )?;
        let name = temp
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = self.batches_dir().join(format!("{name}.json"));
        fs::rename(temp.keep(), &path)?;
        self.sync_batches_dir()?;
        Ok(Intent(path))
    }

    /// The batch's last step: its files are in place and synced.
    fn close_intent(&self, intent: &Intent) -> io::Result<()> {
        fs::remove_file(&intent.0)?;
        self.sync_batches_dir()
    }

    /// Syncs `batches/` (when fsync is on), so an intent's creation or
    /// removal is durable.
    fn sync_batches_dir(&self) -> io::Result<()> {
        if self.inner.opts.fsync {
            sync_dir(&self.batches_dir())?;
        }
        Ok(())
    }

    /// A staging file holding `bytes`, synced when fsync is on.
    fn write_synced(&self, what: &str, bytes: &[u8]) -> io::Result<TempPath> {
        let temp = self.temp_file(what);
        let mut f = File::create(temp.path())?;
        f.write_all(bytes)?;
        if self.inner.opts.fsync {
            f.sync_all()?;
        }
        Ok(temp)
    }

    /// At open: removes the files of batches a crash interrupted, then
    /// their intents.
    pub(crate) fn roll_back_batches(&self) -> io::Result<()> {
        fs::create_dir_all(self.batches_dir())?;
        let intents: Vec<PathBuf> = fs::read_dir(self.batches_dir())?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        if intents.is_empty() {
            return Ok(());
        }
        for path in &intents {
            let ids: Vec<String> = fs::read(path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            tracing::warn!("rolling back an interrupted batch of {} file(s)", ids.len());
            for id in ids.iter().filter(|id| super::names::is_valid_id(id)) {
                self.remove_pair(id);
            }
        }
        self.sync_dirs()?;
        for path in &intents {
            fs::remove_file(path)?;
        }
        self.sync_batches_dir()
    }

    /// Whether a test's simulated crash stops a commit after `renames`.
    #[cfg(test)]
    fn crash_at(&self, renames: usize) -> bool {
        crate::sync::lock(&self.hooks.crash_after_renames).is_some_and(|k| renames >= k)
    }

    #[cfg(not(test))]
    #[inline(always)]
    fn crash_at(&self, _renames: usize) -> bool {
        false
    }
}

/// How a step of a commit ended.
enum Step {
    Failed(StoreError),
    /// A test's simulated crash: stop with nothing undone.
    Crashed,
}

impl From<io::Error> for Step {
    fn from(e: io::Error) -> Self {
        Self::Failed(e.into())
    }
}

fn crashed() -> StoreError {
    StoreError::Io(io::Error::other("simulated crash"))
}
