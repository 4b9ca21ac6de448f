//! virtio memory devices on the root bus.

use super::devices::MemoryDevices;
use crate::check::cx::Cx;
use crate::check::devices::DeviceSet;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{MachineFamily, MemoryDeviceKind};
use crate::lang::Fields;

/// virtio memory devices take the next free slots of the root bus, after the controllers,
/// the devices and (on `pc`) the SATA disks' AHCI controller, up to the last of
/// `MachineFamily::root_slots`, the same rule as theirs.
pub(in crate::check) fn assign_slots(
    mem: &mut MemoryDevices,
    statements: &[&Fields<'_>],
    devices: Option<&DeviceSet>,
    q35: bool,
    cx: &mut Cx<'_, '_>,
) {
    let family = MachineFamily::from_q35(q35);
    let slots = family.root_slots();
    let root_slot = devices.map_or(0, |d| {
        d.controllers
            .iter()
            .map(|c| &c.address)
            .chain(d.devices.iter().filter_map(|x| x.address.as_ref()))
            .chain(d.ahci.as_ref())
            .filter(|a| a.bus == 0)
            .map(|a| a.slot)
            .max()
            .unwrap_or(0)
    }) + 1;
    let mut root_slot = root_slot.max(*slots.start());
    for (d, &index) in mem.devices.iter_mut().zip(&mem.statements) {
        let (MemoryDeviceKind::VirtioMem { pci, .. } | MemoryDeviceKind::VirtioPmem { pci, .. }) = &mut d.kind else {
            continue;
        };
        if root_slot > *slots.end() {
            cx.err(
                Diagnostic::error(
                    DEVICE_CONFIG,
                    "no slot is left on the root bus for this device",
                    statements.get(index).map_or(cx.guest_span, |f| f.span()),
                    "no free slot",
                )
                .with_help(format!(
                    "{} has {} free slots; put other devices behind expanders",
                    family.root_bus(),
                    slots.clone().count()
                )),
            );
            break;
        }
        pci.slot = root_slot;
        root_slot += 1;
    }
}
