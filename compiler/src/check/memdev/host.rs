//! Memory devices on the host: their page sizes, their host nodes, and their claims.

use super::devices::MemoryDevices;
use crate::check::claims::Claims;
use crate::check::cx::Cx;
use crate::check::pages::{check_page_size, whole_pages};
use crate::ir::{GuestCell, MemBinding, MemPolicy, MemoryDevice, MemoryDeviceKind};
use crate::lang::Fields;
use crate::sets::IdSet;

/// Each device's page size (its own `hugepages=`, else its cell's) and host nodes (its own
/// `host-node=`, else its cell's, else the whole guest's), checked against the host.
pub(in crate::check) fn check(
    mem: &mut MemoryDevices,
    statements: &[&Fields<'_>],
    cells: &[GuestCell],
    guest_page: Option<u64>,
    memory_binding: Option<&MemBinding>,
    cx: &mut Cx<'_, '_>,
    claims: &mut Claims,
) {
    for (d, &index) in mem.devices.iter_mut().zip(&mem.statements) {
        let f = statements.get(index).copied();
        let guest_span = cx.guest_span;
        let span_of = |key: &str| f.map(|f| f.span_of(key)).unwrap_or(guest_span);
        let cell = cells.iter().find(|c| c.id == d.node);
        let cell_page = cell.map_or(guest_page, |c| c.hugepage_kib);
        let Some((page, own_nodes)) = backing(d, cell_page, &span_of, cx) else {
            continue;
        };
        let own_nodes = own_nodes.cloned();
        // What the backends read: the page size and the host binding, resolved here once.
        d.hugepage_kib = page;
        d.binding = match d.kind {
            MemoryDeviceKind::VirtioPmem { .. } => None,
            _ => own_nodes
                .as_ref()
                .map(|nodes| MemBinding {
                    nodes: nodes.clone(),
                    policy: MemPolicy::Strict,
                    auto: false,
                })
                .or_else(|| cell.and_then(|c| c.binding.clone()))
                .or_else(|| memory_binding.cloned()),
        };
        // QEMU refuses a hugepage-backed DIMM or NVDIMM that is not whole pages.
        if let Some(page) = page
            && let Some(e) = whole_pages(&format!("`{}`'s size", d.alias()), d.size_kib, page, span_of("size"))
        {
            cx.err(e);
        }
        if matches!(
            d.kind,
            MemoryDeviceKind::Nvdimm { .. } | MemoryDeviceKind::VirtioPmem { .. }
        ) {
            continue;
        }
        if let Some(nodes) = &own_nodes
            && (cx.need_host("a DIMM's `host-node=`", span_of("host-node")).is_none()
                || !cx.check_nodes(nodes, span_of("host-node")))
        {
            continue;
        }
        let Some(h) = cx.host else { continue };
        if let Some(b) = &d.binding
            && (b.policy.binds() || page.is_some())
        {
            let span = if own_nodes.is_some() {
                span_of("host-node")
            } else {
                span_of("node")
            };
            claims.spread(h.index, &b.nodes, d.size_kib, page, span);
        } else if d.binding.is_none()
            && let Some(page) = page
        {
            // Hugepages bound to no node come from whichever node has them.
            let span = f.map(|f| f.span_of("size")).unwrap_or(guest_span);
            claims.anywhere(h.index, d.size_kib, page, span);
        }
    }
}

/// A device's page size and own host nodes; `None` when its own page size is one the host
/// lacks (reported).
fn backing<'d>(
    d: &'d MemoryDevice,
    cell_page: Option<u64>,
    span_of: &dyn Fn(&str) -> crate::span::Span,
    cx: &mut Cx<'_, '_>,
) -> Option<(Option<u64>, Option<&'d IdSet>)> {
    match &d.kind {
        MemoryDeviceKind::Dimm {
            host_nodes, page_kib, ..
        }
        | MemoryDeviceKind::VirtioMem {
            host_nodes, page_kib, ..
        } => {
            let page = match page_kib {
                Some(4) => None,
                Some(p) => {
                    if !check_page_size(cx, *p, span_of("hugepages"), "a DIMM's `hugepages=`") {
                        return None;
                    }
                    Some(*p)
                }
                None => cell_page,
            };
            Some((page, host_nodes.as_ref()))
        }
        // NVDIMMs and virtio-pmem are backed by their file, not by node memory.
        MemoryDeviceKind::Nvdimm { .. } | MemoryDeviceKind::VirtioPmem { .. } => Some((cell_page, None)),
    }
}
