//! vCPUs → host CPUs: a whole free host core per unit (`pinning=cpu`), or the CPUs of the
//! cell's nodes (`pinning=node`).

use super::l3::cores_by_l3;
use super::outcome::{Field, PlanError};
use super::request::{Pinning, Request};
use super::shape::Shape;
use super::topo::{HostTopo, Ledger};
use crate::host::HostProfile;
use crate::ir::VcpuPin;
use crate::sets::IdSet;

/// A guest's pins, in vCPU order, and the host cores they take.
pub(super) struct Pins {
    pub pins: Vec<VcpuPin>,
    /// Cores taken whole, by index into `HostTopo::cores` (`pinning=cpu` only).
    pub used_cores: Vec<usize>,
    /// Some cell's dedicated cores are not all in one L3 domain (only on hosts with L3 domains).
    pub l3_split: bool,
}

pub(super) fn pin(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
    s: &Shape,
) -> Result<Pins, PlanError> {
    let mut pins = match req.pinning {
        Pinning::Cpu => pin_cores(host, topo, ledger, s)?,
        Pinning::Node => pin_nodes(host, ledger, s)?,
    };
    pins.pins.sort_by_key(|p| p.vcpu);
    Ok(pins)
}

/// Each unit takes a whole host core. A cell on one node takes that node's cores; a cell
/// over several nodes fills them in order, each up to its free cores.
fn pin_cores(host: &HostProfile, topo: &HostTopo, ledger: &Ledger, s: &Shape) -> Result<Pins, PlanError> {
    let t = s.t;
    let free: Vec<Vec<usize>> = topo
        .node_cores
        .iter()
        .map(|cores| {
            cores
                .iter()
                .copied()
                .filter(|&c| !ledger.core_used[c] && !topo.cores[c].reserved && topo.cores[c].threads.len() as u32 >= t)
                .collect()
        })
        .collect();
    let mut remaining: Vec<u32> = free.iter().map(|f| f.len() as u32).collect();
    single_node_cells(host, s, &mut remaining)?;
    let unit_node = unit_nodes(host, s, &free, &mut remaining)?;
    let unit_core = if topo.l3_cores.is_empty() {
        // Units in order take each node's free cores in order.
        let mut next: Vec<std::vec::IntoIter<usize>> = free.into_iter().map(Vec::into_iter).collect();
        let mut units: Vec<(u32, usize)> = unit_node.iter().map(|&(_, u, node)| (u, node)).collect();
        units.sort_unstable();
        units
            .into_iter()
            .filter_map(|(u, node)| next.get_mut(node)?.next().map(|core| (u, core)))
            .collect()
    } else {
        cores_by_l3(topo, ledger, free, &unit_node)
    };
    let l3_split = !topo.l3_cores.is_empty() && splits_l3(topo, s, &unit_core);
    let mut pins = Vec::new();
    let mut used_cores = Vec::new();
    for (u, core) in unit_core {
        used_cores.push(core);
        let threads = &topo.cores[core].threads;
        for k in 0..t {
            let vcpu = u * t + k;
            let cpu = threads[k as usize];
            pins.push(VcpuPin {
                vcpu,
                cpus: IdSet::single(cpu),
            });
        }
    }
    Ok(Pins {
        pins,
        used_cores,
        l3_split,
    })
}

/// What a unit takes, for messages: "cores" or "whole T-thread cores".
fn what(t: u32) -> String {
    if t > 1 {
        format!("whole {t}-thread cores")
    } else {
        "cores".to_string()
    }
}

/// Why a unit needs a core of its own, for messages.
fn short_help(t: u32) -> Vec<String> {
    vec![if t == 1 {
        "each vCPU gets a physical core of its own, so its sibling thread stays free".to_string()
    } else {
        format!("each guest core takes one host core's {t} threads")
    }]
}

/// Cells on one node take their cores first: every node must have room for them.
fn single_node_cells(host: &HostProfile, s: &Shape, remaining: &mut [u32]) -> Result<(), PlanError> {
    let groups = &s.groups;
    let mut demand = vec![0u32; host.nodes.len()];
    for (c, list) in s.cell_units.iter().enumerate() {
        if let [node] = groups[c].as_slice() {
            demand[*node] += list.len() as u32;
        }
    }
    for (node, &d) in demand.iter().enumerate() {
        if d > remaining[node] {
            let id = host.nodes[node].id;
            let cells_here: Vec<String> = groups
                .iter()
                .enumerate()
                .filter(|(_, g)| g.as_slice() == [node])
                .map(|(c, _)| c.to_string())
                .collect();
            let many = cells_here.len() > 1;
            return Err(PlanError {
                field: Field::Statement,
                capacity: true,
                message: format!(
                    "host node {id} has {} free {} but cell{} {} need{} {d} (short by {})",
                    remaining[node],
                    what(s.t),
                    if many { "s" } else { "" },
                    cells_here.join(", "),
                    if many { "" } else { "s" },
                    d - remaining[node]
                ),
                help: short_help(s.t),
            });
        }
        remaining[node] -= d;
    }
    Ok(())
}

/// Every unit's node, as (cell, unit, node index): its cell's node, or the first of its
/// cell's nodes with a free core left.
fn unit_nodes(
    host: &HostProfile,
    s: &Shape,
    free: &[Vec<usize>],
    remaining: &mut [u32],
) -> Result<Vec<(usize, u32, usize)>, PlanError> {
    let groups = &s.groups;
    let mut unit_node: Vec<(usize, u32, usize)> = Vec::new();
    for (c, list) in s.cell_units.iter().enumerate() {
        for &u in list {
            let node = match groups[c].as_slice() {
                [one] => Some(*one),
                many => many
                    .iter()
                    .copied()
                    .find(|&g| remaining[g] > 0)
                    .inspect(|&g| remaining[g] -= 1),
            };
            let Some(node) = node else {
                let ids: IdSet = groups[c].iter().map(|&i| host.nodes[i].id).collect();
                let have: u32 = groups[c].iter().map(|&i| free[i].len() as u32).sum();
                return Err(PlanError {
                    field: Field::Statement,
                    capacity: true,
                    message: format!(
                        "host nodes {ids} have {have} free {} but cell {c} needs {} (short by {})",
                        what(s.t),
                        list.len(),
                        (list.len() as u32).saturating_sub(have)
                    ),
                    help: short_help(s.t),
                });
            };
            unit_node.push((c, u, node));
        }
    }
    Ok(unit_node)
}

/// Whether some cell's cores (`unit_core`: (unit, core)) are not all in one L3 domain.
fn splits_l3(topo: &HostTopo, s: &Shape, unit_core: &[(u32, usize)]) -> bool {
    let mut l3_split = false;
    let mut unit_cell = vec![0usize; s.units as usize];
    for (c, list) in s.cell_units.iter().enumerate() {
        for &u in list {
            if let Some(slot) = unit_cell.get_mut(u as usize) {
                *slot = c;
            }
        }
    }
    // Each cell's L3 domain so far: None before its first core.
    let mut cell_domain: Vec<Option<Option<usize>>> = vec![None; s.n as usize];
    for &(u, core) in unit_core {
        let d = topo.cores.get(core).and_then(|c| c.l3);
        let Some(seen) = unit_cell.get(u as usize).and_then(|&c| cell_domain.get_mut(c)) else {
            continue;
        };
        match seen {
            None => *seen = Some(d),
            Some(first) => l3_split |= *first != d,
        }
    }
    // A cell on cores of no domain is not in one domain either.
    l3_split || cell_domain.iter().any(|d| matches!(d, Some(None)))
}

/// Each cell's vCPUs float over its nodes' CPUs that are neither reserved nor taken by
/// hand-written guests.
fn pin_nodes(host: &HostProfile, ledger: &Ledger, s: &Shape) -> Result<Pins, PlanError> {
    let t = s.t;
    let mut pins = Vec::new();
    for (c, list) in s.cell_units.iter().enumerate() {
        let cpus: IdSet = s.groups[c]
            .iter()
            .flat_map(|&i| host.nodes[i].cpus.iter())
            .filter(|cpu| !host.reserved.contains(*cpu) && !ledger.taken.contains(*cpu))
            .collect();
        if cpus.is_empty() {
            let ids: IdSet = s.groups[c].iter().map(|&i| host.nodes[i].id).collect();
            return Err(PlanError {
                field: Field::Statement,
                capacity: true,
                message: format!(
                    "every CPU of host node{} {ids} is reserved or pinned by hand-written guests, leaving none for cell {c}",
                    if ids.len() > 1 { "s" } else { "" }
                ),
                help: vec!["place the guest on other nodes".into()],
            });
        }
        for &u in list {
            for k in 0..t {
                pins.push(VcpuPin {
                    vcpu: u * t + k,
                    cpus: cpus.clone(),
                });
            }
        }
    }
    Ok(Pins {
        pins,
        used_cores: Vec::new(),
        l3_split: false,
    })
}
