//! The checks catch broken moves: a good move, broken in each way a property forbids, is
//! reported by the check of that property.

use std::path::Path;

use vnumac::db::{self, Database, GuestOutput};
use vnumac::migrate::To;

use crate::build::{MOVING, Written};
use crate::checks::{self, Tally};
use crate::common::hosts::mem;
use crate::{Outputs, check_moved, refused, same_qemu_guest_side};

/// A move with a bit of everything: guest thread pairs on sibling threads, single pins on
/// different cores, a node-wide pin, emulator and I/O threads on reserved CPUs, a DIMM in
/// hugepages, and a destination with reserved CPUs and a hand-written guest on CPUs 2 and 4
/// (its emulator on 13).
const SAMPLE: &str = "
host src {
  node 0 cpus=0-7 memory=16GiB
  node 1 cpus=8-15 memory=16GiB
  smt adjacent
  distance 0 1 21
  reserve cpus=0-1
  hugepages node=0 size=2MiB count=1024
  hugepages node=1 size=2MiB count=1024
}
host dst {
  node 0 cpus=0-11 memory=8GiB
  node 1 cpus=12-23 memory=8GiB
  smt adjacent
  distance 0 1 31
  reserve cpus=0-1
  hugepages node=0 size=2MiB count=1024
  hugepages node=1 size=2MiB count=512
}
guest d0 on=dst {
  memory 2GiB
  vcpus 2
  numa {
    cell 0 cpus=0-1 memory=2GiB host-node=0
  }
  pin vcpus=0 cpus=2
  pin vcpus=1 cpus=4
  emulator cpus=13
}
guest moving on=src {
  memory 5GiB max=8GiB slots=2
  vcpus 8
  topology sockets=4 cores=1 threads=2
  numa {
    cell 0 cpus=0-3 memory=3GiB host-node=0
    cell 1 cpus=4-7 memory=2GiB host-node=1
    distances from=host
  }
  pin vcpus=0 cpus=2
  pin vcpus=1 cpus=3
  pin vcpus=2 cpus=4
  pin vcpus=3 cpus=6
  pin vcpus=4-5 node=1
  pin vcpus=6 cpus=8
  pin vcpus=7 cpus=9
  emulator cpus=0
  iothreads 1 cpus=1
  dimm size=1GiB node=1 hugepages=2MiB
}
";

fn pin_of(g: &vnumac::ir::Guest, v: u32) -> vnumac::sets::IdSet {
    g.pins.iter().find(|p| p.vcpu == v).unwrap().cpus.clone()
}

fn set_pin(g: &mut vnumac::ir::Guest, v: u32, cpus: vnumac::sets::IdSet) {
    g.pins.iter_mut().find(|p| p.vcpu == v).unwrap().cpus = cpus;
}

fn one(c: u32) -> vnumac::sets::IdSet {
    vnumac::sets::IdSet::single(c)
}

/// (what, a piece of the message that must report it, the corruption of the moved guest or
/// of the destination it is checked against)
type Corruption = (
    &'static str,
    &'static str,
    fn(&mut vnumac::ir::Guest, &mut vnumac::host::HostProfile),
);

const CORRUPTIONS: &[Corruption] = &[
    ("a cell of another size", "guest-visible XML differs", |g, _| {
        g.cells[0].memory_kib += 1024
    }),
    ("one vCPU more", "guest-visible XML differs", |g, _| g.vcpus += 1),
    ("a CPU the destination lacks", "not CPUs of the destination", |g, _| {
        set_pin(g, 0, one(999))
    }),
    ("a vCPU on a reserved CPU", "reserved CPUs", |g, _| {
        set_pin(g, 0, one(1))
    }),
    (
        "a vCPU on another guest's dedicated CPU",
        "dedicated to a vCPU of another guest",
        |g, _| set_pin(g, 0, one(2)),
    ),
    (
        "a floating vCPU over another guest's dedicated CPU",
        "dedicated to a vCPU of another guest",
        |g, _| set_pin(g, 4, pin_of(g, 4).union(&one(4))),
    ),
    ("a vCPU on another guest's emulator CPU", "emulator CPUs", |g, _| {
        set_pin(g, 0, one(13))
    }),
    ("a dedicated vCPU that floats", "floats over", |g, _| {
        set_pin(g, 0, vnumac::sets::IdSet::range(6, 7))
    }),
    (
        "a dedicated vCPU on a sibling thread of another guest's",
        "another guest there uses",
        |g, _| set_pin(g, 0, one(3)),
    ),
    ("two dedicated vCPUs on one CPU", "share CPU", |g, _| {
        set_pin(g, 0, pin_of(g, 2))
    }),
    (
        "a dedicated CPU another vCPU floats over",
        "which vCPU 6 has to itself",
        |g, _| set_pin(g, 4, pin_of(g, 4).union(&pin_of(g, 6))),
    ),
    ("guest thread siblings on two host cores", "not siblings", |g, _| {
        set_pin(g, 1, one(11))
    }),
    ("a vCPU off its cell's node", "off the nodes", |g, _| {
        set_pin(g, 2, one(16));
        for v in [4, 5] {
            set_pin(g, v, pin_of(g, v).difference(&one(16)));
        }
    }),
    ("emulator threads on the vCPUs", "share", |g, _| {
        g.emulator_pin = Some(pin_of(g, 0))
    }),
    ("I/O threads on the vCPUs", "share", |g, _| {
        let pin = pin_of(g, 6);
        for p in &mut g.iothread_pins {
            *p = Some(pin.clone());
        }
    }),
    ("a destination with less memory", "bind", |_, h| {
        h.nodes[0].reserved_kib += 4 << 20
    }),
    ("a destination with fewer pages", "pages there", |_, h| {
        h.nodes[1].hugepages[0].count = 0
    }),
];

#[test]
fn the_move_checks_catch_broken_moves() {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("input.vnuma"), &mem(SAMPLE)).unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{:#?}", compiled.diagnostics);
    let profile = |i: usize| compiled.checked.hosts[i].as_ref().unwrap().profile.as_ref().clone();
    let written = |dst: vnumac::host::HostProfile| Written {
        text: SAMPLE.to_string(),
        src: profile(0),
        dst,
        dst_hand: vec!["d0".into()],
        dst_guests: vec!["d0".into()],
    };
    let outputs = db::lower(&db, program);
    let mig = vnumac::migrate::migrate(&db, program, MOVING, To::Host("dst")).unwrap();
    let others = vec![(checks::read(&outputs[0].xml).unwrap(), true)];
    let src = outputs.iter().find(|o| o.name == MOVING).unwrap();
    let outputs_of = |g: &vnumac::ir::Guest| Outputs {
        src,
        dst: GuestOutput::of(g),
        others: others.clone(),
    };
    let mut tally = Tally::default();
    let good = GuestOutput::of(&mig.moved.guest);
    check_moved(&written(profile(1)), &mig, &outputs_of(&mig.moved.guest), &mut tally)
        .unwrap_or_else(|e| panic!("the sample move must pass: {e}\n{}", good.xml));
    // vCPUs 0, 1, 2, 3, 6, 7 alone, the pairs 0-1 and 6-7, all eight on their cells' nodes,
    // emulator and I/O threads off the vCPUs; cells and the DIMM on both nodes.
    let t = tally;
    assert_eq!(
        (t.singles, t.sibling_pairs, t.on_cell_nodes, t.threads_off),
        (6, 2, 8, 2),
        "{t:?}\n{}",
        good.xml
    );
    assert_eq!((t.nodes_fit, t.loose_fit), (3, 0), "{t:?}");

    let mut missed = Vec::new();
    for (what, needle, corrupt) in CORRUPTIONS {
        let mut g = mig.moved.guest.clone();
        let mut dst = profile(1);
        corrupt(&mut g, &mut dst);
        match check_moved(&written(dst), &mig, &outputs_of(&g), &mut Tally::default()) {
            Err(e) if e.contains(needle) => {}
            other => missed.push(format!("{what}: wanted an error with {needle:?}, got {other:?}")),
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));

    // The QEMU line's guest side: host nodes may change, nothing else.
    let args = &src.args;
    assert!(args.contains("host-nodes=1"), "{args}");
    same_qemu_guest_side(args, &args.replace("host-nodes=1", "host-nodes=0")).unwrap();
    let e = same_qemu_guest_side(args, &args.replacen("-smp 8", "-smp 9", 1)).unwrap_err();
    assert!(e.contains("-smp"), "{e}");
}

/// A refusal carries M0801..M0805 and nothing else.
#[test]
fn refusals_carry_only_move_codes() {
    use vnumac::diagnostics::Diagnostic;
    let span = vnumac::span::Span::default();
    let error = |code| Diagnostic::error(code, "no", span, "here");
    assert_eq!(refused(&[error("vnuma::M0803")]), Ok("vnuma::M0803"));
    assert!(refused(&[]).is_err());
    assert!(refused(&[error("vnuma::M0803"), error("vnuma::E0321")]).is_err());
    assert!(refused(&[error("vnuma::M0806")]).is_err());
    assert!(refused(&[Diagnostic::warning("vnuma::M0802", "no", span, "here")]).is_err());
}
