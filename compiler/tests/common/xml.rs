//! The XML side, independent of vnumac: a small quick-xml element tree, libvirt's scaled sizes
//! and CPU sets, and what every domain XML reader here needs (memory, vCPUs, topology, cells).

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::number;

#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The first element along a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |el, name| el.children.iter().find(|c| c.name == *name))
    }
}

/// Parses a document into its one root element (text, CDATA and character/predefined entities
/// become the element's text).
pub fn parse_xml(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error near byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => stack.push(element(&start)?),
            Event::Empty(start) => stack
                .last_mut()
                .ok_or("unbalanced XML")?
                .children
                .push(element(&start)?),
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced XML")?;
                stack.last_mut().ok_or("unbalanced XML")?.children.push(done);
            }
            Event::Text(t) => stack
                .last_mut()
                .ok_or("unbalanced XML")?
                .text
                .push_str(&t.xml10_content()),
            Event::CData(t) => stack
                .last_mut()
                .ok_or("unbalanced XML")?
                .text
                .push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(ch) => ch,
                    None => match r.xml10_content().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                stack.last_mut().ok_or("unbalanced XML")?.text.push(ch);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().filter(|_| stack.is_empty()).ok_or("unclosed XML element")?;
    match document.children.len() {
        1 => Ok(document.children.remove(0)),
        n => Err(format!("expected one root element, found {n}")),
    }
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let mut el = Element {
        name: start.name().as_ref().to_owned(),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute in <{}>: {e}", el.name))?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        el.attrs.push((attr.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(el)
}

// ---------------------------------------------------------------------------
// libvirt's values
// ---------------------------------------------------------------------------

/// libvirt's scaled integers: `unit` defaults to KiB; `k`/`KiB` are powers of 1024, `KB` of 1000.
pub fn scaled_bytes(value: &str, unit: Option<&str>) -> Result<u64, String> {
    let n: u64 = number(value, "size")?;
    let unit = unit.unwrap_or("KiB").to_ascii_lowercase();
    let power = |letter: char| "kmgtpe".find(letter).map(|i| i as u32 + 1);
    let scale: u64 = match unit.as_str() {
        "b" | "byte" | "bytes" => 1,
        u => {
            let mut chars = u.chars();
            let exp = chars.next().and_then(power).ok_or(format!("unknown unit {unit:?}"))?;
            match chars.as_str() {
                "" | "ib" => 1024u64.pow(exp),
                "b" => 1000u64.pow(exp),
                _ => return Err(format!("unknown unit {unit:?}")),
            }
        }
    };
    n.checked_mul(scale).ok_or(format!("{value} {unit} overflows"))
}

/// libvirt's set syntax: `0-3,8,^2`; every part must be there (empty is an error).
pub fn parse_cpu_set(text: &str) -> Result<BTreeSet<u32>, String> {
    cpu_set(text, false)
}

/// Linux's cpulist syntax (`/sys/.../cpulist`, `online`): the same without `^` (which is read
/// anyway); empty is the empty set.
pub fn parse_cpu_list(text: &str) -> Result<BTreeSet<u32>, String> {
    cpu_set(text, true)
}

fn cpu_set(text: &str, skip_empty: bool) -> Result<BTreeSet<u32>, String> {
    let mut set = BTreeSet::<u32>::new();
    let mut excluded = BTreeSet::<u32>::new();
    for part in text.split(',').map(str::trim).filter(|p| !(skip_empty && p.is_empty())) {
        let (target, body) = match part.strip_prefix('^') {
            Some(rest) => (&mut excluded, rest),
            None => (&mut set, part),
        };
        let (lo, hi): (u32, u32) = match body.split_once('-') {
            Some((lo, hi)) => (number(lo, "cpu set")?, number(hi, "cpu set")?),
            None => {
                let n = number(body, "cpu set")?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!("descending range {body:?}"));
        }
        target.extend(lo..=hi);
    }
    Ok(set.difference(&excluded).copied().collect())
}

/// The inverse of [`parse_cpu_set`], without exclusions; `none` for the empty set.
pub fn format_set(set: &BTreeSet<u32>) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in set {
        match runs.last_mut() {
            Some((_, hi)) if *hi + 1 == n => *hi = n,
            _ => runs.push((n, n)),
        }
    }
    if runs.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = runs
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect();
    parts.join(",")
}

// ---------------------------------------------------------------------------
// What a domain declares
// ---------------------------------------------------------------------------

/// A `<cpu><numa><cell>`.
#[derive(Debug, Clone)]
pub struct NumaCell {
    pub id: u32,
    pub cpus: BTreeSet<u32>,
    pub memory: u64,
    /// sibling id → value, when the cell has `<distances>`.
    pub distances: Option<BTreeMap<u32, u32>>,
}

/// The part of a domain XML every oracle compares.
#[derive(Debug, Clone)]
pub struct DomainBasics {
    /// `<memory>`, in bytes.
    pub memory: u64,
    pub max_vcpus: u32,
    /// vCPU indexes present (online) at boot.
    pub present_vcpus: BTreeSet<u32>,
    /// sockets, dies, cores, threads (libvirt's default without `<topology>`: N sockets of one thread).
    pub topology: [u32; 4],
    /// Sorted by id.
    pub cells: Vec<NumaCell>,
}

/// Parses a domain XML: its `<domain>` element (for the caller's own reading) and the basics.
pub fn parse_domain(xml: &str) -> Result<(Element, DomainBasics), String> {
    let domain = parse_xml(xml)?;
    if domain.name != "domain" {
        return Err(format!("root element is <{}>, not <domain>", domain.name));
    }
    let memory_el = domain.at(&["memory"]).ok_or("no <memory>")?;
    let memory = scaled_bytes(&memory_el.text, memory_el.attr("unit")).map_err(|e| format!("<memory>: {e}"))?;

    let vcpu = domain.at(&["vcpu"]).ok_or("no <vcpu>")?;
    let max_vcpus: u32 = number(&vcpu.text, "<vcpu>")?;
    let current = vcpu
        .attr("current")
        .map_or(Ok(max_vcpus), |c| number(c, "<vcpu current>"))?;
    let present_vcpus = match domain.at(&["vcpus"]) {
        Some(list) => list
            .all("vcpu")
            .filter(|v| v.attr("enabled") == Some("yes"))
            .map(|v| number(v.attr("id").unwrap_or(""), "<vcpus><vcpu id>"))
            .collect::<Result<_, _>>()?,
        None => (0..current).collect(),
    };

    let topology = match domain.at(&["cpu", "topology"]) {
        Some(t) => {
            let get = |k: &str| t.attr(k).map_or(Ok(1), |v| number(v, &format!("<topology {k}>")));
            [get("sockets")?, get("dies")?, get("cores")?, get("threads")?]
        }
        None => [max_vcpus, 1, 1, 1],
    };

    let mut cells = Vec::new();
    for cell in domain.at(&["cpu", "numa"]).into_iter().flat_map(|n| n.all("cell")) {
        let id = number(cell.attr("id").ok_or("<cell> without id")?, "<cell id>")?;
        let cpus = match cell.attr("cpus") {
            Some(set) => parse_cpu_set(set).map_err(|e| format!("<cell id='{id}' cpus>: {e}"))?,
            None => BTreeSet::new(),
        };
        let size = cell.attr("memory").ok_or(format!("<cell id='{id}'> without memory"))?;
        let memory = scaled_bytes(size, cell.attr("unit")).map_err(|e| format!("<cell id='{id}' memory>: {e}"))?;
        let distances = match cell.at(&["distances"]) {
            Some(d) => Some(
                d.all("sibling")
                    .map(|s| {
                        let id = number(s.attr("id").unwrap_or(""), "<sibling id>")?;
                        Ok((id, number(s.attr("value").unwrap_or(""), "<sibling value>")?))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            None => None,
        };
        cells.push(NumaCell {
            id,
            cpus,
            memory,
            distances,
        });
    }
    cells.sort_by_key(|c| c.id);
    let basics = DomainBasics {
        memory,
        max_vcpus,
        present_vcpus,
        topology,
        cells,
    };
    Ok((domain, basics))
}
