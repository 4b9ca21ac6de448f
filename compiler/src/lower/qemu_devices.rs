//! QEMU options for PCI controllers, memory devices, disks, NICs, consoles, passthrough
//! and hot-plugged vCPUs, in libvirt's order and spelling.

use super::qemu_args::{Opt, Val, n, s};
use crate::ir::*;
use crate::sets::IdSet;

/// The QEMU id libvirt gives a controller: its user alias `ua-NAME`, as in the XML.
pub fn controller_id(c: &Controller) -> String {
    format!("ua-{}", super::libvirt::alias_safe(&c.name))
}

fn bus_id(g: &Guest, bus: u32) -> String {
    match g.controllers.iter().find(|c| c.index == bus) {
        Some(parent) => controller_id(parent),
        None => "pcie.0".to_string(),
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

/// PCI controllers in index order.
pub fn controllers(g: &Guest) -> Vec<Opt> {
    g.controllers
        .iter()
        .map(|c| {
            let mut props = match &c.kind {
                ControllerKind::Expander { bus_nr, node } => vec![
                    ("driver", s("pxb-pcie")),
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
        .collect()
}

/// A memory backend's host binding, in libvirt's place (after size, align, pmem).
pub fn binding_props(binding: Option<&MemBinding>) -> Vec<(&'static str, Val)> {
    match binding {
        Some(b) => match b.policy.qemu() {
            Some(policy) => vec![("host-nodes", Val::Ids(b.nodes.clone())), ("policy", s(policy))],
            None => Vec::new(),
        },
        None => Vec::new(),
    }
}

/// Where a file-backed backend without hugepages keeps its file: libvirt's default
/// memory_backing_dir, one directory per guest (libvirt adds the domain id: `-1-NAME`).
pub fn memory_file(guest: &str, id: &str) -> String {
    format!("/var/lib/libvirt/qemu/ram/{guest}/{id}")
}

/// A guest RAM backend (a cell, the memory of a guest without cells, a DIMM), typed and
/// ordered as libvirt's `qemuBuildMemoryBackendProps`: memfd when the source is memfd; a
/// file for hugepages, an access mode or a file source; else RAM. Then [mem-path,
/// discard-data | hugetlb, hugetlbsize], share, [x-use-…], prealloc, size, binding.
pub fn ram_backend(
    guest: &str,
    id: &str,
    page: Option<u64>,
    kib: u64,
    binding: Option<&MemBinding>,
    backing: &MemoryBacking,
) -> Vec<Opt> {
    with_thread_context(ram_backend_props(guest, id, page, kib, binding, backing))
}

/// The properties of `ram_backend`'s memory backend.
fn ram_backend_props(
    guest: &str,
    id: &str,
    page: Option<u64>,
    kib: u64,
    binding: Option<&MemBinding>,
    backing: &MemoryBacking,
) -> Vec<(&'static str, Val)> {
    let mut props = Vec::new();
    let file = page.is_some() || backing.shared.is_some() || backing.source == MemorySource::File;
    let kind = match backing.source {
        MemorySource::Memfd => "memory-backend-memfd",
        _ if file => "memory-backend-file",
        _ => "memory-backend-ram",
    };
    props.push(("qom-type", s(kind)));
    props.push(("id", s(id)));
    match (kind, page) {
        ("memory-backend-memfd", Some(size)) => {
            props.push(("hugetlb", Val::Bool(true)));
            props.push(("hugetlbsize", n(size * 1024)));
        }
        ("memory-backend-file", Some(size)) => props.push(("mem-path", s(super::hugepage_mount(size)))),
        ("memory-backend-file", None) => props.push(("mem-path", s(memory_file(guest, id)))),
        _ => {}
    }
    if kind == "memory-backend-file"
        && let Some(discard) = backing.discard
    {
        props.push(("discard-data", Val::Bool(discard)));
    }
    if kind != "memory-backend-ram"
        && let Some(shared) = backing.shared
    {
        props.push(("share", Val::Bool(shared)));
    }
    // libvirt keeps file-backed system memory migratable to older QEMUs this way.
    if id == "pc.ram" && kind != "memory-backend-ram" {
        props.push(("x-use-canonical-path-for-ramblock-id", Val::Bool(false)));
    }
    if page.is_some() || backing.prealloc {
        props.push(("prealloc", Val::Bool(true)));
        if let Some(t) = backing.prealloc_threads {
            props.push(("prealloc-threads", n(t)));
        }
    }
    props.push(("size", n(kib * 1024)));
    props.extend(binding_props(binding));
    props
}

/// The root bus: `pcie.0` on q35, `pci.0` on the i440fx `pc` machines.
fn root_bus(g: &Guest) -> &'static str {
    match g.family {
        MachineFamily::Q35 => "pcie.0",
        MachineFamily::Pc => "pci.0",
    }
}

/// libvirt (with QEMU ≥ 7.2) preallocates bound memory from threads on the bound nodes:
/// a `thread-context` object before the backend, named by the backend's `prealloc-context`.
pub fn with_thread_context(mut props: Vec<(&'static str, Val)>) -> Vec<Opt> {
    let prealloc = props.iter().any(|(k, v)| *k == "prealloc" && *v == Val::Bool(true));
    let nodes = props.iter().find_map(|(k, v)| match (k, v) {
        (&"host-nodes", Val::Ids(ids)) => Some(ids.clone()),
        _ => None,
    });
    let id = props.iter().find_map(|(k, v)| match (k, v) {
        (&"id", Val::Str(id)) => Some(id.clone()),
        _ => None,
    });
    let (true, Some(nodes), Some(id)) = (prealloc, nodes, id) else {
        return vec![Opt::props("-object", "qom-type", props)];
    };
    let tc = format!("tc-{id}");
    props.push(("prealloc-context", s(tc.clone())));
    vec![
        Opt::props(
            "-object",
            "qom-type",
            vec![
                ("qom-type", s("thread-context")),
                ("id", s(tc)),
                ("node-affinity", Val::Ids(nodes)),
            ],
        ),
        Opt::props("-object", "qom-type", props),
    ]
}

/// Each memory device: its backend object, then the device.
pub fn memory_devices(g: &Guest) -> Vec<Opt> {
    let mut out = Vec::new();
    for m in &g.memory_devices {
        let cell = g.cells.iter().find(|c| c.id == m.node);
        let cx = MemCx {
            g,
            m,
            alias: m.alias(),
            id: format!("mem{}", m.alias()),
            binding: cell.and_then(|c| c.binding.as_ref()).or(g.memory_binding.as_ref()),
            backing: cell.map_or(g.backing, |c| c.backing(&g.backing)),
        };
        match &m.kind {
            MemoryDeviceKind::VirtioMem {
                block_kib,
                requested_kib,
                host_nodes,
                pci,
                ..
            } => out.extend(virtio_mem(&cx, (*block_kib, *requested_kib), host_nodes.as_ref(), pci)),
            MemoryDeviceKind::VirtioPmem { path, shared, pci } => out.extend(virtio_pmem(&cx, path, *shared, pci)),
            MemoryDeviceKind::Dimm {
                host_nodes,
                shared,
                discard,
                ..
            } => {
                out.extend(dimm_backend(&cx, host_nodes.as_ref(), *shared, *discard));
                out.push(slot_device(&cx));
            }
            MemoryDeviceKind::Nvdimm {
                path,
                align_kib,
                pmem,
                shared,
                ..
            } => {
                out.extend(nvdimm_backend(&cx, path, *align_kib, *pmem, *shared));
                out.push(slot_device(&cx));
            }
        }
    }
    out
}

/// One memory device of a guest, with what it takes from its cell.
struct MemCx<'a> {
    g: &'a Guest,
    m: &'a MemoryDevice,
    /// libvirt's alias, the device's id.
    alias: String,
    /// Its backend's id.
    id: String,
    /// Its cell's binding, else the guest's.
    binding: Option<&'a MemBinding>,
    /// Its cell's memory backing.
    backing: MemoryBacking,
}

/// A device's own host nodes, bound strictly.
fn strict(host_nodes: Option<&IdSet>) -> Option<MemBinding> {
    host_nodes.map(|nodes| MemBinding {
        nodes: nodes.clone(),
        policy: MemPolicy::Strict,
        auto: false,
    })
}

/// A virtio device's guest address, id and slot on the root bus.
fn on_root_bus(cx: &MemCx, dev: &mut Vec<(&'static str, Val)>, pci: &PciAddress) {
    if let Some(base) = cx.m.base {
        dev.push(("memaddr", n(base)));
    }
    dev.push(("id", s(cx.alias.clone())));
    dev.push(("bus", s(root_bus(cx.g))));
    dev.push(("addr", s(format!("0x{:x}", pci.slot))));
}

fn virtio_mem(
    cx: &MemCx,
    (block_kib, requested_kib): (u64, u64),
    host_nodes: Option<&IdSet>,
    pci: &PciAddress,
) -> Vec<Opt> {
    let m = cx.m;
    let page = m.hugepage_kib;
    let own = strict(host_nodes);
    // libvirt: the device preallocates what it plugs, the backend reserves
    // nothing up front.
    let mut props = ram_backend_props(
        &cx.g.name,
        &cx.id,
        page,
        m.size_kib,
        own.as_ref().or(cx.binding),
        &cx.backing,
    );
    props.retain(|(k, _)| *k != "prealloc");
    let at = props.iter().position(|(k, _)| *k == "size").unwrap_or(props.len());
    props.insert(at, ("reserve", Val::Bool(false)));
    let mut dev = vec![
        ("driver", s("virtio-mem-pci")),
        ("node", n(m.node)),
        ("block-size", n(block_kib * 1024)),
        ("requested-size", n(requested_kib * 1024)),
        ("memdev", s(cx.id.clone())),
    ];
    if page.is_some() || cx.backing.prealloc {
        dev.push(("prealloc", Val::Bool(true)));
    }
    on_root_bus(cx, &mut dev, pci);
    vec![
        Opt::props("-object", "qom-type", props),
        Opt::props("-device", "driver", dev),
    ]
}

fn virtio_pmem(cx: &MemCx, path: &str, shared: Option<bool>, pci: &PciAddress) -> Vec<Opt> {
    let mut obj = vec![
        ("qom-type", s("memory-backend-file")),
        ("id", s(cx.id.clone())),
        ("mem-path", s(path.to_string())),
    ];
    if let Some(sh) = shared.or(cx.g.backing.shared) {
        obj.push(("share", Val::Bool(sh)));
    }
    obj.push(("size", n(cx.m.size_kib * 1024)));
    let mut dev = vec![("driver", s("virtio-pmem-pci")), ("memdev", s(cx.id.clone()))];
    on_root_bus(cx, &mut dev, pci);
    vec![
        Opt::props("-object", "qom-type", obj),
        Opt::props("-device", "driver", dev),
    ]
}

/// A DIMM's backend: its own nodes, access and discard win over its cell's.
fn dimm_backend(cx: &MemCx, host_nodes: Option<&IdSet>, shared: Option<bool>, discard: Option<bool>) -> Vec<Opt> {
    let own = strict(host_nodes);
    let binding = own.as_ref().or(cx.binding);
    let mut backing = cx.backing;
    backing.shared = shared.or(backing.shared);
    backing.discard = discard.or(backing.discard);
    ram_backend(&cx.g.name, &cx.id, cx.m.hugepage_kib, cx.m.size_kib, binding, &backing)
}

/// An NVDIMM's backend: its file.
fn nvdimm_backend(cx: &MemCx, path: &str, align_kib: Option<u64>, pmem: bool, shared: Option<bool>) -> Vec<Opt> {
    let g = cx.g;
    let mut obj = vec![
        ("qom-type", s("memory-backend-file")),
        ("id", s(cx.id.clone())),
        ("mem-path", s(path.to_string())),
    ];
    // An NVDIMM's own access mode wins over the guest's.
    if let Some(sh) = shared.or(g.backing.shared) {
        obj.push(("share", Val::Bool(sh)));
    }
    // libvirt preallocates an NVDIMM unless its backing is real persistent memory.
    if !pmem {
        obj.push(("prealloc", Val::Bool(true)));
        if let Some(t) = g.backing.prealloc_threads {
            obj.push(("prealloc-threads", n(t)));
        }
    }
    obj.push(("size", n(cx.m.size_kib * 1024)));
    if let Some(a) = align_kib {
        obj.push(("align", n(a * 1024)));
    }
    if pmem {
        obj.push(("pmem", Val::Bool(true)));
    }
    obj.extend(binding_props(cx.binding));
    with_thread_context(obj)
}

/// The `pc-dimm` or `nvdimm` device in its slot.
fn slot_device(cx: &MemCx) -> Opt {
    let m = cx.m;
    let mut dev = vec![
        (
            "driver",
            s(if matches!(m.kind, MemoryDeviceKind::Dimm { .. }) {
                "pc-dimm"
            } else {
                "nvdimm"
            }),
        ),
        ("node", n(m.node)),
    ];
    if let MemoryDeviceKind::Nvdimm {
        label_kib, readonly, ..
    } = &m.kind
    {
        if let Some(l) = label_kib {
            dev.push(("label-size", n(l * 1024)));
        }
        if *readonly {
            dev.push(("unarmed", Val::Bool(true)));
        }
    }
    dev.push(("memdev", s(cx.id.clone())));
    dev.push(("id", s(cx.alias.clone())));
    dev.push(("slot", n(m.slot)));
    if let Some(base) = m.base {
        dev.push(("addr", n(base)));
    }
    Opt::props("-device", "driver", dev)
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
        let DeviceKind::Disk { path, format, bus } = &d.kind else {
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
            DiskBus::Virtio => vec![("driver", s("virtio-blk-pci"))],
            DiskBus::Sata => vec![("driver", s("ide-hd")), ("bus", s(format!("ide.{}", d.ordinal)))],
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
