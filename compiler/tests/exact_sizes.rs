//! `memory SIZE exact=true`: cells kept to the KiB, as libvirt keeps them for a guest it
//! receives by migration, proven in QEMU itself. The guest vnumac builds starts with memory
//! backends of exactly the cells' sizes; cells that do not add up to a whole MiB are refused
//! by vnumac (E0367), and QEMU refuses them too with `-m` in MiB, as vnumac and libvirt 9.0
//! write it; libvirt's `migrate-numa-unaligned` cells (24682468 KiB) it refuses even with `-m`
//! in KiB, which it rounds up to 8 KiB. Without `exact=true` such cells stay refused (E0313), and `vnumac import` keeps
//! them only from a running guest's live XML.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::qmp::run_qmp;
use common::shell::shell_words;
use common::{QEMU, Scratch, oracle_available};
use serde_json::{Value, json};
use vnumac::import::{ImportOptions, import_domain};
use vnumac::lower::qemu::command_line_in;
use vnumac::lower::qemu_args::Syntax;

fn guest(memory: &str, cells: &[u64]) -> String {
    let mut s = format!(
        "guest moved {{\n  type qemu\n  machine pc\n  {memory}\n  vcpus {}\n  numa {{\n",
        cells.len()
    );
    for (i, kib) in cells.iter().enumerate() {
        s.push_str(&format!("    cell {i} cpus={i} memory={kib}KiB\n"));
    }
    s + "  }\n}\n"
}

/// The codes vnumac reports (errors and warnings) and the QEMU line when there is no error.
fn build(text: &str) -> (Vec<&'static str>, Option<String>) {
    let (compiled, _) = common::hosts::compile(text);
    let codes = compiled.diagnostics.iter().map(|d| d.code).collect();
    if compiled.has_errors() {
        return (codes, None);
    }
    (
        codes,
        Some(command_line_in(&compiled.checked.build.guests[0], Syntax::Keyval)),
    )
}

/// Starts `line` paused: the size of each memory backend, by id, or why QEMU refused it.
fn start(line: &str, scratch: &Scratch) -> Result<Vec<(String, u64)>, String> {
    let words = shell_words(line)?;
    let argv = neutralise(&qemu_options(&words)?, Run::Paused(scratch))?;
    let commands = [
        json!({"execute": "qmp_capabilities"}),
        json!({"execute": "query-memdev"}),
        json!({"execute": "quit"}),
    ];
    let (returns, _, _) = run_qmp(QEMU, &argv, &commands, Duration::from_secs(60))?;
    let mut sizes: Vec<(String, u64)> = returns[1]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m: &Value| {
            (
                m["id"].as_str().unwrap_or("").to_string(),
                m["size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    sizes.sort();
    Ok(sizes)
}

#[test]
fn exact_cells_start_in_qemu_with_their_sizes() {
    // 20002 + 20958 KiB = 40 MiB: neither cell is whole MiB, their sum is.
    let (codes, line) = build(&guest("memory 40MiB exact=true", &[20002, 20958]));
    assert_eq!(codes, vec!["vnuma::W0522"]);
    let line = line.unwrap();
    assert!(line.contains("-m 40 "), "{line}");
    assert!(line.contains("id=ram-node0,size=20482048"), "{line}");
    assert!(line.contains("id=ram-node1,size=21460992"), "{line}");
    // Whole MiB cells with `exact=true` change nothing and warn of nothing.
    assert_eq!(
        build(&guest("memory 40MiB exact=true", &[20480, 20480])).0,
        Vec::<&str>::new()
    );
    // Without `exact=true` the same cells are refused, as before.
    assert_eq!(
        build(&guest("memory 40MiB", &[20002, 20958])).0,
        vec!["vnuma::E0313", "vnuma::E0313"]
    );
    if !oracle_available(QEMU) {
        return;
    }
    let scratch = Scratch::new("exact").unwrap();
    let sizes = start(&line, &scratch).unwrap();
    assert_eq!(
        sizes,
        vec![
            ("ram-node0".to_string(), 20002 * 1024),
            ("ram-node1".to_string(), 20958 * 1024)
        ]
    );
}

#[test]
fn exact_cells_that_are_not_a_whole_mib_are_refused_as_qemu_refuses_them() {
    // 20002 + 20006 KiB = 40008 KiB.
    let (codes, line) = build(&guest("memory 40008KiB exact=true", &[20002, 20006]));
    assert_eq!((codes, line), (vec!["vnuma::E0367", "vnuma::W0522"], None));
    if !oracle_available(QEMU) {
        return;
    }
    let scratch = Scratch::new("exact").unwrap();
    let good = build(&guest("memory 40MiB exact=true", &[20002, 20958])).1.unwrap();
    let uneven = good.replace("size=21460992", &format!("size={}", 20006 * 1024));
    // `-m` in MiB, as vnumac and libvirt 9.0 write it (39, truncated, or 40): QEMU refuses both.
    for m in ["-m 39 ", "-m 40 "] {
        let line = uneven.replace("-m 40 ", m);
        let refused = start(&line, &scratch).expect_err(m);
        assert!(refused.contains("should equal RAM size"), "{m}: {refused}");
    }
    // The rule is the MiB of `-m`: in KiB (libvirt 9.8 writes `size=…k`) QEMU takes any
    // multiple of 8 KiB, as here.
    assert!(start(&uneven.replace("-m 40 ", "-m size=40008k "), &scratch).is_ok());
    // libvirt's `migrate-numa-unaligned`: cells of 20002, 660066 and 24002400 KiB.
    let (codes, _) = build(&guest("memory 24682468KiB exact=true", &[20002, 660066, 24002400]));
    assert!(codes.contains(&"vnuma::E0367"), "{codes:?}");
    let libvirts = "qemu-system-x86_64 -machine pc -m size=24682468k -smp 3 \
        -object memory-backend-ram,id=ram-node0,size=20482048 -numa node,nodeid=0,cpus=0,memdev=ram-node0 \
        -object memory-backend-ram,id=ram-node1,size=675907584 -numa node,nodeid=1,cpus=1,memdev=ram-node1 \
        -object memory-backend-ram,id=ram-node2,size=24578457600 -numa node,nodeid=2,cpus=2,memdev=ram-node2";
    let refused = start(libvirts, &scratch).expect_err("libvirt's unaligned cells");
    assert!(refused.contains("should equal RAM size"), "{refused}");
}

fn domain(id: &str) -> String {
    format!(
        "<domain type='qemu'{id}><name>moved</name><memory unit='KiB'>40960</memory>\
         <vcpu placement='static'>2</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <features><acpi/><apic/></features><cpu mode='host-passthrough' check='none' migratable='on'>\
         <topology sockets='2' dies='1' cores='1' threads='1'/><numa>\
         <cell id='0' cpus='0' memory='20002' unit='KiB'/><cell id='1' cpus='1' memory='20958' unit='KiB'/>\
         </numa></cpu></domain>"
    )
}

#[test]
fn import_keeps_a_running_guests_cells_and_rounds_a_defined_ones() {
    let live = import_domain(&domain(" id='7'"), &ImportOptions::default()).unwrap();
    assert!(live.text.contains("  memory 40MiB exact=true\n"), "{}", live.text);
    assert!(live.text.contains("cell 0 cpus=0 memory=20002KiB\n"), "{}", live.text);
    assert!(live.notes.iter().any(|n| n.contains("exact=true")), "{:?}", live.notes);
    let (codes, line) = build(&live.text);
    assert_eq!(codes, vec!["vnuma::W0522"]);
    assert!(line.unwrap().contains("id=ram-node0,size=20482048"));
    // The inactive XML: `virsh start` rounds the cells up, and so does the import, with a note.
    let defined = import_domain(&domain(""), &ImportOptions::default()).unwrap();
    assert!(defined.text.contains("  memory 41MiB\n"), "{}", defined.text);
    assert!(
        defined.text.contains("cell 0 cpus=0 memory=20MiB\n"),
        "{}",
        defined.text
    );
    assert!(
        defined.notes.iter().any(|n| n.contains("rounded up to 20480 KiB")),
        "{:?}",
        defined.notes
    );
}
