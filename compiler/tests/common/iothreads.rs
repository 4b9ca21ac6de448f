//! The I/O threads a domain XML declares against the ones a started QEMU holds: which
//! there are (`<iothreads>` or `<iothreadids>`, against `query-iothreads`) and which one
//! serves each virtio disk (`<driver iothread>`, against the `iothread` link of the disk's
//! `virtio-blk-pci`, asked with `qom-get`). The XML side reads the domain with
//! [`super::xml`], independently of vnumac.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::xml::Element;

/// I/O thread ids, and the thread of each virtio disk by its QEMU id ("" for none).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IoThreads {
    pub ids: BTreeSet<String>,
    pub disks: BTreeMap<String, String>,
}

/// `vda` → 0, `vdz` → 25, `vdaa` → 26: libvirt's disk index, which names a virtio disk
/// `virtio-disk<index>` on the QEMU line.
pub fn disk_index(dev: &str) -> Option<u32> {
    let letters = dev.strip_prefix("vd")?;
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut n: u32 = 0;
    for b in letters.bytes() {
        n = n.checked_mul(26)?.checked_add(u32::from(b - b'a') + 1)?;
    }
    Some(n - 1)
}

/// What the domain declares.
pub fn declared(domain: &Element) -> Result<IoThreads, String> {
    let mut out = IoThreads::default();
    match domain.at(&["iothreadids"]) {
        Some(ids) => {
            for t in ids.all("iothread") {
                let id = t.attr("id").ok_or("<iothread> without id")?;
                out.ids.insert(format!("iothread{id}"));
            }
        }
        None => {
            let n: u32 = match domain.at(&["iothreads"]) {
                Some(e) if !e.text.trim().is_empty() => {
                    e.text.trim().parse().map_err(|e| format!("<iothreads>: {e}"))?
                }
                _ => 0,
            };
            out.ids.extend((1..=n).map(|k| format!("iothread{k}")));
        }
    }
    for d in domain.at(&["devices"]).into_iter().flat_map(|d| d.all("disk")) {
        let Some(target) = d.at(&["target"]).filter(|t| t.attr("bus") == Some("virtio")) else {
            continue;
        };
        let dev = target.attr("dev").unwrap_or("");
        let index = disk_index(dev).ok_or(format!("virtio disk `{dev}`: not a vdX name"))?;
        let thread = d
            .at(&["driver"])
            .and_then(|drv| drv.attr("iothread"))
            .map_or_else(String::new, |k| format!("iothread{k}"));
        out.disks.insert(format!("virtio-disk{index}"), thread);
    }
    Ok(out)
}

/// Whether a QEMU line creates a device with id `id` (keyval or JSON).
pub fn on_line(argv: &[String], id: &str) -> bool {
    let keyval = format!("id={id}");
    let json = format!("\"id\":\"{id}\"");
    argv.iter()
        .any(|a| a.split(',').any(|kv| kv == keyval) || a.contains(&json))
}

/// The QMP commands [`built`] reads: `query-iothreads`, then `qom-get` of each disk's
/// `iothread`.
pub fn commands(disks: &[String]) -> Vec<Value> {
    let mut out = vec![json!({"execute": "query-iothreads"})];
    out.extend(disks.iter().map(|id| {
        json!({"execute": "qom-get", "arguments": {"path": format!("/machine/peripheral/{id}"), "property": "iothread"}})
    }));
    out
}

/// What QEMU built, from the returns of [`commands`] (in order) for `disks`.
pub fn built(returns: &[Value], disks: &[String]) -> Result<IoThreads, String> {
    let mut out = IoThreads::default();
    let list = returns
        .first()
        .and_then(Value::as_array)
        .ok_or(format!("query-iothreads did not return a list: {:?}", returns.first()))?;
    for t in list {
        out.ids.insert(
            t["id"]
                .as_str()
                .ok_or(format!("an I/O thread without id: {t}"))?
                .to_owned(),
        );
    }
    for (id, v) in disks.iter().zip(returns.iter().skip(1)) {
        let path = v
            .as_str()
            .ok_or(format!("qom-get {id} iothread did not return a path: {v}"))?;
        out.disks
            .insert(id.clone(), path.strip_prefix("/objects/").unwrap_or(path).to_owned());
    }
    Ok(out)
}

/// One line per difference, `what: XML … | QEMU …`.
pub fn compare(declared: &IoThreads, built: &IoThreads) -> Vec<String> {
    let mut diffs = Vec::new();
    let show = |s: &BTreeSet<String>| format!("[{}]", s.iter().cloned().collect::<Vec<_>>().join(", "));
    if declared.ids != built.ids {
        diffs.push(format!(
            "I/O threads: XML {} | QEMU {}",
            show(&declared.ids),
            show(&built.ids)
        ));
    }
    // The disks asked for: the ones the line creates (a missing one is counted among the devices).
    for d in built.disks.keys() {
        let (x, q) = (declared.disks.get(d), built.disks.get(d));
        if x != q {
            let none = |t: Option<&String>| match t.map(String::as_str) {
                None => "no such disk".to_owned(),
                Some("") => "none".to_owned(),
                Some(t) => t.to_owned(),
            };
            diffs.push(format!("{d} I/O thread: XML {} | QEMU {}", none(x), none(q)));
        }
    }
    diffs
}
