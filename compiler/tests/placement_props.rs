//! Property tests of automatic partitioning (`vnuma`, docs/language.md §6): the placement
//! invariants, not golden outputs.
//!
//! Random builds (one host, one to three `vnuma` guests of random shape: vCPUs, memory,
//! hugepages, mode, nodeset, cells, distribution, pinning, memory mode) are written as `.vnuma`
//! text, compiled end to end through `vnumac::db` and checked on the checked model
//! (`ir::Guest`) against the host profile the compiler read:
//!
//! * an error is allowed (a random guest may not fit), but only a placement, memory or page
//!   error (E0320/E0321/E0322, E0313/E0405/E0406/E0407), never a panic, and `lower` then
//!   returns nothing; every "what would fit" hint of an E0321 must be true;
//! * otherwise, for every guest: cells cover the vCPUs exactly once with ids 0..k-1; cell
//!   memory sums to the guest's, in whole pages, split by vCPU share with the leftover pages to
//!   the lowest cells; every vCPU is pinned, never to a reserved CPU, with `pinning=cpu` to one
//!   CPU of its cell's node(s) and with `pinning=node` to those nodes' whole cpusets; each node
//!   carries ⌊N/p⌋ or ⌊N/p⌋+1 cells with consecutive ids; the distribution's pattern
//!   (consecutive blocks, v mod N, core j mod N) and a whole host core per guest core for
//!   `siblings`/`interleave`; the topology's product is V, threads T or 1, no socket across
//!   two cells, and §7's shape; distances 10 / 11..=255, the host's between the cells' nodes
//!   (11 on one node); `mode=host` mirrors exactly the asked nodes that have CPUs and nothing
//!   is ever bound to a CPU-less node; `mode=node` stays inside its nodeset, and a pick of k
//!   nodes means no k − 1 nodes would have placed the guest (nor any small set, when the
//!   pick fails for want of room);
//! * across the guests of a build: no host CPU has two dedicated vCPUs, no dedicated vCPU
//!   sits on a sibling thread of a 1-vCPU-per-core vCPU, strict memory and hugepages per node
//!   fit what is free, and emulator threads are never on a dedicated vCPU's CPU (a reserved
//!   CPU of cell 0's node if it has any, else that node's CPUs left by dedicated vCPUs);
//! * on hosts with L3 domains, a cell that fits in one L3 domain is in one: cell by cell and
//!   node by node, when some domain of the node still has as many free cores as the cell
//!   takes there, the cell's cores share one domain; when none has, they span no more
//!   domains than the fewest whose free cores add up to the cell's.
//!
//! Hosts: every bundled capabilities file (`examples/hosts/*.caps.xml`,
//! `examples/hosts/real/*.caps.xml`, inline through `host::print::to_vnuma` or as
//! `from="…"`) plus inline hosts with reserved CPUs, sparse node ids, CPU-less nodes,
//! asymmetric distances and mixed SMT widths; each build may reserve a few more CPUs and
//! shrink some nodes' free memory. L3 domains come from the capabilities files that list
//! `<cache>` banks and from an inline host whose domains do not follow its core ids. The run is reproducible (fixed seed); set
//! `PLACEMENT_PROPS_SEED=random` (or a number) and `PLACEMENT_PROPS_CASES=N` to hunt further,
//! `PLACEMENT_PROPS_VERBOSE=1` (with `--nocapture`) to see which errors the builds end in.
//!
//! `the_invariant_checks_catch_broken_placements` corrupts a good placement in a dozen ways
//! and makes sure the checks notice. `sampled_guests_pass_the_oracles` lowers a dozen fixed
//! builds of different shapes and, when the tools exist, runs `virt-xml-validate` on each XML
//! and starts each QEMU line paused to compare QMP `info numa` with the plan (skipped with a
//! message when the tools are missing, unless `VNUMAC_REQUIRE_ORACLES=1`).
//!
//! The fixture hosts (`tests/common/hosts.rs`, shared with `migrate_props`), the `.args`
//! reader, the neutraliser, QMP and the tool gating are shared with the other oracle suites
//! (`tests/common/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;
use vnumac::db::{Compiled, GuestOutput};
use vnumac::diagnostics::Severity;
use vnumac::host::HostProfile;
use vnumac::ir::{Guest, MemPolicy};
use vnumac::sets::IdSet;

use common::hosts::{HOSTS, compile};
use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::qmp::{QEMU_TIMEOUT, parse_info_numa, run_qmp};
use common::shell::{shell_line, shell_words};
use common::{QEMU, Scratch, VALIDATOR, oracle_available, workspace};

/// Errors a random `vnuma` guest may legitimately end in.
const ALLOWED_ERRORS: &[&str] = &[
    "vnuma::E0320", // a request that cannot be met
    "vnuma::E0321", // out of CPUs or memory
    "vnuma::E0322", // no CPU left for the emulator threads
    "vnuma::E0313", // memory not a whole number of pages
    "vnuma::E0405", // no such hugepage size
    "vnuma::E0406", // node memory
    "vnuma::E0407", // node hugepages
];

/// Random builds checked (each with one to three guests).
const BUILD_CASES: u32 = 3000;
/// The proptest seed unless PLACEMENT_PROPS_SEED says otherwise.
const DEFAULT_SEED: u64 = 0x7a5e_0f11;

// ---------------------------------------------------------------------------
// Random builds
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dist {
    Contiguous,
    Siblings,
    RoundRobin,
    Interleave,
}

impl Dist {
    fn word(self) -> &'static str {
        match self {
            Dist::Contiguous => "contiguous",
            Dist::Siblings => "siblings",
            Dist::RoundRobin => "round-robin",
            Dist::Interleave => "interleave",
        }
    }

    /// Units are whole guest cores of T threads.
    fn cores(self) -> bool {
        matches!(self, Dist::Siblings | Dist::Interleave)
    }
}

/// One guest as generated, before it meets a host. Sizes are mostly relative to the host
/// (so that a fair share of builds fits), with raw values now and then to reach the errors.
#[derive(Debug, Clone)]
struct GuestSpec {
    /// Units (vCPUs, or guest cores of T threads for core distributions) as a percentage of
    /// the host's usable cores shared by the build's guests, or a raw count.
    units_pct: u8,
    raw_units: Option<u32>,
    /// One vCPU more than whole units (breaks core distributions).
    extra: u32,
    /// Memory as a percentage of the host's free memory (or free pages of the chosen size)
    /// shared by the build's guests, or raw: count × (1 MiB, 256 MiB, 1 GiB)[scale].
    mem_pct: u8,
    raw_mem: Option<(u64, u8)>,
    /// 4 KiB more than whole pages.
    odd: bool,
    /// Index into the host's hugepage sizes (those with free pages first).
    hugepages: Option<u8>,
    locked: bool,
    mode_host: bool,
    /// Bit i: the host's i-th node; `bogus_node`: a node id the host does not have.
    nodeset: u16,
    bogus_node: bool,
    /// `mode=host`: this many cells beyond one per node used (k − 1 extra); `mode=node`: k.
    /// With `raw_cells`, k itself in either mode.
    cells: Option<u32>,
    raw_cells: bool,
    dist: Option<Dist>,
    /// Some(true) `pinning=cpu`, Some(false) `pinning=node`.
    pin_cpu: Option<bool>,
    memory_mode: Option<MemPolicy>,
}

/// Changes to the fixture's host for one build.
#[derive(Debug, Clone)]
struct HostTweak {
    /// Extra reserved CPUs, as indices into the host's CPUs (mod their count).
    reserve: Vec<u16>,
    /// (node index mod count, percent of its memory left free).
    free: Vec<(u8, u8)>,
    /// Write the host as `from="caps.xml"` (plus a `reserve` block) instead of inline.
    from_file: bool,
}

#[derive(Debug, Clone)]
struct BuildSpec {
    host: usize,
    tweak: HostTweak,
    guests: Vec<GuestSpec>,
}

/// A guest as written for a host: what the checks compare the model with.
#[derive(Debug, Clone)]
struct Resolved {
    name: String,
    vcpus: u32,
    memory_kib: u64,
    page_kib: Option<u64>,
    mode_host: bool,
    nodeset: Option<IdSet>,
    cells: Option<u32>,
    dist: Dist,
    pin_cpu: bool,
    policy: MemPolicy,
    /// The guest's block as written.
    text: String,
}

fn guest_strategy() -> impl Strategy<Value = GuestSpec> {
    (
        (
            1u8..=60,
            prop::option::weighted(0.1, 1u32..=64),
            prop::bool::weighted(0.05),
        ),
        (
            1u8..=60,
            prop::option::weighted(0.1, (1u64..=40, 0u8..3)),
            prop::bool::weighted(0.03),
        ),
        prop::option::weighted(0.25, 0u8..4),
        any::<bool>(),
        any::<bool>(),
        (
            prop_oneof![3 => Just(0u16), 2 => any::<u16>()],
            prop::bool::weighted(0.03),
        ),
        (prop::option::weighted(0.6, 1u32..=6), prop::bool::weighted(0.1)),
        prop::option::weighted(
            0.8,
            prop_oneof![
                Just(Dist::Contiguous),
                Just(Dist::Siblings),
                Just(Dist::RoundRobin),
                Just(Dist::Interleave)
            ],
        ),
        prop::option::weighted(0.7, prop_oneof![3 => Just(true), 1 => Just(false)]),
        prop::option::weighted(
            0.5,
            prop_oneof![
                Just(MemPolicy::Strict),
                Just(MemPolicy::Interleave),
                Just(MemPolicy::Preferred)
            ],
        ),
    )
        .prop_map(
            |(
                (units_pct, raw_units, extra),
                (mem_pct, raw_mem, odd),
                hugepages,
                locked,
                mode_host,
                (nodeset, bogus_node),
                (cells, raw_cells),
                dist,
                pin_cpu,
                memory_mode,
            )| GuestSpec {
                units_pct,
                raw_units,
                extra: u32::from(extra),
                mem_pct,
                raw_mem,
                odd,
                hugepages,
                locked,
                mode_host,
                nodeset,
                bogus_node,
                cells,
                raw_cells,
                dist,
                pin_cpu,
                memory_mode,
            },
        )
}

fn build_strategy() -> impl Strategy<Value = BuildSpec> {
    let tweak = (
        prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(any::<u16>(), 1..=4)],
        prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec((any::<u8>(), 1u8..=100), 1..=2)],
        prop::bool::weighted(0.3),
    )
        .prop_map(|(reserve, free, from_file)| HostTweak {
            reserve,
            free,
            from_file,
        });
    (0..HOSTS.len(), tweak, prop::collection::vec(guest_strategy(), 1..=3))
        .prop_map(|(host, tweak, guests)| BuildSpec { host, tweak, guests })
}

/// Every hugepage size any node of the host lists: those with free pages first.
fn page_sizes(h: &HostProfile) -> Vec<u64> {
    let mut sizes: Vec<(bool, u64)> = h
        .nodes
        .iter()
        .flat_map(|n| n.hugepages.iter().map(|p| (p.count == 0, p.size_kib)))
        .collect();
    sizes.sort_unstable();
    let mut out: Vec<u64> = Vec::new();
    for (_, size) in sizes {
        if !out.contains(&size) {
            out.push(size);
        }
    }
    out
}

/// The build as `.vnuma` text, the host profile it describes, and each guest as written.
fn render(b: &BuildSpec) -> (String, HostProfile, Vec<Resolved>) {
    let fx = &HOSTS[b.host];
    let mut profile = fx.profile.clone();
    let from_file = b.tweak.from_file && fx.caps.is_some();
    let extra_reserved: IdSet = b
        .tweak
        .reserve
        .iter()
        .map(|&i| profile.cpus[usize::from(i) % profile.cpus.len()].id)
        .collect();
    profile.reserved = profile.reserved.union(&extra_reserved);
    let mut text = String::new();
    if from_file {
        let path = fx.caps.as_ref().unwrap();
        let _ = write!(text, "host h from=\"{}\"", path.display());
        if extra_reserved.is_empty() {
            text.push('\n');
        } else {
            let _ = writeln!(text, " {{\n  reserve cpus={extra_reserved}\n}}");
        }
    } else {
        // Less room on some nodes: the host keeps the rest (`reserve memory=`).
        for &(node, pct) in &b.tweak.free {
            let n = &mut profile.nodes[usize::from(node) % fx.profile.nodes.len()];
            let keep = n.ordinary_kib() * u64::from(pct) / 100 / 1024 * 1024;
            n.reserved_kib += n.ordinary_kib() - keep;
        }
        text.push_str(&vnumac::host::print::to_vnuma(&profile));
    }
    let t = profile.smt_width();
    let sizes = page_sizes(&profile);
    let with_cpus: IdSet = profile
        .nodes
        .iter()
        .filter(|n| !n.cpus.is_empty())
        .map(|n| n.id)
        .collect();
    let share = b.guests.len() as u64;
    let cores = profile
        .cpus
        .iter()
        .filter(|c| c.siblings.first() == Some(c.id) && c.siblings.intersection(&profile.reserved).is_empty())
        .count() as u64;
    let free_kib: u64 = profile.nodes.iter().map(|n| n.ordinary_kib()).sum();
    let mut resolved = Vec::new();
    for (i, g) in b.guests.iter().enumerate() {
        let dist = g.dist.unwrap_or(Dist::Contiguous);

        let page_kib = g
            .hugepages
            .map(|k| sizes.get(usize::from(k) % sizes.len().max(1)).copied().unwrap_or(2048));
        let page = page_kib.unwrap_or(1024);
        let target = match (g.raw_mem, page_kib) {
            (Some((count, scale)), _) => count * [1024, 256 * 1024, 1024 * 1024][usize::from(scale % 3)],
            (None, None) => free_kib * u64::from(g.mem_pct) / 100 / share,
            (None, Some(size)) => {
                let pages: u64 = profile
                    .nodes
                    .iter()
                    .flat_map(|n| n.hugepages.iter().filter(|p| p.size_kib == size).map(|p| p.count))
                    .sum();
                pages * u64::from(g.mem_pct) / 100 / share * size
            }
        };
        let memory_kib = (target / page).max(1) * page + if g.odd { 4 } else { 0 };
        let mut nodeset: IdSet = profile
            .nodes
            .iter()
            .enumerate()
            .filter(|(k, _)| *k < 16 && g.nodeset & (1 << k) != 0)
            .map(|(_, n)| n.id)
            .collect();
        if g.bogus_node {
            nodeset.insert(profile.nodes.last().unwrap().id + 1);
        }
        let nodeset = (!nodeset.is_empty()).then_some(nodeset);
        let cells = g.cells.map(|k| {
            if g.mode_host && !g.raw_cells {
                let asked = nodeset.clone().unwrap_or_else(|| profile.node_ids());
                asked.intersection(&with_cpus).len() as u32 + k - 1
            } else {
                k
            }
        });
        // At least one unit per cell, unless the count is raw.
        let asked = nodeset.clone().unwrap_or_else(|| profile.node_ids());
        let want_cells = cells.unwrap_or(if g.mode_host {
            asked.intersection(&with_cpus).len() as u32
        } else {
            1
        });
        let units = g
            .raw_units
            .unwrap_or_else(|| ((cores * u64::from(g.units_pct) / 100 / share) as u32).max(want_cells.max(1)));
        // q35 starts at most 288 vCPUs in QEMU 7.2 (E0314): big hosts get guests up to that.
        let per_unit = if dist.cores() { t } else { 1 };
        let units = units.min((288 - g.extra) / per_unit).max(1);
        let vcpus = units * per_unit + g.extra;
        let r = Resolved {
            name: format!("g{i}"),
            vcpus,
            memory_kib,
            page_kib,
            mode_host: g.mode_host,
            nodeset: nodeset.clone(),
            cells,
            dist,
            pin_cpu: g.pin_cpu.unwrap_or(true),
            policy: g.memory_mode.unwrap_or(MemPolicy::Strict),
            text: String::new(),
        };
        let mut gt = String::new();
        let _ = writeln!(gt, "\nguest {} on=h {{", r.name);
        let _ = write!(gt, "  memory {memory_kib}KiB");
        if let Some(p) = page_kib {
            let _ = write!(gt, " hugepages={p}KiB");
        }
        if g.locked {
            gt.push_str(" locked=true");
        }
        let _ = writeln!(gt, "\n  vcpus {vcpus}");
        let _ = write!(gt, "  vnuma mode={}", if g.mode_host { "host" } else { "node" });
        if let Some(ns) = &nodeset {
            let _ = write!(gt, " nodeset={ns}");
        }
        if let Some(c) = cells {
            let _ = write!(gt, " cells={c}");
        }
        if let Some(d) = g.dist {
            let _ = write!(gt, " distribution={}", d.word());
        }
        if let Some(p) = g.pin_cpu {
            let _ = write!(gt, " pinning={}", if p { "cpu" } else { "node" });
        }
        if let Some(m) = g.memory_mode {
            let _ = write!(gt, " memory-mode={}", m.libvirt());
        }
        gt.push_str("\n}\n");
        text.push_str(&gt);
        let r = Resolved { text: gt, ..r };
        resolved.push(r);
    }
    (text, profile, resolved)
}

// ---------------------------------------------------------------------------
// The invariants
// ---------------------------------------------------------------------------

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// What the guests of one build use together, for the cross-guest checks.
#[derive(Default)]
struct Usage {
    /// Host CPU → the dedicated vCPU pinned to it.
    dedicated: BTreeMap<u32, String>,
    /// CPUs of 1-vCPU-per-core (contiguous, round-robin) dedicated vCPUs: their siblings stay free.
    lone_threads: Vec<(u32, String)>,
    /// Plain memory bound `strict`: (nodes, KiB, who).
    strict: Vec<(IdSet, u64, String)>,
    /// Hugepage-backed cells: (nodes, page KiB, pages, who).
    pages: Vec<(IdSet, u64, u64, String)>,
    /// (guest, emulator CPUs, the node of cell 0 when known).
    emulators: Vec<(String, IdSet, Option<u32>)>,
}

/// How the build ended, for the closing statistics.
#[derive(Default, Debug)]
struct Stats {
    ok_builds: u32,
    ok_guests: u32,
    errors: BTreeMap<&'static str, u32>,
    /// Error messages with digits blanked, to see which kinds of failure the generator hits.
    kinds: BTreeMap<String, u32>,
    /// Builds every guest of which was placed, but that failed the per-node fit check.
    fit_only: u32,
    /// "what would fit" hints tried.
    hints_checked: u32,
    /// Node sets tried against `mode=node` picks (smaller than the pick, or when the pick failed).
    picks_checked: u32,
}

fn check_case(b: &BuildSpec, stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    let (text, profile, guests) = render(b);
    let (c, outputs) = compile(&text);
    let fail = |why: String| {
        TestCaseError::fail(format!(
            "{why}\n--- host fixture: {} ---\n--- input.vnuma ---\n{text}--- diagnostics ---\n{}",
            HOSTS[b.host].label,
            c.diagnostics
                .iter()
                .map(|d| format!("{} {}", d.code, d.message))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    };
    let errors: Vec<_> = c.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
    if !errors.is_empty() {
        for d in &errors {
            if !ALLOWED_ERRORS.contains(&d.code) {
                return Err(fail(format!("unexpected error {}: {}", d.code, d.message)));
            }
            let mut st = stats.borrow_mut();
            *st.errors.entry(d.code).or_default() += 1;
            let kind: String = d.message.chars().filter(|c| !c.is_ascii_digit()).take(70).collect();
            *st.kinds.entry(format!("{} {kind}", d.code)).or_default() += 1;
        }
        if !outputs.is_empty() {
            return Err(fail("errors were reported but `lower` still produced output".into()));
        }
        if errors.iter().all(|d| matches!(d.code, "vnuma::E0406" | "vnuma::E0407")) {
            stats.borrow_mut().fit_only += 1;
        }
        let hints = check_hints(&text, &guests, &c).map_err(fail)?;
        let unpicked = check_no_pick_was_missed(&text, &profile, &guests, &c).map_err(fail)?;
        let mut st = stats.borrow_mut();
        st.hints_checked += hints;
        st.picks_checked += unpicked;
        return Ok(());
    }
    check_build(&c, &outputs, &profile, &guests).map_err(fail)?;
    let picks = check_picks_are_minimal(&text, &profile, &guests, &c).map_err(fail)?;
    let mut s = stats.borrow_mut();
    s.picks_checked += picks;
    s.ok_builds += 1;
    s.ok_guests += guests.len() as u32;
    Ok(())
}

/// The guest block with `key=value` set on its `vnuma` line (replacing any value there).
fn with_prop(block: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key}=");
    let mut out = String::new();
    for line in block.lines() {
        if line.trim_start().starts_with("vnuma ") {
            let mut words: Vec<&str> = line.split(' ').filter(|w| !w.starts_with(&prefix)).collect();
            let prop = format!("{prefix}{value}");
            words.push(&prop);
            out.push_str(&words.join(" "));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Byte ranges of the guests' blocks in the build's text.
fn guest_ranges(text: &str, guests: &[Resolved]) -> Vec<std::ops::Range<usize>> {
    let mut at = text.len() - guests.iter().map(|g| g.text.len()).sum::<usize>();
    guests
        .iter()
        .map(|g| {
            at += g.text.len();
            at - g.text.len()..at
        })
        .collect()
}

/// Is a diagnostic's primary label inside `range` of the root file?
fn located(d: &vnumac::diagnostics::Diagnostic, range: &std::ops::Range<usize>) -> bool {
    d.labels
        .iter()
        .any(|l| l.primary && l.span.file.0 == 0 && range.contains(&(l.span.start as usize)))
}

/// Does guest `i` place after guests 0..i, with `block` as its text? `fully`: with no error on
/// it at all (emulator threads included); otherwise no placement error (E0320/E0321).
fn places(text: &str, guests: &[Resolved], i: usize, block: &str, fully: bool) -> bool {
    let ranges = guest_ranges(text, guests);
    let mut t = text[..ranges[i].start].to_string();
    let range = t.len()..t.len() + block.len();
    t.push_str(block);
    let (c, _) = compile(&t);
    !c.diagnostics.iter().any(|d| {
        let placement = matches!(d.code, "vnuma::E0320" | "vnuma::E0321");
        (placement || (fully && d.severity == Severity::Error)) && located(d, &range)
    })
}

/// §7 "Running out": the error says what would fit. Every such hint must be true: the guest,
/// changed as the hint says, places. Returns how many hints were tried.
fn check_hints(text: &str, guests: &[Resolved], c: &Compiled) -> Result<u32, String> {
    let ranges = guest_ranges(text, guests);
    let mut tried = 0;
    for d in c.diagnostics.iter().filter(|d| d.code == "vnuma::E0321") {
        let Some(i) = ranges.iter().position(|r| located(d, r)) else {
            continue;
        };
        for hint in d.help.as_deref().unwrap_or("").split("; ") {
            let block = if let Some(k) = hint.strip_prefix("cells=").and_then(|h| h.strip_suffix(" fits")) {
                with_prop(&guests[i].text, "cells", k)
            } else if let Some((_, rest)) = hint.split_once("`nodeset=") {
                with_prop(&guests[i].text, "nodeset", rest.trim_end_matches('`'))
            } else if hint.starts_with("`pinning=node` fits") {
                with_prop(&guests[i].text, "pinning", "node")
            } else {
                continue;
            };
            tried += 1;
            ensure!(
                places(text, guests, i, &block, false),
                "guest g{i}: \"{}\" says `{hint}`, but with that it still does not place:\n{block}",
                d.message
            );
        }
    }
    Ok(tried)
}

/// §7: `mode=node` without `nodeset` picks the fewest nodes that fit. When it picked k ≥ 2
/// nodes, no set of k − 1 nodes with CPUs may fit (placed, emulator threads included: the
/// charitable reading). Returns how many sets were tried.
fn check_picks_are_minimal(text: &str, h: &HostProfile, guests: &[Resolved], c: &Compiled) -> Result<u32, String> {
    let candidates: Vec<u32> = h.nodes.iter().filter(|n| !n.cpus.is_empty()).map(|n| n.id).collect();
    let mut tried = 0;
    for (i, (g, s)) in c.checked.build.guests.iter().zip(guests).enumerate() {
        if s.mode_host || s.nodeset.is_some() {
            continue;
        }
        let used = g
            .cells
            .iter()
            .filter_map(|c| c.binding.as_ref())
            .fold(IdSet::new(), |acc, b| acc.union(&b.nodes));
        let k = used.len();
        if k < 2 {
            continue;
        }
        for subset in combinations(&candidates, k - 1).into_iter().take(70) {
            let set: IdSet = subset.into_iter().collect();
            tried += 1;
            let block = with_prop(&s.text, "nodeset", &set.to_string());
            ensure!(
                !places(text, guests, i, &block, true),
                "guest g{i} was placed on {k} nodes {used}, but the {} nodes {set} fit too:\n{block}",
                k - 1
            );
        }
    }
    Ok(tried)
}

/// §7 again, when the pick fails: a `mode=node` guest without `nodeset` that runs out of room
/// (E0321) must not fit on any set of nodes. Tries the sets of one to three nodes with CPUs
/// (at most 12 per guest). Returns how many sets were tried.
fn check_no_pick_was_missed(text: &str, h: &HostProfile, guests: &[Resolved], c: &Compiled) -> Result<u32, String> {
    let candidates: Vec<u32> = h.nodes.iter().filter(|n| !n.cpus.is_empty()).map(|n| n.id).collect();
    let ranges = guest_ranges(text, guests);
    let mut tried = 0;
    for (i, s) in guests.iter().enumerate() {
        let out_of_room = c
            .diagnostics
            .iter()
            .any(|d| d.code == "vnuma::E0321" && located(d, &ranges[i]));
        if s.mode_host || s.nodeset.is_some() || !out_of_room {
            continue;
        }
        let sets = (1..=3.min(candidates.len())).flat_map(|k| combinations(&candidates, k));
        for subset in sets.take(12) {
            let set: IdSet = subset.into_iter().collect();
            tried += 1;
            let block = with_prop(&s.text, "nodeset", &set.to_string());
            ensure!(
                !places(text, guests, i, &block, true),
                "guest g{i}: vnumac found no nodes for it (E0321), but nodes {set} fit:\n{block}"
            );
        }
    }
    Ok(tried)
}

/// Every `k`-element subset of `items`, in order.
fn combinations(items: &[u32], k: usize) -> Vec<Vec<u32>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        for mut rest in combinations(&items[i + 1..], k - 1) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

fn check_build(
    c: &Compiled,
    outputs: &[GuestOutput],
    expected: &HostProfile,
    guests: &[Resolved],
) -> Result<(), String> {
    let checked = &c.checked;
    ensure!(
        checked.build.guests.len() == guests.len(),
        "{} guests in the model for {} written",
        checked.build.guests.len(),
        guests.len()
    );
    ensure!(
        outputs.len() == guests.len(),
        "`lower` gave {} outputs for {} guests",
        outputs.len(),
        guests.len()
    );
    let host = checked.hosts[0]
        .as_ref()
        .ok_or("the host did not load")?
        .profile
        .as_ref();
    ensure!(
        host == expected,
        "the host profile the compiler read differs from the one written"
    );
    let mut usage = Usage::default();
    let mut cores_used = std::collections::BTreeSet::new();
    for (i, (g, spec)) in checked.build.guests.iter().zip(guests).enumerate() {
        ensure!(checked.guest_hosts[i] == Some(0), "{}: not on host h", g.name);
        check_guest(host, g, spec, &mut usage).map_err(|e| format!("guest {}: {e}", g.name))?;
        check_l3(host, g, spec, &mut cores_used).map_err(|e| format!("guest {}: {e}", g.name))?;
        let out = &outputs[i];
        ensure!(out.name == g.name, "output {i} is {}, not {}", out.name, g.name);
        ensure!(
            out.xml.matches("<vcpupin ").count() == g.vcpus as usize,
            "{}: the XML does not pin every vCPU once",
            g.name
        );
    }
    check_usage(host, &usage)
}

/// A host core, named by its lowest thread: its threads (those on the host).
fn core_of(h: &HostProfile, cpu: u32) -> IdSet {
    let c = h.cpu(cpu).unwrap();
    let threads: IdSet = c.siblings.iter().filter(|t| h.cpu(*t).is_some()).collect();
    if threads.is_empty() {
        IdSet::single(cpu)
    } else {
        threads
    }
}

/// §6, L3 domains: a cell that fits in one L3 domain is in one. Cell by cell (and node by
/// node within a cell), for a dedicated guest: when some L3 domain of the node still has as
/// many free cores as the cell takes there (free: no reserved thread, as many threads as a
/// guest core needs, not taken by an earlier dedicated guest or an earlier cell of this
/// one), the cell's cores there all share one domain. When no domain has room for them,
/// they span no more domains than the fewest whose free cores add up to theirs, and take no
/// core outside every domain unless the domains together lack room. A core's domain is its
/// lowest thread's. `cores_used` holds the lowest thread of every core dedicated guests took.
fn check_l3(
    h: &HostProfile,
    g: &Guest,
    s: &Resolved,
    cores_used: &mut std::collections::BTreeSet<u32>,
) -> Result<(), String> {
    if !s.pin_cpu {
        return Ok(());
    }
    let t = if s.dist.cores() { h.smt_width() as usize } else { 1 };
    let domain = h.l3_map();
    let mut cells: Vec<&vnumac::ir::GuestCell> = g.cells.iter().collect();
    cells.sort_by_key(|c| c.id);
    let mut taken = Vec::new();
    for cell in cells {
        // The cell's cores per node.
        let mut per_node: BTreeMap<u32, std::collections::BTreeSet<u32>> = BTreeMap::new();
        for p in g.pins.iter().filter(|p| cell.vcpus.contains(p.vcpu)) {
            for cpu in p.cpus.iter() {
                let core = core_of(h, cpu).first().unwrap();
                per_node.entry(h.cpu(cpu).unwrap().node).or_default().insert(core);
            }
        }
        for (node, cores) in per_node {
            if !h.l3.is_empty() {
                // Free cores of this node per domain.
                let mut free: BTreeMap<usize, usize> = BTreeMap::new();
                for cpu in h.node(node).unwrap().cpus.iter() {
                    let core = core_of(h, cpu);
                    if core.first() != Some(cpu)
                        || core.len() < t
                        || !core.intersection(&h.reserved).is_empty()
                        || cores_used.contains(&cpu)
                        || taken.contains(&cpu)
                    {
                        continue;
                    }
                    if let Some(&d) = domain.get(&cpu) {
                        *free.entry(d).or_default() += 1;
                    }
                }
                let roomiest = free.values().copied().max().unwrap_or(0);
                let domains: std::collections::BTreeSet<Option<usize>> =
                    cores.iter().map(|c| domain.get(c).copied()).collect();
                ensure!(
                    roomiest < cores.len() || domains.len() == 1,
                    "cell {} takes {} cores on node {node} in L3 domains {domains:?}, although one domain had {roomiest} free",
                    cell.id,
                    cores.len()
                );
                // Too big for one domain: no more domains than the fewest whose free cores
                // add up to the cell's, and no core outside every domain while the domains
                // still had room for the whole cell.
                let mut counts: Vec<usize> = free.values().copied().collect();
                counts.sort_unstable_by(|a, b| b.cmp(a));
                let in_domains: usize = counts.iter().sum();
                let mut fewest = counts.len();
                let mut sum = 0;
                for (i, &count) in counts.iter().enumerate() {
                    sum += count;
                    if sum >= cores.len() {
                        fewest = i + 1;
                        break;
                    }
                }
                let spanned = domains.iter().flatten().count();
                ensure!(
                    spanned <= fewest,
                    "cell {} takes {} cores on node {node} in {spanned} L3 domains {domains:?}, although {fewest} had room (free cores per domain: {free:?})",
                    cell.id,
                    cores.len()
                );
                ensure!(
                    in_domains < cores.len() || !domains.contains(&None),
                    "cell {} takes a core in no L3 domain on node {node}, although the domains had {in_domains} free for its {}",
                    cell.id,
                    cores.len()
                );
            }
            taken.extend(cores);
        }
    }
    cores_used.extend(taken);
    Ok(())
}

/// The host node of every CPU in `cpus`.
fn nodes_of(h: &HostProfile, cpus: &IdSet) -> IdSet {
    h.nodes_of_cpus(cpus)
}

/// Every CPU of the given host nodes.
fn cpus_of(h: &HostProfile, nodes: &IdSet) -> IdSet {
    nodes
        .iter()
        .filter_map(|n| h.node(n))
        .flat_map(|n| n.cpus.iter())
        .collect()
}

fn check_guest(h: &HostProfile, g: &Guest, s: &Resolved, usage: &mut Usage) -> Result<(), String> {
    ensure!(g.name == s.name, "name {} for {}", g.name, s.name);
    ensure!(g.vcpus == s.vcpus, "{} vCPUs, written {}", g.vcpus, s.vcpus);
    ensure!(
        g.memory_kib == s.memory_kib,
        "{} KiB, written {}",
        g.memory_kib,
        s.memory_kib
    );
    ensure!(
        g.hugepage_kib == s.page_kib,
        "hugepages {:?}, written {:?}",
        g.hugepage_kib,
        s.page_kib
    );
    let v_count = g.vcpus as usize;
    let n = g.cells.len();
    ensure!(n >= 1, "no cells");

    // Cells: ids 0..k-1, vCPUs 0..V-1 each in exactly one cell, no empty cell.
    let mut cell_of = vec![usize::MAX; v_count];
    for (i, cell) in g.cells.iter().enumerate() {
        ensure!(cell.id == i as u32, "cell {i} has id {}", cell.id);
        ensure!(!cell.vcpus.is_empty(), "cell {i} has no vCPUs");
        for v in cell.vcpus.iter() {
            ensure!((v as usize) < v_count, "cell {i} holds vCPU {v} of {v_count}");
            let prev = cell_of[v as usize];
            ensure!(prev == usize::MAX, "vCPU {v} is in cells {prev} and {i}");
            cell_of[v as usize] = i;
        }
    }
    if let Some(v) = cell_of.iter().position(|&c| c == usize::MAX) {
        return Err(format!("vCPU {v} is in no cell"));
    }

    // Memory: sums exactly, whole pages, in proportion to vCPUs (floor, +1 for leftovers).
    let page = g.hugepage_kib.unwrap_or(1024);
    let sum: u64 = g.cells.iter().map(|c| c.memory_kib).sum();
    ensure!(sum == g.memory_kib, "cells hold {sum} KiB of {} KiB", g.memory_kib);
    let total_pages = g.memory_kib / page;
    let floors: Vec<u64> = g
        .cells
        .iter()
        .map(|c| total_pages * c.vcpus.len() as u64 / u64::from(g.vcpus))
        .collect();
    let leftover = total_pages.saturating_sub(floors.iter().sum());
    for (i, cell) in g.cells.iter().enumerate() {
        ensure!(
            cell.memory_kib > 0 && cell.memory_kib.is_multiple_of(page),
            "cell {i} has {} KiB, not a positive whole number of {page} KiB pages",
            cell.memory_kib
        );
        ensure!(
            cell.hugepage_kib == g.hugepage_kib,
            "cell {i} pages {:?}, guest {:?}",
            cell.hugepage_kib,
            g.hugepage_kib
        );
        // In proportion to vCPUs, rounded down; the leftover pages one each to the lowest cells.
        let want = floors[i] + u64::from((i as u64) < leftover);
        let got = cell.memory_kib / page;
        ensure!(
            got == want,
            "cell {i} has {got} pages for {} of {} vCPUs of {total_pages} pages (expected {want})",
            cell.vcpus.len(),
            g.vcpus
        );
    }

    // Memory bindings, and which host nodes the guest uses.
    let with_cpus: IdSet = h.nodes.iter().filter(|n| !n.cpus.is_empty()).map(|n| n.id).collect();
    let mut used = IdSet::new();
    let mut bindings = Vec::new();
    for (i, cell) in g.cells.iter().enumerate() {
        let b = cell
            .binding
            .as_ref()
            .ok_or(format!("cell {i} is not bound to host memory"))?;
        ensure!(
            b.policy == s.policy,
            "cell {i} policy {:?}, asked {:?}",
            b.policy,
            s.policy
        );
        ensure!(!b.nodes.is_empty(), "cell {i} bound to no node");
        ensure!(
            b.nodes.is_subset(&with_cpus),
            "cell {i} bound to {} but the host nodes with CPUs are {with_cpus}",
            b.nodes
        );
        if s.policy == MemPolicy::Preferred {
            ensure!(b.nodes.len() == 1, "cell {i} prefers several nodes {}", b.nodes);
        }
        used = used.union(&b.nodes);
        bindings.push(b.nodes.clone());
    }
    if s.policy == MemPolicy::Interleave {
        ensure!(
            bindings.iter().all(|b| *b == used),
            "interleaved cells over different node sets: {bindings:?}"
        );
    }
    ensure!(g.memory_binding.is_none(), "a whole-guest memory policy next to cells");
    let asked = s.nodeset.clone().unwrap_or_else(|| h.node_ids());
    if s.mode_host {
        let mirror = asked.intersection(&with_cpus);
        ensure!(
            used == mirror,
            "mode=host uses nodes {used}, but the nodes with CPUs asked are {mirror}"
        );
    } else {
        ensure!(used.is_subset(&asked), "mode=node uses nodes {used} outside {asked}");
    }
    let want_cells = s.cells.unwrap_or(if s.mode_host { used.len() as u32 } else { 1 }) as usize;
    ensure!(n == want_cells, "{n} cells, expected {want_cells}");

    // Pins: every vCPU exactly once, onto existing, unreserved CPUs.
    let cpu_ids = h.cpu_ids();
    let mut pin_of: Vec<Option<&IdSet>> = vec![None; v_count];
    for p in &g.pins {
        ensure!((p.vcpu as usize) < v_count, "pin of vCPU {} of {v_count}", p.vcpu);
        ensure!(pin_of[p.vcpu as usize].is_none(), "vCPU {} pinned twice", p.vcpu);
        ensure!(!p.cpus.is_empty(), "vCPU {} pinned to no CPU", p.vcpu);
        ensure!(
            p.cpus.is_subset(&cpu_ids),
            "vCPU {} pinned to {}, not all host CPUs",
            p.vcpu,
            p.cpus
        );
        let bad = p.cpus.intersection(&h.reserved);
        ensure!(bad.is_empty(), "vCPU {} pinned to reserved CPUs {bad}", p.vcpu);
        pin_of[p.vcpu as usize] = Some(&p.cpus);
    }
    let pins: Vec<&IdSet> = match pin_of.iter().position(Option::is_none) {
        Some(v) => return Err(format!("vCPU {v} is not pinned")),
        None => pin_of.into_iter().flatten().collect(),
    };
    let cell_pin_nodes = |i: usize| -> IdSet {
        g.cells[i]
            .vcpus
            .iter()
            .fold(IdSet::new(), |acc, v| acc.union(&nodes_of(h, pins[v as usize])))
    };

    // The host nodes each cell runs on: its memory nodes (strict, preferred), or, interleaved,
    // the one node its pins sit on when every cell has a node of its own.
    let p = used.len();
    let run: Vec<Option<IdSet>> = (0..n)
        .map(|i| match s.policy {
            MemPolicy::Interleave if n >= p => Some(cell_pin_nodes(i)),
            MemPolicy::Interleave => None,
            _ => Some(bindings[i].clone()),
        })
        .collect();
    for (i, r) in run.iter().enumerate() {
        let on = cell_pin_nodes(i);
        match r {
            Some(r) => ensure!(
                on.is_subset(r),
                "cell {i} runs on nodes {r} but its vCPUs are pinned to nodes {on}"
            ),
            None => ensure!(
                on.is_subset(&used),
                "cell {i}'s vCPUs pinned to nodes {on} outside {used}"
            ),
        }
    }
    if n >= p {
        // Each node carries ⌊N/p⌋ cells, the first N mod p one more, with consecutive ids.
        let order: Vec<u32> = used.iter().collect();
        let mut at = 0usize;
        for (k, node) in order.iter().enumerate() {
            let count = n / p + usize::from(k < n % p);
            for (i, r) in run.iter().enumerate().skip(at).take(count) {
                let r = r.as_ref().unwrap();
                ensure!(
                    r.len() == 1 && r.first() == Some(*node),
                    "cell {i} runs on {r}, expected node {node} ({n} cells over nodes {used})"
                );
            }
            at += count;
        }
    } else if s.policy != MemPolicy::Interleave {
        // Fewer cells than nodes: the cells split the nodes.
        let mut seen = IdSet::new();
        for (i, r) in run.iter().enumerate() {
            let r = r.as_ref().unwrap();
            ensure!(
                seen.intersection(r).is_empty(),
                "cell {i} shares nodes {r} with another cell"
            );
            seen = seen.union(r);
        }
        ensure!(seen == used, "cells cover nodes {seen}, not {used}");
    }

    if s.pin_cpu {
        for (v, cpus) in pins.iter().enumerate() {
            ensure!(cpus.len() == 1, "dedicated vCPU {v} pinned to several CPUs {cpus}");
            let cpu = cpus.first().unwrap();
            if let Some(prev) = usage.dedicated.insert(cpu, format!("{} vCPU {v}", g.name)) {
                return Err(format!("vCPU {v} is pinned to CPU {cpu}, which {prev} already has"));
            }
            if !s.dist.cores() {
                usage.lone_threads.push((cpu, format!("{} vCPU {v}", g.name)));
            }
        }
    } else {
        for (i, cell) in g.cells.iter().enumerate() {
            let first = pins[cell.vcpus.first().unwrap() as usize];
            for v in cell.vcpus.iter() {
                ensure!(
                    pins[v as usize] == first,
                    "cell {i}: vCPU {v} pinned to {}, vCPU {} to {first}",
                    pins[v as usize],
                    cell.vcpus.first().unwrap()
                );
            }
            if let Some(r) = &run[i] {
                let want = cpus_of(h, r).difference(&h.reserved);
                ensure!(
                    *first == want,
                    "cell {i} on nodes {r} pinned to {first}, expected their CPUs {want}"
                );
            }
        }
    }

    // Distribution of vCPUs (or guest cores of T threads) over the cells.
    let t = h.smt_width();
    let unit = if s.dist.cores() { t } else { 1 };
    for (v, &c) in cell_of.iter().enumerate() {
        let v = v as u32;
        let want = match s.dist {
            Dist::RoundRobin => Some((v % n as u32) as usize),
            Dist::Interleave => Some(((v / t) % n as u32) as usize),
            _ => None,
        };
        if let Some(w) = want {
            ensure!(c == w, "vCPU {v} is in cell {c}, {} puts it in cell {w}", s.dist.word());
        }
    }
    if matches!(s.dist, Dist::Contiguous | Dist::Siblings) {
        ensure!(
            cell_of.windows(2).all(|w| w[0] <= w[1]),
            "cells are not consecutive blocks: {cell_of:?}"
        );
    }
    let sizes: Vec<u32> = g.cells.iter().map(|c| c.vcpus.len() as u32).collect();
    for (i, &sz) in sizes.iter().enumerate() {
        ensure!(
            sz.is_multiple_of(unit),
            "cell {i} has {sz} vCPUs, not whole cores of {unit}"
        );
    }
    let (lo, hi) = (*sizes.iter().min().unwrap(), *sizes.iter().max().unwrap());
    ensure!(hi - lo <= unit, "cells are unbalanced: {sizes:?}");
    if s.pin_cpu && s.dist.cores() {
        for j in 0..g.vcpus / t {
            let core: IdSet = (j * t..(j + 1) * t).flat_map(|v| pins[v as usize].iter()).collect();
            let first = h.cpu(core.first().unwrap()).unwrap();
            ensure!(
                core.len() == t as usize && core == first.siblings,
                "guest core {j} (vCPUs {}-{}) is on CPUs {core}, not the {t} threads of one host core ({})",
                j * t,
                (j + 1) * t - 1,
                first.siblings
            );
        }
    }

    // Topology: the product is V, no socket spans two cells, threads = T or 1.
    let topo = g.topology.ok_or("no topology")?;
    ensure!(
        topo.product() == u64::from(g.vcpus),
        "topology {topo:?} gives {} vCPUs",
        topo.product()
    );
    ensure!(
        topo.threads == unit,
        "topology {topo:?} has {} threads, expected {unit}",
        topo.threads
    );
    let per = topo.per_socket() as usize;
    for sock in 0..topo.sockets as usize {
        let span = &cell_of[sock * per..(sock + 1) * per];
        ensure!(
            span.iter().all(|&c| c == span[0]),
            "socket {sock} (vCPUs {}-{}) spans cells {span:?}",
            sock * per,
            (sock + 1) * per - 1
        );
    }
    let units = g.vcpus / unit;
    let want = match s.dist {
        Dist::RoundRobin => Some((g.vcpus, 1, 1)),
        Dist::Interleave => Some((units, 1, t)),
        Dist::Contiguous | Dist::Siblings if units.is_multiple_of(n as u32) => Some((n as u32, units / n as u32, unit)),
        _ => None,
    };
    if let Some((sockets, cores, threads)) = want {
        ensure!(
            (topo.sockets, topo.dies, topo.cores, topo.threads) == (sockets, 1, cores, threads),
            "topology {topo:?}, §7 says {sockets} × {cores} × {threads}"
        );
    }

    // Distances: a full table, 10 on the diagonal, the host's (≥ 11) elsewhere.
    match &g.distances {
        None => ensure!(n == 1, "{n} cells and no distances"),
        Some(m) => {
            ensure!(
                m.len() == n && m.iter().all(|r| r.len() == n),
                "distance table not {n}×{n}: {m:?}"
            );
            for i in 0..n {
                for j in 0..n {
                    let d = m[i][j];
                    if i == j {
                        ensure!(d == 10, "distance {i}→{i} is {d}");
                        continue;
                    }
                    ensure!((11..=255).contains(&d), "distance {i}→{j} is {d}");
                    if let (Some(a), Some(b)) = (&run[i], &run[j]) {
                        let mut best = u32::MAX;
                        for x in a.iter() {
                            for y in b.iter() {
                                best = best.min(h.distance(x, y).unwrap());
                            }
                        }
                        let want = best.clamp(11, 255);
                        ensure!(
                            d == want,
                            "distance {i}→{j} is {d}; cells on nodes {a} and {b}, the host says {best} → {want}"
                        );
                    }
                }
            }
        }
    }

    // Memory claims for the per-node totals.
    for (i, cell) in g.cells.iter().enumerate() {
        let who = format!("{} cell {i}", g.name);
        match g.hugepage_kib {
            Some(size) => usage
                .pages
                .push((bindings[i].clone(), size, cell.memory_kib / size, who)),
            None if s.policy.binds() => usage.strict.push((bindings[i].clone(), cell.memory_kib, who)),
            None => {}
        }
    }

    // Emulator threads: somewhere, on cell 0's node (checked against dedicated CPUs later).
    let e = g.emulator_pin.clone().ok_or("no emulator pin")?;
    ensure!(!e.is_empty(), "emulator pinned to no CPU");
    usage
        .emulators
        .push((g.name.clone(), e, run[0].as_ref().and_then(IdSet::first)));
    Ok(())
}

/// `units` split evenly over `nodes` in id order, the remainder to the lowest.
fn spread(nodes: &IdSet, units: u64) -> Vec<(u32, u64)> {
    let k = nodes.len() as u64;
    nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n, units / k + u64::from((i as u64) < units % k)))
        .collect()
}

fn check_usage(h: &HostProfile, u: &Usage) -> Result<(), String> {
    // One vCPU per core: no other dedicated vCPU on a sibling thread.
    for (cpu, who) in &u.lone_threads {
        for sib in h.cpu(*cpu).unwrap().siblings.iter().filter(|s| s != cpu) {
            if let Some(other) = u.dedicated.get(&sib) {
                return Err(format!(
                    "{who} has CPU {cpu} as a core of its own, but {other} is on its sibling thread {sib}"
                ));
            }
        }
    }

    // Strict memory per node (a cell over several nodes counted evenly), and per binding set.
    let mut per_node: BTreeMap<u32, u64> = BTreeMap::new();
    for (nodes, kib, _) in &u.strict {
        for (node, share) in spread(nodes, *kib) {
            *per_node.entry(node).or_default() += share;
        }
    }
    for (node, kib) in &per_node {
        let free = h.node(*node).unwrap().ordinary_kib();
        ensure!(
            *kib <= free,
            "host node {node} has {free} KiB free but {kib} KiB is bound to it: {:?}",
            u.strict
        );
    }
    for (set, _, _) in &u.strict {
        let need: u64 = u
            .strict
            .iter()
            .filter(|(s, _, _)| s.is_subset(set))
            .map(|(_, k, _)| k)
            .sum();
        let free: u64 = set.iter().map(|n| h.node(n).unwrap().ordinary_kib()).sum();
        ensure!(
            need <= free,
            "nodes {set} have {free} KiB free but {need} KiB is bound within them"
        );
    }

    // Hugepages per node and size.
    let mut per_pool: BTreeMap<(u32, u64), u64> = BTreeMap::new();
    for (nodes, size, count, _) in &u.pages {
        for (node, share) in spread(nodes, *count) {
            *per_pool.entry((node, *size)).or_default() += share;
        }
    }
    for ((node, size), need) in &per_pool {
        let have = h
            .node(*node)
            .unwrap()
            .hugepages
            .iter()
            .find(|p| p.size_kib == *size)
            .map_or(0, |p| p.count);
        ensure!(
            *need <= have,
            "host node {node} has {have} free {size} KiB pages but the guests take {need}: {:?}",
            u.pages
        );
    }

    // Emulator threads: never on a dedicated vCPU's CPU; a reserved CPU of cell 0's node when
    // the host reserves any there, else that node's CPUs left by dedicated vCPUs.
    let dedicated: IdSet = u.dedicated.keys().copied().collect();
    for (name, e, node0) in &u.emulators {
        let clash = e.intersection(&dedicated);
        ensure!(clash.is_empty(), "{name}: emulator threads on dedicated CPUs {clash}");
        let nodes = nodes_of(h, e);
        ensure!(nodes.len() == 1, "{name}: emulator CPUs {e} span nodes {nodes}");
        let x = nodes.first().unwrap();
        if let Some(want) = node0 {
            ensure!(
                x == *want,
                "{name}: emulator threads on node {x}, cell 0 runs on node {want}"
            );
        }
        let node = h.node(x).unwrap();
        let reserved = node.cpus.intersection(&h.reserved);
        let want = if reserved.is_empty() {
            node.cpus.difference(&dedicated)
        } else {
            reserved
        };
        ensure!(*e == want, "{name}: emulator pinned to {e}, expected {want}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The property test
// ---------------------------------------------------------------------------

#[test]
fn placement_invariants_hold_for_random_builds() {
    let started = Instant::now();
    // Reproducible by default; PLACEMENT_PROPS_SEED=random (or another number) and
    // PLACEMENT_PROPS_CASES=N explore further.
    let cases = std::env::var("PLACEMENT_PROPS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BUILD_CASES);
    let seed = std::env::var("PLACEMENT_PROPS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RngSeed::Fixed(DEFAULT_SEED));
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: seed,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    });
    let stats = RefCell::new(Stats::default());
    let result = runner.run(&build_strategy(), |b| check_case(&b, &stats));
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, minimal)) => {
            panic!("placement invariant broken (seed {seed}):\n{why}\nminimal case: {minimal:#?}")
        }
        Err(e) => panic!("{e}"),
    }
    let s = stats.into_inner();
    eprintln!(
        "{cases} builds (seed {seed}) in {:.1?}: {} placed ({} guests), {} failed only the fit check, \
         {} hints and {} smaller node sets tried, errors by code {:?}",
        started.elapsed(),
        s.ok_builds,
        s.ok_guests,
        s.fit_only,
        s.hints_checked,
        s.picks_checked,
        s.errors
    );
    if std::env::var_os("PLACEMENT_PROPS_VERBOSE").is_some() {
        for (kind, count) in &s.kinds {
            eprintln!("{count:6}  {kind}");
        }
    }
    // The invariants are only worth something if a fair share of builds is placed.
    assert!(
        s.ok_builds * 4 >= cases,
        "only {} of {cases} random builds were placed",
        s.ok_builds
    );
}

// ---------------------------------------------------------------------------
// The checks themselves catch broken placements
// ---------------------------------------------------------------------------

/// A placed build with every distribution and both pinnings, to corrupt.
fn placed_sample_spec() -> BuildSpec {
    BuildSpec {
        host: host_index("peppi.caps.xml"),
        tweak: HostTweak {
            reserve: vec![0, 60],
            free: Vec::new(),
            from_file: false,
        },
        guests: vec![
            sample(8, 8, true, None, Dist::Contiguous, true, MemPolicy::Strict),
            sample(8, 8, true, None, Dist::Siblings, true, MemPolicy::Strict),
            sample(8, 8, true, None, Dist::RoundRobin, true, MemPolicy::Strict),
            sample(8, 8, false, Some(2), Dist::Interleave, false, MemPolicy::Interleave),
        ],
    }
}

fn placed_sample() -> (Compiled, Vec<GuestOutput>, HostProfile, Vec<Resolved>) {
    let (text, profile, guests) = render(&placed_sample_spec());
    let (c, outputs) = compile(&text);
    assert!(!c.has_errors(), "{text}\n{:#?}", c.diagnostics);
    check_build(&c, &outputs, &profile, &guests).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (c, outputs, profile, guests)
}

#[test]
fn the_invariant_checks_catch_broken_placements() {
    // (what, a piece of the message that must report it, the corruption)
    type Corruption = (&'static str, &'static str, fn(&mut Vec<Guest>, &HostProfile));
    let corruptions: &[Corruption] = &[
        ("two guests share a dedicated CPU", "already has", |g, _| {
            g[1].pins[0].cpus = g[0].pins[0].cpus.clone();
        }),
        ("a vCPU on a reserved CPU", "reserved CPUs 60", |g, _| {
            g[0].pins[0].cpus = IdSet::single(60)
        }),
        ("a sibling of a lone vCPU's core taken", "sibling thread", |g, h| {
            // Round-robin vCPU 0 onto the other thread of contiguous vCPU 0's core (both node 0).
            let cpu = g[0].pins[0].cpus.first().unwrap();
            let sib = h.cpu(cpu).unwrap().siblings.iter().find(|s| *s != cpu).unwrap();
            g[2].pins[0].cpus = IdSet::single(sib);
        }),
        ("a vCPU off its cell's node", "pinned to nodes 0,3", |g, h| {
            let far = h.nodes[3].cpus.last().unwrap();
            g[0].pins[0].cpus = IdSet::single(far);
        }),
        ("a distance of 10", "distance 0→1 is 10", |g, _| {
            g[0].distances.as_mut().unwrap()[0][1] = 10
        }),
        ("a distance the host does not have", "the host says 21", |g, _| {
            g[0].distances.as_mut().unwrap()[0][1] = 22
        }),
        ("memory moved between cells", "pages for", |g, _| {
            g[0].cells[0].memory_kib += 1024;
            g[0].cells[1].memory_kib -= 1024;
        }),
        ("a socket across two cells", "spans cells", |g, _| {
            let v = g[0].vcpus;
            g[0].topology = Some(vnumac::ir::Topology {
                sockets: 1,
                dies: 1,
                cores: v,
                threads: 1,
            });
        }),
        ("round-robin broken", "round-robin puts it in cell 0", |g, _| {
            // vCPUs 4 (cell 0) and 5 (cell 1) trade cells and host CPUs.
            let (c0, c1) = (&g[2].cells[0].vcpus, &g[2].cells[1].vcpus);
            let c0_new = c0.difference(&IdSet::single(4)).union(&IdSet::single(5));
            let c1_new = c1.difference(&IdSet::single(5)).union(&IdSet::single(4));
            g[2].cells[0].vcpus = c0_new;
            g[2].cells[1].vcpus = c1_new;
            let (a, b) = (g[2].pins[4].cpus.clone(), g[2].pins[5].cpus.clone());
            g[2].pins[4].cpus = b;
            g[2].pins[5].cpus = a;
        }),
        (
            "a guest core split over two host cores",
            "not the 2 threads of one host core",
            |g, _| {
                // vCPUs 1 and 2 of the siblings guest are in one cell, on two host cores.
                let (a, b) = (g[1].pins[1].cpus.clone(), g[1].pins[2].cpus.clone());
                g[1].pins[1].cpus = b;
                g[1].pins[2].cpus = a;
            },
        ),
        (
            "emulator on a dedicated CPU",
            "emulator threads on dedicated CPUs",
            |g, _| g[3].emulator_pin = Some(g[0].pins[0].cpus.clone()),
        ),
        ("a vCPU in no cell", "is in no cell", |g, _| {
            let last = g[0].cells[1].vcpus.last().unwrap();
            g[0].cells[1].vcpus = g[0].cells[1].vcpus.difference(&IdSet::single(last));
        }),
        (
            "a node-pinned vCPU with fewer CPUs",
            "cell 0: vCPU 1 pinned to",
            |g, _| {
                let cpus = g[3].pins[0].cpus.clone();
                g[3].pins[0].cpus = cpus.difference(&IdSet::single(cpus.first().unwrap()));
            },
        ),
    ];
    let (c, outputs, profile, guests) = placed_sample();
    // The re-placement helper behind the hint and node-picking checks tells fit from misfit.
    let text: String = {
        let b = placed_sample_spec();
        render(&b).0
    };
    assert!(places(&text, &guests, 3, &guests[3].text, true));
    assert!(!places(
        &text,
        &guests,
        3,
        &with_prop(&guests[3].text, "cells", "99"),
        false
    ));
    assert!(!places(
        &text,
        &guests,
        0,
        &with_prop(&guests[0].text, "nodeset", "9"),
        false
    ));
    for (what, expect, corrupt) in corruptions {
        let mut bad = c.clone();
        corrupt(&mut std::sync::Arc::make_mut(&mut bad.checked).build.guests, &profile);
        match check_build(&bad, &outputs, &profile, &guests) {
            Ok(()) => panic!("the checks miss: {what}"),
            Err(e) => assert!(e.contains(expect), "{what}: reported as {e:?}, expected {expect:?}"),
        }
    }
    // Strict memory beyond a node's free memory: the host shrunk under the placement.
    let mut bad = c.clone();
    let mut small = profile.clone();
    small.nodes[0].reserved_kib = small.nodes[0].ordinary_kib() + small.nodes[0].reserved_kib - 1024;
    std::sync::Arc::make_mut(&mut bad.checked).hosts[0]
        .as_mut()
        .unwrap()
        .profile = std::sync::Arc::new(small.clone());
    let e = check_build(&bad, &outputs, &small, &guests).unwrap_err();
    assert!(e.contains("1024 KiB free but"), "{e}");
}

fn host_index(label: &str) -> usize {
    HOSTS
        .iter()
        .position(|h| h.label == label)
        .unwrap_or_else(|| panic!("no host fixture {label}"))
}

/// A guest with raw sizes: `units` vCPUs (guest cores for core distributions), `mem_gib` GiB.
fn sample(
    units: u32,
    mem_gib: u64,
    mode_host: bool,
    cells: Option<u32>,
    dist: Dist,
    pin_cpu: bool,
    policy: MemPolicy,
) -> GuestSpec {
    GuestSpec {
        units_pct: 1,
        raw_units: Some(units),
        extra: 0,
        mem_pct: 1,
        raw_mem: Some((mem_gib, 2)),
        odd: false,
        hugepages: None,
        locked: false,
        mode_host,
        nodeset: 0,
        bogus_node: false,
        cells,
        raw_cells: true,
        dist: Some(dist),
        pin_cpu: Some(pin_cpu),
        memory_mode: Some(policy),
    }
}

// ---------------------------------------------------------------------------
// Sampled guests against libvirt's schema and a real QEMU
// ---------------------------------------------------------------------------

/// Fixed builds of different shapes: every distribution, both pinnings, every memory mode,
/// hugepages, reserved CPUs, sparse and CPU-less nodes, SMT 1/2/4/8, several guests at once.
fn oracle_samples() -> Vec<(&'static str, BuildSpec)> {
    let build = |host: &str, reserve: Vec<u16>, from_file: bool, guests: Vec<GuestSpec>| BuildSpec {
        host: host_index(host),
        tweak: HostTweak {
            reserve,
            free: Vec::new(),
            from_file,
        },
        guests,
    };
    let with = |mut g: GuestSpec, f: &dyn Fn(&mut GuestSpec)| {
        f(&mut g);
        g
    };
    vec![
        (
            "peppi-host-contiguous",
            build(
                "peppi.caps.xml",
                vec![],
                true,
                vec![sample(16, 32, true, None, Dist::Contiguous, true, MemPolicy::Strict)],
            ),
        ),
        (
            "peppi-siblings-reserved",
            build(
                "peppi.caps.xml",
                vec![0, 15, 30, 45, 60, 75, 90, 105],
                true,
                vec![with(
                    sample(8, 16, true, None, Dist::Siblings, true, MemPolicy::Strict),
                    &|g| g.locked = true,
                )],
            ),
        ),
        (
            "peppi-round-robin-uneven",
            build(
                "peppi.caps.xml",
                vec![],
                false,
                vec![sample(10, 10, true, Some(4), Dist::RoundRobin, true, MemPolicy::Strict)],
            ),
        ),
        (
            "peppi-interleave-two-nodes",
            build(
                "peppi.caps.xml",
                vec![],
                false,
                vec![with(
                    sample(8, 16, false, Some(4), Dist::Interleave, true, MemPolicy::Interleave),
                    &|g| g.nodeset = 0b0110,
                )],
            ),
        ),
        (
            "epyc-picked-hugepages",
            build(
                "epyc-2s-nps4.caps.xml",
                vec![],
                true,
                vec![with(
                    sample(10, 6, false, Some(3), Dist::Contiguous, true, MemPolicy::Strict),
                    &|g| g.hugepages = Some(0),
                )],
            ),
        ),
        (
            "snc-cxl-siblings-interleaved-memory",
            build(
                "snc-cxl.caps.xml",
                vec![],
                true,
                vec![sample(8, 16, true, None, Dist::Siblings, true, MemPolicy::Interleave)],
            ),
        ),
        (
            "sparse-cxl-node-pinning-preferred",
            build(
                "inline sparse+cxl",
                vec![],
                false,
                vec![sample(
                    6,
                    4,
                    true,
                    Some(3),
                    Dist::Contiguous,
                    false,
                    MemPolicy::Preferred,
                )],
            ),
        ),
        (
            "power8-smt8-siblings",
            build(
                "power8-smt8.caps.xml",
                vec![],
                true,
                vec![with(
                    sample(4, 8, false, Some(2), Dist::Siblings, true, MemPolicy::Strict),
                    &|g| g.nodeset = 0b11,
                )],
            ),
        ),
        (
            "cascadelake-node-pinning",
            build(
                "cascadelake-2s.caps.xml",
                vec![],
                true,
                vec![sample(
                    8,
                    8,
                    true,
                    Some(4),
                    Dist::RoundRobin,
                    false,
                    MemPolicy::Preferred,
                )],
            ),
        ),
        (
            "laptop-one-cell",
            build(
                "laptop.caps.xml",
                vec![],
                true,
                vec![sample(2, 2, false, None, Dist::Contiguous, true, MemPolicy::Strict)],
            ),
        ),
        (
            "libvirt-4node-fleet",
            build(
                "libvirt-4node-basic.caps.xml",
                vec![],
                true,
                vec![
                    with(
                        sample(4, 1, true, None, Dist::RoundRobin, true, MemPolicy::Strict),
                        &|g| g.hugepages = Some(0),
                    ),
                    // libvirt's test host lists more hugepages than memory on every node,
                    // so it has no ordinary memory: every guest here is hugepage-backed.
                    with(
                        sample(2, 1, false, None, Dist::Contiguous, true, MemPolicy::Strict),
                        &|g| {
                            g.raw_mem = Some((1, 1));
                            g.hugepages = Some(0);
                        },
                    ),
                    with(
                        sample(8, 1, true, Some(8), Dist::Contiguous, false, MemPolicy::Interleave),
                        &|g| g.hugepages = Some(0),
                    ),
                ],
            ),
        ),
        (
            "smt4-interleave",
            build(
                "inline smt4",
                vec![],
                false,
                vec![sample(3, 8, false, Some(3), Dist::Interleave, true, MemPolicy::Strict)],
            ),
        ),
    ]
}

#[test]
fn sampled_guests_pass_the_oracles() {
    let dir = Scratch::new("placement-samples").unwrap();
    let mut outputs_all: Vec<(String, Guest, GuestOutput)> = Vec::new();
    for (label, b) in oracle_samples() {
        let (text, profile, guests) = render(&b);
        let (c, outputs) = compile(&text);
        let diags: Vec<String> = c
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        assert!(!c.has_errors(), "{label} does not place:\n{text}\n{diags:#?}");
        check_build(&c, &outputs, &profile, &guests).unwrap_or_else(|e| panic!("{label}: {e}\n{text}"));
        for (g, out) in c.checked.build.guests.iter().zip(outputs) {
            let stem = format!("{label}-{}", g.name);
            std::fs::write(dir.dir.join(format!("{stem}.xml")), &out.xml).unwrap();
            std::fs::write(dir.dir.join(format!("{stem}.args")), &out.args).unwrap();
            outputs_all.push((stem, g.clone(), out));
        }
    }
    assert!(outputs_all.len() >= 10, "{} sampled guests", outputs_all.len());
    let mut failures = Vec::new();
    if oracle_available(VALIDATOR) {
        for (stem, _, _) in &outputs_all {
            let path = dir.dir.join(format!("{stem}.xml"));
            if let Err(e) = validate_xml(&path) {
                failures.push(e);
            }
        }
        eprintln!("virt-xml-validate: {} sampled guests checked", outputs_all.len());
    }
    if oracle_available(QEMU) {
        for (stem, g, out) in &outputs_all {
            if let Err(e) = qemu_matches_plan(g, &out.args) {
                failures.push(format!("{stem}: {e}"));
            }
        }
        // The comparison itself notices a plan QEMU did not build.
        let (_, g, out) = &outputs_all[0];
        let mut wrong = g.clone();
        wrong.cells[0].vcpus = wrong.cells[0].vcpus.difference(&IdSet::single(0));
        assert!(
            qemu_matches_plan(&wrong, &out.args).is_err(),
            "the QEMU comparison misses a moved vCPU"
        );
        eprintln!("QEMU info numa: {} sampled guests checked", outputs_all.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// virt-xml-validate on a sampled guest's XML; a rejection shows the XML (the file goes with the scratch dir).
fn validate_xml(path: &Path) -> Result<(), String> {
    common::validate_xml(path).map_err(|e| format!("{e}\n{}", std::fs::read_to_string(path).unwrap_or_default()))
}

/// Starts the (neutralised) QEMU line paused and compares `info numa` with the planned cells.
fn qemu_matches_plan(g: &Guest, args: &str) -> Result<(), String> {
    let words = shell_words(args)?;
    let scratch = Scratch::new("placement-qemu")?;
    let argv = neutralise(&qemu_options(&words)?, Run::Paused(&scratch))?;
    let commands = [
        serde_json::json!({"execute": "qmp_capabilities"}),
        serde_json::json!({"execute": "human-monitor-command", "arguments": {"command-line": "info numa"}}),
        serde_json::json!({"execute": "quit"}),
    ];
    let (returns, _, _) = run_qmp(QEMU, &argv, &commands, QEMU_TIMEOUT)
        .map_err(|e| format!("{e}\n  ran: {QEMU} {}", shell_line(&argv)))?;
    let text = returns[1].as_str().ok_or("info numa did not return text")?;
    let numa = parse_info_numa(text)?;
    let mut diffs = Vec::new();
    if numa.nodes != g.cells.len() {
        diffs.push(format!(
            "QEMU has {} nodes, the plan {} cells",
            numa.nodes,
            g.cells.len()
        ));
    }
    for cell in &g.cells {
        let got: IdSet = numa
            .cpus
            .get(&cell.id)
            .map(|cpus| cpus.iter().copied().collect())
            .unwrap_or_default();
        if got != cell.vcpus {
            diffs.push(format!("node {} has CPUs {got}, the plan {}", cell.id, cell.vcpus));
        }
        let size = numa.size_mib.get(&cell.id).copied().unwrap_or(0);
        if size * 1024 != cell.memory_kib {
            diffs.push(format!(
                "node {} has {size} MiB, the plan {} KiB",
                cell.id, cell.memory_kib
            ));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n  info numa:\n{text}\n  ran: {QEMU} {}",
            diffs.join("\n"),
            shell_line(&argv)
        ))
    }
}

// ---------------------------------------------------------------------------
// Findings, as minimal inputs
// ---------------------------------------------------------------------------

/// Found by the property test: `pinning=node` on a host node whose every CPU is reserved
/// pinned each vCPU to an empty set (`<vcpupin vcpu='0' cpuset=''/>`). Now E0321.
#[test]
fn node_pinning_on_a_fully_reserved_node_is_refused() {
    let text = "
host h {
  node 0 cpus=0-3 memory=4GiB
  node 1 cpus=4-5 memory=4GiB
  reserve cpus=4-5
}

guest g on=h {
  memory 1GiB
  vcpus 1
  vnuma mode=node nodeset=1 pinning=node
}
";
    let (c, outputs) = compile(text);
    let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&"vnuma::E0321"), "{:#?}", c.diagnostics);
    assert!(outputs.is_empty());
    // mode=host mirrors node 1 too, so it is refused the same way.
    let (c, _) = compile(
        &text
            .replace("vcpus 1", "vcpus 2")
            .replace("mode=node nodeset=1", "mode=host"),
    );
    assert!(
        c.diagnostics.iter().any(|d| d.code == "vnuma::E0321"),
        "{:#?}",
        c.diagnostics
    );
}

/// Found by the property test (docs/language.md §6: `mode=node` without `nodeset` "picks the
/// smallest set of nodes that fits"): here vnumac picks three nodes, 1-3, although
/// `nodeset=1-2` places the same guest completely (emulator threads included).
#[test]
fn node_picking_takes_the_fewest_nodes_that_fit() {
    let text = "
host h {
  node 0 cpus=0-3 memory=1GiB
  node 1 cpus=4-7 memory=2GiB
  node 2 cpus=8-11 memory=3GiB
  node 3 cpus=12-15 memory=4GiB
  reserve cpus=8-9
}

guest g on=h {
  memory 1740MiB
  vcpus 5
  vnuma mode=node cells=5
}
";
    let (two, _) = compile(&text.replace("cells=5", "cells=5 nodeset=1-2"));
    assert!(!two.has_errors(), "nodeset=1-2 should place: {:#?}", two.diagnostics);
    let (picked, _) = compile(text);
    assert!(!picked.has_errors(), "{:#?}", picked.diagnostics);
    let used = picked.checked.build.guests[0]
        .cells
        .iter()
        .filter_map(|c| c.binding.as_ref())
        .fold(IdSet::new(), |acc, b| acc.union(&b.nodes));
    assert!(
        used.len() <= 2,
        "picked {} nodes ({used}) where nodes 1-2 fit",
        used.len()
    );
}

/// Found by the property test, same cause: with node 0 already used by `small`, `big` (5 GiB,
/// `mode=node`) is refused with E0321 ("host node 1 has 1GiB free but the guest's cells there
/// need 1.7GiB") although `nodeset=0,2` places it. The picker tries only two candidate sets
/// per size (the least used and the ones with the most free cores), never {0, 2}.
#[test]
fn node_picking_finds_a_fit_when_one_exists() {
    let text = "
host h {
  node 0 cpus=0-3 memory=4GiB
  node 1 cpus=4-7 memory=1GiB
  node 2 cpus=8-11 memory=4GiB
}

guest small on=h {
  memory 1GiB
  vcpus 1
  vnuma mode=node nodeset=0
}

guest big on=h {
  memory 5GiB
  vcpus 2
  vnuma mode=node
}
";
    let (pinned, _) = compile(&text.replace(
        "vcpus 2\n  vnuma mode=node\n",
        "vcpus 2\n  vnuma mode=node nodeset=0,2\n",
    ));
    assert!(
        !pinned.has_errors(),
        "nodeset=0,2 should place: {:#?}",
        pinned.diagnostics
    );
    let (picked, _) = compile(text);
    let errors: Vec<String> = picked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(
        errors.is_empty(),
        "`mode=node` found no nodes where nodes 0,2 fit: {errors:#?}"
    );
}

/// An automatic guest's DIMM takes pages of its node too: with g1's cell and DIMM filling node
/// 0's pages, g3 goes to node 1, which has room, and not to node 0, whose pages only looked
/// free while the ledger held g1's cell alone (E0407 then).
#[test]
fn node_picking_sees_the_pages_of_earlier_guests_dimms() {
    let text = "
host h {
  node 0 cpus=0-3 memory=16GiB
  node 1 cpus=4-7 memory=16GiB
  hugepages node=0 size=2MiB count=1536
  hugepages node=1 size=2MiB count=768
}
guest g1 on=h {
  memory 1GiB hugepages=2MiB max=4GiB slots=1
  vcpus 1
  vnuma mode=node nodeset=0
  dimm size=2GiB node=0
}
guest g2 on=h {
  memory 256MiB hugepages=2MiB
  vcpus 1
  vnuma mode=node nodeset=1
}
guest g3 on=h {
  memory 1GiB hugepages=2MiB
  vcpus 1
  vnuma mode=node
}
";
    let (c, _) = compile(text);
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let g3 = &c.checked.build.guests[2];
    assert_eq!(g3.cells[0].binding.as_ref().unwrap().nodes.to_string(), "1");
}

// == one ledger per host: hand-written and automatic guests never double-book

/// A hand-written guest (pinned to one node, or to a few CPUs) or an automatic one.
#[derive(Debug, Clone)]
enum Mixed {
    NodePinned { node: u32, vcpus: u32 },
    CpuPinned { first: u32, count: u32 },
    Auto { vcpus: u32, siblings: bool },
}

fn mixed() -> impl Strategy<Value = Mixed> {
    prop_oneof![
        (0u32..4, 1u32..9).prop_map(|(node, vcpus)| Mixed::NodePinned { node, vcpus }),
        (0u32..118, 1u32..3).prop_map(|(first, count)| Mixed::CpuPinned { first, count }),
        (1u32..9, proptest::bool::ANY).prop_map(|(v, siblings)| Mixed::Auto {
            vcpus: if siblings { v * 2 } else { v },
            siblings
        }),
    ]
}

fn mixed_text(guests: &[Mixed]) -> String {
    let caps = workspace().join("examples/hosts/peppi.caps.xml");
    let mut s = format!("host peppi from=\"{}\"\n", caps.display());
    for (i, g) in guests.iter().enumerate() {
        let body = match g {
            Mixed::NodePinned { node, vcpus } => format!(
                "  memory 1GiB\n  vcpus {vcpus}\n  pin vcpus=0-{} node={node} shared=true\n",
                vcpus - 1
            ),
            Mixed::CpuPinned { first, count } => format!(
                "  memory 1GiB\n  vcpus {count}\n  pin vcpus=0-{} cpus={first}-{} shared=true\n",
                count - 1,
                first + count - 1
            ),
            Mixed::Auto { vcpus, siblings } => format!(
                "  memory 1GiB\n  vcpus {vcpus}\n  vnuma mode=node{}\n",
                if *siblings { " distribution=siblings" } else { "" }
            ),
        };
        s.push_str(&format!("guest g{i} on=peppi {{\n{body}}}\n"));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No host CPU runs an automatic guest's dedicated vCPU and any other guest's vCPU or
    /// emulator thread; automatic emulator threads never run on any guest's vCPUs.
    #[test]
    fn hand_written_and_automatic_guests_never_double_book(guests in proptest::collection::vec(mixed(), 1..10)) {
        let text = mixed_text(&guests);
        let (c, _) = compile(&text);
        let placed = &c.checked.build.guests;
        let auto = |name: &str| {
            let i: usize = name[1..].parse().unwrap();
            matches!(guests[i], Mixed::Auto { .. })
        };
        let vcpu_cpus = |g: &vnumac::ir::Guest| g.pins.iter().fold(IdSet::new(), |a, p| a.union(&p.cpus));
        for (i, a) in placed.iter().enumerate() {
            if !auto(&a.name) {
                continue;
            }
            let mine = vcpu_cpus(a);
            for (j, b) in placed.iter().enumerate() {
                if i == j {
                    continue;
                }
                let theirs = vcpu_cpus(b).union(b.emulator_pin.as_ref().unwrap_or(&IdSet::new()));
                prop_assert!(mine.intersection(&theirs).is_empty(), "{} and {} share {}\n{text}", a.name, b.name, mine.intersection(&theirs));
            }
            if let Some(e) = &a.emulator_pin {
                for b in placed {
                    prop_assert!(e.intersection(&vcpu_cpus(b)).is_empty(), "{}'s emulator on {}'s vCPUs\n{text}", a.name, b.name);
                }
            }
        }
        // A guest that is not in the model has a coded error.
        if placed.len() < guests.len() {
            prop_assert!(c.has_errors(), "{text}");
        }
    }
}

/// The L3 check itself: a dedicated 3-vCPU guest on the inline L3 host (whose domains on
/// node 0 have 3 free cores at most) passes it, and the same guest with vCPU 0 moved to a
/// free core of another L3 domain of its node fails it.
#[test]
fn the_l3_check_catches_a_cell_split_over_domains() {
    let spec = BuildSpec {
        host: host_index("inline l3"),
        tweak: HostTweak {
            reserve: Vec::new(),
            free: Vec::new(),
            from_file: false,
        },
        guests: vec![sample(3, 2, false, Some(1), Dist::Contiguous, true, MemPolicy::Strict)],
    };
    let (text, profile, guests) = render(&spec);
    let (c, outputs) = compile(&text);
    assert!(!c.has_errors(), "{text}\n{:#?}", c.diagnostics);
    check_build(&c, &outputs, &profile, &guests).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut g = c.checked.build.guests[0].clone();
    let domain = profile.l3_map();
    let first = g.pins[0].cpus.first().unwrap();
    let node = profile.cpu(first).unwrap().node;
    let domains: std::collections::BTreeSet<Option<&usize>> =
        g.pins.iter().map(|p| domain.get(&p.cpus.first().unwrap())).collect();
    assert_eq!(domains.len(), 1, "{:?}", g.pins);
    let used: IdSet = g.pins.iter().flat_map(|p| p.cpus.iter()).collect();
    let other = profile
        .node(node)
        .unwrap()
        .cpus
        .iter()
        .find(|&cpu| {
            let core = core_of(&profile, cpu);
            core.first() == Some(cpu)
                && core.intersection(&profile.reserved).is_empty()
                && core.intersection(&used).is_empty()
                && domain.contains_key(&cpu)
                && domain.get(&cpu) != domain.get(&first)
        })
        .unwrap();
    g.pins[0].cpus = IdSet::single(other);
    let err = check_l3(&profile, &g, &guests[0], &mut std::collections::BTreeSet::new()).unwrap_err();
    assert!(err.contains("although one domain had"), "{err}");
}

/// The fewest-domains check: 7 dedicated vCPUs on node 1 of the inline L3 host, whose free
/// cores are 2 in one domain (12-13), 4 in each of two more (14-17, 18-21) and 2 in none
/// (22-23), take two domains (14-17 whole and 3 of 18-21). The same guest on the node's
/// first 7 free cores in core order (12-18, three domains) fails the check, as does one that
/// takes a core of no domain.
#[test]
fn the_l3_check_catches_a_cell_over_more_domains_than_needed() {
    let mut guest = sample(7, 2, false, Some(1), Dist::Contiguous, true, MemPolicy::Strict);
    guest.nodeset = 0b10;
    let spec = BuildSpec {
        host: host_index("inline l3"),
        tweak: HostTweak {
            reserve: Vec::new(),
            free: Vec::new(),
            from_file: false,
        },
        guests: vec![guest],
    };
    let (text, profile, guests) = render(&spec);
    let (c, outputs) = compile(&text);
    assert!(!c.has_errors(), "{text}\n{:#?}", c.diagnostics);
    check_build(&c, &outputs, &profile, &guests).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let g = c.checked.build.guests[0].clone();
    let cpus: IdSet = g.pins.iter().flat_map(|p| p.cpus.iter()).collect();
    assert_eq!(cpus.to_string(), "14-20", "{:?}", g.pins);
    let mut in_order = g.clone();
    for (p, cpu) in in_order.pins.iter_mut().zip(12..19) {
        p.cpus = IdSet::single(cpu);
    }
    let err = check_l3(&profile, &in_order, &guests[0], &mut std::collections::BTreeSet::new()).unwrap_err();
    assert!(
        err.contains("in 3 L3 domains") && err.contains("although 2 had room"),
        "{err}"
    );
    let mut outside = g;
    outside.pins[6].cpus = IdSet::single(22);
    let err = check_l3(&profile, &outside, &guests[0], &mut std::collections::BTreeSet::new()).unwrap_err();
    assert!(err.contains("a core in no L3 domain"), "{err}");
}

/// §7 with L3 domains: among node sets that tie by the picker's rules (size, guests, free
/// memory), the one that keeps every cell in one L3 domain wins. Node 0's domains hold 2
/// cores, node 1's holds 8: a 4-vCPU guest goes to node 1, though node 0 comes first by id,
/// and without the `l3` lines to node 0. The rules themselves still come first: a second
/// guest goes to node 0 (least used), and with more free memory on node 0 so does the first.
#[test]
fn node_picking_prefers_a_tie_that_keeps_cells_in_one_l3_domain() {
    let host = |mem1: &str, l3: bool| {
        format!(
            "host h {{\n  node 0 cpus=0-7 memory=16GiB\n  node 1 cpus=8-15 memory={mem1}\n{}  distance 0 1 21\n}}\n",
            if l3 {
                "  l3 0-1\n  l3 2-3\n  l3 4-5\n  l3 6-7\n  l3 8-15\n"
            } else {
                ""
            }
        )
    };
    let guest = |name: &str| format!("guest {name} on=h {{\n  memory 2GiB\n  vcpus 4\n  vnuma mode=node\n}}\n");
    let nodes = |text: &str| -> Vec<String> {
        let (c, _) = compile(text);
        assert!(!c.has_errors(), "{text}\n{:#?}", c.diagnostics);
        let h = &c.checked.hosts[0].as_ref().unwrap().profile;
        c.checked
            .build
            .guests
            .iter()
            .map(|g| {
                let cpus: IdSet = g.pins.iter().flat_map(|p| p.cpus.iter()).collect();
                nodes_of(h, &cpus).to_string()
            })
            .collect()
    };
    let one = guest("a");
    let two = format!("{one}{}", guest("b"));
    assert_eq!(nodes(&format!("{}{one}", host("16GiB", true))), ["1"]);
    assert_eq!(nodes(&format!("{}{one}", host("16GiB", false))), ["0"]);
    assert_eq!(nodes(&format!("{}{two}", host("16GiB", true))), ["1", "0"]);
    assert_eq!(nodes(&format!("{}{one}", host("15GiB", true))), ["0"]);
}
