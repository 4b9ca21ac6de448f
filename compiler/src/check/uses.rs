//! What a guest's threads and vCPUs ask of its host beyond its own step: the threads and
//! shared vCPUs placed after every guest of the host (`shared.rs`, `emulator.rs`), the
//! cores it holds as dedicated, and where its vCPUs float (`floats.rs`).

use super::body::Body;
use super::cx::HostRef;
use super::floats::{Float, Holds};
use super::pins::Pins;
use super::shared::Later;
use super::thread_pins::ThreadPins;
use super::vnuma::Placed;
use crate::ir::GuestCell;
use crate::sets::IdSet;

pub(super) struct Uses {
    /// The host node of a placed guest's emulator threads when they share it.
    pub(super) emulator_node: Option<u32>,
    pub(super) later: Later,
    pub(super) holds: Holds,
}

/// The guest's uses of its host: `vcpus` vCPUs in `cells`, pinned as `pinning` says, its
/// threads, and its placement when `vnuma` placed it.
pub(super) fn of(
    body: &Body<'_>,
    vcpus: u32,
    cells: &[GuestCell],
    pinning: &Pins,
    threads: &ThreadPins,
    placed: Option<&Placed>,
    host: Option<&HostRef<'_>>,
) -> Uses {
    let mut out = Uses {
        emulator_node: None,
        later: Later::default(),
        holds: Holds::default(),
    };
    let vnuma = body.find("vnuma");
    let Some(p) = placed else {
        // Written by hand: the vCPUs no `pin` names float over every CPU of the host.
        if let Some(h) = host
            && !body.writes("vnuma")
            && vcpus > 0
        {
            let pinned: IdSet = pinning.pins.iter().map(|p| p.vcpu).collect();
            let unpinned = IdSet::range(0, vcpus - 1).difference(&pinned);
            if !unpinned.is_empty() {
                out.holds.floats.push(Float {
                    vcpus: unpinned,
                    cpus: h.profile.cpu_ids(),
                    span: body.find("vcpus").map_or_else(|| body_span(body), |f| f.span()),
                });
            }
        }
        return out;
    };
    out.emulator_node = threads.emulator.is_none().then_some(p.emulator_node);
    if p.dedicated {
        out.holds.held = p.held.clone();
    } else if let Some(v) = vnuma {
        // `pinning=node`: each cell's vCPUs float over its nodes.
        for c in cells.iter().filter(|c| !c.vcpus.is_empty()) {
            let Some(first) = c.vcpus.first() else { continue };
            if let Some(pin) = pinning.pins.iter().find(|p| p.vcpu == first) {
                out.holds.floats.push(Float {
                    vcpus: c.vcpus.clone(),
                    cpus: pin.cpus.clone(),
                    span: v.span_of("pinning"),
                });
            }
        }
    }
    out.later.iothreads = threads.later.clone();
    out.later.iothreads_span = body.find("iothreads").map_or_else(|| body_span(body), |f| f.span());
    if let Some(v) = vnuma {
        out.later.shared_span = v.span_of("shared-vcpus");
        for (c, nodes) in cells.iter().zip(&p.cell_nodes) {
            let mine = c.vcpus.intersection(&threads.shared_vcpus);
            if !mine.is_empty() {
                out.later.shared.push((mine, nodes.clone()));
            }
        }
    }
    out
}

/// The guest block's first statement, or nothing: where a guest without the statement is
/// reported.
fn body_span(body: &Body<'_>) -> crate::span::Span {
    body.written.first().map(|s| s.span).unwrap_or_default()
}
