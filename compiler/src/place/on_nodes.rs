//! One guest on given host nodes: its cells, vCPU pins, memory and distances.

use super::memory::place_memory;
use super::outcome::{Plan, PlanError};
use super::pin::pin;
use super::request::Request;
use super::shape::{distances, shape, topology};
use super::topo::{HostTopo, Ledger};
use crate::host::HostProfile;

/// Plan the guest on `nodes` (host node indices, in id order); `picked` when vnumac chose them.
pub(super) fn plan_on(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
    nodes: &[usize],
    picked: bool,
) -> Result<Plan, PlanError> {
    let s = shape(topo, req, nodes)?;
    let (topology, uneven) = topology(req, &s);
    let pins = pin(host, topo, ledger, req, &s)?;
    let memory = place_memory(host, ledger, req, nodes, &s)?;
    Ok(Plan {
        cells: memory.cells,
        pins: pins.pins,
        topology,
        distances: distances(host, &s),
        nodes: memory.nodes,
        picked,
        wanted: false,
        uneven,
        isolated: pins.isolated,
        dedicated: pins.dedicated,
        used_cores: pins.used_cores,
        l3_split: pins.l3_split,
        memory: memory.memory,
        page_kib: req.page_kib,
    })
}
