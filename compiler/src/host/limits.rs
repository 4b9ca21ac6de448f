//! What a host profile may hold: bounds on its size, checked before anything is built, and
//! the values vnumac can represent and print back (distances as Linux keeps them, hugepage
//! sizes Linux has, sizes and counts the language can write).

use super::decl::{BuildError, DeclRef, HostBuilder, error};
use crate::syntax::value::MAX_SIZE;

/// The most nodes a host may have, and one more than the largest node id (Linux's
/// largest `MAX_NUMNODES` is 1024). The distance table is nodes × nodes.
pub const MAX_NODES: u32 = 4096;
/// The most CPUs a host may have (Linux's largest `NR_CPUS` is 8192), so that every
/// table and picture over the host's CPUs stays small.
pub const MAX_CPUS: usize = 16384;

/// Diagonal distance when none is declared (libvirt/ACPI SLIT convention).
pub const LOCAL_DISTANCE: u32 = 10;
/// Off-diagonal distance when none is declared (libvirt's default).
pub const REMOTE_DISTANCE: u32 = 20;
/// The largest distance: ACPI's SLIT holds one byte per entry, and 255 means unreachable.
/// Linux (`slit_valid`, and the device-tree `numa-distance-map-v1` reader) refuses a table
/// whose diagonal is not 10 or whose other entries are not above 10, so no host has one.
pub const MAX_DISTANCE: u32 = 255;
/// Hugepage sizes Linux has: powers of two from 8 KiB (above every base page size this
/// reads as a pool) to 16 GiB (POWER's largest).
pub const MIN_HUGEPAGE_KIB: u64 = 8;
pub const MAX_HUGEPAGE_KIB: u64 = 16 << 20;

impl HostBuilder {
    /// Bounds checked before anything is built: what a host may hold.
    pub(super) fn limits(&self) -> Vec<BuildError> {
        let mut errors = Vec::new();
        const HELP: &str = "vnumac describes hosts of at most 4096 nodes (ids 0 to 4095) and 16384 CPUs";
        if self.nodes.len() > MAX_NODES as usize {
            let message = format!("the host has {} nodes, more than {MAX_NODES}", self.nodes.len());
            errors.push(error(DeclRef::Node(MAX_NODES as usize), message).help(HELP));
            return errors;
        }
        if let Some((i, n)) = self.nodes.iter().enumerate().find(|(_, n)| n.id >= MAX_NODES) {
            let message = format!("node id {} is too large (at most {})", n.id, MAX_NODES - 1);
            errors.push(error(DeclRef::Node(i), message).help(HELP));
        }
        let mut total = 0usize;
        for (i, n) in self.nodes.iter().enumerate() {
            total += n.cpus.len();
            if total > MAX_CPUS {
                let message = format!("the host has more than {MAX_CPUS} CPUs");
                errors.push(error(DeclRef::Node(i), message).help(HELP));
                break;
            }
        }
        errors
    }

    /// Values a host cannot have or vnumac cannot write back: each an error, never clamped,
    /// so that whatever a profile holds prints as a block that reads back to it.
    pub(super) fn unrepresentable(&self) -> Vec<BuildError> {
        let mut errors = Vec::new();
        let max_kib = MAX_SIZE >> 10;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.memory_kib > max_kib {
                let message = format!("node {} has {} KiB of memory, more than 1 PiB", n.id, n.memory_kib);
                errors.push(error(DeclRef::Node(i), message));
            }
            if let Some(last) = n.cpus.last().filter(|&c| c > crate::sets::MAX_ID) {
                let message = format!("CPU id {last} is too large (at most {})", crate::sets::MAX_ID);
                errors.push(error(DeclRef::Node(i), message));
            }
        }
        for (i, d) in self.distances.iter().enumerate() {
            let (from, to, v) = (d.from, d.to, d.value);
            let message = if from == to && v != LOCAL_DISTANCE && v != 0 {
                format!("distance {from} {to} is {v}, but a node's distance to itself is {LOCAL_DISTANCE}")
            } else if from != to && v != 0 && !(LOCAL_DISTANCE + 1..=MAX_DISTANCE).contains(&v) {
                format!(
                    "distance {from} {to} is {v}, outside {}-{MAX_DISTANCE}",
                    LOCAL_DISTANCE + 1
                )
            } else {
                continue;
            };
            const HELP: &str = "Linux keeps 10 for a node to itself and 11 to 255 between two nodes (255: unreachable); it ignores a whole table that breaks this";
            errors.push(error(DeclRef::Distance(i), message).help(HELP));
        }
        for (i, h) in self.hugepages.iter().enumerate() {
            let size = h.size_kib;
            if !size.is_power_of_two() || !(MIN_HUGEPAGE_KIB..=MAX_HUGEPAGE_KIB).contains(&size) {
                let message = format!("{size} KiB is not a hugepage size");
                const HELP: &str = "hugepage sizes are powers of two from 8KiB to 16GiB, such as 2MiB and 1GiB";
                errors.push(error(DeclRef::Hugepages(i), message).help(HELP));
            } else if h.count > u64::from(u32::MAX) {
                let message = format!("{} hugepages is more than {} per pool", h.count, u32::MAX);
                errors.push(error(DeclRef::Hugepages(i), message));
            }
        }
        errors
    }
}
