//! `<cpu><numa>`: cells, distances, and what libvirt makes of vCPUs no cell lists.

use std::collections::BTreeMap;

use super::dom::Node;
use super::guest::{Cell, Draft, MIB, round_up};
use super::{ImportError, Notes, attr_u32, drop_unknown_attrs, drop_unknown_children, error_at, id_set, number};
use crate::ir;
use crate::sets::IdSet;

pub(super) fn cell_id(c: &Node, pos: usize) -> u32 {
    c.attr("id")
        .and_then(number)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(pos as u32)
}

pub(super) fn cells(cpu: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
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
pub(super) fn distances(d: &mut Draft, rows: &[Vec<(u32, u32, usize)>], notes: &mut Notes) {
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
