//! Why a guest cannot move without changing what it sees: each a coded error at the guest,
//! naming the destination, what is short there and what would fit.

use super::assign::{Group, fits_alone};
use super::dest::Dest;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{DeviceKind, Guest};
use crate::units::human_kib;

/// A passthrough host device: the destination has other devices, and libvirt refuses to
/// migrate a guest with one.
pub fn passthrough(g: &Guest, dest: &str) -> Option<Diagnostic> {
    let (i, host) = g.devices.iter().enumerate().find_map(|(i, d)| match &d.kind {
        DeviceKind::Hostdev { host } => Some((i, host)),
        _ => None,
    })?;
    let span = g.spans.devices.get(i).copied().unwrap_or(g.spans.name);
    Some(
        Diagnostic::error(
            MOVE_PASSTHROUGH,
            format!(
                "guest `{}` has host device {host} passed through, so it cannot move to host `{dest}` without changing what it sees",
                g.name
            ),
            span,
            "a device of the source host",
        )
        .with_help("detach the device before the move (`virsh detach-device`) and attach one of the destination's after it; libvirt refuses to migrate a guest with a host device"),
    )
}

/// A cache or memory-bandwidth allocation: `<cachetune>` and `<memorytune>` name the
/// source host's cache banks and bandwidth nodes by id, which mean other caches (or none) on
/// the destination. Monitors name no bank and move as they are.
pub fn allocations(g: &Guest, dest: &str) -> Option<Diagnostic> {
    let cache = g.cachetunes.iter().position(|t| !t.caches.is_empty());
    let (span, what) = match cache {
        Some(i) => (g.spans.cachetunes.get(i), "cache banks"),
        None => {
            let i = g.memorytunes.iter().position(|t| !t.nodes.is_empty())?;
            (g.spans.memorytunes.get(i), "memory-bandwidth nodes")
        }
    };
    Some(
        Diagnostic::error(
            MOVE_ALLOCATIONS,
            format!(
                "guest `{}` allocates its host's {what} by id, which name other caches and nodes on host `{dest}`",
                g.name
            ),
            span.copied().unwrap_or(g.spans.name),
            "ids of the source host",
        )
        .with_help("remove the guest's `cachetune` and `memorytune` lines (and `vnuma … l3=`) for the move and write the destination's after it: vnumac does not map allocations between hosts"),
    )
}

/// Every page size the guest's memory comes in.
fn page_sizes(g: &Guest) -> Vec<u64> {
    let mut sizes: Vec<u64> = g
        .hugepage_kib
        .iter()
        .chain(g.cells.iter().filter_map(|c| c.hugepage_kib.as_ref()))
        .chain(g.memory_devices.iter().filter_map(|d| d.hugepage_kib.as_ref()))
        .copied()
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// A page size the guest uses that no node of the destination has a pool of.
pub fn page_pool(g: &Guest, dest: &Dest<'_>) -> Option<Diagnostic> {
    let size = page_sizes(g).into_iter().find(|&size| {
        !dest
            .host
            .nodes
            .iter()
            .any(|n| n.hugepages.iter().any(|p| p.size_kib == size && p.count > 0))
    })?;
    let sizes: Vec<String> = {
        let mut all: Vec<u64> = dest
            .host
            .nodes
            .iter()
            .flat_map(|n| n.hugepages.iter().filter(|p| p.count > 0).map(|p| p.size_kib))
            .collect();
        all.sort_unstable();
        all.dedup();
        all.into_iter().map(human_kib).collect()
    };
    let has = if sizes.is_empty() {
        "no hugepages at all".to_string()
    } else {
        format!("pools of {} only", sizes.join(" and "))
    };
    Some(
        Diagnostic::error(
            MOVE_PAGE_POOL,
            format!(
                "host `{}` has no {} pages, and guest `{}`'s memory comes in {} pages",
                dest.name,
                human_kib(size),
                g.name,
                human_kib(size)
            ),
            g.spans.memory.unwrap_or(g.spans.name),
            format!("{} pages", human_kib(size)),
        )
        .with_help(format!(
            "host `{}` has {has}; reserve {} pages on its nodes before the move (`/sys/devices/system/node/nodeN/hugepages/hugepages-{size}kB/nr_hugepages`)",
            dest.name,
            human_kib(size)
        )),
    )
}

/// What a group needs, in words.
fn needs(group: &Group) -> String {
    let mut parts = Vec::new();
    if let Some(&w) = group.widths.first() {
        let n = group.widths.len();
        let threads = if w > 1 {
            format!(" of {w} threads")
        } else {
            String::new()
        };
        parts.push(format!("{n} free core{}{threads}", if n == 1 { "" } else { "s" }));
    }
    if group.floating {
        parts.push("CPUs to share".to_string());
    }
    for (page, kib) in &group.memory {
        parts.push(match page {
            None => format!("{} of memory", human_kib(*kib)),
            Some(p) => format!("{} in {} pages", human_kib(*kib), human_kib(*p)),
        });
    }
    parts.join(" and ")
}

/// What destination node index `i` has for `group`, in words.
fn has(dest: &Dest<'_>, group: &Group, i: usize) -> String {
    let w = group.widths.first().copied().unwrap_or(1);
    let cores = dest
        .free_cores(i)
        .iter()
        .filter(|&&c| dest.topo.cores[c].threads.len() as u32 >= w)
        .count();
    let mut parts = vec![format!("{cores} free core{}", if cores == 1 { "" } else { "s" })];
    for (page, _) in &group.memory {
        let room = dest.room(i, *page);
        parts.push(match page {
            None => format!("{} of memory", human_kib(room)),
            Some(p) => format!("{} in {} pages", human_kib(room), human_kib(*p)),
        });
    }
    parts.join(" and ")
}

/// The guest does not fit: the first group that fits on no node on its own, with the node
/// that comes closest; else the groups together.
pub fn no_room(g: &Guest, dest: &Dest<'_>, groups: &[Group], elsewhere: &[String]) -> Diagnostic {
    let nodes = 0..dest.host.nodes.len();
    let lonely = groups
        .iter()
        .zip(fits_alone(dest, groups))
        .find(|(_, fits)| !fits)
        .map(|(grp, _)| grp);
    let message = match lonely {
        Some(grp) => {
            let best = nodes
                .clone()
                .filter(|&i| !grp.runs_vcpus() || !dest.host.nodes[i].cpus.is_empty())
                .max_by_key(|&i| (dest.free_cores(i).len(), dest.room(i, None), std::cmp::Reverse(i)));
            let cells = cells_words(&grp.cells);
            let closest = best
                .map(|i| {
                    format!(
                        "; the roomiest, node {}, has {}",
                        dest.host.nodes[i].id,
                        has(dest, grp, i)
                    )
                })
                .unwrap_or_default();
            format!(
                "no node of host `{}` has room for {cells}: {} on one node{closest}",
                dest.name,
                needs(grp)
            )
        }
        None => format!(
            "host `{}` has no room for guest `{}`: each part fits some node, but not all of them at once ({})",
            dest.name,
            g.name,
            groups
                .iter()
                .map(|grp| format!("{}: {}", cells_words(&grp.cells), needs(grp)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let help = match elsewhere {
        [] => format!(
            "free cores or memory on host `{}` (move or shrink a guest there), or shrink guest `{}`",
            dest.name, g.name
        ),
        hosts => format!(
            "it fits on host{} {} of this file",
            if hosts.len() == 1 { "" } else { "s" },
            hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
        ),
    };
    Diagnostic::error(
        MOVE_NO_ROOM,
        message,
        g.spans.name,
        format!("does not fit `{}`", dest.name),
    )
    .with_help(help)
}

fn cells_words(cells: &[u32]) -> String {
    match cells {
        [] => "the guest's vCPUs".to_string(),
        [one] => format!("cell {one}"),
        many => format!(
            "cells {}",
            many.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Guest thread siblings that ran on one host core, and a destination whose cores are
/// narrower.
pub fn siblings(g: &Guest, dest: &Dest<'_>, vcpus: &[u32]) -> Diagnostic {
    let list: Vec<String> = vcpus.iter().map(u32::to_string).collect();
    Diagnostic::error(
        MOVE_SIBLINGS,
        format!(
            "vCPUs {} are threads of one guest core on one host core's threads, and the cores of host `{}` have only {} thread{}",
            list.join(", "),
            dest.name,
            dest.topo.smt,
            if dest.topo.smt == 1 { "" } else { "s" }
        ),
        g.spans.vnuma.or(g.spans.pins.first().copied()).unwrap_or(g.spans.name),
        "guest thread siblings",
    )
    .with_help(format!(
        "guest `{}` would see sibling threads that are not; move it to a host with as many threads per core",
        g.name
    ))
}

/// Emulator or I/O threads that find no CPU on the destination.
pub fn threads(g: &Guest, dest: &Dest<'_>, what: &str, nodes: &crate::sets::IdSet) -> Diagnostic {
    let span = match what {
        "emulator threads" => g.spans.emulator,
        _ => g.spans.iothreads,
    };
    Diagnostic::error(
        MOVE_THREADS,
        format!(
            "guest `{}`'s {what} find no CPU on host `{}` node{} {nodes}: every CPU there is reserved, runs another guest's vCPU or the guest's own",
            g.name,
            dest.name,
            if nodes.len() == 1 { "" } else { "s" }
        ),
        span.unwrap_or(g.spans.name),
        what,
    )
    .with_help(format!(
        "reserve a CPU for the host on host `{}` (`reserve cpus=…`), or free one there",
        dest.name
    ))
}
