//! The destination host as a move sees it: its profile, cores and ledger after the guests
//! it already carries.

use crate::host::HostProfile;
use crate::place::topo::{HostTopo, Ledger};
use crate::sets::IdSet;

/// A host a guest moves to, with what its own guests already use.
pub struct Dest<'a> {
    pub name: &'a str,
    pub host: &'a HostProfile,
    pub topo: &'a HostTopo,
    pub ledger: &'a Ledger,
}

impl Dest<'_> {
    /// Cores of node index `i` a dedicated vCPU may take, in placement order: neither used
    /// by another guest nor holding a reserved thread.
    pub fn free_cores(&self, i: usize) -> Vec<usize> {
        self.topo
            .node_cores
            .get(i)
            .map(|cores| {
                cores
                    .iter()
                    .copied()
                    .filter(|&c| !self.ledger.core_used.get(c).unwrap_or(true) && !self.topo.cores[c].reserved)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// CPUs of node index `i` a floating vCPU or a thread may share: not reserved, and
    /// neither dedicated to nor pinned by another guest.
    pub fn shared_cpus(&self, i: usize) -> IdSet {
        let Some(n) = self.host.nodes.get(i) else {
            return IdSet::new();
        };
        n.cpus
            .difference(&self.host.reserved)
            .difference(&self.ledger.taken)
            .difference(&self.ledger.dedicated)
    }

    /// KiB of memory left on node index `i` in pages of `page` (None: ordinary memory).
    pub fn room(&self, i: usize, page: Option<u64>) -> u64 {
        self.ledger.room(self.host, i, page)
    }

    /// The ids of the given node indices.
    pub fn ids(&self, indices: impl IntoIterator<Item = usize>) -> IdSet {
        indices
            .into_iter()
            .filter_map(|i| self.host.nodes.get(i).map(|n| n.id))
            .collect()
    }
}
