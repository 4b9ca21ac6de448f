//! `<memory>` devices: DIMMs, NVDIMMs, virtio-mem and virtio-pmem.

use super::align::round_up;
use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs, drop_unknown_children};
use super::quote::quoted;
use super::read::{attr, attr_u32, id_set, page_kib, required_kib, text_kib, text_u32};
use crate::numbers::{DECIMAL_ID, MEMORY_BASE, MEMORY_NODE};
use crate::units::exact_kib;

pub(super) fn memdev(c: &Node, keep_slots: bool, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let model = c.attr("model").unwrap_or("");
    let target = c.child("target");
    let node = match target.and_then(|t| t.child("node")) {
        Some(n) => text_u32(n, &MEMORY_NODE)?,
        None => None,
    };
    let cells = d.cells.len().max(1);
    if let Some(n) = node.filter(|n| *n as usize >= cells) {
        return Err(error_at(
            c.at,
            format!("<memory> device on guest node {n}, but the guest has {cells} (libvirt rejects it)"),
        ));
    }
    let size = target
        .and_then(|t| t.child("size"))
        .ok_or_else(|| error_at(c.at, "<memory> device without a <target><size>"))?;
    let size_kib = required_kib(size, "a memory device's <size>", notes)?;
    let size_kib = round_up(size_kib, 2 * 1024, "a memory device's size", notes);
    d.memdev_kib = d.memdev_kib.saturating_add(size_kib);
    drop_unknown_attrs(c, &["model", "access", "discard"], notes);
    if matches!(model, "virtio-mem" | "virtio-pmem") {
        return virtio_memdev(c, model, size_kib, node, d, notes);
    }
    let (true, Some(node)) = (matches!(model, "dimm" | "nvdimm"), node) else {
        notes.drop(format!("{} (the guest's memory is reduced by its size)", c.describe()));
        return Ok(());
    };
    let address = dimm_address(c, keep_slots, notes)?;
    let line = if model == "dimm" {
        dimm(c, size_kib, node, notes)?
    } else {
        let Some(line) = nvdimm(c, size_kib, node, notes)? else {
            return Ok(());
        };
        line
    };
    d.memdevs.push(format!("{line}{address}"));
    Ok(())
}

/// `<address type='dimm' slot base>` as ` slot=… base=…`.
fn dimm_address(c: &Node, keep_slots: bool, notes: &mut Notes) -> Result<String, ImportError> {
    let mut address = String::new();
    let Some(a) = c.child("address") else {
        return Ok(address);
    };
    drop_unknown_attrs(a, &["type", "slot", "base"], notes);
    if let Some(slot) = attr_u32(a, "slot", &DECIMAL_ID)?
        && keep_slots
    {
        address.push_str(&format!(" slot={slot}"));
    }
    if let Some(kib) = base_kib(a)? {
        address.push_str(&format!(" base={}", exact_kib(kib)));
    }
    Ok(address)
}

/// An `<address base>` (hexadecimal, `0x` optional) in KiB, which is how `.vnuma` says it.
fn base_kib(a: &Node) -> Result<Option<u64>, ImportError> {
    let Some(bytes) = attr(a, "base", &MEMORY_BASE)? else {
        return Ok(None);
    };
    if !bytes.is_multiple_of(1024) || bytes > crate::syntax::value::MAX_SIZE {
        return Err(error_at(
            a.at,
            format!(
                "<address base='{}'> is byte {bytes} (libvirt reads it as hexadecimal): vnumac says addresses in whole KiB up to 1 PiB",
                a.attr("base").unwrap_or_default()
            ),
        ));
    }
    Ok(Some(bytes / 1024))
}

fn dimm(c: &Node, size_kib: u64, node: u32, notes: &mut Notes) -> Result<String, ImportError> {
    let mut line = format!("dimm size={} node={node}", exact_kib(size_kib));
    drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
    if let Some(s) = c.child("source") {
        drop_unknown_children(s, &["nodemask", "pagesize"], notes);
        line.push_str(&host_memory(s, notes)?);
    }
    access(c, &mut line)?;
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
    Ok(line)
}

/// `<source><nodemask>` and `<pagesize>` of a DIMM or virtio-mem device.
fn host_memory(s: &Node, notes: &mut Notes) -> Result<String, ImportError> {
    let mut out = String::new();
    if let Some(n) = s.child("nodemask") {
        out.push_str(&format!(" host-node={}", id_set(n, "nodemask", n.trimmed())?));
    }
    if let Some(p) = s.child("pagesize")
        && let Some(kib) = text_kib(p, "<pagesize>", notes)?
    {
        out.push_str(&format!(" hugepages={}", exact_kib(page_kib(p, kib)?)));
    }
    Ok(out)
}

/// An NVDIMM line; None (with a note) without a backing path.
fn nvdimm(c: &Node, size_kib: u64, node: u32, notes: &mut Notes) -> Result<Option<String>, ImportError> {
    if c.attr("discard").is_some() {
        notes.drop("<memory model='nvdimm' discard=…> (libvirt does not discard an NVDIMM)");
    }
    drop_unknown_children(c, &["source", "target", "address", "alias"], notes);
    let (source, target) = (c.child("source"), c.child("target"));
    let Some(path) = source.and_then(|s| s.child("path")).map(Node::trimmed) else {
        notes.drop("an <memory model='nvdimm'> without a <source><path>");
        return Ok(None);
    };
    let mut line = format!("nvdimm path={} size={} node={node}", quoted(path), exact_kib(size_kib));
    if let Some(t) = target {
        drop_unknown_children(t, &["size", "node", "label", "readonly"], notes);
    }
    let label = target.and_then(|t| t.child("label")).and_then(|l| l.child("size"));
    if let Some(kib) = label
        .map(|l| text_kib(l, "an NVDIMM label", notes))
        .transpose()?
        .flatten()
    {
        line.push_str(&format!(" label={}", exact_kib(kib)));
    }
    if let Some(s) = source {
        drop_unknown_children(s, &["path", "alignsize", "pmem"], notes);
        let align = s.child("alignsize").map(|a| text_kib(a, "an NVDIMM alignment", notes));
        if let Some(kib) = align.transpose()?.flatten() {
            line.push_str(&format!(" align={}", exact_kib(kib)));
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
    Ok(Some(line))
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
    // libvirt 9.0 does not read this address; newer libvirt reads it as a DIMM's `base`.
    let base = match target
        .and_then(|t| t.child("address"))
        .map(base_kib)
        .transpose()?
        .flatten()
    {
        Some(kib) => {
            notes.newer(format!(
                "<target><address base> of <memory model='{model}'>; leave `base=` out and QEMU picks the address"
            ));
            format!(" base={}", exact_kib(kib))
        }
        None => String::new(),
    };
    if c.child("address").is_some() {
        notes.change(format!(
            "the PCI address of <memory model='{model}'>: vnumac gives it a slot on the root bus"
        ));
    }
    let mut line = if model == "virtio-mem" {
        virtio_mem(c, target, size_kib, node, notes)?
    } else {
        virtio_pmem(c, size_kib, notes)?
    };
    line.push_str(&base);
    d.memdevs.push(line);
    Ok(())
}

fn virtio_mem(
    c: &Node,
    target: Option<&Node>,
    size_kib: u64,
    node: Option<u32>,
    notes: &mut Notes,
) -> Result<String, ImportError> {
    let Some(node) = node else {
        return Err(error_at(c.at, "<memory model='virtio-mem'> without a <target><node>"));
    };
    let mut get = |k: &str, what: &str| -> Result<Option<u64>, ImportError> {
        target
            .and_then(|t| t.child(k))
            .map(|n| text_kib(n, what, notes))
            .transpose()
            .map(Option::flatten)
    };
    let block = get("block", "a virtio-mem block")?.ok_or_else(|| {
        error_at(
            c.at,
            "<memory model='virtio-mem'> without a <target><block> (libvirt rejects it)",
        )
    })?;
    // Absent or empty: none requested.
    let requested = get("requested", "a virtio-mem request")?.unwrap_or(0);
    let mut line = format!(
        "virtio-mem size={} node={node} block={} requested={}",
        exact_kib(size_kib),
        exact_kib(block),
        exact_kib(requested)
    );
    if let Some(s) = c.child("source") {
        drop_unknown_children(s, &["nodemask", "pagesize"], notes);
        line.push_str(&host_memory(s, notes)?);
    }
    Ok(line)
}

fn virtio_pmem(c: &Node, size_kib: u64, notes: &mut Notes) -> Result<String, ImportError> {
    let source = c.child("source");
    if let Some(s) = source {
        drop_unknown_children(s, &["path"], notes);
    }
    let Some(path) = source.and_then(|s| s.child("path")).map(Node::trimmed) else {
        return Err(error_at(c.at, "<memory model='virtio-pmem'> without a <source><path>"));
    };
    if c.attr("access") == Some("private") {
        return Err(error_at(
            c.at,
            "<memory model='virtio-pmem' access='private'>: libvirt requires shared access for virtio-pmem",
        ));
    }
    let mut line = format!("virtio-pmem path={} size={}", quoted(path), exact_kib(size_kib));
    access(c, &mut line)?;
    Ok(line)
}

/// `access='shared|private'` as ` access=…`; libvirt refuses any other.
fn access(c: &Node, line: &mut String) -> Result<(), ImportError> {
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
    Ok(())
}
