//! What vnumac reads of a running guest through libvirt (the `libvirt` feature), held against
//! a real libvirtd of the test's own running real TCG guests defined from vnumac's XML.
//!
//! `vnumac libvirt-facts` (`verify_libvirt/with_libvirt.rs`): every vCPU's pin, state and
//! thread, the emulator's and the I/O thread's pin and thread, the memory policy and QEMU's
//! process must equal what the XML intends, what libvirt's own calls say (`virsh vcpupin`,
//! `emulatorpin`, `iothreadinfo`, `numatune`: virDomainGetVcpuPinInfo, GetEmulatorPinInfo,
//! GetIOThreadInfo, GetNumaParameters) and what the kernel says (/proc); after `virsh
//! vcpupin`, `emulatorpin`, `iothreadpin` and `setvcpus` they must follow.
//!
//! `vnumac verify --connect` (`verify_libvirt/verify.rs`): guests as libvirt started them
//! match their file; after `virsh vcpupin` or `emulatorpin` exactly that difference is named;
//! a guest of the file that is not defined or not running is a coded error for that guest.
//!
//! An unknown or stopped domain, a URI that cannot be reached and a daemon that never answers
//! are coded errors, exit code 2. A vnumac built without the feature says how to get it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod common;
#[cfg(feature = "libvirt")]
#[path = "verify_libvirt/daemon.rs"]
mod daemon;
#[cfg(feature = "libvirt")]
#[path = "verify_libvirt/setup.rs"]
mod setup;

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

/// A file of one guest that needs no host, in a scratch directory of its own.
fn plain_guest(tag: &str) -> (common::Scratch, String) {
    let scratch = common::Scratch::new(tag).unwrap();
    let path = scratch.dir.join("plain.vnuma");
    std::fs::write(&path, "guest plain {\n  type qemu\n  memory 256MiB\n  vcpus 1\n}\n").unwrap();
    let path = path.to_str().unwrap().to_string();
    (scratch, path)
}

#[cfg(not(feature = "libvirt"))]
#[test]
fn a_build_without_libvirt_says_how_to_get_it() {
    let how = ["--features libvirt", "libvirt-dev", "pkg-config"];
    let o = vnumac(&[
        "--message-format",
        "json",
        "libvirt-facts",
        "--connect",
        "qemu:///system",
        "guest",
    ]);
    assert_libvirt_error(&o, &how);
    let (_scratch, file) = plain_guest("verify-no-libvirt");
    let o = vnumac(&[
        "--message-format",
        "json",
        "verify",
        &file,
        "--connect",
        "qemu:///system",
    ]);
    assert_libvirt_error(&o, &how);
}

#[cfg(feature = "libvirt")]
#[path = "verify_libvirt/verify.rs"]
mod verify;
#[cfg(feature = "libvirt")]
#[path = "verify_libvirt/with_libvirt.rs"]
mod with_libvirt;
