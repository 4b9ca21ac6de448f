//! Emulator and I/O thread policies, I/O threads per cell and shared vCPUs, checked on
//! the model a build gives: which host cores isolated threads take and who may still use
//! them, where shared vCPUs float whatever the file order, and the errors and warnings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vnumac::db::{self, Database, MemLoader};
use vnumac::diagnostics::Severity;
use vnumac::ir::{DeviceKind, Guest};
use vnumac::sets::IdSet;

/// Two nodes of eight two-thread cores: node 0 has CPUs 0-7 and their siblings 16-23,
/// node 1 CPUs 8-15 and 24-31.
const HOST: &str =
    "host h {\n  node 0 cpus=0-7,16-23 memory=64GiB\n  node 1 cpus=8-15,24-31 memory=64GiB\n  smt split\n}\n";

struct Built {
    guests: Vec<Guest>,
    /// (code without `vnuma::`, message) of every error and warning.
    diags: Vec<(String, String)>,
}

fn build(text: &str) -> Built {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("t.vnuma"), &MemLoader::new("t.vnuma", text)).unwrap();
    let compiled = db::compile(&db, program);
    Built {
        guests: compiled.checked.build.guests.clone(),
        diags: compiled
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .map(|d| (d.code.trim_start_matches("vnuma::").to_string(), d.message.clone()))
            .collect(),
    }
}

impl Built {
    fn guest(&self, name: &str) -> &Guest {
        self.guests.iter().find(|g| g.name == name).unwrap()
    }
    fn codes(&self) -> Vec<&str> {
        self.diags.iter().map(|(c, _)| c.as_str()).collect()
    }
}

/// Every CPU a guest's vCPUs may run on.
fn vcpu_cpus(g: &Guest) -> IdSet {
    g.pins.iter().fold(IdSet::new(), |a, p| a.union(&p.cpus))
}

/// A CPU and its sibling on [`HOST`].
fn core_of(cpu: u32) -> IdSet {
    let first = cpu % 16;
    IdSet::parse(&format!("{first},{}", first + 16)).unwrap()
}

/// Isolated threads each take a whole core of their own on their cell's node, never a
/// dedicated vCPU's core or its sibling; a guest placed later takes neither, and its
/// emulator threads, which share, keep off them too.
#[test]
fn isolated_threads_take_whole_cores_that_later_guests_avoid() {
    let text = format!(
        "{HOST}guest nfv on=h {{\n  memory 8GiB\n  vcpus 4\n  vnuma mode=host\n  emulator policy=isolate\n  \
         iothreads per-cell policy=isolate\n}}\n\
         guest next on=h {{\n  memory 8GiB\n  vcpus 8\n  vnuma mode=host\n}}\n"
    );
    let b = build(&text);
    assert_eq!(b.codes(), Vec::<&str>::new(), "{:?}", b.diags);
    let nfv = b.guest("nfv");
    assert!(nfv.isolated.emulator && nfv.isolated.iothreads);
    let emulator = nfv.emulator_pin.clone().unwrap();
    assert_eq!(emulator.len(), 2, "a whole core: {emulator}");
    assert_eq!(emulator, core_of(emulator.first().unwrap()));
    assert!(emulator.iter().all(|c| c % 16 < 8), "on cell 0's node 0: {emulator}");
    assert_eq!(nfv.iothreads, 2);
    let t1 = nfv.iothread_pins[0].clone().unwrap();
    let t2 = nfv.iothread_pins[1].clone().unwrap();
    assert!(t1.iter().all(|c| c % 16 < 8), "cell 0's thread on node 0: {t1}");
    assert!(t2.iter().all(|c| c % 16 >= 8), "cell 1's thread on node 1: {t2}");
    let own = emulator.union(&t1).union(&t2);
    assert_eq!(own.len(), 6, "three cores: {own}");
    let vcpu_cores = vcpu_cpus(nfv).iter().fold(IdSet::new(), |a, c| a.union(&core_of(c)));
    assert!(own.intersection(&vcpu_cores).is_empty(), "{own} vs {vcpu_cores}");
    let next = b.guest("next");
    let next_cores = vcpu_cpus(next).iter().fold(IdSet::new(), |a, c| a.union(&core_of(c)));
    assert!(next_cores.intersection(&own).is_empty(), "{next_cores} vs {own}");
    let shared_emulator = next.emulator_pin.clone().unwrap();
    assert!(
        shared_emulator.intersection(&own).is_empty(),
        "{shared_emulator} vs {own}"
    );
}

/// Without isolation the same guests place as before: isolation is all that takes cores.
#[test]
fn share_is_the_default_and_takes_no_core() {
    let isolated = build(&format!(
        "{HOST}guest g on=h {{\n  memory 8GiB\n  vcpus 14\n  vnuma mode=host\n  emulator policy=isolate\n}}\n"
    ));
    let shared = build(&format!(
        "{HOST}guest g on=h {{\n  memory 8GiB\n  vcpus 14\n  vnuma mode=host\n  emulator policy=share\n}}\n"
    ));
    let plain = build(&format!(
        "{HOST}guest g on=h {{\n  memory 8GiB\n  vcpus 14\n  vnuma mode=host\n}}\n"
    ));
    let xml = |b: &Built| vnumac::lower::libvirt::domain_xml(b.guest("g"));
    assert_eq!(xml(&shared), xml(&plain));
    assert_eq!(isolated.codes(), Vec::<&str>::new(), "{:?}", isolated.diags);
    let g = isolated.guest("g");
    assert_eq!(vcpu_cpus(g), vcpu_cpus(plain.guest("g")));
    assert!(g.isolated.emulator && !plain.guest("g").isolated.emulator);
}

/// A node with room for the vCPUs but not for the isolated threads: E0347 names it and
/// says `policy=share` fits.
#[test]
fn isolation_without_room_is_e0347() {
    let b = build(&format!(
        "{HOST}guest g on=h {{\n  memory 8GiB\n  vcpus 8\n  vnuma mode=node nodeset=0\n  iothreads 1 policy=isolate\n}}\n"
    ));
    assert_eq!(b.codes(), ["E0347"], "{:?}", b.diags);
    assert!(b.diags[0].1.contains("host node 0 has 8 free cores"), "{:?}", b.diags);
    assert!(b.diags[0].1.contains("8 for vCPUs and 1 for isolated"), "{:?}", b.diags);
}

/// What cannot work together is E0348: isolation without `vnuma` or with floating vCPUs,
/// a policy with a pin, per-cell threads without cells or pinned by hand, `iothread`
/// lines that name no thread or one placed already, a disk thread on SATA or beyond the
/// threads, and shared vCPUs that are all of them, with `pinning=node`, or half a core.
#[test]
fn settings_that_cannot_work_together_are_e0348() {
    let guest = |body: &str| format!("{HOST}guest g on=h {{\n  memory 4GiB\n  vcpus 4\n{body}\n}}\n");
    for (body, says) in [
        ("  emulator policy=isolate", "placed by `vnuma`"),
        (
            "  vnuma mode=host pinning=node\n  emulator policy=isolate",
            "`pinning=node` floats",
        ),
        (
            "  vnuma mode=host\n  emulator policy=isolate cpus=0",
            "both `policy=` and `cpus=`",
        ),
        ("  iothreads per-cell", "needs guest cells"),
        ("  vnuma mode=host\n  iothreads per-cell node=0", "cannot pin them"),
        (
            "  numa {\n    cell 0 cpus=0-3 memory=4GiB\n  }\n  iothreads per-cell",
            "bound to no host node",
        ),
        ("  iothread 1 cpus=0", "no `iothreads`"),
        (
            "  iothreads 2 cpus=0-1\n  iothread 1 cpus=2",
            "placed by `iothreads` already",
        ),
        ("  iothreads 2\n  iothread 3 cpus=2", "I/O thread 3 does not exist"),
        (
            "  iothreads 2\n  iothread 1 cpus=2\n  iothread 1 cpus=3",
            "pinned twice",
        ),
        (
            "  iothreads 1\n  devices {\n    disk d path=\"/d.raw\" iothread=1\n  }",
            "only a virtio disk",
        ),
        (
            "  iothreads 1\n  devices {\n    disk d path=\"/d.raw\" bus=virtio iothread=2\n  }",
            "I/O thread 2 does not exist",
        ),
        ("  vnuma mode=host shared-vcpus=0-3", "names every vCPU"),
        ("  vnuma mode=host pinning=node shared-vcpus=3", "with `pinning=node`"),
        (
            "  vnuma mode=node nodeset=0 distribution=siblings shared-vcpus=3",
            "only some threads of guest core 1",
        ),
    ] {
        let b = build(&guest(body));
        assert!(b.codes().contains(&"E0348"), "{body}: {:?}", b.diags);
        assert!(
            b.diags.iter().any(|(_, m)| m.contains(says)),
            "{body}: `{says}` in {:?}",
            b.diags
        );
        assert!(b.guests.is_empty(), "{body}: no output");
    }
}

/// Shared vCPUs float over their cell's node minus every core any guest holds as
/// dedicated, including guests placed after them in the file; the dedicated vCPUs keep a
/// core each.
#[test]
fn shared_vcpus_float_over_the_cores_no_guest_dedicates() {
    let text = format!(
        "{HOST}guest mixed on=h {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node nodeset=0 shared-vcpus=2-3\n}}\n\
         guest later on=h {{\n  memory 4GiB\n  vcpus 3\n  vnuma mode=node nodeset=0\n}}\n"
    );
    let b = build(&text);
    assert_eq!(b.codes(), Vec::<&str>::new(), "{:?}", b.diags);
    let mixed = b.guest("mixed");
    assert_eq!(mixed.shared_vcpus, IdSet::parse("2-3").unwrap());
    let dedicated: Vec<&IdSet> = mixed.pins.iter().filter(|p| p.vcpu < 2).map(|p| &p.cpus).collect();
    assert!(dedicated.iter().all(|c| c.len() == 1), "{dedicated:?}");
    let later = vcpu_cpus(b.guest("later"));
    let held = dedicated
        .iter()
        .map(|c| core_of(c.first().unwrap()))
        .chain(later.iter().map(core_of))
        .fold(IdSet::new(), |a, c| a.union(&c));
    let node0 = IdSet::parse("0-7,16-23").unwrap();
    for p in mixed.pins.iter().filter(|p| p.vcpu >= 2) {
        assert_eq!(p.cpus, node0.difference(&held), "vCPU {}", p.vcpu);
    }
    // The XML pins them so, and the later guest's cores are not among them.
    let xml = vnumac::lower::libvirt::domain_xml(mixed);
    assert!(
        xml.contains(&format!("<vcpupin vcpu='3' cpuset='{}'/>", node0.difference(&held))),
        "{xml}"
    );
}

/// W0513: a guest's unpinned vCPUs, or a `pinning=node` guest's, beside a guest with
/// dedicated cores, whichever comes first in the file; one warning per pair.
#[test]
fn floating_vcpus_over_dedicated_cores_warn_in_either_order() {
    let loose = "guest loose on=h {\n  memory 2GiB\n  vcpus 2\n}\n";
    let node = "guest node on=h {\n  memory 2GiB\n  vcpus 2\n  vnuma mode=node nodeset=0 pinning=node\n}\n";
    let db = "guest db on=h {\n  memory 8GiB\n  vcpus 4\n  vnuma mode=node nodeset=0\n}\n";
    for order in [[loose, node, db], [db, node, loose], [node, db, loose]] {
        let b = build(&format!("{HOST}{}", order.concat()));
        let warned: Vec<&String> = b.diags.iter().filter(|(c, _)| c == "W0513").map(|(_, m)| m).collect();
        assert_eq!(warned.len(), 2, "{order:?}: {:?}", b.diags);
        assert!(
            warned.iter().any(|m| m.contains("of `loose`") && m.contains("`db`")),
            "{warned:?}"
        );
        assert!(
            warned.iter().any(|m| m.contains("of `node`") && m.contains("`db`")),
            "{warned:?}"
        );
        assert_eq!(b.codes().len(), 2, "{:?}", b.diags);
    }
    // Without a dedicated guest nothing floats over anyone's cores.
    let b = build(&format!("{HOST}{loose}{node}"));
    assert_eq!(b.codes(), Vec::<&str>::new(), "{:?}", b.diags);
}

/// Per-cell I/O threads of a hand-written guest run on their cells' host nodes, and a
/// virtio disk on a cell takes its cell's thread unless it names one.
#[test]
fn per_cell_threads_serve_their_cells_disks() {
    let text = format!(
        "{HOST}guest g on=h {{\n  memory 4GiB\n  vcpus 2\n  numa {{\n    cell 0 cpus=0 memory=2GiB host-node=0\n    \
         cell 1 cpus=1 memory=2GiB host-node=1\n  }}\n  pin vcpus=0 node=0\n  pin vcpus=1 node=1\n  iothreads per-cell\n  \
         devices {{\n    disk a path=\"/a.raw\" bus=virtio node=1\n    disk b path=\"/b.raw\" bus=virtio node=1 iothread=2\n    \
         disk c path=\"/c.raw\" bus=virtio\n  }}\n}}\n"
    );
    let b = build(&text);
    assert_eq!(b.codes(), Vec::<&str>::new(), "{:?}", b.diags);
    let g = b.guest("g");
    assert_eq!(
        g.iothread_pins,
        [
            Some(IdSet::parse("0-7,16-23").unwrap()),
            Some(IdSet::parse("8-15,24-31").unwrap())
        ]
    );
    let threads: Vec<Option<u32>> = g
        .devices
        .iter()
        .map(|d| match d.kind {
            DeviceKind::Disk { iothread, .. } => iothread,
            _ => None,
        })
        .collect();
    assert_eq!(threads, [Some(2), Some(2), None]);
    let args = vnumac::lower::qemu::command_line(g);
    assert_eq!(args.matches("iothread=iothread2").count(), 2, "{args}");
    assert!(args.contains("-object iothread,id=iothread1"), "{args}");
}
