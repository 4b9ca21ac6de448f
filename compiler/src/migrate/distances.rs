//! Guest distances keep their values on the destination. When they matched the source
//! host's distances between the cells' nodes and no longer match the destination's (cells
//! that now share a node, or nodes farther apart), a warning says so.

use crate::codes::MOVE_DISTANCES;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::Guest;

/// The host node of each cell: its memory's first node, else its first vCPU's CPU's node.
fn cell_nodes(g: &Guest, host: &HostProfile) -> Vec<Option<u32>> {
    g.cells
        .iter()
        .map(|c| {
            c.binding.as_ref().and_then(|b| b.nodes.first()).or_else(|| {
                let v = c.vcpus.first()?;
                let pin = g.pins.iter().find(|p| p.vcpu == v)?;
                host.cpu(pin.cpus.first()?).map(|cpu| cpu.node)
            })
        })
        .collect()
}

/// What `distances from=host` would say of two cells on these nodes.
fn host_distance(host: &HostProfile, a: u32, b: u32) -> Option<u32> {
    if a == b { Some(11) } else { host.distance(a, b) }
}

/// The first pair of cells whose guest distance matched the source and does not match the
/// destination: (cell, cell, guest distance, destination distance, destination nodes).
fn first_mismatch(
    src_g: &Guest,
    src: &HostProfile,
    dst_g: &Guest,
    dst: &HostProfile,
) -> Option<(usize, usize, u32, u32, u32, u32)> {
    let d = src_g.distances.as_ref()?;
    let before = cell_nodes(src_g, src);
    let after = cell_nodes(dst_g, dst);
    let mut first = None;
    for i in 0..d.len() {
        for j in 0..d.len() {
            if i == j {
                continue;
            }
            let (Some(Some(a)), Some(Some(b))) = (before.get(i), before.get(j)) else {
                return None;
            };
            let guest = d.get(i)?.get(j).copied()?;
            if host_distance(src, *a, *b) != Some(guest) {
                return None;
            }
            let (Some(Some(x)), Some(Some(y))) = (after.get(i), after.get(j)) else {
                return None;
            };
            let now = host_distance(dst, *x, *y)?;
            if now != guest && first.is_none() {
                first = Some((i, j, guest, now, *x, *y));
            }
        }
    }
    first
}

/// The warning, when the guest distances matched the source host and do not match the
/// destination.
pub fn mismatch(
    src_g: &Guest,
    src: &HostProfile,
    dst_g: &Guest,
    dst: &HostProfile,
    dst_name: &str,
) -> Option<Diagnostic> {
    let (i, j, guest, now, x, y) = first_mismatch(src_g, src, dst_g, dst)?;
    let whereabouts = if x == y {
        format!("both on node {x}")
    } else {
        format!("on nodes {x} and {y}, {now} apart")
    };
    Some(
        Diagnostic::warning(
            MOVE_DISTANCES,
            format!(
                "guest distances no longer match the host on `{dst_name}`: cells {i} and {j} stay {guest} apart in the guest but are {whereabouts}"
            ),
            src_g.spans.cells.get(i).copied().unwrap_or(src_g.spans.name),
            "distances kept as they were",
        )
        .with_help(
            "the guest must see the same machine after a live migration, so its distances do not change; the kernel's placement inside the guest follows them, not the destination's",
        ),
    )
}
