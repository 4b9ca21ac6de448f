//! `memory SIZE ...`: the guest's initial memory, how it is backed, and its page size.

use super::body::Body;
use super::cx::Cx;
use super::pages::{check_page_size, whole_pages};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{MemoryBacking, MemorySource};
use crate::lang::{self, Fields};

pub(super) struct Memory {
    pub(super) kib: u64,
    pub(super) locked: bool,
    pub(super) backing: MemoryBacking,
    pub(super) hugepage_kib: Option<u64>,
}

pub(super) fn check(body: &Body<'_>, name: &str, cx: &mut Cx<'_, '_>) -> Memory {
    let memory = body.find("memory");
    let kib = size(memory, body, name, cx);
    let locked = memory.and_then(|f| f.bool("locked")).unwrap_or(false);
    let backing = backing(memory);
    if let Some(f) = memory
        && f.int("prealloc-threads") == Some(0)
    {
        cx.err(
            Diagnostic::error(
                lang::WRONG_KIND,
                "`prealloc-threads=` must be at least 1",
                f.span_of("prealloc-threads"),
                "no threads",
            )
            .with_help("leave it out for QEMU's default of one thread"),
        );
    }
    let hugepage_kib = memory.and_then(|f| f.size("hugepages")).map(|b| b / 1024);
    if let (Some(f), Some(page)) = (memory, hugepage_kib) {
        let _ = check_page_size(cx, page, f.span_of("hugepages"), "`hugepages=`");
        // With cells of their own page sizes, each cell is checked instead.
        let own_pages = body.find("numa").and_then(|n| n.stmt.block.as_ref()).is_some_and(|b| {
            b.statements
                .iter()
                .any(|s| s.props.iter().any(|p| p.key.text == "hugepages"))
        });
        if !own_pages && let Some(d) = whole_pages("guest memory", kib, page, f.arg_span(0)) {
            cx.err(d);
        }
    }
    Memory {
        kib,
        locked,
        backing,
        hugepage_kib,
    }
}

/// The initial size in KiB; 0 after an error.
fn size(memory: Option<&Fields<'_>>, body: &Body<'_>, name: &str, cx: &mut Cx<'_, '_>) -> u64 {
    match memory.and_then(|f| f.arg_size(0)) {
        Some(b) if b % 1024 != 0 || b == 0 => {
            let f = memory.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span);
            cx.err(
                Diagnostic::error(
                    MEMORY_GRANULE,
                    "guest memory must be a positive whole number of KiB",
                    f,
                    "not a whole KiB",
                )
                .with_help("write the size in `MiB` or `GiB`"),
            );
            0
        }
        Some(b) => b / 1024,
        None => {
            if !body.writes("memory") {
                cx.err(
                    Diagnostic::error(
                        MISSING_STATEMENT,
                        format!("guest `{name}` has no `memory`"),
                        cx.guest_span,
                        "memory missing",
                    )
                    .with_help("add `memory 8GiB` (or the size you need) to the guest"),
                );
            }
            0
        }
    }
}

fn backing(memory: Option<&Fields<'_>>) -> MemoryBacking {
    MemoryBacking {
        source: match memory.and_then(|f| f.text("source")) {
            Some("file") => MemorySource::File,
            Some("memfd") => MemorySource::Memfd,
            _ => MemorySource::Anonymous,
        },
        shared: memory.and_then(|f| f.text("access")).map(|a| a == "shared"),
        prealloc: memory.and_then(|f| f.bool("prealloc")).unwrap_or(false),
        prealloc_threads: memory
            .and_then(|f| f.int("prealloc-threads"))
            .and_then(|n| u32::try_from(n).ok()),
        discard: memory.and_then(|f| f.bool("discard")).filter(|d| *d),
    }
}
