//! libvirt's own xml→argv cases (libvirt 9.8.0, `tests/qemuxml2argvdata/`, in
//! `tests/libvirt-suite/`): every domain goes through `vnumac import`, is built, and its QEMU
//! line is compared with the one libvirt's authors expect, on the facets the XML decides
//! (`-smp`, `-m`, `-numa`, memory backends and the thread-context that preallocates each,
//! memory devices, expander buses). A `.err` case must be rejected by import or by the
//! build, with a coded diagnostic; so must a case whose expected line QEMU 7.2 itself refuses
//! (a machine type QEMU 7.2 does not have; a TCG guest whose `maxmem` reaches 1TiB, past a
//! TCG CPU's 40 address bits; the cases in `QEMU_REFUSES`). The host says `libvirt="9.8"`, the libvirt the expected lines come from.
//!
//! `EXPECTED` lists the cases that match today: the test fails when one of them stops
//! matching, and when a case starts matching without being listed (bless with
//! `UPDATE_GOLDEN=1`), so the count in the file is always the real one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "libvirt_suite/refusals.rs"]
mod refusals;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::qemu::{Props, qemu_options, qemu_size};
use common::shell::shell_words;
use refusals::{ADDRESS_SPACE, NO_SUCH_MACHINE, QEMU_REFUSES, beyond_tcg_address_bits, machine_qemu_7_2_lacks};
use serde_json::Value;
use vnumac::db::{self, Database, MemLoader};
use vnumac::import::{ImportOptions, import_domain};
use vnumac::lower::qemu::command_line_in;
use vnumac::lower::qemu_args::Syntax;

const ROOT: &str = "/virtual/libvirt-suite.vnuma";
const HOST: &str = "libvirt-test";

/// libvirt's test host (`libvirt-test-host.caps.xml`: nodes 0-3, CPUs 0-3/4-7/8-11/12-15)
/// with plenty of memory and hugepages on every node (the pools take 4 TiB of each 16 TiB
/// node; ordinary memory is the rest): libvirt's harness never checks fit, nor that the
/// host has the CPUs a domain names, so node 3 also has every CPU up to `last_cpu`. It
/// runs the libvirt the expected lines come from.
fn host_block(last_cpu: u32) -> String {
    let mut s = format!("host {HOST} libvirt=\"9.8\" {{\n");
    for n in 0..4 {
        let last = if n == 3 { last_cpu.max(15) } else { n * 4 + 3 };
        s.push_str(&format!("  node {n} cpus={}-{last} memory=16TiB\n", n * 4));
    }
    for n in 0..4 {
        s.push_str(&format!("  hugepages node={n} size=2MiB count=1048576\n"));
        s.push_str(&format!("  hugepages node={n} size=1GiB count=2048\n"));
    }
    s.push_str("}\n");
    s
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/libvirt-suite")
}

/// What became of one domain: its QEMU lines (JSON and keyval), or why there are none.
enum Built {
    Lines { json: String, keyval: String },
    ImportError(String),
    BuildErrors { codes: Vec<&'static str>, first: String },
}

fn build(xml: &str) -> Built {
    let opts = ImportOptions {
        host: Some(HOST.into()),
    };
    let imported = match import_domain(xml, &opts) {
        Ok(i) => i,
        Err(e) => return Built::ImportError(e.message),
    };
    let text = format!("{}\n{}", host_block(last_cpu(xml)), imported.text);
    let db = Database::default();
    let program = db::load_program(&db, Path::new(ROOT), &MemLoader::new(ROOT, text).or_from(".")).unwrap();
    let compiled = db::compile(&db, program);
    if compiled.has_errors() {
        let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).collect();
        return Built::BuildErrors {
            codes: errors.iter().map(|d| d.code).collect(),
            first: errors
                .first()
                .map(|d| format!("{}: {}", d.code, d.message))
                .unwrap_or_default(),
        };
    }
    let guests = &compiled.checked.build.guests;
    assert_eq!(guests.len(), 1);
    Built::Lines {
        json: command_line_in(&guests[0], Syntax::Json),
        keyval: command_line_in(&guests[0], Syntax::Keyval),
    }
}

/// The highest host CPU any `cpuset` of the domain names (0 when none does).
fn last_cpu(xml: &str) -> u32 {
    xml.split("cpuset=")
        .skip(1)
        .filter_map(|rest| {
            let quote = rest.chars().next()?;
            let value = rest.get(1..)?.split(quote).next()?;
            vnumac::sets::IdSet::parse(value).ok()?.last()
        })
        .max()
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Facts: what a command line says about the facets the XML decides
// ---------------------------------------------------------------------------

/// (facet, normalised value); a facet may occur more than once (compared as a multiset).
type Facts = BTreeMap<String, Vec<String>>;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => match s.as_str() {
            "true" | "yes" | "on" => "on".into(),
            "false" | "no" | "off" => "off".into(),
            other => other.into(),
        },
        Value::Bool(b) => if *b { "on" } else { "off" }.into(),
        other => other.to_string(),
    }
}

/// Collects the values of `key` (repeated in keyval, an array in JSON) as a set of ids.
fn id_set(props: &Props, key: &str) -> Result<Option<BTreeSet<u64>>, String> {
    let mut ids = BTreeSet::new();
    let mut any = false;
    for (k, v) in &props.entries {
        if k != key {
            continue;
        }
        any = true;
        match v {
            Value::Array(items) => {
                for i in items {
                    ids.insert(i.as_u64().ok_or(format!("{key}: {i} is not an id"))?);
                }
            }
            other => {
                let t = text(other);
                let (a, b) = t.split_once('-').unwrap_or((&t, &t));
                let a: u64 = a.parse().map_err(|_| format!("{key}={t}"))?;
                let b: u64 = b.parse().map_err(|_| format!("{key}={t}"))?;
                ids.extend(a..=b);
            }
        }
    }
    Ok(any.then_some(ids))
}

fn show_set(ids: &BTreeSet<u64>) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// Where a memory file lives, without what libvirt adds for its own bookkeeping.
fn mem_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let mount = |p: &str| {
        let p = p.split("/libvirt/qemu/").next().unwrap_or(p);
        match p {
            "/dev/hugepages" | "/dev/hugepages2M" => Some("hugetlbfs(2M)".to_string()),
            "/dev/hugepages1G" => Some("hugetlbfs(1G)".to_string()),
            _ => None,
        }
    };
    if let Some(m) = mount(trimmed) {
        return m;
    }
    if trimmed.starts_with("/var/lib/libvirt/qemu/ram/") {
        return "memory_backing_dir".into();
    }
    trimmed.to_string()
}

/// The backend's typed properties, as one value.
fn backend(props: &Props) -> Result<String, String> {
    let kind = props.get_str("qom-type").unwrap_or_default();
    let mut out = BTreeMap::new();
    for (k, v) in &props.entries {
        let val = match k.as_str() {
            "size" | "align" | "hugetlbsize" => qemu_size(&text(v))?.to_string(),
            "host-nodes" => show_set(&id_set(props, k)?.unwrap_or_default()),
            "mem-path" => mem_path(&text(v)),
            "policy" | "prealloc" | "share" | "discard-data" | "reserve" | "hugetlb" | "pmem" | "readonly"
            | "prealloc-threads" => text(v),
            _ => continue,
        };
        out.insert(k.clone(), val);
    }
    let body: Vec<String> = out.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(format!("{kind}{{{}}}", body.join(",")))
}

#[allow(clippy::too_many_lines)] // one arm per QEMU option libvirt writes, read as a table
fn facts(line: &str) -> Result<Facts, String> {
    let words = shell_words(line)?;
    let options = qemu_options(&words)?;
    let mut backends: BTreeMap<String, String> = BTreeMap::new();
    // A thread-context comes before the backend that names it (`prealloc-context`).
    let mut contexts: BTreeMap<String, String> = BTreeMap::new();
    for o in &options {
        if o.name == "object" {
            let p = Props::parse(o.value.as_deref().unwrap_or_default(), Some("qom-type"))?;
            let kind = p.get_str("qom-type").unwrap_or_default();
            let id = p.get_str("id").unwrap_or_default();
            if kind == "thread-context" {
                let nodes = show_set(&id_set(&p, "node-affinity")?.unwrap_or_default());
                contexts.insert(id, nodes);
            } else if kind.starts_with("memory-backend-") {
                let mut b = backend(&p)?;
                if let Some(tc) = p.get_str("prealloc-context") {
                    let nodes = contexts.get(&tc).ok_or(format!("no thread-context {tc}"))?;
                    b.push_str(&format!("+thread-context{{node-affinity={nodes}}}"));
                }
                backends.insert(id, b);
            }
        }
    }
    let memdev = |id: &str| -> Result<String, String> { backends.get(id).cloned().ok_or(format!("no backend {id}")) };
    let mut f = Facts::new();
    let mut add = |k: String, v: String| f.entry(k).or_default().push(v);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for o in &options {
        let value = o.value.clone().unwrap_or_default();
        match o.name.as_str() {
            "m" => {
                let p = Props::parse(&value, Some("size"))?;
                let kib = |k: &str| -> Result<Option<u64>, String> {
                    p.get_str(k)
                        .map(|s| {
                            // A bare number is MiB.
                            let bytes = if s.chars().all(|c| c.is_ascii_digit()) {
                                qemu_size(&format!("{s}M"))?
                            } else {
                                qemu_size(&s)?
                            };
                            Ok(bytes / 1024)
                        })
                        .transpose()
                };
                let mut v = format!("size={}k", kib("size")?.unwrap_or(0));
                if let Some(s) = p.get_str("slots") {
                    v.push_str(&format!(",slots={s}"));
                }
                if let Some(m) = kib("maxmem")? {
                    v.push_str(&format!(",maxmem={m}k"));
                }
                add("-m".into(), v);
            }
            "smp" => {
                let p = Props::parse(&value, Some("cpus"))?;
                let cpus = p.get_str("cpus").unwrap_or_default();
                let mut parts = vec![cpus.clone()];
                for k in ["maxcpus", "sockets", "dies", "clusters", "cores", "threads"] {
                    match p.get_str(k) {
                        Some(v) if (k == "dies" || k == "clusters") && v == "1" => {}
                        Some(v) if k == "maxcpus" && v == cpus => {}
                        Some(v) => parts.push(format!("{k}={v}")),
                        None => {}
                    }
                }
                add("-smp".into(), parts.join(","));
            }
            "machine" => {
                let p = Props::parse(&value, Some("type"))?;
                let mut parts = Vec::new();
                if let Some(id) = p.get_str("memory-backend") {
                    parts.push(format!("memory-backend={}", memdev(&id)?));
                }
                for k in ["nvdimm", "hmat"] {
                    if let Some(v) = p.get(k) {
                        parts.push(format!("{k}={}", text(v)));
                    }
                }
                add("-machine".into(), parts.join(","));
            }
            "numa" => {
                let p = Props::parse(&value, Some("type"))?;
                let kind = p.get_str("type").unwrap_or_default();
                match kind.as_str() {
                    "node" => {
                        let id = p.get_str("nodeid").unwrap_or_default();
                        let mut parts = Vec::new();
                        if let Some(c) = id_set(&p, "cpus")? {
                            parts.push(format!("cpus={}", show_set(&c)));
                        }
                        if let Some(i) = p.get_str("initiator") {
                            parts.push(format!("initiator={i}"));
                        }
                        if let Some(m) = p.get_str("memdev") {
                            parts.push(format!("memdev={}", memdev(&m)?));
                        }
                        if let Some(m) = p.get_str("mem") {
                            parts.push(format!(
                                "memdev=memory-backend-ram{{size={}}}",
                                qemu_size(&format!("{m}M"))?
                            ));
                        }
                        add(format!("-numa node {id}"), parts.join(","));
                    }
                    "dist" => {
                        let (s, d) = (
                            p.get_str("src").unwrap_or_default(),
                            p.get_str("dst").unwrap_or_default(),
                        );
                        add(format!("-numa dist {s}->{d}"), p.get_str("val").unwrap_or_default());
                    }
                    other => {
                        let mut rest: Vec<String> = p
                            .entries
                            .iter()
                            .filter(|(k, _)| k != "type")
                            .map(|(k, v)| format!("{k}={}", text(v)))
                            .collect();
                        rest.sort();
                        add(format!("-numa {other}"), rest.join(","));
                    }
                }
            }
            "device" => {
                let p = Props::parse(&value, Some("driver"))?;
                let driver = p.get_str("driver").unwrap_or_default();
                let keys: &[&str] = match driver.as_str() {
                    "pc-dimm" | "nvdimm" => &["node", "label-size", "memdev", "slot", "addr", "unarmed"],
                    "virtio-mem-pci" => &["node", "block-size", "requested-size", "memdev", "memaddr", "prealloc"],
                    "virtio-pmem-pci" => &["memdev", "memaddr"],
                    "pxb-pcie" | "pxb" => &["bus_nr", "numa_node"],
                    _ => continue,
                };
                let mut parts = Vec::new();
                for k in keys {
                    let Some(v) = p.get(k) else { continue };
                    let v = match *k {
                        "memdev" => memdev(&text(v))?,
                        "label-size" | "block-size" | "requested-size" => qemu_size(&text(v))?.to_string(),
                        _ => text(v),
                    };
                    parts.push(format!("{k}={v}"));
                }
                let n = counts.entry(driver.clone()).or_default();
                *n += 1;
                add(format!("-device {driver} #{n}"), parts.join(","));
            }
            _ => {}
        }
    }
    for v in f.values_mut() {
        v.sort();
    }
    Ok(f)
}

/// The first facet on which the lines differ, or None when they agree.
fn first_difference(libvirt: &Facts, vnumac: &Facts) -> Option<String> {
    let keys: BTreeSet<&String> = libvirt.keys().chain(vnumac.keys()).collect();
    // Report in a readable order: -m, -smp, -machine, then the rest.
    let rank = |k: &str| match k {
        "-m" => 0,
        "-smp" => 1,
        "-machine" => 2,
        _ => 3,
    };
    let mut keys: Vec<&String> = keys.into_iter().collect();
    keys.sort_by_key(|k| (rank(k), (*k).clone()));
    for k in keys {
        let (l, v) = (libvirt.get(k), vnumac.get(k));
        if l != v {
            let show = |x: Option<&Vec<String>>| x.map_or("(absent)".to_string(), |v| v.join(" | "));
            return Some(format!("{k}: libvirt {} / vnumac {}", show(l), show(v)));
        }
    }
    None
}

// ---------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------

struct Row {
    case: String,
    pass: bool,
    detail: String,
}

fn run_case(name: &str, expected_file: &Path, built: &Built) -> Row {
    let file = expected_file.file_name().unwrap().to_string_lossy().to_string();
    let case = file.trim_end_matches(".args").trim_end_matches(".err").to_string();
    let row = |pass: bool, detail: String| Row {
        case: case.clone(),
        pass,
        detail,
    };
    if file.ends_with(".err") {
        let why = fs::read_to_string(expected_file).unwrap();
        return match built {
            Built::ImportError(e) => row(true, format!("rejected at import: {e}")),
            Built::BuildErrors { codes, first } if codes.iter().all(|c| c.starts_with("vnuma::")) => {
                row(true, format!("rejected: {first}"))
            }
            Built::BuildErrors { first, .. } => row(false, format!("rejected without a code: {first}")),
            Built::Lines { .. } => row(false, format!("accepted; libvirt says: {}", why.trim())),
        };
    }
    let theirs = fs::read_to_string(expected_file).unwrap();
    let refused = QEMU_REFUSES
        .iter()
        .find(|(c, _)| case.starts_with(&format!("{c}.x86_64-")))
        .map(|(_, code)| *code)
        .or_else(|| machine_qemu_7_2_lacks(&theirs).then_some(NO_SUCH_MACHINE))
        .or_else(|| beyond_tcg_address_bits(&theirs).then_some(ADDRESS_SPACE));
    if let Some(code) = refused {
        return match built {
            Built::BuildErrors { codes, first } if codes.contains(&code) => row(true, format!("refused: {first}")),
            _ => row(
                false,
                format!("QEMU refuses libvirt's line; vnumac should too, with {code}"),
            ),
        };
    }
    let (json, keyval) = match built {
        Built::Lines { json, keyval } => (json, keyval),
        Built::ImportError(e) => return row(false, format!("import error: {e}")),
        Built::BuildErrors { first, .. } => return row(false, format!("build error: {first}")),
    };
    let ours = if file.contains("-latest") { json } else { keyval };
    let l = match facts(&theirs) {
        Ok(f) => f,
        Err(e) => panic!("{name}: cannot read libvirt's line {file}: {e}"),
    };
    let v = match facts(ours) {
        Ok(f) => f,
        Err(e) => return row(false, format!("cannot read vnumac's line: {e}")),
    };
    match first_difference(&l, &v) {
        None => row(true, String::new()),
        Some(d) => row(false, d),
    }
}

fn run_suite() -> Vec<Row> {
    let dir = suite_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".xml") && !n.ends_with(".caps.xml"))
        .map(|n| n.trim_end_matches(".xml").to_string())
        .collect();
    names.sort();
    let mut rows = Vec::new();
    for name in names {
        let xml = fs::read_to_string(dir.join(format!("{name}.xml"))).unwrap();
        let built = build(&xml);
        let mut expected: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let f = p.file_name().unwrap().to_string_lossy();
                f.starts_with(&format!("{name}.x86_64-")) && (f.ends_with(".args") || f.ends_with(".err"))
            })
            .collect();
        expected.sort();
        assert!(!expected.is_empty(), "{name} has no expected output");
        for e in expected {
            rows.push(run_case(&name, &e, &built));
        }
    }
    rows
}

#[test]
fn libvirt_suite_matches_expected() {
    let rows = run_suite();
    let width = rows.iter().map(|r| r.case.len()).max().unwrap_or(0);
    let mut table = String::new();
    for r in &rows {
        let status = if r.pass { "ok  " } else { "FAIL" };
        table.push_str(&format!("{status} {:width$}  {}\n", r.case, r.detail));
    }
    let passing: BTreeSet<String> = rows.iter().filter(|r| r.pass).map(|r| r.case.clone()).collect();
    println!("{table}\n{} of {} cases match", passing.len(), rows.len());

    let path = suite_dir().join("EXPECTED");
    let mut listed = format!(
        "# Cases of libvirt's suite that vnumac reproduces ({} of {}); see ../libvirt_suite.rs.\n",
        passing.len(),
        rows.len()
    );
    for p in &passing {
        listed.push_str(p);
        listed.push('\n');
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, &listed).unwrap();
        return;
    }
    let expected: BTreeSet<String> = fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect();
    let lost: Vec<&String> = expected.difference(&passing).collect();
    let gained: Vec<&String> = passing.difference(&expected).collect();
    assert!(
        lost.is_empty() && gained.is_empty(),
        "{table}\nno longer matching: {lost:?}\nnewly matching (add to EXPECTED, or bless with UPDATE_GOLDEN=1): {gained:?}"
    );
}

/// The comparison itself can fail: a changed facet on either side is a difference.
#[test]
fn differences_are_found() {
    let base = "qemu-system-x86_64 -m size=219136k -smp 2,sockets=2,dies=1,cores=1,threads=1 \
        -object '{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node0\",\"size\":224395264,\"host-nodes\":[0,1],\"policy\":\"bind\"}' \
        -numa node,nodeid=0,cpus=0-1,memdev=ram-node0";
    let same = "qemu-system-x86_64 -m 214 -smp 2,sockets=2,cores=1,threads=1 \
        -object memory-backend-ram,id=x,size=214M,host-nodes=0-1,policy=bind \
        -numa node,nodeid=0,cpus=0,cpus=1,memdev=x";
    assert_eq!(first_difference(&facts(base).unwrap(), &facts(same).unwrap()), None);
    for changed in [
        same.replace("-m 214", "-m 215"),
        same.replace("2,sockets=2", "2,sockets=1,dies=2"),
        same.replace("host-nodes=0-1", "host-nodes=0"),
        same.replace("policy=bind", "policy=preferred"),
        same.replace("cpus=0,cpus=1", "cpus=0"),
        same.replace("memory-backend-ram", "memory-backend-file,mem-path=/dev/hugepages"),
    ] {
        assert!(
            first_difference(&facts(base).unwrap(), &facts(&changed).unwrap()).is_some(),
            "{changed}"
        );
    }
    // A preallocated backend's thread-context is part of the backend.
    let context = |affinity: &str| {
        format!(
            "qemu-system-x86_64 -object thread-context,id=tc,{affinity} \
             -object memory-backend-ram,id=x,size=214M,prealloc=on,host-nodes=0-1,policy=bind,prealloc-context=tc \
             -numa node,nodeid=0,cpus=0,cpus=1,memdev=x"
        )
    };
    let narrowed = context("node-affinity=0");
    assert_eq!(
        first_difference(&facts(&narrowed).unwrap(), &facts(&narrowed).unwrap()),
        None
    );
    for changed in [
        context("node-affinity=0-1"),
        narrowed.replace(",prealloc-context=tc", ""),
    ] {
        assert!(
            first_difference(&facts(&narrowed).unwrap(), &facts(&changed).unwrap()).is_some(),
            "{changed}"
        );
    }
    assert_eq!(
        mem_path("/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1"),
        mem_path("/dev/hugepages")
    );
    assert_ne!(
        mem_path("/dev/hugepages1G/libvirt/qemu/-1-x"),
        mem_path("/dev/hugepages")
    );
}
