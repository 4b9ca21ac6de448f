//! HMAT: `<cell><cache>` and `<interconnects>` as `cache`, `latency` and `bandwidth` lines.

use super::dom::Node;
use super::{ImportError, Notes, attr_u32, drop_unknown_children, error_at};
use crate::units::exact_kib;

/// A `<cell><cache>` as a `cache` line.
pub(super) fn cache(c: &Node, cell: u32, notes: &mut Notes) -> Result<String, ImportError> {
    drop_unknown_children(c, &["size", "line"], notes);
    let level = attr_u32(c, "level")?.ok_or_else(|| error_at(c.at, "<cache> has no `level`"))?;
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
    let bytes = |k: &str| -> Result<u128, ImportError> {
        let n = c
            .child(k)
            .ok_or_else(|| error_at(c.at, format!("<cache> has no <{k}>")))?;
        let value = n
            .attr("value")
            .ok_or_else(|| error_at(n.at, format!("<{k}> has no `value`")))?;
        let unit = n.attr("unit").unwrap_or(if k == "line" { "B" } else { "KiB" });
        let v: u128 = value
            .parse()
            .map_err(|_| error_at(n.at, format!("<{k} value='{value}'>: not a number")))?;
        let per =
            super::unit_bytes(unit).ok_or_else(|| error_at(n.at, format!("<{k} unit='{unit}'>: unknown unit")))?;
        Ok(v.saturating_mul(per))
    };
    let (size, line) = (bytes("size")?, bytes("line")?);
    Ok(format!(
        "cache cell={cell} level={level} size={} line={} associativity={associativity} policy={policy}",
        crate::units::exact_bytes(size),
        crate::units::exact_bytes(line)
    ))
}

/// `<interconnects>`: `latency` and `bandwidth` lines, in the order written.
pub(super) fn interconnects(numa: &Node, notes: &mut Notes) -> Result<Vec<String>, ImportError> {
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
            attr_u32(l, k)?.ok_or_else(|| error_at(l.at, format!("<{}> has no `{k}`", l.name)))
        };
        let (initiator, target) = (get("initiator")?, get("target")?);
        let mut line = format!("{} initiator={initiator} target={target}", l.name);
        if let Some(cache) = attr_u32(l, "cache")?.filter(|c| *c > 0) {
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
        let value = l
            .attr("value")
            .ok_or_else(|| error_at(l.at, format!("<{}> has no `value`", l.name)))?;
        if l.name == "latency" {
            let v: u64 = value
                .parse()
                .map_err(|_| error_at(l.at, format!("<latency value='{value}'>: not a number")))?;
            line.push_str(&format!(" value={v}"));
        } else {
            let kib = super::size_kib(l, value, l.attr("unit"), "<bandwidth value>", notes)?;
            line.push_str(&format!(" value={}", exact_kib(kib)));
        }
        lines.push(line);
    }
    Ok(lines)
}
