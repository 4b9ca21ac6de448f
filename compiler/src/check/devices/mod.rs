//! `devices { }`: expanders bound to guest cells, root ports, NICs, disks, passthrough
//! and consoles, with explicit PCI addresses, `pci.N` indices and bus numbers.
//!
//! Only errors stop the block: a warning (a passed-through device far from its cell) leaves
//! every device in place.

mod buses;
mod hostdev;
mod plug;

use super::codes::*;
use super::schema::{self, Context, Fields};
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::*;
use crate::span::Span;
use std::collections::HashMap;

pub struct DeviceSet {
    pub controllers: Vec<Controller>,
    pub devices: Vec<Device>,
}

/// Names listed in a help text at most; the rest are counted.
const NAMES_SHOWN: usize = 8;

pub fn check(
    block: &Fields<'_>,
    cells: &[GuestCell],
    machine_q35: bool,
    host: Option<&HostProfile>,
    diags: &mut Vec<Diagnostic>,
) -> Option<DeviceSet> {
    let body = block
        .stmt
        .block
        .as_ref()
        .map(|b| b.statements.as_slice())
        .unwrap_or(&[]);
    schema::check_repeats(body, Context::Devices, diags);
    let before = diags.len();
    let fields: Vec<Fields<'_>> = body
        .iter()
        .filter_map(|s| schema::check(s, Context::Devices, diags))
        .collect();
    if super::cx::errors_since(diags, before) {
        return None;
    }
    let needs_pcie = fields.iter().any(|f| {
        matches!(f.keyword(), "expander" | "root-port" | "nic" | "hostdev")
            || (f.keyword() == "disk" && f.text("bus") == Some("virtio"))
    });
    if needs_pcie && !machine_q35 {
        diags.push(
            Diagnostic::error(
                DEVICE_CONFIG,
                "PCIe devices need the q35 machine",
                block.stmt.keyword.span,
                "not a q35 guest",
            )
            .with_help("write `machine q35` (the default)"),
        );
        return None;
    }
    check_names(&fields, diags);
    let layout = plug::layout(&fields, cells, host, diags);
    if super::cx::errors_since(diags, before) {
        return None;
    }
    let (controllers, port_index) = buses::controllers(&layout, block.stmt.keyword.span, diags)?;
    let devices = endpoint_devices(&fields, &layout.endpoints, &port_index);
    let sata = devices
        .iter()
        .filter(|d| matches!(d.kind, DeviceKind::Disk { bus: DiskBus::Sata, .. }))
        .count();
    if sata > 6 {
        diags.push(
            Diagnostic::error(
                DEVICE_CONFIG,
                "the built-in SATA controller has 6 ports",
                block.stmt.keyword.span,
                "too many SATA disks",
            )
            .with_help("use `bus=virtio` for the others"),
        );
        return None;
    }
    Some(DeviceSet { controllers, devices })
}

/// Names are identifiers, unique within the block; paths, bridges and networks are usable.
fn check_names(fields: &[Fields<'_>], diags: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, Span> = HashMap::new();
    for f in fields {
        let Some(n) = f
            .arg_text(0)
            .filter(|_| !matches!(f.keyword(), "serial" | "console" | "hostdev"))
        else {
            continue;
        };
        let what = format!("a {} name", f.keyword());
        if super::values::identifier(n, f.arg_span(0), &what, "", diags) && f.keyword() == "disk" {
            disk_node_names(n, f.arg_span(0), diags);
        }
        if let Some(v) = f.text("network") {
            super::values::identifier(v, f.span_of("network"), "a network name", "", diags);
        }
        if let Some(b) = f.text("bridge") {
            super::values::bridge(b, f.span_of("bridge"), diags);
        }
        if let Some(p) = f.text("path") {
            super::values::path(p, f.span_of("path"), "the disk path", diags);
        }
        match names.get(n) {
            Some(first) => diags.push(
                Diagnostic::error(
                    DUPLICATE_NAME,
                    format!("device `{n}` is defined twice"),
                    f.arg_span(0),
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help("give each device its own name"),
            ),
            None => {
                names.insert(n, f.arg_span(0));
            }
        }
    }
}

/// The endpoint devices in statement order, each on the root port it was given.
fn endpoint_devices(fields: &[Fields<'_>], endpoints: &[Option<Option<usize>>], port_index: &[u32]) -> Vec<Device> {
    let mut devices = Vec::new();
    let (mut nics, mut disks_v, mut disks_s, mut hostdevs) = (0u32, 0u32, 0u32, 0u32);
    let count = |n: &mut u32| {
        *n += 1;
        *n - 1
    };
    for (fi, f) in fields.iter().enumerate() {
        let address = endpoints
            .get(fi)
            .copied()
            .flatten()
            .flatten()
            .and_then(|p| port_index.get(p))
            .map(|&bus| PciAddress {
                bus,
                slot: 0,
                function: 0,
            });
        let name = f.arg_text(0).unwrap_or_default().to_string();
        let (kind, ordinal) = match f.keyword() {
            "nic" => {
                let source = match (f.text("bridge"), f.text("network")) {
                    (Some(b), _) => NetSource::Bridge(b.into()),
                    (_, Some(n)) => NetSource::Network(n.into()),
                    _ => continue,
                };
                let kind = DeviceKind::Nic {
                    source,
                    model: f.text("model").unwrap_or("virtio").into(),
                    mac: f.text("mac").map(str::to_string),
                };
                (kind, count(&mut nics))
            }
            "disk" => {
                let virtio = f.text("bus") == Some("virtio");
                let kind = DeviceKind::Disk {
                    path: f.text("path").unwrap_or_default().into(),
                    format: f.text("format").unwrap_or("qcow2").into(),
                    bus: if virtio { DiskBus::Virtio } else { DiskBus::Sata },
                };
                (kind, count(if virtio { &mut disks_v } else { &mut disks_s }))
            }
            "hostdev" => (DeviceKind::Hostdev { host: name.clone() }, count(&mut hostdevs)),
            "serial" => (DeviceKind::Serial, 0),
            "console" => (DeviceKind::Console, 0),
            _ => continue,
        };
        devices.push(Device {
            name,
            kind,
            address,
            ordinal,
        });
    }
    devices
}

/// QEMU node names (`disk-NAME-storage`, `disk-NAME-format`) are at most 31 characters.
fn disk_node_names(name: &str, span: Span, diags: &mut Vec<Diagnostic>) {
    let longest = format!("disk-{name}-storage");
    if longest.len() <= super::values::MAX_NODE_NAME {
        return;
    }
    let room = super::values::MAX_NODE_NAME - "disk--storage".len();
    diags.push(
        Diagnostic::error(
            NODE_NAME,
            format!("disk name `{name}` is too long for QEMU"),
            span,
            format!("{} characters; at most {room}", name.len()),
        )
        .with_help(format!(
            "QEMU names the disk's block nodes `{longest}`, and node names have at most {} characters: \
             use a name of at most {room}",
            super::values::MAX_NODE_NAME
        )),
    );
}

/// `on=` names no expander or root port defined before it.
fn unknown_ref<'n>(name: &str, span: Span, what: &str, known: impl Iterator<Item = &'n str> + Clone) -> Diagnostic {
    let d = Diagnostic::error(
        DEVICE_REF,
        format!("there is no {what} `{name}`"),
        span,
        format!("unknown {what}"),
    );
    let total = known.clone().count();
    match schema::suggest(name, known.clone()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None if total == 0 => d.with_help("define it first in the `devices` block"),
        None => {
            let shown: Vec<&str> = known.take(NAMES_SHOWN).collect();
            let more = total - shown.len();
            let rest = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            d.with_help(format!("{what}s defined before this line: {}{rest}", shown.join(", ")))
        }
    }
}
