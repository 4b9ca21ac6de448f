//! The one place the derivation rules live: every source (inline, capabilities XML, /sys)
//! fills a [`HostBuilder`] (see [`super::decl`]) and calls [`HostBuilder::build`], which
//! first checks what a host may hold ([`super::limits`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::decl::error;
pub use super::decl::*;
pub use super::limits::{LOCAL_DISTANCE, MAX_CPUS, MAX_NODES, REMOTE_DISTANCE};
use super::model::{HostCpu, HostNode, HostPci, HostProfile, HugePages};
use crate::sets::IdSet;
use cpus::{Claims, CpuIndex};

/// The CPUs on nodes (so a declared set is checked against them by runs, never walked id by
/// id before it is known to be on the host) and each one's node id, by rank.
struct CpuNodes {
    index: CpuIndex,
    node: Vec<u32>,
}

impl CpuNodes {
    /// The node of CPU `id`, if it is on one.
    fn node_of(&self, id: u32) -> Option<u32> {
        self.index.rank(id).and_then(|r| self.node.get(r).copied())
    }

    fn all(&self) -> &IdSet {
        self.index.all()
    }
}

/// Each CPU's (socket, die), by rank.
type Places = Vec<(u32, u32)>;

impl HostBuilder {
    /// Apply the derivation rules; all errors are reported, not just the first.
    pub fn build(&self) -> Result<HostProfile, Vec<BuildError>> {
        let mut errors = self.limits();
        errors.extend(self.unrepresentable());
        if !errors.is_empty() {
            return Err(errors);
        }
        let (node_decl, cpu_node) = self.node_maps(&mut errors);
        let places = self.placements(&cpu_node, &mut errors);
        let groups = self.sibling_groups(&cpu_node, &mut errors);
        let distances = self.distance_matrix(&node_decl, &mut errors);
        let mut pools = self.hugepage_pools(&node_decl, &mut errors);
        // Every reserved CPU must exist.
        let unknown = self.reserved.difference(cpu_node.all());
        if !unknown.is_empty() {
            errors.push(error(
                DeclRef::Reserve,
                format!("reserved {} not on any node", cpus_are(&unknown)),
            ));
        }
        // A PCI device's node must exist; the address is kept as given.
        for (i, p, n) in self
            .pci
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p, p.node?)))
            .filter(|(_, _, n)| !node_decl.contains_key(n))
        {
            let message = format!("PCI device {} is on undeclared node {n}", p.address);
            errors.push(error(DeclRef::Pci(i), message));
        }
        let l3 = self.l3_domains(&cpu_node, &mut errors);
        let resctrl = self.resctrl_checked(cpu_node.all(), &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        // Nodes sorted by id; each node's hugepage pools sorted by size.
        let nodes = node_decl
            .iter()
            .filter_map(|(&id, &i)| self.nodes.get(i).map(|n| (id, n)))
            .map(|(id, n)| HostNode {
                id,
                cpus: n.cpus.clone(),
                memory_kib: n.memory_kib,
                free_kib: n.free_kib.unwrap_or(n.memory_kib),
                hugepages: pools.remove(&id).unwrap_or_default(),
                reserved_kib: self
                    .reserved_memory
                    .iter()
                    .filter(|(node, _)| node.is_none_or(|x| x == id) && (node.is_some() || n.memory_kib > 0))
                    .map(|(_, kib)| *kib)
                    .fold(0u64, u64::saturating_add),
            })
            .collect();
        let place = |c: Option<u32>| {
            c.and_then(|c| cpu_node.index.rank(c))
                .and_then(|r| places.get(r).copied())
                .unwrap_or((0, 0))
        };
        let derived = derived_cores(&groups.iter().map(|g| place(g.0.first())).collect::<Vec<_>>());
        let mut cpus = Vec::new();
        for ((set, core), derived) in groups.iter().zip(derived) {
            for id in set.iter() {
                let (socket, die) = place(Some(id));
                let node = cpu_node.node_of(id).unwrap_or(0);
                let core = core.unwrap_or(derived);
                cpus.push(HostCpu {
                    id,
                    node,
                    socket,
                    die,
                    core,
                    siblings: set.clone(),
                });
            }
        }
        // CPUs sorted by id (each id once, so an unstable sort gives the same order).
        cpus.sort_unstable_by_key(|c| c.id);
        let pci = self.pci.iter().map(|p| HostPci {
            address: p.address.clone(),
            node: p.node,
            name: p.name.clone(),
        });
        let reserved = self.reserved.clone();
        Ok(HostProfile {
            name: self.name.clone(),
            nodes,
            cpus,
            distances,
            reserved,
            pci: pci.collect(),
            l3,
            resctrl,
        })
    }

    /// L3 domains: CPUs of declared nodes, each CPU in one domain; sorted by lowest CPU.
    fn l3_domains(&self, cpu_node: &CpuNodes, errors: &mut Vec<BuildError>) -> Vec<IdSet> {
        let mut claimed = Claims::new(&cpu_node.index);
        let mut out = Vec::new();
        for (i, d) in self.l3.iter().enumerate() {
            if d.is_empty() {
                errors.push(error(DeclRef::L3(i), "an `l3` domain needs at least one CPU"));
                continue;
            }
            let known = known_cpus(d, cpu_node, DeclRef::L3(i), errors);
            let (mine, clashes) = claimed.claim(&cpu_node.index, &known, i);
            for (j, ids) in clashes {
                let message = format!("{} already in another L3 domain", cpus_are(&ids));
                let e =
                    error(DeclRef::L3(i), message).help("a CPU shares its last-level cache with one set of CPUs only");
                errors.push(e.other(DeclRef::L3(j)));
            }
            if !mine.is_empty() {
                out.push(mine);
            }
        }
        out.sort_by_key(IdSet::first);
        out
    }

    /// Node id → declaration index, and CPU → node id.
    fn node_maps(&self, errors: &mut Vec<BuildError>) -> (BTreeMap<u32, usize>, CpuNodes) {
        // Node ids are unique: the first declaration of an id is kept, and only its CPUs
        // are on the host.
        let mut by_id: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            by_id.entry(n.id).or_insert(i);
        }
        let kept = |i: usize, n: &NodeDecl| by_id.get(&n.id) == Some(&i);
        let runs = self.nodes.iter().enumerate().filter(|&(i, n)| kept(i, n));
        let index = CpuIndex::new(IdSet::from_runs(runs.flat_map(|(_, n)| n.cpus.runs())));
        let mut claimed = Claims::new(&index);
        for (i, n) in self.nodes.iter().enumerate() {
            if !kept(i, n) {
                let first = by_id.get(&n.id).copied().unwrap_or(0);
                let e = error(DeclRef::Node(i), format!("node {} is declared twice", n.id));
                errors.push(e.other(DeclRef::Node(first)));
                continue;
            }
            // Free memory cannot exceed the total.
            if let Some(free) = n.free_kib.filter(|&f| f > n.memory_kib) {
                let (id, total) = (n.id, n.memory_kib);
                let message = format!("node {id} has {free} KiB free of only {total} KiB");
                errors.push(error(DeclRef::Node(i), message));
            }
            // A CPU belongs to one node only.
            for (j, ids) in claimed.claim(&index, &n.cpus, i).1 {
                let other = self.nodes.get(j).map_or(0, |o| o.id);
                let message = format!("{} already on node {other}", cpus_are(&ids));
                errors.push(error(DeclRef::Node(i), message).other(DeclRef::Node(j)));
            }
        }
        let node_id = |i: Option<usize>| i.and_then(|i| self.nodes.get(i)).map_or(0, |n| n.id);
        let node = (0..index.len()).map(|r| node_id(claimed.owner(r))).collect();
        (by_id, CpuNodes { index, node })
    }

    /// Every CPU's (socket, die), by rank.
    fn placements(&self, cpu_node: &CpuNodes, errors: &mut Vec<BuildError>) -> Places {
        // socket defaults to the CPU's node id, die to 0.
        let mut places: Places = cpu_node.node.iter().map(|&node| (node, 0)).collect();
        let mut claimed = Claims::new(&cpu_node.index);
        for (i, g) in self.cpu_groups.iter().enumerate() {
            // A `cpu` group names CPUs of declared nodes, each in one group only.
            let known = known_cpus(&g.cpus, cpu_node, DeclRef::CpuGroup(i), errors);
            let (mine, clashes) = claimed.claim(&cpu_node.index, &known, i);
            for (j, ids) in clashes {
                let message = format!("{} already placed by another `cpu` statement", cpus_are(&ids));
                errors.push(error(DeclRef::CpuGroup(i), message).other(DeclRef::CpuGroup(j)));
            }
            for (_, r) in cpu_node.index.ranked(&mine) {
                let node = cpu_node.node.get(r).copied().unwrap_or(0);
                if let Some(place) = places.get_mut(r) {
                    *place = (g.socket.unwrap_or(node), g.die.unwrap_or(0));
                }
            }
        }
        places
    }

    /// Sibling groups (one per core) with their explicit core id, sorted by lowest CPU.
    fn sibling_groups(&self, cpu_node: &CpuNodes, errors: &mut Vec<BuildError>) -> Vec<(IdSet, Option<u32>)> {
        let mut groups = Vec::new();
        let mut claimed = Claims::new(&cpu_node.index);
        // Explicit `siblings` statements first: CPUs of declared nodes, each in one group.
        for (i, s) in self.siblings.iter().enumerate() {
            let known = known_cpus(&s.cpus, cpu_node, DeclRef::Siblings(i), errors);
            let (mine, clashes) = claimed.claim(&cpu_node.index, &known, i);
            for (j, ids) in clashes {
                let message = format!("{} already in another sibling group", cpus_are(&ids));
                errors.push(error(DeclRef::Siblings(i), message).other(DeclRef::Siblings(j)));
            }
            // A core's threads share one node (the nodes are listed only when they do not).
            let spans = {
                let mut on = mine.iter().filter_map(|c| cpu_node.node_of(c));
                let first = on.next();
                on.any(|n| Some(n) != first)
            };
            if spans {
                let nodes: BTreeSet<u32> = mine.iter().filter_map(|c| cpu_node.node_of(c)).collect();
                let list: Vec<String> = nodes.iter().map(u32::to_string).collect();
                let message = format!("sibling group {} spans nodes {}", s.cpus, list.join(", "));
                errors.push(error(DeclRef::Siblings(i), message));
            }
            if !mine.is_empty() {
                groups.push((mine, s.core));
            }
        }
        // The other CPUs follow the smt rule (absent = `none`).
        let all: Vec<u32> = cpu_node.all().iter().collect();
        let covered: IdSet = all
            .iter()
            .enumerate()
            .filter(|&(r, _)| claimed.owner(r).is_some())
            .map(|(_, &c)| c)
            .collect();
        const HELP: &str = "list the cores with `siblings` statements instead";
        match rule_groups(self.smt.unwrap_or(SmtRule::None), &all, &covered) {
            Err(message) => errors.push(error(DeclRef::Smt, message).help(HELP)),
            Ok(derived) => {
                // An smt rule may not pair CPUs of two nodes.
                let node_of = |c: u32| cpu_node.node_of(c);
                let split: Vec<&IdSet> = derived
                    .iter()
                    .filter(|g| {
                        let first = g.first().and_then(node_of);
                        g.iter().skip(1).any(|c| node_of(c) != first)
                    })
                    .collect();
                if let Some(first) = split.first() {
                    let n = split.len();
                    let message = format!("the smt rule pairs CPUs {first} of different nodes ({n} such pairs)");
                    errors.push(error(DeclRef::Smt, message).help(HELP));
                }
                groups.extend(derived.into_iter().map(|g| (g, None)));
            }
        }
        // Sibling groups are disjoint: each lowest CPU once.
        groups.sort_unstable_by_key(|(g, _)| g.first());
        groups
    }

    /// The distance matrix over nodes in id order.
    fn distance_matrix(&self, node_decl: &BTreeMap<u32, usize>, errors: &mut Vec<BuildError>) -> Vec<Vec<u32>> {
        let index: BTreeMap<u32, usize> = node_decl.keys().enumerate().map(|(i, &id)| (id, i)).collect();
        let n = index.len();
        // Diagonal defaults to 10, off-diagonal to 20.
        let default = |i, j| {
            if i == j { LOCAL_DISTANCE } else { REMOTE_DISTANCE }
        };
        let mut m: Vec<Vec<u32>> = (0..n).map(|i| (0..n).map(|j| default(i, j)).collect()).collect();
        let mut given: BTreeMap<(u32, u32), (u32, usize)> = BTreeMap::new();
        for (i, d) in self.distances.iter().enumerate() {
            let (from, to) = (d.from, d.to);
            // Both ends must be declared nodes.
            if let Some(id) = [from, to].into_iter().find(|id| !index.contains_key(id)) {
                errors.push(error(DeclRef::Distance(i), format!("distance to undeclared node {id}")));
            // 0 means "no distance" to ACPI and libvirt, never a real value.
            } else if d.value == 0 {
                errors.push(error(DeclRef::Distance(i), format!("distance {from} {to} cannot be 0")));
            // One value per direction.
            } else if let Some(&(_, first)) = given.get(&(from, to)) {
                let e = error(DeclRef::Distance(i), format!("distance {from} {to} is declared twice"));
                errors.push(e.other(DeclRef::Distance(first)));
            } else {
                given.insert((from, to), (d.value, i));
            }
        }
        // A declared distance also sets the reverse direction unless that is declared too.
        for (&(from, to), &(value, _)) in &given {
            let (Some(&i), Some(&j)) = (index.get(&from), index.get(&to)) else {
                continue;
            };
            set_cell(&mut m, i, j, value);
            if !given.contains_key(&(to, from)) {
                set_cell(&mut m, j, i, value);
            }
        }
        m
    }

    /// Node id → hugepage pools sorted by size.
    fn hugepage_pools(
        &self,
        node_decl: &BTreeMap<u32, usize>,
        errors: &mut Vec<BuildError>,
    ) -> BTreeMap<u32, Vec<HugePages>> {
        let mut pools: BTreeMap<u32, Vec<HugePages>> = BTreeMap::new();
        let mut seen: BTreeMap<(u32, u64), usize> = BTreeMap::new();
        for (i, h) in self.hugepages.iter().enumerate() {
            // The node must be declared; one pool per (node, size).
            if !node_decl.contains_key(&h.node) {
                errors.push(error(
                    DeclRef::Hugepages(i),
                    format!("hugepages on undeclared node {}", h.node),
                ));
            } else if let Some(&first) = seen.get(&(h.node, h.size_kib)) {
                let message = format!("node {} has two {} KiB hugepage pools", h.node, h.size_kib);
                errors.push(error(DeclRef::Hugepages(i), message).other(DeclRef::Hugepages(first)));
            } else {
                seen.insert((h.node, h.size_kib), i);
                pools.entry(h.node).or_default().push(HugePages {
                    size_kib: h.size_kib,
                    count: h.count,
                });
            }
        }
        pools.values_mut().for_each(|list| list.sort_by_key(|p| p.size_kib));
        pools
    }
}

/// The CPUs of `set` that are on a node; the others are an error of `decl`.
fn known_cpus<'s>(set: &'s IdSet, cpu_node: &CpuNodes, decl: DeclRef, errors: &mut Vec<BuildError>) -> Cow<'s, IdSet> {
    // The common case: every CPU is on a node.
    if set.is_subset(cpu_node.all()) {
        return Cow::Borrowed(set);
    }
    let unknown = set.difference(cpu_node.all());
    if !unknown.is_empty() {
        let message = format!("{} not on any node", cpus_are(&unknown));
        errors.push(error(decl, message).help("CPUs are declared by `node ... cpus=`"));
    }
    Cow::Owned(set.intersection(cpu_node.all()))
}

/// "CPU 3 is" / "CPUs 3-4 are", for messages.
fn cpus_are(set: &IdSet) -> String {
    match set.len() {
        1 => format!("CPU {set} is"),
        _ => format!("CPUs {set} are"),
    }
}

fn set_cell(m: &mut [Vec<u32>], i: usize, j: usize, value: u32) {
    if let Some(cell) = m.get_mut(i).and_then(|row| row.get_mut(j)) {
        *cell = value;
    }
}

/// The cores an smt rule makes of the CPUs in `all` (sorted) not in `covered`, sorted by
/// lowest CPU. A pair with one CPU covered leaves the other CPU alone.
pub(crate) fn rule_groups(rule: SmtRule, all: &[u32], covered: &IdSet) -> Result<Vec<IdSet>, String> {
    let free = |c: u32| !covered.contains(c);
    let mut groups = Vec::new();
    match rule {
        SmtRule::None => groups.extend(all.iter().copied().filter(|&c| free(c)).map(IdSet::single)),
        SmtRule::Adjacent => {
            let present: IdSet = all.iter().copied().collect();
            for &c in all.iter().filter(|&&c| free(c)) {
                let mate = c ^ 1;
                let paired = present.contains(mate) && free(mate);
                if !paired {
                    groups.push(IdSet::single(c));
                } else if c % 2 == 0 {
                    groups.push(IdSet::from_ids([c, mate]));
                }
            }
        }
        SmtRule::Split => {
            if all.len() % 2 == 1 {
                return Err(format!(
                    "`smt split` needs an even number of CPUs; this host has {}",
                    all.len()
                ));
            }
            let half = all.len() / 2;
            for (&a, &b) in all.iter().zip(all.iter().skip(half)).take(half) {
                match (free(a), free(b)) {
                    (true, true) => groups.push(IdSet::from_ids([a, b])),
                    (true, false) => groups.push(IdSet::single(a)),
                    (false, true) => groups.push(IdSet::single(b)),
                    (false, false) => {}
                }
            }
            groups.sort_by_key(IdSet::first);
        }
    }
    Ok(groups)
}

/// Derived core ids: each group's rank by lowest CPU id among all groups of its
/// (socket, die), explicit ones included. `places` is each group's (socket, die),
/// in order of lowest CPU.
pub(crate) fn derived_cores(places: &[(u32, u32)]) -> Vec<u32> {
    let mut next: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    places
        .iter()
        .map(|p| {
            let n = next.entry(*p).or_insert(0);
            let core = *n;
            *n += 1;
            core
        })
        .collect()
}

mod cpus;
mod resctrl;

#[cfg(test)]
mod tests;
