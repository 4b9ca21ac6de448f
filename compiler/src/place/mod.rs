//! Automatic partitioning (`vnuma`): host nodes → guest cells, vCPUs → cells by a
//! distribution, SMT-aware exclusive pinning, memory split and binding, distances.

pub mod hotplug;
pub mod topo;

use crate::host::HostProfile;
use crate::ir::{MemBinding, MemPolicy, Topology, VcpuPin};
use crate::sets::IdSet;
use crate::units::human_kib;
use topo::{HostTopo, Ledger};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Host,
    Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    Contiguous,
    Siblings,
    RoundRobin,
    Interleave,
}

impl Distribution {
    pub fn parse(w: &str) -> Distribution {
        match w {
            "siblings" => Distribution::Siblings,
            "round-robin" => Distribution::RoundRobin,
            "interleave" => Distribution::Interleave,
            _ => Distribution::Contiguous,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Distribution::Contiguous => "contiguous",
            Distribution::Siblings => "siblings",
            Distribution::RoundRobin => "round-robin",
            Distribution::Interleave => "interleave",
        }
    }

    /// Whole guest cores of T threads, or single vCPUs.
    fn core_units(self) -> bool {
        matches!(self, Distribution::Siblings | Distribution::Interleave)
    }

    /// Unit j → cell j mod N, instead of consecutive blocks.
    fn modulo(self) -> bool {
        matches!(self, Distribution::RoundRobin | Distribution::Interleave)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    Cpu,
    Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub mode: Mode,
    pub nodeset: Option<IdSet>,
    pub cells: Option<u32>,
    pub distribution: Distribution,
    pub pinning: Pinning,
    /// Strict, Interleave or Preferred.
    pub memory_mode: MemPolicy,
    pub vcpus: u32,
    pub memory_kib: u64,
    pub page_kib: Option<u64>,
}

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
    /// Why the blocks are uneven, when they are.
    pub uneven: Option<String>,
    used_cores: Vec<usize>,
    /// Some cell's dedicated cores are not all in one L3 domain (only on hosts with L3 domains).
    l3_split: bool,
    /// (node index, KiB) of plain memory, or pages when `page_kib` is set.
    memory: Vec<(usize, u64)>,
    page_kib: Option<u64>,
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

fn fail<T>(field: Field, message: String, help: &str) -> Result<T, PlanError> {
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

/// Plan, and on running out of room, find what would fit instead.
pub fn plan_with_hints(host: &HostProfile, topo: &HostTopo, ledger: &Ledger, req: &Request) -> Result<Plan, PlanError> {
    let mut err = match plan(host, topo, ledger, req) {
        Ok(p) => return Ok(p),
        Err(e) if !e.capacity => return Err(e),
        Err(e) => e,
    };
    let fits = |r: &Request| plan(host, topo, ledger, r).is_ok();
    // The largest guest that fits, vCPUs first (in whole units), then memory (in GiB).
    let unit = if req.distribution.core_units() {
        topo.smt.max(1)
    } else {
        1
    };
    let largest = |lo: u64, hi: u64, with: &dyn Fn(u64) -> Request| -> Option<u64> {
        if hi < lo || !fits(&with(lo)) {
            return None;
        }
        let (mut ok, mut bad) = (lo, hi + 1);
        while bad - ok > 1 {
            let mid = ok + (bad - ok) / 2;
            if fits(&with(mid)) {
                ok = mid;
            } else {
                bad = mid;
            }
        }
        Some(ok)
    };
    let vcpus_units = u64::from(req.vcpus / unit);
    if let Some(u) = largest(1, vcpus_units.saturating_sub(1), &|u| Request {
        vcpus: (u as u32) * unit,
        cells: req.cells.map(|c| c.min(u as u32)),
        ..req.clone()
    }) {
        err.help.push(format!("`vcpus {}` fits", u as u32 * unit));
    }
    const GIB: u64 = 1 << 20;
    if let Some(g) = largest(1, (req.memory_kib / GIB).saturating_sub(1), &|g| Request {
        memory_kib: g * GIB,
        ..req.clone()
    }) {
        err.help.push(format!("`memory {g}GiB` fits"));
    }
    let cells_now = req.cells.unwrap_or(0);
    for k in (1..cells_now).rev() {
        let r = Request {
            cells: Some(k),
            ..req.clone()
        };
        if fits(&r) {
            err.help.push(format!("cells={k} fits"));
            break;
        }
    }
    if req.mode == Mode::Node {
        for n in &host.nodes {
            let r = Request {
                nodeset: Some(IdSet::single(n.id)),
                ..req.clone()
            };
            if req.nodeset.as_ref() != r.nodeset.as_ref() && fits(&r) {
                err.help.push(format!("node {} has room: `nodeset={}`", n.id, n.id));
                break;
            }
        }
    }
    if req.pinning == Pinning::Cpu {
        let r = Request {
            pinning: Pinning::Node,
            ..req.clone()
        };
        if fits(&r) {
            err.help
                .push("`pinning=node` fits, with vCPUs sharing their nodes' CPUs".into());
        }
    }
    Err(err)
}

/// Record a plan's use of the host so later guests see it.
pub fn commit(ledger: &mut Ledger, topo: &HostTopo, plan: &Plan) {
    for &c in &plan.used_cores {
        if let Some(u) = ledger.core_used.get_mut(c) {
            *u = true;
        }
        if let Some(core) = topo.cores.get(c)
            && let Some(f) = ledger.free_cores.get_mut(core.node)
        {
            *f = f.saturating_sub(1);
        }
    }
    if plan.pinning_cpu() {
        let taken: IdSet = plan.pins.iter().flat_map(|p| p.cpus.iter()).collect();
        ledger.dedicated = ledger.dedicated.union(&taken);
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

impl Plan {
    fn pinning_cpu(&self) -> bool {
        !self.used_cores.is_empty()
    }
}

pub fn plan(host: &HostProfile, topo: &HostTopo, ledger: &Ledger, req: &Request) -> Result<Plan, PlanError> {
    if req.mode == Mode::Node && req.nodeset.is_none() {
        return pick_nodes(host, topo, ledger, req);
    }
    let nodes = resolve_nodes(host, req)?;
    plan_on(host, topo, ledger, req, &nodes, false)
}

/// Node indices the guest may use, from `mode` and `nodeset`.
fn resolve_nodes(host: &HostProfile, req: &Request) -> Result<Vec<usize>, PlanError> {
    let wanted = req.nodeset.clone().unwrap_or_else(|| host.node_ids());
    let missing = wanted.difference(&host.node_ids());
    if !missing.is_empty() {
        return fail(
            Field::Nodeset,
            format!("the host has no node {missing}"),
            &format!("the host has nodes {}", host.node_ids()),
        );
    }
    let mut out = Vec::new();
    for id in wanted.iter() {
        let Some(i) = host.node_index(id) else { continue };
        if host.nodes[i].cpus.is_empty() {
            if req.mode == Mode::Node {
                return fail(
                    Field::Nodeset,
                    format!("host node {id} has no CPUs"),
                    "memory-only nodes (such as CXL expanders) cannot run vCPUs; bind a hand-written memory-only cell to them instead",
                );
            }
            continue; // mode=host mirrors the nodes that have CPUs.
        }
        out.push(i);
    }
    if out.is_empty() {
        return fail(
            Field::Nodeset,
            "no host node with CPUs to place the guest on".into(),
            "name nodes that have CPUs",
        );
    }
    Ok(out)
}

/// Units → cores on a host with L3 domains. Cell by cell, and within a cell node by node, the
/// cell's k units on a node take k free cores of one L3 domain when some domain there has
/// k free: a domain the build already uses before a fresh one, then the one with the fewest
/// free cores, then the first in core order. Otherwise they take the fewest domains that
/// hold k: the domains with the most free cores whole (a partly used one first on a tie, then
/// the first in core order) until what is left fits in one more, which is then chosen by the
/// one-domain rule. Cores of no domain come last, once every domain is full. `free` lists
/// each node's free cores in core order (socket, die, L3 domain, core id).
fn cores_by_l3(
    topo: &HostTopo,
    ledger: &Ledger,
    mut free: Vec<Vec<usize>>,
    unit_node: &[(usize, u32, usize)],
) -> Vec<(u32, usize)> {
    let mut taken = vec![false; topo.cores.len()];
    let mut portions: std::collections::BTreeMap<(usize, usize), Vec<u32>> = std::collections::BTreeMap::new();
    for &(c, u, node) in unit_node {
        portions.entry((c, node)).or_default().push(u);
    }
    let mut out = Vec::new();
    for ((_, node), mut units) in portions {
        units.sort_unstable();
        let Some(list) = free.get_mut(node) else { continue };
        let chosen = l3_choice(topo, ledger, &taken, list, units.len());
        for &core in &chosen {
            if let Some(t) = taken.get_mut(core) {
                *t = true;
            }
        }
        list.retain(|&core| !taken.get(core).copied().unwrap_or(false));
        out.extend(units.into_iter().zip(chosen));
    }
    out
}

/// k cores out of `list` (one node's free cores, in core order) by the rules of `cores_by_l3`.
fn l3_choice(topo: &HostTopo, ledger: &Ledger, taken: &[bool], list: &[usize], k: usize) -> Vec<usize> {
    let used =
        |core: usize| ledger.core_used.get(core).copied().unwrap_or(false) || taken.get(core).copied().unwrap_or(false);
    let partly = |d: usize| topo.l3_cores.get(d).is_some_and(|cs| cs.iter().any(|&c| used(c)));
    let domain_of = |core: usize| topo.cores.get(core).and_then(|c| c.l3);
    // Free cores per domain: (domain, count, position of the first), in core order.
    let mut domains: Vec<(usize, usize, usize)> = Vec::new();
    for (pos, &core) in list.iter().enumerate() {
        let Some(d) = domain_of(core) else { continue };
        match domains.iter_mut().find(|e| e.0 == d) {
            Some(e) => e.1 += 1,
            None => domains.push((d, 1, pos)),
        }
    }
    // The one-domain rule: the tightest domain holding `need`, partly used ones first.
    let fit = |domains: &[(usize, usize, usize)], need: usize| {
        domains
            .iter()
            .filter(|e| e.1 >= need)
            .min_by_key(|&&(d, count, pos)| (!partly(d), count, pos))
            .map(|e| e.0)
    };
    let cores_in = |d: usize| list.iter().copied().filter(move |&core| domain_of(core) == Some(d));
    if let Some(d) = fit(&domains, k) {
        return cores_in(d).take(k).collect();
    }
    // The fewest domains: the roomiest whole while the rest fits in none.
    domains.sort_by_key(|&(d, count, pos)| (std::cmp::Reverse(count), !partly(d), pos));
    let mut chosen = Vec::with_capacity(k);
    let mut rest = &domains[..];
    while let Some((&(d, count, _), tail)) = rest.split_first() {
        let need = k - chosen.len();
        if need == 0 {
            break;
        }
        if let Some(last) = fit(rest, need) {
            chosen.extend(cores_in(last).take(need));
            break;
        }
        chosen.extend(cores_in(d).take(count));
        rest = tail;
    }
    // Every domain is full: cores of no domain, in core order.
    let need = k - chosen.len();
    chosen.extend(
        list.iter()
            .copied()
            .filter(|&core| domain_of(core).is_none())
            .take(need),
    );
    chosen
}

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

/// Tries a picker may spend on one guest before it falls back to heuristics.
const PICK_BUDGET: usize = 4096;

/// `mode=node` without `nodeset`: the fewest nodes that fit, then the least used, then the
/// most free memory. Sets of one size are tried in that preference order, exhaustively while
/// the budget lasts, then by two heuristics (least used first; most free cores first). On a
/// host with L3 domains, when the first set that fits leaves some dedicated cell across L3
/// domains, the later sets that tie with it (same size, same guest counts and free memory)
/// are tried too, within the same budget, and the first that keeps every cell in one domain
/// wins; when none does, the first set stays.
fn pick_nodes(host: &HostProfile, topo: &HostTopo, ledger: &Ledger, req: &Request) -> Result<Plan, PlanError> {
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

fn plan_on(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
    nodes: &[usize],
    picked: bool,
) -> Result<Plan, PlanError> {
    let p = nodes.len() as u32;
    let n = req.cells.unwrap_or(if req.mode == Mode::Host { p } else { 1 });
    if n == 0 {
        return fail(
            Field::Cells,
            "a guest needs at least one cell".into(),
            "write `cells=1` or more",
        );
    }
    if req.mode == Mode::Host && n < p {
        return fail(
            Field::Cells,
            format!("`mode=host` mirrors {p} host nodes, so it needs at least {p} cells, not {n}"),
            &format!("use `cells={p}` or more, or `mode=node` to share nodes between cells"),
        );
    }
    let t = if req.distribution.core_units() {
        topo.smt.max(1)
    } else {
        1
    };
    if !req.vcpus.is_multiple_of(t) {
        return fail(
            Field::Vcpus,
            format!(
                "`distribution={}` places whole cores of {t} threads, but {} vCPUs is not a multiple of {t}",
                req.distribution.name(),
                req.vcpus
            ),
            &format!(
                "use {} or {} vCPUs, or `distribution=contiguous`",
                req.vcpus / t * t,
                (req.vcpus / t + 1) * t
            ),
        );
    }
    let units = req.vcpus / t;
    if units < n {
        return fail(
            Field::Cells,
            format!(
                "{n} cells need at least {n} {}, but the guest has {units}",
                if t > 1 { "guest cores" } else { "vCPUs" }
            ),
            &format!("use at most `cells={units}`"),
        );
    }

    // Cell → host node group.
    let groups: Vec<Vec<usize>> = if n >= p {
        let mut g = Vec::new();
        for (i, &node) in nodes.iter().enumerate() {
            let k = n / p + u32::from((i as u32) < n % p);
            for _ in 0..k {
                g.push(vec![node]);
            }
        }
        g
    } else {
        let mut g = Vec::new();
        let mut at = 0usize;
        for c in 0..n {
            let size = (p / n + u32::from(c < p % n)) as usize;
            g.push(nodes[at..at + size].to_vec());
            at += size;
        }
        g
    };

    // Units → cells.
    let mut cell_units: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
    if req.distribution.modulo() {
        for j in 0..units {
            cell_units[(j % n) as usize].push(j);
        }
    } else {
        let mut j = 0;
        for (c, list) in cell_units.iter_mut().enumerate() {
            let count = units / n + u32::from((c as u32) < units % n);
            list.extend(j..j + count);
            j += count;
        }
    }
    let even = units.is_multiple_of(n);
    let uneven = (!even).then(|| {
        format!(
            "{units} {} do not divide evenly into {n} cells: cells get {} or {}",
            if t > 1 { "guest cores" } else { "vCPUs" },
            units / n + 1,
            units / n
        )
    });
    let topology = match (req.distribution, even) {
        (Distribution::Contiguous, true) => Topology {
            sockets: n,
            dies: 1,
            cores: units / n,
            threads: 1,
        },
        (Distribution::Siblings, true) => Topology {
            sockets: n,
            dies: 1,
            cores: units / n,
            threads: t,
        },
        (Distribution::Contiguous | Distribution::RoundRobin, _) => Topology {
            sockets: req.vcpus,
            dies: 1,
            cores: 1,
            threads: 1,
        },
        (Distribution::Siblings | Distribution::Interleave, _) => Topology {
            sockets: units,
            dies: 1,
            cores: 1,
            threads: t,
        },
    };

    // Pinning.
    let mut pins: Vec<VcpuPin> = Vec::new();
    let mut used_cores = Vec::new();
    let mut l3_split = false;
    match req.pinning {
        Pinning::Cpu => {
            // Each unit takes a whole host core. A cell on one node takes that node's cores; a cell
            // over several nodes fills them in order, each up to its free cores.
            let free: Vec<Vec<usize>> = topo
                .node_cores
                .iter()
                .map(|cores| {
                    cores
                        .iter()
                        .copied()
                        .filter(|&c| {
                            !ledger.core_used[c] && !topo.cores[c].reserved && topo.cores[c].threads.len() as u32 >= t
                        })
                        .collect()
                })
                .collect();
            let mut remaining: Vec<u32> = free.iter().map(|f| f.len() as u32).collect();
            let what = if t > 1 {
                format!("whole {t}-thread cores")
            } else {
                "cores".to_string()
            };
            let help = vec![if t == 1 {
                "each vCPU gets a physical core of its own, so its sibling thread stays free".to_string()
            } else {
                format!("each guest core takes one host core's {t} threads")
            }];
            let mut demand = vec![0u32; host.nodes.len()];
            for (c, list) in cell_units.iter().enumerate() {
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
                            "host node {id} has {} free {what} but cell{} {} need{} {d} (short by {})",
                            remaining[node],
                            if many { "s" } else { "" },
                            cells_here.join(", "),
                            if many { "" } else { "s" },
                            d - remaining[node]
                        ),
                        help,
                    });
                }
                remaining[node] -= d;
            }
            // (cell, unit, node)
            let mut unit_node: Vec<(usize, u32, usize)> = Vec::new();
            for (c, list) in cell_units.iter().enumerate() {
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
                                "host nodes {ids} have {have} free {what} but cell {c} needs {} (short by {})",
                                list.len(),
                                (list.len() as u32).saturating_sub(have)
                            ),
                            help,
                        });
                    };
                    unit_node.push((c, u, node));
                }
            }
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
            if !topo.l3_cores.is_empty() {
                // Each cell's L3 domain so far: None before its first core.
                let mut unit_cell = vec![0usize; units as usize];
                for (c, list) in cell_units.iter().enumerate() {
                    for &u in list {
                        if let Some(slot) = unit_cell.get_mut(u as usize) {
                            *slot = c;
                        }
                    }
                }
                let mut cell_domain: Vec<Option<Option<usize>>> = vec![None; n as usize];
                for &(u, core) in &unit_core {
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
                l3_split |= cell_domain.iter().any(|d| matches!(d, Some(None)));
            }
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
        }
        Pinning::Node => {
            for (c, list) in cell_units.iter().enumerate() {
                let cpus: IdSet = groups[c]
                    .iter()
                    .flat_map(|&i| host.nodes[i].cpus.iter())
                    .filter(|cpu| !host.reserved.contains(*cpu) && !ledger.taken.contains(*cpu))
                    .collect();
                if cpus.is_empty() {
                    let ids: IdSet = groups[c].iter().map(|&i| host.nodes[i].id).collect();
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
        }
    }
    pins.sort_by_key(|p| p.vcpu);

    // Memory: by vCPU share, in whole pages, leftovers to the lowest cells.
    let page = req.page_kib.unwrap_or(1024);
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
    let counts: Vec<u64> = cell_units.iter().map(|l| l.len() as u64 * u64::from(t)).collect();
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
            &format!("give the guest at least {} of memory", human_kib(page * u64::from(n))),
        );
    }
    // Memory lives on the nodes themselves, or for a node without memory on the nearest
    // node that has some.
    let homes = |list: &[usize]| -> Vec<usize> {
        let mut h: Vec<usize> = list.iter().map(|&i| memory_home(host, i)).collect();
        h.sort_unstable();
        h.dedup();
        h
    };
    let all_homes = homes(nodes);
    let all_ids: IdSet = all_homes.iter().map(|&i| host.nodes[i].id).collect();
    let mut memory: Vec<(usize, u64)> = Vec::new();
    let mut cells = Vec::new();
    for (c, list) in cell_units.iter().enumerate() {
        let cpu_ids: IdSet = groups[c].iter().map(|&i| host.nodes[i].id).collect();
        let group_homes = homes(&groups[c]);
        let group_ids: IdSet = group_homes.iter().map(|&i| host.nodes[i].id).collect();
        let binding = match req.memory_mode {
            MemPolicy::Interleave => MemBinding {
                nodes: all_ids.clone(),
                policy: MemPolicy::Interleave,
                auto: false,
            },
            MemPolicy::Preferred => {
                if group_homes.len() != 1 {
                    return fail(
                        Field::MemoryMode,
                        format!(
                            "`memory-mode=preferred` takes one node per cell, but cell {c} spans nodes {group_ids}"
                        ),
                        "use `memory-mode=strict` or `interleave`, or more cells",
                    );
                }
                MemBinding {
                    nodes: group_ids.clone(),
                    policy: MemPolicy::Preferred,
                    auto: false,
                }
            }
            _ => MemBinding {
                nodes: group_ids.clone(),
                policy: MemPolicy::Strict,
                auto: false,
            },
        };
        let spread: Vec<usize> = if req.memory_mode == MemPolicy::Interleave {
            all_homes.clone()
        } else {
            group_homes.clone()
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
    for &node in &all_homes {
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

    // Distances: the host's between different nodes, 11 within one node.
    let distances = (n > 1).then(|| {
        (0..n as usize)
            .map(|i| {
                (0..n as usize)
                    .map(|j| {
                        if i == j {
                            return 10;
                        }
                        let mut best = u32::MAX;
                        for &a in &groups[i] {
                            for &b in &groups[j] {
                                best = best.min(host.distances.get(a).and_then(|r| r.get(b)).copied().unwrap_or(20));
                            }
                        }
                        best.clamp(11, 255)
                    })
                    .collect()
            })
            .collect()
    });

    Ok(Plan {
        cells,
        pins,
        topology,
        distances,
        nodes: all_ids,
        picked,
        uneven,
        used_cores,
        l3_split,
        memory,
        page_kib: req.page_kib,
    })
}
