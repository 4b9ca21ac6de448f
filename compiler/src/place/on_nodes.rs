//! One guest on given host nodes: cells, vCPU pins, memory and distances.

use super::l3::cores_by_l3;
use super::memory::memory_home;
use super::outcome::{Field, Plan, PlanError, PlannedCell, fail};
use super::request::{Distribution, Mode, Pinning, Request};
use super::topo::{HostTopo, Ledger};
use crate::host::HostProfile;
use crate::ir::{MemBinding, MemPolicy, Topology, VcpuPin};
use crate::sets::IdSet;
use crate::units::human_kib;

pub(super) fn plan_on(
    host: &HostProfile,
    topo: &HostTopo,
    ledger: &Ledger,
    req: &Request,
    nodes: &[usize],
    picked: bool,
) -> Result<Plan, PlanError> {
    let p = nodes.len() as u32;
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

    // Cell → host node group.
    let groups: Vec<Vec<usize>> = if n >= p {
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
    };

    // Units → cells.
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

    // Pinning.
    let mut pins: Vec<VcpuPin> = Vec::new();
    let mut used_cores = Vec::new();
    let mut l3_split = false;
    match req.pinning {
        Pinning::Cpu => {
            // Each unit takes a whole host core. A cell on one node takes that node's cores; a cell
            // over several nodes fills them in order, each up to its free cores.
            let free: Vec<Vec<usize>> = topo
                .node_cores
                .iter()
                .map(|cores| {
                    cores
                        .iter()
                        .copied()
                        .filter(|&c| {
                            !ledger.core_used[c] && !topo.cores[c].reserved && topo.cores[c].threads.len() as u32 >= t
                        })
                        .collect()
                })
                .collect();
            let mut remaining: Vec<u32> = free.iter().map(|f| f.len() as u32).collect();
            let what = if t > 1 {
                format!("whole {t}-thread cores")
            } else {
                "cores".to_string()
            };
            let help = vec![if t == 1 {
                "each vCPU gets a physical core of its own, so its sibling thread stays free".to_string()
            } else {
                format!("each guest core takes one host core's {t} threads")
            }];
            let mut demand = vec![0u32; host.nodes.len()];
            for (c, list) in cell_units.iter().enumerate() {
                if let [node] = groups[c].as_slice() {
                    demand[*node] += list.len() as u32;
                }
            }
            for (node, &d) in demand.iter().enumerate() {
                if d > remaining[node] {
                    let id = host.nodes[node].id;
                    let cells_here: Vec<String> = groups
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| g.as_slice() == [node])
                        .map(|(c, _)| c.to_string())
                        .collect();
                    let many = cells_here.len() > 1;
                    return Err(PlanError {
                        field: Field::Statement,
                        capacity: true,
                        message: format!(
                            "host node {id} has {} free {what} but cell{} {} need{} {d} (short by {})",
                            remaining[node],
                            if many { "s" } else { "" },
                            cells_here.join(", "),
                            if many { "" } else { "s" },
                            d - remaining[node]
                        ),
                        help,
                    });
                }
                remaining[node] -= d;
            }
            // (cell, unit, node)
            let mut unit_node: Vec<(usize, u32, usize)> = Vec::new();
            for (c, list) in cell_units.iter().enumerate() {
                for &u in list {
                    let node = match groups[c].as_slice() {
                        [one] => Some(*one),
                        many => many
                            .iter()
                            .copied()
                            .find(|&g| remaining[g] > 0)
                            .inspect(|&g| remaining[g] -= 1),
                    };
                    let Some(node) = node else {
                        let ids: IdSet = groups[c].iter().map(|&i| host.nodes[i].id).collect();
                        let have: u32 = groups[c].iter().map(|&i| free[i].len() as u32).sum();
                        return Err(PlanError {
                            field: Field::Statement,
                            capacity: true,
                            message: format!(
                                "host nodes {ids} have {have} free {what} but cell {c} needs {} (short by {})",
                                list.len(),
                                (list.len() as u32).saturating_sub(have)
                            ),
                            help,
                        });
                    };
                    unit_node.push((c, u, node));
                }
            }
            let unit_core = if topo.l3_cores.is_empty() {
                // Units in order take each node's free cores in order.
                let mut next: Vec<std::vec::IntoIter<usize>> = free.into_iter().map(Vec::into_iter).collect();
                let mut units: Vec<(u32, usize)> = unit_node.iter().map(|&(_, u, node)| (u, node)).collect();
                units.sort_unstable();
                units
                    .into_iter()
                    .filter_map(|(u, node)| next.get_mut(node)?.next().map(|core| (u, core)))
                    .collect()
            } else {
                cores_by_l3(topo, ledger, free, &unit_node)
            };
            if !topo.l3_cores.is_empty() {
                // Each cell's L3 domain so far: None before its first core.
                let mut unit_cell = vec![0usize; units as usize];
                for (c, list) in cell_units.iter().enumerate() {
                    for &u in list {
                        if let Some(slot) = unit_cell.get_mut(u as usize) {
                            *slot = c;
                        }
                    }
                }
                let mut cell_domain: Vec<Option<Option<usize>>> = vec![None; n as usize];
                for &(u, core) in &unit_core {
                    let d = topo.cores.get(core).and_then(|c| c.l3);
                    let Some(seen) = unit_cell.get(u as usize).and_then(|&c| cell_domain.get_mut(c)) else {
                        continue;
                    };
                    match seen {
                        None => *seen = Some(d),
                        Some(first) => l3_split |= *first != d,
                    }
                }
                // A cell on cores of no domain is not in one domain either.
                l3_split |= cell_domain.iter().any(|d| matches!(d, Some(None)));
            }
            for (u, core) in unit_core {
                used_cores.push(core);
                let threads = &topo.cores[core].threads;
                for k in 0..t {
                    let vcpu = u * t + k;
                    let cpu = threads[k as usize];
                    pins.push(VcpuPin {
                        vcpu,
                        cpus: IdSet::single(cpu),
                    });
                }
            }
        }
        Pinning::Node => {
            for (c, list) in cell_units.iter().enumerate() {
                let cpus: IdSet = groups[c]
                    .iter()
                    .flat_map(|&i| host.nodes[i].cpus.iter())
                    .filter(|cpu| !host.reserved.contains(*cpu) && !ledger.taken.contains(*cpu))
                    .collect();
                if cpus.is_empty() {
                    let ids: IdSet = groups[c].iter().map(|&i| host.nodes[i].id).collect();
                    return Err(PlanError {
                        field: Field::Statement,
                        capacity: true,
                        message: format!(
                            "every CPU of host node{} {ids} is reserved or pinned by hand-written guests, leaving none for cell {c}",
                            if ids.len() > 1 { "s" } else { "" }
                        ),
                        help: vec!["place the guest on other nodes".into()],
                    });
                }
                for &u in list {
                    for k in 0..t {
                        pins.push(VcpuPin {
                            vcpu: u * t + k,
                            cpus: cpus.clone(),
                        });
                    }
                }
            }
        }
    }
    pins.sort_by_key(|p| p.vcpu);

    // Memory: by vCPU share, in whole pages, leftovers to the lowest cells.
    let page = req.page_kib.unwrap_or(1024);
    if !req.memory_kib.is_multiple_of(page) {
        let lo = req.memory_kib / page * page;
        return fail(
            Field::Memory,
            format!(
                "{} is not a whole number of {} pages",
                human_kib(req.memory_kib),
                human_kib(page)
            ),
            &format!("write `memory {}` or `memory {}`", human_kib(lo), human_kib(lo + page)),
        );
    }
    let pages = req.memory_kib / page;
    let counts: Vec<u64> = cell_units.iter().map(|l| l.len() as u64 * u64::from(t)).collect();
    let mut cell_pages: Vec<u64> = counts.iter().map(|v| pages * v / u64::from(req.vcpus)).collect();
    let mut left = pages - cell_pages.iter().sum::<u64>();
    for cp in cell_pages.iter_mut() {
        if left == 0 {
            break;
        }
        *cp += 1;
        left -= 1;
    }
    if let Some(c) = cell_pages.iter().position(|&cp| cp == 0) {
        return fail(
            Field::Memory,
            format!(
                "{} is too little to give every cell a page; cell {c} would get none",
                human_kib(req.memory_kib)
            ),
            &format!("give the guest at least {} of memory", human_kib(page * u64::from(n))),
        );
    }
    // Memory lives on the nodes themselves, or for a node without memory on the nearest
    // node that has some.
    let homes = |list: &[usize]| -> Vec<usize> {
        let mut h: Vec<usize> = list.iter().map(|&i| memory_home(host, i)).collect();
        h.sort_unstable();
        h.dedup();
        h
    };
    let all_homes = homes(nodes);
    let all_ids: IdSet = all_homes.iter().map(|&i| host.nodes[i].id).collect();
    let mut memory: Vec<(usize, u64)> = Vec::new();
    let mut cells = Vec::new();
    for (c, list) in cell_units.iter().enumerate() {
        let cpu_ids: IdSet = groups[c].iter().map(|&i| host.nodes[i].id).collect();
        let group_homes = homes(&groups[c]);
        let group_ids: IdSet = group_homes.iter().map(|&i| host.nodes[i].id).collect();
        let binding = match req.memory_mode {
            MemPolicy::Interleave => MemBinding {
                nodes: all_ids.clone(),
                policy: MemPolicy::Interleave,
                auto: false,
            },
            MemPolicy::Preferred => {
                if group_homes.len() != 1 {
                    return fail(
                        Field::MemoryMode,
                        format!(
                            "`memory-mode=preferred` takes one node per cell, but cell {c} spans nodes {group_ids}"
                        ),
                        "use `memory-mode=strict` or `interleave`, or more cells",
                    );
                }
                MemBinding {
                    nodes: group_ids.clone(),
                    policy: MemPolicy::Preferred,
                    auto: false,
                }
            }
            _ => MemBinding {
                nodes: group_ids.clone(),
                policy: MemPolicy::Strict,
                auto: false,
            },
        };
        let spread: Vec<usize> = if req.memory_mode == MemPolicy::Interleave {
            all_homes.clone()
        } else {
            group_homes.clone()
        };
        let g = spread.len() as u64;
        for (k, &node) in spread.iter().enumerate() {
            let share = cell_pages[c] / g + u64::from((k as u64) < cell_pages[c] % g);
            memory.push((node, share * page));
        }
        let vcpus: IdSet = list.iter().flat_map(|&u| (u * t)..(u * t + t)).collect();
        cells.push(PlannedCell {
            vcpus,
            memory_kib: cell_pages[c] * page,
            nodes: cpu_ids,
            binding,
        });
    }
    for &node in &all_homes {
        let need: u64 = memory.iter().filter(|(i, _)| *i == node).map(|(_, kib)| kib).sum();
        let room = ledger.room(host, node, req.page_kib);
        if need > room {
            let id = host.nodes[node].id;
            let what = match req.page_kib {
                Some(size) => format!("{} free {} pages", room / size, human_kib(size)),
                None => format!("{} free", human_kib(room)),
            };
            let needs = match req.page_kib {
                Some(size) => format!("{} pages", need / size),
                None => human_kib(need),
            };
            return Err(PlanError {
                field: Field::Memory,
                capacity: true,
                message: format!("host node {id} has {what} but the guest's cells there need {needs}"),
                help: vec![format!("short by {}", human_kib(need - room))],
            });
        }
    }

    // Distances: the host's between different nodes, 11 within one node.
    let distances = (n > 1).then(|| {
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
    });

    Ok(Plan {
        cells,
        pins,
        topology,
        distances,
        nodes: all_ids,
        picked,
        uneven,
        used_cores,
        l3_split,
        memory,
        page_kib: req.page_kib,
    })
}
