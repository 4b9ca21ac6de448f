//! libvirt itself on libvirt's own `cachetune`, `memorytune`, `resctrl` and `energytune`
//! cases, and vnumac's `monitor-*` ones (`tests/fixtures/resctrl`): libvirtd on a faked
//! one-node host parses each domain with
//! `virsh domxml-to-native`. Where libvirt refuses the domain, `vnumac import` or the build
//! refuses it with a code; where libvirt takes it, vnumac builds it, and libvirt's QEMU line
//! is the same as for the domain without its tunes (libvirt applies them through resctrl,
//! not on the command line).
//!
//! Skips without libvirtd, virsh, unshare, setsid or root, unless `VNUMAC_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::libvirtd::{Daemon, oracles_available, write_fake_node_tree};
use common::{Scratch, workspace};
use vnumac::db::{self, Database, MemLoader};
use vnumac::host::{HostNode, HostProfile};
use vnumac::import::{ImportOptions, import_domain};
use vnumac::sets::IdSet;

const CASES: [&str; 29] = [
    "cachetune",
    "cachetune-small",
    "cachetune-cdp",
    "cachetune-extra-tunes",
    "memorytune",
    "cachetune-colliding-allocs",
    "cachetune-colliding-tunes",
    "cachetune-colliding-types",
    "cachetune-colliding-monitor",
    "memorytune-colliding-allocs",
    "memorytune-colliding-cachetune",
    // Later libvirt's cases: tunes without `vcpus` (the whole process), monitors that take
    // the tune's vCPUs, and `<energytune>`, which libvirt 9.0 does not know.
    "cachetune-monitor-empty-vcpus",
    "cachetune-monitor-inherit-alloc",
    "cachetune-wholeprocess-duplicate",
    "cachetune-wholeprocess-monitor-duplicate",
    "cachetune-wholeprocess-monitors",
    "memorytune-wholeprocess",
    "resctrl-wholeprocess-alloc-monitor",
    "resctrl-wholeprocess-layering",
    "resctrl-wholeprocess-monitors",
    "energytune",
    "energytune-wholeprocess",
    "energytune-colliding-monitor",
    // vnumac's own: a monitor of the tune's own vCPUs beside monitors of some of them.
    "monitor-whole-first",
    "monitor-whole-unallocated",
    "monitor-whole-twice",
    "monitor-overlap",
    "monitor-whole-first-unallocated",
    "monitor-part-twice",
];

/// Whether vnumac takes the domain: imported, and built without an error.
fn vnumac_takes(xml: &str) -> bool {
    let Ok(imported) = import_domain(xml, &ImportOptions { host: None }) else {
        return false;
    };
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("/virtual/t.vnuma"),
        &MemLoader::new("/virtual/t.vnuma", imported.text),
    )
    .unwrap();
    !db::compile(&db, program).has_errors()
}

/// The domain without its `<cachetune>` and `<memorytune>` elements.
fn untuned(xml: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in xml.lines() {
        let t = line.trim_start();
        if t.starts_with("<cachetune") || t.starts_with("<memorytune") {
            inside = true;
        }
        if !inside {
            out.push_str(line);
            out.push('\n');
        }
        if t.starts_with("</cachetune>") || t.starts_with("</memorytune>") {
            inside = false;
        }
    }
    out
}

#[test]
fn libvirt_and_vnumac_take_and_refuse_the_same_tunes() {
    if !oracles_available() {
        return;
    }
    let scratch = Scratch::new("resctrl-libvirtd").expect("scratch dir");
    let dir = scratch.dir.join("host");
    let profile = HostProfile {
        name: "one node".into(),
        nodes: vec![HostNode {
            id: 0,
            cpus: IdSet::range(0, 3),
            memory_kib: 1 << 30,
            free_kib: 1 << 30,
            hugepages: Vec::new(),
            reserved_kib: 0,
        }],
        distances: vec![vec![10]],
        ..HostProfile::default()
    };
    write_fake_node_tree(&profile, &dir.join("node")).expect("fake node tree");
    let daemon = Daemon::start(&dir, &scratch.dir.join("cache")).expect("libvirtd starts");
    let fixtures = workspace().join("compiler/tests/fixtures/resctrl");
    let mut failures = Vec::new();
    // As written (TCG guests, which libvirt refuses tunes for), and as KVM guests.
    let cases = CASES.iter().flat_map(|name| {
        let xml = std::fs::read_to_string(fixtures.join(format!("{name}.xml"))).unwrap();
        let kvm = xml.replacen("<domain type='qemu'>", "<domain type='kvm'>", 1);
        assert_ne!(kvm, xml, "{name}");
        [(name.to_string(), xml), (format!("{name}-kvm"), kvm)]
    });
    for (name, xml) in cases {
        let path = scratch.dir.join(format!("{name}.xml"));
        std::fs::write(&path, &xml).unwrap();
        let libvirt = daemon.virsh(&["domxml-to-native", "qemu-argv", &path.to_string_lossy()]);
        let ours = vnumac_takes(&xml);
        let word = |takes: bool| if takes { "takes it" } else { "refuses it" };
        eprintln!("{name}: libvirt {}, vnumac {}", word(libvirt.is_ok()), word(ours));
        match &libvirt {
            Ok(line) => {
                let bare = scratch.dir.join(format!("{name}-untuned.xml"));
                std::fs::write(&bare, untuned(&xml)).unwrap();
                let without = daemon.virsh(&["domxml-to-native", "qemu-argv", &bare.to_string_lossy()]);
                if without.as_ref() != Ok(line) {
                    failures.push(format!(
                        "{name}: libvirt's line changes with the tunes:\n{line}\n{without:?}"
                    ));
                }
                if !ours {
                    failures.push(format!("{name}: libvirt takes it, vnumac refuses it"));
                }
            }
            Err(e) if ours => failures.push(format!("{name}: libvirt refuses it ({e}), vnumac takes it")),
            Err(_) => {}
        }
    }
    daemon.stop().expect("libvirtd stops");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
