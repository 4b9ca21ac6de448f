//! Values from outside never change the structure of what vnumac writes.
//!
//! * `.vnuma` text written back (`import`, `host probe`): a crafted domain XML or a crafted
//!   sysfs directory name adds no statement; the printed text parses to what was read.
//! * Outputs: a path full of XML and shell metacharacters reaches libvirt's schema and a
//!   running QEMU literally (`virt-xml-validate`, QMP `query-block` and `qom-get`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use common::qmp::{QEMU_TIMEOUT, run_qmp};
use common::shell::{shell_line, shell_words};
use common::{QEMU, Scratch, VALIDATOR, oracle_available, validate_xml};
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
    // And the check refuses them as a machine type and a CPU model.
    let diags = check_text(text);
    assert_eq!(diags.matches("vnuma::E0329").count(), 2, "{diags}");
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

/// Diagnostics of `text` checked as a file, rendered with their codes.
fn check_text(text: &str) -> String {
    let scratch = Scratch::new("check").unwrap();
    let file = scratch.dir.join("x.vnuma");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vnumac"))
        .args(["check", "--message-format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the vnumac binary and returns its stdout, which must be a success.
fn vnumac(args: &[&str], file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vnumac"))
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A disk path and an NVDIMM path holding `<`, `&`, `'`, `"`, `,`, a space and non-ASCII:
/// libvirt's schema accepts the XML, which holds them literally, and QEMU, started from
/// the printed line (keyval and JSON), opens exactly those files (disk, NVDIMM and
/// virtio-pmem).
#[test]
fn odd_paths_reach_libvirt_and_qemu_literally() {
    let scratch = Scratch::new("paths").unwrap();
    let odd = scratch.dir.join("odd <&'\"> é,x\tß");
    std::fs::create_dir_all(&odd).unwrap();
    let disk = odd.join("disk <&'\"é>,1.img");
    let nvdimm = odd.join("nv <&'\"é>,1.mem");
    let pmem = odd.join("pm <&'\"é>,1.mem");
    std::fs::File::create(&disk).unwrap().set_len(1 << 20).unwrap();
    std::fs::File::create(&nvdimm).unwrap().set_len(128 << 20).unwrap();
    std::fs::File::create(&pmem).unwrap().set_len(128 << 20).unwrap();
    let (disk, nvdimm, pmem) = (disk.to_str().unwrap(), nvdimm.to_str().unwrap(), pmem.to_str().unwrap());
    let write = vnumac::syntax::write::string;
    let source = format!(
        "guest odd {{\n  type qemu\n  memory 512MiB max=1GiB slots=2\n  vcpus 1\n  numa {{\n    cell 0 cpus=0 memory=512MiB\n  }}\n  \
         nvdimm path={} size=128MiB node=0\n  virtio-pmem path={} size=128MiB\n  devices {{\n    disk root path={} format=raw\n  }}\n}}\n",
        write(nvdimm),
        write(pmem),
        write(disk)
    );
    let file = scratch.dir.join("odd.vnuma");
    std::fs::write(&file, &source).unwrap();

    // The XML: well-formed, the values literal, and valid for libvirt.
    let xml = vnumac(&["build"], &file);
    let (root, _) = common::xml::parse_domain(&xml).unwrap();
    let source_file = root
        .at(&["devices", "disk", "source"])
        .and_then(|s| s.attr("file"))
        .unwrap();
    assert_eq!(source_file, disk);
    let paths: Vec<&str> = root
        .at(&["devices"])
        .unwrap()
        .all("memory")
        .filter_map(|m| m.at(&["source", "path"]))
        .map(|p| p.text.trim())
        .collect();
    assert_eq!(paths, [nvdimm, pmem]);
    if oracle_available(VALIDATOR) {
        let xml_file = scratch.dir.join("odd.xml");
        std::fs::write(&xml_file, &xml).unwrap();
        validate_xml(&xml_file).unwrap();
    }

    // The QEMU line, in both syntaxes: the file QEMU opened and the NVDIMM's backing file.
    if !oracle_available(QEMU) {
        return;
    }
    for syntax in ["keyval", "json"] {
        let line = vnumac(&["build", "--emit", "qemu", "--qemu-syntax", syntax], &file);
        let words = shell_words(&line).unwrap();
        let mut argv: Vec<String> = words[1..].to_vec();
        argv.extend(["-display", "none", "-nodefaults", "-S", "-qmp", "stdio"].map(String::from));
        let commands = [
            json!({"execute": "qmp_capabilities"}),
            json!({"execute": "query-named-block-nodes"}),
            json!({"execute": "qom-get", "arguments": {"path": "/objects/memnvdimm0", "property": "mem-path"}}),
            json!({"execute": "qom-get", "arguments": {"path": "/objects/memvirtiopmem0", "property": "mem-path"}}),
            json!({"execute": "quit"}),
        ];
        let (returns, _, _) = run_qmp(QEMU, &argv, &commands, QEMU_TIMEOUT)
            .unwrap_or_else(|e| panic!("{syntax}: QEMU must start:\n  {}\n{e}", shell_line(&argv)));
        let nodes = returns[1].as_array().unwrap();
        let storage = nodes
            .iter()
            .find(|n| n["node-name"] == "disk-root-storage")
            .unwrap_or_else(|| panic!("{syntax}: no disk-root-storage in {nodes:?}"));
        assert_eq!(storage["file"], Value::from(disk), "{syntax}");
        assert_eq!(returns[2], Value::from(nvdimm), "{syntax}");
        assert_eq!(returns[3], Value::from(pmem), "{syntax}");
    }
}
