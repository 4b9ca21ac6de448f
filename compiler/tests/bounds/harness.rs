//! Runs `vnumac` in a scratch directory under an address-space limit and reports how it ended.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The address-space limit most bounded runs get: far above what any honest input of a few
/// megabytes needs (a 1,000-guest fleet peaks near 50 MiB), far below what the unbounded
/// expansions took (gigabytes).
pub const LIMIT_MIB: u64 = 512;

/// How a bounded run ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The run ended with exit code `code` (not a signal, not an abort).
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            (self.code, self.signal),
            (Some(code), None),
            "expected exit code {code}\nstderr (first 2,000 bytes): {}",
            self.stderr.chars().take(2000).collect::<String>()
        );
        self
    }

    /// stderr names `code` (for example `E0319`).
    pub fn assert_diag(&self, code: &str) -> &Self {
        assert!(
            self.stderr.contains(code),
            "expected {code} on stderr; got (first 2,000 bytes): {}",
            self.stderr.chars().take(2000).collect::<String>()
        );
        self
    }
}

/// A fresh directory under the target dir for one test.
pub fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "bounds-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `vnumac ARGS` in `dir` with at most `limit_mib` MiB of address space.
pub fn vnumac_limited(dir: &Path, args: &[&str], limit_mib: u64) -> Run {
    run_limited(dir, env!("CARGO_BIN_EXE_vnumac"), args, None, limit_mib)
}

/// Runs `program ARGS` in `dir` under `ulimit -v`, feeding `stdin` if given.
pub fn run_limited(dir: &Path, program: &str, args: &[&str], stdin: Option<&[u8]>, limit_mib: u64) -> Run {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", limit_mib * 1024))
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("sh runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin piped");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let out = child.wait_with_output().expect("child finishes");
    Run {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
