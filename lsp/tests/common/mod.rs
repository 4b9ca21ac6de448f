//! A JSON-RPC client for `vnuma-lsp` over its real stdio transport.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub struct Lsp {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    pub stash: Vec<Value>,
    pub dir: PathBuf,
    /// What the server said it offers, in its answer to `initialize`.
    pub capabilities: Value,
}

const WAIT: Duration = Duration::from_secs(30);

fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("vnuma-lsp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir.canonicalize().unwrap())
}

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Lsp {
    /// Start the server and initialize it with a workspace root; `utf8` offers UTF-8 positions.
    pub fn start(root: &Path, utf8: bool) -> Lsp {
        Lsp::start_with(root, utf8, json!({}))
    }

    /// [`Lsp::start`] with the server under an address-space limit (`ulimit -v`).
    pub fn start_limited(root: &Path, limit_mib: u64) -> Lsp {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -v {} && exec \"$0\"", limit_mib * 1024))
            .arg(env!("CARGO_BIN_EXE_vnuma-lsp"))
            // glibc reserves 64 MiB of address space for each thread's malloc arena: with the
            // server's worker threads busy at once, reservations alone would reach the limit.
            // Two arenas keep the address space close to the memory really used.
            .env("MALLOC_ARENA_MAX", "2");
        Lsp::spawn(cmd, root, false, json!({}))
    }

    /// [`Lsp::start`] with initialization options.
    pub fn start_with(root: &Path, utf8: bool, options: Value) -> Lsp {
        // Benchmarks may measure another build of the server.
        let bin = std::env::var_os("VNUMA_LSP").unwrap_or_else(|| env!("CARGO_BIN_EXE_vnuma-lsp").into());
        Lsp::spawn(Command::new(bin), root, utf8, options)
    }

    fn spawn(mut cmd: Command, root: &Path, utf8: bool, options: Value) -> Lsp {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(m) = read_message(&mut r) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        let mut lsp = Lsp {
            child,
            stdin,
            rx,
            next_id: 1,
            stash: Vec::new(),
            dir: root.to_path_buf(),
            capabilities: Value::Null,
        };
        let mut caps = json!({ "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } });
        if utf8 {
            caps["general"] = json!({ "positionEncodings": ["utf-8", "utf-16"] });
        }
        let init = lsp.request(
            "initialize",
            json!({ "processId": null, "rootUri": uri(root), "capabilities": caps, "initializationOptions": options }),
        );
        assert!(
            init["capabilities"]["hoverProvider"].as_bool().unwrap_or(false),
            "{init}"
        );
        lsp.capabilities = init["capabilities"].clone();
        lsp.notify("initialized", json!({}));
        lsp
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// How the server ended, if it has (a kill by a signal, an abort).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Send a request and wait for its answer; server-to-client requests are answered
    /// with null, notifications are stashed. The answer is the result, or the error object.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.recv(deadline).unwrap_or_else(|| panic!("no answer to {method}"));
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return m
                    .get("result")
                    .cloned()
                    .or_else(|| m.get("error").cloned())
                    .unwrap_or(Value::Null);
            }
            self.other(m);
        }
    }

    /// Send a request without waiting for its answer; its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        id
    }

    /// The answers to the requests `ids` (result or error object), in the order they came.
    pub fn answers(&mut self, ids: &[i64]) -> Vec<(i64, Value)> {
        let deadline = Instant::now() + WAIT;
        let mut out = Vec::new();
        while out.len() < ids.len() {
            let m = self
                .recv(deadline)
                .unwrap_or_else(|| panic!("no answers to {ids:?}: {out:?}"));
            match m.get("id").and_then(Value::as_i64) {
                Some(id) if m.get("method").is_none() && ids.contains(&id) => {
                    let v = m.get("result").cloned().or_else(|| m.get("error").cloned());
                    out.push((id, v.unwrap_or(Value::Null)));
                }
                _ => self.other(m),
            }
        }
        out
    }

    fn recv(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.rx.recv_timeout(left).ok()
    }

    fn other(&mut self, m: Value) {
        if let (Some(id), Some(_)) = (m.get("id"), m.get("method")) {
            let id = id.clone();
            self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": null }));
        } else {
            self.stash.push(m);
        }
    }

    /// The diagnostics published for `uri` with `version` (waiting for them).
    pub fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.stash.iter().position(|m| {
                m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["uri"] == uri
                    && m["params"]["version"] == version
            }) {
                let m = self.stash.remove(i);
                return m["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            }
            let m = self
                .recv(deadline)
                .unwrap_or_else(|| panic!("no diagnostics for {uri} version {version}: {:?}", self.stash));
            self.other(m);
        }
    }

    pub fn open(&mut self, path: &Path, text: &str) -> String {
        let u = uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": u, "languageId": "vnuma", "version": 1, "text": text } }),
        );
        u
    }

    /// Shut down cleanly; the process must exit with 0.
    pub fn shutdown(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.is_null(), "{r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}");
                return;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write `### name` sections into `dir`; returns the text of each and the `$0` cursor
/// (file, byte offset) with the marker removed.
/// Files written, each with its text, and where the cursor is.
pub type Fixture = (Vec<(PathBuf, String)>, Option<(PathBuf, usize)>);

pub fn write_fixture(dir: &Path, fixture: &str) -> Fixture {
    let mut files = Vec::new();
    let mut cursor = None;
    for section in fixture.split("### ").skip(1) {
        let (name, body) = section.split_once('\n').unwrap();
        let mut body = body.to_string();
        let path = dir.join(name.trim());
        if let Some(at) = body.find("$0") {
            body.replace_range(at..at + 2, "");
            cursor = Some((path.clone(), at));
        }
        std::fs::write(&path, &body).unwrap();
        files.push((path, body));
    }
    (files, cursor)
}

/// The LSP position (UTF-16) of a byte offset.
pub fn position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    json!({ "line": line, "character": text[start..offset].encode_utf16().count() })
}
