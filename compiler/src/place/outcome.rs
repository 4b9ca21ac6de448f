//! What the placer returns: the plan of one guest or why it cannot be placed, and how a
//! plan is recorded in the host's ledger.

use super::topo::{HostTopo, Ledger};
use crate::ir::{MemBinding, Topology, VcpuPin};
use crate::sets::IdSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCell {
    pub vcpus: IdSet,
    pub memory_kib: u64,
    /// Host node ids whose CPUs the cell runs on.
    pub nodes: IdSet,
    pub binding: MemBinding,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub cells: Vec<PlannedCell>,
    pub pins: Vec<VcpuPin>,
    pub topology: Topology,
    pub distances: Option<Vec<Vec<u32>>>,
    /// Host node ids used.
    pub nodes: IdSet,
    /// The nodes were chosen by vnumac (`mode=node` without `nodeset`).
    pub picked: bool,
    /// They were chosen for what the guest wants near (devices, free L3 cache).
    pub wanted: bool,
    /// Why the blocks are uneven, when they are.
    pub uneven: Option<String>,
    /// Each isolated thread's core, in request order (cell 0's first): (cell, its threads).
    pub isolated: Vec<(usize, IdSet)>,
    /// Host CPUs of the guest's dedicated vCPUs.
    pub dedicated: IdSet,
    pub(super) used_cores: Vec<usize>,
    /// Some cell's dedicated cores are not all in one L3 domain (only on hosts with L3 domains).
    pub(super) l3_split: bool,
    /// (node index, KiB) of plain memory, or pages when `page_kib` is set.
    pub(super) memory: Vec<(usize, u64)>,
    pub(super) page_kib: Option<u64>,
}

/// Which part of the `vnuma` statement an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Nodeset,
    Cells,
    Distribution,
    Vcpus,
    Memory,
    MemoryMode,
    /// `shared-vcpus=`: whole guest cores only, and CPUs left for them.
    SharedVcpus,
    /// No core for an isolated thread.
    Threads,
    Statement,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub field: Field,
    /// Running out of room (as opposed to an impossible request).
    pub capacity: bool,
    pub message: String,
    pub help: Vec<String>,
}

pub(super) fn fail<T>(field: Field, message: String, help: &str) -> Result<T, PlanError> {
    Err(PlanError {
        field,
        capacity: false,
        message,
        help: if help.is_empty() {
            Vec::new()
        } else {
            vec![help.to_string()]
        },
    })
}

/// Record a plan's use of the host so later guests see it.
pub fn commit(ledger: &mut Ledger, topo: &HostTopo, plan: &Plan) {
    for &c in &plan.used_cores {
        ledger.core_used.set(c);
        if let Some(core) = topo.cores.get(c)
            && let Some(f) = ledger.free_cores.get_mut(core.node)
        {
            *f = f.saturating_sub(1);
        }
    }
    ledger.dedicated.add(&plan.dedicated);
    for (_, core) in &plan.isolated {
        ledger.dedicated.add(core);
    }
    for &(node, amount) in &plan.memory {
        match plan.page_kib {
            Some(size) => ledger.add_pages(node, size, amount / size.max(1)),
            None => ledger.memory_used[node] += amount,
        }
    }
    let mut seen = Vec::new();
    for &(node, _) in &plan.memory {
        if !seen.contains(&node) {
            seen.push(node);
            ledger.guests_on[node] += 1;
        }
    }
}
