//! Moves of small programs written here, and the pieces a move is made of.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::assign::{groups, merge_closest};
use super::repin::narrow;
use super::usage::usage;
use super::*;
use crate::db::{Database, MemLoader, load_program};
use crate::sets::IdSet;
use std::path::Path;

const HOSTS: &str = "host a {
  node 0 cpus=0-3,8-11 memory=32GiB
  node 1 cpus=4-7,12-15 memory=32GiB
  smt split
  distance 0 1 21
}
host b {
  node 0 cpus=0-3,8-11 memory=32GiB
  node 1 cpus=4-7,12-15 memory=32GiB
  smt split
  distance 0 1 21
}
";

fn run(text: &str, guest: &str, to: &str) -> Result<Migration, Failure> {
    let db = Database::default();
    let program = load_program(&db, Path::new("m.vnuma"), &MemLoader::new("m.vnuma", text)).unwrap();
    let c = crate::db::check_program(&db, program);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    migrate(&db, program, guest, To::Host(to))
}

fn pins(m: &Migration) -> Vec<(u32, String)> {
    m.moved
        .guest
        .pins
        .iter()
        .map(|p| (p.vcpu, p.cpus.to_string()))
        .collect()
}

#[test]
fn sibling_pins_stay_siblings_and_avoid_the_destinations_guests() {
    let text = format!(
        "{HOSTS}guest g on=a {{
  memory 4GiB
  vcpus 4
  topology sockets=1 cores=2 threads=2
  numa {{
    cell 0 cpus=0-3 memory=4GiB host-node=1
  }}
  pin vcpus=0 cpus=4
  pin vcpus=1 cpus=12
  pin vcpus=2 cpus=5
  pin vcpus=3 cpus=13
}}
guest there on=b {{
  memory 2GiB
  vcpus 2
  pin vcpus=0 cpus=4
  pin vcpus=1 cpus=5
}}
"
    );
    let m = run(&text, "g", "b").unwrap();
    // Node 1 keeps its id; cores 4 and 5 are taken there, so 6/14 and 7/15.
    assert_eq!(
        pins(&m),
        [(0, "6"), (1, "14"), (2, "7"), (3, "15")].map(|(v, c)| (v, c.to_string()))
    );
    assert_eq!(m.moved.guest.cells[0].binding.as_ref().unwrap().nodes, IdSet::single(1));
    assert_eq!(m.moved.nodes, [(1, 1)]);
}

#[test]
fn a_guest_without_pins_or_bindings_moves_unchanged() {
    let text = format!("{HOSTS}guest g on=a {{\n  memory 4GiB\n  vcpus 4\n}}\n");
    let m = run(&text, "g", "b").unwrap();
    assert_eq!(m.moved.guest, m.before);
    assert!(m.moved.nodes.is_empty());
}

#[test]
fn numad_placement_binds_every_destination_node_with_memory() {
    let text = format!(
        "{HOSTS}host c {{\n  node 0 cpus=0-3 memory=16GiB\n  node 2 cpus=4-7 memory=16GiB\n  node 3 memory=64GiB\n}}\n\
         guest g on=a {{\n  memory 4GiB\n  vcpus 2\n  memory-policy mode=strict placement=auto\n}}\n"
    );
    let m = run(&text, "g", "c").unwrap();
    let b = m.moved.guest.memory_binding.as_ref().unwrap();
    assert!(b.auto);
    assert_eq!(b.nodes, IdSet::parse("0,2-3").unwrap());
}

#[test]
fn siblings_part_by_guest_core_on_narrower_cores() {
    let text = format!(
        "{HOSTS}guest g on=a {{
  memory 4GiB
  vcpus 2
  pin vcpus=0 cpus=0
  pin vcpus=1 cpus=8
}}
"
    );
    let db = Database::default();
    let program = load_program(&db, Path::new("m.vnuma"), &MemLoader::new("m.vnuma", text)).unwrap();
    let c = crate::db::check_program(&db, program);
    let g = &c.checked.build.guests[0];
    let src = &c.checked.hosts[0].as_ref().unwrap().profile;
    let mut used = usage(g, src);
    assert_eq!(used.nodes[0].cores[0].width, 2, "CPUs 0 and 8 are one core's threads");
    assert_eq!(used.nodes[0].cores[0].vcpus, [(0, 0), (1, 1)]);
    // Two guest sockets of one thread each: on cores of one thread they part.
    narrow(&mut used, g, 1).unwrap();
    assert_eq!(used.nodes[0].cores.len(), 2);
    assert!(used.nodes[0].cores.iter().all(|c| c.width == 1));
}

#[test]
fn guest_thread_siblings_do_not_part() {
    let text = format!(
        "{HOSTS}guest g on=a {{
  memory 4GiB
  vcpus 2
  topology sockets=1 cores=1 threads=2
  pin vcpus=0 cpus=0
  pin vcpus=1 cpus=8
}}
"
    );
    let db = Database::default();
    let program = load_program(&db, Path::new("m.vnuma"), &MemLoader::new("m.vnuma", text)).unwrap();
    let c = crate::db::check_program(&db, program);
    let g = &c.checked.build.guests[0];
    let src = &c.checked.hosts[0].as_ref().unwrap().profile;
    let mut used = usage(g, src);
    assert_eq!(narrow(&mut used, g, 1), Err(vec![0, 1]));
}

#[test]
fn the_closest_cells_by_guest_distance_share_a_node_first() {
    let text = "host a {
  node 0 cpus=0-1 memory=8GiB
  node 1 cpus=2-3 memory=8GiB
  node 2 cpus=4-5 memory=8GiB
}
host one {
  node 0 cpus=0-7 memory=32GiB
  node 1 cpus=8-15 memory=32GiB
}
guest g on=a {
  memory 3GiB
  vcpus 3
  numa {
    cell 0 cpus=0 memory=1GiB host-node=0
    cell 1 cpus=1 memory=1GiB host-node=1
    cell 2 cpus=2 memory=1GiB host-node=2
    distance 0 1 30
    distance 0 2 30
    distance 1 2 15
  }
  pin vcpus=0 cpus=0
  pin vcpus=1 cpus=2
  pin vcpus=2 cpus=4
}
";
    let db = Database::default();
    let program = load_program(&db, Path::new("m.vnuma"), &MemLoader::new("m.vnuma", text)).unwrap();
    let c = crate::db::check_program(&db, program);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let g = &c.checked.build.guests[0];
    let src = &c.checked.hosts[0].as_ref().unwrap().profile;
    let mut gs = groups(&usage(g, src));
    assert!(merge_closest(&mut gs, g, src));
    let merged: Vec<Vec<u32>> = gs.iter().map(|x| x.sources.clone()).collect();
    assert_eq!(merged, [vec![0], vec![1, 2]]);
    // The whole move: cells 1 and 2 share the node cell 0 does not have.
    let m = migrate(&db, program, "g", To::Host("one")).unwrap();
    let node = |cell: usize| m.moved.guest.cells[cell].binding.as_ref().unwrap().nodes.clone();
    assert_eq!(node(1), node(2));
    assert_ne!(node(0), node(1));
}

#[test]
fn a_search_that_cannot_succeed_ends_in_a_refusal() {
    // Sixteen cells of one vCPU each on sixteen nodes, and a destination of sixteen
    // nodes whose every node but the last has no free core left.
    let mut text = String::from("host a {\n");
    for n in 0..16 {
        text.push_str(&format!("  node {n} cpus={},{} memory=4GiB\n", 2 * n, 2 * n + 1));
    }
    text.push_str("}\nhost b {\n");
    for n in 0..16 {
        text.push_str(&format!("  node {n} cpus={}-{} memory=4GiB\n", 3 * n, 3 * n + 2));
    }
    text.push_str("  reserve cpus=0,3,6,9,12,15,18,21,24,27,30,33,36,39,42,45\n");
    text.push_str("}\nguest g on=a {\n  memory 16GiB\n  vcpus 16\n  vnuma mode=host\n}\n");
    text.push_str("guest full on=b {\n  memory 15GiB\n  vcpus 30\n  vnuma mode=host nodeset=0-14\n}\n");
    match run(&text, "g", "b") {
        Err(Failure::Refused(r)) => {
            assert!(r.no_room);
            assert_eq!(r.errors[0].code, crate::codes::MOVE_NO_ROOM);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn isolated_threads_keep_a_core_of_their_own() {
    let text = format!(
        "{HOSTS}guest g on=a {{
  memory 4GiB
  vcpus 1
  vnuma mode=node nodeset=1
  emulator policy=isolate
  iothreads 2 policy=isolate
}}
guest there on=b {{
  memory 2GiB
  vcpus 2
  pin vcpus=0 cpus=4
  pin vcpus=1 cpus=5
}}
"
    );
    let m = run(&text, "g", "b").unwrap();
    let g = &m.moved.guest;
    let b = &m.destination_profile;
    // Node 1 has two free cores left of four: the vCPU and three threads go to node 0.
    assert_eq!(m.moved.nodes, [(1, 0)]);
    let whole = |set: &IdSet| {
        let first = b.cpu(set.first().unwrap()).unwrap();
        assert_eq!(&first.siblings, set, "a whole core: {set}");
    };
    let emulator = g.emulator_pin.clone().unwrap();
    whole(&emulator);
    let io: Vec<IdSet> = g.iothread_pins.iter().map(|p| p.clone().unwrap()).collect();
    assert_eq!(io.len(), 2);
    let vcpus = g.pins.iter().fold(IdSet::new(), |all, p| all.union(&p.cpus));
    let mut seen = vcpus.union(&IdSet::parse("4-5,12-13").unwrap());
    for set in io.iter().chain([&emulator]) {
        whole(set);
        assert!(set.intersection(&seen).is_empty(), "{set} is nobody else's: {seen}");
        assert_eq!(b.nodes_of_cpus(set), b.nodes_of_cpus(&vcpus), "on the node of cell 0");
        seen = seen.union(set);
    }
}

#[test]
fn the_table_has_no_emulator_row_for_a_guest_without_an_emulator_pin() {
    let text =
        format!("{HOSTS}guest g on=a {{\n  memory 4GiB\n  vcpus 2\n  pin vcpus=0 cpus=0\n  pin vcpus=1 cpus=1\n}}\n");
    let m = run(&text, "g", "b").unwrap();
    let table = diff(
        &m.before,
        (&m.source, &m.source_profile),
        &m.moved.guest,
        (&m.destination, &m.destination_profile),
    );
    assert!(!table.contains("emulator"), "{table}");
    assert!(
        table.lines().any(|l| l.split_whitespace().eq(["0", "0", "0"])),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.split_whitespace().eq(["1", "1", "1"])),
        "{table}"
    );
}

#[test]
fn cache_and_bandwidth_allocations_do_not_move_but_monitors_do() {
    let banks = "  cache-bank 0 level=3 size=16MiB cpus=0-3,8-11 control=both granularity=1MiB allocs=16
  bandwidth-node 0 cpus=0-3,8-11 granularity=10 allocs=16
}";
    let hosts = HOSTS.replacen("  distance 0 1 21\n}", &format!("  distance 0 1 21\n{banks}"), 2);
    let guest = |tunes: &str| {
        format!(
            "{hosts}guest g on=a {{\n  memory 4GiB\n  vcpus 2\n  numa {{\n    cell 0 cpus=0-1 memory=4GiB host-node=0\n  }}\n  \
             pin vcpus=0 cpus=0\n  pin vcpus=1 cpus=1\n{tunes}}}\n"
        )
    };
    for (tunes, line) in [
        (
            "  cachetune vcpus=0-1 cache=0 size=4MiB\n",
            "cachetune vcpus=0-1 cache=0 size=4MiB",
        ),
        (
            "  memorytune vcpus=0-1 node=0 bandwidth=50\n",
            "memorytune vcpus=0-1 node=0 bandwidth=50",
        ),
    ] {
        let text = guest(tunes);
        match run(&text, "g", "b") {
            Err(Failure::Refused(r)) => {
                assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
                let e = &r.errors[0];
                assert_eq!(e.code, crate::codes::MOVE_ALLOCATIONS);
                let span = e.labels[0].span;
                assert_eq!(&text[span.start as usize..span.end as usize], line);
                assert!(e.message.contains("host `b`"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
    }
    let moved = run(&guest("  cachetune vcpus=0-1 monitor=0-1\n"), "g", "b").unwrap();
    assert_eq!(moved.moved.guest.cachetunes[0].monitors.len(), 1);
}

#[test]
fn the_destinations_libvirt_decides_where_memory_is_preallocated_from() {
    let hosts = |a: &str, b: &str| {
        HOSTS
            .replace("host a {", &format!("host a{a} {{"))
            .replace("host b {", &format!("host b{b} {{"))
    };
    let guest = "guest g on=a {\n  memory 4GiB prealloc=true\n  vcpus 2\n  emulator cpus=1\n  \
                 numa {\n    cell 0 cpus=0-1 memory=4GiB host-node=0\n  }\n}\n";
    let m = run(&format!("{}{guest}", hosts(" libvirt=\"9.2\"", "")), "g", "b").unwrap();
    assert_eq!(m.before.emulator_nodes, Some(IdSet::parse("0").unwrap()));
    assert_eq!(m.moved.guest.emulator_nodes, None);
    let m = run(&format!("{}{guest}", hosts("", " libvirt=\"9.2\"")), "g", "b").unwrap();
    assert_eq!(m.before.emulator_nodes, None);
    let pin = m.moved.guest.emulator_pin.clone().unwrap();
    let node0 = IdSet::parse("0-3,8-11").unwrap();
    let expected: IdSet = [
        (0, !pin.intersection(&node0).is_empty()),
        (1, !pin.difference(&node0).is_empty()),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect();
    assert!(!expected.is_empty());
    assert_eq!(m.moved.guest.emulator_nodes, Some(expected));
}

#[test]
fn a_move_that_crowds_a_real_time_vcpu_on_the_destination_warns() {
    // `rt` on host b runs its real-time vCPU alone on CPU 0; its own emulator threads on
    // CPU 8, the sibling, are a warning before any move. Guest `g` floats (no pins), and
    // on b it floats over CPU 0 too.
    let text = format!(
        "{HOSTS}guest rt on=b {{
  memory 2GiB locked=true
  vcpus 1
  numa {{
    cell 0 cpus=0 memory=2GiB host-node=0
  }}
  pin vcpus=0 cpus=0
  emulator cpus=8
  sched vcpus=0 policy=fifo priority=10
}}
guest g on=a {{
  memory 2GiB
  vcpus 2
  numa {{
    cell 0 cpus=0-1 memory=2GiB host-node=0
  }}
}}
"
    );
    let m = run(&text, "g", "b").unwrap();
    let found: Vec<(&str, &str)> = m.moved.warnings.iter().map(|d| (d.code, d.message.as_str())).collect();
    assert_eq!(
        found,
        [
            (
                crate::codes::REALTIME_NOT_ALONE,
                "real-time vCPU 0 shares host CPU 0 with vCPU 0 of guest `g`"
            ),
            (
                crate::codes::REALTIME_NEIGHBOUR,
                "the emulator threads of guest `g` may run on host CPU 0, where real-time vCPU 0 runs"
            ),
        ]
    );
    // Pinned to node 1, `g` leaves node 0 alone: no warning, and `rt`'s own is not repeated.
    let apart = text.replace(
        "cell 0 cpus=0-1 memory=2GiB host-node=0\n  }\n}",
        "cell 0 cpus=0-1 memory=2GiB host-node=1\n  }\n  pin vcpus=0-1 node=1\n  emulator cpus=7\n}",
    );
    assert_ne!(apart, text);
    let m = run(&apart, "g", "b").unwrap();
    assert!(m.moved.warnings.is_empty(), "{:#?}", m.moved.warnings);
}
