//! The emulator's and each I/O thread's host CPUs once the cells are known: pins written
//! by hand, per-cell threads on their cell's host node, and the cores `vnuma` gave the
//! isolated threads. Per-cell threads of a placed guest that share their node are placed
//! after every guest of the host (`check/shared.rs`).

use super::body::Body;
use super::cx::Cx;
use super::devices::Io;
use super::threads::Threads;
use super::vnuma::Placed;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, Isolated};
use crate::sets::IdSet;
use crate::span::Span;

/// What `vnuma` placed for the threads.
pub(super) struct PlacedThreads<'p> {
    /// Each isolated thread's core: (cell, its threads), cell 0's first: the emulator's,
    /// then the I/O threads'.
    pub(super) isolated: &'p [(usize, IdSet)],
    /// The host nodes each cell runs on.
    pub(super) cell_nodes: &'p [IdSet],
}

/// The guest's threads, resolved.
#[derive(Debug, Default)]
pub(super) struct ThreadPins {
    pub(super) emulator: Option<IdSet>,
    pub(super) count: u32,
    /// One per I/O thread.
    pub(super) pins: Vec<Option<IdSet>>,
    /// The host nodes each I/O thread runs on, when known.
    pub(super) nodes: Vec<Option<IdSet>>,
    pub(super) per_cell: bool,
    pub(super) isolated: Isolated,
    /// Per-cell threads of a placed guest on their cell's nodes, placed after the build:
    /// (thread index, the cell's host nodes).
    pub(super) later: Vec<(u32, IdSet)>,
    /// `vnuma shared-vcpus=` of a placed guest.
    pub(super) shared_vcpus: IdSet,
}

/// The threads of `t` on the guest's final `cells`; `placed` for a guest `vnuma` placed.
pub(super) fn resolve(
    t: &Threads,
    cells: &[GuestCell],
    placed: Option<&PlacedThreads<'_>>,
    cx: &mut Cx<'_, '_>,
) -> ThreadPins {
    let mut out = ThreadPins {
        emulator: t.emulator.clone(),
        per_cell: t.per_cell.is_some(),
        ..ThreadPins::default()
    };
    out.count = match (t.count, t.per_cell) {
        (Some(n), _) => n,
        (None, Some(_)) if cells.is_empty() => {
            if let Some(span) = t.per_cell {
                cx.err(
                    Diagnostic::error(
                        THREAD_POLICY,
                        "`iothreads per-cell` needs guest cells, and this guest has none",
                        span,
                        "one thread per cell",
                    )
                    .with_help("give the guest cells (`numa { cell … }` or `vnuma …`), or write `iothreads N`"),
                );
            }
            return out;
        }
        (None, Some(_)) => cells.len() as u32,
        (None, None) => 0,
    };
    out.pins = vec![t.all.clone(); out.count as usize];
    out.nodes = vec![None; out.count as usize];
    for (k, cpus, span) in &t.one {
        match out.pins.get_mut((*k as usize).wrapping_sub(1)) {
            Some(slot) => *slot = Some(cpus.clone()),
            None => cx.err(no_such_thread(*k, out.count, *span)),
        }
    }
    if let Some(p) = placed {
        isolated(t, p, &mut out);
    }
    if t.per_cell.is_some() && t.iothreads_isolate.is_none() {
        match placed {
            Some(p) => {
                for (c, nodes) in p.cell_nodes.iter().enumerate() {
                    out.later.push((c as u32, nodes.clone()));
                    if let Some(slot) = out.nodes.get_mut(c) {
                        *slot = Some(nodes.clone());
                    }
                }
            }
            None => by_cell(t, cells, &mut out, cx),
        }
    }
    if let Some(h) = cx.host {
        for (pin, nodes) in out.pins.iter().zip(&mut out.nodes) {
            if let Some(p) = pin {
                *nodes = Some(h.profile.nodes_of_cpus(p));
            }
        }
    }
    out
}

fn no_such_thread(k: u32, count: u32, span: Span) -> Diagnostic {
    Diagnostic::error(
        THREAD_POLICY,
        format!("I/O thread {k} does not exist"),
        span,
        if count == 0 {
            "the guest has no I/O threads".to_string()
        } else {
            format!("the guest has I/O threads 1 to {count}")
        },
    )
    .with_help("I/O threads are numbered from 1, as libvirt numbers them")
}

/// The isolated cores `vnuma` placed: the emulator's first, then the I/O threads', in
/// thread order (per cell: cell by cell).
fn isolated(t: &Threads, p: &PlacedThreads<'_>, out: &mut ThreadPins) {
    let mut cores = p.isolated.iter();
    if t.emulator_isolate.is_some()
        && let Some((_, core)) = cores.next()
    {
        out.emulator = Some(core.clone());
        out.isolated.emulator = true;
    }
    if t.iothreads_isolate.is_some() {
        for (slot, (_, core)) in out.pins.iter_mut().zip(cores) {
            *slot = Some(core.clone());
        }
        out.isolated.iothreads = true;
    }
}

/// Per-cell threads of a hand-written guest: each on its cell's bound host nodes' CPUs.
fn by_cell(t: &Threads, cells: &[GuestCell], out: &mut ThreadPins, cx: &mut Cx<'_, '_>) {
    let Some(span) = t.per_cell else { return };
    let Some(host) = cx.need_host("`iothreads per-cell`", span) else {
        return;
    };
    let mut problems = Vec::new();
    for (c, cell) in cells.iter().enumerate() {
        let Some(b) = &cell.binding else {
            problems.push(format!("cell {} is bound to no host node (`host-node=`)", cell.id));
            continue;
        };
        let cpus: IdSet = b
            .nodes
            .iter()
            .filter_map(|n| host.node(n))
            .fold(IdSet::new(), |all, n| all.union(&n.cpus));
        if cpus.is_empty() {
            problems.push(format!("cell {}'s host node {} has no CPUs", cell.id, b.nodes));
            continue;
        }
        if let Some(slot) = out.pins.get_mut(c) {
            *slot = Some(cpus);
        }
    }
    if let Some(first) = problems.first() {
        cx.err(
            Diagnostic::error(
                THREAD_POLICY,
                format!("`iothreads per-cell` runs each thread on its cell's host node, but {first}"),
                span,
                "one thread per cell",
            )
            .with_help("bind every cell to a host node with CPUs (`cell … host-node=N`), or write `iothreads N`"),
        );
    }
}

/// The threads of a guest once `vnuma` placed it, or on its written cells; nothing for a
/// guest `vnuma` did not place (its errors are reported).
pub(super) fn after(
    body: &Body<'_>,
    t: &Threads,
    cells: &[GuestCell],
    placed: Option<&Placed>,
    cx: &mut Cx<'_, '_>,
) -> ThreadPins {
    if placed.is_none() && body.writes("vnuma") {
        return ThreadPins::default();
    }
    let p = placed.map(|p| PlacedThreads {
        isolated: &p.isolated,
        cell_nodes: &p.cell_nodes,
    });
    let mut out = resolve(t, cells, p.as_ref(), cx);
    if placed.is_some() {
        out.shared_vcpus = body
            .find("vnuma")
            .and_then(|v| v.set("shared-vcpus"))
            .cloned()
            .unwrap_or_default();
    }
    out
}

impl ThreadPins {
    /// What the devices see of the I/O threads.
    pub(super) fn io(&self) -> Io {
        Io {
            count: self.count,
            per_cell: self.per_cell,
            nodes: self.nodes.clone(),
        }
    }
}
