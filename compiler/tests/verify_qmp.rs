//! `vnumac verify --qmp` against real parts: a guest file written for this machine (its
//! `vnumac host probe`), QEMU (TCG) started from the guest's own `vnumac build --emit qemu`
//! line with a QMP socket, its threads pinned by the test with `taskset` and scheduled with
//! `chrt` as the file intends. Then `verify` finds nothing; after each change (one vCPU moved,
//! one vCPU scheduled otherwise, the emulator thread moved, a QEMU whose memory backend has
//! another policy) it finds exactly that difference. Bad
//! peers (no socket, silence, garbage, a flood, a closed connection, threads that do not
//! exist) are coded errors within a bounded time: see `verify_qmp/peers.rs`.
//!
//! A missing QEMU, `taskset` or `chrt` skips, unless `VNUMAC_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "verify_qmp/guest.rs"]
mod guest;
#[path = "verify_qmp/peers.rs"]
mod peers;

use guest::{Qemu, Setup, verify};

/// The tools the real-part tests need, or a skip (a failure under VNUMAC_REQUIRE_ORACLES=1).
fn tools() -> Option<Setup> {
    if !common::oracle_available(common::QEMU) {
        return None;
    }
    for tool in ["taskset", "chrt"] {
        if let Err(problem) = common::tool_version(tool, std::process::Command::new(tool)) {
            common::skip_or_fail(&problem);
            return None;
        }
    }
    match Setup::for_this_machine() {
        Ok(setup) => Some(setup),
        Err(problem) => {
            common::skip_or_fail(&problem);
            None
        }
    }
}

#[test]
fn a_guest_pinned_as_intended_matches_and_each_move_is_named() {
    let Some(setup) = tools() else { return };
    let qemu = Qemu::start(&setup, &|line| line.to_string()).unwrap();
    // Bare QEMU pins and schedules nothing: every pinned thread is a difference until
    // someone pins it, and vCPU 1 until someone makes it SCHED_BATCH.
    let before = verify(&setup, &qemu, &[]);
    assert_eq!(before.exit, 1, "{before}");
    assert_eq!(
        before.subjects(),
        ["vcpu 0", "vcpu 1", "vcpu 1", "emulator", "iothread iothread1"],
        "{before}"
    );
    assert_eq!(before.found[2].0, "vnuma::V0710", "{before}");
    assert!(before.actual[2].ends_with("is scheduled other"), "{before}");

    qemu.pin_as_intended(&setup).unwrap();
    let clean = verify(&setup, &qemu, &[]);
    assert_eq!(clean.exit, 0, "{clean}");
    assert!(clean.found.is_empty(), "{clean}");
    assert!(clean.map.contains("kernel policy bind:"), "{clean}");
    assert!(!clean.map.lines().any(|l| l.starts_with('!')), "{clean}");

    // vCPU 1 moved onto vCPU 0's CPU.
    qemu.taskset(&setup.cpu_a.to_string(), qemu.vcpu_tid(1).unwrap())
        .unwrap();
    let moved = verify(&setup, &qemu, &[]);
    assert_eq!(moved.exit, 1, "{moved}");
    assert_eq!(
        moved.found,
        [("vnuma::V0701".to_string(), "vcpu 1".to_string())],
        "{moved}"
    );
    assert!(
        moved.map.lines().any(|l| l.starts_with('!') && l.contains("[V0701]")),
        "{moved}"
    );
    qemu.pin_as_intended(&setup).unwrap();

    // vCPU 1 back to SCHED_OTHER.
    qemu.chrt('o', qemu.vcpu_tid(1).unwrap()).unwrap();
    let unscheduled = verify(&setup, &qemu, &[]);
    assert_eq!(
        unscheduled.found,
        [("vnuma::V0710".to_string(), "vcpu 1".to_string())],
        "{unscheduled}"
    );
    qemu.pin_as_intended(&setup).unwrap();

    // The emulator (main) thread moved onto the I/O thread's CPU.
    qemu.taskset(&setup.cpu_b.to_string(), qemu.pid()).unwrap();
    let moved = verify(&setup, &qemu, &[]);
    assert_eq!(moved.exit, 1, "{moved}");
    assert_eq!(
        moved.found,
        [("vnuma::V0703".to_string(), "emulator".to_string())],
        "{moved}"
    );
}

#[test]
fn a_backend_with_another_policy_is_named() {
    let Some(setup) = tools() else { return };
    let node = setup.node;
    let bind = format!("host-nodes={node},policy=bind");
    for (change, policy) in [
        (format!("host-nodes={node},policy=preferred"), format!("prefer:{node}")),
        (
            format!("host-nodes={node},policy=interleave"),
            format!("interleave:{node}"),
        ),
        (String::new(), "default".to_string()),
    ] {
        // Only the cell's backend changes; the DIMM's keeps its binding.
        let cell = "id=ram-node0,size=268435456";
        let changed = if change.is_empty() {
            cell.to_string()
        } else {
            format!("{cell},{change}")
        };
        let edit = |word: &str| word.replacen(&format!("{cell},{bind}"), &changed, 1);
        let qemu = Qemu::start(&setup, &edit).unwrap();
        assert!(
            qemu.line.contains("memory-backend-ram,id=ram-node0")
                && !qemu.line.contains(&format!("ram-node0,size=268435456,{bind}")),
            "{}",
            qemu.line
        );
        qemu.pin_as_intended(&setup).unwrap();
        let out = verify(&setup, &qemu, &[]);
        assert_eq!(out.exit, 1, "{out}");
        assert_eq!(out.found, [("vnuma::V0706".to_string(), "cell 0".to_string())], "{out}");
        assert!(out.actual[0].contains(&format!("policy {policy}")), "{out}");
    }
}

#[test]
fn watch_prints_each_new_difference_once_and_a_guest_that_exits_is_an_error() {
    let Some(setup) = tools() else { return };
    let qemu = Qemu::start(&setup, &|line| line.to_string()).unwrap();
    qemu.pin_as_intended(&setup).unwrap();
    let watch = guest::Watch::start(&setup, &qemu).unwrap();
    watch.wait_for_map().unwrap();
    qemu.taskset(&setup.cpu_a.to_string(), qemu.vcpu_tid(1).unwrap())
        .unwrap();
    watch.wait_for("\"subject\":\"vcpu 1\"").unwrap();
    // A few more looks see the same difference: it is not printed again.
    watch.wait_for_looks(3).unwrap();
    qemu.pin_as_intended(&setup).unwrap();
    watch.wait_for("vCPU 1 is as intended again").unwrap();
    drop(qemu);
    let (exit, stdout, stderr) = watch.finish().unwrap();
    assert_eq!(exit, Some(2), "{stdout}\n{stderr}");
    assert_eq!(stderr.matches("\"subject\":\"vcpu 1\"").count(), 1, "{stderr}");
    assert!(
        stderr.contains("\"code\":\"vnuma::qmp\"") || stderr.contains("\"code\":\"vnuma::proc\""),
        "{stderr}"
    );
}

/// What `vnumac verify` says before it reaches anything: a file with errors, a guest it does
/// not have, a file of several guests without `--guest`, no way to reach the guest.
#[test]
fn a_guest_that_cannot_be_verified_is_exit_code_2() {
    let dir = common::Scratch::new("verify-usage").unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let two = write(
        "two.vnuma",
        "guest a {\n  memory 1GiB\n  vcpus 1\n}\nguest b {\n  memory 1GiB\n  vcpus 1\n}\n",
    );
    let broken = write("broken.vnuma", "guest a {\n  memory 1GiB\n}\n");
    let socket = dir.dir.join("none.sock");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = guest::vnumac()
            .arg("verify")
            .args(args)
            .args(["--message-format", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };
    let q = socket.as_os_str();
    let (code, err) = run(&[two.as_os_str(), "--qmp".as_ref(), q]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("vnuma::usage") && err.contains("say which with --guest"),
        "{err}"
    );
    let (code, err) = run(&[two.as_os_str(), "--guest".as_ref(), "c".as_ref(), "--qmp".as_ref(), q]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no guest named `c`"), "{err}");
    let (code, err) = run(&[broken.as_os_str(), "--qmp".as_ref(), q]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("vnuma::E0312"), "{err}");
    let (code, err) = run(&[two.as_os_str(), "--guest".as_ref(), "a".as_ref()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("vnuma::usage"), "{err}");
    // The guest is there, the socket is not.
    let (code, err) = run(&[two.as_os_str(), "--guest".as_ref(), "a".as_ref(), "--qmp".as_ref(), q]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("vnuma::qmp") && err.contains("no QMP socket at"), "{err}");
}
