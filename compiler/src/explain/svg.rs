//! `vnumac explain --format svg`: the host as a picture.

use super::draw::{
    CELL, FONT, LEGEND_COL, PADDING, PALETTE, PER_ROW, TITLE_CHAR_W, emulator_mark, iothread_mark, isolated_mark,
    l3_outlines, label, realtime_mark, sized_label, swatch, text_box,
};
use super::svg_resctrl::{ROW_H, draw_bar, node_bars};
use super::usage::{NodeUse, guests_on, node_use};
use crate::check::Checked;
use crate::host::{HostNode, HostProfile};
use crate::ir::{Guest, SchedThreads, VcpuSched};
use crate::lower::xml::Element;
use crate::sets::IdSet;
use crate::units::human_kib;
use std::collections::{BTreeMap, HashMap};
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
    /// The scheduling of the dedicated vCPU, when it is real-time (`fifo 1`).
    realtime: Option<String>,
    /// Guests whose I/O threads may run here.
    iothreads: Vec<&'a str>,
    /// The guest whose isolated thread has this CPU's core, and which thread.
    isolated: Option<(&'a str, String)>,
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
    let realtime: usize = g
        .sched
        .iter()
        .filter(|s| s.policy.realtime())
        .map(|s| match &s.threads {
            SchedThreads::Vcpus(set) => set.len(),
            _ => 0,
        })
        .sum();
    if realtime > 0 {
        parts.push(format!("{realtime} real-time"));
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
    let mut canvas = Canvas {
        body: Vec::new(),
        y: PADDING,
        width: 2 * LEGEND_COL + 2 * PADDING + 12,
        names: checked.build.guests.iter().map(|g| g.name.as_str()).collect(),
        any_l3: false,
        any_realtime: false,
        any_alloc: false,
    };
    let mut drawn: Vec<&Guest> = Vec::new();
    for (hi, h) in checked.hosts.iter().enumerate() {
        let Some(h) = h else { continue };
        let guests: Vec<&Guest> = guests_on(checked, hi)
            .into_iter()
            .filter(|g| only.is_none_or(|n| n == g.name))
            .collect();
        if guests.is_empty() {
            continue;
        }
        drawn.extend(&guests);
        canvas.host(&h.name, &h.profile, &guests);
    }
    if drawn.is_empty() {
        let note = match only {
            Some(n) => format!("guest {n} is on no host block, so nothing is pinned"),
            None => "no guest is on a host block, so nothing is pinned".to_owned(),
        };
        canvas.note(&note);
    }
    canvas.legend(&drawn);
    canvas.finish()
}

/// The picture as it is drawn: its elements top to bottom, how far down and how wide.
struct Canvas<'a> {
    body: Vec<Element>,
    y: u32,
    width: u32,
    /// Every guest of the build, in order: a guest's colour is its place here.
    names: Vec<&'a str>,
    /// Some host drawn has L3 domains.
    any_l3: bool,
    /// Some CPU drawn runs a real-time vCPU alone.
    any_realtime: bool,
    /// Some node drawn has a cache or memory-bandwidth allocation's bar.
    any_alloc: bool,
}

impl Canvas<'_> {
    fn colour(&self, name: &str) -> &'static str {
        PALETTE[self.names.iter().position(|n| *n == name).unwrap_or(0) % PALETTE.len()]
    }

    /// A host: its name, then a box per node.
    fn host(&mut self, name: &str, host: &HostProfile, guests: &[&Guest]) {
        let uses = node_use(host, guests);
        let cpu_use = cpu_uses(guests);
        self.any_realtime |= cpu_use.values().any(|u| u.realtime.is_some());
        let header = format!("host {name}");
        let (y, width) = (self.y, self.width);
        self.body
            .push(text_box(PADDING, y, width - 2 * PADDING, 22, "#ffffff", "none"));
        self.body.push(
            sized_label(PADDING + 4, y + 16, &header, width - 2 * PADDING - 8, TITLE_CHAR_W).attr("font-size", 14),
        );
        self.y += 26;
        let l3 = host.l3_map();
        for (n, u) in host.nodes.iter().zip(&uses) {
            self.node(host, n, u, (&cpu_use, guests), &l3);
        }
        self.y += 6;
    }

    /// A node's box: what it holds, then its cores as columns of threads.
    fn node(
        &mut self,
        host: &HostProfile,
        n: &HostNode,
        u: &NodeUse,
        (cpu_use, guests): (&HashMap<u32, CpuUse>, &[&Guest]),
        l3: &BTreeMap<u32, usize>,
    ) {
        let mut cores = node_cores(host, n);
        let bars = node_bars(host, n, guests);
        self.any_alloc |= !bars.is_empty();
        self.any_l3 |= !l3.is_empty();
        if !l3.is_empty() {
            // Cores grouped by L3 domain, so that each domain can be outlined.
            cores.sort_by_key(|c| c.first().and_then(|t| l3.get(t)).copied().unwrap_or(usize::MAX));
        }
        let y = self.y;
        let threads = cores.iter().map(Vec::len).max().unwrap_or(1) as u32;
        let rows = (cores.len() as u32).div_ceil(PER_ROW).max(1);
        let grid_w = PER_ROW.min(cores.len().max(1) as u32) * (CELL + 2);
        let box_w = (grid_w + 12).max(self.width - 2 * PADDING);
        let grid_h = rows * (threads * CELL + 6);
        let box_h = 46 + grid_h + bars.len() as u32 * ROW_H;
        self.width = self.width.max(box_w + 2 * PADDING);
        self.body.push(text_box(PADDING, y, box_w, box_h, "#f7f7f7", "#555"));
        let room = box_w - 12;
        self.body.push(label(
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
        self.body.push(label(PADDING + 6, y + 28, &on_node, room));
        for (k, core) in cores.iter().enumerate() {
            let col = k as u32 % PER_ROW;
            let row = k as u32 / PER_ROW;
            for (t, cpu) in core.iter().enumerate() {
                let x = PADDING + 6 + col * (CELL + 2);
                let yy = y + 36 + row * (threads * CELL + 6) + t as u32 * CELL;
                self.cpu(host, *cpu, (x, yy), cpu_use.get(cpu));
            }
        }
        self.body.extend(l3_outlines(
            host,
            l3,
            &cores,
            PER_ROW,
            (PADDING + 5, y + 36),
            threads * CELL + 6,
            CELL,
        ));
        for (k, bar) in bars.iter().enumerate() {
            let at = (PADDING + 6, y + 40 + grid_h + k as u32 * ROW_H);
            let drawn = draw_bar(bar, at, room, &|g| self.colour(g));
            self.body.extend(drawn);
        }
        if n.cpus.is_empty() {
            self.body.push(label(PADDING + 6, y + 42, "memory only", room));
        }
        self.y += box_h + 8;
    }

    /// One CPU's square at (x, y), coloured by its use, with what it is for as its title.
    fn cpu(&mut self, host: &HostProfile, cpu: u32, (x, y): (u32, u32), used: Option<&CpuUse>) {
        let mut title = format!("CPU {cpu}");
        let (fill, opacity) = match used {
            Some(CpuUse {
                dedicated: Some(g),
                realtime: Some(s),
                ..
            }) => {
                let _ = write!(title, ": a real-time vCPU ({s}) of {g}");
                (self.colour(g), "1")
            }
            Some(CpuUse {
                isolated: Some((g, what)),
                ..
            }) => {
                let _ = write!(title, ": a core of its own for the {what} of {g} (isolated)");
                (self.colour(g), "1")
            }
            Some(CpuUse { dedicated: Some(g), .. }) => {
                let _ = write!(title, ": a vCPU of {g}");
                (self.colour(g), "1")
            }
            Some(CpuUse { floating, .. }) if !floating.is_empty() => {
                let _ = write!(title, ": vCPUs of {} float here", floating.join(", "));
                (self.colour(floating[0]), "0.35")
            }
            _ if host.reserved.contains(cpu) => {
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
        if let Some(u) = used.filter(|u| !u.iothreads.is_empty()) {
            let _ = write!(title, "; I/O threads of {}", u.iothreads.join(", "));
        }
        let mut square = Element::new("rect")
            .attr("x", x)
            .attr("y", y)
            .attr("width", CELL)
            .attr("height", CELL)
            .attr("fill", fill)
            .attr("stroke", "#999");
        if opacity != "1" {
            square = square.attr("fill-opacity", opacity);
        }
        self.body.push(square.child(Element::new("title").text(&title)));
        if used.is_some_and(|u| u.dedicated.is_some() && u.realtime.is_some()) {
            self.body
                .push(realtime_mark(x, y).child(Element::new("title").text(&title)));
        }
        if used.is_some_and(|u| u.isolated.is_some()) {
            self.body
                .push(isolated_mark(x, y).child(Element::new("title").text(&title)));
        }
        if used.is_some_and(|u| !u.emulator.is_empty()) {
            self.body
                .push(emulator_mark(x, y).child(Element::new("title").text(&title)));
        }
        if used.is_some_and(|u| !u.iothreads.is_empty()) {
            self.body
                .push(iothread_mark(x, y).child(Element::new("title").text(&title)));
        }
    }

    /// A line of text across the picture.
    fn note(&mut self, note: &str) {
        let (y, width) = (self.y, self.width);
        self.body
            .push(text_box(PADDING, y, width - 2 * PADDING, 22, "#ffffff", "none"));
        self.body
            .push(label(PADDING + 4, y + 15, note, width - 2 * PADDING - 8));
        self.y += 26;
    }

    /// Legend: what the squares mean, then every guest drawn with its colour.
    fn legend(&mut self, drawn: &[&Guest]) {
        let mut keys: Vec<(Element, String)> = vec![
            (swatch(0, 0, "#ffffff", "1"), "free CPU".to_owned()),
            (swatch(0, 0, "#333333", "1"), "reserved for the host".to_owned()),
            (swatch(0, 0, "#888888", "1"), "one vCPU pinned here".to_owned()),
            (swatch(0, 0, "#888888", "0.35"), "vCPUs float over these".to_owned()),
            (emulator_mark(0, 0), "emulator threads".to_owned()),
            (iothread_mark(0, 0), "I/O threads".to_owned()),
            (isolated_mark(0, 0), "an isolated thread's own core".to_owned()),
        ];
        if self.any_realtime {
            keys.push((realtime_mark(0, 0), "real-time vCPU (fifo or rr)".to_owned()));
        }
        if self.any_l3 {
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
        if self.any_alloc {
            keys.push((
                swatch(0, 0, "#ffffff", "1"),
                "bar: a cache or bandwidth, by guest".to_owned(),
            ));
        }
        for g in drawn {
            let text = format!("{} ({})", g.name, placement_summary(g));
            keys.push((swatch(0, 0, self.colour(&g.name), "1"), text));
        }
        let (y, width) = (self.y, self.width);
        let per_row = (width - 2 * PADDING) / LEGEND_COL;
        let legend_h = (keys.len() as u32).div_ceil(per_row) * 16 + 8;
        self.body.push(text_box(
            PADDING,
            y,
            width - 2 * PADDING,
            legend_h,
            "#ffffff",
            "#bbbbbb",
        ));
        let room = LEGEND_COL - 24;
        for (i, (mark, text)) in keys.into_iter().enumerate() {
            let x = PADDING + 6 + (i as u32 % per_row) * LEGEND_COL;
            let yy = y + 5 + (i as u32 / per_row) * 16;
            self.body.push(
                Element::new("g")
                    .attr("transform", format!("translate({x},{yy})"))
                    .child(mark),
            );
            self.body.push(label(x + 14, yy + 9, &text, room));
        }
        self.y += legend_h + PADDING;
    }

    fn finish(self) -> String {
        let (width, y) = (self.width, self.y);
        let mut root = Element::new("svg")
            .attr("xmlns", "http://www.w3.org/2000/svg")
            .attr("font-family", FONT)
            .attr("font-size", 11)
            .attr("width", width)
            .attr("height", y)
            .attr("viewBox", format!("0 0 {width} {y}"));
        for b in self.body {
            root.push(b);
        }
        root.render()
    }
}

/// What each host CPU is used for by the guests drawn.
fn cpu_uses<'a>(guests: &[&'a Guest]) -> HashMap<u32, CpuUse<'a>> {
    let mut cpu_use: HashMap<u32, CpuUse> = HashMap::new();
    for g in guests {
        let sched = VcpuSched::new(&g.sched);
        for p in &g.pins {
            for cpu in p.cpus.iter() {
                let u = cpu_use.entry(cpu).or_default();
                if p.cpus.len() == 1 {
                    if u.dedicated.is_none() {
                        u.realtime = sched.get(p.vcpu).filter(|s| s.policy.realtime()).map(|s| s.describe());
                    }
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
            if g.isolated.emulator {
                u.isolated = Some((&g.name, "emulator threads".into()));
            }
        }
        for (k, pin) in (1u32..).zip(&g.iothread_pins) {
            for cpu in pin.iter().flat_map(IdSet::iter) {
                let u = cpu_use.entry(cpu).or_default();
                if !u.iothreads.contains(&g.name.as_str()) {
                    u.iothreads.push(&g.name);
                }
                if g.isolated.iothreads {
                    u.isolated = Some((&g.name, format!("I/O thread {k}")));
                }
            }
        }
    }
    cpu_use
}

/// A node's cores: its sibling groups in order.
fn node_cores(host: &HostProfile, n: &HostNode) -> Vec<Vec<u32>> {
    let mut cores: Vec<Vec<u32>> = Vec::new();
    for cpu in n.cpus.iter() {
        let Some(c) = host.cpu(cpu) else { continue };
        if c.siblings.first() == Some(cpu) || c.siblings.is_empty() {
            cores.push(if c.siblings.is_empty() {
                vec![cpu]
            } else {
                c.siblings.iter().filter(|t| n.cpus.contains(*t)).collect()
            });
        }
    }
    cores
}
