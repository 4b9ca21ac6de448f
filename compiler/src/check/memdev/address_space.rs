//! The guest's addresses against its CPU's physical address bits.
//!
//! QEMU 7.2 (`pc_memory_init`, `pc_max_used_gpa`) refuses to start a pc or q35 guest whose
//! highest address does not fit the CPU's physical address bits ("Address space limit …
//! phys-bits too low"). The addresses end with the RAM above 4GiB, then the memory device
//! window, then the 64-bit PCI hole (2GiB on i440fx, 32GiB on q35), each start rounded up
//! to a whole GiB. Under TCG every 64-bit CPU model has 40 bits (1TiB), as vnumac writes no
//! `phys-bits=`. For an AMD CPU model (TCG's `max` is one) on a machine type from 7.1 on,
//! QEMU moves the RAM above 4GiB to 1TiB once the addresses reach AMD's HyperTransport range
//! at 1012GiB, which puts them past 1TiB. A KVM guest's bits are its host CPU's (`host`,
//! `max`), which vnumac does not know.

use super::window::{AMD_ABOVE_1TB, AMD_HT_START, GIB, Layout, layout, round_gib};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::target::{DEFAULT_QEMU, Version};
use crate::ir::{CpuMode, DomainType, MaxMemory};
use crate::lang::Fields;
use crate::units::exact_kib;

/// Under TCG, the physical address bits of every 64-bit CPU model (`TCG_PHYS_ADDR_BITS`).
const TCG_BITS: u32 = 40;

/// QEMU 7.2's 32-bit CPU models: 32 or 36 address bits, and no 64-bit PCI hole to check.
const MODELS_32_BIT: &[&str] = &[
    "486", "pentium", "pentium2", "pentium3", "qemu32", "kvm32", "coreduo", "n270", "athlon",
];

/// QEMU 7.2's 64-bit CPU models of AMD's vendor.
const AMD_MODELS: &[&str] = &[
    "qemu64",
    "phenom",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "EPYC",
    "EPYC-IBPB",
    "EPYC-Rome",
    "EPYC-Milan",
];

/// A CPU whose physical address bits vnumac knows, and whether QEMU sees it as AMD's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cpu {
    pub bits: u32,
    pub amd: bool,
}

/// The guest CPU's physical address bits where vnumac knows them: a TCG guest's 64-bit
/// model. TCG's `max` is AMD's; a named model without its vendor known here counts as not.
pub(super) fn cpu(domain: DomainType, mode: &CpuMode) -> Option<Cpu> {
    if domain != DomainType::Qemu {
        return None;
    }
    match mode {
        CpuMode::Maximum => Some(Cpu {
            bits: TCG_BITS,
            amd: true,
        }),
        CpuMode::Custom(model) => {
            // `EPYC-v2` is a version of `EPYC`.
            let base = match model.rsplit_once("-v") {
                Some((base, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => base,
                _ => model.as_str(),
            };
            (!MODELS_32_BIT.contains(&base)).then(|| Cpu {
                bits: TCG_BITS,
                amd: AMD_MODELS.contains(&base),
            })
        }
        CpuMode::HostPassthrough | CpuMode::HostModel => None,
    }
}

/// The highest guest-physical address QEMU uses, and whether it moved the RAM above 4GiB to
/// 1TiB for an AMD CPU model.
pub(super) fn highest(l: &Layout, max: Option<MaxMemory>, amd: bool) -> (u64, bool) {
    let hole = l.pci_hole64();
    // Memory devices only when `max=` is above the initial memory.
    let devices = max.filter(|m| m.kib.saturating_mul(1024) > l.ram);
    let last = |above_start: u64| {
        let ram_end = above_start.saturating_add(l.above_4g);
        let hole_start = match devices {
            Some(m) => round_gib(round_gib(ram_end).saturating_add(l.device_memory(m))),
            None => round_gib(ram_end),
        };
        hole_start.saturating_add(hole) - 1
    };
    let at_4g = last(4 * GIB);
    if amd && l.moves_for_amd() && at_4g >= AMD_HT_START {
        (last(AMD_ABOVE_1TB), true)
    } else {
        (at_4g, false)
    }
}

/// What the guest runs on, for the check.
pub struct AddressSpace<'a> {
    pub domain: DomainType,
    pub cpu: &'a CpuMode,
    pub machine: &'a str,
    pub qemu: Version,
}

/// Refuses a guest whose addresses reach past its CPU's physical address bits (reported).
pub fn check(
    memory: Option<&Fields<'_>>,
    on: AddressSpace<'_>,
    initial_kib: u64,
    max: Option<MaxMemory>,
    diags: &mut Vec<Diagnostic>,
) {
    // The check is QEMU 7.2's; vnumac knows its layout.
    let (Some(f), true) = (memory, on.qemu == DEFAULT_QEMU) else {
        return;
    };
    let (Some(cpu), Some(l)) = (cpu(on.domain, on.cpu), layout(on.machine, on.qemu, initial_kib)) else {
        return;
    };
    let (last, moved) = highest(&l, max, cpu.amd);
    let limit = (1u64 << cpu.bits) - 1;
    if last <= limit {
        return;
    }
    let span = if f.has("max") { f.span_of("max") } else { f.arg_span(0) };
    let mut help = format!(
        "under TCG (`type qemu`) QEMU gives every 64-bit CPU model {} physical address bits ({}), \
         and QEMU 7.2 refuses a guest whose RAM above 4GiB, memory device window (`max=` less the \
         initial memory, plus 1GiB a slot) and 64-bit PCI hole ({} on this machine type) reach past \
         them (\"phys-bits too low\"); lower `max=` or the memory, or run the guest under KVM",
        cpu.bits,
        exact_kib((limit + 1) / 1024),
        if l.q35 { "32GiB" } else { "2GiB" },
    );
    if moved {
        help.push_str(
            "; with an AMD CPU model, as TCG's `max` is, QEMU moves the RAM above 4GiB to 1TiB \
             once the addresses reach 1012GiB",
        );
    }
    diags.push(
        Diagnostic::error(
            ADDRESS_SPACE,
            format!(
                "the guest's addresses reach {} ({last:#x}), past the {} its CPU can address ({limit:#x})",
                exact_kib((last + 1) / 1024),
                exact_kib((limit + 1) / 1024),
            ),
            span,
            "the guest's address space follows from this",
        )
        .with_help(help),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::MaxMemory;

    fn last(machine: &str, initial_gib: u64, max: Option<(u64, u32)>, amd: bool) -> (u64, bool) {
        let l = layout(machine, DEFAULT_QEMU, initial_gib << 20).expect("a QEMU 7.2 machine");
        let max = max.map(|(gib, slots)| MaxMemory { kib: gib << 20, slots });
        highest(&l, max, amd)
    }

    /// Each highest address as QEMU 7.2 reported it here, in "Address space limit … < 0x…"
    /// (with `-cpu max,phys-bits=33` for the small guests).
    #[test]
    fn the_highest_address_is_qemus() {
        let cases = [
            // q35, 1GiB, no memory devices: 4GiB + the 32GiB hole.
            ("q35", 1, None, true, 0x8_ffff_ffff, false),
            // q35, 1GiB, max=2GiB slots=1: a 2GiB window from 4GiB, then the hole.
            ("q35", 1, Some((2, 1)), true, 0x9_7fff_ffff, false),
            // pc, 1GiB up to 2TiB, AMD: RAM moved to 1TiB, the window (2TiB) after it, the 2GiB hole.
            ("pc", 1, Some((2048, 1)), true, 0x300_7fff_ffff, true),
            ("pc", 1, Some((1007, 1)), true, 0x1fc_3fff_ffff, true),
            ("q35", 1, Some((977, 1)), true, 0x1fc_3fff_ffff, true),
            ("pc", 1010, None, true, 0x1fc_3fff_ffff, true),
            ("pc", 1011, None, true, 0x1fc_7fff_ffff, true),
            ("q35", 8, Some((980, 4)), true, 0x1fd_7fff_ffff, true),
            // The same guests with an Intel model: nothing moves.
            ("pc", 1, Some((1019, 1)), false, 0x100_3fff_ffff, false),
            ("pc", 1, Some((1020, 1)), false, 0x100_7fff_ffff, false),
            // Machine types before 7.1 do not move RAM for AMD.
            ("pc-i440fx-7.0", 1, Some((1021, 1)), true, 0x100_bfff_ffff, false),
        ];
        for (machine, initial, max, amd, want, moved) in cases {
            assert_eq!(
                last(machine, initial, max, amd),
                (want, moved),
                "{machine} {initial}GiB {max:?} amd={amd}"
            );
        }
    }

    /// The guests QEMU 7.2 started here, at the edge.
    #[test]
    fn the_edges_fit() {
        let limit = (1u64 << TCG_BITS) - 1;
        for (machine, max, amd) in [("pc", 1006, true), ("q35", 976, true), ("pc", 1018, false)] {
            let (got, _) = last(machine, 1, Some((max, 1)), amd);
            assert!(got <= limit, "{machine} max={max}GiB: {got:#x}");
        }
    }

    #[test]
    fn the_cpu_decides_the_bits() {
        let tcg = |m: CpuMode| cpu(DomainType::Qemu, &m);
        assert_eq!(tcg(CpuMode::Maximum), Some(Cpu { bits: 40, amd: true }));
        let custom = |s: &str| tcg(CpuMode::Custom(s.into()));
        assert_eq!(custom("qemu64"), Some(Cpu { bits: 40, amd: true }));
        assert_eq!(custom("EPYC-v2"), Some(Cpu { bits: 40, amd: true }));
        assert_eq!(custom("Skylake-Client"), Some(Cpu { bits: 40, amd: false }));
        assert_eq!(custom("qemu32"), None);
        assert_eq!(custom("pentium-v1"), None);
        assert_eq!(cpu(DomainType::Kvm, &CpuMode::Maximum), None);
        assert_eq!(cpu(DomainType::Kvm, &CpuMode::Custom("qemu64".into())), None);
    }
}
