//! Which of libvirt's expected lines QEMU 7.2 itself refuses, and the code vnumac refuses
//! them with: libvirt's harness never starts QEMU.

use super::common::qemu::{Props, qemu_options, qemu_size};
use super::common::shell::shell_words;

/// Cases whose expected line QEMU 7.2 itself refuses (libvirt's harness never starts QEMU),
/// with the code vnumac refuses them with (besides the TCG lines beyond 40 address bits,
/// found by [`beyond_tcg_address_bits`]): a DIMM at 4GiB on an i440fx guest of 4GiB, whose
/// memory device window starts at 5GiB ("can't add memory device [0x100000000:0x20000000],
/// usable range for memory devices [0x140000000:0x500000000]").
pub const QEMU_REFUSES: &[(&str, &str)] = &[
    ("hugepages-memaccess", "vnuma::E0363"),
    ("hugepages-memaccess2", "vnuma::E0363"),
];

/// QEMU 7.2 gives every 64-bit CPU model 40 physical address bits under TCG and refuses a
/// guest whose addresses reach past them ("Address space limit 0xffffffffff < … phys-bits too
/// low (40)"): a TCG line whose memory or `maxmem` alone reaches 1TiB cannot start, as its
/// RAM above 4GiB and memory device window lie above 4GiB. vnumac refuses it with this code.
pub const ADDRESS_SPACE: &str = "vnuma::E0372";

pub fn beyond_tcg_address_bits(line: &str) -> bool {
    let Ok(options) = shell_words(line).and_then(|w| qemu_options(&w)) else {
        return false;
    };
    let value = |name: &str| {
        options
            .iter()
            .filter(|o| o.name == name)
            .filter_map(|o| o.value.clone())
            .collect::<Vec<_>>()
    };
    let machine_tcg = value("machine").iter().any(|m| m.split(',').any(|p| p == "accel=tcg"));
    let tcg = machine_tcg || value("accel").iter().any(|a| a == "tcg");
    let reach = value("m")
        .iter()
        .filter_map(|m| Props::parse(m, Some("size")).ok())
        .any(|p| {
            ["size", "maxmem"].iter().any(|k| {
                p.get_str(k)
                    .and_then(|v| {
                        qemu_size(&if v.bytes().all(|b| b.is_ascii_digit()) {
                            format!("{v}M")
                        } else {
                            v
                        })
                        .ok()
                    })
                    .is_some_and(|bytes| bytes >= 1 << 40)
            })
        });
    tcg && reach
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCG line is judged beyond its CPU's address bits by its `-m`, in either syntax; a KVM
    /// line never is (its CPU's bits are the host's).
    #[test]
    fn tcg_lines_past_1tib_are_found() {
        let tcg = "qemu-system-x86_64 -machine pc,usb=off -accel tcg -m size=219136k,slots=16,maxmem=1099511627776k";
        assert!(beyond_tcg_address_bits(tcg));
        assert!(beyond_tcg_address_bits(
            "qemu-system-x86_64 -machine pc,accel=tcg,usb=off -m size=219136k,slots=16,maxmem=1024G"
        ));
        assert!(beyond_tcg_address_bits(
            "qemu-system-x86_64 -machine pc -accel tcg -m 1048576"
        ));
        assert!(!beyond_tcg_address_bits(&tcg.replace("-accel tcg", "-accel kvm")));
        assert!(!beyond_tcg_address_bits(
            &tcg.replace("maxmem=1099511627776k", "maxmem=1073741823k")
        ));
        assert!(!beyond_tcg_address_bits(
            "qemu-system-x86_64 -machine pc -accel tcg -m 1048575"
        ));
    }
}
