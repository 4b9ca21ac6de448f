//! Which machine types take memory hotplug, in QEMU itself: every `pc-i440fx-*` and
//! `pc-q35-*` type this QEMU lists starts with `-m size=1G,slots=1,maxmem=2G`, or refuses it,
//! exactly as `vnumac::ir::memory_hotplug_supported` says, and vnumac refuses `max=` (E0368)
//! on those QEMU refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::qmp::run_qmp;
use common::{QEMU, oracle_available};
use serde_json::json;
use vnumac::ir::memory_hotplug_supported;

/// The versioned i440fx and q35 machine types of `qemu-system-x86_64 -machine help`.
fn versioned_machines() -> Vec<String> {
    let out = Command::new(QEMU).args(["-machine", "help"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|m| m.starts_with("pc-i440fx-") || m.starts_with("pc-q35-"))
        .map(str::to_string)
        .collect()
}

/// QEMU's refusal of `slots=`/`maxmem=` on `machine`, or None when it starts.
fn refusal(machine: &str) -> Option<String> {
    let argv: Vec<String> = [
        "-machine",
        &format!("{machine},accel=tcg"),
        "-nodefaults",
        "-display",
        "none",
        "-S",
        "-m",
        "size=1G,slots=1,maxmem=2G",
        "-qmp",
        "stdio",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    let commands = [json!({"execute": "qmp_capabilities"}), json!({"execute": "quit"})];
    run_qmp(QEMU, &argv, &commands, Duration::from_secs(60)).err()
}

fn compile_codes(machine: &str) -> Vec<&'static str> {
    let text = format!(
        "guest g {{\n  type qemu\n  machine \"{machine}\"\n  memory 1GiB max=2GiB slots=1\n  vcpus 1\n  \
         numa {{\n    cell 0 cpus=0 memory=1GiB\n  }}\n}}\n"
    );
    let (compiled, _) = common::hosts::compile(&text);
    compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect()
}

#[test]
fn memory_hotplug_follows_the_machine_type_as_qemu_does() {
    for (machine, takes) in [
        ("pc-i440fx-2.0", false),
        ("pc-i440fx-1.4", false),
        ("pc-i440fx-2.1", true),
        ("pc-i440fx-2.10", true),
        ("pc", true),
        ("pc-q35-2.4", true),
        ("q35", true),
    ] {
        assert_eq!(memory_hotplug_supported(machine), takes, "{machine}");
        let want: Vec<&str> = if takes { vec![] } else { vec!["vnuma::E0368"] };
        assert_eq!(compile_codes(machine), want, "{machine}");
    }
    if !oracle_available(QEMU) {
        return;
    }
    let machines = versioned_machines();
    assert!(machines.iter().any(|m| m == "pc-i440fx-2.0"), "{machines:?}");
    let mut wrong = Vec::new();
    for m in &machines {
        let refused = refusal(m);
        if let Some(r) = &refused {
            assert!(r.contains("is not supported by"), "{m}: {r}");
        }
        if refused.is_none() != memory_hotplug_supported(m) {
            wrong.push(format!("{m}: QEMU {}", refused.unwrap_or_else(|| "starts it".into())));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
