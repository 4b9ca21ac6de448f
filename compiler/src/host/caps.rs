//! Host profiles from `virsh capabilities` XML.
//!
//! Only `<capabilities><host><topology><cells>`, the banks of `<capabilities><host><cache>`
//! and `<capabilities><host><memory_bandwidth>` are read; every other element is skipped, so newer libvirt output keeps working. The cells fill a [`HostBuilder`],
//! so the derivation rules are the same as for an inline host block.

use std::ops::Range;

use quick_xml::events::{BytesText, Event};
use quick_xml::reader::Reader;

use super::builder::{BuildError, DeclRef, DistanceDecl, HostBuilder, HugepagesDecl, NodeDecl};
use super::model::HostProfile;
use super::topology::{CpuFacts, topology_decls};
use crate::numbers::{self, SizeError};
use crate::sets::IdSet;
use attrs::{Attrs, Tag};

pub use super::xml::{CapsError, reference};

/// The largest base (non-huge) page size: 4 KiB on x86, 64 KiB on POWER and some Arm.
const MAX_BASE_PAGE_KIB: u64 = 64;

/// What a capabilities document says: the NUMA cells, every cell's CPUs in document order
/// (with the offset of each), and the L3 banks (CPUs, offset).
#[derive(Debug, Default, PartialEq)]
struct Caps {
    cells: Vec<Cell>,
    cpus: Vec<CpuFacts>,
    cpu_at: Vec<usize>,
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

#[derive(Debug, Default, PartialEq)]
struct Cell {
    id: u32,
    at: usize,
    memory_kib: u64,
    /// (size KiB, count, offset)
    pages: Vec<(u64, u64, usize)>,
    /// (sibling node id, value, offset)
    distances: Vec<(u32, u32, usize)>,
    /// Where its CPUs are in [`Caps::cpus`].
    cpus: Range<usize>,
}

/// An element whose text is still to come.
enum Pending {
    Memory { unit: String, at: usize },
    Pages { size_kib: u64, at: usize },
}

/// Where an open element sits: on the way to what is read, or anywhere else. An element's
/// place follows from its parent's and its own name, so no path of names is kept:
/// `<capabilities><host><topology><cells><cell>` is `Cell`, and nothing else is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Caps,
    Host,
    Topology,
    Cells,
    Cell,
    /// `<cell><distances>`.
    Distances,
    /// `<cell><cpus>`.
    Cpus,
    /// Any other child of a `<cell>` (`<memory>`, `<pages>`): its end takes the text.
    CellChild,
    /// `<host><cache>`.
    Cache,
    /// Anywhere nothing is read.
    Other,
}

impl Place {
    /// Where an element named `name` sits under `parent` (None: it is the root).
    fn of(parent: Option<Place>, name: &str) -> Place {
        match (parent, name) {
            (None, "capabilities") => Place::Caps,
            (Some(Place::Caps), "host") => Place::Host,
            (Some(Place::Host), "topology") => Place::Topology,
            (Some(Place::Host), "cache") => Place::Cache,
            (Some(Place::Topology), "cells") => Place::Cells,
            (Some(Place::Cells), "cell") => Place::Cell,
            (Some(Place::Cell), "distances") => Place::Distances,
            (Some(Place::Cell), "cpus") => Place::Cpus,
            (Some(Place::Cell), _) => Place::CellChild,
            _ => Place::Other,
        }
    }
}

/// The reader's state between events.
#[derive(Default)]
struct Reading {
    caps: Caps,
    cell: Option<Cell>,
    pending: Option<Pending>,
    text: String,
    saw_cells: Option<usize>,
    /// The open elements, outermost first: where each sits and its offset.
    open: Vec<(Place, usize)>,
}

/// The document's facts: read in one pass over its bytes when it is written plainly
/// ([`plain::read`]), otherwise (and for every error) by quick-xml's events.
fn read_caps(xml: &str) -> Result<Caps, CapsError> {
    match plain::read(xml) {
        Some(caps) => Ok(caps),
        None => read_events(xml),
    }
}

fn read_events(xml: &str) -> Result<Caps, CapsError> {
    let mut reader = Reader::from_str(xml);
    let mut r = Reading::default();
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let pos = usize::try_from(reader.error_position()).unwrap_or(at);
            CapsError::at(pos, format!("malformed XML: {e}"))
        })?;
        match event {
            Event::Start(e) => r.element(&Tag { e: &e, cut: None }, at, false)?,
            Event::Empty(e) => r.element(&Tag { e: &e, cut: None }, at, true)?,
            Event::End(_) => r.end()?,
            Event::Text(t) => r.text(&t),
            Event::CData(t) if r.pending.is_some() => r.text.push_str(&t.xml10_content()),
            Event::GeneralRef(e) if r.pending.is_some() => {
                let c = reference(&e).ok_or_else(|| {
                    let name: &str = &e;
                    CapsError::at(at, format!("malformed XML: unknown entity `&{name};`"))
                })?;
                r.text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    r.finish(xml)
}

/// The name of the element whose start tag is at `at`, read again: only an error needs it.
fn name_at(xml: &str, at: usize) -> String {
    let mut reader = Reader::from_str(xml.get(at..).unwrap_or_default());
    match reader.read_event() {
        Ok(Event::Start(e)) => e.name().as_ref().to_string(),
        _ => String::new(),
    }
}

impl Reading {
    /// A start tag (`empty`: a self-closing one) at `at`; the root must be `<capabilities>`.
    fn element(&mut self, tag: &Tag, at: usize, empty: bool) -> Result<(), CapsError> {
        if self.open.is_empty() && tag.e.name().as_ref() != "capabilities" {
            return Err(not_caps(Some(at)));
        }
        self.start(tag, at)?;
        if empty {
            self.end()?;
        }
        Ok(())
    }

    /// Text between tags: kept only while an element whose text is read is open.
    fn text(&mut self, t: &BytesText) {
        if self.pending.is_some() {
            self.text.push_str(&t.xml10_content());
        }
    }

    /// The facts read, once the document has ended.
    fn finish(self, xml: &str) -> Result<Caps, CapsError> {
        if let Some(&(_, open_at)) = self.open.last() {
            return Err(CapsError::at(
                xml.len(),
                format!("malformed XML: the document ends inside <{}>", name_at(xml, open_at)),
            ));
        }
        let Some(cells_at) = self.saw_cells else {
            return Err(not_caps(None));
        };
        // A host block needs a node (E0412), so a profile without one could not be printed.
        if self.caps.cells.is_empty() {
            return Err(CapsError::at(
                cells_at,
                "<cells> holds no <cell>: a host has at least one NUMA node".into(),
            ));
        }
        Ok(self.caps)
    }

    fn start(&mut self, e: &Tag, at: usize) -> Result<(), CapsError> {
        let parent = self.open.last().map(|&(p, _)| p);
        let name = e.e.name();
        let name: &str = name.as_ref();
        let place = Place::of(parent, name);
        match (parent, place, name) {
            (_, Place::Cells, _) => self.saw_cells = Some(at),
            (_, Place::Cell, _) => {
                let here = self.caps.cpus.len();
                self.cell = Some(Cell {
                    id: Attrs::read(e, at)?.required("id")?,
                    at,
                    cpus: here..here,
                    ..Cell::default()
                });
            }
            (Some(Place::Cell), _, "memory") => {
                let unit = Attrs::read(e, at)?.raw("unit").unwrap_or("KiB").to_string();
                self.pending = Some(Pending::Memory { unit, at });
            }
            (Some(Place::Cell), _, "pages") => {
                let a = Attrs::read(e, at)?;
                let size = a
                    .raw("size")
                    .ok_or_else(|| CapsError::at(at, "<pages> has no `size` attribute".into()))?;
                let size_kib = size_kib(size, a.raw("unit").unwrap_or("KiB"), "<pages size>", at)?;
                self.pending = Some(Pending::Pages { size_kib, at });
            }
            (Some(Place::Distances), _, "sibling") => {
                if let Some(cell) = self.cell.as_mut() {
                    let a = Attrs::read(e, at)?;
                    cell.distances.push((a.required("id")?, a.required("value")?, at));
                }
            }
            (Some(Place::Cpus), _, "cpu") if self.cell.is_some() => {
                self.caps.cpus.push(cpu_facts(&Attrs::read(e, at)?)?);
                self.caps.cpu_at.push(at);
            }
            (Some(Place::Cache), _, "bank") => bank(e, at, &mut self.caps.l3)?,
            _ => {}
        }
        self.text.clear();
        self.open.push((place, at));
        Ok(())
    }

    fn end(&mut self) -> Result<(), CapsError> {
        let Some((place, _)) = self.open.pop() else {
            return Ok(());
        };
        match place {
            Place::Cell => {
                if let Some(mut cell) = self.cell.take() {
                    cell.cpus.end = self.caps.cpus.len();
                    self.caps.cells.push(cell);
                }
            }
            Place::Distances | Place::Cpus | Place::CellChild => {
                let (Some(c), Some(p)) = (self.cell.as_mut(), self.pending.take()) else {
                    return Ok(());
                };
                match p {
                    Pending::Memory { unit, at } => {
                        c.memory_kib = size_kib(&self.text, &unit, "<memory>", at)?;
                    }
                    Pending::Pages { size_kib, at } => {
                        c.pages.push((size_kib, count(&self.text, "<pages>", at)?, at));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `<cache><bank level='3' cpus='...'/>`: one L3 domain. Banks of other levels are skipped.
fn bank(e: &Tag, at: usize, l3: &mut Vec<(IdSet, usize)>) -> Result<(), CapsError> {
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

#[cfg(test)]
mod tests;
