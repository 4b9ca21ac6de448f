//! What a guest's host cores are for besides its dedicated vCPUs: each isolated emulator or
//! I/O thread takes a core of its own, and shared vCPUs take none but float over the CPUs
//! of their cell's nodes that no guest has as dedicated.

use super::outcome::{Field, PlanError, fail};
use super::request::Request;
use super::shape::Shape;
use crate::host::HostProfile;
use crate::sets::IdSet;

/// The units that take cores: a guest's dedicated units, then one more unit per isolated
/// thread (numbered from [`Self::first_isolated`]), cell by cell.
pub(super) struct CoreUnits {
    /// The guest's shape with only the units that take a core.
    pub shape: Shape,
    /// The first id of an isolated thread's unit: the guest's unit count.
    pub first_isolated: u32,
    /// The cell of each isolated thread's unit, in id order.
    pub isolated_cell: Vec<usize>,
    /// Per cell, its shared units.
    pub shared: Vec<Vec<u32>>,
}

impl CoreUnits {
    /// The cell of unit `u` when it is an isolated thread's.
    pub fn isolated(&self, u: u32) -> Option<usize> {
        let i = u.checked_sub(self.first_isolated)?;
        self.isolated_cell.get(i as usize).copied()
    }

    /// The vCPUs and isolated threads a cell asks cores for: (vCPU units, thread units).
    pub fn demand(&self, cell: usize) -> (u32, u32) {
        let list = self.shape.cell_units.get(cell).map_or(&[][..], Vec::as_slice);
        let threads = list.iter().filter(|&&u| self.isolated(u).is_some()).count() as u32;
        (list.len() as u32 - threads, threads)
    }
}

/// The units of `s` that take cores: shared units left out (a unit is shared whole or not
/// at all), each cell's isolated threads added after its vCPUs.
pub(super) fn core_units(req: &Request, s: &Shape) -> Result<CoreUnits, PlanError> {
    let t = s.t.max(1);
    let mut shared = vec![Vec::new(); s.cell_units.len()];
    let mut cell_units = Vec::with_capacity(s.cell_units.len());
    for (c, list) in s.cell_units.iter().enumerate() {
        let mut mine = Vec::with_capacity(list.len());
        for &u in list {
            let vcpus = IdSet::range(u * t, u * t + t - 1);
            match vcpus.intersection(&req.shared).len() as u32 {
                0 => mine.push(u),
                n if n == t => shared[c].push(u),
                _ => {
                    return fail(
                        Field::SharedVcpus,
                        format!(
                            "`shared-vcpus` takes only some threads of guest core {u} (vCPUs {vcpus}): a guest core's {t} threads are one host core's"
                        ),
                        &format!("name whole guest cores of {t} vCPUs, or use `distribution=contiguous`"),
                    );
                }
            }
        }
        cell_units.push(mine);
    }
    let mut isolated_cell = Vec::new();
    let mut next = s.units;
    for (c, mine) in cell_units.iter_mut().enumerate() {
        for _ in 0..req.isolated.on_cell(c) {
            mine.push(next);
            isolated_cell.push(c);
            next += 1;
        }
    }
    Ok(CoreUnits {
        shape: Shape {
            n: s.n,
            t: s.t,
            units: next,
            groups: s.groups.clone(),
            cell_units,
        },
        first_isolated: s.units,
        isolated_cell,
        shared,
    })
}

/// The CPUs of host nodes `nodes` that shared vCPUs float over: neither reserved nor pinned
/// by hand-written guests (`taken`), on no core whose thread is `dedicated` (a dedicated
/// vCPU's, or an isolated thread's) or `taken`. Linear in the nodes' CPUs and their
/// siblings.
pub fn shared_cpus(host: &HostProfile, dedicated: &IdSet, taken: &IdSet, nodes: &IdSet) -> IdSet {
    let busy = |c: u32| dedicated.contains(c) || taken.contains(c);
    nodes
        .iter()
        .filter_map(|n| host.node(n))
        .flat_map(|n| n.cpus.iter())
        .filter(|&c| {
            !host.reserved.contains(c) && !busy(c) && host.cpu(c).is_none_or(|cpu| !cpu.siblings.iter().any(busy))
        })
        .collect()
}
