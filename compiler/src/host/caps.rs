//! Host profiles from `virsh capabilities` XML.
//!
//! Only `<capabilities><host><topology><cells>`, the banks of `<capabilities><host><cache>`
//! and `<capabilities><host><memory_bandwidth>` are read; every other element is skipped, so newer libvirt output keeps working. The cells fill a [`HostBuilder`],
//! so the derivation rules are the same as for an inline host block.

use std::borrow::Cow;
use std::collections::BTreeMap;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::builder::{
    BuildError, CpuGroupDecl, DeclRef, DistanceDecl, HostBuilder, HugepagesDecl, NodeDecl, SiblingsDecl,
};
use super::model::HostProfile;
use crate::numbers::{self, SizeError};
use crate::sets::IdSet;

use super::xml::is_path;
pub use super::xml::{CapsError, reference};

/// The largest base (non-huge) page size: 4 KiB on x86, 64 KiB on POWER and some Arm.
const MAX_BASE_PAGE_KIB: u64 = 64;

const CELL: [&str; 5] = ["capabilities", "host", "topology", "cells", "cell"];
const CACHE: [&str; 3] = ["capabilities", "host", "cache"];

/// What a capabilities document says: the NUMA cells and the L3 banks (CPUs, offset).
#[derive(Debug, Default)]
struct Caps {
    cells: Vec<Cell>,
    l3: Vec<(IdSet, usize)>,
}

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

#[derive(Debug, Default)]
struct Cell {
    id: u32,
    at: usize,
    memory_kib: u64,
    /// (size KiB, count, offset)
    pages: Vec<(u64, u64, usize)>,
    /// (sibling node id, value, offset)
    distances: Vec<(u32, u32, usize)>,
    /// (facts, offset)
    cpus: Vec<(CpuFacts, usize)>,
}

/// An element whose text is still to come.
enum Pending {
    Memory { unit: String, at: usize },
    Pages { size_kib: u64, at: usize },
}

fn read_caps(xml: &str) -> Result<Caps, CapsError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut caps = Caps::default();
    let mut cell: Option<Cell> = None;
    let mut pending: Option<Pending> = None;
    let mut text = String::new();
    let mut saw_cells: Option<usize> = None;
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let pos = usize::try_from(reader.error_position()).unwrap_or(at);
            CapsError::at(pos, format!("malformed XML: {e}"))
        })?;
        match event {
            Event::Start(e) | Event::Empty(e) if path.is_empty() && e.name().as_ref() != CELL[0] => {
                return Err(not_caps(Some(at)));
            }
            Event::Start(e) => {
                start(&path, &e, at, &mut cell, &mut pending, &mut saw_cells)?;
                bank(&path, &e, at, &mut caps.l3)?;
                text.clear();
                path.push(e.name().as_ref().to_string());
            }
            Event::Empty(e) => {
                start(&path, &e, at, &mut cell, &mut pending, &mut saw_cells)?;
                bank(&path, &e, at, &mut caps.l3)?;
                text.clear();
                path.push(e.name().as_ref().to_string());
                end(&mut path, &mut cell, &mut caps.cells, &mut pending, &text)?;
            }
            Event::End(_) => end(&mut path, &mut cell, &mut caps.cells, &mut pending, &text)?,
            Event::Text(t) if pending.is_some() => text.push_str(&t.xml10_content()),
            Event::CData(t) if pending.is_some() => text.push_str(&t.xml10_content()),
            Event::GeneralRef(e) if pending.is_some() => {
                let c = reference(&e).ok_or_else(|| {
                    let name: &str = &e;
                    CapsError::at(at, format!("malformed XML: unknown entity `&{name};`"))
                })?;
                text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = path.last() {
        return Err(CapsError::at(
            xml.len(),
            format!("malformed XML: the document ends inside <{open}>"),
        ));
    }
    let Some(cells_at) = saw_cells else {
        return Err(not_caps(None));
    };
    // A host block needs a node (E0412), so a profile without one could not be printed.
    if caps.cells.is_empty() {
        return Err(CapsError::at(
            cells_at,
            "<cells> holds no <cell>: a host has at least one NUMA node".into(),
        ));
    }
    Ok(caps)
}

/// `<cache><bank level='3' cpus='...'/>`: one L3 domain. Banks of other levels are skipped.
fn bank(path: &[String], e: &BytesStart, at: usize, l3: &mut Vec<(IdSet, usize)>) -> Result<(), CapsError> {
    if !is_path(path, &CACHE, &[]) || e.name().as_ref() != "bank" {
        return Ok(());
    }
    let a = Attrs::read(e, at)?;
    if a.optional("level")? != Some(3) {
        return Ok(());
    }
    let Some(cpus) = a.trimmed("cpus") else {
        return Err(CapsError::at(at, "<bank level='3'> has no `cpus` attribute".into()));
    };
    let set = IdSet::parse(cpus).map_err(|err| CapsError::at(at, format!("<bank cpus='{cpus}'>: {}", err.message)))?;
    l3.push((set, at));
    Ok(())
}

fn not_caps(offset: Option<usize>) -> CapsError {
    CapsError {
        message: "not a `virsh capabilities` document: no <host><topology><cells>".into(),
        offset,
    }
}

fn start(
    path: &[String],
    e: &BytesStart,
    at: usize,
    cell: &mut Option<Cell>,
    pending: &mut Option<Pending>,
    saw_cells: &mut Option<usize>,
) -> Result<(), CapsError> {
    let name = e.name();
    let name = name.as_ref();
    if is_path(path, &CELL[..3], &[]) && name == "cells" {
        *saw_cells = Some(at);
    } else if is_path(path, &CELL[..4], &[]) && name == "cell" {
        let a = Attrs::read(e, at)?;
        *cell = Some(Cell {
            id: a.required("id")?,
            at,
            ..Cell::default()
        });
    } else if is_path(path, &CELL, &[]) && name == "memory" {
        let unit = Attrs::read(e, at)?.take("unit").unwrap_or_else(|| "KiB".into());
        *pending = Some(Pending::Memory { unit, at });
    } else if is_path(path, &CELL, &[]) && name == "pages" {
        let mut a = Attrs::read(e, at)?;
        let unit = a.take("unit").unwrap_or_else(|| "KiB".into());
        let size = a
            .take("size")
            .ok_or_else(|| CapsError::at(at, "<pages> has no `size` attribute".into()))?;
        let size_kib = size_kib(&size, &unit, "<pages size>", at)?;
        *pending = Some(Pending::Pages { size_kib, at });
    } else if let Some(cell) = cell.as_mut() {
        if is_path(path, &CELL, &["distances"]) && name == "sibling" {
            let a = Attrs::read(e, at)?;
            cell.distances.push((a.required("id")?, a.required("value")?, at));
        } else if is_path(path, &CELL, &["cpus"]) && name == "cpu" {
            cell.cpus.push((cpu_facts(&Attrs::read(e, at)?)?, at));
        }
    }
    Ok(())
}

/// `<cpu id=... socket_id=... die_id=... core_id=... siblings=...>`.
fn cpu_facts(a: &Attrs<'_>) -> Result<CpuFacts, CapsError> {
    let siblings = match a.trimmed("siblings") {
        Some(s) => {
            Some(IdSet::parse(s).map_err(|err| CapsError::at(a.at, format!("<cpu siblings='{s}'>: {}", err.message)))?)
        }
        None => None,
    };
    Ok(CpuFacts {
        id: a.required("id")?,
        socket: a.optional("socket_id")?,
        die: a.optional("die_id")?.unwrap_or(0),
        core: a.optional("core_id")?,
        siblings,
    })
}

fn end(
    path: &mut Vec<String>,
    cell: &mut Option<Cell>,
    cells: &mut Vec<Cell>,
    pending: &mut Option<Pending>,
    text: &str,
) -> Result<(), CapsError> {
    let Some(name) = path.pop() else {
        return Ok(());
    };
    if is_path(path, &CELL[..4], &[]) && name == "cell" {
        cells.extend(cell.take());
    } else if is_path(path, &CELL, &[]) {
        let (Some(c), Some(p)) = (cell.as_mut(), pending.take()) else {
            return Ok(());
        };
        match p {
            Pending::Memory { unit, at } => {
                c.memory_kib = size_kib(text, &unit, "<memory>", at)?;
            }
            Pending::Pages { size_kib, at } => {
                c.pages.push((size_kib, count(text, "<pages>", at)?, at));
            }
        }
    }
    Ok(())
}

/// The attributes of one element, read in one pass: each value as written (white space
/// kept: numbers are read as libvirt reads them). An attribute given twice is malformed
/// XML; the check costs a look-up per attribute, however many the element has.
struct Attrs<'e> {
    e: &'e BytesStart<'e>,
    at: usize,
    values: Vec<(&'e str, Cow<'e, str>)>,
}

impl<'e> Attrs<'e> {
    fn read(e: &'e BytesStart<'e>, at: usize) -> Result<Attrs<'e>, CapsError> {
        let mut values: Vec<(&str, Cow<str>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|err| CapsError::at(at, format!("malformed attribute: {err}")))?;
            let key: &str = a.key.into_inner();
            let fresh = if values.len() < 8 {
                values.iter().all(|(k, _)| *k != key)
            } else {
                if seen.is_empty() {
                    seen.extend(values.iter().map(|(k, _)| *k));
                }
                seen.insert(key)
            };
            if !fresh {
                return Err(CapsError::at(
                    at,
                    format!("malformed attribute: attribute `{key}` given twice"),
                ));
            }
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| CapsError::at(at, format!("malformed attribute `{key}`: {err}")))?;
            values.push((key, v));
        }
        Ok(Attrs { e, at, values })
    }

    fn element(&self) -> String {
        let name = self.e.name();
        let name: &str = name.as_ref();
        name.to_string()
    }

    /// The value of `key`, as written.
    fn raw(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_ref())
    }

    /// The value of `key`, moved out.
    fn take(&mut self, key: &str) -> Option<String> {
        let i = self.values.iter().position(|(k, _)| *k == key)?;
        Some(std::mem::take(&mut self.values[i].1).into_owned())
    }

    /// The value of `key`, trimmed: CPU sets and units.
    fn trimmed(&self, key: &str) -> Option<&str> {
        self.raw(key).map(str::trim)
    }

    /// An id or distance: decimal, as libvirt writes them ([`numbers::CAPS_ID`]).
    fn optional(&self, key: &str) -> Result<Option<u32>, CapsError> {
        let Some(v) = self.raw(key) else {
            return Ok(None);
        };
        let n = numbers::read(&numbers::CAPS_ID, v).ok().flatten();
        let bad = || {
            CapsError::at(
                self.at,
                format!(
                    "<{} {key}='{v}'> is not a decimal number of at most 4294967295",
                    self.element()
                ),
            )
        };
        n.and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(bad)
    }

    fn required(&self, key: &str) -> Result<u32, CapsError> {
        self.optional(key)?
            .ok_or_else(|| CapsError::at(self.at, format!("<{}> has no `{key}` attribute", self.element())))
    }
}

/// A page count: decimal ([`numbers::CAPS_COUNT`]).
fn count(text: &str, what: &str, at: usize) -> Result<u64, CapsError> {
    numbers::read(&numbers::CAPS_COUNT, text)
        .ok()
        .flatten()
        .ok_or_else(|| CapsError::at(at, format!("{what} holds `{text}`, not a decimal number")))
}

/// A size in `unit` (libvirt's scaled integers, [`numbers::memory_kib`]) as KiB, rounded up.
fn size_kib(value: &str, unit: &str, what: &str, at: usize) -> Result<u64, CapsError> {
    match numbers::memory_kib(value, Some(unit)) {
        Ok(Some(kib)) => Ok(kib),
        Ok(None) | Err(SizeError::NotANumber) => Err(CapsError::at(
            at,
            format!("{what} holds `{value}`, not a decimal number"),
        )),
        Err(SizeError::Unit) => Err(CapsError::at(at, format!("unknown unit `{unit}`"))),
        Err(SizeError::TooLarge) => Err(CapsError::at(at, format!("{value} {unit} is too large"))),
    }
}

/// What libvirt (or /sys, which libvirt reads) says about one logical CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuFacts {
    pub id: u32,
    pub socket: Option<u32>,
    pub die: u32,
    pub core: Option<u32>,
    pub siblings: Option<IdSet>,
}

/// `siblings` and `cpu` declarations stating exactly what `facts` say, each with the
/// index of the CPU that introduced it. Every CPU gets an explicit sibling group (its
/// reported set, minus CPUs not in `facts`, plus itself); a group's core id is its
/// lowest thread's. CPUs with a socket or a non-zero die get a `cpu` group per (socket, die).
#[allow(clippy::type_complexity)]
pub(crate) fn topology_decls(facts: &[CpuFacts]) -> (Vec<(SiblingsDecl, usize)>, Vec<(CpuGroupDecl, usize)>) {
    let known: IdSet = facts.iter().map(|c| c.id).collect();
    let core_of: BTreeMap<u32, Option<u32>> = facts.iter().map(|c| (c.id, c.core)).collect();
    let mut cores: BTreeMap<IdSet, usize> = BTreeMap::new();
    let mut places: BTreeMap<(Option<u32>, u32), (Vec<u32>, usize)> = BTreeMap::new();
    for (i, cpu) in facts.iter().enumerate() {
        if cpu.socket.is_some() || cpu.die != 0 {
            places
                .entry((cpu.socket, cpu.die))
                .or_insert((vec![], i))
                .0
                .push(cpu.id);
        }
        let set = match &cpu.siblings {
            Some(s) => s.intersection(&known).union(&IdSet::single(cpu.id)),
            None => IdSet::single(cpu.id),
        };
        cores.entry(set).or_insert(i);
    }
    let mut siblings: Vec<(SiblingsDecl, usize)> = cores
        .into_iter()
        .map(|(cpus, i)| {
            let core = cpus.first().and_then(|c| core_of.get(&c).copied().flatten());
            (SiblingsDecl { cpus, core }, i)
        })
        .collect();
    siblings.sort_by_key(|(d, _)| d.cpus.first());
    let groups = places
        .into_iter()
        .map(|((socket, die), (ids, i))| {
            let cpus = IdSet::from_ids(ids);
            (
                CpuGroupDecl {
                    cpus,
                    socket,
                    die: Some(die),
                },
                i,
            )
        })
        .collect();
    (siblings, groups)
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
            cpus: cell.cpus.iter().map(|c| c.0.id).collect(),
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
    let (facts, at): (Vec<CpuFacts>, Vec<usize>) = cells.iter().flat_map(|c| c.cpus.iter().cloned()).unzip();
    let (siblings, groups) = topology_decls(&facts);
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

#[cfg(test)]
mod tests;
