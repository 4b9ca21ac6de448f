//! HMAT: memory-side caches of cells (`cache`) and the latencies and bandwidths between
//! cells (`latency`, `bandwidth`), as libvirt's `<cell><cache>` and `<interconnects>`.
//!
//! Besides fitting the cells, every value must be one QEMU 7.2 takes (`hw/core/numa.c`,
//! `hw/acpi/hmat.c`) and libvirt's schema allows (sizes, latencies and bandwidths are
//! `unsignedInt` in their units: KiB, ns, KiB/s).

use crate::codes::{HMAT, HMAT_CACHE, HMAT_SPREAD, HMAT_VALUE};
use crate::diagnostics::Diagnostic;
use crate::ir::{CellCache, GuestCell, Hmat, HmatLink};
use crate::lang::Fields;
use crate::span::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The largest value libvirt's schema takes (`unsignedInt`).
const SCHEMA_MAX: u64 = u32::MAX as u64;
/// QEMU's `line=` is a `uint16`.
const LINE_MAX: u64 = u16::MAX as u64;
/// QEMU keeps each latency or bandwidth of a table as a 16-bit multiple of the table's
/// base, and refuses 65535 and more ("should not differ … on more than 65534").
const ENTRY_MAX: u64 = u16::MAX as u64 - 1;
/// QEMU writes a latency table's base in picoseconds in 32 bits: a base of 10^7 ns or more
/// would come out wrong.
const LATENCY_BASE_MAX: u64 = 1_000_000;

fn error(code: &'static str, message: String, span: Span, label: &str, help: &str) -> Diagnostic {
    Diagnostic::error(code, message, span, label.to_string()).with_help(help.to_string())
}

fn word(f: &Fields<'_>, key: &str, words: &[&'static str]) -> &'static str {
    let w = f.text(key).unwrap_or_default();
    words.iter().find(|x| **x == w).copied().unwrap_or(words[0])
}

pub fn check(fields: &[Fields<'_>], cells: &[GuestCell], diags: &mut Vec<Diagnostic>) -> Hmat {
    let mut hmat = Hmat::default();
    let help_cells = format!("the cells are 0 to {}", cells.len().saturating_sub(1));
    let cache_fields = caches(fields, cells, &help_cells, &mut hmat, diags);
    let link_fields = links(fields, cells, &help_cells, &mut hmat, diags);
    spread(&hmat.links, &link_fields, diags);
    caches_described(&hmat, &cache_fields, diags);
    hmat
}

/// `cache` lines, in order; returns the statement of each cache kept.
fn caches<'f>(
    fields: &'f [Fields<'f>],
    cells: &[GuestCell],
    help_cells: &str,
    hmat: &mut Hmat,
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'f Fields<'f>> {
    let mut kept = Vec::new();
    // The size (KiB) of each cell's cache of each level so far.
    let mut sizes: HashMap<(u32, u32), u64> = HashMap::new();
    for f in fields.iter().filter(|f| f.keyword() == "cache") {
        let (Some(id), Some(level), Some(size), Some(line)) =
            (f.int("cell"), f.int("level"), f.size("size"), f.size("line"))
        else {
            continue;
        };
        if !cells.iter().any(|c| u64::from(c.id) == id) {
            let message = format!("the guest has no cell {id}");
            diags.push(error(HMAT, message, f.span_of("cell"), "no such cell", help_cells));
            continue;
        }
        if !(1..=3).contains(&level) {
            diags.push(error(
                HMAT,
                format!("cache level {level} is out of range"),
                f.span_of("level"),
                "1 to 3",
                "HMAT describes memory-side caches of levels 1 to 3",
            ));
            continue;
        }
        if let Some(d) = cache_sizes(f, size, line) {
            diags.push(d);
            continue;
        }
        let (id, level, size_kib) = (id as u32, level as u32, size / 1024);
        if sizes.contains_key(&(id, level)) {
            diags.push(error(
                HMAT,
                format!("cell {id} has two level {level} caches"),
                f.span_of("level"),
                "again",
                "give each level of a cell one cache",
            ));
            continue;
        }
        if level > 1 {
            let Some(&above) = sizes.get(&(id, level - 1)) else {
                diags.push(error(
                    HMAT,
                    format!(
                        "cell {id} has a level {level} cache but no level {} cache before it",
                        level - 1
                    ),
                    f.span_of("level"),
                    "a gap",
                    "QEMU needs a cell's cache levels defined in order, from 1",
                ));
                continue;
            };
            if size_kib <= above {
                diags.push(error(
                    HMAT_CACHE,
                    format!(
                        "cell {id}'s level {level} cache ({}) is not larger than its level {} cache ({})",
                        crate::units::human_kib(size_kib),
                        level - 1,
                        crate::units::human_kib(above)
                    ),
                    f.span_of("size"),
                    "not larger",
                    "QEMU 7.2 refuses a cache level that is not larger than the level before it \
                     (\"the size of level=2 should be larger than the size … of level=1\")",
                ));
                continue;
            }
        }
        sizes.insert((id, level), size_kib);
        hmat.caches.push(CellCache {
            cell: id,
            level,
            size_kib,
            line_bytes: line,
            associativity: word(f, "associativity", &["none", "direct", "full"]),
            policy: word(f, "policy", &["none", "writeback", "writethrough"]),
        });
        kept.push(f);
    }
    kept
}

/// A cache's size (bytes) and line (bytes) as QEMU and libvirt take them.
fn cache_sizes(f: &Fields<'_>, size: u64, line: u64) -> Option<Diagnostic> {
    if size == 0 || !size.is_multiple_of(1024) || line == 0 {
        let key = if line == 0 { "line" } else { "size" };
        return Some(error(
            HMAT,
            format!(
                "the cache's `{key}=` must be positive{}",
                if key == "size" { " whole KiB" } else { "" }
            ),
            f.span_of(key),
            "bad size",
            "QEMU takes cache sizes in KiB and line sizes in bytes",
        ));
    }
    if line > LINE_MAX {
        return Some(error(
            HMAT_VALUE,
            format!("a cache line of {line} bytes is more than QEMU takes"),
            f.span_of("line"),
            "at most 65535 bytes",
            "QEMU 7.2 takes `line` as a 16-bit number of bytes (\"Parameter 'line' expects uint16_t\"): \
             at most 65535 bytes, so less than 64KiB",
        ));
    }
    if size / 1024 > SCHEMA_MAX {
        return Some(error(
            HMAT_VALUE,
            format!(
                "a cache of {} is more than libvirt takes",
                crate::units::human_kib(size / 1024)
            ),
            f.span_of("size"),
            "4TiB or more",
            "libvirt's schema takes a cache size of at most 4294967295 KiB (an unsignedInt), just under 4TiB",
        ));
    }
    None
}

/// A latency (ns) or bandwidth (KiB/s) value as QEMU and libvirt take it. A latency is an
/// integer the schema table already keeps within libvirt's `unsignedInt`.
fn link_value(f: &Fields<'_>, bandwidth: bool, diags: &mut Vec<Diagnostic>) -> Option<u64> {
    let span = f.span_of("value");
    if !bandwidth {
        let v = f.int("value")?;
        if v == 0 {
            let d = error(
                HMAT,
                "a latency must be positive".into(),
                span,
                "zero",
                "latencies are in nanoseconds",
            );
            diags.push(d);
            return None;
        }
        return Some(v);
    }
    let bytes = f.size("value")?;
    if bytes == 0 {
        let d = error(
            HMAT,
            "a bandwidth must be positive".into(),
            span,
            "zero",
            "bandwidths are per second",
        );
        diags.push(d);
        return None;
    }
    if !bytes.is_multiple_of(1 << 20) {
        diags.push(error(
            HMAT_VALUE,
            "a bandwidth must be a whole number of MiB per second".into(),
            span,
            "not whole MiB",
            "QEMU 7.2 refuses a bandwidth that is not a multiple of 1MiB (\"should be 1MB aligned\"); \
             write it in MiB or GiB (per second)",
        ));
        return None;
    }
    let kib = bytes / 1024;
    if kib > SCHEMA_MAX {
        diags.push(error(
            HMAT_VALUE,
            format!("a bandwidth of {}/s is more than libvirt takes", crate::units::human_kib(kib)),
            span,
            "4TiB/s or more",
            "libvirt's schema takes a bandwidth of at most 4294967295 KiB per second (an unsignedInt), just under 4TiB/s",
        ));
        return None;
    }
    Some(kib)
}

/// `latency` and `bandwidth` lines, in order; returns the statement of each link kept.
fn links<'f>(
    fields: &'f [Fields<'f>],
    cells: &[GuestCell],
    help_cells: &str,
    hmat: &mut Hmat,
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'f Fields<'f>> {
    let mut kept = Vec::new();
    let caches: HashSet<(u32, u32)> = hmat.caches.iter().map(|c| (c.cell, c.level)).collect();
    let mut given = HashSet::new();
    let cell = |id: u64| cells.iter().find(|c| u64::from(c.id) == id);
    for f in fields.iter().filter(|f| matches!(f.keyword(), "latency" | "bandwidth")) {
        let bandwidth = f.keyword() == "bandwidth";
        let (Some(initiator), Some(target)) = (f.int("initiator"), f.int("target")) else {
            continue;
        };
        let Some(value) = link_value(f, bandwidth, diags) else {
            continue;
        };
        match cell(initiator) {
            None => {
                let message = format!("the guest has no cell {initiator}");
                diags.push(error(HMAT, message, f.span_of("initiator"), "no such cell", help_cells));
                continue;
            }
            Some(c) if c.vcpus.is_empty() => {
                diags.push(error(
                    HMAT,
                    format!("cell {initiator} has no vCPUs, so it initiates no accesses"),
                    f.span_of("initiator"),
                    "not an initiator",
                    "an initiator is a cell with vCPUs",
                ));
                continue;
            }
            Some(_) => {}
        }
        if cell(target).is_none() {
            let message = format!("the guest has no cell {target}");
            diags.push(error(HMAT, message, f.span_of("target"), "no such cell", help_cells));
            continue;
        }
        let (initiator, target) = (initiator as u32, target as u32);
        let cache = f.int("cache").filter(|c| *c > 0).map(|c| c as u32);
        if let Some(level) = cache
            && !caches.contains(&(target, level))
        {
            diags.push(error(
                HMAT,
                format!("cell {target} has no level {level} cache"),
                f.span_of("cache"),
                "no such cache",
                "describe the cache with `cache cell=… level=…` first, or leave `cache=` out for the memory itself",
            ));
            continue;
        }
        let kind = word(f, "type", &["access", "read", "write"]);
        if !given.insert((initiator, target, cache, kind, bandwidth)) {
            diags.push(error(
                HMAT,
                format!("this {} is given twice", f.keyword()),
                f.span(),
                "again",
                "give each initiator, target, cache and type one value",
            ));
            continue;
        }
        hmat.links.push(HmatLink {
            initiator,
            target,
            cache,
            kind,
            bandwidth,
            value,
        });
        kept.push(f);
    }
    kept
}

/// QEMU keeps the links of one table (one cache level, type and measure) as 16-bit
/// multiples of one base: the largest power of ten dividing every latency (in ns), the
/// largest power of two dividing every bandwidth. A table whose values lie further apart
/// is refused by QEMU 7.2 when the far value comes last, and written wrong when it comes
/// first; it is an error either way.
fn spread(links: &[HmatLink], fields: &[&Fields<'_>], diags: &mut Vec<Diagnostic>) {
    let mut tables: BTreeMap<(Option<u32>, &str, bool), Vec<usize>> = BTreeMap::new();
    for (i, l) in links.iter().enumerate() {
        tables.entry((l.cache, l.kind, l.bandwidth)).or_default().push(i);
    }
    for ((cache, kind, bandwidth), members) in tables {
        let values = members.iter().map(|&i| links[i].value);
        let base = if bandwidth {
            values.map(|v| 1u64 << v.trailing_zeros()).min().unwrap_or(1)
        } else {
            values.map(power_of_ten).min().unwrap_or(1)
        };
        let (Some(&low), Some(&high)) = (
            members.iter().min_by_key(|&&i| links[i].value),
            members.iter().max_by_key(|&&i| links[i].value),
        ) else {
            continue;
        };
        let (Some(lf), Some(hf)) = (fields.get(low), fields.get(high)) else {
            continue;
        };
        let what = format!(
            "{kind} {} of {}",
            if bandwidth { "bandwidths" } else { "latencies" },
            cache.map_or("the cells' memory".to_string(), |c| format!("level {c} caches"))
        );
        let shown = |v: u64| {
            if bandwidth {
                format!("{}/s", crate::units::human_kib(v))
            } else {
                format!("{v} ns")
            }
        };
        let (lv, hv) = (links[low].value, links[high].value);
        if hv / base > ENTRY_MAX {
            let unit = if bandwidth {
                format!(
                    "{}/s, the largest power of two dividing them all",
                    crate::units::human_kib(base)
                )
            } else {
                format!("{base} ns, the largest power of ten dividing them all")
            };
            diags.push(
                Diagnostic::error(
                    HMAT_SPREAD,
                    format!(
                        "the {what} are too far apart for QEMU: {} is {} times {}",
                        shown(hv),
                        hv / base,
                        shown(base)
                    ),
                    hf.span_of("value"),
                    format!("{} units", hv / base),
                )
                .with_label(lf.span_of("value"), "the smallest")
                .with_help(format!(
                    "QEMU 7.2 stores one table's values as 16-bit multiples of one unit, here {unit}, \
                     and takes at most {ENTRY_MAX} units (\"should not differ … on more than 65534\"); \
                     bring them closer ({} is the smallest), or round them to a coarser common unit",
                    shown(lv)
                )),
            );
        } else if !bandwidth && base > LATENCY_BASE_MAX {
            diags.push(
                Diagnostic::error(
                    HMAT_SPREAD,
                    format!("every one of the {what} is a multiple of {base} ns, which QEMU writes wrong"),
                    lf.span_of("value"),
                    format!("a multiple of {base} ns"),
                )
                .with_help(
                    "QEMU 7.2 writes a latency table's unit in picoseconds in 32 bits, so a unit of 10 ms or more \
                     (every latency a multiple of 10,000,000 ns) comes out wrong in the guest; give one latency \
                     of the table a finer value",
                ),
            );
        }
    }
}

/// The largest power of ten dividing `v` (1 for 0).
fn power_of_ten(mut v: u64) -> u64 {
    let mut p = 1;
    while v > 0 && v.is_multiple_of(10) {
        v /= 10;
        p *= 10;
    }
    p
}

/// QEMU 7.2 takes a cell's caches only after a latency and a bandwidth to that cell.
fn caches_described(hmat: &Hmat, fields: &[&Fields<'_>], diags: &mut Vec<Diagnostic>) {
    let mut reached: HashMap<u32, (bool, bool)> = HashMap::new();
    for l in &hmat.links {
        let r = reached.entry(l.target).or_default();
        if l.bandwidth {
            r.1 = true;
        } else {
            r.0 = true;
        }
    }
    let mut told = HashSet::new();
    for (c, f) in hmat.caches.iter().zip(fields) {
        let (latency, bandwidth) = reached.get(&c.cell).copied().unwrap_or_default();
        if (latency && bandwidth) || !told.insert(c.cell) {
            continue;
        }
        let missing = match (latency, bandwidth) {
            (false, false) => "no latency and no bandwidth",
            (true, _) => "no bandwidth",
            _ => "no latency",
        };
        diags.push(error(
            HMAT_CACHE,
            format!("cell {} has a cache, but {missing} to it", c.cell),
            f.span_of("cell"),
            "not described",
            &format!(
                "QEMU 7.2 takes a cell's caches only with a latency and a bandwidth to the cell \
                 (\"The latency and bandwidth information of node-id={} should be provided before memory side cache attributes\"): \
                 add `latency … target={}` and `bandwidth … target={}`",
                c.cell, c.cell, c.cell
            ),
        ));
    }
}
