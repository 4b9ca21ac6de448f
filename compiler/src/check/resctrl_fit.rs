//! Cache and memory-bandwidth allocations across the guests of a build, on the final model
//! (after `vnuma` placed its guests): what the guests of a host take of each cache fits in
//! it ([`CACHE_FULL`]), their tunes fit in the host's resctrl groups ([`RESCTRL_GROUPS`]),
//! and each allocation is on a cache or node its vCPUs run on ([`TUNE_OFF_BANK`],
//! [`TUNE_UNPINNED`]).

use super::checked::HostDef;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::host::resctrl::format_bytes;
use crate::ir::{CacheType, Guest};
use crate::sets::IdSet;
use crate::span::{FileId, Span};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A guest of the build as these checks see it.
pub struct TuneGuest<'a> {
    pub guest: &'a Guest,
    pub host: Option<usize>,
    /// Where its relative spans belong ([`Span::relocate`]).
    pub file: FileId,
    pub at: u32,
}

impl TuneGuest<'_> {
    fn span(&self, s: Option<&Span>) -> Span {
        s.copied().unwrap_or(self.guest.spans.name).relocate(self.file, self.at)
    }
}

/// Every guest with a tune, against its host.
pub fn check(guests: &[TuneGuest<'_>], hosts: &[Option<&HostDef>]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut on_host: BTreeMap<usize, Vec<&TuneGuest<'_>>> = BTreeMap::new();
    for g in guests {
        let tuned = !g.guest.cachetunes.is_empty() || !g.guest.memorytunes.is_empty();
        let host = g
            .host
            .and_then(|h| hosts.get(h).copied().flatten().map(|d| (h, &d.profile)));
        if let (true, Some((h, profile))) = (tuned, host) {
            where_vcpus_run(g, profile, &mut out);
            on_host.entry(h).or_default().push(g);
        }
    }
    for (h, here) in on_host {
        if let Some(def) = hosts.get(h).copied().flatten() {
            banks_fit(&here, &def.profile, &mut out);
            groups_fit(&here, &def.profile, &mut out);
        }
    }
    out
}

/// W0517 for a tune none of whose vCPUs is pinned; W0515 for an allocation on a cache or
/// bandwidth node none of its pinned vCPUs runs on.
fn where_vcpus_run(g: &TuneGuest<'_>, host: &HostProfile, out: &mut Vec<Diagnostic>) {
    let guest = g.guest;
    let pins: HashMap<u32, &IdSet> = guest.pins.iter().map(|p| (p.vcpu, &p.cpus)).collect();
    let cpus_of = |vcpus: &IdSet| -> Option<IdSet> {
        let sets: Vec<&IdSet> = vcpus.iter().filter_map(|v| pins.get(&v).copied()).collect();
        (!sets.is_empty()).then(|| sets.into_iter().fold(IdSet::new(), |a, b| a.union(b)))
    };
    let mut lines = 0;
    for (t, tune) in guest.cachetunes.iter().enumerate() {
        let Some(cpus) = cpus_of(&tune.vcpus) else {
            if !tune.caches.is_empty() {
                out.push(unpinned(g, &tune.vcpus, g.span(guest.spans.cachetunes.get(t))));
            }
            lines += tune.caches.len();
            continue;
        };
        for c in &tune.caches {
            let span = g.span(guest.spans.cache_allocs.get(lines));
            lines += 1;
            let Some(bank) = host.resctrl.bank(c.level, c.id) else {
                continue;
            };
            if cpus.intersection(&bank.cpus).is_empty() {
                let what = format!("cache {} of level {}", c.id, c.level);
                out.push(off_bank(&what, &tune.vcpus, &cpus, &bank.cpus, span));
            }
        }
    }
    let mut lines = 0;
    for (t, tune) in guest.memorytunes.iter().enumerate() {
        let Some(cpus) = cpus_of(&tune.vcpus) else {
            out.push(unpinned(g, &tune.vcpus, g.span(guest.spans.memorytunes.get(t))));
            lines += tune.nodes.len();
            continue;
        };
        for &(id, _) in &tune.nodes {
            let span = g.span(guest.spans.bandwidth_allocs.get(lines));
            lines += 1;
            let Some(node) = host.resctrl.bandwidth_node(id) else {
                continue;
            };
            if cpus.intersection(&node.cpus).is_empty() {
                let what = format!("memory-bandwidth node {id}");
                out.push(off_bank(&what, &tune.vcpus, &cpus, &node.cpus, span));
            }
        }
    }
}

fn unpinned(g: &TuneGuest<'_>, vcpus: &IdSet, span: Span) -> Diagnostic {
    Diagnostic::warning(
        TUNE_UNPINNED,
        format!("vCPUs {vcpus} of guest `{}` are not pinned: they may run off what their tune allocates", g.guest.name),
        span,
        "not pinned",
    )
    .with_help("a cache or bandwidth allocation acts only while the vCPUs run on its CPUs: pin them there (`pin`, or `vnuma pinning=cpu`)")
}

fn off_bank(what: &str, vcpus: &IdSet, cpus: &IdSet, bank: &IdSet, span: Span) -> Diagnostic {
    Diagnostic::warning(
        TUNE_OFF_BANK,
        format!("vCPUs {vcpus} run on host CPUs {cpus}, none of {what}"),
        span,
        "not where they run",
    )
    .with_help(format!(
        "{what} serves host CPUs {bank}: allocate the cache or node of the CPUs they are pinned to"
    ))
}

/// What the guests of a host take of one cache: the total, and each line (where, whose, how much).
type Use = (u64, Vec<(Span, String, u64)>);

/// Per cache and type, what every guest of the host allocates fits in the cache: resctrl
/// gives each group bits of the capacity mask no other group has.
fn banks_fit(guests: &[&TuneGuest<'_>], host: &HostProfile, out: &mut Vec<Diagnostic>) {
    let mut used: BTreeMap<(u32, u32, CacheType), Use> = BTreeMap::new();
    for g in guests {
        let allocs = g.guest.cachetunes.iter().flat_map(|t| &t.caches);
        for (i, c) in allocs.enumerate() {
            let entry = used.entry((c.level, c.id, c.kind)).or_default();
            entry.0 = entry.0.saturating_add(c.size);
            let span = g.span(g.guest.spans.cache_allocs.get(i));
            entry.1.push((span, g.guest.name.clone(), c.size));
        }
    }
    for ((level, id, kind), (total, lines)) in used {
        let Some(bank) = host.resctrl.bank(level, id) else {
            continue;
        };
        if total <= bank.size {
            continue;
        }
        let Some((last, _, _)) = lines.last() else { continue };
        let mut d = Diagnostic::error(
            CACHE_FULL,
            format!(
                "guests allocate {} of cache {id} of level {level} ({}), which has {}",
                format_bytes(total),
                kind.word(),
                format_bytes(bank.size)
            ),
            *last,
            "over the cache's size",
        );
        for (span, name, size) in lines.iter().rev().skip(1).take(4) {
            d = d.with_label(*span, format!("guest `{name}`: {}", format_bytes(*size)));
        }
        let more = lines.len().saturating_sub(5);
        let shown = if more > 0 {
            format!(" ({more} more allocations not shown)")
        } else {
            String::new()
        };
        out.push(d.with_help(format!(
            "resctrl gives each allocation bits of the cache no other has: shrink them to {} together{shown}",
            format_bytes(bank.size)
        )));
    }
}

/// Every tune with an allocation is a resctrl group (a cachetune and a memorytune of the same
/// vCPUs are one); the host has as many as its fewest `maxAllocs`, less its own default group.
fn groups_fit(guests: &[&TuneGuest<'_>], host: &HostProfile, out: &mut Vec<Diagnostic>) {
    let r = &host.resctrl;
    let caps = r.banks.iter().flat_map(|b| b.controls.iter().map(|c| c.max_allocs));
    let Some(max) = caps.chain(r.bandwidth.iter().map(|n| n.control.max_allocs)).min() else {
        return;
    };
    let room = max.saturating_sub(1) as usize;
    let mut count = 0usize;
    for g in guests {
        let cache = g
            .guest
            .cachetunes
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.caches.is_empty());
        let cache_sets: HashSet<&IdSet> = cache.clone().map(|(_, t)| &t.vcpus).collect();
        let memory = g
            .guest
            .memorytunes
            .iter()
            .enumerate()
            .filter(|(_, t)| !cache_sets.contains(&t.vcpus));
        let spans = cache
            .map(|(i, _)| g.guest.spans.cachetunes.get(i))
            .chain(memory.map(|(i, _)| g.guest.spans.memorytunes.get(i)));
        for span in spans {
            count += 1;
            if count == room + 1 {
                out.push(
                    Diagnostic::error(
                        RESCTRL_GROUPS,
                        format!("this is tune {count} of the host, which has room for {room} guest resctrl groups"),
                        g.span(span),
                        "no group left",
                    )
                    .with_help(format!(
                        "the host takes {max} allocation groups (`maxAllocs`, resctrl's num_closids) and keeps one for itself; tunes of the same vCPUs share one"
                    )),
                );
            }
        }
    }
}
