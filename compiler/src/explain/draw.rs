//! The SVG picture's pieces: labels cut to the boxes they sit in, boxes, swatches, marks
//! and L3 outlines.

use crate::host::HostProfile;
use crate::lower::xml::Element;

pub(super) const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
];

/// Labels are set in a monospace face so that their width is known before anything renders
/// them: DejaVu Sans Mono's advance is 0.602 em, so 11 px text takes 6.62 px per character;
/// [`CHAR_W`] rounds that up, and a character outside the Latin, Greek and Cyrillic blocks
/// counts twice (CJK and emoji fall back to faces twice as wide). Every label is cut to the box
/// it sits in, with an ellipsis and the whole text in a `<title>`.
pub(super) const FONT: &str = "DejaVu Sans Mono, monospace";
pub(super) const CHAR_W: u32 = 7;
pub(super) const TITLE_CHAR_W: u32 = 9;
/// A CPU square.
pub(super) const CELL: u32 = 10;
/// Cores per row inside a node box.
pub(super) const PER_ROW: u32 = 32;
/// Width of one legend column.
pub(super) const LEGEND_COL: u32 = 300;
pub(super) const PADDING: u32 = 6;

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
pub(super) fn label(x: u32, y: u32, text: &str, max: u32) -> Element {
    sized_label(x, y, text, max, CHAR_W)
}

pub(super) fn sized_label(x: u32, y: u32, text: &str, max: u32, char_w: u32) -> Element {
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
pub(super) fn text_box(x: u32, y: u32, w: u32, h: u32, fill: &str, stroke: &str) -> Element {
    Element::new("rect")
        .attr("class", "box")
        .attr("x", x)
        .attr("y", y)
        .attr("width", w)
        .attr("height", h)
        .attr("fill", fill)
        .attr("stroke", stroke)
}

pub(super) fn swatch(x: u32, y: u32, fill: &str, opacity: &str) -> Element {
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
pub(super) fn emulator_mark(x: u32, y: u32) -> Element {
    Element::new("circle")
        .attr("cx", x + CELL / 2)
        .attr("cy", y + CELL / 2)
        .attr("r", 2)
        .attr("fill", "#000000")
        .attr("stroke", "#ffffff")
        .attr("stroke-width", "0.8")
}

/// The mark of a CPU a real-time vCPU has alone: a red corner at its top right.
pub(super) fn realtime_mark(x: u32, y: u32) -> Element {
    let right = x + CELL;
    Element::new("polygon")
        .attr("points", format!("{},{y} {right},{y} {right},{}", right - 5, y + 5))
        .attr("fill", "#d62728")
}

/// A ring in a CPU square: I/O threads may run there.
pub(super) fn iothread_mark(x: u32, y: u32) -> Element {
    Element::new("circle")
        .attr("cx", x + CELL / 2)
        .attr("cy", y + CELL / 2)
        .attr("r", 3)
        .attr("fill", "none")
        .attr("stroke", "#000000")
        .attr("stroke-width", "1")
}

/// A dark corner in a CPU square: the core is an isolated thread's own.
pub(super) fn isolated_mark(x: u32, y: u32) -> Element {
    Element::new("polygon")
        .attr(
            "points",
            format!("{},{} {},{} {},{}", x + CELL - 5, y, x + CELL, y, x + CELL, y + 5),
        )
        .attr("fill", "#000000")
}

/// A thin outline around each run of a node's cores that share an L3 domain (per row of
/// `per_row` cores), titled with the domain; nothing for a host without L3 domains. `(left,
/// top)` is where the first row's outline starts, `row_h` a row's height and `cell` a
/// thread's square.
pub(super) fn l3_outlines(
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
