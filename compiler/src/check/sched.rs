//! `sched`: how the host schedules the guest's vCPUs, I/O threads and emulator threads,
//! checked as libvirt and Linux take it; and what real-time vCPUs need of the guest's memory.

use super::body::Body;
use super::cells::Cells;
use super::cx::Cx;
use super::memory::Memory;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{REALTIME_PRIORITIES, SchedPolicy, SchedThreads, ThreadSched};
use crate::lang::Fields;
use crate::sets::IdSet;
use crate::span::Span;
use std::collections::BTreeMap;

/// The guest's `sched` statements that passed, with the span of each.
#[derive(Default)]
pub(super) struct Sched {
    pub(super) list: Vec<ThreadSched>,
    pub(super) spans: Vec<Span>,
}

/// Threads already set, to find a second setting of one: disjoint runs by their first id,
/// each with its last id and the statement that set it.
#[derive(Default)]
struct Taken {
    vcpus: BTreeMap<u32, (u32, Span)>,
    iothreads: BTreeMap<u32, (u32, Span)>,
    emulator: Option<Span>,
}

/// Every `sched` statement: its threads exist, each thread is set once, and its priority is
/// one Linux takes for its policy. `iothreads` is how many I/O threads the guest has; None
/// when its cells count them (`iothreads per-cell`), checked then by [`iothreads_on_cells`].
pub(super) fn check(body: &Body<'_>, vcpus: u32, iothreads: Option<u32>, cx: &mut Cx<'_, '_>) -> Sched {
    let mut out = Sched::default();
    let mut taken = Taken::default();
    for f in body.all("sched") {
        let priority = priority(f, cx);
        let Some(threads) = threads(f, vcpus, iothreads, cx) else {
            continue;
        };
        let (Some(policy), Ok(priority)) = (f.text("policy").and_then(SchedPolicy::from_word), priority) else {
            continue;
        };
        if !taken.claim(&threads, f, cx) {
            continue;
        }
        out.list.push(ThreadSched {
            threads,
            policy,
            priority,
        });
        out.spans.push(f.span());
    }
    out
}

/// The `sched iothreads=` statements that passed [`check`] without a count (`known` None),
/// against the `iothreads` the guest has on its final cells; those naming a thread it lacks
/// are dropped. None on final cells is reported where the cells are missing.
pub(super) fn iothreads_on_cells(
    body: &Body<'_>,
    sched: &mut Sched,
    known: Option<u32>,
    iothreads: u32,
    cx: &mut Cx<'_, '_>,
) {
    if known.is_some() || iothreads == 0 {
        return;
    }
    let mut wrong = Vec::new();
    for f in body.all("sched").filter(|f| sched.spans.contains(&f.span())) {
        if let Some(set) = f.set("iothreads")
            && !iothreads_exist(f, set, Some(iothreads), cx)
        {
            wrong.push(f.span());
        }
    }
    if wrong.is_empty() {
        return;
    }
    let kept = std::mem::take(&mut sched.list)
        .into_iter()
        .zip(std::mem::take(&mut sched.spans));
    (sched.list, sched.spans) = kept.filter(|(_, span)| !wrong.contains(span)).unzip();
}

/// The priority: required and 1 to 99 for `fifo` and `rr`, none for `batch` and `idle`.
/// `Err` after an error, reported.
fn priority(f: &Fields<'_>, cx: &mut Cx<'_, '_>) -> Result<Option<u32>, ()> {
    let policy = f.text("policy").unwrap_or_default();
    let realtime = SchedPolicy::from_word(policy).is_some_and(SchedPolicy::realtime);
    let (lo, hi) = REALTIME_PRIORITIES;
    let d = match (realtime, f.int("priority")) {
        (true, Some(p)) if (u64::from(lo)..=u64::from(hi)).contains(&p) => return Ok(u32::try_from(p).ok()),
        (false, None) => return Ok(None),
        (true, Some(p)) => Diagnostic::error(
            SCHED_PRIORITY,
            format!("priority {p} is outside `{policy}`'s range, {lo} to {hi}"),
            f.span_of("priority"),
            format!("{lo} to {hi}"),
        )
        .with_help(format!(
            "Linux refuses the priority when libvirt starts the guest; write `priority={lo}` (lowest) to `priority={hi}`"
        )),
        (true, None) => Diagnostic::error(
            SCHED_PRIORITY,
            format!("`{policy}` needs a priority"),
            f.span_of("policy"),
            "no priority",
        )
        .with_help(format!(
            "write `priority={lo}` (lowest) to `priority={hi}`; libvirt refuses a real-time policy without one"
        )),
        (false, Some(_)) => Diagnostic::error(
            SCHED_PRIORITY,
            format!("`{policy}` takes no priority"),
            f.span_of("priority"),
            "not a real-time policy",
        )
        .with_help("remove `priority=`: libvirt's schema refuses one on `batch` and `idle`; only `fifo` and `rr` take one"),
    };
    cx.err(d);
    Err(())
}

/// The threads a statement sets: exactly one of `emulator`, `vcpus=` and `iothreads=`,
/// naming threads the guest has.
fn threads(f: &Fields<'_>, vcpus: u32, iothreads: Option<u32>, cx: &mut Cx<'_, '_>) -> Option<SchedThreads> {
    let emulator = f.arg_text(0).is_some();
    match (emulator, f.set("vcpus"), f.set("iothreads")) {
        (true, None, None) => Some(SchedThreads::Emulator),
        (false, Some(set), None) => vcpus_exist(f, set, vcpus, cx).then(|| SchedThreads::Vcpus(set.clone())),
        (false, None, Some(set)) => {
            iothreads_exist(f, set, iothreads, cx).then(|| SchedThreads::IoThreads(set.clone()))
        }
        _ => {
            cx.err(
                Diagnostic::error(
                    SCHED_THREADS,
                    "`sched` needs exactly one of `emulator`, `vcpus=` and `iothreads=`",
                    f.span(),
                    if emulator || f.has("vcpus") || f.has("iothreads") {
                        "several kinds of thread"
                    } else {
                        "which threads?"
                    },
                )
                .with_help(
                    "write one statement per kind: `sched vcpus=0-3 policy=fifo priority=1`, `sched iothreads=1 …`, `sched emulator …`",
                ),
            );
            None
        }
    }
}

/// The vCPUs of a `sched vcpus=` are the guest's (libvirt: "Cannot find vcpu").
fn vcpus_exist(f: &Fields<'_>, set: &IdSet, vcpus: u32, cx: &mut Cx<'_, '_>) -> bool {
    let span = f.span_of("vcpus");
    if set.is_empty() {
        cx.err(empty(span, "vCPUs"));
        return false;
    }
    match set.last().filter(|v| *v >= vcpus) {
        Some(out) if vcpus > 0 => {
            cx.err(
                Diagnostic::error(
                    VCPU_RANGE,
                    format!("vCPU {out} does not exist"),
                    span,
                    format!("the guest has vCPUs 0-{}", vcpus - 1),
                )
                .with_help(format!("name vCPUs within 0-{}", vcpus - 1)),
            );
            false
        }
        _ => vcpus > 0,
    }
}

/// The I/O threads of a `sched iothreads=` are the guest's: 1 to its `iothreads` count
/// (libvirt: "Cannot find 'iothread'"). Without a count, only that the set names some.
fn iothreads_exist(f: &Fields<'_>, set: &IdSet, iothreads: Option<u32>, cx: &mut Cx<'_, '_>) -> bool {
    let span = f.span_of("iothreads");
    if set.is_empty() {
        cx.err(empty(span, "I/O threads"));
        return false;
    }
    let Some(iothreads) = iothreads else {
        return true;
    };
    let missing = set.difference(&IdSet::range(1, iothreads));
    let Some(first) = missing.first() else {
        return true;
    };
    let (label, help) = match iothreads {
        0 => (
            "the guest has no I/O threads".to_string(),
            "give the guest I/O threads first (`iothreads N`)".to_string(),
        ),
        1 => (
            "the guest has I/O thread 1".to_string(),
            "I/O thread ids run from 1; name I/O thread 1, or raise `iothreads`".to_string(),
        ),
        n => (
            format!("the guest has I/O threads 1-{n}"),
            format!("I/O thread ids run from 1 to {n}; name those, or raise `iothreads`"),
        ),
    };
    cx.err(Diagnostic::error(SCHED_THREADS, format!("I/O thread {first} does not exist"), span, label).with_help(help));
    false
}

fn empty(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(SCHED_THREADS, format!("this set names no {what}"), span, "empty set")
        .with_help(format!("name the {what} to set, or remove the statement"))
}

impl Taken {
    /// Marks the statement's threads as set; false, with an error, when an earlier
    /// statement set one of them (libvirt: "'vcpusched' attributes 'vcpus' must not overlap").
    fn claim(&mut self, threads: &SchedThreads, f: &Fields<'_>, cx: &mut Cx<'_, '_>) -> bool {
        let (map, set, what, key) = match threads {
            SchedThreads::Emulator => {
                if let Some(first) = self.emulator {
                    cx.err(
                        Diagnostic::error(
                            SCHED_OVERLAP,
                            "the emulator threads are set twice",
                            f.span(),
                            "set again here",
                        )
                        .with_label(first, "first here")
                        .with_help("libvirt takes one `<emulatorsched>`: keep one `sched emulator`"),
                    );
                    return false;
                }
                self.emulator = Some(f.span());
                return true;
            }
            SchedThreads::Vcpus(set) => (&mut self.vcpus, set, "vCPU", "vcpus"),
            SchedThreads::IoThreads(set) => (&mut self.iothreads, set, "I/O thread", "iothreads"),
        };
        let runs = set.runs();
        for &(lo, hi) in &runs {
            // The first run set before that meets [lo, hi]: one that starts before `lo` and
            // reaches it, else the first that starts inside.
            let before = map.range(..=lo).next_back().filter(|(_, (end, _))| *end >= lo);
            if let Some((&start, &(_, first))) = before.or_else(|| map.range(lo..=hi).next()) {
                cx.err(
                    Diagnostic::error(
                        SCHED_OVERLAP,
                        format!("{what} {} is set by two `sched` statements", start.max(lo)),
                        f.span_of(key),
                        "set again here",
                    )
                    .with_label(first, "first here")
                    .with_help(format!(
                        "libvirt refuses overlapping `{key}` sets; give each {what} one policy"
                    )),
                );
                return false;
            }
        }
        for (lo, hi) in runs {
            map.insert(lo, (hi, f.span()));
        }
        true
    }
}

/// Warnings for what real-time vCPUs need of the guest's memory: locked, and in hugepages.
pub(super) fn memory_warnings(
    sched: &Sched,
    memory: &Memory,
    cells: &Cells,
    memory_span: Option<Span>,
    cx: &mut Cx<'_, '_>,
) {
    let realtime: Vec<(&IdSet, Span)> = sched
        .list
        .iter()
        .zip(&sched.spans)
        .filter(|(s, _)| s.policy.realtime())
        .filter_map(|(s, span)| match &s.threads {
            SchedThreads::Vcpus(set) => Some((set, *span)),
            _ => None,
        })
        .collect();
    let Some(&(_, at)) = realtime.first() else {
        return;
    };
    let vcpus = IdSet::from_runs(realtime.iter().flat_map(|(s, _)| s.runs()));
    let (plural, run) = if vcpus.len() == 1 { ("", "runs") } else { ("s", "run") };
    let with_memory = |d: Diagnostic, label: &str| match memory_span {
        Some(m) => d.with_label(m, label),
        None => d,
    };
    if !memory.locked {
        let d = Diagnostic::warning(
            REALTIME_UNLOCKED,
            format!("real-time vCPU{plural} {vcpus} {run} on memory that is not locked"),
            at,
            "real-time",
        );
        cx.diags.push(
            with_memory(d, "no `locked=true`").with_help(
                "write `locked=true` on `memory`: the host may swap out or move unlocked pages, and a real-time vCPU waits for every such fault",
            ),
        );
    }
    let ordinary = |page: Option<u64>| page.is_none_or(|p| p <= 4);
    let on_ordinary: IdSet = cells
        .cells
        .iter()
        .filter(|c| ordinary(c.hugepage_kib))
        .map(|c| c.id)
        .collect();
    let some_cells = !on_ordinary.is_empty() && on_ordinary.len() < cells.cells.len();
    let what = if cells.cells.is_empty() {
        ordinary(memory.hugepage_kib).then(|| "its memory is".to_string())
    } else if on_ordinary.is_empty() {
        None
    } else if some_cells {
        Some(format!(
            "the memory of cell{} {on_ordinary} is",
            if on_ordinary.len() == 1 { "" } else { "s" }
        ))
    } else {
        Some("its memory is".to_string())
    };
    if let Some(what) = what {
        let d = Diagnostic::warning(
            REALTIME_NO_HUGEPAGES,
            format!("real-time vCPU{plural} {vcpus} {run} on memory in ordinary pages: {what} not in hugepages"),
            at,
            "real-time",
        );
        // Some cells have hugepages: point at the first that has none.
        let first = cells.cells.iter().position(|c| ordinary(c.hugepage_kib));
        let d = match first.and_then(|i| cells.cell_spans.get(i)).filter(|_| some_cells) {
            Some(span) => d.with_label(*span, "no `hugepages=`"),
            None => with_memory(d, "no `hugepages=`"),
        };
        cx.diags.push(d.with_help(
            "back the memory with hugepages (`memory … hugepages=1GiB` or `2MiB`): fewer TLB misses, and no page faults while the guest runs",
        ));
    }
}
