//! Running QEMU (or any child) with a deadline, and speaking QMP to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A paused QEMU is killed if it has not answered everything by then.
pub const QEMU_TIMEOUT: Duration = Duration::from_secs(20);

/// Kills the child if it is still running when dropped (never leave a QEMU behind).
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Waits for exit until `deadline`, then kills. Returns the status and whether it had to kill.
    pub fn wait_until(&mut self, deadline: Instant) -> (Option<ExitStatus>, bool) {
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => return (Some(status), false),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.0.kill();
                    return (self.0.wait().ok(), true);
                }
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs `program argv`, sends `commands` as QMP on its stdin and collects each command's `return`
/// from its stdout: (returns, stderr, transcript). Whatever happens, the child is gone within `timeout`.
pub fn run_qmp(
    program: &str,
    argv: &[String],
    commands: &[Value],
    timeout: Duration,
) -> Result<(Vec<Value>, String, String), String> {
    let deadline = Instant::now() + timeout;
    let mut child = ChildGuard(
        Command::new(program)
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("  cannot start {program}: {e}"))?,
    );
    let stdout = child.0.stdout.take().expect("stdout is piped");
    let stderr = child.0.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });

    let mut stdin = child.0.stdin.take().expect("stdin is piped");
    let mut script = String::new();
    for (id, command) in commands.iter().enumerate() {
        let mut command = command.clone();
        command["id"] = json!(id);
        let _ = writeln!(script, "{command}");
    }
    // The program may already have exited on a bad line; its stderr says why.
    let _ = stdin.write_all(script.as_bytes()).and_then(|()| stdin.flush());

    let mut replies: HashMap<u64, Value> = HashMap::new();
    let mut transcript = String::new();
    let mut timed_out = false;
    while replies.len() < commands.len() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let _ = writeln!(transcript, "    {}", line.trim_end());
                if let Ok(reply) = serde_json::from_str::<Value>(line.trim())
                    && let Some(id) = reply.get("id").and_then(Value::as_u64)
                {
                    replies.insert(id, reply);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(stdin);
    let (status, killed) = child.wait_until(deadline);
    // The pipes close once the child is gone, so this join cannot block for long.
    let stderr_text = stderr_reader.join().unwrap_or_default();
    let status = status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
    if timed_out || killed || replies.len() < commands.len() {
        let why = if timed_out || killed {
            format!("gave no complete answer within {timeout:?}; killed it")
        } else {
            format!("exited ({status}) before answering")
        };
        return Err(format!(
            "  {program} {why}.\n  stderr: {}\n  QMP transcript:\n{transcript}",
            stderr_text.trim()
        ));
    }
    let mut returns = Vec::new();
    for (id, command) in (0u64..).zip(commands) {
        let reply = &replies[&id];
        if let Some(error) = reply.get("error") {
            return Err(format!(
                "  QMP {command} failed: {error}\n  stderr: {}",
                stderr_text.trim()
            ));
        }
        returns.push(reply.get("return").cloned().unwrap_or(Value::Null));
    }
    Ok((returns, stderr_text, transcript))
}

/// QEMU's `info numa`, per node id.
#[derive(Debug)]
pub struct InfoNuma {
    pub nodes: usize,
    pub cpus: BTreeMap<u32, BTreeSet<u32>>,
    pub size_mib: BTreeMap<u32, u64>,
    pub plugged_mib: BTreeMap<u32, u64>,
}

/// QEMU 7.2's `info numa`: `N nodes`, then per node `node I cpus: 0 1 2`, `node I size: X MB`, `node I plugged: Y MB`.
pub fn parse_info_numa(text: &str) -> Result<InfoNuma, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let nodes = first
        .strip_suffix(" nodes")
        .and_then(|n| n.parse().ok())
        .ok_or(format!("unexpected first line {first:?}"))?;
    let mut numa = InfoNuma {
        nodes,
        cpus: BTreeMap::new(),
        size_mib: BTreeMap::new(),
        plugged_mib: BTreeMap::new(),
    };
    let mib = |v: &str| v.strip_suffix(" MB").and_then(|n| n.parse::<u64>().ok());
    for line in lines {
        let parsed = line
            .strip_prefix("node ")
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(id, rest)| {
                let id: u32 = id.parse().ok()?;
                if let Some(list) = rest.strip_prefix("cpus:") {
                    let set = list.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
                    numa.cpus.insert(id, set);
                } else if let Some(size) = rest.strip_prefix("size: ") {
                    numa.size_mib.insert(id, mib(size)?);
                } else {
                    numa.plugged_mib.insert(id, mib(rest.strip_prefix("plugged: ")?)?);
                }
                Some(())
            });
        parsed.ok_or(format!("unexpected line {line:?}"))?;
    }
    let complete = |m: usize| m == nodes;
    if !(complete(numa.cpus.len()) && complete(numa.size_mib.len()) && complete(numa.plugged_mib.len())) {
        return Err(format!(
            "{nodes} nodes announced but not all have cpus/size/plugged lines: {text:?}"
        ));
    }
    Ok(numa)
}

/// A device on the root bus, as `query-pci` reports it.
#[derive(Debug, Clone)]
pub struct RootDevice {
    pub slot: u64,
    pub function: u64,
    /// The device's `id=` (empty for the machine's own devices).
    pub id: String,
    /// Its class, as QEMU describes it (`ISA bridge`, `SATA controller`).
    pub class: String,
}

/// The devices on bus 0 of a `query-pci` answer.
pub fn root_bus_devices(pci: &Value) -> Vec<RootDevice> {
    let bus0 = pci.as_array().unwrap().iter().find(|b| b["bus"] == 0).unwrap();
    bus0["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| RootDevice {
            slot: d["slot"].as_u64().unwrap(),
            function: d["function"].as_u64().unwrap(),
            id: d["qdev_id"].as_str().unwrap_or_default().to_owned(),
            class: d["class_info"]["desc"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}
