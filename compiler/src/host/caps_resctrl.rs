//! The resource control of `virsh capabilities`: `<host><cache><bank>` with its
//! `<control>`s, and `<host><memory_bandwidth><node>` with its `<control>`. One pass over
//! the document of its own; every other element is skipped.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::resctrl::{BandwidthControl, BandwidthNode, CacheBank, CacheControl, CacheType, Resctrl};
use super::xml::{CapsError, is_path, raw_attr};
use crate::numbers::{self, SizeError};
use crate::sets::IdSet;

const CACHE: [&str; 3] = ["capabilities", "host", "cache"];
const BANDWIDTH: [&str; 3] = ["capabilities", "host", "memory_bandwidth"];

/// The banks and bandwidth nodes, in document order, with the byte offset of each.
#[derive(Debug, Default)]
pub struct Read {
    pub resctrl: Resctrl,
    pub bank_at: Vec<usize>,
    pub node_at: Vec<usize>,
}

/// Read the resource control of a capabilities document.
pub fn read(xml: &str) -> Result<Read, CapsError> {
    // Element names are never written by reference: a document that names neither has
    // nothing here, and the pass over it (6% of building a small guest) is skipped. The
    // document is well formed: the capabilities reader read it first.
    if !xml.contains("<cache") && !xml.contains("<memory_bandwidth") {
        return Ok(Read::default());
    }
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = Read::default();
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader
            .read_event()
            .map_err(|e| CapsError::at(at, format!("malformed XML: {e}")))?;
        match event {
            Event::Start(e) => {
                element(&path, &e, at, &mut out)?;
                path.push(e.name().as_ref().to_string());
            }
            Event::Empty(e) => element(&path, &e, at, &mut out)?,
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let nodes = std::mem::take(&mut out.resctrl.bandwidth).into_iter();
    let kept = nodes
        .zip(std::mem::take(&mut out.node_at))
        .filter(|(n, _)| n.control.max_allocs != 0);
    (out.resctrl.bandwidth, out.node_at) = kept.unzip();
    Ok(out)
}

fn element(path: &[String], e: &BytesStart, at: usize, out: &mut Read) -> Result<(), CapsError> {
    let name = e.name();
    let name = name.as_ref();
    if is_path(path, &CACHE, &[]) && name == "bank" {
        out.resctrl.banks.push(bank(e, at)?);
        out.bank_at.push(at);
    } else if is_path(path, &CACHE, &["bank"]) && name == "control" {
        let control = cache_control(e, at)?;
        if let Some(b) = out.resctrl.banks.last_mut() {
            b.controls.push(control);
        }
    } else if is_path(path, &BANDWIDTH, &[]) && name == "node" {
        let id = required(e, "id", at)?;
        let cpus = cpus(e, at)?;
        // A node without a control cannot be limited: it is left out at the end.
        out.resctrl.bandwidth.push(BandwidthNode {
            id,
            cpus,
            control: BandwidthControl {
                granularity: 0,
                min: 0,
                max_allocs: 0,
            },
        });
        out.node_at.push(at);
    } else if is_path(path, &BANDWIDTH, &["node"]) && name == "control" {
        let granularity = required(e, "granularity", at)?;
        let control = BandwidthControl {
            granularity,
            min: optional(e, "min", at)?.unwrap_or(granularity),
            max_allocs: required(e, "maxAllocs", at)?,
        };
        if let Some(n) = out.resctrl.bandwidth.last_mut() {
            n.control = control;
        }
    }
    Ok(())
}

/// `<bank id level type size unit cpus>`.
fn bank(e: &BytesStart, at: usize) -> Result<CacheBank, CapsError> {
    let unit = attr(e, "unit", at)?.unwrap_or_else(|| "B".into());
    let size = raw_attr(e, "size", at)?.ok_or_else(|| CapsError::at(at, "<bank> has no `size` attribute".into()))?;
    Ok(CacheBank {
        id: required(e, "id", at)?,
        level: required(e, "level", at)?,
        kind: kind(e, at)?.unwrap_or(CacheType::Both),
        size: bytes(&size, &unit, "<bank size>", at)?,
        cpus: cpus(e, at)?,
        controls: Vec::new(),
    })
}

/// `<control granularity min unit type maxAllocs>`: `min` is the granularity when not given.
fn cache_control(e: &BytesStart, at: usize) -> Result<CacheControl, CapsError> {
    let unit = attr(e, "unit", at)?.unwrap_or_else(|| "B".into());
    let granularity = raw_attr(e, "granularity", at)?
        .ok_or_else(|| CapsError::at(at, "<control> has no `granularity` attribute".into()))?;
    let granularity = bytes(&granularity, &unit, "<control granularity>", at)?;
    let min = match raw_attr(e, "min", at)? {
        Some(m) => bytes(&m, &unit, "<control min>", at)?,
        None => granularity,
    };
    Ok(CacheControl {
        kind: kind(e, at)?.unwrap_or(CacheType::Both),
        granularity,
        min,
        max_allocs: required(e, "maxAllocs", at)?,
    })
}

fn kind(e: &BytesStart, at: usize) -> Result<Option<CacheType>, CapsError> {
    match attr(e, "type", at)? {
        None => Ok(None),
        Some(t) => CacheType::from_word(&t)
            .map(Some)
            .ok_or_else(|| CapsError::at(at, format!("type='{t}' is not `both`, `code` or `data`"))),
    }
}

fn cpus(e: &BytesStart, at: usize) -> Result<IdSet, CapsError> {
    let name = e.name().as_ref().to_string();
    let cpus = attr(e, "cpus", at)?.ok_or_else(|| CapsError::at(at, format!("<{name}> has no `cpus` attribute")))?;
    IdSet::parse(&cpus).map_err(|err| CapsError::at(at, format!("<{name} cpus='{cpus}'>: {}", err.message)))
}

/// A size in `unit` as bytes: libvirt writes `B` or a binary unit.
fn bytes(value: &str, unit: &str, what: &str, at: usize) -> Result<u64, CapsError> {
    if unit == "B" || unit == "bytes" {
        return numbers::read(&numbers::CAPS_COUNT, value)
            .ok()
            .flatten()
            .ok_or_else(|| CapsError::at(at, format!("{what} holds `{value}`, not a decimal number")));
    }
    let kib = match numbers::memory_kib(value, Some(unit)) {
        Ok(Some(kib)) => kib,
        Ok(None) | Err(SizeError::NotANumber) => {
            return Err(CapsError::at(
                at,
                format!("{what} holds `{value}`, not a decimal number"),
            ));
        }
        Err(SizeError::Unit) => return Err(CapsError::at(at, format!("unknown unit `{unit}`"))),
        Err(SizeError::TooLarge) => return Err(CapsError::at(at, format!("{value} {unit} is too large"))),
    };
    kib.checked_mul(1024)
        .ok_or_else(|| CapsError::at(at, format!("{value} {unit} is too large")))
}

/// The value of `key`, trimmed.
fn attr(e: &BytesStart, key: &str, at: usize) -> Result<Option<String>, CapsError> {
    Ok(raw_attr(e, key, at)?.map(|v| v.trim().to_string()))
}

/// An id or count: decimal, as libvirt writes them ([`numbers::CAPS_ID`]).
fn optional(e: &BytesStart, key: &str, at: usize) -> Result<Option<u32>, CapsError> {
    let Some(v) = raw_attr(e, key, at)? else {
        return Ok(None);
    };
    let n = numbers::read(&numbers::CAPS_ID, &v).ok().flatten();
    let element = e.name();
    let element: &str = element.as_ref();
    let bad = || {
        CapsError::at(
            at,
            format!("<{element} {key}='{v}'> is not a decimal number of at most 4294967295"),
        )
    };
    n.and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(bad)
}

fn required(e: &BytesStart, key: &str, at: usize) -> Result<u32, CapsError> {
    optional(e, key, at)?.ok_or_else(|| {
        let element = e.name();
        let element: &str = element.as_ref();
        CapsError::at(at, format!("<{element}> has no `{key}` attribute"))
    })
}
