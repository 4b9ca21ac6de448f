//! Memory a guest binds to host nodes, for the cross-guest fit check.

use crate::place::spread::spread;
use crate::sets::IdSet;
use crate::span::Span;

/// A claim on no particular node: hugepages that may come from any node.
pub const ANY_NODE: u32 = u32::MAX;

/// Memory a guest binds to one host node, for the cross-guest fit check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeClaim {
    pub host: usize,
    pub node: u32,
    pub kib: u64,
    /// Hugepage size in KiB when the claim is in hugepages.
    pub page_kib: Option<u64>,
    pub span: Span,
    pub guest: String,
}

/// Split `kib` over `nodes` evenly (the kernel's allocation is not known in advance).
pub(super) fn spread_claims(
    claims: &mut Vec<NodeClaim>,
    host: usize,
    nodes: &IdSet,
    kib: u64,
    page_kib: Option<u64>,
    span: Span,
    guest: &str,
) {
    for (node, share) in spread(nodes, kib, page_kib.unwrap_or(1)) {
        claims.push(NodeClaim {
            host,
            node,
            kib: share,
            page_kib,
            span,
            guest: guest.to_string(),
        });
    }
}
