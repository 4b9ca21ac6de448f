//! A hand-written guest's use of its host, recorded in the placement ledger so that
//! automatic guests placed after it keep clear of it.

use super::claims::{ANY_NODE, NodeClaim};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::place::topo::Ledger;
use crate::sets::IdSet;
use crate::span::Span;
use std::collections::HashSet;

/// Guests named by a warning of their own when they share a `pin` statement's CPUs; any
/// more are summed up in one further warning.
pub const SHARERS_NAMED: usize = 8;

/// A hand-written guest's pinned CPUs go into the host's ledger: automatic guests placed
/// later never land on them (vCPUs or emulator threads), and automatic emulator threads
/// never run on its vCPUs' CPUs. Returns a warning for each earlier guest whose CPUs a
/// `pin` statement shares (the first [`SHARERS_NAMED`] of them, and one for the rest),
/// unless the statement says `shared=true`.
///
/// The cost is the CPUs of the guest's distinct pins, a few earlier guests per CPU and the
/// warnings: never every earlier guest per pin.
pub fn record_pins(
    ledger: &mut Ledger,
    topo: &crate::place::topo::HostTopo,
    guest: &crate::ir::Guest,
    diags: &mut Vec<Diagnostic>,
) {
    let shared: HashSet<Span> = guest.spans.shared_pins.iter().copied().collect();
    // A statement's vCPUs all have its CPUs: each (statement, CPUs) once, at its first vCPU.
    let mut seen: HashSet<(Span, &IdSet)> = HashSet::new();
    let mut warned: HashSet<(Span, &str)> = HashSet::new();
    let mut summed: HashSet<Span> = HashSet::new();
    let mut sets: Vec<&IdSet> = Vec::new();
    for (p, span) in guest.pins.iter().zip(&guest.spans.pins) {
        if !seen.insert((*span, &p.cpus)) {
            continue;
        }
        sets.push(&p.cpus);
        if shared.contains(span) {
            continue;
        }
        let (named, more) = ledger.owners.sharing(&p.cpus, &guest.name, SHARERS_NAMED);
        for (other, cpus) in named {
            if warned.insert((*span, other)) {
                diags.push(shared_with(guest, p, *span, other, &p.cpus.intersection(cpus)));
            }
        }
        if more && summed.insert(*span) {
            diags.push(shared_with_more(guest, p, *span, &ledger.owners.held_of(&p.cpus)));
        }
    }
    let vcpu_cpus = sets.iter().fold(IdSet::new(), |all, s| all.union(s));
    let mut all = vcpu_cpus.clone();
    if let Some(e) = &guest.emulator_pin {
        all = all.union(e);
    }
    if all.is_empty() {
        return;
    }
    ledger.take(topo, &all);
    ledger.dedicated.add(&vcpu_cpus);
    if !vcpu_cpus.is_empty() {
        std::sync::Arc::make_mut(&mut ledger.owners).add(&guest.name, vcpu_cpus);
    }
}

fn shared_with(guest: &crate::ir::Guest, p: &crate::ir::VcpuPin, span: Span, other: &str, both: &IdSet) -> Diagnostic {
    Diagnostic::warning(
        PINS_SHARED,
        format!("vCPU {} runs on host CPUs {both}, which guest `{other}` also runs on", p.vcpu),
        span,
        format!("shared with `{other}`"),
    )
    .with_help(format!(
        "guests `{}` and `{other}` compete for these CPUs; pin to others, or write `shared=true` on this `pin` if the sharing is intended",
        guest.name
    ))
}

fn shared_with_more(guest: &crate::ir::Guest, p: &crate::ir::VcpuPin, span: Span, cpus: &IdSet) -> Diagnostic {
    Diagnostic::warning(
        PINS_SHARED,
        format!(
            "vCPU {} runs on host CPUs {cpus}, which more guests than the {SHARERS_NAMED} named also run on",
            p.vcpu
        ),
        span,
        "shared with more guests",
    )
    .with_help(format!(
        "`{}` competes with all of them; only the first {SHARERS_NAMED} guests sharing a `pin` get a warning each; pin to others, or write `shared=true` on this `pin` if the sharing is intended",
        guest.name
    ))
}

/// A hand-placed guest's memory claims, so `vnuma` guests placed later see them; its
/// hugepages bound to no node are recorded apart.
pub fn record_claims(ledger: &mut Ledger, host: &HostProfile, claims: &[NodeClaim]) {
    for c in claims {
        if c.node == ANY_NODE {
            if let Some(size) = c.page_kib {
                ledger.add_loose(size, c.kib / size.max(1));
            }
            continue;
        }
        let Some(i) = host.node_index(c.node) else { continue };
        match c.page_kib {
            Some(size) => ledger.add_pages(i, size, c.kib / size.max(1)),
            None => ledger.memory_used[i] += c.kib,
        }
    }
}
