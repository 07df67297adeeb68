//! Sampling a process tree from `/proc`: CPU seconds (user + system, with
//! the reaped children's), resident memory and proportional set size of a
//! process and all its descendants. Samples are timestamped so a window's
//! CPU can be cut exactly to the load generator's measurement.

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

/// `(ppid, CPU ticks, rss pages)` from `/proc/PID/stat`; the ticks are the
/// process's own (utime + stime) and its reaped children's (cutime +
/// cstime), so work done by a worker that exited is still counted.
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15,
    // cutime 16, cstime 17, rss 24.
    let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some((
        num(4)? as u32,
        num(14)? + num(15)? + num(16)? + num(17)?,
        num(24)?,
    ))
}

/// The processes of the tree rooted at `root`, with their stat readings.
fn tree(root: u32) -> Vec<(u32, u64, u64)> {
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
    usage
        .iter()
        .filter(|(pid, _)| in_tree(**pid))
        .map(|(pid, (ticks, rss))| (*pid, *ticks, *rss))
        .collect()
}

/// Whether a thread of the tree rooted at `root` is running or waiting for
/// a CPU right now (state `R` in `/proc/PID/task/TID/stat`): a glance, not
/// a measurement, so a server still busy with work a load left behind is
/// seen at once.
pub fn running(root: u32) -> bool {
    tree(root).iter().any(|(pid, _, _)| {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|task| {
                std::fs::read_to_string(task.path().join("stat"))
                    .ok()
                    .and_then(|text| {
                        let rest = &text[text.rfind(')')? + 2..];
                        rest.chars().next()
                    })
                    == Some('R')
            })
    })
}

/// Reads the tree rooted at `root` now.
pub fn read_tree(root: u32) -> Reading {
    let (ticks, pages) = tree(root)
        .iter()
        .fold((0u64, 0u64), |(t, r), (_, ticks, rss)| (t + ticks, r + rss));
    Reading {
        cpu_seconds: ticks as f64 / ticks_per_second(),
        rss_bytes: pages * page_size(),
    }
}

/// Proportional set size of the tree rooted at `root` (shared pages divided
/// among the processes sharing them, so forked workers are not counted
/// twice), from `/proc/PID/smaps_rollup`; `None` where the kernel has none.
pub fn pss_tree(root: u32) -> Option<u64> {
    let mut total = None;
    for (pid, _, _) in tree(root) {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        let kib = text
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        if let Some(kib) = kib {
            *total.get_or_insert(0) += kib * 1024;
        }
    }
    total
}

/// Waits until the tree's CPU use falls below `cores` over a quarter of a
/// second (background work drained), at most `timeout`; returns how long it
/// took, or `None` if it never settled.
pub fn wait_idle(root: u32, cores: f64, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    let slice = Duration::from_millis(250);
    let mut last = read_tree(root).cpu_seconds;
    while started.elapsed() < timeout {
        std::thread::sleep(slice);
        let now = read_tree(root).cpu_seconds;
        if now - last < cores * slice.as_secs_f64() {
            return Some(started.elapsed());
        }
        last = now;
    }
    None
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
    /// Largest proportional set size seen (sampled each second), in bytes.
    #[serde(default)]
    pub peak_pss_bytes: Option<u64>,
    /// Proportional set size at the end, in bytes.
    #[serde(default)]
    pub final_pss_bytes: Option<u64>,
    /// The tree grew past the memory limit and was killed.
    #[serde(default)]
    pub over_limit: bool,
}

/// Samples a process tree every 100 ms on a thread until stopped; with a
/// memory limit, a tree that grows past it is killed (its process group gets
/// SIGKILL) so one leaking server cannot exhaust the machine.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Trace>,
    root: u32,
    start: Reading,
    started: Instant,
}

/// What the sampling thread saw.
#[derive(Default)]
struct Trace {
    /// `(when, CPU seconds)`, every 100 ms.
    cpu: Vec<(Instant, f64)>,
    peak_rss: u64,
    peak_pss: Option<u64>,
    over_limit: bool,
}

/// CPU seconds at `at`, interpolated between the samples around it.
fn cpu_at(samples: &[(Instant, f64)], at: Instant) -> Option<f64> {
    let after = samples.iter().position(|(t, _)| *t >= at)?;
    if after == 0 {
        return samples.first().map(|s| s.1);
    }
    let (t0, c0) = samples[after - 1];
    let (t1, c1) = samples[after];
    let span = (t1 - t0).as_secs_f64();
    let part = if span > 0.0 {
        (at - t0).as_secs_f64() / span
    } else {
        1.0
    };
    Some(c0 + (c1 - c0) * part)
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
        let first = (Instant::now(), start.cpu_seconds);
        let thread = std::thread::spawn(move || {
            let mut trace = Trace {
                cpu: vec![first],
                ..Trace::default()
            };
            let mut n = 0u32;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let now = read_tree(root);
                trace.cpu.push((Instant::now(), now.cpu_seconds));
                trace.peak_rss = trace.peak_rss.max(now.rss_bytes);
                n += 1;
                if n.is_multiple_of(10) {
                    if let Some(pss) = pss_tree(root) {
                        trace.peak_pss = Some(trace.peak_pss.unwrap_or(0).max(pss));
                    }
                }
                if limit.is_some_and(|l| trace.peak_rss > l) {
                    if let Ok(pid) = i32::try_from(root) {
                        let _ = nix::sys::signal::killpg(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    trace.over_limit = true;
                    break;
                }
            }
            trace
        });
        Self {
            stop,
            thread,
            root,
            start,
            started: Instant::now(),
        }
    }

    /// Stops and reports the whole window since the start.
    pub fn finish(self) -> Usage {
        self.finish_within(None)
    }

    /// Stops and reports; CPU is cut to the last `measured` of the window
    /// (the load generator's own measurement, without its start-up), by
    /// interpolating between the timestamped samples.
    pub fn finish_within(self, measured: Option<Duration>) -> Usage {
        let end = read_tree(self.root);
        let ended = Instant::now();
        let final_pss = pss_tree(self.root);
        self.stop.store(true, Ordering::Relaxed);
        let mut trace = self.thread.join().unwrap_or_default();
        trace.cpu.push((ended, end.cpu_seconds));
        let from = measured
            .and_then(|m| ended.checked_sub(m))
            .filter(|from| *from > self.started)
            .unwrap_or(self.started);
        let start_cpu = cpu_at(&trace.cpu, from).unwrap_or(self.start.cpu_seconds);
        let cpu = (end.cpu_seconds - start_cpu).max(0.0);
        let wall = (ended - from).as_secs_f64();
        Usage {
            cpu_seconds: cpu,
            average_cores: if wall > 0.0 { cpu / wall } else { 0.0 },
            peak_rss_bytes: trace.peak_rss.max(end.rss_bytes),
            final_rss_bytes: end.rss_bytes,
            peak_pss_bytes: match (trace.peak_pss, final_pss) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            final_pss_bytes: final_pss,
            over_limit: trace.over_limit,
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
        let pss = usage.final_pss_bytes.expect("smaps_rollup is readable");
        assert!(pss > 0 && pss <= usage.final_rss_bytes * 2, "{usage:?}");
    }

    /// A shell that runs a busy child to its end, reaps it, then sleeps.
    fn busy_then_sleep() -> std::process::Child {
        std::process::Command::new("sh")
            .args([
                "-c",
                "sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; sleep 5",
            ])
            .spawn()
            .unwrap()
    }

    /// Waits until the shell has reached `sleep` (its busy child is done).
    fn wait_asleep(shell: &std::process::Child) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let asleep = tree(shell.id()).iter().any(|(pid, _, _)| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
            });
            if asleep {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the shell never got to sleep");
    }

    #[test]
    fn a_window_is_cut_to_the_measured_part() {
        // Busy, then asleep: the last 300 ms used nothing, the whole window
        // the busy child's CPU.
        let mut shell = busy_then_sleep();
        let sampler = Sampler::start(shell.id());
        wait_asleep(&shell);
        std::thread::sleep(Duration::from_millis(500));
        let whole = read_tree(shell.id()).cpu_seconds;
        let usage = sampler.finish_within(Some(Duration::from_millis(300)));
        shell.kill().unwrap();
        shell.wait().unwrap();
        assert!(whole > 0.05, "the busy child used {whole} s");
        assert!(usage.cpu_seconds < 0.03, "{usage:?}");
    }

    #[test]
    fn interpolates_between_samples() {
        let t0 = Instant::now();
        let samples = [(t0, 1.0), (t0 + Duration::from_secs(1), 3.0)];
        assert_eq!(cpu_at(&samples, t0 + Duration::from_millis(500)), Some(2.0));
        assert_eq!(cpu_at(&samples, t0), Some(1.0));
        assert_eq!(cpu_at(&samples, t0 + Duration::from_secs(2)), None);
    }

    #[test]
    fn reaped_childrens_cpu_stays_counted() {
        // Once the shell sleeps, its tree is the shell and `sleep`: the busy
        // child's CPU is only in the shell's cutime.
        let mut shell = busy_then_sleep();
        wait_asleep(&shell);
        let seen = read_tree(shell.id()).cpu_seconds;
        shell.kill().unwrap();
        shell.wait().unwrap();
        assert!(seen > 0.05, "the reaped child's CPU was lost: {seen}");
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
