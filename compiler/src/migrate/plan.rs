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
/// for the help of a refusal for lack of room.
pub fn move_guest(g: &Guest, src: &HostProfile, dest: &Dest<'_>, elsewhere: &[String]) -> Result<Moved, Refused> {
    if let Some(d) = refuse::passthrough(g, dest.name).or_else(|| refuse::page_pool(g, dest)) {
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
    let own = emulator
        .iter()
        .chain(io.iter().flatten())
        .fold(IdSet::new(), |all, c| all.union(c));
    let dest_vcpus = out
        .pins
        .iter()
        .fold(pins.dedicated.union(&own), |all, p| all.union(&p.cpus));
    let home = |cpus: &IdSet, what: &str| {
        let t = Threads {
            cpus,
            src_vcpus: &used.vcpu_cpus,
            dest_vcpus: &dest_vcpus,
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
    elsewhere: &[String],
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
                errors: vec![refuse::no_room(g, dest, &first, elsewhere)],
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
/// bound nowhere beyond the destination's pools.
fn memory_short(out: &Guest, dest: &Dest<'_>) -> Option<Diagnostic> {
    let (bound, unbound) = bound_memory(out);
    for ((node, page), kib) in per_node(&bound) {
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
    for (page, kib) in unbound {
        let free: u64 = (0..dest.host.nodes.len()).map(|i| dest.room(i, Some(page))).sum();
        if kib > free {
            return Some(
                Diagnostic::error(
                    MOVE_NO_ROOM,
                    format!(
                        "host `{}` has {} left in {} pages but guest `{}` needs {}",
                        dest.name,
                        human_kib(free),
                        human_kib(page),
                        out.name,
                        human_kib(kib)
                    ),
                    out.spans.memory.unwrap_or(out.spans.name),
                    format!("does not fit `{}`", dest.name),
                )
                .with_help(format!("short by {}", human_kib(kib - free))),
            );
        }
    }
    None
}
