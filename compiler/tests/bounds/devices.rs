//! Devices near their host nodes: a host listing tens of thousands of PCI devices and a
//! guest passing as many through, found by address in a map built once, with the help of an
//! unknown device naming a few of the host's devices, not all of them.

use std::fmt::Write as _;

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

const DEVICES: usize = 20_000;

fn address(i: usize) -> String {
    format!("0000:{:02x}:{:02x}.{}", i / 256, (i / 8) % 32, i % 8)
}

/// A host of four nodes in two packages listing `DEVICES` PCI devices, and a guest with
/// two cells and one `hostdev` line per address from `first` on, each with `tail`.
fn program(first: usize, tail: &str) -> String {
    let mut text = String::from("host h {\n  cpu 0-7 socket=0\n  cpu 8-15 socket=1\n");
    for node in 0..4 {
        let _ = writeln!(text, "  node {node} cpus={}-{} memory=64GiB", node * 4, node * 4 + 3);
    }
    for i in 0..DEVICES {
        let _ = writeln!(text, "  pci {} node={}", address(i), i % 4);
    }
    text.push_str(
        "}\nguest g on=h {\n  memory 4GiB\n  vcpus 2\n  numa {\n    cell 0 cpus=0 memory=2GiB host-node=0\n    \
         cell 1 cpus=1 memory=2GiB host-node=2\n  }\n  devices {\n",
    );
    for i in first..first + DEVICES {
        let _ = writeln!(text, "    hostdev {}{tail}", address(i));
    }
    text + "  }\n}\n"
}

/// 20,000 passed-through devices the host does not list, on a host listing 20,000: each
/// error's help names eight of them and counts the rest. When it named all of them, the
/// diagnostics alone took gigabytes.
#[test]
fn unknown_devices_on_a_host_of_many_are_reported_in_bounded_memory() {
    let dir = scratch("hostdevs-unknown");
    std::fs::write(dir.join("unknown.vnuma"), program(DEVICES, "")).unwrap();
    let run = vnumac_limited(&dir, &["check", "--message-format", "json", "unknown.vnuma"], LIMIT_MIB);
    run.assert_code(1).assert_diag("E0413");
    assert!(
        run.stderr.contains("and 19992 more"),
        "the help counts the devices it does not name"
    );
}

/// 20,000 devices on `node=auto policy=socket`, half of them on nodes with no cell of the
/// guest: each package's nearest cell is found once per node.
#[test]
fn many_devices_placed_by_package_are_bounded() {
    let dir = scratch("hostdevs-socket");
    std::fs::write(dir.join("socket.vnuma"), program(0, " node=auto policy=socket")).unwrap();
    let run = vnumac_limited(&dir, &["check", "--message-format", "json", "socket.vnuma"], LIMIT_MIB);
    // The expanders run out of bus numbers (E0328) long before the devices do.
    run.assert_code(1).assert_diag("W0519").assert_diag("E0328");
}
