//! `vnuma l3=SIZE`: each placed cell's vCPUs get SIZE of every L3 cache the host CPUs they
//! were placed on share: the cache allocations it derives, checked and grouped with the
//! guest's `cachetune` lines (`resctrl.rs`).

use super::body::Body;
use super::cx::Cx;
use crate::codes::CACHE_BANK;
use crate::diagnostics::Diagnostic;
use crate::ir::{CacheAlloc, CacheType, GuestCell, VcpuPin};
use crate::sets::IdSet;
use crate::span::Span;
use std::collections::HashMap;

/// One allocation a cell gets: its vCPUs, the cache and size, and the `l3=` it comes from.
pub(super) struct Derived {
    pub(super) vcpus: IdSet,
    pub(super) alloc: CacheAlloc,
    pub(super) span: Span,
}

/// The allocations of every cell with vCPUs, on the L3 caches (level-3 `cache-bank`s) its
/// vCPUs' host CPUs share; with code and data prioritisation, SIZE of each half. `placed`:
/// `vnuma` placed the guest, so its cells and pins are final.
pub(super) fn derive(
    body: &Body<'_>,
    cells: &[GuestCell],
    pins: &[VcpuPin],
    placed: bool,
    cx: &mut Cx<'_, '_>,
) -> Vec<Derived> {
    let Some(v) = body.find("vnuma") else { return Vec::new() };
    let Some(size) = v.size("l3") else { return Vec::new() };
    let span = v.span_of("l3");
    if !placed {
        return Vec::new();
    }
    let Some(host) = cx.host.map(|h| h.profile) else {
        cx.need_host("`vnuma l3=`", span);
        return Vec::new();
    };
    let banks: Vec<_> = host.resctrl.banks.iter().filter(|b| b.level == 3).collect();
    let pinned: HashMap<u32, &IdSet> = pins.iter().map(|p| (p.vcpu, &p.cpus)).collect();
    let mut out = Vec::new();
    for c in cells.iter().filter(|c| !c.vcpus.is_empty()) {
        let cpus = c
            .vcpus
            .iter()
            .filter_map(|v| pinned.get(&v).copied())
            .fold(IdSet::new(), |a, b| a.union(b));
        let under: Vec<_> = banks
            .iter()
            .filter(|b| !b.cpus.intersection(&cpus).is_empty())
            .collect();
        if under.is_empty() {
            let d = Diagnostic::error(
                CACHE_BANK,
                format!("cell {} runs on host CPUs {cpus}, which share no L3 cache the host lists", c.id),
                span,
                "no cache to allocate",
            )
            .with_help("`l3=` needs the host's level-3 caches (`cache-bank ID level=3 ...`, from capabilities or /sys with resctrl mounted)");
            cx.err(d);
            continue;
        }
        for b in under {
            let kinds: &[CacheType] = if b.cdp() {
                &[CacheType::Code, CacheType::Data]
            } else {
                &[CacheType::Both]
            };
            for &kind in kinds {
                out.push(Derived {
                    vcpus: c.vcpus.clone(),
                    alloc: CacheAlloc {
                        id: b.id,
                        level: 3,
                        kind,
                        size,
                    },
                    span,
                });
            }
        }
    }
    out
}
