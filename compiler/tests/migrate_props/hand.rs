//! Hand-written guests for a host, their CPUs chosen as a spec says: single-CPU pins, SMT
//! sibling pairs, node-wide and floating pins, two vCPUs on one CPU, emulator and I/O
//! thread pins, cells bound with every policy, hugepages, a DIMM, devices.

use std::fmt::Write as _;

use vnumac::host::HostProfile;
use vnumac::sets::IdSet;

use crate::build::{GIB, HOSTDEV, HandSpec, ThreadPin, free_page_sizes, pick};

/// Writes hand-written guests for one host, choosing CPUs as the spec says.
pub struct Hand<'h> {
    h: &'h HostProfile,
    /// CPUs this guest has not pinned a vCPU to alone, per node index.
    free: Vec<Vec<u32>>,
    /// CPUs this guest pinned a vCPU to alone.
    singles: Vec<u32>,
}

impl<'h> Hand<'h> {
    pub fn new(h: &'h HostProfile) -> Hand<'h> {
        let free = h
            .nodes
            .iter()
            .map(|n| n.cpus.iter().filter(|c| !h.reserved.contains(*c)).collect())
            .collect();
        Hand {
            h,
            free,
            singles: Vec::new(),
        }
    }

    /// Node indices with CPUs a vCPU may be pinned to.
    fn cpu_nodes(&self) -> Vec<usize> {
        (0..self.h.nodes.len()).filter(|&i| !self.free[i].is_empty()).collect()
    }

    fn take(&mut self, node: usize, k: usize) -> Option<u32> {
        let list = &mut self.free[node];
        if list.is_empty() {
            return None;
        }
        let cpu = list.remove(k % list.len());
        self.singles.push(cpu);
        Some(cpu)
    }

    /// Two free threads of one core of the node.
    fn take_pair(&mut self, node: usize, k: usize) -> Option<(u32, u32)> {
        let free = &self.free[node];
        let cores: Vec<(u32, u32)> = free
            .iter()
            .filter_map(|&c| {
                let sib = &self.h.cpu(c)?.siblings;
                let mate = sib.iter().find(|&s| s > c && free.contains(&s))?;
                (sib.first() == Some(c) || !free.contains(&sib.first()?)).then_some((c, mate))
            })
            .collect();
        let (a, b) = pick(&cores, k)?;
        self.free[node].retain(|&c| c != a && c != b);
        self.singles.extend([a, b]);
        Some((a, b))
    }

    /// A few CPUs of the node (taken or not), for a pin a vCPU floats over.
    fn some_cpus(&self, node: usize, k: usize, count: usize) -> IdSet {
        let all: Vec<u32> = self.h.nodes[node]
            .cpus
            .iter()
            .filter(|c| !self.h.reserved.contains(*c))
            .collect();
        (0..count).filter_map(|i| pick(&all, k + i * 7)).collect()
    }

    /// The node index a unit of a cell bound to `bound` runs on.
    fn unit_node(&self, bound: Option<usize>, k: usize) -> Option<usize> {
        let nodes = self.cpu_nodes();
        match bound {
            Some(b) if k.is_multiple_of(2) && !self.free[b].is_empty() => Some(b),
            _ => pick(&nodes, k / 2),
        }
    }

    /// The pin lines of one unit (vCPU `v`, or vCPUs `v` and `v + 1` for a pair).
    fn pin_unit(&mut self, w: u16, v: u32, pair: bool, bound: Option<usize>, out: &mut String) {
        let kind = w % 8;
        let k = usize::from(w / 8);
        let Some(node) = self.unit_node(bound, k) else { return };
        let id = self.h.nodes[node].id;
        let vcpus = if pair { format!("{v}-{}", v + 1) } else { v.to_string() };
        let node_pin = |out: &mut String| {
            let _ = writeln!(out, "  pin vcpus={vcpus} node={id}");
        };
        match (pair, kind) {
            (true, 0..=2) => match self.take_pair(node, k / 4) {
                Some((a, b)) => {
                    let _ = writeln!(out, "  pin vcpus={v} cpus={a}\n  pin vcpus={} cpus={b}", v + 1);
                }
                None => node_pin(out),
            },
            (true, 3 | 4) => {
                for (i, vcpu) in [v, v + 1].into_iter().enumerate() {
                    match self.take(node, k / 4 + i) {
                        Some(c) => {
                            let _ = writeln!(out, "  pin vcpus={vcpu} cpus={c}");
                        }
                        None => {
                            let _ = writeln!(out, "  pin vcpus={vcpu} node={id}");
                        }
                    }
                }
            }
            (false, 0..=3) => match self.take(node, k / 4) {
                Some(c) => {
                    let _ = writeln!(out, "  pin vcpus={v} cpus={c}");
                }
                None => node_pin(out),
            },
            // Two vCPUs of the guest on one CPU.
            (false, 6) if !self.singles.is_empty() => {
                let c = self.singles[k % self.singles.len()];
                let _ = writeln!(out, "  pin vcpus={v} cpus={c}");
            }
            (true, 5) | (false, 4) => node_pin(out),
            (true, 6) | (false, 5 | 6) => {
                let mut cpus = self.some_cpus(node, k, 2 + k % 2);
                if k % 5 == 4
                    && let Some(other) = pick(&self.cpu_nodes(), k / 5)
                {
                    cpus = cpus.union(&self.some_cpus(other, k, 1));
                }
                let _ = writeln!(out, "  pin vcpus={vcpus} cpus={cpus}");
            }
            _ => {}
        }
    }

    /// A thread set's pin: `emulator …` or `… cpus=…` after the statement's own words.
    fn thread_pin(&self, p: &ThreadPin) -> Option<String> {
        match p {
            ThreadPin::Cpus(k, reserved) => {
                let k = usize::from(*k);
                if *reserved && !self.h.reserved.is_empty() {
                    let r: Vec<u32> = self.h.reserved.iter().collect();
                    let cpus: IdSet = [pick(&r, k), pick(&r, k + 1)].into_iter().flatten().collect();
                    return Some(format!("cpus={cpus}"));
                }
                let node = pick(&self.cpu_nodes(), k)?;
                Some(format!("cpus={}", self.some_cpus(node, k / 3, 1 + k % 2)))
            }
            ThreadPin::Node(k) => {
                let node = pick(&self.cpu_nodes(), usize::from(*k))?;
                Some(format!("node={}", self.h.nodes[node].id))
            }
        }
    }

    /// The guest block.
    pub fn write(mut self, g: &HandSpec, name: &str, host: &str) -> String {
        let h = self.h;
        let page = g.hugepages.and_then(|k| pick(&free_page_sizes(h), usize::from(k)));
        let unit = match page {
            None => 512 * 1024,
            Some(p) if p >= GIB => p,
            Some(_) => 256 * 1024,
        };
        // Nodes a cell's memory may be bound to: with the page size's pool, else with memory.
        let mem_nodes: Vec<usize> = (0..h.nodes.len())
            .filter(|&i| {
                let n = &h.nodes[i];
                match page {
                    Some(p) => n.hugepages.iter().any(|x| x.size_kib == p && x.count > 0),
                    None => n.memory_kib > 0,
                }
            })
            .collect();
        let with_cpus: Vec<usize> = mem_nodes
            .iter()
            .copied()
            .filter(|&i| !h.nodes[i].cpus.is_empty())
            .collect();
        let cpu_less: Vec<usize> = mem_nodes
            .iter()
            .copied()
            .filter(|&i| h.nodes[i].cpus.is_empty())
            .collect();
        let per_unit = if g.smt { 2 } else { 1 };
        let mut cells = String::new();
        let mut pins = String::new();
        let mut v = 0u32;
        let mut total = 0u64;
        let mut all_bound = true;
        for (i, c) in g.cells.iter().enumerate() {
            let memory_only = c.memory_only && i > 0;
            let kib = u64::from(c.mem) * unit;
            total += kib;
            let _ = write!(cells, "    cell {i}");
            if !memory_only {
                let n = u32::from(c.units) * per_unit;
                let _ = write!(cells, " cpus={v}-{}", v + n - 1);
            }
            let _ = write!(cells, " memory={kib}KiB");
            let mut bound = None;
            match c.bind {
                Some((node, policy, two)) => {
                    let list = if memory_only && !cpu_less.is_empty() {
                        &cpu_less
                    } else if with_cpus.is_empty() {
                        &mem_nodes
                    } else {
                        &with_cpus
                    };
                    if let Some(first) = pick(list, usize::from(node)) {
                        let mut nodes = IdSet::single(h.nodes[first].id);
                        let policy = ["strict", "strict", "strict", "preferred", "interleave"][usize::from(policy % 5)];
                        if two
                            && policy != "preferred"
                            && let Some(j) = pick(list, usize::from(node) + 1)
                        {
                            nodes.insert(h.nodes[j].id);
                        }
                        let _ = write!(cells, " host-node={nodes}");
                        if policy != "strict" {
                            let _ = write!(cells, " policy={policy}");
                        }
                        bound = Some(first);
                    } else {
                        all_bound = false;
                    }
                }
                None => all_bound = false,
            }
            cells.push('\n');
            if !memory_only {
                for u in 0..u32::from(c.units) {
                    let w = c.pins.get(u as usize).copied().unwrap_or(7);
                    self.pin_unit(w, v, g.smt, bound, &mut pins);
                    v += per_unit;
                }
            }
        }
        let vcpus = v;
        match g.distances {
            1 if all_bound => cells.push_str("    distances from=host\n"),
            2 if g.cells.len() > 1 => {
                for a in 0..g.cells.len() {
                    for b in a + 1..g.cells.len() {
                        let _ = writeln!(cells, "    distance {a} {b} {}", 12 + (a * 7 + b * 5) % 30);
                    }
                }
            }
            _ => {}
        }
        let mut t = String::new();
        let _ = writeln!(t, "\nguest {name} on={host} {{");
        let _ = write!(t, "  memory {total}KiB");
        if let Some(p) = page {
            let _ = write!(t, " hugepages={p}KiB");
        }
        if g.locked {
            t.push_str(" locked=true");
        }
        let dimm = g.dimm.map(|(cell, size, own)| {
            let cell = usize::from(cell) % g.cells.len();
            (cell, u64::from(size) * unit.max(512 * 1024), own)
        });
        if let Some((_, size, _)) = dimm {
            let _ = write!(t, " max={}KiB slots=2", total + size + GIB);
        }
        let _ = write!(t, "\n  vcpus {vcpus}");
        if g.boot_half && vcpus > 1 {
            let _ = write!(t, " boot={}", vcpus / 2);
        }
        t.push('\n');
        if g.smt {
            let _ = writeln!(t, "  topology sockets={} cores=1 threads=2", vcpus / 2);
        }
        let _ = write!(t, "  numa {{\n{cells}  }}\n{pins}");
        if let Some(e) = g.emulator.as_ref().and_then(|p| self.thread_pin(p)) {
            let _ = writeln!(t, "  emulator {e}");
        }
        if let Some((n, p)) = &g.iothreads {
            let _ = write!(t, "  iothreads {n}");
            if let Some(p) = p.as_ref().and_then(|p| self.thread_pin(p)) {
                let _ = write!(t, " {p}");
            }
            t.push('\n');
        }
        if let Some((mode, node)) = g.policy
            && let Some(i) = pick(&with_cpus, usize::from(node))
        {
            let mode = ["strict", "preferred", "interleave"][usize::from(mode % 3)];
            let _ = writeln!(t, "  memory-policy mode={mode} nodeset={}", h.nodes[i].id);
        }
        if let Some((cell, size, own)) = dimm {
            let _ = write!(t, "  dimm size={size}KiB node={cell}");
            if own && let Some(i) = pick(&with_cpus, cell) {
                let _ = write!(t, " host-node={}", h.nodes[i].id);
            }
            t.push('\n');
        }
        if g.nic || g.hostdev {
            t.push_str("  devices {\n");
            if g.nic {
                t.push_str("    nic uplink bridge=br0 model=virtio node=0\n");
            }
            if g.hostdev {
                let _ = writeln!(t, "    hostdev {HOSTDEV}");
            }
            t.push_str("  }\n");
        }
        t.push_str("}\n");
        t
    }
}
