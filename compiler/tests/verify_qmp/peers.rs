//! Peers that are not a healthy QEMU: no socket, nobody listening, silence, garbage, a flood
//! without end of line, a connection closed mid-conversation, an answer of the wrong shape,
//! and threads that do not exist. Each is exit code 2 with a coded error, never a hang (the
//! run is killed, and the test fails, if it does not end) and never a panic.

use super::common::libvirtd::run_with_timeout;
use super::guest::vnumac;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

const GREETING: &str =
    r#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}"#;

/// A guest file that needs no host.
fn file(dir: &Path) -> PathBuf {
    let path = dir.join("plain.vnuma");
    let text = "guest plain {\n  type qemu\n  memory 256MiB\n  vcpus 2\n}\n";
    std::fs::write(&path, text).unwrap();
    path
}

/// `vnumac verify` on `socket` with a short timeout: its exit code and its one JSON error.
fn verify(dir: &Path, socket: &Path) -> (i32, serde_json::Value) {
    let mut cmd = vnumac();
    cmd.arg("verify").arg(file(dir)).arg("--qmp").arg(socket).args([
        "--message-format",
        "json",
        "--timeout",
        "300",
        "--window",
        "20",
    ]);
    let out = run_with_timeout(cmd, Duration::from_secs(30)).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error, no panic: {stderr}");
    let error: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    (out.status.code().unwrap_or(-1), error)
}

fn scratch(tag: &str) -> super::common::Scratch {
    super::common::Scratch::new(tag).unwrap()
}

/// A peer on a fresh socket that does `script` with the one connection it accepts.
fn peer(dir: &Path, script: impl FnOnce(UnixStream) + Send + 'static) -> PathBuf {
    let path = dir.join("peer.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            script(stream);
        }
    });
    path
}

/// Reads one line the client sent (a command), or nothing when it is gone.
fn command(reader: &mut BufReader<UnixStream>) -> String {
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    line
}

fn assert_coded(dir: &Path, socket: &Path, code: &str, says: &str) {
    let (exit, error) = verify(dir, socket);
    assert_eq!(exit, 2, "{error}");
    assert_eq!(error["code"], code, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(says), "`{says}` not in: {message}");
}

#[test]
fn no_socket_and_nobody_listening() {
    let dir = scratch("verify-peer");
    assert_coded(
        &dir.dir,
        &dir.dir.join("missing.sock"),
        "vnuma::qmp",
        "no QMP socket at",
    );
    // A socket whose listener is gone.
    let gone = dir.dir.join("gone.sock");
    drop(UnixListener::bind(&gone).unwrap());
    assert_coded(&dir.dir, &gone, "vnuma::qmp", "nothing listens on");
}

#[test]
fn a_peer_that_never_answers() {
    let dir = scratch("verify-peer");
    let socket = peer(&dir.dir, |stream| {
        // Holds the connection open, saying nothing, until the client leaves.
        let mut reader = BufReader::new(stream);
        while !command(&mut reader).is_empty() {}
    });
    assert_coded(&dir.dir, &socket, "vnuma::qmp", "no answer to the greeting");
}

#[test]
fn a_peer_that_sends_garbage() {
    let dir = scratch("verify-peer");
    let socket = peer(&dir.dir, |mut stream| {
        let _ = stream.write_all(b"\x00\xffthis is not QMP\n");
        std::thread::sleep(Duration::from_secs(2));
    });
    assert_coded(&dir.dir, &socket, "vnuma::qmp", "does not answer the greeting");
}

#[test]
fn a_peer_that_floods_without_end_of_line() {
    let dir = scratch("verify-peer");
    let socket = peer(&dir.dir, |mut stream| {
        let block = vec![b'x'; 1 << 16];
        // Until the client gives up (about 16 MiB) and closes.
        for _ in 0..1024 {
            if stream.write_all(&block).is_err() {
                break;
            }
        }
    });
    assert_coded(&dir.dir, &socket, "vnuma::qmp", "longer than 16 MiB");
}

#[test]
fn a_peer_that_closes_mid_conversation() {
    let dir = scratch("verify-peer");
    let socket = peer(&dir.dir, |mut stream| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let _ = writeln!(stream, "{GREETING}");
        command(&mut reader);
        let _ = writeln!(stream, r#"{{"return": {{}}}}"#);
        command(&mut reader);
        // QEMU exits before it answers query-cpus-fast.
    });
    assert_coded(
        &dir.dir,
        &socket,
        "vnuma::qmp",
        "closed while `query-cpus-fast` was asked",
    );
}

/// A peer that answers every command in order with `answers` (after the greeting).
fn answering(dir: &Path, answers: Vec<String>) -> PathBuf {
    peer(dir, move |mut stream| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let _ = writeln!(stream, "{GREETING}");
        for answer in answers {
            if command(&mut reader).is_empty() {
                return;
            }
            let _ = writeln!(stream, "{answer}");
        }
        command(&mut reader);
    })
}

fn cpu(thread: i64) -> String {
    format!(
        r#"{{"cpu-index": 0, "qom-path": "/machine/unattached/device[0]", "thread-id": {thread}, "target": "x86_64", "props": {{"socket-id": 0, "core-id": 0, "thread-id": 0}}}}"#
    )
}

#[test]
fn answers_of_the_wrong_shape() {
    let dir = scratch("verify-peer");
    let ok = r#"{"return": {}}"#.to_string();
    let socket = answering(&dir.dir, vec![ok.clone(), r#"{"return": "not a list"}"#.into()]);
    assert_coded(&dir.dir, &socket, "vnuma::qmp", "does not answer `query-cpus-fast`");
    let dir = scratch("verify-peer");
    let socket = answering(&dir.dir, vec![ok, format!(r#"{{"return": [{}]}}"#, cpu(-5))]);
    assert_coded(&dir.dir, &socket, "vnuma::qmp", "thread id of -5");
}

#[test]
fn threads_that_do_not_exist() {
    // Thread ids above the kernel's pid_max (4194304 at most): /proc has no such entry.
    let dir = scratch("verify-peer");
    let empty = r#"{"return": []}"#.to_string();
    let socket = answering(
        &dir.dir,
        vec![
            r#"{"return": {}}"#.into(),
            format!(r#"{{"return": [{}]}}"#, cpu(2_000_000_000)),
            empty.clone(),
            empty.clone(),
            empty,
        ],
    );
    assert_coded(&dir.dir, &socket, "vnuma::proc", "vCPU thread 2000000000");
}

#[test]
fn more_threads_than_a_guest_can_have() {
    // 20,001 vCPUs, each this test's own process (so that it has a /proc entry).
    let dir = scratch("verify-peer");
    let me = i64::from(std::process::id());
    let cpus: Vec<String> = (0..20_001).map(|_| cpu(me)).collect();
    let empty = r#"{"return": []}"#.to_string();
    let socket = answering(
        &dir.dir,
        vec![
            r#"{"return": {}}"#.into(),
            format!(r#"{{"return": [{}]}}"#, cpus.join(",")),
            empty.clone(),
            empty.clone(),
            empty,
        ],
    );
    assert_coded(&dir.dir, &socket, "vnuma::qmp", "reports 20001 vCPU and I/O threads");
}
