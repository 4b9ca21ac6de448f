//! The facts of a capabilities document, element by element: where each element sits,
//! what is read of it, and the reader that takes quick-xml's events to it.

use std::ops::Range;

use quick_xml::events::{BytesText, Event};
use quick_xml::reader::Reader;

use super::attrs::{Attrs, Tag};
use crate::host::topology::CpuFacts;
use crate::host::xml::{CapsError, reference};
use crate::numbers::{self, SizeError};
use crate::sets::IdSet;

/// What a capabilities document says: the NUMA cells, every cell's CPUs in document order
/// (with the offset of each), and the L3 banks (CPUs, offset).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Caps {
    pub(super) cells: Vec<Cell>,
    pub(super) cpus: Vec<CpuFacts>,
    pub(super) cpu_at: Vec<usize>,
    pub(super) l3: Vec<(IdSet, usize)>,
}

#[derive(Debug, Default, PartialEq)]
pub(super) struct Cell {
    pub(super) id: u32,
    pub(super) at: usize,
    pub(super) memory_kib: u64,
    /// (size KiB, count, offset)
    pub(super) pages: Vec<(u64, u64, usize)>,
    /// (sibling node id, value, offset)
    pub(super) distances: Vec<(u32, u32, usize)>,
    /// Where its CPUs are in [`Caps::cpus`].
    pub(super) cpus: Range<usize>,
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
pub(super) struct Reading {
    caps: Caps,
    cell: Option<Cell>,
    pending: Option<Pending>,
    text: String,
    saw_cells: Option<usize>,
    /// The open elements, outermost first: where each sits and its offset.
    open: Vec<(Place, usize)>,
}

pub(super) fn read_events(xml: &str) -> Result<Caps, CapsError> {
    let mut reader = Reader::from_str(xml);
    let mut r = Reading::default();
    loop {
        let (at, event) = crate::host::xml::next_event(&mut reader)?;
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
    pub(super) fn element(&mut self, tag: &Tag, at: usize, empty: bool) -> Result<(), CapsError> {
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
    pub(super) fn text(&mut self, t: &BytesText) {
        if self.pending.is_some() {
            self.text.push_str(&t.xml10_content());
        }
    }

    /// Text that holds no reference (the one-pass reader's): taken as it is when it holds no
    /// carriage return, the only thing XML 1.0 would normalise in it.
    pub(super) fn plain_text(&mut self, text: &str) {
        if self.pending.is_none() {
            return;
        }
        if text.contains('\r') {
            self.text(&BytesText::from_escaped(text));
        } else {
            self.text.push_str(text);
        }
    }

    /// The facts read, once the document has ended.
    pub(super) fn finish(self, xml: &str) -> Result<Caps, CapsError> {
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

    pub(super) fn end(&mut self) -> Result<(), CapsError> {
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
