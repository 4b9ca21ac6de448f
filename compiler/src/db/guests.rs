//! Each guest checked and placed: a fold over its host's guests in file order.

use super::hosts::{host_in_place, host_topo};
use super::inputs::{ItemKey, ItemKind, Program};
use super::toplevel::{host_names, item, items};
use crate::check::step::{self, GuestStep, HandLedger};
use crate::check::{self, guest};
use crate::lang;
use crate::place::topo::Ledger;
use std::collections::HashMap;
use std::sync::Arc;

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

/// What the hand-written guests of a host take on it ([`step::hand_ledger`]).
#[salsa::tracked(returns(ref))]
pub fn hand_ledger<'db>(db: &'db dyn salsa::Database, hkey: ItemKey<'db>) -> HandLedger {
    let program = hkey.program(db);
    let (Some(def), Some(topo)) = (host_in_place(db, hkey).def.as_ref(), host_topo(db, hkey).as_ref()) else {
        return HandLedger::default();
    };
    let hand = guest_slots(db, program)
        .iter()
        .enumerate()
        .filter(|(_, slot)| !slot.automatic && slot.host == Ok(Some(hkey.index(db))))
        .map(|(i, _)| {
            (
                i as u32,
                guest_step(db, ItemKey::new(db, program, ItemKind::Guest, i as u32)),
            )
        });
    step::hand_ledger(&def.profile, topo, hand)
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
            let automatic = stmt.is_some_and(step::is_automatic);
            let prev = match host {
                Ok(Some(h)) if automatic => last.insert(h, i),
                _ => None,
            };
            GuestSlot { host, prev, automatic }
        })
        .collect()
}

#[salsa::tracked(returns(ref))]
pub fn guest_step<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> GuestStep {
    let program = key.program(db);
    let Some(stmt) = item(db, key) else {
        return GuestStep::default();
    };
    let mut shape = Vec::new();
    let Some(f) = lang::check(stmt, lang::Context::File, &mut shape) else {
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
        step::by_hand(&f, None, &mut step);
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
        target: &def.target,
    };
    let slot = guest_slots(db, program).get(key.index(db) as usize).copied();
    if !slot.is_some_and(|s| s.automatic) {
        // Written by hand: checked on its own; what it takes goes into [`hand_ledger`].
        step::by_hand(&f, Some(&host_ref), &mut step);
        return step;
    }
    let prev = match slot.and_then(|s| s.prev) {
        Some(p) => ledger_after(db, ItemKey::new(db, program, ItemKind::Guest, p))
            .as_deref()
            .cloned(),
        None => hand_ledger(db, hkey).ledger.clone(),
    };
    step::placed(&f, &host_ref, topo, prev, &mut step);
    step
}

/// The host's ledger after a guest: what the next guest on that host starts from. A step
/// whose guest changed but whose use of the host did not leaves this unchanged, so the
/// guests after it are not placed again.
#[salsa::tracked(returns(ref))]
pub fn ledger_after<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<Arc<Ledger>> {
    guest_step(db, key).ledger.clone()
}

/// What every guest of host `host` (its index among the program's hosts) uses of it: the
/// ledger after its last automatic guest, else what its hand-written guests take; None
/// for a host that did not load.
pub fn host_ledger(db: &dyn salsa::Database, program: Program, host: u32) -> Option<Ledger> {
    let last = guest_slots(db, program)
        .iter()
        .rposition(|s| s.automatic && s.host == Ok(Some(host)));
    match last {
        Some(i) => ledger_after(db, ItemKey::new(db, program, ItemKind::Guest, i as u32))
            .as_deref()
            .cloned(),
        None => hand_ledger(db, ItemKey::new(db, program, ItemKind::Host, host))
            .ledger
            .clone(),
    }
}
