//! `pin` and `emulator`: host CPUs for vCPUs and for QEMU's emulator threads.

use super::body::Body;
use super::cells::Cells;
use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, VcpuPin};
use crate::lang::Fields;
use crate::sets::IdSet;
use crate::span::Span;

/// Where the guest's threads run: vCPUs, emulator threads and I/O threads.
pub(super) struct Pins {
    /// One per pinned vCPU, sorted.
    pub(super) pins: Vec<VcpuPin>,
    /// For each pin, its statement.
    pub(super) spans: Vec<Span>,
    /// The `pin` statements that say `shared=true`.
    pub(super) shared: Vec<Span>,
    pub(super) emulator: Option<IdSet>,
    pub(super) iothreads: u32,
    pub(super) iothread_pin: Option<IdSet>,
}

/// `pin`, `emulator` and `iothreads`.
pub(super) fn check(body: &Body<'_>, vcpus: u32, cells: &Cells, cx: &mut Cx<'_, '_>) -> Pins {
    let pin_fields: Vec<&Fields<'_>> = body.all("pin").collect();
    let (pins, spans) = check_pins(&pin_fields, vcpus, &cells.cells, &cells.binding_spans, cx);
    let emulator = body.find("emulator").and_then(|f| check_emulator(f, cx));
    let (iothreads, iothread_pin) = body.find("iothreads").map_or((0, None), |f| check_iothreads(f, cx));
    Pins {
        pins,
        spans,
        shared: pin_fields
            .iter()
            .filter(|f| f.bool("shared") == Some(true))
            .map(|f| f.span())
            .collect(),
        emulator,
        iothreads,
        iothread_pin,
    }
}

/// The host CPUs a `pin` or `emulator` statement names with `cpus=` or `node=`; errors reported.
fn target(f: &Fields<'_>, what: &str, example: &str, cx: &mut Cx<'_, '_>) -> Option<IdSet> {
    match (f.set("cpus"), f.int("node")) {
        (Some(c), None) => {
            cx.need_host(&format!("`{what}`"), f.span())?;
            cx.check_cpus(c, f.span_of("cpus")).then(|| c.clone())
        }
        (None, Some(n)) => {
            let profile = cx.need_host(&format!("`{what}`"), f.span())?;
            let node = u32::try_from(n).unwrap_or(u32::MAX);
            match profile.node(node).map(|n| n.cpus.clone()) {
                Some(c) if !c.is_empty() => Some(c),
                Some(_) => {
                    cx.err(
                        Diagnostic::error(
                            HOST_NODE,
                            format!("host node {node} has no CPUs"),
                            f.span_of("node"),
                            "memory-only node",
                        )
                        .with_help(format!("use a node that has CPUs for `{what}`")),
                    );
                    None
                }
                None => {
                    cx.check_nodes(&IdSet::single(node), f.span_of("node"));
                    None
                }
            }
        }
        _ => {
            cx.err(
                Diagnostic::error(
                    PIN_TARGET,
                    format!("`{what}` needs exactly one of `cpus=` and `node=`"),
                    f.span(),
                    "ambiguous",
                )
                .with_help(format!("write {example}")),
            );
            None
        }
    }
}

fn target_span(f: &Fields<'_>) -> Span {
    if f.has("cpus") {
        f.span_of("cpus")
    } else {
        f.span_of("node")
    }
}

/// Every `pin`, one `VcpuPin` per vCPU, sorted, each with the span of its statement;
/// warnings for pins that leave their node.
fn check_pins(
    fields: &[&Fields<'_>],
    vcpus: u32,
    cells: &[GuestCell],
    binding_spans: &[Option<Span>],
    cx: &mut Cx<'_, '_>,
) -> (Vec<VcpuPin>, Vec<Span>) {
    let mut pins: Vec<(VcpuPin, Span)> = Vec::new();
    let mut pin_spans: Vec<Span> = Vec::new();
    for f in fields {
        let Some(vset) = f.set("vcpus") else { continue };
        let Some(target) = pin_target(f, cx) else { continue };
        if !vcpus_exist(f, vset, vcpus, cx) {
            continue;
        }
        pinned_twice(f, vset, &pins, &pin_spans, cx);
        node_warnings(vset, &target, target_span(f), cells, binding_spans, cx);
        for v in vset.iter() {
            pins.push((
                VcpuPin {
                    vcpu: v,
                    cpus: target.clone(),
                },
                f.span(),
            ));
            pin_spans.push(f.span_of("vcpus"));
        }
    }
    pins.sort_by_key(|(p, _)| p.vcpu);
    pins.into_iter().unzip()
}

/// The host CPUs of a `pin`: never one the host reserves.
fn pin_target(f: &Fields<'_>, cx: &mut Cx<'_, '_>) -> Option<IdSet> {
    let target = target(f, "pin", "`pin vcpus=0-3 cpus=0-3` or `pin vcpus=0-3 node=0`", cx)?;
    let span = target_span(f);
    // `node=N` means node N's CPUs that the host does not keep for itself, as with
    // `vnuma pinning=node`; only an explicit `cpus=` can name a reserved CPU.
    let target = match cx.host {
        Some(h) if f.has("node") => {
            let free = target.difference(&h.profile.reserved);
            if free.is_empty() {
                cx.err(
                    Diagnostic::error(
                        RESERVED_CPU,
                        format!("every CPU of this host node ({target}) is reserved for the host"),
                        span,
                        "no CPU left for vCPUs",
                    )
                    .with_help("pin to another node, or reserve fewer CPUs in the host block"),
                );
                return None;
            }
            free
        }
        _ => target,
    };
    if let Some(h) = cx.host {
        let reserved = target.intersection(&h.profile.reserved);
        if !reserved.is_empty() {
            cx.err(
                Diagnostic::error(
                    RESERVED_CPU,
                    format!("host CPUs {reserved} are reserved for the host"),
                    span,
                    "includes reserved CPUs",
                )
                .with_help(format!("pin to {} instead", target.difference(&h.profile.reserved))),
            );
            return None;
        }
    }
    Some(target)
}

/// The pinned vCPUs are the guest's.
fn vcpus_exist(f: &Fields<'_>, vset: &IdSet, vcpus: u32, cx: &mut Cx<'_, '_>) -> bool {
    if vcpus > 0
        && let Some(out) = vset.last().filter(|v| *v >= vcpus)
    {
        cx.err(
            Diagnostic::error(
                VCPU_RANGE,
                format!("vCPU {out} does not exist"),
                f.span_of("vcpus"),
                format!("the guest has vCPUs 0-{}", vcpus - 1),
            )
            .with_help(format!("pin vCPUs within 0-{}", vcpus - 1)),
        );
        return false;
    }
    true
}

/// A vCPU an earlier `pin` already pins.
fn pinned_twice(f: &Fields<'_>, vset: &IdSet, pins: &[(VcpuPin, Span)], pin_spans: &[Span], cx: &mut Cx<'_, '_>) {
    if let Some((v, i)) = vset
        .iter()
        .find_map(|v| pins.iter().position(|(p, _)| p.vcpu == v).map(|i| (v, i)))
    {
        cx.err(
            Diagnostic::error(
                PINNED_TWICE,
                format!("vCPU {v} is pinned twice"),
                f.span_of("vcpus"),
                "pinned here",
            )
            .with_label(pin_spans[i], "and here")
            .with_help("each vCPU takes one `pin`; remove it from one of them"),
        );
    }
}

/// Warnings for a pin whose CPUs span host nodes, or sit on another node than the memory
/// of its vCPUs' cell.
fn node_warnings(
    vset: &IdSet,
    target: &IdSet,
    span: Span,
    cells: &[GuestCell],
    binding_spans: &[Option<Span>],
    cx: &mut Cx<'_, '_>,
) {
    if let Some(h) = cx.host {
        let nodes = h.profile.nodes_of_cpus(target);
        if nodes.len() > 1 {
            cx.diags.push(
                Diagnostic::warning(
                    PIN_SPANS_NODES,
                    format!("this pin spans host nodes {nodes}"),
                    span,
                    "CPUs on several nodes",
                )
                .with_help("a vCPU that wanders between nodes pays remote-memory latency; pin within one node"),
            );
        } else if let Some(node) = nodes.first() {
            for (ci, cell) in cells.iter().enumerate() {
                let Some(b) = &cell.binding else { continue };
                if vset.iter().any(|v| cell.vcpus.contains(v)) && !b.nodes.contains(node) {
                    let mut d = Diagnostic::warning(
                        PIN_OFF_CELL_NODE,
                        format!(
                            "vCPUs of cell {} run on host node {node} but its memory is on node {}",
                            cell.id, b.nodes
                        ),
                        span,
                        format!("host node {node}"),
                    );
                    if let Some(Some(bs)) = binding_spans.get(ci) {
                        d = d.with_label(*bs, format!("memory on node {}", b.nodes));
                    }
                    cx.diags.push(
                        d.with_help("pin the cell's vCPUs to the node that holds its memory, or move the memory"),
                    );
                }
            }
        }
    }
}

/// `iothreads N [cpus=SET | node=ID]`: the count and, when given, the CPUs they run on.
fn check_iothreads(f: &Fields<'_>, cx: &mut Cx<'_, '_>) -> (u32, Option<IdSet>) {
    let count = match f.arg_int(0) {
        Some(n) if (1..=1024).contains(&n) => n as u32,
        Some(n) => {
            cx.err(
                Diagnostic::error(
                    VCPU_COUNT,
                    format!("{n} I/O threads is out of range"),
                    f.arg_span(0),
                    "1 to 1024",
                )
                .with_help("a guest has 1 to 1024 I/O threads; leave `iothreads` out for none"),
            );
            return (0, None);
        }
        None => return (0, None),
    };
    let pin = (f.has("cpus") || f.has("node"))
        .then(|| target(f, "iothreads", "`iothreads 2 cpus=0-1` or `iothreads 2 node=0`", cx))
        .flatten();
    (count, pin)
}

/// `emulator cpus=|node=`: reserved CPUs are allowed here, that is what they are for.
fn check_emulator(f: &Fields<'_>, cx: &mut Cx<'_, '_>) -> Option<IdSet> {
    target(f, "emulator", "`emulator cpus=0` or `emulator node=0`", cx)
}
