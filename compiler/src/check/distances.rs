//! `distance A B VALUE` and `distances from=host`: the guest's distance table.

use super::cells::Cells;
use super::cx::{Cx, errors_since};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::GuestCell;
use crate::lang::Fields;
use crate::span::Span;
use std::collections::HashMap;

/// The table, when the block writes one and it has no errors; unwritten pairs are 20
/// (10 on the diagonal), and `distance A B` also sets B→A unless `distance B A` is written.
pub(super) fn check(fields: &[Fields<'_>], cells: &Cells, cx: &mut Cx<'_, '_>) -> Option<Vec<Vec<u32>>> {
    let from_host = fields.iter().find(|f| f.keyword() == "distances");
    let explicit: Vec<&Fields<'_>> = fields.iter().filter(|f| f.keyword() == "distance").collect();
    if from_host.is_none() && explicit.is_empty() {
        return None;
    }
    let before = cx.diags.len();
    let n = cells.cells.len();
    let mut m: Vec<Vec<Option<u32>>> = vec![vec![None; n]; n];
    if let Some(f) = from_host {
        from_host_table(f, cells, &mut m, cx);
    }
    // Each written pair and where: one look-up per `distance` line.
    let mut seen: HashMap<(u32, u32), Span> = HashMap::new();
    for f in &explicit {
        if let Some((a, b, v)) = pair(f, n, &mut seen, cx) {
            m[a as usize][b as usize] = Some(v as u32);
        }
    }
    // Symmetric fill: `distance A B` sets B→A unless B A is written.
    for &(a, b) in seen.keys() {
        if !seen.contains_key(&(b, a)) {
            m[b as usize][a as usize] = m[a as usize][b as usize];
        }
    }
    (!errors_since(cx.diags, before)).then(|| {
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

/// `distances from=host`: every pair from the host's table, when every cell is bound.
fn from_host_table(f: &Fields<'_>, cells: &Cells, m: &mut [Vec<Option<u32>>], cx: &mut Cx<'_, '_>) {
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
        }
        Some(profile) => {
            let mut ok = true;
            for (c, span) in cells.cells.iter().zip(&cells.cell_spans) {
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
                for (i, (row, a)) in m.iter_mut().zip(&cells.cells).enumerate() {
                    for (j, (v, b)) in row.iter_mut().zip(&cells.cells).enumerate() {
                        *v = Some(host_distance(profile, a, b, i == j));
                    }
                }
            }
        }
    }
}

/// One `distance A B VALUE` line: its cells exist, it is not given twice, its value is in
/// range; `None` after an error (reported) or when a value did not parse.
fn pair(
    f: &Fields<'_>,
    n: usize,
    seen: &mut HashMap<(u32, u32), Span>,
    cx: &mut Cx<'_, '_>,
) -> Option<(u32, u32, u64)> {
    let (Some(a), Some(b), Some(v)) = (f.arg_int(0), f.arg_int(1), f.arg_int(2)) else {
        return None;
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
        }
    }
    if a as usize >= n || b as usize >= n {
        return None;
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
        return None;
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
        return None;
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
                "Linux ignores the whole table when an off-diagonal distance is 10 or less; use 11 or more".to_string()
            } else {
                "use a value of at most 255".to_string()
            }),
        );
        return None;
    }
    Some((a, b, v))
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
