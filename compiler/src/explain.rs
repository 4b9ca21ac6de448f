//! `vnumac explain`: where every vCPU and every cell's memory landed, as text (in the
//! spirit of `virsh vcpuinfo`'s affinity map) or as an SVG picture of the host.

use crate::check::Checked;
use crate::check::guest::spread;
use crate::host::HostProfile;
use crate::ir::Guest;
use crate::lower::xml::Element;
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
                    let core = match p.as_slice() {
                        [one] => h
                            .profile
                            .cpu(*one)
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

/// The same as a picture: host nodes as boxes, cores as columns of threads, coloured by guest.
pub fn svg(checked: &Checked, only: Option<&str>) -> String {
    let mut root = Element::new("svg")
        .attr("xmlns", "http://www.w3.org/2000/svg")
        .attr("font-family", "sans-serif")
        .attr("font-size", 11);
    let mut y = 10u32;
    let mut body: Vec<Element> = Vec::new();
    let mut width = 400u32;
    let names: Vec<&str> = checked.build.guests.iter().map(|g| g.name.as_str()).collect();
    let colour = |name: &str| PALETTE[names.iter().position(|n| *n == name).unwrap_or(0) % PALETTE.len()];
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
        body.push(
            Element::new("text")
                .attr("x", 10)
                .attr("y", y + 12)
                .attr("font-size", 14)
                .text(format!("host {}", h.name)),
        );
        y += 22;
        // Owner of each host CPU: the guest whose vCPU is pinned to it alone.
        let owner = |cpu: u32| -> Option<&str> {
            guests
                .iter()
                .find(|g| g.pins.iter().any(|p| p.cpus.as_slice() == [cpu]))
                .map(|g| g.name.as_str())
        };
        let cell = 10u32;
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
            if !l3.is_empty() {
                // Cores grouped by L3 domain, so that each domain can be outlined.
                cores.sort_by_key(|c| c.first().and_then(|t| l3.get(t)).copied().unwrap_or(usize::MAX));
            }
            let threads = cores.iter().map(Vec::len).max().unwrap_or(1) as u32;
            let per_row = 32u32;
            let rows = (cores.len() as u32).div_ceil(per_row).max(1);
            let box_h = 34 + rows * (threads * cell + 6);
            let box_w = 20 + per_row.min(cores.len().max(1) as u32) * (cell + 2);
            width = width.max(box_w + 40);
            body.push(
                Element::new("rect")
                    .attr("x", 10)
                    .attr("y", y)
                    .attr("width", box_w.max(300))
                    .attr("height", box_h)
                    .attr("fill", "#f7f7f7")
                    .attr("stroke", "#555"),
            );
            body.push(Element::new("text").attr("x", 16).attr("y", y + 14).text(format!(
                "node {} · {} CPUs · {} / {} bound{}",
                n.id,
                n.cpus.len(),
                human_kib(u.memory_kib + u.pages_kib),
                human_kib(n.ordinary_kib()),
                if u.guests.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", u.guests.join(", "))
                }
            )));
            for (k, core) in cores.iter().enumerate() {
                let col = k as u32 % per_row;
                let row = k as u32 / per_row;
                for (t, cpu) in core.iter().enumerate() {
                    let x = 16 + col * (cell + 2);
                    let yy = y + 22 + row * (threads * cell + 6) + t as u32 * cell;
                    let (fill, title) = match owner(*cpu) {
                        Some(g) => (colour(g), format!("CPU {cpu}: {g}")),
                        None if h.profile.reserved.contains(*cpu) => ("#333333", format!("CPU {cpu}: reserved")),
                        None => ("#ffffff", format!("CPU {cpu}: free")),
                    };
                    body.push(
                        Element::new("rect")
                            .attr("x", x)
                            .attr("y", yy)
                            .attr("width", cell)
                            .attr("height", cell)
                            .attr("fill", fill)
                            .attr("stroke", "#999")
                            .child(Element::new("title").text(title)),
                    );
                }
            }
            body.extend(l3_outlines(
                &h.profile,
                &l3,
                &cores,
                per_row,
                y + 22,
                threads * cell + 6,
                cell,
            ));
            if n.cpus.is_empty() {
                body.push(Element::new("text").attr("x", 16).attr("y", y + 30).text("memory only"));
            }
            y += box_h + 8;
        }
        y += 6;
    }
    // Legend.
    for (i, g) in checked.build.guests.iter().enumerate() {
        if only.is_some_and(|n| n != g.name) {
            continue;
        }
        let x = 10 + (i as u32 % 4) * 150;
        let yy = y + (i as u32 / 4) * 16;
        body.push(
            Element::new("rect")
                .attr("x", x)
                .attr("y", yy)
                .attr("width", 10)
                .attr("height", 10)
                .attr("fill", colour(&g.name)),
        );
        body.push(Element::new("text").attr("x", x + 14).attr("y", yy + 9).text(&g.name));
    }
    let legend_rows = (checked.build.guests.len() as u32).div_ceil(4);
    y += legend_rows * 16 + 10;
    root = root
        .attr("width", width)
        .attr("height", y)
        .attr("viewBox", format!("0 0 {width} {y}"));
    for b in body {
        root.push(b);
    }
    root.render()
}

/// A thin outline around each run of a node's cores that share an L3 domain (per row of
/// `per_row` cores), titled with the domain; nothing for a host without L3 domains. `top` is
/// the first row's y, `row_h` a row's height and `cell` a thread's square.
fn l3_outlines(
    host: &HostProfile,
    l3: &std::collections::BTreeMap<u32, usize>,
    cores: &[Vec<u32>],
    per_row: u32,
    top: u32,
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
                    .attr("x", 15 + col * (cell + 2))
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
