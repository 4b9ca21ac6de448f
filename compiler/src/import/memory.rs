//! `<memory>`, `<currentMemory>`, `<maxMemory>` and `<memoryBacking>`, and the initial
//! memory libvirt starts the guest with.

use super::align::{MIB, round_up};
use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs, drop_unknown_children};
use super::read::{at_most, attr_u32, required_kib, text_kib};
use crate::numbers::{ALLOCATION_THREADS, SLOTS};

pub(super) fn memory(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    // Without <memory>, libvirt takes the cells' sum; the cells are read later (settle_memory).
    if let Some(m) = root.child("memory") {
        d.total_kib = text_kib(m, "<memory>", notes)?;
    }
    if let Some(cur) = root.child("currentMemory")
        && let Some(kib) = text_kib(cur, "<currentMemory>", notes)?
        && Some(kib) != d.total_kib
    {
        notes.drop("<currentMemory> (a balloon target; vnumac guests have no balloon)");
    }
    if let Some(max) = root.child("maxMemory") {
        // Absent, empty or 0 slots: libvirt 9.0 rejects the <maxMemory>, newer libvirt takes it.
        let slots = attr_u32(max, "slots", &SLOTS)?.unwrap_or(0);
        let slots = at_most(max, slots, MAX_SLOTS, "the 255 memory slots QEMU takes on x86_64")?;
        if slots == 0 {
            notes.newer("<maxMemory> without slots; add `slots=1` to `max=`, which every libvirt takes");
        }
        let kib = required_kib(max, "<maxMemory>", notes)?;
        let kib = round_up(kib, MIB, "<maxMemory>", notes);
        d.max = Some((kib, slots));
    }
    let Some(mb) = root.child("memoryBacking") else {
        return Ok(());
    };
    drop_unknown_children(
        mb,
        &["hugepages", "locked", "source", "access", "allocation", "discard"],
        notes,
    );
    d.locked = mb.child("locked").is_some();
    backing(mb, d, notes)?;
    let Some(hp) = mb.child("hugepages") else {
        return Ok(());
    };
    super::pages::read(root, hp, d, notes)
}

/// `<source>`, `<access>`, `<allocation>` and `<discard>` of `<memoryBacking>`.
fn backing(mb: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    if let Some(s) = mb.child("source") {
        drop_unknown_attrs(s, &["type"], notes);
        match s.attr("type") {
            Some(t @ ("file" | "memfd")) => d.backing.push(format!("source={t}")),
            Some("anonymous") | None => {}
            Some(t) => notes.drop(format!("<source type='{t}'> in <memoryBacking>")),
        }
    }
    if let Some(a) = mb.child("access") {
        drop_unknown_attrs(a, &["mode"], notes);
        match a.attr("mode") {
            Some(m @ ("shared" | "private")) => d.backing.push(format!("access={m}")),
            other => notes.drop(format!("<access mode='{}'>", other.unwrap_or(""))),
        }
    }
    if let Some(a) = mb.child("allocation") {
        drop_unknown_attrs(a, &["mode", "threads"], notes);
        match a.attr("mode") {
            Some("immediate") => d.backing.push("prealloc=true".into()),
            Some("ondemand") | None => {}
            Some(m) => notes.drop(format!("<allocation mode='{m}'>")),
        }
        // Absent, empty or 0: QEMU's default.
        if let Some(t) = attr_u32(a, "threads", &ALLOCATION_THREADS)?.filter(|t| *t > 0) {
            d.backing.push(format!("prealloc-threads={t}"));
        }
    }
    if mb.child("discard").is_some() {
        d.backing.push("discard=true".into());
    }
    Ok(())
}

/// The most memory slots a guest has (`max=… slots=` in a `.vnuma` file takes 1 to 255).
const MAX_SLOTS: u32 = 255;

/// The initial memory as libvirt starts the guest: with cells, the sum of the (rounded)
/// cells; otherwise `<memory>` less the memory devices, rounded up to 1 MiB.
pub(super) fn settle_memory(root: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let cells: u64 = d.cells.iter().map(|c| c.memory_kib).sum();
    match d.total_kib {
        None if d.cells.is_empty() => return Err(error_at(root.at, "the domain has no <memory> and no NUMA cells")),
        None => {}
        Some(total) if !d.cells.is_empty() => {
            let initial = total.saturating_sub(d.memdev_kib);
            if initial != cells {
                notes.change(format!(
                    "<memory> less the memory devices is {initial} KiB, but the cells hold {cells} KiB: libvirt starts the guest with the cells' sum"
                ));
            }
        }
        Some(_) => {}
    }
    d.initial_kib = match d.total_kib {
        _ if !d.cells.is_empty() => cells,
        Some(total) => round_up(total.saturating_sub(d.memdev_kib), MIB, "the initial memory", notes),
        None => 0,
    };
    Ok(())
}
