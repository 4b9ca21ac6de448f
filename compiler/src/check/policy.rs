//! The whole guest's memory policy (`memory-policy`): its nodes or numad's placement, and
//! how it agrees with the cells' own bindings.

use super::cells::Cells;
use super::cx::{Cx, preferred_error};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, MemBinding, MemPolicy};
use crate::lang::Fields;
use crate::sets::IdSet;
use crate::span::Span;

pub(super) fn check(
    memory_policy: Option<&Fields<'_>>,
    cells: &Cells,
    guest_span: Span,
    cx: &mut Cx<'_, '_>,
) -> Option<MemBinding> {
    let Some((f, mode)) = memory_policy.and_then(|f| f.text("mode").map(|m| (f, m))) else {
        cells_restrictive(cells, guest_span, cx);
        return None;
    };
    let policy = MemPolicy::parse(mode);
    let auto = f.text("placement") == Some("auto");
    let memory_binding = match (f.set("nodeset"), auto) {
        (Some(_), true) => {
            cx.err(
                Diagnostic::error(
                    MEMORY_PLACEMENT,
                    "`nodeset=` with `placement=auto`: libvirt ignores the nodeset and asks numad",
                    f.span_of("nodeset"),
                    "ignored by libvirt",
                )
                .with_help("drop `nodeset=`, or drop `placement=auto` to bind to these nodes"),
            );
            None
        }
        (None, false) => {
            cx.err(
                Diagnostic::error(
                    MEMORY_PLACEMENT,
                    "`memory-policy` needs `nodeset=` (or `placement=auto`)",
                    f.span(),
                    "bound to which nodes?",
                )
                .with_help("libvirt requires a nodeset when the placement is static"),
            );
            None
        }
        (Some(nodes), false) => static_nodes(f, nodes, policy, cx),
        (None, true) => numad(f, policy, cells, guest_span, cx),
    };
    // libvirt: a cell is `restrictive` exactly when the whole guest's memory is.
    let whole_restrictive = policy == MemPolicy::Restrictive;
    for (i, c) in cells.cells.iter().enumerate() {
        if let Some(b) = &c.binding
            && (b.policy == MemPolicy::Restrictive) != whole_restrictive
        {
            let span = cell_span(cells, i, guest_span);
            cx.err(restrictive_error(
                c.id,
                span,
                Some(f.span_of("mode")),
                whole_restrictive,
            ));
        }
    }
    memory_binding
}

/// Without a whole-guest policy, the bound cells are all `restrictive` or none is.
fn cells_restrictive(cells: &Cells, guest_span: Span, cx: &mut Cx<'_, '_>) {
    let restrictive = |c: &GuestCell| c.binding.as_ref().map(|b| b.policy == MemPolicy::Restrictive);
    if !cells.cells.iter().any(|c| restrictive(c) == Some(true)) {
        return;
    }
    for (i, c) in cells.cells.iter().enumerate() {
        if restrictive(c) == Some(false) {
            let span = cell_span(cells, i, guest_span);
            cx.err(restrictive_error(c.id, span, None, true));
        }
    }
}

/// The cell's `host-node=`, else its statement.
fn cell_span(cells: &Cells, i: usize, guest_span: Span) -> Span {
    cells
        .binding_spans
        .get(i)
        .copied()
        .flatten()
        .or(cells.cell_spans.get(i).copied())
        .unwrap_or(guest_span)
}

/// `nodeset=`: nodes of the host, one for `preferred`.
fn static_nodes(f: &Fields<'_>, nodes: &IdSet, policy: MemPolicy, cx: &mut Cx<'_, '_>) -> Option<MemBinding> {
    if cx.need_host("`memory-policy`", f.span()).is_some() && cx.check_nodes(nodes, f.span_of("nodeset")) {
        if policy == MemPolicy::Preferred && nodes.len() != 1 {
            cx.err(preferred_error(nodes, f.span_of("nodeset")));
        } else {
            return Some(MemBinding {
                nodes: nodes.clone(),
                policy,
                auto: false,
            });
        }
    }
    None
}

/// `placement=auto`: numad's advice is known only when the guest starts; the standalone
/// line binds to every host node with memory, under the same policy.
fn numad(
    f: &Fields<'_>,
    policy: MemPolicy,
    cells: &Cells,
    guest_span: Span,
    cx: &mut Cx<'_, '_>,
) -> Option<MemBinding> {
    for (i, c) in cells.cells.iter().enumerate() {
        if c.binding.is_some() {
            let span = cell_span(cells, i, guest_span);
            cx.err(
                Diagnostic::error(
                    MEMORY_PLACEMENT,
                    format!(
                        "cell {} is bound to host nodes, but the guest's memory is placed by numad",
                        c.id
                    ),
                    span,
                    "a per-cell binding",
                )
                .with_label(f.span_of("placement"), "automatic placement")
                .with_help("libvirt does not combine per-cell binding with `placement=auto`: drop one of them"),
            );
        }
    }
    if let Some(h) = cx.need_host("`memory-policy placement=auto`", f.span()) {
        let nodes: IdSet = h.nodes.iter().filter(|n| n.memory_kib > 0).map(|n| n.id).collect();
        return Some(MemBinding {
            nodes,
            policy,
            auto: true,
        });
    }
    None
}

/// A cell whose `restrictive` policy disagrees with the whole guest's (libvirt requires
/// `restrictive` in both `<memory>` and every `<memnode>`, or in neither).
fn restrictive_error(cell: u32, span: Span, whole: Option<Span>, whole_restrictive: bool) -> Diagnostic {
    let message = if whole_restrictive {
        match whole {
            Some(_) => format!("cell {cell} is not `restrictive`, but the guest's `memory-policy` is"),
            None => format!("cell {cell} is not `restrictive`, but other cells are"),
        }
    } else {
        format!("cell {cell} is `restrictive`, but the guest's memory policy is not")
    };
    let d = Diagnostic::error(RESTRICTIVE_MIX, message, span, "this cell's policy");
    let d = match whole {
        Some(w) => d.with_label(w, "the guest's policy"),
        None => d,
    };
    d.with_help("libvirt applies `restrictive` through cgroups for the whole guest: use it for the guest and every bound cell, or for none")
}
