//! `hostdev ADDR`: a host PCI device the host profile lists, near the cell it serves.

use super::near::Near;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::{HostPci, HostProfile};
use crate::lang::Fields;
use crate::span::Span;

/// The device is on the host, and on a host node that backs its cell (a warning when not).
pub(super) fn check_host_pci(f: &Fields<'_>, near: &Near<'_>, diags: &mut Vec<Diagnostic>) {
    let Some(h) = near.host else {
        diags.push(
            Diagnostic::error(
                HOST_NEEDED,
                "`hostdev` needs a host",
                f.stmt.head_span(),
                "host-dependent",
            )
            .with_help("give the guest `on=HOST` with the device in the host's `pci` list"),
        );
        return;
    };
    let Some(dev) = f.arg_text(0).and_then(|a| near.device(a)) else {
        diags.push(unknown_device(
            f.arg_text(0).unwrap_or_default(),
            f.arg_span(0),
            Some(h),
        ));
        return;
    };
    // `node=auto` is judged by its policy (`affinity.rs`); a device with no node is far
    // from nothing.
    let Some(node) = dev.node.filter(|_| f.text("node") != Some("auto")) else {
        return;
    };
    let explicit = f.int("node").map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let far = match explicit {
        Some(c) => !near.backs(c, node),
        None => near.cell_on(node).is_none(),
    };
    if far {
        diags.push(far_warning(f, dev, node, near, explicit));
    }
}

/// How many of the host's devices the help of an unknown one names.
const NAMED: usize = 8;

/// A host the device is not listed on (E0413); the help names the host's first devices.
pub(super) fn unknown_device(addr: &str, span: Span, host: Option<&HostProfile>) -> Diagnostic {
    let all = host.map_or(0, |h| h.pci.len());
    let known: Vec<&str> = host
        .iter()
        .flat_map(|h| h.pci.iter().take(NAMED).map(|p| p.address.as_str()))
        .collect();
    Diagnostic::error(
        HOST_PCI,
        format!("the host lists no PCI device {addr}"),
        span,
        "unknown device",
    )
    .with_help(if known.is_empty() {
        "add it to the host: `pci 0000:3b:00.0 node=1` (for a host from `from=`, in a block after it)".to_string()
    } else if all > NAMED {
        format!("the host lists {} and {} more", known.join(", "), all - NAMED)
    } else {
        format!("the host lists {}", known.join(", "))
    })
}

/// The device sits on host node `node`, which backs no guest cell, or not the cell named (W0505).
pub(super) fn far_warning(
    f: &Fields<'_>,
    dev: &HostPci,
    node: u32,
    near: &Near<'_>,
    explicit: Option<u32>,
) -> Diagnostic {
    let backing = near.cell_on(node);
    let span = if f.keyword() == "hostdev" {
        f.arg_span(0)
    } else {
        f.span_of("uplink")
    };
    Diagnostic::warning(
        HOSTDEV_FAR,
        format!(
            "host device {} sits on host node {node}, which {}",
            dev.address,
            match explicit {
                Some(c) => format!("does not back guest cell {c}"),
                None => "backs no guest cell".to_string(),
            }
        ),
        span,
        format!("on host node {node}"),
    )
    .with_help(match backing {
        None => format!("bind a cell to host node {node} and put the device on it, so its DMA stays local"),
        Some(b) => format!("`node={b}` is the cell on host node {node}"),
    })
}
