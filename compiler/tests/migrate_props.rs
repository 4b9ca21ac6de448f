//! Property tests of `vnumac migrate` (`vnumac::migrate::migrate`): a guest moved to
//! another host sees the same machine, and its host side is the destination's.
//!
//! Random moves (`migrate_props/build.rs`): a source and a destination host from the
//! fixtures (`tests/common/hosts.rs`: every bundled capabilities file and inline hosts with
//! reserved CPUs, sparse and CPU-less nodes, SMT 2, 4 and 8, L3 domains), the destination
//! perhaps with more reserved CPUs, less memory or smaller hugepage pools, perhaps carrying
//! hand-written and `vnuma` guests already; the moving guest hand-written (cells bound to host nodes with every
//! policy, memory-only cells, single-CPU pins, SMT sibling pairs as guest thread pairs,
//! node-wide and floating pins, two vCPUs on one CPU, emulator and I/O thread pins,
//! hugepages, a DIMM with or without its own host node, a NIC behind an expander, a
//! passed-through device, distances) or `vnuma` (every mode, distribution and pinning,
//! memory mode, hugepages, `boot=`, a DIMM). A build that does not compile is counted and
//! skipped. Each move goes to the destination host of the file, or (when the destination
//! carries no guests) to its profile as `--to-caps` reads one.
//!
//! Whenever the move succeeds (`migrate_props/checks.rs`, reading both XMLs through
//! `common::xml`, not vnumac's model):
//!
//! * (a) the destination XML without its host side (`<vcpupin>`, `<emulatorpin>`,
//!   `<iothreadpin>`, `<numatune>`, a memory device's `<nodemask>`) is byte for byte the
//!   source's; so is the QEMU line without memory backends' `host-nodes`/`policy` and
//!   thread-context objects;
//! * (b) every pin names CPUs of the destination, none another guest there pins one vCPU
//!   to alone, none a hand-written guest there runs its vCPUs on; no vCPU is on a reserved
//!   CPU or a hand-written guest's emulator CPU; a vCPU that had a CPU to itself has one on
//!   a core no other guest there uses and without reserved threads, shared with no other
//!   vCPU unless the two shared one on the source; vCPUs on sibling threads of one source
//!   core that are threads of one guest core are on sibling threads of one destination core;
//!   a vCPU on its cell's memory nodes stays on them; emulator and I/O threads off the vCPUs
//!   stay off them; warnings are M0806 only. (The vCPUs of a `vnuma pinning=node` guest
//!   float over CPUs other guests may share, as in a build, so only their dedicated ones
//!   count.)
//! * (c) per destination node and page size, what its guests bind plus what the moved guest
//!   binds fits the node (ordinary memory: the total less the hugepage pools and what the host
//!   keeps; hugepages: the pool), and hugepages bound to no node fit the pools together;
//! * (d) a refusal is one or more errors, each vnuma::M0801..M0805; and no guest is refused
//!   by an empty copy of its own host (a passed-through device aside) when its pins follow
//!   the rules the destination is planned with: a vCPU pinned alone has a core without
//!   reserved threads, no vCPU floats over such a core, and no emulator or I/O thread off
//!   the vCPUs shares a node with a floating vCPU.
//!
//! `the_move_checks_catch_broken_moves` breaks a good move in each of these ways and makes
//! sure a check notices. Two moves the random ones found wrong are kept as tests of their
//! own: hugepages bound to no node, and a destination guest's DIMM. The run is reproducible (fixed seed); `MIGRATE_PROPS_SEED=random`
//! (or a number) and `MIGRATE_PROPS_CASES=N` hunt further; `MIGRATE_PROPS_VERBOSE=1` (with
//! `--nocapture`) prints why builds did not compile, `=vnuma::E…` with the text of those.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// A property suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

#[path = "migrate_props/broken.rs"]
mod broken;
#[path = "migrate_props/build.rs"]
mod build;
#[path = "migrate_props/checks.rs"]
mod checks;
mod common;
#[path = "migrate_props/hand.rs"]
mod hand;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use vnumac::db::{self, Database, GuestOutput};
use vnumac::diagnostics::Severity;
use vnumac::migrate::{Failure, Migration, To};

use build::{MOVING, MoveSpec, Written};
use checks::{Domain, Others, Tally};
use common::hosts::{HOSTS, mem};
use common::qemu::{join_keyval, qemu_options, split_keyval};
use common::shell::shell_words;

/// Random moves checked.
const CASES: u32 = 600;
/// The proptest seed unless MIGRATE_PROPS_SEED says otherwise.
const DEFAULT_SEED: u64 = 0x0d15_ea5e;

/// The codes a refused move may carry.
const REFUSALS: &[&str] = &[
    "vnuma::M0801",
    "vnuma::M0802",
    "vnuma::M0803",
    "vnuma::M0804",
    "vnuma::M0805",
];

#[derive(Default, Debug)]
struct Stats {
    /// Builds with errors, by the first error's code.
    not_built: BTreeMap<&'static str, u32>,
    moved: u32,
    /// Moves onto a destination that carried guests.
    moved_onto_guests: u32,
    /// Moves of a hand-written guest.
    moved_hand: u32,
    refused: BTreeMap<&'static str, u32>,
    warned: u32,
    /// Moves of a guest whose pins follow the planner's rules to an empty copy of its host.
    copies: u32,
    tally: Tally,
}

/// The XMLs and lines a move is checked on.
struct Outputs<'a> {
    src: &'a GuestOutput,
    dst: GuestOutput,
    /// The destination's other guests: (domain, hand-written).
    others: Vec<(Domain, bool)>,
}

// ---------------------------------------------------------------------------
// One move
// ---------------------------------------------------------------------------

/// The QEMU line without its host side: memory backends' `host-nodes`, `policy` and
/// `prealloc-context`, and thread-context objects (they name host nodes).
fn qemu_guest_side(args: &str) -> Result<Vec<String>, String> {
    let words = shell_words(args)?;
    let mut out = Vec::new();
    for o in qemu_options(&words)? {
        let value = match (o.name.as_str(), &o.value) {
            ("object", Some(v)) => {
                let kv = split_keyval(v);
                if kv.bare.as_deref() == Some("thread-context") {
                    continue;
                }
                let pairs: Vec<(String, String)> = kv
                    .pairs
                    .into_iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "host-nodes" | "policy" | "prealloc-context"))
                    .collect();
                Some(join_keyval(kv.bare.as_deref(), &pairs))
            }
            (_, v) => v.clone(),
        };
        out.push(format!("-{} {}", o.name, value.unwrap_or_default()));
    }
    Ok(out)
}

fn same_qemu_guest_side(src: &str, dst: &str) -> Result<(), String> {
    let (a, b) = (qemu_guest_side(src)?, qemu_guest_side(dst)?);
    if a == b {
        return Ok(());
    }
    let at = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    Err(format!(
        "the QEMU line without its host side differs at option {}:\n  source:      {:?}\n  destination: {:?}",
        at + 1,
        a.get(at),
        b.get(at)
    ))
}

/// Every property of a successful move.
fn check_moved(w: &Written, m: &Migration, out: &Outputs<'_>, tally: &mut Tally) -> Result<(), String> {
    for d in &m.moved.warnings {
        if d.code != "vnuma::M0806" || d.severity != Severity::Warning {
            return Err(format!("a move warns {} ({:?}): {}", d.code, d.severity, d.message));
        }
    }
    if m.source != "src" || m.destination != "dst" {
        return Err(format!("moved from {} to {}", m.source, m.destination));
    }
    checks::same_guest_side(&out.src.xml, &out.dst.xml)?;
    same_qemu_guest_side(&out.src.args, &out.dst.args)?;
    let src = checks::read(&out.src.xml).map_err(|e| format!("the source XML: {e}"))?;
    let dst = checks::read(&out.dst.xml).map_err(|e| format!("the destination XML: {e}"))?;
    let mut others = Others::default();
    for (d, hand) in &out.others {
        others.add(d, *hand);
    }
    checks::pins(&w.src, &w.dst, &src, &dst, &others, tally)?;
    let doms: Vec<Domain> = out.others.iter().map(|(d, _)| d.clone()).collect();
    checks::memory(&w.dst, &doms, &dst, tally)
}

fn refused(errors: &[vnumac::diagnostics::Diagnostic]) -> Result<&'static str, String> {
    let first = errors.first().ok_or("a refusal without an error")?;
    for d in errors {
        if d.severity != Severity::Error || !REFUSALS.contains(&d.code) {
            return Err(format!(
                "a refusal carries {} ({:?}), not one of M0801..M0805: {}",
                d.code, d.severity, d.message
            ));
        }
    }
    Ok(REFUSALS.iter().find(|c| **c == first.code).copied().unwrap_or("?"))
}

/// Builds the move, moves the guest and checks the outcome.
fn run(m: &MoveSpec, stats: &RefCell<Stats>) -> Result<(), String> {
    let w = build::write(m);
    let db = Database::default();
    let program = db::load_program(&db, Path::new("input.vnuma"), &mem(&w.text)).map_err(|e| e.to_string())?;
    let compiled = db::compile(&db, program);
    if let Some(e) = compiled.diagnostics.iter().find(|d| d.severity == Severity::Error) {
        *stats.borrow_mut().not_built.entry(e.code).or_default() += 1;
        if std::env::var_os("MIGRATE_PROPS_VERBOSE").is_some() {
            let all: Vec<&str> = compiled
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.code)
                .collect();
            eprintln!("not built: {} {} {all:?}", e.code, e.message);
            if std::env::var("MIGRATE_PROPS_VERBOSE").is_ok_and(|v| v == e.code) {
                eprintln!("{}", w.text);
            }
        }
        return Ok(());
    }
    let hosts = &compiled.checked.hosts;
    let profile = |i: usize| hosts.get(i).and_then(Option::as_ref).map(|h| &*h.profile);
    if profile(0) != Some(&w.src) || profile(1) != Some(&w.dst) {
        return Err("the host profiles the compiler read differ from the ones written".into());
    }
    let outputs = db::lower(&db, program);
    let to = if m.to_profile {
        To::Profile("dst", &w.dst)
    } else {
        To::Host("dst")
    };
    let copy = {
        let hostdev = matches!(&m.moving, build::GuestSpec::Hand(h) if h.hostdev);
        let tweaked = !m.tweak.reserve.is_empty() || m.tweak.shrink.is_some() || m.tweak.pools.is_some();
        let src = outputs
            .iter()
            .find(|o| o.name == MOVING)
            .ok_or("no output for the moving guest")?;
        let src = checks::read(&src.xml).map_err(|e| format!("the source XML: {e}"))?;
        m.src == m.dst && !tweaked && m.on_dst.is_empty() && !hostdev && checks::planned_alike(&src, &w.src)
    };
    stats.borrow_mut().copies += u32::from(copy);
    match vnumac::migrate::migrate(&db, program, MOVING, to) {
        Ok(mig) => {
            let src = outputs
                .iter()
                .find(|o| o.name == MOVING)
                .ok_or("no output for the moving guest")?;
            let mut others = Vec::new();
            for name in &w.dst_guests {
                let o = outputs
                    .iter()
                    .find(|o| &o.name == name)
                    .ok_or(format!("no output for {name}"))?;
                let d = checks::read(&o.xml).map_err(|e| format!("{name}'s XML: {e}"))?;
                others.push((d, w.dst_hand.contains(name)));
            }
            let out = Outputs {
                src,
                dst: GuestOutput::of(&mig.moved.guest),
                others,
            };
            let mut tally = stats.borrow().tally;
            check_moved(&w, &mig, &out, &mut tally).map_err(|e| {
                format!(
                    "{e}\n--- source XML ---\n{}--- destination XML ---\n{}",
                    out.src.xml, out.dst.xml
                )
            })?;
            let mut s = stats.borrow_mut();
            s.tally = tally;
            s.moved += 1;
            s.moved_onto_guests += u32::from(!w.dst_guests.is_empty());
            s.moved_hand += u32::from(matches!(m.moving, build::GuestSpec::Hand(_)));
            s.warned += u32::from(!mig.moved.warnings.is_empty());
        }
        Err(Failure::Refused(r)) => {
            let code = refused(&r.errors)?;
            if copy {
                return Err(format!(
                    "a guest built on its host is refused by an empty copy of that host: {}",
                    r.errors
                        .iter()
                        .map(|d| format!("{} {}", d.code, d.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            *stats.borrow_mut().refused.entry(code).or_default() += 1;
        }
        Err(other) => return Err(format!("the move failed without a refusal: {other:?}")),
    }
    Ok(())
}

fn check_case(m: &MoveSpec, stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    run(m, stats).map_err(|why| {
        let w = build::write(m);
        TestCaseError::fail(format!(
            "{why}\n--- hosts: {} → {} ---\n--- input.vnuma ---\n{}",
            HOSTS[m.src].label, HOSTS[m.dst].label, w.text
        ))
    })
}

// ---------------------------------------------------------------------------
// The property test
// ---------------------------------------------------------------------------

#[test]
fn moved_guests_see_the_same_machine_on_free_destination_cpus() {
    let started = Instant::now();
    let cases = std::env::var("MIGRATE_PROPS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    let seed = std::env::var("MIGRATE_PROPS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RngSeed::Fixed(DEFAULT_SEED));
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: seed,
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    });
    let stats = RefCell::new(Stats::default());
    match runner.run(&build::moves(), |m| check_case(&m, &stats)) {
        Ok(()) => {}
        Err(TestError::Fail(why, minimal)) => {
            panic!("a move broke a property (seed {seed}):\n{why}\nminimal case: {minimal:#?}")
        }
        Err(e) => panic!("{e}"),
    }
    let s = stats.into_inner();
    eprintln!("{cases} moves (seed {seed}) in {:.1?}: {s:?}", started.elapsed());
    let built = cases - s.not_built.values().sum::<u32>();
    let refused: u32 = s.refused.values().sum();
    // The properties are only worth something when a fair share of the moves is made.
    assert!(
        built * 5 >= cases * 3,
        "only {built} of {cases} random builds compiled: {s:?}"
    );
    assert!(
        s.moved * 3 >= built,
        "only {} of {built} built guests moved: {s:?}",
        s.moved
    );
    assert!(
        s.moved_onto_guests * 5 >= s.moved && s.moved_hand * 4 >= s.moved,
        "too few moves onto guests or of hand-written guests: {s:?}"
    );
    assert!(refused > 0 && s.refused.len() >= 3, "too few kinds of refusal: {s:?}");
    assert!(s.copies >= 10, "too few moves to a copy of the guest's host: {s:?}");
    let t = s.tally;
    assert!(
        [
            t.singles,
            t.sibling_pairs,
            t.on_cell_nodes,
            t.threads_off,
            t.nodes_fit,
            t.loose_fit
        ]
        .iter()
        .all(|&n| n >= 5),
        "some property was hardly put to the test: {t:?}"
    );
}

// ---------------------------------------------------------------------------
// Hugepages bound to no node
// ---------------------------------------------------------------------------

/// The move of guest `moving` from `src` to `dst` in `text`: Ok, or the refusal's codes.
fn move_of(text: &str) -> Result<Migration, Vec<&'static str>> {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("input.vnuma"), &mem(text)).unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{text}\n{:#?}", compiled.diagnostics);
    match vnumac::migrate::migrate(&db, program, MOVING, To::Host("dst")) {
        Ok(m) => Ok(m),
        Err(Failure::Refused(r)) => Err(r.errors.iter().map(|d| d.code).collect()),
        Err(other) => panic!("{other:?}"),
    }
}

/// Hugepages bound to no node come from any node's pool, after the pages bound to nodes:
/// the guest's own and those of the destination's guests, as `build` counts them (E0407).
#[test]
fn hugepages_bound_to_no_node_fit_with_every_other_page() {
    let hosts = |pages: u32| {
        format!(
            "host src {{
  node 0 cpus=0-3 memory=16GiB
  node 1 cpus=4-7 memory=16GiB
  hugepages node=0 size=1GiB count=8
  hugepages node=1 size=1GiB count=8
}}
host dst {{
  node 0 cpus=0-3 memory=16GiB
  node 1 cpus=4-7 memory=16GiB
  hugepages node=0 size=1GiB count={pages}
}}
"
        )
    };
    // 2 GiB bound to node 0 and 3 GiB bound nowhere: 5 pages of 1 GiB.
    let guest = "
guest moving on=src {
  memory 5GiB hugepages=1GiB
  vcpus 2
  numa {
    cell 0 cpus=0 memory=2GiB host-node=0
    cell 1 cpus=1 memory=3GiB
  }
  pin vcpus=0 cpus=1
  pin vcpus=1 cpus=5
}
";
    assert!(move_of(&format!("{}{guest}", hosts(5))).is_ok());
    assert_eq!(
        move_of(&format!("{}{guest}", hosts(4))).err(),
        Some(vec!["vnuma::M0803"]),
        "4 pages for 5"
    );
    // A guest of the destination takes 2 pages from any node; the moving guest binds 2 to
    // node 0 and 1 nowhere.
    let theirs = "
guest d0 on=dst {
  memory 2GiB hugepages=1GiB
  vcpus 1
  numa {
    cell 0 cpus=0 memory=2GiB
  }
}
";
    let bound = "
guest moving on=src {
  memory 3GiB hugepages=1GiB
  vcpus 2
  numa {
    cell 0 cpus=0 memory=2GiB host-node=0
    cell 1 cpus=1 memory=1GiB
  }
  pin vcpus=0 cpus=1
  pin vcpus=1 cpus=5
}
";
    assert!(move_of(&format!("{}{theirs}{bound}", hosts(5))).is_ok());
    assert_eq!(
        move_of(&format!("{}{theirs}{bound}", hosts(4))).err(),
        Some(vec!["vnuma::M0803"]),
        "4 pages for 2 of the destination's and 3 of the guest's"
    );
    // A DIMM in its cell's pages, bound nowhere like the cell: 1 + 2 pages from any node.
    let dimm = "
guest moving on=src {
  memory 1GiB hugepages=1GiB max=4GiB slots=1
  vcpus 1
  numa {
    cell 0 cpus=0 memory=1GiB
  }
  pin vcpus=0 cpus=1
  dimm size=2GiB node=0
}
";
    assert!(move_of(&format!("{}{dimm}", hosts(3))).is_ok());
    assert_eq!(
        move_of(&format!("{}{dimm}", hosts(2))).err(),
        Some(vec!["vnuma::M0803"]),
        "2 pages for the cell's 1 and the DIMM's 2"
    );
    // Without pages bound nowhere, only the nodes count: the destination's guest's 2 pages
    // bound nowhere still come before the 2 the moving guest binds to node 0.
    let all_bound = bound.replace("cell 1 cpus=1 memory=1GiB", "cell 1 cpus=1 memory=1GiB host-node=0");
    assert!(move_of(&format!("{}{theirs}{all_bound}", hosts(5))).is_ok());
    assert_eq!(
        move_of(&format!("{}{theirs}{all_bound}", hosts(4))).err(),
        Some(vec!["vnuma::M0803"]),
        "4 pages for 2 of the destination's and 3 bound to node 0"
    );
}

/// The destination's `vnuma` guests hold their DIMMs' memory too: a guest whose cells fill a
/// node's pages with its DIMM leaves no room there for the moving guest's cell.
#[test]
fn the_destinations_automatic_guests_hold_their_dimms() {
    let text = "
host src {
  node 0 cpus=0-3 memory=16GiB
  node 1 cpus=4-7 memory=16GiB
  hugepages node=0 size=2MiB count=1024
  hugepages node=1 size=2MiB count=1024
}
host dst {
  node 0 cpus=0-3 memory=16GiB
  node 1 cpus=4-7 memory=16GiB
  hugepages node=0 size=2MiB count=1024
  hugepages node=1 size=2MiB count=1024
}
guest d0 on=dst {
  memory 1GiB hugepages=2MiB max=4GiB slots=1
  vcpus 1
  vnuma mode=node nodeset=0
  dimm size=1GiB node=0
}
guest moving on=src {
  memory 512MiB hugepages=2MiB
  vcpus 1
  numa {
    cell 0 cpus=0 memory=512MiB host-node=0
  }
  pin vcpus=0 cpus=1
}
";
    let m = move_of(text).expect("node 1 has room");
    let binding = m.moved.guest.cells[0].binding.as_ref().unwrap();
    assert_eq!(
        binding.nodes.to_string(),
        "1",
        "node 0's pages are d0's cell and DIMM: {:?}",
        m.moved.nodes
    );
}

/// An NVDIMM is backed by its file, not by its cell's host memory: it needs no room on the
/// destination's nodes, as `build` counts it.
#[test]
fn an_nvdimm_takes_no_node_memory() {
    let text = "
host src {
  node 0 cpus=0-3 memory=16GiB
}
host dst {
  node 0 cpus=0-3 memory=4GiB
}
guest moving on=src {
  memory 2GiB max=16GiB slots=1
  vcpus 1
  numa {
    cell 0 cpus=0 memory=2GiB host-node=0
  }
  pin vcpus=0 cpus=1
  nvdimm path=\"/dev/dax0.0\" size=8GiB node=0
}
";
    let m = move_of(text).expect("the cell's 2 GiB fit node 0's 4");
    assert_eq!(m.moved.guest.cells[0].binding.as_ref().unwrap().nodes.to_string(), "0");
}

/// Emulator threads off the guest's vCPUs stay off them on an empty copy of the host: on a
/// node the guest does not otherwise use, and on the other thread of a vCPU's core.
#[test]
fn emulator_threads_off_the_vcpus_find_room_on_a_copy_of_their_host() {
    let hosts = "
host src {
  node 0 cpus=0-7 memory=8GiB
  node 1 cpus=8-15 memory=8GiB
  smt adjacent
  distance 0 1 21
}
host dst {
  node 0 cpus=0-7 memory=8GiB
  node 1 cpus=8-15 memory=8GiB
  smt adjacent
  distance 0 1 21
}
";
    // vCPU 0 floats over node 0; the emulator ran on node 1, which the guest does not use.
    let elsewhere = "
guest moving on=src {
  memory 1GiB
  vcpus 1
  numa {
    cell 0 cpus=0 memory=1GiB
  }
  pin vcpus=0 node=0
  emulator cpus=9
}
";
    // One thread of each core of node 0 for a vCPU; the emulator ran on the other of one.
    let beside = "
guest moving on=src {
  memory 1GiB
  vcpus 4
  numa {
    cell 0 cpus=0-3 memory=1GiB host-node=0
  }
  pin vcpus=0 cpus=0
  pin vcpus=1 cpus=2
  pin vcpus=2 cpus=4
  pin vcpus=3 cpus=6
  emulator cpus=1
}
";
    for (what, guest, node) in [("on node 1", elsewhere, "8-15"), ("beside vCPU 0", beside, "0-7")] {
        let m = move_of(&format!("{hosts}{guest}")).unwrap_or_else(|e| panic!("{what}: refused {e:?}"));
        let g = &m.moved.guest;
        let emulator = g.emulator_pin.clone().unwrap();
        let vcpus = g
            .pins
            .iter()
            .fold(vnumac::sets::IdSet::new(), |all, p| all.union(&p.cpus));
        assert!(
            emulator.intersection(&vcpus).is_empty(),
            "{what}: {emulator} meets {vcpus}"
        );
        let node = vnumac::sets::IdSet::parse(node).unwrap();
        assert!(emulator.is_subset(&node), "{what}: {emulator} off {node}");
    }
}
