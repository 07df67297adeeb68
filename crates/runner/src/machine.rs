//! Facts about the machine, the tools and the suite's commit.

use crate::results::{Git, Machine};
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// CPU, cores, kernel and memory from `/proc` and `uname`.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    Machine {
        cpu_model,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: output("uname", &["-r"]).unwrap_or_default(),
        memory_bytes,
        os: std::env::consts::OS.to_owned(),
    }
}

/// The commit and whether the tree is dirty.
pub fn git() -> Git {
    Git {
        commit: output("git", &["rev-parse", "HEAD"]),
        dirty: output("git", &["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
    }
}

/// `rustc --version`, if rustc is there.
pub fn rustc() -> Option<String> {
    output("rustc", &["--version"])
}

/// The first line a version command prints, or `unknown`.
pub fn version_of(command: &[String]) -> String {
    let Some((program, args)) = command.split_first() else {
        return "unknown".to_owned();
    };
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            text.lines().next().map(|l| l.trim().to_owned())
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Now as RFC 3339 (UTC, seconds).
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
