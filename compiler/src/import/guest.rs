//! The domain outside `<devices>`: name, type, machine, CPU, memory, vCPUs, cells,
//! distances, pinning and memory binding.

use std::collections::BTreeMap;

use super::dom::Node;
use super::{
    ImportError, Notes, attr_u32, drop_unknown_attrs, drop_unknown_children, error_at, id_set, number, text_kib,
    word_or_string,
};
use crate::ir;
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

const POLICIES: &[&str] = &["strict", "preferred", "interleave", "restrictive"];

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
    memory(root, &mut d, notes)?;
    let cpu_node = root.child("cpu");
    cpu_mode(cpu_node, &mut d, notes)?;
    if let Some(c) = cpu_node {
        cells(c, &mut d, notes)?;
    }
    vcpus(root, &mut d, notes)?;
    tune(root, &mut d, notes)?;
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
        d.total_kib = Some(text_kib(m, "<memory>", notes)?);
    }
    if let Some(cur) = root.child("currentMemory") {
        let kib = text_kib(cur, "<currentMemory>", notes)?;
        if Some(kib) != d.total_kib {
            notes.drop("<currentMemory> (a balloon target; vnumac guests have no balloon)");
        }
    }
    if let Some(max) = root.child("maxMemory") {
        let slots = attr_u32(max, "slots")?.unwrap_or(0);
        if max.attr("slots").is_none() {
            notes.newer("<maxMemory> without slots; add `slots=1` to `max=`, which every libvirt takes");
        }
        let kib = round_up(text_kib(max, "<maxMemory>", notes)?, MIB, "<maxMemory>", notes);
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
    backing(mb, d, notes);
    let Some(hp) = mb.child("hugepages") else {
        return Ok(());
    };
    super::pages::read(root, hp, d, notes)
}

/// `<source>`, `<access>`, `<allocation>` and `<discard>` of `<memoryBacking>`.
fn backing(mb: &Node, d: &mut Draft, notes: &mut Notes) {
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
        match attr_u32(a, "threads") {
            Ok(Some(t)) if t > 0 => d.backing.push(format!("prealloc-threads={t}")),
            Ok(None) => {}
            Ok(Some(_)) | Err(_) => notes.drop(format!("<allocation threads='{}'>", a.attr("threads").unwrap_or(""))),
        }
    }
    if mb.child("discard").is_some() {
        d.backing.push("discard=true".into());
    }
}

pub(super) fn cell_id(c: &Node, pos: usize) -> u32 {
    c.attr("id")
        .and_then(number)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(pos as u32)
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
        drop_unknown_attrs(t, &["sockets", "dies", "clusters", "cores", "threads"], notes);
        let get = |k: &str| attr_u32(t, k);
        if get("clusters")?.is_some_and(|v| v != 1) {
            notes.drop("<topology clusters=…>");
        }
        d.topology = Some(ir::Topology {
            sockets: get("sockets")?.unwrap_or(1),
            dies: get("dies")?.unwrap_or(1),
            cores: get("cores")?.unwrap_or(1),
            threads: get("threads")?.unwrap_or(1),
        });
    }
    Ok(())
}

fn cells(cpu: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let Some(numa) = cpu.child("numa") else {
        return Ok(());
    };
    drop_unknown_children(numa, &["cell", "interconnects"], notes);
    let mut rows: Vec<Vec<(u32, u32, usize)>> = Vec::new();
    for (i, c) in numa.all("cell").enumerate() {
        drop_unknown_children(c, &["distances", "cache"], notes);
        for cache in c.all("cache") {
            d.hmat.push(super::hmat::cache(cache, cell_id(c, i), notes)?);
        }
        drop_unknown_attrs(c, &["id", "cpus", "memory", "unit", "memAccess", "discard"], notes);
        let access = match c.attr("memAccess") {
            None => None,
            Some(a @ ("shared" | "private")) => Some(a.to_string()),
            Some(other) => {
                return Err(error_at(
                    c.at,
                    format!("<cell memAccess='{other}'>: libvirt knows `shared` and `private`"),
                ));
            }
        };
        let discard = match c.attr("discard") {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(other) => {
                return Err(error_at(
                    c.at,
                    format!("<cell discard='{other}'>: libvirt knows `yes` and `no`"),
                ));
            }
        };
        let id = attr_u32(c, "id")?.unwrap_or(i as u32);
        let cpus = c
            .attr("cpus")
            .filter(|s| !s.trim().is_empty())
            .map(|s| id_set(c, "cpus", s))
            .transpose()?;
        let mem = c
            .attr("memory")
            .ok_or_else(|| error_at(c.at, "<cell> has no `memory`"))?;
        let memory_kib = super::size_kib(c, mem, c.attr("unit"), "<cell memory>", notes)?;
        let memory_kib = round_up(memory_kib, MIB, &format!("cell {id}'s memory"), notes);
        d.cells.push(Cell {
            id,
            cpus: cpus.filter(|s| !s.is_empty()),
            memory_kib,
            host_node: None,
            policy: None,
            access,
            discard,
        });
        let mut row = Vec::new();
        if let Some(ds) = c.child("distances") {
            for s in ds.all("sibling") {
                let (Some(j), Some(v)) = (attr_u32(s, "id")?, attr_u32(s, "value")?) else {
                    return Err(error_at(s.at, "<sibling> needs `id` and `value`"));
                };
                row.push((j, v, s.at));
            }
        }
        rows.push(row);
    }
    distances(d, &rows, notes);
    d.hmat.extend(super::hmat::interconnects(numa, notes)?);
    Ok(())
}

/// `distance` lines for the pairs that differ from the default (symmetric fill, else 20).
fn distances(d: &mut Draft, rows: &[Vec<(u32, u32, usize)>], notes: &mut Notes) {
    if rows.iter().all(Vec::is_empty) {
        return;
    }
    let ids: Vec<u32> = d.cells.iter().map(|c| c.id).collect();
    let mut given: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let a = ids.get(i).copied().unwrap_or(i as u32);
        for &(b, v, _) in row {
            if !ids.contains(&b) {
                notes.drop(format!("the distance from cell {a} to cell {b}, which does not exist"));
                continue;
            }
            let bad = if a == b { v != 10 } else { !(11..=255).contains(&v) };
            if bad {
                notes.drop(format!(
                    "the distance table: {a}→{b} is {v} (the diagonal must be 10, other pairs 11 to 255)"
                ));
                return;
            }
            if a != b {
                given.insert((a, b), v);
            }
        }
    }
    let mut lines = Vec::new();
    for (&(a, b), &v) in &given {
        let keep = match given.get(&(b, a)) {
            // Symmetric: once, unless it is the default.
            Some(&w) if w == v => a < b && v != 20,
            // Asymmetric: both directions.
            Some(_) => true,
            // One direction only: mirrored, so only when not the default.
            None => v != 20,
        };
        if keep {
            lines.push((a, b, v));
        }
    }
    if lines.is_empty()
        && let Some(&first) = ids.first()
    {
        // A table vnumac must still write: one line that says the default.
        lines.push(match ids.iter().find(|&&i| i != first) {
            Some(&b) => (first, b, 20),
            None => (first, first, 10),
        });
    }
    d.distances = lines;
}

fn vcpus(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let Some(v) = root.child("vcpu") else {
        return Err(error_at(root.at, "the domain has no <vcpu>"));
    };
    d.vcpus = number(v.trimmed())
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| error_at(v.at, format!("<vcpu> is `{}`, not a number", v.trimmed())))?;
    // `placement='static'` is the default and what vnumac writes; `auto` is a note.
    let known: &[&str] = match v.attr("placement") {
        Some("static") => &["placement", "current", "cpuset"],
        _ => &["current", "cpuset"],
    };
    drop_unknown_attrs(v, known, notes);
    let current = attr_u32(v, "current")?;
    let mut list = Vec::new();
    if let Some(vs) = root.child("vcpus") {
        for e in vs.all("vcpu") {
            let id = attr_u32(e, "id")?.ok_or_else(|| error_at(e.at, "<vcpu> in <vcpus> has no `id`"))?;
            let yes = |k: &str| e.attr(k) == Some("yes");
            list.push((id, yes("enabled"), yes("hotpluggable"), attr_u32(e, "order")?));
        }
    }
    // libvirt's default shape: the first M online and fixed, the rest offline and hot-pluggable.
    let online = list.iter().filter(|v| v.1).count() as u32;
    let fixed_shape = list.len() == d.vcpus as usize
        && list
            .iter()
            .all(|&(id, en, hp, _)| id < d.vcpus && en == (id < online) && hp == (id >= online));
    match (list.is_empty(), current) {
        (true, Some(c)) if c < d.vcpus => {
            d.current = Some(c);
            return Ok(());
        }
        (false, _) if fixed_shape && online < d.vcpus => {
            d.current = Some(online);
            return Ok(());
        }
        _ => {}
    }
    let hot = list.iter().any(|&(_, en, hp, _)| hp || !en);
    let boot = if hot {
        Some(list.iter().filter(|v| v.1).count() as u32)
    } else {
        current.filter(|&c| c < d.vcpus)
    };
    let Some(boot) = boot else { return Ok(()) };
    if boot < d.vcpus {
        d.boot = Some(boot);
    } else {
        d.hotpluggable = true;
    }
    if d.vcpus > 4096 || boot == 0 {
        return Ok(()); // vnumac reports these when the guest is compiled.
    }
    let expected = crate::hotplug::states(&model_guest(d), boot);
    let same = |with_order: bool| {
        list.len() == expected.len()
            && expected.iter().all(|s| {
                list.iter().any(|&(id, en, hp, order)| {
                    id == s.id && en == s.enabled && hp == s.hotpluggable && (!with_order || order == s.order)
                })
            })
    };
    if list.is_empty() {
        notes.change("<vcpu current=…> without <vcpus>: vnumac writes a balanced <vcpus> list");
    } else if !same(false) {
        let online: IdSet = expected.iter().filter(|s| s.enabled).map(|s| s.id).collect();
        let was: IdSet = list.iter().filter(|v| v.1).map(|v| v.0).collect();
        notes.change(format!(
            "the <vcpus> list: vnumac recomputes a balanced one (online at boot: {online}, not {was}; every vCPU but 0 hot-pluggable)"
        ));
    } else if !same(true) {
        notes.change("the <vcpus> order= values: vnumac recomputes the plug order");
    }
    Ok(())
}

/// Just enough of a guest for the hotplug order.
fn model_guest(d: &Draft) -> ir::Guest {
    ir::Guest {
        name: d.name.clone(),
        vcpus: d.vcpus,
        topology: d.topology,
        cells: d
            .cells
            .iter()
            .map(|c| ir::GuestCell {
                id: c.id,
                vcpus: c.cpus.clone().unwrap_or_default(),
                memory_kib: c.memory_kib,
                binding: None,
                hugepage_kib: None,
                shared: None,
                discard: None,
            })
            .collect(),
        ..Default::default()
    }
}

/// `<iothreads>` and its `<iothreadpin>`s; one CPU set for all of them, as the language says.
fn iothreads(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let pins: Vec<&Node> = root
        .child("cputune")
        .map(|ct| ct.all("iothreadpin").collect())
        .unwrap_or_default();
    let Some(n) = root.child("iothreads") else {
        if !pins.is_empty() {
            notes.drop("<iothreadpin> without <iothreads>");
        }
        return Ok(());
    };
    let count = number(n.trimmed())
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| error_at(n.at, format!("<iothreads> is `{}`, not a number", n.trimmed())))?;
    if count == 0 {
        return Ok(());
    }
    let mut sets: BTreeMap<u32, IdSet> = BTreeMap::new();
    for p in pins {
        let (Some(id), Some(set)) = (attr_u32(p, "iothread")?, p.attr("cpuset")) else {
            return Err(error_at(p.at, "<iothreadpin> needs `iothread` and `cpuset`"));
        };
        if id == 0 || id > count {
            return Err(error_at(
                p.at,
                format!("<iothreadpin iothread='{id}'>: the guest has I/O threads 1 to {count}"),
            ));
        }
        sets.insert(id, id_set(p, "cpuset", set)?);
    }
    let first = sets.values().next().cloned();
    let pin = match first {
        Some(s) if sets.len() as u32 == count && sets.values().all(|v| *v == s) => Some(s),
        Some(_) => {
            notes.drop(
                "<iothreadpin>s that differ between I/O threads or leave some unpinned (vnumac pins them all alike)",
            );
            None
        }
        None => None,
    };
    d.iothreads = Some((count, pin));
    Ok(())
}

fn tune(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let mut pinned: BTreeMap<u32, IdSet> = BTreeMap::new();
    if let Some(ct) = root.child("cputune") {
        drop_unknown_children(ct, &["vcpupin", "emulatorpin", "iothreadpin"], notes);
        for p in ct.all("vcpupin") {
            let (Some(v), Some(set)) = (attr_u32(p, "vcpu")?, p.attr("cpuset")) else {
                return Err(error_at(p.at, "<vcpupin> needs `vcpu` and `cpuset`"));
            };
            pinned.insert(v, id_set(p, "cpuset", set)?);
        }
        if let Some(e) = ct.child("emulatorpin") {
            let set = e
                .attr("cpuset")
                .ok_or_else(|| error_at(e.at, "<emulatorpin> has no `cpuset`"))?;
            d.emulator = Some(id_set(e, "cpuset", set)?);
        }
    }
    iothreads(root, d, notes)?;
    // `<vcpu cpuset>` is the default for vCPUs without a <vcpupin>, and for the emulator.
    if let Some(v) = root.child("vcpu")
        && let Some(s) = v.attr("cpuset")
    {
        let set = id_set(v, "cpuset", s)?;
        for id in 0..d.vcpus.min(4096) {
            pinned.entry(id).or_insert_with(|| set.clone());
        }
        d.emulator.get_or_insert(set);
        notes.change(format!(
            "<vcpu cpuset='{s}'>: written as `pin` lines for the vCPUs without a <vcpupin>, and as `emulator`"
        ));
    }
    let mut groups: Vec<(IdSet, IdSet)> = Vec::new();
    for (v, set) in pinned {
        match groups.iter_mut().find(|(_, s)| *s == set) {
            Some((vs, _)) => vs.insert(v),
            None => groups.push((IdSet::single(v), set)),
        }
    }
    d.pins = groups;
    // With `<vcpu placement='auto'>`, memory that <numatune> does not place is placed by
    // numad too (libvirt's numatune parser), under the default mode, strict.
    let vcpus_auto = root.child("vcpu").and_then(|v| v.attr("placement")) == Some("auto");
    let numad_memory = |notes: &mut Notes| {
        notes
            .change("<vcpu placement='auto'>: libvirt places the memory by numad too (`memory-policy placement=auto`)");
    };
    let Some(nt) = root.child("numatune") else {
        if vcpus_auto {
            d.memory_policy = Some(("strict".to_string(), None));
            numad_memory(notes);
        }
        return Ok(());
    };
    drop_unknown_children(nt, &["memory", "memnode"], notes);
    if vcpus_auto && nt.child("memory").is_none() && nt.child("memnode").is_none() {
        d.memory_policy = Some(("strict".to_string(), None));
        numad_memory(notes);
    }
    let mode = |n: &Node, notes: &mut Notes| -> Option<String> {
        match n.attr("mode").unwrap_or("strict") {
            m if POLICIES.contains(&m) => Some(m.to_string()),
            m => {
                notes.drop(format!("<{} mode='{m}'>", n.name));
                None
            }
        }
    };
    if let Some(m) = nt.child("memory") {
        match (m.attr("placement"), m.attr("nodeset")) {
            (Some("auto"), ns) => {
                if let Some(ns) = ns {
                    notes.change(format!(
                        "<numatune><memory placement='auto' nodeset='{ns}'>: libvirt ignores the nodeset and asks numad"
                    ));
                }
                if let Some(mode) = mode(m, notes) {
                    d.memory_policy = Some((mode, None));
                }
            }
            (Some("static") | None, Some(ns)) => {
                let set = id_set(m, "nodeset", ns)?;
                if let Some(mode) = mode(m, notes) {
                    d.memory_policy = Some((mode, Some(set)));
                }
            }
            (Some("static"), None) => {
                return Err(error_at(
                    m.at,
                    "<numatune><memory placement='static'> needs a nodeset (libvirt rejects it without one)",
                ));
            }
            (Some(other), _) => {
                return Err(error_at(
                    m.at,
                    format!("<numatune><memory placement='{other}'>: libvirt knows `static` and `auto`"),
                ));
            }
            (None, None) if vcpus_auto => {
                if let Some(mode) = mode(m, notes) {
                    d.memory_policy = Some((mode, None));
                    numad_memory(notes);
                }
            }
            (None, None) => notes.drop("<numatune><memory> without a nodeset or a placement".to_string()),
        }
    }
    if nt.child("memnode").is_some() && d.cells.is_empty() {
        return Err(error_at(
            nt.at,
            "<memnode> without guest NUMA cells (libvirt rejects it)",
        ));
    }
    for mn in nt.all("memnode") {
        let (Some(id), Some(ns)) = (attr_u32(mn, "cellid")?, mn.attr("nodeset")) else {
            return Err(error_at(mn.at, "<memnode> needs `cellid` and `nodeset`"));
        };
        let set = id_set(mn, "nodeset", ns)?;
        let Some(policy) = mode(mn, notes) else { continue };
        match d.cells.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.host_node = Some(set);
                c.policy = (policy != "strict").then_some(policy);
            }
            None => {
                return Err(error_at(
                    mn.at,
                    format!("<memnode cellid='{id}'>: the guest has no cell {id} (libvirt rejects it)"),
                ));
            }
        }
    }
    Ok(())
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

const MIB: u64 = 1024;

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

/// vCPUs that no cell lists: libvirt adds them to cell 0 when it starts the guest
/// (`qemuDomainDefNumaCPUsRectify`), so the import does too.
pub(super) fn rectify_cells(d: &mut Draft, notes: &mut Notes) {
    let covered: IdSet = d
        .cells
        .iter()
        .filter_map(|c| c.cpus.as_ref())
        .flat_map(|s| s.iter())
        .collect();
    let missing: IdSet = (0..d.vcpus).filter(|v| !covered.contains(*v)).collect();
    if missing.is_empty() {
        return;
    }
    let Some(first) = d.cells.iter_mut().find(|c| c.id == 0) else {
        return;
    };
    let cpus: IdSet = first.cpus.iter().flat_map(|s| s.iter()).chain(missing.iter()).collect();
    first.cpus = Some(cpus);
    notes.change(format!(
        "vCPUs {missing} are in no cell: libvirt puts them in cell 0, and so does vnumac"
    ));
}

/// Things vnumac derives that the XML did not say.
pub(super) fn check_derived(root: &Node, d: &mut Draft) {
    let has_topology = root.child("cpu").and_then(|c| c.child("topology")).is_some();
    let cpu_cells: Vec<&IdSet> = d.cells.iter().filter_map(|c| c.cpus.as_ref()).collect();
    if has_topology || cpu_cells.len() < 2 {
        return;
    }
    let per = cpu_cells.first().map_or(0, |c| c.len() as u64);
    let blocks = cpu_cells.iter().enumerate().all(|(k, c)| {
        let k = k as u64;
        c.len() as u64 == per
            && c.first().map(u64::from) == Some(k * per)
            && c.last().map(u64::from) == Some((k + 1) * per - 1)
    });
    if blocks {
        // vnumac would give such cells one socket each; libvirt gives every vCPU its own
        // socket. Written out, so that the guest keeps libvirt's topology.
        d.topology = Some(ir::Topology {
            sockets: d.vcpus,
            dies: 1,
            cores: 1,
            threads: 1,
        });
    }
}
