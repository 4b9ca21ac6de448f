//! What QEMU's monitor says, in the text forms it says it: where a memory backend sits in
//! guest memory (`info mtree -f`), the host address of a guest address (`gpa2hva`), and
//! which vCPU a CPU is by its topology properties. Pure parsing; asking is the caller's.

use crate::ir::Topology;
use std::collections::BTreeMap;

/// Where a memory region shows in a flat view of the system address space: the guest
/// address of one of its ranges and that range's offset into the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub guest_address: u64,
    pub offset: u64,
}

/// Every region's first range in a flat view rooted at `system` (the guest's memory as its
/// CPUs see it), by region name, from HMP's `info mtree -f`, whose lines read
/// `  0000000000100000-000000000fffffff (prio 0, ram): ram-node0 @0000000000100000`.
pub fn regions(mtree: &str) -> BTreeMap<String, Placed> {
    let mut out = BTreeMap::new();
    let mut system = false;
    for line in mtree.lines() {
        if line.starts_with("FlatView") {
            system = false;
            continue;
        }
        let t = line.trim_start();
        if t.starts_with("AS \"") {
            system |= t.ends_with("root: system");
            continue;
        }
        if !system {
            continue;
        }
        let Some((range, rest)) = t.split_once("): ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(name) = words.next() else { continue };
        let start = range.split_once('-').and_then(|(s, _)| u64::from_str_radix(s, 16).ok());
        let offset = match words.next().and_then(|w| w.strip_prefix('@')) {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => Some(0),
        };
        if let (Some(guest_address), Some(offset)) = (start, offset) {
            out.entry(name.to_string()).or_insert(Placed { guest_address, offset });
        }
    }
    out
}

/// The host address in HMP's answer to `gpa2hva`, when it names the region `name`:
/// `Host virtual address for 0x100000 (ram-node0) is 0x7f30eff00000`.
pub fn host_address(answer: &str, name: &str) -> Option<u64> {
    let line = answer.lines().next()?;
    let (head, hva) = line.rsplit_once(" is 0x")?;
    if !head.ends_with(&format!("({name})")) {
        return None;
    }
    u64::from_str_radix(hva.trim(), 16).ok()
}

/// A CPU's position as QEMU reports it (`query-cpus-fast`, `query-hotpluggable-cpus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuProps {
    pub socket: Option<i64>,
    pub die: Option<i64>,
    pub core: Option<i64>,
    pub thread: Option<i64>,
}

/// The vCPU id (libvirt's and the file's numbering: socket-major) of a CPU at `props`, or
/// `index` (QEMU's cpu-index) when its position is not reported in full.
pub fn vcpu_id(t: &Topology, props: CpuProps, index: i64) -> Option<u32> {
    let whole = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    let position = (|| {
        let (s, c, th) = (whole(props.socket)?, whole(props.core)?, whole(props.thread)?);
        let d = whole(props.die).unwrap_or(0);
        let (dies, cores, threads) = (u64::from(t.dies), u64::from(t.cores), u64::from(t.threads));
        if d >= dies || c >= cores || th >= threads {
            return None;
        }
        s.checked_mul(dies)?
            .checked_add(d)?
            .checked_mul(cores)?
            .checked_add(c)?
            .checked_mul(threads)?
            .checked_add(th)
    })();
    position
        .or_else(|| u64::try_from(index).ok())
        .and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MTREE: &str = "FlatView #0
 AS \"I/O\", root: io
 Root memory region: io
  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan
FlatView #1
 AS \"cpu-smm-0\", root: memory
  0000000000000000-00000000000c2fff (prio 0, ram): ram-node9
FlatView #4
 AS \"memory\", root: system
 AS \"cpu-memory-0\", root: system
  0000000000000000-00000000000c2fff (prio 0, ram): ram-node0
  00000000000c3000-00000000000e7fff (prio 0, rom): ram-node0 @00000000000c3000
  0000000010000000-000000001fffffff (prio 0, ram): ram-node1 @0000000000200000 KVM
";

    #[test]
    fn regions_are_found_in_the_system_flat_view() {
        let placed = |name: &str| regions(MTREE).get(name).copied();
        assert_eq!(
            placed("ram-node0"),
            Some(Placed {
                guest_address: 0,
                offset: 0
            })
        );
        assert_eq!(
            placed("ram-node1"),
            Some(Placed {
                guest_address: 0x1000_0000,
                offset: 0x20_0000
            })
        );
        // Only in an SMM view, or nowhere: not in guest memory.
        assert_eq!(placed("ram-node9"), None);
        assert_eq!(placed("ram-node"), None);
    }

    #[test]
    fn gpa2hva_answers_name_their_region() {
        let answer = "Host virtual address for 0x100000 (ram-node0) is 0x7f30eff00000\r\n";
        assert_eq!(host_address(answer, "ram-node0"), Some(0x7f30_eff0_0000));
        assert_eq!(host_address(answer, "ram-node1"), None);
        assert_eq!(
            host_address("No memory is mapped at address 0x0\r\n", "ram-node0"),
            None
        );
    }

    #[test]
    fn vcpu_ids_count_socket_major() {
        let t = Topology {
            sockets: 2,
            dies: 1,
            cores: 2,
            threads: 2,
        };
        let at = |socket, core, thread| CpuProps {
            socket: Some(socket),
            die: None,
            core: Some(core),
            thread: Some(thread),
        };
        assert_eq!(vcpu_id(&t, at(0, 0, 0), 9), Some(0));
        assert_eq!(vcpu_id(&t, at(1, 1, 0), 9), Some(6));
        assert_eq!(vcpu_id(&t, at(1, 0, 1), 9), Some(5));
        // Out of the topology, or not reported: QEMU's index.
        assert_eq!(vcpu_id(&t, at(0, 5, 0), 3), Some(3));
        assert_eq!(vcpu_id(&t, CpuProps::default(), 2), Some(2));
        assert_eq!(vcpu_id(&t, CpuProps::default(), -1), None);
    }
}
