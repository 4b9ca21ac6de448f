//! A memory device's `base=` against QEMU's device-memory window, in QEMU itself: a device
//! just inside each edge of the window starts in QEMU at that address; one just outside is
//! refused by vnumac (E0363), and QEMU refuses the same line with the address moved there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::qmp::run_qmp;
use common::shell::shell_words;
use common::{QEMU, Scratch, oracle_available};
use serde_json::{Value, json};
use vnumac::lower::qemu::command_line_in;
use vnumac::lower::qemu_args::Syntax;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A guest and one memory device, with the window QEMU 7.2 gives it (as it reports it:
/// "usable range for memory devices [start:size]").
struct Case {
    host: &'static str,
    machine: &'static str,
    memory: &'static str,
    /// The device statement, with `{base}` where its address goes.
    device: &'static str,
    /// The option of the QEMU line that carries the address.
    key: &'static str,
    size: u64,
    window: (u64, u64),
}

const CASES: &[Case] = &[
    // 2GiB of RAM all below 4GiB: the window starts at 4GiB, 2GiB of headroom and 1GiB a slot.
    Case {
        host: "",
        machine: "q35",
        memory: "memory 2GiB max=4GiB slots=1",
        device: "dimm size=1GiB node=0 base={base}",
        key: "addr",
        size: GIB,
        window: (4 * GIB, 3 * GIB),
    },
    // i440fx maps RAM from 3GiB on above 4GiB once the guest has 3.5GiB: 512MiB above it.
    Case {
        host: "",
        machine: "pc",
        memory: "memory 3584MiB max=8GiB slots=1",
        device: "dimm size=512MiB node=0 base={base}",
        key: "addr",
        size: 512 * MIB,
        window: (5 * GIB, 4608 * MIB + GIB),
    },
    // q35 maps RAM from 2GiB on above 4GiB once the guest has 2816MiB; no slots, no extra GiB.
    Case {
        host: " libvirt=\"9.5\"",
        machine: "q35",
        memory: "memory 2816MiB max=8GiB",
        device: "virtio-mem size=1GiB node=0 block=2MiB requested=512MiB base={base}",
        key: "memaddr",
        size: GIB,
        window: (5 * GIB, 8 * GIB - 2816 * MIB),
    },
];

impl Case {
    fn text(&self, base: u64) -> String {
        let cell = self.memory.split(' ').nth(1).unwrap();
        format!(
            "host h{} {{\n  node 0 cpus=0-3 memory=64GiB\n}}\nguest g on=h {{\n  type qemu\n  machine {}\n  {}\n  \
             vcpus 2\n  numa {{\n    cell 0 cpus=0-1 memory={cell}\n  }}\n  {}\n}}\n",
            self.host,
            self.machine,
            self.memory,
            self.device.replace("{base}", &format!("{}MiB", base / MIB)),
        )
    }

    /// The errors vnumac reports for the device at `base`, and its QEMU line when there are none.
    fn compile(&self, base: u64) -> (Vec<&'static str>, Option<String>) {
        let (compiled, _) = common::hosts::compile(&self.text(base));
        let codes: Vec<&'static str> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        if compiled.has_errors() {
            return (codes, None);
        }
        let g = &compiled.checked.build.guests[0];
        (codes, Some(command_line_in(g, Syntax::Keyval)))
    }
}

/// Starts `line` paused and asks QEMU where the memory device is, or why it did not start.
fn start(line: &str, scratch: &Scratch) -> Result<Value, String> {
    let words = shell_words(line)?;
    let options = qemu_options(&words)?;
    let argv = neutralise(&options, Run::Paused(scratch))?;
    let commands = [
        json!({"execute": "qmp_capabilities"}),
        json!({"execute": "query-memory-devices"}),
        json!({"execute": "quit"}),
    ];
    let (returns, _, _) = run_qmp(QEMU, &argv, &commands, Duration::from_secs(60))?;
    Ok(returns[1].clone())
}

/// The address QEMU reports for the only memory device.
fn address(devices: &Value) -> Option<u64> {
    let data = &devices.as_array()?.first()?["data"];
    data["addr"].as_u64().or_else(|| data["memaddr"].as_u64())
}

#[test]
fn windows_are_qemus() {
    if !oracle_available(QEMU) {
        return;
    }
    let scratch = Scratch::new("window").unwrap();
    for case in CASES {
        let (start_at, size) = case.window;
        let end = start_at + size;
        // Just inside: the first and the last place the device fits.
        let inside = [start_at, end - case.size];
        for base in inside {
            let (codes, line) = case.compile(base);
            let line = line.unwrap_or_else(|| panic!("{} at {base:#x}: {codes:?}", case.device));
            assert!(line.contains(&format!("{}={base}", case.key)), "{line}");
            let devices = start(&line, &scratch).unwrap_or_else(|e| panic!("{} at {base:#x}:\n{e}", case.device));
            assert_eq!(address(&devices), Some(base), "{devices}");
        }
        // Just outside: 2MiB below the window, 2MiB past its end.
        for base in [start_at - 2 * MIB, end - case.size + 2 * MIB] {
            let (codes, line) = case.compile(base);
            assert_eq!(
                (codes, line),
                (vec!["vnuma::E0363"], None),
                "{} at {base:#x}",
                case.device
            );
            let (_, inside_line) = case.compile(inside[0]);
            let moved = inside_line
                .unwrap()
                .replace(&format!("{}={}", case.key, inside[0]), &format!("{}={base}", case.key));
            let refused = start(&moved, &scratch).expect_err("QEMU starts a device outside its window");
            assert!(
                refused.contains(&format!("usable range for memory devices [{start_at:#x}:{size:#x}]")),
                "{} at {base:#x}: {refused}",
                case.device
            );
        }
    }
}

/// The check follows the guest's machine type: the same i440fx guest on q35 has another window.
#[test]
fn the_window_follows_the_machine() {
    let pc = &CASES[1];
    let q35 = Case { machine: "q35", ..*pc };
    // q35 maps 1536MiB above 4GiB for 3584MiB: the window starts at 6GiB, not 5GiB.
    assert_eq!(q35.compile(5 * GIB).0, vec!["vnuma::E0363"]);
    assert_eq!(pc.compile(5 * GIB).0, Vec::<&str>::new());
    assert!(q35.compile(6 * GIB).1.is_some());
}

/// An NVDIMM with `align=` sits at a multiple of it: at 5GiB it starts; 2MiB further on,
/// vnumac refuses it (E0313) and so does QEMU.
#[test]
fn nvdimm_addresses_follow_align() {
    if !oracle_available(QEMU) {
        return;
    }
    let scratch = Scratch::new("window-nvdimm").unwrap();
    let case = Case {
        host: "",
        machine: "q35",
        memory: "memory 2GiB max=8GiB slots=1",
        device: "nvdimm path=\"/var/lib/nvdimm/g.img\" size=2GiB node=0 label=128KiB align=1GiB base={base}",
        key: "addr",
        size: 2 * GIB,
        window: (4 * GIB, 7 * GIB),
    };
    let (codes, line) = case.compile(5 * GIB);
    let line = line.unwrap_or_else(|| panic!("{codes:?}"));
    let devices = start(&line, &scratch).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(address(&devices), Some(5 * GIB), "{devices}");
    let off = 5 * GIB + 2 * MIB;
    assert_eq!(case.compile(off), (vec!["vnuma::E0313"], None));
    let moved = line.replace(&format!("addr={}", 5 * GIB), &format!("addr={off}"));
    let refused = start(&moved, &scratch).expect_err("QEMU takes a misaligned NVDIMM");
    assert!(
        refused.contains("address must be aligned to 0x40000000 bytes"),
        "{refused}"
    );
}

/// i440fx's 64-bit PCI hole is 2GiB: a guest whose window ends at 1005GiB keeps it there, as
/// its addresses stop short of AMD's range at 1012GiB. vnumac refuses a DIMM at 1TiB (E0363)
/// and so does QEMU, with the window where it was.
#[test]
fn an_i440fx_window_below_amds_range_stays() {
    if !oracle_available(QEMU) {
        return;
    }
    let scratch = Scratch::new("window-pc-hole").unwrap();
    let case = Case {
        host: "",
        machine: "pc",
        memory: "memory 1GiB max=1000GiB slots=2",
        device: "dimm size=1GiB node=0 base={base}",
        key: "addr",
        size: GIB,
        window: (4 * GIB, 1001 * GIB),
    };
    let tib = 1024 * GIB;
    assert_eq!(case.compile(tib), (vec!["vnuma::E0363"], None));
    let (codes, line) = case.compile(4 * GIB);
    let line = line.unwrap_or_else(|| panic!("{codes:?}"));
    let moved = line.replace(&format!("addr={}", 4 * GIB), &format!("addr={tib}"));
    let refused = start(&moved, &scratch).expect_err("QEMU moved the window above 1TiB");
    let (at, size) = case.window;
    assert!(
        refused.contains(&format!("usable range for memory devices [{at:#x}:{size:#x}]")),
        "{refused}"
    );
}
