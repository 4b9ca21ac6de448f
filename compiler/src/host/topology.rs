//! What the capabilities and /sys readers know of each CPU, and the `siblings` and `cpu`
//! declarations that state it to the host builder.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::builder::{CpuGroupDecl, SiblingsDecl};
use crate::sets::IdSet;

/// What libvirt (or /sys, which libvirt reads) says about one logical CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuFacts {
    pub id: u32,
    pub socket: Option<u32>,
    pub die: u32,
    pub core: Option<u32>,
    pub siblings: Option<IdSet>,
}

/// `siblings` and `cpu` declarations stating exactly what `facts` say, each with the
/// index of the CPU that introduced it. Every CPU gets an explicit sibling group (its
/// reported set, minus CPUs not in `facts`, plus itself); a group's core id is its
/// lowest thread's. CPUs with a socket or a non-zero die get a `cpu` group per (socket, die).
#[allow(clippy::type_complexity)]
pub(crate) fn topology_decls(facts: &[CpuFacts]) -> (Vec<(SiblingsDecl, usize)>, Vec<(CpuGroupDecl, usize)>) {
    let known: IdSet = facts.iter().map(|c| c.id).collect();
    let siblings = sibling_decls(facts, &known);
    let mut places: BTreeMap<(Option<u32>, u32), (Vec<u32>, usize)> = BTreeMap::new();
    for (i, cpu) in facts.iter().enumerate() {
        if cpu.socket.is_some() || cpu.die != 0 {
            places
                .entry((cpu.socket, cpu.die))
                .or_insert((vec![], i))
                .0
                .push(cpu.id);
        }
    }
    let groups = places
        .into_iter()
        .map(|((socket, die), (ids, i))| {
            let cpus = IdSet::from_ids(ids);
            (
                CpuGroupDecl {
                    cpus,
                    socket,
                    die: Some(die),
                },
                i,
            )
        })
        .collect();
    (siblings, groups)
}

/// One sibling group per distinct set, sorted by lowest CPU (then by the sets' order),
/// each with the first CPU that names it.
fn sibling_decls(facts: &[CpuFacts], known: &IdSet) -> Vec<(SiblingsDecl, usize)> {
    // Each CPU's group: its set as reported (the common case, shared, not copied), or
    // what of it is known, with the CPU itself.
    // Each with its lowest CPU first: sets that differ there are ordered without
    // comparing the sets.
    let mut cores: Vec<(Option<u32>, Cow<'_, IdSet>, usize)> = facts
        .iter()
        .enumerate()
        .map(|(i, cpu)| {
            let set = match &cpu.siblings {
                Some(s) if s.contains(cpu.id) && s.is_subset(known) => Cow::Borrowed(s),
                Some(s) => Cow::Owned(s.intersection(known).union(&IdSet::single(cpu.id))),
                None => Cow::Owned(IdSet::single(cpu.id)),
            };
            (set.first(), set, i)
        })
        .collect();
    // Equal sets side by side, the first CPU naming one ahead; only that one is kept.
    cores.sort_unstable();
    cores.dedup_by(|next, kept| next.1 == kept.1);
    // A CPU's core id is the one its last mention gives (CPUs sorted by id, stably; as
    // libvirt lists them, they are in order already).
    let mut core_of: Vec<(u32, Option<u32>)> = facts.iter().map(|c| (c.id, c.core)).collect();
    if !core_of.is_sorted_by_key(|&(id, _)| id) {
        core_of.sort_by_key(|&(id, _)| id);
    }
    let core = |id: u32| {
        let end = core_of.partition_point(|&(c, _)| c <= id);
        end.checked_sub(1)
            .and_then(|k| core_of.get(k))
            .filter(|&&(c, _)| c == id)
            .and_then(|&(_, core)| core)
    };
    cores
        .into_iter()
        .map(|(first, cpus, i)| {
            let core = first.and_then(core);
            let decl = SiblingsDecl {
                cpus: cpus.into_owned(),
                core,
            };
            (decl, i)
        })
        .collect()
}
