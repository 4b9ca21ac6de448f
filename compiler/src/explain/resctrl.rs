//! `vnumac explain` of cache and memory-bandwidth allocations: what each guest's tunes
//! take, and for each host cache what the guests of the build take of it together.

use crate::host::HostProfile;
use crate::host::resctrl::format_bytes;
use crate::ir::{CacheType, Guest};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One line per cache allocation, monitor and bandwidth limit of the guest.
pub(super) fn guest_tunes(out: &mut String, g: &Guest, host: Option<&HostProfile>) {
    let cpus_of = |level: u32, id: u32| {
        host.and_then(|h| h.resctrl.bank(level, id))
            .map(|b| format!("; host CPUs {}", b.cpus))
            .unwrap_or_default()
    };
    for t in &g.cachetunes {
        for c in &t.caches {
            let half = match c.kind {
                CacheType::Both => String::new(),
                kind => format!(" ({} half)", kind.word()),
            };
            let _ = writeln!(
                out,
                "  cache: vCPUs {} get {} of L{} cache {}{half}{}",
                t.vcpus,
                format_bytes(c.size),
                c.level,
                c.id,
                cpus_of(c.level, c.id)
            );
        }
        for m in &t.monitors {
            let _ = writeln!(out, "  cache: L3 occupancy of vCPUs {m} monitored");
        }
    }
    for t in &g.memorytunes {
        for &(id, pct) in &t.nodes {
            let cpus = host
                .and_then(|h| h.resctrl.bandwidth_node(id))
                .map(|n| format!("; host CPUs {}", n.cpus))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  memory bandwidth: vCPUs {} at most {pct}% of node {id}{cpus}",
                t.vcpus
            );
        }
    }
}

/// A host cache and the part of it allocated: (level, id, type).
type CacheKey = (u32, u32, CacheType);

/// Each host cache some guest of the build takes a part of: its size, what each guest
/// takes, and what is left.
pub(super) fn host_caches(out: &mut String, host: &HostProfile, guests: &[&Guest]) {
    let mut used: BTreeMap<CacheKey, Vec<(&str, u64)>> = BTreeMap::new();
    for g in guests {
        for c in g.cachetunes.iter().flat_map(|t| &t.caches) {
            let entry = used.entry((c.level, c.id, c.kind)).or_default();
            match entry.iter_mut().find(|(name, _)| *name == g.name) {
                Some((_, size)) => *size = size.saturating_add(c.size),
                None => entry.push((g.name.as_str(), c.size)),
            }
        }
    }
    if used.is_empty() {
        return;
    }
    let _ = writeln!(out, "  Cache allocations (resctrl), by cache:");
    for ((level, id, kind), takers) in used {
        let Some(bank) = host.resctrl.bank(level, id) else {
            continue;
        };
        let total = takers.iter().map(|t| t.1).fold(0u64, u64::saturating_add);
        let list: Vec<String> = takers
            .iter()
            .map(|(n, s)| format!("{n} {}", format_bytes(*s)))
            .collect();
        let half = match kind {
            CacheType::Both => String::new(),
            kind => format!(", {} half", kind.word()),
        };
        let _ = writeln!(
            out,
            "  L{level} cache {id} ({}{half}; CPUs {}): {} taken ({}), {} left",
            format_bytes(bank.size),
            bank.cpus,
            format_bytes(total),
            list.join(", "),
            format_bytes(bank.size.saturating_sub(total))
        );
    }
    let _ = writeln!(out);
}
