//! Emulator and I/O threads on the destination: on the image of the nodes they ran on,
//! on reserved CPUs there when they ran on reserved CPUs, else on CPUs no other guest has,
//! and off the guest's own vCPUs when they were off them on the source: off their cores
//! when there is room, else on the other threads of those cores; on the nearest node that
//! has such CPUs (the node of the same id first) when they ran on a node the guest does not
//! otherwise use. A thread that had a core of its own (`policy=isolate`) takes a whole
//! free core there.

use super::assign::NodeMap;
use super::dest::Dest;
use crate::host::HostProfile;
use crate::sets::IdSet;
use std::collections::BTreeSet;

/// Where a thread set ran and what its new home must keep.
pub struct Threads<'a> {
    /// The source CPUs.
    pub cpus: &'a IdSet,
    /// The guest's vCPU CPUs on the source.
    pub src_vcpus: &'a IdSet,
    /// The guest's vCPU CPUs on the destination, with every thread of its dedicated cores.
    pub dest_vcpus: &'a IdSet,
    /// The guest's vCPU CPUs on the destination, without the other threads of its cores.
    pub dest_pinned: &'a IdSet,
    /// Where a source node that carries no vCPU or memory of the guest goes: the image
    /// of the node of the guest's first vCPU.
    pub fallback: Option<usize>,
}

/// The destination CPUs of a thread set, or the destination node ids it found none on.
pub fn rehome(t: &Threads<'_>, src: &HostProfile, map: &NodeMap, dest: &Dest<'_>) -> Result<IdSet, IdSet> {
    let images: BTreeSet<usize> = src
        .nodes_of_cpus(t.cpus)
        .iter()
        .filter_map(|n| map.get(&n).copied().or(t.fallback))
        .collect();
    let images: BTreeSet<usize> = if images.is_empty() {
        t.fallback.into_iter().collect()
    } else {
        images
    };
    let node_cpus = images.iter().fold(IdSet::new(), |all, &i| {
        all.union(&dest.host.nodes.get(i).map(|n| n.cpus.clone()).unwrap_or_default())
    });
    let on_reserved = !t.cpus.is_empty() && t.cpus.is_subset(&src.reserved);
    let reserved = node_cpus.intersection(&dest.host.reserved);
    if on_reserved && !reserved.is_empty() {
        return Ok(reserved);
    }
    let shared = images
        .iter()
        .fold(IdSet::new(), |all, &i| all.union(&dest.shared_cpus(i)));
    let was_off = t.cpus.intersection(t.src_vcpus).is_empty();
    let cpus = if was_off {
        shared.difference(t.dest_vcpus)
    } else {
        shared.union(&t.dest_vcpus.intersection(&node_cpus))
    };
    if !cpus.is_empty() {
        return Ok(cpus);
    }
    if !reserved.is_empty() {
        return Ok(reserved);
    }
    // Off the guest's vCPUs still, on the other threads of their cores.
    let beside = shared.difference(t.dest_pinned);
    if was_off && !beside.is_empty() {
        return Ok(beside);
    }
    elsewhere(t, src, map, dest).ok_or_else(|| dest.ids(images))
}

/// Threads that ran off the guest's vCPUs on a node the guest does not otherwise use, and
/// find no CPU on the node of its first vCPU: the free CPUs off the guest's vCPUs of the
/// destination node of the same id, else of the node nearest that one.
fn elsewhere(t: &Threads<'_>, src: &HostProfile, map: &NodeMap, dest: &Dest<'_>) -> Option<IdSet> {
    let unused: IdSet = src
        .nodes_of_cpus(t.cpus)
        .iter()
        .filter(|n| !map.contains_key(n))
        .collect();
    if unused.is_empty() || !t.cpus.intersection(t.src_vcpus).is_empty() {
        return None;
    }
    let from = t.fallback.and_then(|i| dest.host.nodes.get(i)).map(|n| n.id);
    let mut nodes: Vec<usize> = (0..dest.host.nodes.len()).collect();
    nodes.sort_by_key(|&i| {
        let id = dest.host.nodes[i].id;
        let near = from.and_then(|f| dest.host.distance(f, id)).unwrap_or(u32::MAX);
        (!unused.contains(id), near, i)
    });
    [t.dest_vcpus, t.dest_pinned].into_iter().find_map(|off| {
        nodes
            .iter()
            .map(|&i| dest.shared_cpus(i).difference(off))
            .find(|cpus| !cpus.is_empty())
    })
}

/// A whole free core for a thread that had one of its own on the source: on the image of
/// its node, not one the guest's vCPUs or other threads took (`used`), which it joins. The
/// destination node id it found none on, when it found none.
pub fn own_core(
    cpus: &IdSet,
    src: &HostProfile,
    map: &NodeMap,
    dest: &Dest<'_>,
    fallback: Option<usize>,
    used: &mut BTreeSet<usize>,
) -> Result<IdSet, IdSet> {
    let node = cpus.first().and_then(|c| src.cpu(c)).map(|c| c.node);
    let Some(d) = node.and_then(|n| map.get(&n).copied()).or(fallback) else {
        return Err(IdSet::new());
    };
    let core = dest.free_cores(d).into_iter().find(|c| !used.contains(c));
    let Some(core) = core else {
        return Err(dest.ids([d]));
    };
    used.insert(core);
    Ok(dest.topo.cores[core].threads.iter().copied().collect())
}
