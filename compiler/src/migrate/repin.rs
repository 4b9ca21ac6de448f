//! The guest's vCPU pins on the destination: each group of vCPUs that had a source core to
//! itself takes a free destination core on its node's image, thread for thread; a vCPU
//! that floated over a node's CPUs floats over the image's shared CPUs.

use super::assign::NodeMap;
use super::dest::Dest;
use super::usage::{CoreGroup, Usage};
use crate::host::HostProfile;
use crate::ir::{Guest, VcpuPin};
use crate::sets::IdSet;
use std::collections::{BTreeMap, BTreeSet};

/// The destination pins and the CPUs the guest has to itself there.
pub struct Repinned {
    pub pins: Vec<VcpuPin>,
    /// CPUs of the cores the guest's dedicated vCPUs take.
    pub dedicated: IdSet,
    /// The cores (indices into the destination's cores) the vCPUs took.
    pub used: BTreeSet<usize>,
}

/// Why a pin could not be made: the destination node (index) and what it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Short {
    /// Not enough free cores of `width` threads for the groups moved to the node.
    Cores {
        node: usize,
        width: u32,
        need: usize,
        have: usize,
    },
    /// No CPU left to float over.
    Shared { nodes: IdSet, vcpu: u32 },
}

/// Pins of `g` on `dest`, given where each source node went.
pub fn repin(g: &Guest, usage: &Usage, src: &HostProfile, map: &NodeMap, dest: &Dest<'_>) -> Result<Repinned, Short> {
    let mut pins: BTreeMap<u32, IdSet> = BTreeMap::new();
    let mut dedicated = IdSet::new();
    let mut used = BTreeSet::new();
    // The groups of every destination node, widest first, then in vCPU order.
    let mut per_dest: BTreeMap<usize, Vec<&CoreGroup>> = BTreeMap::new();
    for n in &usage.nodes {
        if let Some(&d) = map.get(&n.node) {
            per_dest.entry(d).or_default().extend(&n.cores);
        }
    }
    for (d, mut list) in per_dest {
        list.sort_by_key(|c| (std::cmp::Reverse(c.width), c.vcpus.first().map(|v| v.0)));
        let mut free: Vec<usize> = dest.free_cores(d);
        for (k, group) in list.iter().enumerate() {
            let threads = |c: &usize| dest.topo.cores[*c].threads.len() as u32;
            let Some(at) = free.iter().position(|c| threads(c) >= group.width) else {
                let need = list[k..].iter().filter(|c| c.width == group.width).count();
                let have = free.iter().filter(|c| threads(c) >= group.width).count();
                return Err(Short::Cores {
                    node: d,
                    width: group.width,
                    need,
                    have,
                });
            };
            let index = free.remove(at);
            used.insert(index);
            let core = &dest.topo.cores[index].threads;
            dedicated = dedicated.union(&core.iter().copied().collect());
            for &(vcpu, rank) in &group.vcpus {
                if let Some(&cpu) = core.get(rank as usize) {
                    pins.insert(vcpu, IdSet::single(cpu));
                }
            }
        }
    }
    let floating: Vec<&VcpuPin> = g.pins.iter().filter(|p| !pins.contains_key(&p.vcpu)).collect();
    for p in floating {
        let nodes = src.nodes_of_cpus(&p.cpus);
        let images: BTreeSet<usize> = nodes.iter().filter_map(|n| map.get(&n).copied()).collect();
        let cpus = images
            .iter()
            .fold(IdSet::new(), |all, &i| all.union(&dest.shared_cpus(i)))
            .difference(&dedicated);
        if cpus.is_empty() {
            return Err(Short::Shared {
                nodes: dest.ids(images),
                vcpu: p.vcpu,
            });
        }
        pins.insert(p.vcpu, cpus);
    }
    Ok(Repinned {
        pins: pins.into_iter().map(|(vcpu, cpus)| VcpuPin { vcpu, cpus }).collect(),
        dedicated,
        used,
    })
}

/// Split every group wider than the destination's widest core by guest core: vCPUs that
/// are threads of one guest core must stay on one host core; others may part. Returns the
/// vCPUs of a guest core that cannot, when one cannot.
pub fn narrow(usage: &mut Usage, g: &Guest, widest: u32) -> Result<(), Vec<u32>> {
    let topology = g.effective_topology();
    for n in &mut usage.nodes {
        let mut out = Vec::new();
        for group in std::mem::take(&mut n.cores) {
            if group.width <= widest {
                out.push(group);
                continue;
            }
            let mut by_core: BTreeMap<(u32, u32, u32), Vec<(u32, u32)>> = BTreeMap::new();
            for &(v, rank) in &group.vcpus {
                let (s, d, c, _) = topology.position(v);
                by_core.entry((s, d, c)).or_default().push((v, rank));
            }
            for (_, list) in by_core {
                let mut ranks: Vec<u32> = list.iter().map(|&(_, r)| r).collect();
                ranks.sort_unstable();
                ranks.dedup();
                if ranks.len() as u32 > widest {
                    return Err(list.iter().map(|&(v, _)| v).collect());
                }
                let vcpus = list
                    .iter()
                    .map(|&(v, r)| (v, ranks.iter().position(|&x| x == r).unwrap_or(0) as u32))
                    .collect();
                out.push(CoreGroup {
                    vcpus,
                    width: ranks.len() as u32,
                });
            }
        }
        out.sort_by_key(|c| c.vcpus.first().map(|v| v.0));
        n.cores = out;
    }
    Ok(())
}
