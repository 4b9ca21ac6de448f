//! Memory a guest binds to host nodes, for the cross-guest fit check.

use super::body::Body;
use super::cells::Cells;
use super::cx::Cx;
use super::memory::Memory;
use crate::ir::MemBinding;
use crate::place::spread::spread;
use crate::sets::IdSet;
use crate::span::Span;

/// A claim on no particular node: hugepages that may come from any node.
pub const ANY_NODE: u32 = u32::MAX;

/// Memory a guest binds to one host node, for the cross-guest fit check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeClaim {
    pub host: usize,
    pub node: u32,
    pub kib: u64,
    /// Hugepage size in KiB when the claim is in hugepages.
    pub page_kib: Option<u64>,
    pub span: Span,
    pub guest: String,
}

/// The claims of one guest, in the order its passes make them.
pub(super) struct Claims {
    pub(super) list: Vec<NodeClaim>,
    guest: String,
}

impl Claims {
    pub(super) fn new(guest: &str) -> Claims {
        Claims {
            list: Vec::new(),
            guest: guest.to_string(),
        }
    }

    /// Split `kib` over `nodes` evenly (the kernel's allocation is not known in advance).
    pub(super) fn spread(&mut self, host: usize, nodes: &IdSet, kib: u64, page_kib: Option<u64>, span: Span) {
        for (node, share) in spread(nodes, kib, page_kib.unwrap_or(1)) {
            self.list.push(NodeClaim {
                host,
                node,
                kib: share,
                page_kib,
                span,
                guest: self.guest.clone(),
            });
        }
    }

    /// Hugepages bound to no node: they may come from any node with such pages.
    pub(super) fn anywhere(&mut self, host: usize, kib: u64, page_kib: u64, span: Span) {
        if kib > 0 {
            self.list.push(NodeClaim {
                host,
                node: ANY_NODE,
                kib,
                page_kib: Some(page_kib),
                span,
                guest: self.guest.clone(),
            });
        }
    }
}

/// Host-node checks on the cells' bindings, and their claims.
pub(super) fn cells(cells: &Cells, cx: &mut Cx<'_, '_>, claims: &mut Claims) {
    for (i, cell) in cells.cells.iter().enumerate() {
        let Some(b) = &cell.binding else { continue };
        let span = cells.binding_spans.get(i).copied().flatten().unwrap_or(cx.guest_span);
        if cx.need_host("`host-node=`", span).is_none() || !cx.check_nodes(&b.nodes, span) {
            continue;
        }
        if let Some(h) = cx.host
            && (b.policy.binds() || cell.hugepage_kib.is_some())
        {
            claims.spread(h.index, &b.nodes, cell.memory_kib, cell.hugepage_kib, span);
        }
    }
}

/// Memory without a binding of its own, by page size (cells may differ): bound by the
/// whole guest's `memory-policy`, or hugepages from whichever node has them.
pub(super) fn unbound(
    body: &Body<'_>,
    cells: &Cells,
    memory: &Memory,
    memory_binding: Option<&MemBinding>,
    cx: &Cx<'_, '_>,
    claims: &mut Claims,
) {
    let Some(h) = cx.host else { return };
    for (page, kib) in by_page_size(cells, memory) {
        match memory_binding {
            Some(b) if b.policy.binds() || page.is_some() => {
                let span = body
                    .find("memory-policy")
                    .map(|f| f.span_of(if b.auto { "placement" } else { "nodeset" }))
                    .unwrap_or(cx.guest_span);
                claims.spread(h.index, &b.nodes, kib, page, span);
            }
            Some(_) => {}
            None => {
                if let Some(p) = page {
                    claims.anywhere(h.index, kib, p, page_span(body, cells, page).unwrap_or(cx.guest_span));
                }
            }
        }
    }
}

/// The memory of unbound cells (or of a guest without cells), summed by page size.
fn by_page_size(cells: &Cells, memory: &Memory) -> Vec<(Option<u64>, u64)> {
    let mut unbound: Vec<(Option<u64>, u64)> = Vec::new();
    if cells.cells.is_empty() {
        unbound.push((memory.hugepage_kib, memory.kib));
    }
    for c in cells.cells.iter().filter(|c| c.binding.is_none()) {
        match unbound.iter_mut().find(|(p, _)| *p == c.hugepage_kib) {
            Some((_, kib)) => *kib += c.memory_kib,
            None => unbound.push((c.hugepage_kib, c.memory_kib)),
        }
    }
    unbound
}

/// The unbound cell that asked for this page size, or the guest's `hugepages=`.
fn page_span(body: &Body<'_>, cells: &Cells, page: Option<u64>) -> Option<Span> {
    cells
        .cells
        .iter()
        .zip(&cells.page_spans)
        .find(|(c, s)| s.is_some() && c.binding.is_none() && c.hugepage_kib == page)
        .and_then(|(_, s)| *s)
        .or(body
            .find("memory")
            .filter(|f| f.has("hugepages"))
            .map(|f| f.span_of("hugepages")))
}
