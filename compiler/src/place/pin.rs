//! vCPUs → host CPUs: a whole free host core per unit (`pinning=cpu`), or the CPUs of the
//! cell's nodes (`pinning=node`).

use super::isolate::{CoreUnits, core_units, shared_cpus};
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
    /// Each isolated thread's core: (cell, its threads), in request order.
    pub isolated: Vec<(usize, IdSet)>,
    /// Host CPUs of the dedicated vCPUs.
    pub dedicated: IdSet,
}

pub(super) fn pin(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
    s: &Shape,
) -> Result<Pins, PlanError> {
    let mut pins = match req.pinning {
        Pinning::Cpu => pin_cores(host, topo, ledger, req, s)?,
        Pinning::Node => pin_nodes(host, ledger, s)?,
    };
    pins.pins.sort_by_key(|p| p.vcpu);
    Ok(pins)
}

/// Each unit takes a whole host core, and so does each isolated thread, after its cell's
/// vCPUs. A cell on one node takes that node's cores; a cell over several nodes fills them
/// in order, each up to its free cores. Shared units take none: they float over the CPUs
/// of their cell's nodes that no dedicated vCPU or isolated thread holds.
fn pin_cores(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
    s: &Shape,
) -> Result<Pins, PlanError> {
    let t = s.t;
    let cu = core_units(req, s)?;
    // The free cores of the nodes the cells are on; the host's other nodes are not looked at.
    let mut on_cells = vec![false; topo.node_cores.len()];
    for &i in s.groups.iter().flatten() {
        if let Some(x) = on_cells.get_mut(i) {
            *x = true;
        }
    }
    let free: Vec<Vec<usize>> = topo
        .node_cores
        .iter()
        .zip(on_cells)
        .map(|(cores, on_cells)| {
            cores
                .iter()
                .copied()
                .take(if on_cells { cores.len() } else { 0 })
                .filter(|&c| {
                    ledger.core_used.get(c) == Some(false)
                        && !topo.cores[c].reserved
                        && topo.cores[c].threads.len() as u32 >= t
                })
                .collect()
        })
        .collect();
    let mut remaining: Vec<u32> = free.iter().map(|f| f.len() as u32).collect();
    single_node_cells(host, &cu, &mut remaining)?;
    let unit_node = unit_nodes(host, &cu, &free, &mut remaining)?;
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
        let full = |d: usize| {
            req.l3_bytes
                .is_some_and(|b| host.l3.get(d).is_some_and(|cpus| !ledger.l3_free_over(host, cpus, b)))
        };
        cores_by_l3(topo, ledger, free, &unit_node, &full)
    };
    let l3_split = !topo.l3_cores.is_empty() && splits_l3(topo, s, &unit_core);
    let mut out = Pins {
        pins: Vec::new(),
        used_cores: Vec::new(),
        l3_split,
        isolated: Vec::new(),
        dedicated: IdSet::new(),
    };
    let mut isolated: Vec<(u32, usize, IdSet)> = Vec::new();
    for (u, core) in unit_core {
        out.used_cores.push(core);
        let threads = &topo.cores[core].threads;
        if let Some(cell) = cu.isolated(u) {
            isolated.push((u, cell, threads.iter().copied().collect()));
            continue;
        }
        for k in 0..t {
            let cpu = threads[k as usize];
            out.dedicated.insert(cpu);
            out.pins.push(VcpuPin {
                vcpu: u * t + k,
                cpus: IdSet::single(cpu),
            });
        }
    }
    // Isolated threads in request order: by unit id.
    isolated.sort_by_key(|(u, ..)| *u);
    out.isolated = isolated.into_iter().map(|(_, cell, core)| (cell, core)).collect();
    shared_pins(host, ledger, s, &cu, &mut out)?;
    Ok(out)
}

/// Shared units: each vCPU pinned to the CPUs of its cell's nodes that no guest so far,
/// this one included, holds a core of.
fn shared_pins(
    host: &HostProfile,
    ledger: &Ledger,
    s: &Shape,
    cu: &CoreUnits,
    out: &mut Pins,
) -> Result<(), PlanError> {
    let mut held = ledger.dedicated.union(&out.dedicated);
    for (_, core) in &out.isolated {
        held = held.union(core);
    }
    for (c, units) in cu.shared.iter().enumerate().filter(|(_, u)| !u.is_empty()) {
        let nodes: IdSet = s.groups[c].iter().map(|&i| host.nodes[i].id).collect();
        let cpus = shared_cpus(host, &held, &ledger.taken, &nodes);
        if cpus.is_empty() {
            return Err(PlanError {
                field: Field::SharedVcpus,
                capacity: true,
                message: format!(
                    "no CPU of host node{} {nodes} is left for the shared vCPUs of cell {c}: every core there is dedicated, isolated, reserved or pinned by hand",
                    if nodes.len() > 1 { "s" } else { "" }
                ),
                help: vec!["shared vCPUs float over the cores no guest has as dedicated; dedicate fewer vCPUs, or place the guest on another node".into()],
            });
        }
        for &u in units {
            for k in 0..s.t {
                out.pins.push(VcpuPin {
                    vcpu: u * s.t + k,
                    cpus: cpus.clone(),
                });
            }
        }
    }
    Ok(())
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

/// What cells ask of a node, for messages: "cell 0 needs 4" or "cells 0, 1 need 8", with
/// the cores of isolated threads named apart.
fn asked(cells: &[usize], vcpus: u32, threads: u32) -> String {
    let many = cells.len() > 1;
    let list: Vec<String> = cells.iter().map(usize::to_string).collect();
    let what = if threads == 0 {
        format!("{vcpus}")
    } else {
        format!("{vcpus} for vCPUs and {threads} for isolated emulator or I/O threads")
    };
    format!(
        "cell{} {} need{} {what}",
        if many { "s" } else { "" },
        list.join(", "),
        if many { "" } else { "s" }
    )
}

/// A node short of cores: Field::Threads when its vCPUs alone would fit.
fn short(id: IdSet, have: u32, cells: &[usize], (vcpus, threads): (u32, u32), t: u32) -> PlanError {
    let need = vcpus + threads;
    let to_blame = vcpus <= have;
    PlanError {
        field: if to_blame && threads > 0 {
            Field::Threads
        } else {
            Field::Statement
        },
        capacity: true,
        message: format!(
            "host node{} {id} {} {have} free {} but {} (short by {})",
            if id.len() > 1 { "s" } else { "" },
            if id.len() > 1 { "have" } else { "has" },
            what(t),
            asked(cells, vcpus, threads),
            need.saturating_sub(have)
        ),
        help: if to_blame && threads > 0 {
            vec![format!(
                "the vCPUs fit and the isolated threads do not: each isolated thread takes a core of its own on its cell's node, {have} of {need} are free"
            )]
        } else {
            short_help(t)
        },
    }
}

/// Cells on one node take their cores first: every node must have room for them.
fn single_node_cells(host: &HostProfile, cu: &CoreUnits, remaining: &mut [u32]) -> Result<(), PlanError> {
    let s = &cu.shape;
    let mut demand = vec![(0u32, 0u32); host.nodes.len()];
    for c in 0..s.cell_units.len() {
        if let [node] = s.groups[c].as_slice() {
            let (v, t) = cu.demand(c);
            demand[*node].0 += v;
            demand[*node].1 += t;
        }
    }
    for (node, &(v, t)) in demand.iter().enumerate() {
        if v + t > remaining[node] {
            let cells_here: Vec<usize> = (0..s.groups.len())
                .filter(|&c| s.groups[c].as_slice() == [node])
                .collect();
            return Err(short(
                IdSet::single(host.nodes[node].id),
                remaining[node],
                &cells_here,
                (v, t),
                s.t,
            ));
        }
        remaining[node] -= v + t;
    }
    Ok(())
}

/// Every unit's node, as (cell, unit, node index): its cell's node, or the first of its
/// cell's nodes with a free core left.
fn unit_nodes(
    host: &HostProfile,
    cu: &CoreUnits,
    free: &[Vec<usize>],
    remaining: &mut [u32],
) -> Result<Vec<(usize, u32, usize)>, PlanError> {
    let s = &cu.shape;
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
                return Err(short(ids, have, &[c], cu.demand(c), s.t));
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
        isolated: Vec::new(),
        dedicated: IdSet::new(),
    })
}
