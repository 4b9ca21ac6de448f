//! Disks and their I/O threads: `iothread=K` names one of the guest's threads (virtio
//! disks only, as libvirt's `<driver iothread>`), a virtio disk on a cell takes that cell's
//! thread when the guest has one per cell, and a disk served from another host node than
//! its cell's memory is a warning.

use super::plug::Layout;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{Device, DeviceKind, DiskBus, GuestCell};
use crate::lang::Fields;
use crate::sets::IdSet;

/// What devices see of the guest's I/O threads.
#[derive(Debug, Clone, Default)]
pub struct Io {
    pub count: u32,
    /// One thread per cell, thread k + 1 on cell k.
    pub per_cell: bool,
    /// The host nodes each thread runs on, when known.
    pub nodes: Vec<Option<IdSet>>,
}

/// The cell an endpoint sits on, through its root port's expander.
fn cell_of(layout: &Layout, fi: usize) -> Option<u32> {
    let port = layout.endpoints.get(fi).copied().flatten().flatten()?;
    let exp = layout.ports.get(port)?.on?;
    layout.exps.get(exp).map(|x| x.node)
}

/// Each disk's I/O thread: the one it names, checked, or its cell's with `iothreads
/// per-cell`; a warning for one served from off its cell's memory.
pub(super) fn assign(
    fields: &[Fields<'_>],
    layout: &Layout,
    devices: &mut [Device],
    cells: &[GuestCell],
    io: &Io,
    diags: &mut Vec<Diagnostic>,
) {
    let disks = fields.iter().enumerate().filter(|(_, f)| f.keyword() == "disk");
    for ((fi, f), d) in disks.zip(devices.iter_mut().filter(|d| matches!(d.kind, DeviceKind::Disk { .. }))) {
        let DeviceKind::Disk { bus, iothread, .. } = &mut d.kind else {
            continue;
        };
        let cell = cell_of(layout, fi);
        match *iothread {
            Some(_) if *bus != DiskBus::Virtio => {
                diags.push(
                    Diagnostic::error(
                        THREAD_POLICY,
                        "only a virtio disk has an I/O thread",
                        f.span_of("iothread"),
                        "a SATA disk",
                    )
                    .with_help("write `bus=virtio`, or remove `iothread=`"),
                );
                continue;
            }
            Some(k) if k == 0 || k > io.count => {
                let have = if io.count == 0 {
                    "the guest has no I/O threads (`iothreads N`)".to_string()
                } else {
                    format!("the guest has I/O threads 1 to {}", io.count)
                };
                diags.push(
                    Diagnostic::error(
                        THREAD_POLICY,
                        format!("I/O thread {k} does not exist"),
                        f.span_of("iothread"),
                        have,
                    )
                    .with_help("I/O threads are numbered from 1, as libvirt numbers them"),
                );
                continue;
            }
            Some(_) => {}
            None if io.per_cell && *bus == DiskBus::Virtio => *iothread = cell.map(|c| c + 1),
            None => {}
        }
        if let (Some(k), Some(c)) = (*iothread, cell) {
            far(f, k, c, cells, io, diags);
        }
    }
}

/// A disk on cell `c` whose I/O thread `k` runs on host nodes that hold none of the cell's
/// memory.
fn far(f: &Fields<'_>, k: u32, c: u32, cells: &[GuestCell], io: &Io, diags: &mut Vec<Diagnostic>) {
    let Some(Some(thread)) = (k as usize).checked_sub(1).and_then(|i| io.nodes.get(i)) else {
        return;
    };
    let Some(memory) = cells.iter().find(|x| x.id == c).and_then(|x| x.binding.as_ref()) else {
        return;
    };
    if thread.is_empty() || !thread.intersection(&memory.nodes).is_empty() {
        return;
    }
    let span = if f.has("iothread") {
        f.span_of("iothread")
    } else {
        f.span_of("node")
    };
    diags.push(
        Diagnostic::warning(
            IOTHREAD_FAR,
            format!(
                "disk `{}` is on cell {c}, whose memory is on host node {}, but its I/O thread {k} runs on host node {thread}",
                f.arg_text(0).unwrap_or_default(),
                memory.nodes
            ),
            span,
            format!("served from node {thread}"),
        )
        .with_help(format!(
            "its requests cross between nodes; serve it from an I/O thread on node {} (`iothreads per-cell` gives each cell one)",
            memory.nodes
        )),
    );
}
