//! What vnumac reads of a running guest through libvirt (`vnumac libvirt-facts`, the
//! `libvirt` feature), held against a real libvirtd of the test's own running a real TCG guest
//! defined from vnumac's XML: every vCPU's pin, state and thread, the emulator's and the I/O
//! thread's pin and thread, the memory policy and QEMU's process must equal what the XML
//! intends, what libvirt's own calls say (`virsh vcpupin`, `emulatorpin`, `iothreadinfo`,
//! `numatune`: virDomainGetVcpuPinInfo, GetEmulatorPinInfo, GetIOThreadInfo,
//! GetNumaParameters) and what the kernel says (/proc); after `virsh vcpupin`, `emulatorpin`,
//! `iothreadpin` and `setvcpus` they must follow. An unknown or stopped domain, a URI that
//! cannot be reached and a daemon that never answers are coded errors, exit code 2. A vnumac
//! built without the feature says how to get it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod common;
#[cfg(feature = "libvirt")]
#[path = "verify_libvirt/daemon.rs"]
mod daemon;

use std::process::{Command, Output};
use std::time::Duration;

/// Runs vnumac with a deadline (a hang fails the test instead of stalling it).
fn vnumac(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vnumac"));
    cmd.args(args);
    common::libvirtd::run_with_timeout(cmd, Duration::from_secs(120)).unwrap()
}

/// Exit code 2 and one JSON error line with the libvirt code, whose message says all of `says`.
fn assert_libvirt_error(o: &Output, says: &[&str]) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {stderr}");
    assert!(o.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&o.stdout));
    let line: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(line["code"], vnumac::codes::LIBVIRT, "{line}");
    let message = line["message"].as_str().unwrap();
    for s in says {
        assert!(message.contains(s), "{s:?} is not in {message:?}");
    }
}

#[cfg(not(feature = "libvirt"))]
#[test]
fn a_build_without_libvirt_says_how_to_get_it() {
    let o = vnumac(&[
        "--message-format",
        "json",
        "libvirt-facts",
        "--connect",
        "qemu:///system",
        "guest",
    ]);
    assert_libvirt_error(&o, &["--features libvirt", "libvirt-dev", "pkg-config"]);
}

#[cfg(feature = "libvirt")]
#[path = "verify_libvirt/with_libvirt.rs"]
mod with_libvirt;
