//! `<devices>`: expanders (PCIe's on q35, conventional PCI's on the i440fx `pc` machines)
//! and root ports, NICs, disks, passthrough, serial and console, and memory devices.
//!
//! vnumac numbers controllers itself: expanders, then written root ports, then the root
//! ports its short forms add (`node=CELL`, or none for a port on pcie.0) in device order.
//! The trailing root ports that hold one device each and are named as a short form
//! would name them (`ua-port-DEVICE`) are written as that short form, so the numbering
//! comes out the same; any other difference is a note.

use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::inventory::{Addr, Ctl, Dev, Kind};
use super::notes::{Notes, drop_unknown_attrs, drop_unknown_children};
use super::quote::{quoted, word_or_string};
use super::read::{attr_u32, text_u32};
use crate::ir::MachineFamily;
use crate::numbers::{
    BUS_NR, CHASSIS_PORT, CONTROLLER_INDEX, DECIMAL_ID, EXPANDER_NODE, IOTHREAD_ID, PCI_BUS, PCI_DOMAIN, PCI_FUNCTION,
    PCI_SLOT,
};

const EMULATOR: &str = "/usr/bin/qemu-system-x86_64";

/// A device's or controller's own `<address type='pci'>` (domain, bus, slot, function as
/// libvirt reads them: C notation, within the PCI ranges).
fn pci_address(n: &Node) -> Result<Option<Addr>, ImportError> {
    let Some(a) = n.all("address").find(|a| a.attr("type") == Some("pci")) else {
        return Ok(None);
    };
    attr_u32(a, "domain", &PCI_DOMAIN)?;
    let get = |k: &str, rule| -> Result<u32, ImportError> { Ok(attr_u32(a, k, rule)?.unwrap_or(0)) };
    Ok(Some((
        get("bus", &PCI_BUS)?,
        get("slot", &PCI_SLOT)?,
        get("function", &PCI_FUNCTION)?,
    )))
}

/// The `<target><node>` of an expander bus: None when absent or empty (libvirt then binds
/// it to no node).
fn expander_node(c: &Node) -> Result<Option<u32>, ImportError> {
    match c.child("target").and_then(|t| t.child("node")) {
        Some(n) => text_u32(n, &EXPANDER_NODE),
        None => Ok(None),
    }
}

pub(super) fn read(devs: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    check_expanders(devs, d)?;
    let q35 = MachineFamily::of(d.machine.as_deref().unwrap_or("q35")) == MachineFamily::Q35;
    let mut ctls: Vec<Ctl> = Vec::new();
    let mut list: Vec<Dev> = Vec::new();
    // Written slots are kept unless they are the ones vnumac would give anyway (0, 1, …
    // in order), so that vnumac's own XML imports back to the same text.
    let written_slots: Vec<Option<u32>> = devs
        .children
        .iter()
        .filter(|c| c.name == "memory" && matches!(c.attr("model"), Some("dimm" | "nvdimm")))
        .map(|c| {
            c.child("address")
                .map(|a| attr_u32(a, "slot", &DECIMAL_ID))
                .transpose()
                .map(Option::flatten)
        })
        .collect::<Result<_, _>>()?;
    let keep_slots = written_slots
        .iter()
        .enumerate()
        .any(|(i, s)| s.is_some_and(|s| s as usize != i));
    let mut chardevs = (false, false);
    for c in &devs.children {
        match c.name.as_str() {
            "emulator" if c.trimmed() == EMULATOR => {}
            "emulator" => notes.change(format!(
                "<emulator>{}</emulator>: vnumac writes {EMULATOR}",
                c.trimmed()
            )),
            "controller" => ctls.extend(controller(c, q35, notes)?),
            "interface" => list.extend(nic(c, notes)?),
            "disk" => list.extend(disk(c, d.iothreads.as_ref().map_or(0, |t| t.0), notes)?),
            "hostdev" => list.extend(hostdev(c, notes)?),
            "serial" | "console" => list.extend(chardev(c, &mut chardevs, notes)),
            "memory" => super::memdev::memdev(c, keep_slots, d, notes)?,
            "memballoon" if c.attr("model") == Some("none") => {}
            _ => notes.drop(c.describe()),
        }
    }
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for c in &mut ctls {
        if seen.contains(&c.name) {
            let renamed = format!("{}-{}", c.name, c.index);
            notes.change(format!("a second controller `{}` is named `{renamed}`", c.name));
            c.name = renamed;
        }
        seen.insert(c.name.clone());
    }
    // The first `<controller type='sata' index='0'>`'s PCI address: where a `pc` machine's
    // AHCI controller sits.
    let mut ahci = None;
    for c in devs.all("controller").filter(|c| c.attr("type") == Some("sata")) {
        if attr_u32(c, "index", &CONTROLLER_INDEX)?.unwrap_or(0) == 0 {
            ahci = pci_address(c)?;
            break;
        }
    }
    super::plan::plan(&ctls, &list, ahci, d, notes);
    Ok(())
}

/// What libvirt rejects of any expander bus, whether vnumac imports it or not: one of the
/// other machine family's kind (`pci-expander-bus`, QEMU's `pxb`, plugs into the i440fx
/// `pc` machines' PCI root; `pcie-expander-bus`, `pxb-pcie`, into q35's PCIe root), one on a
/// bus other than the root (only the root accepts an expander), or bound to a guest NUMA
/// cell the domain does not have.
fn check_expanders(devs: &Node, d: &Draft) -> Result<(), ImportError> {
    let machine = d.machine.as_deref().unwrap_or("q35");
    let q35 = MachineFamily::of(machine) == MachineFamily::Q35;
    for c in devs.all("controller") {
        let model = c.attr("model").unwrap_or("");
        if c.attr("type") != Some("pci") || !matches!(model, "pci-expander-bus" | "pcie-expander-bus") {
            continue;
        }
        let index = attr_u32(c, "index", &CONTROLLER_INDEX)?.unwrap_or(0);
        if (model == "pcie-expander-bus") != q35 {
            let (root, family) = if q35 {
                ("pcie-root", "a q35")
            } else {
                ("pci-root", "an i440fx")
            };
            return Err(error_at(
                c.at,
                format!(
                    "the {model} with index='{index}' cannot plug into machine `{machine}`: {family} machine's root bus is a {root}, which takes only a {} (libvirt rejects it)",
                    if q35 { "pcie-expander-bus" } else { "pci-expander-bus" }
                ),
            ));
        }
        if let Some((bus, slot, function)) = pci_address(c)?
            && bus != 0
        {
            return Err(error_at(
                c.at,
                format!(
                    "the {model} with index='{index}' is at PCI address 0000:{bus:02x}:{slot:02x}.{function:x}, on bus {bus}: \
                     libvirt plugs an expander bus only into the root bus"
                ),
            ));
        }
        if let Some(cell) = expander_node(c)?
            && cell as usize >= d.cells.len()
        {
            return Err(error_at(
                c.at,
                format!(
                    "the {model} with index='{index}' is bound to NUMA node {cell}, which the domain's <cpu><numa> does not have ({} cells; libvirt rejects it)",
                    d.cells.len()
                ),
            ));
        }
    }
    Ok(())
}

fn controller(c: &Node, q35: bool, notes: &mut Notes) -> Result<Option<Ctl>, ImportError> {
    let (ty, model) = (c.attr("type").unwrap_or(""), c.attr("model").unwrap_or(""));
    let index = attr_u32(c, "index", &CONTROLLER_INDEX)?.unwrap_or(0);
    if ty == "pci" && index == 0 && !matches!(model, "pcie-root" | "pci-root") {
        return Err(error_at(
            c.at,
            format!("<controller type='pci' index='0' model='{model}'>: libvirt takes only the root bus at index 0"),
        ));
    }
    match (ty, model) {
        ("pci", "pcie-root" | "pci-root") | ("usb", "none") => return Ok(None),
        // q35's built-in controller, or the AHCI controller of a `pc` machine's SATA disks,
        // which vnumac adds again (its slot is compared in `plan`).
        ("sata", _) if index == 0 => return Ok(None),
        ("pci", "pcie-root-port") if !q35 => {
            notes.drop(format!(
                "<controller type='pci' index='{index}' model='pcie-root-port'>: an i440fx machine has no PCIe; \
                 vnumac plugs devices straight into pci.0 or an expander"
            ));
            return Ok(None);
        }
        ("pci", "pcie-expander-bus" | "pci-expander-bus" | "pcie-root-port") => {}
        _ => {
            let m = if model.is_empty() {
                String::new()
            } else {
                format!(" model='{model}'")
            };
            notes.drop(format!("<controller type='{ty}'{m}>"));
            return Ok(None);
        }
    }
    drop_unknown_children(c, &["model", "target", "alias", "address"], notes);
    drop_unknown_attrs(c, &["type", "index", "model"], notes);
    if let Some(t) = c.child("target") {
        drop_unknown_children(t, &["node"], notes);
        drop_unknown_attrs(t, &["busNr", "chassis", "port"], notes);
    }
    let name = match c
        .child("alias")
        .and_then(|a| a.attr("name"))
        .and_then(|n| n.strip_prefix("ua-"))
    {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("pci{index}"),
    };
    let target = c.child("target");
    let t = |k: &str, rule| target.map(|t| attr_u32(t, k, rule)).transpose().map(Option::flatten);
    let mut ctl = Ctl {
        index,
        name,
        addr: pci_address(c)?,
        node: None,
        bus_nr: t("busNr", &BUS_NR)?,
        target: (t("chassis", &CHASSIS_PORT)?, t("port", &CHASSIS_PORT)?),
    };
    if matches!(model, "pcie-expander-bus" | "pci-expander-bus") {
        match expander_node(c)? {
            Some(n) => ctl.node = Some(n),
            None => {
                notes.drop(format!("expander `{}` without a guest NUMA node", ctl.name));
                return Ok(None);
            }
        }
    }
    Ok(Some(ctl))
}

fn nic(c: &Node, notes: &mut Notes) -> Result<Option<Dev>, ImportError> {
    let ty = c.attr("type").unwrap_or("");
    let source = c.child("source").and_then(|s| s.attr(ty));
    let (true, Some(source)) = (matches!(ty, "bridge" | "network"), source) else {
        notes.drop(c.describe());
        return Ok(None);
    };
    drop_unknown_children(c, &["mac", "source", "model", "address", "alias", "target"], notes);
    drop_unknown_attrs(c, &["type"], notes);
    for (el, known) in [("source", &[ty, "bridge", "portid"][..]), ("model", &["type"])] {
        if let Some(n) = c.child(el) {
            drop_unknown_attrs(n, known, notes);
            drop_unknown_children(n, &[], notes);
        }
    }
    let mut props = format!("{ty}={}", word_or_string(source));
    match c.child("model").and_then(|m| m.attr("type")) {
        Some(m @ ("virtio" | "e1000e")) => props.push_str(&format!(" model={m}")),
        other => {
            let was = other.map_or("no <model>".to_string(), |m| format!("<model type='{m}'>"));
            notes.change(format!(
                "{was} on a NIC: vnumac supports virtio (the default) and e1000e"
            ));
        }
    }
    if let Some(mac) = c.child("mac").and_then(|m| m.attr("address")) {
        let ok = mac.split(':').count() == 6
            && mac
                .split(':')
                .all(|p| p.len() == 2 && p.chars().all(|x| x.is_ascii_hexdigit()));
        if ok {
            props.push_str(&format!(" mac={}", mac.to_ascii_lowercase()));
        } else {
            notes.drop(format!("the MAC address `{mac}`, which is not six hex pairs"));
        }
    }
    Ok(Some(Dev {
        kind: Kind::Nic(props),
        addr: pci_address(c)?,
        what: format!("the NIC on `{source}`"),
    }))
}

/// A disk's `<driver iothread>`: one of the guest's `iothreads` I/O threads, on a virtio
/// disk only, as libvirt checks them.
fn disk_iothread(c: &Node, bus: &str, iothreads: u32) -> Result<Option<u32>, ImportError> {
    let Some(drv) = c.child("driver") else { return Ok(None) };
    let Some(k) = attr_u32(drv, "iothread", &IOTHREAD_ID)? else {
        return Ok(None);
    };
    if bus != "virtio" {
        return Err(error_at(
            drv.at,
            format!("<driver iothread='{k}'> on a {bus} disk: libvirt gives I/O threads to virtio disks only"),
        ));
    }
    if k > iothreads {
        return Err(error_at(
            drv.at,
            format!("<driver iothread='{k}'>: the guest has {iothreads} I/O threads (`<iothreads>`)"),
        ));
    }
    Ok(Some(k))
}

fn disk(c: &Node, iothreads: u32, notes: &mut Notes) -> Result<Option<Dev>, ImportError> {
    let target = c.child("target");
    let dev = target.and_then(|t| t.attr("dev")).unwrap_or("");
    let bus = target
        .and_then(|t| t.attr("bus"))
        .or_else(|| dev.starts_with("vd").then_some("virtio"));
    let path = c.child("source").and_then(|s| s.attr("file"));
    let format = c.child("driver").and_then(|d| d.attr("type"));
    let ok = c.attr("type") == Some("file") && c.attr("device").unwrap_or("disk") == "disk";
    let (true, Some(path), Some(bus @ ("sata" | "virtio"))) = (ok, path, bus) else {
        let dev = if dev.is_empty() {
            String::new()
        } else {
            format!(" ({dev})")
        };
        notes.drop(format!(
            "<disk type='{}' device='{}'>{dev}",
            c.attr("type").unwrap_or(""),
            c.attr("device").unwrap_or("disk")
        ));
        return Ok(None);
    };
    drop_unknown_children(c, &["driver", "source", "target", "address", "alias"], notes);
    drop_unknown_attrs(c, &["type", "device"], notes);
    for (el, known) in [
        ("driver", &["name", "type", "iothread"][..]),
        ("source", &["file"]),
        ("target", &["dev", "bus"]),
    ] {
        if let Some(n) = c.child(el) {
            drop_unknown_attrs(n, known, notes);
            drop_unknown_children(n, &[], notes);
        }
    }
    let format = match format {
        Some(f @ ("qcow2" | "raw")) => f,
        other => {
            notes.change(format!(
                "disk `{path}` has format {}: written as raw",
                other.unwrap_or("(none)")
            ));
            "raw"
        }
    };
    let iothread = disk_iothread(c, bus, iothreads)?.map_or_else(String::new, |k| format!(" iothread={k}"));
    Ok(Some(Dev {
        kind: Kind::Disk {
            props: format!("path={} format={format} bus={bus}{iothread}", quoted(path)),
            virtio: bus == "virtio",
        },
        addr: pci_address(c)?,
        what: format!("disk `{path}` ({dev})"),
    }))
}

fn hostdev(c: &Node, notes: &mut Notes) -> Result<Option<Dev>, ImportError> {
    let src = c.child("source").and_then(|s| s.child("address"));
    let (true, Some(a)) = (
        c.attr("mode") == Some("subsystem") && c.attr("type") == Some("pci"),
        src,
    ) else {
        notes.drop(c.describe());
        return Ok(None);
    };
    drop_unknown_children(c, &["driver", "source", "address", "alias"], notes);
    drop_unknown_attrs(c, &["mode", "type", "managed"], notes);
    // libvirt's own reading of the four parts (C notation: `010` is 8; absent is 0), and a
    // domain a `.vnuma` PCI address can say.
    let part = |k: &str, rule| -> Result<u32, ImportError> { Ok(attr_u32(a, k, rule)?.unwrap_or(0)) };
    let domain = part("domain", &PCI_DOMAIN)?;
    if domain > 0xffff {
        return Err(error_at(
            a.at,
            format!("host device domain {domain:#x}: vnumac writes PCI domains up to 0xffff"),
        ));
    }
    let addr = format!(
        "{domain:04x}:{:02x}:{:02x}.{:x}",
        part("bus", &PCI_BUS)?,
        part("slot", &PCI_SLOT)?,
        part("function", &PCI_FUNCTION)?
    );
    if c.attr("managed") != Some("yes") {
        notes.change(format!("host device {addr}: vnumac writes managed='yes'"));
    }
    if let Some(drv) = c.child("driver").and_then(|d| d.attr("name")).filter(|n| *n != "vfio") {
        notes.change(format!("host device {addr}: driver {drv} becomes vfio"));
    }
    Ok(Some(Dev {
        kind: Kind::Hostdev(addr.clone()),
        addr: pci_address(c)?,
        what: format!("host device {addr}"),
    }))
}

/// The first `<serial>` and the first `<console>` that fit; `seen` is (serial, console) so far.
fn chardev(c: &Node, seen: &mut (bool, bool), notes: &mut Notes) -> Option<Dev> {
    let serial = c.name == "serial";
    let taken = if serial { &mut seen.0 } else { &mut seen.1 };
    let target_ty = c.child("target").and_then(|t| t.attr("type"));
    let fits = c.attr("type") == Some("pty") && (serial || target_ty.is_none_or(|t| t == "serial"));
    if *taken || !fits {
        notes.drop(c.describe());
        return None;
    }
    *taken = true;
    Some(Dev {
        kind: if serial { Kind::Serial } else { Kind::Console },
        addr: None,
        what: c.name.clone(),
    })
}
