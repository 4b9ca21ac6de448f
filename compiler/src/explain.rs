//! `vnumac explain`: where every vCPU and every cell's memory landed, as text (in the
//! spirit of `virsh vcpuinfo`'s affinity map) or as an SVG picture of the host.

use crate::check::Checked;
use crate::host::HostProfile;
use crate::ir::Guest;
use crate::lower::xml::Element;
use crate::place::spread::spread;
use crate::sets::IdSet;
use crate::units::human_kib;
use std::fmt::Write;

/// Memory each guest binds per host node (plain KiB, and hugepage KiB).
struct NodeUse {
    memory_kib: u64,
    pages_kib: u64,
    dedicated: IdSet,
    guests: Vec<String>,
}

fn node_use(host: &HostProfile, guests: &[&Guest]) -> Vec<NodeUse> {
    let mut out: Vec<NodeUse> = host
        .nodes
        .iter()
        .map(|_| NodeUse {
            memory_kib: 0,
            pages_kib: 0,
            dedicated: IdSet::new(),
            guests: Vec::new(),
        })
        .collect();
    for g in guests {
        for c in &g.cells {
            let Some(b) = c.binding.as_ref().or(g.memory_binding.as_ref()) else {
                continue;
            };
            for (node, kib) in spread(&b.nodes, c.memory_kib, c.hugepage_kib.unwrap_or(1)) {
                let Some(i) = host.node_index(node) else { continue };
                if c.hugepage_kib.is_some() {
                    out[i].pages_kib += kib;
                } else if b.policy.binds() {
                    out[i].memory_kib += kib;
                }
                if !out[i].guests.contains(&g.name) {
                    out[i].guests.push(g.name.clone());
                }
            }
        }
        for p in &g.pins {
            for node in host.nodes_of_cpus(&p.cpus).iter() {
                let Some(i) = host.node_index(node) else { continue };
                if p.cpus.len() == 1 {
                    out[i].dedicated = out[i].dedicated.union(&p.cpus);
                }
                if !out[i].guests.contains(&g.name) {
                    out[i].guests.push(g.name.clone());
                }
            }
        }
    }
    out
}

fn guests_on(checked: &Checked, host: usize) -> Vec<&Guest> {
    checked
        .build
        .guests
        .iter()
        .zip(&checked.guest_hosts)
        .filter(|(_, h)| **h == Some(host))
        .map(|(g, _)| g)
        .collect()
}

/// The placement map as text: one row per vCPU, then a per-node summary for each host.
pub fn text(checked: &Checked, only: Option<&str>) -> String {
    let mut out = String::new();
    for (gi, g) in checked.build.guests.iter().enumerate() {
        if only.is_some_and(|n| n != g.name) {
            continue;
        }
        let host = checked.host_of(gi);
        let t = g.effective_topology();
        let _ = writeln!(
            out,
            "guest {}{}: {} vCPUs, {} cells, topology {}×{}×{}×{} (sockets×dies×cores×threads), {} memory",
            g.name,
            host.map(|h| format!(" on host {}", h.name)).unwrap_or_default(),
            g.vcpus,
            g.cells.len(),
            t.sockets,
            t.dies,
            t.cores,
            t.threads,
            human_kib(g.memory_kib),
        );
        let nodes: Vec<u32> = host
            .map(|h| h.profile.nodes.iter().map(|n| n.id).collect())
            .unwrap_or_default();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  VCPU  CELL  HOST CPUS        NODE  SOCKET/CORE  AFFINITY (one mark per host node: {})",
            nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")
        );
        for v in 0..g.vcpus {
            let cell = g
                .cells
                .iter()
                .find(|c| c.vcpus.contains(v))
                .map(|c| c.id.to_string())
                .unwrap_or_else(|| "-".into());
            let pin = g.pins.iter().find(|p| p.vcpu == v).map(|p| p.cpus.clone());
            let (cpus, node, core, marks) = match (&pin, host) {
                (Some(p), Some(h)) => {
                    let on = h.profile.nodes_of_cpus(p);
                    let core = match p.only() {
                        Some(one) => h
                            .profile
                            .cpu(one)
                            .map(|c| format!("{}/{}", c.socket, c.core))
                            .unwrap_or_default(),
                        _ => "-".into(),
                    };
                    let marks: String = h
                        .profile
                        .nodes
                        .iter()
                        .map(|n| if on.contains(n.id) { 'X' } else { '-' })
                        .collect::<Vec<char>>()
                        .iter()
                        .map(|c| format!("{c} "))
                        .collect();
                    (p.to_string(), on.to_string(), core, marks.trim_end().to_string())
                }
                (Some(p), None) => (p.to_string(), "-".into(), "-".into(), String::new()),
                _ => ("(any)".into(), "-".into(), "-".into(), String::new()),
            };
            let _ = writeln!(out, "  {v:>4}  {cell:>4}  {cpus:<15}  {node:>4}  {core:>11}  {marks}");
        }
        if let Some(e) = &g.emulator_pin {
            let node = host
                .map(|h| h.profile.nodes_of_cpus(e).to_string())
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(out, "  emulator threads: host CPUs {e} (node {node})");
        }
        let _ = writeln!(out);
        let l3 = host.map(|h| h.profile.l3_map()).unwrap_or_default();
        for c in &g.cells {
            // CPUs on nodes without memory: say where the memory comes from instead.
            let memoryless = host
                .map(|h| {
                    let cpus = g
                        .pins
                        .iter()
                        .filter(|p| c.vcpus.contains(p.vcpu))
                        .fold(crate::sets::IdSet::new(), |a, p| a.union(&p.cpus));
                    h.profile
                        .nodes_of_cpus(&cpus)
                        .iter()
                        .filter(|n| h.profile.node(*n).is_some_and(|n| n.memory_kib == 0))
                        .collect::<crate::sets::IdSet>()
                })
                .unwrap_or_default();
            let mut note = if memoryless.is_empty() {
                String::new()
            } else {
                format!("; its CPUs are on node {memoryless}, which has no memory, so it takes the nearest node's")
            };
            // Dedicated vCPUs over several L3 caches: say so (vnuma does this only when no
            // single domain had room).
            if !l3.is_empty() {
                let pins: Vec<&crate::ir::VcpuPin> = g.pins.iter().filter(|p| c.vcpus.contains(p.vcpu)).collect();
                if !pins.is_empty() && pins.iter().all(|p| p.cpus.len() == 1) {
                    let domains: IdSet = pins
                        .iter()
                        .flat_map(|p| p.cpus.iter())
                        .filter_map(|cpu| l3.get(&cpu).and_then(|&d| u32::try_from(d).ok()))
                        .collect();
                    if domains.len() > 1 {
                        let _ = write!(note, "; its vCPUs share no single L3: they span L3 domains {domains}");
                    }
                }
            }
            let _ = writeln!(
                out,
                "  cell {}: vCPUs {}, {}{}{note}",
                c.id,
                if c.vcpus.is_empty() {
                    "none".into()
                } else {
                    c.vcpus.to_string()
                },
                human_kib(c.memory_kib),
                c.binding
                    .as_ref()
                    .map(|b| format!(" on host node {} ({})", b.nodes, b.policy.libvirt()))
                    .unwrap_or_else(|| " (not bound)".into())
            );
        }
        let _ = writeln!(out);
    }
    for (hi, h) in checked.hosts.iter().enumerate() {
        let Some(h) = h else { continue };
        let guests = guests_on(checked, hi);
        if guests.is_empty() || only.is_some_and(|n| !guests.iter().any(|g| g.name == n)) {
            continue;
        }
        let uses = node_use(&h.profile, &guests);
        let _ = writeln!(out, "host {}: every guest of this build", h.name);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  NODE  CPUS  DEDICATED  MEMORY BOUND / FREE   HUGEPAGES BOUND  GUESTS"
        );
        for (n, u) in h.profile.nodes.iter().zip(&uses) {
            let _ = writeln!(
                out,
                "  {:>4}  {:>4}  {:>9}  {:>20}  {:>15}  {}",
                n.id,
                n.cpus.len(),
                u.dedicated.len(),
                format!("{} / {}", human_kib(u.memory_kib), human_kib(n.ordinary_kib())),
                human_kib(u.pages_kib),
                u.guests.join(", ")
            );
        }
        let _ = writeln!(out);
        l3_text(&mut out, &h.profile, &guests);
    }
    out
}

/// The host's L3 domains per node, with the cores dedicated vCPUs hold in each and whose
/// they are; nothing for a host without L3 domains.
fn l3_text(out: &mut String, host: &HostProfile, guests: &[&Guest]) {
    if host.l3.is_empty() {
        return;
    }
    // Host CPU → the guest whose vCPU has it alone.
    let mut owner: std::collections::BTreeMap<u32, &str> = std::collections::BTreeMap::new();
    for g in guests {
        for p in g.pins.iter().filter(|p| p.cpus.len() == 1) {
            for c in p.cpus.iter() {
                owner.entry(c).or_insert(g.name.as_str());
            }
        }
    }
    // (node id, domain index, the domain's CPUs on that node)
    let mut parts: Vec<(u32, usize, IdSet)> = Vec::new();
    for (i, d) in host.l3.iter().enumerate() {
        for node in host.nodes_of_cpus(d).iter() {
            let cpus: IdSet = d
                .iter()
                .filter(|&c| host.cpu(c).is_some_and(|c| c.node == node))
                .collect();
            parts.push((node, i, cpus));
        }
    }
    parts.sort_by_key(|(node, i, _)| (*node, *i));
    let _ = writeln!(
        out,
        "  L3 domains (CPUs sharing one last-level cache), numbered by lowest CPU:"
    );
    for (node, i, cpus) in parts {
        // Cores by their sibling sets; a core is dedicated when a vCPU has one of its threads alone.
        let mut cores: Vec<IdSet> = Vec::new();
        for c in cpus.iter().filter_map(|c| host.cpu(c)) {
            if c.siblings.first().is_none_or(|f| f == c.id) || !c.siblings.contains(c.id) {
                cores.push(if c.siblings.contains(c.id) {
                    c.siblings.clone()
                } else {
                    IdSet::single(c.id)
                });
            }
        }
        let mut names: Vec<&str> = Vec::new();
        let mut used = 0;
        for core in &cores {
            let mut any = false;
            for name in core.iter().filter_map(|c| owner.get(&c)) {
                any = true;
                if !names.contains(name) {
                    names.push(name);
                }
            }
            used += usize::from(any);
        }
        let who = if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        };
        let _ = writeln!(
            out,
            "  node {node} L3 {i}: {used} of {} cores dedicated{who}; CPUs {cpus}",
            cores.len()
        );
    }
    let _ = writeln!(out);
}

const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
];

/// Labels are set in a monospace face so that their width is known before anything renders
/// them: DejaVu Sans Mono's advance is 0.602 em, so 11 px text takes 6.62 px per character;
/// [`CHAR_W`] rounds that up, and a character outside the Latin, Greek and Cyrillic blocks
/// counts twice (CJK and emoji fall back to faces twice as wide). Every label is cut to the box
/// it sits in, with an ellipsis and the whole text in a `<title>`.
const FONT: &str = "DejaVu Sans Mono, monospace";
const CHAR_W: u32 = 7;
const TITLE_CHAR_W: u32 = 9;
/// A CPU square.
const CELL: u32 = 10;
/// Cores per row inside a node box.
const PER_ROW: u32 = 32;
/// Width of one legend column.
const LEGEND_COL: u32 = 300;
const PADDING: u32 = 6;

fn columns(c: char) -> u32 {
    if (c as u32) < 0x1100 { 1 } else { 2 }
}

fn text_width(s: &str, char_w: u32) -> u32 {
    s.chars().map(columns).sum::<u32>().saturating_mul(char_w)
}

/// `s` cut to at most `max` pixels, ending in `…` when cut.
fn fit(s: &str, max: u32, char_w: u32) -> String {
    if text_width(s, char_w) <= max {
        return s.to_owned();
    }
    let budget = (max / char_w).saturating_sub(1);
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        used += columns(c);
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// A label at (x, baseline y), cut to `max` pixels, with the whole text as its tooltip if cut.
fn label(x: u32, y: u32, text: &str, max: u32) -> Element {
    sized_label(x, y, text, max, CHAR_W)
}

fn sized_label(x: u32, y: u32, text: &str, max: u32, char_w: u32) -> Element {
    let shown = fit(text, max, char_w);
    let e = Element::new("text").attr("x", x).attr("y", y);
    if shown == text {
        e.text(text)
    } else {
        // A <text> element holds either text or children here, so the tooltip takes a <tspan>.
        e.child(Element::new("tspan").text(shown))
            .child(Element::new("title").text(text))
    }
}

/// A box that holds labels: the renderer test checks that no text is drawn outside these.
fn text_box(x: u32, y: u32, w: u32, h: u32, fill: &str, stroke: &str) -> Element {
    Element::new("rect")
        .attr("class", "box")
        .attr("x", x)
        .attr("y", y)
        .attr("width", w)
        .attr("height", h)
        .attr("fill", fill)
        .attr("stroke", stroke)
}

/// What one host CPU is used for, as far as the drawn guests go.
#[derive(Default)]
struct CpuUse<'a> {
    /// The guest with a vCPU pinned to this CPU alone.
    dedicated: Option<&'a str>,
    /// Guests whose vCPUs float over a set of CPUs that includes this one.
    floating: Vec<&'a str>,
    /// Guests whose emulator threads may run here.
    emulator: Vec<&'a str>,
}

/// How a guest's vCPUs are placed, for the legend.
fn placement_summary(g: &Guest) -> String {
    let dedicated = g.pins.iter().filter(|p| p.cpus.len() == 1).count();
    let floating = g.pins.len() - dedicated;
    let mut parts = Vec::new();
    if dedicated > 0 {
        parts.push(format!("{dedicated} pinned"));
    }
    if floating > 0 {
        parts.push(format!("{floating} floating"));
    }
    let unpinned = (g.vcpus as usize).saturating_sub(g.pins.len());
    if unpinned > 0 {
        parts.push(format!("{unpinned} unpinned"));
    }
    match (g.vcpus, parts.as_slice()) {
        (1, [one]) => format!("1 vCPU: {}", one.trim_start_matches("1 ")),
        _ => format!("{} vCPUs: {}", g.vcpus, parts.join(", ")),
    }
}

/// The same as a picture: host nodes as boxes, cores as columns of threads, coloured by guest.
///
/// Its size is linear in the host's CPUs and the guests drawn (a host has at most
/// [`crate::host::builder::MAX_CPUS`] CPUs), and every label is cut to fit its box.
pub fn svg(checked: &Checked, only: Option<&str>) -> String {
    let mut y = PADDING;
    let mut body: Vec<Element> = Vec::new();
    let mut width = 2 * LEGEND_COL + 2 * PADDING + 12;
    let names: Vec<&str> = checked.build.guests.iter().map(|g| g.name.as_str()).collect();
    let colour = |name: &str| PALETTE[names.iter().position(|n| *n == name).unwrap_or(0) % PALETTE.len()];
    let mut drawn: Vec<&Guest> = Vec::new();
    let mut any_l3 = false;
    for (hi, h) in checked.hosts.iter().enumerate() {
        let Some(h) = h else { continue };
        let guests: Vec<&Guest> = guests_on(checked, hi)
            .into_iter()
            .filter(|g| only.is_none_or(|n| n == g.name))
            .collect();
        if guests.is_empty() {
            continue;
        }
        let uses = node_use(&h.profile, &guests);
        let mut cpu_use: std::collections::HashMap<u32, CpuUse> = std::collections::HashMap::new();
        for g in &guests {
            for p in &g.pins {
                for cpu in p.cpus.iter() {
                    let u = cpu_use.entry(cpu).or_default();
                    if p.cpus.len() == 1 {
                        u.dedicated.get_or_insert(g.name.as_str());
                    } else if !u.floating.contains(&g.name.as_str()) {
                        u.floating.push(&g.name);
                    }
                }
            }
            for cpu in g.emulator_pin.iter().flat_map(IdSet::iter) {
                let u = cpu_use.entry(cpu).or_default();
                if !u.emulator.contains(&g.name.as_str()) {
                    u.emulator.push(&g.name);
                }
            }
        }
        drawn.extend(&guests);
        let header = format!("host {}", h.name);
        body.push(text_box(PADDING, y, width - 2 * PADDING, 22, "#ffffff", "none"));
        body.push(
            sized_label(PADDING + 4, y + 16, &header, width - 2 * PADDING - 8, TITLE_CHAR_W).attr("font-size", 14),
        );
        y += 26;
        for (n, u) in h.profile.nodes.iter().zip(&uses) {
            // Cores of this node: sibling groups in order.
            let mut cores: Vec<Vec<u32>> = Vec::new();
            for cpu in n.cpus.iter() {
                let Some(c) = h.profile.cpu(cpu) else { continue };
                if c.siblings.first() == Some(cpu) || c.siblings.is_empty() {
                    cores.push(if c.siblings.is_empty() {
                        vec![cpu]
                    } else {
                        c.siblings.iter().filter(|t| n.cpus.contains(*t)).collect()
                    });
                }
            }
            let l3 = h.profile.l3_map();
            any_l3 |= !l3.is_empty();
            if !l3.is_empty() {
                // Cores grouped by L3 domain, so that each domain can be outlined.
                cores.sort_by_key(|c| c.first().and_then(|t| l3.get(t)).copied().unwrap_or(usize::MAX));
            }
            let threads = cores.iter().map(Vec::len).max().unwrap_or(1) as u32;
            let rows = (cores.len() as u32).div_ceil(PER_ROW).max(1);
            let grid_w = PER_ROW.min(cores.len().max(1) as u32) * (CELL + 2);
            let box_w = (grid_w + 12).max(width - 2 * PADDING);
            let box_h = 46 + rows * (threads * CELL + 6);
            width = width.max(box_w + 2 * PADDING);
            body.push(text_box(PADDING, y, box_w, box_h, "#f7f7f7", "#555"));
            let room = box_w - 12;
            body.push(label(
                PADDING + 6,
                y + 14,
                &format!(
                    "node {} · {} CPUs · {} / {} bound{}",
                    n.id,
                    n.cpus.len(),
                    human_kib(u.memory_kib + u.pages_kib),
                    human_kib(n.ordinary_kib()),
                    if u.pages_kib > 0 {
                        format!(" ({} in hugepages)", human_kib(u.pages_kib))
                    } else {
                        String::new()
                    }
                ),
                room,
            ));
            let on_node = if u.guests.is_empty() {
                "no guest".to_owned()
            } else {
                format!("guests: {}", u.guests.join(", "))
            };
            body.push(label(PADDING + 6, y + 28, &on_node, room));
            for (k, core) in cores.iter().enumerate() {
                let col = k as u32 % PER_ROW;
                let row = k as u32 / PER_ROW;
                for (t, cpu) in core.iter().enumerate() {
                    let x = PADDING + 6 + col * (CELL + 2);
                    let yy = y + 36 + row * (threads * CELL + 6) + t as u32 * CELL;
                    let used = cpu_use.get(cpu);
                    let mut title = format!("CPU {cpu}");
                    let (fill, opacity) = match used {
                        Some(CpuUse { dedicated: Some(g), .. }) => {
                            let _ = write!(title, ": a vCPU of {g}");
                            (colour(g), "1")
                        }
                        Some(CpuUse { floating, .. }) if !floating.is_empty() => {
                            let _ = write!(title, ": vCPUs of {} float here", floating.join(", "));
                            (colour(floating[0]), "0.35")
                        }
                        _ if h.profile.reserved.contains(*cpu) => {
                            title.push_str(": reserved for the host");
                            ("#333333", "1")
                        }
                        _ => {
                            title.push_str(": free");
                            ("#ffffff", "1")
                        }
                    };
                    if let Some(u) = used.filter(|u| !u.emulator.is_empty()) {
                        let _ = write!(title, "; emulator threads of {}", u.emulator.join(", "));
                    }
                    let mut square = Element::new("rect")
                        .attr("x", x)
                        .attr("y", yy)
                        .attr("width", CELL)
                        .attr("height", CELL)
                        .attr("fill", fill)
                        .attr("stroke", "#999");
                    if opacity != "1" {
                        square = square.attr("fill-opacity", opacity);
                    }
                    body.push(square.child(Element::new("title").text(&title)));
                    if used.is_some_and(|u| !u.emulator.is_empty()) {
                        body.push(emulator_mark(x, yy).child(Element::new("title").text(&title)));
                    }
                }
            }
            body.extend(l3_outlines(
                &h.profile,
                &l3,
                &cores,
                PER_ROW,
                (PADDING + 5, y + 36),
                threads * CELL + 6,
                CELL,
            ));
            if n.cpus.is_empty() {
                body.push(label(PADDING + 6, y + 42, "memory only", room));
            }
            y += box_h + 8;
        }
        y += 6;
    }
    if drawn.is_empty() {
        let note = match only {
            Some(n) => format!("guest {n} is on no host block, so nothing is pinned"),
            None => "no guest is on a host block, so nothing is pinned".to_owned(),
        };
        body.push(text_box(PADDING, y, width - 2 * PADDING, 22, "#ffffff", "none"));
        body.push(label(PADDING + 4, y + 15, &note, width - 2 * PADDING - 8));
        y += 26;
    }
    // Legend: what the squares mean, then every guest drawn with its colour.
    let mut keys: Vec<(Element, String)> = vec![
        (swatch(0, 0, "#ffffff", "1"), "free CPU".to_owned()),
        (swatch(0, 0, "#333333", "1"), "reserved for the host".to_owned()),
        (swatch(0, 0, "#888888", "1"), "one vCPU pinned here".to_owned()),
        (swatch(0, 0, "#888888", "0.35"), "vCPUs float over these".to_owned()),
        (emulator_mark(0, 0), "emulator threads".to_owned()),
    ];
    if any_l3 {
        keys.push((
            Element::new("rect")
                .attr("x", 0)
                .attr("y", 0)
                .attr("width", CELL)
                .attr("height", CELL)
                .attr("fill", "none")
                .attr("stroke", "#2a7f62")
                .attr("stroke-width", 1.5),
            "cores sharing an L3 cache".to_owned(),
        ));
    }
    let key_count = keys.len();
    let per_row = (width - 2 * PADDING) / LEGEND_COL;
    let entries = keys.len() + drawn.len();
    let legend_h = (entries as u32).div_ceil(per_row) * 16 + 8;
    body.push(text_box(
        PADDING,
        y,
        width - 2 * PADDING,
        legend_h,
        "#ffffff",
        "#bbbbbb",
    ));
    let room = LEGEND_COL - 24;
    let place = |i: usize, mark: Element, text: &str, body: &mut Vec<Element>| {
        let x = PADDING + 6 + (i as u32 % per_row) * LEGEND_COL;
        let yy = y + 5 + (i as u32 / per_row) * 16;
        body.push(
            Element::new("g")
                .attr("transform", format!("translate({x},{yy})"))
                .child(mark),
        );
        body.push(label(x + 14, yy + 9, text, room));
    };
    for (i, (mark, text)) in keys.into_iter().enumerate() {
        place(i, mark, &text, &mut body);
    }
    for (i, g) in drawn.iter().enumerate() {
        let text = format!("{} ({})", g.name, placement_summary(g));
        place(key_count + i, swatch(0, 0, colour(&g.name), "1"), &text, &mut body);
    }
    y += legend_h + PADDING;
    let mut root = Element::new("svg")
        .attr("xmlns", "http://www.w3.org/2000/svg")
        .attr("font-family", FONT)
        .attr("font-size", 11)
        .attr("width", width)
        .attr("height", y)
        .attr("viewBox", format!("0 0 {width} {y}"));
    for b in body {
        root.push(b);
    }
    root.render()
}

fn swatch(x: u32, y: u32, fill: &str, opacity: &str) -> Element {
    Element::new("rect")
        .attr("x", x)
        .attr("y", y)
        .attr("width", CELL)
        .attr("height", CELL)
        .attr("fill", fill)
        .attr("fill-opacity", opacity)
        .attr("stroke", "#999")
}

/// A dot in a CPU square: emulator threads may run there.
fn emulator_mark(x: u32, y: u32) -> Element {
    Element::new("circle")
        .attr("cx", x + CELL / 2)
        .attr("cy", y + CELL / 2)
        .attr("r", 2)
        .attr("fill", "#000000")
        .attr("stroke", "#ffffff")
        .attr("stroke-width", "0.8")
}

/// A thin outline around each run of a node's cores that share an L3 domain (per row of
/// `per_row` cores), titled with the domain; nothing for a host without L3 domains. `(left,
/// top)` is where the first row's outline starts, `row_h` a row's height and `cell` a
/// thread's square.
fn l3_outlines(
    host: &HostProfile,
    l3: &std::collections::BTreeMap<u32, usize>,
    cores: &[Vec<u32>],
    per_row: u32,
    (left, top): (u32, u32),
    row_h: u32,
    cell: u32,
) -> Vec<Element> {
    let domain = |k: usize| cores.get(k).and_then(|c| c.first()).and_then(|t| l3.get(t)).copied();
    let per_row = per_row.max(1) as usize;
    let mut out = Vec::new();
    let mut start = 0usize;
    for k in 1..=cores.len() {
        let same = k < cores.len() && k % per_row != 0 && domain(k) == domain(start);
        if same {
            continue;
        }
        if let Some(d) = domain(start) {
            let (col, row, len) = ((start % per_row) as u32, (start / per_row) as u32, (k - start) as u32);
            let threads = row_h.saturating_sub(6);
            let cpus = host.l3.get(d).map(|s| s.to_string()).unwrap_or_default();
            out.push(
                Element::new("rect")
                    .attr("x", left + col * (cell + 2))
                    .attr("y", top + row * row_h - 1)
                    .attr("width", len * (cell + 2))
                    .attr("height", threads + 2)
                    .attr("fill", "none")
                    .attr("stroke", "#2a7f62")
                    .attr("stroke-width", 1.5)
                    .child(Element::new("title").text(format!("L3 {d}: CPUs {cpus}"))),
            );
        }
        start = k;
    }
    out
}
