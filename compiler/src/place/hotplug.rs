//! vCPU hotplug: which vCPUs are online at boot and in which order the rest come
//! and go, so that every cell keeps its share of online vCPUs within one unit.

use crate::ir::{Guest, VcpuState};
use crate::sets::IdSet;

/// The hotplug unit: a whole guest core when every cell holds whole cores, else one vCPU.
pub fn unit(g: &Guest) -> u32 {
    let t = g.effective_topology().threads.max(1);
    if t == 1 {
        return 1;
    }
    let whole = g.cells.iter().all(|c| {
        c.vcpus.iter().all(|v| {
            let base = v / t * t;
            (base..base + t).all(|x| c.vcpus.contains(x))
        })
    });
    if whole { t } else { 1 }
}

/// Every vCPU in the order it comes online: the cell holding vCPU 0 first, then always
/// the cell with the smallest online share (ties: the next cell after the last one served).
pub fn order(g: &Guest) -> Vec<u32> {
    let unit = unit(g);
    let mut cells: Vec<Vec<u32>> = g
        .cells
        .iter()
        .filter(|c| !c.vcpus.is_empty())
        .map(|c| c.vcpus.iter().collect())
        .collect();
    if cells.is_empty() {
        cells.push((0..g.vcpus).collect());
    }
    // Units per cell, each a run of `unit` vCPU ids in ascending order.
    let units: Vec<Vec<Vec<u32>>> = cells
        .iter()
        .map(|c| c.chunks(unit as usize).map(<[u32]>::to_vec).collect())
        .collect();
    let start = cells.iter().position(|c| c.contains(&0)).unwrap_or(0);
    let mut taken = vec![0usize; units.len()];
    let mut out = Vec::with_capacity(g.vcpus as usize);
    let mut last = start + units.len() - 1;
    while out.len() < g.vcpus as usize {
        let n = units.len();
        let pick = (1..=n)
            .map(|k| (last + k) % n)
            .filter(|&c| taken[c] < units[c].len())
            .min_by(|&a, &b| {
                // Compare taken[a]/len[a] with taken[b]/len[b] without floats.
                let (ta, la) = (taken[a] as u64, units[a].len() as u64);
                let (tb, lb) = (taken[b] as u64, units[b].len() as u64);
                (ta * lb).cmp(&(tb * la))
            });
        let Some(c) = pick else { break };
        out.extend(units[c][taken[c]].iter().copied());
        taken[c] += 1;
        last = c;
    }
    out
}

/// The `<vcpus>` list for `boot` vCPUs online out of the guest's maximum: vCPU 0 fixed,
/// every other vCPU hotpluggable, the first `boot` of [`order`] enabled, in that order.
pub fn states(g: &Guest, boot: u32) -> Vec<VcpuState> {
    let seq = order(g);
    let mut states: Vec<VcpuState> = (0..g.vcpus)
        .map(|id| VcpuState {
            id,
            enabled: false,
            hotpluggable: id != 0,
            order: None,
        })
        .collect();
    for (pos, &v) in seq.iter().take(boot as usize).enumerate() {
        if let Some(s) = states.get_mut(v as usize) {
            s.enabled = true;
            s.order = Some(pos as u32 + 1);
        }
    }
    states
}

/// libvirt's `<vcpu current='M'>` without a `<vcpus>` list: vCPUs 0 to M−1 online and
/// fixed, the rest offline and hotpluggable (`virDomainVcpuDefPostParse`).
pub fn fixed_states(vcpus: u32, current: u32) -> Vec<VcpuState> {
    (0..vcpus)
        .map(|id| VcpuState {
            id,
            enabled: id < current,
            hotpluggable: id >= current,
            order: None,
        })
        .collect()
}

/// The online sets on the way from `from` online vCPUs to `to`, one unit per step.
pub fn steps(g: &Guest, from: u32, to: u32) -> Vec<(bool, IdSet)> {
    let seq = order(g);
    let unit = unit(g) as usize;
    let (from, to) = (from as usize, to as usize);
    let mut out = Vec::new();
    if to > from {
        for chunk in seq[from.min(seq.len())..to.min(seq.len())].chunks(unit) {
            out.push((true, chunk.iter().copied().collect()));
        }
    } else {
        let part = &seq[to.min(seq.len())..from.min(seq.len())];
        let mut rev: Vec<&[u32]> = part.chunks(unit).collect();
        rev.reverse();
        for chunk in rev {
            out.push((false, chunk.iter().copied().collect()));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ir::*;

    /// A guest with one socket per cell, each cell's vCPUs as given, `threads` per core.
    pub(crate) fn guest(cells: &[&str], threads: u32) -> Guest {
        let cells: Vec<GuestCell> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| GuestCell {
                id: i as u32,
                vcpus: IdSet::parse(c).unwrap(),
                memory_kib: 1024,
                binding: None,
                hugepage_kib: None,
                shared: None,
                discard: None,
            })
            .collect();
        let vcpus = cells.iter().map(|c| c.vcpus.len() as u32).sum();
        Guest {
            name: "g".into(),
            memory_kib: 1024 * cells.len() as u64,
            vcpus,
            topology: Some(Topology {
                sockets: cells.len() as u32,
                dies: 1,
                cores: vcpus / cells.len() as u32 / threads,
                threads,
            }),
            cells,
            ..Default::default()
        }
    }

    #[test]
    fn the_talks_unplug_leaves_two_per_cell() {
        let g = guest(&["0-3", "4-7", "8-11", "12-15"], 2);
        let online: IdSet = order(&g).into_iter().take(8).collect();
        assert_eq!(online.to_string(), "0-1,4-5,8-9,12-13");
        let g = guest(&["0-3", "4-7", "8-11", "12-15"], 1);
        let online: IdSet = order(&g).into_iter().take(8).collect();
        assert_eq!(online.to_string(), "0-1,4-5,8-9,12-13");
    }

    #[test]
    fn every_prefix_is_balanced_for_uneven_cells() {
        let g = guest(&["0-2", "3-4", "5-9"], 1);
        let seq = order(&g);
        assert_eq!(seq.len(), 10);
        assert_eq!(seq[0], 0);
        for k in 1..=10 {
            let online: IdSet = seq.iter().take(k).copied().collect();
            let shares: Vec<f64> = g
                .cells
                .iter()
                .map(|c| c.vcpus.intersection(&online).len() as f64 / c.vcpus.len() as f64)
                .collect();
            let counts: Vec<usize> = g.cells.iter().map(|c| c.vcpus.intersection(&online).len()).collect();
            // Each cell's online count is within one vCPU of its proportional share.
            for (c, cnt) in g.cells.iter().zip(&counts) {
                let ideal = k as f64 * c.vcpus.len() as f64 / 10.0;
                assert!(
                    (*cnt as f64 - ideal).abs() <= 1.0,
                    "k={k} shares={shares:?} counts={counts:?}"
                );
            }
        }
    }

    #[test]
    fn states_fix_vcpu0_and_enable_the_boot_set() {
        let g = guest(&["0-3", "4-7"], 1);
        let s = states(&g, 4);
        assert!(!s[0].hotpluggable && s[0].enabled && s[0].order == Some(1));
        let enabled: IdSet = s.iter().filter(|v| v.enabled).map(|v| v.id).collect();
        assert_eq!(enabled.to_string(), "0-1,4-5");
        assert!(s.iter().skip(1).all(|v| v.hotpluggable));
    }
}
