//! QEMU options for guest memory: RAM backends (cells, a guest without cells, DIMMs), their
//! preallocation threads, and every memory device, in libvirt's order and spelling.

use super::qemu_args::{Opt, Val, n, s};
use crate::ir::*;
use crate::sets::IdSet;

/// The memory backend of a guest without cells (`-machine memory-backend=`).
pub const GUEST_RAM_BACKEND: &str = "pc.ram";

/// The memory backend of cell `id` (`-numa node,memdev=`).
pub fn cell_backend(id: u32) -> String {
    format!("ram-node{id}")
}

/// A memory device's backend (its `memdev=`): `mem` and the device's alias.
pub fn device_backend(m: &MemoryDevice) -> String {
    format!("mem{}", m.alias())
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
    g: &Guest,
    id: &str,
    page: Option<u64>,
    kib: u64,
    binding: Option<&MemBinding>,
    backing: &MemoryBacking,
) -> Vec<Opt> {
    with_thread_context(
        ram_backend_props(&g.name, id, page, kib, binding, backing),
        g.emulator_nodes.as_ref(),
    )
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
    if id == GUEST_RAM_BACKEND && kind != "memory-backend-ram" {
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

/// libvirt (with QEMU ≥ 7.2) preallocates bound memory from threads on the bound nodes:
/// a `thread-context` object before the backend, named by the backend's `prealloc-context`.
/// With `emulator_nodes` (libvirt 9.2 and later, the emulator pinned) the threads run only
/// on the bound nodes among those, and there is no thread-context when there are none.
pub fn with_thread_context(mut props: Vec<(&'static str, Val)>, emulator_nodes: Option<&IdSet>) -> Vec<Opt> {
    let prealloc = props.iter().any(|(k, v)| *k == "prealloc" && *v == Val::Bool(true));
    let nodes = props.iter().find_map(|(k, v)| match (k, v) {
        (&"host-nodes", Val::Ids(ids)) => Some(ids.clone()),
        _ => None,
    });
    let id = props.iter().find_map(|(k, v)| match (k, v) {
        (&"id", Val::Str(id)) => Some(id.clone()),
        _ => None,
    });
    let nodes = match emulator_nodes {
        Some(emulator) => nodes
            .map(|bound| bound.intersection(emulator))
            .filter(|n| !n.is_empty()),
        None => nodes,
    };
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
            id: device_backend(m),
            binding: m.binding.as_ref(),
            backing: cell.map_or(g.backing, |c| c.backing(&g.backing)),
        };
        match &m.kind {
            MemoryDeviceKind::VirtioMem {
                block_kib,
                requested_kib,
                pci,
                ..
            } => out.extend(virtio_mem(&cx, (*block_kib, *requested_kib), pci)),
            MemoryDeviceKind::VirtioPmem { path, pci, .. } => out.extend(virtio_pmem(&cx, path, pci)),
            MemoryDeviceKind::Dimm { shared, discard, .. } => {
                out.extend(dimm_backend(&cx, *shared, *discard));
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
    /// Its host binding, as the model resolved it.
    binding: Option<&'a MemBinding>,
    /// Its cell's memory backing.
    backing: MemoryBacking,
}

/// A virtio device's guest address, id and slot on the root bus.
fn on_root_bus(cx: &MemCx, dev: &mut Vec<(&'static str, Val)>, pci: &PciAddress) {
    if let Some(base) = cx.m.base {
        dev.push(("memaddr", n(base)));
    }
    dev.push(("id", s(cx.alias.clone())));
    dev.push(("bus", s(cx.g.family.root_bus())));
    dev.push(("addr", s(format!("0x{:x}", pci.slot))));
}

fn virtio_mem(cx: &MemCx, (block_kib, requested_kib): (u64, u64), pci: &PciAddress) -> Vec<Opt> {
    let m = cx.m;
    let page = m.hugepage_kib;
    // libvirt: the device preallocates what it plugs, the backend reserves
    // nothing up front.
    let mut props = ram_backend_props(&cx.g.name, &cx.id, page, m.size_kib, cx.binding, &cx.backing);
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

/// libvirt 9.0 maps a virtio-pmem file shared whatever the guest's memory access says (a
/// private one is refused when checked).
fn virtio_pmem(cx: &MemCx, path: &str, pci: &PciAddress) -> Vec<Opt> {
    let obj = vec![
        ("qom-type", s("memory-backend-file")),
        ("id", s(cx.id.clone())),
        ("mem-path", s(path.to_string())),
        ("share", Val::Bool(true)),
        ("size", n(cx.m.size_kib * 1024)),
    ];
    let mut dev = vec![("driver", s("virtio-pmem-pci")), ("memdev", s(cx.id.clone()))];
    on_root_bus(cx, &mut dev, pci);
    vec![
        Opt::props("-object", "qom-type", obj),
        Opt::props("-device", "driver", dev),
    ]
}

/// A DIMM's backend: its own access and discard win over its cell's.
fn dimm_backend(cx: &MemCx, shared: Option<bool>, discard: Option<bool>) -> Vec<Opt> {
    let mut backing = cx.backing;
    backing.shared = shared.or(backing.shared);
    backing.discard = discard.or(backing.discard);
    ram_backend(cx.g, &cx.id, cx.m.hugepage_kib, cx.m.size_kib, cx.binding, &backing)
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
    with_thread_context(obj, g.emulator_nodes.as_ref())
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
