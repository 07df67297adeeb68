//! The store's in-memory index: files by id, by age and by category and
//! age (a category's page walks only its own files), derivations, the
//! quota's measure, and the files pinned by running jobs.

use super::meta::FileMeta;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct Index {
    pub(crate) files: HashMap<String, Arc<FileMeta>>,
    /// `(created_ms, insertion, id)`, oldest first (files of the same
    /// millisecond in the order they were indexed).
    pub(crate) order: BTreeSet<(u64, u64, String)>,
    /// Insertion number of each file, and the next one.
    inserted: HashMap<String, u64>,
    insertions: u64,
    /// Source id to the ids derived from it.
    pub(crate) derived: HashMap<String, BTreeSet<String>>,
    /// The same keys as `order`, per category.
    pub(crate) by_category: HashMap<String, BTreeSet<(u64, u64, String)>>,
    /// Bytes and count of non-fixture files (the quota's measure).
    pub(crate) quota_bytes: u64,
    pub(crate) quota_files: usize,
    pub(crate) total_bytes: u64,
    /// Files a processing job reads, with the number of such jobs.
    pub(crate) pins: HashMap<String, usize>,
}

impl Index {
    pub(crate) fn insert(&mut self, meta: Arc<FileMeta>) -> Option<Arc<FileMeta>> {
        let old = self.remove(&meta.id);
        self.insertions += 1;
        self.inserted.insert(meta.id.clone(), self.insertions);
        let key = (meta.created_ms, self.insertions, meta.id.clone());
        self.by_category
            .entry(meta.category.clone())
            .or_default()
            .insert(key.clone());
        self.order.insert(key);
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
        self.files.insert(meta.id.clone(), meta);
        old
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Arc<FileMeta>> {
        let meta = self.files.remove(id)?;
        let n = self.inserted.remove(id).unwrap_or_default();
        let key = (meta.created_ms, n, meta.id.clone());
        if let Some(set) = self.by_category.get_mut(&meta.category) {
            set.remove(&key);
            if set.is_empty() {
                self.by_category.remove(&meta.category);
            }
        }
        self.order.remove(&key);
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
        Some(meta)
    }

    /// Removes `id` and everything derived from it.
    pub(crate) fn remove_tree(&mut self, id: &str) -> Vec<Arc<FileMeta>> {
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

    /// The files eviction must spare: `keep`, the pinned ones, and every
    /// ancestor of those (evicting a file takes its derived files along).
    fn protected(&self, keep: &[Arc<FileMeta>]) -> HashSet<String> {
        let mut out = HashSet::new();
        let starts = keep.iter().map(|m| m.id.as_str());
        for start in starts.chain(self.pins.keys().map(String::as_str)) {
            let mut id = Some(start.to_owned());
            while let Some(current) = id {
                if !out.insert(current.clone()) {
                    break;
                }
                id = self
                    .files
                    .get(&current)
                    .and_then(|m| m.derived_from.clone());
            }
        }
        out
    }

    /// The oldest file eviction may take (with its derived files): not a
    /// fixture, not protected, not derived from a file of `keep`.
    pub(crate) fn victim(&self, keep: &[Arc<FileMeta>]) -> Option<String> {
        let protected = self.protected(keep);
        let kept = |id: Option<&str>| id.is_some_and(|id| keep.iter().any(|k| k.id == id));
        self.order
            .iter()
            .map(|(_, _, id)| id)
            .find(|id| {
                !protected.contains(*id)
                    && self
                        .files
                        .get(*id)
                        .is_some_and(|m| !m.fixture && !kept(m.derived_from.as_deref()))
            })
            .cloned()
    }
}
