//! Each guest checked and placed: a fold over its host's guests in file order.

use super::hosts::{host_in_place, host_topo};
use super::inputs::{ItemKey, ItemKind, Program};
use super::toplevel::{host_names, item, items};
use crate::check::{self, guest, schema, vnuma};
use crate::diagnostics::Diagnostic;
use crate::place::topo::Ledger;
use crate::span::Span;
use crate::syntax::ast;
use std::collections::HashMap;

/// Where each guest runs: its host's index and the guest placed before it on that host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuestSlot {
    /// `Err` when the guest names no usable host (reported by its step).
    pub host: Result<Option<u32>, check::NoHost>,
    /// The automatic guest placed before this one on the same host.
    pub prev: Option<u32>,
    /// Placed by `vnuma`.
    pub automatic: bool,
}

/// A guest that `vnuma` places (as opposed to one written by hand).
fn is_automatic(stmt: &ast::Statement) -> bool {
    stmt.block
        .iter()
        .flat_map(|b| &b.statements)
        .any(|s| s.keyword.text == "vnuma")
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

#[salsa::tracked(returns(ref))]
pub fn hand_ledger<'db>(db: &'db dyn salsa::Database, hkey: ItemKey<'db>) -> HandLedger {
    let program = hkey.program(db);
    let (Some(def), Some(topo)) = (host_in_place(db, hkey).def.as_ref(), host_topo(db, hkey).as_ref()) else {
        return HandLedger::default();
    };
    let mut ledger = Ledger::new(topo, def.profile.nodes.len());
    let mut warnings = Vec::new();
    for (i, slot) in guest_slots(db, program).iter().enumerate() {
        if slot.automatic || slot.host != Ok(Some(hkey.index(db))) {
            continue;
        }
        let step = guest_step(db, ItemKey::new(db, program, ItemKind::Guest, i as u32));
        check::record_claims(&mut ledger, &def.profile, &step.claims);
        if let Some(g) = &step.guest {
            let mut w = Vec::new();
            check::record_pins(&mut ledger, topo, g, &mut w);
            warnings.extend(w.into_iter().map(|d| (i as u32, d)));
        }
    }
    HandLedger {
        ledger: Some(ledger),
        warnings,
    }
}

#[salsa::tracked(returns(ref))]
pub fn guest_slots(db: &dyn salsa::Database, program: Program) -> Vec<GuestSlot> {
    let names = host_names(db, program);
    let mut last: HashMap<u32, u32> = HashMap::new();
    (0..items(db, program).guests.len() as u32)
        .map(|i| {
            let key = ItemKey::new(db, program, ItemKind::Guest, i);
            let stmt = item(db, key);
            let host = match stmt {
                Some(stmt) => check::host_index(stmt.prop("on").map(|p| p.value.text.as_str()), names),
                None => Err(check::NoHost),
            };
            let automatic = stmt.is_some_and(is_automatic);
            let prev = match host {
                Ok(Some(h)) if automatic => last.insert(h, i),
                _ => None,
            };
            GuestSlot { host, prev, automatic }
        })
        .collect()
}

/// One guest checked and, with `vnuma`, placed: its model, claims, diagnostics, and the
/// host's ledger after it. Spans of the guest's own text are relative to its piece
/// ([`FileId::RELATIVE`](crate::span::FileId::RELATIVE)), so moving the guest in its file
/// changes nothing here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestStep {
    pub guest: Option<crate::ir::Guest>,
    pub host: Option<u32>,
    pub claims: Vec<guest::NodeClaim>,
    pub emulator_node: Option<u32>,
    /// The span of the guest's name.
    pub name_span: Span,
    pub diagnostics: Vec<Diagnostic>,
    /// What every guest up to this one uses on its host.
    pub ledger: Option<Ledger>,
    /// The guest did not fit after an earlier one did not either: its error is left to
    /// one summary for the host; this is its `vnuma` statement.
    pub no_room: Option<Span>,
}

#[salsa::tracked(returns(ref))]
pub fn guest_step<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> GuestStep {
    let program = key.program(db);
    let Some(stmt) = item(db, key) else {
        return GuestStep::default();
    };
    let mut shape = Vec::new();
    let Some(f) = schema::check(stmt, schema::Context::File, &mut shape) else {
        return GuestStep::default();
    };
    let mut step = GuestStep {
        name_span: f.arg_span(0),
        ..GuestStep::default()
    };
    let names = host_names(db, program);
    let host_index = match check::resolve_host(&f, names, &mut step.diagnostics) {
        Ok(i) => i,
        Err(check::NoHost) => return step,
    };
    step.host = host_index;
    let Some(hi) = host_index else {
        let r = guest::check_guest(&f, None, None, &mut step.diagnostics);
        step.guest = r.guest;
        step.claims = r.claims;
        return step;
    };
    let hkey = ItemKey::new(db, program, ItemKind::Host, hi);
    // A host that failed to load has been reported; its guests are not checked further.
    let (Some(def), Some(topo)) = (host_in_place(db, hkey).def.as_ref(), host_topo(db, hkey).as_ref()) else {
        return step;
    };
    let host_ref = guest::HostRef {
        index: hi as usize,
        name: &def.name,
        profile: &def.profile,
    };
    let slot = guest_slots(db, program).get(key.index(db) as usize).copied();
    if !slot.is_some_and(|s| s.automatic) {
        // Written by hand: checked on its own; what it takes goes into [`hand_ledger`].
        let r = guest::check_guest(&f, Some(&host_ref), None, &mut step.diagnostics);
        step.guest = r.guest;
        step.claims = r.claims;
        return step;
    }
    let prev = match slot.and_then(|s| s.prev) {
        Some(p) => ledger_after(db, ItemKey::new(db, program, ItemKind::Guest, p)).clone(),
        None => hand_ledger(db, hkey).ledger.clone(),
    };
    let mut state = vnuma::PlaceState {
        topo,
        ledger: prev.unwrap_or_else(|| Ledger::new(topo, def.profile.nodes.len())),
    };
    let failed_before = state.ledger.failed;
    let r = guest::check_guest(&f, Some(&host_ref), Some(&mut state), &mut step.diagnostics);
    if failed_before > 0
        && state.ledger.failed > failed_before
        && let Some(i) = step
            .diagnostics
            .iter()
            .rposition(|d| d.code == check::codes::VNUMA_NO_ROOM)
    {
        step.no_room = Some(step.diagnostics.remove(i).primary_span());
    }
    step.guest = r.guest;
    step.claims = r.claims;
    step.emulator_node = r.emulator_node;
    step.ledger = Some(state.ledger);
    step
}

/// The host's ledger after a guest: what the next guest on that host starts from. A step
/// whose guest changed but whose use of the host did not leaves this unchanged, so the
/// guests after it are not placed again.
#[salsa::tracked(returns(ref))]
pub fn ledger_after<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<Ledger> {
    guest_step(db, key).ledger.clone()
}
