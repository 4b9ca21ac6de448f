//! Where a guest's memory lives on the host: each cell's share, its binding, and room on
//! every node it takes from.

use super::outcome::{Field, PlanError, PlannedCell, fail};
use super::request::Request;
use super::shape::Shape;
use super::topo::Ledger;
use crate::host::HostProfile;
use crate::ir::{MemBinding, MemPolicy};
use crate::sets::IdSet;
use crate::units::human_kib;

/// Where a node's memory comes from: the node itself when it has memory, else the
/// nearest node that has (by the host's distances, then by id), as the kernel falls back.
pub fn memory_home(host: &HostProfile, node: usize) -> usize {
    if host.nodes.get(node).is_none_or(|n| n.memory_kib > 0) {
        return node;
    }
    (0..host.nodes.len())
        .filter(|&j| host.nodes[j].memory_kib > 0)
        .min_by_key(|&j| {
            (
                host.distances
                    .get(node)
                    .and_then(|r| r.get(j))
                    .copied()
                    .unwrap_or(u32::MAX),
                host.nodes[j].id,
            )
        })
        .unwrap_or(node)
}

/// A guest's memory: its cells, and what each host node gives them.
pub(super) struct Memory {
    pub cells: Vec<PlannedCell>,
    /// (node index, KiB) of plain memory or of pages, per cell and node.
    pub memory: Vec<(usize, u64)>,
    /// Host node ids the memory comes from.
    pub nodes: IdSet,
}

/// Memory by vCPU share, in whole pages, leftovers to the lowest cells; each cell bound by
/// the memory mode, and every node checked for room.
pub(super) fn place_memory(
    host: &HostProfile,
    ledger: &Ledger,
    req: &Request,
    nodes: &[usize],
    s: &Shape,
) -> Result<Memory, PlanError> {
    let page = req.page_kib.unwrap_or(1024);
    let cell_pages = cell_pages(req, s, page)?;
    let t = s.t;
    let all_homes = homes(host, nodes);
    let all_ids: IdSet = all_homes.iter().map(|&i| host.nodes[i].id).collect();
    let mut memory: Vec<(usize, u64)> = Vec::new();
    let mut cells = Vec::new();
    for (c, list) in s.cell_units.iter().enumerate() {
        let cpu_ids: IdSet = s.groups[c].iter().map(|&i| host.nodes[i].id).collect();
        let group_homes = homes(host, &s.groups[c]);
        let group_ids: IdSet = group_homes.iter().map(|&i| host.nodes[i].id).collect();
        let binding = binding(req, c, group_homes.len(), group_ids, &all_ids)?;
        let spread: Vec<usize> = if req.memory_mode == MemPolicy::Interleave {
            all_homes.clone()
        } else {
            group_homes
        };
        let g = spread.len() as u64;
        for (k, &node) in spread.iter().enumerate() {
            let share = cell_pages[c] / g + u64::from((k as u64) < cell_pages[c] % g);
            memory.push((node, share * page));
        }
        let vcpus: IdSet = list.iter().flat_map(|&u| (u * t)..(u * t + t)).collect();
        cells.push(PlannedCell {
            vcpus,
            memory_kib: cell_pages[c] * page,
            nodes: cpu_ids,
            binding,
        });
    }
    check_room(host, ledger, req, &all_homes, &memory)?;
    Ok(Memory {
        cells,
        memory,
        nodes: all_ids,
    })
}

/// Pages per cell, by vCPU share, leftovers to the lowest cells; every cell gets one.
fn cell_pages(req: &Request, s: &Shape, page: u64) -> Result<Vec<u64>, PlanError> {
    if !req.memory_kib.is_multiple_of(page) {
        let lo = req.memory_kib / page * page;
        return fail(
            Field::Memory,
            format!(
                "{} is not a whole number of {} pages",
                human_kib(req.memory_kib),
                human_kib(page)
            ),
            &format!("write `memory {}` or `memory {}`", human_kib(lo), human_kib(lo + page)),
        );
    }
    let pages = req.memory_kib / page;
    let counts: Vec<u64> = s.cell_units.iter().map(|l| l.len() as u64 * u64::from(s.t)).collect();
    let mut cell_pages: Vec<u64> = counts.iter().map(|v| pages * v / u64::from(req.vcpus)).collect();
    let mut left = pages - cell_pages.iter().sum::<u64>();
    for cp in cell_pages.iter_mut() {
        if left == 0 {
            break;
        }
        *cp += 1;
        left -= 1;
    }
    if let Some(c) = cell_pages.iter().position(|&cp| cp == 0) {
        return fail(
            Field::Memory,
            format!(
                "{} is too little to give every cell a page; cell {c} would get none",
                human_kib(req.memory_kib)
            ),
            &format!("give the guest at least {} of memory", human_kib(page * u64::from(s.n))),
        );
    }
    Ok(cell_pages)
}

/// Memory lives on the nodes themselves, or for a node without memory on the nearest
/// node that has some: the node indices, sorted, each once.
fn homes(host: &HostProfile, list: &[usize]) -> Vec<usize> {
    let mut h: Vec<usize> = list.iter().map(|&i| memory_home(host, i)).collect();
    h.sort_unstable();
    h.dedup();
    h
}

/// Cell `c`'s binding under the memory mode: its own nodes (`group`, `homes` of them), or
/// every node of the guest (`all`) for `interleave`.
fn binding(req: &Request, c: usize, homes: usize, group: IdSet, all: &IdSet) -> Result<MemBinding, PlanError> {
    Ok(match req.memory_mode {
        MemPolicy::Interleave => MemBinding {
            nodes: all.clone(),
            policy: MemPolicy::Interleave,
            auto: false,
        },
        MemPolicy::Preferred => {
            if homes != 1 {
                return fail(
                    Field::MemoryMode,
                    format!("`memory-mode=preferred` takes one node per cell, but cell {c} spans nodes {group}"),
                    "use `memory-mode=strict` or `interleave`, or more cells",
                );
            }
            MemBinding {
                nodes: group,
                policy: MemPolicy::Preferred,
                auto: false,
            }
        }
        _ => MemBinding {
            nodes: group,
            policy: MemPolicy::Strict,
            auto: false,
        },
    })
}

/// Every node the guest's memory comes from has room for what its cells take there.
fn check_room(
    host: &HostProfile,
    ledger: &Ledger,
    req: &Request,
    homes: &[usize],
    memory: &[(usize, u64)],
) -> Result<(), PlanError> {
    for &node in homes {
        let need: u64 = memory.iter().filter(|(i, _)| *i == node).map(|(_, kib)| kib).sum();
        let room = ledger.room(host, node, req.page_kib);
        if need > room {
            let id = host.nodes[node].id;
            let what = match req.page_kib {
                Some(size) => format!("{} free {} pages", room / size, human_kib(size)),
                None => format!("{} free", human_kib(room)),
            };
            let needs = match req.page_kib {
                Some(size) => format!("{} pages", need / size),
                None => human_kib(need),
            };
            return Err(PlanError {
                field: Field::Memory,
                capacity: true,
                message: format!("host node {id} has {what} but the guest's cells there need {needs}"),
                help: vec![format!("short by {}", human_kib(need - room))],
            });
        }
    }
    Ok(())
}
