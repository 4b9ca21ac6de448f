//! `emulator`, `iothreads` and `iothread`: what a guest asks for its QEMU threads, before
//! its cells are known. Pins written by hand, `policy=isolate` (a host core of its own for
//! each thread, placed by `vnuma`), and `iothreads per-cell`.

use super::body::Body;
use super::cx::Cx;
use super::target::target;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::lang::Fields;
use crate::place::Isolation;
use crate::sets::IdSet;
use crate::span::Span;

/// The most I/O threads a guest has.
pub const MAX_IOTHREADS: u64 = 1024;

/// What the `emulator`, `iothreads` and `iothread` statements ask for.
#[derive(Debug, Clone, Default)]
pub(super) struct Threads {
    /// `emulator cpus=|node=`.
    pub(super) emulator: Option<IdSet>,
    /// `emulator policy=isolate`, at its value.
    pub(super) emulator_isolate: Option<Span>,
    /// `iothreads N`; None with `per-cell` (one per cell) and without `iothreads`.
    pub(super) count: Option<u32>,
    /// `iothreads per-cell`, at its argument.
    pub(super) per_cell: Option<Span>,
    /// `iothreads … policy=isolate`, at its value.
    pub(super) iothreads_isolate: Option<Span>,
    /// `iothreads N cpus=|node=`: the CPUs of every thread.
    pub(super) all: Option<IdSet>,
    /// `iothread K cpus=|node=`: K, its CPUs, and where K is written.
    pub(super) one: Vec<(u32, IdSet, Span)>,
}

impl Threads {
    /// The cores the guest's isolated threads take, for the placer.
    pub(super) fn isolation(&self) -> Isolation {
        let emulator = u32::from(self.emulator_isolate.is_some());
        match (self.iothreads_isolate.is_some(), self.per_cell.is_some()) {
            (true, true) => Isolation {
                first: emulator,
                each: 1,
            },
            (true, false) => Isolation {
                first: emulator + self.count.unwrap_or(0),
                each: 0,
            },
            _ => Isolation {
                first: emulator,
                each: 0,
            },
        }
    }

    /// How many I/O threads the guest has, when its cells do not decide it (`per-cell`).
    pub(super) fn known_count(&self) -> Option<u32> {
        match (self.count, self.per_cell) {
            (Some(n), _) => Some(n),
            (None, Some(_)) => None,
            (None, None) => Some(0),
        }
    }

    /// Where isolation is asked for, for errors: the first `policy=isolate`.
    pub(super) fn isolate_span(&self) -> Option<Span> {
        self.emulator_isolate.or(self.iothreads_isolate)
    }
}

/// `emulator`, `iothreads` and `iothread`, each checked on its own and against the others.
pub(super) fn check(body: &Body<'_>, cx: &mut Cx<'_, '_>) -> Threads {
    let mut t = Threads::default();
    if let Some(f) = body.find("emulator") {
        emulator(f, &mut t, cx);
    }
    if let Some(f) = body.find("iothreads") {
        iothreads(f, &mut t, cx);
    }
    let ones: Vec<&Fields<'_>> = body.all("iothread").collect();
    for f in &ones {
        iothread(f, body.find("iothreads"), &mut t, cx);
    }
    if let Some(span) = t.isolate_span() {
        needs_dedicated(body, span, cx);
    }
    t
}

/// A policy and a pin by hand on one statement: one or the other.
fn policy_and_pin(f: &Fields<'_>, what: &str, cx: &mut Cx<'_, '_>) -> bool {
    if !(f.has("policy") && (f.has("cpus") || f.has("node"))) {
        return false;
    }
    let pin = if f.has("cpus") { "cpus" } else { "node" };
    cx.err(
        Diagnostic::error(
            THREAD_POLICY,
            format!("`{what}` has both `policy=` and `{pin}=`"),
            f.span_of(pin),
            "pinned by hand",
        )
        .with_label(f.span_of("policy"), "placed by the policy")
        .with_help(format!(
            "`policy=` lets `vnuma` place the threads, `{pin}=` pins them by hand: keep one"
        )),
    );
    true
}

/// `emulator cpus=|node=` or `emulator policy=share|isolate`.
fn emulator(f: &Fields<'_>, t: &mut Threads, cx: &mut Cx<'_, '_>) {
    if policy_and_pin(f, "emulator", cx) {
        return;
    }
    match f.text("policy") {
        Some("isolate") => t.emulator_isolate = Some(f.span_of("policy")),
        Some(_) => {}
        // Reserved CPUs are allowed here: that is what they are for.
        None => {
            t.emulator = target(
                f,
                "emulator",
                "`emulator cpus=0`, `emulator node=0` or `emulator policy=isolate`",
                cx,
            )
        }
    }
}

/// `iothreads N|per-cell [cpus=SET | node=ID | policy=P]`.
fn iothreads(f: &Fields<'_>, t: &mut Threads, cx: &mut Cx<'_, '_>) {
    match (f.arg_int(0), f.arg_text(0)) {
        (Some(n), _) if (1..=MAX_IOTHREADS).contains(&n) => t.count = Some(n as u32),
        (Some(n), _) => {
            cx.err(
                Diagnostic::error(
                    VCPU_COUNT,
                    format!("{n} I/O threads is out of range"),
                    f.arg_span(0),
                    "1 to 1024",
                )
                .with_help("a guest has 1 to 1024 I/O threads; leave `iothreads` out for none"),
            );
            return;
        }
        (None, Some(_)) => t.per_cell = Some(f.arg_span(0)),
        (None, None) => return,
    }
    if policy_and_pin(f, "iothreads", cx) {
        return;
    }
    if let Some(per_cell) = t.per_cell
        && (f.has("cpus") || f.has("node"))
    {
        let pin = if f.has("cpus") { "cpus" } else { "node" };
        cx.err(
            Diagnostic::error(
                THREAD_POLICY,
                format!("`iothreads per-cell` runs each thread on its cell's host node, so `{pin}=` cannot pin them"),
                f.span_of(pin),
                "pinned by hand",
            )
            .with_label(per_cell, "one thread per cell")
            .with_help(format!(
                "remove `{pin}=`, or write `iothreads N {pin}=…` to pin N threads alike"
            )),
        );
        return;
    }
    if f.text("policy") == Some("isolate") {
        t.iothreads_isolate = Some(f.span_of("policy"));
    } else if f.has("cpus") || f.has("node") {
        t.all = target(f, "iothreads", "`iothreads 2 cpus=0-1` or `iothreads 2 node=0`", cx);
    }
}

/// `iothread K cpus=|node=`: one thread of `iothreads N`, pinned on its own.
fn iothread(f: &Fields<'_>, all: Option<&Fields<'_>>, t: &mut Threads, cx: &mut Cx<'_, '_>) {
    let k = f.arg_int(0).map_or(0, |k| u32::try_from(k).unwrap_or(u32::MAX));
    let placed = all.filter(|a| a.has("cpus") || a.has("node") || a.has("policy") || a.arg_text(0).is_some());
    let why = match (all, placed) {
        (None, _) => Some(("the guest has no `iothreads`".to_string(), None)),
        (Some(_), Some(a)) => Some((
            format!("I/O thread {k} is placed by `iothreads` already"),
            Some((a.span(), "places every I/O thread")),
        )),
        _ => None,
    };
    if let Some((message, label)) = why {
        let mut d = Diagnostic::error(THREAD_POLICY, message, f.arg_span(0), "pinned here");
        if let Some((span, text)) = label {
            d = d.with_label(span, text);
        }
        cx.err(d.with_help(
            "`iothread K cpus=…` pins one of `iothreads N`'s threads when that statement pins none; write `iothreads N` without `cpus=`, `node=`, `policy=` or `per-cell`",
        ));
        return;
    }
    if let Some((_, _, first)) = t.one.iter().find(|(other, ..)| *other == k) {
        cx.err(
            Diagnostic::error(
                THREAD_POLICY,
                format!("I/O thread {k} is pinned twice"),
                f.arg_span(0),
                "pinned here",
            )
            .with_label(*first, "and here")
            .with_help("each I/O thread takes one `iothread` line; remove one"),
        );
        return;
    }
    if let Some(cpus) = target(f, "iothread", "`iothread 1 cpus=0-1` or `iothread 1 node=0`", cx) {
        t.one.push((k, cpus, f.arg_span(0)));
    }
}

/// `policy=isolate` needs vCPUs on cores of their own: `vnuma` with `pinning=cpu`.
fn needs_dedicated(body: &Body<'_>, span: Span, cx: &mut Cx<'_, '_>) {
    let (message, label, help) = match body.find("vnuma") {
        None if body.writes("vnuma") => return,
        None => (
            "`policy=isolate` is placed by `vnuma`, and this guest has none".to_string(),
            None,
            "write `vnuma …` so that vnumac places the guest, or pin the threads by hand (`cpus=…`)",
        ),
        Some(v) if v.text("pinning") == Some("node") => (
            "`policy=isolate` gives threads a core no vCPU runs on, but `pinning=node` floats every vCPU over its node"
                .to_string(),
            Some(v.span_of("pinning")),
            "use `pinning=cpu` (the default), or `policy=share`",
        ),
        Some(_) => return,
    };
    let mut d = Diagnostic::error(THREAD_POLICY, message, span, "isolate");
    if let Some(l) = label {
        d = d.with_label(l, "vCPUs float");
    }
    cx.err(d.with_help(help));
}
