//! Network namespaces for tests: a few "nodes", each a namespace with one
//! interface `eth0` on a private /24, joined by a bridge `br0` in a hub
//! namespace — the host's own network is never touched. Processes are started
//! inside the nodes with `ip netns exec`, each in its own process group, and
//! [`Namespaces`] removes everything when dropped, also when the test fails.

#![allow(dead_code, clippy::unwrap_used)]

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `ip ARGS`: its stdout, or what went wrong.
pub fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {}: {} ({})",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim(),
            out.status
        ))
    }
}

/// `ip ARGS`, which must succeed once namespaces are known to work.
fn must(args: &[&str]) -> String {
    ip(args).unwrap_or_else(|e| panic!("setting up the namespaces failed: {e}"))
}

/// A process started in a node, by its index in [`Namespaces`].
#[derive(Clone, Copy, Debug)]
pub struct Proc(usize);

/// An interface's transmit counters.
#[derive(Clone, Copy, Debug)]
pub struct Tx {
    /// Bytes sent.
    pub bytes: u64,
    /// Packets sent.
    pub packets: u64,
}

/// The nodes' namespaces, the hub and the processes started in them; all
/// removed on drop.
pub struct Namespaces {
    prefix: String,
    subnet: [u8; 3],
    nodes: Vec<String>,
    /// Every namespace created so far, the hub first.
    created: Vec<String>,
    children: Vec<Child>,
}

impl Namespaces {
    /// Creates `PREFIX-hub` with a bridge and one namespace `PREFIX-NODE` per
    /// node, whose `eth0` gets `SUBNET.(i + 1)/24` (`i` its index in `nodes`).
    /// `Err` only when the very first namespace cannot be created (not root,
    /// no iproute2, a restricted container); any later failure panics.
    pub fn create(prefix: &str, subnet: [u8; 3], nodes: &[&str]) -> Result<Self, String> {
        let hub = format!("{prefix}-hub");
        // Leftovers of an earlier process with the same prefix would make the
        // names clash.
        for name in nodes.iter().chain(&["hub"]) {
            let _ = remove(&format!("{prefix}-{name}"));
        }
        ip(&["netns", "add", &hub])?;
        let mut net = Namespaces {
            prefix: prefix.to_string(),
            subnet,
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            created: vec![hub.clone()],
            children: Vec::new(),
        };
        must(&["-n", &hub, "link", "set", "lo", "up"]);
        must(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        must(&["-n", &hub, "link", "set", "br0", "up"]);
        for node in nodes {
            let ns = net.ns(node);
            must(&["netns", "add", &ns]);
            net.created.push(ns.clone());
            // The hub's end is named after the node (at most 15 bytes).
            let hub_end = format!("v-{node}");
            assert!(hub_end.len() <= 15, "interface name {hub_end} too long");
            must(&[
                "-n", &hub, "link", "add", &hub_end, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            must(&["-n", &hub, "link", "set", &hub_end, "master", "br0", "up"]);
            let cidr = format!("{}/24", net.addr(node));
            must(&["-n", &ns, "addr", "add", &cidr, "dev", "eth0"]);
            must(&["-n", &ns, "link", "set", "eth0", "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        Ok(net)
    }

    /// The namespace of `node`.
    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    /// Every namespace created, the hub first.
    pub fn names(&self) -> Vec<String> {
        self.created.clone()
    }

    /// The IPv4 address of `node`.
    pub fn addr(&self, node: &str) -> String {
        let i = self
            .nodes
            .iter()
            .position(|n| n == node)
            .unwrap_or_else(|| panic!("no node {node}"));
        let [a, b, c] = self.subnet;
        format!("{a}.{b}.{c}.{}", i + 1)
    }

    /// `ip netns exec NS ARGV…` in its own process group.
    pub fn exec(&self, node: &str, argv: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(node)])
            .args(argv)
            .stdin(Stdio::null())
            .process_group(0);
        cmd
    }

    /// Runs a short command in `node` to completion.
    pub fn run(&self, node: &str, argv: &[&str]) -> Output {
        self.exec(node, argv)
            .output()
            .unwrap_or_else(|e| panic!("running {argv:?} in {node}: {e}"))
    }

    /// Starts a long-running command in `node`, its stdout and stderr going
    /// to `log`; it is killed when `self` is dropped.
    pub fn spawn(&mut self, node: &str, argv: &[&str], log: &Path) -> Proc {
        self.spawn_command(self.exec(node, argv), log)
    }

    /// Starts `cmd` (from [`Namespaces::exec`]) like [`Namespaces::spawn`].
    pub fn spawn_command(&mut self, mut cmd: Command, log: &Path) -> Proc {
        let file = File::create(log).unwrap();
        let child = cmd
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        self.children.push(child);
        Proc(self.children.len() - 1)
    }

    /// Whether `p` is still running.
    pub fn running(&mut self, p: Proc) -> bool {
        matches!(self.children[p.0].try_wait(), Ok(None))
    }

    /// Waits for `p` to exit, at most `within`: its status, or `None` if it
    /// is still running.
    pub fn wait(&mut self, p: Proc, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.children[p.0].try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills `p`'s process group (if `p` still runs) and reaps it.
    pub fn kill(&mut self, p: Proc) {
        stop(&mut self.children[p.0]);
    }

    /// The transmit counters of `node`'s `eth0`.
    pub fn tx(&self, node: &str) -> Tx {
        let json = must(&[
            "-n",
            &self.ns(node),
            "-s",
            "-j",
            "link",
            "show",
            "dev",
            "eth0",
        ]);
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        let tx = &doc[0]["stats64"]["tx"];
        Tx {
            bytes: tx["bytes"].as_u64().unwrap_or_else(|| panic!("{json}")),
            packets: tx["packets"].as_u64().unwrap_or_else(|| panic!("{json}")),
        }
    }
}

/// Kills a child's process group unless the child was reaped already (its id
/// could belong to someone else then), and reaps it.
fn stop(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        let _ = child.wait();
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for child in &mut self.children {
            stop(child);
        }
        // Deleting a node's namespace removes its veth pair; the hub's takes
        // the bridge with it.
        for ns in self.created.iter().rev() {
            if let Err(e) = remove(ns) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Kills every process left in namespace `ns` (such as a grandchild that
/// left its group) and deletes it.
pub fn remove(ns: &str) -> Result<(), String> {
    if let Ok(pids) = ip(&["netns", "pids", ns]) {
        for pid in pids.split_whitespace().filter_map(|p| p.parse().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    ip(&["netns", "del", ns]).map(drop)
}
