//! `cachetune` and `memorytune`: tens of thousands of allocation lines in one group, of
//! groups whose vCPUs overlap, of monitors, and sets of a million vCPUs, on a host with
//! tens of thousands of cache banks.

use std::fmt::Write as _;

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

/// 20,000 cache banks and a guest with one line for each: one group, each allocation found
/// by its key, never compared with every earlier one; then the same with every line twice.
#[test]
fn twenty_thousand_allocations_in_one_group_are_bounded() {
    let dir = scratch("resctrl-allocs");
    let mut text = String::from("host h {\n  node 0 cpus=0-287 memory=64GiB\n");
    for b in 0..20_000 {
        let _ = writeln!(
            text,
            "  cache-bank {b} level=3 size=16MiB cpus=0-287 control=both granularity=1MiB allocs=16"
        );
    }
    text.push_str("}\nguest g on=h {\n  memory 1GiB\n  vcpus 288\n");
    for v in 0..288 {
        let _ = writeln!(text, "  pin vcpus={v} cpus={v}");
    }
    let lines: String = (0..20_000)
        .map(|b| format!("  cachetune vcpus=0-287 cache={b} size=1MiB\n"))
        .collect();
    std::fs::write(dir.join("once.vnuma"), format!("{text}{lines}}}\n")).unwrap();
    vnumac_limited(&dir, &["check", "once.vnuma"], LIMIT_MIB).assert_code(0);
    std::fs::write(dir.join("twice.vnuma"), format!("{text}{lines}{lines}}}\n")).unwrap();
    vnumac_limited(&dir, &["check", "twice.vnuma"], LIMIT_MIB)
        .assert_code(1)
        .assert_diag("E0354");
}

/// 15,000 groups of two vCPUs each overlapping the next, 15,000 monitors of one group, and
/// lines of a million vCPUs a guest of 288 does not have: one sweep over the sorted runs,
/// one union of the monitored vCPUs, sets cut to the guest's from their ends.
#[test]
fn overlapping_groups_monitors_and_huge_sets_are_bounded() {
    let dir = scratch("resctrl-groups");
    let mut text = String::from("guest g {\n  memory 1GiB\n  vcpus 288\n");
    for i in 0..15_000u32 {
        let v = i % 287;
        let _ = writeln!(text, "  memorytune vcpus={v}-{} node=0 bandwidth=50", v + 1);
    }
    for i in 0..15_000u32 {
        let _ = writeln!(text, "  cachetune vcpus=0-287 monitor={}", i % 288);
    }
    text.push_str("}\n");
    std::fs::write(dir.join("groups.vnuma"), text).unwrap();
    vnumac_limited(&dir, &["check", "groups.vnuma"], LIMIT_MIB)
        .assert_code(1)
        .assert_diag("E0354");
    let mut wide = String::from("guest g {\n  memory 1GiB\n  vcpus 288\n");
    for _ in 0..20_000 {
        wide.push_str("  cachetune vcpus=0-999999 cache=0 size=1MiB\n");
    }
    wide.push_str("}\n");
    std::fs::write(dir.join("wide.vnuma"), wide).unwrap();
    vnumac_limited(&dir, &["check", "wide.vnuma"], LIMIT_MIB)
        .assert_code(1)
        .assert_diag("W0516")
        .assert_diag("E0354");
}
