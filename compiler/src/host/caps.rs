//! Host profiles from `virsh capabilities` XML.
//!
//! Only `<capabilities><host><topology><cells>`, the banks of `<capabilities><host><cache>`
//! and `<capabilities><host><memory_bandwidth>` are read; every other element is skipped, so newer libvirt output keeps working. The cells fill a [`HostBuilder`],
//! so the derivation rules are the same as for an inline host block.

use super::builder::{BuildError, DeclRef, DistanceDecl, HostBuilder, HugepagesDecl, NodeDecl};
use super::model::HostProfile;
use super::topology::topology_decls;
use reading::{Caps, read_events};

pub use super::xml::{CapsError, reference};

/// The largest base (non-huge) page size: 4 KiB on x86, 64 KiB on POWER and some Arm.
const MAX_BASE_PAGE_KIB: u64 = 64;

/// Read a host profile named `name` from `virsh capabilities` output.
pub fn from_capabilities_xml(name: &str, xml: &str) -> Result<HostProfile, CapsError> {
    let caps = read_caps(xml)?;
    let rc = super::caps_resctrl::read(xml)?;
    let (mut builder, mut origins) = fill_builder(name, &caps);
    builder.resctrl = rc.resctrl;
    origins.banks = rc.bank_at;
    origins.bandwidth = rc.node_at;
    let mut profile = builder.build().map_err(|errors| builder_error(&errors, &origins))?;
    profile.normalize_distances();
    Ok(profile)
}

/// The document's facts: read in one pass over its bytes when it is written plainly
/// ([`plain::read`]), otherwise (and for every error) by quick-xml's events.
fn read_caps(xml: &str) -> Result<Caps, CapsError> {
    match plain::read(xml) {
        Some(caps) => Ok(caps),
        None => read_events(xml),
    }
}

/// Byte offsets of the XML elements behind each builder declaration.
#[derive(Default)]
struct Origins {
    nodes: Vec<usize>,
    siblings: Vec<usize>,
    groups: Vec<usize>,
    distances: Vec<usize>,
    hugepages: Vec<usize>,
    l3: Vec<usize>,
    banks: Vec<usize>,
    bandwidth: Vec<usize>,
}

fn fill_builder(name: &str, caps: &Caps) -> (HostBuilder, Origins) {
    let cells = &caps.cells;
    let mut b = HostBuilder {
        name: name.to_string(),
        ..HostBuilder::default()
    };
    let mut o = Origins::default();
    for cell in cells {
        b.nodes.push(NodeDecl {
            id: cell.id,
            cpus: caps
                .cpus
                .get(cell.cpus.clone())
                .unwrap_or_default()
                .iter()
                .map(|c| c.id)
                .collect(),
            memory_kib: cell.memory_kib,
            free_kib: None,
        });
        o.nodes.push(cell.at);
        // libvirt lists the base page size too; it is the smallest and at most 64 KiB.
        let base = cell.pages.iter().map(|p| p.0).min().filter(|&s| s <= MAX_BASE_PAGE_KIB);
        for &(size_kib, count, at) in cell.pages.iter().filter(|p| Some(p.0) != base) {
            b.hugepages.push(HugepagesDecl {
                node: cell.id,
                size_kib,
                count,
            });
            o.hugepages.push(at);
        }
        // A value of 0 means "unknown", as in HostProfile::normalize_distances.
        for &(to, value, at) in cell.distances.iter().filter(|d| d.1 != 0) {
            b.distances.push(DistanceDecl {
                from: cell.id,
                to,
                value,
            });
            o.distances.push(at);
        }
    }
    let at = &caps.cpu_at;
    let (siblings, groups) = topology_decls(&caps.cpus);
    for (decl, i) in siblings {
        b.siblings.push(decl);
        o.siblings.push(at.get(i).copied().unwrap_or(0));
    }
    for (decl, i) in groups {
        b.cpu_groups.push(decl);
        o.groups.push(at.get(i).copied().unwrap_or(0));
    }
    for (set, at) in &caps.l3 {
        b.l3.push(set.clone());
        o.l3.push(*at);
    }
    (b, o)
}

fn builder_error(errors: &[BuildError], o: &Origins) -> CapsError {
    let Some(first) = errors.first() else {
        return CapsError {
            message: "inconsistent host capabilities".into(),
            offset: None,
        };
    };
    let offset = match first.decl {
        DeclRef::Node(i) => o.nodes.get(i),
        DeclRef::Siblings(i) => o.siblings.get(i),
        DeclRef::CpuGroup(i) => o.groups.get(i),
        DeclRef::Distance(i) => o.distances.get(i),
        DeclRef::Hugepages(i) => o.hugepages.get(i),
        DeclRef::L3(i) => o.l3.get(i),
        DeclRef::CacheBank(i) => o.banks.get(i),
        DeclRef::BandwidthNode(i) => o.bandwidth.get(i),
        DeclRef::Reserve | DeclRef::Pci(_) | DeclRef::Smt => None,
    };
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" (and {} more problems)", n - 1),
    };
    CapsError {
        message: format!("inconsistent host capabilities: {}{more}", first.message),
        offset: offset.copied(),
    }
}

mod attrs;
mod plain;
mod reading;

#[cfg(test)]
mod tests;
