//! The domain outside `<devices>`: name, type, machine, CPU, memory, vCPUs, cells,
//! distances, pinning and memory binding.

use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs, drop_unknown_children};
use super::quote::word_or_string;
use super::read::attr_u32;
use crate::ir;
use crate::numbers::TOPOLOGY;

/// Top-level elements read here or in `devices`; anything else is a note.
const KNOWN: &[&str] = &[
    "name",
    "memory",
    "maxMemory",
    "currentMemory",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "cputune",
    "iothreads",
    "iothreadids",
    "numatune",
    "os",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "devices",
];

pub(super) fn read(root: &Node, notes: &mut Notes) -> Result<Draft, ImportError> {
    let mut d = Draft::default();
    for c in root.children.iter().filter(|c| !KNOWN.contains(&c.name.as_str())) {
        notes.drop(c.describe());
    }
    let name = root.child("name").map(Node::trimmed).unwrap_or_default();
    if name.is_empty() {
        return Err(error_at(root.at, "the domain has no <name>"));
    }
    d.name = name.to_string();
    drop_unknown_attrs(root, &["type", "id"], notes);
    d.running = root.attr("id").is_some();
    match root.attr("type").unwrap_or("kvm") {
        "kvm" => {}
        "qemu" => d.qemu = true,
        other => notes.change(format!("<domain type='{other}'>: imported as kvm")),
    }
    os(root, &mut d, notes);
    features(root, notes);
    d.vcpus = super::vcpus::count(root)?;
    let machine = d.machine.as_deref().unwrap_or("q35");
    if let Some(max) = crate::check::values::machine_max_vcpus(machine).filter(|max| d.vcpus > *max) {
        return Err(error_at(
            root.child("vcpu").map_or(root.at, |v| v.at),
            format!(
                "{} vCPUs: machine `{machine}` takes at most {max} in QEMU 7.2 (libvirt rejects more)",
                d.vcpus
            ),
        ));
    }
    super::memory::memory(root, &mut d, notes)?;
    let cpu_node = root.child("cpu");
    cpu_mode(cpu_node, &mut d, notes)?;
    if let Some(c) = cpu_node {
        super::cells::cells(c, &mut d, notes)?;
    }
    super::vcpus::vcpus(root, &mut d, notes)?;
    super::tune::tune(root, &mut d, notes)?;
    rest(root, notes);
    Ok(d)
}

fn os(root: &Node, d: &mut Draft, notes: &mut Notes) {
    let Some(os) = root.child("os") else {
        notes.change("no <os>: vnumac writes an x86_64 hvm q35 machine");
        return;
    };
    drop_unknown_children(os, &["type"], notes);
    if let Some(fw) = os.attr("firmware") {
        notes.drop(format!("<os firmware='{fw}'>"));
    }
    let Some(t) = os.child("type") else {
        notes.change("no <os><type>: vnumac writes an x86_64 hvm q35 machine");
        return;
    };
    if let Some(arch) = t.attr("arch").filter(|a| *a != "x86_64") {
        notes.change(format!("<type arch='{arch}'>: vnumac writes x86_64 guests"));
    }
    if t.trimmed() != "hvm" {
        notes.change(format!("<os><type>{}</type>: vnumac writes hvm", t.trimmed()));
    }
    match t.attr("machine") {
        Some("q35") => {}
        Some(m) => {
            machine_note(m, notes);
            d.machine = Some(m.to_string());
        }
        None => notes.change("no machine type: vnumac uses q35"),
    }
}

fn short(code: &str) -> &str {
    code.rsplit("::").next().unwrap_or(code)
}

/// A machine type QEMU 7.2 does not have is kept, with a note on what its host needs.
fn machine_note(machine: &str, notes: &mut Notes) {
    use crate::codes::{MACHINE_NOT_PC, MACHINE_UNKNOWN};
    use crate::ir::{Availability, MachineType, availability, oldest};
    let (unknown, not_pc) = (short(MACHINE_UNKNOWN), short(MACHINE_NOT_PC));
    let qemu = crate::host::target::DEFAULT_QEMU;
    let line = MachineType::parse(machine).line;
    match availability(machine, qemu) {
        Availability::Has | Availability::Deprecated { .. } => {}
        Availability::Newer { since } => notes.machine(
            unknown,
            format!("machine `{machine}` is QEMU {since}'s: give its host `qemu=\"{since}\"` or newer"),
        ),
        Availability::Removed { gone } => notes.machine(
            unknown,
            format!(
                "machine `{machine}` is gone from QEMU {gone}: use `{}` or newer",
                oldest(line, qemu)
            ),
        ),
        Availability::NoSuchVersion | Availability::Unknown => {
            notes.machine(unknown, format!("machine `{machine}` is no QEMU's"))
        }
        Availability::NotPcOrQ35 => {
            notes.machine(not_pc, format!("machine `{machine}`: vnumac writes pc and q35 guests"))
        }
    }
}

fn features(root: &Node, notes: &mut Notes) {
    let Some(f) = root.child("features") else {
        notes.change("no <features>: vnumac always enables <acpi/> and <apic/>");
        return;
    };
    drop_unknown_children(f, &["acpi", "apic"], notes);
    if f.child("acpi").is_none() || f.child("apic").is_none() {
        notes.change("vnumac always enables <acpi/> and <apic/>");
    }
}

fn cpu_mode(cpu: Option<&Node>, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let default = if d.qemu { "maximum" } else { "host-passthrough" };
    let Some(c) = cpu else {
        notes.change(format!("no <cpu>: vnumac's default is {default}"));
        return Ok(());
    };
    drop_unknown_children(c, &["model", "topology", "numa", "feature"], notes);
    drop_unknown_attrs(c, &["mode", "match", "check", "migratable"], notes);
    let model = c.child("model").map(Node::trimmed).filter(|m| !m.is_empty());
    match c.attr("mode").unwrap_or("custom") {
        "host-passthrough" if d.qemu => d.cpu = Some("host-passthrough".into()),
        "host-passthrough" => {}
        "host-model" => d.cpu = Some("host-model".into()),
        "maximum" if d.qemu => {}
        "maximum" => notes.change("<cpu mode='maximum'> on a kvm guest: vnumac uses host-passthrough"),
        "custom" => match model {
            Some(m) => d.cpu = Some(format!("custom model={}", word_or_string(m))),
            None => notes.change(format!("<cpu> without a mode or model: vnumac's default is {default}")),
        },
        other => notes.change(format!("<cpu mode='{other}'>: vnumac's default is {default}")),
    }
    // `migratable` and features, on a mode the language can name.
    let mode = c.attr("mode").unwrap_or("custom");
    let mut extra = String::new();
    if c.attr("migratable") == Some("off") {
        if mode == "host-passthrough" {
            extra.push_str(" migratable=false");
        } else {
            notes.drop(format!("<cpu mode='{mode}' migratable='off'>"));
        }
    }
    let mut require = Vec::new();
    let mut disable = Vec::new();
    for f in c.all("feature") {
        let Some(name) = f.attr("name") else {
            return Err(error_at(f.at, "<feature> has no `name`"));
        };
        match f.attr("policy").unwrap_or("require") {
            "require" | "force" => require.push(name),
            "disable" | "forbid" => disable.push(name),
            other => notes.drop(format!("<feature policy='{other}' name='{name}'>")),
        }
    }
    for (key, list) in [("require", &require), ("disable", &disable)] {
        if !list.is_empty() {
            extra.push_str(&format!(" {key}={}", word_or_string(&list.join(","))));
        }
    }
    if !extra.is_empty() {
        match (&mut d.cpu, mode) {
            (Some(line), _) => line.push_str(&extra),
            (None, "host-passthrough") => d.cpu = Some(format!("host-passthrough{extra}")),
            (None, _) => notes.drop(format!("CPU features and `migratable` of <cpu mode='{mode}'>")),
        }
    }
    if let Some(t) = c.child("topology") {
        d.topology = Some(topology(t, d.vcpus, notes)?);
    }
    Ok(())
}

/// `<topology>`: sockets, cores and threads required, dies 1 unless given, none of them
/// 0, and their product the vCPU count, as libvirt requires.
fn topology(t: &Node, vcpus: u32, notes: &mut Notes) -> Result<ir::Topology, ImportError> {
    drop_unknown_attrs(t, &["sockets", "dies", "clusters", "cores", "threads"], notes);
    // libvirt 9.0 does not read `clusters`.
    if t.attr("clusters").is_some_and(|v| v != "1") {
        notes.drop("<topology clusters=…>");
    }
    let get = |k: &str, default: Option<u32>| {
        attr_u32(t, k, &TOPOLOGY)?
            .or(default)
            .ok_or_else(|| error_at(t.at, format!("<topology> has no `{k}` (libvirt rejects it)")))
    };
    let topology = ir::Topology {
        sockets: get("sockets", None)?,
        dies: get("dies", Some(1))?,
        cores: get("cores", None)?,
        threads: get("threads", None)?,
    };
    let product = [topology.dies, topology.cores, topology.threads]
        .iter()
        .fold(u64::from(topology.sockets), |p, v| p.saturating_mul(u64::from(*v)));
    if product != u64::from(vcpus) {
        return Err(error_at(
            t.at,
            format!("<topology> makes {product} vCPUs, but the guest has {vcpus} (libvirt rejects it)"),
        ));
    }
    Ok(topology)
}

fn rest(root: &Node, notes: &mut Notes) {
    if let Some(c) = root.child("clock") {
        let offset = c.attr("offset").unwrap_or("utc");
        if offset != "utc" {
            notes.drop(format!("<clock offset='{offset}'> (vnumac writes utc)"));
        }
        drop_unknown_children(c, &[], notes);
    }
    for (el, default) in [
        ("on_poweroff", "destroy"),
        ("on_reboot", "restart"),
        ("on_crash", "destroy"),
    ] {
        if let Some(v) = root.child(el).map(Node::trimmed).filter(|v| *v != default) {
            notes.drop(format!("<{el}>{v}</{el}> (vnumac writes {default})"));
        }
    }
}
