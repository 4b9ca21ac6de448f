//! Guest-boot oracle: the guest kernel's own view (README.md, "Testing").
//!
//! * `guest_sees_declared_topology`: for each case in [`BOOT_CASES`], the golden `.args` line is
//!   neutralised (TCG, no host placement, RAM backends, null disks, user networking) and boots a
//!   real Linux kernel with a busybox initramfs built here. Its `/init` prints what the guest
//!   kernel sees in sysfs (per node: `cpulist`, `distance`, MemTotal, memory blocks; online CPUs;
//!   each CPU's thread siblings, core, die and package; PCI buses' CPU affinity and devices'
//!   `numa_node`) and powers off. That report must match the sibling XML, parsed here
//!   independently of vnumac: the same online CPUs per node, the same distance rows, each node's
//!   MemTotal a little below (never above) the cell's size, the node's memory blocks covering the
//!   cell plus its DIMMs, thread siblings as the XML `<topology>` implies, and PCI expander buses
//!   (and everything behind them) in their cells. The first case is then compared again with
//!   deliberately wrong expectations, which must be reported (the comparison can fail), without
//!   another boot.
//! * `recorded_report_matches_and_mismatches_are_caught`: the same comparison on a recorded guest
//!   report, so the parser and the comparison are checked even where nothing can boot.
//!
//! Needs `qemu-system-x86_64`, a kernel (`VNUMAC_GUEST_KERNEL`, else the newest
//! `/var/cache/vnumac-guest/vmlinuz-*`) and a static busybox (`VNUMAC_BUSYBOX`, else
//! `/bin/busybox`); `.ci/run` installs them. Skips with a message when one is missing, unless
//! `VNUMAC_REQUIRE_ORACLES=1`, which makes that a failure. Locally, `VNUMAC_GUEST_CASES` boots
//! other cases (`all` for every golden example; an absolute path without extension for a
//! hand-made `.args`/`.xml` pair) and `VNUMAC_GUEST_SERIAL_DIR` keeps each boot's serial output.
//! Run with `--nocapture` to see what each guest reported.
//!
//! The boot, the report, the XML's expectations and their comparison (`tests/common/view.rs`),
//! the `.args` reader, the neutraliser (here for a boot) and the XML reader are shared with the
//! other oracle suites (`tests/common/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use std::path::Path;

use common::guest::{Cpio, GuestTools, guest_tools};
use common::view::{
    DomainSpec, END, GuestReport, boot, compare, disagreement, domain_spec, parse_report, write_initrd,
};
use common::{Scratch, golden_dir};

/// The golden cases that are booted, as `golden/`-relative paths without extension (`.args` and
/// `.xml` sit side by side). Each boot costs seconds of TCG time on CI's two cores, so this is a
/// representative set, not every golden; add a case by adding its line.
const BOOT_CASES: &[&str] = &[
    // 4 cells of 4 vCPUs, SMT threads=2, distances 10/21, 32 GiB.
    "examples/talk-manual-cells/OL8-vnuma",
    // An asymmetric distance table (0→2 is 22, 2→0 is 28), threads=1.
    "examples/asymmetric-distances/asym",
    // A memory-only cell (CXL-style) next to two CPU cells, 48 GiB in all.
    "examples/snc-cxl/tiered",
    // Cells on sparse host nodes (0 and 8), 2 sockets of one SMT core each.
    "examples/sparse-host/spread",
    // 1 GiB hugepage file backends (booted as RAM), 32 vCPUs, 8 per cell, SMT threads=2.
    "examples/epyc-nps4/db-1",
    // No <numa> at all (one pc.ram backend): the guest sees a single node 0, SMT threads=2.
    "examples/laptop/dev",
    // Everything at once: 8 of 16 vCPUs at boot (hot-plugged by -device, so guest CPU k is the
    // k-th present vCPU), a pc-dimm on cell 0 and an nvdimm, three PCI expander buses bound to
    // cells 0, 1 and 3 with a disk, a NIC and a passthrough port behind them.
    "examples/vnuma-hotplug-devices/OL8-vnuma",
    // An i440fx guest: two pxb expanders (cells 1 and 0) with NICs and a disk straight on their
    // buses, behind QEMU's own bridge of each pxb, and a disk on pci.0.
    "examples/i440fx-expander/legacy",
    // Devices placed by `node=auto` and their affinity policies: a NIC on cell 1's expander
    // (its uplink on host node 1), one on cell 0's (`policy=socket`), each seen on its node.
    "examples/device-affinity/nfv",
    // Automatic partitioning, one case per distribution:
    // contiguous blocks (4 × 4 × 1 on the talk's host),
    "examples/vnuma-host/OL8-vnuma",
    // siblings: guest cores on host cores' thread pairs (4 × 2 × 2),
    "examples/vnuma-siblings/OL8-vnuma",
    // round-robin: vCPU v in cell v mod 4, one socket per vCPU,
    "examples/vnuma-round-robin/spread",
    // interleave: two-thread guest cores dealt round-robin (12 × 1 × 2),
    "examples/vnuma-interleave/weave",
    // and more cells than nodes: six cells on three host nodes, 11 between same-node cells.
    "examples/vnuma-six-cells/wide",
];

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Proves the booted guest kernel sees the NUMA cells, distances, memory and SMT siblings of the XML.
#[test]
fn guest_sees_declared_topology() {
    let Some(tools) = guest_tools() else {
        return;
    };
    let work = Scratch::new("guest").unwrap();
    let initrd = write_initrd(&tools, &work.dir).unwrap();

    let root = golden_dir();
    let mut failures = Vec::new();
    let mut first: Option<(DomainSpec, GuestReport)> = None;
    let cases = boot_cases(&root);
    for case in &cases {
        match boot_case(&root, case, &tools, &initrd) {
            Ok((spec, report)) => {
                if first.is_none() {
                    first = Some((spec, report));
                }
            }
            Err(e) => failures.push(e),
        }
    }
    // The comparison can fail: wrong expectations on a real report must be reported.
    match &first {
        Some((spec, report)) => failures.extend(self_test(spec, report).err()),
        None => {
            failures.push("no case agreed with its XML, so the comparison's self-test had no report to use".to_owned())
        }
    }
    eprintln!(
        "guest boot: {} case(s) tried, {} failure(s)",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "guest boot: {} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A guest report recorded from `talk-manual-cells` (raw serial lines, `\r` and all): it parses,
/// matches the golden XML, and stops matching when the expectation is wrong.
#[test]
fn recorded_report_matches_and_mismatches_are_caught() {
    let xml = std::fs::read_to_string(golden_dir().join("examples/talk-manual-cells/OL8-vnuma.xml")).unwrap();
    let spec = domain_spec(&xml).unwrap();
    let report = parse_report(RECORDED_TALK_MANUAL_CELLS).unwrap();
    let diffs = compare(&spec, &report);
    assert!(diffs.is_empty(), "recorded report disagrees:\n{}", diffs.join("\n"));
    self_test(&spec, &report).unwrap();
    // Noise around the markers is ignored; a report without its end marker is an error.
    let noisy = format!("[    0.0] booting\r\n{RECORDED_TALK_MANUAL_CELLS}reboot: Power down\r\n");
    assert!(parse_report(&noisy).is_ok());
    let truncated = RECORDED_TALK_MANUAL_CELLS.split(END).next().unwrap();
    assert!(parse_report(truncated).is_err());
}

/// The newc writer produces what the kernel's unpacker expects: aligned headers and a trailer.
#[test]
fn newc_archive_layout() {
    let mut cpio = Cpio::default();
    cpio.dir("bin");
    cpio.file("init", 0o755, b"#!x\n");
    let bytes = cpio.finish();
    assert!(bytes.starts_with(b"070701"));
    assert_eq!(bytes.len() % 512, 0);
    // "bin": 110-byte header + "bin\0" = 114, padded to 116; no data.
    assert_eq!(&bytes[110..116], b"bin\0\0\0");
    // "init": its header at 116, name at 226..231 padded to 232, then the 4 data bytes.
    assert_eq!(&bytes[116..122], b"070701");
    assert_eq!(&bytes[116 + 6 + 6 * 8..116 + 6 + 7 * 8], b"00000004"); // filesize
    assert_eq!(&bytes[226..236], b"init\0\0#!x\n");
    assert_eq!(&bytes[236..242], b"070701");
    assert_eq!(&bytes[346..357], b"TRAILER!!!\0");
}

// ---------------------------------------------------------------------------
// Which cases
// ---------------------------------------------------------------------------

/// [`BOOT_CASES`], or for a local run `VNUMAC_GUEST_CASES`: comma-separated cases in the same
/// form, or `all` for every `.args` under `golden/examples/` (minutes of TCG time).
fn boot_cases(root: &Path) -> Vec<String> {
    let Ok(chosen) = std::env::var("VNUMAC_GUEST_CASES") else {
        return BOOT_CASES.iter().map(|c| (*c).to_owned()).collect();
    };
    if chosen.trim() != "all" {
        return chosen
            .split(',')
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
    }
    let mut cases = Vec::new();
    let examples = root.join("examples");
    for dir in std::fs::read_dir(&examples).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "args") {
                let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
                cases.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    cases.sort();
    cases
}

// ---------------------------------------------------------------------------
// One case
// ---------------------------------------------------------------------------

/// Boots one case and compares; returns the XML's expectations and the guest's report when they agree.
fn boot_case(root: &Path, case: &str, tools: &GuestTools, initrd: &Path) -> Result<(DomainSpec, GuestReport), String> {
    let args_path = root.join(format!("{case}.args"));
    let xml_path = root.join(format!("{case}.xml"));
    let label = if Path::new(case).is_absolute() {
        case.to_owned()
    } else {
        format!("golden/{case}")
    };
    let xml_text =
        std::fs::read_to_string(&xml_path).map_err(|e| format!("{label}: cannot read {}: {e}", xml_path.display()))?;
    let spec = domain_spec(&xml_text).map_err(|e| format!("{label}.xml: cannot read the domain: {e}"))?;
    let args_text = std::fs::read_to_string(&args_path)
        .map_err(|e| format!("{label}: cannot read {}: {e}", args_path.display()))?;
    let booted = boot(&label, &args_text, tools, initrd, case)?;
    let diffs = compare(&spec, &booted.report);
    if diffs.is_empty() {
        return Ok((spec, booted.report));
    }
    Err(disagreement(&label, &format!("{label}.xml"), &diffs, &booted))
}

/// Feeds deliberately wrong expectations to the comparison and checks each one is reported.
fn self_test(spec: &DomainSpec, report: &GuestReport) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut tried = 0;
    let mut expect_diff = |what: &str, wrong: DomainSpec, needle: &str| {
        tried += 1;
        let diffs = compare(&wrong, report);
        if !diffs.iter().any(|d| d.contains(needle)) {
            problems.push(format!(
                "self-test: {what} went unnoticed (wanted a difference mentioning {needle:?}, got {diffs:?})"
            ));
        }
    };
    let mut wrong = spec.clone();
    if let [a, b, ..] = wrong.cells.as_mut_slice() {
        std::mem::swap(&mut a.cpus, &mut b.cpus);
        expect_diff("cells 0 and 1 with swapped cpus", wrong, "node 0 cpus");
    }
    let mut wrong = spec.clone();
    if let Some(row) = wrong.cells.first_mut().and_then(|c| c.distances.as_mut()) {
        if let Some(v) = row.values_mut().last() {
            *v += 1;
        }
        expect_diff("a changed distance", wrong, "node 0 distance");
    }
    let mut wrong = spec.clone();
    if let Some(cell) = wrong.cells.first_mut() {
        cell.memory += cell.memory / 4;
        expect_diff("a cell a quarter larger", wrong, "node 0 MemTotal");
    }
    let mut wrong = spec.clone();
    if let Some(cell) = wrong.cells.first_mut() {
        cell.memory = cell.memory * 9 / 10;
        expect_diff("a cell smaller than the guest's MemTotal", wrong, "node 0 MemTotal");
    }
    let mut wrong = spec.clone();
    wrong.topology[3] = if spec.topology[3] == 1 { 2 } else { 1 };
    wrong.topology[2] = (wrong.topology[2] * spec.topology[3]).div_ceil(wrong.topology[3]);
    let cpu0 = if wrong.topology[3] == 1 { "0" } else { "0-1" };
    expect_diff(
        "other SMT threads",
        wrong,
        &format!("cpu 0 (vCPU 0): XML siblings {cpu0} package"),
    );
    let mut wrong = spec.clone();
    *wrong.dimm_memory.entry(0).or_insert(0) += 4 << 30;
    expect_diff("a 4 GiB DIMM the guest does not have", wrong, "node 0 memory blocks");
    let mut wrong = spec.clone();
    match wrong.expanders.first_mut() {
        Some((_, cell)) => *cell = if *cell == 0 { 1 } else { 0 },
        None => wrong.expanders.push((0xfe, 0)),
    }
    expect_diff("an expander bus on another cell", wrong, "PCI ");
    let mut wrong = spec.clone();
    if let Some(&last) = wrong.present_vcpus.iter().next_back() {
        wrong.present_vcpus.remove(&last);
        expect_diff("one vCPU fewer online", wrong, "online CPUs");
    }
    if problems.is_empty() {
        eprintln!("self-test: all {tried} deliberately wrong expectations were reported");
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

// ---------------------------------------------------------------------------
// A recorded report
// ---------------------------------------------------------------------------

/// The whole serial output of `golden/examples/talk-manual-cells` booted under QEMU 7.2 with
/// Debian's 6.1.0-56 kernel (every line ends in `\r\n`, ttyS0's line discipline).
const RECORDED_TALK_MANUAL_CELLS: &str = "\
VNUMAC-GUEST-REPORT-BEGIN\r
kernel 6.1.0-56-amd64\r
online 0-15\r
memory block_size 8000000\r
node 0 cpulist 0-3\r
node 0 distance 10 21 21 21\r
node 0 meminfo Node 0 MemTotal:        8189660 kB\r
node 0 blocks 64 64\r
node 1 cpulist 4-7\r
node 1 distance 21 10 21 21\r
node 1 meminfo Node 1 MemTotal:        8211092 kB\r
node 1 blocks 64 64\r
node 2 cpulist 8-11\r
node 2 distance 21 21 10 21\r
node 2 meminfo Node 2 MemTotal:        8256368 kB\r
node 2 blocks 64 64\r
node 3 cpulist 12-15\r
node 3 distance 21 21 21 10\r
node 3 meminfo Node 3 MemTotal:        8253520 kB\r
node 3 blocks 64 64\r
pci 0000:00:00.0 node -1\r
pci 0000:00:1f.0 node -1\r
pci 0000:00:1f.2 node -1\r
pci 0000:00:1f.3 node -1\r
pcibus 0000:00 cpus 0-15\r
cpu 0 siblings 0-1 core 0 die 0 package 0\r
cpu 1 siblings 0-1 core 0 die 0 package 0\r
cpu 10 siblings 10-11 core 1 die 0 package 2\r
cpu 11 siblings 10-11 core 1 die 0 package 2\r
cpu 12 siblings 12-13 core 0 die 0 package 3\r
cpu 13 siblings 12-13 core 0 die 0 package 3\r
cpu 14 siblings 14-15 core 1 die 0 package 3\r
cpu 15 siblings 14-15 core 1 die 0 package 3\r
cpu 2 siblings 2-3 core 1 die 0 package 0\r
cpu 3 siblings 2-3 core 1 die 0 package 0\r
cpu 4 siblings 4-5 core 0 die 0 package 1\r
cpu 5 siblings 4-5 core 0 die 0 package 1\r
cpu 6 siblings 6-7 core 1 die 0 package 1\r
cpu 7 siblings 6-7 core 1 die 0 package 1\r
cpu 8 siblings 8-9 core 0 die 0 package 2\r
cpu 9 siblings 8-9 core 0 die 0 package 2\r
VNUMAC-GUEST-REPORT-END\r
[    6.272253] sysrq: Power Off\r
";
