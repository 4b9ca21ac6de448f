//! The domain outside `<devices>`: name, type, machine, CPU, memory, vCPUs, cells,
//! distances, pinning and memory binding.

use super::dom::Node;
use super::read::{at_most, attr_u32, required_kib, text_kib};
use super::{ImportError, Notes, drop_unknown_attrs, drop_unknown_children, error_at, word_or_string};
use crate::ir;
use crate::numbers::{ALLOCATION_THREADS, SLOTS, TOPOLOGY};
use crate::sets::IdSet;

/// Everything the importer found, before it is written out.
#[derive(Debug, Default)]
pub(super) struct Draft {
    pub name: String,
    pub qemu: bool,
    /// Written when not `q35`.
    pub machine: Option<String>,
    /// The `cpu` statement's arguments, when not the default.
    pub cpu: Option<String>,
    /// libvirt's `<memory>`: initial memory plus memory devices; None when the XML has none.
    pub total_kib: Option<u64>,
    /// The guest's initial memory as libvirt starts it (see [`settle_memory`]).
    pub initial_kib: u64,
    pub max: Option<(u64, u32)>,
    pub locked: bool,
    pub hugepage_kib: Option<u64>,
    /// Cells whose page size differs from `hugepage_kib` (4 KiB: ordinary memory).
    pub cell_pages: Vec<(u32, u64)>,
    /// `source=`, `access=`, `prealloc=true`, `discard=true` on `memory`.
    pub backing: Vec<String>,
    pub vcpus: u32,
    /// `boot=M`, when fewer than all vCPUs are online at boot.
    pub boot: Option<u32>,
    /// `current=M`: libvirt's own order, vCPUs 0 to M−1 online and fixed, the rest offline.
    pub current: Option<u32>,
    /// `hotpluggable=true`: every vCPU online, all but vCPU 0 hot-pluggable.
    pub hotpluggable: bool,
    pub topology: Option<ir::Topology>,
    pub cells: Vec<Cell>,
    /// `distance A B V` lines.
    pub distances: Vec<(u32, u32, u32)>,
    /// HMAT `cache`, `latency` and `bandwidth` lines of the `numa` block.
    pub hmat: Vec<String>,
    /// (vCPUs, host CPUs), one `pin` line each.
    pub pins: Vec<(IdSet, IdSet)>,
    pub emulator: Option<IdSet>,
    /// `iothreads N` and the CPUs every one of them is pinned to.
    pub iothreads: Option<(u32, Option<IdSet>)>,
    /// The mode and the nodeset; no nodeset for `placement='auto'`.
    pub memory_policy: Option<(String, Option<IdSet>)>,
    /// `dimm` / `nvdimm` lines, and their total size.
    pub memdevs: Vec<String>,
    pub memdev_kib: u64,
    /// Lines of the `devices { }` block.
    pub devices: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Cell {
    pub id: u32,
    /// Byte offset of its `<cell>`.
    pub at: usize,
    pub cpus: Option<IdSet>,
    pub memory_kib: u64,
    pub host_node: Option<IdSet>,
    /// Written when not `strict`.
    pub policy: Option<String>,
    /// `memAccess`: `shared` or `private`.
    pub access: Option<String>,
    /// `discard='yes|no'`.
    pub discard: Option<bool>,
}

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

pub(super) const POLICIES: &[&str] = &["strict", "preferred", "interleave", "restrictive"];

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
    memory(root, &mut d, notes)?;
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
        Some(m) => d.machine = Some(m.to_string()),
        None => notes.change("no machine type: vnumac uses q35"),
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

fn memory(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    // Without <memory>, libvirt takes the cells' sum; the cells are read later (settle_memory).
    if let Some(m) = root.child("memory") {
        d.total_kib = text_kib(m, "<memory>", notes)?;
    }
    if let Some(cur) = root.child("currentMemory")
        && let Some(kib) = text_kib(cur, "<currentMemory>", notes)?
        && Some(kib) != d.total_kib
    {
        notes.drop("<currentMemory> (a balloon target; vnumac guests have no balloon)");
    }
    if let Some(max) = root.child("maxMemory") {
        // Absent, empty or 0 slots: libvirt 9.0 rejects the <maxMemory>, newer libvirt takes it.
        let slots = attr_u32(max, "slots", &SLOTS)?.unwrap_or(0);
        let slots = at_most(max, slots, MAX_SLOTS, "the 255 memory slots QEMU takes on x86_64")?;
        if slots == 0 {
            notes.newer("<maxMemory> without slots; add `slots=1` to `max=`, which every libvirt takes");
        }
        let kib = required_kib(max, "<maxMemory>", notes)?;
        let kib = round_up(kib, MIB, "<maxMemory>", notes);
        d.max = Some((kib, slots));
    }
    let Some(mb) = root.child("memoryBacking") else {
        return Ok(());
    };
    drop_unknown_children(
        mb,
        &["hugepages", "locked", "source", "access", "allocation", "discard"],
        notes,
    );
    d.locked = mb.child("locked").is_some();
    backing(mb, d, notes)?;
    let Some(hp) = mb.child("hugepages") else {
        return Ok(());
    };
    super::pages::read(root, hp, d, notes)
}

/// `<source>`, `<access>`, `<allocation>` and `<discard>` of `<memoryBacking>`.
fn backing(mb: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    if let Some(s) = mb.child("source") {
        drop_unknown_attrs(s, &["type"], notes);
        match s.attr("type") {
            Some(t @ ("file" | "memfd")) => d.backing.push(format!("source={t}")),
            Some("anonymous") | None => {}
            Some(t) => notes.drop(format!("<source type='{t}'> in <memoryBacking>")),
        }
    }
    if let Some(a) = mb.child("access") {
        drop_unknown_attrs(a, &["mode"], notes);
        match a.attr("mode") {
            Some(m @ ("shared" | "private")) => d.backing.push(format!("access={m}")),
            other => notes.drop(format!("<access mode='{}'>", other.unwrap_or(""))),
        }
    }
    if let Some(a) = mb.child("allocation") {
        drop_unknown_attrs(a, &["mode", "threads"], notes);
        match a.attr("mode") {
            Some("immediate") => d.backing.push("prealloc=true".into()),
            Some("ondemand") | None => {}
            Some(m) => notes.drop(format!("<allocation mode='{m}'>")),
        }
        // Absent, empty or 0: QEMU's default.
        if let Some(t) = attr_u32(a, "threads", &ALLOCATION_THREADS)?.filter(|t| *t > 0) {
            d.backing.push(format!("prealloc-threads={t}"));
        }
    }
    if mb.child("discard").is_some() {
        d.backing.push("discard=true".into());
    }
    Ok(())
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

pub(super) const MIB: u64 = 1024;

/// The most memory slots a guest has (`max=… slots=` in a `.vnuma` file takes 1 to 255).
const MAX_SLOTS: u32 = 255;

/// `kib` rounded up to a multiple of `granule` KiB, as `qemuDomainAlignMemorySizes` does
/// when the guest starts; a note when that changes it.
pub(super) fn round_up(kib: u64, granule: u64, what: &str, notes: &mut Notes) -> u64 {
    let up = kib.div_ceil(granule).saturating_mul(granule);
    if up != kib {
        notes.change(format!(
            "{what} of {kib} KiB is rounded up to {up} KiB, a multiple of {} MiB, as libvirt does when it starts the guest",
            granule / MIB
        ));
    }
    up
}

/// The initial memory as libvirt starts the guest: with cells, the sum of the (rounded)
/// cells; otherwise `<memory>` less the memory devices, rounded up to 1 MiB.
pub(super) fn settle_memory(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let cells: u64 = d.cells.iter().map(|c| c.memory_kib).sum();
    match d.total_kib {
        None if d.cells.is_empty() => return Err(error_at(root.at, "the domain has no <memory> and no NUMA cells")),
        None => {}
        Some(total) if !d.cells.is_empty() => {
            let initial = total.saturating_sub(d.memdev_kib);
            if initial != cells {
                notes.change(format!(
                    "<memory> less the memory devices is {initial} KiB, but the cells hold {cells} KiB: libvirt starts the guest with the cells' sum"
                ));
            }
        }
        Some(_) => {}
    }
    d.initial_kib = match d.total_kib {
        _ if !d.cells.is_empty() => cells,
        Some(total) => round_up(total.saturating_sub(d.memdev_kib), MIB, "the initial memory", notes),
        None => 0,
    };
    Ok(())
}
