//! `cache-bank` and `bandwidth-node` in an inline host block: what the host can allocate of
//! its caches and memory bandwidth, declared as its capabilities report it.

use crate::codes::HOST_RESCTRL;
use crate::diagnostics::Diagnostic;
use crate::host::{BandwidthControl, BandwidthNode, CacheBank, CacheControl, CacheType};
use crate::lang::Fields;

fn id32(v: Option<u64>) -> u32 {
    v.and_then(|v| u32::try_from(v).ok()).unwrap_or(u32::MAX)
}

/// `cache-bank ID level= size= cpus= [type=] [control=both|cdp granularity= [min=] allocs=]`.
pub(super) fn cache_bank(f: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> CacheBank {
    let mut bank = CacheBank {
        id: id32(f.arg_int(0)),
        level: id32(f.int("level")),
        kind: f.text("type").and_then(CacheType::from_word).unwrap_or(CacheType::Both),
        size: f.size("size").unwrap_or(0),
        cpus: f.set("cpus").cloned().unwrap_or_default(),
        controls: Vec::new(),
    };
    let kinds: &[CacheType] = match f.text("control") {
        Some("both") => &[CacheType::Both],
        Some("cdp") => &[CacheType::Code, CacheType::Data],
        _ => &[],
    };
    let given = ["granularity", "min", "allocs"].into_iter().find(|k| f.has(k));
    match (kinds.is_empty(), given, f.size("granularity"), f.int("allocs")) {
        (true, Some(key), ..) => diags.push(
            Diagnostic::error(
                HOST_RESCTRL,
                format!("`{key}=` describes a control, and this bank has none"),
                f.span_of(key),
                "no `control=`",
            )
            .with_help("write `control=both` (or `control=cdp`) for a bank guests can be given a part of"),
        ),
        (false, _, Some(granularity), Some(allocs)) => {
            for &kind in kinds {
                bank.controls.push(CacheControl {
                    kind,
                    granularity,
                    min: f.size("min").unwrap_or(granularity),
                    max_allocs: id32(Some(allocs)),
                });
            }
        }
        (false, ..) => diags.push(
            Diagnostic::error(
                HOST_RESCTRL,
                "a bank with `control=` needs `granularity=` and `allocs=`",
                f.span_of("control"),
                "incomplete control",
            )
            .with_help("write e.g. `control=both granularity=768KiB allocs=16`"),
        ),
        (true, None, ..) => {}
    }
    bank
}

/// `bandwidth-node ID cpus= granularity= [min=] allocs=`.
pub(super) fn bandwidth_node(f: &Fields<'_>) -> BandwidthNode {
    let granularity = id32(f.int("granularity"));
    BandwidthNode {
        id: id32(f.arg_int(0)),
        cpus: f.set("cpus").cloned().unwrap_or_default(),
        control: BandwidthControl {
            granularity,
            min: f.int("min").map_or(granularity, |m| id32(Some(m))),
            max_allocs: id32(f.int("allocs")),
        },
    }
}
