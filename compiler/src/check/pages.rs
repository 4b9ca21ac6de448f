//! Hugepage sizes: one the host has pools of, and memory that is whole pages of it.

use super::cells::Cells;
use super::cx::{Cx, errors_since};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::span::Span;
use crate::units::human_kib;

/// A hugepage size must be a power of two that the host has pools of.
pub(super) fn check_page_size(cx: &mut Cx<'_, '_>, page: u64, span: Span, what: &str) -> bool {
    let before = cx.diags.len();
    if page < 4 || !page.is_power_of_two() {
        cx.err(
            Diagnostic::error(
                HOST_PAGE_SIZE,
                format!("{} is not a page size", human_kib(page)),
                span,
                "not a power of two",
            )
            .with_help("hugepages are `2MiB` or `1GiB` on x86_64"),
        );
    } else if let Some(profile) = cx.need_host(what, span) {
        let mut sizes: Vec<u64> = profile
            .nodes
            .iter()
            .flat_map(|n| n.hugepages.iter().map(|p| p.size_kib))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        if !sizes.contains(&page) {
            let have: Vec<String> = sizes.iter().map(|s| human_kib(*s)).collect();
            cx.err(
                Diagnostic::error(
                    HOST_PAGE_SIZE,
                    format!("the host has no {} hugepages", human_kib(page)),
                    span,
                    "no such page size on the host",
                )
                .with_help(if have.is_empty() {
                    "the host has no hugepage pools; drop `hugepages=` or reserve pages on the host".to_string()
                } else {
                    format!("the host has {} pages", have.join(", "))
                }),
            );
        }
    }
    !errors_since(cx.diags, before)
}

/// An error when `kib` is not a whole number of `page`-KiB pages, with the two nearest
/// sizes that are (QEMU 7.2 refuses a backend smaller than a page, and rounds otherwise).
pub(super) fn whole_pages(what: &str, kib: u64, page: u64, span: Span) -> Option<Diagnostic> {
    let page = page.max(1);
    if kib.is_multiple_of(page) {
        return None;
    }
    let below = kib / page * page;
    let above = below.saturating_add(page);
    let sizes = if below == 0 {
        format!("`{}`", human_kib(above))
    } else {
        format!("`{}` or `{}`", human_kib(below), human_kib(above))
    };
    Some(
        Diagnostic::error(
            MEMORY_GRANULE,
            format!(
                "{what} ({}) is not a whole number of {} pages",
                human_kib(kib),
                human_kib(page)
            ),
            span,
            "not a multiple of the page size",
        )
        .with_help(format!(
            "QEMU refuses or rounds memory backed by {} pages that is not whole pages; use {sizes}",
            human_kib(page)
        )),
    )
}

/// Each cell's page size: its own `hugepages=` (4KiB, the base page, is ordinary memory),
/// else the guest's; its memory must be whole pages.
pub(super) fn cell_pages(cells: &mut Cells, guest_page: Option<u64>, cx: &mut Cx<'_, '_>) {
    for (i, c) in cells.cells.iter_mut().enumerate() {
        c.hugepage_kib = match (c.hugepage_kib, cells.page_spans.get(i).copied().flatten()) {
            (Some(4), Some(_)) => None,
            // A size the host lacks is reported once, not again by the fit check.
            (Some(page), Some(span)) => check_page_size(cx, page, span, "a cell's `hugepages=`").then_some(page),
            _ => guest_page,
        };
        if let Some(page) = c.hugepage_kib
            && let Some(d) = whole_pages(
                &format!("cell {}'s memory", c.id),
                c.memory_kib,
                page,
                cells.cell_spans.get(i).copied().unwrap_or(cx.guest_span),
            )
        {
            cx.err(d);
        }
    }
}
