//! The host as the placer sees it: physical cores per node, in placement order,
//! and a ledger of what earlier guests of the build already took.

use crate::host::HostProfile;
use crate::sets::IdSet;

/// One physical core: its threads, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Core {
    pub node: usize,
    pub socket: u32,
    pub die: u32,
    pub core: u32,
    pub threads: Vec<u32>,
    /// A thread of this core is reserved for the host.
    pub reserved: bool,
    /// The L3 domain (index into `HostProfile::l3`) of the core's first thread.
    pub l3: Option<usize>,
}

/// Cores grouped by node, each list in (socket, die, L3 domain, core id, first thread)
/// order; without L3 domains that is (socket, die, core id, first thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTopo {
    pub cores: Vec<Core>,
    /// Indices into `cores`, per node index.
    pub node_cores: Vec<Vec<usize>>,
    /// Threads per core (the host's SMT width).
    pub smt: u32,
    /// Indices into `cores`, per L3 domain; empty when the host names no L3 domains.
    pub l3_cores: Vec<Vec<usize>>,
}

impl HostTopo {
    pub fn new(host: &HostProfile) -> HostTopo {
        let mut cores: Vec<Core> = Vec::new();
        let mut seen = IdSet::new();
        let l3 = host.l3_map();
        for cpu in &host.cpus {
            if seen.contains(cpu.id) {
                continue;
            }
            let threads: Vec<u32> = cpu.siblings.iter().filter(|t| host.cpu(*t).is_some()).collect();
            let threads = if threads.is_empty() { vec![cpu.id] } else { threads };
            for t in &threads {
                seen.insert(*t);
            }
            let Some(node) = host.node_index(cpu.node) else {
                continue;
            };
            cores.push(Core {
                node,
                socket: cpu.socket,
                die: cpu.die,
                core: cpu.core,
                reserved: threads.iter().any(|t| host.reserved.contains(*t)),
                l3: threads.first().and_then(|t| l3.get(t).copied()),
                threads,
            });
        }
        // A core without a domain (on a host that names some) comes after those with one.
        cores.sort_by_key(|c| {
            (
                c.node,
                c.socket,
                c.die,
                c.l3.unwrap_or(usize::MAX),
                c.core,
                c.threads.first().copied(),
            )
        });
        let mut node_cores = vec![Vec::new(); host.nodes.len()];
        let mut l3_cores = vec![Vec::new(); host.l3.len()];
        for (i, c) in cores.iter().enumerate() {
            node_cores[c.node].push(i);
            if let Some(d) = c.l3.and_then(|d| l3_cores.get_mut(d)) {
                d.push(i);
            }
        }
        HostTopo {
            smt: host.smt_width(),
            cores,
            node_cores,
            l3_cores,
        }
    }
}

/// What the guests placed so far use on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    /// Cores taken exclusively by dedicated (`pinning=cpu`) guests, by index into `HostTopo::cores`.
    pub core_used: Vec<bool>,
    /// Free cores left per node index (not reserved, not used).
    pub free_cores: Vec<usize>,
    /// KiB of plain memory bound per node index.
    pub memory_used: Vec<u64>,
    /// Hugepages used per node index, as (page KiB, count).
    pub pages_used: Vec<Vec<(u64, u64)>>,
    /// Guests placed per node index (for "least used").
    pub guests_on: Vec<u32>,
    /// Host CPUs a dedicated vCPU is pinned to.
    pub dedicated: IdSet,
    /// Automatic guests that did not fit so far.
    pub failed: u32,
    /// Host CPUs hand-written guests pin vCPUs or emulator threads to: automatic guests
    /// never land there.
    pub taken: IdSet,
    /// Which guest runs exclusively on which host CPUs, to name both when they overlap.
    pub owners: Vec<(String, IdSet)>,
}

impl Ledger {
    pub fn new(topo: &HostTopo, nodes: usize) -> Ledger {
        let free_cores = topo
            .node_cores
            .iter()
            .map(|cs| cs.iter().filter(|&&c| !topo.cores[c].reserved).count())
            .collect();
        Ledger {
            core_used: vec![false; topo.cores.len()],
            free_cores,
            memory_used: vec![0; nodes],
            pages_used: vec![Vec::new(); nodes],
            guests_on: vec![0; nodes],
            dedicated: IdSet::new(),
            failed: 0,
            taken: IdSet::new(),
            owners: Vec::new(),
        }
    }

    /// CPUs a hand-written guest uses: taken for automatic guests, and a core with any
    /// of its threads taken is no longer free for a dedicated vCPU.
    pub fn take(&mut self, topo: &HostTopo, cpus: &IdSet) {
        self.taken = self.taken.union(cpus);
        for (i, core) in topo.cores.iter().enumerate() {
            if self.core_used[i] || !core.threads.iter().any(|t| cpus.contains(*t)) {
                continue;
            }
            self.core_used[i] = true;
            if !core.reserved
                && let Some(f) = self.free_cores.get_mut(core.node)
            {
                *f = f.saturating_sub(1);
            }
        }
    }

    pub fn pages(&self, node: usize, size: u64) -> u64 {
        self.pages_used
            .get(node)
            .and_then(|v| v.iter().find(|(s, _)| *s == size))
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    pub fn add_pages(&mut self, node: usize, size: u64, count: u64) {
        let Some(v) = self.pages_used.get_mut(node) else { return };
        match v.iter_mut().find(|(s, _)| *s == size) {
            Some((_, n)) => *n += count,
            None => v.push((size, count)),
        }
    }

    /// Free memory (KiB) or free pages left on a node, for the page size in use.
    pub fn room(&self, host: &HostProfile, node: usize, page_kib: Option<u64>) -> u64 {
        let Some(n) = host.nodes.get(node) else { return 0 };
        match page_kib {
            None => n.ordinary_kib().saturating_sub(self.memory_used[node]),
            Some(size) => {
                let have = n
                    .hugepages
                    .iter()
                    .find(|p| p.size_kib == size)
                    .map(|p| p.count)
                    .unwrap_or(0);
                have.saturating_sub(self.pages(node, size)).saturating_mul(size)
            }
        }
    }
}
