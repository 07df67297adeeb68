//! Facts about the machine, the tools and the suite's commit.

use crate::results::{CpuPinning, Git, Machine};
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Logical cores this process may use.
pub fn cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1))
}

/// The CPUs of a `taskset -c` list (`0,2-3`), checked against the cores
/// there are.
pub fn cpu_list(list: &str) -> Result<Vec<u32>, String> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{list}` is not a CPU list like 0,2-3"))
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(format!("`{part}` is an empty range"));
        }
        cpus.extend(lo..=hi);
    }
    if let Some(&bad) = cpus.iter().find(|&&c| c >= cores()) {
        return Err(format!("CPU {bad} does not exist here ({} cores)", cores()));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Parses `server=LIST,load=LIST` (`server=0,load=1`, `server=0-1,3,load=2`)
/// into the two lists, which must not share a CPU.
pub fn parse_pinning(text: &str) -> Result<CpuPinning, String> {
    let bad = || format!("`{text}`: expected server=LIST,load=LIST");
    let mut lists: [Option<String>; 2] = [None, None];
    let mut current: Option<usize> = None;
    for token in text.split(',') {
        let (slot, value) = if let Some(v) = token.strip_prefix("server=") {
            (0, v)
        } else if let Some(v) = token.strip_prefix("load=") {
            (1, v)
        } else {
            let slot = current.ok_or_else(bad)?;
            let list: &mut String = lists[slot].get_or_insert_with(String::new);
            list.push(',');
            list.push_str(token);
            continue;
        };
        lists[slot] = Some(value.to_owned());
        current = Some(slot);
    }
    let [Some(server), Some(load)] = lists else {
        return Err(bad());
    };
    let (s, l) = (cpu_list(&server)?, cpu_list(&load)?);
    if let Some(shared) = s.iter().find(|c| l.contains(c)) {
        return Err(format!(
            "CPU {shared} is given to both the server and the load"
        ));
    }
    Ok(CpuPinning { server, load })
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
        open_files_limit: open_files_limit(),
    }
}

/// Descriptors a process needs besides its connections (logs, listeners,
/// pools, the runtime's own).
const SPARE_FILES: u64 = 256;

/// Raises this process's open-files limit to its hard limit (children —
/// servers, wrk — inherit it) and gives the limit now in force.
pub fn raise_open_files() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Ok((soft, _)) => soft,
        Err(_) => 0,
    }
}

/// This process's open-files limit (`RLIMIT_NOFILE`, soft); 0 when unknown.
pub fn open_files_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(0, |(soft, _)| soft)
}

/// Whether `connections` fit the open-files limit, with room to spare;
/// otherwise why not.
pub fn check_open_files(connections: u32) -> Result<(), String> {
    let limit = open_files_limit();
    let needed = u64::from(connections) + SPARE_FILES;
    if limit == 0 || limit >= needed {
        Ok(())
    } else {
        Err(format!(
            "{connections} connections need about {needed} open files, but the limit is {limit} \
             (raise it with `ulimit -n {needed}` or in /etc/security/limits.conf)"
        ))
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

/// The current time as a file-name stamp (UTC), `20261130T123324`.
pub fn stamp() -> String {
    now()
        .replace([':', '-'], "")
        .trim_end_matches('Z')
        .to_owned()
}

/// Now as RFC 3339 (UTC, seconds).
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod pinning_tests {
    use super::*;

    #[test]
    fn cpu_lists_and_pinnings() {
        assert_eq!(cpu_list("0").unwrap(), [0]);
        assert!(cpu_list("x").is_err());
        assert!(cpu_list("9999").is_err());
        if cores() >= 2 {
            assert_eq!(cpu_list("1,0-1").unwrap(), [0, 1]);
            let p = parse_pinning("server=0,load=1").unwrap();
            assert_eq!((p.server.as_str(), p.load.as_str()), ("0", "1"));
            let err = parse_pinning("server=0-1,load=1").unwrap_err();
            assert!(err.contains("both"), "{err}");
        }
        assert!(parse_pinning("server=0").is_err());
        assert!(parse_pinning("0,1").is_err());
    }
}
