//! The parts of a live domain XML that say where libvirt pins and binds a guest: `<vcpu>`,
//! `<vcpus>`, `<iothreads>`, `<iothreadids>`, `<cputune>` and `<numatune>`'s `<memnode>`s.
//! One pass over the text with quick-xml, holding only the path to the current element.

use super::facts::MemNode;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::collections::BTreeMap;
use vnumac::sets::IdSet;

/// libvirt nests a domain far less deeply; deeper is not libvirt's XML.
const MAX_DEPTH: usize = 64;

/// What the live XML says of vCPUs, I/O threads, pins and cell memory policies.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Live {
    /// `<vcpu>N</vcpu>`: the most vCPUs.
    pub(crate) max_vcpus: u32,
    /// `<vcpu current='N'>`: how many are online when there is no `<vcpus>` list.
    pub(crate) current: Option<u32>,
    /// `<vcpu cpuset>`: the default pin of every vCPU, the emulator and the I/O threads.
    pub(crate) cpuset: Option<IdSet>,
    /// `<vcpus><vcpu id enabled>`: which vCPUs are online.
    pub(crate) enabled: BTreeMap<u32, bool>,
    pub(crate) vcpupin: BTreeMap<u32, IdSet>,
    pub(crate) emulatorpin: Option<IdSet>,
    /// `<iothreads>N</iothreads>`.
    pub(crate) iothreads: u32,
    /// `<iothreadids><iothread id>`: the ids when they are not 1..=N.
    pub(crate) iothread_ids: Vec<u32>,
    pub(crate) iothreadpin: BTreeMap<u32, IdSet>,
    pub(crate) memnodes: Vec<MemNode>,
}

impl Live {
    /// Whether vCPU `id` is online.
    pub(crate) fn online(&self, id: u32) -> bool {
        match self.enabled.get(&id) {
            Some(&on) => on,
            None => id < self.current.unwrap_or(self.max_vcpus),
        }
    }

    /// Every I/O thread's id.
    pub(crate) fn iothread_ids(&self) -> Vec<u32> {
        if self.iothread_ids.is_empty() {
            (1..=self.iothreads).collect()
        } else {
            self.iothread_ids.clone()
        }
    }
}

/// An element's attributes by name.
fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|x| format!("malformed XML: {x}"))?;
        let key: &str = a.key.as_ref();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|x| format!("malformed XML: attribute `{key}`: {x}"))?;
        out.push((key.to_string(), value.into_owned()));
    }
    Ok(out)
}

fn name(e: &BytesStart<'_>) -> String {
    let qname = e.name();
    let name: &str = qname.as_ref();
    name.to_string()
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn number(text: &str, what: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what} is not a number: {text:?}"))
}

fn cpus(text: &str, what: &str) -> Result<IdSet, String> {
    IdSet::parse(text.trim()).map_err(|e| format!("{what} `{text}`: {}", e.message))
}

/// An attribute that must be there, and what it says.
fn required<'a>(attrs: &'a [(String, String)], key: &str, element: &str) -> Result<&'a str, String> {
    attr(attrs, key).ok_or_else(|| format!("<{element}> without `{key}`"))
}

/// Reads one element at `path` (its ancestors' names and its own).
fn element(live: &mut Live, path: &[String], attrs: &[(String, String)]) -> Result<(), String> {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["domain", "vcpu"] => {
            if let Some(c) = attr(attrs, "current") {
                live.current = Some(number(c, "<vcpu current>")?);
            }
            if let Some(set) = attr(attrs, "cpuset") {
                live.cpuset = Some(cpus(set, "<vcpu cpuset>")?);
            }
        }
        ["domain", "vcpus", "vcpu"] => {
            let id = number(required(attrs, "id", "vcpu")?, "<vcpu id>")?;
            live.enabled.insert(id, attr(attrs, "enabled") != Some("no"));
        }
        ["domain", "iothreadids", "iothread"] => {
            let id = number(required(attrs, "id", "iothread")?, "<iothread id>")?;
            live.iothread_ids.push(id);
        }
        ["domain", "cputune", "vcpupin"] => {
            let id = number(required(attrs, "vcpu", "vcpupin")?, "<vcpupin vcpu>")?;
            let set = cpus(required(attrs, "cpuset", "vcpupin")?, "<vcpupin cpuset>")?;
            live.vcpupin.insert(id, set);
        }
        ["domain", "cputune", "emulatorpin"] => {
            live.emulatorpin = Some(cpus(required(attrs, "cpuset", "emulatorpin")?, "<emulatorpin cpuset>")?);
        }
        ["domain", "cputune", "iothreadpin"] => {
            let id = number(required(attrs, "iothread", "iothreadpin")?, "<iothreadpin iothread>")?;
            let set = cpus(required(attrs, "cpuset", "iothreadpin")?, "<iothreadpin cpuset>")?;
            live.iothreadpin.insert(id, set);
        }
        ["domain", "numatune", "memnode"] => live.memnodes.push(MemNode {
            cell: number(required(attrs, "cellid", "memnode")?, "<memnode cellid>")?,
            mode: attr(attrs, "mode").unwrap_or("strict").to_string(),
            nodeset: cpus(required(attrs, "nodeset", "memnode")?, "<memnode nodeset>")?,
        }),
        _ => {}
    }
    Ok(())
}

/// The text of an element at `path`.
fn text(live: &mut Live, path: &[String], text: &str) -> Result<(), String> {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["domain", "vcpu"] => live.max_vcpus = number(text, "<vcpu>")?,
        ["domain", "iothreads"] => live.iothreads = number(text, "<iothreads>")?,
        _ => {}
    }
    Ok(())
}

/// Reads the live XML of a domain.
pub(crate) fn read(xml: &str) -> Result<Live, String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut live = Live::default();
    loop {
        match reader.read_event().map_err(|e| format!("malformed XML: {e}"))? {
            Event::Start(e) => {
                if path.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH} levels"));
                }
                path.push(name(&e));
                element(&mut live, &path, &attributes(&e)?)?;
            }
            Event::Empty(e) => {
                path.push(name(&e));
                element(&mut live, &path, &attributes(&e)?)?;
                path.pop();
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => text(&mut live, &path, &t.xml10_content())?,
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() || live.max_vcpus == 0 {
        return Err("not a whole domain XML with a `<vcpu>` count".into());
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "<domain type='qemu' id='1'>
  <name>vt</name>
  <vcpu placement='static' current='2' cpuset='0-1'>3</vcpu>
  <vcpus>
    <vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>
    <vcpu id='1' enabled='no' hotpluggable='yes'/>
    <vcpu id='2' enabled='yes' hotpluggable='yes' order='2'/>
  </vcpus>
  <iothreads>2</iothreads>
  <iothreadids>
    <iothread id='1'/>
    <iothread id='4'/>
  </iothreadids>
  <cputune>
    <vcpupin vcpu='0' cpuset='1'/>
    <vcpupin vcpu='2' cpuset='0,1'/>
    <emulatorpin cpuset='0'/>
    <iothreadpin iothread='4' cpuset='1'/>
  </cputune>
  <numatune>
    <memory mode='strict' nodeset='0'/>
    <memnode cellid='0' mode='preferred' nodeset='0'/>
  </numatune>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>";

    #[test]
    fn pins_states_and_policies_are_read() {
        let live = read(LIVE).unwrap();
        assert_eq!(live.max_vcpus, 3);
        assert_eq!(live.current, Some(2));
        assert_eq!(live.cpuset, Some(IdSet::range(0, 1)));
        assert_eq!([0, 1, 2].map(|id| live.online(id)), [true, false, true]);
        assert_eq!(live.vcpupin.get(&0), Some(&IdSet::single(1)));
        assert_eq!(live.vcpupin.get(&2), Some(&IdSet::range(0, 1)));
        assert_eq!(live.vcpupin.get(&1), None);
        assert_eq!(live.emulatorpin, Some(IdSet::single(0)));
        assert_eq!(live.iothread_ids(), vec![1, 4]);
        assert_eq!(live.iothreadpin.get(&4), Some(&IdSet::single(1)));
        assert_eq!(
            live.memnodes,
            vec![MemNode {
                cell: 0,
                mode: "preferred".into(),
                nodeset: IdSet::single(0)
            }]
        );
    }

    #[test]
    fn without_a_vcpus_list_the_first_current_vcpus_are_online() {
        let live = read("<domain><vcpu current='1'>2</vcpu><iothreads>2</iothreads></domain>").unwrap();
        assert!(live.online(0));
        assert!(!live.online(1));
        assert_eq!(live.iothread_ids(), vec![1, 2]);
        let all = read("<domain><vcpu>2</vcpu></domain>").unwrap();
        assert!(all.online(1));
    }

    #[test]
    fn what_is_not_a_domain_is_an_error() {
        for bad in [
            "",
            "<domain>",
            "<domain><vcpu>x</vcpu></domain>",
            "<domain><vcpu>2</vcpu><cputune><vcpupin vcpu='0'/></cputune></domain>",
            "<domain><vcpu>2</vcpu><cputune><vcpupin vcpu='0' cpuset='3-1'/></cputune></domain>",
            "<domain><vcpu>2</vcpu></oops>",
        ] {
            assert!(read(bad).is_err(), "{bad:?} was read");
        }
        let deep = format!("<domain><vcpu>1</vcpu>{}</domain>", "<a>".repeat(100));
        assert!(read(&deep).unwrap_err().contains("deeper"));
    }
}
