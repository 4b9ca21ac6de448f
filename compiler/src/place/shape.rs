//! How a guest is cut into cells: how many, on which host nodes, which vCPUs each holds,
//! the topology the guest sees, and the distances between its cells.

use super::outcome::{Field, PlanError, fail};
use super::request::{Distribution, Mode, Request};
use super::topo::HostTopo;
use crate::host::HostProfile;
use crate::ir::Topology;

/// A guest's cells before pinning and memory.
pub(super) struct Shape {
    /// Cells.
    pub n: u32,
    /// vCPUs per unit: a guest core's threads, or 1.
    pub t: u32,
    /// Units: guest cores of `t` vCPUs, or single vCPUs.
    pub units: u32,
    /// Per cell, the host node indices it runs on.
    pub groups: Vec<Vec<usize>>,
    /// Per cell, its units in order.
    pub cell_units: Vec<Vec<u32>>,
}

pub(super) fn shape(topo: &HostTopo, req: &Request, nodes: &[usize]) -> Result<Shape, PlanError> {
    let (n, t, units) = counts(topo, req, nodes.len() as u32)?;
    Ok(Shape {
        n,
        t,
        units,
        groups: groups(nodes, n),
        cell_units: cell_units(req, n, units),
    })
}

/// (cells, vCPUs per unit, units) for `p` host nodes, or why the request cannot be cut so.
fn counts(topo: &HostTopo, req: &Request, p: u32) -> Result<(u32, u32, u32), PlanError> {
    let n = req.cells.unwrap_or(if req.mode == Mode::Host { p } else { 1 });
    if n == 0 {
        return fail(
            Field::Cells,
            "a guest needs at least one cell".into(),
            "write `cells=1` or more",
        );
    }
    if req.mode == Mode::Host && n < p {
        return fail(
            Field::Cells,
            format!("`mode=host` mirrors {p} host nodes, so it needs at least {p} cells, not {n}"),
            &format!("use `cells={p}` or more, or `mode=node` to share nodes between cells"),
        );
    }
    let t = if req.distribution.core_units() {
        topo.smt.max(1)
    } else {
        1
    };
    if !req.vcpus.is_multiple_of(t) {
        return fail(
            Field::Vcpus,
            format!(
                "`distribution={}` places whole cores of {t} threads, but {} vCPUs is not a multiple of {t}",
                req.distribution.name(),
                req.vcpus
            ),
            &format!(
                "use {} or {} vCPUs, or `distribution=contiguous`",
                req.vcpus / t * t,
                (req.vcpus / t + 1) * t
            ),
        );
    }
    let units = req.vcpus / t;
    if units < n {
        return fail(
            Field::Cells,
            format!(
                "{n} cells need at least {n} {}, but the guest has {units}",
                if t > 1 { "guest cores" } else { "vCPUs" }
            ),
            &format!("use at most `cells={units}`"),
        );
    }
    Ok((n, t, units))
}

/// Cell → host node group: several cells per node, or several nodes per cell.
fn groups(nodes: &[usize], n: u32) -> Vec<Vec<usize>> {
    let p = nodes.len() as u32;
    if n >= p {
        let mut g = Vec::new();
        for (i, &node) in nodes.iter().enumerate() {
            let k = n / p + u32::from((i as u32) < n % p);
            for _ in 0..k {
                g.push(vec![node]);
            }
        }
        g
    } else {
        let mut g = Vec::new();
        let mut at = 0usize;
        for c in 0..n {
            let size = (p / n + u32::from(c < p % n)) as usize;
            g.push(nodes[at..at + size].to_vec());
            at += size;
        }
        g
    }
}

/// Units → cells.
fn cell_units(req: &Request, n: u32, units: u32) -> Vec<Vec<u32>> {
    let mut cell_units: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
    if req.distribution.modulo() {
        for j in 0..units {
            cell_units[(j % n) as usize].push(j);
        }
    } else {
        let mut j = 0;
        for (c, list) in cell_units.iter_mut().enumerate() {
            let count = units / n + u32::from((c as u32) < units % n);
            list.extend(j..j + count);
            j += count;
        }
    }
    cell_units
}

/// The topology the guest sees, and why its cells are uneven when they are.
pub(super) fn topology(req: &Request, s: &Shape) -> (Topology, Option<String>) {
    let (n, t, units) = (s.n, s.t, s.units);
    let even = units.is_multiple_of(n);
    let uneven = (!even).then(|| {
        format!(
            "{units} {} do not divide evenly into {n} cells: cells get {} or {}",
            if t > 1 { "guest cores" } else { "vCPUs" },
            units / n + 1,
            units / n
        )
    });
    let topology = match (req.distribution, even) {
        (Distribution::Contiguous, true) => Topology {
            sockets: n,
            dies: 1,
            cores: units / n,
            threads: 1,
        },
        (Distribution::Siblings, true) => Topology {
            sockets: n,
            dies: 1,
            cores: units / n,
            threads: t,
        },
        (Distribution::Contiguous | Distribution::RoundRobin, _) => Topology {
            sockets: req.vcpus,
            dies: 1,
            cores: 1,
            threads: 1,
        },
        (Distribution::Siblings | Distribution::Interleave, _) => Topology {
            sockets: units,
            dies: 1,
            cores: 1,
            threads: t,
        },
    };
    (topology, uneven)
}

/// Distances: the host's between different nodes, 11 within one node.
pub(super) fn distances(host: &HostProfile, s: &Shape) -> Option<Vec<Vec<u32>>> {
    let (n, groups) = (s.n, &s.groups);
    (n > 1).then(|| {
        (0..n as usize)
            .map(|i| {
                (0..n as usize)
                    .map(|j| {
                        if i == j {
                            return 10;
                        }
                        let mut best = u32::MAX;
                        for &a in &groups[i] {
                            for &b in &groups[j] {
                                best = best.min(host.distances.get(a).and_then(|r| r.get(b)).copied().unwrap_or(20));
                            }
                        }
                        best.clamp(11, 255)
                    })
                    .collect()
            })
            .collect()
    })
}
