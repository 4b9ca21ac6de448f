//! The incremental pipeline: salsa inputs (files, programs) and tracked queries at the
//! grain of the language. Parsing is per file; each host profile is one query (a
//! capabilities file is read and parsed once, and again only when it changes); each guest
//! is one placement step, a fold over its host's guests in file order (a guest sees what the
//! guests before it took, and a step whose result did not change stops the ripple); the
//! program's model and diagnostics gather the steps; lowering is per guest, on demand.
//!
//! I/O happens only in [`Workspace::load`] and [`load_program`], never inside a query.

use crate::check::{self, Checked, HostDef, HostSources, fit, guest, schema, vnuma};
use crate::diagnostics::{self, Diagnostic};
use crate::host::HostProfile;
use crate::place::topo::{HostTopo, Ledger};
use crate::source::SourceMap;
use crate::span::{FileId, Span};
use crate::syntax::{self, ast};
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

/// One source file's text. A file has one input for the life of a [`Workspace`].
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(copy)]
    pub id: FileId,
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
}

/// Everything a build reads: the root file and every file it reaches, with read errors.
#[salsa::input(debug)]
pub struct Program {
    #[returns(copy)]
    pub root: SourceFile,
    #[returns(ref)]
    pub files: BTreeMap<PathBuf, Result<SourceFile, String>>,
    /// This machine's host profile when some host says `probe=true`.
    #[returns(ref)]
    pub probed: Option<Result<HostProfile, String>>,
}

/// Whether an item is a `host` or a `guest` statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    Host,
    Guest,
}

/// A top-level host or guest of a program, by its position among the program's hosts or guests.
#[salsa::interned(debug)]
pub struct ItemKey<'db> {
    #[returns(copy)]
    pub program: Program,
    #[returns(copy)]
    pub kind: ItemKind,
    #[returns(copy)]
    pub index: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Parsed {
    pub ast: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

/// A top-level piece of a file's text ([`syntax::chunks`]), by content: a piece an edit did
/// not touch is the same piece, and is not parsed or checked again, wherever it moved.
/// Pieces unused for a few revisions are forgotten.
#[salsa::interned(revisions = 4)]
pub struct Piece<'db> {
    #[returns(ref)]
    pub text: String,
}

/// One piece parsed on its own. Its spans are relative to the piece
/// ([`FileId::RELATIVE`]); [`Span::relocate`] puts them in place.
#[salsa::tracked(returns(ref))]
pub fn parse_piece<'db>(db: &'db dyn salsa::Database, piece: Piece<'db>) -> (ast::File, Vec<Diagnostic>) {
    syntax::parse(FileId::RELATIVE, piece.text(db))
}

/// Where a file stops being read ([`syntax::read_cut`]).
#[salsa::tracked]
pub fn word_cut(db: &dyn salsa::Database, file: SourceFile) -> Option<syntax::Cut> {
    syntax::read_cut(file.text(db))
}

/// A file's pieces and where each starts.
#[salsa::tracked(returns(ref))]
pub fn pieces<'db>(db: &'db dyn salsa::Database, file: SourceFile) -> Vec<(Piece<'db>, u32)> {
    let text = file.text(db);
    // A file is read up to its word budget; `items` and `parse` report the cut.
    let text = &text[..word_cut(db, file).map_or(text.len(), |c| c.at)];
    syntax::chunks::chunks(text)
        .into_iter()
        .map(|r| (Piece::new(db, text[r.clone()].to_string()), r.start as u32))
        .collect()
}

/// A file's syntax tree and syntax errors, with spans in the file. Never fails: a broken
/// statement is an error node and the rest is still parsed.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn salsa::Database, file: SourceFile) -> Parsed {
    let mut out = (ast::File::default(), Vec::new());
    for (piece, at) in pieces(db, file) {
        syntax::chunks::append(&mut out, parse_piece(db, *piece), file.id(db), *at);
    }
    if let Some(cut) = word_cut(db, file) {
        out.1.push(syntax::cut_error(file.id(db), file.text(db), *cut));
    }
    Parsed {
        ast: out.0,
        diagnostics: out.1,
    }
}

/// Every top-level statement of a file, relative to its piece, with the piece's offset.
pub(crate) fn top_statements(
    db: &dyn salsa::Database,
    file: SourceFile,
) -> impl Iterator<Item = (&ast::Statement, u32)> {
    pieces(db, file)
        .iter()
        .flat_map(move |(piece, at)| parse_piece(db, *piece).0.statements.iter().map(move |s| (s, *at)))
}

/// A top-level statement: its file, its piece there and its index in the piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemRef {
    pub file: SourceFile,
    pub piece: u32,
    pub index: u32,
}

/// The program's files and top-level items, with the diagnostics found at that level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Items {
    /// Files in statement order, includes expanded in place.
    pub order: Vec<SourceFile>,
    /// Host statements whose head passed the schema, in order.
    pub hosts: Vec<ItemRef>,
    /// Guest statements whose head passed the schema, in order.
    pub guests: Vec<ItemRef>,
    /// Includes, syntax, top-level statement shapes and duplicate names.
    pub diagnostics: Vec<Diagnostic>,
}

/// Includes, syntax and the top-level statements. Runs on every edit; cheap, and what
/// depends on it reads single items through [`item`], which stops the ripple.
#[salsa::tracked(returns(ref))]
pub fn items(db: &dyn salsa::Database, program: Program) -> Items {
    let mut diags = Vec::new();
    let order = include_order(db, program, &mut diags);
    let mut out = Items::default();
    let mut host_names: Vec<(String, Span)> = Vec::new();
    let mut guest_names: Vec<(String, Span)> = Vec::new();
    for f in &order {
        let id = f.id(db);
        for (pi, (piece, at)) in pieces(db, *f).iter().enumerate() {
            let (ast, syntax) = parse_piece(db, *piece);
            diags.extend(syntax.iter().map(|d| d.relocated(id, *at)));
            for (index, stmt) in ast.statements.iter().enumerate() {
                let mut shape = Vec::new();
                let fields = schema::check(stmt, schema::Context::File, &mut shape);
                diags.extend(shape.iter().map(|d| d.relocated(id, *at)));
                let Some(fields) = fields else { continue };
                let named = || {
                    (
                        fields.arg_text(0).unwrap_or_default().to_string(),
                        fields.arg_span(0).relocate(id, *at),
                    )
                };
                let r = ItemRef {
                    file: *f,
                    piece: pi as u32,
                    index: index as u32,
                };
                match fields.keyword() {
                    "host" => {
                        host_names.push(named());
                        out.hosts.push(r);
                    }
                    "guest" => {
                        guest_names.push(named());
                        out.guests.push(r);
                    }
                    _ => {}
                }
            }
        }
        if let Some(cut) = word_cut(db, *f) {
            diags.push(syntax::cut_error(id, f.text(db), *cut));
        }
    }
    check::duplicate_names(&host_names, "host", &mut diags);
    check::duplicate_names(&guest_names, "guest", &mut diags);
    out.order = order;
    out.diagnostics = diags;
    out
}

fn item_ref<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<ItemRef> {
    let items = items(db, key.program(db));
    let list = match key.kind(db) {
        ItemKind::Host => &items.hosts,
        ItemKind::Guest => &items.guests,
    };
    list.get(key.index(db) as usize).copied()
}

/// The piece an item is in and its index there: unchanged (and so the item is not checked
/// again) unless the item's own text changed, wherever it moved.
#[salsa::tracked(returns(copy))]
pub fn item_piece<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<(Piece<'db>, u32)> {
    let r = item_ref(db, key)?;
    pieces(db, r.file).get(r.piece as usize).map(|(p, _)| (*p, r.index))
}

/// Where an item's piece is: its file and offset.
#[salsa::tracked(returns(copy))]
pub fn item_at<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<(SourceFile, u32)> {
    let r = item_ref(db, key)?;
    pieces(db, r.file).get(r.piece as usize).map(|(_, at)| (r.file, *at))
}

/// An item's statement, with spans relative to its piece.
pub fn item<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<&'db ast::Statement> {
    let (piece, index) = item_piece(db, key)?;
    parse_piece(db, piece).0.statements.get(index as usize)
}

/// The names of the program's hosts, in order.
#[salsa::tracked(returns(ref))]
pub fn host_names(db: &dyn salsa::Database, program: Program) -> Vec<Option<String>> {
    (0..items(db, program).hosts.len())
        .map(|i| {
            let key = ItemKey::new(db, program, ItemKind::Host, i as u32);
            item(db, key).and_then(|s| s.args.first().map(|a| a.text.clone()))
        })
        .collect()
}

/// One host profile, loaded once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HostLoaded {
    pub def: Option<HostDef>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A host as its piece says it, with spans relative to the piece: unchanged when the host
/// only moves in its file, so the guests placed on it are not placed again.
#[salsa::tracked(returns(ref))]
fn host_in_place<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> HostLoaded {
    let (Some(stmt), Some((file, _))) = (item(db, key), item_at(db, key)) else {
        return HostLoaded::default();
    };
    let mut diagnostics = Vec::new();
    let mut shape = Vec::new();
    let def = schema::check(stmt, schema::Context::File, &mut shape).and_then(|f| {
        let sources = ProgramSources {
            db,
            program: key.program(db),
        };
        check::load_host(&f, file.path(db), &sources, &mut diagnostics)
    });
    HostLoaded { def, diagnostics }
}

/// One host profile, with its spans in its file.
#[salsa::tracked(returns(ref))]
pub fn host<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> HostLoaded {
    let Some((file, at)) = item_at(db, key) else {
        return HostLoaded::default();
    };
    let h = host_in_place(db, key);
    let id = file.id(db);
    HostLoaded {
        def: h.def.clone().map(|mut h| {
            h.span = h.span.relocate(id, at);
            for s in &mut h.node_spans {
                *s = s.relocate(id, at);
            }
            h
        }),
        diagnostics: h.diagnostics.iter().map(|d| d.relocated(id, at)).collect(),
    }
}

/// The host's cores in placement order, shared by every placement step on it.
#[salsa::tracked(returns(ref))]
pub fn host_topo<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<HostTopo> {
    host_in_place(db, key).def.as_ref().map(|h| HostTopo::new(&h.profile))
}

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
/// ([`FileId::RELATIVE`]), so moving the guest in its file changes nothing here.
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

/// The checked model and every diagnostic of a program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckResult {
    pub checked: Checked,
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
        if let (Some(h), Some(l)) = (step.host, step.ledger.as_ref())
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
            placed += 1;
        }
        g.steps.push((step, id, at));
    }
    g.diagnostics.extend(no_room_summaries(&g));
    g
}

/// One error per host for the guests that did not fit after the first one that did not
/// (which has its own, full error): how many, and where the first few are.
fn no_room_summaries(g: &Gathered<'_>) -> Vec<Diagnostic> {
    let mut per_host: BTreeMap<u32, Vec<Span>> = BTreeMap::new();
    for &(step, id, at) in &g.steps {
        if let (Some(span), Some(h)) = (step.no_room, step.host) {
            per_host.entry(h).or_default().push(span.relocate(id, at));
        }
    }
    per_host
        .into_iter()
        .filter_map(|(h, spans)| {
            let first = *spans.first()?;
            let name = g.hosts.get(h as usize).copied().flatten().map(|d| d.name.as_str()).unwrap_or("?");
            let n = spans.len();
            let mut d = Diagnostic::error(
                check::codes::VNUMA_NO_ROOM,
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

/// The checks across guests: memory fit on every host node.
fn fit_diagnostics(db: &dyn salsa::Database, program: Program, g: &Gathered<'_>, diags: &mut Vec<Diagnostic>) {
    let loaded: Vec<Option<&HostProfile>> = g.hosts.iter().map(|h| h.map(|h| &h.profile)).collect();
    let names: Vec<String> = host_names(db, program)
        .iter()
        .map(|n| n.clone().unwrap_or_default())
        .collect();
    fit::check_fit(&loaded, &names, &g.claims, diags);
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
    fit_diagnostics(db, program, &g, &mut diags);
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
    fit_diagnostics(db, program, &g, &mut diags);
    checked.hosts = g.hosts.iter().map(|h| h.cloned()).collect();
    diagnostics::sort(&mut diags);
    debug_assert_eq!(&diags, program_diagnostics(db, program));
    CheckResult {
        checked,
        diagnostics: diags,
    }
}

/// The result of checking a program, with the sources to render its diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Compiled {
    pub sources: SourceMap,
    pub checked: Checked,
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
        checked: r.checked.clone(),
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

struct ProgramSources<'d> {
    db: &'d dyn salsa::Database,
    program: Program,
}

impl HostSources for ProgramSources<'_> {
    fn read_text(&self, path: &Path) -> Result<String, String> {
        match self.program.files(self.db).get(&normalize(path)) {
            Some(Ok(f)) => Ok(f.text(self.db).clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not loaded".into()),
        }
    }

    fn probe(&self, name: &str) -> Result<HostProfile, String> {
        match self.program.probed(self.db) {
            Some(Ok(p)) => Ok(HostProfile {
                name: name.to_string(),
                ..p.clone()
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Err("this machine was not probed".into()),
        }
    }
}

/// Files in statement order with includes expanded in place; reports missing files and cycles.
fn include_order(db: &dyn salsa::Database, program: Program, diags: &mut Vec<Diagnostic>) -> Vec<SourceFile> {
    let mut order = Vec::new();
    let mut stack = Vec::new();
    visit(db, program, program.root(db), None, &mut stack, &mut order, diags);
    order
}

/// Depth-first over includes; `stack` holds the files being included and the include that led to each.
fn visit(
    db: &dyn salsa::Database,
    program: Program,
    file: SourceFile,
    via: Option<Span>,
    stack: &mut Vec<(SourceFile, Option<Span>)>,
    order: &mut Vec<SourceFile>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(pos) = stack.iter().position(|(f, _)| *f == file) {
        let chain: Vec<String> = stack[pos..]
            .iter()
            .map(|(f, _)| f.path(db).display().to_string())
            .chain(std::iter::once(file.path(db).display().to_string()))
            .collect();
        if let Some(span) = via {
            let mut d = Diagnostic::error(
                check::codes::INCLUDE_CYCLE,
                format!("include cycle: {}", chain.join(" → ")),
                span,
                "this include closes the cycle",
            );
            for s in stack[pos + 1..].iter().filter_map(|(_, s)| *s) {
                d = d.with_label(s, "included here");
            }
            diags.push(d.with_help("remove one of the includes in the chain"));
        }
        return;
    }
    if order.contains(&file) {
        return; // Included before: its definitions are not repeated.
    }
    order.push(file);
    stack.push((file, via));
    for (stmt, at) in top_statements(db, file) {
        if stmt.keyword.text != "include" {
            continue;
        }
        let Some(arg) = stmt.args.first().filter(|a| a.quoted) else {
            continue;
        };
        let span = arg.span.relocate(file.id(db), at);
        let path = normalize(&check::resolve_relative(file.path(db), &arg.text));
        match program.files(db).get(&path) {
            Some(Ok(next)) => visit(db, program, *next, Some(span), stack, order, diags),
            Some(Err(e)) => diags.push(
                Diagnostic::error(
                    check::codes::INCLUDE_NOT_FOUND,
                    format!("cannot read {}: {e}", path.display()),
                    span,
                    "included here",
                )
                .with_help("the path is relative to the including file"),
            ),
            None => {}
        }
    }
    stack.pop();
}

/// Lexically clean a path (`a/./b/../c` → `a/c`) so one file has one key.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The concrete database.
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for Database {}

impl Database {
    /// A database that reports every salsa event to `callback` (tests use it to prove reuse).
    pub fn with_events(callback: impl Fn(salsa::Event) + Send + Sync + 'static) -> Database {
        Database {
            storage: salsa::Storage::new(Some(Box::new(callback))),
        }
    }
}

mod load;

pub use load::{FsLoader, Loader, Snapshot, Workspace, load_program};
