//! `hostdev ADDR`: a host PCI device the host profile lists, near the cell it serves.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::{HostPci, HostProfile};
use crate::ir::GuestCell;
use crate::lang::Fields;

/// `hostdev ADDR` must be a device the host profile lists.
fn host_device<'h>(f: &Fields<'_>, host: Option<&'h HostProfile>) -> Option<&'h HostPci> {
    let addr = f.arg_text(0)?;
    host?.pci.iter().find(|p| p.address == addr)
}

/// The device is on the host, and on a host node that backs its cell (a warning when not).
pub(super) fn check_host_pci(
    f: &Fields<'_>,
    cells: &[GuestCell],
    host: Option<&HostProfile>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(h) = host else {
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
    let Some(dev) = host_device(f, Some(h)) else {
        let known: Vec<String> = h.pci.iter().map(|p| p.address.clone()).collect();
        diags.push(
            Diagnostic::error(
                HOST_PCI,
                format!("the host lists no PCI device {}", f.arg_text(0).unwrap_or_default()),
                f.arg_span(0),
                "unknown device",
            )
            .with_help(if known.is_empty() {
                "add it to the host: `pci 0000:3b:00.0 node=1` (for a host from `from=`, in a block after it)"
                    .to_string()
            } else {
                format!("the host lists {}", known.join(", "))
            }),
        );
        return;
    };
    let backing: Vec<u32> = cells
        .iter()
        .filter(|c| c.binding.as_ref().is_some_and(|b| b.nodes.contains(dev.node)))
        .map(|c| c.id)
        .collect();
    let explicit = f.int("node").map(|n| n as u32);
    let far = match explicit {
        Some(c) => !backing.contains(&c),
        None => backing.is_empty(),
    };
    if far {
        diags.push(
            Diagnostic::warning(
                HOSTDEV_FAR,
                format!(
                    "host device {} sits on host node {}, which {}",
                    dev.address,
                    dev.node,
                    match explicit {
                        Some(c) => format!("does not back guest cell {c}"),
                        None => "backs no guest cell".to_string(),
                    }
                ),
                f.arg_span(0),
                format!("on host node {}", dev.node),
            )
            .with_help(if backing.is_empty() {
                format!(
                    "bind a cell to host node {} and put the device on it, so its DMA stays local",
                    dev.node
                )
            } else {
                format!("`node={}` is the cell on host node {}", backing[0], dev.node)
            }),
        );
    }
}

/// `node=auto`: the cell bound to the host device's node.
pub(super) fn auto_cell(f: &Fields<'_>, cells: &[GuestCell], host: Option<&HostProfile>) -> Option<u32> {
    let dev = host_device(f, host)?;
    cells
        .iter()
        .find(|c| c.binding.as_ref().is_some_and(|b| b.nodes.contains(dev.node)))
        .map(|c| c.id)
}
