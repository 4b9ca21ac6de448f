//! `<vcpu>` and `<vcpus>`: the count, the vCPUs online at boot and the hotplug order.

use super::dom::Node;
use super::guest::Draft;
use super::{ImportError, Notes, attr_u32, drop_unknown_attrs, error_at, number};
use crate::ir;
use crate::sets::IdSet;

pub(super) fn vcpus(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let Some(v) = root.child("vcpu") else {
        return Err(error_at(root.at, "the domain has no <vcpu>"));
    };
    d.vcpus = number(v.trimmed())
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| error_at(v.at, format!("<vcpu> is `{}`, not a number", v.trimmed())))?;
    // `placement='static'` is the default and what vnumac writes; `auto` is a note.
    let known: &[&str] = match v.attr("placement") {
        Some("static") => &["placement", "current", "cpuset"],
        _ => &["current", "cpuset"],
    };
    drop_unknown_attrs(v, known, notes);
    let current = attr_u32(v, "current")?;
    let mut list = Vec::new();
    if let Some(vs) = root.child("vcpus") {
        for e in vs.all("vcpu") {
            let id = attr_u32(e, "id")?.ok_or_else(|| error_at(e.at, "<vcpu> in <vcpus> has no `id`"))?;
            let yes = |k: &str| e.attr(k) == Some("yes");
            list.push((id, yes("enabled"), yes("hotpluggable"), attr_u32(e, "order")?));
        }
    }
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
    if d.vcpus > 4096 || boot == 0 {
        return Ok(()); // vnumac reports these when the guest is compiled.
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

/// Just enough of a guest for the hotplug order.
fn model_guest(d: &Draft) -> ir::Guest {
    ir::Guest {
        name: d.name.clone(),
        domain_type: ir::DomainType::Kvm,
        machine: "q35".into(),
        cpu: ir::CpuMode::HostPassthrough,
        cpu_options: Default::default(),
        iothreads: 0,
        iothread_pin: None,
        memory_kib: 0,
        locked: false,
        hugepage_kib: None,
        backing: Default::default(),
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
        distances: None,
        hmat: Default::default(),
        pins: Vec::new(),
        emulator_pin: None,
        memory_binding: None,
        vcpu_states: Vec::new(),
        max_memory: None,
        memory_devices: Vec::new(),
        controllers: Vec::new(),
        devices: Vec::new(),
        spans: ir::GuestSpans::default(),
    }
}
