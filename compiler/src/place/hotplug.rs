//! vCPU hotplug: which vCPUs are online at boot and in which order the rest come
//! and go, so that every cell keeps its share of online vCPUs within one unit.

use crate::ir::{Guest, VcpuState};

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
