//! When a guest does not fit: the largest guest, the fewer cells, the node or the
//! pinning that would.

use super::guest::plan;
use super::outcome::{Plan, PlanError};
use super::request::{Isolation, Mode, Pinning, Request};
use super::topo::{HostTopo, Ledger};
use crate::host::HostProfile;
use crate::sets::IdSet;

/// Plan, and on running out of room, find what would fit instead.
pub fn plan_with_hints(host: &HostProfile, topo: &HostTopo, ledger: &Ledger, req: &Request) -> Result<Plan, PlanError> {
    let mut err = match plan(host, topo, ledger, req) {
        Ok(p) => return Ok(p),
        Err(e) if !e.capacity => return Err(e),
        Err(e) => e,
    };
    let fits = |r: &Request| plan(host, topo, ledger, r).is_ok();
    // The largest guest that fits, vCPUs first (in whole units), then memory (in GiB).
    let unit = if req.distribution.core_units() {
        topo.smt.max(1)
    } else {
        1
    };
    let largest = |lo: u64, hi: u64, with: &dyn Fn(u64) -> Request| -> Option<u64> {
        if hi < lo || !fits(&with(lo)) {
            return None;
        }
        let (mut ok, mut bad) = (lo, hi + 1);
        while bad - ok > 1 {
            let mid = ok + (bad - ok) / 2;
            if fits(&with(mid)) {
                ok = mid;
            } else {
                bad = mid;
            }
        }
        Some(ok)
    };
    let vcpus_units = u64::from(req.vcpus / unit);
    if let Some(u) = largest(1, vcpus_units.saturating_sub(1), &|u| Request {
        vcpus: (u as u32) * unit,
        cells: req.cells.map(|c| c.min(u as u32)),
        ..req.clone()
    }) {
        err.help.push(format!("`vcpus {}` fits", u as u32 * unit));
    }
    const GIB: u64 = 1 << 20;
    if let Some(g) = largest(1, (req.memory_kib / GIB).saturating_sub(1), &|g| Request {
        memory_kib: g * GIB,
        ..req.clone()
    }) {
        err.help.push(format!("`memory {g}GiB` fits"));
    }
    let cells_now = req.cells.unwrap_or(0);
    for k in (1..cells_now).rev() {
        let r = Request {
            cells: Some(k),
            ..req.clone()
        };
        if fits(&r) {
            err.help.push(format!("cells={k} fits"));
            break;
        }
    }
    if req.mode == Mode::Node {
        for n in &host.nodes {
            let r = Request {
                nodeset: Some(IdSet::single(n.id)),
                ..req.clone()
            };
            if req.nodeset.as_ref() != r.nodeset.as_ref() && fits(&r) {
                err.help.push(format!("node {} has room: `nodeset={}`", n.id, n.id));
                break;
            }
        }
    }
    let isolating = req.isolated != Isolation::default();
    if isolating {
        let r = Request {
            isolated: Isolation::default(),
            ..req.clone()
        };
        if fits(&r) {
            err.help
                .push("`policy=share` fits, with the emulator and I/O threads on CPUs no dedicated vCPU uses".into());
        }
    }
    if req.pinning == Pinning::Cpu && !isolating && req.shared.is_empty() {
        let r = Request {
            pinning: Pinning::Node,
            ..req.clone()
        };
        if fits(&r) {
            err.help
                .push("`pinning=node` fits, with vCPUs sharing their nodes' CPUs".into());
        }
    }
    Err(err)
}
