//! `pin`: host CPUs for vCPUs; and what `emulator`, `iothreads` and `iothread` ask for
//! (`threads.rs`).

use super::body::Body;
use super::cells::Cells;
use super::cx::Cx;
use super::target::target;
use super::threads::Threads;
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
    /// The emulator and I/O threads, as written.
    pub(super) threads: Threads,
}

/// `pin`, `emulator`, `iothreads` and `iothread`.
pub(super) fn check(body: &Body<'_>, vcpus: u32, cells: &Cells, cx: &mut Cx<'_, '_>) -> Pins {
    let pin_fields: Vec<&Fields<'_>> = body.all("pin").collect();
    let (pins, spans) = check_pins(&pin_fields, vcpus, &cells.cells, &cells.binding_spans, cx);
    let threads = super::threads::check(body, cx);
    Pins {
        pins,
        spans,
        shared: pin_fields
            .iter()
            .filter(|f| f.bool("shared") == Some(true))
            .map(|f| f.span())
            .collect(),
        threads,
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
