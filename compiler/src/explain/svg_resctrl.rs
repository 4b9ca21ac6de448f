//! The SVG picture's cache and memory-bandwidth allocations: under a node's cores, a bar per
//! cache of the node that some guest drawn allocates (its length the cache's size, each
//! guest's part in the guest's colour, what is left white), and a bar per memory-bandwidth
//! limit of a guest on the node's bandwidth domain (its length 100% of the domain).

use super::draw::label;
use crate::host::resctrl::format_bytes;
use crate::host::{HostNode, HostProfile};
use crate::ir::{CacheType, Guest};
use crate::lower::xml::Element;
use std::collections::BTreeMap;

/// A bar's height, and the height of its row.
pub(super) const ROW_H: u32 = 14;
/// A bar's length.
const BAR_W: u32 = 160;

/// A part of a bar: the guest, how much, and what the part is.
type Part<'a> = (&'a str, u64, String);

/// One bar: what it stands for, its whole, and its parts.
pub(super) struct Bar<'a> {
    pub(super) text: String,
    whole: u64,
    parts: Vec<Part<'a>>,
}

/// The bars of a node: each cache the guests take a part of, and each bandwidth limit, whose
/// CPUs begin on this node (a cache over several nodes is drawn once, on its first CPU's).
pub(super) fn node_bars<'a>(host: &HostProfile, n: &HostNode, guests: &[&'a Guest]) -> Vec<Bar<'a>> {
    let here = |cpus: &crate::sets::IdSet| cpus.first().is_some_and(|c| n.cpus.contains(c));
    let mut caches: BTreeMap<(u32, u32, CacheType), Vec<Part<'a>>> = BTreeMap::new();
    let mut bars = Vec::new();
    for g in guests {
        for t in &g.cachetunes {
            for c in &t.caches {
                let what = format!("vCPUs {} of {}", t.vcpus, g.name);
                caches
                    .entry((c.level, c.id, c.kind))
                    .or_default()
                    .push((g.name.as_str(), c.size, what));
            }
        }
    }
    for ((level, id, kind), parts) in caches {
        let Some(bank) = host.resctrl.bank(level, id).filter(|b| here(&b.cpus)) else {
            continue;
        };
        let taken = parts.iter().map(|p| p.1).fold(0u64, u64::saturating_add);
        let half = match kind {
            CacheType::Both => String::new(),
            kind => format!(", {} half", kind.word()),
        };
        let text = format!(
            "L{level} cache {id} ({}{half}; CPUs {}): {} taken, {} left",
            format_bytes(bank.size),
            bank.cpus,
            format_bytes(taken),
            format_bytes(bank.size.saturating_sub(taken))
        );
        let parts = parts
            .into_iter()
            .map(|(g, size, what)| {
                (
                    g,
                    size,
                    format!("{} of L{level} cache {id}{half} for {what}", format_bytes(size)),
                )
            })
            .collect();
        bars.push(Bar {
            text,
            whole: bank.size,
            parts,
        });
    }
    for g in guests {
        for t in &g.memorytunes {
            for &(id, pct) in &t.nodes {
                let Some(node) = host.resctrl.bandwidth_node(id).filter(|b| here(&b.cpus)) else {
                    continue;
                };
                let what = format!(
                    "vCPUs {} of {} at most {pct}% of memory bandwidth node {id}",
                    t.vcpus, g.name
                );
                bars.push(Bar {
                    text: format!("{what}; CPUs {}", node.cpus),
                    whole: 100,
                    parts: vec![(g.name.as_str(), u64::from(pct), what)],
                });
            }
        }
    }
    bars
}

/// A bar at (x, y): a white frame of `BAR_W`, each part in its guest's colour with what it
/// is as its title, and the bar's text beside it, cut to `room`.
pub(super) fn draw_bar(
    bar: &Bar<'_>,
    (x, y): (u32, u32),
    room: u32,
    colour: &dyn Fn(&str) -> &'static str,
) -> Vec<Element> {
    let mut out = vec![
        Element::new("rect")
            .attr("x", x)
            .attr("y", y)
            .attr("width", BAR_W)
            .attr("height", ROW_H - 4)
            .attr("fill", "#ffffff")
            .attr("stroke", "#999")
            .child(Element::new("title").text(&bar.text)),
    ];
    let whole = u128::from(bar.whole.max(1));
    let mut start = 0u128;
    for (g, amount, what) in &bar.parts {
        let from = start * u128::from(BAR_W) / whole;
        start = (start + u128::from(*amount)).min(whole);
        let to = start * u128::from(BAR_W) / whole;
        let width = u32::try_from(to.saturating_sub(from)).unwrap_or(BAR_W).max(1);
        out.push(
            Element::new("rect")
                .attr("class", "alloc")
                .attr("x", x + u32::try_from(from).unwrap_or(0))
                .attr("y", y)
                .attr("width", width)
                .attr("height", ROW_H - 4)
                .attr("fill", colour(g))
                .attr("stroke", "#555")
                .child(Element::new("title").text(what)),
        );
    }
    out.push(label(
        x + BAR_W + 6,
        y + ROW_H - 5,
        &bar.text,
        room.saturating_sub(BAR_W + 6),
    ));
    out
}
