//! The intent of a checked guest held against made-up observations: a guest as intended
//! shows no difference, and each fact changed shows exactly its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::proc::{KernelPolicy, Mapping, Scheduling};
use super::*;
use crate::codes::*;
use crate::db::{self, Database, MemLoader};
use crate::ir::Guest;
use crate::sets::IdSet;
use std::collections::BTreeMap;
use std::path::Path;

const FILE: &str = "host h {
  node 0 cpus=0-3 memory=16GiB
  node 1 cpus=4-7 memory=16GiB
}
guest g on=h {
  type qemu
  memory 4GiB max=8GiB slots=4
  vcpus 4 boot=3 hotpluggable=true
  numa {
    cell 0 cpus=0-1 memory=2GiB host-node=0
    cell 1 cpus=2-3 memory=2GiB host-node=1 policy=interleave
  }
  pin vcpus=0-1 node=0
  pin vcpus=2-3 cpus=4-5
  emulator cpus=3
  iothreads 2 cpus=7
  dimm size=1GiB node=1
  sched vcpus=2-3 policy=fifo priority=10
  sched iothreads=2 policy=batch
  sched emulator policy=rr priority=5
}
";

/// The guest, and the text of its file (spans index into it).
fn guest() -> (Guest, &'static str) {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("g.vnuma"), &MemLoader::new("g.vnuma", FILE)).unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    (compiled.checked.build.guests[0].clone(), FILE)
}

fn thread(tid: u32, cpus: &str) -> Thread {
    Thread {
        tid,
        allowed: IdSet::parse(cpus).unwrap(),
        ran_on: IdSet::single(IdSet::parse(cpus).unwrap().first().unwrap()),
        // /proc does not say: not compared (tests set it where it matters).
        sched: None,
    }
}

fn backend(id: &str, policy: &str, node: u32) -> Backend {
    Backend {
        id: id.into(),
        bytes: 1 << 30,
        mapping: Some(Mapping {
            policies: vec![KernelPolicy::parse(policy).unwrap()],
            resident_kib: BTreeMap::from([(node, 4096)]),
        }),
    }
}

/// The guest exactly as `FILE` intends it: vCPUs 0, 1 and 2 online (boot=3 keeps one cell
/// balanced as far as it goes), pins and scheduling applied, memory where it is bound.
fn as_intended(g: &Guest) -> Observed {
    let mut o = pinned(g);
    o.vcpus[2].thread.sched = Some(Scheduling {
        policy: 1,
        priority: 10,
    });
    o.iothreads[1].thread.sched = Some(Scheduling { policy: 3, priority: 0 });
    o.emulator.sched = Some(Scheduling { policy: 2, priority: 5 });
    o
}

/// The guest with its pins applied, and no thread's scheduling known.
fn pinned(g: &Guest) -> Observed {
    let online: Vec<u32> = g.vcpu_states.iter().filter(|v| v.enabled).map(|v| v.id).collect();
    Observed {
        pid: 100,
        vcpus: online
            .iter()
            .map(|&id| Vcpu {
                id,
                thread: thread(101 + id, if id < 2 { "0-3" } else { "4-5" }),
            })
            .collect(),
        emulator: thread(100, "3"),
        iothreads: ["iothread1", "iothread2"]
            .iter()
            .zip(110..)
            .map(|(id, tid)| IoThread {
                id: id.to_string(),
                thread: thread(tid, "7"),
            })
            .collect(),
        backends: vec![
            backend("ram-node0", "bind:0", 0),
            backend("ram-node1", "interleave:1", 1),
            // The DIMM follows its cell's binding.
            backend("memdimm0", "interleave:1", 1),
        ],
        memory_devices: vec!["dimm0".into()],
        window_ms: 300,
    }
}

/// The one difference `o` shows: its code, its subject and the text of its statement.
fn only(g: &Guest, o: &Observed) -> (&'static str, String, String) {
    let diffs = differences(g, o);
    assert_eq!(diffs.len(), 1, "{diffs:#?}");
    let d = &diffs[0];
    let text = FILE[d.span.start as usize..d.span.end as usize].to_string();
    (d.code, d.subject.key(), text)
}

#[test]
fn a_guest_as_intended_shows_no_difference() {
    let (g, _) = guest();
    let o = as_intended(&g);
    assert_eq!(differences(&g, &o), Vec::new());
    let map = map(&g, &o, &[]);
    assert!(!map.lines().any(|l| l.starts_with('!')), "{map}");
    assert!(
        map.contains("cell 1's memory (ram-node1, 2GiB): bound to host node 1 (interleave: interleave:1);"),
        "{map}"
    );
}

#[test]
fn each_thread_moved_is_named_at_its_statement() {
    let (g, _) = guest();
    let mut o = as_intended(&g);
    o.vcpus[2].thread = thread(103, "4");
    let (code, subject, text) = only(&g, &o);
    assert_eq!((code, subject.as_str()), (VCPU_AFFINITY, "vcpu 2"));
    assert_eq!(text, "pin vcpus=2-3 cpus=4-5");

    // Allowed as pinned, but seen on a CPU outside the pin (it moved back and forth).
    let mut o = as_intended(&g);
    o.vcpus[0].thread.ran_on = IdSet::parse("0,5").unwrap();
    assert_eq!(only(&g, &o).1, "vcpu 0");

    let mut o = as_intended(&g);
    o.emulator = thread(100, "0-7");
    let (code, subject, text) = only(&g, &o);
    assert_eq!(
        (code, subject.as_str(), text.as_str()),
        (EMULATOR_AFFINITY, "emulator", "emulator cpus=3")
    );

    let mut o = as_intended(&g);
    o.iothreads[1].thread = thread(111, "6-7");
    let (code, subject, text) = only(&g, &o);
    assert_eq!(
        (code, subject.as_str(), text.as_str()),
        (IOTHREAD_AFFINITY, "iothread iothread2", "iothreads 2 cpus=7")
    );
}

#[test]
fn each_thread_scheduled_otherwise_is_named_at_its_sched() {
    let (g, _) = guest();
    // As Linux starts every thread: each thread a `sched` sets differs, at its statement.
    let mut o = pinned(&g);
    let other = Some(Scheduling { policy: 0, priority: 0 });
    o.emulator.sched = other;
    for t in o
        .vcpus
        .iter_mut()
        .map(|v| &mut v.thread)
        .chain(o.iothreads.iter_mut().map(|t| &mut t.thread))
    {
        t.sched = other;
    }
    let diffs = differences(&g, &o);
    let found: Vec<(&str, String)> = diffs.iter().map(|d| (d.code, d.subject.key())).collect();
    assert_eq!(
        found,
        [
            (THREAD_SCHED, "vcpu 2".to_string()),
            (THREAD_SCHED, "emulator".to_string()),
            (THREAD_SCHED, "iothread iothread2".to_string()),
        ]
    );
    let text = |d: &Difference| FILE[d.span.start as usize..d.span.end as usize].to_string();
    assert_eq!(text(&diffs[0]), "sched vcpus=2-3 policy=fifo priority=10");
    assert_eq!(text(&diffs[1]), "sched emulator policy=rr priority=5");
    assert_eq!(text(&diffs[2]), "sched iothreads=2 policy=batch");
    assert_eq!(diffs[0].intended, "scheduling fifo 10");
    assert_eq!(diffs[0].actual, "thread 103 is scheduled other");

    // The right policy at another priority.
    let mut o = as_intended(&g);
    o.vcpus[2].thread.sched = Some(Scheduling {
        policy: 1,
        priority: 11,
    });
    let (code, subject, _) = only(&g, &o);
    assert_eq!((code, subject.as_str()), (THREAD_SCHED, "vcpu 2"));
    // A thread no `sched` sets is not compared, nor one /proc does not say.
    let mut o = as_intended(&g);
    o.vcpus[0].thread.sched = Some(Scheduling {
        policy: 1,
        priority: 99,
    });
    o.vcpus[2].thread.sched = None;
    assert_eq!(differences(&g, &o), Vec::new());
}

#[test]
fn vcpus_and_iothreads_present_or_not() {
    let (g, _) = guest();
    let mut o = as_intended(&g);
    let offline = g.vcpu_states.iter().find(|v| !v.enabled).unwrap().id;
    o.vcpus.push(Vcpu {
        id: offline,
        thread: thread(120, "4-5"),
    });
    let (code, subject, text) = only(&g, &o);
    assert_eq!((code, subject), (VCPU_PRESENCE, format!("vcpu {offline}")));
    assert_eq!(text, "vcpus 4 boot=3 hotpluggable=true");

    let mut o = as_intended(&g);
    o.iothreads.pop();
    assert_eq!(only(&g, &o).0, IOTHREAD_PRESENCE);
    let mut o = as_intended(&g);
    o.iothreads.push(IoThread {
        id: "iothread9".into(),
        thread: thread(119, "7"),
    });
    assert_eq!(only(&g, &o).1, "iothread iothread9");
}

#[test]
fn memory_is_held_against_its_cell_and_device() {
    let (g, _) = guest();
    let mut o = as_intended(&g);
    o.backends[0] = backend("ram-node0", "default", 0);
    let (code, subject, text) = only(&g, &o);
    assert_eq!((code, subject.as_str()), (MEMORY_POLICY, "cell 0"));
    assert_eq!(text, "cell 0");

    let mut o = as_intended(&g);
    o.backends[1] = backend("ram-node1", "interleave:1", 0);
    assert_eq!(only(&g, &o).0, PAGES_OFF_NODE);

    let mut o = as_intended(&g);
    o.backends[2] = backend("memdimm0", "bind:1", 1);
    let (code, subject, text) = only(&g, &o);
    assert_eq!((code, subject.as_str()), (MEMORY_POLICY, "memdev dimm0"));
    assert_eq!(text, "dimm size=1GiB node=1");

    let mut o = as_intended(&g);
    o.backends[1].mapping = None;
    assert_eq!(only(&g, &o).0, MEMORY_BACKEND);
    let mut o = as_intended(&g);
    o.backends.remove(0);
    assert_eq!(only(&g, &o).0, MEMORY_BACKEND);

    let mut o = as_intended(&g);
    o.memory_devices.clear();
    assert_eq!(only(&g, &o).1, "memdev dimm0");
}

#[test]
fn the_map_marks_each_difference_on_its_line() {
    let (g, _) = guest();
    let mut o = as_intended(&g);
    o.vcpus[1].thread = thread(102, "0-7");
    o.backends[0] = backend("ram-node0", "prefer:0", 0);
    let diffs = differences(&g, &o);
    let map = map(&g, &o, &diffs);
    let marked: Vec<&str> = map.lines().filter(|l| l.starts_with('!')).collect();
    assert_eq!(marked.len(), 2, "{map}");
    assert!(marked[0].contains("0-7") && marked[0].ends_with("[V0701]"), "{map}");
    assert!(
        marked[1].starts_with("! cell 0's memory") && marked[1].ends_with("[V0706]"),
        "{map}"
    );
    let d = diffs[0].diagnostic();
    assert_eq!(d.code, VCPU_AFFINITY);
    assert!(d.message.contains("may run on host CPUs 0-7"), "{}", d.message);
}
