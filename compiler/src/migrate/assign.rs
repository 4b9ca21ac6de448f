//! Source nodes → destination nodes. The guest's source nodes are grouped (one group per
//! node at first); each group carrying vCPUs takes a destination node of its own, and a
//! group of memory only takes any node with room. When the destination has fewer nodes
//! with CPUs than there are groups, or the groups do not fit one node each, the two
//! groups whose cells are closest by guest distance share a node, until they fit.

use super::dest::Dest;
use super::usage::Usage;
use crate::ir::Guest;
use std::collections::BTreeMap;

/// Source node id → destination node index.
pub type NodeMap = BTreeMap<u32, usize>;

/// Source nodes that move to one destination node together, and what they need there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Source node ids.
    pub sources: Vec<u32>,
    /// Threads each dedicated core needs, widest first.
    pub widths: Vec<u32>,
    pub floating: bool,
    /// (page size, KiB).
    pub memory: Vec<(Option<u64>, u64)>,
    /// Every source node of the group is memory-only.
    pub cpu_less: bool,
    pub cells: Vec<u32>,
}

impl Group {
    pub fn runs_vcpus(&self) -> bool {
        self.floating || !self.widths.is_empty()
    }

    fn merge(&mut self, other: Group) {
        self.sources.extend(other.sources);
        self.sources.sort_unstable();
        self.widths.extend(other.widths);
        self.widths.sort_unstable_by(|a, b| b.cmp(a));
        self.floating |= other.floating;
        for (page, kib) in other.memory {
            add(&mut self.memory, page, kib);
        }
        self.cpu_less &= other.cpu_less;
        self.cells.extend(other.cells);
        self.cells.sort_unstable();
        self.cells.dedup();
    }
}

fn add(memory: &mut Vec<(Option<u64>, u64)>, page: Option<u64>, kib: u64) {
    match memory.iter_mut().find(|(p, _)| *p == page) {
        Some((_, k)) => *k += kib,
        None => memory.push((page, kib)),
    }
}

/// One group per source node the guest uses.
pub fn groups(usage: &Usage) -> Vec<Group> {
    usage
        .nodes
        .iter()
        .map(|n| {
            // An isolated thread takes a whole core, of any width.
            let isolated = std::iter::repeat_n(1, n.isolated as usize);
            let mut widths: Vec<u32> = n.cores.iter().map(|c| c.width).chain(isolated).collect();
            widths.sort_unstable_by(|a, b| b.cmp(a));
            Group {
                sources: vec![n.node],
                widths,
                floating: n.floating,
                memory: n.memory.clone(),
                cpu_less: !n.has_cpus,
                cells: n.cells.clone(),
            }
        })
        .collect()
}

/// How close two groups are: the smallest guest distance between their cells, or the
/// smallest source host distance between their nodes when the guest has no distances.
fn closeness(g: &Guest, src: &crate::host::HostProfile, a: &Group, b: &Group) -> u32 {
    let by_guest = g.distances.as_ref().and_then(|d| {
        a.cells
            .iter()
            .flat_map(|&x| b.cells.iter().map(move |&y| (x, y)))
            .filter_map(|(x, y)| d.get(x as usize)?.get(y as usize).copied())
            .min()
    });
    by_guest
        .or_else(|| {
            a.sources
                .iter()
                .flat_map(|&x| b.sources.iter().map(move |&y| (x, y)))
                .filter_map(|(x, y)| src.distance(x, y))
                .min()
        })
        .unwrap_or(u32::MAX)
}

/// Merge the closest two groups that carry vCPUs; false when fewer than two do.
pub fn merge_closest(groups: &mut Vec<Group>, g: &Guest, src: &crate::host::HostProfile) -> bool {
    let runs: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].runs_vcpus()).collect();
    // Closest first; among equally close pairs, the one that makes the smallest group.
    let mut best: Option<((u32, usize), usize, usize)> = None;
    for (k, &i) in runs.iter().enumerate() {
        for &j in &runs[k + 1..] {
            let d = closeness(g, src, &groups[i], &groups[j]);
            let size = groups[i].widths.len() + groups[j].widths.len() + groups[i].cells.len() + groups[j].cells.len();
            if best.is_none_or(|(bd, ..)| (d, size) < bd) {
                best = Some(((d, size), i, j));
            }
        }
    }
    let Some((_, i, j)) = best else { return false };
    let other = groups.remove(j);
    groups[i].merge(other);
    true
}

/// What is left on one destination node while groups are tried on it.
#[derive(Debug, Clone)]
struct Room {
    /// Threads of each free core, fewest first.
    cores: Vec<u32>,
    /// CPUs left for floating vCPUs.
    shared: usize,
    memory: Vec<(Option<u64>, u64)>,
    has_cpus: bool,
    /// A group with vCPUs took the node.
    taken: bool,
    /// How well the node suits a group, smaller first: guests already there.
    guests: u32,
}

/// The search: how many placements one move may try, over every grouping, before it
/// gives up.
pub const BUDGET: u32 = 200_000;

struct Search<'a> {
    groups: &'a [Group],
    rooms: Vec<Room>,
    ids: Vec<u32>,
    /// Placements left to try.
    budget: &'a mut u32,
    chosen: Vec<usize>,
}

/// What a group takes from a room: the cores (their thread counts), or None when it does
/// not fit.
fn take(room: &Room, group: &Group) -> Option<Vec<u32>> {
    if group.runs_vcpus() && (!room.has_cpus || room.taken) {
        return None;
    }
    let mut cores = room.cores.clone();
    let mut took = Vec::new();
    for &w in &group.widths {
        let i = cores.iter().position(|&t| t >= w)?;
        took.push(cores.remove(i));
    }
    let threads: usize = took.iter().map(|&t| t as usize).sum();
    if group.floating && room.shared <= threads {
        return None;
    }
    for (page, kib) in &group.memory {
        let left = room
            .memory
            .iter()
            .find(|(p, _)| p == page)
            .map(|(_, k)| *k)
            .unwrap_or(0);
        if left < *kib {
            return None;
        }
    }
    Some(took)
}

fn apply(room: &mut Room, group: &Group, took: &[u32], sign: bool) {
    for &t in took {
        if sign {
            if let Some(i) = room.cores.iter().position(|&c| c == t) {
                room.cores.remove(i);
            }
        } else {
            let i = room.cores.partition_point(|&c| c < t);
            room.cores.insert(i, t);
        }
    }
    let threads: usize = took.iter().map(|&t| t as usize).sum();
    room.shared = if sign {
        room.shared.saturating_sub(threads)
    } else {
        room.shared + threads
    };
    for (page, kib) in &group.memory {
        if let Some((_, left)) = room.memory.iter_mut().find(|(p, _)| p == page) {
            *left = if sign { left.saturating_sub(*kib) } else { *left + kib };
        }
    }
    if group.runs_vcpus() {
        room.taken = sign;
    }
}

impl Search<'_> {
    /// Candidate nodes for every group, best first, fixed before the search: a node of
    /// the same id as one of its source nodes, then one whose id is no source node of a
    /// group placed after it, a memory-only node for memory-only sources, fewest guests,
    /// most free cores, lowest id. Nodes another group took are skipped as the search goes.
    fn orders(&self) -> Vec<Vec<usize>> {
        (0..self.groups.len())
            .map(|k| {
                let group = &self.groups[k];
                let later: std::collections::BTreeSet<u32> = self.groups[k + 1..]
                    .iter()
                    .flat_map(|g| g.sources.iter().copied())
                    .collect();
                let mut nodes: Vec<usize> = (0..self.rooms.len()).collect();
                nodes.sort_by_key(|&i| {
                    let r = &self.rooms[i];
                    (
                        !group.sources.contains(&self.ids[i]),
                        later.contains(&self.ids[i]),
                        group.cpu_less && r.has_cpus,
                        r.guests,
                        std::cmp::Reverse(r.cores.len()),
                        self.ids[i],
                    )
                });
                nodes
            })
            .collect()
    }

    fn place(&mut self, k: usize, orders: &[Vec<usize>]) -> bool {
        if k == self.groups.len() {
            return true;
        }
        for &i in &orders[k] {
            if *self.budget == 0 {
                return false;
            }
            *self.budget -= 1;
            let Some(took) = take(&self.rooms[i], &self.groups[k]) else {
                continue;
            };
            apply(&mut self.rooms[i], &self.groups[k], &took, true);
            self.chosen.push(i);
            if self.place(k + 1, orders) {
                return true;
            }
            self.chosen.pop();
            apply(&mut self.rooms[i], &self.groups[k], &took, false);
        }
        false
    }
}

/// Room on every destination node, for the page sizes the groups use.
fn rooms(dest: &Dest<'_>, groups: &[Group]) -> Vec<Room> {
    let mut pages: Vec<Option<u64>> = groups.iter().flat_map(|g| g.memory.iter().map(|(p, _)| *p)).collect();
    pages.sort_unstable();
    pages.dedup();
    (0..dest.host.nodes.len())
        .map(|i| {
            let mut cores: Vec<u32> = dest
                .free_cores(i)
                .iter()
                .map(|&c| dest.topo.cores[c].threads.len() as u32)
                .collect();
            cores.sort_unstable();
            Room {
                cores,
                shared: dest.shared_cpus(i).len(),
                memory: pages.iter().map(|&p| (p, dest.room(i, p))).collect(),
                has_cpus: !dest.host.nodes[i].cpus.is_empty(),
                taken: false,
                guests: dest.ledger.guests_on.get(i).copied().unwrap_or(0),
            }
        })
        .collect()
}

/// Groups in the order they are placed: most cores first, then most memory.
fn placing_order(groups: &mut [Group]) {
    groups.sort_by_key(|g| {
        let kib: u64 = g.memory.iter().map(|(_, k)| k).sum();
        (
            !g.runs_vcpus(),
            std::cmp::Reverse(g.widths.len()),
            std::cmp::Reverse(kib),
            g.sources.first().copied(),
        )
    });
}

/// A destination node for every group, or None; each placement tried spends one of
/// `budget`.
pub fn assign_groups(dest: &Dest<'_>, groups: &mut [Group], budget: &mut u32) -> Option<NodeMap> {
    placing_order(groups);
    let mut search = Search {
        groups,
        rooms: rooms(dest, groups),
        ids: dest.host.nodes.iter().map(|n| n.id).collect(),
        budget,
        chosen: Vec::new(),
    };
    let orders = search.orders();
    if !search.place(0, &orders) {
        return None;
    }
    let mut map = NodeMap::new();
    for (group, &node) in groups.iter().zip(&search.chosen) {
        for &s in &group.sources {
            map.insert(s, node);
        }
    }
    Some(map)
}

/// For each group, whether it fits some destination node with nothing else moved there.
pub fn fits_alone(dest: &Dest<'_>, groups: &[Group]) -> Vec<bool> {
    let rooms = rooms(dest, groups);
    groups
        .iter()
        .map(|g| rooms.iter().any(|room| take(room, g).is_some()))
        .collect()
}
