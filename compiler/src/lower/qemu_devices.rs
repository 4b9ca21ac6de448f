//! QEMU options for PCI controllers, disks, NICs, consoles, passthrough and hot-plugged
//! vCPUs, in libvirt's order and spelling.

use super::qemu_args::{Opt, Val, n, s};
use crate::ir::*;

/// The QEMU id libvirt gives a controller: its user alias `ua-NAME`, as in the XML.
pub fn controller_id(c: &Controller) -> String {
    format!("ua-{}", crate::names::alias_safe(&c.name))
}

fn bus_id(g: &Guest, bus: u32) -> String {
    match g.controllers.iter().find(|c| c.index == bus) {
        Some(parent) => controller_id(parent),
        None => g.family.root_bus().to_string(),
    }
}

/// `bus`, `[multifunction]`, `addr` of a PCI address; libvirt marks function 0 of a shared slot.
fn address(g: &Guest, a: &PciAddress) -> Vec<(&'static str, Val)> {
    let mut out = vec![("bus", s(bus_id(g, a.bus)))];
    let shares_slot = |b: &PciAddress| b.bus == a.bus && b.slot == a.slot && b.function != 0;
    if a.function == 0
        && (g.controllers.iter().any(|o| shares_slot(&o.address))
            || g.devices.iter().filter_map(|d| d.address.as_ref()).any(shares_slot))
    {
        out.push(("multifunction", Val::Bool(true)));
    }
    let addr = if a.function == 0 {
        format!("0x{:x}", a.slot)
    } else {
        format!("0x{:x}.0x{:x}", a.slot, a.function)
    };
    out.push(("addr", s(addr)));
    out
}

/// The QEMU id of a `pc` machine's AHCI controller: libvirt's alias of
/// `<controller type='sata' index='0'>`.
const AHCI_ID: &str = "sata0";

/// PCI controllers in index order, then (on `pc`) the SATA disks' AHCI controller, as
/// libvirt orders controllers by type.
pub fn controllers(g: &Guest) -> Vec<Opt> {
    let mut out: Vec<Opt> = g
        .controllers
        .iter()
        .map(|c| {
            let mut props = match &c.kind {
                ControllerKind::Expander { bus_nr, node } => vec![
                    ("driver", s(g.family.expander().1)),
                    ("bus_nr", n(*bus_nr)),
                    ("id", s(controller_id(c))),
                    ("numa_node", n(*node)),
                ],
                ControllerKind::RootPort { chassis, port } => vec![
                    ("driver", s("pcie-root-port")),
                    ("port", n(*port)),
                    ("chassis", n(*chassis)),
                    ("id", s(controller_id(c))),
                ],
            };
            props.extend(address(g, &c.address));
            Opt::props("-device", "driver", props)
        })
        .collect();
    if let Some(a) = &g.ahci {
        let mut props = vec![("driver", s("ahci")), ("id", s(AHCI_ID))];
        props.extend(address(g, a));
        out.push(Opt::props("-device", "driver", props));
    }
    out
}

/// Disks, NICs, serial/console, passthrough, in libvirt's order.
pub fn devices(g: &Guest) -> Vec<Opt> {
    let mut out = disks(g);
    out.extend(nics(g));
    out.extend(serial(g));
    out.extend(hostdevs(g));
    out
}

/// Each disk: its file and format nodes, then the device.
fn disks(g: &Guest) -> Vec<Opt> {
    let mut out = Vec::new();
    for d in &g.devices {
        let DeviceKind::Disk {
            path,
            format,
            bus,
            iothread,
        } = &d.kind
        else {
            continue;
        };
        let node = format!("disk-{}", d.name);
        out.push(Opt::props(
            "-blockdev",
            "driver",
            vec![
                ("driver", s("file")),
                ("filename", s(path.clone())),
                ("node-name", s(format!("{node}-storage"))),
            ],
        ));
        out.push(Opt::props(
            "-blockdev",
            "driver",
            vec![
                ("driver", s(format.clone())),
                ("file", s(format!("{node}-storage"))),
                ("node-name", s(format!("{node}-format"))),
            ],
        ));
        let mut dev = match bus {
            DiskBus::Virtio => {
                let mut props = vec![("driver", s("virtio-blk-pci"))];
                if let Some(t) = iothread {
                    props.push(("iothread", s(format!("iothread{t}"))));
                }
                props
            }
            // q35's built-in AHCI names its ports `ide.N`; an added one `<id>.N` (libvirt's
            // qemuBuildDiskDeviceProps).
            DiskBus::Sata => {
                let bus = match g.family {
                    MachineFamily::Q35 => format!("ide.{}", d.ordinal),
                    MachineFamily::Pc => format!("{AHCI_ID}.{}", d.ordinal),
                };
                vec![("driver", s("ide-hd")), ("bus", s(bus))]
            }
        };
        if let Some(a) = &d.address {
            dev.extend(address(g, a));
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
    out
}

/// Each NIC: its backend, then the device.
fn nics(g: &Guest) -> Vec<Opt> {
    let mut out = Vec::new();
    for d in &g.devices {
        let DeviceKind::Nic { source, model, mac } = &d.kind else {
            continue;
        };
        let id = format!("hostnet{}", d.ordinal);
        out.push(match source {
            NetSource::Bridge(br) => Opt::props(
                "-netdev",
                "type",
                vec![("type", s("bridge")), ("br", s(br.clone())), ("id", s(id.clone()))],
            ),
            // A libvirt network has no standalone equivalent: a tap the user attaches to its bridge.
            NetSource::Network(_) => Opt::props(
                "-netdev",
                "type",
                vec![
                    ("type", s("tap")),
                    ("script", s("no")),
                    ("downscript", s("no")),
                    ("id", s(id.clone())),
                ],
            ),
        });
        let driver = if model == "virtio" {
            "virtio-net-pci".to_string()
        } else {
            model.clone()
        };
        let mut dev = vec![
            ("driver", s(driver)),
            ("netdev", s(id)),
            ("id", s(format!("net{}", d.ordinal))),
        ];
        if let Some(m) = mac {
            dev.push(("mac", s(m.clone())));
        }
        if let Some(a) = &d.address {
            dev.extend(address(g, a));
        }
        out.push(Opt::props("-device", "driver", dev));
    }
    out
}

/// The serial port, once, for a serial port or a console.
fn serial(g: &Guest) -> Vec<Opt> {
    let mut out = Vec::new();
    if g.devices
        .iter()
        .any(|d| matches!(d.kind, DeviceKind::Serial | DeviceKind::Console))
    {
        // A pty console on a serial target is the serial port itself, as in libvirt.
        out.push(Opt::plain("-chardev", "pty,id=charserial0"));
        out.push(Opt::props(
            "-device",
            "driver",
            vec![
                ("driver", s("isa-serial")),
                ("chardev", s("charserial0")),
                ("id", s("serial0")),
            ],
        ));
    }
    out
}

/// PCI passthrough.
fn hostdevs(g: &Guest) -> Vec<Opt> {
    let mut out = Vec::new();
    for d in &g.devices {
        let DeviceKind::Hostdev { host } = &d.kind else {
            continue;
        };
        let mut dev = vec![
            ("driver", s("vfio-pci")),
            ("host", s(host.clone())),
            ("id", s(format!("hostdev{}", d.ordinal))),
        ];
        if let Some(a) = &d.address {
            dev.extend(address(g, a));
        }
        out.push(Opt::props("-device", "driver", dev));
    }
    out
}

/// Enabled hot-pluggable vCPUs as `-device <model>-x86_64-cpu`, in plug order. libvirt adds
/// these over QMP after start; a standalone QEMU needs them on its command line.
pub fn hotplug_cpus(g: &Guest) -> Vec<Opt> {
    let mut enabled: Vec<&VcpuState> = g.vcpu_states.iter().filter(|v| v.enabled && v.hotpluggable).collect();
    enabled.sort_by_key(|v| (v.order, v.id));
    let driver = cpu_driver(g);
    let topology = g.effective_topology();
    let dies = topology.dies > 1;
    enabled
        .iter()
        .map(|v| {
            let (sk, d, c, t) = topology.position(v.id);
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

/// QEMU's CPU device type for the guest's CPU model.
pub fn cpu_driver(g: &Guest) -> String {
    match &g.cpu {
        CpuMode::HostPassthrough | CpuMode::HostModel => "host-x86_64-cpu".into(),
        CpuMode::Maximum => "max-x86_64-cpu".into(),
        CpuMode::Custom(m) => format!("{m}-x86_64-cpu"),
    }
}
