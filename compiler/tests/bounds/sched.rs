//! `sched`: real-time vCPUs beside a fleet of guests floating over the same nodes (the sweep
//! over every guest's CPU runs), tens of thousands of overlapping `sched` lines, and sets of
//! a million vCPUs.

use std::fmt::Write as _;

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

/// A host of 4 nodes × 64 CPUs: a guest of 256 real-time vCPUs, each pinned alone, then
/// 2,000 guests pinned to whole nodes and 500 not pinned at all. Every real-time vCPU shares
/// its CPU with all of them; the check sweeps each guest's CPU runs once and names one, for
/// one warning per `sched` line.
#[test]
fn real_time_vcpus_beside_a_floating_fleet_check_in_bounded_memory() {
    let dir = scratch("realtime-fleet");
    let mut text = String::from("host h {\n  smt adjacent\n");
    for n in 0..4 {
        let _ = writeln!(text, "  node {n} cpus={}-{} memory=1TiB", n * 64, n * 64 + 63);
    }
    text.push_str("}\nguest rt on=h {\n  machine pc\n  memory 64GiB\n  vcpus 255\n");
    for v in 0..255 {
        let _ = writeln!(text, "  pin vcpus={v} cpus={}", v + 1);
    }
    text.push_str("  emulator cpus=0\n  sched vcpus=0-254 policy=fifo priority=1\n}\n");
    for i in 0..2_500 {
        let pin = if i < 2_000 {
            format!("  pin vcpus=0-1 node={} shared=true\n", i % 4)
        } else {
            String::new()
        };
        let _ = writeln!(text, "guest g{i} on=h {{\n  memory 1GiB\n  vcpus 2\n{pin}}}");
    }
    std::fs::write(dir.join("fleet.vnuma"), text).unwrap();
    let run = vnumac_limited(&dir, &["check", "--message-format", "json", "fleet.vnuma"], LIMIT_MIB);
    run.assert_code(0).assert_diag("W0509").assert_diag("W0510");
    assert_eq!(run.stderr.matches("vnuma::W0509").count(), 1, "one per `sched` line");
}

/// 40,000 `sched` lines over the same 288 vCPUs: the first sets them, each later one
/// overlaps it. One look-up per run of each line, not a comparison with every earlier line.
#[test]
fn forty_thousand_overlapping_sched_lines_are_bounded() {
    let dir = scratch("sched-lines");
    let mut text = String::from("guest g {\n  memory 1GiB\n  vcpus 288\n");
    for i in 0..40_000 {
        let _ = writeln!(text, "  sched vcpus=0-287 policy=rr priority={}", i % 99 + 1);
    }
    text.push_str("}\n");
    std::fs::write(dir.join("lines.vnuma"), text).unwrap();
    vnumac_limited(&dir, &["check", "lines.vnuma"], LIMIT_MIB)
        .assert_code(1)
        .assert_diag("E0344");
}

/// 20,000 `sched` lines of a million vCPUs each, and as many of a million I/O threads:
/// refused from the ends of each set, never walking its ids.
#[test]
fn million_id_sched_sets_are_refused_without_walking_them() {
    let dir = scratch("sched-wide");
    let mut text = String::from("guest g {\n  memory 1GiB\n  vcpus 2\n  iothreads 2\n");
    for _ in 0..20_000 {
        text.push_str("  sched vcpus=0-1048575 policy=idle\n  sched iothreads=1-1048575 policy=batch\n");
    }
    text.push_str("}\n");
    std::fs::write(dir.join("wide.vnuma"), text).unwrap();
    vnumac_limited(&dir, &["check", "wide.vnuma"], LIMIT_MIB)
        .assert_code(1)
        .assert_diag("E0307")
        .assert_diag("E0345");
}
