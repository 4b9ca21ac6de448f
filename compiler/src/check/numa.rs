//! `numa { cell ... distance ... distances from=host }`: hand-written guest cells.

use super::body::Body;
use super::cells::{Cells, MAX_CELLS, too_many_cells};
use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, MemBinding, MemPolicy};
use crate::lang::{Context, Fields};
use crate::span::Span;
use crate::units::human_kib;

/// More `cell` lines than [`MAX_CELLS`]: the error, at the first one past the limit.
fn count_cells(fields: &[Fields<'_>]) -> Option<Diagnostic> {
    let mut cells = fields.iter().filter(|f| f.keyword() == "cell");
    let past = cells.nth(MAX_CELLS)?;
    let count = MAX_CELLS + 1 + cells.count();
    Some(too_many_cells(
        count as u64,
        past.stmt.head_span(),
        &format!("cell number {} of this block", MAX_CELLS + 1),
    ))
}

/// One `cell` line: the cell and where its parts were written.
struct CellLine {
    cell: GuestCell,
    head: Span,
    id: Span,
    binding: Option<Span>,
    page: Option<Span>,
}

pub(super) fn check_numa(
    numa: &Fields<'_>,
    vcpus: u32,
    memory_kib: u64,
    memory: Option<&Fields<'_>>,
    cx: &mut Cx<'_, '_>,
) -> Cells {
    let memory_span = memory.map(|m| m.arg_span(0));
    let exact = memory.is_some_and(|m| m.bool("exact") == Some(true));
    let body = Body::check(numa, Context::Numa, cx.diags);
    // Counted before anything per cell is built: the distance table is cells × cells.
    if let Some(d) = count_cells(&body.fields) {
        cx.diags.push(d);
        return Cells::default();
    }
    let mut lines = cell_lines(&body.fields, exact, cx);
    lines.sort_by_key(|l| l.cell.id);
    check_ids(&lines, cx);
    let mut cells = Cells {
        cell_spans: lines.iter().map(|l| l.head).collect(),
        binding_spans: lines.iter().map(|l| l.binding).collect(),
        page_spans: lines.iter().map(|l| l.page).collect(),
        cells: lines.into_iter().map(|l| l.cell).collect(),
        ..Cells::default()
    };
    let keyword = numa.stmt.keyword.span;
    super::coverage::check(&cells, vcpus, keyword, cx);
    if !cells.cells.is_empty() && cells.cells.iter().all(|c| c.vcpus.is_empty()) {
        cx.diags.push(
            Diagnostic::error(NO_CPU_CELL, "no cell has vCPUs", keyword, "memory-only cells only")
                .with_help("give at least one cell `cpus=`"),
        );
    }
    memory_sum(&cells, memory_kib, memory_span, keyword, cx);
    if let Some(m) = memory.filter(|_| exact) {
        super::cell_sizes::exact(&cells.cells, &cells.cell_spans, m.span_of("exact"), cx);
    }
    cells.distances = super::distances::check(&body.fields, &cells, cx);
    cells.hmat = super::hmat::check(&body.fields, &cells.cells, cx.diags);
    cells
}

/// Every `cell` line with an id, each id once.
fn cell_lines(fields: &[Fields<'_>], exact: bool, cx: &mut Cx<'_, '_>) -> Vec<CellLine> {
    let mut lines: Vec<CellLine> = Vec::new();
    for f in fields.iter().filter(|f| f.keyword() == "cell") {
        let Some(id) = f.arg_int(0) else { continue };
        let id_span = f.arg_span(0);
        if let Some(other) = lines.iter().find(|l| u64::from(l.cell.id) == id) {
            cx.diags.push(
                Diagnostic::error(CELL_IDS, format!("cell {id} is defined twice"), id_span, "again here")
                    .with_label(other.id, "first here")
                    .with_help("give each cell its own id, 0 to k-1"),
            );
            continue;
        }
        let bytes = f.size("memory").unwrap_or(0);
        if exact {
            super::cell_sizes::whole_kib(f, id, bytes, cx);
        } else {
            check_memory(f, id, bytes, cx);
        }
        let cell = GuestCell {
            id: u32::try_from(id).unwrap_or(u32::MAX),
            vcpus: f.set("cpus").cloned().unwrap_or_default(),
            memory_kib: bytes / 1024,
            binding: binding(f, id, cx),
            hugepage_kib: f.size("hugepages").map(|b| b / 1024),
            shared: f.text("access").map(|a| a == "shared"),
            discard: f.bool("discard"),
        };
        lines.push(CellLine {
            cell,
            head: f.stmt.head_span(),
            id: id_span,
            binding: f.has("host-node").then(|| f.span_of("host-node")),
            page: f.has("hugepages").then(|| f.span_of("hugepages")),
        });
    }
    lines
}

/// A cell's memory: some, and whole MiB.
fn check_memory(f: &Fields<'_>, id: u64, bytes: u64, cx: &mut Cx<'_, '_>) {
    if bytes == 0 && f.has("memory") {
        cx.diags.push(
            Diagnostic::error(MEMORY_GRANULE, format!("cell {id} has no memory"), f.span_of("memory"), "0")
                .with_help(
                    "libvirt 9.0 gives every cell a memory backend of the cell's size, and QEMU 7.2 refuses a backend of size 0 (\"property 'size' of memory-backend-ram doesn't take value '0'\"), so the guest would not start; give the cell at least 1MiB, or put its vCPUs in a cell that has memory",
                ),
        );
    } else if bytes == 0 || !bytes.is_multiple_of(1 << 20) {
        cx.diags.push(
            Diagnostic::error(
                MEMORY_GRANULE,
                format!("cell {id} memory must be a positive whole number of MiB"),
                f.span_of("memory"),
                "not a whole MiB",
            )
            .with_help("libvirt rounds cell memory up to 1 MiB, which would break the sum; write it in `MiB` or `GiB`"),
        );
    }
}

/// A cell's `host-node=` and `policy=`.
fn binding(f: &Fields<'_>, id: u64, cx: &mut Cx<'_, '_>) -> Option<MemBinding> {
    let policy = f.text("policy").map(MemPolicy::parse);
    match (f.set("host-node"), policy) {
        (Some(nodes), p) => {
            let policy = p.unwrap_or(MemPolicy::Strict);
            if policy == MemPolicy::Preferred && nodes.len() != 1 {
                cx.diags.push(super::cx::preferred_error(nodes, f.span_of("host-node")));
            }
            Some(MemBinding {
                nodes: nodes.clone(),
                policy,
                auto: false,
            })
        }
        (None, Some(_)) => {
            cx.diags.push(
                Diagnostic::error(
                    POLICY_WITHOUT_NODE,
                    format!("cell {id} has a policy but no `host-node=`"),
                    f.span_of("policy"),
                    "policy for which nodes?",
                )
                .with_help("add `host-node=N` naming the host node(s) that back this cell"),
            );
            None
        }
        (None, None) => None,
    }
}

/// Ids 0..k-1.
fn check_ids(lines: &[CellLine], cx: &mut Cx<'_, '_>) {
    for (k, l) in lines.iter().enumerate() {
        if l.cell.id as usize != k {
            cx.diags.push(
                Diagnostic::error(
                    CELL_IDS,
                    format!(
                        "cell ids must be 0 to {} without gaps; cell {k} is missing",
                        lines.len() - 1
                    ),
                    l.id,
                    format!("cell {}", l.cell.id),
                )
                .with_help(format!("renumber this cell as {k}")),
            );
            break;
        }
    }
}

/// The cells hold the guest's memory.
fn memory_sum(cells: &Cells, memory_kib: u64, memory_span: Option<Span>, numa: Span, cx: &mut Cx<'_, '_>) {
    let sum: u64 = cells.cells.iter().map(|c| c.memory_kib).sum();
    if cells.cells.is_empty() || memory_kib == 0 || sum == memory_kib {
        return;
    }
    let mut d = Diagnostic::error(
        CELL_MEMORY_SUM,
        format!(
            "cells hold {} but the guest has {}",
            human_kib(sum),
            human_kib(memory_kib)
        ),
        numa,
        format!("cells sum to {}", human_kib(sum)),
    );
    if let Some(ms) = memory_span {
        d = d.with_label(ms, "guest memory");
    }
    cx.diags.push(d.with_help(format!(
        "make the cells sum to the guest memory, or write `memory {}`",
        human_kib(sum)
    )));
}
