//! `memory SIZE exact=true`: cell sizes kept to the KiB.
//!
//! libvirt rounds every cell up to 1 MiB when it starts a guest (`qemuDomainAlignMemorySizes`),
//! but keeps the sizes as the XML has them for a guest it receives by incoming migration or
//! restores, so that the guest keeps its memory layout. `exact=true` builds that guest: the
//! cells as written, the memory backends to the byte. libvirt 9.0 writes QEMU's `-m` in MiB,
//! and QEMU refuses cells that do not add up to its RAM size ("total memory for NUMA nodes …
//! should equal RAM size"), so their sum must be a whole MiB.

use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::GuestCell;
use crate::lang::Fields;
use crate::span::Span;
use crate::units::human_kib;

const MIB_KIB: u64 = 1024;

/// A cell's memory with `exact=true`: some, and whole KiB.
pub(super) fn whole_kib(f: &Fields<'_>, id: u64, bytes: u64, cx: &mut Cx<'_, '_>) {
    if bytes == 0 || !bytes.is_multiple_of(1024) {
        cx.diags.push(
            Diagnostic::error(
                MEMORY_GRANULE,
                format!("cell {id} memory must be a positive whole number of KiB"),
                f.span_of("memory"),
                "not a whole KiB",
            )
            .with_help("libvirt's cell sizes are in KiB; write it in `KiB`, `MiB` or `GiB`"),
        );
    }
}

/// The cells of a guest with `exact=true`: their sum a whole MiB (E0367), and a warning
/// naming the cells `virsh start` would round up (W0522).
pub(super) fn exact(cells: &[GuestCell], spans: &[Span], exact: Span, cx: &mut Cx<'_, '_>) {
    let total: u64 = cells.iter().map(|c| c.memory_kib).sum();
    if !total.is_multiple_of(MIB_KIB) {
        cx.diags.push(
            Diagnostic::error(
                EXACT_TOTAL,
                format!("the cells add up to {total} KiB, which is not a whole MiB"),
                exact,
                "cells kept to the KiB",
            )
            .with_help(format!(
                "libvirt writes QEMU's `-m` in MiB, {} MiB here, and QEMU refuses cells that do not add up to it \
                 (\"total memory for NUMA nodes … should equal RAM size\"); the guest could not start",
                total / MIB_KIB
            )),
        );
    }
    let mut uneven = cells
        .iter()
        .zip(spans)
        .filter(|(c, _)| !c.memory_kib.is_multiple_of(MIB_KIB));
    let Some((first, at)) = uneven.next() else { return };
    let rest = uneven.count();
    let more = match rest {
        0 => String::new(),
        1 => " and 1 more cell".to_string(),
        n => format!(" and {n} more cells"),
    };
    cx.diags.push(
        Diagnostic::warning(
            EXACT_ON_START,
            format!(
                "cell {} ({} KiB){more} kept to the KiB: libvirt keeps such sizes only for a guest it receives by migration or restores",
                first.id, first.memory_kib
            ),
            *at,
            "not a whole MiB",
        )
        .with_label(exact, "kept as written")
        .with_help(format!(
            "use this XML with `virsh migrate --xml` or `virsh restore --xml`; `virsh start` rounds cell {} up to {} \
             (and the others likewise), another guest than the QEMU line",
            first.id,
            human_kib(first.memory_kib.div_ceil(MIB_KIB) * MIB_KIB)
        )),
    );
}
