//! `vnumac explain --format svg`: the host as a picture.

use super::draw::{
    CELL, FONT, LEGEND_COL, PADDING, PALETTE, PER_ROW, TITLE_CHAR_W, emulator_mark, l3_outlines, label, sized_label,
    swatch, text_box,
};
use super::usage::{guests_on, node_use};
use crate::check::Checked;
use crate::ir::Guest;
use crate::lower::xml::Element;
use crate::sets::IdSet;
use crate::units::human_kib;
use std::fmt::Write;

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
