//! Conformance with libvirt's own QEMU driver (README.md, "Testing").
//!
//! For every golden case (`golden/examples/<case>/<guest>.xml` with its `.args`), libvirtd
//! runs on a faked NUMA host built from the host profile that guest uses (read through
//! vnumac's library from `examples/<case>.vnuma`), in a private mount namespace
//! (`tests/support/libvirtd-fake-numa.sh`): the fake `devices/system/node` tree, a private
//! `/etc/libvirt` (qemu.conf with `user = "root"` and the hugetlbfs mounts), private
//! runtime/state dirs and socket, and hugetlbfs mounted with 2 MiB and 1 GiB pages at
//! `/dev/hugepages` and `/dev/hugepages1G`. One daemon per distinct host profile, started
//! detached (setsid), checked to see the faked cells (`virsh capabilities`), and always
//! stopped (SIGTERM, then SIGKILL) before the next one. The daemon needs no setup outside
//! its namespace: the `libvirt-qemu` user the QEMU driver insists on is added to private
//! copies of passwd/group when the system lacks it.
//!
//! `virsh domxml-to-native qemu-argv` prints the line libvirt would run for the golden XML.
//! Both lines are parsed into (option, properties) items and compared as sets, for what the
//! XML decides: `-m`, `-smp`, `-overcommit`, `-numa node|dist`, memory backends (and
//! `thread-context` objects), `iothread` objects, `pc-dimm`/`nvdimm`/`pxb-pcie`/`pxb`/`pcie-root-port`
//! and `ahci` devices, which I/O thread serves each `virtio-blk-pci` disk, the port of each
//! `ide-hd` disk and the slot of each `virtio-mem-pci`/`virtio-pmem-pci` device. Only
//! syntax is normalised: JSON vs keyval, `,,`, repeated keys and JSON arrays as sets,
//! `true`/`on`. The allowed differences, each printed as a note:
//! * enabled hot-pluggable vCPUs (`-device <model>-x86_64-cpu`) are only on vnumac's line:
//!   libvirt adds them over QMP after start;
//! * root ports and expander buses libvirt adds for its own default devices (`id` `pci.N`
//!   with no `<controller type='pci' index='N'>` in the XML) are not vnumac's;
//! * a memory backend's `mem-path` of the form `<mount>/libvirt/qemu/<id>-<name>` (libvirt's
//!   per-domain hugepage dir) is compared as `<mount>`, the mount point vnumac uses;
//! * a file under libvirt's memory_backing_dir (`…/libvirt/qemu/ram/<id>-<name>/<alias>`)
//!   is compared as that directory on both sides: the domain id exists only at run time;
//!
//! Skips with a message when libvirtd, virsh, unshare or setsid is missing or the test is
//! not root, unless `VNUMAC_REQUIRE_ORACLES=1` (set by CI), which turns that, and an empty
//! `golden/examples`, into a failure.
//!
//! Besides the golden cases, every guest of `tests/support/libvirt-extra.vnuma` (lowering
//! paths no example takes yet: hotplug, DIMMs, NVDIMMs, expander buses, hugepage-backed
//! system memory, every policy) is lowered by vnumac and checked the same way, and so are
//! the guests of any `.vnuma` named in `VNUMAC_LIBVIRT_EXTRA` (`:`-separated).
//!
//! The comparison of the two lines and of libvirt's capabilities with the host
//! (`tests/common/native.rs`), the daemon, the `.args` reader and the XML tree are shared with
//! the other oracle suites (`tests/common/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use vnumac::db::{self, Database, MemLoader};
use vnumac::host::{HostNode, HostProfile, HugePages};
use vnumac::sets::IdSet;

use common::libvirtd::{Daemon, kernel_cpumap, oracles_available, write_fake_node_tree};
use common::native::{Outcome, check_capabilities, compare_lines, declared_pci_ids};
use common::{QEMU, Scratch, golden_dir, require_oracles, workspace};

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Proves libvirt's QEMU driver builds, for every golden XML, the options vnumac's `.args` has.
#[test]
fn libvirt_driver_agrees_with_vnumac() {
    let mut cases = golden_cases();
    if !oracles_available() {
        return;
    }
    if cases.is_empty() {
        finish_with(require_oracles(), 0, &[]);
        return;
    }
    let started = Instant::now();
    let scratch = Scratch::new("libvirtd").expect("scratch dir");
    let cache = scratch.dir.join("cache");
    let mut failures: Vec<String> = Vec::new();
    match extra_cases(&scratch.dir.join("extra")) {
        Ok(extra) => cases.extend(extra),
        Err(e) => failures.push(e),
    }
    // Each note with the cases it was made for.
    let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();

    // Group the cases by host profile: one daemon per distinct host.
    let mut groups: Vec<(HostProfile, Vec<Case>)> = Vec::new();
    let mut hosts_of: BTreeMap<PathBuf, BTreeMap<String, HostProfile>> = BTreeMap::new();
    for case in cases {
        let hosts = match hosts_of.get(&case.source) {
            Some(h) => h,
            None => match case_hosts(&case.source) {
                Ok(h) => hosts_of.entry(case.source.clone()).or_insert(h),
                Err(e) => {
                    failures.push(format!("{}: {e}", case.label()));
                    continue;
                }
            },
        };
        let Some(profile) = hosts.get(&case.guest) else {
            failures.push(format!(
                "{}: {} builds no guest {:?}: the golden file is stale",
                case.label(),
                case.source.display(),
                case.guest
            ));
            continue;
        };
        // Only the nodes and distances make the fake tree.
        let same_tree = |p: &HostProfile| p.nodes == profile.nodes && p.distances == profile.distances;
        match groups.iter_mut().find(|(p, _)| same_tree(p)) {
            Some((_, list)) => list.push(case),
            None => groups.push((profile.clone(), vec![case])),
        }
    }

    let mut checked = 0;
    for (i, (profile, cases)) in groups.iter().enumerate() {
        checked += cases.len();
        let dir = scratch.dir.join(format!("host{i}"));
        if let Err(e) = write_fake_node_tree(profile, &dir.join("node")) {
            failures.push(format!("host {}: cannot write the fake node tree: {e}", profile.name));
            continue;
        }
        let daemon = match Daemon::start(&dir, &cache) {
            Ok(d) => d,
            Err(e) => {
                for case in cases {
                    failures.push(format!("{}: libvirtd did not start: {e}", case.label()));
                }
                continue;
            }
        };
        eprintln!(
            "libvirtd for host {:?} ({} nodes) ready after {:.1?}",
            profile.name,
            profile.nodes.len(),
            started.elapsed()
        );
        if let Err(e) = check_capabilities(profile, &daemon.capabilities) {
            failures.push(format!(
                "host {:?}: libvirt does not see the faked host:\n{e}",
                profile.name
            ));
        }
        for case in cases {
            match check_case(&daemon, case) {
                Ok(outcome) => {
                    for note in outcome.notes {
                        let labels = notes.entry(note).or_default();
                        if !labels.contains(&case.label()) {
                            labels.push(case.label());
                        }
                    }
                    if !outcome.diffs.is_empty() {
                        failures.push(format!(
                            "{} (host {:?}): libvirt's line and vnumac's differ:\n{}",
                            case.label(),
                            profile.name,
                            outcome.diffs.join("\n")
                        ));
                    }
                }
                Err(e) => failures.push(format!("{} (host {:?}): {e}", case.label(), profile.name)),
            }
        }
        if let Err(e) = daemon.stop() {
            failures.push(format!("host {:?}: {e}", profile.name));
        }
    }
    for (note, labels) in &notes {
        eprintln!("note: {note}\n      in {}", labels.join(", "));
    }
    eprintln!("libvirt driver: took {:.1?}", started.elapsed());
    finish_with(require_oracles(), checked, &failures);
}

/// Proves the comparison can fail: a changed host node is reported with both sides.
#[test]
fn a_changed_host_node_is_reported() {
    let libvirt = SAMPLE_LIBVIRT;
    let vnumac = SAMPLE_VNUMAC;
    let declared = BTreeSet::from(["pci.3".to_owned()]);
    let same = compare_lines(libvirt, vnumac, &declared).expect("the samples parse");
    assert_eq!(same.diffs, Vec::<String>::new(), "the matching samples must agree");

    let wrong = vnumac.replace("host-nodes=1,policy", "host-nodes=2,policy");
    assert_ne!(wrong, vnumac);
    let outcome = compare_lines(libvirt, &wrong, &declared).expect("the samples parse");
    assert_eq!(outcome.diffs.len(), 1, "{:#?}", outcome.diffs);
    let report = &outcome.diffs[0];
    eprintln!("expected difference, as reported:\n{report}");
    assert!(report.contains("-object ram-node1"), "{report}");
    assert!(report.contains("differ in: host-nodes"), "{report}");
    assert!(report.contains("host-nodes={1}"), "libvirt's side is shown: {report}");
    assert!(report.contains("host-nodes={2}"), "vnumac's side is shown: {report}");
}

/// Proves each kind of difference is caught: a value, a missing item, an extra item.
#[test]
fn missing_extra_and_changed_items_are_reported() {
    let cases: [(&str, &str, &str); 7] = [
        (
            "-device virtio-blk-pci,iothread=iothread1,bus=pci.4,addr=0x0,drive=libvirt-1-format,id=virtio-disk0",
            "-device virtio-blk-pci,iothread=iothread2,bus=ua-port-a,addr=0x0,drive=disk-a-format,id=virtio-disk0",
            "differ in: iothread",
        ),
        ("-object iothread,id=iothread1", "", "only in libvirt's line"),
        (
            "-smp 4,sockets=2,dies=1,cores=2,threads=1",
            "-smp 4,sockets=2,cores=2,threads=1",
            "dies",
        ),
        ("-m 4096", "-m size=4194304k", "-m"),
        ("-numa dist,src=1,dst=0,val=21", "-numa dist,src=1,dst=0,val=20", "val"),
        (
            "-numa node,nodeid=1,cpus=2-3,memdev=ram-node1",
            "",
            "only in libvirt's line",
        ),
        ("", "-overcommit mem-lock=on", "only in vnumac's line"),
    ];
    for (l, v, expect) in cases {
        let libvirt = format!("LC_ALL=C /usr/bin/{QEMU} -S {l}");
        let vnumac = format!("{QEMU} \\\n  {v}\n");
        let outcome = compare_lines(&libvirt, &vnumac, &BTreeSet::new()).expect("the samples parse");
        assert_eq!(outcome.diffs.len(), 1, "{l} vs {v}: {:#?}", outcome.diffs);
        assert!(outcome.diffs[0].contains(expect), "{expect}: {}", outcome.diffs[0]);
    }
}

/// Proves the allowed differences are normalised and noted, and only those.
#[test]
fn allowed_differences_are_noted_not_failed() {
    let outcome = compare_lines(SAMPLE_LIBVIRT, SAMPLE_VNUMAC, &BTreeSet::from(["pci.3".to_owned()])).expect("parse");
    assert!(outcome.diffs.is_empty(), "{:#?}", outcome.diffs);
    let notes = outcome.notes.join("\n");
    for expected in [
        "mem-path /dev/huge,pages1G/libvirt/qemu/-1-g",
        "pcie-root-port pci.1",
        "vcpu3",
    ] {
        assert!(notes.contains(expected), "{expected} must be noted:\n{notes}");
    }
    // The root port the XML declares (index 3) is compared, and it is on both sides.
    assert!(!notes.contains("pci.3"), "{notes}");
    let without_port = SAMPLE_VNUMAC.replace(
        "  -device pcie-root-port,port=16,chassis=3,id=pci.3,bus=pcie.0,addr=0x2 \\\n",
        "",
    );
    assert_ne!(without_port, SAMPLE_VNUMAC);
    let outcome = compare_lines(SAMPLE_LIBVIRT, &without_port, &BTreeSet::from(["pci.3".to_owned()])).expect("parse");
    assert_eq!(outcome.diffs.len(), 1, "{:#?}", outcome.diffs);
    assert!(outcome.diffs[0].contains("pci.3"), "{}", outcome.diffs[0]);

    // thread-context objects are compared like any object: a wrong node-affinity is a difference.
    let with_tc = SAMPLE_VNUMAC.replace("node-affinity=0", "node-affinity=1");
    assert_ne!(with_tc, SAMPLE_VNUMAC);
    let outcome = compare_lines(SAMPLE_LIBVIRT, &with_tc, &BTreeSet::from(["pci.3".to_owned()])).expect("parse");
    assert_eq!(outcome.diffs.len(), 1, "{:#?}", outcome.diffs);
    assert!(outcome.diffs[0].contains("node-affinity"), "{}", outcome.diffs[0]);

    // A mem-path under another mount point is a difference.
    let other_mount = SAMPLE_VNUMAC.replace("mem-path=/dev/huge,,pages1G", "mem-path=/dev/hugepages");
    assert_ne!(other_mount, SAMPLE_VNUMAC);
    let outcome = compare_lines(SAMPLE_LIBVIRT, &other_mount, &BTreeSet::from(["pci.3".to_owned()])).expect("parse");
    assert_eq!(outcome.diffs.len(), 1, "{:#?}", outcome.diffs);
    assert!(outcome.diffs[0].contains("mem-path"), "{}", outcome.diffs[0]);
}

/// Proves the fake node tree is written in the kernel's formats.
#[test]
fn fake_node_tree_uses_kernel_formats() {
    let node = |id: u32, cpus: &str, gib: u64| HostNode {
        id,
        cpus: if cpus.is_empty() {
            IdSet::new()
        } else {
            IdSet::parse(cpus).expect("cpus")
        },
        memory_kib: gib << 20,
        free_kib: (gib << 20) - 1024,
        hugepages: vec![HugePages {
            size_kib: 1048576,
            count: 4,
        }],
        reserved_kib: 0,
    };
    let profile = HostProfile {
        name: "t".into(),
        nodes: vec![node(0, "0-3,40-43", 16), node(2, "", 8)],
        distances: vec![vec![10, 31], vec![31, 10]],
        ..HostProfile::default()
    };
    let scratch = Scratch::new("libvirtd").expect("scratch dir");
    let dir = scratch.dir.join("node");
    write_fake_node_tree(&profile, &dir).expect("written");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).expect(p);
    assert_eq!(read("node0/cpulist"), "0-3,40-43\n");
    assert_eq!(read("node0/cpumap"), "f00,0000000f\n");
    assert_eq!(read("node2/cpulist"), "\n");
    assert_eq!(read("node2/cpumap"), "000,00000000\n");
    assert_eq!(read("node2/distance"), "31 10\n");
    assert_eq!(read("online"), "0,2\n");
    assert_eq!(read("has_cpu"), "0\n");
    assert_eq!(read("has_memory"), "0,2\n");
    assert!(
        read("node0/meminfo").starts_with("Node 0 MemTotal:       16777216 kB\nNode 0 MemFree:        16776192 kB\n")
    );
    assert_eq!(read("node0/hugepages/hugepages-1048576kB/free_hugepages"), "4\n");
    assert_eq!(read("node2/hugepages/hugepages-2048kB/nr_hugepages"), "0\n");

    assert_eq!(kernel_cpumap(&IdSet::parse("0-1").expect("set"), 2), "3");
    assert_eq!(kernel_cpumap(&IdSet::parse("4-7").expect("set"), 8), "f0");
    assert_eq!(
        kernel_cpumap(&IdSet::parse("0,32,63").expect("set"), 64),
        "80000001,00000001"
    );
}

/// Proves an empty golden tree skips normally but fails when oracles are required.
#[test]
fn no_cases_fail_only_when_oracles_are_required() {
    finish_with(false, 0, &[]);
    let required = std::panic::catch_unwind(|| finish_with(true, 0, &[]));
    let payload = required.expect_err("no cases must fail when oracles are required");
    let message = payload.downcast_ref::<String>().expect("a formatted panic message");
    assert!(message.contains("no golden cases"), "{message}");
}

/// libvirt 9.0's spelling: env vars, JSON `-object`/`-device`, its own default devices.
const SAMPLE_LIBVIRT: &str = "LC_ALL=C PATH=/usr/bin HOME=/var/lib/libvirt/qemu/domain--1-g \
/usr/bin/qemu-system-x86_64 -name guest=g,debug-threads=on -S \
-machine pc-q35-7.2,usb=off,dump-guest-core=off -accel kvm -cpu host,migratable=on -m 4096 \
-overcommit mem-lock=off -smp 4,sockets=2,dies=1,cores=1,threads=2 \
-object '{\"qom-type\":\"thread-context\",\"id\":\"tc-ram-node0\",\"node-affinity\":[0]}' \
-object '{\"qom-type\":\"memory-backend-file\",\"id\":\"ram-node0\",\"mem-path\":\"/dev/huge,pages1G/libvirt/qemu/-1-g\",\"prealloc\":true,\"size\":2147483648,\"host-nodes\":[0],\"policy\":\"bind\",\"prealloc-context\":\"tc-ram-node0\"}' \
-numa node,nodeid=0,cpus=0,cpus=2,memdev=ram-node0 \
-object '{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node1\",\"size\":2147483648,\"host-nodes\":[1],\"policy\":\"bind\"}' \
-numa node,nodeid=1,cpus=1,cpus=3,memdev=ram-node1 \
-numa dist,src=0,dst=0,val=10 -numa dist,src=0,dst=1,val=21 -numa dist,src=1,dst=0,val=21 -numa dist,src=1,dst=1,val=10 \
-uuid 0c2b1f3e-0000-4000-8000-000000000000 -display none -no-user-config -nodefaults \
-device '{\"driver\":\"pcie-root-port\",\"port\":8,\"chassis\":1,\"id\":\"pci.1\",\"bus\":\"pcie.0\",\"multifunction\":true,\"addr\":\"0x1\"}' \
-device '{\"driver\":\"pcie-root-port\",\"port\":16,\"chassis\":3,\"id\":\"pci.3\",\"bus\":\"pcie.0\",\"addr\":\"0x2\"}' \
-device '{\"driver\":\"qemu-xhci\",\"id\":\"usb\",\"bus\":\"pci.1\",\"addr\":\"0x0\"}' \
-sandbox on,obsolete=deny -msg timestamp=on";

/// vnumac's spelling of the same: keyval, one option per line, and a cold-plugged vCPU.
const SAMPLE_VNUMAC: &str = "qemu-system-x86_64 \\
  -name guest=g,debug-threads=on \\
  -machine q35,usb=off,dump-guest-core=off,acpi=on \\
  -accel kvm \\
  -cpu host,migratable=on \\
  -m 4096 \\
  -overcommit mem-lock=off \\
  -smp 4,sockets=2,dies=1,cores=1,threads=2 \\
  -object thread-context,id=tc-ram-node0,node-affinity=0 \\
  -object memory-backend-file,id=ram-node0,mem-path=/dev/huge,,pages1G,prealloc=on,size=2147483648,host-nodes=0,policy=bind,prealloc-context=tc-ram-node0 \\
  -numa node,nodeid=0,cpus=0,cpus=2,memdev=ram-node0 \\
  -object memory-backend-ram,id=ram-node1,size=2147483648,host-nodes=1,policy=bind \\
  -numa node,nodeid=1,cpus=1,cpus=3,memdev=ram-node1 \\
  -numa dist,src=0,dst=0,val=10 \\
  -numa dist,src=0,dst=1,val=21 \\
  -numa dist,src=1,dst=0,val=21 \\
  -numa dist,src=1,dst=1,val=10 \\
  -device pcie-root-port,port=16,chassis=3,id=pci.3,bus=pcie.0,addr=0x2 \\
  -device host-x86_64-cpu,socket-id=1,core-id=0,thread-id=1,node-id=1,id=vcpu3
";

// ---------------------------------------------------------------------------
// Gating and the cases
// ---------------------------------------------------------------------------

fn finish_with(required: bool, checked: usize, failures: &[String]) {
    let root = golden_dir().join("examples");
    common::finish_with(required, "libvirt driver", &root, checked, failures);
}

#[derive(Debug, Clone)]
struct Case {
    /// The `.vnuma` the case is built from (relative to the workspace, or absolute).
    source: PathBuf,
    case: String,
    guest: String,
    xml: PathBuf,
    args: PathBuf,
}

impl Case {
    fn label(&self) -> String {
        format!("{}/{}", self.case, self.guest)
    }
}

/// Every `golden/examples/<case>/<guest>.xml` (with its `.args`), sorted.
fn golden_cases() -> Vec<Case> {
    let root = golden_dir().join("examples");
    let mut cases = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return cases;
    };
    for dir in dirs {
        let dir = dir.expect("golden/examples entry").path();
        if !dir.is_dir() {
            continue;
        }
        let case = dir.file_name().expect("a name").to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).expect("golden case dir") {
            let xml = file.expect("golden file").path();
            if xml.extension().is_some_and(|e| e == "xml") {
                let guest = xml.file_stem().expect("a stem").to_string_lossy().into_owned();
                cases.push(Case {
                    source: Path::new("examples").join(format!("{case}.vnuma")),
                    case: case.clone(),
                    guest,
                    args: xml.with_extension("args"),
                    xml,
                });
            }
        }
    }
    cases.sort_by(|a, b| (&a.case, &a.guest).cmp(&(&b.case, &b.guest)));
    cases
}

/// Extra cases: every guest of `tests/support/libvirt-extra.vnuma` (lowering paths no golden
/// case takes yet) and of each `.vnuma` named in `VNUMAC_LIBVIRT_EXTRA` (`:`-separated),
/// lowered by vnumac into `dir`.
fn extra_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/libvirt-extra.vnuma");
    let mut list = vec![support.to_string_lossy().into_owned()];
    if let Ok(more) = std::env::var("VNUMAC_LIBVIRT_EXTRA") {
        list.extend(more.split(':').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    let mut cases = Vec::new();
    for source in &list {
        let source = std::fs::canonicalize(source).map_err(|e| format!("{source}: {e}"))?;
        let db = Database::default();
        let program = db::load_program(&db, &source, &repo()).map_err(|e| format!("{}: {e}", source.display()))?;
        compiles(&db::compile(&db, program), &source)?;
        let case = format!("extra:{}", source.file_stem().unwrap_or_default().to_string_lossy());
        let out = dir.join(&case);
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        for g in db::lower(&db, program) {
            let xml = out.join(format!("{}.xml", g.name));
            std::fs::write(&xml, &g.xml).map_err(|e| e.to_string())?;
            std::fs::write(xml.with_extension("args"), &g.args).map_err(|e| e.to_string())?;
            cases.push(Case {
                source: source.clone(),
                case: case.clone(),
                guest: g.name.clone(),
                args: xml.with_extension("args"),
                xml,
            });
        }
    }
    Ok(cases)
}

/// Err with the rendered diagnostics when `source` does not compile.
fn compiles(compiled: &db::Compiled, source: &Path) -> Result<(), String> {
    if !compiled.has_errors() {
        return Ok(());
    }
    let rendered: String = compiled
        .diagnostics
        .iter()
        .map(|d| vnumac::diagnostics::render(d, &compiled.sources, false, 100))
        .collect();
    Err(format!("{} does not compile:\n{rendered}", source.display()))
}

/// Reads files relative to the workspace (or absolute paths); never probes this machine.
fn repo() -> MemLoader {
    MemLoader::default().or_from(workspace())
}

/// Each guest of `examples/<case>.vnuma` with the host profile it is built for.
fn case_hosts(rel: &Path) -> Result<BTreeMap<String, HostProfile>, String> {
    let db = Database::default();
    let program = db::load_program(&db, rel, &repo()).map_err(|e| format!("cannot read {}: {e}", rel.display()))?;
    let compiled = db::compile(&db, program);
    compiles(&compiled, rel)?;
    let checked = &compiled.checked;
    let mut out = BTreeMap::new();
    for (i, guest) in checked.build.guests.iter().enumerate() {
        let host = checked
            .guest_hosts
            .get(i)
            .copied()
            .flatten()
            .and_then(|h| checked.hosts.get(h))
            .and_then(Option::as_ref);
        let profile = match host {
            Some(h) => h.profile.as_ref().clone(),
            None => hostless_profile(guest.vcpus),
        };
        out.insert(guest.name.clone(), profile);
    }
    Ok(out)
}

/// For a guest built without a host: one node with room for it.
fn hostless_profile(vcpus: u32) -> HostProfile {
    HostProfile {
        name: "(no host: one node)".into(),
        nodes: vec![HostNode {
            id: 0,
            cpus: IdSet::range(0, vcpus.max(1) - 1),
            memory_kib: 1 << 30,
            free_kib: 1 << 30,
            hugepages: Vec::new(),
            reserved_kib: 0,
        }],
        distances: vec![vec![10]],
        ..HostProfile::default()
    }
}

// ---------------------------------------------------------------------------
// One case
// ---------------------------------------------------------------------------

fn check_case(daemon: &Daemon, case: &Case) -> Result<Outcome, String> {
    let xml = std::fs::read_to_string(&case.xml).map_err(|e| format!("cannot read {}: {e}", case.xml.display()))?;
    let args = std::fs::read_to_string(&case.args).map_err(|e| format!("cannot read {}: {e}", case.args.display()))?;
    let declared = declared_pci_ids(&xml)?;
    let xml_path = case.xml.to_string_lossy().into_owned();
    let libvirt = daemon
        .virsh(&["domxml-to-native", "qemu-argv", &xml_path])
        .map_err(|e| format!("libvirt rejects the XML: {e}"))?;
    compare_lines(&libvirt, &args, &declared)
}
