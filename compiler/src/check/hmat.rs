//! HMAT: memory-side caches of cells (`cache`) and the latencies and bandwidths between
//! cells (`latency`, `bandwidth`), as libvirt's `<cell><cache>` and `<interconnects>`.

use super::codes::HMAT;
use super::schema::Fields;
use crate::diagnostics::Diagnostic;
use crate::ir::{CellCache, GuestCell, Hmat, HmatLink};
use crate::span::Span;

fn error(message: String, span: Span, label: &str, help: &str) -> Diagnostic {
    Diagnostic::error(HMAT, message, span, label.to_string()).with_help(help.to_string())
}

fn word(f: &Fields<'_>, key: &str, words: &[&'static str]) -> &'static str {
    let w = f.text(key).unwrap_or_default();
    words.iter().find(|x| **x == w).copied().unwrap_or(words[0])
}

pub fn check(fields: &[Fields<'_>], cells: &[GuestCell], diags: &mut Vec<Diagnostic>) -> Hmat {
    let mut hmat = Hmat::default();
    let cell = |id: u64| cells.iter().find(|c| u64::from(c.id) == id);
    let help_cells = format!("the cells are 0 to {}", cells.len().saturating_sub(1));
    for f in fields.iter().filter(|f| f.keyword() == "cache") {
        let (Some(id), Some(level), Some(size), Some(line)) =
            (f.int("cell"), f.int("level"), f.size("size"), f.size("line"))
        else {
            continue;
        };
        if cell(id).is_none() {
            diags.push(error(
                format!("the guest has no cell {id}"),
                f.span_of("cell"),
                "no such cell",
                &help_cells,
            ));
            continue;
        }
        if !(1..=3).contains(&level) {
            diags.push(error(
                format!("cache level {level} is out of range"),
                f.span_of("level"),
                "1 to 3",
                "HMAT describes memory-side caches of levels 1 to 3",
            ));
            continue;
        }
        if size == 0 || size % 1024 != 0 || line == 0 {
            let key = if line == 0 { "line" } else { "size" };
            diags.push(error(
                format!(
                    "the cache's `{key}=` must be positive{}",
                    if key == "size" { " whole KiB" } else { "" }
                ),
                f.span_of(key),
                "bad size",
                "QEMU takes cache sizes in KiB and line sizes in bytes",
            ));
            continue;
        }
        let (id, level) = (id as u32, level as u32);
        if hmat.caches.iter().any(|c| c.cell == id && c.level == level) {
            diags.push(error(
                format!("cell {id} has two level {level} caches"),
                f.span_of("level"),
                "again",
                "give each level of a cell one cache",
            ));
            continue;
        }
        if level > 1 && !hmat.caches.iter().any(|c| c.cell == id && c.level == level - 1) {
            diags.push(error(
                format!(
                    "cell {id} has a level {level} cache but no level {} cache before it",
                    level - 1
                ),
                f.span_of("level"),
                "a gap",
                "QEMU needs a cell's cache levels defined in order, from 1",
            ));
            continue;
        }
        hmat.caches.push(CellCache {
            cell: id,
            level,
            size_kib: size / 1024,
            line_bytes: line,
            associativity: word(f, "associativity", &["none", "direct", "full"]),
            policy: word(f, "policy", &["none", "writeback", "writethrough"]),
        });
    }
    for f in fields.iter().filter(|f| matches!(f.keyword(), "latency" | "bandwidth")) {
        let bandwidth = f.keyword() == "bandwidth";
        let (Some(initiator), Some(target)) = (f.int("initiator"), f.int("target")) else {
            continue;
        };
        let value = if bandwidth {
            match f.size("value") {
                Some(b) if b > 0 && b % 1024 == 0 => b / 1024,
                Some(_) => {
                    diags.push(error(
                        "a bandwidth must be a positive whole number of KiB per second".into(),
                        f.span_of("value"),
                        "not whole KiB",
                        "write it in KiB, MiB or GiB (per second)",
                    ));
                    continue;
                }
                None => continue,
            }
        } else {
            match f.int("value") {
                Some(v) if v > 0 => v,
                Some(_) => {
                    diags.push(error(
                        "a latency must be positive".into(),
                        f.span_of("value"),
                        "zero",
                        "latencies are in nanoseconds",
                    ));
                    continue;
                }
                None => continue,
            }
        };
        match cell(initiator) {
            None => {
                diags.push(error(
                    format!("the guest has no cell {initiator}"),
                    f.span_of("initiator"),
                    "no such cell",
                    &help_cells,
                ));
                continue;
            }
            Some(c) if c.vcpus.is_empty() => {
                diags.push(error(
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
            diags.push(error(
                format!("the guest has no cell {target}"),
                f.span_of("target"),
                "no such cell",
                &help_cells,
            ));
            continue;
        }
        let (initiator, target) = (initiator as u32, target as u32);
        let cache = f.int("cache").filter(|c| *c > 0).map(|c| c as u32);
        if let Some(level) = cache
            && !hmat.caches.iter().any(|c| c.cell == target && c.level == level)
        {
            diags.push(error(
                format!("cell {target} has no level {level} cache"),
                f.span_of("cache"),
                "no such cache",
                "describe the cache with `cache cell=… level=…` first, or leave `cache=` out for the memory itself",
            ));
            continue;
        }
        let kind = word(f, "type", &["access", "read", "write"]);
        if hmat.links.iter().any(|l| {
            (l.initiator, l.target, l.cache, l.kind, l.bandwidth) == (initiator, target, cache, kind, bandwidth)
        }) {
            diags.push(error(
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
    }
    hmat
}
