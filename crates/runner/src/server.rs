//! A server under test, started from its registry command on a free port:
//! wait until healthy, notice when its process died (and how), restart it,
//! stop it. Both `verify --framework` and `run` use it. An external server
//! (`runner run --url`) is one that someone else started: it is measured
//! where it is, never restarted or stopped, and sampled only when its
//! process id on this machine is known.

use crate::managed::Managed;
use crate::registry::with_port;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Label for logs and messages (`fastapi-basic`).
    pub label: String,
    /// Command with `{port}`.
    pub command: Vec<String>,
    /// Path answering 2xx once ready.
    pub health: String,
    /// Directory the command runs in.
    pub root: PathBuf,
    /// Log file (stdout and stderr, appended across restarts).
    pub log: PathBuf,
    /// How long it may take to become healthy.
    pub startup_timeout: Duration,
    /// CPUs its process tree is pinned to (`taskset -c` list), if any.
    pub cpus: Option<String>,
    /// A database on the project's PostgreSQL cluster, dropped and created
    /// empty before each start (the server seeds it) and named to the
    /// server in `BENCH_DATABASE_URL`; `None` for a server without one.
    pub database: Option<String>,
    /// The upstream HTTP server it calls (the `async_operations` category),
    /// named to it in `BENCH_UPSTREAM_URL` and sampled beside it.
    pub upstream: Option<crate::upstream::Upstream>,
}

/// `command` pinned to `cpus` (through `taskset -c`, which execs it: the pid
/// stays the program's), or a copy of it as is.
pub fn pin(command: &Command, cpus: Option<&str>) -> Command {
    let argv: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let argv = pinned(argv, cpus);
    let mut out = Command::new(&argv[0]);
    out.args(&argv[1..]);
    out
}

/// `argv` run pinned to `cpus` (through `taskset -c`, which execs it: the
/// pid stays the program's), or as is.
pub fn pinned(argv: Vec<String>, cpus: Option<&str>) -> Vec<String> {
    match cpus {
        Some(list) => ["taskset", "-c", list]
            .into_iter()
            .map(str::to_owned)
            .chain(argv)
            .collect(),
        None => argv,
    }
}

/// A server process found dead, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    /// What was running when it died: `verify: <check>`, `load: <target>`.
    pub during: String,
    /// How it ended (`killed by signal 6 (SIGABRT)`, `exited with status 1`).
    pub status: String,
    /// The last lines of its log.
    pub log_tail: String,
}

/// A running server.
pub struct Server {
    origin: Origin,
    url: String,
    /// The database it was given (`Launch::database`), by URL.
    database_url: Option<String>,
    /// Times it was started (1 + restarts).
    pub starts: u32,
}

/// Who started a server.
enum Origin {
    /// The runner, from a registry command.
    Started {
        launch: Box<Launch>,
        process: Managed,
    },
    /// Someone else; its process on this machine, if known.
    External { pid: Option<u32> },
}

/// A port nobody listens on now.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The last five lines of a log, on one line.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// How a process ended, in words.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => {
            let name = nix::sys::signal::Signal::try_from(sig)
                .map(|s| format!(" ({})", s.as_str()))
                .unwrap_or_default();
            format!(
                "killed by signal {sig}{name}{}",
                if status.core_dumped() {
                    ", core dumped"
                } else {
                    ""
                }
            )
        }
        _ => status.to_string(),
    }
}

/// Whether `GET path` on `port` answers 2xx (a bare HTTP/1.1 exchange, so
/// no runtime is needed).
fn healthy(port: u16, path: &str) -> bool {
    let probe = || -> std::io::Result<bool> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.set_write_timeout(Some(Duration::from_secs(2)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        )?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.") && head[9] == b'2')
    };
    probe().unwrap_or(false)
}

impl Server {
    /// Starts the server on a free port and waits until `health` answers 2xx.
    pub fn start(launch: &Launch) -> Result<Self> {
        let (process, url, database_url) = spawn(launch)?;
        Ok(Self {
            origin: Origin::Started {
                launch: Box::new(launch.clone()),
                process,
            },
            url,
            database_url,
            starts: 1,
        })
    }

    /// A server someone else started at `url` (`pid`: its process on this
    /// machine, if it runs here and should be sampled).
    pub fn external(url: &str, pid: Option<u32>) -> Self {
        Self {
            origin: Origin::External { pid },
            url: url.trim_end_matches('/').to_owned(),
            database_url: None,
            starts: 1,
        }
    }

    /// Whether someone else started it.
    pub fn is_external(&self) -> bool {
        matches!(self.origin, Origin::External { .. })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Process id (the root of its process tree), when known.
    pub fn pid(&self) -> Option<u32> {
        match &self.origin {
            Origin::Started { process, .. } => Some(process.pid()),
            Origin::External { pid } => *pid,
        }
    }

    /// The URL of the database it was given, if any.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The root of the process tree of the database server it uses, when
    /// it uses one (sampled beside its own).
    pub fn database_pid(&self) -> Option<u32> {
        match &self.origin {
            Origin::Started { launch, .. } if launch.database.is_some() => {
                crate::database::cluster_pid()
            }
            _ => None,
        }
    }

    /// The process of the upstream server it calls, when it calls one
    /// (sampled beside its own).
    pub fn upstream_pid(&self) -> Option<u32> {
        match &self.origin {
            Origin::Started { launch, .. } => launch.upstream.as_ref().and_then(|u| u.pid),
            _ => None,
        }
    }

    /// The log file of a started server.
    pub fn log(&self) -> Option<&Path> {
        match &self.origin {
            Origin::Started { launch, .. } => Some(&launch.log),
            Origin::External { .. } => None,
        }
    }

    /// How the process ended, if it has (an external server's only when its
    /// process id is known).
    pub fn exited(&mut self) -> Option<String> {
        match &mut self.origin {
            Origin::Started { process, .. } => process.try_status().map(describe),
            Origin::External { pid: Some(pid) } => (!Path::new(&format!("/proc/{pid}")).exists())
                .then(|| format!("process {pid} is gone")),
            Origin::External { pid: None } => None,
        }
    }

    /// If the process died, a record of it, blamed on `during`.
    pub fn crash(&mut self, during: &str) -> Option<Crash> {
        let status = self.exited()?;
        Some(Crash {
            during: during.to_owned(),
            status,
            log_tail: self.log().map(log_tail).unwrap_or_default(),
        })
    }

    /// Starts the server again (after a crash, or for a fresh store) on a
    /// new port; an external server cannot be.
    pub fn restart(&mut self, reason: &str) -> Result<()> {
        let Origin::Started { launch, process } = &mut self.origin else {
            bail!("an external server cannot be restarted ({reason})");
        };
        process.stop(Duration::from_secs(5));
        if let Ok(mut log) = std::fs::OpenOptions::new().append(true).open(&launch.log) {
            let _ = writeln!(log, "--- restarted by the runner: {reason} ---");
        }
        let (fresh, url, database_url) = spawn(launch)?;
        *process = fresh;
        self.url = url;
        self.database_url = database_url;
        self.starts += 1;
        Ok(())
    }

    /// Stops a started server (SIGTERM, up to 30 s, then SIGKILL); false
    /// when it had to be killed. An external server is left running.
    pub fn stop(self) -> bool {
        match self.origin {
            Origin::Started { mut process, .. } => process.stop(Duration::from_secs(30)).is_some(),
            Origin::External { .. } => true,
        }
    }
}

/// Starts a launch's process (its database recreated first) and waits
/// until it is healthy: the process, its URL and its database's URL.
fn spawn(launch: &Launch) -> Result<(Managed, String, Option<String>)> {
    let port = free_port()?;
    let argv = pinned(with_port(&launch.command, port), launch.cpus.as_deref());
    let (program, args) = argv.split_first().context("empty command")?;
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(&launch.root);
    let database_url = match &launch.database {
        Some(name) => {
            let url = contract::postgres::fresh_database(name)
                .with_context(|| format!("a fresh database for {}", launch.label))?;
            cmd.env("BENCH_DATABASE_URL", &url);
            Some(url)
        }
        None => None,
    };
    if let Some(upstream) = &launch.upstream {
        cmd.env("BENCH_UPSTREAM_URL", &upstream.url);
    }
    let mut process = Managed::spawn(&mut cmd, Some(&launch.log), false)
        .with_context(|| format!("starting {}: {}", launch.label, argv.join(" ")))?;
    let deadline = Instant::now() + launch.startup_timeout;
    loop {
        if let Some(status) = process.try_status() {
            bail!(
                "{} {} before it was healthy: {}",
                launch.label,
                describe(status),
                log_tail(&launch.log)
            );
        }
        if healthy(port, &launch.health) {
            return Ok((process, format!("http://127.0.0.1:{port}"), database_url));
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not answer GET {} within {:?}: {}",
                launch.label,
                launch.health,
                launch.startup_timeout,
                log_tail(&launch.log)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_in_words() {
        assert_eq!(
            describe(ExitStatus::from_raw(1 << 8)),
            "exited with status 1"
        );
        assert_eq!(
            describe(ExitStatus::from_raw(6)),
            "killed by signal 6 (SIGABRT)"
        );
        assert_eq!(
            describe(ExitStatus::from_raw(6 | 0x80)),
            "killed by signal 6 (SIGABRT), core dumped"
        );
    }
}
