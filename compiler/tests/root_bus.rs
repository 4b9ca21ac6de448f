//! The root bus's last free slot, on q35 and on the i440fx `pc` machines, against QEMU 7.2
//! and libvirt 9.0 (`MachineFamily::root_slots`).
//!
//! * q35: pcie.0's slots 1 to 0x1e are free, 0x1f is the chipset's (LPC, SATA, SMBus). The
//!   most root-bus devices vnumac takes there, 30, start in QEMU with the 30th in 0x1e, and
//!   libvirt's driver builds the same slots from vnumac's XML: root ports and an expander
//!   (devices), virtio memory devices, and both together, where a virtio memory device takes
//!   the last slot after the root ports. One more is refused by vnumac (E0328), by QEMU (no
//!   free slot) and by libvirt (0x1f is in use; an expander left without an address finds
//!   no slot). libvirt gives 0x1e itself to an expander left without an address when it is
//!   the only free slot: it holds nothing back there.
//! * `pc`: pci.0's slots 2 to 0x1f, 30 as well, the same way. libvirt keeps one slot of
//!   pci.0 free for a later bridge when it places devices itself, so an expander left
//!   without an address finds no slot when only one is free; with every address written,
//!   as vnumac writes them, it takes all 30.
//!
//! The QEMU and libvirt parts skip with a message when the tools are missing, unless
//! `VNUMAC_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// An oracle suite reads as one scenario per function; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use vnumac::ir::MachineFamily;

use common::libvirtd::{Daemon, oracles_available, write_fake_node_tree};
use common::native::{compare_lines, declared_pci_ids};
use common::neutralise::{Run, neutralise};
use common::qemu::{Props, qemu_options};
use common::qmp::{root_bus_devices, run_qmp};
use common::shell::shell_words;
use common::{QEMU, Scratch, VALIDATOR, oracle_available, validate_xml};

const HOST: &str = "host h {\n  node 0 cpus=0-7 memory=64GiB\n}\n";

/// What fills the root bus.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// An expander (with a disk behind it) and virtio disks of their own: on q35 each on a
    /// root port of its own, on `pc` straight on pci.0.
    Devices,
    /// virtio memory devices, the last a virtio-pmem.
    Memory,
    /// Disks of their own, then one virtio-mem device.
    Mixed,
}

/// A guest on `machine` whose root bus holds `n` devices of `fill`.
fn guest(machine: &str, fill: Fill, n: usize) -> String {
    let (disks, memdevs, expander) = match fill {
        Fill::Devices => (n - 1, 0, true),
        Fill::Memory => (0, n, false),
        Fill::Mixed => (n - 1, 1, false),
    };
    let mut text = format!(
        "{HOST}guest g on=h {{\n  type qemu\n  machine {machine}\n  memory 2GiB max=8GiB slots=32\n  vcpus 2\n  \
         numa {{\n    cell 0 cpus=0-1 memory=2GiB host-node=0\n  }}\n"
    );
    for i in 0..memdevs {
        if i + 1 == memdevs && memdevs > 1 {
            let _ = writeln!(text, "  virtio-pmem path=\"/var/lib/pmem{i}\" size=128MiB");
        } else {
            text.push_str("  virtio-mem size=128MiB node=0 block=2MiB requested=2MiB\n");
        }
    }
    if disks > 0 || expander {
        text.push_str("  devices {\n");
        if expander {
            text.push_str("    expander near node=0\n    disk far path=\"/var/lib/far.raw\" bus=virtio node=0\n");
        }
        for i in 1..=disks {
            let _ = writeln!(text, "    disk d{i} path=\"/var/lib/d{i}.raw\" bus=virtio");
        }
        text.push_str("  }\n");
    }
    text.push_str("}\n");
    text
}

/// The error diagnostics: (code, message, help).
type Errors = Vec<(&'static str, String, String)>;

/// The guest's XML and QEMU line, or its errors.
fn build(text: &str) -> Result<(String, String), Errors> {
    let (compiled, outputs) = common::hosts::compile(text);
    if compiled.has_errors() {
        return Err(compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (d.code, d.message.clone(), d.help.clone().unwrap_or_default()))
            .collect());
    }
    Ok((outputs[0].xml.clone(), outputs[0].args.clone()))
}

/// Every case: the machine, what fills its root bus, and the QEMU id vnumac gives the device
/// in the last slot.
fn cases() -> Vec<(&'static str, Fill, &'static str)> {
    vec![
        ("q35", Fill::Devices, "ua-port-d29"),
        ("q35", Fill::Memory, "virtiopmem0"),
        ("q35", Fill::Mixed, "virtiomem0"),
        ("pc", Fill::Devices, "virtio-disk29"),
        ("pc", Fill::Memory, "virtiopmem0"),
        ("pc", Fill::Mixed, "virtiomem0"),
    ]
}

/// The devices on the root bus of a QEMU line (JSON or keyval `-device`s): slot → QEMU id.
fn root_bus_of(line: &str, root: &str) -> BTreeMap<u32, String> {
    let words = shell_words(line).unwrap();
    let mut out = BTreeMap::new();
    for opt in qemu_options(&words).unwrap() {
        if opt.name != "device" {
            continue;
        }
        let p = Props::parse(opt.value.as_deref().unwrap_or(""), Some("driver")).unwrap();
        if p.get_str("bus").as_deref() != Some(root) {
            continue;
        }
        let addr = p.get_str("addr").unwrap_or_default();
        let slot = addr.split('.').next().unwrap_or("");
        let slot = u32::from_str_radix(slot.trim_start_matches("0x"), 16).unwrap();
        let previous = out.insert(slot, p.get_str("id").unwrap_or_default());
        assert!(previous.is_none(), "two devices in slot {slot:#x} of {root}:\n{line}");
    }
    out
}

// ---------------------------------------------------------------------------
// What vnumac builds
// ---------------------------------------------------------------------------

/// Proves vnumac fills the root bus to the last of its 30 free slots (q35: 1 to 0x1e; `pc`:
/// 2 to 0x1f), devices and virtio memory devices alike, and refuses one more with the count.
#[test]
fn vnumac_fills_the_root_bus_to_its_last_slot_and_no_further() {
    for (machine, fill, last_id) in cases() {
        let family = MachineFamily::of(machine);
        let (root, slots) = (family.root_bus(), family.root_slots());
        let (_, line) = build(&guest(machine, fill, 30)).unwrap();
        let on_root = root_bus_of(&line, root);
        assert_eq!(
            on_root.keys().copied().collect::<Vec<_>>(),
            slots.clone().collect::<Vec<_>>(),
            "{machine} {fill:?}: {on_root:?}"
        );
        assert_eq!(on_root[slots.end()], last_id, "{machine} {fill:?}: {on_root:?}");

        let errors = build(&guest(machine, fill, 31)).unwrap_err();
        let (message, help) = match fill {
            Fill::Devices => (
                format!("more devices than {root} has slots"),
                format!("{root} has 30 free slots; put devices behind expanders with `node=` or `on=`"),
            ),
            Fill::Memory | Fill::Mixed => (
                "no slot is left on the root bus for this device".to_owned(),
                format!("{root} has 30 free slots; put other devices behind expanders"),
            ),
        };
        assert!(
            errors
                .iter()
                .any(|(c, m, h)| *c == "vnuma::E0328" && *m == message && *h == help),
            "{machine} {fill:?}, 31 devices: {errors:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// QEMU
// ---------------------------------------------------------------------------

/// Starts `line` (with `extra` options appended) paused and returns `query-pci`'s answer.
fn query_pci(line: &str, extra: &[&str], scratch: &Scratch) -> Result<Value, String> {
    let words = shell_words(line)?;
    let mut argv = neutralise(&qemu_options(&words)?, Run::Paused(scratch))?;
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let commands = [
        json!({"execute": "qmp_capabilities"}),
        json!({"execute": "query-pci"}),
        json!({"execute": "quit"}),
    ];
    let (returns, _, _) = run_qmp(QEMU, &argv, &commands, Duration::from_secs(120))?;
    Ok(returns[1].clone())
}

/// Proves QEMU starts the fullest root bus vnumac builds, with vnumac's device in the last
/// slot (and q35's chipset in 0x1f), and finds no slot for one device more.
#[test]
fn qemu_starts_the_full_root_bus_and_has_no_slot_for_one_more() {
    if !oracle_available(QEMU) {
        return;
    }
    for (machine, fill, last_id) in cases() {
        let family = MachineFamily::of(machine);
        let (root, slots) = (family.root_bus(), family.root_slots());
        let (_, line) = build(&guest(machine, fill, 30)).unwrap();
        let scratch = Scratch::new("root-bus").unwrap();
        let pci = query_pci(&line, &[], &scratch).unwrap();
        let bus = root_bus_devices(&pci);
        let ids: BTreeMap<u32, String> = bus
            .iter()
            .filter(|d| d.function == 0 && !d.id.is_empty())
            .map(|d| (d.slot as u32, d.id.clone()))
            .collect();
        assert_eq!(ids, root_bus_of(&line, root), "{machine} {fill:?}: {bus:?}");
        assert_eq!(ids.get(slots.end()).map(String::as_str), Some(last_id), "{bus:?}");
        let chipset: Vec<&str> = bus
            .iter()
            .filter(|d| d.slot == 0x1f)
            .map(|d| d.class.as_str())
            .collect();
        if family == MachineFamily::Q35 {
            assert_eq!(chipset, ["ISA bridge", "SATA controller", "SMBus"], "{bus:?}");
        } else {
            assert!(bus.iter().any(|d| d.slot == 1 && d.class == "ISA bridge"), "{bus:?}");
        }

        // One more device on the root bus: QEMU finds no free slot.
        let extra = format!("virtio-rng-pci,id=extra,bus={root}");
        let scratch = Scratch::new("root-bus").unwrap();
        let refused = query_pci(&line, &["-device", &extra], &scratch).unwrap_err();
        assert!(
            refused.contains("no slot/function available for virtio-rng-pci, all in use or reserved"),
            "{machine} {fill:?}: {refused}"
        );
    }
}

// ---------------------------------------------------------------------------
// libvirt
// ---------------------------------------------------------------------------

/// `xml` with `element` added before `<memballoon>`.
fn with_device(xml: &str, element: &str) -> String {
    let at = xml.find("    <memballoon").unwrap();
    format!("{}{element}{}", &xml[..at], &xml[at..])
}

/// An expander bus controller with index `index` and no address: it can only sit on the
/// root bus, and libvirt picks its slot.
fn expander_without_address(family: MachineFamily, index: u32) -> String {
    let (model, _) = family.expander();
    format!(
        "    <controller type='pci' index='{index}' model='{model}'>\n      <target>\n        \
         <node>0</node>\n      </target>\n    </controller>\n"
    )
}

/// The highest `<controller type='pci' index=…>` of `xml`.
fn top_index(xml: &str) -> u32 {
    xml.match_indices("<controller type='pci' index='")
        .filter_map(|(at, m)| {
            let rest = &xml[at + m.len()..];
            rest[..rest.find('\'')?].parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Proves libvirt 9.0 builds vnumac's full root bus from vnumac's XML, slot for slot, and
/// refuses a device in the slot after it (q35's 0x1f) or an expander left to find a slot;
/// and that on q35 it gives 0x1e itself when that slot is the only free one.
#[test]
fn libvirt_takes_the_full_root_bus_and_no_more() {
    let built: Vec<_> = cases()
        .into_iter()
        .map(|(machine, fill, _)| (machine, fill, build(&guest(machine, fill, 30)).unwrap()))
        .collect();
    if !oracle_available(VALIDATOR) || !oracles_available() {
        return;
    }
    let (compiled, _) = common::hosts::compile(&guest("q35", Fill::Memory, 1));
    let profile = compiled.checked.hosts[0].as_ref().unwrap().profile.clone();
    let scratch = Scratch::new("root-bus-libvirt").unwrap();
    write_fake_node_tree(&profile, &scratch.dir.join("node")).unwrap();
    let daemon = Daemon::start(&scratch.dir, &scratch.dir.join("cache")).unwrap();
    let to_native = |name: &str, xml: &str| {
        let path = scratch.dir.join(format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        daemon.virsh(&["domxml-to-native", "qemu-argv", &path.to_string_lossy()])
    };
    let mut failures = Vec::new();
    for (machine, fill, (xml, line)) in &built {
        let family = MachineFamily::of(machine);
        let (root, slots) = (family.root_bus(), family.root_slots());
        let label = format!("{machine} {fill:?}");
        let path = scratch.dir.join("domain.xml");
        std::fs::write(&path, xml).unwrap();
        validate_xml(&path).unwrap();
        let libvirt = match to_native("domain", xml) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{label}: libvirt refuses it: {e}"));
                continue;
            }
        };
        let outcome = compare_lines(&libvirt, line, &declared_pci_ids(xml).unwrap()).unwrap();
        if !outcome.diffs.is_empty() {
            failures.push(format!("{label}:\n{}", outcome.diffs.join("\n")));
        }
        let (theirs, ours) = (root_bus_of(&libvirt, root), root_bus_of(line, root));
        if theirs != ours || !theirs.keys().copied().eq(slots) {
            failures.push(format!("{label}: libvirt's {root} {theirs:?}\nvnumac's {ours:?}"));
        }

        // An expander left without an address: no slot is free for it.
        let more = with_device(xml, &expander_without_address(family, top_index(xml) + 1));
        match to_native("more", &more) {
            Ok(l) => failures.push(format!("{label}: libvirt places a 31st device:\n{l}")),
            Err(e) => assert!(
                e.contains(&format!(
                    "a PCI slot is needed to connect a PCI controller model='{}', but none is available",
                    family.expander().0
                )),
                "{label}: {e}"
            ),
        }
        if family != MachineFamily::Q35 {
            continue;
        }
        // On q35 a device in the slot after the last, 0x1f, is the chipset's.
        let next = format!(
            "    <controller type='pci' index='{}' model='pcie-root-port'>\n      \
             <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x0'/>\n    </controller>\n",
            top_index(xml) + 1
        );
        match to_native("next", &with_device(xml, &next)) {
            Ok(l) => failures.push(format!("{label}: libvirt takes slot 0x1f:\n{l}")),
            Err(e) => assert!(
                e.contains("Attempted double use of PCI Address 0000:00:1f.0"),
                "{label}: {e}"
            ),
        }
    }

    // libvirt's own last slot on q35 is 0x1e: with 1 to 0x1d taken, an expander left without
    // an address gets it. On `pc` it keeps the one free slot for a bridge of its own.
    for machine in ["q35", "pc"] {
        let family = MachineFamily::of(machine);
        let (xml, _) = build(&guest(machine, Fill::Memory, 29)).unwrap();
        let more = with_device(&xml, &expander_without_address(family, top_index(&xml) + 1));
        let answer = to_native("own", &more);
        if family == MachineFamily::Q35 {
            match answer {
                Ok(l) => {
                    let on_root = root_bus_of(&l, family.root_bus());
                    if on_root.get(family.root_slots().end()).map(String::as_str) != Some("pci.1") {
                        failures.push(format!("q35: libvirt does not give 0x1e to the expander: {on_root:?}"));
                    }
                }
                Err(e) => failures.push(format!("q35: libvirt has no slot for the expander: {e}")),
            }
        } else {
            match answer {
                Ok(l) => failures.push(format!("pc: libvirt gives its last free slot away:\n{l}")),
                Err(e) => assert!(e.contains("but none is available"), "pc: {e}"),
            }
        }
    }
    daemon.stop().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
