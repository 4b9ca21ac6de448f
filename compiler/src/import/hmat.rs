//! HMAT: `<cell><cache>` and `<interconnects>` as `cache`, `latency` and `bandwidth` lines.

use super::dom::Node;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_children};
use super::read::{attr, attr_u32, size_kib};
use crate::numbers::{self, CACHE_LEVEL, DECIMAL_ID, LATENCY};
use crate::units::exact_kib;

/// A `<cell><cache>` as a `cache` line.
pub(super) fn cache(c: &Node, cell: u32, notes: &mut Notes) -> Result<String, ImportError> {
    drop_unknown_children(c, &["size", "line"], notes);
    let level = attr_u32(c, "level", &CACHE_LEVEL)?.ok_or_else(|| error_at(c.at, "<cache> has no `level`"))?;
    let word = |k: &str, words: &[&str]| -> Result<String, ImportError> {
        match c.attr(k) {
            Some(w) if words.contains(&w) => Ok(w.to_string()),
            other => Err(error_at(
                c.at,
                format!(
                    "<cache {k}='{}'>: libvirt knows {}",
                    other.unwrap_or(""),
                    words.join(", ")
                ),
            )),
        }
    };
    let associativity = word("associativity", &["none", "direct", "full"])?;
    let policy = word("policy", &["none", "writeback", "writethrough"])?;
    let (size, line) = (cache_size(c, notes)?, cache_line(c, notes)?);
    Ok(format!(
        "cache cell={cell} level={level} size={} line={} associativity={associativity} policy={policy}",
        exact_kib(size),
        crate::units::exact_bytes(u128::from(line))
    ))
}

/// The `<size>` or `<line>` child of a `<cache>` and its `value`.
fn value_of<'a>(c: &'a Node, k: &str) -> Result<(&'a Node, &'a str), ImportError> {
    let n = c
        .child(k)
        .ok_or_else(|| error_at(c.at, format!("<cache> has no <{k}>")))?;
    let value = n
        .attr("value")
        .ok_or_else(|| error_at(n.at, format!("<{k}> has no `value`")))?;
    Ok((n, value))
}

/// `<size value unit>` of a cache, in KiB: libvirt 9.0 does not read its `unit` (it looks
/// for a `<unit>` element), so the value is KiB whatever the unit says.
fn cache_size(c: &Node, notes: &mut Notes) -> Result<u64, ImportError> {
    let (n, value) = value_of(c, "size")?;
    if let Some(u) = n
        .attr("unit")
        .filter(|u| !u.is_empty() && numbers::unit_bytes(u) != Some(1024))
    {
        notes.change(format!(
            "<cache><size value='{value}' unit='{u}'>: libvirt reads the value as KiB whatever the unit, and so does vnumac"
        ));
    }
    size_kib(n, value, None, "a cache's <size value>", notes)?
        .ok_or_else(|| error_at(n.at, "<size value=''>: a cache needs a size (libvirt rejects it)"))
}

/// `<line value unit>` of a cache, in bytes: the unit is not read either (see [`cache_size`]).
fn cache_line(c: &Node, notes: &mut Notes) -> Result<u64, ImportError> {
    let (n, value) = value_of(c, "line")?;
    if let Some(u) = n
        .attr("unit")
        .filter(|u| !u.is_empty() && numbers::unit_bytes(u) != Some(1))
    {
        notes.change(format!(
            "<cache><line value='{value}' unit='{u}'>: libvirt reads the value as bytes whatever the unit, and so does vnumac"
        ));
    }
    let bad = |what: &str| error_at(n.at, format!("<line value='{value}'>: {what}"));
    let bytes = numbers::scaled_bytes(value, None, 1, u64::MAX)
        .map_err(|_| bad("libvirt reads a decimal number without a sign, and this is not one"))?
        .ok_or_else(|| bad("a cache needs a line size (libvirt rejects it)"))?;
    if bytes > crate::syntax::value::MAX_SIZE {
        return Err(bad("more than the 1 PiB a .vnuma file can say"));
    }
    Ok(bytes)
}

/// `<interconnects>`: `latency` and `bandwidth` lines, in the order written; `cells` is
/// the number of cells, which `initiator` and `target` must name.
pub(super) fn interconnects(numa: &Node, cells: usize, notes: &mut Notes) -> Result<Vec<String>, ImportError> {
    let mut lines = Vec::new();
    let Some(ic) = numa.child("interconnects") else {
        return Ok(lines);
    };
    drop_unknown_children(ic, &["latency", "bandwidth"], notes);
    for l in ic
        .children
        .iter()
        .filter(|n| matches!(n.name.as_str(), "latency" | "bandwidth"))
    {
        let get = |k: &str| -> Result<u32, ImportError> {
            let id =
                attr_u32(l, k, &DECIMAL_ID)?.ok_or_else(|| error_at(l.at, format!("<{}> has no `{k}`", l.name)))?;
            if id as usize >= cells {
                return Err(error_at(
                    l.at,
                    format!(
                        "<{} {k}='{id}'>: the guest has cells 0 to {} (libvirt rejects it)",
                        l.name,
                        cells - 1
                    ),
                ));
            }
            Ok(id)
        };
        let (initiator, target) = (get("initiator")?, get("target")?);
        let mut line = format!("{} initiator={initiator} target={target}", l.name);
        if let Some(cache) = attr_u32(l, "cache", &DECIMAL_ID)?.filter(|c| *c > 0) {
            line.push_str(&format!(" cache={cache}"));
        }
        match l.attr("type") {
            Some(t @ ("access" | "read" | "write")) => line.push_str(&format!(" type={t}")),
            other => {
                return Err(error_at(
                    l.at,
                    format!(
                        "<{} type='{}'>: libvirt knows access, read and write",
                        l.name,
                        other.unwrap_or("")
                    ),
                ));
            }
        }
        let missing = || error_at(l.at, format!("<{}> has no `value`", l.name));
        if l.name == "latency" {
            let v = attr(l, "value", &LATENCY)?.ok_or_else(missing)?;
            line.push_str(&format!(" value={v}"));
        } else {
            let value = l.attr("value").unwrap_or_default();
            let kib = size_kib(l, value, l.attr("unit"), "<bandwidth value>", notes)?.ok_or_else(missing)?;
            if !kib.is_multiple_of(1024) {
                let message = format!(
                    "<bandwidth value='{value}'>: {} per second is not a whole number of MiB, which QEMU 7.2 refuses",
                    exact_kib(kib)
                );
                return Err(error_at(l.at, message));
            }
            line.push_str(&format!(" value={}", exact_kib(kib)));
        }
        lines.push(line);
    }
    Ok(lines)
}
