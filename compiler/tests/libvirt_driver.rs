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
//! `thread-context` objects), `iothread` objects, `pc-dimm`/`nvdimm`/`pxb-pcie`/`pcie-root-port`
//! devices, and which I/O thread serves each `virtio-blk-pci` disk. Only
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
//! The `.args` reader and the XML tree are shared with the other oracle suites (`tests/common/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value};
use vnumac::db::{self, Database, Loader};
use vnumac::host::{HostNode, HostProfile, HugePages};
use vnumac::sets::IdSet;

use common::libvirtd::{Daemon, kernel_cpumap, oracles_available, write_fake_node_tree};
use common::qemu::{qemu_options, split_keyval};
use common::shell::shell_words;
use common::xml::parse_xml;
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
        let program = db::load_program(&db, &source, &RepoLoader).map_err(|e| format!("{}: {e}", source.display()))?;
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
struct RepoLoader;

impl Loader for RepoLoader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(workspace().join(path))
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("the libvirt driver test does not probe this machine".into())
    }
}

/// Each guest of `examples/<case>.vnuma` with the host profile it is built for.
fn case_hosts(rel: &Path) -> Result<BTreeMap<String, HostProfile>, String> {
    let db = Database::default();
    let program = db::load_program(&db, rel, &RepoLoader).map_err(|e| format!("cannot read {}: {e}", rel.display()))?;
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
            Some(h) => h.profile.clone(),
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
fn check_capabilities(profile: &HostProfile, caps_xml: &str) -> Result<(), String> {
    let caps = parse_xml(caps_xml)?;
    let cells = caps
        .at(&["host", "topology", "cells"])
        .ok_or("no <host><topology><cells> in the capabilities")?;
    let mut profile = profile.clone();
    profile.normalize_distances();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for cell in cells.all("cell") {
        let id: u32 = cell
            .attr("id")
            .and_then(|v| v.parse().ok())
            .ok_or("a cell without id")?;
        seen.insert(id);
        let Some(i) = profile.node_index(id) else {
            problems.push(format!("libvirt shows cell {id}, the host has no such node"));
            continue;
        };
        let node = &profile.nodes[i];
        let memory: Option<u64> = cell.at(&["memory"]).and_then(|m| m.text.trim().parse().ok());
        // libvirt leaves `<memory>` out for a node without memory.
        if memory.unwrap_or(0) != node.memory_kib {
            problems.push(format!(
                "cell {id} memory: libvirt {memory:?} KiB, host {} KiB",
                node.memory_kib
            ));
        }
        let cpus: IdSet = cell
            .at(&["cpus"])
            .map(|c| c.all("cpu").filter_map(|c| c.attr("id")?.parse().ok()).collect())
            .unwrap_or_default();
        if cpus != node.cpus {
            problems.push(format!("cell {id} cpus: libvirt {cpus}, host {}", node.cpus));
        }
        for sibling in cell.at(&["distances"]).into_iter().flat_map(|d| d.all("sibling")) {
            let other: Option<u32> = sibling.attr("id").and_then(|v| v.parse().ok());
            let value: Option<u32> = sibling.attr("value").and_then(|v| v.parse().ok());
            let expected = other.and_then(|o| profile.distance(id, o));
            if value.is_none() || value != expected {
                problems.push(format!(
                    "cell {id} distance to {other:?}: libvirt {value:?}, host {expected:?}"
                ));
            }
        }
        for hp in &node.hugepages {
            let shown: Option<u64> = cell
                .all("pages")
                .find(|p| p.attr("size") == Some(hp.size_kib.to_string().as_str()))
                .and_then(|p| p.text.trim().parse().ok());
            if shown != Some(hp.count) {
                problems.push(format!(
                    "cell {id} {} KiB pages: libvirt {shown:?}, host {}",
                    hp.size_kib, hp.count
                ));
            }
        }
    }
    let host_ids: BTreeSet<u32> = profile.nodes.iter().map(|n| n.id).collect();
    if seen != host_ids {
        problems.push(format!("libvirt's cells {seen:?}, the host's nodes {host_ids:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("  {}", problems.join("\n  ")))
    }
}

// ---------------------------------------------------------------------------
// One case
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Outcome {
    diffs: Vec<String>,
    notes: Vec<String>,
}

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

/// The QEMU ids of the XML's `<controller type='pci'>` elements: the user alias
/// (`<alias name='ua-…'/>`) when given, else libvirt's `pci.<index>`.
fn declared_pci_ids(xml: &str) -> Result<BTreeSet<String>, String> {
    let domain = parse_xml(xml)?;
    Ok(domain
        .at(&["devices"])
        .into_iter()
        .flat_map(|d| d.all("controller"))
        .filter(|c| c.attr("type") == Some("pci"))
        .filter_map(|c| match c.at(&["alias"]).and_then(|a| a.attr("name")) {
            Some(alias) => Some(alias.to_owned()),
            None => c.attr("index").map(|i| format!("pci.{i}")),
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Parsing both lines into comparable items
// ---------------------------------------------------------------------------

/// A normalised property value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Text(String),
    /// A set of ids (`cpus`, `host-nodes`, `node-affinity`), from ranges, repeats or arrays.
    Set(BTreeSet<u64>),
    /// A key given more than once that is not a set.
    List(Vec<String>),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Text(t) => f.write_str(t),
            Val::Set(s) => {
                let ids: IdSet = s.iter().map(|&v| u32::try_from(v).unwrap_or(u32::MAX)).collect();
                write!(f, "{{{ids}}}")
            }
            Val::List(l) => write!(f, "[{}]", l.join("|")),
        }
    }
}

/// One QEMU option: `-object memory-backend-ram` with its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    option: String,
    /// `type`/`qom-type`/`driver`, taken out of the properties.
    kind: Option<String>,
    props: BTreeMap<String, Val>,
}

impl Item {
    /// What pairs an item with its counterpart on the other line.
    fn key(&self) -> String {
        let prop = |k: &str| self.props.get(k).map(Val::to_string).unwrap_or_default();
        match (self.option.as_str(), self.kind.as_deref()) {
            ("-numa", Some("node")) => format!("-numa node {}", prop("nodeid")),
            ("-numa", Some("dist")) => format!("-numa dist {}->{}", prop("src"), prop("dst")),
            ("-object" | "-device", _) if self.props.contains_key("id") => {
                format!("{} {}", self.option, prop("id"))
            }
            ("-m" | "-smp" | "-overcommit", _) => self.option.clone(),
            _ => self.render(),
        }
    }

    /// Canonical form: kind first, then the properties sorted.
    fn render(&self) -> String {
        let mut parts: Vec<String> = self.kind.iter().cloned().collect();
        parts.extend(self.props.iter().map(|(k, v)| format!("{k}={v}")));
        format!("{} {}", self.option, parts.join(","))
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.props.get(key) {
            Some(Val::Text(t)) => Some(t),
            _ => None,
        }
    }
}

/// The key a bare leading token stands for, and the set-valued keys, per option.
fn option_syntax(option: &str) -> Option<(Option<&'static str>, &'static [&'static str])> {
    match option {
        "-m" => Some((Some("size"), &[])),
        "-smp" => Some((Some("cpus"), &[])),
        "-overcommit" => Some((None, &[])),
        "-numa" => Some((Some("type"), &["cpus"])),
        "-object" => Some((Some("qom-type"), &["host-nodes", "node-affinity"])),
        "-device" => Some((Some("driver"), &[])),
        _ => None,
    }
}

/// The options of a line (libvirt's or vnumac's) that this test compares, as items.
fn line_items(text: &str) -> Result<Vec<Item>, String> {
    let words = shell_words(text)?;
    let mut items = Vec::new();
    for opt in qemu_options(&words)? {
        let option = format!("-{}", opt.name);
        let Some((implied, sets)) = option_syntax(&option) else {
            continue;
        };
        let value = opt.value.unwrap_or_default();
        let mut props = if value.trim_start().starts_with('{') {
            json_props(&value)?
        } else {
            keyval_props(&value, implied, sets)?
        };
        let kind = match (option.as_str(), implied) {
            ("-numa" | "-object" | "-device", Some(k)) => match props.remove(k) {
                Some(Val::Text(t)) => Some(t),
                Some(other) => return Err(format!("{option}: {k} is {other}")),
                None => return Err(format!("{option} {value}: no {k}")),
            },
            _ => None,
        };
        items.push(Item { option, kind, props });
    }
    Ok(items)
}

/// `on`/`off` for every boolean spelling (`true`, `yes`, ...).
fn norm_scalar(v: &str) -> String {
    match v {
        "true" | "yes" | "on" => "on".into(),
        "false" | "no" | "off" => "off".into(),
        other => other.into(),
    }
}

fn json_props(text: &str) -> Result<BTreeMap<String, Val>, String> {
    let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| format!("bad JSON option {text}: {e}"))?;
    let mut props = BTreeMap::new();
    for (k, v) in map {
        let val = match v {
            Value::String(s) => Val::Text(norm_scalar(&s)),
            Value::Bool(b) => Val::Text(if b { "on" } else { "off" }.into()),
            Value::Number(n) => Val::Text(n.to_string()),
            Value::Array(items) => {
                let ids: Option<BTreeSet<u64>> = items.iter().map(Value::as_u64).collect();
                match ids {
                    Some(ids) => Val::Set(ids),
                    None => Val::List(items.iter().map(Value::to_string).collect()),
                }
            }
            other => Val::Text(other.to_string()),
        };
        props.insert(k, val);
    }
    Ok(props)
}

fn keyval_props(text: &str, implied: Option<&str>, sets: &[&str]) -> Result<BTreeMap<String, Val>, String> {
    let kv = split_keyval(text);
    let mut pairs = kv.pairs;
    match (kv.bare, implied) {
        (Some(bare), Some(key)) => pairs.insert(0, (key.to_owned(), bare)),
        (Some(bare), None) => return Err(format!("unexpected bare {bare:?} in {text}")),
        (None, _) => {}
    }
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        grouped.entry(k).or_default().push(v);
    }
    let mut props = BTreeMap::new();
    for (k, values) in grouped {
        let val = if sets.contains(&k.as_str()) {
            let mut ids = BTreeSet::new();
            for v in &values {
                let set = IdSet::parse(v).map_err(|e| format!("{k}={v} in {text}: {}", e.message))?;
                ids.extend(set.iter().map(u64::from));
            }
            Val::Set(ids)
        } else if values.len() == 1 {
            Val::Text(norm_scalar(&values[0]))
        } else {
            Val::List(values.iter().map(|v| norm_scalar(v)).collect())
        };
        props.insert(k, val);
    }
    Ok(props)
}

// ---------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------

const COMPARED_DEVICES: &[&str] = &["pc-dimm", "nvdimm", "pxb-pcie", "pcie-root-port"];

fn compared(item: &Item) -> bool {
    let kind = item.kind.as_deref().unwrap_or("");
    match item.option.as_str() {
        "-object" => kind.starts_with("memory-backend-") || kind == "thread-context" || kind == "iothread",
        "-device" => COMPARED_DEVICES.contains(&kind) || is_vcpu_device(item) || kind == "virtio-blk-pci",
        _ => true,
    }
}

fn is_vcpu_device(item: &Item) -> bool {
    item.option == "-device" && item.kind.as_deref().is_some_and(|k| k.ends_with("-x86_64-cpu"))
}

/// Compares libvirt's `domxml-to-native` output with vnumac's `.args`; `declared` holds the
/// ids of the XML's PCI controllers (libvirt's other buses are its own).
fn compare_lines(libvirt: &str, vnumac: &str, declared: &BTreeSet<String>) -> Result<Outcome, String> {
    let mut outcome = Outcome::default();
    let mut lv: Vec<Item> = line_items(libvirt)
        .map_err(|e| format!("cannot parse libvirt's line: {e}\n{libvirt}"))?
        .into_iter()
        .filter(compared)
        .collect();
    let mut vn: Vec<Item> = line_items(vnumac)
        .map_err(|e| format!("cannot parse vnumac's .args: {e}"))?
        .into_iter()
        .filter(compared)
        .collect();

    // A virtio disk is compared by the I/O thread serving it: its bus, address and block
    // node names are libvirt's own.
    for item in lv.iter_mut().chain(vn.iter_mut()) {
        if item.kind.as_deref() == Some("virtio-blk-pci") {
            item.props.retain(|k, _| k == "id" || k == "iothread");
        }
    }

    // Enabled hot-pluggable vCPUs: libvirt adds them over QMP, after start.
    vn.retain(|item| {
        if is_vcpu_device(item) {
            outcome.notes.push(format!(
                "vnumac's hot-pluggable vCPU {} is not on libvirt's line (allowed: libvirt adds it over QMP)",
                item.text("id").unwrap_or("?")
            ));
            return false;
        }
        true
    });
    lv.retain(|item| !is_vcpu_device(item));

    // PCI buses libvirt adds for its own default devices.
    lv.retain(|item| {
        let kind = item.kind.as_deref().unwrap_or("");
        if item.option != "-device" || !matches!(kind, "pcie-root-port" | "pxb-pcie") {
            return true;
        }
        if item.text("id").is_some_and(|id| declared.contains(id)) {
            return true;
        }
        outcome.notes.push(format!(
            "libvirt's own {kind} {} (no such controller in the XML) is not compared",
            item.text("id").unwrap_or("?")
        ));
        false
    });

    // libvirt's per-domain hugepage dir below the mount point vnumac names.
    for item in &mut lv {
        if !item.kind.as_deref().is_some_and(|k| k.starts_with("memory-backend-")) {
            continue;
        }
        let Some(Val::Text(path)) = item.props.get_mut("mem-path") else {
            continue;
        };
        if !path.contains("/libvirt/qemu/ram/")
            && let Some(at) = path.find("/libvirt/qemu/")
        {
            let mount = path[..at].to_owned();
            outcome.notes.push(format!(
                "libvirt's mem-path {path} is compared as its mount point {mount} (vnumac uses the mount point)"
            ));
            *path = mount;
        }
    }

    // Files under libvirt's memory_backing_dir (`<dir>/<id>-<name>/<alias>`): the domain id
    // exists only once the domain runs, so both sides compare as the directory itself.
    for item in lv.iter_mut().chain(vn.iter_mut()) {
        if item.kind.as_deref().is_none_or(|k| k != "memory-backend-file") {
            continue;
        }
        if let Some(Val::Text(path)) = item.props.get_mut("mem-path")
            && let Some(at) = path.find("/libvirt/qemu/ram/")
        {
            *path = path[..at + "/libvirt/qemu/ram".len()].to_owned();
        }
    }

    // Pair by key and compare.
    let group = |items: Vec<Item>| {
        let mut map: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for item in items {
            map.entry(item.key()).or_default().push(item);
        }
        map
    };
    let lv = group(lv);
    let vn = group(vn);
    let keys: BTreeSet<&String> = lv.keys().chain(vn.keys()).collect();
    for key in keys {
        let l = lv.get(key).map(Vec::as_slice).unwrap_or_default();
        let v = vn.get(key).map(Vec::as_slice).unwrap_or_default();
        match (l, v) {
            ([], v) => {
                for item in v {
                    outcome
                        .diffs
                        .push(format!("  only in vnumac's line:  {}", item.render()));
                }
            }
            (l, []) => {
                for item in l {
                    outcome
                        .diffs
                        .push(format!("  only in libvirt's line: {}", item.render()));
                }
            }
            ([l], [v]) => {
                if l != v {
                    let mut differ: Vec<String> = l.props.keys().chain(v.props.keys()).cloned().collect();
                    differ.sort();
                    differ.dedup();
                    differ.retain(|k| l.props.get(k) != v.props.get(k));
                    if l.kind != v.kind {
                        differ.insert(0, "type".into());
                    }
                    outcome.diffs.push(format!(
                        "  {key}: differ in: {}\n    libvirt: {}\n    vnumac:  {}",
                        differ.join(", "),
                        l.render(),
                        v.render()
                    ));
                }
            }
            (l, v) => {
                if l != v {
                    let show = |items: &[Item]| {
                        items
                            .iter()
                            .map(Item::render)
                            .collect::<Vec<_>>()
                            .join("\n             ")
                    };
                    outcome.diffs.push(format!(
                        "  {key}: given {} times by libvirt, {} by vnumac\n    libvirt: {}\n    vnumac:  {}",
                        l.len(),
                        v.len(),
                        show(l),
                        show(v)
                    ));
                }
            }
        }
    }
    Ok(outcome)
}
