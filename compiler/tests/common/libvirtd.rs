//! libvirtd on a faked NUMA host, in a private mount namespace
//! (`tests/support/libvirtd-fake-numa.sh`), for the suites that ask libvirt's own QEMU
//! driver (`virsh domxml-to-native`): the fake `devices/system/node` tree written from a
//! host profile, the daemon started detached and always stopped, and `virsh` with a deadline.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vnumac::host::{HostNode, HostProfile};
use vnumac::sets::IdSet;

use super::{skip_or_fail, tool_version};

/// The first daemon probes QEMU (seconds); later ones read the shared capabilities cache.
const START_TIMEOUT: Duration = Duration::from_secs(90);
const VIRSH_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

fn daemon_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/libvirtd-fake-numa.sh")
}

/// A command found on PATH, or in the sbin dirs (libvirtd lives in /usr/sbin, which a
/// non-login root environment may lack); the script it may run sees the same PATH.
pub fn command(tool: &str) -> Command {
    let mut path = std::env::var("PATH").unwrap_or_default();
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        if !path.split(':').any(|d| d == dir) {
            path = if path.is_empty() {
                dir.to_owned()
            } else {
                format!("{path}:{dir}")
            };
        }
    }
    let mut cmd = Command::new(tool);
    cmd.env("PATH", path);
    cmd
}

/// True when everything the daemon needs is here; otherwise skips (or fails when required).
pub fn oracles_available() -> bool {
    let mut problems = Vec::new();
    for tool in ["libvirtd", "virsh", "unshare", "setsid"] {
        match tool_version(tool, command(tool)) {
            Ok(version) => eprintln!("using {tool}: {version}"),
            Err(problem) => problems.push(problem),
        }
    }
    match command("id").arg("-u").output() {
        Ok(out) if String::from_utf8_lossy(&out.stdout).trim() == "0" => {}
        _ => problems.push("not root (the daemon needs mount namespaces and bind mounts)".into()),
    }
    if problems.is_empty() {
        return true;
    }
    skip_or_fail(&problems.join("; "));
    false
}

// ---------------------------------------------------------------------------
// The fake devices/system/node tree
// ---------------------------------------------------------------------------

/// Writes `dir` as the kernel's /sys/devices/system/node would look on `profile`'s host.
pub fn write_fake_node_tree(profile: &HostProfile, dir: &Path) -> std::io::Result<()> {
    let mut profile = profile.clone();
    profile.normalize_distances();
    let write = |rel: String, text: String| -> std::io::Result<()> {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("inside dir"))?;
        std::fs::write(path, text)
    };
    let nbits = profile
        .nodes
        .iter()
        .filter_map(|n| n.cpus.last())
        .max()
        .map_or(1, |m| m + 1);
    let ids = |pred: &dyn Fn(&HostNode) -> bool| -> String {
        let set: IdSet = profile.nodes.iter().filter(|n| pred(n)).map(|n| n.id).collect();
        format!("{set}\n")
    };
    for f in ["online", "possible"] {
        write(f.into(), ids(&|_| true))?;
    }
    write("has_cpu".into(), ids(&|n| !n.cpus.is_empty()))?;
    for f in ["has_memory", "has_normal_memory"] {
        write(f.into(), ids(&|n| n.memory_kib > 0))?;
    }
    // Every size this kernel offers (x86: 2 MiB and 1 GiB) plus any the profile names.
    let mut sizes: BTreeSet<u64> = BTreeSet::from([2048, 1048576]);
    sizes.extend(
        profile
            .nodes
            .iter()
            .flat_map(|n| n.hugepages.iter().map(|h| h.size_kib)),
    );
    for (i, n) in profile.nodes.iter().enumerate() {
        let id = n.id;
        write(format!("node{id}/cpulist"), format!("{}\n", n.cpus))?;
        write(
            format!("node{id}/cpumap"),
            format!("{}\n", kernel_cpumap(&n.cpus, nbits)),
        )?;
        let row: Vec<String> = profile.distances[i].iter().map(u32::to_string).collect();
        write(format!("node{id}/distance"), format!("{}\n", row.join(" ")))?;
        let pages = |size: u64| n.hugepages.iter().find(|h| h.size_kib == size).map_or(0, |h| h.count);
        let used = n.memory_kib.saturating_sub(n.free_kib);
        let default_pages = pages(2048);
        let mut meminfo = String::new();
        for (key, kib) in [("MemTotal", n.memory_kib), ("MemFree", n.free_kib), ("MemUsed", used)] {
            writeln!(meminfo, "Node {id} {:<15} {kib:>8} kB", format!("{key}:")).expect("string");
        }
        for (key, count) in [
            ("HugePages_Total:", default_pages),
            ("HugePages_Free:", default_pages),
            ("HugePages_Surp:", 0),
        ] {
            writeln!(meminfo, "Node {id} {key:<16}{count:>5}").expect("string");
        }
        write(format!("node{id}/meminfo"), meminfo)?;
        for size in &sizes {
            let count = pages(*size);
            let sub = format!("node{id}/hugepages/hugepages-{size}kB");
            write(format!("{sub}/nr_hugepages"), format!("{count}\n"))?;
            write(format!("{sub}/free_hugepages"), format!("{count}\n"))?;
            write(format!("{sub}/surplus_hugepages"), "0\n".into())?;
        }
    }
    Ok(())
}

/// A cpu mask as the kernel's `%*pb` prints it for `nbits` CPUs: 32-bit hex words, most
/// significant first, comma-separated, the first word only as wide as its bits need.
pub fn kernel_cpumap(cpus: &IdSet, nbits: u32) -> String {
    let words = nbits.div_ceil(32).max(1);
    let mut out = Vec::new();
    for w in (0..words).rev() {
        let mut word: u32 = 0;
        for bit in 0..32 {
            if cpus.contains(w * 32 + bit) {
                word |= 1 << bit;
            }
        }
        let width = if w == words - 1 {
            (nbits - w * 32).div_ceil(4).max(1) as usize
        } else {
            8
        };
        out.push(format!("{word:0width$x}"));
    }
    out.join(",")
}

// ---------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------

pub struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    uri: String,
    /// `virsh capabilities` as first answered.
    pub capabilities: String,
}

impl Daemon {
    /// Starts libvirtd on the fake tree in `dir/node` and waits until it answers.
    pub fn start(dir: &Path, cache: &Path) -> Result<Daemon, String> {
        let log = dir.join("libvirtd.log");
        let out = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = command("setsid")
            .arg("sh")
            .arg(daemon_script())
            .arg(dir)
            .arg(cache)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start setsid: {e}"))?;
        let mut daemon = Daemon {
            child: Some(child),
            log,
            uri: format!("qemu:///system?socket={}", dir.join("sock/libvirt-sock").display()),
            capabilities: String::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let socket = dir.join("sock/libvirt-sock");
        loop {
            if let Some(status) = daemon.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                daemon.child = None;
                return Err(format!("it exited ({status}):\n{}", daemon.log_text()));
            }
            if socket.exists()
                && let Ok(caps) = daemon.virsh(&["capabilities"])
            {
                daemon.capabilities = caps;
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer on {} within {START_TIMEOUT:?}:\n{}",
                    socket.display(),
                    daemon.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // The script execs unshare, sh and libvirtd in turn: the pid started is libvirtd's.
        let pid = daemon.child.as_ref().map_or(0, Child::id);
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "libvirtd" {
            return Err(format!(
                "pid {pid} is {:?}, not libvirtd: cannot stop it reliably",
                comm.trim()
            ));
        }
        Ok(daemon)
    }

    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(30)..];
        format!("  {}", tail.join("\n  "))
    }

    pub fn virsh(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = command("virsh");
        cmd.arg("-q").arg("-c").arg(&self.uri).args(args);
        let out = run_with_timeout(cmd, VIRSH_TIMEOUT)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`virsh {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// SIGTERM, then SIGKILL after STOP_TIMEOUT; always reaps the process.
    pub fn stop(mut self) -> Result<(), String> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id().to_string();
        let _ = command("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "libvirtd (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT:?}; killed it"
        ))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

/// Runs a command with a deadline, reading its output on threads; kills it when late.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} did not finish within {timeout:?}; killed it"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}
