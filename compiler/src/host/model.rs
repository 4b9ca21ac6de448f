//! The host profile: one model whatever the source (capabilities XML, /sys, inline block).

pub use super::resctrl::{BandwidthControl, BandwidthNode, CacheBank, CacheControl, CacheType, Resctrl};
use crate::sets::IdSet;

/// Hugepages of one size on one node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HugePages {
    /// Page size in KiB (2048, 1048576, ...).
    pub size_kib: u64,
    /// Pages available to guests.
    pub count: u64,
}

/// One host NUMA node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostNode {
    pub id: u32,
    /// Logical CPUs of the node; empty for memory-only (e.g. CXL) nodes.
    pub cpus: IdSet,
    /// Total memory in KiB.
    pub memory_kib: u64,
    /// Memory free for guests in KiB (equal to the total when the source does not say).
    pub free_kib: u64,
    /// Hugepage pools, sorted by size; the base page size is not listed.
    pub hugepages: Vec<HugePages>,
    /// Memory the host keeps for itself (`reserve memory=`), in KiB.
    pub reserved_kib: u64,
}

impl HostNode {
    /// KiB in the node's hugepage pools.
    pub fn hugepage_kib(&self) -> u64 {
        self.hugepages
            .iter()
            .map(|p| p.size_kib.saturating_mul(p.count))
            .fold(0u64, u64::saturating_add)
    }

    /// What guests can have as ordinary memory: the total, less the hugepage pools and
    /// what the host reserves. A snapshot of free memory is not used: page cache counts
    /// as used there.
    pub fn ordinary_kib(&self) -> u64 {
        self.memory_kib
            .saturating_sub(self.hugepage_kib())
            .saturating_sub(self.reserved_kib)
    }
}

/// One logical host CPU and where it sits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostCpu {
    pub id: u32,
    pub node: u32,
    pub socket: u32,
    pub die: u32,
    pub core: u32,
    /// All threads of this CPU's core, itself included.
    pub siblings: IdSet,
}

/// A host PCI device with its NUMA node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPci {
    /// Canonical `dddd:bb:ss.f`.
    pub address: String,
    /// None when the device reports no NUMA affinity (sysfs `numa_node` -1).
    pub node: Option<u32>,
    pub name: Option<String>,
}

/// A host as the compiler sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HostProfile {
    pub name: String,
    /// Sorted by id; ids may be sparse.
    pub nodes: Vec<HostNode>,
    /// Sorted by id; ids may be sparse.
    pub cpus: Vec<HostCpu>,
    /// `distances[i][j]` between `nodes[i]` and `nodes[j]` (indices, not ids).
    pub distances: Vec<Vec<u32>>,
    /// CPUs guests may never be pinned to.
    pub reserved: IdSet,
    pub pci: Vec<HostPci>,
    /// Last-level (L3) cache domains: the CPUs sharing one L3 each, disjoint, sorted by
    /// lowest CPU. Empty when the source says nothing about caches.
    pub l3: Vec<IdSet>,
    /// What the host can allocate of its caches and memory bandwidth.
    pub resctrl: Resctrl,
}

impl HostProfile {
    pub fn node(&self, id: u32) -> Option<&HostNode> {
        self.nodes
            .binary_search_by_key(&id, |n| n.id)
            .ok()
            .map(|i| &self.nodes[i])
    }

    pub fn node_index(&self, id: u32) -> Option<usize> {
        self.nodes.binary_search_by_key(&id, |n| n.id).ok()
    }

    pub fn cpu(&self, id: u32) -> Option<&HostCpu> {
        self.cpus
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .map(|i| &self.cpus[i])
    }

    /// Distance between two node ids, if both exist.
    pub fn distance(&self, a: u32, b: u32) -> Option<u32> {
        let i = self.node_index(a)?;
        let j = self.node_index(b)?;
        self.distances.get(i)?.get(j).copied()
    }

    pub fn node_ids(&self) -> IdSet {
        self.nodes.iter().map(|n| n.id).collect()
    }

    pub fn cpu_ids(&self) -> IdSet {
        self.cpus.iter().map(|c| c.id).collect()
    }

    /// Threads per core (the widest sibling set), 1 without SMT.
    pub fn smt_width(&self) -> u32 {
        self.cpus
            .iter()
            .map(|c| c.siblings.len() as u32)
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The nodes the given CPUs live on.
    pub fn nodes_of_cpus(&self, cpus: &IdSet) -> IdSet {
        cpus.iter().filter_map(|c| self.cpu(c).map(|c| c.node)).collect()
    }

    /// CPU → index into `l3` of the domain holding it.
    pub fn l3_map(&self) -> std::collections::BTreeMap<u32, usize> {
        self.l3
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.iter().map(move |c| (c, i)))
            .collect()
    }

    /// Fill the distance matrix with 10 local / 20 remote where a source gave none,
    /// and make sure it is square over `nodes`.
    pub fn normalize_distances(&mut self) {
        let n = self.nodes.len();
        let mut m = vec![vec![0u32; n]; n];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                let given = self.distances.get(i).and_then(|r| r.get(j)).copied();
                *cell = match given {
                    Some(v) if v > 0 => v,
                    _ if i == j => 10,
                    _ => 20,
                };
            }
        }
        self.distances = m;
    }
}
