//! The host as the placer sees it: physical cores per node, in placement order,
//! and a ledger of what earlier guests of the build already took.

use super::cow::CowVec;
use crate::host::HostProfile;
use crate::host::resctrl::CacheType;
use crate::sets::IdSet;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A core's threads: up to four (SMT-4) kept in place, in the bytes of a vector.
pub type Threads = smallvec::SmallVec<[u32; 4]>;

/// One physical core: its threads, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Core {
    pub node: usize,
    pub socket: u32,
    pub die: u32,
    pub core: u32,
    pub threads: Threads,
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
    /// (CPU, index into `cores` of its core), sorted by CPU: built from the host's CPUs,
    /// which are sorted already, with no hashing and no random keys.
    core_of: Vec<(u32, usize)>,
}

impl HostTopo {
    pub fn new(host: &HostProfile) -> HostTopo {
        // A CPU's place in `host.cpus`, which is sorted by id.
        let at = |id: u32| host.cpus.binary_search_by_key(&id, |c| c.id).ok();
        let mut seen = vec![false; host.cpus.len()];
        let mut cores: Vec<Core> = Vec::new();
        let l3 = host.l3_map();
        for (i, cpu) in host.cpus.iter().enumerate() {
            if seen[i] {
                continue;
            }
            let mut threads: Threads = cpu.siblings.iter().filter(|&t| at(t).is_some()).collect();
            if threads.is_empty() {
                threads.push(cpu.id);
            }
            threads.iter().filter_map(|&t| at(t)).for_each(|j| seen[j] = true);
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
        let mut core_at: Vec<Option<usize>> = vec![None; host.cpus.len()];
        for (i, c) in cores.iter().enumerate() {
            node_cores[c.node].push(i);
            if let Some(d) = c.l3.and_then(|d| l3_cores.get_mut(d)) {
                d.push(i);
            }
            c.threads
                .iter()
                .filter_map(|&t| at(t))
                .for_each(|j| core_at[j] = Some(i));
        }
        let core_of = host
            .cpus
            .iter()
            .zip(core_at)
            .filter_map(|(c, core)| Some((c.id, core?)))
            .collect();
        HostTopo {
            smt: host.smt_width(),
            cores,
            node_cores,
            l3_cores,
            core_of,
        }
    }

    /// The index into `cores` of `cpu`'s core.
    pub fn core_of(&self, cpu: u32) -> Option<usize> {
        let i = self.core_of.binary_search_by_key(&cpu, |&(c, _)| c).ok()?;
        Some(self.core_of[i].1)
    }
}

/// One bit per core of a host: 64 cores a word, where a `Vec<bool>` spent a byte each.
/// Every guest placed keeps a ledger of its own, so this is most of what a guest costs
/// in memory on a host of thousands of cores.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoreMask {
    words: CowVec<u64>,
    len: usize,
}

impl CoreMask {
    pub fn new(len: usize) -> CoreMask {
        CoreMask {
            words: CowVec::filled(len.div_ceil(64), 0),
            len,
        }
    }

    /// Whether core `i` is set; None past the host's cores.
    pub fn get(&self, i: usize) -> Option<bool> {
        (i < self.len).then(|| self.words[i / 64] & (1 << (i % 64)) != 0)
    }

    /// Set core `i`; nothing past the host's cores.
    pub fn set(&mut self, i: usize) {
        if i < self.len
            && let Some(word) = self.words.get_mut(i / 64)
        {
            *word |= 1 << (i % 64);
        }
    }
}

/// What the guests placed so far use on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    /// Cores taken exclusively by dedicated (`pinning=cpu`) guests, by index into `HostTopo::cores`.
    pub core_used: CoreMask,
    /// Free cores left per node index (not reserved, not used).
    pub free_cores: CowVec<usize>,
    /// KiB of plain memory bound per node index.
    pub memory_used: CowVec<u64>,
    /// Hugepages used, by (node index, page KiB): only what some guest uses is kept, so a
    /// ledger of a host without hugepages in use costs nothing per node here.
    pub pages_used: BTreeMap<(usize, u64), u64>,
    /// Guests placed per node index (for "least used").
    pub guests_on: CowVec<u32>,
    /// Host CPUs a dedicated vCPU is pinned to.
    pub dedicated: IdSet,
    /// Automatic guests that did not fit so far.
    pub failed: u32,
    /// Host CPUs hand-written guests pin vCPUs or emulator threads to: automatic guests
    /// never land there.
    pub taken: IdSet,
    /// Which guest runs exclusively on which host CPUs, to name both when they overlap.
    pub owners: Arc<PinOwners>,
    /// Hugepages of hand-written guests bound to no node, as (page KiB, count): they come
    /// from whichever node has them.
    pub loose: Vec<(u64, u64)>,
    /// Bytes of each L3 cache the guests allocate, by (cache id, part): only caches some
    /// guest allocates of are kept.
    pub l3_used: BTreeMap<(u32, CacheType), u64>,
}

/// The hand-written guests whose vCPUs run on host CPUs, in the order they were recorded.
/// Who else runs on a pin's CPUs is found through the CPUs, never by going through every
/// guest recorded before, and only the first few are looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinOwners {
    /// Each recorded guest and the host CPUs its vCPUs run on.
    records: Vec<(String, IdSet)>,
    /// The records holding each host CPU, in record order.
    by_cpu: BTreeMap<u32, Holders>,
}

/// The records holding one host CPU, in record order: most CPUs have one, kept without
/// a list of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holders {
    One(usize),
    Many(Vec<usize>),
}

impl Holders {
    fn push(&mut self, record: usize) {
        match self {
            Holders::One(first) => *self = Holders::Many(vec![*first, record]),
            Holders::Many(records) => records.push(record),
        }
    }

    fn as_slice(&self) -> &[usize] {
        match self {
            Holders::One(first) => std::slice::from_ref(first),
            Holders::Many(records) => records,
        }
    }
}

impl PinOwners {
    pub fn add(&mut self, guest: &str, cpus: IdSet) {
        let record = self.records.len();
        for c in cpus.iter() {
            match self.by_cpu.entry(c) {
                Entry::Vacant(slot) => {
                    slot.insert(Holders::One(record));
                }
                Entry::Occupied(mut holders) => holders.get_mut().push(record),
            }
        }
        self.records.push((guest.to_string(), cpus));
    }

    /// The first `limit` guests recorded (other than any named `not`) whose CPUs meet
    /// `cpus`, with those CPUs, in record order; and whether more than `limit` do. Costs
    /// `limit + 1` records per CPU of `cpus` at most.
    pub fn sharing(&self, cpus: &IdSet, not: &str, limit: usize) -> (Vec<(&str, &IdSet)>, bool) {
        let mut first: BTreeSet<usize> = BTreeSet::new();
        for c in cpus.iter() {
            let Some(records) = self.by_cpu.get(&c) else { continue };
            let others = records.as_slice().iter().filter(|&&r| self.records[r].0 != not);
            first.extend(others.take(limit + 1));
            while first.len() > limit + 1 {
                first.pop_last();
            }
        }
        let more = first.len() > limit;
        let named = first
            .into_iter()
            .take(limit)
            .map(|r| (self.records[r].0.as_str(), &self.records[r].1))
            .collect();
        (named, more)
    }

    /// The CPUs of `cpus` some recorded guest runs on. Costs a look-up per CPU of `cpus`,
    /// whatever was recorded (a union of every record kept up to date cost a pass over
    /// all of them per guest added).
    pub fn held_of(&self, cpus: &IdSet) -> IdSet {
        cpus.iter().filter(|c| self.by_cpu.contains_key(c)).collect()
    }
}

impl Ledger {
    pub fn new(topo: &HostTopo, nodes: usize) -> Ledger {
        let free_cores = topo
            .node_cores
            .iter()
            .map(|cs| cs.iter().filter(|&&c| !topo.cores[c].reserved).count())
            .collect();
        Ledger {
            core_used: CoreMask::new(topo.cores.len()),
            free_cores,
            memory_used: CowVec::filled(nodes, 0),
            pages_used: BTreeMap::new(),
            guests_on: CowVec::filled(nodes, 0),
            dedicated: IdSet::new(),
            failed: 0,
            taken: IdSet::new(),
            owners: Arc::default(),
            loose: Vec::new(),
            l3_used: BTreeMap::new(),
        }
    }

    /// Record `bytes` of L3 cache `id` (its `part`) allocated.
    pub fn add_l3(&mut self, id: u32, part: CacheType, bytes: u64) {
        let used = self.l3_used.entry((id, part)).or_insert(0);
        *used = used.saturating_add(bytes);
    }

    /// Whether some L3 cache over `node`'s CPUs has `bytes` free in each part it allocates
    /// (both halves with code and data prioritisation).
    pub fn l3_free_on(&self, host: &HostProfile, node: usize, bytes: u64) -> bool {
        host.nodes
            .get(node)
            .is_some_and(|n| self.l3_free_over(host, &n.cpus, bytes))
    }

    /// Whether some L3 cache over some of `cpus` has `bytes` free in each part it allocates.
    pub fn l3_free_over(&self, host: &HostProfile, cpus: &IdSet, bytes: u64) -> bool {
        host.resctrl
            .banks
            .iter()
            .filter(|b| b.level == 3 && !b.cpus.intersection(cpus).is_empty())
            .any(|b| {
                let parts: &[CacheType] = if b.cdp() {
                    &[CacheType::Code, CacheType::Data]
                } else {
                    &[CacheType::Both]
                };
                parts.iter().all(|&p| {
                    let used = self.l3_used.get(&(b.id, p)).copied().unwrap_or(0);
                    b.size.saturating_sub(used) >= bytes
                })
            })
    }

    /// CPUs a hand-written guest uses: taken for automatic guests, and a core with any
    /// of its threads taken is no longer free for a dedicated vCPU. Costs the CPUs given,
    /// not the host's cores.
    pub fn take(&mut self, topo: &HostTopo, cpus: &IdSet) {
        self.taken.add(cpus);
        for cpu in cpus.iter() {
            let Some(i) = topo.core_of(cpu) else { continue };
            let Some(core) = topo.cores.get(i) else { continue };
            if self.core_used.get(i) != Some(false) {
                continue;
            }
            self.core_used.set(i);
            if !core.reserved
                && let Some(f) = self.free_cores.get_mut(core.node)
            {
                *f = f.saturating_sub(1);
            }
        }
    }

    pub fn pages(&self, node: usize, size: u64) -> u64 {
        self.pages_used.get(&(node, size)).copied().unwrap_or(0)
    }

    pub fn add_pages(&mut self, node: usize, size: u64, count: u64) {
        if node < self.memory_used.len() {
            *self.pages_used.entry((node, size)).or_insert(0) += count;
        }
    }

    /// Hugepages of `size` bound to no node.
    pub fn loose_pages(&self, size: u64) -> u64 {
        self.loose.iter().filter(|(s, _)| *s == size).map(|(_, n)| n).sum()
    }

    /// Record hugepages bound to no node.
    pub fn add_loose(&mut self, size: u64, count: u64) {
        match self.loose.iter_mut().find(|(s, _)| *s == size) {
            Some((_, n)) => *n += count,
            None => self.loose.push((size, count)),
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
