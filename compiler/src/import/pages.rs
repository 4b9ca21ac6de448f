//! `<memoryBacking><hugepages>`: each cell's page size, as libvirt chooses it, and what
//! libvirt rejects.

use super::cells::cell_id;
use super::dom::Node;
use super::guest::Draft;
use super::{ImportError, Notes, drop_unknown_attrs, error_at, id_set};
use crate::sets::IdSet;

/// The guest's page size (the one most cells have) and each other cell's own.
pub(super) fn read(root: &Node, hp: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let all: Vec<&Node> = hp.all("page").collect();
    if all.is_empty() {
        // The host's default hugepage size: 2 MiB on x86_64.
        d.hugepage_kib = Some(2048);
        notes.change(
            "<hugepages/> without a size: the host's default hugepage size, 2 MiB on x86_64 (unless the host boots with another default_hugepagesz=)",
        );
        return Ok(());
    }
    // Each <page>: its size, and the cells it names (None: every cell not named elsewhere).
    let mut pages: Vec<(u64, Option<IdSet>, &Node)> = Vec::new();
    for p in all {
        drop_unknown_attrs(p, &["size", "unit", "nodeset"], notes);
        let size = p.attr("size").ok_or_else(|| error_at(p.at, "<page> has no `size`"))?;
        let kib = super::size_kib(p, size, p.attr("unit"), "<page size>", notes)?;
        let set = p.attr("nodeset").map(|ns| id_set(p, "nodeset", ns)).transpose()?;
        pages.push((kib, set, p));
    }
    let cells: Vec<u32> = root
        .child("cpu")
        .and_then(|c| c.child("numa"))
        .map(|n| n.all("cell").enumerate().map(|(i, c)| cell_id(c, i)).collect())
        .unwrap_or_default();
    // A guest without cells is one node, 0, as libvirt sees it here.
    let nodes: Vec<u32> = if cells.is_empty() { vec![0] } else { cells.clone() };
    for (_, set, p) in &pages {
        if let Some(missing) = set.iter().flat_map(|s| s.iter()).find(|id| !nodes.contains(id)) {
            return Err(error_at(
                p.at,
                format!(
                    "<page nodeset>: the guest has no cell {missing} (libvirt rejects it: hugepages: node {missing} not found)"
                ),
            ));
        }
    }
    let defaults: Vec<&(u64, Option<IdSet>, &Node)> = pages.iter().filter(|(_, s, _)| s.is_none()).collect();
    if let Some((_, _, p)) = defaults.get(1) {
        return Err(error_at(p.at, "two <page>s without a nodeset (libvirt rejects them)"));
    }
    let default = defaults.first().map(|(kib, ..)| *kib);
    // libvirt (qemuBuildMemoryGetPagesize): the page naming the cell, else the default.
    let mut per_node: Vec<(u32, Option<u64>)> = Vec::new();
    for &id in &nodes {
        let named: Vec<&(u64, Option<IdSet>, &Node)> = pages
            .iter()
            .filter(|(_, s, _)| s.as_ref().is_some_and(|s| s.contains(id)))
            .collect();
        let page = match named.as_slice() {
            [] => default,
            [(kib, ..)] if cells.is_empty() && default.is_some_and(|d| d != *kib) => {
                return Err(error_at(
                    hp.at,
                    format!(
                        "two hugepage sizes for the guest's memory: {} and {kib} KiB (libvirt rejects it: two master hugepages)",
                        default.unwrap_or(0)
                    ),
                ));
            }
            [(kib, ..)] => Some(*kib),
            [_, (_, _, p), ..] => {
                return Err(error_at(p.at, format!("<page nodeset>: cell {id} is named twice")));
            }
        };
        // A page of the system's page size is ordinary memory.
        per_node.push((id, page.filter(|k| *k != 4)));
    }
    // The guest's size is the one most cells have (the first on a tie); the others say
    // their own.
    let mut counts: Vec<(Option<u64>, usize)> = Vec::new();
    for (_, p) in &per_node {
        match counts.iter_mut().find(|(q, _)| q == p) {
            Some((_, n)) => *n += 1,
            None => counts.push((*p, 1)),
        }
    }
    // Ordinary memory wins a tie, so that no cell needs `hugepages=4KiB`.
    let mut guest_page = None;
    let mut most = counts.iter().find(|(p, _)| p.is_none()).map_or(0, |(_, n)| *n);
    for (p, n) in counts {
        if n > most {
            (guest_page, most) = (p, n);
        }
    }
    d.hugepage_kib = guest_page;
    if !cells.is_empty() {
        d.cell_pages = per_node
            .iter()
            .filter(|(_, p)| *p != guest_page)
            .map(|(id, p)| (*id, p.unwrap_or(4)))
            .collect();
    }
    Ok(())
}
