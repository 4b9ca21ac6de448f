//! `mode=node` without `nodeset`: which host nodes a guest goes on.

use super::memory::memory_home;
use super::on_nodes::plan_on;
use super::outcome::{Field, Plan, PlanError};
use super::request::{Pinning, Request};
use super::topo::{HostTopo, Ledger};
use crate::host::HostProfile;
use crate::units::human_kib;

/// Tries a picker may spend on one guest before it falls back to heuristics.
const PICK_BUDGET: usize = 4096;

/// `mode=node` without `nodeset`: the fewest nodes that fit, then the least used, then the
/// most free memory. Sets of one size are tried in that preference order, exhaustively while
/// the budget lasts, then by two heuristics (least used first; most free cores first). On a
/// host with L3 domains, when the first set that fits leaves some dedicated cell across L3
/// domains, the later sets that tie with it (same size, same guest counts and free memory)
/// are tried too, within the same budget, and the first that keeps every cell in one domain
/// wins; when none does, the first set stays.
pub(super) fn pick_nodes(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
) -> Result<Plan, PlanError> {
    let mut order: Vec<usize> = (0..host.nodes.len())
        .filter(|&i| !host.nodes[i].cpus.is_empty())
        .collect();
    order.sort_by_key(|&i| {
        (
            ledger.guests_on[i],
            std::cmp::Reverse(ledger.room(host, memory_home(host, i), req.page_kib)),
            host.nodes[i].id,
        )
    });
    let mut by_cores = order.clone();
    by_cores.sort_by_key(|&i| {
        (
            std::cmp::Reverse(ledger.free_cores[i]),
            ledger.guests_on[i],
            host.nodes[i].id,
        )
    });
    let units_needed = if req.pinning == Pinning::Cpu {
        let t = if req.distribution.core_units() {
            topo.smt.max(1)
        } else {
            1
        };
        (req.vcpus / t) as usize
    } else {
        0
    };
    // Necessary for a set to fit: enough free cores and enough room in total.
    let could_fit = |nodes: &[usize]| {
        nodes.iter().map(|&i| ledger.free_cores[i]).sum::<usize>() >= units_needed && {
            let mut homes: Vec<usize> = nodes.iter().map(|&i| memory_home(host, i)).collect();
            homes.sort_unstable();
            homes.dedup();
            homes.iter().map(|&i| ledger.room(host, i, req.page_kib)).sum::<u64>() >= req.memory_kib
        }
    };
    // No set of k nodes fits if the k roomiest (or the k with the most free cores) do not:
    // start at the first size where those could, and give up at once when none could.
    let mut rooms: Vec<u64> = order
        .iter()
        .map(|&i| ledger.room(host, memory_home(host, i), req.page_kib))
        .collect();
    rooms.sort_unstable_by(|a, b| b.cmp(a));
    let mut cores: Vec<usize> = order.iter().map(|&i| ledger.free_cores[i]).collect();
    cores.sort_unstable_by(|a, b| b.cmp(a));
    let smallest = (1..=order.len()).find(|&k| {
        rooms[..k].iter().sum::<u64>() >= req.memory_kib && cores[..k].iter().sum::<usize>() >= units_needed
    });
    let Some(smallest) = smallest else {
        let free_units: usize = cores.iter().sum();
        let room: u64 = rooms.iter().sum();
        let what = if free_units < units_needed {
            format!(
                "{free_units} free {} left on the host, and this guest needs {units_needed}",
                if free_units == 1 { "core" } else { "cores" }
            )
        } else {
            format!(
                "{} of room left on the host, and this guest needs {}",
                human_kib(room),
                human_kib(req.memory_kib)
            )
        };
        return Err(PlanError {
            field: Field::Statement,
            capacity: true,
            message: format!("the guest does not fit: {what}"),
            help: Vec::new(),
        });
    };
    let mut budget = PICK_BUDGET;
    // Combinations looked at (most are skipped at once): bounded too, as there are
    // C(64, 32) sets of 32 nodes among 64.
    let mut visits = PICK_BUDGET * 16;
    let mut last = None;
    // What the preference order compares, per position in `order` (so sets that tie have
    // the same keys, in order, as `order` is sorted by them).
    let keys: Vec<(u32, u64)> = order
        .iter()
        .map(|&i| {
            (
                ledger.guests_on[i],
                ledger.room(host, memory_home(host, i), req.page_kib),
            )
        })
        .collect();
    let keys_of = |combo: &[usize]| -> Vec<(u32, u64)> { combo.iter().filter_map(|&j| keys.get(j).copied()).collect() };
    let attempt = |nodes: &[usize], last: &mut Option<PlanError>| -> Option<Plan> {
        let mut sorted = nodes.to_vec();
        sorted.sort_by_key(|&i| host.nodes[i].id);
        match plan_on(host, topo, ledger, req, &sorted, true) {
            Ok(p) => return Some(p),
            Err(e) => *last = Some(e),
        }
        None
    };
    for k in smallest..=order.len() {
        let mut combo: Vec<usize> = (0..k).collect();
        let mut exhaustive = true;
        // The first set that fits when it splits a cell over L3 domains, with its keys.
        let mut split: Option<(Plan, Vec<(u32, u64)>)> = None;
        loop {
            if visits == 0 {
                exhaustive = false;
                break;
            }
            visits -= 1;
            let tied = split.as_ref().is_none_or(|(_, want)| keys_of(&combo) == *want);
            let nodes: Vec<usize> = combo.iter().map(|&j| order[j]).collect();
            if tied && could_fit(&nodes) {
                if budget == 0 {
                    exhaustive = false;
                    break;
                }
                budget -= 1;
                if let Some(p) = attempt(&nodes, &mut last) {
                    if !p.l3_split {
                        return Ok(p);
                    }
                    if split.is_none() {
                        split = Some((p, keys_of(&combo)));
                    }
                }
            }
            if !next_combination(&mut combo, order.len()) {
                break;
            }
        }
        if let Some((p, _)) = split {
            return Ok(p);
        }
        if !exhaustive {
            for nodes in [&order[..k], &by_cores[..k]] {
                if let Some(p) = attempt(nodes, &mut last) {
                    return Ok(p);
                }
            }
        }
    }
    Err(last.unwrap_or(PlanError {
        field: Field::Statement,
        capacity: true,
        message: "no host node has the free CPUs and memory this guest needs".into(),
        help: Vec::new(),
    }))
}

/// The next k-combination of 0..n in lexicographic order; false after the last.
fn next_combination(combo: &mut [usize], n: usize) -> bool {
    let k = combo.len();
    for i in (0..k).rev() {
        if combo[i] < n - k + i {
            combo[i] += 1;
            for j in i + 1..k {
                combo[j] = combo[j - 1] + 1;
            }
            return true;
        }
    }
    false
}
