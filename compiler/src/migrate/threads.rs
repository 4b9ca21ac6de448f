//! Emulator and I/O threads on the destination: on the image of the nodes they ran on,
//! on reserved CPUs there when they ran on reserved CPUs, else on CPUs no other guest has,
//! and off the guest's own vCPUs when they were off them on the source; when those nodes
//! have no such CPU, on their reserved CPUs, else on the nearest node that has one. A
//! thread that had a core of its own (`policy=isolate`) takes a whole free core there.

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
    let was_off = t.cpus.intersection(t.src_vcpus).is_empty();
    let shared = images
        .iter()
        .fold(IdSet::new(), |all, &i| all.union(&dest.shared_cpus(i)));
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
    nearest(&images, t.dest_vcpus, dest).ok_or_else(|| dest.ids(images))
}

/// The CPUs left to share on the destination node nearest to `images` that has any, off
/// the guest's own vCPUs: where threads go whose own nodes are full.
fn nearest(images: &BTreeSet<usize>, own: &IdSet, dest: &Dest<'_>) -> Option<IdSet> {
    let distance = |i: usize| {
        images
            .iter()
            .filter_map(|&j| dest.host.distances.get(j)?.get(i).copied())
            .min()
            .unwrap_or(u32::MAX)
    };
    let mut others: Vec<usize> = (0..dest.host.nodes.len()).filter(|i| !images.contains(i)).collect();
    others.sort_by_key(|&i| (distance(i), i));
    others
        .into_iter()
        .map(|i| dest.shared_cpus(i).difference(own))
        .find(|cpus| !cpus.is_empty())
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
