//! Oracle tests: the golden outputs are checked against the real libvirt and
//! the real QEMU (README.md, "Testing").
//!
//! * `virt_xml_validate`: libvirt's RelaxNG schema accepts every golden XML
//!   (except under `golden/errors/`, which holds diagnostic inputs, not output).
//! * `qemu_starts_with_declared_topology`: every golden `.args` line, made
//!   startable on any host ("neutralised"), starts a paused TCG QEMU whose
//!   NUMA nodes, vCPUs and memory (asked over QMP) are exactly what the
//!   sibling XML declares. The XML is parsed here, independently of vnumac.
//!
//! Both skip with a message when the tools are missing, unless
//! `VNUMAC_REQUIRE_ORACLES=1` (set by CI), which turns a missing tool or an
//! empty `golden/` into a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell as StdCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde_json::{Map, Value, json};

const QEMU: &str = "qemu-system-x86_64";
const VALIDATOR: &str = "virt-xml-validate";
/// QEMU is killed if it has not answered everything by then.
const QEMU_TIMEOUT: Duration = Duration::from_secs(20);
const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Proves every golden domain XML is accepted by libvirt's own schema.
#[test]
fn virt_xml_validate() {
    if !oracle_available(VALIDATOR) {
        return;
    }
    let root = golden_dir();
    let (checked, failures) = validate_xml_tree(&root);
    finish("virt-xml-validate", &root, checked, &failures);
}

/// Proves QEMU starts every golden command line and builds the NUMA layout its XML declares.
#[test]
fn qemu_starts_with_declared_topology() {
    if !oracle_available(QEMU) {
        return;
    }
    let root = golden_dir();
    let (checked, failures) = check_qemu_tree(&root);
    finish("QEMU topology", &root, checked, &failures);
}

/// Proves the JSON form of every example (`--qemu-syntax json`) starts in QEMU with the same layout.
#[test]
fn json_syntax_starts_with_declared_topology() {
    if !oracle_available(QEMU) {
        return;
    }
    let root = std::env::temp_dir().join(format!("vnumac-json-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "vnuma"))
        .collect();
    files.sort();
    for file in files {
        let db = vnumac::db::Database::default();
        let loader = vnumac::db::FsLoader {
            sysfs_root: PathBuf::from("/sys"),
        };
        let program = vnumac::db::load_program(&db, &file, &loader).expect("example readable");
        let compiled = vnumac::db::compile(&db, program);
        assert!(!compiled.has_errors(), "{} has errors", file.display());
        let dir = root.join(file.file_stem().expect("stem"));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        for g in &compiled.checked.build.guests {
            let args = vnumac::lower::qemu::command_line_in(g, vnumac::lower::qemu_args::Syntax::Json);
            std::fs::write(dir.join(format!("{}.args", g.name)), args).expect("write args");
            std::fs::write(
                dir.join(format!("{}.xml", g.name)),
                vnumac::lower::libvirt::domain_xml(g),
            )
            .expect("write xml");
        }
    }
    let (checked, failures) = check_qemu_tree(&root);
    let _ = std::fs::remove_dir_all(&root);
    finish("QEMU topology (JSON syntax)", &root, checked, &failures);
}

/// Proves the oracles can fail: a correct sample passes, a wrong-cells sample is caught at node 0.
#[test]
fn oracle_self_test() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle-samples");
    if oracle_available(VALIDATOR) {
        let good_xml = samples.join("good/talk.xml");
        if let Err(e) = validate_xml_file(&good_xml) {
            panic!("the good sample must pass virt-xml-validate:\n{e}");
        }
        let (checked, failures) = validate_xml_tree(&samples.join("good"));
        assert_eq!((checked, failures.len()), (1, 0), "{failures:?}");
    }
    if oracle_available(QEMU) {
        let (checked, failures) = check_qemu_tree(&samples.join("good"));
        assert_eq!(checked, 1, "the good sample dir holds one case");
        assert!(
            failures.is_empty(),
            "the good sample must pass:\n{}",
            failures.join("\n\n")
        );

        let (checked, failures) = check_qemu_tree(&samples.join("bad"));
        assert_eq!(checked, 1, "the bad sample dir holds one case");
        assert_eq!(failures.len(), 1, "the bad sample must fail");
        let report = &failures[0];
        eprintln!("expected failure, as reported:\n{report}");
        assert!(report.contains("node 0 cpus"), "the report must name node 0:\n{report}");
        assert!(
            report.contains("XML 0-3"),
            "the report must show the XML side:\n{report}"
        );
        assert!(
            report.contains("QEMU 0-4"),
            "the report must show QEMU's side:\n{report}"
        );

        let (checked, failures) = check_qemu_tree(&samples);
        assert_eq!((checked, failures.len()), (2, 1), "the walk is recursive");
    }
}

/// Proves a libvirt-style host line (JSON objects, tap, hugepages, nvdimm, pinned memory) can be neutralised and started.
#[test]
fn neutralised_libvirt_line_starts() {
    if !oracle_available(QEMU) {
        return;
    }
    let args = r#"LC_ALL=C \
PATH=/usr/bin \
/usr/bin/qemu-system-x86_64 \
  -name guest=odd,,name,debug-threads=on \
  -machine pc-q35-7.2,usb=off,dump-guest-core=off,accel=kvm,nvdimm=on \
  -cpu host,migratable=on \
  -m size=2097152k,slots=4,maxmem=8388608k \
  -overcommit mem-lock=on \
  -smp 2,maxcpus=4,sockets=2,dies=1,cores=1,threads=2 \
  -object '{"qom-type":"thread-context","id":"tc-ram-node0","node-affinity":[1]}' \
  -object '{"qom-type":"memory-backend-file","id":"ram-node0","mem-path":"/dev/hugepages/libvirt/qemu/1-odd","share":true,"prealloc":true,"size":1073741824,"host-nodes":[1],"policy":"bind","prealloc-context":"tc-ram-node0"}' \
  -numa node,nodeid=0,cpus=0-1,memdev=ram-node0 \
  -object memory-backend-memfd,id=ram-node1,hugetlb=on,hugetlbsize=2097152,share=on,prealloc=on,size=1073741824,host-nodes=2,host-nodes=3,policy=interleave \
  -numa node,nodeid=1,cpus=2-3,memdev=ram-node1 \
  -numa dist,src=0,dst=0,val=10 \
  -numa dist,src=0,dst=1,val=21 \
  -numa dist,src=1,dst=0,val=21 \
  -numa dist,src=1,dst=1,val=10 \
  -device '{"driver":"host-x86_64-cpu","socket-id":1,"core-id":0,"thread-id":0,"node-id":1,"id":"vcpu2"}' \
  -object '{"qom-type":"memory-backend-file","id":"memnvdimm0","mem-path":"/var/lib/pmem/a file,with comma","share":true,"size":536870912,"pmem":true}' \
  -device '{"driver":"nvdimm","node":1,"label-size":131072,"memdev":"memnvdimm0","id":"nvdimm0","slot":0}' \
  -object memory-backend-file,id=memdimm1,mem-path=/dev/hugepages/libvirt/qemu/1-odd,prealloc=on,size=536870912,host-nodes=1,policy=bind \
  -device pc-dimm,node=0,memdev=memdimm1,id=dimm1,slot=1 \
  -blockdev '{"driver":"file","filename":"/var/lib/libvirt/images/odd.qcow2","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}' \
  -blockdev '{"node-name":"libvirt-1-format","read-only":false,"driver":"qcow2","file":"libvirt-1-storage","backing":null}' \
  -device virtio-blk-pci,drive=libvirt-1-format,id=virtio-disk0 \
  -drive file=/srv/odd.img,format=qcow2,if=none,id=drive-old \
  -netdev '{"type":"tap","fd":"23","vhost":true,"vhostfd":"25","id":"hostnet0"}' \
  -device virtio-net-pci,netdev=hostnet0,id=net0 \
  -chardev socket,id=charmonitor,fd=21,server=on,wait=off \
  -mon chardev=charmonitor,id=monitor,mode=control \
  -vnc 127.0.0.1:0 \
  -no-shutdown \
  -msg timestamp=on
"#;
    let words = shell_words(args).expect("the sample line parses");
    let options = qemu_options(&words).expect("the sample line groups into options");
    let scratch = Scratch::new().expect("scratch dir");
    let argv = neutralise(&options, &scratch).expect("the sample line neutralises");
    let joined = argv.join(" ");
    for gone in [
        "kvm",
        "host-nodes",
        "policy",
        "prealloc",
        "hugetlb",
        "thread-context",
        "tap",
        "/dev/hugepages",
        "qcow2",
        "mem-lock",
        "-vnc",
    ] {
        assert!(!joined.contains(gone), "{gone} must be gone from {joined}");
    }
    for kept in [
        "guest=odd,,name",
        "accel=tcg",
        "max,phys-bits=48",
        "max-x86_64-cpu",
        "reserve",
        "share",
        "null-co",
    ] {
        assert!(joined.contains(kept), "{kept} must be in {joined}");
    }
    let facts = match run_qemu(&argv, &[]) {
        Ok(facts) => facts,
        Err(e) => panic!("the neutralised sample must start:\n  {}\n{e}", shell_line(&argv)),
    };
    assert_eq!(facts.nodes, 2);
    assert_eq!(facts.cpus.len(), 4);
    assert_eq!(present_indexes(&facts), BTreeSet::from([0, 1, 2]));
    assert_eq!(facts.memory_devices.len(), 2, "{:?}", facts.memory_devices);
    assert_eq!(facts.node_plugged_mib.get(&0), Some(&512));
}

/// Proves a QMP peer that never answers is killed at the deadline instead of hanging the suite.
#[test]
fn silent_qmp_peer_is_killed_at_the_deadline() {
    let started = Instant::now();
    let commands = [json!({"execute": "qmp_capabilities"})];
    let result = run_qmp("sleep", &["30".to_owned()], &commands, Duration::from_millis(500));
    let err = result.expect_err("sleep never answers QMP");
    assert!(err.contains("killed it"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// Proves an empty tree skips normally but fails when oracles are required, and `errors/` is not walked.
#[test]
fn empty_tree_fails_only_when_oracles_are_required() {
    let scratch = Scratch::new().expect("scratch dir");
    let errors = scratch.dir.join(NOT_OUTPUT_DIR);
    std::fs::create_dir_all(&errors).expect("errors dir");
    std::fs::write(errors.join("broken.xml"), "<domain").expect("errors input");
    std::fs::write(errors.join("broken.args"), "x").expect("errors input");
    let (checked, failures) = validate_xml_tree(&scratch.dir);
    assert_eq!((checked, failures.len()), (0, 0), "errors/ inputs are not outputs");
    let (checked, failures) = check_qemu_tree(&scratch.dir);
    assert_eq!((checked, failures.len()), (0, 0));

    finish_with(false, "empty", &scratch.dir, 0, &[]);
    let required = std::panic::catch_unwind(|| finish_with(true, "empty", &scratch.dir, 0, &[]));
    let payload = required.expect_err("an empty tree must fail when oracles are required");
    let message = payload.downcast_ref::<String>().expect("a formatted panic message");
    assert!(message.contains("no golden cases found"), "{message}");
}

/// Proves the `.args` word parser follows POSIX shell quoting and rejects unquoted specials.
#[test]
fn shell_words_follow_posix_quoting() {
    let text = "qemu \\\n  -name 'guest=it'\\''s,,x' \\\n  -a \"d q \\\" \\$ \\\\\" \\\n  -b x\\ y'z'\"w\" ''\n";
    let words = shell_words(text).expect("valid quoting");
    assert_eq!(
        words,
        ["qemu", "-name", "guest=it's,,x", "-a", "d q \" $ \\", "-b", "x yzw", ""]
    );
    assert!(shell_words("a 'open").is_err());
    assert!(shell_words("a \"open").is_err());
    assert!(shell_words("a b\\").is_err());
    for bad in ["a $HOME", "a;b", "a|b", "x=(1)", "f*", "{a,b}", "~/x", "#c"] {
        assert!(shell_words(bad).is_err(), "{bad} must be rejected");
    }
    assert_eq!(shell_words("-m x#y").expect("mid-word # is literal"), ["-m", "x#y"]);
    assert_eq!(shell_quote("a b'c"), "'a b'\\''c'");
    assert_eq!(shell_quote("size=1,,2"), "size=1,,2");
}

/// Proves the keyval splitter unescapes `,,`, keeps repeated keys in order and reads the bare type.
#[test]
fn keyval_splits_on_single_commas_only() {
    let kv = split_keyval("a=b,c=d,,e");
    assert_eq!(kv.bare, None);
    assert_eq!(
        kv.pairs,
        [("a".to_owned(), "b".to_owned()), ("c".to_owned(), "d,e".to_owned())]
    );

    let kv = split_keyval("node,nodeid=0,cpus=0-3,cpus=8-11,memdev=ram-node0");
    assert_eq!(kv.bare.as_deref(), Some("node"));
    let cpus: Vec<&str> = kv
        .pairs
        .iter()
        .filter(|(k, _)| k == "cpus")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cpus, ["0-3", "8-11"]);

    let kv = split_keyval("memory-backend-file,,x,id=a,mem-path=/p,,q,,,share=on");
    assert_eq!(kv.bare.as_deref(), Some("memory-backend-file,x"));
    assert_eq!(kv.pairs[1], ("mem-path".to_owned(), "/p,q,".to_owned()));
    assert_eq!(kv.pairs[2], ("share".to_owned(), "on".to_owned()));
    assert_eq!(
        join_keyval(kv.bare.as_deref(), &kv.pairs),
        "memory-backend-file,,x,id=a,mem-path=/p,,q,,,share=on"
    );
}

/// Proves libvirt cpu sets, scaled memory units and QEMU 7.2's `info numa` text are read correctly.
#[test]
fn libvirt_sets_units_and_info_numa_parse() {
    assert_eq!(format_set(&parse_cpu_set("0-3,8").expect("set")), "0-3,8");
    assert_eq!(format_set(&parse_cpu_set("0-7,^2-3, 9").expect("set")), "0-1,4-7,9");
    assert_eq!(format_set(&BTreeSet::new()), "none");
    assert!(parse_cpu_set("3-1").is_err());
    assert!(parse_cpu_set("").is_err());
    assert_eq!(scaled_bytes("8388608", None), Ok(8 << 30));
    assert_eq!(scaled_bytes("8", Some("GiB")), Ok(8 << 30));
    assert_eq!(scaled_bytes("8", Some("G")), Ok(8 << 30));
    assert_eq!(scaled_bytes("8", Some("GB")), Ok(8_000_000_000));
    assert_eq!(scaled_bytes("4096", Some("bytes")), Ok(4096));
    assert_eq!(qemu_size("2G"), Ok(2 << 30));

    let text = "2 nodes\r\nnode 0 cpus: 0 1 2 3\r\nnode 0 size: 1535 MB\r\nnode 0 plugged: 511 MB\r\n\
                node 1 cpus:\r\nnode 1 size: 1024 MB\r\nnode 1 plugged: 0 MB\r\n";
    let numa = parse_info_numa(text).expect("QEMU 7.2 format");
    assert_eq!(numa.nodes, 2);
    assert_eq!(numa.cpus[&0], BTreeSet::from([0, 1, 2, 3]));
    assert_eq!(numa.cpus[&1], BTreeSet::new());
    assert_eq!((numa.size_mib[&0], numa.plugged_mib[&0]), (1535, 511));
    assert_eq!(parse_info_numa("0 nodes\r\n").expect("no NUMA").nodes, 0);
    assert!(
        parse_info_numa("2 nodes\r\nnode 0 cpus: 0\r\n").is_err(),
        "missing lines are an error"
    );
}

// ---------------------------------------------------------------------------
// Gating and walking
// ---------------------------------------------------------------------------

fn require_oracles() -> bool {
    std::env::var("VNUMAC_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

/// True when `tool --version` runs (and, for virt-xml-validate, the `xmllint` its Debian script
/// runs). A missing tool skips the test, or fails it under VNUMAC_REQUIRE_ORACLES=1.
fn oracle_available(tool: &str) -> bool {
    if tool == VALIDATOR && !oracle_available("xmllint") {
        return false;
    }
    let problem = match Command::new(tool).arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {
            // xmllint prints its version on stderr.
            let text = [&out.stdout, &out.stderr].map(|b| String::from_utf8_lossy(b).into_owned());
            let version = text.iter().flat_map(|t| t.lines()).next().unwrap_or(tool);
            eprintln!("using {tool}: {version}");
            return true;
        }
        Ok(out) => format!(
            "`{tool} --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => format!("{tool} cannot be run: {e}"),
    };
    assert!(!require_oracles(), "{problem} (VNUMAC_REQUIRE_ORACLES=1 requires it)");
    eprintln!("skipping: {problem} (set VNUMAC_REQUIRE_ORACLES=1 to make this a failure)");
    false
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../golden")
}

/// Ends an oracle test: fails on any failure, and on an empty tree when oracles are required.
fn finish(oracle: &str, root: &Path, checked: usize, failures: &[String]) {
    finish_with(require_oracles(), oracle, root, checked, failures);
}

fn finish_with(required: bool, oracle: &str, root: &Path, checked: usize, failures: &[String]) {
    if checked == 0 {
        let msg = format!("{oracle}: no golden cases found under {}", root.display());
        assert!(
            !required,
            "{msg} (VNUMAC_REQUIRE_ORACLES=1: an oracle that checks nothing is a defect)"
        );
        eprintln!("skipping: {msg}");
        return;
    }
    eprintln!("{oracle}: {checked} case(s) checked, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{oracle}: {} of {checked} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `golden/errors/` holds inputs for diagnostics (some wrong on purpose), not compiler output.
const NOT_OUTPUT_DIR: &str = "errors";

/// Every file under `root` (recursively, except `root/errors/`) whose name ends in `.ext`, sorted.
/// A missing root has none.
fn files_with_extension(root: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                if path != root.join(NOT_OUTPUT_DIR) {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Runs virt-xml-validate on every `.xml` under `root`: (files checked, one message per failure).
fn validate_xml_tree(root: &Path) -> (usize, Vec<String>) {
    let files = files_with_extension(root, "xml");
    let failures = files.iter().filter_map(|f| validate_xml_file(f).err()).collect();
    (files.len(), failures)
}

fn validate_xml_file(path: &Path) -> Result<(), String> {
    let out = Command::new(VALIDATOR)
        .arg(path)
        .arg("domain")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: cannot run {VALIDATOR}: {e}", path.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}: {VALIDATOR} rejected it ({}):\n{}{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    ))
}

/// Starts QEMU for every `.args` under `root` that has a sibling `.xml` and compares: (cases checked, failures).
fn check_qemu_tree(root: &Path) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for args in files_with_extension(root, "args") {
        let xml = args.with_extension("xml");
        if !xml.is_file() {
            eprintln!("note: {} has no sibling .xml; not compared", args.display());
            continue;
        }
        checked += 1;
        if let Err(e) = check_qemu_case(&args, &xml) {
            failures.push(e);
        }
    }
    (checked, failures)
}

/// One case: neutralise the `.args`, start QEMU, ask it over QMP, compare with the XML.
fn check_qemu_case(args_path: &Path, xml_path: &Path) -> Result<(), String> {
    let label = args_path.display();
    let xml_text =
        std::fs::read_to_string(xml_path).map_err(|e| format!("{}: cannot read: {e}", xml_path.display()))?;
    let spec = domain_spec(&xml_text).map_err(|e| format!("{}: cannot read the domain: {e}", xml_path.display()))?;
    let args_text = std::fs::read_to_string(args_path).map_err(|e| format!("{label}: cannot read: {e}"))?;
    let words = shell_words(&args_text).map_err(|e| format!("{label}: not a valid shell-quoted command: {e}"))?;
    let options = qemu_options(&words).map_err(|e| format!("{label}: {e}"))?;
    let scratch = Scratch::new().map_err(|e| format!("{label}: {e}"))?;
    let argv = neutralise(&options, &scratch).map_err(|e| format!("{label}: cannot neutralise: {e}"))?;
    let expander_ids: Vec<String> = spec.expanders.iter().map(|(id, _)| id.clone()).collect();
    let facts = run_qemu(&argv, &expander_ids).map_err(|e| {
        format!(
            "{label}: QEMU did not give its answers.\n  ran: {QEMU} {}\n{e}",
            shell_line(&argv)
        )
    })?;
    let diffs = compare(&spec, &facts);
    if diffs.is_empty() {
        return Ok(());
    }
    let mut report = format!("{label}: QEMU disagrees with {}:\n", xml_path.display());
    for d in &diffs {
        let _ = writeln!(report, "  {d}");
    }
    let _ = write!(report, "  ran: {QEMU} {}", shell_line(&argv));
    if !facts.warnings.trim().is_empty() {
        let _ = write!(
            report,
            "\n  QEMU stderr: {}",
            facts.warnings.trim().replace('\n', "\n    ")
        );
    }
    Err(report)
}

// ---------------------------------------------------------------------------
// Comparison: the XML's declarations against QEMU's answers
// ---------------------------------------------------------------------------

/// What the domain XML declares, as libvirt would start it.
#[derive(Debug)]
struct DomainSpec {
    memory: u64,
    max_vcpus: u32,
    present_vcpus: BTreeSet<u32>,
    /// sockets, dies, cores, threads (libvirt's default without `<topology>`: N sockets of one thread).
    topology: [u32; 4],
    cells: Vec<NumaCell>,
    memory_devices: Vec<String>,
    memory_device_bytes: u64,
    /// pcie-expander-bus controllers: (QEMU id, guest node).
    expanders: Vec<(String, u64)>,
}

#[derive(Debug)]
struct NumaCell {
    id: u32,
    cpus: BTreeSet<u32>,
    memory: u64,
}

/// What QEMU reported over QMP.
#[derive(Debug)]
struct QemuFacts {
    nodes: usize,
    node_cpus: BTreeMap<u32, BTreeSet<u32>>,
    node_size_mib: BTreeMap<u32, u64>,
    node_plugged_mib: BTreeMap<u32, u64>,
    /// Every possible vCPU in vCPU-index order (socket, die, cluster, core, thread).
    cpus: Vec<CpuSlot>,
    base_memory: u64,
    memory_devices: Vec<String>,
    memory_device_bytes: u64,
    warnings: String,
    /// `numa_node` of each expander bus, by QEMU id (from `qom-get`).
    expander_nodes: Vec<(String, Option<u64>)>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CpuSlot {
    /// socket, die, cluster, core, thread
    position: [u64; 5],
    node: Option<u32>,
    present: bool,
}

fn present_indexes(facts: &QemuFacts) -> BTreeSet<u32> {
    (0..)
        .zip(&facts.cpus)
        .filter(|(_, c)| c.present)
        .map(|(i, _)| i)
        .collect()
}

/// One line per difference, `what: XML … | QEMU …`.
fn compare(spec: &DomainSpec, facts: &QemuFacts) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut differ = |what: String, xml: String, qemu: String| {
        if xml != qemu {
            diffs.push(format!("{what}: XML {xml} | QEMU {qemu}"));
        }
    };
    let present = present_indexes(facts);
    let cell_of = |vcpu: u32| spec.cells.iter().find(|c| c.cpus.contains(&vcpu)).map(|c| c.id);

    // NUMA nodes.
    differ(
        "node count".into(),
        spec.cells.len().to_string(),
        facts.nodes.to_string(),
    );
    let ids: BTreeSet<u32> = spec
        .cells
        .iter()
        .map(|c| c.id)
        .chain(facts.node_cpus.keys().copied())
        .collect();
    for id in ids {
        let cell = spec.cells.iter().find(|c| c.id == id);
        let show_cell = |f: &dyn Fn(&NumaCell) -> String| cell.map_or_else(|| "has no such cell".to_owned(), f);
        let show_node = |s: Option<String>| s.unwrap_or_else(|| "has no such node".to_owned());
        differ(
            format!("node {id} cpus (present)"),
            show_cell(&|c| format_set(&c.cpus.intersection(&present).copied().collect())),
            show_node(facts.node_cpus.get(&id).map(format_set)),
        );
        let possible: BTreeSet<u32> = (0..)
            .zip(&facts.cpus)
            .filter(|(_, c)| c.node == Some(id))
            .map(|(i, _)| i)
            .collect();
        differ(
            format!("node {id} cpus (possible, by node-id)"),
            show_cell(&|c| format_set(&c.cpus)),
            format_set(&possible),
        );
        let qemu_mib = facts
            .node_size_mib
            .get(&id)
            .map(|size| size - facts.node_plugged_mib.get(&id).copied().unwrap_or(0));
        differ(
            format!("node {id} memory"),
            show_cell(&|c| format!("{} MiB", c.memory.div_ceil(MIB))),
            show_node(qemu_mib.map(|m| format!("{m} MiB"))),
        );
    }
    if !spec.cells.is_empty() {
        let orphans: BTreeSet<u32> = (0..spec.max_vcpus).filter(|&v| cell_of(v).is_none()).collect();
        let qemu_orphans: BTreeSet<u32> = (0..)
            .zip(&facts.cpus)
            .filter(|(_, c)| c.node.is_none())
            .map(|(i, _)| i)
            .collect();
        differ(
            "vCPUs in no node".into(),
            format_set(&orphans),
            format_set(&qemu_orphans),
        );
    }
    // Cross-check of QEMU against itself: the derived vCPU indexes must be the ones `info numa` lists.
    for (id, listed) in &facts.node_cpus {
        let derived: BTreeSet<u32> = (0..)
            .zip(&facts.cpus)
            .filter(|(_, c)| c.present && c.node == Some(*id))
            .map(|(i, _)| i)
            .collect();
        if &derived != listed {
            diffs.push(format!(
                "QEMU self-check, node {id}: info numa lists {} but query-hotpluggable-cpus gives {} (vCPU index derivation is off)",
                format_set(listed),
                format_set(&derived)
            ));
        }
    }

    // vCPUs.
    let mut differ = |what: &str, xml: String, qemu: String| {
        if xml != qemu {
            diffs.push(format!("{what}: XML {xml} | QEMU {qemu}"));
        }
    };
    differ(
        "possible vCPUs (<vcpu>)",
        spec.max_vcpus.to_string(),
        facts.cpus.len().to_string(),
    );
    differ("present vCPUs", format_set(&spec.present_vcpus), format_set(&present));
    let [s, d, c, t] = spec.topology;
    differ(
        "topology",
        format!("sockets={s} dies={d} cores={c} threads={t}"),
        qemu_topology(&facts.cpus),
    );

    // Memory.
    let base = if spec.cells.is_empty() {
        spec.memory.saturating_sub(spec.memory_device_bytes).div_ceil(MIB) * MIB
    } else {
        spec.cells.iter().map(|c| c.memory.div_ceil(MIB) * MIB).sum()
    };
    differ("initial memory (-m)", show_bytes(base), show_bytes(facts.base_memory));
    let xml_total = if spec.cells.is_empty() {
        base + spec.memory_device_bytes
    } else {
        spec.memory
    };
    differ(
        "total memory (<memory> = initial + memory devices)",
        show_bytes(xml_total),
        show_bytes(facts.base_memory + facts.memory_device_bytes),
    );
    differ(
        "memory devices",
        format!("[{}]", spec.memory_devices.join("; ")),
        format!("[{}]", facts.memory_devices.join("; ")),
    );
    // Expander buses: QEMU's numa_node (qom-get) is the XML's <target><node>.
    for (id, node) in &spec.expanders {
        let got = facts.expander_nodes.iter().find(|(i, _)| i == id).and_then(|(_, n)| *n);
        differ(
            &format!("pxb-pcie {id} numa_node"),
            node.to_string(),
            got.map_or_else(|| "none".to_owned(), |n| n.to_string()),
        );
    }
    diffs
}

fn qemu_topology(cpus: &[CpuSlot]) -> String {
    let distinct = |i: usize| cpus.iter().map(|c| c.position[i]).collect::<BTreeSet<_>>().len();
    format!(
        "sockets={} dies={} cores={} threads={}",
        distinct(0),
        distinct(1),
        distinct(3),
        distinct(4)
    )
}

fn show_bytes(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// One memory device, rendered the same way on both sides.
fn memory_device_line(model: &str, slot: Option<u64>, node: Option<u64>, bytes: u64) -> String {
    let slot = slot.map_or_else(String::new, |s| format!(" slot {s}"));
    let node = node.map_or_else(String::new, |n| format!(" node {n}"));
    format!("{model}{slot}{node} {}", show_bytes(bytes))
}

// ---------------------------------------------------------------------------
// The XML side (quick-xml, independent of vnumac)
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The first element along a path of child names.
    fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |el, name| el.children.iter().find(|c| c.name == *name))
    }
}

fn parse_xml(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error near byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => stack.push(element(&start)?),
            Event::Empty(start) => stack
                .last_mut()
                .ok_or("unbalanced XML")?
                .children
                .push(element(&start)?),
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced XML")?;
                stack.last_mut().ok_or("unbalanced XML")?.children.push(done);
            }
            Event::Text(t) => stack
                .last_mut()
                .ok_or("unbalanced XML")?
                .text
                .push_str(&t.xml10_content()),
            Event::CData(t) => stack
                .last_mut()
                .ok_or("unbalanced XML")?
                .text
                .push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(ch) => ch,
                    None => match r.xml10_content().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                stack.last_mut().ok_or("unbalanced XML")?.text.push(ch);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().filter(|_| stack.is_empty()).ok_or("unclosed XML element")?;
    match document.children.len() {
        1 => Ok(document.children.remove(0)),
        n => Err(format!("expected one root element, found {n}")),
    }
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let mut el = Element {
        name: start.name().as_ref().to_owned(),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute in <{}>: {e}", el.name))?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        el.attrs.push((attr.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(el)
}

/// Reads what libvirt would start from a domain XML.
fn domain_spec(xml: &str) -> Result<DomainSpec, String> {
    let domain = parse_xml(xml)?;
    if domain.name != "domain" {
        return Err(format!("root element is <{}>, not <domain>", domain.name));
    }
    let memory_el = domain.at(&["memory"]).ok_or("no <memory>")?;
    let memory = scaled_bytes(&memory_el.text, memory_el.attr("unit")).map_err(|e| format!("<memory>: {e}"))?;

    let vcpu = domain.at(&["vcpu"]).ok_or("no <vcpu>")?;
    let max_vcpus: u32 = number(&vcpu.text, "<vcpu>")?;
    let current = vcpu
        .attr("current")
        .map_or(Ok(max_vcpus), |c| number(c, "<vcpu current>"))?;
    let present_vcpus = match domain.at(&["vcpus"]) {
        Some(list) => list
            .all("vcpu")
            .filter(|v| v.attr("enabled") == Some("yes"))
            .map(|v| number(v.attr("id").unwrap_or(""), "<vcpus><vcpu id>"))
            .collect::<Result<_, _>>()?,
        None => (0..current).collect(),
    };

    let topology = match domain.at(&["cpu", "topology"]) {
        Some(t) => {
            let get = |k: &str| t.attr(k).map_or(Ok(1), |v| number(v, &format!("<topology {k}>")));
            [get("sockets")?, get("dies")?, get("cores")?, get("threads")?]
        }
        None => [max_vcpus, 1, 1, 1],
    };

    let mut cells = Vec::new();
    for cell in domain.at(&["cpu", "numa"]).into_iter().flat_map(|n| n.all("cell")) {
        let id = number(cell.attr("id").ok_or("<cell> without id")?, "<cell id>")?;
        let cpus = match cell.attr("cpus") {
            Some(set) => parse_cpu_set(set).map_err(|e| format!("<cell id='{id}' cpus>: {e}"))?,
            None => BTreeSet::new(),
        };
        let size = cell.attr("memory").ok_or(format!("<cell id='{id}'> without memory"))?;
        let memory = scaled_bytes(size, cell.attr("unit")).map_err(|e| format!("<cell id='{id}' memory>: {e}"))?;
        cells.push(NumaCell { id, cpus, memory });
    }
    cells.sort_by_key(|c| c.id);

    // Memory devices; dimm/nvdimm without an address get libvirt's lowest free slot.
    let devices: Vec<&Element> = domain
        .at(&["devices"])
        .into_iter()
        .flat_map(|d| d.all("memory"))
        .collect();
    let explicit_slot = |d: &Element| {
        d.at(&["address"])
            .filter(|a| a.attr("type") == Some("dimm"))
            .and_then(|a| a.attr("slot"))
            .map(|s| number::<u64>(s, "slot"))
    };
    let mut taken: BTreeSet<u64> = devices
        .iter()
        .filter_map(|d| explicit_slot(d))
        .collect::<Result<_, _>>()?;
    let mut memory_devices = Vec::new();
    let mut memory_device_bytes = 0;
    for dev in devices {
        let model = dev.attr("model").unwrap_or("?");
        let size_el = dev
            .at(&["target", "size"])
            .ok_or(format!("<memory model='{model}'> without <target><size>"))?;
        let bytes = scaled_bytes(&size_el.text, size_el.attr("unit"))?.div_ceil(2 * MIB) * (2 * MIB);
        let node = dev
            .at(&["target", "node"])
            .map(|n| number::<u64>(&n.text, "<target><node>"))
            .transpose()?;
        let slot = match (model, explicit_slot(dev).transpose()?) {
            ("dimm" | "nvdimm", None) => {
                let free = (0..).find(|s| !taken.contains(s)).unwrap_or(0);
                taken.insert(free);
                Some(free)
            }
            (_, slot) => slot,
        };
        memory_devices.push(memory_device_line(model, slot, node, bytes));
        memory_device_bytes += bytes;
    }
    memory_devices.sort();
    // Expander buses: libvirt's QEMU id is the user alias, else `pci.<index>`.
    let mut expanders = Vec::new();
    for c in domain.at(&["devices"]).into_iter().flat_map(|d| d.all("controller")) {
        if c.attr("model") != Some("pcie-expander-bus") {
            continue;
        }
        let id = match c.at(&["alias"]).and_then(|a| a.attr("name")) {
            Some(alias) => alias.to_owned(),
            None => format!("pci.{}", c.attr("index").unwrap_or("?")),
        };
        if let Some(node) = c.at(&["target", "node"]) {
            expanders.push((id, number::<u64>(&node.text, "<target><node>")?));
        }
    }
    Ok(DomainSpec {
        memory,
        max_vcpus,
        present_vcpus,
        topology,
        cells,
        memory_devices,
        memory_device_bytes,
        expanders,
    })
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what}: not a number: {text:?}"))
}

/// libvirt's scaled integers: `unit` defaults to KiB; `k`/`KiB` are powers of 1024, `KB` of 1000.
fn scaled_bytes(value: &str, unit: Option<&str>) -> Result<u64, String> {
    let n: u64 = number(value, "size")?;
    let unit = unit.unwrap_or("KiB").to_ascii_lowercase();
    let power = |letter: char| "kmgtpe".find(letter).map(|i| i as u32 + 1);
    let scale: u64 = match unit.as_str() {
        "b" | "byte" | "bytes" => 1,
        u => {
            let mut chars = u.chars();
            let exp = chars.next().and_then(power).ok_or(format!("unknown unit {unit:?}"))?;
            match chars.as_str() {
                "" | "ib" => 1024u64.pow(exp),
                "b" => 1000u64.pow(exp),
                _ => return Err(format!("unknown unit {unit:?}")),
            }
        }
    };
    n.checked_mul(scale).ok_or(format!("{value} {unit} overflows"))
}

/// libvirt's set syntax: `0-3,8,^2`.
fn parse_cpu_set(text: &str) -> Result<BTreeSet<u32>, String> {
    let mut set = BTreeSet::<u32>::new();
    let mut excluded = BTreeSet::<u32>::new();
    for part in text.split(',').map(str::trim) {
        let (target, body) = match part.strip_prefix('^') {
            Some(rest) => (&mut excluded, rest),
            None => (&mut set, part),
        };
        let (lo, hi): (u32, u32) = match body.split_once('-') {
            Some((lo, hi)) => (number(lo, "cpu set")?, number(hi, "cpu set")?),
            None => {
                let n = number(body, "cpu set")?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!("descending range {body:?}"));
        }
        target.extend(lo..=hi);
    }
    Ok(set.difference(&excluded).copied().collect())
}

/// The inverse of `parse_cpu_set`, without exclusions; `none` for the empty set.
fn format_set(set: &BTreeSet<u32>) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in set {
        match runs.last_mut() {
            Some((_, hi)) if *hi + 1 == n => *hi = n,
            _ => runs.push((n, n)),
        }
    }
    if runs.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = runs
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect();
    parts.join(",")
}

// ---------------------------------------------------------------------------
// The `.args` side: shell words, options, keyval
// ---------------------------------------------------------------------------

/// Characters a POSIX shell would interpret; the format quotes every word holding one.
const SHELL_SPECIAL: &str = "$`;|&<>()*?[]{}!^";

/// Splits a shell-quoted command into words: `'...'`, `'\''`, `"..."` (with `\"` `\\` `\$` `` \` ``),
/// backslash escapes and backslash-newline continuations. Unquoted specials are an error.
fn shell_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => w.push(ch),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => w.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                w.push('\\');
                                w.push(ch);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(ch @ ('$' | '`')) => {
                            return Err(format!("unescaped {ch} inside double quotes"));
                        }
                        Some(ch) => w.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(ch) => word.get_or_insert_with(String::new).push(ch),
                None => return Err("backslash at the end of the text".into()),
            },
            c if c.is_whitespace() => words.extend(word.take()),
            '#' | '~' if word.is_none() => {
                return Err(format!("unquoted {c} at the start of a word"));
            }
            c if SHELL_SPECIAL.contains(c) => {
                return Err(format!("unquoted shell-special character {c:?}"));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// Quotes a word the way the `.args` format (and libvirt) does.
fn shell_quote(word: &str) -> String {
    let needs = word.is_empty()
        || word
            .chars()
            .any(|c| c.is_whitespace() || "\\\"'#~".contains(c) || SHELL_SPECIAL.contains(c));
    if needs {
        format!("'{}'", word.replace('\'', "'\\''"))
    } else {
        word.to_owned()
    }
}

fn shell_line(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

/// A keyval value: `bare` is the leading token without `=` (the type), `pairs` the rest in order.
#[derive(Debug, PartialEq)]
struct Keyval {
    bare: Option<String>,
    pairs: Vec<(String, String)>,
}

/// Splits QEMU keyval syntax on single commas; `,,` is a literal comma. A later token without `=` is `key=on`.
fn split_keyval(text: &str) -> Keyval {
    let mut tokens = vec![String::new()];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ',' if chars.peek() == Some(&',') => {
                chars.next();
                tokens.last_mut().expect("never empty").push(',');
            }
            ',' => tokens.push(String::new()),
            c => tokens.last_mut().expect("never empty").push(c),
        }
    }
    // Each token splits at its first '=' (keys never hold one; values may).
    let mut bare = None;
    let mut pairs = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        match token.split_once('=') {
            Some((k, v)) => pairs.push((k.to_owned(), v.to_owned())),
            None if i == 0 => bare = Some(token).filter(|t| !t.is_empty()),
            None => pairs.push((token, "on".to_owned())),
        }
    }
    Keyval { bare, pairs }
}

fn join_keyval(bare: Option<&str>, pairs: &[(String, String)]) -> String {
    let esc = |s: &str| s.replace(',', ",,");
    let mut parts: Vec<String> = bare.map(esc).into_iter().collect();
    parts.extend(pairs.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))));
    parts.join(",")
}

/// QEMU options that take no value (everything else takes exactly one).
#[rustfmt::skip]
const FLAG_OPTIONS: &[&str] = &[
    "S", "nodefaults", "no-user-config", "nodefconfig", "no-shutdown", "no-reboot", "enable-kvm",
    "daemonize", "mem-prealloc", "no-hpet", "no-acpi", "nographic", "snapshot", "full-screen",
    "no-fd-bootchk", "only-migratable", "preconfig", "enable-fips", "s", "usb", "win2k-hack",
    "no-quit", "alt-grab", "ctrl-grab", "no-frame", "portrait", "curses", "enable-sync-profile",
    "semihosting", "version", "h", "help",
];

#[derive(Debug)]
struct QemuOption {
    name: String,
    value: Option<String>,
}

/// Groups argv into options, after leading `VAR=value` words and the program itself.
fn qemu_options(words: &[String]) -> Result<Vec<QemuOption>, String> {
    let is_env = |w: &str| {
        w.split_once('=')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()))
    };
    let mut rest = words.iter().skip_while(|w| is_env(w));
    let program = rest.next().ok_or("empty command line")?;
    if !program.rsplit('/').next().is_some_and(|p| p.starts_with(QEMU)) {
        return Err(format!("the program is {program:?}, not {QEMU}"));
    }
    let mut options = Vec::new();
    while let Some(word) = rest.next() {
        let name = word
            .strip_prefix('-')
            .ok_or(format!("stray argument {word:?} where an option was expected"))?;
        let name = name.strip_prefix('-').unwrap_or(name).to_owned();
        let value = if FLAG_OPTIONS.contains(&name.as_str()) {
            None
        } else {
            Some(rest.next().ok_or(format!("-{name} has no value"))?.clone())
        };
        options.push(QemuOption { name, value });
    }
    Ok(options)
}

// ---------------------------------------------------------------------------
// Neutralising: make a host-specific line start anywhere
// ---------------------------------------------------------------------------

/// The properties of an `-object`/`-device`/`-netdev`/`-blockdev`/... value, in either syntax.
#[derive(Debug)]
struct Props {
    json: bool,
    /// Keyval only: the key written as the bare leading token.
    implied: Option<String>,
    entries: Vec<(String, Value)>,
}

impl Props {
    fn parse(text: &str, implied: Option<&str>) -> Result<Props, String> {
        if text.trim_start().starts_with('{') {
            let map: Map<String, Value> =
                serde_json::from_str(text).map_err(|e| format!("bad JSON option {text}: {e}"))?;
            return Ok(Props {
                json: true,
                implied: None,
                entries: map.into_iter().collect(),
            });
        }
        let kv = split_keyval(text);
        let mut entries: Vec<(String, Value)> = kv.pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        let implied = match (kv.bare, implied) {
            (Some(bare), Some(key)) => {
                entries.insert(0, (key.to_owned(), Value::String(bare)));
                Some(key.to_owned())
            }
            (Some(bare), None) => return Err(format!("unexpected bare {bare:?} in {text}")),
            (None, _) => None,
        };
        Ok(Props {
            json: false,
            implied,
            entries,
        })
    }

    fn new_like(&self, entries: Vec<(String, Value)>) -> Props {
        Props {
            json: self.json,
            implied: self.implied.clone(),
            entries,
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn get_str(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn remove(&mut self, keys: &[&str]) {
        self.entries.retain(|(k, _)| !keys.contains(&k.as_str()));
    }

    fn set(&mut self, key: &str, value: Value) {
        let value = match value {
            Value::Bool(b) if !self.json => Value::String(if b { "on" } else { "off" }.to_owned()),
            other => other,
        };
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    fn render(&self) -> String {
        if self.json {
            return Value::Object(self.entries.iter().cloned().collect()).to_string();
        }
        let mut bare = None;
        let mut pairs = Vec::new();
        for (k, v) in &self.entries {
            let values = match v {
                Value::Array(items) => items.iter().map(keyval_scalar).collect(),
                other => vec![keyval_scalar(other)],
            };
            if bare.is_none() && self.implied.as_deref() == Some(k.as_str()) {
                bare = values.into_iter().next();
            } else {
                pairs.extend(values.into_iter().map(|v| (k.clone(), v)));
            }
        }
        join_keyval(bare.as_deref(), &pairs)
    }
}

fn keyval_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "on" } else { "off" }.to_owned(),
        other => other.to_string(),
    }
}

/// Temporary files (nvdimm backing files) for one QEMU run, removed on drop.
struct Scratch {
    dir: PathBuf,
    next: StdCell<usize>,
}

impl Scratch {
    fn new() -> Result<Scratch, String> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vnumac-oracle-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch {
            dir,
            next: StdCell::new(0),
        })
    }

    /// A sparse file of `size` bytes.
    fn file(&self, size: u64) -> Result<PathBuf, String> {
        let n = self.next.get();
        self.next.set(n + 1);
        let path = self.dir.join(format!("backing-{n}"));
        let file = std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        file.set_len(size)
            .map_err(|e| format!("cannot size {}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// QEMU sizes: bytes, or with a k/M/G/T/P/E suffix (powers of 1024).
fn qemu_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, scale) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let exp = "kmgtpe"
                .find(c.to_ascii_lowercase())
                .ok_or(format!("bad size suffix in {text:?}"))?;
            (&text[..i], 1024u64.pow(exp as u32 + 1))
        }
        _ => (text, 1),
    };
    number::<u64>(digits, "size")?
        .checked_mul(scale)
        .ok_or(format!("size {text} overflows"))
}

/// Rewrites host-specific options  and appends `-display none -nodefaults -S -qmp stdio`.
fn neutralise(options: &[QemuOption], scratch: &Scratch) -> Result<Vec<String>, String> {
    let mut argv = Vec::new();
    for opt in options {
        let name = opt.name.as_str();
        let value = opt.value.as_deref().unwrap_or("");
        let new_value = match name {
            // KVM → TCG; any CPU model → one TCG can run, wide enough for terabyte guests.
            "accel" => Some("tcg".to_owned()),
            "machine" | "M" => {
                let mut p = Props::parse(value, Some("type"))?;
                if p.has("accel") {
                    p.set("accel", json!("tcg"));
                }
                p.remove(&["kernel_irqchip", "kernel-irqchip"]);
                Some(p.render())
            }
            "cpu" => Some("max,phys-bits=48".to_owned()),
            "object" => neutralise_object(Props::parse(value, Some("qom-type"))?, scratch)?,
            "device" => {
                let mut p = Props::parse(value, Some("driver"))?;
                let driver = p.get_str("driver").unwrap_or_default();
                if driver.ends_with("-x86_64-cpu") {
                    p.set("driver", json!("max-x86_64-cpu"));
                } else if driver == "vfio-pci" {
                    // A passed-through host device: a plain PCIe endpoint in the same slot stands in.
                    p.set("driver", json!("virtio-rng-pci"));
                    p.remove(&["host"]);
                } else if driver.starts_with("vfio") || driver.starts_with("vhost-user") {
                    return Err(format!(
                        "-device {driver} needs host resources; the oracle cannot stand it in"
                    ));
                }
                Some(p.render())
            }
            // Any host network → user-mode networking with the same id.
            "netdev" => {
                let p = Props::parse(value, Some("type"))?;
                match p.get_str("type").as_deref() {
                    Some("user") => Some(p.render()),
                    _ => {
                        let id = p.get("id").cloned().ok_or(format!("-netdev without id: {value}"))?;
                        Some(
                            p.new_like(vec![("type".into(), json!("user")), ("id".into(), id)])
                                .render(),
                        )
                    }
                }
            }
            "blockdev" => Some(neutralise_blockdev(Props::parse(value, None)?).render()),
            "drive" => {
                let p = Props::parse(value, None)?;
                if p.has("file") {
                    let keep = [
                        "if", "id", "index", "bus", "unit", "media", "readonly", "werror", "rerror",
                    ];
                    let mut entries = vec![("driver".to_owned(), json!("null-co"))];
                    entries.extend(p.entries.iter().filter(|(k, _)| keep.contains(&k.as_str())).cloned());
                    Some(p.new_like(entries).render())
                } else {
                    Some(p.render())
                }
            }
            "chardev" => {
                let p = Props::parse(value, Some("backend"))?;
                let id = p.get("id").cloned().ok_or(format!("-chardev without id: {value}"))?;
                Some(
                    p.new_like(vec![("backend".into(), json!("null")), ("id".into(), id)])
                        .render(),
                )
            }
            "serial" | "parallel" if !value.starts_with("chardev:") => Some("null".to_owned()),
            // mem-lock=on would lock all guest RAM; cpu-pm needs KVM.
            "overcommit" if value.contains("mem-lock=on") || value.contains("cpu-pm=on") => None,
            "enable-kvm" | "mem-prealloc" | "mem-path" | "realtime" | "daemonize" | "pidfile" | "runas" | "chroot"
            | "display" | "nographic" | "vnc" | "spice" | "monitor" | "qmp" | "qmp-pretty" | "add-fd" | "incoming" => {
                None
            }
            _ => Some(value.to_owned()),
        };
        if let Some(v) = new_value {
            argv.push(format!("-{name}"));
            if opt.value.is_some() {
                argv.push(v);
            }
        }
    }
    argv.extend(["-display", "none", "-nodefaults", "-S", "-qmp", "stdio"].map(String::from));
    Ok(argv)
}

/// Memory backends lose host placement and preallocation and reserve nothing;
/// hugepage/dir files become RAM, nvdimm-style files get a scratch file of the right size.
fn neutralise_object(mut p: Props, scratch: &Scratch) -> Result<Option<String>, String> {
    let qom_type = p.get_str("qom-type").unwrap_or_default();
    if qom_type == "thread-context" {
        return Ok(None); // its node-affinity names host nodes; the backends lose their prealloc-context below
    }
    if !qom_type.starts_with("memory-backend-") {
        return Ok(Some(p.render()));
    }
    p.remove(&[
        "host-nodes",
        "policy",
        "prealloc",
        "prealloc-threads",
        "prealloc-context",
    ]);
    p.set("reserve", json!(false));
    match qom_type.as_str() {
        "memory-backend-file" => {
            let id = p.get_str("id").unwrap_or_default();
            if p.has("pmem") || id.starts_with("mem") {
                let size = p.get_str("size").ok_or(format!("backend {id} has no size"))?;
                let path = scratch.file(qemu_size(&size)?)?;
                p.set("mem-path", json!(path.to_string_lossy()));
            } else {
                p.set("qom-type", json!("memory-backend-ram"));
                p.remove(&["mem-path", "discard-data", "align", "pmem", "readonly", "rom", "offset"]);
            }
        }
        "memory-backend-memfd" => p.remove(&["hugetlb", "hugetlbsize"]),
        _ => {}
    }
    Ok(Some(p.render()))
}

/// Block nodes: protocol layers become `null-co`, format layers `raw` on top of them.
fn neutralise_blockdev(p: Props) -> Props {
    const NODE_KEYS: &[&str] = &[
        "node-name",
        "read-only",
        "auto-read-only",
        "discard",
        "detect-zeroes",
        "force-share",
        "cache",
    ];
    const FORMATS: &[&str] = &[
        "raw",
        "qcow2",
        "qcow",
        "qed",
        "vmdk",
        "vdi",
        "vhdx",
        "vpc",
        "luks",
        "parallels",
        "dmg",
        "cloop",
        "bochs",
    ];
    const KEEP: &[&str] = &[
        "null-co",
        "null-aio",
        "throttle",
        "copy-on-read",
        "blkdebug",
        "blkverify",
        "quorum",
        "compress",
        "preallocate",
    ];
    let driver = p.get_str("driver").unwrap_or_default();
    if KEEP.contains(&driver.as_str()) {
        return p;
    }
    let node_key = |k: &str| NODE_KEYS.contains(&k) || k.starts_with("cache.");
    let mut entries: Vec<(String, Value)> = p.entries.iter().filter(|(k, _)| node_key(k)).cloned().collect();
    if FORMATS.contains(&driver.as_str()) {
        entries.insert(0, ("driver".into(), json!("raw")));
        match p.get("file") {
            Some(Value::Object(inner)) => {
                let inner = neutralise_blockdev(Props {
                    json: true,
                    implied: None,
                    entries: inner.clone().into_iter().collect(),
                });
                entries.push(("file".into(), Value::Object(inner.entries.into_iter().collect())));
            }
            Some(file) => entries.push(("file".into(), file.clone())),
            None if p.has("file.driver") => {
                entries.push(("file.driver".into(), json!("null-co")));
                entries.extend(p.entries.iter().filter(|(k, _)| k == "file.node-name").cloned());
            }
            None => {}
        }
    } else {
        entries.insert(0, ("driver".into(), json!("null-co")));
    }
    p.new_like(entries)
}

// ---------------------------------------------------------------------------
// Running QEMU and speaking QMP
// ---------------------------------------------------------------------------

/// Kills the child if it is still running when dropped (never leave a QEMU behind).
struct ChildGuard(Child);

impl ChildGuard {
    /// Waits for exit until `deadline`, then kills. Returns the status and whether it had to kill.
    fn wait_until(&mut self, deadline: Instant) -> (Option<ExitStatus>, bool) {
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => return (Some(status), false),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.0.kill();
                    return (self.0.wait().ok(), true);
                }
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts QEMU (no shell) on `argv` and asks it over QMP what machine it built.
fn run_qemu(argv: &[String], expanders: &[String]) -> Result<QemuFacts, String> {
    let mut commands = vec![
        json!({"execute": "qmp_capabilities"}),
        json!({"execute": "human-monitor-command", "arguments": {"command-line": "info numa"}}),
        json!({"execute": "query-hotpluggable-cpus"}),
        json!({"execute": "query-memory-devices"}),
        json!({"execute": "query-memdev"}),
        json!({"execute": "query-memory-size-summary"}),
    ];
    for id in expanders {
        commands.push(json!({"execute": "qom-get", "arguments": {"path": format!("/machine/peripheral/{id}"), "property": "numa_node"}}));
    }
    commands.push(json!({"execute": "quit"}));
    let (returns, stderr, transcript) = run_qmp(QEMU, argv, &commands, QEMU_TIMEOUT)?;
    let mut facts = qemu_facts(&returns, stderr)
        .map_err(|e| format!("  unexpected QMP answer: {e}\n  QMP transcript:\n{transcript}"))?;
    facts.expander_nodes = expanders
        .iter()
        .zip(&returns[6..])
        .map(|(id, v)| (id.clone(), v.as_u64()))
        .collect();
    Ok(facts)
}

/// Runs `program argv`, sends `commands` as QMP on its stdin and collects each command's `return`
/// from its stdout: (returns, stderr, transcript). Whatever happens, the child is gone within `timeout`.
fn run_qmp(
    program: &str,
    argv: &[String],
    commands: &[Value],
    timeout: Duration,
) -> Result<(Vec<Value>, String, String), String> {
    let deadline = Instant::now() + timeout;
    let mut child = ChildGuard(
        Command::new(program)
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("  cannot start {program}: {e}"))?,
    );
    let stdout = child.0.stdout.take().expect("stdout is piped");
    let stderr = child.0.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });

    let mut stdin = child.0.stdin.take().expect("stdin is piped");
    let mut script = String::new();
    for (id, command) in commands.iter().enumerate() {
        let mut command = command.clone();
        command["id"] = json!(id);
        let _ = writeln!(script, "{command}");
    }
    // The program may already have exited on a bad line; its stderr says why.
    let _ = stdin.write_all(script.as_bytes()).and_then(|()| stdin.flush());

    let mut replies: HashMap<u64, Value> = HashMap::new();
    let mut transcript = String::new();
    let mut timed_out = false;
    while replies.len() < commands.len() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let _ = writeln!(transcript, "    {}", line.trim_end());
                if let Ok(reply) = serde_json::from_str::<Value>(line.trim())
                    && let Some(id) = reply.get("id").and_then(Value::as_u64)
                {
                    replies.insert(id, reply);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(stdin);
    let (status, killed) = child.wait_until(deadline);
    // The pipes close once the child is gone, so this join cannot block for long.
    let stderr_text = stderr_reader.join().unwrap_or_default();
    let status = status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
    if timed_out || killed || replies.len() < commands.len() {
        let why = if timed_out || killed {
            format!("gave no complete answer within {timeout:?}; killed it")
        } else {
            format!("exited ({status}) before answering")
        };
        return Err(format!(
            "  {program} {why}.\n  stderr: {}\n  QMP transcript:\n{transcript}",
            stderr_text.trim()
        ));
    }
    let mut returns = Vec::new();
    for (id, command) in (0u64..).zip(commands) {
        let reply = &replies[&id];
        if let Some(error) = reply.get("error") {
            return Err(format!(
                "  QMP {command} failed: {error}\n  stderr: {}",
                stderr_text.trim()
            ));
        }
        returns.push(reply.get("return").cloned().unwrap_or(Value::Null));
    }
    Ok((returns, stderr_text, transcript))
}

/// Turns the QMP returns (in `run_qemu`'s command order) into facts.
fn qemu_facts(returns: &[Value], warnings: String) -> Result<QemuFacts, String> {
    let info_numa = parse_info_numa(returns[1].as_str().ok_or("info numa did not return text")?)?;

    let as_u64 = |v: &Value, what: &str| v.as_u64().ok_or(format!("{what} is not a number: {v}"));
    let mut cpus = Vec::new();
    for entry in returns[2]
        .as_array()
        .ok_or("query-hotpluggable-cpus did not return a list")?
    {
        let props = &entry["props"];
        let id = |k: &str| props.get(k).map_or(Ok(0), |v| as_u64(v, k));
        let node = props.get("node-id").map(|v| as_u64(v, "node-id")).transpose()?;
        cpus.push(CpuSlot {
            position: [
                id("socket-id")?,
                id("die-id")?,
                id("cluster-id")?,
                id("core-id")?,
                id("thread-id")?,
            ],
            node: node.map(|n| n as u32),
            present: entry.get("qom-path").is_some(),
        });
    }
    cpus.sort();

    let backends: HashMap<String, u64> = returns[4]
        .as_array()
        .ok_or("query-memdev did not return a list")?
        .iter()
        .filter_map(|m| Some((m.get("id")?.as_str()?.to_owned(), m.get("size")?.as_u64()?)))
        .collect();
    let mut memory_devices = Vec::new();
    let mut memory_device_bytes = 0;
    for dev in returns[3]
        .as_array()
        .ok_or("query-memory-devices did not return a list")?
    {
        let kind = dev["type"].as_str().ok_or("memory device without type")?;
        let data = &dev["data"];
        let memdev = data["memdev"].as_str().ok_or(format!("{kind} without memdev"))?;
        let backend = memdev.rsplit('/').next().unwrap_or(memdev);
        let bytes = *backends
            .get(backend)
            .ok_or(format!("{kind} uses {memdev}, which query-memdev does not list"))?;
        let slot = data.get("slot").and_then(Value::as_u64);
        let node = data.get("node").and_then(Value::as_u64);
        memory_devices.push(memory_device_line(kind, slot, node, bytes));
        memory_device_bytes += bytes;
    }
    memory_devices.sort();

    Ok(QemuFacts {
        nodes: info_numa.nodes,
        node_cpus: info_numa.cpus,
        node_size_mib: info_numa.size_mib,
        node_plugged_mib: info_numa.plugged_mib,
        cpus,
        base_memory: as_u64(&returns[5]["base-memory"], "base-memory")?,
        memory_devices,
        memory_device_bytes,
        warnings,
        expander_nodes: Vec::new(),
    })
}

#[derive(Debug)]
struct InfoNuma {
    nodes: usize,
    cpus: BTreeMap<u32, BTreeSet<u32>>,
    size_mib: BTreeMap<u32, u64>,
    plugged_mib: BTreeMap<u32, u64>,
}

/// QEMU 7.2's `info numa`: `N nodes`, then per node `node I cpus: 0 1 2`, `node I size: X MB`, `node I plugged: Y MB`.
fn parse_info_numa(text: &str) -> Result<InfoNuma, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let nodes = first
        .strip_suffix(" nodes")
        .and_then(|n| n.parse().ok())
        .ok_or(format!("unexpected first line {first:?}"))?;
    let mut numa = InfoNuma {
        nodes,
        cpus: BTreeMap::new(),
        size_mib: BTreeMap::new(),
        plugged_mib: BTreeMap::new(),
    };
    let mib = |v: &str| v.strip_suffix(" MB").and_then(|n| n.parse::<u64>().ok());
    for line in lines {
        let parsed = line
            .strip_prefix("node ")
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(id, rest)| {
                let id: u32 = id.parse().ok()?;
                if let Some(list) = rest.strip_prefix("cpus:") {
                    let set = list.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
                    numa.cpus.insert(id, set);
                } else if let Some(size) = rest.strip_prefix("size: ") {
                    numa.size_mib.insert(id, mib(size)?);
                } else {
                    numa.plugged_mib.insert(id, mib(rest.strip_prefix("plugged: ")?)?);
                }
                Some(())
            });
        parsed.ok_or(format!("unexpected line {line:?}"))?;
    }
    let complete = |m: usize| m == nodes;
    if !(complete(numa.cpus.len()) && complete(numa.size_mib.len()) && complete(numa.plugged_mib.len())) {
        return Err(format!(
            "{nodes} nodes announced but not all have cpus/size/plugged lines: {text:?}"
        ));
    }
    Ok(numa)
}
