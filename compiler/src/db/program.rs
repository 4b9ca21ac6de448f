//! A program's model and diagnostics, gathered from its hosts' and guests' queries, and its
//! outputs.

use super::guests::{guest_step, hand_ledger};
use super::hosts::host;
use super::inputs::{ItemKey, ItemKind, Program};
use super::toplevel::{host_names, item_at, items};
use crate::check::floats::{OnHost, floating_warnings};
use crate::check::guest::Later;
use crate::check::realtime::RtGuest;
use crate::check::step::{self, GuestStep};
use crate::check::{self, Checked, HostDef, fit, guest, shared};
use crate::diagnostics::{self, Diagnostic};
use crate::host::HostProfile;
use crate::place::topo::Ledger;
use crate::sets::IdSet;
use crate::source::SourceMap;
use crate::span::FileId;
use std::collections::HashMap;
use std::sync::Arc;

/// The checked model and every diagnostic of a program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckResult {
    /// Shared with [`Compiled`], not copied: the models of every guest of a fleet.
    pub checked: Arc<Checked>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckResult {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// What a program's guests add up to on their hosts, borrowed from the steps.
struct Gathered<'db> {
    hosts: Vec<Option<&'db HostDef>>,
    diagnostics: Vec<Diagnostic>,
    claims: Vec<guest::NodeClaim>,
    /// The ledger after each host's last guest.
    ledgers: Vec<Option<&'db Ledger>>,
    emulators: Vec<check::Emulator>,
    /// Placed guests' shared vCPUs and per-cell I/O threads: (guest index in the build,
    /// host index, what, spans in place).
    later: Vec<(usize, usize, Later)>,
    /// Every step, in order, with where its guest is (to put its relative spans in place).
    steps: Vec<(&'db GuestStep, FileId, u32)>,
}

fn gather<'db>(db: &'db dyn salsa::Database, program: Program) -> Gathered<'db> {
    let items = items(db, program);
    let mut g = Gathered {
        hosts: Vec::with_capacity(items.hosts.len()),
        diagnostics: items.diagnostics.clone(),
        claims: Vec::new(),
        ledgers: vec![None; items.hosts.len()],
        emulators: Vec::new(),
        later: Vec::new(),
        steps: Vec::with_capacity(items.guests.len()),
    };
    let mut hand_warnings: Vec<(u32, &Diagnostic)> = Vec::new();
    for i in 0..items.hosts.len() {
        let hkey = ItemKey::new(db, program, ItemKind::Host, i as u32);
        let h = host(db, hkey);
        g.diagnostics.extend(h.diagnostics.iter().cloned());
        g.hosts.push(h.def.as_ref());
        let hand = hand_ledger(db, hkey);
        g.ledgers[i] = hand.ledger.as_ref();
        hand_warnings.extend(hand.warnings.iter().map(|(gi, d)| (*gi, d)));
    }
    for (gi, d) in hand_warnings {
        let key = ItemKey::new(db, program, ItemKind::Guest, gi);
        let (id, at) = item_at(db, key).map(|(f, at)| (f.id(db), at)).unwrap_or_default();
        g.diagnostics.push(d.relocated(id, at));
    }
    let mut placed = 0;
    for i in 0..items.guests.len() {
        let key = ItemKey::new(db, program, ItemKind::Guest, i as u32);
        let step = guest_step(db, key);
        let (id, at) = item_at(db, key).map(|(f, at)| (f.id(db), at)).unwrap_or_default();
        g.diagnostics
            .extend(step.diagnostics.iter().map(|d| d.relocated(id, at)));
        g.claims.extend(step.claims.iter().map(|c| guest::NodeClaim {
            span: c.span.relocate(id, at),
            ..c.clone()
        }));
        if let (Some(h), Some(l)) = (step.host, step.ledger.as_deref())
            && let Some(slot) = g.ledgers.get_mut(h as usize)
        {
            *slot = Some(l);
        }
        if step.guest.is_some() {
            if let (Some(node), Some(h)) = (step.emulator_node, step.host) {
                g.emulators.push(check::Emulator {
                    guest: placed,
                    host: h as usize,
                    node,
                    span: step.name_span.relocate(id, at),
                });
            }
            if let Some(h) = step.host.filter(|_| !step.later.is_empty()) {
                g.later.push((placed, h as usize, step.later.relocated(id, at)));
            }
            placed += 1;
        }
        g.steps.push((step, id, at));
    }
    let on_hosts: Vec<OnHost<'_>> = g
        .steps
        .iter()
        .filter_map(|&(step, id, at)| {
            Some(OnHost {
                host: step.host?,
                name: &step.guest.as_ref()?.name,
                name_span: step.name_span.relocate(id, at),
                holds: step.holds.relocated(id, at),
            })
        })
        .collect();
    g.diagnostics.extend(floating_warnings(&on_hosts));
    let no_room = g
        .steps
        .iter()
        .filter_map(|&(step, id, at)| Some((step.host?, step.no_room?.relocate(id, at))));
    let summaries = step::no_room_summaries(no_room, &g.hosts);
    g.diagnostics.extend(summaries);
    g
}

/// The checks across guests: memory fit on every host node.
fn fit_diagnostics(db: &dyn salsa::Database, program: Program, g: &Gathered<'_>, diags: &mut Vec<Diagnostic>) {
    let loaded: Vec<Option<&HostProfile>> = g.hosts.iter().map(|h| h.map(|h| &*h.profile)).collect();
    let names: Vec<String> = host_names(db, program)
        .iter()
        .map(|n| n.clone().unwrap_or_default())
        .collect();
    fit::check_fit(&loaded, &names, &g.claims, diags);
}

/// Real-time vCPUs across the program's guests, on the final model: the emulator threads,
/// shared vCPUs and per-cell I/O threads of placed guests on the CPUs they get after every
/// guest was placed.
fn realtime_diagnostics(g: &Gathered<'_>, diags: &mut Vec<Diagnostic>) {
    let built: Vec<(&GuestStep, FileId, u32)> = g.steps.iter().filter(|(s, ..)| s.guest.is_some()).copied().collect();
    if !built
        .iter()
        .any(|(s, ..)| s.guest.as_ref().is_some_and(|g| !g.sched.is_empty()))
    {
        return;
    }
    // `Emulator::guest` counts the guests that were built, as `built` does.
    let placed: HashMap<usize, IdSet> = g
        .emulators
        .iter()
        .filter_map(|e| {
            let host = g.hosts.get(e.host).copied().flatten()?;
            let ledger = g.ledgers.get(e.host).copied().flatten()?;
            let guest = built.get(e.guest)?.0.guest.as_ref()?;
            Some((e.guest, check::emulator_pin(host, ledger, e, &guest.name)?.ok()?))
        })
        .collect();
    // Placed guests' shared vCPUs and per-cell I/O threads, on the CPUs they get last too.
    let later: HashMap<usize, crate::ir::Guest> = g
        .later
        .iter()
        .filter_map(|(gi, h, later)| {
            let host = g.hosts.get(*h).copied().flatten()?;
            let ledger = g.ledgers.get(*h).copied().flatten()?;
            let mut guest = built.get(*gi)?.0.guest.clone()?;
            let pins = shared::later_pins(host, ledger, later, &guest.name).ok()?;
            shared::apply(&mut guest, pins);
            Some((*gi, guest))
        })
        .collect();
    let guests: Vec<RtGuest<'_>> = built
        .iter()
        .enumerate()
        .filter_map(|(i, &(step, file, at))| {
            let guest = later.get(&i).or(step.guest.as_ref())?;
            Some(RtGuest {
                guest,
                host: step.host.map(|h| h as usize),
                emulator: placed.get(&i).or(guest.emulator_pin.as_ref()),
                file,
                at,
            })
        })
        .collect();
    diags.extend(check::realtime::check(&guests, &g.hosts));
}

/// Cache and memory-bandwidth allocations across the program's guests, on the final model.
fn resctrl_diagnostics(g: &Gathered<'_>, diags: &mut Vec<Diagnostic>) {
    let guests: Vec<check::resctrl_fit::TuneGuest<'_>> = g
        .steps
        .iter()
        .filter_map(|&(step, file, at)| {
            let guest = step.guest.as_ref()?;
            let tuned = !guest.cachetunes.is_empty() || !guest.memorytunes.is_empty();
            tuned.then(|| check::resctrl_fit::TuneGuest {
                guest,
                host: step.host.map(|h| h as usize),
                file,
                at,
            })
        })
        .collect();
    if !guests.is_empty() {
        diags.extend(check::resctrl_fit::check(&guests, &g.hosts));
    }
}

/// Every diagnostic of a program, sorted: what `vnumac check` reports. Semantics run on
/// whatever parsed. Unlike [`check_program`] it copies no guest, so an editor's edit pays
/// only for what changed.
#[salsa::tracked(returns(ref))]
pub fn program_diagnostics(db: &dyn salsa::Database, program: Program) -> Vec<Diagnostic> {
    let g = gather(db, program);
    let mut diags = g.diagnostics.clone();
    let placed: Vec<&crate::ir::Guest> = g.steps.iter().filter_map(|(s, ..)| s.guest.as_ref()).collect();
    for e in &g.emulators {
        if let (Some(Some(host)), Some(Some(ledger)), Some(guest)) =
            (g.hosts.get(e.host), g.ledgers.get(e.host), placed.get(e.guest))
            && let Some(Err(d)) = check::emulator_pin(host, ledger, e, &guest.name)
        {
            diags.push(d);
        }
    }
    for (gi, h, later) in &g.later {
        if let (Some(Some(host)), Some(Some(ledger)), Some(guest)) =
            (g.hosts.get(*h), g.ledgers.get(*h), placed.get(*gi))
            && let Err(errors) = shared::later_pins(host, ledger, later, &guest.name)
        {
            diags.extend(errors);
        }
    }
    fit_diagnostics(db, program, &g, &mut diags);
    realtime_diagnostics(&g, &mut diags);
    resctrl_diagnostics(&g, &mut diags);
    diagnostics::sort(&mut diags);
    debug_assert!(
        diags
            .iter()
            .flat_map(|d| &d.labels)
            .all(|l| l.span.file != FileId::RELATIVE),
        "a relative span escaped: {diags:?}"
    );
    diags
}

/// The whole program: the checked model of every guest that passed, and every diagnostic.
#[salsa::tracked(returns(ref))]
pub fn check_program(db: &dyn salsa::Database, program: Program) -> CheckResult {
    let g = gather(db, program);
    let mut checked = Checked::default();
    // Exactly as many as pass: the models are most of a large program's memory.
    let passed = g.steps.iter().filter(|(step, ..)| step.guest.is_some()).count();
    checked.build.guests.reserve_exact(passed);
    checked.guest_hosts.reserve_exact(passed);
    for &(step, id, at) in &g.steps {
        if let Some(guest) = &step.guest {
            let mut guest = guest.clone();
            guest.spans.relocate(id, at);
            checked.build.guests.push(guest);
            checked.guest_hosts.push(step.host.map(|h| h as usize));
        }
    }
    let mut diags = g.diagnostics.clone();
    check::place_emulators(&mut checked, &g.hosts, &g.ledgers, &g.emulators, &mut diags);
    for (gi, h, later) in &g.later {
        if let (Some(Some(host)), Some(Some(ledger)), Some(guest)) =
            (g.hosts.get(*h), g.ledgers.get(*h), checked.build.guests.get_mut(*gi))
        {
            match shared::later_pins(host, ledger, later, &guest.name) {
                Ok(pins) => shared::apply(guest, pins),
                Err(errors) => diags.extend(errors),
            }
        }
    }
    fit_diagnostics(db, program, &g, &mut diags);
    realtime_diagnostics(&g, &mut diags);
    resctrl_diagnostics(&g, &mut diags);
    checked.hosts = g.hosts.iter().map(|h| h.cloned()).collect();
    diagnostics::sort(&mut diags);
    debug_assert_eq!(&diags, program_diagnostics(db, program));
    CheckResult {
        checked: Arc::new(checked),
        diagnostics: diags,
    }
}

/// The result of checking a program, with the sources to render its diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Compiled {
    pub sources: SourceMap,
    pub checked: Arc<Checked>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// [`check_program`] with the program's sources, for renderers at the edge.
pub fn compile(db: &dyn salsa::Database, program: Program) -> Compiled {
    let r = check_program(db, program);
    Compiled {
        sources: source_map(db, program),
        checked: Arc::clone(&r.checked),
        diagnostics: r.diagnostics.clone(),
    }
}

/// Every readable file of a program by id, to render spans.
pub fn source_map(db: &dyn salsa::Database, program: Program) -> SourceMap {
    let mut sources = SourceMap::default();
    for f in program.files(db).values().filter_map(|f| f.as_ref().ok()) {
        sources.insert(f.id(db), f.path(db).clone(), f.text(db).clone());
    }
    sources
}

/// One guest's outputs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestOutput {
    pub name: String,
    pub xml: String,
    pub args: String,
}

impl GuestOutput {
    pub fn of(g: &crate::ir::Guest) -> GuestOutput {
        GuestOutput {
            name: g.name.clone(),
            xml: crate::lower::libvirt::domain_xml(g),
            args: crate::lower::qemu::command_line(g),
        }
    }
}

/// Every guest's outputs; none when the program has errors.
#[salsa::tracked(returns(ref))]
pub fn lower(db: &dyn salsa::Database, program: Program) -> Vec<GuestOutput> {
    let r = check_program(db, program);
    if r.has_errors() {
        return Vec::new();
    }
    r.checked.build.guests.iter().map(GuestOutput::of).collect()
}
