//! An append-only journal of accepted tasks and of their ends, so a
//! restarted server resumes what was accepted and not finished. A submit
//! line is synced before the submit is answered; finish lines are not (a
//! crash can at worst run a finished task again: at-least-once). At open,
//! the journal is read (a torn last line is ignored) and rewritten with
//! only the unfinished tasks.

use super::model::{Status, Task, TaskSpec};
use crate::sync::lock;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Line {
    Submit {
        id: String,
        spec: TaskSpec,
        /// Submission time, ms since the epoch (delays resume from it).
        at_ms: u64,
    },
    Finish {
        id: String,
        status: Status,
    },
}

/// The journal file.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

/// A task to resume: its id and spec (delay shortened by the time passed).
pub type Resumed = (String, TaskSpec);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Journal {
    /// Opens (or creates) the journal at `path` and returns the tasks it
    /// holds that never finished, oldest first.
    pub fn open(path: impl AsRef<Path>) -> io::Result<(Self, Vec<Resumed>)> {
        let path = path.as_ref().to_path_buf();
        let mut pending: Vec<(String, TaskSpec, u64)> = Vec::new();
        // A task can finish before its submit line is written (the line is
        // synced off the reactor while the task already runs): a finished
        // id stays finished whatever comes after it.
        let mut finished: HashSet<String> = HashSet::new();
        if let Ok(f) = File::open(&path) {
            for line in BufReader::new(f).lines() {
                let Ok(line) = serde_json::from_str::<Line>(&line?) else {
                    continue;
                };
                match line {
                    Line::Submit { id, spec, at_ms } => {
                        if !finished.contains(&id) {
                            pending.retain(|(p, _, _)| *p != id);
                            pending.push((id, spec, at_ms));
                        }
                    }
                    Line::Finish { id, .. } => {
                        pending.retain(|(p, _, _)| *p != id);
                        finished.insert(id);
                    }
                }
            }
        }
        // Compact: only what is still to do survives.
        let tmp = path.with_extension("compacting");
        {
            let mut out = File::create(&tmp)?;
            for (id, spec, at_ms) in &pending {
                let line = Line::Submit {
                    id: id.clone(),
                    spec: spec.clone(),
                    at_ms: *at_ms,
                };
                out.write_all(&to_line(&line)?)?;
            }
            out.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        let file = OpenOptions::new().append(true).open(&path)?;
        let now = now_ms();
        let resumed = pending
            .into_iter()
            .map(|(id, mut spec, at_ms)| {
                let passed = now.saturating_sub(at_ms) / 1000;
                spec.delay_seconds = spec.delay_seconds.saturating_sub(passed);
                (id, spec)
            })
            .collect();
        Ok((
            Self {
                path,
                file: Mutex::new(file),
            },
            resumed,
        ))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records an accepted task durably (synced before returning).
    pub fn submitted(&self, id: &str, spec: &TaskSpec) -> io::Result<()> {
        let line = to_line(&Line::Submit {
            id: id.to_owned(),
            spec: spec.clone(),
            at_ms: now_ms(),
        })?;
        let mut f = lock(&self.file);
        f.write_all(&line)?;
        f.sync_data()
    }

    /// Records that a task finished (not synced).
    pub fn finished(&self, task: &Task) -> io::Result<()> {
        let line = to_line(&Line::Finish {
            id: task.id.clone(),
            status: task.status,
        })?;
        lock(&self.file).write_all(&line)
    }
}

fn to_line(line: &Line) -> io::Result<Vec<u8>> {
    let mut v = serde_json::to_vec(line).map_err(io::Error::other)?;
    v.push(b'\n');
    Ok(v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tasks::{Priority, TaskType};

    fn spec(delay: u64) -> TaskSpec {
        TaskSpec {
            task_type: TaskType::Computation,
            priority: Priority::High,
            payload: serde_json::json!({"iterations": 10}),
            delay_seconds: delay,
            max_retries: 1,
            timeout_seconds: 5,
        }
    }

    #[test]
    fn unfinished_tasks_come_back_and_the_file_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasks.journal");
        let (j, resumed) = Journal::open(&path).unwrap();
        assert!(resumed.is_empty());
        j.submitted("a", &spec(0)).unwrap();
        j.submitted("b", &spec(3600)).unwrap();
        j.submitted("c", &spec(0)).unwrap();
        let mut done = crate::tasks::Task {
            id: "a".into(),
            task_type: TaskType::Computation,
            priority: Priority::High,
            payload: serde_json::Value::Null,
            status: Status::Completed,
            created_at: String::new(),
            started_at: None,
            completed_at: None,
            progress: 1.0,
            result: None,
            error: None,
            retry_count: 0,
            attempts: 1,
            max_retries: 0,
            timeout_seconds: 1,
            delay_seconds: 0,
            cancel_requested: false,
            batch_id: None,
        };
        j.finished(&done).unwrap();
        // "d" finished before its submit line was written: still finished.
        done.id = "d".into();
        j.finished(&done).unwrap();
        j.submitted("d", &spec(0)).unwrap();
        done.id = "c".into();
        drop(j);
        // A crash mid-line leaves a torn tail.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"op":"finish","id":"c"#).unwrap();
        drop(f);
        let (_, resumed) = Journal::open(&path).unwrap();
        let ids: Vec<&str> = resumed.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(resumed[0].1.delay_seconds, 3600);
        assert_eq!(resumed[0].1.priority, Priority::High);
        let lines = fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 2, "compacted: {lines}");
    }
}
