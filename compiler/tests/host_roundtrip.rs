//! `host import` / `host probe` print a block that reads back to the identical profile,
//! through the real parser and checker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use vnumac::db::{self, Database, MemLoader};
use vnumac::host::HostProfile;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn reimport(profile: &HostProfile) -> HostProfile {
    let text = vnumac::host::print::to_vnuma(profile);
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("printed.vnuma"),
        &MemLoader::new("printed.vnuma", text.clone()),
    )
    .unwrap();
    let compiled = db::compile(&db, program);
    assert!(compiled.diagnostics.is_empty(), "{text}\n{:?}", compiled.diagnostics);
    compiled.checked.hosts[0].as_ref().unwrap().profile.as_ref().clone()
}

#[test]
fn every_capabilities_file_round_trips() {
    let mut n = 0;
    for dir in ["examples/hosts", "examples/hosts/real"] {
        for entry in std::fs::read_dir(workspace().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".caps.xml") {
                continue;
            }
            let xml = std::fs::read_to_string(&path).unwrap();
            let p = vnumac::host::caps::from_capabilities_xml("h", &xml).unwrap();
            assert_eq!(reimport(&p), p, "{}", path.display());
            n += 1;
        }
    }
    assert_eq!(n, 10);
}

#[test]
fn every_sysfs_dump_and_this_machine_round_trip() {
    let mut roots: Vec<PathBuf> = ["linux-test8", "linux-test4", "linux-high-ids", "linux-with-die"]
        .iter()
        .map(|d| workspace().join("compiler/tests/fixtures/sysfs").join(d))
        .collect();
    roots.push(PathBuf::from("/sys"));
    for root in roots {
        let (p, _) = vnumac::host::sysfs::probe("h", &root).unwrap();
        assert!(!p.nodes.is_empty(), "{}", root.display());
        assert_eq!(reimport(&p), p, "{}", root.display());
    }
}

// ---------------------------------------------------------------------------
// Any /sys tree the probe accepts prints back to the same profile
// ---------------------------------------------------------------------------

use proptest::prelude::*;

/// One CPU's files under `devices/system/cpu/cpuN`.
#[derive(Debug, Clone)]
struct CpuFiles {
    node: usize,
    offline: bool,
    package: Option<i64>,
    die: Option<i64>,
    core: Option<i64>,
    /// None: no file; Some(true): the CPUs with the same package and core; Some(false): itself.
    siblings: Option<bool>,
    /// An L3 cache (`cache/index3`) shared with the CPUs of the same group, or (odd groups
    /// above 3) listing only this CPU; a level-1 data cache beside it that must be skipped.
    l3: Option<u8>,
}

#[derive(Debug, Clone)]
struct NodeFiles {
    id: u32,
    mem_total: Option<u64>,
    mem_free: Option<u64>,
    /// Distances to every node (by position), or a row of the wrong length.
    distance: Option<Vec<u32>>,
    hugepages: Vec<(u64, u64)>,
}

#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<NodeFiles>,
    cpus: Vec<CpuFiles>,
    /// (directory name, numa_node)
    pci: Vec<(String, i64)>,
}

/// Mostly what real hosts have, sometimes what none can: more than 1 PiB, 2^64 - 1.
fn memory_kib() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..(1 << 40), 1 => (1u64 << 40)..(1 << 42), 1 => Just(u64::MAX)]
}

/// Distances: 10 to 254 mostly, then anything up to 300 (0, 10 between nodes, 256) and 2^32 - 1.
fn distance() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 10u32..=254, 2 => 0u32..=300, 1 => Just(u32::MAX)]
}

/// Page sizes in KiB: real ones, and 0, 3, odd sizes, 32 GiB and 2^64 - 1.
fn page_kib() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => prop_oneof![Just(2048u64), Just(1_048_576u64), Just(64u64), Just(16_384u64)],
        2 => 0u64..5000,
        1 => prop_oneof![Just(0u64), Just(3u64), Just(32u64 << 20), Just(u64::MAX)],
    ]
}

fn page_count() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..100_000, 1 => Just(u64::from(u32::MAX) + 1), 1 => Just(u64::MAX)]
}

fn tree_strategy() -> impl Strategy<Value = Tree> {
    let node = (
        prop::option::weighted(0.9, memory_kib()),
        prop::option::weighted(0.7, memory_kib()),
        prop::option::weighted(0.8, prop::collection::vec(distance(), 0..7)),
        prop::collection::vec((page_kib(), page_count()), 0..3),
    );
    let cpu = (
        0usize..6,
        prop::bool::weighted(0.1),
        prop::option::weighted(0.9, -1i64..4),
        prop::option::weighted(0.5, -1i64..3),
        prop::option::weighted(0.9, -1i64..12),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.6, 0u8..6),
    )
        .prop_map(|(node, offline, package, die, core, siblings, l3)| CpuFiles {
            node,
            offline,
            package,
            die,
            core,
            siblings,
            l3,
        });
    let pci_name = prop_oneof![
        (0u32..2, 0u32..256, 0u32..32, 0u32..8).prop_map(|(d, b, s, f)| format!("{d:04x}:{b:02x}:{s:02x}.{f:x}")),
        "[ -~]{1,20}".prop_filter("a file name", |n| !n.contains('/') && n != "." && n != ".."),
    ];
    (
        prop::collection::btree_set(0u32..300, 1..6),
        prop::collection::vec(node, 6),
        prop::collection::vec(cpu, 1..40),
        prop::collection::vec((pci_name, -1i64..7), 0..5),
    )
        .prop_map(|(ids, node_files, cpus, pci)| {
            let nodes: Vec<NodeFiles> = ids
                .into_iter()
                .zip(node_files)
                .map(|(id, (mem_total, mem_free, distance, hugepages))| NodeFiles {
                    id,
                    mem_total,
                    mem_free,
                    distance,
                    hugepages,
                })
                .collect();
            let n = nodes.len();
            let cpus = cpus.into_iter().map(|c| CpuFiles { node: c.node % n, ..c }).collect();
            Tree { nodes, cpus, pci }
        })
}

fn write_tree(root: &Path, t: &Tree) {
    let w = |p: PathBuf, text: String| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let cpu_dir = root.join("devices/system/cpu");
    std::fs::create_dir_all(&cpu_dir).unwrap();
    for (i, c) in t.cpus.iter().enumerate() {
        let d = cpu_dir.join(format!("cpu{i}"));
        std::fs::create_dir_all(&d).unwrap();
        if c.offline {
            w(d.join("online"), "0\n".into());
        }
        let topo = d.join("topology");
        for (file, v) in [
            ("physical_package_id", c.package),
            ("die_id", c.die),
            ("core_id", c.core),
        ] {
            if let Some(v) = v {
                w(topo.join(file), format!("{v}\n"));
            }
        }
        if let Some(same_core) = c.siblings {
            let ids: Vec<String> = t
                .cpus
                .iter()
                .enumerate()
                .filter(|(j, o)| {
                    *j == i || (same_core && o.package == c.package && o.core == c.core && o.core.is_some())
                })
                .map(|(j, _)| j.to_string())
                .collect();
            w(topo.join("thread_siblings_list"), format!("{}\n", ids.join(",")));
        }
        if let Some(group) = c.l3 {
            let ids: Vec<String> = t
                .cpus
                .iter()
                .enumerate()
                .filter(|(j, o)| *j == i || (group < 4 && o.l3 == Some(group)))
                .map(|(j, _)| j.to_string())
                .collect();
            let cache = d.join("cache");
            w(cache.join("index0/level"), "1\n".into());
            w(cache.join("index0/type"), "Data\n".into());
            w(cache.join("index0/shared_cpu_list"), format!("{i}\n"));
            w(cache.join("index3/level"), "3\n".into());
            w(cache.join("index3/type"), "Unified\n".into());
            w(cache.join("index3/shared_cpu_list"), format!("{}\n", ids.join(",")));
        }
    }
    let node_dir = root.join("devices/system/node");
    for (k, n) in t.nodes.iter().enumerate() {
        let d = node_dir.join(format!("node{}", n.id));
        let cpus: Vec<String> = t
            .cpus
            .iter()
            .enumerate()
            .filter(|(_, c)| c.node == k)
            .map(|(i, _)| i.to_string())
            .collect();
        w(d.join("cpulist"), format!("{}\n", cpus.join(",")));
        let mut meminfo = String::new();
        if let Some(total) = n.mem_total {
            meminfo.push_str(&format!("Node {} MemTotal:       {total} kB\n", n.id));
        }
        if let Some(free) = n.mem_free {
            meminfo.push_str(&format!("Node {} MemFree:        {free} kB\n", n.id));
        }
        w(d.join("meminfo"), meminfo);
        if let Some(row) = &n.distance {
            let row: Vec<String> = row.iter().map(u32::to_string).collect();
            w(d.join("distance"), format!("{}\n", row.join(" ")));
        }
        for (size, count) in &n.hugepages {
            w(
                d.join(format!("hugepages/hugepages-{size}kB/free_hugepages")),
                format!("{count}\n"),
            );
        }
    }
    let pci_dir = root.join("bus/pci/devices");
    std::fs::create_dir_all(&pci_dir).unwrap();
    for (name, node) in &t.pci {
        w(pci_dir.join(name).join("numa_node"), format!("{node}\n"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, .. ProptestConfig::default() })]

    /// Whatever tree the probe accepts, `host probe` prints a block that checks without a
    /// diagnostic and reads back as the identical profile.
    #[test]
    fn any_accepted_sysfs_tree_round_trips(t in tree_strategy()) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("vnumac-sysfs-prop-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write_tree(&root, &t);
        let probed = vnumac::host::sysfs::probe("h", &root);
        let _ = std::fs::remove_dir_all(&root);
        if let Ok((p, _)) = probed {
            prop_assert_eq!(reimport(&p), p);
        }
    }
}

// ---------------------------------------------------------------------------
// Any capabilities file the importer accepts prints back to the same profile
// ---------------------------------------------------------------------------

/// One `<cell>`: memory, `<pages>` (size, count), a `<distances>` row, CPU count.
type CapsCell = (u64, Vec<(u64, u64)>, Vec<u32>, u32);

fn caps_xml(cells: &[CapsCell]) -> String {
    let mut cpu = 0;
    let mut out = String::from("<capabilities><host><cpu><arch>x86_64</arch></cpu><topology>");
    out.push_str(&format!("<cells num='{}'>", cells.len()));
    for (i, (memory, pages, row, cpus)) in cells.iter().enumerate() {
        out.push_str(&format!("<cell id='{i}'><memory unit='KiB'>{memory}</memory>"));
        for (size, count) in pages {
            out.push_str(&format!("<pages unit='KiB' size='{size}'>{count}</pages>"));
        }
        out.push_str("<distances>");
        for (j, v) in row.iter().enumerate() {
            out.push_str(&format!("<sibling id='{j}' value='{v}'/>"));
        }
        out.push_str(&format!("</distances><cpus num='{cpus}'>"));
        for _ in 0..*cpus {
            out.push_str(&format!(
                "<cpu id='{cpu}' socket_id='0' core_id='{cpu}' siblings='{cpu}'/>"
            ));
            cpu += 1;
        }
        out.push_str("</cpus></cell>");
    }
    out.push_str("</cells></topology></host></capabilities>");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// Whatever capabilities the importer accepts, `host import` prints a block that checks
    /// without a diagnostic and reads back as the identical profile; what it cannot print
    /// back is refused.
    #[test]
    fn any_accepted_capabilities_round_trip(
        cells in prop::collection::vec(
            (memory_kib(), prop::collection::vec((page_kib(), page_count()), 0..3),
             prop::collection::vec(distance(), 0..4), 0u32..3),
            1..4,
        )
    ) {
        if let Ok(p) = vnumac::host::caps::from_capabilities_xml("h", &caps_xml(&cells)) {
            prop_assert_eq!(reimport(&p), p);
        }
    }
}

/// The values no host has and no block can say are refused by every reader, by name.
#[test]
fn unrepresentable_values_are_refused() {
    let refused = |cells: &[CapsCell], expected: &str| {
        let e = vnumac::host::caps::from_capabilities_xml("h", &caps_xml(cells)).unwrap_err();
        assert!(e.message.contains(expected), "{}", e.message);
    };
    let page = |size: u64| vec![(4, 100), (size, 5)];
    for size in [0, 3, 5000, 32 << 20, 1 << 51] {
        refused(&[(1 << 20, page(size), vec![10], 1)], "is not a hugepage size");
    }
    // A size with no byte count in 64 bits is refused as the number is read.
    refused(&[(1 << 20, page(u64::MAX), vec![10], 1)], "KiB is too large");
    refused(
        &[(1 << 20, page(2048), vec![10], 1)].map(|mut c| {
            c.1[1].1 = u64::MAX;
            c
        }),
        "hugepages is more than",
    );
    refused(&[(1 << 41, vec![], vec![10], 1)], "more than 1 PiB");
    refused(&[(u64::MAX, vec![], vec![10], 1)], "KiB is too large");
    let two = |ab: u32, aa: u32| [(1 << 20, vec![], vec![aa, ab], 1), (1 << 20, vec![], vec![ab, 10], 1)];
    refused(&two(256, 10), "distance 0 1 is 256, outside 11-255");
    refused(&two(10, 10), "distance 0 1 is 10, outside 11-255");
    refused(
        &two(20, 12),
        "distance 0 0 is 12, but a node's distance to itself is 10",
    );
    // The same values in a host block: the reader's error, with the statement's span.
    for (line, expected) in [
        ("distance 0 1 256", "outside 11-255"),
        ("hugepages node=0 size=3KiB count=1", "not a hugepage size"),
    ] {
        let text = format!("host h {{\n  node 0 cpus=0 memory=1GiB\n  node 1 cpus=1 memory=1GiB\n  {line}\n}}\n");
        let db = Database::default();
        let program = db::load_program(&db, Path::new("h.vnuma"), &MemLoader::new("h.vnuma", text.clone())).unwrap();
        let compiled = db::compile(&db, program);
        let d = &compiled.diagnostics[0];
        assert!(d.code.ends_with("E0412") && d.message.contains(expected), "{d:?}");
        let at = d.primary_span();
        assert_eq!(&text[at.start as usize..at.end as usize], line);
    }
}
