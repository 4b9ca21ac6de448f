//! The i440fx `pc` machines' root bus, pci.0, against QEMU 7.2 and libvirt 9.0.
//!
//! * SATA disks sit on the AHCI controller libvirt adds for them on these machines
//!   (`<controller type='sata' index='0'>`, `-device ahci,id=sata0,bus=pci.0`, the disks on
//!   `bus=sata0.N`), in the first free slot of pci.0 once the devices with addresses have
//!   theirs, before the virtio memory devices. QEMU starts the line with the disks on that
//!   controller, and libvirt's own driver builds the same controller and ports from the XML
//!   vnumac writes, and puts the controller in the same slot when the XML leaves its address,
//!   or the whole controller, out.
//! * virtio memory devices take pci.0's slots up to its last, 0x1f: the largest count that
//!   fits starts in QEMU and libvirt's driver takes it; one more is refused by vnumac (E0328).
//!   libvirt 9.0 counts them against `slots=` (E0323 when too few) and maps a virtio-pmem
//!   file shared.
//!
//! The QEMU and libvirt parts skip with a message when the tools are missing, unless
//! `VNUMAC_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use std::sync::Arc;
use vnumac::host::HostProfile;

use common::libvirtd::{Daemon, oracles_available, write_fake_node_tree};
use common::native::{compare_lines, declared_pci_ids};
use common::neutralise::{Run, neutralise};
use common::qemu::qemu_options;
use common::qmp::{root_bus_devices, run_qmp};
use common::shell::shell_words;
use common::{QEMU, Scratch, VALIDATOR, oracle_available, validate_xml};

const HOST: &str = "host h {\n  node 0 cpus=0-7 memory=64GiB\n}\n";

/// A `pc` guest with an expander (slot 2), a virtio disk on pci.0 (slot 3), two SATA disks
/// (the AHCI controller: slot 4) and a virtio-mem device (slot 5).
fn sata_guest(machine: &str) -> String {
    format!(
        "{HOST}guest legacy on=h {{\n  type qemu\n  machine {machine}\n  memory 4GiB max=8GiB slots=2\n  vcpus 2\n  \
         numa {{\n    cell 0 cpus=0 memory=2GiB host-node=0\n    cell 1 cpus=1 memory=2GiB host-node=0\n  }}\n  \
         virtio-mem size=1GiB node=1 block=2MiB requested=512MiB\n  devices {{\n    expander near node=1\n    \
         nic uplink bridge=br0 on=near\n    disk boot path=\"/var/lib/b.qcow2\" format=qcow2 bus=virtio\n    \
         disk scratch path=\"/var/lib/s.raw\" format=raw\n    disk logs path=\"/var/lib/l.raw\" format=raw bus=sata\n  \
         }}\n}}\n"
    )
}

/// A `pc` guest with `n` virtio memory devices (the last a virtio-pmem), and a SATA disk
/// when `sata`: nothing else on pci.0.
fn memdev_guest(n: usize, sata: bool) -> String {
    let mut text = format!(
        "{HOST}guest filled on=h {{\n  type qemu\n  machine pc\n  memory 2GiB max=8GiB slots=32\n  vcpus 2\n  \
         numa {{\n    cell 0 cpus=0-1 memory=2GiB host-node=0\n  }}\n"
    );
    for i in 0..n {
        if i + 1 == n {
            let _ = writeln!(text, "  virtio-pmem path=\"/var/lib/pmem{i}\" size=128MiB");
        } else {
            text.push_str("  virtio-mem size=128MiB node=0 block=2MiB requested=2MiB\n");
        }
    }
    if sata {
        text.push_str("  devices {\n    disk d path=\"/var/lib/d.raw\" format=raw\n  }\n");
    }
    text.push_str("}\n");
    text
}

/// The one guest's XML and QEMU line (keyval), and its host's profile.
type Built = (String, String, Arc<HostProfile>);

/// The error diagnostics: (code, message).
type Errors = Vec<(&'static str, String)>;

/// The one guest built, or the errors that stop it.
fn build(text: &str) -> Result<Built, Errors> {
    let (compiled, outputs) = common::hosts::compile(text);
    if compiled.has_errors() {
        return Err(compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (d.code, d.message.clone()))
            .collect());
    }
    let g = &outputs[0];
    let profile = compiled.checked.hosts[0].as_ref().unwrap().profile.clone();
    Ok((g.xml.clone(), g.args.clone(), profile))
}

// ---------------------------------------------------------------------------
// What vnumac writes
// ---------------------------------------------------------------------------

/// Proves the XML and the QEMU line put SATA disks on one AHCI controller in the same slot
/// on `pc`, and keep q35's built-in controller there.
#[test]
fn sata_disks_on_pc_sit_on_an_ahci_controller_after_the_devices() {
    let (xml, line, _) = build(&sata_guest("pc")).unwrap();
    assert!(
        xml.contains(
            "<controller type='sata' index='0'>\n      \
             <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n    </controller>"
        ),
        "{xml}"
    );
    assert!(line.contains("-device ahci,id=sata0,bus=pci.0,addr=0x4 "), "{line}");
    for (port, id) in [("sata0.0", "sata0-0-0"), ("sata0.1", "sata0-0-1")] {
        assert!(line.contains(&format!("-device ide-hd,bus={port},")), "{line}");
        assert!(line.contains(&format!("id={id} ")), "{line}");
    }
    assert!(!line.contains("bus=ide."), "{line}");
    // The virtio-mem device takes the slot after the controller; the controller comes
    // right after the PCI controllers, as libvirt orders them.
    assert!(line.contains("id=virtiomem0,bus=pci.0,addr=0x5"), "{line}");
    // `--emit json` says where the controller is, and that q35 has none.
    let (compiled, _) = common::hosts::compile(&sata_guest("pc"));
    let json = vnumac::lower::json::guest_json(&compiled.checked.build.guests[0]);
    assert_eq!(json["ahci"], json!({"bus": 0, "slot": 4}), "{json}");
    let pxb = line.find("-device pxb,").unwrap();
    let ahci = line.find("-device ahci,").unwrap();
    assert!(pxb < ahci && ahci < line.find("-device ide-hd").unwrap(), "{line}");

    // q35's own controller: nothing added, disks on ide.N.
    let q35 = sata_guest("q35")
        .replace(
            "    expander near node=1\n",
            "    expander near node=1\n    root-port rp on=near\n",
        )
        .replace("on=near\n    disk boot", "on=rp\n    disk boot");
    let (xml, line, _) = build(&q35).unwrap();
    assert!(!xml.contains("type='sata'>"), "{xml}");
    let (compiled, _) = common::hosts::compile(&q35);
    let json = vnumac::lower::json::guest_json(&compiled.checked.build.guests[0]);
    assert!(json["ahci"].is_null(), "{json}");
    assert!(!line.contains("ahci"), "{line}");
    assert!(
        line.contains("-device ide-hd,bus=ide.0,") && line.contains("-device ide-hd,bus=ide.1,"),
        "{line}"
    );
}

/// What an editor shows over the `disk` keyword of `logs` in a guest on `machine`.
fn hover_on_sata_disk(machine: &str) -> String {
    let text = format!(
        "guest g {{\n  machine {machine}\n  vcpus 2\n  memory 4GiB\n  devices {{\n    \
         disk boot path=\"/b.raw\" bus=virtio\n    disk logs path=\"/l.raw\"\n  }}\n}}\n"
    );
    let at = text.find("disk logs").unwrap() as u32 + 1;
    let mut ws = vnumac::db::Workspace::default();
    let loader = vnumac::db::MemLoader::default().with("g.vnuma", text);
    let program = ws.load(std::path::Path::new("g.vnuma"), &loader).unwrap();
    let file = ws.file(std::path::Path::new("g.vnuma")).unwrap();
    vnumac::ide::hover(&ws.db, program, file, at)
        .map(|h| h.markdown)
        .unwrap_or_default()
}

/// Proves an editor says which controller and port a SATA disk sits on.
#[test]
fn hover_names_a_sata_disks_controller() {
    let h = hover_on_sata_disk("pc");
    assert!(
        h.contains("`logs` sits on port 0 of the AHCI controller in slot 0x03 of pci.0"),
        "{h}"
    );
    let h = hover_on_sata_disk("q35");
    assert!(
        h.contains("`logs` sits on the built-in SATA controller (pcie.0)"),
        "{h}"
    );
}

/// Proves a guest without SATA disks gets no controller, and the six-port limit holds.
#[test]
fn the_ahci_controller_comes_only_with_sata_disks() {
    let text = memdev_guest(2, false);
    let (xml, line, _) = build(&text).unwrap();
    assert!(!xml.contains("type='sata'") && !line.contains("ahci"), "{xml}\n{line}");
    assert!(line.contains("id=virtiomem0,bus=pci.0,addr=0x2"), "{line}");

    // On `pc` a SATA disk cannot go on an expander either.
    let text = sata_guest("pc").replace("format=raw bus=sata\n", "format=raw bus=sata node=1\n");
    let errors = build(&text).unwrap_err();
    assert!(
        errors.iter().any(|(c, m)| *c == "vnuma::E0328"
            && m == "a SATA disk sits on the SATA controller on pci.0, not on an expander"),
        "{errors:?}"
    );

    // The controller takes a slot of pci.0 like any device: 30 NICs fill it, and a SATA
    // disk beside them has no slot left for its controller.
    let nics = |n: usize, sata: bool| {
        let mut t = String::from("  devices {\n");
        for i in 0..n {
            let _ = writeln!(t, "    nic n{i} bridge=br0");
        }
        if sata {
            t.push_str("    disk d path=\"/d.raw\"\n");
        }
        t + "  }\n}\n"
    };
    let base = memdev_guest(0, false).trim_end().trim_end_matches('}').to_owned();
    let (_, line, _) = build(&(base.clone() + &nics(30, false))).unwrap();
    assert!(line.contains("id=net29,bus=pci.0,addr=0x1f"), "{line}");
    let (_, line, _) = build(&(base.clone() + &nics(29, true))).unwrap();
    assert!(line.contains("-device ahci,id=sata0,bus=pci.0,addr=0x1f "), "{line}");
    let errors = build(&(base + &nics(30, true))).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|(c, m)| *c == "vnuma::E0328" && m == "more devices than pci.0 has slots"),
        "{errors:?}"
    );

    let mut seven = String::from("  devices {\n");
    for i in 0..7 {
        let _ = writeln!(seven, "    disk d{i} path=\"/d{i}.raw\" format=raw");
    }
    seven.push_str("  }\n}\n");
    let text = memdev_guest(1, false).trim_end().trim_end_matches('}').to_owned() + &seven;
    let errors = build(&text).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|(c, m)| *c == "vnuma::E0328" && m == "the SATA controller has 6 ports"),
        "{errors:?}"
    );
}

// ---------------------------------------------------------------------------
// QEMU
// ---------------------------------------------------------------------------

/// Starts `line` paused and returns what `commands` (after `qmp_capabilities`) answer.
fn ask_qemu(line: &str, scratch: &Scratch, commands: &[Value]) -> Result<Vec<Value>, String> {
    let words = shell_words(line)?;
    let argv = neutralise(&qemu_options(&words)?, Run::Paused(scratch))?;
    let mut all = vec![json!({"execute": "qmp_capabilities"})];
    all.extend(commands.iter().cloned());
    all.push(json!({"execute": "quit"}));
    let (returns, _, _) = run_qmp(QEMU, &argv, &all, Duration::from_secs(120))?;
    Ok(returns[1..=commands.len()].to_vec())
}

/// Proves QEMU builds the AHCI controller in vnumac's slot with both disks on its ports.
#[test]
fn qemu_starts_the_sata_disks_on_the_ahci_controller() {
    if !oracle_available(QEMU) {
        return;
    }
    let (_, line, _) = build(&sata_guest("pc")).unwrap();
    let scratch = Scratch::new("pc-sata").unwrap();
    let bus = |id: &str| json!({"execute": "qom-get", "arguments": {"path": format!("/machine/peripheral/{id}"), "property": "parent_bus"}});
    let answers = ask_qemu(
        &line,
        &scratch,
        &[json!({"execute": "query-pci"}), bus("sata0-0-0"), bus("sata0-0-1")],
    )
    .unwrap();
    let root = root_bus_devices(&answers[0]);
    let at = |slot: u64| root.iter().find(|d| d.slot == slot).cloned();
    let ahci = at(4).expect("a device in slot 4 of pci.0");
    assert_eq!(
        (ahci.id.as_str(), ahci.class.as_str()),
        ("sata0", "SATA controller"),
        "{root:?}"
    );
    assert_eq!(at(5).map(|d| d.id), Some("virtiomem0".to_owned()), "{root:?}");
    for (answer, port) in answers[1..].iter().zip(["sata0.0", "sata0.1"]) {
        let path = answer.as_str().unwrap();
        assert!(path.ends_with(&format!("/{port}")), "{port}: {path}");
        assert!(path.contains("/sata0/"), "{port}: {path}");
    }
}

/// Proves the largest count of virtio memory devices pci.0 takes starts in QEMU, up to its
/// last slot, and one more is refused by vnumac; a SATA disk's controller takes one slot.
#[test]
fn virtio_memory_devices_fill_pci0_to_its_last_slot() {
    for (sata, fit) in [(false, 30), (true, 29)] {
        let errors = build(&memdev_guest(fit + 1, sata)).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|(c, m)| *c == "vnuma::E0328" && m == "no slot is left on the root bus for this device"),
            "{} devices, sata {sata}: {errors:?}",
            fit + 1
        );
        let (_, line, _) = build(&memdev_guest(fit, sata)).unwrap();
        assert!(line.contains("bus=pci.0,addr=0x1f"), "{line}");
        if !oracle_available(QEMU) {
            continue;
        }
        let scratch = Scratch::new("pc-memdev").unwrap();
        let answers = ask_qemu(
            &line,
            &scratch,
            &[
                json!({"execute": "query-pci"}),
                json!({"execute": "query-memory-devices"}),
            ],
        )
        .unwrap();
        let root = root_bus_devices(&answers[0]);
        let last = root.iter().find(|d| d.slot == 0x1f).expect("slot 0x1f taken");
        assert_eq!(last.id, "virtiopmem0", "{root:?}");
        let kinds: Vec<&str> = answers[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "virtio-mem").count(),
            fit - 1,
            "{kinds:?}"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "virtio-pmem").count(), 1, "{kinds:?}");
        if sata {
            assert!(root.iter().any(|d| d.slot == 2 && d.id == "sata0"), "{root:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// libvirt
// ---------------------------------------------------------------------------

/// `xml` without its `<controller type='sata'>`'s address (`whole`: without the controller).
fn without_sata_controller(xml: &str, whole: bool) -> String {
    let start = xml.find("<controller type='sata' index='0'>").unwrap();
    let end = start + xml[start..].find("</controller>").unwrap() + "</controller>".len();
    if whole {
        return format!("{}{}", &xml[..start], &xml[end..]);
    }
    format!("{}<controller type='sata' index='0'/>{}", &xml[..start], &xml[end..])
}

/// Proves libvirt 9.0 builds vnumac's AHCI controller, ports and memory-device slots from
/// vnumac's XML, and picks the same slot for the controller when the XML leaves it to libvirt;
/// and takes pci.0 full of virtio memory devices.
#[test]
fn libvirt_places_the_ahci_controller_and_memory_devices_as_vnumac_does() {
    let (xml, line, profile) = build(&sata_guest("pc")).unwrap();
    let (full_xml, full_line, _) = build(&memdev_guest(29, true)).unwrap();
    if !oracle_available(VALIDATOR) || !oracles_available() {
        return;
    }
    let scratch = Scratch::new("pc-libvirt").unwrap();
    write_fake_node_tree(&profile, &scratch.dir.join("node")).unwrap();
    let daemon = Daemon::start(&scratch.dir, &scratch.dir.join("cache")).unwrap();
    let cases = [
        ("as written", xml.clone(), &line),
        (
            "no address on the controller",
            without_sata_controller(&xml, false),
            &line,
        ),
        ("no controller", without_sata_controller(&xml, true), &line),
        ("pci.0 full", full_xml, &full_line),
    ];
    let mut failures = Vec::new();
    for (label, text, vnumac_line) in &cases {
        let path = scratch.dir.join("domain.xml");
        std::fs::write(&path, text).unwrap();
        if *label == "as written" || *label == "pci.0 full" {
            validate_xml(&path).unwrap();
        }
        let libvirt = match daemon.virsh(&["domxml-to-native", "qemu-argv", &path.to_string_lossy()]) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{label}: libvirt refuses it: {e}"));
                continue;
            }
        };
        if !libvirt.contains("\"driver\":\"ahci\"") {
            failures.push(format!("{label}: no ahci on libvirt's line:\n{libvirt}"));
        }
        let outcome = compare_lines(&libvirt, vnumac_line, &declared_pci_ids(text).unwrap()).unwrap();
        if !outcome.diffs.is_empty() {
            failures.push(format!("{label}:\n{}", outcome.diffs.join("\n")));
        }
    }
    // libvirt 9.0 gives every memory device a slot, virtio ones too: one slot fewer than
    // devices is refused, as vnumac refuses it (E0323).
    let (full_xml, _, _) = build(&memdev_guest(29, true)).unwrap();
    let short = full_xml.replace("<maxMemory slots='32'", "<maxMemory slots='28'");
    assert_ne!(short, full_xml);
    let path = scratch.dir.join("short.xml");
    std::fs::write(&path, &short).unwrap();
    match daemon.virsh(&["domxml-to-native", "qemu-argv", &path.to_string_lossy()]) {
        Ok(_) => failures.push("libvirt takes 29 memory devices in 28 slots".into()),
        Err(e) => assert!(e.contains("exceeds slots count"), "{e}"),
    }
    let errors = build(&memdev_guest(29, true).replace("slots=32", "slots=28")).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|(c, m)| *c == "vnuma::E0323" && m == "29 memory devices but only 28 slots"),
        "{errors:?}"
    );
    daemon.stop().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
