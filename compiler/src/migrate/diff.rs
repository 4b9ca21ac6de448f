//! `vnumac migrate --diff`: what moves, as a short table: each vCPU's source and
//! destination CPUs, each cell's source and destination nodes, and the emulator and I/O
//! threads.

use crate::ir::Guest;
use crate::sets::IdSet;
use std::fmt::Write;

fn set(s: Option<&IdSet>) -> String {
    match s {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "-".to_string(),
    }
}

/// The I/O threads: one row when they are all pinned alike on both sides, else one each.
fn iothread_rows(before: &Guest, after: &Guest, rows: &mut Vec<[String; 3]>) {
    let alike = |g: &Guest| g.iothread_pins.windows(2).all(|w| w[0] == w[1]);
    if before.iothreads == 0 {
        return;
    }
    if alike(before) && alike(after) {
        rows.push([
            "iothreads".to_string(),
            set(before.iothread_pins.first().and_then(Option::as_ref)),
            set(after.iothread_pins.first().and_then(Option::as_ref)),
        ]);
        return;
    }
    for (k, b) in before.iothread_pins.iter().enumerate() {
        let a = after.iothread_pins.get(k).and_then(Option::as_ref);
        rows.push([format!("iothread {}", k + 1), set(b.as_ref()), set(a)]);
    }
}

/// Rows of three columns, aligned.
fn table(out: &mut String, rows: &[[String; 3]]) {
    let w0 = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r[1].chars().count()).max().unwrap_or(0);
    for r in rows {
        let _ = writeln!(out, "{:<w0$}  {:<w1$}  {}", r[0], r[1], r[2]);
    }
}

/// The nodes of a cell: its memory's nodes, else its vCPUs' CPUs' nodes.
fn cell_nodes(g: &Guest, host: &crate::host::HostProfile, cell: usize) -> Option<IdSet> {
    let c = g.cells.get(cell)?;
    if let Some(b) = &c.binding {
        return Some(b.nodes.clone());
    }
    let cpus = g
        .pins
        .iter()
        .filter(|p| c.vcpus.contains(p.vcpu))
        .fold(IdSet::new(), |all, p| all.union(&p.cpus));
    Some(host.nodes_of_cpus(&cpus))
}

/// The table of what moves from `before` on `src` to `after` on `dst`.
pub fn diff(
    before: &Guest,
    src: (&str, &crate::host::HostProfile),
    after: &Guest,
    dst: (&str, &crate::host::HostProfile),
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "guest `{}`: host `{}` → host `{}`", before.name, src.0, dst.0);
    let mut rows = vec![["vCPU".to_string(), src.0.to_string(), dst.0.to_string()]];
    let moved: std::collections::BTreeMap<u32, &IdSet> = after.pins.iter().map(|q| (q.vcpu, &q.cpus)).collect();
    for p in &before.pins {
        rows.push([p.vcpu.to_string(), set(Some(&p.cpus)), set(moved.get(&p.vcpu).copied())]);
    }
    if before.emulator_pin.is_some() || after.emulator_pin.is_some() {
        rows.push([
            "emulator".to_string(),
            set(before.emulator_pin.as_ref()),
            set(after.emulator_pin.as_ref()),
        ]);
    }
    iothread_rows(before, after, &mut rows);
    table(&mut out, &rows);
    if !before.cells.is_empty() {
        out.push('\n');
        let mut rows = vec![["cell".to_string(), format!("{} node", src.0), format!("{} node", dst.0)]];
        for (i, c) in before.cells.iter().enumerate() {
            rows.push([
                c.id.to_string(),
                set(cell_nodes(before, src.1, i).as_ref()),
                set(cell_nodes(after, dst.1, i).as_ref()),
            ]);
        }
        table(&mut out, &rows);
    }
    if let (Some(a), Some(b)) = (&before.memory_binding, &after.memory_binding) {
        let _ = writeln!(out, "\nmemory  nodes {}  →  nodes {}", a.nodes, b.nodes);
    }
    out
}
