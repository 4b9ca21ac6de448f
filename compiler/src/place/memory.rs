//! Where a guest's memory lives on the host.

use crate::host::HostProfile;

/// Where a node's memory comes from: the node itself when it has memory, else the
/// nearest node that has (by the host's distances, then by id), as the kernel falls back.
pub fn memory_home(host: &HostProfile, node: usize) -> usize {
    if host.nodes.get(node).is_none_or(|n| n.memory_kib > 0) {
        return node;
    }
    (0..host.nodes.len())
        .filter(|&j| host.nodes[j].memory_kib > 0)
        .min_by_key(|&j| {
            (
                host.distances
                    .get(node)
                    .and_then(|r| r.get(j))
                    .copied()
                    .unwrap_or(u32::MAX),
                host.nodes[j].id,
            )
        })
        .unwrap_or(node)
}
