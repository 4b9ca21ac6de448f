//! libvirtd and virtlogd of the test's own on the real /sys, in a private mount namespace
//! (`tests/support/libvirtd-guests.sh`): started detached, and on drop every guest destroyed
//! and both daemons stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::common::libvirtd::{command, run_with_timeout};

/// A cold start probes QEMU's capabilities (seconds, more on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(180);
const VIRSH_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

fn daemon_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/libvirtd-guests.sh")
}

pub struct Daemon {
    child: Option<Child>,
    pub dir: PathBuf,
    pub uri: String,
}

impl Daemon {
    /// Starts the daemons with their files under `dir` and waits until libvirtd answers.
    pub fn start(dir: &Path) -> Result<Daemon, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log = dir.join("daemon.log");
        let out = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = command("setsid")
            .arg("sh")
            .arg(daemon_script())
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start setsid: {e}"))?;
        let socket = dir.join("sock/libvirt-sock");
        let mut daemon = Daemon {
            child: Some(child),
            dir: dir.to_path_buf(),
            uri: format!("qemu:///system?socket={}", socket.display()),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = daemon.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                daemon.child = None;
                return Err(format!("it exited ({status}):\n{}", daemon.log_text()));
            }
            if socket.exists() && daemon.virsh(&["list", "--all"]).is_ok() {
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
        if comm(pid) != "libvirtd" {
            return Err(format!(
                "pid {pid} is {:?}, not libvirtd: cannot stop it reliably",
                comm(pid)
            ));
        }
        Ok(daemon)
    }

    /// The end of the daemons' own output and of virtlogd's log.
    pub fn log_text(&self) -> String {
        let mut out = String::new();
        for name in ["daemon.log", "log/virtlogd.log"] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            out.push_str(&format!("  {name}:\n    {}\n", tail.join("\n    ")));
        }
        out
    }

    /// A guest's QEMU log, for failures.
    pub fn guest_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("log/qemu/{name}.log"))).unwrap_or_default()
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

    /// Destroys every running guest, then stops libvirtd and virtlogd (SIGTERM, then
    /// SIGKILL after STOP_TIMEOUT).
    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(names) = self.virsh(&["list", "--name"]) {
            for name in names.lines().map(str::trim).filter(|n| !n.is_empty()) {
                let _ = self.virsh(&["destroy", name]);
            }
        }
        stop(&mut child);
        let pid_file = self.dir.join("run/virtlogd.pid");
        let virtlogd = std::fs::read_to_string(pid_file).unwrap_or_default();
        let virtlogd = virtlogd.trim();
        if !virtlogd.is_empty() && comm(virtlogd.parse().unwrap_or(0)) == "virtlogd" {
            let _ = command("kill").args(["-TERM", virtlogd]).status();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A process's name, or empty.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn stop(child: &mut Child) {
    let pid = child.id().to_string();
    let _ = command("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
