//! The `thread-context` of a preallocated, bound memory backend follows the host's libvirt:
//! up to 9.1 its `node-affinity` is the backend's `host-nodes`; from 9.2 it is those of them
//! the emulator's CPUs are on, and there is none when they share no node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::qemu::{Props, qemu_options};
use common::qmp::run_qmp;
use common::shell::shell_words;
use common::{QEMU, oracle_available, require_oracles};
use serde_json::{Value, json};
use vnumac::db::{self, Database, MemLoader};
use vnumac::lower::qemu::command_line_in;
use vnumac::lower::qemu_args::Syntax;

/// Three host nodes of two CPUs; the guest's one cell is preallocated and bound to nodes 0-1.
fn program(libvirt: Option<&str>, emulator: Option<&str>) -> String {
    let target = libvirt.map(|v| format!(" libvirt=\"{v}\"")).unwrap_or_default();
    let emulator = emulator.map(|e| format!("  emulator cpus={e}\n")).unwrap_or_default();
    format!(
        "host h{target} {{\n  node 0 cpus=0-1 memory=16GiB\n  node 1 cpus=2-3 memory=16GiB\n  \
         node 2 cpus=4-5 memory=16GiB\n}}\n\
         guest g on=h {{\n  type qemu\n  memory 128MiB prealloc=true\n  vcpus 2\n{emulator}  \
         numa {{\n    cell 0 cpus=0-1 memory=128MiB host-node=0-1\n  }}\n}}\n"
    )
}

/// The guest's QEMU line in libvirt's JSON syntax.
fn line(libvirt: Option<&str>, emulator: Option<&str>) -> String {
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("t.vnuma"),
        &MemLoader::new("t.vnuma", program(libvirt, emulator)),
    )
    .unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{:#?}", compiled.diagnostics);
    command_line_in(&compiled.checked.build.guests[0], Syntax::Json)
}

/// The line's `-object`s: (qom-type, properties).
fn objects(line: &str) -> Vec<(String, Props)> {
    let words = shell_words(line).unwrap();
    qemu_options(&words)
        .unwrap()
        .iter()
        .filter(|o| o.name == "object")
        .map(|o| {
            let p = Props::parse(o.value.as_deref().unwrap_or_default(), Some("qom-type")).unwrap();
            (p.get_str("qom-type").unwrap_or_default(), p)
        })
        .collect()
}

/// The cell's thread-context node-affinity, and the context its backend names.
fn context(line: &str) -> (Option<Value>, Option<String>) {
    let objs = objects(line);
    let tc = objs
        .iter()
        .find(|(t, _)| t == "thread-context")
        .map(|(_, p)| p.get("node-affinity").cloned().unwrap());
    let backend = objs.iter().find(|(t, _)| t == "memory-backend-ram").unwrap();
    assert_eq!(backend.1.get("host-nodes"), Some(&json!([0, 1])), "{line}");
    assert_eq!(backend.1.get("prealloc"), Some(&json!(true)), "{line}");
    (tc, backend.1.get_str("prealloc-context"))
}

#[test]
fn up_to_libvirt_9_1_the_context_takes_every_bound_node() {
    for libvirt in [None, Some("9.0"), Some("9.1")] {
        let l = line(libvirt, Some("4"));
        assert_eq!(
            context(&l),
            (Some(json!([0, 1])), Some("tc-ram-node0".into())),
            "{libvirt:?}"
        );
    }
}

#[test]
fn from_libvirt_9_2_the_context_takes_the_emulators_nodes_among_them() {
    // The emulator on node 0 and node 2: of the bound nodes 0-1, only 0.
    let l = line(Some("9.2"), Some("1,4"));
    assert_eq!(context(&l), (Some(json!([0])), Some("tc-ram-node0".into())));
    let l = line(Some("10.0"), Some("0-3"));
    assert_eq!(context(&l), (Some(json!([0, 1])), Some("tc-ram-node0".into())));
}

#[test]
fn from_libvirt_9_2_no_shared_node_means_no_context() {
    let l = line(Some("9.2"), Some("4-5"));
    assert_eq!(context(&l), (None, None), "{l}");
}

#[test]
fn explain_says_where_memory_is_preallocated_from() {
    let explain = |libvirt: Option<&str>| {
        let db = Database::default();
        let text = MemLoader::new("t.vnuma", program(libvirt, Some("1,4")));
        let program = db::load_program(&db, Path::new("t.vnuma"), &text).unwrap();
        vnumac::explain::text(&db::compile(&db, program).checked, None)
    };
    let newer = explain(Some("9.2"));
    assert!(
        newer.contains("memory preallocation: from threads on the bound host nodes among 0,2, the emulator's"),
        "{newer}"
    );
    assert!(!explain(Some("9.1")).contains("memory preallocation"));
}

#[test]
fn without_an_emulator_pin_libvirt_9_2_keeps_every_bound_node() {
    let l = line(Some("9.2"), None);
    assert_eq!(context(&l), (Some(json!([0, 1])), Some("tc-ram-node0".into())));
}

/// QEMU takes the narrowed context and its backend: the context's threads run on the CPUs
/// of this machine's node 0 (the only node every machine has).
#[test]
fn the_narrowed_context_starts_in_qemu() {
    if !oracle_available(QEMU) {
        assert!(!require_oracles(), "{QEMU} is required");
        return;
    }
    let l = line(Some("9.2"), Some("0"));
    assert_eq!(context(&l).0, Some(json!([0])), "{l}");
    let mut argv: Vec<String> = [
        "-machine",
        "none",
        "-display",
        "none",
        "-nodefaults",
        "-S",
        "-qmp",
        "stdio",
    ]
    .map(String::from)
    .to_vec();
    for (kind, p) in objects(&l) {
        if kind == "thread-context" || kind.starts_with("memory-backend-") {
            argv.push("-object".into());
            argv.push(p.render());
        }
    }
    assert_eq!(argv.len(), 12, "{argv:?}");
    let commands = [
        json!({"execute": "qmp_capabilities"}),
        json!({"execute": "qom-get", "arguments": {"path": "/objects/tc-ram-node0", "property": "cpu-affinity"}}),
        json!({"execute": "quit"}),
    ];
    let (returns, stderr, transcript) = run_qmp(QEMU, &argv, &commands, Duration::from_secs(60)).unwrap();
    let cpus = std::fs::read_to_string("/sys/devices/system/node/node0/cpulist").unwrap();
    let expected: Vec<u64> = vnumac::sets::IdSet::parse(cpus.trim())
        .unwrap()
        .iter()
        .map(u64::from)
        .collect();
    assert_eq!(returns.get(1), Some(&json!(expected)), "{stderr}\n{transcript}");
}
