//! `<vcpu>` and `<vcpus>`: the count, the vCPUs online at boot and the hotplug order.

use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs};
use super::read::{at_most, attr_u32, text_u32};
use crate::ir;
use crate::numbers::{VCPU_CURRENT, VCPU_ID, VCPUS};
use crate::sets::IdSet;

/// The most vCPUs a guest has (`vcpus` in a `.vnuma` file takes 1 to 4096).
pub(super) const MAX_VCPUS: u32 = 4096;

/// `<vcpu>N</vcpu>`, read before anything else: the cells are checked against it.
pub(super) fn count(root: &Node) -> Result<u32, ImportError> {
    let Some(v) = root.child("vcpu") else {
        // libvirt's default: one vCPU.
        return Ok(1);
    };
    let count = text_u32(v, &VCPUS)?.unwrap_or(1);
    at_most(v, count, MAX_VCPUS, "the 4096 vCPUs a vnumac guest can have")
}

/// The vCPUs online at boot and the hotplug order; `d.vcpus` is already [`count`].
pub(super) fn vcpus(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let Some(v) = root.child("vcpu") else {
        return Ok(());
    };
    // `placement='static'` is the default and what vnumac writes; `auto` is a note.
    let known: &[&str] = match v.attr("placement") {
        Some("static") => &["placement", "current", "cpuset"],
        _ => &["current", "cpuset"],
    };
    drop_unknown_attrs(v, known, notes);
    let current = attr_u32(v, "current", &VCPU_CURRENT)?;
    if let Some(c) = current.filter(|c| *c > d.vcpus) {
        return Err(error_at(
            v.at,
            format!(
                "<vcpu current='{c}'> is more than the {} vCPUs (libvirt rejects it)",
                d.vcpus
            ),
        ));
    }
    let list = vcpu_list(root, d.vcpus)?;
    // libvirt's default shape: the first M online and fixed, the rest offline and hot-pluggable.
    let online = list.iter().filter(|v| v.1).count() as u32;
    let fixed_shape = list.len() == d.vcpus as usize
        && list
            .iter()
            .all(|&(id, en, hp, _)| id < d.vcpus && en == (id < online) && hp == (id >= online));
    match (list.is_empty(), current) {
        (true, Some(c)) if c < d.vcpus => {
            d.current = Some(c);
            return Ok(());
        }
        (false, _) if fixed_shape && online < d.vcpus => {
            d.current = Some(online);
            return Ok(());
        }
        _ => {}
    }
    let hot = list.iter().any(|&(_, en, hp, _)| hp || !en);
    let boot = if hot {
        Some(list.iter().filter(|v| v.1).count() as u32)
    } else {
        current.filter(|&c| c < d.vcpus)
    };
    let Some(boot) = boot else { return Ok(()) };
    if boot < d.vcpus {
        d.boot = Some(boot);
    } else {
        d.hotpluggable = true;
    }
    if boot == 0 {
        return Ok(()); // vnumac reports it when the guest is compiled.
    }
    let expected = crate::hotplug::states(&model_guest(d), boot);
    let same = |with_order: bool| {
        list.len() == expected.len()
            && expected.iter().all(|s| {
                list.iter().any(|&(id, en, hp, order)| {
                    id == s.id && en == s.enabled && hp == s.hotpluggable && (!with_order || order == s.order)
                })
            })
    };
    if list.is_empty() {
        notes.change("<vcpu current=…> without <vcpus>: vnumac writes a balanced <vcpus> list");
    } else if !same(false) {
        let online: IdSet = expected.iter().filter(|s| s.enabled).map(|s| s.id).collect();
        let was: IdSet = list.iter().filter(|v| v.1).map(|v| v.0).collect();
        notes.change(format!(
            "the <vcpus> list: vnumac recomputes a balanced one (online at boot: {online}, not {was}; every vCPU but 0 hot-pluggable)"
        ));
    } else if !same(true) {
        notes.change("the <vcpus> order= values: vnumac recomputes the plug order");
    }
    Ok(())
}

/// (id, enabled, hotpluggable, order) of one `<vcpus><vcpu>`.
type VcpuEntry = (u32, bool, bool, Option<u32>);

/// `<vcpus>`, every id below the vCPU count as libvirt requires.
fn vcpu_list(root: &Node, vcpus: u32) -> Result<Vec<VcpuEntry>, ImportError> {
    let mut list = Vec::new();
    for e in root.child("vcpus").iter().flat_map(|vs| vs.all("vcpu")) {
        let id = attr_u32(e, "id", &VCPU_ID)?.ok_or_else(|| error_at(e.at, "<vcpu> in <vcpus> has no `id`"))?;
        if id >= vcpus {
            return Err(error_at(
                e.at,
                format!(
                    "<vcpu id='{id}'>: the guest has vCPUs 0 to {} (libvirt rejects it)",
                    vcpus - 1
                ),
            ));
        }
        let yes = |k: &str| e.attr(k) == Some("yes");
        list.push((id, yes("enabled"), yes("hotpluggable"), attr_u32(e, "order", &VCPU_ID)?));
    }
    Ok(list)
}

/// Just enough of a guest for the hotplug order.
fn model_guest(d: &Draft) -> ir::Guest {
    ir::Guest {
        name: d.name.clone(),
        vcpus: d.vcpus,
        topology: d.topology,
        cells: d
            .cells
            .iter()
            .map(|c| ir::GuestCell {
                id: c.id,
                vcpus: c.cpus.clone().unwrap_or_default(),
                memory_kib: c.memory_kib,
                binding: None,
                hugepage_kib: None,
                shared: None,
                discard: None,
            })
            .collect(),
        ..Default::default()
    }
}
