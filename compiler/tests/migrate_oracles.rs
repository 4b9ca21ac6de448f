//! Oracles for `vnumac migrate`: a moved guest's destination domain, checked against the
//! real libvirt, QEMU and guest kernel (README.md, "Testing"; /work/shared/ORACLES.md).
//!
//! Three moves ([`cases`]): a hand-pinned guest (guest thread pairs on host sibling threads,
//! emulator and I/O threads pinned) onto a host with other node ids and a guest already on
//! it; a `vnuma mode=host` guest of four cells onto a host of two nodes; and a hot-plug guest
//! (6 of 12 vCPUs at boot, 1 GiB pages, a DIMM, a NIC and a disk behind expander buses).
//!
//! * `destination_xml_passes_libvirts_schema`: `virt-xml-validate` accepts the destination
//!   XML (and the source's).
//! * `libvirt_builds_vnumacs_destination_line`: libvirtd on a faked NUMA tree of the
//!   destination host (`common::libvirtd`) sees that host, and `virsh domxml-to-native`
//!   of the destination XML gives the options of vnumac's destination line
//!   (`common::native`); the source's line, bound to the source's nodes, differs from it
//!   where the host nodes changed.
//! * `qemu_builds_the_same_machine_on_the_destination`: the destination line started
//!   paused reports over QMP what the source XML declares (`common::spec`: cells, CPUs per
//!   node, memory per node, memory devices, expander buses and devices), and the same facts
//!   as the source line.
//! * `guest_sees_the_same_machine_after_the_move`: the destination line boots the test kernel
//!   to the view the source XML declares (`common::view`: CPUs per node, distances, memory per
//!   node, memory blocks, SMT siblings, PCI buses), and to the view the source line boots to.
//!
//! Each skips with a message when its tools are missing, unless `VNUMAC_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use vnumac::db::{self, Database, GuestOutput};
use vnumac::host::HostProfile;
use vnumac::migrate::To;

use common::guest::guest_tools;
use common::hosts::mem;
use common::libvirtd::{Daemon, oracles_available, write_fake_node_tree};
use common::native::{check_capabilities, compare_lines, declared_pci_ids};
use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::shell::{shell_line, shell_words};
use common::spec::{QemuFacts, run_qemu};
use common::view::{Booted, GuestReport, boot, disagreement, parse_report, write_initrd};
use common::xml::parse_xml;
use common::{QEMU, Scratch, VALIDATOR, oracle_available, validate_xml, workspace};

// ---------------------------------------------------------------------------
// The moves
// ---------------------------------------------------------------------------

/// A move: a program, the guest that moves and the host it goes to.
struct Case {
    label: &'static str,
    text: String,
    guest: &'static str,
    to: &'static str,
}

/// A move made: both sides' XML and QEMU line, both hosts.
struct Moved {
    label: &'static str,
    src: GuestOutput,
    dst: GuestOutput,
    dst_profile: HostProfile,
    /// Source node id → destination node id.
    nodes: Vec<(u32, u32)>,
    warnings: Vec<&'static str>,
}

fn caps(name: &str) -> String {
    workspace().join("examples/hosts").join(name).display().to_string()
}

fn cases() -> Vec<Case> {
    let peppi = format!("host peppi from=\"{}\"\n", caps("peppi.caps.xml"));
    vec![
        Case {
            label: "hand-pinned",
            text: format!(
                "{peppi}
# Four nodes with ids of their own, SMT split, CPUs 0 and 32 kept for the host.
host far {{
  node 1 cpus=0-7,32-39 memory=16GiB
  node 3 cpus=8-15,40-47 memory=16GiB
  node 5 cpus=16-23,48-55 memory=16GiB
  node 7 cpus=24-31,56-63 memory=16GiB
  smt split
  distance 1 3 16
  distance 1 5 22
  distance 1 7 22
  distance 3 5 22
  distance 3 7 22
  distance 5 7 16
  reserve cpus=0,32
}}

guest busy on=far {{
  memory 2GiB
  vcpus 2
  numa {{
    cell 0 cpus=0-1 memory=2GiB host-node=1
  }}
  pin vcpus=0 cpus=1
  pin vcpus=1 cpus=33
  emulator cpus=0
}}

guest pinned on=peppi {{
  memory 8GiB locked=true
  vcpus 8
  topology sockets=4 cores=1 threads=2
  numa {{
    cell 0 cpus=0-1 memory=2GiB host-node=0
    cell 1 cpus=2-3 memory=2GiB host-node=1
    cell 2 cpus=4-5 memory=2GiB host-node=2
    cell 3 cpus=6-7 memory=2GiB host-node=3
    distances from=host
  }}
  pin vcpus=0 cpus=1
  pin vcpus=1 cpus=61
  pin vcpus=2 cpus=16
  pin vcpus=3 cpus=76
  pin vcpus=4 cpus=31
  pin vcpus=5 cpus=91
  pin vcpus=6 cpus=46
  pin vcpus=7 cpus=106
  emulator cpus=0,60
  iothreads 1 cpus=0,60
}}
"
            ),
            guest: "pinned",
            to: "far",
        },
        Case {
            label: "vnuma-fewer-nodes",
            text: format!(
                "{peppi}host cascade from=\"{}\"

guest wide on=peppi {{
  memory 8GiB
  vcpus 8
  vnuma mode=host distribution=siblings
}}
",
                caps("real/cascadelake-2s.caps.xml")
            ),
            guest: "wide",
            to: "cascade",
        },
        // 12 vCPUs: with 8 or fewer possible vCPUs, some of them hot-plugged, Debian's 6.1
        // under QEMU 7.2's TCG stalls in stop_machine while it boots (seen with 6 and 8
        // possible vCPUs in two sockets; 12 and 16 boot), whatever vnumac writes.
        Case {
            label: "hotplug-dimm",
            text: format!(
                "{peppi}host epyc from=\"{}\"

guest hot on=peppi {{
  memory 4GiB max=16GiB slots=4 hugepages=1GiB
  vcpus 12 boot=6
  vnuma mode=host nodeset=0-1
  dimm size=1GiB node=1
  devices {{
    nic uplink bridge=br0 model=virtio node=1
    disk data path=\"/var/lib/libvirt/images/hot.raw\" format=raw bus=virtio node=0
  }}
}}
",
                caps("epyc-2s-nps4.caps.xml")
            ),
            guest: "hot",
            to: "epyc",
        },
    ]
}

/// Builds the program and moves the guest; every step must succeed.
fn moved(case: &Case) -> Moved {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("input.vnuma"), &mem(&case.text)).unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{}: {:#?}", case.label, compiled.diagnostics);
    let src = db::lower(&db, program)
        .iter()
        .find(|o| o.name == case.guest)
        .unwrap()
        .clone();
    let m = vnumac::migrate::migrate(&db, program, case.guest, To::Host(case.to))
        .unwrap_or_else(|f| panic!("{}: the move failed: {f:?}", case.label));
    Moved {
        label: case.label,
        dst: GuestOutput::of(&m.moved.guest),
        src,
        dst_profile: m.destination_profile.clone(),
        nodes: m.moved.nodes.clone(),
        warnings: m.moved.warnings.iter().map(|d| d.code).collect(),
    }
}

fn all_moved() -> Vec<Moved> {
    cases().iter().map(moved).collect()
}

/// The host nodes a domain's `<numatune>` names.
fn numatune_nodes(xml: &str) -> BTreeSet<u32> {
    let dom = parse_xml(xml).unwrap();
    let tune = dom.at(&["numatune"]);
    let sets = tune
        .into_iter()
        .flat_map(|t| t.all("memnode").chain(t.all("memory")))
        .filter_map(|m| m.attr("nodeset"));
    sets.flat_map(|s| common::xml::parse_cpu_set(s).unwrap()).collect()
}

/// Each case moves as it says: other host nodes and pins, merged cells, a DIMM.
#[test]
fn the_moves_are_what_the_cases_say() {
    let moves = all_moved();
    for m in &moves {
        assert_ne!(m.src.xml, m.dst.xml, "{}: nothing changed", m.label);
        assert!(
            m.warnings.iter().all(|w| *w == "vnuma::M0806"),
            "{}: {:?}",
            m.label,
            m.warnings
        );
    }
    let [pinned, wide, hot] = &moves[..] else { panic!() };
    assert_eq!(numatune_nodes(&pinned.dst.xml), BTreeSet::from([1, 3, 5, 7]));
    assert_eq!(numatune_nodes(&pinned.src.xml), BTreeSet::from([0, 1, 2, 3]));
    assert!(!pinned.dst.xml.contains("cpuset='1'"), "busy's CPU");
    assert_eq!(numatune_nodes(&wide.src.xml).len(), 4);
    assert_eq!(numatune_nodes(&wide.dst.xml).len(), 2, "{:?}", wide.nodes);
    assert_eq!(wide.warnings, ["vnuma::M0806"]);
    assert!(hot.dst.xml.contains("<memory model='dimm'>"));
    assert!(hot.dst.xml.contains("current='6'"));
    assert!(hot.dst.xml.contains("<page size='1048576'"));
}

// ---------------------------------------------------------------------------
// libvirt's schema
// ---------------------------------------------------------------------------

#[test]
fn destination_xml_passes_libvirts_schema() {
    if !oracle_available(VALIDATOR) {
        return;
    }
    let scratch = Scratch::new("migrate-xml").unwrap();
    let mut failures = Vec::new();
    for m in all_moved() {
        for (side, out) in [("source", &m.src), ("destination", &m.dst)] {
            let path = scratch.dir.join(format!("{}-{side}.xml", m.label));
            std::fs::write(&path, &out.xml).unwrap();
            if let Err(e) = validate_xml(&path) {
                failures.push(format!("{} ({side}): {e}", m.label));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// libvirt's own QEMU driver
// ---------------------------------------------------------------------------

#[test]
fn libvirt_builds_vnumacs_destination_line() {
    let moves = all_moved();
    if !oracles_available() {
        return;
    }
    let scratch = Scratch::new("migrate-libvirtd").unwrap();
    let cache = scratch.dir.join("cache");
    let mut failures = Vec::new();
    let mut source_lines_differ = 0;
    for (i, m) in moves.iter().enumerate() {
        let dir = scratch.dir.join(format!("host{i}"));
        write_fake_node_tree(&m.dst_profile, &dir.join("node")).unwrap();
        let daemon = match Daemon::start(&dir, &cache) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: libvirtd did not start: {e}", m.label));
                continue;
            }
        };
        if let Err(e) = check_capabilities(&m.dst_profile, &daemon.capabilities) {
            failures.push(format!("{}: libvirt does not see the destination:\n{e}", m.label));
        }
        let xml = dir.join(format!("{}.xml", m.label));
        std::fs::write(&xml, &m.dst.xml).unwrap();
        let declared = declared_pci_ids(&m.dst.xml).unwrap();
        match daemon.virsh(&["domxml-to-native", "qemu-argv", &xml.to_string_lossy()]) {
            Ok(libvirt) => {
                let outcome = compare_lines(&libvirt, &m.dst.args, &declared).unwrap();
                for note in &outcome.notes {
                    eprintln!("{}: note: {note}", m.label);
                }
                if !outcome.diffs.is_empty() {
                    failures.push(format!(
                        "{}: libvirt's line for the destination XML and vnumac's destination line differ:\n{}",
                        m.label,
                        outcome.diffs.join("\n")
                    ));
                }
                // The source's line binds to the source's nodes: where they changed, libvirt's
                // destination line is not the source's.
                let from_source = compare_lines(&libvirt, &m.src.args, &declared).unwrap();
                if numatune_nodes(&m.src.xml) != numatune_nodes(&m.dst.xml) {
                    if from_source.diffs.is_empty() {
                        failures.push(format!(
                            "{}: the host nodes changed, but the source's line matches libvirt's destination line",
                            m.label
                        ));
                    }
                    source_lines_differ += 1;
                }
            }
            Err(e) => failures.push(format!("{}: libvirt rejects the destination XML: {e}", m.label)),
        }
        if let Err(e) = daemon.stop() {
            failures.push(format!("{}: {e}", m.label));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(source_lines_differ >= 2, "too few moves changed host nodes");
}

// ---------------------------------------------------------------------------
// QEMU over QMP
// ---------------------------------------------------------------------------

/// A line neutralised and started paused: what QEMU reports.
fn qemu_facts(label: &str, args: &str, expanders: &[String]) -> Result<QemuFacts, String> {
    let words = shell_words(args)?;
    let options = qemu_options(&words)?;
    let scratch = Scratch::new("migrate-qemu")?;
    let argv = neutralise(&options, Run::Paused(&scratch))?;
    run_qemu(&argv, expanders, &[]).map_err(|e| {
        format!(
            "{label}: QEMU did not answer.\n  ran: {QEMU} {}\n{e}",
            shell_line(&argv)
        )
    })
}

/// One line per fact the two QEMUs report differently.
fn same_facts(a: &QemuFacts, b: &QemuFacts) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            diffs.push(format!("{what}: source {x} | destination {y}"));
        }
    };
    differ("nodes", a.nodes.to_string(), b.nodes.to_string());
    differ(
        "CPUs per node",
        format!("{:?}", a.node_cpus),
        format!("{:?}", b.node_cpus),
    );
    differ(
        "memory per node (MiB)",
        format!("{:?}", a.node_size_mib),
        format!("{:?}", b.node_size_mib),
    );
    differ(
        "hot-plugged memory per node (MiB)",
        format!("{:?}", a.node_plugged_mib),
        format!("{:?}", b.node_plugged_mib),
    );
    differ("vCPU slots", format!("{:?}", a.cpus), format!("{:?}", b.cpus));
    differ("base memory", a.base_memory.to_string(), b.base_memory.to_string());
    differ(
        "memory devices",
        format!("{:?}", a.memory_devices),
        format!("{:?}", b.memory_devices),
    );
    differ(
        "expander buses' nodes",
        format!("{:?}", a.expander_nodes),
        format!("{:?}", b.expander_nodes),
    );
    differ(
        "devices",
        format!("{:?}", a.peripherals),
        format!("{:?}", b.peripherals),
    );
    diffs
}

#[test]
fn qemu_builds_the_same_machine_on_the_destination() {
    if !oracle_available(QEMU) {
        return;
    }
    let mut failures = Vec::new();
    for m in all_moved() {
        let spec = common::spec::domain_spec(&m.src.xml).unwrap();
        let expanders: Vec<String> = spec.expanders.iter().map(|(id, _)| id.clone()).collect();
        let run = |side: &str, args: &str| qemu_facts(&format!("{} ({side})", m.label), args, &expanders);
        let (src, dst) = match (run("source", &m.src.args), run("destination", &m.dst.args)) {
            (Ok(s), Ok(d)) => (s, d),
            (s, d) => {
                failures.extend(s.err().into_iter().chain(d.err()));
                continue;
            }
        };
        for (side, facts) in [("source", &src), ("destination", &dst)] {
            let diffs = common::spec::compare(&spec, facts);
            if !diffs.is_empty() {
                failures.push(format!(
                    "{}: QEMU on the {side} line disagrees with the source XML:\n  {}",
                    m.label,
                    diffs.join("\n  ")
                ));
            }
        }
        let diffs = same_facts(&src, &dst);
        if !diffs.is_empty() {
            failures.push(format!(
                "{}: QEMU reports another machine on the destination:\n  {}",
                m.label,
                diffs.join("\n  ")
            ));
        }
        assert!(!spec.expanders.is_empty() || m.label != "hotplug-dimm");
        // The comparison can fail: vCPU 1 moved to cell 1 is another machine.
        if m.label == "hand-pinned" {
            let other = m
                .dst
                .args
                .replace("nodeid=0,cpus=0-1,", "nodeid=0,cpus=0,")
                .replace("nodeid=1,cpus=2-3,", "nodeid=1,cpus=1-3,");
            assert_ne!(other, m.dst.args);
            match run("changed", &other) {
                Ok(f) if same_facts(&src, &f).iter().any(|d| d.starts_with("CPUs per node")) => {}
                Ok(f) => failures.push(format!("vCPU 1 in cell 1 went unnoticed: {:?}", same_facts(&src, &f))),
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// The guest kernel
// ---------------------------------------------------------------------------

/// MemTotal may differ between two boots of one machine by this much (firmware, the kernel
/// image and the swiotlb buffer vary a little; the memory blocks are compared exactly).
const MEM_TOTAL_SLACK_KIB: u64 = 64 * 1024;

/// One line per part of the view the two guests report differently.
fn same_view(a: &GuestReport, b: &GuestReport) -> Vec<String> {
    let mut diffs = Vec::new();
    let differ = |diffs: &mut Vec<String>, what: String, x: String, y: String| {
        if x != y {
            diffs.push(format!("{what}: source {x} | destination {y}"));
        }
    };
    differ(
        &mut diffs,
        "online CPUs".into(),
        format!("{:?}", a.online),
        format!("{:?}", b.online),
    );
    let ids: BTreeSet<&u32> = a.nodes.keys().chain(b.nodes.keys()).collect();
    for id in ids {
        let (x, y) = (a.nodes.get(id), b.nodes.get(id));
        let show = |n: Option<&common::view::GuestNode>, f: &dyn Fn(&common::view::GuestNode) -> String| {
            n.map_or_else(|| "no such node".to_string(), f)
        };
        differ(
            &mut diffs,
            format!("node {id} CPUs"),
            show(x, &|n| format!("{:?}", n.cpus)),
            show(y, &|n| format!("{:?}", n.cpus)),
        );
        differ(
            &mut diffs,
            format!("node {id} distances"),
            show(x, &|n| format!("{:?}", n.distance)),
            show(y, &|n| format!("{:?}", n.distance)),
        );
        differ(
            &mut diffs,
            format!("node {id} memory blocks"),
            show(x, &|n| format!("{:?}", n.blocks)),
            show(y, &|n| format!("{:?}", n.blocks)),
        );
        let total = |n: Option<&common::view::GuestNode>| n.and_then(|n| n.mem_total_kib);
        if let (Some(p), Some(q)) = (total(x), total(y)) {
            if p.abs_diff(q) > MEM_TOTAL_SLACK_KIB {
                diffs.push(format!("node {id} MemTotal: source {p} KiB | destination {q} KiB"));
            }
        } else {
            diffs.push(format!(
                "node {id} MemTotal: source {:?} | destination {:?}",
                total(x),
                total(y)
            ));
        }
    }
    let cpu = |r: &GuestReport| -> BTreeMap<u32, String> {
        r.cpus
            .iter()
            .map(|(&id, c)| {
                let line = format!(
                    "siblings {:?} core {} die {} package {}",
                    c.siblings, c.core, c.die, c.package
                );
                (id, line)
            })
            .collect()
    };
    let (ca, cb) = (cpu(a), cpu(b));
    for id in ca.keys().chain(cb.keys()).collect::<BTreeSet<_>>() {
        differ(
            &mut diffs,
            format!("cpu {id}"),
            ca.get(id).cloned().unwrap_or_default(),
            cb.get(id).cloned().unwrap_or_default(),
        );
    }
    differ(
        &mut diffs,
        "PCI devices' nodes".into(),
        format!("{:?}", a.pci_devices),
        format!("{:?}", b.pci_devices),
    );
    differ(
        &mut diffs,
        "PCI buses' CPUs".into(),
        format!("{:?}", a.pci_buses),
        format!("{:?}", b.pci_buses),
    );
    diffs
}

#[test]
fn guest_sees_the_same_machine_after_the_move() {
    let Some(tools) = guest_tools() else {
        return;
    };
    let work = Scratch::new("migrate-guest").unwrap();
    let initrd: PathBuf = write_initrd(&tools, &work.dir).unwrap();
    let mut failures = Vec::new();
    for m in all_moved() {
        let spec = common::view::domain_spec(&m.src.xml).unwrap();
        let run = |side: &str, args: &str| -> Result<Booted, String> {
            let label = format!("{} ({side})", m.label);
            let booted = boot(&label, args, &tools, &initrd, &format!("migrate-{}-{side}", m.label))?;
            let diffs = common::view::compare(&spec, &booted.report);
            if diffs.is_empty() {
                Ok(booted)
            } else {
                Err(disagreement(&label, "the source XML", &diffs, &booted))
            }
        };
        let (src, dst) = match (run("source", &m.src.args), run("destination", &m.dst.args)) {
            (Ok(s), Ok(d)) => (s, d),
            (s, d) => {
                failures.extend(s.err().into_iter().chain(d.err()));
                continue;
            }
        };
        let diffs = same_view(&src.report, &dst.report);
        if !diffs.is_empty() {
            failures.push(format!(
                "{}: the guest sees another machine after the move:\n  {}\n  source:\n    {}\n  destination:\n    {}",
                m.label,
                diffs.join("\n  "),
                src.report.raw.join("\n    "),
                dst.report.raw.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A small report of two nodes, as the guest's `/init` prints it.
const REPORT: &str = "\
VNUMAC-GUEST-REPORT-BEGIN
kernel 6.1.0-57-amd64
online 0-3
memory block_size 8000000
node 0 cpulist 0-1
node 0 distance 10 21
node 0 meminfo Node 0 MemTotal:        1900000 kB
node 0 blocks 16 16
node 1 cpulist 2-3
node 1 distance 21 10
node 1 meminfo Node 1 MemTotal:        2000000 kB
node 1 blocks 16 16
pcibus 0000:00 cpus 0-3
cpu 0 siblings 0-1 core 0 die 0 package 0
cpu 1 siblings 0-1 core 0 die 0 package 0
cpu 2 siblings 2-3 core 0 die 0 package 1
cpu 3 siblings 2-3 core 0 die 0 package 1
VNUMAC-GUEST-REPORT-END
";

/// The comparison of two views catches each kind of change, and lets MemTotal vary a little.
#[test]
fn another_view_is_reported() {
    let a = parse_report(REPORT).unwrap();
    assert_eq!(same_view(&a, &parse_report(REPORT).unwrap()), Vec::<String>::new());
    let wiggle = REPORT.replace("1900000", "1910000");
    assert_eq!(same_view(&a, &parse_report(&wiggle).unwrap()), Vec::<String>::new());
    for (change, to, needle) in [
        ("node 1 cpulist 2-3", "node 1 cpulist 2", "node 1 CPUs"),
        ("node 0 distance 10 21", "node 0 distance 10 31", "node 0 distances"),
        ("1900000", "1700000", "node 0 MemTotal"),
        ("node 1 blocks 16 16", "node 1 blocks 8 16", "node 1 memory blocks"),
        ("cpu 3 siblings 2-3", "cpu 3 siblings 3", "cpu 3"),
        ("online 0-3", "online 0-2", "online CPUs"),
        ("pcibus 0000:00 cpus 0-3", "pcibus 0000:00 cpus 0-1", "PCI buses"),
    ] {
        let other = REPORT.replace(change, to);
        assert_ne!(other, REPORT);
        let diffs = same_view(&a, &parse_report(&other).unwrap());
        assert!(diffs.iter().any(|d| d.contains(needle)), "{change} → {to}: {diffs:?}");
    }
}
