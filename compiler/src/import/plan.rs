//! Where each device line goes, and whether vnumac numbers the controllers as the XML does.
//!
//! Every lookup goes through a map built once, so planning is linear in the devices and
//! controllers, however many the XML has.

use std::collections::{HashMap, HashSet};

use super::draft::Draft;
use super::inventory::{Addr, Ctl, Dev, Kind};
use super::notes::Notes;
use super::quote::word_or_string;
use crate::ir::MachineFamily;
use crate::names::{alias_safe, drive_letters};

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

/// The controllers and devices, indexed.
struct Plan<'a> {
    list: &'a [Dev],
    /// Expanders and root ports, each sorted by index.
    exps: Vec<&'a Ctl>,
    ports: Vec<&'a Ctl>,
    /// The first expander with each index, and each node's first expander's index.
    exp_at: HashMap<u32, &'a Ctl>,
    first_exp: HashMap<u32, u32>,
    /// The first root port with each index, by its position in `ports`.
    port_at: HashMap<u32, usize>,
    /// The devices on each bus, in document order.
    holders: HashMap<u32, Vec<usize>>,
    /// Names taken, and the next number to try for `nic`/`disk`.
    used: HashSet<String>,
    next: HashMap<&'static str, u32>,
    /// A q35 machine; else `pc`, where devices sit on an expander's bus or pci.0 directly.
    q35: bool,
    /// Where each PCI device went, by its position in `list`.
    placed: Vec<(usize, Place)>,
}

impl<'a> Plan<'a> {
    fn new(ctls: &'a [Ctl], list: &'a [Dev], q35: bool) -> Plan<'a> {
        let mut exps: Vec<&Ctl> = ctls.iter().filter(|c| c.node.is_some()).collect();
        let mut ports: Vec<&Ctl> = ctls.iter().filter(|c| c.node.is_none()).collect();
        exps.sort_by_key(|c| c.index);
        ports.sort_by_key(|c| c.index);
        let mut plan = Plan {
            list,
            exps,
            ports,
            exp_at: HashMap::new(),
            first_exp: HashMap::new(),
            port_at: HashMap::new(),
            holders: HashMap::new(),
            used: ctls.iter().map(|c| c.name.clone()).collect(),
            next: HashMap::new(),
            q35,
            placed: Vec::new(),
        };
        for e in &plan.exps {
            plan.exp_at.entry(e.index).or_insert(e);
            if let Some(node) = e.node {
                plan.first_exp.entry(node).or_insert(e.index);
            }
        }
        for (pi, p) in plan.ports.iter().enumerate() {
            plan.port_at.entry(p.index).or_insert(pi);
        }
        for (di, dev) in list.iter().enumerate() {
            if let Some(bus) = dev.bus() {
                plan.holders.entry(bus).or_default().push(di);
            }
        }
        plan
    }

    fn holders(&self, p: &Ctl) -> &[usize] {
        self.holders.get(&p.index).map_or(&[], Vec::as_slice)
    }

    /// The expander a root port sits on, if any.
    fn parent_exp(&self, p: &Ctl) -> Option<&'a Ctl> {
        p.addr.and_then(|a| self.exp_at.get(&a.0).copied())
    }

    /// A name not taken yet: `stemN`, N from the last one given.
    fn fresh(&mut self, stem: &'static str) -> String {
        let k = self.next.entry(stem).or_insert(0);
        loop {
            let name = format!("{stem}{k}");
            *k += 1;
            if !self.used.contains(&name) {
                return name;
            }
        }
    }
}

/// `ahci`: the PCI address of the domain's `<controller type='sata' index='0'>`, if written.
pub(super) fn plan(ctls: &[Ctl], list: &[Dev], ahci: Option<Addr>, d: &mut Draft, notes: &mut Notes) {
    let q35 = MachineFamily::of(d.machine.as_deref().unwrap_or("q35")) == MachineFamily::Q35;
    let mut plan = Plan::new(ctls, list, q35);
    let (auto, names) = short_forms(&mut plan);
    let mut lines = Vec::new();
    for e in &plan.exps {
        let bus_nr = e.bus_nr.map(|b| format!(" bus-nr={b}")).unwrap_or_default();
        let node = e.node.unwrap_or(0);
        lines.push(format!("expander {} node={node}{bus_nr}", word_or_string(&e.name)));
    }
    let written = root_ports(&plan, &auto, &mut lines, notes);
    let places = devices(&mut plan, &auto, names, &mut lines, notes);
    if q35 {
        check_numbering(ctls, &plan.exps, &written, &places, notes);
    } else {
        check_slots_pc(&plan, ahci, notes);
    }
    d.devices = lines;
}

/// The trailing root ports a short form recreates exactly: which ports, and the name each
/// device on one of them gets.
fn short_forms(plan: &mut Plan) -> (Vec<bool>, Vec<Option<String>>) {
    let mut auto = vec![false; plan.ports.len()];
    let mut names: Vec<Option<String>> = vec![None; plan.list.len()];
    let mut next_dev = plan.list.len();
    for pi in (0..plan.ports.len()).rev() {
        let p = plan.ports[pi];
        let [di] = plan.holders(p)[..] else { break };
        let placeable = match p.addr.map(|a| a.0) {
            Some(0) => true,
            Some(b) => {
                plan.exp_at
                    .get(&b)
                    .and_then(|e| e.node)
                    .and_then(|n| plan.first_exp.get(&n).copied())
                    == Some(b)
            }
            None => false,
        };
        if di >= next_dev || !plan.list[di].pci() || !placeable {
            break;
        }
        let name = match &plan.list[di].kind {
            Kind::Hostdev(a) => Some(a.clone()).filter(|a| alias_safe(&format!("port-{a}")) == p.name),
            _ => p
                .name
                .strip_prefix("port-")
                .filter(|r| !r.is_empty() && !plan.used.contains(*r))
                .map(str::to_string),
        };
        let Some(name) = name else { break };
        plan.used.insert(name.clone());
        names[di] = Some(name);
        auto[pi] = true;
        next_dev = di;
    }
    (auto, names)
}

/// `root-port` lines for the ports written out: (name, the index of its expander).
fn root_ports(plan: &Plan, auto: &[bool], lines: &mut Vec<String>, notes: &mut Notes) -> Vec<(String, Option<u32>)> {
    let mut written = Vec::new();
    for (pi, p) in plan.ports.iter().enumerate() {
        let hs = plan.holders(p);
        if auto[pi] || (!hs.is_empty() && hs.iter().all(|&i| matches!(plan.list[i].kind, Kind::Hostdev(_)))) {
            continue;
        }
        let on = match p.addr.map(|a| a.0) {
            Some(0) | None => None,
            Some(b) => match plan.exp_at.get(&b) {
                Some(e) => Some(*e),
                None => {
                    notes.change(format!("root port `{}` is on bus {b}: moved to pcie.0", p.name));
                    None
                }
            },
        };
        let on_text = on
            .map(|e| format!(" on={}", word_or_string(&e.name)))
            .unwrap_or_default();
        lines.push(format!("root-port {}{on_text}", word_or_string(&p.name)));
        written.push((p.name.clone(), on.map(|e| e.index)));
    }
    written
}

/// Device lines, in document order; the root ports vnumac adds for them, with their place.
fn devices(
    plan: &mut Plan,
    auto: &[bool],
    mut names: Vec<Option<String>>,
    lines: &mut Vec<String>,
    notes: &mut Notes,
) -> Vec<(String, Place)> {
    let mut taken: HashSet<u32> = HashSet::new();
    let mut counters = (0u32, 0u32); // virtio disks, sata disks
    let mut places = Vec::new();
    for (di, dev) in plan.list.iter().enumerate() {
        let place = place(plan, auto, dev, &mut taken, notes);
        let name = match &dev.kind {
            Kind::Hostdev(a) => a.clone(),
            Kind::Serial | Kind::Console => String::new(),
            Kind::Nic(_) | Kind::Disk { .. } => match names.get_mut(di).and_then(Option::take) {
                Some(n) => n,
                None => {
                    let from_port = match &place {
                        Place::On(p) => p
                            .strip_prefix("port-")
                            .filter(|r| !r.is_empty() && !plan.used.contains(*r))
                            .map(str::to_string),
                        _ => None,
                    };
                    let stem = if matches!(dev.kind, Kind::Nic(_)) {
                        "nic"
                    } else {
                        "disk"
                    };
                    let name = from_port.unwrap_or_else(|| plan.fresh(stem));
                    plan.used.insert(name.clone());
                    name
                }
            },
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
        if dev.pci() {
            plan.placed.push((di, place.clone()));
        }
        if dev.pci() && !matches!(place, Place::On(_)) {
            places.push((format!("port-{name}"), place));
        }
    }
    places
}

/// Where one device goes.
fn place(plan: &Plan, auto: &[bool], dev: &Dev, taken: &mut HashSet<u32>, notes: &mut Notes) -> Place {
    if !dev.pci() {
        return Place::Root;
    }
    let port = dev.bus().and_then(|b| plan.port_at.get(&b).copied());
    if !plan.q35 {
        return place_pc(plan, dev, port.is_some(), notes);
    }
    match (port, dev.bus()) {
        (Some(pi), _) if auto[pi] => match plan.parent_exp(plan.ports[pi]) {
            Some(e) => Place::Node(e.node.unwrap_or(0)),
            None => Place::Root,
        },
        (Some(pi), Some(b)) if !matches!(dev.kind, Kind::Hostdev(_)) && !taken.contains(&b) => {
            taken.insert(b);
            Place::On(plan.ports[pi].name.clone())
        }
        (Some(pi), _) => {
            let exp = plan.parent_exp(plan.ports[pi]).and_then(|e| e.node);
            notes.change(format!("{}: plugged into a root port of its own", dev.what));
            exp.map_or(Place::Root, Place::Node)
        }
        (None, Some(b)) if plan.exp_at.contains_key(&b) => {
            notes.change(format!(
                "{}: vnumac adds a root port between it and its expander",
                dev.what
            ));
            plan.exp_at
                .get(&b)
                .and_then(|e| e.node)
                .map_or(Place::Root, Place::Node)
        }
        (None, Some(_)) | (None, None) => {
            notes.change(format!(
                "{}: vnumac gives it a root port of its own on pcie.0",
                dev.what
            ));
            Place::Root
        }
    }
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
    let mut root_slot = *MachineFamily::Q35.root_slots().start();
    for e in exps {
        sim.push((e.name.clone(), sim.len() as u32 + 1, (0, root_slot, 0), false));
        root_slot += 1;
    }
    let exp_index = |pos: usize| pos as u32 + 1;
    let mut exp_slots = vec![0u32; exps.len()];
    // Each expander's position, by index and by node (the first of each).
    let mut pos_of_index: HashMap<u32, usize> = HashMap::new();
    let mut pos_of_node: HashMap<u32, usize> = HashMap::new();
    for (pos, e) in exps.iter().enumerate() {
        pos_of_index.entry(e.index).or_insert(pos);
        if let Some(n) = e.node {
            pos_of_node.entry(n).or_insert(pos);
        }
    }
    let mut ports: Vec<(String, Option<usize>)> = written
        .iter()
        .map(|(n, on)| (n.clone(), on.and_then(|i| pos_of_index.get(&i).copied())))
        .collect();
    for (name, place) in places {
        let on = match place {
            Place::Node(n) => pos_of_node.get(n).copied(),
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
    let mut by_name: HashMap<&str, Vec<&Ctl>> = HashMap::new();
    for c in ctls {
        by_name.entry(c.name.as_str()).or_default().push(c);
    }
    let same = sim.len() == ctls.len()
        && sim.iter().all(|(name, index, addr, port)| {
            by_name.get(name.as_str()).is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.index == *index
                        && c.addr == Some(*addr)
                        && (!port || c.target == (Some(*index), Some((addr.1 << 3) + addr.2)))
                })
            })
        });
    if !same {
        notes.change(
            "PCI controllers: vnumac numbers them itself (expanders, then root ports; slots from 1 on pcie.0, from 0 on an expander)",
        );
    }
}

/// Where one device of a `pc` machine goes: onto the expander its address names (`node=`
/// for its cell's first expander, else `on=`), or onto pci.0.
fn place_pc(plan: &Plan, dev: &Dev, on_port: bool, notes: &mut Notes) -> Place {
    match dev.bus().and_then(|b| plan.exp_at.get(&b).copied()) {
        Some(e) => match e.node {
            Some(n) if plan.first_exp.get(&n) == Some(&e.index) => Place::Node(n),
            _ => Place::On(e.name.clone()),
        },
        None => {
            if dev.bus().is_some_and(|b| b != 0) || on_port {
                notes.change(format!("{}: its bus is no expander; vnumac puts it on pci.0", dev.what));
            }
            Place::Root
        }
    }
}

/// Compare the slots vnumac gives on a `pc` machine with the XML's: expanders from slot 2
/// of pci.0 and the devices on pci.0 after them, each expander's devices from its slot 0,
/// in document order, then the SATA disks' AHCI controller (`ahci`, when the XML gives it
/// an address) on the next slot of pci.0.
fn check_slots_pc(plan: &Plan, ahci: Option<Addr>, notes: &mut Notes) {
    let mut root_slot = *MachineFamily::Pc.root_slots().start();
    // vnumac's index of each expander, by name and by the XML's index (the first of each).
    let mut index_of: HashMap<&str, u32> = HashMap::new();
    let mut renumbered: HashMap<u32, u32> = HashMap::new();
    let mut same = true;
    for (pos, e) in plan.exps.iter().enumerate() {
        let index = pos as u32 + 1;
        index_of.entry(e.name.as_str()).or_insert(index);
        renumbered.entry(e.index).or_insert(index);
        same &= e.index == index && e.addr == Some((0, root_slot, 0));
        root_slot += 1;
    }
    let mut exp_slots: HashMap<u32, u32> = HashMap::new();
    for (di, place) in &plan.placed {
        let bus = match place {
            Place::Root => 0,
            Place::On(name) => index_of.get(name.as_str()).copied().unwrap_or(0),
            Place::Node(n) => plan
                .first_exp
                .get(n)
                .and_then(|i| renumbered.get(i))
                .copied()
                .unwrap_or(0),
        };
        let slot = if bus == 0 {
            root_slot += 1;
            root_slot - 1
        } else {
            let s = exp_slots.entry(bus).or_insert(0);
            *s += 1;
            *s - 1
        };
        same &= plan.list.get(*di).and_then(|d| d.addr) == Some((bus, slot, 0));
    }
    let sata = plan
        .list
        .iter()
        .any(|d| matches!(d.kind, Kind::Disk { virtio: false, .. }));
    if sata && let Some(a) = ahci {
        same &= a == (0, root_slot, 0);
    }
    if !same {
        notes.change(
            "PCI addresses: vnumac numbers them itself (expanders from slot 2 of pci.0, then the devices there and the SATA controller; slots from 0 on an expander)",
        );
    }
}
