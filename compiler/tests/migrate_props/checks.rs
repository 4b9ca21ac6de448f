//! The properties of a move, read from the XML of both sides (through `common::xml`, not
//! vnumac's model) and the host profiles: what the guest sees stays byte for byte; pins are
//! the destination's, free and of the same kind; memory fits the destination.

use std::collections::{BTreeMap, BTreeSet};

use vnumac::host::HostProfile;

use crate::common::xml::{Element, format_set, parse_cpu_set, parse_xml, scaled_bytes};

type Cpus = BTreeSet<u32>;
/// A memory policy's mode and host nodes.
type Binding = (String, Cpus);
/// KiB per (host node, page size); the page size None for ordinary memory.
type PerNode = BTreeMap<(u32, Option<u64>), u64>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

// ---------------------------------------------------------------------------
// (a) What the guest sees
// ---------------------------------------------------------------------------

/// The domain XML without its host side: `<vcpupin>`, `<emulatorpin>`, `<iothreadpin>`,
/// the whole `<numatune>` and a memory device's `<nodemask>`.
pub fn guest_side(xml: &str) -> String {
    let mut out = String::new();
    let mut in_numatune = false;
    for line in xml.lines() {
        let t = line.trim_start();
        if t.starts_with("<numatune") {
            in_numatune = !t.ends_with("/>");
            continue;
        }
        if in_numatune {
            in_numatune = !t.starts_with("</numatune>");
            continue;
        }
        if ["<vcpupin ", "<emulatorpin ", "<iothreadpin ", "<nodemask>"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub fn same_guest_side(src: &str, dst: &str) -> Result<(), String> {
    let (a, b) = (guest_side(src), guest_side(dst));
    if a == b {
        return Ok(());
    }
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    Err(format!(
        "the guest-visible XML differs at line {} of the host-free text:\n  source:      {:?}\n  destination: {:?}",
        at + 1,
        la.get(at).unwrap_or(&"(end)"),
        lb.get(at).unwrap_or(&"(end)")
    ))
}

// ---------------------------------------------------------------------------
// Reading a domain
// ---------------------------------------------------------------------------

/// What a domain XML pins and binds.
#[derive(Debug, Default, Clone)]
pub struct Domain {
    pub vcpupin: BTreeMap<u32, Cpus>,
    pub emulatorpin: Option<Cpus>,
    pub iothreadpin: BTreeMap<u32, Cpus>,
    /// Threads per guest core (`<topology threads>`, 1 without).
    pub threads: u32,
    /// Cell id → its vCPUs.
    pub cell_vcpus: BTreeMap<u32, Cpus>,
    /// Cell id → (mode, host nodes) from `<memnode>`.
    pub memnode: BTreeMap<u32, Binding>,
    /// Memory the domain asks of host nodes: (KiB, page KiB or None, binding or None).
    pub memory: Vec<(u64, Option<u64>, Option<Binding>)>,
}

fn set_attr(e: &Element, key: &str) -> Result<Cpus, String> {
    let text = e.attr(key).ok_or(format!("<{}> without {key}", e.name))?;
    parse_cpu_set(text)
}

fn num(e: &Element, key: &str) -> Result<u32, String> {
    e.attr(key)
        .ok_or(format!("<{}> without {key}", e.name))?
        .parse()
        .map_err(|_| format!("<{}> {key} is not a number", e.name))
}

fn kib(e: &Element, value: &str, unit: &str) -> Result<u64, String> {
    Ok(scaled_bytes(
        e.attr(value).ok_or(format!("<{}> without {value}", e.name))?,
        e.attr(unit),
    )? / 1024)
}

/// A `<page>`'s or `<pagesize>`'s size; the base page is no hugepage.
fn page_kib(bytes: u64) -> Option<u64> {
    Some(bytes / 1024).filter(|&k| k > 4)
}

pub fn read(xml: &str) -> Result<Domain, String> {
    let root = parse_xml(xml)?;
    let mut d = Domain {
        threads: 1,
        ..Domain::default()
    };
    if let Some(tune) = root.at(&["cputune"]) {
        for p in tune.all("vcpupin") {
            d.vcpupin.insert(num(p, "vcpu")?, set_attr(p, "cpuset")?);
        }
        if let Some(e) = tune.at(&["emulatorpin"]) {
            d.emulatorpin = Some(set_attr(e, "cpuset")?);
        }
        for p in tune.all("iothreadpin") {
            d.iothreadpin.insert(num(p, "iothread")?, set_attr(p, "cpuset")?);
        }
    }
    if let Some(t) = root.at(&["cpu", "topology"]) {
        d.threads = num(t, "threads")?;
    }
    let guest_binding = root.at(&["numatune", "memory"]).and_then(|m| {
        let nodes = m.attr("nodeset").and_then(|n| parse_cpu_set(n).ok())?;
        Some((m.attr("mode").unwrap_or("strict").to_string(), nodes))
    });
    let mut memnode = BTreeMap::new();
    for m in root.at(&["numatune"]).into_iter().flat_map(|t| t.all("memnode")) {
        let mode = m.attr("mode").unwrap_or("strict").to_string();
        memnode.insert(num(m, "cellid")?, (mode, set_attr(m, "nodeset")?));
    }
    // Page size per cell, and of a guest without cells.
    let mut cell_page: BTreeMap<u32, Option<u64>> = BTreeMap::new();
    let mut guest_page = None;
    for p in root
        .at(&["memoryBacking", "hugepages"])
        .into_iter()
        .flat_map(|h| h.all("page"))
    {
        let size = page_kib(scaled_bytes(
            p.attr("size").ok_or("<page> without size")?,
            p.attr("unit"),
        )?);
        match p.attr("nodeset") {
            Some(cells) => {
                for c in parse_cpu_set(cells)? {
                    cell_page.insert(c, size);
                }
            }
            None => guest_page = size,
        }
    }
    let cells: Vec<&Element> = root
        .at(&["cpu", "numa"])
        .into_iter()
        .flat_map(|n| n.all("cell"))
        .collect();
    let binding_of = |cell: u32| memnode.get(&cell).cloned().or_else(|| guest_binding.clone());
    let mut memory = Vec::new();
    for c in &cells {
        let id = num(c, "id")?;
        if c.attr("cpus").is_some() {
            d.cell_vcpus.insert(id, set_attr(c, "cpus")?);
        }
        let page = cell_page.get(&id).copied().unwrap_or(guest_page);
        memory.push((kib(c, "memory", "unit")?, page, binding_of(id)));
    }
    let mut device_kib = 0;
    for m in root.at(&["devices"]).into_iter().flat_map(|d| d.all("memory")) {
        let size = m.at(&["target", "size"]).ok_or("a memory device without a size")?;
        let size = scaled_bytes(size.text.trim(), size.attr("unit"))? / 1024;
        device_kib += size;
        if !matches!(m.attr("model"), Some("dimm" | "virtio-mem")) {
            continue;
        }
        let cell: u32 = match m.at(&["target", "node"]) {
            Some(n) => n.text.trim().parse().map_err(|_| "a bad <target><node>")?,
            None => 0,
        };
        let own_nodes = m
            .at(&["source", "nodemask"])
            .map(|n| parse_cpu_set(n.text.trim()))
            .transpose()?;
        let own_page = m
            .at(&["source", "pagesize"])
            .map(|p| scaled_bytes(p.text.trim(), p.attr("unit")))
            .transpose()?;
        let page = match own_page {
            Some(bytes) => page_kib(bytes),
            None => cell_page.get(&cell).copied().unwrap_or(guest_page),
        };
        let binding = own_nodes
            .map(|n| ("strict".to_string(), n))
            .or_else(|| binding_of(cell));
        memory.push((size, page, binding));
    }
    if cells.is_empty() {
        let total = root.at(&["memory"]).ok_or("no <memory>")?;
        let total = scaled_bytes(total.text.trim(), total.attr("unit"))? / 1024;
        memory.push((total.saturating_sub(device_kib), guest_page, guest_binding.clone()));
    }
    d.memory = memory;
    d.memnode = memnode;
    Ok(d)
}

// ---------------------------------------------------------------------------
// (b) Pins
// ---------------------------------------------------------------------------

fn cpus_of_nodes(h: &HostProfile, nodes: &Cpus) -> Cpus {
    h.nodes
        .iter()
        .filter(|n| nodes.contains(&n.id))
        .flat_map(|n| n.cpus.iter())
        .collect()
}

fn siblings(h: &HostProfile, a: u32, b: u32) -> bool {
    a != b && h.cpu(a).is_some_and(|c| c.siblings.contains(b))
}

fn core(h: &HostProfile, cpu: u32) -> Cpus {
    match h.cpu(cpu) {
        Some(c) if !c.siblings.is_empty() => c.siblings.iter().collect(),
        _ => Cpus::from([cpu]),
    }
}

/// How often each property was put to the test, so that a run that tests nothing shows.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// vCPUs that had a CPU to themselves.
    pub singles: u32,
    /// Pairs of guest thread siblings on sibling host threads.
    pub sibling_pairs: u32,
    /// vCPUs on their cell's memory nodes.
    pub on_cell_nodes: u32,
    /// Emulator and I/O thread sets off the vCPUs.
    pub threads_off: u32,
    /// (node, page size) pairs whose room was checked.
    pub nodes_fit: u32,
    /// Page sizes of memory bound to no node.
    pub loose_fit: u32,
}

/// Whether a domain's pins follow the rules a move plans the destination with: every vCPU
/// pinned alone has a core without reserved threads, no vCPU floats over such a core, and
/// no emulator or I/O thread off the vCPUs shares a node with a floating vCPU (a floating
/// vCPU floats over the whole of its node's image).
pub fn planned_alike(d: &Domain, h: &HostProfile) -> bool {
    let reserved: Cpus = h.reserved.iter().collect();
    let cores: Cpus = d.vcpupin.values().filter_map(only).flat_map(|c| core(h, c)).collect();
    let nodes = |cpus: &Cpus| -> Cpus { cpus.iter().filter_map(|&c| h.cpu(c)).map(|c| c.node).collect() };
    let floating: Cpus = d.vcpupin.values().filter(|c| c.len() > 1).flat_map(&nodes).collect();
    let vcpus: Cpus = d.vcpupin.values().flatten().copied().collect();
    let threads_apart = d
        .emulatorpin
        .iter()
        .chain(d.iothreadpin.values())
        .filter(|t| t.is_disjoint(&vcpus))
        .all(|t| nodes(t).is_disjoint(&floating));
    cores.is_disjoint(&reserved) && d.vcpupin.values().all(|c| c.len() == 1 || c.is_disjoint(&cores)) && threads_apart
}

/// What the destination's other guests hold.
#[derive(Default)]
pub struct Others {
    /// CPUs another guest pins one vCPU to alone.
    pub single: Cpus,
    /// CPUs a hand-written guest pins its vCPUs to.
    pub hand_vcpus: Cpus,
    /// CPUs a hand-written guest pins its emulator threads to.
    pub hand_emulator: Cpus,
}

impl Others {
    pub fn add(&mut self, d: &Domain, hand: bool) {
        for cpus in d.vcpupin.values() {
            if cpus.len() == 1 {
                self.single.extend(cpus);
            }
            if hand {
                self.hand_vcpus.extend(cpus);
            }
        }
        if hand && let Some(e) = &d.emulatorpin {
            self.hand_emulator.extend(e);
        }
    }
}

fn only(c: &Cpus) -> Option<u32> {
    (c.len() == 1).then(|| c.first().copied()).flatten()
}

fn show(c: &Cpus) -> String {
    format_set(c)
}

/// Every pin of the moved guest, against the source's and the destination's other guests.
pub fn pins(
    src_h: &HostProfile,
    dst_h: &HostProfile,
    src: &Domain,
    dst: &Domain,
    others: &Others,
    tally: &mut Tally,
) -> Result<(), String> {
    let dst_cpus: Cpus = dst_h.cpus.iter().map(|c| c.id).collect();
    let reserved: Cpus = dst_h.reserved.iter().collect();
    ensure!(
        src.vcpupin.keys().eq(dst.vcpupin.keys()),
        "pinned vCPUs {:?} on the source, {:?} on the destination",
        src.vcpupin.keys(),
        dst.vcpupin.keys()
    );
    ensure!(
        src.emulatorpin.is_some() == dst.emulatorpin.is_some() && src.iothreadpin.keys().eq(dst.iothreadpin.keys()),
        "emulator or I/O thread pins come or go: {:?}/{:?} → {:?}/{:?}",
        src.emulatorpin,
        src.iothreadpin.keys(),
        dst.emulatorpin,
        dst.iothreadpin.keys()
    );
    let threads = dst.emulatorpin.iter().map(|c| ("emulator", c));
    let threads = threads.chain(dst.iothreadpin.values().map(|c| ("I/O thread", c)));
    let vcpus = dst.vcpupin.iter();
    for (what, cpus) in vcpus
        .clone()
        .map(|(v, c)| (format!("vCPU {v}"), c))
        .chain(threads.clone().map(|(w, c)| (w.to_string(), c)))
    {
        ensure!(!cpus.is_empty(), "{what} is pinned to no CPU");
        ensure!(
            cpus.is_subset(&dst_cpus),
            "{what} is pinned to {}, not CPUs of the destination",
            show(cpus)
        );
        let theirs: Cpus = cpus.intersection(&others.single).copied().collect();
        ensure!(
            theirs.is_empty(),
            "{what} is pinned to {}, dedicated to a vCPU of another guest there",
            show(&theirs)
        );
        let hand: Cpus = cpus.intersection(&others.hand_vcpus).copied().collect();
        ensure!(
            hand.is_empty(),
            "{what} is pinned to {}, where a hand-written guest there runs its vCPUs",
            show(&hand)
        );
    }
    for (v, cpus) in vcpus.clone() {
        let bad: Cpus = cpus.intersection(&reserved).copied().collect();
        ensure!(bad.is_empty(), "vCPU {v} is pinned to reserved CPUs {}", show(&bad));
        let bad: Cpus = cpus.intersection(&others.hand_emulator).copied().collect();
        ensure!(
            bad.is_empty(),
            "vCPU {v} is pinned to {}, a hand-written guest's emulator CPUs there",
            show(&bad)
        );
    }
    dedicated(src_h, dst_h, src, dst, others, tally)?;
    cells(src_h, dst_h, src, dst, tally)?;
    for (what, s, d) in src
        .emulatorpin
        .iter()
        .zip(&dst.emulatorpin)
        .map(|(s, d)| ("emulator threads", s, d))
        .chain(
            src.iothreadpin
                .iter()
                .zip(dst.iothreadpin.values())
                .map(|((_, s), d)| ("I/O threads", s, d)),
        )
    {
        let on = |dom: &Domain, cpus: &Cpus| -> Cpus {
            let all: Cpus = dom.vcpupin.values().flatten().copied().collect();
            all.intersection(cpus).copied().collect()
        };
        let now = on(dst, d);
        tally.threads_off += u32::from(on(src, s).is_empty());
        ensure!(
            !on(src, s).is_empty() || now.is_empty(),
            "{what} ran off the guest's vCPUs on the source ({}) but share {} with them on the destination",
            show(s),
            show(&now)
        );
    }
    Ok(())
}

/// vCPUs pinned to one CPU each: one CPU each on the destination, of a core no other guest
/// uses, never another vCPU's unless they shared one on the source; sibling threads that are
/// threads of one guest core stay sibling threads.
fn dedicated(
    src_h: &HostProfile,
    dst_h: &HostProfile,
    src: &Domain,
    dst: &Domain,
    others: &Others,
    tally: &mut Tally,
) -> Result<(), String> {
    let mut image: BTreeMap<u32, u32> = BTreeMap::new();
    let mut used_by: BTreeMap<u32, u32> = BTreeMap::new();
    let taken: Cpus = others
        .single
        .iter()
        .chain(&others.hand_vcpus)
        .chain(&others.hand_emulator)
        .copied()
        .collect();
    let reserved: Cpus = dst_h.reserved.iter().collect();
    for (&v, s) in &src.vcpupin {
        let (Some(from), Some(to)) = (only(s), dst.vcpupin.get(&v)) else {
            continue;
        };
        let Some(to) = only(to) else {
            return Err(format!(
                "vCPU {v} had CPU {from} to itself on the source and floats over {} on the destination",
                show(to)
            ));
        };
        tally.singles += 1;
        let c = core(dst_h, to);
        let busy: Cpus = c.intersection(&taken).copied().collect();
        ensure!(
            busy.is_empty(),
            "vCPU {v} takes CPU {to}, whose core {} another guest there uses ({})",
            show(&c),
            show(&busy)
        );
        let held: Cpus = c.intersection(&reserved).copied().collect();
        ensure!(
            held.is_empty(),
            "vCPU {v} takes CPU {to}, whose core has reserved CPUs {}",
            show(&held)
        );
        if let Some(&other) = used_by.get(&to) {
            let other_from = src.vcpupin[&other].iter().next().copied();
            ensure!(
                other_from == Some(from),
                "vCPUs {other} and {v} share CPU {to} on the destination, but ran on CPUs {other_from:?} and {from} on the source"
            );
        }
        used_by.insert(to, v);
        image.insert(v, to);
        for (w, cpus) in &dst.vcpupin {
            ensure!(
                *w == v || cpus.len() == 1 || !cpus.contains(&to),
                "vCPU {w} floats over CPU {to}, which vCPU {v} has to itself"
            );
        }
    }
    let t = src.threads.max(1);
    for (&a, &ca) in &image {
        for (&b, &cb) in image.range(a + 1..) {
            let (sa, sb) = (src.vcpupin[&a].iter().next(), src.vcpupin[&b].iter().next());
            let (Some(&sa), Some(&sb)) = (sa, sb) else { continue };
            if a / t == b / t && siblings(src_h, sa, sb) {
                tally.sibling_pairs += 1;
                ensure!(
                    siblings(dst_h, ca, cb),
                    "vCPUs {a} and {b}, threads of one guest core, ran on sibling threads {sa} and {sb} and now on {ca} and {cb}, which are not siblings"
                );
            }
        }
    }
    Ok(())
}

/// A vCPU that ran on its cell's memory nodes still does.
fn cells(
    src_h: &HostProfile,
    dst_h: &HostProfile,
    src: &Domain,
    dst: &Domain,
    tally: &mut Tally,
) -> Result<(), String> {
    for (cell, vcpus) in &src.cell_vcpus {
        let (Some((_, s_nodes)), Some((_, d_nodes))) = (src.memnode.get(cell), dst.memnode.get(cell)) else {
            continue;
        };
        let (s_cpus, d_cpus) = (cpus_of_nodes(src_h, s_nodes), cpus_of_nodes(dst_h, d_nodes));
        for v in vcpus {
            let (Some(s), Some(d)) = (src.vcpupin.get(v), dst.vcpupin.get(v)) else {
                continue;
            };
            tally.on_cell_nodes += u32::from(s.is_subset(&s_cpus));
            ensure!(
                !s.is_subset(&s_cpus) || d.is_subset(&d_cpus),
                "vCPU {v} of cell {cell} ran on its memory's nodes {} and now runs on {}, off the nodes {} its memory is bound to",
                show(s_nodes),
                show(d),
                show(d_nodes)
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// (c) Memory
// ---------------------------------------------------------------------------

/// KiB a domain binds per (host node, page size), split evenly over a binding's nodes in
/// whole pages, lower ids first; and hugepage KiB bound to no node, per page size.
pub fn binds(d: &Domain) -> (PerNode, BTreeMap<u64, u64>) {
    let mut per_node = BTreeMap::new();
    let mut unbound = BTreeMap::new();
    for (kib, page, binding) in &d.memory {
        match binding {
            Some((mode, nodes)) if matches!(mode.as_str(), "strict" | "restrictive") || page.is_some() => {
                let unit = page.unwrap_or(1);
                let (units, n) = (kib / unit, nodes.len() as u64);
                for (i, &node) in nodes.iter().enumerate() {
                    let share = units / n + u64::from((i as u64) < units % n);
                    *per_node.entry((node, *page)).or_insert(0) += share * unit;
                }
            }
            Some(_) => {}
            None => {
                if let Some(p) = page {
                    *unbound.entry(*p).or_insert(0) += kib;
                }
            }
        }
    }
    (per_node, unbound)
}

/// The destination's guests and the moved guest together fit every node of the destination.
pub fn memory(dst_h: &HostProfile, others: &[Domain], moved: &Domain, tally: &mut Tally) -> Result<(), String> {
    let mut need: PerNode = BTreeMap::new();
    let mut loose: BTreeMap<u64, u64> = BTreeMap::new();
    for d in others.iter().chain([moved]) {
        let (per_node, unbound) = binds(d);
        for (k, v) in per_node {
            *need.entry(k).or_insert(0) += v;
        }
        for (k, v) in unbound {
            *loose.entry(k).or_insert(0) += v;
        }
    }
    let (moved_nodes, moved_loose) = binds(moved);
    let pool = |node: &vnumac::host::HostNode, size: u64| {
        node.hugepages
            .iter()
            .filter(|p| p.size_kib == size)
            .map(|p| p.count * size)
            .sum::<u64>()
    };
    for (&(id, page), &kib) in &need {
        if !moved_nodes.contains_key(&(id, page)) {
            continue;
        }
        let node = dst_h.nodes.iter().find(|n| n.id == id).ok_or(format!(
            "memory is bound to node {id}, which the destination does not have"
        ))?;
        tally.nodes_fit += 1;
        let room = match page {
            None => {
                let pools: u64 = node.hugepages.iter().map(|p| p.count * p.size_kib).sum();
                node.memory_kib.saturating_sub(pools).saturating_sub(node.reserved_kib)
            }
            Some(size) => pool(node, size),
        };
        ensure!(
            kib <= room,
            "node {id} of the destination: its guests and the moved guest bind {kib} KiB{} there, it has {room} KiB",
            page.map(|p| format!(" in {p} KiB pages")).unwrap_or_default()
        );
    }
    // Hugepages bound to no node come from any node's pool: when anyone has such, every
    // page of that size, bound or not, must fit the pools together (as `build` counts them).
    let sizes: BTreeSet<u64> = moved_nodes
        .keys()
        .filter_map(|(_, p)| *p)
        .chain(moved_loose.keys().copied())
        .collect();
    for size in sizes {
        let Some(&unbound) = loose.get(&size) else { continue };
        let bound: u64 = need.iter().filter(|((_, p), _)| *p == Some(size)).map(|(_, k)| k).sum();
        let all: u64 = dst_h.nodes.iter().map(|n| pool(n, size)).sum();
        let total = bound + unbound;
        tally.loose_fit += 1;
        ensure!(
            total <= all,
            "the destination has {all} KiB in {size} KiB pages, its guests and the moved guest need {total} KiB"
        );
    }
    Ok(())
}
