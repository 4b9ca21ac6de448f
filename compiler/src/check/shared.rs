//! What is placed once every guest of a host is: the shared vCPUs of a placed guest over
//! the CPUs of their cell's nodes that no guest has as dedicated, and its per-cell I/O
//! threads that share their node (as its emulator threads do, `emulator.rs`). Placed
//! after the fold, so that a guest placed later in the file is not on them either.

use super::checked::HostDef;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::place::shared_cpus;
use crate::place::topo::Ledger;
use crate::sets::IdSet;
use crate::span::{FileId, Span};

/// What a placed guest leaves to be placed after every guest of its host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Later {
    /// Per-cell I/O threads that share their node: (thread index from 0, its cell's host nodes).
    pub iothreads: Vec<(u32, IdSet)>,
    /// Shared vCPUs: (the vCPUs of one cell, that cell's host nodes).
    pub shared: Vec<(IdSet, IdSet)>,
    /// The `iothreads` statement.
    pub iothreads_span: Span,
    /// `shared-vcpus=`.
    pub shared_span: Span,
}

impl Later {
    pub fn is_empty(&self) -> bool {
        self.iothreads.is_empty() && self.shared.is_empty()
    }

    /// Its spans moved into their file ([`Span::relocate`]).
    pub fn relocated(&self, file: FileId, at: u32) -> Later {
        Later {
            iothreads_span: self.iothreads_span.relocate(file, at),
            shared_span: self.shared_span.relocate(file, at),
            ..self.clone()
        }
    }
}

/// Where [`Later`]'s threads and vCPUs go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaterPins {
    /// (thread index from 0, its CPUs).
    pub iothreads: Vec<(u32, IdSet)>,
    /// (vCPUs, their CPUs).
    pub shared: Vec<(IdSet, IdSet)>,
}

/// The CPUs of `later` on `host` after every guest of it took its share (`ledger`), or
/// one error for each that finds none.
pub fn later_pins(host: &HostDef, ledger: &Ledger, later: &Later, guest: &str) -> Result<LaterPins, Vec<Diagnostic>> {
    let profile = &host.profile;
    let mut out = LaterPins::default();
    let mut errors = Vec::new();
    for (k, nodes) in &later.iothreads {
        let cpus = share_cpus(host, ledger, nodes);
        if cpus.is_empty() {
            errors.push(
                Diagnostic::error(
                    THREAD_NO_CORE,
                    format!(
                        "every CPU of host node{} {nodes} runs a dedicated vCPU or an isolated thread, leaving none for `{guest}`'s I/O thread {} (cell {k})",
                        plural(nodes),
                        k + 1
                    ),
                    later.iothreads_span,
                    "I/O threads need a CPU",
                )
                .with_help(format!(
                    "reserve a CPU on node {nodes} for the host (`reserve cpus=…`), write `policy=isolate` to give each thread a core of its own, or `iothreads N cpus=…`"
                )),
            );
        } else {
            out.iothreads.push((*k, cpus));
        }
    }
    for (vcpus, nodes) in &later.shared {
        let cpus = shared_cpus(profile, &ledger.dedicated, &ledger.taken, nodes);
        if cpus.is_empty() {
            errors.push(
                Diagnostic::error(
                    THREAD_NO_CORE,
                    format!(
                        "no CPU of host node{} {nodes} is left for `{guest}`'s shared vCPUs {vcpus}: the guests of this host hold every core there as dedicated, or it is reserved",
                        plural(nodes)
                    ),
                    later.shared_span,
                    "shared vCPUs need a CPU",
                )
                .with_help("shared vCPUs float over the cores no guest has as dedicated; dedicate fewer vCPUs on this node, or place a guest elsewhere"),
            );
        } else {
            out.shared.push((vcpus.clone(), cpus));
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn plural(nodes: &IdSet) -> &'static str {
    if nodes.len() > 1 { "s" } else { "" }
}

/// Threads that share nodes: their reserved CPUs when the host reserves any there, else
/// their CPUs that no dedicated vCPU, isolated thread or hand-written pin uses.
fn share_cpus(host: &HostDef, ledger: &Ledger, nodes: &IdSet) -> IdSet {
    let all: IdSet = nodes
        .iter()
        .filter_map(|n| host.profile.node(n))
        .fold(IdSet::new(), |a, n| a.union(&n.cpus));
    let reserved = all.intersection(&host.profile.reserved);
    if reserved.is_empty() {
        all.difference(&ledger.dedicated).difference(&ledger.taken)
    } else {
        reserved
    }
}

/// [`later_pins`] applied to a guest's model.
pub fn apply(g: &mut crate::ir::Guest, pins: LaterPins) {
    for (k, cpus) in pins.iothreads {
        if let Some(slot) = g.iothread_pins.get_mut(k as usize) {
            *slot = Some(cpus);
        }
    }
    for (vcpus, cpus) in pins.shared {
        for p in g.pins.iter_mut().filter(|p| vcpus.contains(p.vcpu)) {
            p.cpus = cpus.clone();
        }
    }
}
