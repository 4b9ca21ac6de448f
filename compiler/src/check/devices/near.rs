//! What placing devices near their host nodes asks of the host and the guest's cells, built
//! once per `devices` block: the host's PCI devices by address, the first cell bound to each
//! host node, each node's packages and each package's nodes, and for `policy=socket` the
//! nearest cell of a node's package, found once per node. So a block costs its devices plus
//! the host's devices, CPUs and the cells' bindings, not their product.

use crate::host::{HostPci, HostProfile};
use crate::ir::GuestCell;
use crate::sets::IdSet;
use std::collections::HashMap;

pub(super) struct Near<'h> {
    pub host: Option<&'h HostProfile>,
    pci: HashMap<&'h str, &'h HostPci>,
    /// The first cell (in cell order) bound to each host node.
    cell_of_node: HashMap<u32, u32>,
    /// Each cell's bound host nodes, by cell id.
    bound: HashMap<u32, IdSet>,
    /// Each node's packages, and each package's nodes; built on first use.
    packages: Option<Packages>,
    /// `policy=socket`: per device node, the nearest (cell, its node) in the node's package.
    nearest: HashMap<u32, Option<(u32, u32)>>,
}

struct Packages {
    of_node: HashMap<u32, IdSet>,
    nodes_of: HashMap<u32, IdSet>,
}

impl<'h> Near<'h> {
    pub fn new(host: Option<&'h HostProfile>, cells: &[GuestCell]) -> Self {
        let pci = host
            .iter()
            .flat_map(|h| &h.pci)
            .map(|p| (p.address.as_str(), p))
            .collect();
        let mut cell_of_node = HashMap::new();
        let mut bound = HashMap::new();
        for c in cells {
            let Some(b) = &c.binding else { continue };
            for n in b.nodes.iter() {
                cell_of_node.entry(n).or_insert(c.id);
            }
            bound.insert(c.id, b.nodes.clone());
        }
        Near {
            host,
            pci,
            cell_of_node,
            bound,
            packages: None,
            nearest: HashMap::new(),
        }
    }

    /// The host device at `address`, when the host lists it.
    pub fn device(&self, address: &str) -> Option<&'h HostPci> {
        self.pci.get(address).copied()
    }

    /// The first cell bound to host node `node`.
    pub fn cell_on(&self, node: u32) -> Option<u32> {
        self.cell_of_node.get(&node).copied()
    }

    /// Whether guest cell `cell` is bound to host node `node`.
    pub fn backs(&self, cell: u32, node: u32) -> bool {
        self.bound.get(&cell).is_some_and(|nodes| nodes.contains(node))
    }

    /// Whether any cell is bound to a host node.
    pub fn any_bound(&self) -> bool {
        !self.bound.is_empty()
    }

    /// The packages of host node `node` (none for a node without CPUs), and their nodes.
    pub fn package(&mut self, node: u32) -> (IdSet, IdSet) {
        let p = self.packages.get_or_insert_with(|| packages(self.host));
        let of = p.of_node.get(&node).cloned().unwrap_or_default();
        let nodes = of
            .iter()
            .filter_map(|k| p.nodes_of.get(&k))
            .fold(IdSet::new(), |a, s| a.union(s));
        (of, nodes)
    }

    /// `policy=socket`: the cell nearest to host node `node` (by host distance, then lower
    /// node, then lower cell) among the cells bound to a node of its package, and that node.
    pub fn nearest_in_package(&mut self, node: u32) -> Option<(u32, u32)> {
        if let Some(&found) = self.nearest.get(&node) {
            return found;
        }
        let (_, package_nodes) = self.package(node);
        let found = self.host.and_then(|h| {
            package_nodes
                .iter()
                .filter_map(|n| Some((h.distance(node, n)?, n, self.cell_on(n)?)))
                .min()
                .map(|(_, n, cell)| (cell, n))
        });
        self.nearest.insert(node, found);
        found
    }
}

fn packages(host: Option<&HostProfile>) -> Packages {
    let mut of_node: HashMap<u32, IdSet> = HashMap::new();
    let mut nodes_of: HashMap<u32, IdSet> = HashMap::new();
    for c in host.iter().flat_map(|h| &h.cpus) {
        of_node.entry(c.node).or_default().insert(c.socket);
        nodes_of.entry(c.socket).or_default().insert(c.node);
    }
    Packages { of_node, nodes_of }
}
