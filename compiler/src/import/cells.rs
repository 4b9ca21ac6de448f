//! `<cpu><numa>`: cells, distances, and what libvirt makes of vCPUs no cell lists.

use std::collections::BTreeMap;

use super::align::MIB;
use super::dom::Node;
use super::draft::{Cell, Draft};
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs, drop_unknown_children};
use super::read::{attr_u32, id_set, size_kib};
use crate::ir;
use crate::numbers::{self, DECIMAL_ID, DISTANCE};
use crate::sets::IdSet;

/// The id of the `pos`-th cell: its `id`, else its position (libvirt's default). An id
/// libvirt refuses is reported by [`cells`]; here it is the position.
pub(super) fn cell_id(c: &Node, pos: usize) -> u32 {
    c.attr("id")
        .and_then(|t| numbers::read(&DECIMAL_ID, t).ok().flatten())
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(pos as u32)
}

pub(super) fn cells(cpu: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let Some(numa) = cpu.child("numa") else {
        return Ok(());
    };
    drop_unknown_children(numa, &["cell", "interconnects"], notes);
    let list: Vec<&Node> = numa.all("cell").collect();
    if list.is_empty() {
        return Err(error_at(numa.at, "<numa> without a <cell> (libvirt rejects it)"));
    }
    let most = crate::check::cells::MAX_CELLS;
    if list.len() > most {
        let message = format!("{} cells: QEMU takes at most {most} NUMA nodes", list.len());
        return Err(error_at(numa.at, message));
    }
    let ids = cell_ids(&list)?;
    let mut rows: Vec<Vec<(u32, u32)>> = Vec::new();
    for (c, &id) in list.iter().zip(&ids) {
        for cache in c.all("cache") {
            d.hmat.push(super::hmat::cache(cache, id, notes)?);
        }
        d.cells.push(cell(c, id, d.vcpus, notes)?);
        rows.push(siblings(c, id, list.len())?);
    }
    keep_sizes(d, notes);
    distances(d, &rows, notes);
    d.hmat.extend(super::hmat::interconnects(numa, list.len(), notes)?);
    Ok(())
}

/// Each cell's id: its `id`, else its position; libvirt takes each of 0 to n−1 once.
fn cell_ids(list: &[&Node]) -> Result<Vec<u32>, ImportError> {
    let mut seen = vec![false; list.len()];
    let mut ids = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let id = attr_u32(c, "id", &DECIMAL_ID)?.unwrap_or(i as u32);
        match seen.get_mut(id as usize) {
            Some(s) if !*s => *s = true,
            Some(_) => {
                return Err(error_at(
                    c.at,
                    format!("<cell id='{id}'> is given twice (libvirt rejects it)"),
                ));
            }
            None => {
                return Err(error_at(
                    c.at,
                    format!(
                        "<cell id='{id}'>: libvirt takes the ids 0 to {} of the {} cells, each once",
                        list.len() - 1,
                        list.len()
                    ),
                ));
            }
        }
        ids.push(id);
    }
    Ok(ids)
}

/// One `<cell>`; its vCPUs must be below `vcpus`, as libvirt requires.
fn cell(c: &Node, id: u32, vcpus: u32, notes: &mut Notes) -> Result<Cell, ImportError> {
    drop_unknown_children(c, &["distances", "cache"], notes);
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
    let cpus = c
        .attr("cpus")
        .filter(|s| !s.trim().is_empty())
        .map(|s| id_set(c, "cpus", s))
        .transpose()?;
    if let Some(last) = cpus.as_ref().and_then(IdSet::last).filter(|l| *l >= vcpus) {
        return Err(error_at(
            c.at,
            format!("cell {id} names vCPU {last}, but the guest has {vcpus} vCPUs (libvirt rejects it)"),
        ));
    }
    let mem = c.attr("memory").unwrap_or_default();
    let memory_kib = size_kib(c, mem, c.attr("unit"), "<cell memory>", notes)?
        .ok_or_else(|| error_at(c.at, "<cell> has no `memory` (libvirt rejects it)"))?;
    Ok(Cell {
        id,
        at: c.at,
        cpus: cpus.filter(|s| !s.is_empty()),
        memory_kib,
        host_node: None,
        policy: None,
        access,
        discard,
    })
}

/// `<distances>` of cell `id`: (sibling, value), each as libvirt takes it: a sibling of the
/// `n` cells, 10 to itself, 11 to 255 to any other.
fn siblings(c: &Node, id: u32, n: usize) -> Result<Vec<(u32, u32)>, ImportError> {
    let mut row = Vec::new();
    let Some(ds) = c.child("distances") else {
        return Ok(row);
    };
    for s in ds.all("sibling") {
        let (Some(j), Some(v)) = (attr_u32(s, "id", &DECIMAL_ID)?, attr_u32(s, "value", &DISTANCE)?) else {
            return Err(error_at(s.at, "<sibling> needs `id` and `value`"));
        };
        if j as usize >= n {
            return Err(error_at(
                s.at,
                format!(
                    "<sibling id='{j}'>: the guest has cells 0 to {} (libvirt rejects it)",
                    n - 1
                ),
            ));
        }
        if (j == id) != (v == 10) {
            return Err(error_at(
                s.at,
                format!(
                    "<sibling id='{j}' value='{v}'> of cell {id}: libvirt takes 10 for a cell to itself and 11 to 255 between two cells"
                ),
            ));
        }
        row.push((j, v));
    }
    Ok(row)
}

/// `distance` lines for the pairs that differ from the default (symmetric fill, else 20).
/// `rows` hold valid distances only ([`siblings`]).
fn distances(d: &mut Draft, rows: &[Vec<(u32, u32)>], _notes: &mut Notes) {
    if rows.iter().all(Vec::is_empty) {
        return;
    }
    let ids: Vec<u32> = d.cells.iter().map(|c| c.id).collect();
    let mut given: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for (&a, row) in ids.iter().zip(rows) {
        for &(b, v) in row.iter().filter(|(b, _)| *b != a) {
            given.insert((a, b), v);
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
pub(super) fn rectify_cells(d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    // Every set is below the vCPU count (`cell`), so these sets are small.
    let mut covered = IdSet::new();
    for (i, c) in d.cells.iter().enumerate() {
        let Some(cpus) = &c.cpus else { continue };
        if let Some(v) = covered.intersection(cpus).first() {
            let other = d.cells[..i]
                .iter()
                .find(|o| o.cpus.as_ref().is_some_and(|s| s.contains(v)));
            return Err(error_at(
                c.at,
                format!(
                    "vCPU {v} is in cells {} and {} (libvirt rejects overlapping cells)",
                    other.map_or(0, |o| o.id),
                    c.id
                ),
            ));
        }
        covered = covered.union(cpus);
    }
    if d.cells.is_empty() {
        return Ok(());
    }
    let missing = IdSet::range(0, d.vcpus.saturating_sub(1)).difference(&covered);
    if missing.is_empty() {
        return Ok(());
    }
    let Some(first) = d.cells.iter_mut().find(|c| c.id == 0) else {
        return Ok(());
    };
    first.cpus = Some(first.cpus.take().unwrap_or_default().union(&missing));
    notes.change(format!(
        "vCPUs {missing} are in no cell: libvirt puts them in cell 0, and so does vnumac"
    ));
    Ok(())
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

/// Cells that are not whole MiB. A running domain's live XML (`<domain id=…>`) has them so
/// only when libvirt received the guest by migration or restored it, which keep the source's
/// sizes: they are kept to the KiB (`exact=true`), since rounding them would build a guest
/// with another memory layout, into which it cannot migrate. Otherwise they are rounded up to
/// whole MiB, as libvirt does when it starts the guest. A note says which, either way.
fn keep_sizes(d: &mut Draft, notes: &mut Notes) {
    let mut kept = Vec::new();
    for c in d.cells.iter_mut().filter(|c| !c.memory_kib.is_multiple_of(MIB)) {
        let up = c.memory_kib.div_ceil(MIB) * MIB;
        if d.running {
            kept.push(format!(
                "cell {}'s {} KiB (`virsh start` makes it {up} KiB)",
                c.id, c.memory_kib
            ));
            continue;
        }
        notes.change(format!(
            "cell {}'s memory of {} KiB is rounded up to {up} KiB, a multiple of 1 MiB, as libvirt does when it starts the guest \
             (the live XML of a running guest keeps it, with `exact=true`)",
            c.id, c.memory_kib
        ));
        c.memory_kib = up;
    }
    if kept.is_empty() {
        return;
    }
    d.backing.push("exact=true".into());
    notes.change(format!(
        "{} kept to the KiB with `exact=true`: the running guest has these sizes, as libvirt keeps them for a guest it receives by migration",
        kept.join(", ")
    ));
}
