//! Limits vnumac enforces because its consumers do: on each side of every limit, what
//! vnumac accepts is accepted by the real thing, and what vnumac refuses (with a code) the
//! real thing refuses too. The real things are QEMU 7.2 started paused (`-S`, QMP), libvirt's
//! own parser and validation (`virsh -c test:///default define`, no daemon) and libvirt's
//! schema (`virt-xml-validate`). The refused side is the accepted output with one value
//! changed to the refused one, so both sides differ in nothing else. Where QEMU takes a
//! value but writes it wrong, the guest kernel reads the table back (a Debian kernel booted
//! with a busybox initramfs, as in `guest_boot.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::qmp::{QEMU_TIMEOUT, run_qmp};
use common::shell::shell_words;
use common::{QEMU, Scratch, VALIDATOR, oracle_available, validate_xml};
use vnumac::db::{self, Database, GuestOutput, MemLoader};

/// The guests' outputs, or every diagnostic as `CODE message` when there is an error.
fn build(text: &str) -> Result<Vec<GuestOutput>, Vec<String>> {
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("limits.vnuma"),
        &MemLoader::new("limits.vnuma", text).or_from(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")),
    )
    .unwrap();
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

/// libvirt's schema on a domain XML.
fn schema_accepts(xml: &str) -> Result<(), String> {
    let scratch = Scratch::new("limits").unwrap();
    let file = scratch.dir.join("domain.xml");
    std::fs::write(&file, xml).unwrap();
    validate_xml(&file)
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

// ---------------------------------------------------------------------------
// HMAT
// ---------------------------------------------------------------------------

fn hmat_guest(lines: &str) -> String {
    format!(
        "guest g {{\n  type qemu\n  memory 2GiB\n  vcpus 2\n  numa {{\n    cell 0 cpus=0 memory=1GiB\n    \
         cell 1 cpus=1 memory=1GiB\n{lines}\n  }}\n}}\n"
    )
}

/// A latency and a bandwidth to cell 1, which its caches need.
const TO_CELL_1: &str = "    latency initiator=0 target=1 type=access value=120\n    \
                         bandwidth initiator=0 target=1 type=access value=20GiB\n";

/// One limit: `accepted` builds and starts; `refused` fails with `code`; the accepted QEMU line
/// with `qemu.0` turned into `qemu.1` is refused by QEMU saying `qemu.2`, or the accepted XML
/// with `schema.0` turned into `schema.1` is refused by libvirt's schema.
struct Limit {
    accepted: String,
    refused: String,
    code: &'static str,
    qemu: Option<(&'static str, &'static str, &'static str)>,
    schema: Option<(&'static str, &'static str)>,
}

fn hmat_limits() -> Vec<Limit> {
    let cache = |line: &str, size: &str| {
        format!("{TO_CELL_1}    cache cell=1 level=1 size={size} line={line} associativity=direct policy=writeback")
    };
    let two = |kind: &str, a: &str, b: &str| {
        format!(
            "    {kind} initiator=0 target=0 type=access value={a}\n    {kind} initiator=0 target=1 type=access value={b}"
        )
    };
    let levels = |l2: &str| {
        format!(
            "{TO_CELL_1}    cache cell=1 level=1 size=32MiB line=64B associativity=direct policy=writeback\n    \
             cache cell=1 level=2 size={l2} line=64B associativity=direct policy=writeback"
        )
    };
    let one = |kind: &str, v: &str| format!("    {kind} initiator=0 target=1 type=access value={v}");
    vec![
        Limit {
            accepted: cache("65535B", "32MiB"),
            refused: cache("64KiB", "32MiB"),
            code: "E0341",
            qemu: Some(("line=65535", "line=65536", "Parameter 'line' expects uint16_t")),
            schema: None,
        },
        Limit {
            accepted: cache("64B", "4294967295KiB"),
            refused: cache("64B", "4TiB"),
            code: "E0341",
            qemu: None,
            schema: Some(("<size value='4294967295'", "<size value='4294967296'")),
        },
        Limit {
            accepted: one("bandwidth", "1MiB"),
            refused: one("bandwidth", "1536KiB"),
            code: "E0341",
            qemu: Some(("bandwidth=1024K", "bandwidth=1536K", "should be 1MB aligned")),
            schema: None,
        },
        Limit {
            accepted: one("bandwidth", "4194176MiB"),
            refused: one("bandwidth", "4TiB"),
            code: "E0341",
            qemu: None,
            schema: Some(("value='4294836224'", "value='4294967296'")),
        },
        Limit {
            accepted: one("latency", "4294900000"),
            refused: one("latency", "4295000000"),
            code: "E0204",
            qemu: None,
            schema: Some(("value='4294900000'", "value='4295000000'")),
        },
        Limit {
            accepted: two("latency", "1", "65534"),
            refused: two("latency", "1", "65535"),
            code: "E0342",
            qemu: Some((
                "latency=65534",
                "latency=65535",
                "should not differ from previously entered",
            )),
            schema: None,
        },
        Limit {
            accepted: two("bandwidth", "1MiB", "65534MiB"),
            refused: two("bandwidth", "1MiB", "65535MiB"),
            code: "E0342",
            qemu: Some((
                "bandwidth=67106816K",
                "bandwidth=67107840K",
                "should not differ from previously entered",
            )),
            schema: None,
        },
        Limit {
            accepted: cache("64B", "32MiB"),
            refused: format!(
                "{}\n    cache cell=1 level=1 size=32MiB line=64B associativity=direct policy=writeback",
                one("latency", "120")
            ),
            code: "E0343",
            qemu: Some((
                "  -numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=20971520K \\\n",
                "",
                "should be provided before memory side cache attributes",
            )),
            schema: None,
        },
        Limit {
            accepted: levels("64MiB"),
            refused: levels("32MiB"),
            code: "E0343",
            qemu: Some((
                "size=65536K,level=2",
                "size=32768K,level=2",
                "should be larger than the size",
            )),
            schema: None,
        },
    ]
}

/// Each HMAT limit on both sides: QEMU 7.2 starts what vnumac accepts and refuses the same
/// line with the value vnumac refuses; libvirt's schema takes the accepted XML and refuses
/// it with the refused value.
#[test]
fn hmat_values_meet_qemu_and_libvirt() {
    let qemu = oracle_available(QEMU);
    let schema = oracle_available(VALIDATOR);
    for limit in hmat_limits() {
        let ok = accepted(&hmat_guest(&limit.accepted));
        refused(&hmat_guest(&limit.refused), limit.code);
        if qemu {
            qemu_starts(&ok.args).unwrap_or_else(|e| panic!("QEMU must start:\n{}\n{e}", ok.args));
        }
        if let (true, Some((from, to, says))) = (qemu, limit.qemu) {
            let e = qemu_starts(&swap(&ok.args, from, to)).expect_err(&format!("QEMU must refuse {to}"));
            assert!(e.contains(says), "QEMU on {to}: {e}");
        }
        if schema {
            schema_accepts(&ok.xml).unwrap();
        }
        if let (true, Some((from, to))) = (schema, limit.schema) {
            schema_accepts(&swap(&ok.xml, from, to)).expect_err(&format!("libvirt's schema must refuse {to}"));
        }
    }
}

// ---------------------------------------------------------------------------
// HMAT tables QEMU takes but writes wrong, read back by the guest kernel
// ---------------------------------------------------------------------------

const HMAT_INIT: &str = r#"#!/bin/busybox sh
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sysfs /sys
echo HMAT-BEGIN
$b od -An -tx1 -v /sys/firmware/acpi/tables/HMAT
echo HMAT-END
$b sleep 1
echo o > /proc/sysrq-trigger
$b sleep 10
"#;

/// The memory access latency table of the HMAT the guest kernel was given: its base unit
/// in picoseconds and its entries (initiator by initiator).
fn guest_latencies(args: &str, tools: &common::guest::GuestTools, initrd: &Path) -> (u64, Vec<u16>) {
    let options = qemu_options(&shell_words(args).unwrap()).unwrap();
    let mut argv = neutralise(&options, Run::Boot).unwrap();
    for a in [
        "-kernel",
        tools.kernel.to_str().unwrap(),
        "-initrd",
        initrd.to_str().unwrap(),
    ] {
        argv.push(a.to_string());
    }
    argv.extend(["-append".into(), "console=ttyS0 quiet loglevel=0 panic=-1".into()]);
    let run = common::guest::run_guest(&argv, std::time::Duration::from_secs(180)).unwrap();
    let dump = run
        .serial
        .split("HMAT-BEGIN")
        .nth(1)
        .and_then(|s| s.split("HMAT-END").next())
        .unwrap_or_else(|| panic!("no HMAT dump:\n{}\n{}", run.serial, run.stderr));
    let bytes: Vec<u8> = dump
        .split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    let le = |at: usize, n: usize| (0..n).fold(0u64, |v, i| v | u64::from(bytes[at + i]) << (8 * i));
    // The table's header (36 bytes) and 4 reserved, then structures of (type, _, length).
    let mut at = 40;
    while at + 8 <= bytes.len() {
        let (kind, len) = (le(at, 2), le(at + 4, 4) as usize);
        // Type 1: latency and bandwidth; hierarchy 0 (memory), data type 0 (access latency).
        if kind == 1 && bytes[at + 8] == 0 && bytes[at + 9] == 0 {
            let (initiators, targets) = (le(at + 12, 4) as usize, le(at + 16, 4) as usize);
            let entries = at + 32 + 4 * (initiators + targets);
            let values = (0..initiators * targets)
                .map(|i| le(entries + 2 * i, 2) as u16)
                .collect();
            return (le(at + 24, 8), values);
        }
        at += len.max(1);
    }
    panic!("no access latency table in {bytes:?}");
}

/// QEMU 7.2 takes two HMAT latency tables that it then writes wrong: a value more than 65534
/// units when it comes before the smaller ones (it only checks later values), which wraps at
/// 16 bits, and a unit of 10 ms or more, whose picoseconds wrap at 32 bits. The guest kernel
/// reads 34,464 ns for 100,000 ns, and a unit of 1.41 ms for 10 ms. vnumac refuses both
/// (E0342); the lines it accepts next to them are read back exactly.
#[test]
fn hmat_tables_qemu_writes_wrong_are_refused() {
    let latencies = |a: &str, b: &str| {
        hmat_guest(&format!(
            "    latency initiator=0 target=0 type=access value={a}\n    latency initiator=0 target=1 type=access value={b}"
        ))
    };
    let wide = accepted(&latencies("65534", "1"));
    refused(&latencies("100000", "1"), "E0342");
    let coarse = accepted(&latencies("1000000", "2000000"));
    refused(&latencies("10000000", "20000000"), "E0342");
    let Some(tools) = common::guest::guest_tools() else {
        return;
    };
    let scratch = Scratch::new("hmat-boot").unwrap();
    let initrd = scratch.dir.join("initrd");
    std::fs::write(&initrd, common::guest::initramfs(&tools.busybox, HMAT_INIT).unwrap()).unwrap();
    let read = |args: &str| guest_latencies(args, &tools, &initrd);

    assert_eq!(read(&wide.args), (1000, vec![65534, 1, 0, 0]));
    let wrapped = swap(&wide.args, "latency=65534", "latency=100000");
    assert_eq!(read(&wrapped), (1000, vec![(100_000 % 65_536) as u16, 1, 0, 0]));

    assert_eq!(read(&coarse.args), (1_000_000_000, vec![1, 2, 0, 0]));
    let wrapped = swap(
        &swap(&coarse.args, "latency=1000000", "latency=10000000"),
        "latency=2000000",
        "latency=20000000",
    );
    assert_eq!(read(&wrapped), (10_000_000_000 % (1 << 32), vec![1, 2, 0, 0]));
}
