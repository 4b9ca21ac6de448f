//! `check` on inputs that once expanded: thousands of guest cells (a cells × cells distance
//! table), a fleet of hand-pinned guests sharing nodes (a warning for every pair of
//! guests), and a `cpu` line of 80,000 features.

use std::fmt::Write as _;

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

/// 20,000 memory-only cells and one `distance` line: one error (QEMU takes 128 NUMA nodes),
/// counted before anything per cell is built. It once built the 20,000 × 20,000 table
/// (4.5 GiB).
#[test]
fn twenty_thousand_cells_are_one_error() {
    let dir = scratch("cells");
    let mut text = String::from("guest g {\n  memory 20000MiB\n  vcpus 1\n  numa {\n    cell 0 cpus=0 memory=1MiB\n");
    for i in 1..20_000 {
        let _ = writeln!(text, "    cell {i} memory=1MiB");
    }
    text.push_str("    distance 0 1 20\n  }\n}\n");
    std::fs::write(dir.join("cells.vnuma"), text).unwrap();
    let run = vnumac_limited(&dir, &["check", "cells.vnuma"], LIMIT_MIB);
    run.assert_code(1).assert_diag("E0340");
    assert_eq!(run.stderr.matches("vnuma::E").count(), 1, "{}", run.stderr);
}

/// 2,000 hand-written guests over the four nodes of a host, each pinned to its node: every
/// pin shares CPUs with the earlier guests of its node. Each `pin` names its first eight,
/// and one more warning sums up the rest; it once warned for every pair (499,000
/// warnings, 680 MiB).
#[test]
fn a_fleet_pinned_to_shared_nodes_warns_in_bounded_memory() {
    let dir = scratch("pins");
    let mut text = String::from("host h {\n");
    for n in 0..4 {
        let _ = writeln!(text, "  node {n} cpus={}-{} memory=256GiB", n * 16, n * 16 + 15);
    }
    text.push_str("}\n");
    for i in 0..2_000 {
        let _ = writeln!(
            text,
            "guest g{i} on=h {{\n  memory 1GiB\n  vcpus 2\n  pin vcpus=0-1 node={}\n}}",
            i % 4
        );
    }
    std::fs::write(dir.join("fleet.vnuma"), text).unwrap();
    let run = vnumac_limited(&dir, &["check", "--message-format", "json", "fleet.vnuma"], LIMIT_MIB);
    run.assert_code(0).assert_diag("W0507");
    assert!(
        run.stderr.contains("which more guests than the 8 named also run on"),
        "{}",
        run.stderr.chars().take(2000).collect::<String>()
    );
}

/// A `cpu` line requiring 9,000 features (as many as a 64 KiB string holds), and disabling
/// them all again: one look-up per feature (it once compared each with every earlier one:
/// 80,000 took 7 s).
#[test]
fn nine_thousand_cpu_features_check_in_bounded_memory() {
    let dir = scratch("features");
    let list: Vec<String> = (0..9_000).map(|i| format!("f{i}")).collect();
    let list = list.join(",");
    let text = format!(
        "guest g {{\n  memory 1GiB\n  vcpus 1\n  cpu host-passthrough require=\"{list}\" disable=\"{list}\"\n}}\n"
    );
    std::fs::write(dir.join("features.vnuma"), text).unwrap();
    vnumac_limited(&dir, &["check", "features.vnuma"], LIMIT_MIB)
        .assert_code(1)
        .assert_diag("E0338");
}
