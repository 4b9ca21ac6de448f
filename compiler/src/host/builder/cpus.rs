//! Tables over a host's CPUs. Every CPU on a node has a rank, its place among them in id
//! order, so a table of something per CPU is a vector as long as the host has CPUs
//! ([`crate::host::limits::MAX_CPUS`] at most, checked before anything is built), however large or
//! sparse their ids; a CPU's rank is found by a search over the runs of the CPU set.

use std::collections::BTreeMap;

use crate::sets::IdSet;

/// The CPUs on nodes, each with its rank.
pub(super) struct CpuIndex {
    all: IdSet,
    /// Each run of `all`: its first and last id, and the rank of its first.
    runs: Vec<(u32, u32, usize)>,
}

impl CpuIndex {
    pub(super) fn new(all: IdSet) -> CpuIndex {
        let mut rank = 0;
        let runs = all
            .runs()
            .into_iter()
            .map(|(lo, hi)| {
                let run = (lo, hi, rank);
                rank += (hi - lo) as usize + 1;
                run
            })
            .collect();
        CpuIndex { all, runs }
    }

    /// Every CPU on a node.
    pub(super) fn all(&self) -> &IdSet {
        &self.all
    }

    /// How many CPUs there are: the length of every table over them.
    pub(super) fn len(&self) -> usize {
        self.runs
            .last()
            .map_or(0, |&(lo, hi, rank)| rank + (hi - lo) as usize + 1)
    }

    /// The rank of CPU `id`, if it is on a node.
    pub(super) fn rank(&self, id: u32) -> Option<usize> {
        let i = self.runs.partition_point(|&(_, hi, _)| hi < id);
        let &(lo, _, rank) = self.runs.get(i)?;
        (lo <= id).then(|| rank + (id - lo) as usize)
    }

    /// The CPUs of `set` that are on a node, each with its rank, in id order.
    pub(super) fn ranked<'s>(&'s self, set: &'s IdSet) -> impl Iterator<Item = (u32, usize)> + 's {
        set.iter().filter_map(|id| Some((id, self.rank(id)?)))
    }
}

/// Which declaration claimed each CPU first (by rank).
pub(super) struct Claims {
    owner: Vec<Option<usize>>,
}

impl Claims {
    pub(super) fn new(index: &CpuIndex) -> Claims {
        Claims {
            owner: vec![None; index.len()],
        }
    }

    /// The declaration that claimed the CPU of rank `rank`.
    pub(super) fn owner(&self, rank: usize) -> Option<usize> {
        self.owner.get(rank).copied().flatten()
    }

    /// Claims the CPUs of `cpus` (all on nodes) for declaration `i`: the CPUs it got, and
    /// per earlier claimant the CPUs that one already had.
    pub(super) fn claim(&mut self, index: &CpuIndex, cpus: &IdSet, i: usize) -> (IdSet, BTreeMap<usize, IdSet>) {
        let mut clashes: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
        for (id, rank) in index.ranked(cpus) {
            match self.owner.get_mut(rank) {
                Some(Some(j)) => clashes.entry(*j).or_default().push(id),
                Some(slot) => *slot = Some(i),
                None => {}
            }
        }
        if clashes.is_empty() {
            return (cpus.clone(), BTreeMap::new());
        }
        let taken = IdSet::from_ids(clashes.values().flatten().copied());
        let clashes = clashes.into_iter().map(|(j, ids)| (j, IdSet::from_ids(ids))).collect();
        (cpus.difference(&taken), clashes)
    }
}
