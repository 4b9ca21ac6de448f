//! What a host can allocate of its caches and memory bandwidth, read from libvirt's own
//! capabilities (`tests/fixtures/resctrl`, copied from libvirt's test suite), from a sysfs
//! tree with resctrl mounted, and from an inline block; each prints as a block that reads
//! back to the same profile, and a block no host can have is refused with E0416.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use vnumac::db::{self, Database, MemLoader};
use vnumac::host::{BandwidthControl, CacheControl, CacheType, HostProfile};
use vnumac::sets::IdSet;

fn fixture(name: &str) -> HostProfile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/resctrl")
        .join(name);
    vnumac::host::caps::from_capabilities_xml("h", &std::fs::read_to_string(path).unwrap()).unwrap()
}

fn set(text: &str) -> IdSet {
    IdSet::parse(text).unwrap()
}

fn compile(text: &str) -> db::Compiled {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("h.vnuma"), &MemLoader::new("h.vnuma", text)).unwrap();
    db::compile(&db, program)
}

fn reimport(profile: &HostProfile) -> HostProfile {
    let text = vnumac::host::print::to_vnuma(profile);
    let compiled = compile(&text);
    assert!(compiled.diagnostics.is_empty(), "{text}\n{:?}", compiled.diagnostics);
    compiled.checked.hosts[0].as_ref().unwrap().profile.as_ref().clone()
}

#[test]
fn banks_without_controls_cannot_be_allocated() {
    let p = fixture("vircaps-x86_64-resctrl.xml");
    let r = &p.resctrl;
    assert_eq!(r.banks.len(), 2);
    let b = r.bank(3, 1).unwrap();
    assert_eq!(
        (b.size, b.kind, b.cpus.clone()),
        (15360 << 10, CacheType::Both, set("6-11"))
    );
    assert!(b.controls.is_empty());
    assert!(r.bandwidth.is_empty());
    assert_eq!(reimport(&p), p);
}

#[test]
fn code_and_data_prioritisation() {
    let p = fixture("vircaps-x86_64-resctrl-cdp.xml");
    let b = p.resctrl.bank(3, 0).unwrap();
    assert_eq!((b.size, b.cpus.clone()), (15 << 20, set("0-5")));
    let control = |kind| CacheControl {
        kind,
        granularity: 768 << 10,
        min: 768 << 10,
        max_allocs: 8,
    };
    assert_eq!(b.controls, vec![control(CacheType::Code), control(CacheType::Data)]);
    assert!(b.cdp() && b.control(CacheType::Both).is_none());
    let text = vnumac::host::print::to_vnuma(&p);
    assert!(
        text.contains("cache-bank 0 level=3 size=15MiB cpus=0-5 control=cdp granularity=768KiB allocs=8"),
        "{text}"
    );
    assert_eq!(reimport(&p), p);
}

#[test]
fn level_2_and_3_banks_and_memory_bandwidth() {
    let p = fixture("vircaps-x86_64-resctrl-mba_MBps.xml");
    let r = &p.resctrl;
    assert_eq!(r.banks.iter().filter(|b| b.level == 2).count(), 24);
    let l2 = r.bank(2, 64).unwrap();
    assert_eq!((l2.size, l2.cpus.clone()), (2 << 20, set("17,41")));
    assert_eq!(l2.control(CacheType::Both).unwrap().granularity, 128 << 10);
    let l3 = r.bank(3, 1).unwrap();
    assert_eq!(l3.control(CacheType::Both).unwrap().max_allocs, 15);
    assert_eq!(l3.cpus.len(), 24);
    assert_eq!(r.bandwidth.len(), 2);
    let n = r.bandwidth_node(0).unwrap();
    let expected = BandwidthControl {
        granularity: 10,
        min: 10,
        max_allocs: 15,
    };
    let evens = IdSet::from_ids((0..48).step_by(2).collect::<Vec<u32>>());
    assert_eq!((n.control, n.cpus.clone()), (expected, evens));
    assert_eq!(reimport(&p), p);
}

/// A sysfs tree of libvirt's `linux-resctrl-cdp` host: two nodes of six CPUs, one 15 MiB L3
/// cache each, resctrl with code and data prioritisation (a 20-bit mask, 8 allocations) and
/// memory-bandwidth allocation.
fn cdp_tree(root: &Path) {
    let w = |path: PathBuf, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    for node in 0..2u32 {
        let first = node * 6;
        let dir = root.join(format!("devices/system/node/node{node}"));
        w(dir.join("cpulist"), &format!("{first}-{}\n", first + 5));
        w(
            dir.join("meminfo"),
            &format!("Node {node} MemTotal: {} kB\n", (node + 1) << 20),
        );
        for cpu in first..first + 6 {
            let c = root.join(format!("devices/system/cpu/cpu{cpu}"));
            w(c.join("topology/physical_package_id"), &format!("{node}\n"));
            w(c.join("topology/core_id"), &format!("{}\n", cpu - first));
            w(c.join("topology/thread_siblings_list"), &format!("{cpu}\n"));
            let l3 = c.join("cache/index0");
            w(l3.join("level"), "3\n");
            w(l3.join("type"), "Unified\n");
            w(l3.join("id"), &format!("{node}\n"));
            w(l3.join("size"), "15360K\n");
            w(l3.join("shared_cpu_list"), &format!("{first}-{}\n", first + 5));
        }
    }
    let info = root.join("fs/resctrl/info");
    for half in ["L3CODE", "L3DATA"] {
        w(info.join(half).join("cbm_mask"), "fffff\n");
        w(info.join(half).join("min_cbm_bits"), "1\n");
        w(info.join(half).join("num_closids"), "8\n");
    }
    w(info.join("MB/bandwidth_gran"), "10\n");
    w(info.join("MB/min_bandwidth"), "10\n");
    w(info.join("MB/num_closids"), "8\n");
}

#[test]
fn sysfs_resctrl_reads_as_libvirt_reports_it() {
    let root = std::env::temp_dir().join(format!("vnumac-resctrl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    cdp_tree(&root);
    let (p, warnings) = vnumac::host::sysfs::probe("h", &root).unwrap();
    let caps = fixture("vircaps-x86_64-resctrl-cdp.xml");
    assert_eq!(p.resctrl.banks, caps.resctrl.banks, "{warnings:?}");
    let nodes: Vec<(u32, IdSet, u32)> = p
        .resctrl
        .bandwidth
        .iter()
        .map(|n| (n.id, n.cpus.clone(), n.control.granularity))
        .collect();
    assert_eq!(nodes, vec![(0, set("0-5"), 10), (1, set("6-11"), 10)]);
    assert_eq!(reimport(&p), p);
    // Without resctrl mounted there is nothing to allocate.
    std::fs::remove_dir_all(root.join("fs")).unwrap();
    assert!(vnumac::host::sysfs::probe("h", &root).unwrap().0.resctrl.is_empty());
    std::fs::remove_dir_all(&root).unwrap();
}

fn codes(text: &str) -> Vec<(String, String)> {
    compile(text)
        .diagnostics
        .iter()
        .map(|d| (d.code.to_string(), d.message.clone()))
        .collect()
}

#[test]
fn inline_blocks_no_host_can_have() {
    let host = |lines: &str| format!("host h {{\n  node 0 cpus=0-3 memory=4GiB\n{lines}\n}}\n");
    let cases = [
        (
            "  cache-bank 0 level=3 size=8MiB cpus=0-7 control=both granularity=1MiB allocs=16",
            "CPUs 4-7 are not on any node",
        ),
        (
            "  cache-bank 0 level=3 size=8MiB cpus=0-3\n  cache-bank 0 level=3 size=8MiB cpus=0-3",
            "declared twice",
        ),
        (
            "  cache-bank 0 level=3 size=8MiB cpus=0-3 granularity=1MiB",
            "this bank has none",
        ),
        (
            "  cache-bank 0 level=3 size=8MiB cpus=0-3 control=both",
            "needs `granularity=` and `allocs=`",
        ),
        (
            "  cache-bank 0 level=3 size=8MiB cpus=0-3 control=both granularity=1MiB min=1536KiB allocs=4",
            "not a whole number",
        ),
        ("  bandwidth-node 0 cpus=0-3 granularity=0 allocs=4", "1 to 100"),
    ];
    for (lines, message) in cases {
        let found = codes(&host(lines));
        assert!(
            found.iter().any(|(c, m)| c == "vnuma::E0416" && m.contains(message)),
            "{lines}: {found:?}"
        );
    }
    let fine = host(
        "  cache-bank 0 level=3 size=8MiB cpus=0-3 control=both granularity=512KiB min=1MiB allocs=16\n  bandwidth-node 0 cpus=0-3 granularity=10 allocs=8",
    );
    assert_eq!(codes(&fine), vec![]);
}
