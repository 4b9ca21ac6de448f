//! A TCG guest's addresses against its CPU's 40 physical address bits, in QEMU itself: a
//! guest whose RAM, memory device window and 64-bit PCI hole end just inside 1TiB starts
//! with the CPU vnumac writes; 1GiB more of `max=` and vnumac refuses it (E0372), and QEMU
//! refuses the same line ("phys-bits too low (40)"). With an AMD model (TCG's `max`) QEMU
//! moves the RAM above 1TiB from 1012GiB on; with an Intel one it does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::qmp::run_qmp;
use common::shell::shell_words;
use common::{QEMU, Scratch, oracle_available};
use serde_json::json;
use vnumac::lower::qemu::command_line_in;
use vnumac::lower::qemu_args::Syntax;

/// A 1GiB TCG guest with one slot and the largest `max=` (GiB) whose addresses QEMU 7.2
/// takes with this machine and CPU, as it started them here.
struct Case {
    machine: &'static str,
    cpu: &'static str,
    largest_max_gib: u64,
}

const CASES: &[Case] = &[
    // i440fx: the window from 4GiB, then the 2GiB hole, end below AMD's range at 1012GiB.
    Case {
        machine: "pc",
        cpu: "",
        largest_max_gib: 1006,
    },
    // q35: its 32GiB hole reaches 1012GiB 30GiB sooner.
    Case {
        machine: "q35",
        cpu: "",
        largest_max_gib: 976,
    },
    // An Intel model: no move to 1TiB, the addresses may reach 1TiB itself.
    Case {
        machine: "pc",
        cpu: "  cpu custom model=Skylake-Client\n",
        largest_max_gib: 1018,
    },
];

impl Case {
    fn text(&self, max_gib: u64) -> String {
        format!(
            "guest g {{\n  type qemu\n  machine {}\n{}  memory 1GiB max={max_gib}GiB slots=1\n  vcpus 2\n  \
             numa {{\n    cell 0 cpus=0-1 memory=1GiB\n  }}\n}}\n",
            self.machine, self.cpu
        )
    }

    /// The errors vnumac reports, and its QEMU line when there are none.
    fn compile(&self, max_gib: u64) -> (Vec<&'static str>, Option<String>) {
        let (compiled, _) = common::hosts::compile(&self.text(max_gib));
        let codes = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        if compiled.has_errors() {
            return (codes, None);
        }
        (
            codes,
            Some(command_line_in(&compiled.checked.build.guests[0], Syntax::Keyval)),
        )
    }
}

/// Starts `line` paused with the CPU it names (the rest neutralised), or says why QEMU did not.
fn start(line: &str, scratch: &Scratch) -> Result<(), String> {
    let options = qemu_options(&shell_words(line)?)?;
    let cpu = options
        .iter()
        .find(|o| o.name == "cpu")
        .and_then(|o| o.value.clone())
        .ok_or("no -cpu")?;
    let mut argv = neutralise(&options, Run::Paused(scratch))?;
    // The neutraliser widens the CPU to 48 bits; the check is about the CPU vnumac writes.
    let at = argv.iter().position(|a| a == "-cpu").ok_or("no -cpu")?;
    argv[at + 1] = cpu;
    let commands = [json!({"execute": "qmp_capabilities"}), json!({"execute": "quit"})];
    run_qmp(QEMU, &argv, &commands, Duration::from_secs(60)).map(|_| ())
}

#[test]
fn tcg_address_bits_are_qemus() {
    if !oracle_available(QEMU) {
        return;
    }
    let scratch = Scratch::new("address-space").unwrap();
    for case in CASES {
        let edge = case.largest_max_gib;
        let (codes, line) = case.compile(edge);
        let line = line.unwrap_or_else(|| panic!("{} max={edge}GiB: {codes:?}", case.machine));
        start(&line, &scratch).unwrap_or_else(|e| panic!("{} max={edge}GiB:\n{e}", case.machine));

        let past = edge + 1;
        assert_eq!(
            case.compile(past),
            (vec!["vnuma::E0372"], None),
            "{} max={past}GiB",
            case.machine
        );
        let moved = line.replace(&format!("maxmem={}k", edge << 20), &format!("maxmem={}k", past << 20));
        assert_ne!(moved, line, "the line writes maxmem in KiB");
        let refused = start(&moved, &scratch).expect_err("QEMU starts a guest past 40 address bits");
        assert!(
            refused.contains("phys-bits too low (40)"),
            "{}: {refused}",
            case.machine
        );
    }
}

/// KVM guests are not judged: their CPU's bits are the host's.
#[test]
fn kvm_guests_are_not_judged() {
    let text = CASES[0].text(2048).replace("type qemu", "type kvm");
    let (compiled, _) = common::hosts::compile(&text);
    assert!(
        !compiled.diagnostics.iter().any(|d| d.code == "vnuma::E0372"),
        "{:?}",
        compiled.diagnostics
    );
    let (codes, _) = CASES[0].compile(2048);
    assert_eq!(codes, vec!["vnuma::E0372"]);
}
