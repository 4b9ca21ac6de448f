//! How memory bound to several host nodes is counted against each of them.

use crate::sets::IdSet;

/// Split `kib` over `nodes` evenly, in whole units (the kernel's allocation is not known in advance).
pub fn spread(nodes: &IdSet, kib: u64, unit: u64) -> Vec<(u32, u64)> {
    let n = nodes.len() as u64;
    if n == 0 {
        return Vec::new();
    }
    let unit = unit.max(1);
    let units = kib / unit;
    nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node, (units / n + u64::from((i as u64) < units % n)) * unit))
        .collect()
}
