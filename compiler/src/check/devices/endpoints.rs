//! NICs, disks, passed-through devices and consoles in the model, each on its root port (q35)
//! or in its slot (`pc`).

use crate::ir::{Device, DeviceKind, DiskBus, NetSource, PciAddress};
use crate::lang::Fields;

use super::plug::Layout;

/// The endpoint devices in statement order, each at the address of the port it was given.
pub(super) fn devices(fields: &[Fields<'_>], layout: &Layout, slots: &[PciAddress]) -> Vec<Device> {
    let endpoints = &layout.endpoints;
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
            .and_then(|p| slots.get(p))
            .copied();
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
                    iothread: f.int("iothread").map(|t| u32::try_from(t).unwrap_or(u32::MAX)),
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
            affinity: layout.affinity.get(fi).cloned().flatten(),
        });
    }
    devices
}
