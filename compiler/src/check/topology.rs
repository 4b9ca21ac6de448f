//! `topology`: sockets, dies, cores and threads, written or derived from the cells.

use super::cells::Cells;
use super::cx::Cx;
use super::vcpus::Vcpus;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, Topology};
use crate::lang::Fields;
use crate::span::Span;

/// The written topology, or one derived from equal cells.
pub(super) fn check(
    topology: Option<&Fields<'_>>,
    vcpus: &Vcpus,
    cells: &Cells,
    cx: &mut Cx<'_, '_>,
) -> Option<Topology> {
    match topology {
        Some(f) => {
            let t = Topology {
                sockets: f.int("sockets").unwrap_or(1) as u32,
                dies: f.int("dies").unwrap_or(1) as u32,
                cores: f.int("cores").unwrap_or(1) as u32,
                threads: f.int("threads").unwrap_or(1) as u32,
            };
            let raw = [f.int("sockets"), f.int("dies"), f.int("cores"), f.int("threads")];
            if raw.iter().flatten().any(|v| *v == 0 || *v > 4096) {
                cx.err(
                    Diagnostic::error(
                        TOPOLOGY_PRODUCT,
                        "topology values must be between 1 and 4096",
                        f.span(),
                        "out of range",
                    )
                    .with_help("every level has at least one unit"),
                );
            } else if vcpus.count > 0 && t.product() != u64::from(vcpus.count) {
                let span = vcpus.span;
                cx.err(
                    Diagnostic::error(
                        TOPOLOGY_PRODUCT,
                        format!(
                            "topology gives {} vCPUs ({}×{}×{}×{}) but the guest has {}",
                            t.product(),
                            t.sockets,
                            t.dies,
                            t.cores,
                            t.threads,
                            vcpus.count
                        ),
                        f.span(),
                        format!("{} vCPUs", t.product()),
                    )
                    .with_label(span, format!("{} vCPUs", vcpus.count))
                    .with_help(topology_hint(vcpus.count, &t)),
                );
            } else {
                warn_sockets_spanning_cells(&t, &cells.cells, &cells.cell_spans, f.span(), cx.diags);
            }
            Some(t)
        }
        None => default_topology(vcpus.count, &cells.cells),
    }
}

fn topology_hint(vcpus: u32, t: &Topology) -> String {
    let per = t.dies * t.threads;
    if per > 0 && vcpus.is_multiple_of((t.sockets * per).max(1)) {
        let cores = vcpus / (t.sockets * per);
        return format!(
            "with {} sockets and {} threads, write `cores={cores}`",
            t.sockets, t.threads
        );
    }
    format!("choose sockets × dies × cores × threads = {vcpus}")
}

/// Without a written topology: one socket per cell when cells are equal consecutive
/// blocks, else libvirt's default (no `<topology>`, one socket per vCPU).
fn default_topology(vcpus: u32, cells: &[GuestCell]) -> Option<Topology> {
    let cpu_cells: Vec<&GuestCell> = cells.iter().filter(|c| !c.vcpus.is_empty()).collect();
    if cpu_cells.len() < 2 || vcpus == 0 {
        return None;
    }
    let per = cpu_cells[0].vcpus.len() as u32;
    let blocks = cpu_cells.iter().enumerate().all(|(k, c)| {
        c.vcpus.len() as u32 == per
            && c.vcpus.first() == Some(k as u32 * per)
            && c.vcpus.last() == Some((k as u32 + 1) * per - 1)
    });
    blocks.then_some(Topology {
        sockets: cpu_cells.len() as u32,
        dies: 1,
        cores: per,
        threads: 1,
    })
}

fn warn_sockets_spanning_cells(
    t: &Topology,
    cells: &[GuestCell],
    cell_spans: &[Span],
    span: Span,
    diags: &mut Vec<Diagnostic>,
) {
    let per = t.per_socket();
    if per == 0 {
        return;
    }
    for s in 0..t.sockets {
        let lo = s * per;
        let hi = lo + per - 1;
        let owners: Vec<usize> = cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.vcpus.iter().any(|v| v >= lo && v <= hi))
            .map(|(i, _)| i)
            .collect();
        if owners.len() > 1 {
            let mut d = Diagnostic::warning(
                SOCKET_SPANS_CELLS,
                format!(
                    "guest socket {s} (vCPUs {lo}-{hi}) spans cells {} and {}",
                    cells[owners[0]].id, cells[owners[1]].id
                ),
                span,
                "this topology",
            );
            for &o in owners.iter().take(2) {
                if let Some(cs) = cell_spans.get(o) {
                    d = d.with_label(*cs, format!("cell {}", cells[o].id));
                }
            }
            diags.push(d.with_help(
                "a socket split over NUMA cells confuses the guest scheduler; make each cell a whole number of sockets",
            ));
            return;
        }
    }
}
