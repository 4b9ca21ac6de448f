//! `vnumac import` of an i440fx (`pc`) domain with expander buses, shaped as libvirt's own
//! `pci-expander-bus` case: a `pci-expander-bus` bound to cell 1 with `busNr` 254 and devices
//! straight on its bus, a second one bound to no cell, devices on pci.0 after them. The
//! guest it imports to builds to the pxb libvirt's authors expect
//! (`pxb,bus_nr=254,numa_node=1,bus=pci.0,addr=0x2`), with the devices in the same slots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vnumac::db::{self, Database, MemLoader};
use vnumac::import::{ImportOptions, import_domain};

const ROOT: &str = "/virtual/imported-pc.vnuma";

/// The one guest of `text`: its domain XML and QEMU line.
fn build(text: &str) -> (String, String) {
    let db = Database::default();
    let program = db::load_program(&db, Path::new(ROOT), &MemLoader::new(ROOT, text).or_from(".")).unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{text}\n{:?}", compiled.diagnostics);
    let g = &compiled.checked.build.guests[0];
    (
        vnumac::lower::libvirt::domain_xml(g),
        vnumac::lower::qemu::command_line(g),
    )
}

fn nic(bus: u32, slot: u32) -> String {
    format!(
        "<interface type='bridge'><source bridge='br0'/><model type='virtio'/>\
         <address type='pci' domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}' function='0x0'/></interface>"
    )
}

fn domain(devices: &str) -> String {
    format!(
        "<domain type='kvm'><name>expander-test</name><memory unit='KiB'>219136</memory>\
         <vcpu placement='static'>16</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/><apic/></features>\
         <cpu mode='host-passthrough' check='none' migratable='on'><topology sockets='2' dies='1' cores='4' threads='2'/><numa>\
         <cell id='0' cpus='0-7' memory='109568' unit='KiB'/><cell id='1' cpus='8-15' memory='109568' unit='KiB'/>\
         </numa></cpu><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
         <controller type='usb' index='0' model='none'/><controller type='pci' index='0' model='pci-root'/>\
         {devices}<memballoon model='none'/></devices></domain>"
    )
}

const EXPANDERS: &str = "<controller type='pci' index='1' model='pci-expander-bus'><model name='pxb'/>\
    <target busNr='254'><node>1</node></target>\
    <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></controller>\
    <controller type='pci' index='2' model='pci-expander-bus'><model name='pxb'/><target busNr='252'/>\
    <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></controller>";

#[test]
fn libvirts_pci_expander_bus_case_imports_and_builds_its_pxb() {
    let devices = format!("{EXPANDERS}{}{}{}{}", nic(0, 4), nic(0, 5), nic(1, 0), nic(1, 1));
    let i = import_domain(&domain(&devices), &ImportOptions::default()).unwrap();
    assert!(i.text.contains("  machine pc\n"), "{}", i.text);
    assert!(i.text.contains("    expander pci1 node=1 bus-nr=254\n"), "{}", i.text);
    assert!(!i.text.contains("expander pci2"), "{}", i.text);
    assert!(
        i.notes
            .iter()
            .any(|n| n.contains("expander `pci2` without a guest NUMA node")),
        "{:?}",
        i.notes
    );
    // The devices on pci.0 keep no place; those on the expander keep its cell.
    assert_eq!(i.text.matches("bridge=br0 model=virtio\n").count(), 2, "{}", i.text);
    assert_eq!(
        i.text.matches("bridge=br0 model=virtio node=1\n").count(),
        2,
        "{}",
        i.text
    );
    let (xml, line) = build(&i.text);
    assert!(
        xml.contains(
            "<controller type='pci' index='1' model='pci-expander-bus'>\n      <model name='pxb'/>\n      \
             <target busNr='254'>\n        <node>1</node>\n      </target>"
        ),
        "{xml}"
    );
    assert!(
        line.contains("-device pxb,bus_nr=254,id=ua-pci1,numa_node=1,bus=pci.0,addr=0x2 "),
        "{line}"
    );
    // pci2's slot is free, so the devices on pci.0 move up one: noted, not silent.
    assert!(line.contains("bus=pci.0,addr=0x3"), "{line}");
    assert!(
        line.contains("bus=ua-pci1,addr=0x0") && line.contains("bus=ua-pci1,addr=0x1"),
        "{line}"
    );
    assert!(i.notes.iter().any(|n| n.contains("PCI addresses")), "{:?}", i.notes);
}

#[test]
fn a_pc_domain_in_vnumacs_own_slots_imports_without_notes() {
    let one = EXPANDERS.split("</controller>").next().unwrap().to_string() + "</controller>";
    let devices = format!("{one}{}{}", nic(1, 0), nic(0, 3));
    let i = import_domain(&domain(&devices), &ImportOptions::default()).unwrap();
    assert!(i.notes.is_empty(), "{:?}\n{}", i.notes, i.text);
    let (_, line) = build(&i.text);
    assert!(
        line.contains("bus=ua-pci1,addr=0x0") && line.contains("bus=pci.0,addr=0x3"),
        "{line}"
    );
    // A device moved off its slot is a note.
    let moved = format!("{one}{}{}", nic(1, 4), nic(0, 3));
    let i = import_domain(&domain(&moved), &ImportOptions::default()).unwrap();
    assert!(i.notes.iter().any(|n| n.contains("PCI addresses")), "{:?}", i.notes);
}

#[test]
fn a_root_port_of_a_pc_domain_is_dropped_with_a_note() {
    let devices = "<controller type='pci' index='1' model='pcie-root-port'><target chassis='1' port='0x8'/>\
        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></controller>"
        .to_string()
        + &nic(1, 0);
    let i = import_domain(&domain(&devices), &ImportOptions::default()).unwrap();
    assert!(!i.text.contains("    root-port"), "{}", i.text);
    assert!(i.notes.iter().any(|n| n.contains("pcie-root-port")), "{:?}", i.notes);
    build(&i.text);
}

fn sata_disk(unit: u32) -> String {
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/d{unit}.raw'/>\
         <target dev='sd{}' bus='sata'/><address type='drive' controller='0' bus='0' target='0' unit='{unit}'/></disk>",
        char::from(b'a' + unit as u8)
    )
}

fn sata_controller(slot: u32) -> String {
    format!(
        "<controller type='sata' index='0'>\
         <address type='pci' domain='0x0000' bus='0x00' slot='{slot:#04x}' function='0x0'/></controller>"
    )
}

/// The AHCI controller libvirt adds for a `pc` domain's SATA disks: in the first free slot of
/// pci.0 it imports without notes and builds back to that slot, the disks on its ports.
#[test]
fn a_pc_domains_sata_controller_imports_and_builds_in_its_slot() {
    let one = EXPANDERS.split("</controller>").next().unwrap().to_string() + "</controller>";
    let devices = format!(
        "{one}{}{}{}{}{}",
        sata_controller(4),
        nic(1, 0),
        nic(0, 3),
        sata_disk(0),
        sata_disk(1)
    );
    let i = import_domain(&domain(&devices), &ImportOptions::default()).unwrap();
    assert!(i.notes.is_empty(), "{:?}\n{}", i.notes, i.text);
    assert_eq!(i.text.matches("format=raw bus=sata\n").count(), 2, "{}", i.text);
    let (xml, line) = build(&i.text);
    assert!(
        xml.contains(
            "<controller type='sata' index='0'>\n      \
             <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>"
        ),
        "{xml}"
    );
    assert!(line.contains("-device ahci,id=sata0,bus=pci.0,addr=0x4 "), "{line}");
    assert!(
        line.contains("-device ide-hd,bus=sata0.0,") && line.contains("-device ide-hd,bus=sata0.1,"),
        "{line}"
    );
    // Elsewhere on pci.0, vnumac moves it to the first free slot: a note.
    let moved = devices.replace(&sata_controller(4), &sata_controller(9));
    let i = import_domain(&domain(&moved), &ImportOptions::default()).unwrap();
    assert!(i.notes.iter().any(|n| n.contains("PCI addresses")), "{:?}", i.notes);
    // Without an address, libvirt picks that slot too: no note.
    let unplaced = devices.replace(&sata_controller(4), "<controller type='sata' index='0'/>");
    let i = import_domain(&domain(&unplaced), &ImportOptions::default()).unwrap();
    assert!(i.notes.is_empty(), "{:?}", i.notes);
}
