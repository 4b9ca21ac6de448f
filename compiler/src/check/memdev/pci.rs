//! virtio memory devices on the root bus.

use super::devices::MemoryDevices;
use crate::check::cx::Cx;
use crate::check::devices::DeviceSet;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::MemoryDeviceKind;
use crate::lang::Fields;

/// The last slot of the root bus a device can take: q35's chipset (LPC, SATA, SMBus) holds
/// pcie.0's 0x1f; on `pc` only slot 1 is the chipset's (the PIIX3), so pci.0 ends at 0x1f.
const fn last_root_slot(q35: bool) -> u32 {
    if q35 { 0x1e } else { 0x1f }
}

/// virtio memory devices take the next free slots of the root bus, after the controllers,
/// the devices and (on `pc`) the SATA disks' AHCI controller: slot 0 is the host bridge's
/// and slot 1 the chipset's on `pc`; 0x1f is the chipset's on q35.
pub(in crate::check) fn assign_slots(
    mem: &mut MemoryDevices,
    statements: &[&Fields<'_>],
    devices: Option<&DeviceSet>,
    q35: bool,
    cx: &mut Cx<'_, '_>,
) {
    let mut root_slot = devices.map_or(0, |d| {
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
    if !q35 {
        root_slot = root_slot.max(2);
    }
    for (d, &index) in mem.devices.iter_mut().zip(&mem.statements) {
        let (MemoryDeviceKind::VirtioMem { pci, .. } | MemoryDeviceKind::VirtioPmem { pci, .. }) = &mut d.kind else {
            continue;
        };
        if root_slot > last_root_slot(q35) {
            cx.err(
                Diagnostic::error(
                    DEVICE_CONFIG,
                    "no slot is left on the root bus for this device",
                    statements.get(index).map_or(cx.guest_span, |f| f.span()),
                    "no free slot",
                )
                .with_help("the root bus has 30 free slots; put other devices behind expanders"),
            );
            break;
        }
        pci.slot = root_slot;
        root_slot += 1;
    }
}
