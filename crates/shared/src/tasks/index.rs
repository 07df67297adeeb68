//! The task table's listing index: creation numbers of the records by
//! status × type × priority (at most 144 sets). A filtered listing merges
//! the matching sets newest first and stops at the end of its page, and a
//! count sums the matching sets' sizes, so neither looks at records that
//! do not match, whatever the table holds.

use super::model::{Priority, Status, TaskType};
use std::collections::{BTreeSet, BinaryHeap, HashMap};

/// Where a record is filed.
pub(crate) type Key = (Status, TaskType, Priority);

/// What a listing asks for (`None`: any).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only this kind of work.
    pub task_type: Option<TaskType>,
    /// Only this priority.
    pub priority: Option<Priority>,
}

impl Filter {
    fn admits(&self, (s, t, p): &Key) -> bool {
        self.status.is_none_or(|x| x == *s)
            && self.task_type.is_none_or(|x| x == *t)
            && self.priority.is_none_or(|x| x == *p)
    }
}

/// Creation numbers by status × type × priority.
#[derive(Debug, Default)]
pub(crate) struct TaskIndex {
    sets: HashMap<Key, BTreeSet<u64>>,
}

impl TaskIndex {
    /// Files record `seq` under `key`.
    pub(crate) fn insert(&mut self, key: Key, seq: u64) {
        self.sets.entry(key).or_default().insert(seq);
    }

    /// Removes record `seq` from `key`.
    pub(crate) fn remove(&mut self, key: Key, seq: u64) {
        if let Some(set) = self.sets.get_mut(&key) {
            set.remove(&seq);
        }
    }

    /// Refiles record `seq` from `from` to `to`.
    pub(crate) fn refile(&mut self, from: Key, to: Key, seq: u64) {
        if from != to {
            self.remove(from, seq);
            self.insert(to, seq);
        }
    }

    /// How many records match.
    pub(crate) fn count(&self, filter: &Filter) -> usize {
        self.sets
            .iter()
            .filter(|(k, _)| filter.admits(k))
            .map(|(_, s)| s.len())
            .sum()
    }

    /// Creation numbers of the matching records, newest first, from
    /// `offset` on, at most `limit`: a merge of the matching sets that
    /// takes `offset + limit` steps.
    pub(crate) fn page(&self, filter: &Filter, offset: usize, limit: usize) -> Vec<u64> {
        let mut runs: Vec<_> = self
            .sets
            .iter()
            .filter(|(k, s)| filter.admits(k) && !s.is_empty())
            .map(|(_, s)| s.iter().rev().peekable())
            .collect();
        let mut heads: BinaryHeap<(u64, usize)> = runs
            .iter_mut()
            .enumerate()
            .filter_map(|(i, r)| r.peek().map(|&&seq| (seq, i)))
            .collect();
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut skipped = 0;
        while out.len() < limit {
            let Some((seq, i)) = heads.pop() else {
                break;
            };
            runs[i].next();
            if let Some(&&next) = runs[i].peek() {
                heads.push((next, i));
            }
            if skipped < offset {
                skipped += 1;
            } else {
                out.push(seq);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const TYPES: [TaskType; 3] = [
        TaskType::Computation,
        TaskType::IoOperation,
        TaskType::EmailSending,
    ];

    fn random_key(rng: &mut impl Rng) -> Key {
        (
            Status::ALL[rng.random_range(0..Status::ALL.len())],
            TYPES[rng.random_range(0..TYPES.len())],
            Priority::ALL[rng.random_range(0..Priority::ALL.len())],
        )
    }

    fn random_filter(rng: &mut impl Rng) -> Filter {
        let (s, t, p) = random_key(rng);
        Filter {
            status: rng.random_bool(0.5).then_some(s),
            task_type: rng.random_bool(0.5).then_some(t),
            priority: rng.random_bool(0.5).then_some(p),
        }
    }

    /// Pages and counts equal a brute-force filter over the same records,
    /// through inserts, refiles and removals.
    #[test]
    fn pages_and_counts_equal_a_scan() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(18);
        let mut index = TaskIndex::default();
        let mut records: Vec<Option<Key>> = Vec::new();
        for step in 0..4000u64 {
            match rng.random_range(0..10) {
                0..=5 => {
                    let key = random_key(&mut rng);
                    index.insert(key, step);
                    records.resize(step as usize + 1, None);
                    records[step as usize] = Some(key);
                }
                6..=8 if !records.is_empty() => {
                    let seq = rng.random_range(0..records.len());
                    if let Some(from) = records[seq] {
                        let to = random_key(&mut rng);
                        index.refile(from, to, seq as u64);
                        records[seq] = Some(to);
                    }
                }
                _ if !records.is_empty() => {
                    let seq = rng.random_range(0..records.len());
                    if let Some(key) = records[seq].take() {
                        index.remove(key, seq as u64);
                    }
                }
                _ => {}
            }
            if step % 50 == 0 {
                let filter = random_filter(&mut rng);
                let all: Vec<u64> = (0..records.len())
                    .rev()
                    .filter(|&i| records[i].is_some_and(|k| filter.admits(&k)))
                    .map(|i| i as u64)
                    .collect();
                assert_eq!(index.count(&filter), all.len(), "{filter:?}");
                let (offset, limit) = (rng.random_range(0..40), rng.random_range(0..30));
                let want: Vec<u64> = all.iter().skip(offset).take(limit).copied().collect();
                assert_eq!(index.page(&filter, offset, limit), want, "{filter:?}");
            }
        }
    }
}
