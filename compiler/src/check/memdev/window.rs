//! QEMU's device-memory window on x86 `pc` and `q35` machines: where memory devices may sit.
//!
//! QEMU 7.2 (`pc_memory_init`, `memory_device_get_free_addr`) puts the window just above
//! the guest's RAM: it starts at 4GiB plus the RAM QEMU maps above 4GiB, rounded up to a
//! whole GiB, and is as big as `max=` less the initial memory, plus 1GiB for each slot (the
//! room for 1GiB alignment, left out by i440fx machine types before 2.2). A device whose
//! `base=` puts any of it outside the window is refused when QEMU starts.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::target::{DEFAULT_QEMU, Version};
use crate::ir::{MachineLine, MachineType, MaxMemory};
use crate::lang::Fields;
use crate::units::human_kib;

pub(super) const GIB: u64 = 1 << 30;
/// Where QEMU 7.1 and later move RAM above 4GiB for an AMD CPU model when the guest's
/// addresses reach AMD's HyperTransport range (`AMD_ABOVE_1TB_START`, `AMD_HT_START`).
pub(super) const AMD_ABOVE_1TB: u64 = 1 << 40;
pub(super) const AMD_HT_START: u64 = 0xfd_0000_0000;

/// The window, in bytes; `moved` is its start when QEMU moves RAM above 1TiB, for a guest
/// whose addresses (the window, then the 64-bit PCI hole) reach AMD's range at 1012GiB
/// (vnumac does not know a KVM guest's CPU vendor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub start: u64,
    pub size: u64,
    pub moved: Option<u64>,
}

impl Window {
    /// Whether `[base, base + size)` lies inside the window (or the moved one).
    pub fn holds(&self, base: u64, size: u64) -> bool {
        let inside = |start: u64| base >= start && base.saturating_add(size) <= start.saturating_add(self.size);
        inside(self.start) || self.moved.is_some_and(inside)
    }

    fn text(&self, start: u64) -> String {
        format!(
            "{}..{}",
            human_kib(start / 1024),
            human_kib(start.saturating_add(self.size) / 1024)
        )
    }
}

/// A machine type's version, `None` for `q35` and `pc` (the newest); `None` outside both
/// lines or without an `X.Y` version.
fn version(machine: &MachineType) -> Option<Option<(u32, u32)>> {
    if !matches!(machine.line, MachineLine::Q35 | MachineLine::I440fx) {
        return None;
    }
    if machine.alias {
        return Some(None);
    }
    machine.version.map(Some)
}

/// How QEMU 7.2 lays out a guest's RAM on a machine type: whether it is q35, its version
/// (`None` for `pc` and `q35`), the initial memory in bytes as libvirt writes it (whole MiB)
/// and how much of it QEMU maps above 4GiB; `None` where vnumac does not know the rule.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub q35: bool,
    pub version: Option<(u32, u32)>,
    pub ram: u64,
    pub above_4g: u64,
}

pub(super) fn layout(machine: &str, qemu: Version, initial_kib: u64) -> Option<Layout> {
    let machine = MachineType::parse(machine);
    let version = version(&machine)?;
    if qemu > DEFAULT_QEMU || version.is_some_and(|v| v > (7, 2)) {
        return None;
    }
    let q35 = machine.line == MachineLine::Q35;
    // libvirt writes `-m` in whole MiB.
    let ram = initial_kib.div_ceil(1024) * 1024 * 1024;
    let low = if q35 {
        if ram >= 0xb000_0000 { 0x8000_0000 } else { 0xb000_0000 }
    } else if ram >= 0xe000_0000 {
        0xc000_0000
    } else {
        0xe000_0000
    };
    Some(Layout {
        q35,
        version,
        ram,
        above_4g: ram.saturating_sub(low),
    })
}

impl Layout {
    /// The window's size: `max=` less the initial memory, plus 1GiB a slot (left out by
    /// i440fx machine types before 2.2).
    pub fn device_memory(&self, max: MaxMemory) -> u64 {
        let per_slot = if !self.q35 && self.version.is_some_and(|v| v < (2, 2)) {
            0
        } else {
            GIB
        };
        (max.kib * 1024)
            .saturating_sub(self.ram)
            .saturating_add(per_slot * u64::from(max.slots))
    }

    /// The default 64-bit PCI hole QEMU puts after the RAM and the window: 2GiB on i440fx,
    /// 32GiB on q35. QEMU counts it for the move above 1TiB and the CPU's address bits.
    pub fn pci_hole64(&self) -> u64 {
        if self.q35 { 32 * GIB } else { 2 * GIB }
    }

    /// Whether QEMU moves RAM above 1TiB for an AMD CPU model (machine types from 7.1 on).
    pub fn moves_for_amd(&self) -> bool {
        self.version.is_none_or(|v| v >= (7, 1))
    }
}

/// `a` rounded up to a whole GiB.
pub(super) fn round_gib(a: u64) -> u64 {
    a.div_ceil(GIB).saturating_mul(GIB)
}

/// The window QEMU 7.2 gives a machine type with this initial memory and headroom; `None`
/// where vnumac does not know the rule (another QEMU, a machine type QEMU 7.2 does not have).
pub(super) fn window(machine: &str, qemu: Version, initial_kib: u64, max: MaxMemory) -> Option<Window> {
    let l = layout(machine, qemu, initial_kib)?;
    let size = l.device_memory(max);
    let start = round_gib((4 * GIB).saturating_add(l.above_4g));
    let may_move =
        l.moves_for_amd() && round_gib(start.saturating_add(size)).saturating_add(l.pci_hole64()) > AMD_HT_START;
    let moved = may_move.then(|| round_gib(AMD_ABOVE_1TB.saturating_add(l.above_4g)));
    Some(Window { start, size, moved })
}

/// A device at `base` of `size` bytes outside the window (reported).
pub(super) fn outside(
    f: &Fields<'_>,
    memory: Option<&Fields<'_>>,
    w: Window,
    base: u64,
    size: u64,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    if w.holds(base, size) {
        return false;
    }
    let end = base.saturating_add(size);
    let mut d = Diagnostic::error(
        MEMORY_WINDOW,
        format!(
            "the {} at {}..{} is outside QEMU's memory device window",
            f.keyword(),
            human_kib(base / 1024),
            human_kib(end / 1024)
        ),
        f.span_of("base"),
        format!("the window is {}", w.text(w.start)),
    );
    if let Some(m) = memory.filter(|m| m.has("max")) {
        d = d.with_label(m.span_of("max"), "the window's size follows from this");
    }
    let also = w
        .moved
        .map(|s| format!(", or {} with an AMD CPU model", w.text(s)))
        .unwrap_or_default();
    diags.push(d.with_help(format!(
        "memory devices fit in {}{also} here: QEMU starts the window at the first whole GiB \
         above the guest's RAM and makes it as big as `max=` less the initial memory, plus 1GiB \
         a slot; move `base=` inside it, raise `max=`, or leave `base=` to QEMU",
        w.text(w.start)
    )));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(machine: &str, initial_mib: u64, max_gib: u64, slots: u32) -> Window {
        let max = MaxMemory {
            kib: max_gib << 20,
            slots,
        };
        window(machine, DEFAULT_QEMU, initial_mib * 1024, max).expect("a QEMU 7.2 machine")
    }

    /// Each window as QEMU 7.2 reported it here ("usable range for memory devices [start:size]").
    #[test]
    fn windows_follow_qemu_7_2() {
        let cases = [
            ("q35", 2815, 8, 2, 0x1_0000_0000, 0x1_d010_0000),
            ("q35", 2816, 8, 2, 0x1_4000_0000, 0x1_d000_0000),
            ("pc", 3583, 8, 1, 0x1_0000_0000, 0x1_6010_0000),
            ("pc", 3584, 8, 1, 0x1_4000_0000, 0x1_6000_0000),
            ("pc-i440fx-7.2", 3073, 8, 1, 0x1_0000_0000, 0x1_7ff0_0000),
            ("pc-q35-7.2", 5120, 9, 3, 0x1_c000_0000, 0x1_c000_0000),
            ("pc-q35-2.4", 2900, 9, 3, 0x1_4000_0000, 0x2_4ac0_0000),
            ("pc-i440fx-2.1", 5120, 9, 3, 0x1_8000_0000, 0x1_0000_0000),
            ("pc-i440fx-2.2", 5120, 9, 3, 0x1_8000_0000, 0x1_c000_0000),
            ("q35", 2048, 4, 1, 0x1_0000_0000, 0xc000_0000),
        ];
        for (machine, initial, max, slots, start, size) in cases {
            let got = w(machine, initial, max, slots);
            assert_eq!((got.start, got.size), (start, size), "{machine} {initial}MiB");
            assert_eq!(got.moved, None);
        }
    }

    #[test]
    fn the_edges_are_inside() {
        let got = w("q35", 2048, 4, 1);
        assert!(got.holds(0x1_0000_0000, GIB));
        assert!(got.holds(0x1_8000_0000, GIB));
        assert!(!got.holds(0x1_c000_0000, GIB));
        assert!(!got.holds(0xc000_0000, GIB));
        assert!(!got.holds(0x1_a000_0000, GIB));
    }

    #[test]
    fn near_1tib_the_moved_window_counts_too() {
        let got = w("q35", 4096, 1000, 2);
        assert_eq!(got.moved, Some(AMD_ABOVE_1TB + 2 * GIB));
        assert!(got.holds(AMD_ABOVE_1TB + 2 * GIB, GIB));
        assert!(got.holds(6 * GIB, GIB));
        assert_eq!(w("pc-q35-7.0", 4096, 1000, 2).moved, None);
    }

    /// i440fx's 64-bit PCI hole is 2GiB: with 1GiB, `max=1000GiB slots=2` ends its addresses
    /// at 1007GiB and QEMU 7.2 moved nothing ("usable range for memory devices
    /// [0x100000000:0xfa40000000]" for a DIMM at 1TiB); q35's 32GiB hole reaches 1012GiB.
    #[test]
    fn only_the_machines_hole_counts_for_the_move() {
        let pc = w("pc", 1024, 1000, 2);
        assert_eq!((pc.start, pc.size, pc.moved), (4 * GIB, 0xfa_4000_0000, None));
        assert!(!pc.holds(AMD_ABOVE_1TB, GIB));
        assert_eq!(w("q35", 1024, 1000, 2).moved, Some(AMD_ABOVE_1TB));
        assert_eq!(w("pc", 1024, 1006, 2).moved, Some(AMD_ABOVE_1TB));
    }

    #[test]
    fn other_qemus_and_machines_are_not_judged() {
        let max = MaxMemory { kib: 8 << 20, slots: 1 };
        assert_eq!(window("pc-q35-8.2", DEFAULT_QEMU, 2 << 20, max), None);
        assert_eq!(window("q35", Version::new(8, 2), 2 << 20, max), None);
        assert_eq!(window("microvm", DEFAULT_QEMU, 2 << 20, max), None);
    }
}
