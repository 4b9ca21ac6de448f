//! The checked model carries what the backends would otherwise decide again: each memory
//! device's page size and host binding and the machine family are resolved once, when the
//! guest is checked, and the libvirt XML and the QEMU line only read them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vnumac::db::{self, Database, MemLoader};
use vnumac::ir::{Guest, MachineFamily};

/// Two nodes with 1 GiB and 2 MiB pages to spare.
const HOST: &str = "host h {
  node 0 cpus=0-7 memory=64GiB
  node 1 cpus=8-15 memory=64GiB
  hugepages node=0 size=1GiB count=32
  hugepages node=1 size=1GiB count=32
  hugepages node=0 size=2MiB count=4096
  hugepages node=1 size=2MiB count=4096
}
";

/// The guests of a program that must check without errors.
fn guests(program: &str) -> Vec<Guest> {
    let text = format!("{HOST}{program}");
    let db = Database::default();
    let program = db::load_program(&db, Path::new("m.vnuma"), &MemLoader::new("m.vnuma", text)).unwrap();
    let compiled = db::compile(&db, program);
    let errors: Vec<String> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    compiled.checked.build.guests.clone()
}

#[test]
fn each_memory_device_carries_its_page_size() {
    let g = guests(
        "guest g on=h {
  memory 4GiB hugepages=1GiB max=16GiB slots=6
  vcpus 4
  numa {
    cell 0 cpus=0-1 memory=2GiB host-node=0
    cell 1 cpus=2-3 memory=2GiB host-node=1 hugepages=2MiB
  }
  dimm size=1GiB node=0
  dimm size=1GiB node=1
  dimm size=1GiB node=0 hugepages=2MiB
  dimm size=1GiB node=0 hugepages=4KiB
  virtio-mem size=2GiB node=1 block=2MiB requested=1GiB
  virtio-mem size=2GiB node=0 block=2MiB requested=1GiB hugepages=4KiB
}
",
    );
    let pages: Vec<(String, Option<u64>)> = g[0]
        .memory_devices
        .iter()
        .map(|m| (m.alias(), m.hugepage_kib))
        .collect();
    let want = [
        // Its cell's 1 GiB, the guest's.
        ("dimm0", Some(1 << 20)),
        // Its cell's own 2 MiB.
        ("dimm1", Some(2048)),
        // Its own 2 MiB over its cell's 1 GiB.
        ("dimm2", Some(2048)),
        // The base page is ordinary memory.
        ("dimm3", None),
        ("virtiomem0", Some(2048)),
        ("virtiomem1", None),
    ];
    let want: Vec<(String, Option<u64>)> = want.iter().map(|(a, p)| (a.to_string(), *p)).collect();
    assert_eq!(pages, want);
    // The QEMU line follows the model: ordinary memory for the 4 KiB devices, the
    // resolved pool for the others.
    let line = vnumac::lower::qemu::command_line(&g[0]);
    let backend = |id: &str| {
        line.lines()
            .find(|l| l.contains(&format!("id={id},")))
            .unwrap_or_else(|| panic!("no backend {id} in\n{line}"))
            .to_string()
    };
    assert!(backend("memdimm0").contains("mem-path=/dev/hugepages1G"), "{line}");
    assert!(backend("memdimm1").contains("mem-path=/dev/hugepages,"), "{line}");
    assert!(backend("memdimm2").contains("mem-path=/dev/hugepages,"), "{line}");
    assert!(backend("memdimm3").contains("memory-backend-ram"), "{line}");
    assert!(backend("memvirtiomem1").contains("memory-backend-ram"), "{line}");
    // libvirt reads what was written: the 4 KiB page stays in the XML.
    let xml = vnumac::lower::libvirt::domain_xml(&g[0]);
    assert_eq!(xml.matches("<pagesize unit='KiB'>4</pagesize>").count(), 2, "{xml}");
}

#[test]
fn the_machine_family_is_decided_once() {
    for (machine, family, root) in [
        ("q35", MachineFamily::Q35, "pcie-root"),
        ("pc-q35-7.2", MachineFamily::Q35, "pcie-root"),
        ("pc", MachineFamily::Pc, "pci-root"),
        ("pc-i440fx-7.2", MachineFamily::Pc, "pci-root"),
    ] {
        let g = guests(&format!(
            "guest g on=h {{\n  machine \"{machine}\"\n  memory 2GiB\n  vcpus 2\n}}\n"
        ));
        assert_eq!(g[0].family, family, "{machine}");
        let xml = vnumac::lower::libvirt::domain_xml(&g[0]);
        assert!(xml.contains(&format!("model='{root}'")), "{machine}: {xml}");
    }
}

/// Whether the machine type takes `-numa node,mem=` is the model's, and the QEMU line
/// follows it: a model that says otherwise changes the line.
#[test]
fn legacy_numa_memory_is_decided_once() {
    let cells = "  numa {\n    cell 0 cpus=0 memory=1GiB\n    cell 1 cpus=1 memory=1GiB\n  }\n";
    for (machine, legacy) in [("pc-i440fx-5.0", true), ("pc-i440fx-7.2", false), ("q35", false)] {
        let mut g = guests(&format!(
            "guest g on=h {{\n  machine \"{machine}\"\n  memory 2GiB\n  vcpus 2\n{cells}}}\n"
        ));
        assert_eq!(g[0].numa_mem, legacy, "{machine}");
        let line = |g: &Guest| vnumac::lower::qemu::command_line(g);
        assert_eq!(line(&g[0]).contains("mem=1024"), legacy, "{machine}");
        g[0].numa_mem = !legacy;
        assert_eq!(
            line(&g[0]).contains("mem=1024"),
            !legacy,
            "{machine}: the backend decided"
        );
    }
}

#[test]
fn each_memory_device_carries_its_binding() {
    let g = guests(
        "guest g on=h {
  memory 4GiB max=16GiB slots=5
  vcpus 4
  memory-policy mode=preferred nodeset=0
  numa {
    cell 0 cpus=0-1 memory=2GiB host-node=1 policy=interleave
    cell 1 cpus=2-3 memory=2GiB
  }
  dimm size=1GiB node=0 host-node=0
  dimm size=1GiB node=0
  dimm size=1GiB node=1
  nvdimm path=\"/dev/dax0.0\" size=512MiB node=0
  virtio-pmem path=\"/var/lib/pmem0\" size=1GiB
}
",
    );
    let bindings: Vec<(String, Option<(String, &str)>)> = g[0]
        .memory_devices
        .iter()
        .map(|m| {
            let b = m.binding.as_ref().map(|b| (b.nodes.to_string(), b.policy.libvirt()));
            (m.alias(), b)
        })
        .collect();
    let want = [
        // Its own host node, strictly.
        ("dimm0", Some(("0", "strict"))),
        // Its cell's.
        ("dimm1", Some(("1", "interleave"))),
        // The guest's, for a cell without a binding of its own.
        ("dimm2", Some(("0", "preferred"))),
        ("nvdimm3", Some(("1", "interleave"))),
        // Its file backs it.
        ("virtiopmem0", None),
    ];
    let want: Vec<(String, Option<(String, &str)>)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.map(|(n, p)| (n.to_string(), p))))
        .collect();
    assert_eq!(bindings, want);
    let line = vnumac::lower::qemu::command_line(&g[0]);
    let backend = |id: &str| {
        line.lines()
            .find(|l| l.contains(&format!("id={id},")))
            .unwrap_or_else(|| panic!("no backend {id} in\n{line}"))
            .to_string()
    };
    assert!(backend("memdimm0").contains("host-nodes=0,policy=bind"), "{line}");
    assert!(backend("memdimm1").contains("host-nodes=1,policy=interleave"), "{line}");
    assert!(backend("memdimm2").contains("host-nodes=0,policy=preferred"), "{line}");
    assert!(
        backend("memnvdimm3").contains("host-nodes=1,policy=interleave"),
        "{line}"
    );
    assert!(!backend("memvirtiopmem0").contains("host-nodes"), "{line}");
}
