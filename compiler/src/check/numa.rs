//! `numa { cell ... distance ... distances from=host }`: hand-written guest cells.

use super::codes::*;
use super::cx::Cx;
use super::schema::{self, Context, Fields};
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::{GuestCell, MemBinding, MemPolicy};
use crate::sets::IdSet;
use crate::span::Span;
use std::collections::HashMap;

/// The most NUMA nodes QEMU 7.2 starts a guest with (`MAX_NODES`: "Max number of NUMA
/// nodes reached").
pub const MAX_CELLS: usize = 128;

/// More than [`MAX_CELLS`] cells, reported at `span`.
pub fn too_many_cells(count: u64, span: Span, label: &str) -> Diagnostic {
    Diagnostic::error(
        CELL_COUNT,
        format!("{count} guest cells are more than QEMU takes"),
        span,
        label.to_string(),
    )
    .with_help(format!(
        "QEMU 7.2 starts a guest with at most {MAX_CELLS} NUMA nodes (\"Max number of NUMA nodes reached\"); use at most {MAX_CELLS} cells"
    ))
}

/// More `cell` lines than [`MAX_CELLS`]: the error, at the first one past the limit.
fn count_cells(fields: &[Fields<'_>]) -> Option<Diagnostic> {
    let mut cells = fields.iter().filter(|f| f.keyword() == "cell");
    let past = cells.nth(MAX_CELLS)?;
    let count = MAX_CELLS + 1 + cells.count();
    Some(too_many_cells(
        count as u64,
        past.stmt.head_span(),
        &format!("cell number {} of this block", MAX_CELLS + 1),
    ))
}

/// The guest's cells, as written in `numa` or placed by `vnuma`, with where each came from.
#[derive(Default)]
pub struct Cells {
    /// Sorted by id; ids are 0..k-1 when there are no errors.
    pub cells: Vec<GuestCell>,
    /// The span of each cell's statement head.
    pub cell_spans: Vec<Span>,
    /// The span of each cell's `host-node=`.
    pub binding_spans: Vec<Option<Span>>,
    /// Each cell's own `hugepages=` (its size is in the cell's `hugepage_kib`) and its span.
    pub page_spans: Vec<Option<Span>>,
    pub distances: Option<Vec<Vec<u32>>>,
    pub hmat: crate::ir::Hmat,
}

pub(super) fn check_numa(
    numa: &Fields<'_>,
    vcpus: u32,
    memory_kib: u64,
    memory_span: Option<Span>,
    cx: &mut Cx<'_, '_>,
) -> Cells {
    let body = numa.stmt.block.as_ref().map(|b| b.statements.as_slice()).unwrap_or(&[]);
    schema::check_repeats(body, Context::Numa, cx.diags);
    let fields: Vec<Fields<'_>> = body
        .iter()
        .filter_map(|s| schema::check(s, Context::Numa, cx.diags))
        .collect();

    // Counted before anything per cell is built: the distance table is cells × cells.
    if let Some(d) = count_cells(&fields) {
        cx.diags.push(d);
        return Cells::default();
    }
    let mut cells: Vec<(GuestCell, Span, Option<Span>, Span)> = Vec::new();
    let mut page_spans: Vec<(u32, Option<Span>)> = Vec::new();
    for f in fields.iter().filter(|f| f.keyword() == "cell") {
        let Some(id) = f.arg_int(0) else { continue };
        let id_span = f.arg_span(0);
        if let Some((_, _, _, other)) = cells.iter().find(|(c, ..)| u64::from(c.id) == id) {
            cx.diags.push(
                Diagnostic::error(CELL_IDS, format!("cell {id} is defined twice"), id_span, "again here")
                    .with_label(*other, "first here")
                    .with_help("give each cell its own id, 0 to k-1"),
            );
            continue;
        }
        let bytes = f.size("memory").unwrap_or(0);
        if bytes == 0 && f.has("memory") {
            cx.diags.push(
                Diagnostic::error(MEMORY_GRANULE, format!("cell {id} has no memory"), f.span_of("memory"), "0")
                    .with_help(
                        "libvirt 9.0 gives every cell a memory backend of the cell's size, and QEMU 7.2 refuses a backend of size 0 (\"property 'size' of memory-backend-ram doesn't take value '0'\"), so the guest would not start; give the cell at least 1MiB, or put its vCPUs in a cell that has memory",
                    ),
            );
        } else if bytes == 0 || bytes % (1 << 20) != 0 {
            cx.diags.push(
                Diagnostic::error(
                    MEMORY_GRANULE,
                    format!("cell {id} memory must be a positive whole number of MiB"),
                    f.span_of("memory"),
                    "not a whole MiB",
                )
                .with_help(
                    "libvirt rounds cell memory up to 1 MiB, which would break the sum; write it in `MiB` or `GiB`",
                ),
            );
        }
        let policy = f.text("policy").map(MemPolicy::parse);
        let binding = match (f.set("host-node"), policy) {
            (Some(nodes), p) => {
                let policy = p.unwrap_or(MemPolicy::Strict);
                if policy == MemPolicy::Preferred && nodes.len() != 1 {
                    cx.diags.push(super::cx::preferred_error(nodes, f.span_of("host-node")));
                }
                Some(MemBinding {
                    nodes: nodes.clone(),
                    policy,
                    auto: false,
                })
            }
            (None, Some(_)) => {
                cx.diags.push(
                    Diagnostic::error(
                        POLICY_WITHOUT_NODE,
                        format!("cell {id} has a policy but no `host-node=`"),
                        f.span_of("policy"),
                        "policy for which nodes?",
                    )
                    .with_help("add `host-node=N` naming the host node(s) that back this cell"),
                );
                None
            }
            (None, None) => None,
        };
        let cell = GuestCell {
            id: u32::try_from(id).unwrap_or(u32::MAX),
            vcpus: f.set("cpus").cloned().unwrap_or_default(),
            memory_kib: bytes / 1024,
            binding,
            hugepage_kib: f.size("hugepages").map(|b| b / 1024),
            shared: f.text("access").map(|a| a == "shared"),
            discard: f.bool("discard"),
        };
        let bspan = f.has("host-node").then(|| f.span_of("host-node"));
        let pspan = f.has("hugepages").then(|| f.span_of("hugepages"));
        page_spans.push((cell.id, pspan));
        cells.push((cell, f.stmt.head_span(), bspan, id_span));
    }
    cells.sort_by_key(|(c, ..)| c.id);

    // Ids 0..k-1.
    for (k, (c, _, _, id_span)) in cells.iter().enumerate() {
        if c.id as usize != k {
            cx.diags.push(
                Diagnostic::error(
                    CELL_IDS,
                    format!(
                        "cell ids must be 0 to {} without gaps; cell {k} is missing",
                        cells.len() - 1
                    ),
                    *id_span,
                    format!("cell {}", c.id),
                )
                .with_help(format!("renumber this cell as {k}")),
            );
            break;
        }
    }

    // vCPU coverage: disjoint, within range, complete; every problem reported at once.
    let mut owner: Vec<Option<usize>> = vec![None; vcpus as usize];
    let mut coverage_ok = true;
    for (i, (c, span, _, _)) in cells.iter().enumerate() {
        let guest_vcpus = match vcpus {
            0 => IdSet::new(),
            n => IdSet::range(0, n - 1),
        };
        let out_of_range = c.vcpus.difference(&guest_vcpus);
        // Per earlier cell: the vCPUs this cell claims too.
        let mut shared: Vec<(usize, IdSet)> = Vec::new();
        for v in c.vcpus.intersection(&guest_vcpus).iter() {
            match owner[v as usize] {
                Some(o) => match shared.iter_mut().find(|(x, _)| *x == o) {
                    Some((_, set)) => set.insert(v),
                    None => shared.push((o, IdSet::single(v))),
                },
                None => owner[v as usize] = Some(i),
            }
        }
        if !out_of_range.is_empty() {
            let first = out_of_range.first().unwrap_or(0);
            cx.diags.push(
                Diagnostic::error(
                    VCPU_RANGE,
                    if out_of_range.len() == 1 {
                        format!("cell {} names vCPU {first}, but the guest has {vcpus} vCPUs", c.id)
                    } else {
                        format!(
                            "cell {} names vCPUs {out_of_range}, but the guest has {vcpus} vCPUs",
                            c.id
                        )
                    },
                    *span,
                    if out_of_range.len() == 1 {
                        format!("vCPU {first} does not exist")
                    } else {
                        format!("vCPUs {out_of_range} do not exist")
                    },
                )
                .with_help(if vcpus > 0 {
                    format!("vCPU ids run from 0 to {}", vcpus - 1)
                } else {
                    "set `vcpus`".into()
                }),
            );
            coverage_ok = false;
        }
        for (o, set) in shared {
            let (what, verb) = if set.len() == 1 {
                (format!("vCPU {set}"), "is")
            } else {
                (format!("vCPUs {set}"), "are")
            };
            cx.diags.push(
                Diagnostic::error(
                    VCPU_COVERAGE,
                    format!("{what} {verb} in cells {} and {}", cells[o].0.id, c.id),
                    *span,
                    format!("cell {} claims {what}", c.id),
                )
                .with_label(
                    cells[o].1,
                    format!(
                        "cell {} claims {} too",
                        cells[o].0.id,
                        if set.len() == 1 { "it" } else { "them" }
                    ),
                )
                .with_help(format!(
                    "cell CPU sets must be disjoint; remove {} from one cell",
                    if set.len() == 1 { "it" } else { "them" }
                )),
            );
            coverage_ok = false;
        }
    }
    if !cells.is_empty() {
        let missing: IdSet = owner
            .iter()
            .enumerate()
            .filter(|(_, o)| o.is_none())
            .map(|(v, _)| v as u32)
            .collect();
        if !missing.is_empty() {
            cx.diags.push(
                Diagnostic::error(
                    VCPU_COVERAGE,
                    if missing.len() == 1 {
                        format!("vCPU {missing} is in no cell")
                    } else {
                        format!("vCPUs {missing} are in no cell")
                    },
                    numa.stmt.keyword.span,
                    "cells do not cover every vCPU",
                )
                .with_help("libvirt would silently put them in cell 0; add them to a cell's `cpus=`"),
            );
            coverage_ok = false;
        }
    }
    // Linux numbers guest nodes in the order the firmware table first names them: by vCPU,
    // then memory-only cells. Cell ids in another order are renamed inside the guest.
    if coverage_ok && !cells.is_empty() {
        let mut seen: Vec<usize> = Vec::new();
        for o in owner.iter().flatten() {
            if !seen.contains(o) {
                seen.push(*o);
            }
        }
        seen.extend((0..cells.len()).filter(|i| cells[*i].0.vcpus.is_empty()));
        if let Some(k) = seen.iter().enumerate().position(|(k, i)| k != *i)
            && seen.len() == cells.len()
        {
            let (cell, span, ..) = &cells[seen[k]];
            cx.diags.push(
                Diagnostic::warning(
                    GUEST_RENUMBERS,
                    format!("the guest kernel will call cell {} node {k}", cell.id),
                    *span,
                    format!("seen as node {k} inside the guest"),
                )
                .with_help(
                    "Linux numbers nodes by their first vCPU, memory-only cells last; give cells ids in that order so node ids match inside the guest",
                ),
            );
        }
    }
    if !cells.is_empty() && cells.iter().all(|(c, ..)| c.vcpus.is_empty()) {
        cx.diags.push(
            Diagnostic::error(
                NO_CPU_CELL,
                "no cell has vCPUs",
                numa.stmt.keyword.span,
                "memory-only cells only",
            )
            .with_help("give at least one cell `cpus=`"),
        );
    }

    // Memory sum.
    let sum: u64 = cells.iter().map(|(c, ..)| c.memory_kib).sum();
    if !cells.is_empty() && memory_kib > 0 && sum != memory_kib {
        let mut d = Diagnostic::error(
            CELL_MEMORY_SUM,
            format!(
                "cells hold {} but the guest has {}",
                crate::units::human_kib(sum),
                crate::units::human_kib(memory_kib)
            ),
            numa.stmt.keyword.span,
            format!("cells sum to {}", crate::units::human_kib(sum)),
        );
        if let Some(ms) = memory_span {
            d = d.with_label(ms, "guest memory");
        }
        cx.diags.push(d.with_help(format!(
            "make the cells sum to the guest memory, or write `memory {}`",
            crate::units::human_kib(sum)
        )));
    }

    let n = cells.len();
    let distances = distances(&fields, &cells, n, cx);
    let plain: Vec<GuestCell> = cells.iter().map(|(c, ..)| c.clone()).collect();
    let hmat = super::hmat::check(&fields, &plain, cx.diags);
    Cells {
        hmat,
        cell_spans: cells.iter().map(|(_, s, _, _)| *s).collect(),
        binding_spans: cells.iter().map(|(_, _, b, _)| *b).collect(),
        page_spans: cells
            .iter()
            .map(|(c, ..)| page_spans.iter().find(|(id, _)| *id == c.id).and_then(|(_, s)| *s))
            .collect(),
        cells: cells.into_iter().map(|(c, ..)| c).collect(),
        distances,
    }
}

fn distances(
    fields: &[Fields<'_>],
    cells: &[(GuestCell, Span, Option<Span>, Span)],
    n: usize,
    cx: &mut Cx<'_, '_>,
) -> Option<Vec<Vec<u32>>> {
    let from_host = fields.iter().find(|f| f.keyword() == "distances");
    let explicit: Vec<&Fields<'_>> = fields.iter().filter(|f| f.keyword() == "distance").collect();
    if from_host.is_none() && explicit.is_empty() {
        return None;
    }
    let mut m: Vec<Vec<Option<u32>>> = vec![vec![None; n]; n];
    let mut ok = true;
    if let Some(f) = from_host {
        match cx.host.map(|h| h.profile) {
            None => {
                cx.diags.push(
                    Diagnostic::error(
                        HOST_NEEDED,
                        "`distances from=host` needs a host",
                        f.span(),
                        "host-dependent",
                    )
                    .with_label(cx.guest_span, "this guest has no host")
                    .with_help("give the guest `on=HOST`, or write `distance A B VALUE` lines"),
                );
                ok = false;
            }
            Some(profile) => {
                for (c, span, ..) in cells {
                    if c.binding.is_none() {
                        cx.diags.push(
                            Diagnostic::error(
                                DISTANCES_UNBOUND,
                                format!("cell {} has no `host-node=`, so its host distance is unknown", c.id),
                                *span,
                                "not bound to a host node",
                            )
                            .with_label(f.span(), "distances taken from the host")
                            .with_help("bind every cell with `host-node=`, or write `distance` lines"),
                        );
                        ok = false;
                    }
                }
                if ok {
                    for i in 0..n {
                        for j in 0..n {
                            m[i][j] = Some(host_distance(profile, &cells[i].0, &cells[j].0, i == j));
                        }
                    }
                }
            }
        }
    }
    // Each written pair and where: one look-up per `distance` line.
    let mut seen: HashMap<(u32, u32), Span> = HashMap::new();
    for f in &explicit {
        let (Some(a), Some(b), Some(v)) = (f.arg_int(0), f.arg_int(1), f.arg_int(2)) else {
            continue;
        };
        for (i, id) in [(0, a), (1, b)] {
            if id as usize >= n {
                cx.diags.push(
                    Diagnostic::error(
                        DISTANCE_CELL,
                        format!("there is no cell {id}"),
                        f.arg_span(i),
                        "unknown cell",
                    )
                    .with_help(if n > 0 {
                        format!("cells are 0 to {}", n - 1)
                    } else {
                        "define cells first".into()
                    }),
                );
                ok = false;
            }
        }
        if a as usize >= n || b as usize >= n {
            continue;
        }
        let (a, b) = (a as u32, b as u32);
        if let Some(first) = seen.get(&(a, b)) {
            cx.diags.push(
                Diagnostic::error(
                    DISTANCE_TWICE,
                    format!("distance {a} {b} is given twice"),
                    f.span(),
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help("keep one of them"),
            );
            ok = false;
            continue;
        }
        seen.insert((a, b), f.span());
        if a == b && v != 10 {
            cx.diags.push(
                Diagnostic::error(
                    DISTANCE_VALUE,
                    format!("a cell's distance to itself must be 10, found {v}"),
                    f.arg_span(2),
                    "must be 10",
                )
                .with_help("remove this line: the diagonal is always 10"),
            );
            ok = false;
            continue;
        }
        if a != b && !(11..=255).contains(&v) {
            cx.diags.push(
                Diagnostic::error(
                    DISTANCE_VALUE,
                    format!("distance between cells must be 11 to 255, found {v}"),
                    f.arg_span(2),
                    "out of range",
                )
                .with_help(if v <= 10 {
                    "Linux ignores the whole table when an off-diagonal distance is 10 or less; use 11 or more"
                        .to_string()
                } else {
                    "use a value of at most 255".to_string()
                }),
            );
            ok = false;
            continue;
        }
        m[a as usize][b as usize] = Some(v as u32);
    }
    // Symmetric fill: `distance A B` sets B→A unless B A is written.
    for &(a, b) in seen.keys() {
        if !seen.contains_key(&(b, a)) {
            m[b as usize][a as usize] = m[a as usize][b as usize];
        }
    }
    ok.then(|| {
        m.iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, v)| v.unwrap_or(if i == j { 10 } else { 20 }))
                    .collect()
            })
            .collect()
    })
}

/// Host distance between two cells' bound nodes: the smallest over the sets;
/// cells on the same node are 11 apart.
fn host_distance(profile: &HostProfile, a: &GuestCell, b: &GuestCell, same: bool) -> u32 {
    if same {
        return 10;
    }
    let (Some(x), Some(y)) = (&a.binding, &b.binding) else {
        return 20;
    };
    let mut best = u32::MAX;
    for i in x.nodes.iter() {
        for j in y.nodes.iter() {
            if let Some(d) = profile.distance(i, j) {
                best = best.min(d);
            }
        }
    }
    match best {
        u32::MAX => 20,
        d if d <= 10 => 11,
        d => d.min(255),
    }
}
