//! Values from outside never change the structure of what vnumac writes.
//!
//! * `.vnuma` text written back (`import`, `host probe`): a crafted domain XML or a crafted
//!   sysfs directory name adds no statement; the printed text parses to what was read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::Scratch;
use vnumac::span::FileId;
use vnumac::syntax::ast::Statement;

/// Top-level statements of `text`, which must parse without errors.
fn statements(text: &str) -> Vec<Statement> {
    let (file, diags) = vnumac::syntax::parse(FileId(0), text);
    assert!(diags.is_empty(), "{diags:?}\n{text}");
    file.statements
}

const EVIL: &str = "&#10;}&#10;guest evil on=peppi {&#10;  memory 1GiB&#10;  vcpus 1&#10;}&#10;# ";

/// Newlines, braces and quotes in attributes and text of a domain XML stay inside the
/// import's comments and strings: one guest comes out, with the values as they were.
#[test]
fn crafted_domain_xml_adds_no_guest() {
    let xml = format!(
        "<domain type='kvm' foo='x{EVIL}'>\n<name>x</name>\n<memory unit='KiB'>4194304</memory>\n\
         <vcpu placement='static'>4</vcpu>\n\
         <os firmware='efi{EVIL}'><type arch='x86_64' machine='q35{EVIL}'>hvm</type></os>\n\
         <features><acpi/><apic/></features>\n\
         <cpu mode='custom' match='exact'><model>Sky&quot;lake{EVIL}</model></cpu>\n\
         <devices>\n\
         <interface type='bridge'><source bridge='br0&quot;{EVIL}'/><model type='virtio{EVIL}'/></interface>\n\
         <disk type='file' device='disk'><driver name='qemu' type='qcow3{EVIL}'/>\
         <source file='/img/a&quot;\\{EVIL}'/><target dev='vda' bus='virtio'/></disk>\n\
         </devices>\n</domain>\n"
    );
    let imported = vnumac::import::import_domain(&xml, &vnumac::import::ImportOptions::default()).unwrap();
    let text = &imported.text;
    assert!(
        imported.notes.iter().any(|n| n.contains("guest evil")),
        "{:?}",
        imported.notes
    );
    let top = statements(text);
    assert_eq!(top.len(), 1, "one guest and nothing else:\n{text}");
    assert_eq!(top[0].keyword.text, "guest");
    assert_eq!(top[0].args[0].text, "x");
    // The values are carried literally, as strings.
    let crafted = "\n}\nguest evil on=peppi {\n  memory 1GiB\n  vcpus 1\n}\n# ";
    let body = &top[0].block.as_ref().unwrap().statements;
    let machine = body.iter().find(|s| s.keyword.text == "machine").unwrap();
    assert_eq!(machine.args[0].text, format!("q35{crafted}"));
    let cpu = body.iter().find(|s| s.keyword.text == "cpu").unwrap();
    // Element text is trimmed, as libvirt does.
    assert_eq!(
        cpu.prop("model").unwrap().value.text,
        format!("Sky\"lake{}", crafted.trim_end())
    );
    let devices = &body
        .iter()
        .find(|s| s.keyword.text == "devices")
        .unwrap()
        .block
        .as_ref()
        .unwrap()
        .statements;
    let nic = devices.iter().find(|s| s.keyword.text == "nic").unwrap();
    assert_eq!(nic.prop("bridge").unwrap().value.text, format!("br0\"{crafted}"));
    let disk = devices.iter().find(|s| s.keyword.text == "disk").unwrap();
    assert_eq!(disk.prop("path").unwrap().value.text, format!("/img/a\"\\{crafted}"));
}

/// A sysfs tree with one CPU and a PCI directory whose name is a whole host and guest.
#[test]
fn crafted_sysfs_pci_name_adds_nothing() {
    let scratch = Scratch::new("sysfs").unwrap();
    let root = &scratch.dir;
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("devices/system/cpu/cpu0/topology/core_id", "0\n");
    write("devices/system/cpu/cpu0/topology/physical_package_id", "0\n");
    write("devices/system/node/node0/cpulist", "0\n");
    write("devices/system/node/node0/meminfo", "Node 0 MemTotal: 4194304 kB\n");
    write("bus/pci/devices/0000:00:01.0/numa_node", "0\n");
    let crafted = "0000:00:02.0 node=0\n}\nhost evil {\n  node 0 cpus=0 memory=1GiB\n}\nguest evil on=evil {\n  memory 1GiB\n  vcpus 1\n}\nhost more {\n  pci 0000:00:03.0";
    write(&format!("bus/pci/devices/{crafted}/numa_node"), "0\n");

    let (profile, warnings) = vnumac::host::sysfs::probe("probed", root).unwrap();
    assert_eq!(profile.pci.len(), 1, "only the real device: {:?}", profile.pci);
    assert_eq!(profile.pci[0].address, "0000:00:01.0");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("not a PCI address") && !w.contains('\n')),
        "{warnings:?}"
    );
    let text = vnumac::host::print::to_vnuma(&profile);
    let top = statements(&text);
    assert_eq!(top.len(), 1, "one host and nothing else:\n{text}");
    assert_eq!(top[0].args[0].text, "probed");

    // The command prints the same, warnings on one line each.
    let out = Command::new(env!("CARGO_BIN_EXE_vnumac"))
        .args(["host", "probe", "--sysfs-root"])
        .arg(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(statements(&printed).len(), 1, "{printed}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.lines().all(|l| l.starts_with("warning: ")), "{stderr}");
}
