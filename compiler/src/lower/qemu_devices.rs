//! QEMU options for hot-pluggable vCPUs, memory devices, PCI controllers and devices,
//! in libvirt's order and spelling (libvirt-qemu-mapping §6–§9).

use super::qemu_args::{Opt, Val, n, s};
use crate::hotplug;
use crate::ir::*;

/// Enabled hot-pluggable vCPUs, as `-device <model>-x86_64-cpu`, in plug order. libvirt adds
/// these over QMP after start; a standalone QEMU needs them on its command line.
pub fn hotplug_cpus(g: &Guest) -> Vec<Opt> {
    let mut enabled: Vec<&VcpuState> = g.vcpu_states.iter().filter(|v| v.enabled && v.hotpluggable).collect();
    enabled.sort_by_key(|v| v.order.unwrap_or(u32::MAX));
    let driver = hotplug::cpu_driver(g);
    let dies = g.effective_topology().dies > 1;
    enabled
        .iter()
        .map(|v| {
            let (sk, d, c, t) = hotplug::position(g, v.id);
            let mut props = vec![("driver", s(driver.clone())), ("socket-id", n(sk))];
            if dies {
                props.push(("die-id", n(d)));
            }
            props.push(("core-id", n(c)));
            props.push(("thread-id", n(t)));
            if let Some(cell) = g.cells.iter().find(|cell| cell.vcpus.contains(v.id)) {
                props.push(("node-id", n(cell.id)));
            }
            props.push(("id", s(format!("vcpu{}", v.id))));
            Opt::props("-device", "driver", props)
        })
        .collect()
}

/// PCI controllers in index order.
pub fn controllers(g: &Guest) -> Vec<Opt> {
    g.controllers
        .iter()
        .map(|c| {
            let mut props = match &c.kind {
                ControllerKind::Expander { bus_nr, node } => vec![
                    ("driver", s("pxb-pcie")),
                    ("bus_nr", n(*bus_nr)),
                    ("id", s(format!("pci.{}", c.index))),
                    ("numa_node", n(*node)),
                ],
                ControllerKind::RootPort { chassis, port } => vec![
                    ("driver", s("pcie-root-port")),
                    ("port", n(*port)),
                    ("chassis", n(*chassis)),
                    ("id", s(format!("pci.{}", c.index))),
                ],
            };
            props.extend(address(&c.address));
            Opt::props("-device", "driver", props)
        })
        .collect()
}

fn bus_name(bus: u32) -> String {
    if bus == 0 { "pcie.0".to_string() } else { format!("pci.{bus}") }
}

fn address(a: &PciAddress) -> Vec<(&'static str, Val)> {
    let addr = if a.function == 0 { format!("0x{:x}", a.slot) } else { format!("0x{:x}.0x{:x}", a.slot, a.function) };
    vec![("bus", s(bus_name(a.bus))), ("addr", s(addr))]
}

/// Each memory device: its backend object, then the device.
pub fn memory_devices(g: &Guest) -> Vec<Opt> {
    let mut out = Vec::new();
    for m in &g.memory_devices {
        let alias = m.alias();
        let cell = g.cells.iter().find(|c| c.id == m.node);
        let binding = cell.and_then(|c| c.binding.as_ref()).or(g.memory_binding.as_ref());
        let mut obj = Vec::new();
        match &m.kind {
            MemoryDeviceKind::Dimm => {
                let page = cell.and_then(|c| c.hugepage_kib).or(g.hugepage_kib);
                match page {
                    Some(size) => {
                        obj.push(("qom-type", s("memory-backend-file")));
                        obj.push(("id", s(format!("mem{alias}"))));
                        obj.push(("mem-path", s(super::hugepage_mount(size))));
                        obj.push(("prealloc", Val::Bool(true)));
                    }
                    None => {
                        obj.push(("qom-type", s("memory-backend-ram")));
                        obj.push(("id", s(format!("mem{alias}"))));
                    }
                }
                obj.push(("size", n(m.size_kib * 1024)));
            }
            MemoryDeviceKind::Nvdimm { path, align_kib, pmem, shared, .. } => {
                obj.push(("qom-type", s("memory-backend-file")));
                obj.push(("id", s(format!("mem{alias}"))));
                obj.push(("mem-path", s(path.clone())));
                if let Some(sh) = shared {
                    obj.push(("share", Val::Bool(*sh)));
                }
                if !pmem {
                    obj.push(("prealloc", Val::Bool(true)));
                }
                obj.push(("size", n(m.size_kib * 1024)));
                if let Some(a) = align_kib {
                    obj.push(("align", n(a * 1024)));
                }
                if *pmem {
                    obj.push(("pmem", Val::Bool(true)));
                }
            }
        }
        if let (Some(b), MemoryDeviceKind::Dimm) = (binding, &m.kind)
            && let Some(policy) = b.policy.qemu()
        {
            obj.push(("host-nodes", Val::Ids(b.nodes.clone())));
            obj.push(("policy", s(policy)));
        }
        out.push(Opt::props("-object", "qom-type", obj));
        let mut dev = vec![
            ("driver", s(if matches!(m.kind, MemoryDeviceKind::Dimm) { "pc-dimm" } else { "nvdimm" })),
            ("node", n(m.node)),
        ];
        if let MemoryDeviceKind::Nvdimm { label_kib: Some(l), .. } = &m.kind {
            dev.push(("label-size", n(l * 1024)));
        }
        dev.push(("memdev", s(format!("mem{alias}"))));
        dev.push(("id", s(alias.clone())));
        dev.push(("slot", n(m.slot)));
        out.push(Opt::props("-device", "driver", dev));
    }
    out
}

/// Disks, NICs, serial/console, passthrough: libvirt's order (disks, network, serial, hostdev).
pub fn devices(g: &Guest) -> Vec<Opt> {
    let mut out = Vec::new();
    for d in &g.devices {
        let DeviceKind::Disk { path, format, bus } = &d.kind else { continue };
        let node = format!("disk-{}", d.name);
        out.push(Opt::props(
            "-blockdev",
            "driver",
            vec![("driver", s("file")), ("filename", s(path.clone())), ("node-name", s(format!("{node}-storage")))],
        ));
        out.push(Opt::props(
            "-blockdev",
            "driver",
            vec![("driver", s(format.clone())), ("file", s(format!("{node}-storage"))), ("node-name", s(format!("{node}-format")))],
        ));
        let mut dev = match bus {
            DiskBus::Virtio => vec![("driver", s("virtio-blk-pci"))],
            DiskBus::Sata => vec![("driver", s("ide-hd")), ("bus", s(format!("ide.{}", d.ordinal)))],
        };
        if let Some(a) = &d.address {
            dev.extend(address(a));
        }
        dev.push(("drive", s(format!("{node}-format"))));
        dev.push((
            "id",
            s(match bus {
                DiskBus::Virtio => format!("virtio-disk{}", d.ordinal),
                DiskBus::Sata => format!("sata0-0-{}", d.ordinal),
            }),
        ));
        out.push(Opt::props("-device", "driver", dev));
    }
    for d in &g.devices {
        let DeviceKind::Nic { source, model, mac } = &d.kind else { continue };
        let id = format!("hostnet{}", d.ordinal);
        out.push(match source {
            NetSource::Bridge(br) => Opt::props("-netdev", "type", vec![("type", s("bridge")), ("br", s(br.clone())), ("id", s(id.clone()))]),
            // A libvirt network has no standalone equivalent: a tap the user attaches to its bridge.
            NetSource::Network(_) => Opt::props(
                "-netdev",
                "type",
                vec![("type", s("tap")), ("script", s("no")), ("downscript", s("no")), ("id", s(id.clone()))],
            ),
        });
        let driver = if model == "virtio" { "virtio-net-pci".to_string() } else { model.clone() };
        let mut dev = vec![("driver", s(driver)), ("netdev", s(id)), ("id", s(format!("net{}", d.ordinal)))];
        if let Some(m) = mac {
            dev.push(("mac", s(m.clone())));
        }
        if let Some(a) = &d.address {
            dev.extend(address(a));
        }
        out.push(Opt::props("-device", "driver", dev));
    }
    if g.devices.iter().any(|d| matches!(d.kind, DeviceKind::Serial | DeviceKind::Console)) {
        // A pty console on a serial target is the serial port itself, as in libvirt.
        out.push(Opt::plain("-chardev", "pty,id=charserial0"));
        out.push(Opt::props(
            "-device",
            "driver",
            vec![("driver", s("isa-serial")), ("chardev", s("charserial0")), ("id", s("serial0"))],
        ));
    }
    for d in &g.devices {
        let DeviceKind::Hostdev { host } = &d.kind else { continue };
        let mut dev = vec![("driver", s("vfio-pci")), ("host", s(host.clone())), ("id", s(format!("hostdev{}", d.ordinal)))];
        if let Some(a) = &d.address {
            dev.extend(address(a));
        }
        out.push(Opt::props("-device", "driver", dev));
    }
    out
}
