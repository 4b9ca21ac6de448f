//! `node=auto` and its affinity policy (`policy=required|preferred|socket|legacy`, as Nova's
//! `hw:pci_numa_affinity_policy`): which guest cell a host device or a NIC's uplink goes on,
//! judged by the device's host node and, for `socket`, the package of that node.

use super::near::Near;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostPci;
use crate::ir::DeviceAffinity;
use crate::lang::Fields;
use crate::sets::IdSet;

/// How near `node=auto` must put a device.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// No `policy=`: as `preferred`, with today's warning (W0505) for a far device.
    Default,
    Required,
    Preferred,
    Socket,
    Legacy,
}

fn policy(f: &Fields<'_>) -> Policy {
    match f.text("policy") {
        Some("required") => Policy::Required,
        Some("preferred") => Policy::Preferred,
        Some("socket") => Policy::Socket,
        Some("legacy") => Policy::Legacy,
        _ => Policy::Default,
    }
}

/// The host device whose node decides: a hostdev's own address, a NIC's `uplink=`.
fn device_key<'f>(f: &'f Fields<'_>) -> Option<&'f str> {
    match f.keyword() {
        "hostdev" => f.arg_text(0),
        _ => f.text("uplink"),
    }
}

/// `policy=` and `uplink=` make sense only with `node=auto`, and a NIC on `node=auto`
/// needs the `uplink=` whose node decides. False (reported) when they do not fit.
pub(super) fn form_ok(f: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> bool {
    let auto = f.text("node") == Some("auto");
    let stray = ["policy", "uplink"].into_iter().find(|k| f.has(k) && !auto);
    if let Some(key) = stray {
        diags.push(
            Diagnostic::error(
                AFFINITY_POLICY,
                format!("`{key}=` decides nothing without `node=auto`"),
                f.span_of(key),
                "no `node=auto`",
            )
            .with_help("write `node=auto` to let the device's host node pick the cell, or drop it"),
        );
        return false;
    }
    if auto && f.keyword() == "nic" && !f.has("uplink") {
        diags.push(
            Diagnostic::error(
                AFFINITY_POLICY,
                "a NIC on `node=auto` needs `uplink=`: the host device whose node picks the cell",
                f.span_of("node"),
                "no device to follow",
            )
            .with_help("write `uplink=0000:3b:00.0` with the host PCI device behind the NIC's bridge or network, or `node=CELL`"),
        );
        return false;
    }
    true
}

/// `node=auto`: `Some(Some(cell))` on a cell, `Some(None)` on the root bus, None when the
/// policy refuses the device (reported). A hostdev the host does not list goes on the root
/// bus here; `hostdev::check_host_pci` reports it.
pub(super) fn auto_cell(f: &Fields<'_>, near: &mut Near<'_>, diags: &mut Vec<Diagnostic>) -> Option<Option<u32>> {
    let Some(dev) = device(f, near, diags) else {
        return if f.keyword() == "hostdev" { Some(None) } else { None };
    };
    let policy = policy(f);
    let Some(node) = dev.node else {
        return no_node(f, dev, policy, diags);
    };
    if let Some(c) = near.cell_on(node) {
        return Some(Some(c));
    }
    match policy {
        Policy::Required | Policy::Legacy => {
            diags.push(far_error(f, dev, node, policy, near.any_bound()));
            None
        }
        Policy::Socket => same_package(f, dev, node, near, diags),
        Policy::Default | Policy::Preferred => {
            diags.push(super::hostdev::far_warning(f, dev, node, near, None));
            Some(None)
        }
    }
}

/// What `node=auto` did with a device the host lists, for the model (`explain`).
pub(super) fn record(f: &Fields<'_>, near: &Near<'_>, cell: Option<u32>) -> Option<DeviceAffinity> {
    if f.text("node") != Some("auto") {
        return None;
    }
    let dev = near.device(device_key(f)?)?;
    Some(DeviceAffinity {
        host_device: dev.address.clone(),
        host_node: dev.node,
        policy: f.text("policy").map(str::to_string),
        cell,
    })
}

/// The host device `device_key` names; for a NIC, an unknown uplink or a guest without a
/// host is reported here.
fn device<'h>(f: &Fields<'_>, near: &Near<'h>, diags: &mut Vec<Diagnostic>) -> Option<&'h HostPci> {
    let key = device_key(f)?;
    let Some(h) = near.host else {
        if f.keyword() == "nic" {
            diags.push(
                Diagnostic::error(
                    HOST_NEEDED,
                    "`uplink=` needs a host",
                    f.span_of("uplink"),
                    "host-dependent",
                )
                .with_help("give the guest `on=HOST` with the device in the host's `pci` list"),
            );
        }
        return None;
    };
    let found = near.device(key);
    if found.is_none() && f.keyword() == "nic" {
        diags.push(super::hostdev::unknown_device(key, f.span_of("uplink"), Some(h)));
    }
    found
}

/// A device that reports no NUMA node: `required` and `socket` refuse it, `legacy` puts it
/// on the root bus, and no policy or `preferred` does too, with a warning.
fn no_node(f: &Fields<'_>, dev: &HostPci, policy: Policy, diags: &mut Vec<Diagnostic>) -> Option<Option<u32>> {
    let span = device_span(f);
    match policy {
        Policy::Required | Policy::Socket => {
            diags.push(
                Diagnostic::error(
                    AFFINITY_UNKNOWN,
                    format!(
                        "host device {} reports no NUMA node, and `policy={}` needs one",
                        dev.address,
                        f.text("policy").unwrap_or_default()
                    ),
                    span,
                    "no host node",
                )
                .with_help("write `policy=legacy` or `policy=preferred` to take it on the root bus, or give the host's `pci` line its node"),
            );
            None
        }
        Policy::Legacy => Some(None),
        Policy::Default | Policy::Preferred => {
            diags.push(
                Diagnostic::warning(
                    AFFINITY_NONE,
                    format!(
                        "host device {} reports no NUMA node, so `node=auto` puts it on no cell",
                        dev.address
                    ),
                    span,
                    "no host node",
                )
                .with_help(
                    "it goes on the root bus (a root port of its own on q35's pcie.0, pci.0 on `pc`); \
                     write `policy=legacy` to say that is intended",
                ),
            );
            Some(None)
        }
    }
}

/// `required` (and `legacy` for a device with a node): no cell on the device's node.
fn far_error(f: &Fields<'_>, dev: &HostPci, node: u32, policy: Policy, bound: bool) -> Diagnostic {
    let word = if policy == Policy::Legacy { "legacy" } else { "required" };
    Diagnostic::error(
        AFFINITY_REQUIRED,
        format!(
            "host device {} sits on host node {node}, and `policy={word}` needs a guest cell there",
            dev.address
        ),
        device_span(f),
        format!("on host node {node}"),
    )
    .with_label(f.span_of("policy"), "this policy")
    .with_help(if bound {
        format!("bind a cell to host node {node} (`host-node={node}`, or `vnuma` on nodes that include it), or write `policy=preferred`")
    } else {
        format!("the guest has no cell bound to a host node: add cells with `host-node={node}` or `vnuma`")
    })
}

/// `socket`: the nearest cell on a node of the device's package, with a warning; an error
/// when the package holds none of the guest's nodes.
fn same_package(
    f: &Fields<'_>,
    dev: &HostPci,
    node: u32,
    near: &mut Near<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Option<u32>> {
    let Some((cell, cell_node)) = near.nearest_in_package(node) else {
        let (packages, package_nodes) = near.package(node);
        diags.push(socket_error(f, dev, node, &packages, &package_nodes));
        return None;
    };
    diags.push(
        Diagnostic::warning(
            AFFINITY_OTHER_NODE,
            format!(
                "host device {} sits on host node {node}; `policy=socket` puts it on cell {cell}, on node {cell_node} of the same package",
                dev.address
            ),
            device_span(f),
            format!("on host node {node}"),
        )
        .with_help(format!("its DMA crosses from node {node} to node {cell_node}; a cell on host node {node} keeps it local")),
    );
    Some(Some(cell))
}

fn socket_error(f: &Fields<'_>, dev: &HostPci, node: u32, packages: &IdSet, package_nodes: &IdSet) -> Diagnostic {
    let (message, help) = if packages.is_empty() {
        (
            format!(
                "host device {} sits on host node {node}, which has no CPUs and so no package",
                dev.address
            ),
            "write `policy=required` to ask for a cell on its node".to_string(),
        )
    } else {
        (
            format!(
                "host device {} sits in host package {packages} (nodes {package_nodes}), and `policy=socket` needs a guest cell there",
                dev.address
            ),
            format!("bind a cell to one of host nodes {package_nodes}, or write `policy=preferred`"),
        )
    };
    Diagnostic::error(AFFINITY_SOCKET, message, device_span(f), format!("on host node {node}"))
        .with_label(f.span_of("policy"), "this policy")
        .with_help(help)
}

/// Where the device is written: a hostdev's address, a NIC's `uplink=`.
fn device_span(f: &Fields<'_>) -> crate::span::Span {
    match f.keyword() {
        "hostdev" => f.arg_span(0),
        _ => f.span_of("uplink"),
    }
}
