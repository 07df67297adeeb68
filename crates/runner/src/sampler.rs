//! Sampling a process tree from `/proc`: CPU seconds (user + system) and
//! resident memory of a process and all its descendants.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading of a process tree.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    /// CPU seconds used so far by the live processes of the tree.
    pub cpu_seconds: f64,
    /// Resident memory of the tree, in bytes.
    pub rss_bytes: u64,
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .unwrap_or(100) as f64
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .filter(|&p| p > 0)
        .unwrap_or(4096) as u64
}

/// `(ppid, utime + stime ticks, rss pages)` from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss 24.
    let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some((num(4)? as u32, num(14)? + num(15)?, num(24)?))
}

/// Reads the tree rooted at `root` now.
pub fn read_tree(root: u32) -> Reading {
    let mut parent = HashMap::new();
    let mut usage = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some((ppid, ticks, rss)) = stat(pid) {
                parent.insert(pid, ppid);
                usage.insert(pid, (ticks, rss));
            }
        }
    }
    let in_tree = |mut pid: u32| {
        for _ in 0..64 {
            if pid == root {
                return true;
            }
            match parent.get(&pid) {
                Some(&p) if p != 0 && p != pid => pid = p,
                _ => return false,
            }
        }
        false
    };
    let (ticks, pages) = usage
        .iter()
        .filter(|(pid, _)| in_tree(**pid))
        .fold((0u64, 0u64), |(t, r), (_, (ticks, rss))| {
            (t + ticks, r + rss)
        });
    Reading {
        cpu_seconds: ticks as f64 / ticks_per_second(),
        rss_bytes: pages * page_size(),
    }
}

/// What a sampled window used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// CPU seconds used during the window.
    pub cpu_seconds: f64,
    /// Average cores busy (CPU seconds ÷ wall seconds).
    pub average_cores: f64,
    /// Largest resident memory seen, in bytes.
    pub peak_rss_bytes: u64,
    /// Resident memory at the end, in bytes.
    pub final_rss_bytes: u64,
    /// The tree grew past the memory limit and was killed.
    #[serde(default)]
    pub over_limit: bool,
}

/// Samples a process tree every 100 ms on a thread until stopped; with a
/// memory limit, a tree that grows past it is killed (its process group gets
/// SIGKILL) so one leaking server cannot exhaust the machine.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(u64, bool)>,
    root: u32,
    start: Reading,
    started: Instant,
}

impl Sampler {
    /// Starts sampling the tree of `root`.
    pub fn start(root: u32) -> Self {
        Self::with_limit(root, None)
    }

    /// Starts sampling the tree of `root`, a process group leader, killing
    /// the group if its resident memory exceeds `limit` bytes.
    pub fn with_limit(root: u32, limit: Option<u64>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let start = read_tree(root);
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(read_tree(root).rss_bytes);
                if limit.is_some_and(|l| peak > l) {
                    if let Ok(pid) = i32::try_from(root) {
                        let _ = nix::sys::signal::killpg(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    return (peak, true);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (peak, false)
        });
        Self {
            stop,
            thread,
            root,
            start,
            started: Instant::now(),
        }
    }

    /// Stops and reports the window.
    pub fn finish(self) -> Usage {
        let end = read_tree(self.root);
        let wall = self.started.elapsed().as_secs_f64();
        self.stop.store(true, Ordering::Relaxed);
        let (peak, over_limit) = self.thread.join().unwrap_or((0, false));
        let cpu = (end.cpu_seconds - self.start.cpu_seconds).max(0.0);
        Usage {
            cpu_seconds: cpu,
            average_cores: if wall > 0.0 { cpu / wall } else { 0.0 },
            peak_rss_bytes: peak.max(end.rss_bytes),
            final_rss_bytes: end.rss_bytes,
            over_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_tree() {
        let me = read_tree(std::process::id());
        assert!(me.rss_bytes > 0);
        // Burn a little CPU and see it counted.
        let sampler = Sampler::start(std::process::id());
        let mut x = 0u64;
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
        let usage = sampler.finish();
        assert!(usage.cpu_seconds > 0.05, "{usage:?}");
        assert!(usage.peak_rss_bytes >= usage.final_rss_bytes / 2);
    }

    #[test]
    fn a_tree_past_the_memory_limit_is_killed() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let sampler = Sampler::with_limit(child.id(), Some(1));
        let status = child.wait().unwrap();
        let usage = sampler.finish();
        assert!(usage.over_limit);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
    }

    #[test]
    fn children_are_part_of_the_tree() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let with_child = read_tree(std::process::id()).rss_bytes;
        let child_alone = read_tree(child.id()).rss_bytes;
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(child_alone > 0);
        assert!(with_child >= child_alone);
    }
}
