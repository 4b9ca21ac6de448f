//! One guest moved to a destination host: what it sees stays as built on the source; its
//! pins, emulator and I/O thread pins and memory bindings are planned again there.

use super::assign::{BUDGET, NodeMap, assign_groups, groups, merge_closest};
use super::bind::rebind_all;
use super::dest::Dest;
use super::distances::mismatch;
use super::refuse;
use super::repin::{Short, narrow, repin};
use super::threads::{Threads, own_core, rehome};
use super::usage::{Usage, bound_memory, per_node, usage};
use crate::codes::MOVE_NO_ROOM;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::Guest;
use crate::sets::IdSet;
use crate::units::human_kib;

/// A guest as it runs on the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub guest: Guest,
    /// Source node id → destination node id, for every node the guest used.
    pub nodes: Vec<(u32, u32)>,
    /// Warnings about the move (guest distances that no longer match the host).
    pub warnings: Vec<Diagnostic>,
}

/// Why a move failed: the refusals, and whether it was for lack of room (for which other
/// hosts may be suggested).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub errors: Vec<Diagnostic>,
    pub no_room: bool,
}

impl Refused {
    fn one(d: Diagnostic) -> Refused {
        Refused {
            no_room: d.code == MOVE_NO_ROOM,
            errors: vec![d],
        }
    }
}

/// Move `g`, as built on `src`, to `dest`. `elsewhere` names the other hosts it would fit,
/// for the help of a refusal for lack of room; it is asked only then.
pub fn move_guest(
    g: &Guest,
    src: &HostProfile,
    dest: &Dest<'_>,
    elsewhere: &dyn Fn() -> Vec<String>,
) -> Result<Moved, Refused> {
    let refused = refuse::passthrough(g, dest.name)
        .or_else(|| refuse::allocations(g, dest.name))
        .or_else(|| refuse::page_pool(g, dest));
    if let Some(d) = refused {
        return Err(Refused::one(d));
    }
    let mut used = usage(g, src);
    let widest = dest
        .topo
        .cores
        .iter()
        .map(|c| c.threads.len() as u32)
        .max()
        .unwrap_or(1);
    narrow(&mut used, g, widest).map_err(|vcpus| Refused::one(refuse::siblings(g, dest, &vcpus)))?;
    let map = node_map(g, src, dest, &used, elsewhere)?;
    let pins = repin(g, &used, src, &map, dest).map_err(|s| Refused::one(short(g, dest, s)))?;
    let mut out = g.clone();
    out.pins = pins.pins;
    let fallback = first_vcpu_node(g, src, &map);
    let (emulator, io) = isolated(g, src, &map, dest, fallback, pins.used)?;
    // The cores of isolated threads are the guest's own too: other threads keep off them.
    let own = emulator
        .iter()
        .chain(io.iter().flatten())
        .fold(IdSet::new(), |all, c| all.union(c));
    let dest_pinned = out.pins.iter().fold(own, |all, p| all.union(&p.cpus));
    let dest_vcpus = pins.dedicated.union(&dest_pinned);
    let home = |cpus: &IdSet, what: &str| {
        let t = Threads {
            cpus,
            src_vcpus: &used.vcpu_cpus,
            dest_vcpus: &dest_vcpus,
            dest_pinned: &dest_pinned,
            fallback,
        };
        rehome(&t, src, &map, dest).map_err(|nodes| Refused::one(refuse::threads(g, dest, what, &nodes)))
    };
    out.emulator_pin = match emulator {
        Some(core) => Some(core),
        None => g
            .emulator_pin
            .as_ref()
            .map(|e| home(e, "emulator threads"))
            .transpose()?,
    };
    out.iothread_pins = g
        .iothread_pins
        .iter()
        .zip(io)
        .map(|(e, core)| match core {
            Some(core) => Ok(Some(core)),
            None => e.as_ref().map(|e| home(e, "I/O threads")).transpose(),
        })
        .collect::<Result<_, _>>()?;
    rebind_all(&mut out, &map, dest.host);
    if let Some(d) = memory_short(&out, dest) {
        return Err(Refused::one(d));
    }
    let warnings = mismatch(g, src, &out, dest.host, dest.name).into_iter().collect();
    let nodes = map
        .iter()
        .filter_map(|(&s, &d)| Some((s, dest.host.nodes.get(d)?.id)))
        .collect();
    Ok(Moved {
        guest: out,
        nodes,
        warnings,
    })
}

/// The cores of the threads that had one of their own (`policy=isolate`): the emulator's
/// and each I/O thread's (None for a thread that shares), each a whole free core on the
/// image of its node.
type Cores = (Option<IdSet>, Vec<Option<IdSet>>);

fn isolated(
    g: &Guest,
    src: &HostProfile,
    map: &NodeMap,
    dest: &Dest<'_>,
    fallback: Option<usize>,
    mut used: std::collections::BTreeSet<usize>,
) -> Result<Cores, Refused> {
    let mut take = |cpus: &IdSet, what: &str| {
        own_core(cpus, src, map, dest, fallback, &mut used)
            .map_err(|nodes| Refused::one(refuse::threads(g, dest, what, &nodes)))
    };
    let emulator = match (&g.emulator_pin, g.isolated.emulator) {
        (Some(e), true) => Some(take(e, "emulator threads")?),
        _ => None,
    };
    let io = g
        .iothread_pins
        .iter()
        .map(|p| match (p, g.isolated.iothreads) {
            (Some(p), true) => take(p, "I/O threads").map(Some),
            _ => Ok(None),
        })
        .collect::<Result<_, _>>()?;
    Ok((emulator, io))
}

/// Where each source node goes: as many groups as the destination has nodes with CPUs,
/// merged by guest distance while they do not fit.
fn node_map(
    g: &Guest,
    src: &HostProfile,
    dest: &Dest<'_>,
    used: &Usage,
    elsewhere: &dyn Fn() -> Vec<String>,
) -> Result<NodeMap, Refused> {
    let mut gs = groups(used);
    let first = gs.clone();
    let with_cpus = dest.host.nodes.iter().filter(|n| !n.cpus.is_empty()).count().max(1);
    while gs.iter().filter(|x| x.runs_vcpus()).count() > with_cpus && merge_closest(&mut gs, g, src) {}
    let mut budget = BUDGET;
    loop {
        let mut attempt = gs.clone();
        if let Some(map) = assign_groups(dest, &mut attempt, &mut budget) {
            return Ok(map);
        }
        if budget == 0 || !merge_closest(&mut gs, g, src) {
            return Err(Refused {
                errors: vec![refuse::no_room(g, dest, &first, &elsewhere())],
                no_room: true,
            });
        }
    }
}

/// The destination node of the guest's first pinned vCPU: where threads of a node the
/// guest does not otherwise use go.
fn first_vcpu_node(g: &Guest, src: &HostProfile, map: &NodeMap) -> Option<usize> {
    let pin = g.pins.first()?;
    let node = src.cpu(pin.cpus.first()?)?.node;
    map.get(&node).copied()
}

fn short(g: &Guest, dest: &Dest<'_>, s: Short) -> Diagnostic {
    let (message, help) = match s {
        Short::Cores {
            node,
            width,
            need,
            have,
        } => (
            format!(
                "host `{}` node {} has {have} free cores of {width} thread{} for {need} that guest `{}` needs there",
                dest.name,
                dest.host.nodes.get(node).map(|n| n.id).unwrap_or_default(),
                if width == 1 { "" } else { "s" },
                g.name
            ),
            format!("free {} cores there", need - have.min(need)),
        ),
        Short::Shared { nodes, vcpu } => (
            format!(
                "vCPU {vcpu} of guest `{}` finds no CPU to share on host `{}` nodes {nodes}: every one is reserved or another guest's",
                g.name, dest.name
            ),
            "free a CPU there".to_string(),
        ),
    };
    Diagnostic::error(
        MOVE_NO_ROOM,
        message,
        g.spans.name,
        format!("does not fit `{}`", dest.name),
    )
    .with_help(help)
}

/// Memory the moved guest binds beyond what a destination node has left, or hugepages
/// beyond the destination's pools.
fn memory_short(out: &Guest, dest: &Dest<'_>) -> Option<Diagnostic> {
    let (bound, unbound) = bound_memory(out);
    let per_node = per_node(&bound);
    for (&(node, page), &kib) in &per_node {
        let Some(i) = dest.host.node_index(node) else { continue };
        let room = dest.room(i, page);
        if kib > room {
            let what = page.map(|p| format!(" in {} pages", human_kib(p))).unwrap_or_default();
            return Some(
                Diagnostic::error(
                    MOVE_NO_ROOM,
                    format!(
                        "host `{}` node {node} has {}{what} left but guest `{}` binds {} there",
                        dest.name,
                        human_kib(room),
                        out.name,
                        human_kib(kib)
                    ),
                    out.spans.memory.unwrap_or(out.spans.name),
                    format!("does not fit `{}`", dest.name),
                )
                .with_help(format!("short by {}", human_kib(kib - room))),
            );
        }
    }
    pages_short(out, dest, &per_node, &unbound)
}

/// Hugepages bound to no node come from any node's pool: when the guest or the
/// destination's guests have such pages of a size the guest uses, every page of that size
/// (bound to a node or not, the guest's and theirs) must fit the pools together, as `build`
/// counts them.
fn pages_short(
    out: &Guest,
    dest: &Dest<'_>,
    per_node: &std::collections::BTreeMap<(u32, Option<u64>), u64>,
    unbound: &[(u64, u64)],
) -> Option<Diagnostic> {
    let mut sizes: Vec<u64> = per_node.keys().filter_map(|&(_, p)| p).collect();
    sizes.extend(unbound.iter().map(|&(p, _)| p));
    sizes.sort_unstable();
    sizes.dedup();
    for page in sizes {
        let loose: u64 = unbound.iter().filter(|&&(p, _)| p == page).map(|&(_, k)| k).sum();
        let theirs = dest.ledger.loose_pages(page).saturating_mul(page);
        if loose == 0 && theirs == 0 {
            continue;
        }
        let own: u64 = per_node
            .iter()
            .filter(|&(&(_, p), _)| p == Some(page))
            .map(|(_, &k)| k)
            .sum::<u64>()
            + loose;
        let pools: u64 = (0..dest.host.nodes.len()).map(|i| dest.room(i, Some(page))).sum();
        let left = pools.saturating_sub(theirs);
        if own > left {
            let after = if theirs > 0 {
                format!(" after the {} its guests take from any node", human_kib(theirs))
            } else {
                String::new()
            };
            return Some(
                Diagnostic::error(
                    MOVE_NO_ROOM,
                    format!(
                        "host `{}` has {} left in {} pages{after} but guest `{}` needs {}",
                        dest.name,
                        human_kib(left),
                        human_kib(page),
                        out.name,
                        human_kib(own)
                    ),
                    out.spans.memory.unwrap_or(out.spans.name),
                    format!("does not fit `{}`", dest.name),
                )
                .with_help(format!("short by {}", human_kib(own - left))),
            );
        }
    }
    None
}
