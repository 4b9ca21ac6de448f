//! Memory bindings on the destination: every node set of a cell, of the whole guest and of
//! a memory device becomes its image; memory placed by numad (`placement=auto`) binds to
//! every destination node with memory, as `build` writes it.

use super::assign::NodeMap;
use crate::host::HostProfile;
use crate::ir::{Guest, MemBinding, MemoryDeviceKind};
use crate::sets::IdSet;

/// The destination node ids of a source node set.
pub fn image(nodes: &IdSet, map: &NodeMap, dst: &HostProfile) -> IdSet {
    nodes
        .iter()
        .filter_map(|n| map.get(&n).and_then(|&i| dst.nodes.get(i)).map(|d| d.id))
        .collect()
}

fn rebind(b: &mut MemBinding, map: &NodeMap, dst: &HostProfile) {
    b.nodes = if b.auto {
        dst.nodes.iter().filter(|n| n.memory_kib > 0).map(|n| n.id).collect()
    } else {
        image(&b.nodes, map, dst)
    };
}

/// Rebind every memory binding of `g` to the images of its nodes.
pub fn rebind_all(g: &mut Guest, map: &NodeMap, dst: &HostProfile) {
    for c in &mut g.cells {
        if let Some(b) = &mut c.binding {
            rebind(b, map, dst);
        }
    }
    if let Some(b) = &mut g.memory_binding {
        rebind(b, map, dst);
    }
    for d in &mut g.memory_devices {
        if let Some(b) = &mut d.binding {
            rebind(b, map, dst);
        }
        match &mut d.kind {
            MemoryDeviceKind::Dimm {
                host_nodes: Some(nodes),
                ..
            }
            | MemoryDeviceKind::VirtioMem {
                host_nodes: Some(nodes),
                ..
            } => *nodes = image(nodes, map, dst),
            _ => {}
        }
    }
}
