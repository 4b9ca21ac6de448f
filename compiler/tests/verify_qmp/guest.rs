//! The guest of the real-part tests: a file for this machine, QEMU started from its own line
//! with a QMP socket, its threads found by name (`-name debug-threads=on`) and pinned with
//! `taskset`, and `vnumac verify` run against it.

use super::common::qmp::ChildGuard;
use super::common::shell::shell_words;
use super::common::{QEMU, Scratch, libvirtd::run_with_timeout};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long anything the tests start may take before it is killed.
const LIMIT: Duration = Duration::from_secs(60);

pub fn vnumac() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vnumac"))
}

/// This machine, and a guest file for it: two vCPUs each pinned to a CPU of their own,
/// the emulator thread with vCPU 0, the I/O thread with vCPU 1, its one cell and a DIMM
/// bound to the node.
pub struct Setup {
    pub scratch: Scratch,
    pub file: PathBuf,
    pub node: u32,
    pub cpu_a: u32,
    pub cpu_b: u32,
}

impl Setup {
    pub fn for_this_machine() -> Result<Setup, String> {
        let probe = vnumac()
            .args(["host", "probe", "--name", "this-host"])
            .output()
            .map_err(|e| e.to_string())?;
        if !probe.status.success() {
            return Err(format!("vnumac host probe: {}", String::from_utf8_lossy(&probe.stderr)));
        }
        let host = String::from_utf8_lossy(&probe.stdout).into_owned();
        let (profile, _) = vnumac::host::sysfs::probe("this-host", std::path::Path::new("/sys"))
            .map_err(|e| format!("cannot read /sys: {e:?}"))?;
        // The CPUs this test may use, on the first node with CPUs and memory.
        let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        let mine = vnumac::verify::proc::allowed_cpus(&status).ok_or("no Cpus_allowed_list")?;
        let node = profile
            .nodes
            .iter()
            .find(|n| n.memory_kib > 0 && n.cpus.intersection(&mine).len() >= 2)
            .ok_or("no NUMA node with memory and two CPUs this test may use")?;
        let cpus: Vec<u32> = node.cpus.intersection(&mine).iter().take(2).collect();
        let (cpu_a, cpu_b) = (cpus[0], cpus[1]);
        let scratch = Scratch::new("verify")?;
        let file = scratch.dir.join("guest.vnuma");
        let text = format!(
            "{host}
guest small on=this-host {{
  type qemu
  memory 256MiB max=1GiB slots=2
  vcpus 2
  numa {{
    cell 0 cpus=0-1 memory=256MiB host-node={node}
  }}
  pin vcpus=0 cpus={cpu_a}
  pin vcpus=1 cpus={cpu_b}
  emulator cpus={cpu_a}
  iothreads 1 cpus={cpu_b}
  dimm size=128MiB node=0
  sched vcpus=1 policy=batch
}}
",
            node = node.id
        );
        std::fs::write(&file, text).map_err(|e| e.to_string())?;
        Ok(Setup {
            scratch,
            file,
            node: node.id,
            cpu_a,
            cpu_b,
        })
    }
}

/// QEMU running the guest's line (edited by the test), with a QMP socket; killed on drop.
pub struct Qemu {
    child: ChildGuard,
    pub socket: PathBuf,
    /// The line as started, one word per space.
    pub line: String,
}

impl Qemu {
    /// Starts `vnumac build --emit qemu`'s line for the guest, after `edit`, with a QMP
    /// socket and no display; waits until the socket answers.
    pub fn start(setup: &Setup, edit: &dyn Fn(&str) -> String) -> Result<Qemu, String> {
        let built = vnumac()
            .args(["build", "--emit", "qemu"])
            .arg(&setup.file)
            .output()
            .map_err(|e| e.to_string())?;
        if !built.status.success() {
            return Err(format!("vnumac build: {}", String::from_utf8_lossy(&built.stderr)));
        }
        let words = shell_words(&String::from_utf8_lossy(&built.stdout))?;
        // The guest is TCG and its only host binding is a node this machine has: the line
        // starts here as it is; only the plumbing is added.
        assert!(words.windows(2).any(|w| w == ["-accel", "tcg"]), "{words:?}");
        let words: Vec<String> = words.iter().map(|w| edit(w)).filter(|w| !w.is_empty()).collect();
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = setup.scratch.dir.join(format!("qmp-{n}.sock"));
        let child = Command::new(QEMU)
            .args(&words[1..])
            .args(["-display", "none", "-nodefaults", "-qmp"])
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {QEMU}: {e}"))?;
        let mut qemu = Qemu {
            child: ChildGuard(child),
            socket,
            line: words.join(" "),
        };
        qemu.wait_until_up()?;
        Ok(qemu)
    }

    fn wait_until_up(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.0.try_wait() {
                return Err(format!("QEMU exited ({status}): {}", self.line));
            }
            let threads = self.thread_named("CPU 1/TCG").is_some() && self.thread_named("IO iothread1").is_some();
            if threads && std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("QEMU did not come up within {LIMIT:?}: {}", self.line))
    }

    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// The thread whose name (`comm`) is `name`, as QEMU names them with `debug-threads=on`.
    fn thread_named(&self, name: &str) -> Option<u32> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).ok()?;
        tasks.flatten().find_map(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            (comm.trim_end() == name).then(|| t.file_name().to_str()?.parse().ok())?
        })
    }

    pub fn vcpu_tid(&self, vcpu: u32) -> Option<u32> {
        self.thread_named(&format!("CPU {vcpu}/TCG"))
    }

    /// `taskset -pc CPUS TID`: one thread's affinity.
    pub fn taskset(&self, cpus: &str, tid: u32) -> Result<(), String> {
        let out = Command::new("taskset")
            .args(["-pc", cpus, &tid.to_string()])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "taskset -pc {cpus} {tid}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// `chrt -p -POLICY 0 TID`: one thread's scheduling policy (`b` batch, `o` other: neither
    /// needs privileges).
    pub fn chrt(&self, policy: char, tid: u32) -> Result<(), String> {
        let out = Command::new("chrt")
            .args(["-p", &format!("-{policy}"), "0", &tid.to_string()])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "chrt -p -{policy} 0 {tid}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// Pins and schedules what the file does, as whoever starts a guest would: vCPU 0 and the
    /// main thread on CPU a, vCPU 1 and the I/O thread on CPU b, vCPU 1 `SCHED_BATCH`.
    pub fn pin_as_intended(&self, setup: &Setup) -> Result<(), String> {
        let (a, b) = (setup.cpu_a.to_string(), setup.cpu_b.to_string());
        self.chrt('b', self.vcpu_tid(1).ok_or("no vCPU 1 thread")?)?;
        self.taskset(&a, self.vcpu_tid(0).ok_or("no vCPU 0 thread")?)?;
        self.taskset(&b, self.vcpu_tid(1).ok_or("no vCPU 1 thread")?)?;
        self.taskset(&a, self.pid())?;
        self.taskset(&b, self.thread_named("IO iothread1").ok_or("no I/O thread")?)
    }
}

/// What one `vnumac verify --message-format json` said.
pub struct Verified {
    pub exit: i32,
    pub map: String,
    /// Each difference: its code and subject.
    pub found: Vec<(String, String)>,
    /// Each difference's `actual`.
    pub actual: Vec<String>,
    pub stderr: String,
}

impl Verified {
    pub fn subjects(&self) -> Vec<&str> {
        self.found.iter().map(|(_, s)| s.as_str()).collect()
    }
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n{}\n{}", self.exit, self.map, self.stderr)
    }
}

pub fn verify(setup: &Setup, qemu: &Qemu, extra: &[&str]) -> Verified {
    let mut cmd = vnumac();
    cmd.arg("verify")
        .arg(&setup.file)
        .arg("--qmp")
        .arg(&qemu.socket)
        .args(["--message-format", "json", "--window", "200"])
        .args(extra);
    let out = run_with_timeout(cmd, LIMIT).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    Verified {
        exit: out.status.code().unwrap_or(-1),
        map: String::from_utf8_lossy(&out.stdout).into_owned(),
        found: lines.iter().map(|v| (text(v, "code"), text(v, "subject"))).collect(),
        actual: lines.iter().map(|v| text(v, "actual")).collect(),
        stderr,
    }
}

/// `vnumac verify --watch 1 --verbose` running in the background, its output gathered.
pub struct Watch {
    child: ChildGuard,
    lines: mpsc::Receiver<String>,
    seen: std::cell::RefCell<String>,
}

impl Watch {
    pub fn start(setup: &Setup, qemu: &Qemu) -> Result<Watch, String> {
        let mut child = vnumac()
            .arg("verify")
            .arg(&setup.file)
            .arg("--qmp")
            .arg(&qemu.socket)
            .args([
                "--message-format",
                "json",
                "--window",
                "100",
                "--watch",
                "1",
                "--verbose",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Watch {
            child: ChildGuard(child),
            lines: rx,
            seen: Default::default(),
        })
    }

    /// Waits (boundedly) until a line holding `text` has come; everything is kept.
    pub fn wait_for(&self, text: &str) -> Result<(), String> {
        let deadline = Instant::now() + LIMIT;
        loop {
            if self.seen.borrow().contains(text) {
                return Ok(());
            }
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    let mut seen = self.seen.borrow_mut();
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(_) => return Err(format!("no `{text}` within {LIMIT:?}:\n{}", self.seen.borrow())),
            }
        }
    }

    pub fn wait_for_map(&self) -> Result<(), String> {
        self.wait_for("look 1:")
    }

    /// Waits until `n` more looks have been reported (`--verbose`: `look N: …`).
    pub fn wait_for_looks(&self, n: usize) -> Result<(), String> {
        let done = self
            .seen
            .borrow()
            .lines()
            .filter_map(|l| l.strip_prefix("look ")?.split_once(':')?.0.parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        self.wait_for(&format!("look {}:", done + n))
    }

    /// Waits for the watch to end by itself; its exit code and what it printed.
    pub fn finish(mut self) -> Result<(Option<i32>, String, String), String> {
        let (status, killed) = self.child.wait_until(Instant::now() + LIMIT);
        if killed {
            return Err(format!(
                "verify --watch went on after QEMU exited:\n{}",
                self.seen.borrow()
            ));
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            let mut seen = self.seen.borrow_mut();
            seen.push_str(&line);
            seen.push('\n');
        }
        let all = self.seen.borrow().clone();
        let (json, text): (Vec<&str>, Vec<&str>) = all.lines().partition(|l| l.starts_with('{'));
        Ok((status.and_then(|s| s.code()), text.join("\n"), json.join("\n")))
    }
}
