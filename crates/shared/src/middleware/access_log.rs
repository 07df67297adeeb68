//! The access log: one JSON line per request, appended with one `write`
//! so lines from many threads (or processes) never interleave.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One request as logged.
#[derive(Debug, Clone, Serialize)]
pub struct Entry<'a> {
    /// When it was answered: RFC 3339, UTC, milliseconds.
    pub time: String,
    /// Its request id.
    pub request_id: &'a str,
    /// Its method.
    pub method: &'a str,
    /// Its path, without the query.
    pub path: &'a str,
    /// The status answered.
    pub status: u16,
    /// From entering the log layer to the answer.
    pub duration_ms: f64,
    /// The token's subject, when one was accepted.
    pub subject: Option<&'a str>,
}

impl Entry<'_> {
    /// The current time as [`Entry::time`] writes it.
    pub fn now() -> String {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

/// An access-log file, opened for appending.
#[derive(Debug)]
pub struct AccessLog {
    file: File,
    path: PathBuf,
}

impl AccessLog {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    /// Where the lines go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` as one line.
    pub fn write(&self, entry: &Entry<'_>) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        (&self.file).write_all(&line)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_are_appended_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = std::sync::Arc::new(AccessLog::open(&path).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..250 {
                        let id = format!("t{t}-{i}");
                        log.write(&Entry {
                            time: Entry::now(),
                            request_id: &id,
                            method: "GET",
                            path: "/middleware-heavy",
                            status: 200,
                            duration_ms: 0.5,
                            subject: (i % 2 == 0).then_some("bench-user"),
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[0]["method"], "GET");
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    }
}
