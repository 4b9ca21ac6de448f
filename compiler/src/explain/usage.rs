//! What the guests of a build use of each host node.

use crate::check::Checked;
use crate::host::HostProfile;
use crate::ir::Guest;
use crate::place::spread::spread;
use crate::sets::IdSet;

/// Memory each guest binds per host node (plain KiB, and hugepage KiB).
pub(super) struct NodeUse {
    pub memory_kib: u64,
    pub pages_kib: u64,
    /// CPUs a single vCPU is pinned to, and the cores of isolated threads.
    pub dedicated: IdSet,
    pub guests: Vec<String>,
}

pub(super) fn node_use(host: &HostProfile, guests: &[&Guest]) -> Vec<NodeUse> {
    let mut out: Vec<NodeUse> = host
        .nodes
        .iter()
        .map(|_| NodeUse {
            memory_kib: 0,
            pages_kib: 0,
            dedicated: IdSet::new(),
            guests: Vec::new(),
        })
        .collect();
    for g in guests {
        for c in &g.cells {
            let Some(b) = c.binding.as_ref().or(g.memory_binding.as_ref()) else {
                continue;
            };
            for (node, kib) in spread(&b.nodes, c.memory_kib, c.hugepage_kib.unwrap_or(1)) {
                let Some(i) = host.node_index(node) else { continue };
                if c.hugepage_kib.is_some() {
                    out[i].pages_kib += kib;
                } else if b.policy.binds() {
                    out[i].memory_kib += kib;
                }
                if !out[i].guests.contains(&g.name) {
                    out[i].guests.push(g.name.clone());
                }
            }
        }
        for p in &g.pins {
            for node in host.nodes_of_cpus(&p.cpus).iter() {
                let Some(i) = host.node_index(node) else { continue };
                if p.cpus.len() == 1 {
                    out[i].dedicated = out[i].dedicated.union(&p.cpus);
                }
                if !out[i].guests.contains(&g.name) {
                    out[i].guests.push(g.name.clone());
                }
            }
        }
        for cpus in isolated_cpus(g) {
            for node in host.nodes_of_cpus(cpus).iter() {
                let (Some(i), Some(n)) = (host.node_index(node), host.node(node)) else {
                    continue;
                };
                out[i].dedicated = out[i].dedicated.union(&cpus.intersection(&n.cpus));
            }
        }
    }
    out
}

/// The cores of a guest's isolated emulator and I/O threads (`policy=isolate`): no vCPU
/// runs there, so they count as dedicated.
fn isolated_cpus(g: &Guest) -> impl Iterator<Item = &IdSet> {
    let emulator = g.emulator_pin.as_ref().filter(|_| g.isolated.emulator);
    let iothreads = g.iothread_pins.iter().flatten().filter(|_| g.isolated.iothreads);
    emulator.into_iter().chain(iothreads)
}

pub(super) fn guests_on(checked: &Checked, host: usize) -> Vec<&Guest> {
    checked
        .build
        .guests
        .iter()
        .zip(&checked.guest_hosts)
        .filter(|(_, h)| **h == Some(host))
        .map(|(g, _)| g)
        .collect()
}
