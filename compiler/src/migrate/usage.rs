//! What a guest uses of its source host, node by node: the host cores its vCPUs have to
//! themselves, the vCPUs that float over a node's CPUs, the memory bound there, and the
//! guest cells that live on it.

use crate::host::HostProfile;
use crate::ir::{Guest, MemoryDeviceKind};
use crate::place::spread::spread;
use crate::sets::IdSet;
use std::collections::BTreeMap;

/// vCPUs pinned one CPU each to the threads of one source host core. On the destination
/// they take one host core, the vCPU on the `rank`-th of the CPUs they use taking the
/// `rank`-th thread, so vCPUs on sibling threads stay on sibling threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreGroup {
    /// (vCPU, rank of its source CPU among the group's CPUs), in vCPU order.
    pub vcpus: Vec<(u32, u32)>,
    /// How many threads the group uses.
    pub width: u32,
}

/// One source host node as the guest uses it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeUse {
    /// The source node's id.
    pub node: u32,
    pub cores: Vec<CoreGroup>,
    /// Some vCPU floats over CPUs of this node (a pin to several CPUs).
    pub floating: bool,
    /// Memory bound to the node: (page size in KiB, None for ordinary memory; KiB).
    pub memory: Vec<(Option<u64>, u64)>,
    /// The source node has CPUs (a CXL or other memory-only node has none).
    pub has_cpus: bool,
    /// Guest cells whose vCPUs or memory are on this node.
    pub cells: Vec<u32>,
    /// Emulator and I/O threads with a core of their own here (`policy=isolate`).
    pub isolated: u32,
}

/// Memory bound to host nodes: KiB in pages of a size (None: ordinary memory) over a set
/// of nodes, split evenly as the fit check splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub nodes: IdSet,
    /// `placement=auto`: the nodes are every node with memory, whichever host it is.
    pub auto: bool,
    pub kib: u64,
    pub page_kib: Option<u64>,
}

/// What the guest uses of its source host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    /// Every node the guest's pins or memory reach, by id.
    pub nodes: Vec<NodeUse>,
    /// Hugepage memory bound to no node, by page size: it may come from any node.
    pub unbound_pages: Vec<(u64, u64)>,
    /// The host CPUs the guest's vCPUs run on.
    pub vcpu_cpus: IdSet,
}

/// The memory a guest binds, as the fit check counts it: each bound cell, the whole
/// guest's `memory-policy` for what no cell binds, and every DIMM and virtio-mem device
/// with a binding.
/// Hugepage memory without a binding is returned apart, by page size.
pub fn bound_memory(g: &Guest) -> (Vec<Bound>, Vec<(u64, u64)>) {
    let mut bound = Vec::new();
    let mut unbound: Vec<(Option<u64>, u64)> = Vec::new();
    let mut add_unbound = |page: Option<u64>, kib: u64| match unbound.iter_mut().find(|(p, _)| *p == page) {
        Some((_, k)) => *k += kib,
        None => unbound.push((page, kib)),
    };
    if g.cells.is_empty() {
        add_unbound(g.hugepage_kib, g.memory_kib);
    }
    for c in &g.cells {
        match &c.binding {
            Some(b) if b.policy.binds() || c.hugepage_kib.is_some() => bound.push(Bound {
                nodes: b.nodes.clone(),
                auto: b.auto,
                kib: c.memory_kib,
                page_kib: c.hugepage_kib,
            }),
            Some(_) => {}
            None => add_unbound(c.hugepage_kib, c.memory_kib),
        }
    }
    let mut any_node = Vec::new();
    for (page, kib) in unbound {
        match &g.memory_binding {
            Some(b) if b.policy.binds() || page.is_some() => bound.push(Bound {
                nodes: b.nodes.clone(),
                auto: b.auto,
                kib,
                page_kib: page,
            }),
            Some(_) => {}
            None => {
                if let Some(p) = page.filter(|_| kib > 0) {
                    any_node.push((p, kib));
                }
            }
        }
    }
    // NVDIMMs and virtio-pmem are backed by their files, not by node memory.
    let ram = g.memory_devices.iter().filter(|d| {
        matches!(
            d.kind,
            MemoryDeviceKind::Dimm { .. } | MemoryDeviceKind::VirtioMem { .. }
        )
    });
    for d in ram {
        match &d.binding {
            Some(b) if b.policy.binds() || d.hugepage_kib.is_some() => bound.push(Bound {
                nodes: b.nodes.clone(),
                auto: b.auto,
                kib: d.size_kib,
                page_kib: d.hugepage_kib,
            }),
            Some(_) => {}
            // Hugepages bound to no node come from whichever node has them.
            None => {
                if let Some(p) = d.hugepage_kib.filter(|_| d.size_kib > 0) {
                    match any_node.iter_mut().find(|(q, _)| *q == p) {
                        Some((_, k)) => *k += d.size_kib,
                        None => any_node.push((p, d.size_kib)),
                    }
                }
            }
        }
    }
    (bound, any_node)
}

/// Memory per node: (node, page size, KiB), each bound set split evenly over its nodes.
pub fn per_node(bound: &[Bound]) -> BTreeMap<(u32, Option<u64>), u64> {
    let mut out: BTreeMap<(u32, Option<u64>), u64> = BTreeMap::new();
    for b in bound {
        for (node, kib) in spread(&b.nodes, b.kib, b.page_kib.unwrap_or(1)) {
            *out.entry((node, b.page_kib)).or_default() += kib;
        }
    }
    out
}

/// The guest cell of every vCPU.
pub fn cell_of_vcpu(g: &Guest) -> BTreeMap<u32, u32> {
    let mut out = BTreeMap::new();
    for c in &g.cells {
        for v in c.vcpus.iter() {
            out.insert(v, c.id);
        }
    }
    out
}

/// What `g` uses of `src`.
pub fn usage(g: &Guest, src: &HostProfile) -> Usage {
    let mut nodes: BTreeMap<u32, NodeUse> = BTreeMap::new();
    fn at<'n>(nodes: &'n mut BTreeMap<u32, NodeUse>, src: &HostProfile, id: u32) -> &'n mut NodeUse {
        nodes.entry(id).or_insert_with(|| NodeUse {
            node: id,
            has_cpus: src.node(id).is_some_and(|n| !n.cpus.is_empty()),
            ..NodeUse::default()
        })
    }
    macro_rules! entry {
        ($id:expr) => {
            at(&mut nodes, src, $id)
        };
    }
    let cells = cell_of_vcpu(g);
    // Single-CPU pins, by the source core of their CPU: (node, core key) → (vCPU, CPU).
    let mut singles: BTreeMap<(u32, u32), Vec<(u32, u32)>> = BTreeMap::new();
    let mut vcpu_cpus = IdSet::new();
    for p in &g.pins {
        vcpu_cpus = vcpu_cpus.union(&p.cpus);
        let cell = cells.get(&p.vcpu).copied();
        match p.cpus.only().and_then(|c| src.cpu(c)) {
            Some(cpu) => {
                let key = cpu.siblings.first().unwrap_or(cpu.id).min(cpu.id);
                singles.entry((cpu.node, key)).or_default().push((p.vcpu, cpu.id));
                let e = entry!(cpu.node);
                e.cells.extend(cell);
            }
            None => {
                for n in src.nodes_of_cpus(&p.cpus).iter() {
                    let e = entry!(n);
                    e.floating = true;
                    e.cells.extend(cell);
                }
            }
        }
    }
    for cpus in isolated_threads(g) {
        if let Some(cpu) = cpus.first().and_then(|c| src.cpu(c)) {
            entry!(cpu.node).isolated += 1;
        }
    }
    for ((node, _), mut list) in singles {
        list.sort_unstable();
        let mut used: Vec<u32> = list.iter().map(|&(_, cpu)| cpu).collect();
        used.sort_unstable();
        used.dedup();
        let vcpus = list
            .iter()
            .map(|&(v, cpu)| (v, used.iter().position(|&c| c == cpu).unwrap_or(0) as u32))
            .collect();
        entry!(node).cores.push(CoreGroup {
            vcpus,
            width: used.len() as u32,
        });
    }
    let (mut bound, unbound_pages) = bound_memory(g);
    // Memory placed by numad follows whichever host it runs on.
    bound.retain(|b| !b.auto);
    for ((node, page), kib) in per_node(&bound) {
        let e = entry!(node);
        match e.memory.iter_mut().find(|(p, _)| *p == page) {
            Some((_, k)) => *k += kib,
            None => e.memory.push((page, kib)),
        }
    }
    for c in &g.cells {
        for n in c.binding.iter().filter(|b| !b.auto).flat_map(|b| b.nodes.iter()) {
            entry!(n).cells.push(c.id);
        }
    }
    // Nodes named by a binding that reserves nothing (preferred, interleave) move too.
    let named = g
        .memory_binding
        .iter()
        .chain(g.memory_devices.iter().filter_map(|d| d.binding.as_ref()))
        .filter(|b| !b.auto);
    for b in named {
        for n in b.nodes.iter() {
            entry!(n);
        }
    }
    let mut nodes: Vec<NodeUse> = nodes.into_values().collect();
    for n in &mut nodes {
        n.cells.sort_unstable();
        n.cells.dedup();
        n.cores.sort_by_key(|c| c.vcpus.first().map(|v| v.0));
    }
    Usage {
        nodes,
        unbound_pages,
        vcpu_cpus,
    }
}

/// The CPU sets of the guest's threads that have a core of their own: the emulator's, then
/// each I/O thread's, as `policy=isolate` placed them.
pub fn isolated_threads(g: &Guest) -> Vec<&IdSet> {
    let emulator = g.emulator_pin.iter().filter(|_| g.isolated.emulator);
    let io = g.iothread_pins.iter().flatten().filter(|_| g.isolated.iothreads);
    emulator.chain(io).collect()
}
