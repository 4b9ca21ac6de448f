//! Which cell each vCPU is in: every vCPU in exactly one cell, and the node numbers the
//! guest kernel will give the cells.

use super::cells::Cells;
use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::GuestCell;
use crate::sets::IdSet;
use crate::span::Span;

/// vCPU coverage: disjoint, within range, complete; every problem reported at once. Then,
/// when it holds, the cells the guest kernel will number differently.
pub(super) fn check(cells: &Cells, vcpus: u32, numa: Span, cx: &mut Cx<'_, '_>) {
    if let Some(owner) = owners(cells, vcpus, numa, cx) {
        renumbering(cells, &owner, cx);
    }
}

/// The cell of each vCPU, when every vCPU is in exactly one cell and every cell names
/// vCPUs the guest has.
fn owners(cells: &Cells, vcpus: u32, numa: Span, cx: &mut Cx<'_, '_>) -> Option<Vec<Option<usize>>> {
    let mut owner: Vec<Option<usize>> = vec![None; vcpus as usize];
    let mut coverage_ok = true;
    let guest_vcpus = match vcpus {
        0 => IdSet::new(),
        n => IdSet::range(0, n - 1),
    };
    for (i, (c, span)) in cells.cells.iter().zip(&cells.cell_spans).enumerate() {
        let out_of_range = c.vcpus.difference(&guest_vcpus);
        // Per earlier cell: the vCPUs this cell claims too.
        let mut shared: Vec<(usize, IdSet)> = Vec::new();
        for v in c.vcpus.intersection(&guest_vcpus).iter() {
            match owner[v as usize] {
                Some(o) => match shared.iter_mut().find(|(x, _)| *x == o) {
                    Some((_, set)) => set.insert(v),
                    None => shared.push((o, IdSet::single(v))),
                },
                None => owner[v as usize] = Some(i),
            }
        }
        if !out_of_range.is_empty() {
            cx.diags.push(out_of_range_error(c, *span, &out_of_range, vcpus));
            coverage_ok = false;
        }
        for (o, set) in shared {
            cx.diags.push(shared_error(cells, o, c, *span, &set));
            coverage_ok = false;
        }
    }
    if !cells.cells.is_empty() {
        let missing: IdSet = owner
            .iter()
            .enumerate()
            .filter(|(_, o)| o.is_none())
            .map(|(v, _)| v as u32)
            .collect();
        if !missing.is_empty() {
            cx.diags.push(
                Diagnostic::error(
                    VCPU_COVERAGE,
                    if missing.len() == 1 {
                        format!("vCPU {missing} is in no cell")
                    } else {
                        format!("vCPUs {missing} are in no cell")
                    },
                    numa,
                    "cells do not cover every vCPU",
                )
                .with_help("libvirt would silently put them in cell 0; add them to a cell's `cpus=`"),
            );
            coverage_ok = false;
        }
    }
    coverage_ok.then_some(owner)
}

fn out_of_range_error(c: &GuestCell, span: Span, out_of_range: &IdSet, vcpus: u32) -> Diagnostic {
    let first = out_of_range.first().unwrap_or(0);
    Diagnostic::error(
        VCPU_RANGE,
        if out_of_range.len() == 1 {
            format!("cell {} names vCPU {first}, but the guest has {vcpus} vCPUs", c.id)
        } else {
            format!(
                "cell {} names vCPUs {out_of_range}, but the guest has {vcpus} vCPUs",
                c.id
            )
        },
        span,
        if out_of_range.len() == 1 {
            format!("vCPU {first} does not exist")
        } else {
            format!("vCPUs {out_of_range} do not exist")
        },
    )
    .with_help(if vcpus > 0 {
        format!("vCPU ids run from 0 to {}", vcpus - 1)
    } else {
        "set `vcpus`".into()
    })
}

/// Cell `c` claims vCPUs `set` that the earlier cell `o` claims too.
fn shared_error(cells: &Cells, o: usize, c: &GuestCell, span: Span, set: &IdSet) -> Diagnostic {
    let (what, verb) = if set.len() == 1 {
        (format!("vCPU {set}"), "is")
    } else {
        (format!("vCPUs {set}"), "are")
    };
    Diagnostic::error(
        VCPU_COVERAGE,
        format!("{what} {verb} in cells {} and {}", cells.cells[o].id, c.id),
        span,
        format!("cell {} claims {what}", c.id),
    )
    .with_label(
        cells.cell_spans[o],
        format!(
            "cell {} claims {} too",
            cells.cells[o].id,
            if set.len() == 1 { "it" } else { "them" }
        ),
    )
    .with_help(format!(
        "cell CPU sets must be disjoint; remove {} from one cell",
        if set.len() == 1 { "it" } else { "them" }
    ))
}

/// Linux numbers guest nodes in the order the firmware table first names them: by vCPU,
/// then memory-only cells. Cell ids in another order are renamed inside the guest.
fn renumbering(cells: &Cells, owner: &[Option<usize>], cx: &mut Cx<'_, '_>) {
    if cells.cells.is_empty() {
        return;
    }
    let mut seen: Vec<usize> = Vec::new();
    for o in owner.iter().flatten() {
        if !seen.contains(o) {
            seen.push(*o);
        }
    }
    seen.extend((0..cells.cells.len()).filter(|i| cells.cells[*i].vcpus.is_empty()));
    if let Some(k) = seen.iter().enumerate().position(|(k, i)| k != *i)
        && seen.len() == cells.cells.len()
    {
        let (cell, span) = (&cells.cells[seen[k]], cells.cell_spans[seen[k]]);
        cx.diags.push(
            Diagnostic::warning(
                GUEST_RENUMBERS,
                format!("the guest kernel will call cell {} node {k}", cell.id),
                span,
                format!("seen as node {k} inside the guest"),
            )
            .with_help(
                "Linux numbers nodes by their first vCPU, memory-only cells last; give cells ids in that order so node ids match inside the guest",
            ),
        );
    }
}
