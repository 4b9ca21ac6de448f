//! One guest as a step of its host's fold, in file order: checked on its own when written by
//! hand (or on no host), or placed by `vnuma` after the guests before it on its host took
//! their share; what a host's hand-written guests take before any guest is placed; and one
//! summary per host of the guests that did not fit. Plain functions: the database calls them
//! once per guest and per host, and keeps what they return.

use super::guest::{self, Holds, HostRef, Later, NodeClaim};
use super::vnuma::PlaceState;
use super::{HostDef, record_claims, record_pins};
use crate::codes;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::Guest;
use crate::lang::Fields;
use crate::place::topo::{HostTopo, Ledger};
use crate::span::Span;
use crate::syntax::ast;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One guest checked and, with `vnuma`, placed: its model, claims, diagnostics, and the
/// host's ledger after it. Spans of the guest's own text are relative to its piece
/// ([`FileId::RELATIVE`](crate::span::FileId::RELATIVE)), so moving the guest in its file
/// changes nothing here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestStep {
    pub guest: Option<Guest>,
    pub host: Option<u32>,
    pub claims: Vec<NodeClaim>,
    pub emulator_node: Option<u32>,
    /// Shared vCPUs and per-cell I/O threads placed after every guest of the host.
    pub later: Later,
    /// What the guest holds of its host as dedicated, and where its vCPUs float.
    pub holds: Holds,
    /// The span of the guest's name.
    pub name_span: Span,
    pub diagnostics: Vec<Diagnostic>,
    /// What every guest up to this one uses on its host, shared with the query that hands
    /// it to the next guest rather than copied.
    pub ledger: Option<Arc<Ledger>>,
    /// The guest did not fit after an earlier one did not either: its error is left to
    /// one summary for the host; this is its `vnuma` statement.
    pub no_room: Option<Span>,
}

/// A guest that `vnuma` places (as opposed to one written by hand).
pub fn is_automatic(stmt: &ast::Statement) -> bool {
    stmt.block
        .iter()
        .flat_map(|b| &b.statements)
        .any(|s| s.keyword.text == "vnuma")
}

/// A guest written by hand, or on no host: checked on its own. What it takes on its host
/// goes into the host's [`HandLedger`].
pub fn by_hand(f: &Fields<'_>, host: Option<&HostRef<'_>>, step: &mut GuestStep) {
    let r = guest::check_guest(f, host, None, &mut step.diagnostics);
    step.guest = r.guest;
    step.claims = r.claims;
    step.holds = r.holds;
}

/// A guest `vnuma` places on its host, after the guests before it left `ledger` (None: a
/// host no guest uses yet). When it does not fit after an earlier guest did not either, its
/// error is left to the host's summary ([`no_room_summaries`]).
pub fn placed(f: &Fields<'_>, host: &HostRef<'_>, topo: &HostTopo, ledger: Option<Ledger>, step: &mut GuestStep) {
    let mut state = PlaceState {
        topo,
        ledger: ledger.unwrap_or_else(|| Ledger::new(topo, host.profile.nodes.len())),
    };
    let failed_before = state.ledger.failed;
    let r = guest::check_guest(f, Some(host), Some(&mut state), &mut step.diagnostics);
    if failed_before > 0
        && state.ledger.failed > failed_before
        && let Some(i) = step.diagnostics.iter().rposition(|d| d.code == codes::VNUMA_NO_ROOM)
    {
        step.no_room = Some(step.diagnostics.remove(i).primary_span());
    }
    if let Some(g) = &r.guest {
        record_l3(&mut state.ledger, g);
    }
    step.guest = r.guest;
    step.claims = r.claims;
    step.emulator_node = r.emulator_node;
    step.later = r.later;
    step.holds = r.holds;
    step.ledger = Some(Arc::new(state.ledger));
}

/// The L3 cache a guest allocates (its `cachetune` lines and `vnuma l3=`), for the
/// placement of the automatic guests after it.
fn record_l3(ledger: &mut Ledger, g: &Guest) {
    for c in g.cachetunes.iter().flat_map(|t| &t.caches).filter(|c| c.level == 3) {
        ledger.add_l3(c.id, c.kind, c.size);
    }
}

/// What the hand-written guests of a host take on it, whatever their place in the file:
/// their pinned CPUs and bound memory. Automatic guests are placed from here, in file
/// order. Warnings for hand-written guests that pin onto each other's CPUs, by guest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandLedger {
    pub ledger: Option<Ledger>,
    /// (guest index, warning with spans relative to that guest's piece).
    pub warnings: Vec<(u32, Diagnostic)>,
}

/// The [`HandLedger`] of a host from the steps of its hand-written guests, in file order,
/// each with its index among the program's guests.
pub fn hand_ledger<'s>(
    profile: &HostProfile,
    topo: &HostTopo,
    steps: impl Iterator<Item = (u32, &'s GuestStep)>,
) -> HandLedger {
    let mut ledger = Ledger::new(topo, profile.nodes.len());
    let mut warnings = Vec::new();
    for (i, step) in steps {
        record_claims(&mut ledger, profile, &step.claims);
        if let Some(g) = &step.guest {
            record_l3(&mut ledger, g);
            let mut w = Vec::new();
            record_pins(&mut ledger, topo, g, &mut w);
            warnings.extend(w.into_iter().map(|d| (i, d)));
        }
    }
    HandLedger {
        ledger: Some(ledger),
        warnings,
    }
}

/// One error per host for the guests that did not fit after the first one that did not
/// (which has its own, full error): how many, and where the first few are. `no_room` is
/// each such guest's host and `vnuma` statement, in file order.
pub fn no_room_summaries(no_room: impl Iterator<Item = (u32, Span)>, hosts: &[Option<&HostDef>]) -> Vec<Diagnostic> {
    let mut per_host: BTreeMap<u32, Vec<Span>> = BTreeMap::new();
    for (h, span) in no_room {
        per_host.entry(h).or_default().push(span);
    }
    per_host
        .into_iter()
        .filter_map(|(h, spans)| {
            let first = *spans.first()?;
            let name = hosts.get(h as usize).copied().flatten().map(|d| d.name.as_str()).unwrap_or("?");
            let n = spans.len();
            let mut d = Diagnostic::error(
                codes::VNUMA_NO_ROOM,
                format!(
                    "{n} more guest{} do not fit on host `{name}` either",
                    if n == 1 { "" } else { "s" }
                ),
                first,
                "does not fit",
            );
            for s in spans.iter().skip(1).take(4) {
                d = d.with_label(*s, "nor this one");
            }
            Some(d.with_help(
                "the host has no room left for them after the guests before them; the first guest that did not fit says what would",
            ))
        })
        .collect()
}
