//! Booting a real guest kernel: the kernel and busybox to use, a busybox initramfs with an
//! `/init` of the caller's, and a QEMU run with a deadline that collects the serial console.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::qmp::ChildGuard;
use super::{QEMU, skip_or_fail, tool_version};

const DEFAULT_KERNEL_DIR: &str = "/var/cache/vnumac-guest";
const DEFAULT_BUSYBOX: &str = "/bin/busybox";

pub struct GuestTools {
    pub kernel: PathBuf,
    pub busybox: PathBuf,
}

/// The kernel, busybox and QEMU, or None (skip) with a message; a panic under VNUMAC_REQUIRE_ORACLES=1.
pub fn guest_tools() -> Option<GuestTools> {
    let problem = match find_guest_tools() {
        Ok(tools) => return Some(tools),
        Err(problem) => problem,
    };
    skip_or_fail(&problem);
    None
}

pub fn find_guest_tools() -> Result<GuestTools, String> {
    let version = tool_version(QEMU, Command::new(QEMU))?;
    eprintln!("using {QEMU}: {version}");
    let kernel = match std::env::var_os("VNUMAC_GUEST_KERNEL") {
        Some(k) => PathBuf::from(k),
        None => newest_cached_kernel().ok_or(format!(
            "no guest kernel: VNUMAC_GUEST_KERNEL is unset and {DEFAULT_KERNEL_DIR} has no vmlinuz-* \
             (.ci/run fetches Debian's linux-image-6.1.0-*-amd64 there)"
        ))?,
    };
    if !kernel.is_file() {
        return Err(format!("guest kernel {} does not exist", kernel.display()));
    }
    let busybox = std::env::var_os("VNUMAC_BUSYBOX").map_or_else(|| PathBuf::from(DEFAULT_BUSYBOX), PathBuf::from);
    if !busybox.is_file() {
        return Err(format!(
            "no static busybox at {} (install busybox-static or set VNUMAC_BUSYBOX)",
            busybox.display()
        ));
    }
    eprintln!("guest kernel {}, busybox {}", kernel.display(), busybox.display());
    Ok(GuestTools { kernel, busybox })
}

fn newest_cached_kernel() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(DEFAULT_KERNEL_DIR)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    found.sort();
    found.pop()
}

pub struct GuestRun {
    pub serial: String,
    pub stderr: String,
    pub status: Option<ExitStatus>,
    pub killed: bool,
}

/// Runs QEMU (no shell) until it exits or `timeout` passes, collecting the serial console.
pub fn run_guest(argv: &[String], timeout: Duration) -> Result<GuestRun, String> {
    let child = Command::new(QEMU)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {QEMU}: {e}"))?;
    let mut guard = ChildGuard(child);
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(guard.0.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(guard.0.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let (status, killed) = guard.wait_until(deadline);
    Ok(GuestRun {
        serial: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        status,
        killed,
    })
}

/// `/init` (the script `init`), `/bin/busybox`, `/dev/console` and the mount points, as an
/// uncompressed newc cpio, which the kernel unpacks as it is.
pub fn initramfs(busybox: &Path, init: &str) -> Result<Vec<u8>, String> {
    let binary = std::fs::read(busybox).map_err(|e| format!("cannot read {}: {e}", busybox.display()))?;
    let mut cpio = Cpio::default();
    for dir in ["bin", "dev", "proc", "sys"] {
        cpio.dir(dir);
    }
    cpio.file("bin/busybox", 0o755, &binary);
    cpio.symlink("bin/sh", "busybox");
    // The kernel opens /dev/console for init's stdio; an initramfs has no devtmpfs yet.
    cpio.char_device("dev/console", 5, 1);
    cpio.file("init", 0o755, init.as_bytes());
    Ok(cpio.finish())
}

/// A writer for the "newc" cpio format (`070701`): a 110-byte ASCII header of 13 eight-digit hex
/// fields, the NUL-terminated name, the data, each padded to four bytes; `TRAILER!!!` ends it.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    next_ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.next_ino += 1;
        let nlink = if mode & 0o170_000 == 0o040_000 { 2 } else { 1 };
        let fields = [
            self.next_ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            u32::try_from(data.len()).expect("initramfs member under 4 GiB"),
            0, // dev major
            0, // dev minor
            rdev.0,
            rdev.1,
            u32::try_from(name.len() + 1).expect("short name"),
            0, // check
        ];
        self.out.extend_from_slice(b"070701");
        for field in fields {
            self.out.extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad(4);
        self.out.extend_from_slice(data);
        self.pad(4);
    }

    fn pad(&mut self, to: usize) {
        let len = self.out.len().next_multiple_of(to);
        self.out.resize(len, 0);
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, (0, 0), b"");
    }

    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100_000 | perm, (0, 0), data);
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120_777, (0, 0), target.as_bytes());
    }

    pub fn char_device(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020_600, (major, minor), b"");
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), b"");
        self.pad(512);
        self.out
    }
}
