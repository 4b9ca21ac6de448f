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
//!
//! The `.args` reader, the neutraliser, QMP and the XML reader are shared with the other
//! oracle suites (`tests/common/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use common::neutralise::{Run, neutralise};
use common::qemu::{join_keyval, qemu_options, qemu_size, split_keyval};
use common::qmp::{parse_info_numa, run_qmp};
use common::shell::{shell_line, shell_quote, shell_words};
use common::xml::{format_set, parse_cpu_set, scaled_bytes};
use common::{QEMU, Scratch, VALIDATOR, finish, finish_with, golden_dir, oracle_available, validate_xml};

use common::spec::{compare, domain_spec, present_indexes, run_qemu};

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

/// A host whose libvirt is 9.5 takes what libvirt 9.0's schema refuses: a virtio-mem device
/// at an address and `<maxMemory>` without slots. CI has libvirt 9.0, so the XML is not
/// validated here; the QEMU line still starts in QEMU with the layout the XML declares.
#[test]
fn newer_libvirt_target_line_starts() {
    struct Text(&'static str);
    impl vnumac::db::Loader for Text {
        fn read(&self, _: &Path) -> std::io::Result<String> {
            Ok(self.0.to_string())
        }
        fn probe(&self) -> Result<vnumac::host::HostProfile, String> {
            Err("no probe".into())
        }
    }
    if !oracle_available(QEMU) {
        return;
    }
    let text = "host h libvirt=\"9.5\" qemu=\"7.2\" {\n  node 0 cpus=0-3 memory=16GiB\n}\n\
                guest newer on=h {\n  type qemu\n  memory 2GiB max=4GiB\n  vcpus 2\n  \
                numa {\n    cell 0 cpus=0-1 memory=2GiB\n  }\n  \
                virtio-mem size=1GiB node=0 block=2MiB requested=512MiB base=4GiB\n}\n";
    let db = vnumac::db::Database::default();
    let program = vnumac::db::load_program(&db, Path::new("t.vnuma"), &Text(text)).expect("loads");
    let compiled = vnumac::db::compile(&db, program);
    assert!(!compiled.has_errors(), "{:#?}", compiled.diagnostics);
    let g = &compiled.checked.build.guests[0];
    let xml = vnumac::lower::libvirt::domain_xml(g);
    assert!(xml.contains("<maxMemory unit='KiB'>4194304</maxMemory>"), "{xml}");
    assert!(xml.contains("<address base='0x100000000'/>"), "{xml}");
    let args = vnumac::lower::qemu::command_line_in(g, vnumac::lower::qemu_args::Syntax::Keyval);
    assert!(args.contains("memaddr=4294967296"), "{args}");
    let root = std::env::temp_dir().join(format!("vnumac-newer-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("scratch dir");
    std::fs::write(root.join("newer.args"), args).expect("write args");
    std::fs::write(root.join("newer.xml"), xml).expect("write xml");
    let (checked, failures) = check_qemu_tree(&root);
    let _ = std::fs::remove_dir_all(&root);
    finish("QEMU (libvirt 9.5 target)", &root, checked, &failures);
}

/// Proves the oracles can fail: a correct sample passes, a wrong-cells sample is caught at node 0.
#[test]
fn oracle_self_test() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle-samples");
    if oracle_available(VALIDATOR) {
        let good_xml = samples.join("good/talk.xml");
        if let Err(e) = validate_xml(&good_xml) {
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

/// Proves devices are compared too: an XML with disks, a NIC, a serial port, passthrough and
/// root ports against a line that has none of them (what a guest with a warning once got).
#[test]
fn oracle_counts_devices() {
    if !oracle_available(QEMU) {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle-devices");
    let (checked, failures) = check_qemu_tree(&dir);
    assert_eq!((checked, failures.len()), (1, 1), "the line without devices must fail");
    let report = &failures[0];
    for missing in [
        "devices (disk on sata): XML 1 | QEMU 0",
        "devices (disk on virtio): XML 1 | QEMU 0",
        "devices (block backend attached): XML 2 | QEMU 0",
        "devices (nic virtio): XML 1 | QEMU 0",
        "devices (serial): XML 1 | QEMU 0",
        "devices (passthrough): XML 1 | QEMU 0",
        "devices (pcie-root-port): XML 3 | QEMU 0",
    ] {
        assert!(report.contains(missing), "the report must say `{missing}`:\n{report}");
    }
    assert!(
        !report.contains("pcie-expander-bus"),
        "the expanders are all there:\n{report}"
    );
}

/// Proves I/O threads are compared: the golden guest whose per-cell I/O threads serve its
/// two disks passes, and fails once a disk loses its thread or a thread is not created.
#[test]
fn oracle_compares_iothreads() {
    assert_eq!(common::iothreads::disk_index("vda"), Some(0));
    assert_eq!(common::iothreads::disk_index("vdz"), Some(25));
    assert_eq!(common::iothreads::disk_index("vdaa"), Some(26));
    assert_eq!(common::iothreads::disk_index("sda"), None);
    if !oracle_available(QEMU) {
        return;
    }
    let golden = golden_dir().join("examples/isolated-threads");
    let (xml, args) = (golden.join("nfv.xml"), golden.join("nfv.args"));
    if let Err(e) = check_qemu_case(&args, &xml) {
        panic!("the golden guest must pass:\n{e}");
    }
    let text = std::fs::read_to_string(&args).expect("golden args");
    let scratch = Scratch::new("oracle").expect("scratch dir");
    for (from, to, expected) in [
        (
            "virtio-blk-pci,iothread=iothread2,",
            "virtio-blk-pci,",
            "virtio-disk1 I/O thread: XML iothread2 | QEMU none",
        ),
        (
            "  -object iothread,id=iothread1 \\\n",
            "",
            "I/O threads: XML [iothread1, iothread2] | QEMU [iothread2]",
        ),
    ] {
        let broken = text.replacen(from, to, 1);
        assert_ne!(broken, text, "{from} is in the golden line");
        let case = scratch.dir.join("broken.args");
        let broken = if to.is_empty() {
            // The disk served by iothread1 now names a thread that is not there: serve it from none.
            broken.replacen("virtio-blk-pci,iothread=iothread1,", "virtio-blk-pci,", 1)
        } else {
            broken
        };
        std::fs::write(&case, broken).expect("write");
        let report = check_qemu_case(&case, &xml).expect_err(expected);
        assert!(report.contains(expected), "the report must say `{expected}`:\n{report}");
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
    let scratch = Scratch::new("oracle").expect("scratch dir");
    let argv = neutralise(&options, Run::Paused(&scratch)).expect("the sample line neutralises");
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
    let facts = match run_qemu(&argv, &[], &[]) {
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
    let scratch = Scratch::new("oracle").expect("scratch dir");
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
// Walking the golden tree
// ---------------------------------------------------------------------------

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
    let failures = files.iter().filter_map(|f| validate_xml(f).err()).collect();
    (files.len(), failures)
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
    let scratch = Scratch::new("oracle").map_err(|e| format!("{label}: {e}"))?;
    let argv = neutralise(&options, Run::Paused(&scratch)).map_err(|e| format!("{label}: cannot neutralise: {e}"))?;
    let expander_ids: Vec<String> = spec.expanders.iter().map(|(id, _)| id.clone()).collect();
    // Only the disks the line creates are asked for their I/O thread (a missing one is
    // counted among the devices).
    let disk_ids: Vec<String> = spec
        .iothreads
        .disks
        .keys()
        .filter(|id| common::iothreads::on_line(&argv, id))
        .cloned()
        .collect();
    let facts = run_qemu(&argv, &expander_ids, &disk_ids).map_err(|e| {
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
