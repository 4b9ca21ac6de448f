//! `devices { }`: expanders bound to guest cells, root ports, NICs, disks, passthrough
//! and consoles, with explicit PCI addresses, `pci.N` indices and bus numbers.
//!
//! Only errors stop the block: a warning (a passed-through device far from its cell) leaves
//! every device in place.

mod affinity;
mod buses;
mod endpoints;
mod hostdev;
mod iothreads;
mod names;
mod near;
mod plug;

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::*;
use crate::lang::{self, Context, Fields};

pub use iothreads::Io;

pub struct DeviceSet {
    pub controllers: Vec<Controller>,
    /// The AHCI controller's slot of pci.0 on `pc`, when it has SATA disks.
    pub ahci: Option<PciAddress>,
    pub devices: Vec<Device>,
}

pub fn check(
    block: &Fields<'_>,
    cells: &[GuestCell],
    machine_q35: bool,
    host: Option<&HostProfile>,
    io: &Io,
    diags: &mut Vec<Diagnostic>,
) -> Option<DeviceSet> {
    let body = block
        .stmt
        .block
        .as_ref()
        .map(|b| b.statements.as_slice())
        .unwrap_or(&[]);
    lang::check_repeats(body, Context::Devices, diags);
    let before = diags.len();
    let fields: Vec<Fields<'_>> = body
        .iter()
        .filter_map(|s| lang::check(s, Context::Devices, diags))
        .collect();
    if super::cx::errors_since(diags, before) {
        return None;
    }
    if !machine_q35 && !root_ports_on_pc(&fields, diags) {
        return None;
    }
    names::check(&fields, diags);
    let layout = plug::layout(&fields, cells, host, machine_q35, diags);
    if super::cx::errors_since(diags, before) {
        return None;
    }
    let buses = buses::controllers(&layout, block.stmt.keyword.span, machine_q35, diags)?;
    let mut devices = endpoints::devices(&fields, &layout, &buses.slots);
    iothreads::assign(&fields, &layout, &mut devices, cells, io, diags);
    if super::cx::errors_since(diags, before) {
        return None;
    }
    let sata = devices
        .iter()
        .filter(|d| matches!(d.kind, DeviceKind::Disk { bus: DiskBus::Sata, .. }))
        .count();
    if sata > 6 {
        diags.push(
            Diagnostic::error(
                DEVICE_CONFIG,
                if machine_q35 {
                    "the built-in SATA controller has 6 ports"
                } else {
                    "the SATA controller has 6 ports"
                },
                block.stmt.keyword.span,
                "too many SATA disks",
            )
            .with_help("use `bus=virtio` for the others"),
        );
        return None;
    }
    Some(DeviceSet {
        controllers: buses.controllers,
        ahci: buses.ahci,
        devices,
    })
}

/// The i440fx `pc` machines have conventional PCI: an expander is a `pxb` whose bus takes
/// devices directly, and there is no PCIe root port to write. False after an error.
fn root_ports_on_pc(fields: &[Fields<'_>], diags: &mut Vec<Diagnostic>) -> bool {
    let mut ok = true;
    for f in fields.iter().filter(|f| f.keyword() == "root-port") {
        diags.push(
            Diagnostic::error(
                PCIE_ON_PC,
                "a PCIe root port on an i440fx machine",
                f.stmt.head_span(),
                "the `pc` machines have conventional PCI",
            )
            .with_help(
                "plug devices straight into an expander with `on=EXPANDER` or `node=CELL`, \
                 or write `machine q35` for PCIe",
            ),
        );
        ok = false;
    }
    ok
}
