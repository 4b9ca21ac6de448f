//! `<memoryBacking><hugepages>`: each cell's page size, as libvirt chooses it, and what
//! libvirt rejects.

use std::collections::HashMap;

use super::cells::cell_id;
use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs};
use super::read::{id_set, page_kib, size_kib};
use crate::sets::IdSet;

/// A `<page>`: its size in KiB, the cells it names (None: every cell not named elsewhere).
type Page<'a> = (u64, Option<IdSet>, &'a Node);

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
    let mut pages: Vec<Page> = Vec::new();
    for p in all {
        drop_unknown_attrs(p, &["size", "unit", "nodeset"], notes);
        let kib = size_kib(
            p,
            p.attr("size").unwrap_or_default(),
            p.attr("unit"),
            "<page size>",
            notes,
        )?
        .ok_or_else(|| error_at(p.at, "<page> has no `size` (libvirt rejects it)"))?;
        if kib == 0 {
            return Err(error_at(
                p.at,
                "<page size='0'> (libvirt rejects it: hugepage size can't be zero)",
            ));
        }
        let kib = page_kib(p, kib)?;
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
    let per_node = per_node(hp, &pages, &nodes, cells.is_empty())?;
    // The guest's size is the one most cells have (the first on a tie); the others say
    // their own.
    let mut order: Vec<Option<u64>> = Vec::new();
    let mut counts: HashMap<Option<u64>, usize> = HashMap::new();
    for (_, p) in &per_node {
        let n = counts.entry(*p).or_insert(0);
        if *n == 0 {
            order.push(*p);
        }
        *n += 1;
    }
    // Ordinary memory wins a tie, so that no cell needs `hugepages=4KiB`.
    let mut guest_page = None;
    let mut most = counts.get(&None).copied().unwrap_or(0);
    for p in order {
        let n = counts.get(&p).copied().unwrap_or(0);
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

/// Each node's page size as libvirt chooses it (`qemuBuildMemoryGetPagesize`): the page
/// naming the node, else the one without a nodeset; None for ordinary memory.
fn per_node(hp: &Node, pages: &[Page], nodes: &[u32], no_cells: bool) -> Result<Vec<(u32, Option<u64>)>, ImportError> {
    let known: IdSet = nodes.iter().copied().collect();
    // Each nodeset must name cells the guest has, each cell at most once: after these
    // checks the sets together hold at most one id per cell.
    let mut named: HashMap<u32, u64> = HashMap::new();
    for (kib, set, p) in pages {
        let Some(set) = set else { continue };
        if let Some(missing) = set.difference(&known).first() {
            return Err(error_at(
                p.at,
                format!(
                    "<page nodeset>: the guest has no cell {missing} (libvirt rejects it: hugepages: node {missing} not found)"
                ),
            ));
        }
        for id in set.iter() {
            if named.insert(id, *kib).is_some() {
                return Err(error_at(p.at, format!("<page nodeset>: cell {id} is named twice")));
            }
        }
    }
    let defaults: Vec<&Page> = pages.iter().filter(|(_, s, _)| s.is_none()).collect();
    if let Some((_, _, p)) = defaults.get(1) {
        return Err(error_at(p.at, "two <page>s without a nodeset (libvirt rejects them)"));
    }
    let default = defaults.first().map(|(kib, ..)| *kib);
    let mut out = Vec::with_capacity(nodes.len());
    for &id in nodes {
        let page = match named.get(&id) {
            None => default,
            Some(kib) if no_cells && default.is_some_and(|d| d != *kib) => {
                return Err(error_at(
                    hp.at,
                    format!(
                        "two hugepage sizes for the guest's memory: {} and {kib} KiB (libvirt rejects it: two master hugepages)",
                        default.unwrap_or(0)
                    ),
                ));
            }
            Some(kib) => Some(*kib),
        };
        // A page of the system's page size is ordinary memory.
        out.push((id, page.filter(|k| *k != 4)));
    }
    Ok(out)
}
