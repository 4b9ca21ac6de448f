//! `<devices>`: PCIe expanders and root ports, NICs, disks, passthrough, serial and
//! console, and memory devices.
//!
//! vnumac numbers controllers itself: expanders, then written root ports, then the root
//! ports its short forms add (`node=CELL`, or none for a port on pcie.0) in device order.
//! The trailing root ports that hold one device each and are named as a short form
//! would name them (`ua-port-DEVICE`) are written as that short form, so the numbering
//! comes out the same; any other difference is a note.

use super::dom::Node;
use super::guest::Draft;
use super::{
    ImportError, Notes, attr_u32, drop_unknown_attrs, drop_unknown_children, error_at, number, quoted, text_kib,
    word_or_string,
};
use crate::names::{alias_safe, drive_letters};
use crate::units::exact_kib;

const EMULATOR: &str = "/usr/bin/qemu-system-x86_64";

/// (bus, slot, function).
type Addr = (u32, u32, u32);

#[derive(Debug)]
struct Ctl {
    index: u32,
    name: String,
    /// Its own PCI address.
    addr: Option<Addr>,
    /// `Some(node)` for an expander, `None` for a root port.
    node: Option<u32>,
    bus_nr: Option<u32>,
    /// A root port's (chassis, port).
    target: (Option<u32>, Option<u32>),
}

#[derive(Debug)]
enum Kind {
    /// Its props after the name: `bridge=br0 model=virtio mac=…`.
    Nic(String),
    Disk {
        props: String,
        virtio: bool,
    },
    Hostdev(String),
    Serial,
    Console,
}

#[derive(Debug)]
struct Dev {
    kind: Kind,
    /// The bus (controller index) of its PCI address.
    bus: Option<u32>,
    what: String,
}

impl Dev {
    fn pci(&self) -> bool {
        matches!(
            self.kind,
            Kind::Nic(_) | Kind::Hostdev(_) | Kind::Disk { virtio: true, .. }
        )
    }
}

fn pci_address(n: &Node) -> Result<Option<Addr>, ImportError> {
    let Some(a) = n.all("address").find(|a| a.attr("type") == Some("pci")) else {
        return Ok(None);
    };
    let get = |k: &str| -> Result<u32, ImportError> { Ok(attr_u32(a, k)?.unwrap_or(0)) };
    Ok(Some((get("bus")?, get("slot")?, get("function")?)))
}

pub(super) fn read(devs: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    check_expanders(devs, d)?;
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
                .map(|a| attr_u32(a, "slot"))
                .transpose()
                .map(Option::flatten)
        })
        .collect::<Result<_, _>>()?;
    let keep_slots = written_slots
        .iter()
        .enumerate()
        .any(|(i, s)| s.is_some_and(|s| s as usize != i));
    for c in &devs.children {
        match c.name.as_str() {
            "emulator" if c.trimmed() == EMULATOR => {}
            "emulator" => notes.change(format!(
                "<emulator>{}</emulator>: vnumac writes {EMULATOR}",
                c.trimmed()
            )),
            "controller" => ctls.extend(controller(c, notes)?),
            "interface" => list.extend(nic(c, notes)?),
            "disk" => list.extend(disk(c, notes)?),
            "hostdev" => list.extend(hostdev(c, notes)?),
            "serial" | "console" => list.extend(chardev(c, &list, notes)),
            "memory" => memdev(c, keep_slots, d, notes)?,
            "memballoon" if c.attr("model") == Some("none") => {}
            _ => notes.drop(c.describe()),
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for c in &mut ctls {
        if seen.contains(&c.name) {
            let renamed = format!("{}-{}", c.name, c.index);
            notes.change(format!("a second controller `{}` is named `{renamed}`", c.name));
            c.name = renamed;
        }
        seen.push(c.name.clone());
    }
    plan(&ctls, &list, d, notes);
    Ok(())
}

/// What libvirt rejects of any expander bus, whether vnumac imports it or not: one on a
/// bus other than the root (only the root accepts an expander), or bound to a guest NUMA
/// cell the domain does not have.
fn check_expanders(devs: &Node, d: &Draft) -> Result<(), ImportError> {
    for c in devs.all("controller") {
        let model = c.attr("model").unwrap_or("");
        if c.attr("type") != Some("pci") || !matches!(model, "pci-expander-bus" | "pcie-expander-bus") {
            continue;
        }
        let index = attr_u32(c, "index")?.unwrap_or(0);
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
        let node = c.child("target").and_then(|t| t.child("node"));
        if let Some(n) = node {
            let cell = number(n.trimmed()).and_then(|v| u32::try_from(v).ok());
            if !cell.is_some_and(|id| d.cells.iter().any(|c| c.id == id)) {
                return Err(error_at(
                    n.at,
                    format!(
                        "the {model} with index='{index}' is bound to NUMA node {}, which the domain's <cpu><numa> does not have ({} cells; libvirt rejects it)",
                        n.trimmed(),
                        d.cells.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn controller(c: &Node, notes: &mut Notes) -> Result<Option<Ctl>, ImportError> {
    let (ty, model) = (c.attr("type").unwrap_or(""), c.attr("model").unwrap_or(""));
    let index = attr_u32(c, "index")?.unwrap_or(0);
    match (ty, model) {
        ("pci", "pcie-root" | "pci-root") | ("usb", "none") => return Ok(None),
        ("sata", _) if index == 0 => return Ok(None), // q35's built-in controller
        ("pci", "pcie-expander-bus" | "pcie-root-port") => {}
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
    let t = |k: &str| target.map(|t| attr_u32(t, k)).transpose().map(Option::flatten);
    let mut ctl = Ctl {
        index,
        name,
        addr: pci_address(c)?,
        node: None,
        bus_nr: t("busNr")?,
        target: (t("chassis")?, t("port")?),
    };
    if model == "pcie-expander-bus" {
        let node = target.and_then(|t| t.child("node")).map(Node::trimmed);
        match node.and_then(number).and_then(|n| u32::try_from(n).ok()) {
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
        bus: pci_address(c)?.map(|a| a.0),
        what: format!("the NIC on `{source}`"),
    }))
}

fn disk(c: &Node, notes: &mut Notes) -> Result<Option<Dev>, ImportError> {
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
        ("driver", &["name", "type"][..]),
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
    Ok(Some(Dev {
        kind: Kind::Disk {
            props: format!("path={} format={format} bus={bus}", quoted(path)),
            virtio: bus == "virtio",
        },
        bus: pci_address(c)?.map(|a| a.0),
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
    let part = |k: &str| -> Result<u32, ImportError> {
        a.attr(k)
            .and_then(number)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| error_at(a.at, format!("host device address has no valid `{k}`")))
    };
    let addr = format!(
        "{:04x}:{:02x}:{:02x}.{:x}",
        part("domain")?,
        part("bus")?,
        part("slot")?,
        part("function")?
    );
    if c.attr("managed") != Some("yes") {
        notes.change(format!("host device {addr}: vnumac writes managed='yes'"));
    }
    if let Some(drv) = c.child("driver").and_then(|d| d.attr("name")).filter(|n| *n != "vfio") {
        notes.change(format!("host device {addr}: driver {drv} becomes vfio"));
    }
    Ok(Some(Dev {
        kind: Kind::Hostdev(addr.clone()),
        bus: pci_address(c)?.map(|a| a.0),
        what: format!("host device {addr}"),
    }))
}

fn chardev(c: &Node, list: &[Dev], notes: &mut Notes) -> Option<Dev> {
    let serial = c.name == "serial";
    let seen = list
        .iter()
        .any(|d| matches!((&d.kind, serial), (Kind::Serial, true) | (Kind::Console, false)));
    let target_ty = c.child("target").and_then(|t| t.attr("type"));
    let fits = c.attr("type") == Some("pty") && (serial || target_ty.is_none_or(|t| t == "serial"));
    if seen || !fits {
        notes.drop(c.describe());
        return None;
    }
    Some(Dev {
        kind: if serial { Kind::Serial } else { Kind::Console },
        bus: None,
        what: c.name.clone(),
    })
}

fn memdev(c: &Node, keep_slots: bool, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let model = c.attr("model").unwrap_or("");
    let target = c.child("target");
    let size = target.and_then(|t| t.child("size"));
    let node = target
        .and_then(|t| t.child("node"))
        .and_then(|n| number(n.trimmed()))
        .and_then(|n| u32::try_from(n).ok());
    let size_kib = match size {
        Some(s) => super::guest::round_up(
            text_kib(s, "a memory device's <size>", notes)?,
            2 * 1024,
            "a memory device's size",
            notes,
        ),
        None => return Err(error_at(c.at, "<memory> device without a <target><size>")),
    };
    d.memdev_kib = d.memdev_kib.saturating_add(size_kib);
    drop_unknown_attrs(c, &["model", "access", "discard"], notes);
    if matches!(model, "virtio-mem" | "virtio-pmem") {
        return virtio_memdev(c, model, size_kib, node, d, notes);
    }
    let (true, Some(node)) = (matches!(model, "dimm" | "nvdimm"), node) else {
        notes.drop(format!("{} (the guest's memory is reduced by its size)", c.describe()));
        return Ok(());
    };
    // `<address type='dimm' slot base>`.
    let mut address = String::new();
    if let Some(a) = c.child("address") {
        drop_unknown_attrs(a, &["type", "slot", "base"], notes);
        if let Some(slot) = attr_u32(a, "slot")?
            && keep_slots
        {
            address.push_str(&format!(" slot={slot}"));
        }
        if let Some(b) = a.attr("base") {
            let bytes = match b.strip_prefix("0x").or_else(|| b.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => b.parse().ok(),
            };
            match bytes {
                Some(bytes) if bytes % 1024 == 0 => address.push_str(&format!(" base={}", exact_kib(bytes / 1024))),
                _ => {
                    return Err(error_at(
                        a.at,
                        format!("<address base='{b}'>: not an address in whole KiB"),
                    ));
                }
            }
        }
    }
    let mut line = format!("{model} size={} node={node}", exact_kib(size_kib));
    if model == "dimm" {
        drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
        if let Some(s) = c.child("source") {
            drop_unknown_children(s, &["nodemask", "pagesize"], notes);
            if let Some(n) = s.child("nodemask") {
                line.push_str(&format!(" host-node={}", super::id_set(n, "nodemask", n.trimmed())?));
            }
            if let Some(p) = s.child("pagesize") {
                let kib = super::size_kib(p, p.trimmed(), p.attr("unit"), "<pagesize>", notes)?;
                line.push_str(&format!(" hugepages={}", exact_kib(kib)));
            }
        }
        match c.attr("access") {
            Some(a @ ("shared" | "private")) => line.push_str(&format!(" access={a}")),
            Some(a) => {
                return Err(error_at(
                    c.at,
                    format!("<memory access='{a}'>: libvirt knows `shared` and `private`"),
                ));
            }
            None => {}
        }
        match c.attr("discard") {
            Some("yes") => line.push_str(" discard=true"),
            Some("no") => line.push_str(" discard=false"),
            Some(v) => {
                return Err(error_at(
                    c.at,
                    format!("<memory discard='{v}'>: libvirt knows `yes` and `no`"),
                ));
            }
            None => {}
        }
        line.push_str(&address);
        d.memdevs.push(line);
        return Ok(());
    }
    if c.attr("discard").is_some() {
        notes.drop("<memory model='nvdimm' discard=…> (libvirt does not discard an NVDIMM)");
    }
    drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
    let source = c.child("source");
    let Some(path) = source.and_then(|s| s.child("path")).map(Node::trimmed) else {
        notes.drop("an <memory model='nvdimm'> without a <source><path>");
        return Ok(());
    };
    line = format!("nvdimm path={} size={} node={node}", quoted(path), exact_kib(size_kib));
    if let Some(t) = target {
        drop_unknown_children(t, &["size", "node", "label", "readonly"], notes);
    }
    if let Some(l) = target.and_then(|t| t.child("label")).and_then(|l| l.child("size")) {
        line.push_str(&format!(" label={}", exact_kib(text_kib(l, "an NVDIMM label", notes)?)));
    }
    if let Some(s) = source {
        drop_unknown_children(s, &["path", "alignsize", "pmem"], notes);
        if let Some(a) = s.child("alignsize") {
            line.push_str(&format!(
                " align={}",
                exact_kib(text_kib(a, "an NVDIMM alignment", notes)?)
            ));
        }
        if s.child("pmem").is_some() {
            line.push_str(" pmem=true");
        }
    }
    match c.attr("access") {
        Some(a @ ("shared" | "private")) => line.push_str(&format!(" access={a}")),
        Some(a) => notes.drop(format!("<memory access='{a}'>")),
        None => {}
    }
    if target.and_then(|t| t.child("readonly")).is_some() {
        line.push_str(" readonly=true");
    }
    line.push_str(&address);
    d.memdevs.push(line);
    Ok(())
}

/// A `<memory model='virtio-mem'|'virtio-pmem'>`: its PCI address is vnumac's to give.
fn virtio_memdev(
    c: &Node,
    model: &str,
    size_kib: u64,
    node: Option<u32>,
    d: &mut Draft,
    notes: &mut Notes,
) -> Result<(), ImportError> {
    drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
    let target = c.child("target");
    if let Some(t) = target {
        drop_unknown_children(t, &["size", "node", "block", "requested", "address", "current"], notes);
    }
    let base = match target
        .and_then(|t| t.child("address"))
        .and_then(|a| a.attr("base").map(|b| (a, b)))
    {
        Some((a, b)) => {
            let bytes = match b.strip_prefix("0x").or_else(|| b.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => b.parse().ok(),
            };
            match bytes {
                Some(bytes) if bytes % 1024 == 0 => {
                    notes.newer(format!(
                        "<target><address base> of <memory model='{model}'>; leave `base=` out and QEMU picks the address"
                    ));
                    format!(" base={}", exact_kib(bytes / 1024))
                }
                _ => {
                    return Err(error_at(
                        a.at,
                        format!("<address base='{b}'>: not an address in whole KiB"),
                    ));
                }
            }
        }
        None => String::new(),
    };
    if c.child("address").is_some() {
        notes.change(format!(
            "the PCI address of <memory model='{model}'>: vnumac gives it a slot on the root bus"
        ));
    }
    let source = c.child("source");
    let mut line;
    if model == "virtio-mem" {
        let Some(node) = node else {
            return Err(error_at(c.at, "<memory model='virtio-mem'> without a <target><node>"));
        };
        let get = |k: &str, what: &str, notes: &mut Notes| -> Result<u64, ImportError> {
            let n = target
                .and_then(|t| t.child(k))
                .ok_or_else(|| error_at(c.at, format!("<memory model='virtio-mem'> without a <target><{k}>")))?;
            text_kib(n, what, notes)
        };
        let block = get("block", "a virtio-mem block", notes)?;
        let requested = get("requested", "a virtio-mem request", notes)?;
        line = format!(
            "virtio-mem size={} node={node} block={} requested={}",
            exact_kib(size_kib),
            exact_kib(block),
            exact_kib(requested)
        );
        if let Some(s) = source {
            drop_unknown_children(s, &["nodemask", "pagesize"], notes);
            if let Some(n) = s.child("nodemask") {
                line.push_str(&format!(" host-node={}", super::id_set(n, "nodemask", n.trimmed())?));
            }
            if let Some(p) = s.child("pagesize") {
                let kib = super::size_kib(p, p.trimmed(), p.attr("unit"), "<pagesize>", notes)?;
                line.push_str(&format!(" hugepages={}", exact_kib(kib)));
            }
        }
    } else {
        if let Some(s) = source {
            drop_unknown_children(s, &["path"], notes);
        }
        let Some(path) = source.and_then(|s| s.child("path")).map(Node::trimmed) else {
            return Err(error_at(c.at, "<memory model='virtio-pmem'> without a <source><path>"));
        };
        line = format!("virtio-pmem path={} size={}", quoted(path), exact_kib(size_kib));
        match c.attr("access") {
            Some(a @ ("shared" | "private")) => line.push_str(&format!(" access={a}")),
            Some(a) => {
                return Err(error_at(
                    c.at,
                    format!("<memory access='{a}'>: libvirt knows `shared` and `private`"),
                ));
            }
            None => {}
        }
    }
    line.push_str(&base);
    d.memdevs.push(line);
    Ok(())
}

/// Where a device line says it goes.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    /// `on=PORT`.
    On(String),
    /// `node=CELL`: a new root port on the cell's first expander.
    Node(u32),
    /// Nothing: a new root port on pcie.0 (or no PCI at all).
    Root,
}

fn plan(ctls: &[Ctl], list: &[Dev], d: &mut Draft, notes: &mut Notes) {
    let mut exps: Vec<&Ctl> = ctls.iter().filter(|c| c.node.is_some()).collect();
    let mut ports: Vec<&Ctl> = ctls.iter().filter(|c| c.node.is_none()).collect();
    exps.sort_by_key(|c| c.index);
    ports.sort_by_key(|c| c.index);
    let parent_of = |p: &Ctl| p.addr.map(|a| a.0);
    let exp_at = |bus: u32| exps.iter().find(|e| e.index == bus).copied();
    let first_exp = |node: u32| exps.iter().find(|e| e.node == Some(node)).map(|e| e.index);
    let holders = |p: &Ctl| -> Vec<usize> { (0..list.len()).filter(|&i| list[i].bus == Some(p.index)).collect() };
    let mut used: Vec<String> = ctls.iter().map(|c| c.name.clone()).collect();

    // The trailing root ports a short form recreates exactly.
    let mut auto = vec![false; ports.len()];
    let mut names: Vec<Option<String>> = vec![None; list.len()];
    let mut next_dev = list.len();
    for (pi, p) in ports.iter().enumerate().rev() {
        let hs = holders(p);
        let [di] = hs[..] else { break };
        let placeable = match parent_of(p) {
            Some(0) => true,
            Some(b) => exp_at(b).and_then(|e| e.node).and_then(first_exp) == Some(b),
            None => false,
        };
        if di >= next_dev || !list[di].pci() || !placeable {
            break;
        }
        let name = match &list[di].kind {
            Kind::Hostdev(a) => Some(a.clone()).filter(|a| alias_safe(&format!("port-{a}")) == p.name),
            _ => p
                .name
                .strip_prefix("port-")
                .filter(|r| !r.is_empty() && !used.iter().any(|u| u == r))
                .map(str::to_string),
        };
        let Some(name) = name else { break };
        used.push(name.clone());
        names[di] = Some(name);
        auto[pi] = true;
        next_dev = di;
    }

    let mut lines = Vec::new();
    for e in &exps {
        let bus_nr = e.bus_nr.map(|b| format!(" bus-nr={b}")).unwrap_or_default();
        let node = e.node.unwrap_or(0);
        lines.push(format!("expander {} node={node}{bus_nr}", word_or_string(&e.name)));
    }
    let mut written: Vec<(String, Option<u32>)> = Vec::new(); // explicit root ports, with their expander
    for (pi, p) in ports.iter().enumerate() {
        let hs = holders(p);
        if auto[pi] || (!hs.is_empty() && hs.iter().all(|&i| matches!(list[i].kind, Kind::Hostdev(_)))) {
            continue;
        }
        let on = match parent_of(p) {
            Some(0) => None,
            Some(b) => match exp_at(b) {
                Some(e) => Some(e),
                None => {
                    notes.change(format!("root port `{}` is on bus {b}: moved to pcie.0", p.name));
                    None
                }
            },
            None => None,
        };
        let on_text = on
            .map(|e| format!(" on={}", word_or_string(&e.name)))
            .unwrap_or_default();
        lines.push(format!("root-port {}{on_text}", word_or_string(&p.name)));
        written.push((p.name.clone(), on.map(|e| e.index)));
    }

    // Devices, in document order.
    let mut taken: Vec<u32> = Vec::new();
    let mut counters = (0u32, 0u32); // virtio disks, sata disks
    let mut places = Vec::new();
    for (di, dev) in list.iter().enumerate() {
        let port = dev.bus.and_then(|b| ports.iter().position(|p| p.index == b));
        let place = match (port, dev.bus) {
            _ if !dev.pci() => Place::Root,
            (Some(pi), _) if auto[pi] => match parent_of(ports[pi]).and_then(exp_at) {
                Some(e) => Place::Node(e.node.unwrap_or(0)),
                None => Place::Root,
            },
            (Some(pi), Some(b)) if !matches!(dev.kind, Kind::Hostdev(_)) && !taken.contains(&b) => {
                taken.push(b);
                Place::On(ports[pi].name.clone())
            }
            (Some(pi), _) => {
                let exp = parent_of(ports[pi]).and_then(exp_at).and_then(|e| e.node);
                notes.change(format!("{}: plugged into a root port of its own", dev.what));
                exp.map_or(Place::Root, Place::Node)
            }
            (None, Some(b)) if exp_at(b).is_some() => {
                notes.change(format!(
                    "{}: vnumac adds a root port between it and its expander",
                    dev.what
                ));
                exp_at(b).and_then(|e| e.node).map_or(Place::Root, Place::Node)
            }
            (None, Some(_)) | (None, None) => {
                notes.change(format!(
                    "{}: vnumac gives it a root port of its own on pcie.0",
                    dev.what
                ));
                Place::Root
            }
        };
        let name = match &dev.kind {
            Kind::Hostdev(a) => a.clone(),
            Kind::Serial | Kind::Console => String::new(),
            Kind::Nic(_) | Kind::Disk { .. } => names[di].clone().unwrap_or_else(|| {
                let stem = if matches!(dev.kind, Kind::Nic(_)) {
                    "nic"
                } else {
                    "disk"
                };
                let from_port = match &place {
                    Place::On(p) => p
                        .strip_prefix("port-")
                        .filter(|r| !r.is_empty() && !used.iter().any(|u| u == r)),
                    _ => None,
                };
                let name = from_port.map(str::to_string).unwrap_or_else(|| {
                    (0..)
                        .map(|k| format!("{stem}{k}"))
                        .find(|n| !used.contains(n))
                        .unwrap_or_default()
                });
                used.push(name.clone());
                name
            }),
        };
        let place_text = match &place {
            Place::On(p) => format!(" on={}", word_or_string(p)),
            Place::Node(n) => format!(" node={n}"),
            Place::Root => String::new(),
        };
        let line = match &dev.kind {
            Kind::Nic(props) => format!("nic {} {props}{place_text}", word_or_string(&name)),
            Kind::Disk { props, virtio } => {
                let (n, prefix) = if *virtio {
                    (&mut counters.0, "vd")
                } else {
                    (&mut counters.1, "sd")
                };
                let want = format!("{prefix}{}", drive_letters(*n));
                *n += 1;
                if !dev.what.ends_with(&format!("({want})")) {
                    notes.change(format!("{}: vnumac names it {want}", dev.what));
                }
                format!("disk {} {props}{place_text}", word_or_string(&name))
            }
            Kind::Hostdev(a) => format!("hostdev {a}{place_text}"),
            Kind::Serial => "serial pty".into(),
            Kind::Console => "console pty".into(),
        };
        lines.push(line);
        if dev.pci() && !matches!(place, Place::On(_)) {
            places.push((format!("port-{name}"), place));
        }
    }
    check_numbering(ctls, &exps, &written, &places, notes);
    d.devices = lines;
}

/// Compare vnumac's numbering of the written controllers with the XML's.
fn check_numbering(
    ctls: &[Ctl],
    exps: &[&Ctl],
    written: &[(String, Option<u32>)],
    places: &[(String, Place)],
    notes: &mut Notes,
) {
    // (name, index, (bus, slot, function), is root port)
    let mut sim: Vec<(String, u32, Addr, bool)> = Vec::new();
    let mut root_slot = 1u32;
    for e in exps {
        sim.push((e.name.clone(), sim.len() as u32 + 1, (0, root_slot, 0), false));
        root_slot += 1;
    }
    let exp_index = |pos: usize| pos as u32 + 1;
    let mut exp_slots = vec![0u32; exps.len()];
    let mut ports: Vec<(String, Option<usize>)> = written
        .iter()
        .map(|(n, on)| (n.clone(), on.and_then(|i| exps.iter().position(|e| e.index == i))))
        .collect();
    for (name, place) in places {
        let on = match place {
            Place::Node(n) => exps.iter().position(|e| e.node == Some(*n)),
            _ => None,
        };
        ports.push((alias_safe(name), on));
    }
    for (name, on) in ports {
        let addr = match on {
            Some(e) => {
                let s = exp_slots.get(e).copied().unwrap_or(0);
                if let Some(x) = exp_slots.get_mut(e) {
                    *x += 1;
                }
                (exp_index(e), s, 0)
            }
            None => {
                root_slot += 1;
                (0, root_slot - 1, 0)
            }
        };
        sim.push((name, sim.len() as u32 + 1, addr, true));
    }
    let same = sim.len() == ctls.len()
        && sim.iter().all(|(name, index, addr, port)| {
            ctls.iter().any(|c| {
                c.name == *name
                    && c.index == *index
                    && c.addr == Some(*addr)
                    && (!port || c.target == (Some(*index), Some((addr.1 << 3) + addr.2)))
            })
        });
    if !same {
        notes.change(
            "PCI controllers: vnumac numbers them itself (expanders, then root ports; slots from 1 on pcie.0, from 0 on an expander)",
        );
    }
}
