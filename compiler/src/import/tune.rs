//! `<cputune>`, `<iothreads>` and `<numatune>`: pinning and memory binding.

use std::collections::BTreeMap;

use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs, drop_unknown_children};
use super::read::{at_most, attr_u32, id_set, text_u32};
use crate::numbers::{DECIMAL_ID, IOTHREAD_ID, IOTHREADS};
use crate::sets::IdSet;

const POLICIES: &[&str] = &["strict", "preferred", "interleave", "restrictive"];

/// The most I/O threads a guest has (`iothreads` in a `.vnuma` file takes 1 to 1024).
const MAX_IOTHREADS: u32 = 1024;

/// `<iothreads>` and its `<iothreadpin>`s, each thread's CPU set its own.
fn iothreads(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let pins: Vec<&Node> = root
        .child("cputune")
        .map(|ct| ct.all("iothreadpin").collect())
        .unwrap_or_default();
    let count = match (root.child("iothreads"), root.child("iothreadids")) {
        (None, None) => {
            if !pins.is_empty() {
                notes.drop("<iothreadpin> without <iothreads>");
            }
            return Ok(());
        }
        // Empty or 0: none.
        (Some(n), None) => text_u32(n, &IOTHREADS)?.unwrap_or(0),
        (n, Some(ids)) => thread_ids(n, ids, notes)?,
    };
    if count == 0 {
        return Ok(());
    }
    let count = match root.child("iothreads").or(root.child("iothreadids")) {
        Some(n) => at_most(n, count, MAX_IOTHREADS, "the 1024 I/O threads a vnumac guest can have")?,
        None => count,
    };
    let mut sets: BTreeMap<u32, IdSet> = BTreeMap::new();
    for p in pins {
        let (Some(id), Some(set)) = (attr_u32(p, "iothread", &IOTHREAD_ID)?, p.attr("cpuset")) else {
            return Err(error_at(p.at, "<iothreadpin> needs `iothread` and `cpuset`"));
        };
        if id > count {
            return Err(error_at(
                p.at,
                format!("<iothreadpin iothread='{id}'>: the guest has I/O threads 1 to {count}"),
            ));
        }
        // libvirt refuses a second pin of one thread ("duplicate iothreadpin for same iothread").
        if sets.insert(id, id_set(p, "cpuset", set)?).is_some() {
            return Err(error_at(
                p.at,
                format!("<iothreadpin iothread='{id}'>: I/O thread {id} is pinned twice"),
            ));
        }
    }
    d.iothreads = Some((count, sets));
    Ok(())
}

/// `<iothreadids>`: libvirt's I/O threads are the ids listed there, and, when `<iothreads>`
/// asks for more, the lowest ids not listed. vnumac numbers a guest's I/O threads 1 to N,
/// so the ids must come to exactly that; the count, or an error naming the first id out of
/// that range. An id given twice libvirt rejects too.
fn thread_ids(count: Option<&Node>, ids: &Node, notes: &mut Notes) -> Result<u32, ImportError> {
    let mut listed = IdSet::new();
    let mut n_listed: u32 = 0;
    for t in ids.children.iter() {
        if t.name != "iothread" {
            notes.drop(t.describe());
            continue;
        }
        drop_unknown_attrs(t, &["id"], notes);
        let Some(id) = attr_u32(t, "id", &IOTHREAD_ID)? else {
            return Err(error_at(
                t.at,
                "<iothread> in <iothreadids> needs `id` (libvirt requires it)",
            ));
        };
        if listed.contains(id) {
            return Err(error_at(
                t.at,
                format!("<iothread id='{id}'> is listed twice (libvirt rejects it)"),
            ));
        }
        if id > MAX_IOTHREADS {
            return Err(error_at(
                t.at,
                format!("<iothread id='{id}'>: vnumac numbers a guest's I/O threads 1 to at most 1024"),
            ));
        }
        listed.insert(id);
        n_listed += 1;
    }
    let asked = match count {
        Some(n) => text_u32(n, &IOTHREADS)?.unwrap_or(0),
        None => 0,
    };
    // libvirt fills up to `<iothreads>` with the lowest ids not listed, so the threads are
    // 1 to N exactly when every listed id is at most N.
    let total = asked.max(n_listed);
    match listed.last() {
        Some(hi) if hi > total => Err(error_at(
            ids.at,
            format!(
                "<iothreadids> lists I/O thread {hi}, but the guest has {total} I/O threads: vnumac numbers them 1 to {total}, as `iothreads {total}`"
            ),
        )),
        _ => Ok(total),
    }
}

pub(super) fn tune(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let mut pinned: BTreeMap<u32, IdSet> = BTreeMap::new();
    if let Some(ct) = root.child("cputune") {
        drop_unknown_children(
            ct,
            &[
                "vcpupin",
                "emulatorpin",
                "iothreadpin",
                "vcpusched",
                "iothreadsched",
                "emulatorsched",
                "cachetune",
                "memorytune",
            ],
            notes,
        );
        for p in ct.all("vcpupin") {
            let (Some(v), Some(set)) = (attr_u32(p, "vcpu", &DECIMAL_ID)?, p.attr("cpuset")) else {
                return Err(error_at(p.at, "<vcpupin> needs `vcpu` and `cpuset`"));
            };
            // libvirt ignores the pin (without reading its cpuset) when the vCPU is not there.
            if v >= d.vcpus {
                notes.drop(format!(
                    "<vcpupin vcpu='{v}'>: the guest has no vCPU {v}, and libvirt ignores the pin"
                ));
                continue;
            }
            pinned.insert(v, id_set(p, "cpuset", set)?);
        }
        if let Some(e) = ct.child("emulatorpin") {
            let set = e
                .attr("cpuset")
                .ok_or_else(|| error_at(e.at, "<emulatorpin> has no `cpuset`"))?;
            d.emulator = Some(id_set(e, "cpuset", set)?);
        }
    }
    iothreads(root, d, notes)?;
    if let Some(ct) = root.child("cputune") {
        super::sched::sched(ct, d, notes)?;
        super::resctrl::resctrl(ct, d, notes)?;
    }
    // `<vcpu cpuset>` is the default for vCPUs without a <vcpupin>, and for the emulator.
    if let Some(v) = root.child("vcpu")
        && let Some(s) = v.attr("cpuset")
    {
        let set = id_set(v, "cpuset", s)?;
        for id in 0..d.vcpus {
            pinned.entry(id).or_insert_with(|| set.clone());
        }
        d.emulator.get_or_insert(set);
        notes.change(format!(
            "<vcpu cpuset='{s}'>: written as `pin` lines for the vCPUs without a <vcpupin>, and as `emulator`"
        ));
    }
    // One `pin` line per CPU set, in the order of the first vCPU pinned to it.
    let mut groups: Vec<(IdSet, IdSet)> = Vec::new();
    let mut group_of: std::collections::HashMap<IdSet, usize> = std::collections::HashMap::new();
    for (v, set) in pinned {
        match group_of.get(&set).and_then(|&i| groups.get_mut(i)) {
            Some((vs, _)) => vs.insert(v),
            None => {
                group_of.insert(set.clone(), groups.len());
                groups.push((IdSet::single(v), set));
            }
        }
    }
    d.pins = groups;
    numatune(root, d, notes)
}

/// The mode of a `<memory>` or `<memnode>`; None (with a note) for one vnumac does not know.
fn mode(n: &Node, notes: &mut Notes) -> Option<String> {
    match n.attr("mode").unwrap_or("strict") {
        m if POLICIES.contains(&m) => Some(m.to_string()),
        m => {
            notes.drop(format!("<{} mode='{m}'>", n.name));
            None
        }
    }
}

/// `<numatune>`, and the numad placement `<vcpu placement='auto'>` implies.
fn numatune(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    // With `<vcpu placement='auto'>`, memory that <numatune> does not place is placed by
    // numad too (libvirt's numatune parser), under the default mode, strict.
    let vcpus_auto = root.child("vcpu").and_then(|v| v.attr("placement")) == Some("auto");
    let numad_memory = |notes: &mut Notes| {
        notes
            .change("<vcpu placement='auto'>: libvirt places the memory by numad too (`memory-policy placement=auto`)");
    };
    let Some(nt) = root.child("numatune") else {
        if vcpus_auto {
            d.memory_policy = Some(("strict".to_string(), None));
            numad_memory(notes);
        }
        return Ok(());
    };
    drop_unknown_children(nt, &["memory", "memnode"], notes);
    if vcpus_auto && nt.child("memory").is_none() && nt.child("memnode").is_none() {
        d.memory_policy = Some(("strict".to_string(), None));
        numad_memory(notes);
    }
    if let Some(m) = nt.child("memory") {
        match (m.attr("placement"), m.attr("nodeset")) {
            (Some("auto"), ns) => {
                if let Some(ns) = ns {
                    notes.change(format!(
                        "<numatune><memory placement='auto' nodeset='{ns}'>: libvirt ignores the nodeset and asks numad"
                    ));
                }
                if let Some(mode) = mode(m, notes) {
                    d.memory_policy = Some((mode, None));
                }
            }
            (Some("static") | None, Some(ns)) => {
                let set = id_set(m, "nodeset", ns)?;
                if let Some(mode) = mode(m, notes) {
                    d.memory_policy = Some((mode, Some(set)));
                }
            }
            (Some("static"), None) => {
                return Err(error_at(
                    m.at,
                    "<numatune><memory placement='static'> needs a nodeset (libvirt rejects it without one)",
                ));
            }
            (Some(other), _) => {
                return Err(error_at(
                    m.at,
                    format!("<numatune><memory placement='{other}'>: libvirt knows `static` and `auto`"),
                ));
            }
            (None, None) if vcpus_auto => {
                if let Some(mode) = mode(m, notes) {
                    d.memory_policy = Some((mode, None));
                    numad_memory(notes);
                }
            }
            (None, None) => notes.drop("<numatune><memory> without a nodeset or a placement".to_string()),
        }
    }
    memnodes(nt, d, notes)
}

/// `<memnode>`s: each names a cell the guest has, once.
fn memnodes(nt: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    if nt.child("memnode").is_some() && d.cells.is_empty() {
        return Err(error_at(
            nt.at,
            "<memnode> without guest NUMA cells (libvirt rejects it)",
        ));
    }
    // Cell ids are 0 to n-1, each once (`cells`): the position of each.
    let mut position = vec![0usize; d.cells.len()];
    for (i, c) in d.cells.iter().enumerate() {
        if let Some(p) = position.get_mut(c.id as usize) {
            *p = i;
        }
    }
    let mut bound = vec![false; d.cells.len()];
    for mn in nt.all("memnode") {
        let (Some(id), Some(ns)) = (attr_u32(mn, "cellid", &DECIMAL_ID)?, mn.attr("nodeset")) else {
            return Err(error_at(mn.at, "<memnode> needs `cellid` and `nodeset`"));
        };
        match bound.get_mut(id as usize) {
            None => {
                return Err(error_at(
                    mn.at,
                    format!("<memnode cellid='{id}'>: the guest has no cell {id} (libvirt rejects it)"),
                ));
            }
            Some(true) => {
                return Err(error_at(
                    mn.at,
                    format!("<memnode cellid='{id}'> is given twice (libvirt rejects it)"),
                ));
            }
            Some(b) => *b = true,
        }
        let set = id_set(mn, "nodeset", ns)?;
        let Some(policy) = mode(mn, notes) else { continue };
        if let Some(c) = position.get(id as usize).and_then(|&i| d.cells.get_mut(i)) {
            c.host_node = Some(set);
            c.policy = (policy != "strict").then_some(policy);
        }
    }
    Ok(())
}
