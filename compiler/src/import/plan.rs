//! Where each device line goes, and whether vnumac numbers the controllers as the XML does.

use super::devices::{Addr, Ctl, Dev, Kind};
use super::guest::Draft;
use super::{Notes, word_or_string};
use crate::lower::libvirt::{alias_safe, drive_letters};

/// Where a device line says it goes.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    /// `on=PORT`.
    On(String),
    /// `node=CELL`: a new root port on the cell's first expander.
    Node(u32),
    /// Nothing: a new root port on pcie.0 (or no PCI at all).
    Root,
}

pub(super) fn plan(ctls: &[Ctl], list: &[Dev], d: &mut Draft, notes: &mut Notes) {
    let mut exps: Vec<&Ctl> = ctls.iter().filter(|c| c.node.is_some()).collect();
    let mut ports: Vec<&Ctl> = ctls.iter().filter(|c| c.node.is_none()).collect();
    exps.sort_by_key(|c| c.index);
    ports.sort_by_key(|c| c.index);
    let parent_of = |p: &Ctl| p.addr.map(|a| a.0);
    let exp_at = |bus: u32| exps.iter().find(|e| e.index == bus).copied();
    let first_exp = |node: u32| exps.iter().find(|e| e.node == Some(node)).map(|e| e.index);
    let holders = |p: &Ctl| -> Vec<usize> { (0..list.len()).filter(|&i| list[i].bus == Some(p.index)).collect() };
    let mut used: Vec<String> = ctls.iter().map(|c| c.name.clone()).collect();

    // The trailing root ports a short form recreates exactly.
    let mut auto = vec![false; ports.len()];
    let mut names: Vec<Option<String>> = vec![None; list.len()];
    let mut next_dev = list.len();
    for (pi, p) in ports.iter().enumerate().rev() {
        let hs = holders(p);
        let [di] = hs[..] else { break };
        let placeable = match parent_of(p) {
            Some(0) => true,
            Some(b) => exp_at(b).and_then(|e| e.node).and_then(first_exp) == Some(b),
            None => false,
        };
        if di >= next_dev || !list[di].pci() || !placeable {
            break;
        }
        let name = match &list[di].kind {
            Kind::Hostdev(a) => Some(a.clone()).filter(|a| alias_safe(&format!("port-{a}")) == p.name),
            _ => p
                .name
                .strip_prefix("port-")
                .filter(|r| !r.is_empty() && !used.iter().any(|u| u == r))
                .map(str::to_string),
        };
        let Some(name) = name else { break };
        used.push(name.clone());
        names[di] = Some(name);
        auto[pi] = true;
        next_dev = di;
    }

    let mut lines = Vec::new();
    for e in &exps {
        let bus_nr = e.bus_nr.map(|b| format!(" bus-nr={b}")).unwrap_or_default();
        let node = e.node.unwrap_or(0);
        lines.push(format!("expander {} node={node}{bus_nr}", word_or_string(&e.name)));
    }
    let mut written: Vec<(String, Option<u32>)> = Vec::new(); // explicit root ports, with their expander
    for (pi, p) in ports.iter().enumerate() {
        let hs = holders(p);
        if auto[pi] || (!hs.is_empty() && hs.iter().all(|&i| matches!(list[i].kind, Kind::Hostdev(_)))) {
            continue;
        }
        let on = match parent_of(p) {
            Some(0) => None,
            Some(b) => match exp_at(b) {
                Some(e) => Some(e),
                None => {
                    notes.change(format!("root port `{}` is on bus {b}: moved to pcie.0", p.name));
                    None
                }
            },
            None => None,
        };
        let on_text = on
            .map(|e| format!(" on={}", word_or_string(&e.name)))
            .unwrap_or_default();
        lines.push(format!("root-port {}{on_text}", word_or_string(&p.name)));
        written.push((p.name.clone(), on.map(|e| e.index)));
    }

    // Devices, in document order.
    let mut taken: Vec<u32> = Vec::new();
    let mut counters = (0u32, 0u32); // virtio disks, sata disks
    let mut places = Vec::new();
    for (di, dev) in list.iter().enumerate() {
        let port = dev.bus.and_then(|b| ports.iter().position(|p| p.index == b));
        let place = match (port, dev.bus) {
            _ if !dev.pci() => Place::Root,
            (Some(pi), _) if auto[pi] => match parent_of(ports[pi]).and_then(exp_at) {
                Some(e) => Place::Node(e.node.unwrap_or(0)),
                None => Place::Root,
            },
            (Some(pi), Some(b)) if !matches!(dev.kind, Kind::Hostdev(_)) && !taken.contains(&b) => {
                taken.push(b);
                Place::On(ports[pi].name.clone())
            }
            (Some(pi), _) => {
                let exp = parent_of(ports[pi]).and_then(exp_at).and_then(|e| e.node);
                notes.change(format!("{}: plugged into a root port of its own", dev.what));
                exp.map_or(Place::Root, Place::Node)
            }
            (None, Some(b)) if exp_at(b).is_some() => {
                notes.change(format!(
                    "{}: vnumac adds a root port between it and its expander",
                    dev.what
                ));
                exp_at(b).and_then(|e| e.node).map_or(Place::Root, Place::Node)
            }
            (None, Some(_)) | (None, None) => {
                notes.change(format!(
                    "{}: vnumac gives it a root port of its own on pcie.0",
                    dev.what
                ));
                Place::Root
            }
        };
        let name = match &dev.kind {
            Kind::Hostdev(a) => a.clone(),
            Kind::Serial | Kind::Console => String::new(),
            Kind::Nic(_) | Kind::Disk { .. } => names[di].clone().unwrap_or_else(|| {
                let stem = if matches!(dev.kind, Kind::Nic(_)) {
                    "nic"
                } else {
                    "disk"
                };
                let from_port = match &place {
                    Place::On(p) => p
                        .strip_prefix("port-")
                        .filter(|r| !r.is_empty() && !used.iter().any(|u| u == r)),
                    _ => None,
                };
                let name = from_port.map(str::to_string).unwrap_or_else(|| {
                    (0..)
                        .map(|k| format!("{stem}{k}"))
                        .find(|n| !used.contains(n))
                        .unwrap_or_default()
                });
                used.push(name.clone());
                name
            }),
        };
        let place_text = match &place {
            Place::On(p) => format!(" on={}", word_or_string(p)),
            Place::Node(n) => format!(" node={n}"),
            Place::Root => String::new(),
        };
        let line = match &dev.kind {
            Kind::Nic(props) => format!("nic {} {props}{place_text}", word_or_string(&name)),
            Kind::Disk { props, virtio } => {
                let (n, prefix) = if *virtio {
                    (&mut counters.0, "vd")
                } else {
                    (&mut counters.1, "sd")
                };
                let want = format!("{prefix}{}", drive_letters(*n));
                *n += 1;
                if !dev.what.ends_with(&format!("({want})")) {
                    notes.change(format!("{}: vnumac names it {want}", dev.what));
                }
                format!("disk {} {props}{place_text}", word_or_string(&name))
            }
            Kind::Hostdev(a) => format!("hostdev {a}{place_text}"),
            Kind::Serial => "serial pty".into(),
            Kind::Console => "console pty".into(),
        };
        lines.push(line);
        if dev.pci() && !matches!(place, Place::On(_)) {
            places.push((format!("port-{name}"), place));
        }
    }
    check_numbering(ctls, &exps, &written, &places, notes);
    d.devices = lines;
}

/// Compare vnumac's numbering of the written controllers with the XML's.
fn check_numbering(
    ctls: &[Ctl],
    exps: &[&Ctl],
    written: &[(String, Option<u32>)],
    places: &[(String, Place)],
    notes: &mut Notes,
) {
    // (name, index, (bus, slot, function), is root port)
    let mut sim: Vec<(String, u32, Addr, bool)> = Vec::new();
    let mut root_slot = 1u32;
    for e in exps {
        sim.push((e.name.clone(), sim.len() as u32 + 1, (0, root_slot, 0), false));
        root_slot += 1;
    }
    let exp_index = |pos: usize| pos as u32 + 1;
    let mut exp_slots = vec![0u32; exps.len()];
    let mut ports: Vec<(String, Option<usize>)> = written
        .iter()
        .map(|(n, on)| (n.clone(), on.and_then(|i| exps.iter().position(|e| e.index == i))))
        .collect();
    for (name, place) in places {
        let on = match place {
            Place::Node(n) => exps.iter().position(|e| e.node == Some(*n)),
            _ => None,
        };
        ports.push((alias_safe(name), on));
    }
    for (name, on) in ports {
        let addr = match on {
            Some(e) => {
                let s = exp_slots.get(e).copied().unwrap_or(0);
                if let Some(x) = exp_slots.get_mut(e) {
                    *x += 1;
                }
                (exp_index(e), s, 0)
            }
            None => {
                root_slot += 1;
                (0, root_slot - 1, 0)
            }
        };
        sim.push((name, sim.len() as u32 + 1, addr, true));
    }
    let same = sim.len() == ctls.len()
        && sim.iter().all(|(name, index, addr, port)| {
            ctls.iter().any(|c| {
                c.name == *name
                    && c.index == *index
                    && c.addr == Some(*addr)
                    && (!port || c.target == (Some(*index), Some((addr.1 << 3) + addr.2)))
            })
        });
    if !same {
        notes.change(
            "PCI controllers: vnumac numbers them itself (expanders, then root ports; slots from 1 on pcie.0, from 0 on an expander)",
        );
    }
}
