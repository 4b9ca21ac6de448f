//! The `import_numbers` target: numbers in domain XML, read as libvirt reads them.
//!
//! Input: a selector byte, then either a number's text (selector below 0x80) or, from
//! 0x80, a style byte and eight bytes of a little-endian value that is rendered in that
//! style (decimal, hexadecimal with or without `0x`, octal, leading zeros, white space on
//! either side, a sign, a junk suffix, nothing). The selector also picks one attribute of a
//! small domain to carry the text.
//!
//! Properties: every rule of [`crate::numbers`] reads the text as the reference below does
//! (written apart from the reader: a byte-by-byte copy of C's `strtoul` and of libvirt's
//! `virStrToLong_*` wrappers); the import, with the text in the chosen attribute, refuses
//! it exactly when libvirt's rule does (or the value is beyond what a `.vnuma` file can
//! say), and otherwise writes the value libvirt reads, in a guest whose every value
//! vnumac's own reader takes; and nothing panics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::db::{self, Database};
use crate::import::{ImportOptions, import_domain};
use crate::numbers::{self, Base, Minus, Rule};

/// Every rule, for the reader-against-reference property.
const RULES: &[Rule] = &[
    numbers::VCPUS,
    numbers::VCPU_CURRENT,
    numbers::VCPU_ID,
    numbers::TOPOLOGY,
    numbers::DECIMAL_ID,
    numbers::DISTANCE,
    numbers::CACHE_LEVEL,
    numbers::LATENCY,
    numbers::IOTHREADS,
    numbers::IOTHREAD_ID,
    numbers::SLOTS,
    numbers::ALLOCATION_THREADS,
    numbers::CONTROLLER_INDEX,
    numbers::CHASSIS_PORT,
    numbers::BUS_NR,
    numbers::EXPANDER_NODE,
    numbers::PCI_DOMAIN,
    numbers::PCI_BUS,
    numbers::PCI_SLOT,
    numbers::PCI_FUNCTION,
    numbers::MEMORY_NODE,
    numbers::MEMORY_BASE,
    numbers::CAPS_ID,
    numbers::CAPS_COUNT,
];

/// The attributes the import is tried with: how to put the text in a domain, and what the
/// imported guest then says for a value libvirt reads (None: vnumac cannot say it).
struct Carrier {
    rule: Rule,
    domain: fn(&str) -> String,
    written: fn(u64) -> Option<String>,
}

fn domain(vcpu: &str, cpu: &str, devices: &str) -> String {
    format!(
        "<domain type='kvm'><name>f</name><memory unit='GiB'>4</memory>{vcpu}\
         <os><type arch='x86_64' machine='q35'>hvm</type></os><features><acpi/><apic/></features>\
         <cpu mode='host-passthrough'>{cpu}</cpu><devices>{devices}</devices></domain>"
    )
}

const TWO_CELLS: &str = "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'>@D@</cell>\
                         <cell id='1' cpus='2-3' memory='2' unit='GiB'/></numa>";

const CARRIERS: &[Carrier] = &[
    // <hostdev><source><address bus>: C notation, 0 to 0xff.
    Carrier {
        rule: numbers::PCI_BUS,
        domain: |t| {
            domain(
                "<vcpu>4</vcpu>",
                "",
                &format!(
                    "<hostdev mode='subsystem' type='pci' managed='yes'><source>\
                     <address domain='0' bus='{t}' slot='1' function='0'/></source></hostdev>"
                ),
            )
        },
        written: |v| Some(format!("hostdev 0000:{v:02x}:01.0")),
    },
    // <address type='dimm' base>: hexadecimal; vnumac says it in whole KiB up to 1 PiB.
    Carrier {
        rule: numbers::MEMORY_BASE,
        domain: |t| {
            domain(
                "<vcpu>4</vcpu>",
                &TWO_CELLS.replace("@D@", ""),
                &format!(
                    "<memory model='dimm'><target><size unit='GiB'>1</size><node>0</node></target>\
                     <address type='dimm' slot='0' base='{t}'/></memory>"
                ),
            )
            .replace(
                "<memory unit='GiB'>4</memory>",
                "<maxMemory slots='2' unit='GiB'>8</maxMemory><memory unit='GiB'>5</memory>",
            )
        },
        written: |v| {
            (v.is_multiple_of(1024) && v <= crate::syntax::value::MAX_SIZE)
                .then(|| format!(" base={}", crate::units::exact_kib(v / 1024)))
        },
    },
    // <vcpu>: decimal, `-N` wraps; vnumac's q35 guests have 1 to 288.
    Carrier {
        rule: numbers::VCPUS,
        domain: |t| domain(&format!("<vcpu>{t}</vcpu>"), "", ""),
        written: |v| (v <= 288).then(|| format!("  vcpus {v}\n")),
    },
    // <sibling value> between two cells: decimal, 11 to 255.
    Carrier {
        rule: numbers::DISTANCE,
        domain: |t| {
            let d = format!("<distances><sibling id='0' value='10'/><sibling id='1' value='{t}'/></distances>");
            domain("<vcpu>4</vcpu>", &TWO_CELLS.replace("@D@", &d), "")
        },
        written: |v| (v != 10).then(|| format!("distance 0 1 {v}\n")),
    },
];

/// The target: see the module documentation.
pub fn import_numbers(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = if selector < 0x80 {
        String::from_utf8_lossy(&rest[..rest.len().min(64)]).into_owned()
    } else {
        render(rest)
    };
    for rule in RULES {
        assert_eq!(
            numbers::read(rule, &text),
            reference(rule, &text),
            "{text:?} under {rule:?}"
        );
    }
    let carrier = &CARRIERS[usize::from(selector & 0x7f) % CARRIERS.len()];
    // Text that is no attribute value (quotes, `<`, `&`) is XML's business, not a number's.
    if text.contains(['\'', '<', '&']) || text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return;
    }
    let xml = (carrier.domain)(&text);
    let imported = import_domain(&xml, &ImportOptions::default());
    let want = reference(&carrier.rule, &text).ok().flatten().and_then(carrier.written);
    match (&imported, &want) {
        (Ok(i), Some(w)) => {
            assert!(i.text.contains(w.as_str()), "{text:?}: want {w:?} in\n{}", i.text);
            reads_back(&i.text);
        }
        (Err(_), None) => {}
        (Ok(i), None) => panic!(
            "{text:?}: libvirt refuses it (or vnumac cannot say it), the import wrote\n{}",
            i.text
        ),
        (Err(e), Some(w)) => panic!("{text:?}: libvirt reads {w:?}, the import refused: {}", e.message),
    }
}

/// The imported guest has no value vnumac's reader refuses (a set, a size, an integer of
/// the wrong kind or too large) and no vCPU count out of range.
fn reads_back(text: &str) {
    let bundle = super::common::Bundle {
        files: BTreeMap::from([(PathBuf::from(super::common::ROOT), text.to_string())]),
    };
    let database = Database::default();
    let Ok(program) = db::load_program(&database, Path::new(super::common::ROOT), &bundle) else {
        panic!("the root file is always there");
    };
    let compiled = db::compile(&database, program);
    let refused = [crate::lang::WRONG_KIND, crate::codes::VCPU_COUNT];
    if let Some(d) = compiled.diagnostics.iter().find(|d| refused.contains(&d.code)) {
        panic!("the import wrote a value vnumac does not read: {d:?}\n{text}");
    }
}

/// A value (eight bytes, little-endian, after a style byte) rendered in the style.
fn render(bytes: &[u8]) -> String {
    let style = bytes.first().copied().unwrap_or(0);
    let mut raw = [0u8; 8];
    for (i, b) in bytes.iter().skip(1).take(8).enumerate() {
        raw[i] = *b;
    }
    // The high bits of the style make small values common: PCI parts, distances, vCPUs.
    let v = match style >> 5 {
        0..=3 => u64::from_le_bytes(raw) & 0x1ff,
        4 | 5 => u64::from_le_bytes(raw) & 0xffff_ffff,
        _ => u64::from_le_bytes(raw),
    };
    match style % 12 {
        0 => format!("{v}"),
        1 => format!("0x{v:x}"),
        2 => format!("0X{v:X}"),
        3 => format!("{v:x}"),
        4 => format!("0{v:o}"),
        5 => format!("000{v}"),
        6 => format!(" \t{v}"),
        7 => format!("{v} "),
        8 => format!("+{v}"),
        9 => format!("-{v}"),
        10 => format!("{v}x"),
        _ => String::new(),
    }
}

/// libvirt's reading of `text` under `rule`, written apart from [`numbers::read`].
pub fn reference(rule: &Rule, text: &str) -> Result<Option<u64>, numbers::NumError> {
    use numbers::NumError::{NotANumber, OutOfRange};
    if text.is_empty() {
        return if rule.empty_absent { Ok(None) } else { Err(NotANumber) };
    }
    let base = match rule.base {
        Base::Decimal => 10,
        Base::Hex => 16,
        Base::C => 0,
    };
    let Some(Strtoul { negative, magnitude }) = c_strtoul(text.as_bytes(), base) else {
        return Err(NotANumber);
    };
    // The wrappers: what a consumed minus sign does.
    let value: u128 = match rule.minus {
        _ if !negative => magnitude,
        Minus::Refused => return Err(NotANumber),
        Minus::Signed if magnitude == 0 => 0,
        Minus::Signed => return Err(NotANumber),
        Minus::Wraps32 if magnitude <= u128::from(u32::MAX) => ((1u128 << 32) - magnitude) % (1u128 << 32),
        Minus::Wraps32 => return Err(NotANumber),
        Minus::Wraps64 => ((1u128 << 64) - magnitude) % (1u128 << 64),
    };
    if value > u128::from(rule.width) {
        return Err(NotANumber);
    }
    let value = value as u64;
    if value < rule.min || value > rule.max {
        return Err(OutOfRange(value));
    }
    Ok(Some(value))
}

struct Strtoul {
    negative: bool,
    magnitude: u128,
}

/// C's `strtoull(text, &end, base)` with `*end == '\0'` required: None when no digit is
/// read, something follows the digits, or the value overflows 64 bits (ERANGE).
fn c_strtoul(s: &[u8], mut base: u32) -> Option<Strtoul> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let hex_digit_at = |j: usize| j < s.len() && (s[j] as char).is_ascii_hexdigit();
    let prefix = i + 1 < s.len() && s[i] == b'0' && (s[i + 1] == b'x' || s[i + 1] == b'X') && hex_digit_at(i + 2);
    if (base == 0 || base == 16) && prefix {
        base = 16;
        i += 2;
    } else if base == 0 {
        base = if i < s.len() && s[i] == b'0' { 8 } else { 10 };
    }
    let start = i;
    let mut magnitude: u128 = 0;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(base) else { break };
        magnitude = magnitude * u128::from(base) + u128::from(d);
        if magnitude > u128::from(u64::MAX) {
            return None;
        }
        i += 1;
    }
    (i > start && i == s.len()).then_some(Strtoul { negative, magnitude })
}
