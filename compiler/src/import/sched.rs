//! `<vcpusched>`, `<iothreadsched>` and `<emulatorsched>`: `sched` lines, refused where
//! libvirt refuses them when it parses the domain or Linux when libvirt starts it.

use std::collections::BTreeMap;

use super::dom::Node;
use super::draft::Draft;
use super::error::{ImportError, error_at};
use super::notes::{Notes, drop_unknown_attrs};
use super::read::{attr_u32, id_set};
use crate::ir::{REALTIME_PRIORITIES, SchedPolicy};
use crate::numbers::SCHED_PRIORITY;
use crate::sets::IdSet;

/// The ids each element set so far, to refuse a second setting: disjoint runs by first id.
#[derive(Default)]
struct Seen(BTreeMap<u32, u32>);

impl Seen {
    /// Whether `set` meets a run seen before; else it is recorded.
    fn overlaps(&mut self, set: &IdSet) -> bool {
        let runs = set.runs();
        for &(lo, hi) in &runs {
            let before = self.0.range(..=lo).next_back().is_some_and(|(_, end)| *end >= lo);
            if before || self.0.range(lo..=hi).next().is_some() {
                return true;
            }
        }
        self.0.extend(runs);
        false
    }
}

/// Every scheduling element of `<cputune>`, in the order libvirt formats them.
pub(super) fn sched(ct: &Node, d: &mut Draft, notes: &mut Notes) -> Result<(), ImportError> {
    let mut emulator = ct.all("emulatorsched");
    if let Some(e) = emulator.next() {
        if let Some(again) = emulator.next() {
            return Err(error_at(again.at, "<emulatorsched> is given twice (libvirt takes one)"));
        }
        drop_unknown_attrs(e, &["scheduler", "priority"], notes);
        d.sched.push(("sched emulator".to_string(), policy(e, notes)?));
    }
    let iothreads = d.iothreads.as_ref().map_or(0, |(n, _)| *n);
    for (element, key, what) in [
        ("vcpusched", "vcpus", "vCPU"),
        ("iothreadsched", "iothreads", "I/O thread"),
    ] {
        let mut seen = Seen::default();
        for e in ct.all(element) {
            drop_unknown_attrs(e, &[key, "scheduler", "priority"], notes);
            let text = e
                .attr(key)
                .ok_or_else(|| error_at(e.at, format!("<{element}> has no `{key}` (libvirt requires it)")))?;
            let set = id_set(e, key, text)?;
            let (first, last) = match key {
                "vcpus" => (0, d.vcpus.checked_sub(1)),
                _ => (1, (iothreads > 0).then_some(iothreads)),
            };
            // The set's ends, not its ids: `0-1048575` is one run.
            let out = match (set.first(), set.last(), last) {
                (Some(lo), _, _) if lo < first => Some(lo),
                (_, Some(hi), Some(l)) if hi > l => Some(hi),
                (_, Some(hi), None) => Some(hi),
                _ => None,
            };
            if let Some(out) = out {
                let why = match last {
                    Some(l) => format!("the guest has {what}s {first} to {l}, not {out} (libvirt rejects it)"),
                    None => format!("the guest has no {what}s, not {out} (libvirt rejects it)"),
                };
                return Err(error_at(e.at, format!("<{element} {key}='{text}'>: {why}")));
            }
            if seen.overlaps(&set) {
                return Err(error_at(
                    e.at,
                    format!(
                        "<{element} {key}='{text}'> sets a {what} an earlier <{element}> sets (libvirt rejects it)"
                    ),
                ));
            }
            d.sched.push((format!("sched {key}={set}"), policy(e, notes)?));
        }
    }
    Ok(())
}

/// `policy=… [priority=…]` of one element, read as libvirt reads it.
fn policy(e: &Node, notes: &mut Notes) -> Result<String, ImportError> {
    let word = e
        .attr("scheduler")
        .ok_or_else(|| error_at(e.at, format!("<{}> has no `scheduler` (libvirt requires it)", e.name)))?;
    let policy = SchedPolicy::from_word(word).ok_or_else(|| {
        error_at(
            e.at,
            format!(
                "<{} scheduler='{word}'>: libvirt knows `batch`, `idle`, `fifo` and `rr`",
                e.name
            ),
        )
    })?;
    if !policy.realtime() {
        // libvirt does not read a priority for these.
        if let Some(p) = e.attr("priority") {
            notes.drop(format!(
                "<{} priority='{p}'> on `{word}`, which libvirt ignores",
                e.name
            ));
        }
        return Ok(format!("policy={word}"));
    }
    let Some(priority) = attr_u32(e, "priority", &SCHED_PRIORITY)? else {
        return Err(error_at(
            e.at,
            format!(
                "<{} scheduler='{word}'> has no `priority` (libvirt requires one)",
                e.name
            ),
        ));
    };
    let (lo, hi) = REALTIME_PRIORITIES;
    if !(lo..=hi).contains(&priority) {
        return Err(error_at(
            e.at,
            format!(
                "<{} priority='{priority}'>: Linux takes `{word}` priorities {lo} to {hi}, and libvirt fails to start the guest with this one",
                e.name
            ),
        ));
    }
    Ok(format!("policy={word} priority={priority}"))
}
