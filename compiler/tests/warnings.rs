//! Warnings never cost output: for every warning code, a guest that draws it (and nothing
//! worse) still gets every device of its `devices` block, disks, NIC, serial, console,
//! root ports and passthrough, in its libvirt XML, its QEMU line and its JSON model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use vnumac::db::{self, Database, MemLoader};
use vnumac::diagnostics::Severity;

/// Two nodes of eight CPUs; the passed-through device sits on node 1. `free` is node 1's
/// free memory when it was probed.
fn host(free: &str) -> String {
    format!(
        "host h {{\n  node 0 cpus=0-7 memory=64GiB\n  node 1 cpus=8-15 memory=64GiB{free}\n  \
         pci 0000:3b:00.0 node=1 name=\"vf\"\n}}\n"
    )
}

/// A guest with the full device block; `passthrough` is its `hostdev` line, if any.
fn guest(name: &str, body: &str, passthrough: &str) -> String {
    format!(
        "guest {name} on=h {{\n{body}\n  devices {{\n    root-port rp\n    \
         disk boot path=\"/var/lib/libvirt/images/{name}.qcow2\"\n    \
         disk data path=\"/var/lib/libvirt/images/{name}-data.raw\" format=raw bus=virtio on=rp\n    \
         nic lan bridge=br0\n    serial pty\n    console pty\n    {passthrough}\n  }}\n}}\n"
    )
}

/// A guest of an i440fx machine with the full device block less the root port, which
/// conventional PCI lacks: its data disk sits on pci.0.
fn pc_guest(name: &str, body: &str) -> String {
    guest(name, body, "")
        .replace("    root-port rp\n", "")
        .replace(" on=rp", "")
}

const NEAR: &str = "hostdev 0000:3b:00.0 node=auto";
const CELL_ON_1: &str = "  memory 4GiB\n  vcpus 2\n  numa {\n    cell 0 cpus=0-1 memory=4GiB host-node=1\n  }";

/// (warning code, what the case shows, the program).
fn cases() -> Vec<(&'static str, &'static str, String)> {
    let h = host("");
    vec![
        (
            "W0501",
            "a pin over two host nodes",
            h.clone() + &guest("g", &format!("{CELL_ON_1}\n  pin vcpus=0-1 cpus=7-8"), NEAR),
        ),
        (
            "W0502",
            "vCPUs on a node other than their cell's memory",
            h.clone() + &guest("g", &format!("{CELL_ON_1}\n  pin vcpus=0-1 node=0"), NEAR),
        ),
        (
            "W0503",
            "a socket in two cells",
            h.clone()
                + &guest(
                    "g",
                    "  memory 4GiB\n  vcpus 4\n  topology sockets=2 cores=2 threads=1\n  numa {\n    \
                     cell 0 cpus=0 memory=2GiB host-node=1\n    cell 1 cpus=1-3 memory=2GiB host-node=0\n  }",
                    NEAR,
                ),
        ),
        (
            "W0504",
            "`vnuma` cells of uneven size",
            h.clone() + &guest("g", "  memory 4GiB\n  vcpus 3\n  vnuma mode=host", NEAR),
        ),
        (
            "W0505",
            "a hostdev whose node does not back the cell it is put on",
            h.clone()
                + &guest(
                    "g",
                    "  memory 4GiB\n  vcpus 2\n  numa {\n    cell 0 cpus=0-1 memory=4GiB host-node=0\n  }",
                    "hostdev 0000:3b:00.0 node=0",
                ),
        ),
        (
            "W0505",
            "a guest without cells with a hostdev, as `import` writes most domains",
            h.clone() + &guest("g", "  memory 4GiB\n  vcpus 2", "hostdev 0000:3b:00.0"),
        ),
        (
            "W0506",
            "cells the guest kernel numbers differently",
            h.clone()
                + &guest(
                    "g",
                    "  memory 4GiB\n  vcpus 2\n  numa {\n    cell 0 memory=2GiB host-node=1\n    \
                     cell 1 cpus=0-1 memory=2GiB host-node=1\n  }",
                    NEAR,
                ),
        ),
        (
            "W0507",
            "two guests pinned to the same host CPUs",
            h.clone()
                + &guest("a", &format!("{CELL_ON_1}\n  pin vcpus=0-1 cpus=8-9"), NEAR)
                + &guest("b", &format!("{CELL_ON_1}\n  pin vcpus=0-1 cpus=9-10"), NEAR),
        ),
        (
            "W0508",
            "more memory bound to a node than it had free when probed",
            host(" free=2GiB") + &guest("g", CELL_ON_1, NEAR),
        ),
        (
            "W0513",
            "a guest's unpinned vCPUs beside a guest placed with dedicated cores, before it in the file",
            h.clone()
                + &guest("loose", "  memory 4GiB\n  vcpus 2", "")
                + &guest("db", "  memory 4GiB\n  vcpus 2\n  vnuma mode=host", NEAR),
        ),
        (
            "W0514",
            "a disk on cell 1 served by cell 0's I/O thread",
            h.clone()
                + &guest(
                    "g",
                    "  memory 4GiB\n  vcpus 2\n  numa {\n    cell 0 cpus=0 memory=2GiB host-node=0\n    \
                     cell 1 cpus=1 memory=2GiB host-node=1\n  }\n  pin vcpus=0 node=0\n  pin vcpus=1 node=1\n  \
                     iothreads per-cell",
                    NEAR,
                )
                .replace("root-port rp\n", "expander x node=1\n    root-port rp on=x\n")
                .replace("bus=virtio on=rp", "bus=virtio on=rp iothread=1"),
        ),
    ]
    .into_iter()
    .chain(realtime_cases())
    .chain(affinity_cases())
    .chain(resctrl_cases())
    .chain(target_cases())
    .chain(exact_cases())
    .collect()
}

/// The device affinity warnings: a device with no NUMA node, and `policy=socket` met by
/// another node of the device's package (both nodes in package 0 here).
fn affinity_cases() -> Vec<(&'static str, &'static str, String)> {
    let h = host("");
    vec![
        (
            "W0518",
            "`node=auto` on a device that reports no node",
            h.replace("0000:3b:00.0 node=1", "0000:3b:00.0 node=none") + &guest("g", CELL_ON_1, NEAR),
        ),
        (
            "W0519",
            "`policy=socket` on another node of the package",
            h.replace("  pci ", "  cpu 0-15 socket=0\n  pci ")
                + &guest(
                    "g",
                    &CELL_ON_1.replace("host-node=1", "host-node=0"),
                    "hostdev 0000:3b:00.0 node=auto policy=socket",
                ),
        ),
    ]
}

/// The cache and memory-bandwidth warnings, on the same host with a cache and a
/// bandwidth node on each node.
fn resctrl_cases() -> Vec<(&'static str, &'static str, String)> {
    let h = host("").replace(
        "  pci ",
        "  cache-bank 0 level=3 size=16MiB cpus=0-7 control=both granularity=1MiB allocs=16\n  \
         cache-bank 1 level=3 size=16MiB cpus=8-15 control=both granularity=1MiB allocs=16\n  \
         bandwidth-node 1 cpus=8-15 granularity=10 allocs=16\n  pci ",
    );
    let tuned = |pins: &str, tunes: &str| h.clone() + &guest("g", &format!("{CELL_ON_1}\n{pins}{tunes}"), NEAR);
    vec![
        (
            "W0515",
            "vCPUs on node 1 given a part of node 0's cache",
            tuned("  pin vcpus=0-1 node=1\n", "  cachetune vcpus=0-1 cache=0 size=4MiB"),
        ),
        (
            "W0516",
            "a memory-bandwidth limit on vCPUs the guest lacks",
            tuned("  pin vcpus=0-1 node=1\n", "  memorytune vcpus=1-3 node=1 bandwidth=50"),
        ),
        (
            "W0517",
            "a cache allocation for vCPUs that are not pinned",
            tuned("", "  cachetune vcpus=0-1 cache=1 size=4MiB"),
        ),
    ]
}

/// `virsh domcapabilities` of QEMU 7.2's q35, as the host's `domcaps=` file.
const DOMCAPS: &str = "<domainCapabilities><machine>pc-q35-7.2</machine><vcpu max='288'/>\
    <memoryBacking supported='yes'><enum name='sourceType'><value>memfd</value></enum></memoryBacking>\
    </domainCapabilities>";

/// The target warnings: domcapabilities of another machine, or of another QEMU.
fn target_cases() -> Vec<(&'static str, &'static str, String)> {
    let with = |attrs: &str| host("").replacen("host h {", &format!("host h domcaps=\"h.domcaps.xml\"{attrs} {{"), 1);
    let body = "  memory 4GiB\n  vcpus 4";
    vec![
        (
            "W0520",
            "domcapabilities of pc-q35-7.2, guest on pc-q35-7.1",
            with("") + &guest("g", &format!("  machine \"pc-q35-7.1\"\n{body}"), ""),
        ),
        (
            "W0521",
            "domcapabilities of QEMU 7.2, host says 8.2",
            with(" qemu=\"8.2\"") + &guest("g", body, ""),
        ),
        (
            "W0524",
            "a machine type QEMU 7.2 marks deprecated",
            host("") + &pc_guest("g", &format!("  machine \"pc-i440fx-1.7\"\n{body}")),
        ),
    ]
}

/// Cells kept to the KiB.
fn exact_cases() -> Vec<(&'static str, &'static str, String)> {
    let h = host("");
    vec![(
        "W0522",
        "cells kept to the KiB that `virsh start` would round",
        h + &guest(
            "g",
            "  memory 4GiB exact=true\n  vcpus 2\n  numa {\n    \
             cell 0 cpus=0 memory=2097000KiB host-node=1\n    cell 1 cpus=1 memory=2097304KiB host-node=1\n  }",
            NEAR,
        ),
    )]
}

/// The real-time warnings, on the same host with SMT pairs and hugepages.
fn realtime_cases() -> Vec<(&'static str, &'static str, String)> {
    let h = host("").replace(
        "  pci ",
        "  smt adjacent\n  hugepages node=1 size=2MiB count=4096\n  pci ",
    );
    let rt = |memory: &str, pins: &str| {
        guest(
            "g",
            &format!(
                "  memory 4GiB{memory}\n  vcpus 2\n  numa {{\n    cell 0 cpus=0-1 memory=4GiB host-node=1\n  }}\n\
                 {pins}\n  sched vcpus=0-1 policy=fifo priority=1"
            ),
            NEAR,
        )
    };
    let alone = "  pin vcpus=0 cpus=10\n  pin vcpus=1 cpus=12\n  emulator cpus=14";
    vec![
        (
            "W0509",
            "a real-time vCPU pinned to a whole core",
            h.clone()
                + &rt(
                    " locked=true hugepages=2MiB",
                    "  pin vcpus=0 cpus=10-11\n  pin vcpus=1 cpus=12\n  emulator cpus=14",
                ),
        ),
        (
            "W0510",
            "the emulator threads on a real-time vCPU's sibling",
            h.clone()
                + &rt(
                    " locked=true hugepages=2MiB",
                    "  pin vcpus=0 cpus=10\n  pin vcpus=1 cpus=12\n  emulator cpus=11",
                ),
        ),
        (
            "W0511",
            "real-time vCPUs on memory that is not locked",
            h.clone() + &rt(" hugepages=2MiB", alone),
        ),
        (
            "W0512",
            "real-time vCPUs on memory in ordinary pages",
            h.clone() + &rt(" locked=true", alone),
        ),
    ]
}

/// Every device of [`guest`]'s block is in the XML, the QEMU line and the JSON model.
fn assert_full_output(case: &str, g: &vnumac::ir::Guest, xml: &str, args: &str) {
    let name = &g.name;
    let passthrough = g
        .devices
        .iter()
        .any(|d| matches!(d.kind, vnumac::ir::DeviceKind::Hostdev { .. }));
    let q35 = vnumac::ir::MachineFamily::of(&g.machine) == vnumac::ir::MachineFamily::Q35;
    // On the i440fx machines the guest has no root port, and its NIC sits on pci.0.
    let ports = if q35 { 2 + usize::from(passthrough) } else { 0 };
    let mut xml_needs = vec![
        format!("<source file='/var/lib/libvirt/images/{name}.qcow2'/>"),
        format!("<source file='/var/lib/libvirt/images/{name}-data.raw'/>"),
        "<target dev='sda' bus='sata'/>".to_string(),
        "<target dev='vda' bus='virtio'/>".to_string(),
        "<source bridge='br0'/>".to_string(),
        "<serial type='pty'>".to_string(),
        "<console type='pty'>".to_string(),
        "<alias name='ua-rp'/>".to_string(),
        "<alias name='ua-port-lan'/>".to_string(),
    ];
    let mut args_needs = vec![
        format!("filename=/var/lib/libvirt/images/{name}.qcow2"),
        format!("filename=/var/lib/libvirt/images/{name}-data.raw"),
        "-device ide-hd,".to_string(),
        "-device virtio-blk-pci,".to_string(),
        "-netdev bridge,br=br0".to_string(),
        "-device virtio-net-pci,".to_string(),
        "-device isa-serial,".to_string(),
        "-device pcie-root-port,port=".to_string(),
        "id=ua-rp,".to_string(),
        "id=ua-port-lan,".to_string(),
    ];
    if passthrough {
        xml_needs.push("<hostdev mode='subsystem' type='pci' managed='yes'>".into());
        xml_needs.push("<address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>".into());
        args_needs.push("-device vfio-pci,host=0000:3b:00.0,".into());
    }
    if !q35 {
        let port = |n: &String| !n.contains("ua-rp") && !n.contains("pcie-root-port") && !n.contains("ua-port-lan");
        xml_needs.retain(port);
        args_needs.retain(port);
    }
    for needle in &xml_needs {
        assert!(
            xml.contains(needle.as_str()),
            "{case}: `{name}`'s XML lacks {needle}:\n{xml}"
        );
    }
    for needle in &args_needs {
        assert!(
            args.contains(needle.as_str()),
            "{case}: `{name}`'s QEMU line lacks {needle}:\n{args}"
        );
    }
    assert_eq!(
        xml.matches("model='pcie-root-port'").count(),
        ports,
        "{case}: root ports in\n{xml}"
    );
    assert_eq!(
        args.matches("-device pcie-root-port,").count(),
        ports,
        "{case}: root ports in\n{args}"
    );
    let json = vnumac::lower::json::guest_json(g);
    let kinds: Vec<&str> = json["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    let mut want = vec!["disk", "disk", "nic", "serial", "console"];
    if passthrough {
        want.push("hostdev");
    }
    assert_eq!(kinds, want, "{case}: `{name}`'s JSON devices");
    let controllers = json["controllers"].as_array().unwrap();
    assert!(controllers.len() >= ports, "{case}: JSON controllers {json}");
    for c in controllers {
        let alias = c["name"].as_str().unwrap().replace([':', '.'], "-");
        assert!(
            xml.contains(&format!("<alias name='ua-{alias}'/>")),
            "{case}: {alias} in\n{xml}"
        );
        assert!(args.contains(&format!("id=ua-{alias},")), "{case}: {alias} in\n{args}");
    }
}

#[test]
fn every_warning_keeps_every_device() {
    let mut covered = BTreeSet::new();
    for (code, what, text) in cases() {
        let case = format!("{code} ({what})");
        let db = Database::default();
        let program = db::load_program(
            &db,
            Path::new("w.vnuma"),
            &MemLoader::new("w.vnuma", text.clone()).with("h.domcaps.xml", DOMCAPS),
        )
        .unwrap();
        let compiled = db::compile(&db, program);
        let reported: BTreeSet<&str> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .map(|d| d.code.trim_start_matches("vnuma::"))
            .collect();
        assert_eq!(
            reported,
            BTreeSet::from([code]),
            "{case} should draw only {code}:\n{text}\n{:#?}",
            compiled.diagnostics
        );
        let outputs = db::lower(&db, program);
        let guests = &compiled.checked.build.guests;
        assert_eq!(
            outputs.len(),
            text.matches("\nguest ").count(),
            "{case}: every guest is written"
        );
        for (g, out) in guests.iter().zip(outputs) {
            assert_full_output(&case, g, &out.xml, &out.args);
        }
        covered.insert(code);
    }
    let warnings: BTreeSet<&str> = vnumac::codes::ALL
        .iter()
        .map(|(c, _)| c.trim_start_matches("vnuma::"))
        .filter(|c| c.starts_with('W'))
        .collect();
    assert_eq!(covered, warnings, "every warning code has a case here");
}

/// W0507: one warning per `pin` statement and earlier guest that shares a CPU with it,
/// naming the statement's first vCPU and the CPUs both run on, for the first eight such
/// guests, and one more warning when further guests share; `shared=true` statements draw
/// none. Checked on a crafted fleet against the rule computed here from the model.
#[test]
fn shared_pins_warn_once_per_statement_and_guest() {
    let mut text = String::from("host h {\n  node 0 cpus=0-15 memory=64GiB\n  node 1 cpus=16-31 memory=64GiB\n}\n");
    let pins = [
        "pin vcpus=0-1 node=0",
        "pin vcpus=0 cpus=3-4\n  pin vcpus=1 cpus=4-5",
        "pin vcpus=0,2 cpus=16-17\n  pin vcpus=1,3 node=0",
        "pin vcpus=0-3 node=1 shared=true",
        "pin vcpus=1 cpus=31\n  pin vcpus=0 cpus=5-6\n  pin vcpus=2-3 node=0",
        "pin vcpus=0-3 cpus=0-1",
    ];
    for (i, p) in pins.iter().cycle().take(24).enumerate() {
        text.push_str(&format!("guest g{i} on=h {{\n  memory 1GiB\n  vcpus 4\n  {p}\n}}\n"));
    }
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("w.vnuma"),
        &MemLoader::new("w.vnuma", text.clone()).with("h.domcaps.xml", DOMCAPS),
    )
    .unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{:#?}", compiled.diagnostics);
    let got: Vec<(u32, String)> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.code == vnumac::codes::PINS_SHARED)
        .map(|d| (d.primary_span().start, d.message.clone()))
        .collect();

    // The rule, by brute force over every earlier guest.
    let guests = &compiled.checked.build.guests;
    let cpus_of = |g: &vnumac::ir::Guest| {
        g.pins
            .iter()
            .fold(vnumac::sets::IdSet::new(), |all, p| all.union(&p.cpus))
    };
    let mut want = Vec::new();
    let mut summaries = 0;
    for (k, g) in guests.iter().enumerate() {
        let mut statements: Vec<(vnumac::span::Span, u32, &vnumac::sets::IdSet)> = Vec::new();
        for (p, span) in g.pins.iter().zip(&g.spans.pins) {
            if !statements.iter().any(|(s, ..)| s == span) {
                statements.push((*span, p.vcpu, &p.cpus));
            }
        }
        for (span, vcpu, cpus) in statements {
            if g.spans.shared_pins.contains(&span) {
                continue;
            }
            let sharers: Vec<(&str, vnumac::sets::IdSet)> = guests[..k]
                .iter()
                .map(|e| (e.name.as_str(), cpus.intersection(&cpus_of(e))))
                .filter(|(_, both)| !both.is_empty())
                .collect();
            for (other, both) in sharers.iter().take(8) {
                want.push((
                    span.start,
                    format!("vCPU {vcpu} runs on host CPUs {both}, which guest `{other}` also runs on"),
                ));
            }
            if sharers.len() > 8 {
                summaries += 1;
                let all = guests[..k]
                    .iter()
                    .fold(vnumac::sets::IdSet::new(), |a, e| a.union(&cpus_of(e)));
                want.push((
                    span.start,
                    format!(
                        "vCPU {vcpu} runs on host CPUs {}, which more guests than the 8 named also run on",
                        cpus.intersection(&all)
                    ),
                ));
            }
        }
    }
    assert!(
        summaries > 5,
        "the fleet has pins shared by more than eight guests: {summaries}"
    );
    let (mut got, mut want) = (got, want);
    got.sort();
    want.sort();
    assert!(want.len() > 100, "the fleet shares plenty: {}", want.len());
    assert_eq!(got, want);
}
