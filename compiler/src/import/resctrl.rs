//! `<cachetune>` and `<memorytune>`: `cachetune` and `memorytune` lines, one per cache,
//! monitor and node, refused where libvirt refuses them when it parses the domain.

use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs, drop_unknown_children};
use super::read::{attr_u32, id_set};
use crate::host::resctrl::format_bytes;
use crate::ir::{CacheType, MONITOR_LEVEL};
use crate::numbers::{self, DECIMAL_ID};
use crate::sets::IdSet;
use std::collections::HashSet;

/// Every `<cachetune>`, then every `<memorytune>`, in document order.
pub(super) fn resctrl(ct: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let mut seen = HashSet::new();
    for t in ct.all("cachetune") {
        drop_unknown_attrs(t, &["vcpus", "id"], notes);
        drop_unknown_children(t, &["cache", "monitor"], notes);
        let vcpus = once(t, &mut seen)?;
        for c in t.all("cache") {
            drop_unknown_attrs(c, &["id", "level", "type", "size", "unit"], notes);
            let (Some(id), Some(level)) = (attr_u32(c, "id", &DECIMAL_ID)?, attr_u32(c, "level", &DECIMAL_ID)?) else {
                return Err(error_at(c.at, "<cache> needs `id` and `level` (libvirt requires them)"));
            };
            let kind = c.attr("type").unwrap_or_default();
            let Some(kind) = CacheType::from_word(kind) else {
                return Err(error_at(
                    c.at,
                    format!("<cache type='{kind}'>: libvirt takes `both`, `code` or `data`"),
                ));
            };
            let size = size(c)?;
            let mut line = format!("cachetune vcpus={vcpus} cache={id}");
            if level != 3 {
                line.push_str(&format!(" level={level}"));
            }
            if kind != CacheType::Both {
                line.push_str(&format!(" type={}", kind.word()));
            }
            line.push_str(&format!(" size={}", format_bytes(size)));
            d.tunes.push(line);
        }
        for m in t.all("monitor") {
            drop_unknown_attrs(m, &["level", "vcpus"], notes);
            if attr_u32(m, "level", &DECIMAL_ID)? != Some(MONITOR_LEVEL) {
                return Err(error_at(
                    m.at,
                    "<monitor> of a <cachetune> monitors level 3 only (libvirt refuses others)",
                ));
            }
            let set = m
                .attr("vcpus")
                .ok_or_else(|| error_at(m.at, "<monitor> has no `vcpus`"))?;
            d.tunes
                .push(format!("cachetune vcpus={vcpus} monitor={}", id_set(m, "vcpus", set)?));
        }
    }
    let mut seen = HashSet::new();
    for t in ct.all("memorytune") {
        drop_unknown_attrs(t, &["vcpus"], notes);
        drop_unknown_children(t, &["node"], notes);
        let vcpus = once(t, &mut seen)?;
        for n in t.all("node") {
            drop_unknown_attrs(n, &["id", "bandwidth"], notes);
            let (Some(id), Some(bandwidth)) = (attr_u32(n, "id", &DECIMAL_ID)?, attr_u32(n, "bandwidth", &DECIMAL_ID)?)
            else {
                return Err(error_at(n.at, "<node> of a <memorytune> needs `id` and `bandwidth`"));
            };
            d.tunes
                .push(format!("memorytune vcpus={vcpus} node={id} bandwidth={bandwidth}"));
        }
    }
    Ok(())
}

/// The vCPUs of a tune, refused when an earlier tune of its kind had the same: lines of one
/// set are one group in a `.vnuma` file, where libvirt refuses two (sets that only overlap
/// are refused by the build, E0354).
fn once(t: &Node, seen: &mut HashSet<IdSet>) -> Result<IdSet, ImportError> {
    let text = t
        .attr("vcpus")
        .ok_or_else(|| error_at(t.at, format!("<{}> has no `vcpus` (libvirt requires it)", t.name)))?;
    let set = id_set(t, "vcpus", text)?;
    if !seen.insert(set.clone()) {
        return Err(error_at(
            t.at,
            format!(
                "<{} vcpus='{text}'>: another <{}> has these vCPUs (libvirt refuses tunes that overlap)",
                t.name, t.name
            ),
        ));
    }
    Ok(set)
}

/// `<cache size unit>` in bytes, as libvirt scales it (KiB without a unit).
fn size(c: &Node) -> Result<u64, ImportError> {
    let value = c.attr("size").ok_or_else(|| error_at(c.at, "<cache> has no `size`"))?;
    let bytes = numbers::scaled_bytes(value, c.attr("unit"), 1024, crate::syntax::value::MAX_SIZE).map_err(|_| {
        error_at(
            c.at,
            format!("<cache size='{value}'>: not a size libvirt or a .vnuma file takes"),
        )
    })?;
    bytes.ok_or_else(|| error_at(c.at, "<cache size=''> is empty"))
}
