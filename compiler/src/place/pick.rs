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
/// Tries it may spend first on the sets that hold what the guest wants near (those come
/// first in the preference order, so a set that fits is found early when there is one).
const WANTED_BUDGET: usize = PICK_BUDGET / 8;

/// `mode=node` without `nodeset`: the fewest nodes that fit, then the least used, then the
/// most free memory. Sets of one size are tried in that preference order, exhaustively while
/// the budget lasts, then by two heuristics (least used first; most free cores first). On a
/// host with L3 domains, when the first set that fits leaves some dedicated cell across L3
/// domains, the later sets that tie with it (same size, same guest counts and free memory)
/// are tried too, within the same budget, and the first that keeps every cell in one domain
/// wins; when none does, the first set stays.
///
/// A guest that needs devices near (`req.near`) or free L3 cache (`req.l3_bytes`) is first
/// placed only on sets that hold every such device's node and whose nodes each have an L3
/// cache with that much free (those nodes come first in the preference order), with a
/// budget of its own, an eighth of the other's, and only when each such device's node has
/// a free core (for a guest that takes cores) and room; when none fits, on any set as above.
pub(super) fn pick_nodes(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
) -> Result<Plan, PlanError> {
    let picker = Picker::new(host, topo, ledger, req);
    let smallest = picker.smallest()?;
    let mut last = None;
    for strict in [true, false] {
        if strict && !picker.wants() {
            continue;
        }
        let tries = if strict { WANTED_BUDGET } else { PICK_BUDGET };
        let mut budget = Budget {
            tries,
            // Combinations looked at (most are skipped at once): bounded too, as there are
            // C(64, 32) sets of 32 nodes among 64.
            visits: tries * 16,
            last: None,
        };
        for k in smallest..=picker.order.len() {
            if let Some(mut p) = picker.of_size(k, &mut budget, strict) {
                p.wanted = strict;
                return Ok(p);
            }
        }
        last = budget.last;
    }
    Err(last.unwrap_or(PlanError {
        field: Field::Statement,
        capacity: true,
        message: "no host node has the free CPUs and memory this guest needs".into(),
        help: Vec::new(),
    }))
}

/// What a picker may still spend, and why the last set it tried did not fit.
struct Budget {
    /// Sets planned.
    tries: usize,
    /// Sets looked at.
    visits: usize,
    last: Option<PlanError>,
}

/// The nodes a guest may be picked from, in the orders the picker tries them.
struct Picker<'a> {
    host: &'a HostProfile,
    topo: &'a HostTopo,
    ledger: &'a Ledger,
    req: &'a Request,
    /// Node indices with CPUs: least used first, then most room, then by id.
    order: Vec<usize>,
    /// The same nodes, most free cores first.
    by_cores: Vec<usize>,
    /// What the preference order compares, per position in `order` (so sets that tie have
    /// the same keys, in order, as `order` is sorted by them).
    keys: Vec<(u32, u64)>,
    /// Free cores the guest takes (`pinning=cpu`), else 0.
    units_needed: usize,
    /// Indices of the nodes (with CPUs) of the devices the guest needs near.
    near: Vec<usize>,
    /// Per node index: an L3 cache over it has the `l3=` size free (true without `l3=`).
    l3_free: Vec<bool>,
}

impl<'a> Picker<'a> {
    fn new(host: &'a HostProfile, topo: &'a HostTopo, ledger: &'a Ledger, req: &'a Request) -> Picker<'a> {
        let mut order: Vec<usize> = (0..host.nodes.len())
            .filter(|&i| !host.nodes[i].cpus.is_empty())
            .collect();
        let near: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| req.near.contains(host.nodes[i].id))
            .collect();
        let l3_free: Vec<bool> = (0..host.nodes.len())
            .map(|i| req.l3_bytes.is_none_or(|b| ledger.l3_free_on(host, i, b)))
            .collect();
        // Without `near` or `l3=`, both are the same for every node and order nothing.
        order.sort_by_key(|&i| {
            (
                !near.contains(&i),
                !l3_free[i],
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
            // Shared vCPUs take no core, each isolated thread takes one (cells per node
            // set vary: count the fewest).
            let shared = req.shared.iter().filter(|&v| v < req.vcpus).count() as u32 / t;
            let isolated = req.isolated.total(req.cells.unwrap_or(1));
            (req.vcpus / t).saturating_sub(shared).saturating_add(isolated) as usize
        } else {
            0
        };
        let keys: Vec<(u32, u64)> = order
            .iter()
            .map(|&i| {
                (
                    ledger.guests_on[i],
                    ledger.room(host, memory_home(host, i), req.page_kib),
                )
            })
            .collect();
        Picker {
            host,
            topo,
            ledger,
            req,
            order,
            by_cores,
            keys,
            units_needed,
            near,
            l3_free,
        }
    }

    /// The guest needs devices near, or free L3 cache, and each node it needs near could
    /// take a part of it (a free core when it takes cores, some room).
    fn wants(&self) -> bool {
        let (host, ledger, req) = (self.host, self.ledger, self.req);
        let could = |i: usize| {
            (self.units_needed == 0 || ledger.free_cores[i] > 0)
                && ledger.room(host, memory_home(host, i), req.page_kib) > 0
        };
        (!self.near.is_empty() || req.l3_bytes.is_some()) && self.near.iter().all(|&i| could(i))
    }

    /// `nodes` hold every node of a device the guest needs near, and each has the free L3
    /// cache it asks for.
    fn wanted(&self, nodes: &[usize]) -> bool {
        self.near.iter().all(|n| nodes.contains(n)) && nodes.iter().all(|&i| self.l3_free.get(i) == Some(&true))
    }

    /// No set of k nodes fits if the k roomiest (or the k with the most free cores) do not:
    /// the first size where those could, or why none could.
    fn smallest(&self) -> Result<usize, PlanError> {
        let (host, ledger, req) = (self.host, self.ledger, self.req);
        let units_needed = self.units_needed;
        let mut rooms: Vec<u64> = self
            .order
            .iter()
            .map(|&i| ledger.room(host, memory_home(host, i), req.page_kib))
            .collect();
        rooms.sort_unstable_by(|a, b| b.cmp(a));
        let mut cores: Vec<usize> = self.order.iter().map(|&i| ledger.free_cores[i]).collect();
        cores.sort_unstable_by(|a, b| b.cmp(a));
        let smallest = (1..=self.order.len()).find(|&k| {
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
        Ok(smallest)
    }

    /// Necessary for a set to fit: enough free cores and enough room in total.
    fn could_fit(&self, nodes: &[usize]) -> bool {
        let (host, ledger, req) = (self.host, self.ledger, self.req);
        nodes.iter().map(|&i| ledger.free_cores[i]).sum::<usize>() >= self.units_needed && {
            let mut homes: Vec<usize> = nodes.iter().map(|&i| memory_home(host, i)).collect();
            homes.sort_unstable();
            homes.dedup();
            homes.iter().map(|&i| ledger.room(host, i, req.page_kib)).sum::<u64>() >= req.memory_kib
        }
    }

    fn keys_of(&self, combo: &[usize]) -> Vec<(u32, u64)> {
        combo.iter().filter_map(|&j| self.keys.get(j).copied()).collect()
    }

    /// The guest planned on `nodes`, or None with the reason kept in `last`.
    fn attempt(&self, nodes: &[usize], last: &mut Option<PlanError>) -> Option<Plan> {
        let mut sorted = nodes.to_vec();
        sorted.sort_by_key(|&i| self.host.nodes[i].id);
        match plan_on(self.host, self.topo, self.ledger, self.req, &sorted, true) {
            Ok(p) => return Some(p),
            Err(e) => *last = Some(e),
        }
        None
    }

    /// The first set of `k` nodes that fits, in preference order while the budget lasts,
    /// then by the heuristics; when `strict`, only sets [`Self::wanted`].
    fn of_size(&self, k: usize, budget: &mut Budget, strict: bool) -> Option<Plan> {
        let order = &self.order;
        let mut combo: Vec<usize> = (0..k).collect();
        let mut exhaustive = true;
        // The first set that fits when it splits a cell over L3 domains, with its keys.
        let mut split: Option<(Plan, Vec<(u32, u64)>)> = None;
        loop {
            if budget.visits == 0 {
                exhaustive = false;
                break;
            }
            budget.visits -= 1;
            let tied = split.as_ref().is_none_or(|(_, want)| self.keys_of(&combo) == *want);
            let nodes: Vec<usize> = combo.iter().map(|&j| order[j]).collect();
            if tied && (!strict || self.wanted(&nodes)) && self.could_fit(&nodes) {
                if budget.tries == 0 {
                    exhaustive = false;
                    break;
                }
                budget.tries -= 1;
                if let Some(p) = self.attempt(&nodes, &mut budget.last) {
                    if !p.l3_split {
                        return Some(p);
                    }
                    if split.is_none() {
                        split = Some((p, self.keys_of(&combo)));
                    }
                }
            }
            if !next_combination(&mut combo, order.len()) {
                break;
            }
        }
        if let Some((p, _)) = split {
            return Some(p);
        }
        if !exhaustive {
            for nodes in [&order[..k], &self.by_cores[..k]] {
                if strict && !self.wanted(nodes) {
                    continue;
                }
                if let Some(p) = self.attempt(nodes, &mut budget.last) {
                    return Some(p);
                }
            }
        }
        None
    }
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
