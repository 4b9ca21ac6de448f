//! Random moves: a source and a destination host from the fixtures, the guests the
//! destination already carries, and the guest that moves, written as `.vnuma` text.
//!
//! Specs hold choices (indices, percentages), resolved against the hosts when the text is
//! written, so that a fair share of them compiles and shrinking keeps them meaningful.

use std::fmt::Write as _;

use proptest::prelude::*;
use vnumac::host::{HostPci, HostProfile};
use vnumac::sets::IdSet;

use crate::common::hosts::HOSTS;
use crate::hand::Hand;

/// How a thread set (emulator or I/O threads) is pinned.
#[derive(Debug, Clone)]
pub enum ThreadPin {
    /// One or two CPUs; the bool prefers the host's reserved CPUs.
    Cpus(u16, bool),
    Node(u8),
}

/// One hand-written cell.
#[derive(Debug, Clone)]
pub struct CellSpec {
    /// vCPUs, or guest cores of two threads when the guest has SMT pairs.
    pub units: u8,
    /// No vCPUs (only for cells after the first), bound to a CPU-less node when there is one.
    pub memory_only: bool,
    /// Memory in units of 512 MiB (256 MiB with 2 MiB pages, one page with 1 GiB pages).
    pub mem: u8,
    /// (node pick, policy pick: 0-2 strict, 3 preferred, 4 interleave, a second node).
    pub bind: Option<(u8, u8, bool)>,
    /// One pin choice per unit (see `Hand::pin_unit`).
    pub pins: Vec<u16>,
}

/// A hand-written guest: cells with host-node bindings, pins of every kind.
#[derive(Debug, Clone)]
pub struct HandSpec {
    /// Guest cores of two threads (`topology … threads=2`).
    pub smt: bool,
    pub cells: Vec<CellSpec>,
    /// Index into the host's page sizes that have free pages.
    pub hugepages: Option<u8>,
    pub locked: bool,
    /// Half the vCPUs online at boot (`boot=`).
    pub boot_half: bool,
    /// (cell, size in memory units, its own host node).
    pub dimm: Option<(u8, u8, bool)>,
    pub emulator: Option<ThreadPin>,
    pub iothreads: Option<(u8, Option<ThreadPin>)>,
    /// A whole-guest `memory-policy` (mode pick, node pick) for the cells without a binding.
    pub policy: Option<(u8, u8)>,
    /// 0 none, 1 `distances from=host` (when every cell is bound), 2 explicit.
    pub distances: u8,
    /// A NIC behind an expander on cell 0.
    pub nic: bool,
    /// A passed-through host PCI device.
    pub hostdev: bool,
}

/// A `vnuma` guest.
#[derive(Debug, Clone)]
pub struct AutoSpec {
    pub mode_host: bool,
    pub cells: Option<u8>,
    /// contiguous, siblings, round-robin, interleave.
    pub dist: u8,
    pub pin_cpu: bool,
    /// None, strict, interleave, preferred.
    pub memory_mode: u8,
    /// Units as a percentage of the host's free cores, shared by its guests.
    pub units_pct: u8,
    pub mem_pct: u8,
    pub hugepages: Option<u8>,
    /// Bit i: the host's i-th node (mode=node only; 0 lets vnumac pick).
    pub nodeset: u16,
    pub boot_half: bool,
    pub dimm: bool,
}

#[derive(Debug, Clone)]
pub enum GuestSpec {
    Hand(HandSpec),
    Auto(AutoSpec),
}

/// Changes to the destination fixture: more reserved CPUs, less memory on a node, smaller
/// hugepage pools (this percentage of every pool).
#[derive(Debug, Clone, Default)]
pub struct Tweak {
    pub reserve: Vec<u16>,
    pub shrink: Option<(u8, u8)>,
    pub pools: Option<u8>,
}

#[derive(Debug, Clone)]
pub struct MoveSpec {
    pub src: usize,
    pub dst: usize,
    pub tweak: Tweak,
    /// The guests the destination carries, in file order.
    pub on_dst: Vec<GuestSpec>,
    pub moving: GuestSpec,
    /// Move to the destination's profile (`--to-caps`) rather than the host of the file;
    /// only when the destination carries no guests.
    pub to_profile: bool,
}

/// A move written out.
pub struct Written {
    pub text: String,
    pub src: HostProfile,
    pub dst: HostProfile,
    /// The destination's guests that are hand-written, by name.
    pub dst_hand: Vec<String>,
    pub dst_guests: Vec<String>,
}

pub const MOVING: &str = "moving";

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn thread_pin() -> impl Strategy<Value = ThreadPin> {
    prop_oneof![
        2 => (any::<u16>(), any::<bool>()).prop_map(|(k, r)| ThreadPin::Cpus(k, r)),
        1 => any::<u8>().prop_map(ThreadPin::Node),
    ]
}

fn cell() -> impl Strategy<Value = CellSpec> {
    (
        1u8..=3,
        prop::bool::weighted(0.15),
        1u8..=3,
        prop::option::weighted(0.75, (any::<u8>(), 0u8..5, prop::bool::weighted(0.2))),
        prop::collection::vec(any::<u16>(), 3),
    )
        .prop_map(|(units, memory_only, mem, bind, pins)| CellSpec {
            units,
            memory_only,
            mem,
            bind,
            pins,
        })
}

pub fn hand() -> impl Strategy<Value = HandSpec> {
    (
        (
            prop::bool::weighted(0.4),
            prop::collection::vec(cell(), 1..=4),
            prop::option::weighted(0.35, any::<u8>()),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.15),
        ),
        (
            prop::option::weighted(0.25, (any::<u8>(), 1u8..=2, prop::bool::weighted(0.3))),
            prop::option::weighted(0.5, thread_pin()),
            prop::option::weighted(0.25, (1u8..=2, prop::option::weighted(0.7, thread_pin()))),
            prop::option::weighted(0.2, (0u8..3, any::<u8>())),
            0u8..3,
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.04),
        ),
    )
        .prop_map(
            |(
                (smt, cells, hugepages, locked, boot_half),
                (dimm, emulator, iothreads, policy, distances, nic, hostdev),
            )| HandSpec {
                smt,
                cells,
                hugepages,
                locked,
                boot_half,
                dimm,
                emulator,
                iothreads,
                policy,
                distances,
                nic,
                hostdev,
            },
        )
}

pub fn auto() -> impl Strategy<Value = AutoSpec> {
    (
        (
            any::<bool>(),
            prop::option::weighted(0.5, 1u8..=4),
            0u8..4,
            prop::bool::weighted(0.75),
        ),
        (0u8..4, 2u8..=30, 2u8..=30, prop::option::weighted(0.3, any::<u8>())),
        (
            prop_oneof![3 => Just(0u16), 1 => any::<u16>()],
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.2),
        ),
    )
        .prop_map(
            |(
                (mode_host, cells, dist, pin_cpu),
                (memory_mode, units_pct, mem_pct, hugepages),
                (nodeset, boot_half, dimm),
            )| {
                AutoSpec {
                    mode_host,
                    cells,
                    dist,
                    pin_cpu,
                    memory_mode,
                    units_pct,
                    mem_pct,
                    hugepages,
                    nodeset,
                    boot_half,
                    dimm,
                }
            },
        )
}

pub fn guest() -> impl Strategy<Value = GuestSpec> {
    prop_oneof![hand().prop_map(GuestSpec::Hand), auto().prop_map(GuestSpec::Auto),]
}

pub fn moves() -> impl Strategy<Value = MoveSpec> {
    let n = HOSTS.len();
    (
        (0..n, 0..n, prop::bool::weighted(0.15)),
        (
            prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(any::<u16>(), 1..=3)],
            prop::option::weighted(0.2, (any::<u8>(), 5u8..=60)),
            prop::option::weighted(0.3, 0u8..=60),
        ),
        prop_oneof![2 => Just(Vec::new()), 3 => prop::collection::vec(guest(), 1..=2)],
        guest(),
        any::<bool>(),
    )
        .prop_map(
            |((src, dst, copy), (reserve, shrink, pools), on_dst, moving, to_profile)| {
                // Now and then an empty, unchanged copy of the source host.
                let (dst, tweak, on_dst) = if copy {
                    (src, Tweak::default(), Vec::new())
                } else {
                    (dst, Tweak { reserve, shrink, pools }, on_dst)
                };
                MoveSpec {
                    src,
                    dst,
                    tweak,
                    to_profile: to_profile && on_dst.is_empty(),
                    on_dst,
                    moving,
                }
            },
        )
}

// ---------------------------------------------------------------------------
// Writing a move
// ---------------------------------------------------------------------------

/// The host passthrough devices come from.
pub const HOSTDEV: &str = "0000:3b:00.0";

pub fn write(m: &MoveSpec) -> Written {
    let mut src = HOSTS[m.src].profile.clone();
    src.name = "src".into();
    if matches!(&m.moving, GuestSpec::Hand(h) if h.hostdev) && src.pci.iter().all(|p| p.address != HOSTDEV) {
        src.pci.push(HostPci {
            address: HOSTDEV.into(),
            node: Some(src.nodes[0].id),
            name: None,
        });
    }
    let mut dst = HOSTS[m.dst].profile.clone();
    dst.name = "dst".into();
    let extra: IdSet = m
        .tweak
        .reserve
        .iter()
        .map(|&i| dst.cpus[usize::from(i) % dst.cpus.len()].id)
        .collect();
    dst.reserved = dst.reserved.union(&extra);
    if let Some((node, pct)) = m.tweak.shrink {
        let count = dst.nodes.len();
        let n = &mut dst.nodes[usize::from(node) % count];
        let keep = n.ordinary_kib() * u64::from(pct) / 100 / 1024 * 1024;
        n.reserved_kib += n.ordinary_kib() - keep;
    }
    if let Some(pct) = m.tweak.pools {
        for p in dst.nodes.iter_mut().flat_map(|n| n.hugepages.iter_mut()) {
            p.count = p.count * u64::from(pct) / 100;
        }
    }
    let mut text = vnumac::host::print::to_vnuma(&src);
    text.push_str(&vnumac::host::print::to_vnuma(&dst));
    let mut dst_hand = Vec::new();
    let mut dst_guests = Vec::new();
    let share = m.on_dst.len() as u64 + 1;
    for (i, g) in m.on_dst.iter().enumerate() {
        let name = format!("d{i}");
        match g {
            GuestSpec::Hand(h) => {
                // Passthrough devices belong to the moving guest's source.
                let h = HandSpec {
                    hostdev: false,
                    ..h.clone()
                };
                text.push_str(&Hand::new(&dst).write(&h, &name, "dst"));
                dst_hand.push(name.clone());
            }
            GuestSpec::Auto(a) => text.push_str(&write_auto(a, &dst, &name, "dst", share)),
        }
        dst_guests.push(name);
    }
    match &m.moving {
        GuestSpec::Hand(h) => text.push_str(&Hand::new(&src).write(h, MOVING, "src")),
        GuestSpec::Auto(a) => text.push_str(&write_auto(a, &src, MOVING, "src", 1)),
    }
    Written {
        text,
        src,
        dst,
        dst_hand,
        dst_guests,
    }
}

/// Every page size of the host with free pages, smallest first.
pub fn free_page_sizes(h: &HostProfile) -> Vec<u64> {
    let mut sizes: Vec<u64> = h
        .nodes
        .iter()
        .flat_map(|n| n.hugepages.iter().filter(|p| p.count > 0).map(|p| p.size_kib))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

pub fn pick<T: Copy>(list: &[T], k: usize) -> Option<T> {
    (!list.is_empty()).then(|| list[k % list.len()])
}

pub const GIB: u64 = 1024 * 1024;

/// A `vnuma` guest sized against the host (shared with `share` guests).
fn write_auto(a: &AutoSpec, h: &HostProfile, name: &str, host: &str, share: u64) -> String {
    let t = h.smt_width();
    let cores_dist = matches!(a.dist % 4, 1 | 3);
    let free_cores = h
        .cpus
        .iter()
        .filter(|c| c.siblings.first().unwrap_or(c.id) == c.id && c.siblings.intersection(&h.reserved).is_empty())
        .count() as u64;
    let with_cpus = h.nodes.iter().filter(|n| !n.cpus.is_empty()).count() as u32;
    let cells = a
        .cells
        .map(u32::from)
        .map(|k| if a.mode_host { with_cpus + k - 1 } else { k });
    let want_cells = cells.unwrap_or(if a.mode_host { with_cpus } else { 1 });
    let per_unit = if cores_dist { t } else { 1 };
    let units = ((free_cores * u64::from(a.units_pct) / 100 / share) as u32)
        .max(want_cells)
        .min((64 / per_unit).max(1));
    let vcpus = units * per_unit;
    let page = a.hugepages.and_then(|k| pick(&free_page_sizes(h), usize::from(k)));
    let memory_kib = match page {
        None => {
            let free: u64 = h.nodes.iter().map(|n| n.ordinary_kib()).sum();
            (free * u64::from(a.mem_pct) / 100 / share / 1024 * 1024).clamp(u64::from(want_cells) * 1024, 64 * GIB)
        }
        Some(size) => {
            let pages: u64 = h
                .nodes
                .iter()
                .flat_map(|n| n.hugepages.iter().filter(|p| p.size_kib == size).map(|p| p.count))
                .sum();
            (pages * u64::from(a.mem_pct) / 100 / share).clamp(u64::from(want_cells), (64 * GIB / size).max(1)) * size
        }
    };
    let mut t = String::new();
    let _ = writeln!(t, "\nguest {name} on={host} {{");
    let _ = write!(t, "  memory {memory_kib}KiB");
    if let Some(p) = page {
        let _ = write!(t, " hugepages={p}KiB");
    }
    // A DIMM of 1 GiB (whole pages of 2 MiB and 1 GiB alike) on cell 0.
    let dimm = a.dimm && page.is_none_or(|p| GIB.is_multiple_of(p));
    if dimm {
        let _ = write!(t, " max={}KiB slots=2", memory_kib + 2 * GIB);
    }
    let _ = writeln!(t);
    let _ = write!(t, "  vcpus {vcpus}");
    if a.boot_half && vcpus > 1 {
        let _ = write!(t, " boot={}", vcpus / 2);
    }
    let _ = writeln!(t);
    let _ = write!(t, "  vnuma mode={}", if a.mode_host { "host" } else { "node" });
    let nodeset: IdSet = h
        .nodes
        .iter()
        .enumerate()
        .filter(|(k, n)| *k < 16 && a.nodeset & (1 << k) != 0 && !n.cpus.is_empty())
        .map(|(_, n)| n.id)
        .collect();
    if !a.mode_host && !nodeset.is_empty() {
        let _ = write!(t, " nodeset={nodeset}");
    }
    if let Some(c) = cells {
        let _ = write!(t, " cells={c}");
    }
    let dist = ["contiguous", "siblings", "round-robin", "interleave"][usize::from(a.dist % 4)];
    let _ = write!(t, " distribution={dist}");
    let _ = write!(t, " pinning={}", if a.pin_cpu { "cpu" } else { "node" });
    if let Some(m) = ["", "strict", "interleave", "preferred"]
        .get(usize::from(a.memory_mode % 4))
        .filter(|m| !m.is_empty())
    {
        let _ = write!(t, " memory-mode={m}");
    }
    let _ = writeln!(t);
    if dimm {
        let _ = writeln!(t, "  dimm size=1GiB node=0");
    }
    t.push_str("}\n");
    t
}
