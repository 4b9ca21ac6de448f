//! Limits vnumac enforces because its consumers do: on each side of every limit, what
//! vnumac accepts is accepted by the real thing, and what vnumac refuses (with a code) the
//! real thing refuses too. The real things are QEMU 7.2 started paused (`-S`, QMP), libvirt's
//! own parser and validation (`virsh -c test:///default define`, no daemon) and libvirt's
//! schema (`virt-xml-validate`). The refused side is the accepted output with one value
//! changed to the refused one, so both sides differ in nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::qmp::{QEMU_TIMEOUT, run_qmp};
use common::shell::shell_words;
use common::{QEMU, Scratch, oracle_available};
use vnumac::db::{self, Database, GuestOutput, Loader};
use vnumac::host::HostProfile;

struct Mem(String);

impl Loader for Mem {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        match path.to_str() {
            Some("limits.vnuma") => Ok(self.0.clone()),
            _ => std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(path)),
        }
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("no probe".into())
    }
}

/// The guests' outputs, or every diagnostic as `CODE message` when there is an error.
fn build(text: &str) -> Result<Vec<GuestOutput>, Vec<String>> {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("limits.vnuma"), &Mem(text.to_string())).unwrap();
    let compiled = db::compile(&db, program);
    if compiled.has_errors() {
        return Err(compiled
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code.trim_start_matches("vnuma::"), d.message))
            .collect());
    }
    Ok(db::lower(&db, program).clone())
}

/// The one guest of `text`, which must build.
fn accepted(text: &str) -> GuestOutput {
    let mut out = build(text).unwrap_or_else(|d| panic!("must build:\n{text}\n{d:#?}"));
    assert_eq!(out.len(), 1, "{text}");
    out.remove(0)
}

/// The diagnostics of `text`, which must fail with `code`.
fn refused(text: &str, code: &str) -> Vec<String> {
    let diags = build(text)
        .map(|_| ())
        .expect_err(&format!("must fail with {code}:\n{text}"));
    assert!(
        diags.iter().any(|d| d.starts_with(code)),
        "{code} expected:\n{text}\n{diags:#?}"
    );
    diags
}

/// Starts a QEMU line (made startable here: `common::neutralise`) paused and quits it over
/// QMP; `Err` holds what QEMU said when it refused.
fn qemu_starts(args: &str) -> Result<(), String> {
    let words = shell_words(args).unwrap();
    let options = qemu_options(&words).unwrap();
    let scratch = Scratch::new("limits").unwrap();
    let argv = neutralise(&options, Run::Paused(&scratch)).unwrap();
    let commands = [json!({"execute": "qmp_capabilities"}), json!({"execute": "quit"})];
    run_qmp(QEMU, &argv, &commands, QEMU_TIMEOUT).map(|_| ())
}

/// libvirt's parser and validation on a domain XML (the test driver, in process).
fn libvirt_defines(xml: &str) -> Result<(), String> {
    let scratch = Scratch::new("limits").unwrap();
    let file = scratch.dir.join("domain.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("virsh")
        .args(["-c", "test:///default", "define"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `text` with `from` replaced by `to` exactly once.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` once in:\n{text}");
    text.replacen(from, to, 1)
}

// ---------------------------------------------------------------------------
// Expander bus numbers
// ---------------------------------------------------------------------------

fn expander_guest(devices: &str) -> String {
    format!(
        "host peppi from=\"hosts/peppi.caps.xml\"\nguest g on=peppi {{\n  memory 8GiB\n  vcpus 4\n  numa {{\n    \
         cell 0 cpus=0-1 memory=4GiB host-node=0\n    cell 1 cpus=2-3 memory=4GiB host-node=1\n  }}\n  \
         devices {{\n{devices}\n  }}\n}}\n"
    )
}

/// An expander's own bus is 1 to 254 for libvirt; the buses of its root ports go up to 255.
/// An expander without root ports is numbered 254, not 255.
#[test]
fn expander_bus_numbers_meet_libvirt() {
    let alone = accepted(&expander_guest("    expander e0 node=1"));
    assert!(alone.xml.contains("<target busNr='254'>"), "{}", alone.xml);
    let top = accepted(&expander_guest("    expander e0 node=1 bus-nr=254"));
    let full = accepted(&expander_guest(
        "    expander e0 node=1 bus-nr=252\n    root-port p0 on=e0\n    root-port p1 on=e0\n    root-port p2 on=e0",
    ));
    let d = refused(&expander_guest("    expander e0 node=1 bus-nr=255"), "E0327");
    assert!(d.iter().any(|m| m.contains("`bus-nr=255` is out of range")), "{d:#?}");
    let d = refused(
        &expander_guest(
            "    expander e0 node=1 bus-nr=253\n    root-port p0 on=e0\n    root-port p1 on=e0\n    root-port p2 on=e0",
        ),
        "E0327",
    );
    assert!(d.iter().any(|m| m.contains("needs buses 253-256")), "{d:#?}");
    for diag in d {
        assert!(!diag.contains("outside 1-255"), "{diag}");
    }

    if oracle_available("virsh") {
        for ok in [&alone, &top, &full] {
            libvirt_defines(&ok.xml).unwrap();
        }
        let e = libvirt_defines(&swap(&top.xml, "busNr='254'", "busNr='255'")).unwrap_err();
        assert!(e.contains("busNr '255' out of range"), "{e}");
    }
    if oracle_available(QEMU) {
        for ok in [&alone, &top, &full] {
            qemu_starts(&ok.args).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// Guest cells
// ---------------------------------------------------------------------------

/// A guest of `n` cells of 16 MiB: the first with the one vCPU, the others memory only.
fn cells_guest(n: usize) -> String {
    let mut text = format!(
        "guest g {{\n  type qemu\n  memory {}MiB\n  vcpus 1\n  numa {{\n",
        16 * n
    );
    for i in 0..n {
        let cpus = if i == 0 { " cpus=0" } else { "" };
        text.push_str(&format!("    cell {i}{cpus} memory=16MiB\n"));
    }
    text.push_str("  }\n}\n");
    text
}

/// QEMU 7.2 starts 128 NUMA nodes and refuses a 129th (`MAX_NODES`); vnumac refuses 129
/// cells with E0340, in a `numa` block and through `vnuma cells=`.
#[test]
fn at_most_128_cells() {
    let ok = accepted(&cells_guest(128));
    assert_eq!(ok.args.matches("-numa node,").count(), 128);
    let d = refused(&cells_guest(129), "E0340");
    assert_eq!(d.len(), 1, "one error, and nothing built per cell: {d:#?}");
    let vnuma = "host peppi from=\"hosts/peppi.caps.xml\"\nguest g on=peppi {\n  memory 128GiB\n  vcpus 128\n  \
                 vnuma mode=node cells=129 pinning=node\n}\n";
    refused(vnuma, "E0340");
    accepted(&vnuma.replace("cells=129", "cells=128"));
    if !oracle_available(QEMU) {
        return;
    }
    qemu_starts(&ok.args).unwrap();
    let more = swap(&ok.args, "-m 2048", "-m 2064")
        + " \\\n  -object memory-backend-ram,id=ram-node128,size=16777216 \\\n  -numa node,nodeid=128,memdev=ram-node128";
    let e = qemu_starts(&more).unwrap_err();
    assert!(e.contains("Max number of NUMA nodes reached"), "{e}");
}
