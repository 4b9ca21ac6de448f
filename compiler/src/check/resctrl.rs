//! `cachetune` and `memorytune`: a guest's cache and memory-bandwidth allocations, grouped
//! into libvirt's `<cachetune>` and `<memorytune>` by their vCPU sets, and checked as
//! libvirt takes them and against what the host can allocate. What the guests of a host
//! take together is checked on the final model (`resctrl_fit.rs`).

use super::body::Body;
use super::cx::Cx;
use super::resctrl_cells::Derived;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::{CacheBank, HostProfile};
use crate::ir::{CacheAlloc, CacheTune, CacheType, MemoryTune};
use crate::lang::Fields;
use crate::sets::IdSet;
use crate::span::Span;
use std::collections::{HashMap, HashSet};

/// A tune being gathered: its first line, and the line of each allocation.
struct Group<T> {
    tune: T,
    span: Span,
    lines: Vec<Span>,
    /// (level, id, type) of each cache allocation, or (0, node, both) of each bandwidth
    /// limit → its index in `lines`.
    keys: HashMap<(u32, u32, CacheType), usize>,
    /// Every vCPU a monitor of the group names, but for the monitor of the group's own
    /// vCPUs.
    monitored: IdSet,
    /// The monitor of the group's own vCPUs, where it is written.
    whole_monitor: Option<Span>,
}

/// The guest's tunes, with where each part was written.
#[derive(Default)]
pub(super) struct Tunes {
    pub(super) cache: Vec<CacheTune>,
    pub(super) memory: Vec<MemoryTune>,
    pub(super) cache_spans: Vec<Span>,
    pub(super) memory_spans: Vec<Span>,
    pub(super) cache_allocs: Vec<Span>,
    pub(super) bandwidth_allocs: Vec<Span>,
}

/// Every `cachetune` and `memorytune` line of the guest, which has `vcpus` vCPUs, and the
/// allocations `vnuma l3=` derives for its cells (after the lines, in cell order).
pub(super) fn check(body: &Body<'_>, vcpus: u32, kvm: bool, derived: &[Derived], cx: &mut Cx<'_, '_>) -> Tunes {
    if !kvm && !not_kvm(body, derived, cx) {
        return Tunes::default();
    }
    let host = cx.host.map(|h| h.profile);
    let mut cache: Groups<CacheTune> = Groups::default();
    for f in body.all("cachetune") {
        cache_line(f, vcpus, host, &mut cache, cx);
    }
    for d in derived {
        if host.is_some_and(|h| !alloc_fits(&At::all(d.span), &d.alloc, h, cx)) {
            cache.refused.insert(d.vcpus.clone());
            continue;
        }
        let g = cache.of(&d.vcpus, d.span, || CacheTune {
            vcpus: d.vcpus.clone(),
            caches: Vec::new(),
            monitors: Vec::new(),
        });
        add_alloc(g, &d.vcpus, d.alloc, d.span, cx);
    }
    let mut memory: Groups<MemoryTune> = Groups::default();
    for f in body.all("memorytune") {
        memory_line(f, vcpus, host, &mut memory, cx);
    }
    for g in &cache.list {
        layered_monitors(g, cache.refused.contains(&g.tune.vcpus), cx);
    }
    overlaps(&cache.list, &memory.list, cx);
    let mut out = Tunes::default();
    for g in cache.list {
        out.cache.push(g.tune);
        out.cache_spans.push(g.span);
        out.cache_allocs.extend(g.lines);
    }
    for g in memory.list {
        out.memory.push(g.tune);
        out.memory_spans.push(g.span);
        out.bandwidth_allocs.extend(g.lines);
    }
    out
}

/// The vCPUs of a tune that the guest has. libvirt drops the others without a word, and a
/// tune left with none: both are warned about. None when none is left.
fn own_vcpus(f: &Fields<'_>, vcpus: u32, cx: &mut Cx<'_, '_>) -> Option<IdSet> {
    let set = f.set("vcpus")?;
    let have = match vcpus {
        0 => IdSet::new(),
        n => IdSet::range(0, n - 1),
    };
    let kept = set.intersection(&have);
    let missing = set.difference(&have);
    if missing.is_empty() && !kept.is_empty() {
        return Some(kept);
    }
    let what = format!("`{}`", f.keyword());
    let (message, label) = if kept.is_empty() {
        (
            format!("{what} names no vCPU the guest has: libvirt drops the whole tune without a word"),
            "no such vCPUs".to_string(),
        )
    } else {
        (
            format!("vCPUs {missing} do not exist: libvirt drops them from the tune without a word"),
            format!("the tune is vCPUs {kept}"),
        )
    };
    let help = match vcpus {
        0 => "the guest has no vCPUs".to_string(),
        n => format!("name vCPUs within 0-{}", n - 1),
    };
    cx.err(Diagnostic::warning(TUNE_VCPUS, message, f.span_of("vcpus"), label).with_help(help));
    (!kept.is_empty()).then_some(kept)
}

/// libvirt's QEMU driver refuses tunes in a domain that is not KVM ("cachetune is only
/// supported for KVM domains"): an error at the first. False when there is one.
fn not_kvm(body: &Body<'_>, derived: &[Derived], cx: &mut Cx<'_, '_>) -> bool {
    let first = body
        .all("cachetune")
        .chain(body.all("memorytune"))
        .map(|f| f.span())
        .min();
    let Some(span) = first.or(derived.first().map(|d| d.span)) else {
        return true;
    };
    let d = Diagnostic::error(
        TUNES_NOT_KVM,
        "cache and memory-bandwidth allocation needs a KVM guest",
        span,
        "in a `type qemu` guest",
    )
    .with_help("libvirt refuses `<cachetune>` and `<memorytune>` for TCG domains; remove `type qemu`, or the tunes");
    cx.err(d);
    false
}

/// Where the parts of one cache allocation were written: a `cachetune` line's properties,
/// or for a cell's `vnuma l3=` allocation, that property for all of them.
struct At {
    cache: Span,
    size: Span,
    kind: Span,
}

impl At {
    fn of(f: &Fields<'_>) -> At {
        At {
            cache: f.span_of("cache"),
            size: f.span_of("size"),
            kind: if f.has("type") { f.span_of("type") } else { f.span() },
        }
    }

    fn all(span: Span) -> At {
        At {
            cache: span,
            size: span,
            kind: span,
        }
    }
}

/// Tunes of one kind as they are gathered, found by their vCPU set.
struct Groups<T> {
    list: Vec<Group<T>>,
    by_set: HashMap<IdSet, usize>,
    /// The vCPU sets with an allocation the host refused (reported): they allocate as
    /// written, for what else is checked.
    refused: HashSet<IdSet>,
}

impl<T> Default for Groups<T> {
    fn default() -> Self {
        Groups {
            list: Vec::new(),
            by_set: HashMap::new(),
            refused: HashSet::new(),
        }
    }
}

impl<T> Groups<T> {
    /// The group of `set`, made when this is the first line with that set.
    fn of(&mut self, set: &IdSet, span: Span, make: impl FnOnce() -> T) -> &mut Group<T> {
        let next = self.list.len();
        let i = *self.by_set.entry(set.clone()).or_insert(next);
        if i == next {
            self.list.push(Group {
                tune: make(),
                span,
                lines: Vec::new(),
                keys: HashMap::new(),
                monitored: IdSet::new(),
                whole_monitor: None,
            });
        }
        &mut self.list[i]
    }
}

fn cache_line(
    f: &Fields<'_>,
    vcpus: u32,
    host: Option<&HostProfile>,
    groups: &mut Groups<CacheTune>,
    cx: &mut Cx<'_, '_>,
) {
    let Some(set) = own_vcpus(f, vcpus, cx) else { return };
    let monitor = f.set("monitor");
    let alloc = match (f.int("cache"), f.size("size")) {
        (Some(id), Some(size)) => Some(CacheAlloc {
            id: u32::try_from(id).unwrap_or(u32::MAX),
            level: f.int("level").and_then(|l| u32::try_from(l).ok()).unwrap_or(3),
            kind: f.text("type").and_then(CacheType::from_word).unwrap_or(CacheType::Both),
            size,
        }),
        (None, None) if monitor.is_some() => None,
        _ => {
            let d = Diagnostic::error(
                CACHE_BANK,
                "`cachetune` needs `cache=` and `size=` (a part of a cache), or `monitor=`",
                f.span(),
                "what does it allocate?",
            )
            .with_help("write e.g. `cachetune vcpus=0-3 cache=0 size=3MiB`, or `cachetune vcpus=0-3 monitor=0-3`");
            cx.err(d);
            return;
        }
    };
    if let Some(m) = monitor.filter(|m| m.is_empty() || !m.is_subset(&set)) {
        let d = Diagnostic::error(
            TUNE_OVERLAP,
            format!("monitor vCPUs {m} are not within the tune's vCPUs {set}"),
            f.span_of("monitor"),
            "off the tune",
        )
        .with_help("libvirt monitors vCPUs of its `<cachetune>` only: name some of its `vcpus=`");
        cx.err(d);
        return;
    }
    if let (Some(a), Some(h)) = (alloc, host)
        && !alloc_fits(&At::of(f), &a, h, cx)
    {
        groups.refused.insert(set);
        return;
    }
    let g = groups.of(&set, f.span(), || CacheTune {
        vcpus: set.clone(),
        caches: Vec::new(),
        monitors: Vec::new(),
    });
    if let Some(a) = alloc
        && !add_alloc(g, &set, a, f.span(), cx)
    {
        return;
    }
    if let Some(m) = monitor {
        // The monitor of the tune's own vCPUs may share them with its other monitors
        // (`layered_monitors`); two such, or two others that overlap, are refused.
        let whole = *m == set;
        let shared = match (whole, g.whole_monitor) {
            (true, Some(_)) => m.clone(),
            (true, None) => IdSet::new(),
            (false, _) => g.monitored.intersection(m),
        };
        if !shared.is_empty() {
            let d = Diagnostic::error(
                TUNE_OVERLAP,
                format!("vCPUs {shared} are already monitored in the tune of vCPUs {set}"),
                f.span_of("monitor"),
                "monitored twice",
            )
            .with_help("libvirt refuses monitors that share vCPUs");
            cx.err(d);
            return;
        }
        if whole {
            g.whole_monitor = Some(f.span_of("monitor"));
        } else {
            g.monitored = g.monitored.union(m);
        }
        g.tune.monitors.push(m.clone());
    }
}

/// A monitor of a tune's own vCPUs beside monitors of some of them: libvirt takes it when
/// the tune allocates a cache (the monitor then watches the allocation's own resctrl group,
/// and the others groups of their own within it), and refuses it otherwise, whichever line
/// comes first. `refused`: the group's allocation was written, and refused for the host.
fn layered_monitors(g: &Group<CacheTune>, refused: bool, cx: &mut Cx<'_, '_>) {
    let Some(span) = g.whole_monitor else { return };
    if g.monitored.is_empty() || !g.tune.caches.is_empty() || refused {
        return;
    }
    let d = Diagnostic::error(
        TUNE_OVERLAP,
        format!(
            "vCPUs {} are monitored twice in the tune of vCPUs {}, which allocates no cache",
            g.monitored, g.tune.vcpus
        ),
        span,
        "monitored twice",
    )
    .with_help("libvirt takes a monitor of a tune's own vCPUs beside monitors of some of them only when the tune allocates a cache: add `cache=` and `size=` to the tune, or drop a monitor");
    cx.err(d);
}

/// One allocation into its group, unless the group has that cache already (or has it whole
/// where this takes a half, or the other way round), as libvirt refuses.
fn add_alloc(g: &mut Group<CacheTune>, set: &IdSet, a: CacheAlloc, line: Span, cx: &mut Cx<'_, '_>) -> bool {
    let others: &[CacheType] = match a.kind {
        CacheType::Both => &[CacheType::Both, CacheType::Code, CacheType::Data],
        kind => &[kind, CacheType::Both],
    };
    if let Some(i) = others.iter().find_map(|&k| g.keys.get(&(a.level, a.id, k)).copied()) {
        let d = Diagnostic::error(
            TUNE_OVERLAP,
            format!("cache {} of level {} is allocated twice to vCPUs {set}", a.id, a.level),
            line,
            "again",
        )
        .with_label(g.lines[i], "first here")
        .with_help("libvirt refuses a second allocation of one cache in a `<cachetune>`, and `both` beside `code` or `data`: give one size of each part");
        cx.err(d);
        return false;
    }
    g.keys.insert((a.level, a.id, a.kind), g.lines.len());
    g.tune.caches.push(a);
    g.lines.push(line);
    true
}

/// The host has the cache, can allocate it, of this type, in this size (libvirt's
/// virResctrlAllocUpdateSize and virResctrlAllocCheckCollision refuse it otherwise).
fn alloc_fits(at: &At, a: &CacheAlloc, host: &HostProfile, cx: &mut Cx<'_, '_>) -> bool {
    let allocatable = || {
        let levels: Vec<String> = host
            .resctrl
            .banks
            .iter()
            .filter(|b| !b.controls.is_empty())
            .take(8)
            .map(|b| format!("{} (level {})", b.id, b.level))
            .collect();
        match levels.len() {
            0 => "the host can allocate none of its caches".to_string(),
            _ => format!("caches the host can allocate include {}", levels.join(", ")),
        }
    };
    let Some(bank) = host.resctrl.bank(a.level, a.id) else {
        let message = format!("the host has no level-{} cache with id {}", a.level, a.id);
        cx.err(Diagnostic::error(CACHE_BANK, message, at.cache, "no such cache").with_help(allocatable()));
        return false;
    };
    if bank.controls.is_empty() {
        let message = format!(
            "cache {} of level {} cannot be allocated: the host has no control for it",
            a.id, a.level
        );
        cx.err(Diagnostic::error(CACHE_BANK, message, at.cache, "not allocatable").with_help(allocatable()));
        return false;
    }
    let Some(control) = bank.control(a.kind) else {
        cx.err(type_error(at, a, bank));
        return false;
    };
    let (g, min) = (control.granularity, control.min);
    if a.size.is_multiple_of(g) && a.size >= min {
        return true;
    }
    let fmt = crate::host::resctrl::format_bytes;
    let below = (a.size / g) * g;
    let message = if a.size < min {
        format!(
            "{} is below the smallest allocation of cache {}, {}",
            fmt(a.size),
            a.id,
            fmt(min)
        )
    } else {
        format!(
            "{} is not a whole number of the cache's {} granules",
            fmt(a.size),
            fmt(g)
        )
    };
    let help = format!(
        "allocations of cache {} are whole {} granules of at least {}: {} or {}",
        a.id,
        fmt(g),
        fmt(min),
        fmt(below.max(min)),
        fmt(below.max(min).max(a.size.next_multiple_of(g)))
    );
    cx.err(Diagnostic::error(CACHE_SIZE, message, at.size, "not whole granules").with_help(help));
    false
}

fn type_error(at: &At, a: &CacheAlloc, bank: &CacheBank) -> Diagnostic {
    let span = at.kind;
    let (message, help) = if bank.cdp() {
        (
            format!(
                "cache {} has code and data prioritisation: a part of it is of its `code` or its `data`",
                a.id
            ),
            "write `type=code` and `type=data` lines; libvirt refuses `both` on such a cache",
        )
    } else {
        (
            format!(
                "cache {} has no code and data prioritisation: `{}` cannot be allocated apart",
                a.id,
                a.kind.word()
            ),
            "write `type=both` (the default); `code` and `data` need CDP on the host (resctrl's L3CODE and L3DATA)",
        )
    };
    Diagnostic::error(CACHE_TYPE, message, span, "not this type").with_help(help)
}

fn memory_line(
    f: &Fields<'_>,
    vcpus: u32,
    host: Option<&HostProfile>,
    groups: &mut Groups<MemoryTune>,
    cx: &mut Cx<'_, '_>,
) {
    let Some(set) = own_vcpus(f, vcpus, cx) else { return };
    let (Some(node), Some(bandwidth)) = (f.int("node"), f.int("bandwidth")) else {
        return;
    };
    let node = u32::try_from(node).unwrap_or(u32::MAX);
    let bandwidth = u32::try_from(bandwidth).unwrap_or(u32::MAX);
    if !limit_fits(f, node, bandwidth, host, cx) {
        return;
    }
    let g = groups.of(&set, f.span(), || MemoryTune {
        vcpus: set.clone(),
        nodes: Vec::new(),
    });
    if let Some(&i) = g.keys.get(&(0, node, CacheType::Both)) {
        let d = Diagnostic::error(
            TUNE_OVERLAP,
            format!("the bandwidth of node {node} is limited twice for vCPUs {set}"),
            f.span_of("node"),
            "again",
        )
        .with_label(g.lines[i], "first here")
        .with_help("libvirt refuses a second limit on one node in a `<memorytune>`");
        cx.err(d);
        return;
    }
    g.keys.insert((0, node, CacheType::Both), g.lines.len());
    g.tune.nodes.push((node, bandwidth));
    g.lines.push(f.span());
}

/// A limit of 1 to 100 percent; on a host, one of its nodes, in its steps, at least its
/// minimum (libvirt's virResctrlAllocMemoryBandwidth).
fn limit_fits(f: &Fields<'_>, node: u32, bandwidth: u32, host: Option<&HostProfile>, cx: &mut Cx<'_, '_>) -> bool {
    let span = f.span_of("bandwidth");
    if !(1..=100).contains(&bandwidth) {
        let message = format!("a bandwidth limit of {bandwidth}% is not 1 to 100 percent");
        cx.err(Diagnostic::error(BANDWIDTH_LIMIT, message, span, "not a percentage"));
        return false;
    }
    let Some(h) = host else { return true };
    let Some(n) = h.resctrl.bandwidth_node(node) else {
        let ids: Vec<String> = h.resctrl.bandwidth.iter().take(8).map(|n| n.id.to_string()).collect();
        let help = match ids.len() {
            0 => "the host cannot limit memory bandwidth (no `bandwidth-node`, no resctrl MB)".to_string(),
            _ => format!("the host's memory-bandwidth nodes include {}", ids.join(", ")),
        };
        let message = format!("the host has no memory-bandwidth node {node}");
        cx.err(Diagnostic::error(BANDWIDTH_LIMIT, message, f.span_of("node"), "no such node").with_help(help));
        return false;
    };
    let c = n.control;
    if bandwidth >= c.min && bandwidth.is_multiple_of(c.granularity.max(1)) {
        return true;
    }
    let message = format!(
        "node {node} limits bandwidth in steps of {}%, from {}%: {bandwidth}% is not one of them",
        c.granularity, c.min
    );
    cx.err(
        Diagnostic::error(BANDWIDTH_LIMIT, message, span, "not a step")
            .with_help(format!("write a multiple of {} from {} to 100", c.granularity, c.min)),
    );
    false
}

/// Tunes of one kind are disjoint, and a `memorytune` either is a `cachetune`'s vCPUs or
/// shares none with any (libvirt puts both in one resctrl group only when the sets are the
/// same). One sweep over every set's runs, sorted.
fn overlaps(cache: &[Group<CacheTune>], memory: &[Group<MemoryTune>], cx: &mut Cx<'_, '_>) {
    let cache_sets: HashMap<&IdSet, usize> = cache.iter().enumerate().map(|(i, g)| (&g.tune.vcpus, i)).collect();
    let mut runs: Vec<(u32, u32, usize)> = Vec::new();
    let mut spans: Vec<(Span, &IdSet)> = Vec::new();
    for g in cache {
        runs.extend(g.tune.vcpus.runs().into_iter().map(|(a, b)| (a, b, spans.len())));
        spans.push((g.span, &g.tune.vcpus));
    }
    for g in memory.iter().filter(|g| !cache_sets.contains_key(&g.tune.vcpus)) {
        runs.extend(g.tune.vcpus.runs().into_iter().map(|(a, b)| (a, b, spans.len())));
        spans.push((g.span, &g.tune.vcpus));
    }
    runs.sort_unstable();
    let mut reach: Option<(u32, usize)> = None;
    let mut reported = vec![false; spans.len()];
    for (start, end, i) in runs {
        if let Some((last, j)) = reach
            && last >= start
            && j != i
            && !reported[i]
        {
            reported[i] = true;
            let ((here, set), (there, other)) = (spans[i], spans[j]);
            let d = Diagnostic::error(
                TUNE_OVERLAP,
                format!("vCPUs {set} overlap the tune of vCPUs {other}"),
                here,
                "overlapping vCPUs",
            )
            .with_label(there, "the other tune")
            .with_help("libvirt refuses tunes that share vCPUs: give a vCPU to one `cachetune` set and one `memorytune` set (the same set for both, or sets apart)");
            cx.err(d);
        }
        if reach.is_none_or(|(last, _)| end > last) {
            reach = Some((end, i));
        }
    }
}
