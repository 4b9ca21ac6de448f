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

/// QEMU 7.2 has no machine type of that name: vnumac refuses it with this code.
pub const NO_SUCH_MACHINE: &str = "vnuma::E0373";

/// Whether QEMU 7.2 has the pc or q35 machine type `machine`, as its
/// `qemu-system-x86_64 -machine help` lists them: `pc`, `q35`, `pc-i440fx-1.4` to 7.2,
/// `pc-q35-2.4` to 7.2 and `pc-q35-4.0.1`.
pub fn qemu_7_2_has(machine: &str) -> bool {
    let release = |v: &str| {
        let Some((major, minor)) = v.split_once('.') else {
            return false;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u32>(), minor.parse::<u32>()) else {
            return false;
        };
        let last = match major {
            1 => 7,
            2 => 12,
            3 => 1,
            4..=7 => 2,
            _ => return false,
        };
        minor <= last && (major, minor) >= (1, 4) && format!("{major}.{minor}") == v
    };
    matches!(machine, "pc" | "q35" | "pc-q35-4.0.1")
        || machine.strip_prefix("pc-i440fx-").is_some_and(release)
        || machine
            .strip_prefix("pc-q35-")
            .is_some_and(|v| release(v) && !v.starts_with("1.") && !["2.0", "2.1", "2.2", "2.3"].contains(&v))
}

/// A line whose `-machine` type QEMU 7.2 lacks: QEMU refuses to start it.
pub fn machine_qemu_7_2_lacks(line: &str) -> bool {
    let Ok(options) = shell_words(line).and_then(|w| qemu_options(&w)) else {
        return false;
    };
    options
        .iter()
        .filter(|o| o.name == "machine")
        .filter_map(|o| o.value.as_deref())
        .filter_map(|v| v.split(',').next())
        .map(|t| t.strip_prefix("type=").unwrap_or(t))
        .any(|t| !qemu_7_2_has(t))
}

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
    fn machine_types_qemu_7_2_lacks_are_found() {
        for has in [
            "pc",
            "q35",
            "pc-i440fx-1.4",
            "pc-i440fx-2.12",
            "pc-q35-2.4",
            "pc-q35-4.0.1",
            "pc-q35-7.2",
        ] {
            assert!(qemu_7_2_has(has), "{has}");
        }
        for lacks in [
            "pc-1.0",
            "pc-q35-2.3",
            "pc-q35-7.3",
            "pc-q35-8.0",
            "pc-i440fx-1.3",
            "foo",
            "pc-q35-02.4",
        ] {
            assert!(!qemu_7_2_has(lacks), "{lacks}");
        }
        assert!(machine_qemu_7_2_lacks(
            "qemu-system-x86_64 -machine pc-q35-8.0,usb=off -m 1024"
        ));
        assert!(!machine_qemu_7_2_lacks(
            "qemu-system-x86_64 -machine pc-i440fx-2.3,usb=off -m 1024"
        ));
    }

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
