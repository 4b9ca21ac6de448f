//! `<memory>` devices: DIMMs, NVDIMMs, virtio-mem and virtio-pmem.

use super::dom::Node;
use super::guest::Draft;
use super::{
    ImportError, Notes, attr_u32, drop_unknown_attrs, drop_unknown_children, error_at, number, quoted, text_kib,
};
use crate::units::exact_kib;

pub(super) fn memdev(c: &Node, keep_slots: bool, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let model = c.attr("model").unwrap_or("");
    let target = c.child("target");
    let size = target.and_then(|t| t.child("size"));
    let node = target
        .and_then(|t| t.child("node"))
        .and_then(|n| number(n.trimmed()))
        .and_then(|n| u32::try_from(n).ok());
    let size_kib = match size {
        Some(s) => super::guest::round_up(
            text_kib(s, "a memory device's <size>", notes)?,
            2 * 1024,
            "a memory device's size",
            notes,
        ),
        None => return Err(error_at(c.at, "<memory> device without a <target><size>")),
    };
    d.memdev_kib = d.memdev_kib.saturating_add(size_kib);
    drop_unknown_attrs(c, &["model", "access", "discard"], notes);
    if matches!(model, "virtio-mem" | "virtio-pmem") {
        return virtio_memdev(c, model, size_kib, node, d, notes);
    }
    let (true, Some(node)) = (matches!(model, "dimm" | "nvdimm"), node) else {
        notes.drop(format!("{} (the guest's memory is reduced by its size)", c.describe()));
        return Ok(());
    };
    // `<address type='dimm' slot base>`.
    let mut address = String::new();
    if let Some(a) = c.child("address") {
        drop_unknown_attrs(a, &["type", "slot", "base"], notes);
        if let Some(slot) = attr_u32(a, "slot")?
            && keep_slots
        {
            address.push_str(&format!(" slot={slot}"));
        }
        if let Some(b) = a.attr("base") {
            let bytes = match b.strip_prefix("0x").or_else(|| b.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => b.parse().ok(),
            };
            match bytes {
                Some(bytes) if bytes % 1024 == 0 => address.push_str(&format!(" base={}", exact_kib(bytes / 1024))),
                _ => {
                    return Err(error_at(
                        a.at,
                        format!("<address base='{b}'>: not an address in whole KiB"),
                    ));
                }
            }
        }
    }
    let mut line = format!("{model} size={} node={node}", exact_kib(size_kib));
    if model == "dimm" {
        drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
        if let Some(s) = c.child("source") {
            drop_unknown_children(s, &["nodemask", "pagesize"], notes);
            if let Some(n) = s.child("nodemask") {
                line.push_str(&format!(" host-node={}", super::id_set(n, "nodemask", n.trimmed())?));
            }
            if let Some(p) = s.child("pagesize") {
                let kib = super::size_kib(p, p.trimmed(), p.attr("unit"), "<pagesize>", notes)?;
                line.push_str(&format!(" hugepages={}", exact_kib(kib)));
            }
        }
        match c.attr("access") {
            Some(a @ ("shared" | "private")) => line.push_str(&format!(" access={a}")),
            Some(a) => {
                return Err(error_at(
                    c.at,
                    format!("<memory access='{a}'>: libvirt knows `shared` and `private`"),
                ));
            }
            None => {}
        }
        match c.attr("discard") {
            Some("yes") => line.push_str(" discard=true"),
            Some("no") => line.push_str(" discard=false"),
            Some(v) => {
                return Err(error_at(
                    c.at,
                    format!("<memory discard='{v}'>: libvirt knows `yes` and `no`"),
                ));
            }
            None => {}
        }
        line.push_str(&address);
        d.memdevs.push(line);
        return Ok(());
    }
    if c.attr("discard").is_some() {
        notes.drop("<memory model='nvdimm' discard=…> (libvirt does not discard an NVDIMM)");
    }
    drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
    let source = c.child("source");
    let Some(path) = source.and_then(|s| s.child("path")).map(Node::trimmed) else {
        notes.drop("an <memory model='nvdimm'> without a <source><path>");
        return Ok(());
    };
    line = format!("nvdimm path={} size={} node={node}", quoted(path), exact_kib(size_kib));
    if let Some(t) = target {
        drop_unknown_children(t, &["size", "node", "label", "readonly"], notes);
    }
    if let Some(l) = target.and_then(|t| t.child("label")).and_then(|l| l.child("size")) {
        line.push_str(&format!(" label={}", exact_kib(text_kib(l, "an NVDIMM label", notes)?)));
    }
    if let Some(s) = source {
        drop_unknown_children(s, &["path", "alignsize", "pmem"], notes);
        if let Some(a) = s.child("alignsize") {
            line.push_str(&format!(
                " align={}",
                exact_kib(text_kib(a, "an NVDIMM alignment", notes)?)
            ));
        }
        if s.child("pmem").is_some() {
            line.push_str(" pmem=true");
        }
    }
    match c.attr("access") {
        Some(a @ ("shared" | "private")) => line.push_str(&format!(" access={a}")),
        Some(a) => notes.drop(format!("<memory access='{a}'>")),
        None => {}
    }
    if target.and_then(|t| t.child("readonly")).is_some() {
        line.push_str(" readonly=true");
    }
    line.push_str(&address);
    d.memdevs.push(line);
    Ok(())
}

/// A `<memory model='virtio-mem'|'virtio-pmem'>`: its PCI address is vnumac's to give.
fn virtio_memdev(
    c: &Node,
    model: &str,
    size_kib: u64,
    node: Option<u32>,
    d: &mut Draft,
    notes: &mut Notes,
) -> Result<(), ImportError> {
    drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
    let target = c.child("target");
    if let Some(t) = target {
        drop_unknown_children(t, &["size", "node", "block", "requested", "address", "current"], notes);
    }
    let base = match target
        .and_then(|t| t.child("address"))
        .and_then(|a| a.attr("base").map(|b| (a, b)))
    {
        Some((a, b)) => {
            let bytes = match b.strip_prefix("0x").or_else(|| b.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => b.parse().ok(),
            };
            match bytes {
                Some(bytes) if bytes % 1024 == 0 => {
                    notes.newer(format!(
                        "<target><address base> of <memory model='{model}'>; leave `base=` out and QEMU picks the address"
                    ));
                    format!(" base={}", exact_kib(bytes / 1024))
                }
                _ => {
                    return Err(error_at(
                        a.at,
                        format!("<address base='{b}'>: not an address in whole KiB"),
                    ));
                }
            }
        }
        None => String::new(),
    };
    if c.child("address").is_some() {
        notes.change(format!(
            "the PCI address of <memory model='{model}'>: vnumac gives it a slot on the root bus"
        ));
    }
    let source = c.child("source");
    let mut line;
    if model == "virtio-mem" {
        let Some(node) = node else {
            return Err(error_at(c.at, "<memory model='virtio-mem'> without a <target><node>"));
        };
        let get = |k: &str, what: &str, notes: &mut Notes| -> Result<u64, ImportError> {
            let n = target
                .and_then(|t| t.child(k))
                .ok_or_else(|| error_at(c.at, format!("<memory model='virtio-mem'> without a <target><{k}>")))?;
            text_kib(n, what, notes)
        };
        let block = get("block", "a virtio-mem block", notes)?;
        let requested = get("requested", "a virtio-mem request", notes)?;
        line = format!(
            "virtio-mem size={} node={node} block={} requested={}",
            exact_kib(size_kib),
            exact_kib(block),
            exact_kib(requested)
        );
        if let Some(s) = source {
            drop_unknown_children(s, &["nodemask", "pagesize"], notes);
            if let Some(n) = s.child("nodemask") {
                line.push_str(&format!(" host-node={}", super::id_set(n, "nodemask", n.trimmed())?));
            }
            if let Some(p) = s.child("pagesize") {
                let kib = super::size_kib(p, p.trimmed(), p.attr("unit"), "<pagesize>", notes)?;
                line.push_str(&format!(" hugepages={}", exact_kib(kib)));
            }
        }
    } else {
        if let Some(s) = source {
            drop_unknown_children(s, &["path"], notes);
        }
        let Some(path) = source.and_then(|s| s.child("path")).map(Node::trimmed) else {
            return Err(error_at(c.at, "<memory model='virtio-pmem'> without a <source><path>"));
        };
        line = format!("virtio-pmem path={} size={}", quoted(path), exact_kib(size_kib));
        match c.attr("access") {
            Some(a @ ("shared" | "private")) => line.push_str(&format!(" access={a}")),
            Some(a) => {
                return Err(error_at(
                    c.at,
                    format!("<memory access='{a}'>: libvirt knows `shared` and `private`"),
                ));
            }
            None => {}
        }
    }
    line.push_str(&base);
    d.memdevs.push(line);
    Ok(())
}
