//! Planning one guest: on the host nodes it names, or on nodes picked for it.

use super::on_nodes::plan_on;
use super::outcome::{Field, Plan, PlanError, fail};
use super::pick::pick_nodes;
use super::request::{Mode, Request};
use super::topo::{HostTopo, Ledger};
use crate::host::HostProfile;

/// Plan one guest against what earlier guests left in the ledger (`plan` does not record it:
/// see [`super::outcome::commit`]).
pub fn plan(host: &HostProfile, topo: &HostTopo, ledger: &Ledger, req: &Request) -> Result<Plan, PlanError> {
    if req.mode == Mode::Node && req.nodeset.is_none() {
        return pick_nodes(host, topo, ledger, req);
    }
    let nodes = resolve_nodes(host, req)?;
    plan_on(host, topo, ledger, req, &nodes, false)
}

/// Node indices the guest may use, from `mode` and `nodeset`.
fn resolve_nodes(host: &HostProfile, req: &Request) -> Result<Vec<usize>, PlanError> {
    let wanted = req.nodeset.clone().unwrap_or_else(|| host.node_ids());
    let missing = wanted.difference(&host.node_ids());
    if !missing.is_empty() {
        return fail(
            Field::Nodeset,
            format!("the host has no node {missing}"),
            &format!("the host has nodes {}", host.node_ids()),
        );
    }
    let mut out = Vec::new();
    for id in wanted.iter() {
        let Some(i) = host.node_index(id) else { continue };
        if host.nodes[i].cpus.is_empty() {
            if req.mode == Mode::Node {
                return fail(
                    Field::Nodeset,
                    format!("host node {id} has no CPUs"),
                    "memory-only nodes (such as CXL expanders) cannot run vCPUs; bind a hand-written memory-only cell to them instead",
                );
            }
            continue; // mode=host mirrors the nodes that have CPUs.
        }
        out.push(i);
    }
    if out.is_empty() {
        return fail(
            Field::Nodeset,
            "no host node with CPUs to place the guest on".into(),
            "name nodes that have CPUs",
        );
    }
    Ok(out)
}
