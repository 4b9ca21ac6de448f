//! Numbers in libvirt XML, read the way libvirt 9.0 reads each one.
//!
//! libvirt reads every number with C's `strtoul`/`strtol` (through `virStrToLong_*`), but
//! not every number the same way: `<address type='dimm' base>` is hexadecimal with or
//! without `0x`, PCI address parts are C notation (`0x10` hexadecimal, `010` octal, so
//! `08` is no number at all), most others are decimal (`010` is ten). What a minus sign
//! does, the width of the C type and the range accepted afterwards differ too. Each
//! attribute's choice is a named [`Rule`] below, found in libvirt's parsers
//! (`virXMLPropUInt(node, "bus", 0, …)` is base 0) and confirmed against libvirt 9.0's own
//! `virsh domxml-to-native` (`compiler/tests/import_libvirt.rs`).
//!
//! What every rule shares, as C's `strtoul` does it: leading white space (` `, tab,
//! newline, vertical tab, form feed, carriage return) is skipped, then an optional `+` or
//! `-`, then the digits; anything after the digits, trailing white space included, makes
//! the text no number, and so does a value too large for the C type.

/// How the digits are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Base 10: `010` is ten, `0x10` no number.
    Decimal,
    /// Base 16, `0x` optional: `10` and `0x10` are sixteen.
    Hex,
    /// Base 0, C notation: `0x10` is sixteen, `010` eight, `10` ten, `08` no number.
    C,
}

/// What a minus sign does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Minus {
    /// `virStrToLong_uip`/`_ullp`: any `-` makes the text no number, `-0` included.
    Refused,
    /// `virStrToLong_ui`: `-N` is 2³² − N (`-1` is 4294967295), `-0` is 0.
    Wraps32,
    /// `virStrToLong_ul`/`_ull`: `-N` is 2⁶⁴ − N, `-0` is 0.
    Wraps64,
    /// `virStrToLong_i`/`_l` into a signed type, then refused when negative: only `-0`
    /// (which is 0) gets through.
    Signed,
}

/// How libvirt reads one number, and what it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub base: Base,
    pub minus: Minus,
    /// The largest value of the C type: anything larger is no number to libvirt.
    pub width: u64,
    /// The range libvirt accepts once the text is a number.
    pub min: u64,
    pub max: u64,
    /// An empty text is absent (libvirt read it through an XPath string, which is empty
    /// for an empty text); otherwise it is no number.
    pub empty_absent: bool,
}

const U32: u64 = u32::MAX as u64;
const I32: u64 = i32::MAX as u64;

/// `virXMLPropUInt(node, name, base, …)`: u32, no minus sign, an empty value refused.
const fn prop_uint(base: Base, min: u64, max: u64) -> Rule {
    Rule {
        base,
        minus: Minus::Refused,
        width: U32,
        min,
        max,
        empty_absent: false,
    }
}

/// `virXMLPropInt(node, name, base, VIR_XML_PROP_NONNEGATIVE, …)`: an int, not negative.
const fn prop_int(base: Base, min: u64, max: u64) -> Rule {
    Rule {
        base,
        minus: Minus::Signed,
        width: I32,
        min,
        max,
        empty_absent: false,
    }
}

// == Domain XML (src/conf/domain_conf.c, numa_conf.c, device_conf.c, cpu_conf.c)

/// `<vcpu>N</vcpu>`: `virStrToLong_ui` in base 10, so `-1` is 4294967295; libvirt 9.0
/// refuses an empty text and 0 vCPUs.
pub const VCPUS: Rule = Rule {
    base: Base::Decimal,
    minus: Minus::Wraps32,
    width: U32,
    min: 1,
    max: U32,
    empty_absent: false,
};
/// `<vcpu current>`: at least 1 ("vcpu 0 can't be offline").
pub const VCPU_CURRENT: Rule = prop_uint(Base::Decimal, 1, U32);
/// `<vcpus><vcpu id order>`.
pub const VCPU_ID: Rule = prop_uint(Base::Decimal, 0, U32);
/// `<topology sockets dies cores threads>`: never 0.
pub const TOPOLOGY: Rule = prop_uint(Base::Decimal, 1, U32);
/// `<cell id>`, `<sibling id>`, `<memnode cellid>`, HMAT `initiator`, `target` and `cache`,
/// `<vcpupin vcpu>`, `<address type='dimm' slot>`: plain decimal ids.
pub const DECIMAL_ID: Rule = prop_uint(Base::Decimal, 0, U32);
/// `<sibling value>`: 10 to 255 (10 only to itself, checked by the reader).
pub const DISTANCE: Rule = prop_uint(Base::Decimal, 10, 255);
/// `<cache level>`: `virStrToLong_uip`, 0 refused, and no level above 3.
pub const CACHE_LEVEL: Rule = prop_uint(Base::Decimal, 1, 3);
/// `<latency value>`: `virXMLPropULongLong` in base 10.
pub const LATENCY: Rule = Rule {
    width: u64::MAX,
    max: u64::MAX,
    ..prop_uint(Base::Decimal, 0, 0)
};
/// `<iothreads>N</iothreads>`: empty is none.
pub const IOTHREADS: Rule = Rule {
    empty_absent: true,
    ..prop_uint(Base::Decimal, 0, U32)
};
/// `<iothreadpin iothread>`: never 0.
pub const IOTHREAD_ID: Rule = prop_uint(Base::Decimal, 1, U32);
/// `<vcpusched priority>`, and that of `<iothreadsched>` and `<emulatorsched>`, for `fifo`
/// and `rr`: `virStrToLong_i` in base 10, any int. Linux refuses a real-time priority
/// outside 1 to 99 when libvirt starts the guest, which the importer reports; a negative
/// one reads as no number here.
pub const SCHED_PRIORITY: Rule = prop_int(Base::Decimal, 0, I32);
/// `<maxMemory slots>`: an empty value is none (which libvirt 9.0 then refuses).
pub const SLOTS: Rule = Rule {
    empty_absent: true,
    ..prop_uint(Base::Decimal, 0, U32)
};
/// `<allocation threads>`: an empty value is none, as is 0.
pub const ALLOCATION_THREADS: Rule = Rule {
    empty_absent: true,
    ..prop_uint(Base::Decimal, 0, U32)
};
/// `<controller index>`: a non-negative int in base 10.
pub const CONTROLLER_INDEX: Rule = prop_int(Base::Decimal, 0, I32);
/// `<target chassis port>` of a PCI controller: C notation, 0 to 255.
pub const CHASSIS_PORT: Rule = prop_int(Base::C, 0, 255);
/// `<target busNr>` of an expander bus: C notation, 1 to 254.
pub const BUS_NR: Rule = prop_int(Base::C, 1, 254);
/// `<target><node>N</node>` of an expander bus: `virXPathInt`, decimal, not negative;
/// empty is none.
pub const EXPANDER_NODE: Rule = Rule {
    empty_absent: true,
    ..prop_int(Base::Decimal, 0, I32)
};
/// `<address domain>` (guest addresses and host devices): C notation, any u32.
pub const PCI_DOMAIN: Rule = prop_uint(Base::C, 0, U32);
/// `<address bus>`: C notation, at most 0xff.
pub const PCI_BUS: Rule = prop_uint(Base::C, 0, 0xff);
/// `<address slot>`: C notation, at most 0x1f.
pub const PCI_SLOT: Rule = prop_uint(Base::C, 0, 0x1f);
/// `<address function>`: C notation, at most 7.
pub const PCI_FUNCTION: Rule = prop_uint(Base::C, 0, 7);
/// `<target><node>N</node>` of a memory device: `virXPathUInt` (`virStrToLong_ul`, so `-0`
/// is 0 and `-1` no u32); empty is none.
pub const MEMORY_NODE: Rule = Rule {
    base: Base::Decimal,
    minus: Minus::Wraps64,
    width: U32,
    min: 0,
    max: U32,
    empty_absent: true,
};
/// `<address type='dimm' base>`, and a virtio-mem `<target><address base>` (which libvirt
/// 9.0 does not read; newer libvirt reads it the same way): hexadecimal, `0x` optional.
pub const MEMORY_BASE: Rule = Rule {
    width: u64::MAX,
    max: u64::MAX,
    ..prop_uint(Base::Hex, 0, 0)
};

// == Capabilities XML (`virsh capabilities`, written by src/conf/capabilities.c)

/// Ids and distances libvirt writes with `%d`/`%u`: cell, CPU, socket, die and core ids,
/// sibling ids and values, cache levels. libvirt reads no capabilities XML; these are
/// read as its decimal attributes are.
pub const CAPS_ID: Rule = prop_uint(Base::Decimal, 0, U32);
/// Page counts (`<pages>N</pages>`, written with `%llu`).
pub const CAPS_COUNT: Rule = Rule {
    width: u64::MAX,
    max: u64::MAX,
    ..prop_uint(Base::Decimal, 0, 0)
};

/// Why a text is not a number libvirt accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumError {
    /// libvirt reads no number from it (syntax, a minus sign, too large for the C type).
    NotANumber,
    /// A number, outside the rule's range.
    OutOfRange(u64),
}

/// `text` read by `rule`: `Ok(None)` for an empty text the rule takes as absent.
pub fn read(rule: &Rule, text: &str) -> Result<Option<u64>, NumError> {
    if text.is_empty() && rule.empty_absent {
        return Ok(None);
    }
    let (negative, magnitude) = match plain_decimal(text, rule.base) {
        Some(value) => (false, value),
        None => strtoul(text, rule.base).ok_or(NumError::NotANumber)?,
    };
    let value = match (negative && magnitude != 0, rule.minus) {
        (false, _) => magnitude,
        (true, Minus::Refused | Minus::Signed) => return Err(NumError::NotANumber),
        (true, Minus::Wraps32) if magnitude <= U32 => (1u64 << 32) - magnitude,
        (true, Minus::Wraps32) => return Err(NumError::NotANumber),
        (true, Minus::Wraps64) => magnitude.wrapping_neg(),
    };
    // `-0` is a number only where a minus sign is.
    if negative && rule.minus == Minus::Refused {
        return Err(NumError::NotANumber);
    }
    if value > rule.width {
        return Err(NumError::NotANumber);
    }
    if value < rule.min || value > rule.max {
        return Err(NumError::OutOfRange(value));
    }
    Ok(Some(value))
}

/// Nothing but decimal digits, at most 19 of them (no 64-bit overflow), read as decimal:
/// how nearly every number is written, read as [`strtoul`] reads it, without its general steps.
fn plain_decimal(text: &str, base: Base) -> Option<u64> {
    let plain = base == Base::Decimal && (1..=19).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| text.bytes().fold(0u64, |v, b| v * 10 + u64::from(b - b'0')))
}

/// C's `strtoul` over the whole text: the sign and the magnitude, or None when the text
/// holds anything but one number or the magnitude does not fit in 64 bits.
fn strtoul(text: &str, base: Base) -> Option<(bool, u64)> {
    let s = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let hex_prefixed = |s: &str| {
        let b = s.as_bytes();
        b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit()
    };
    let (radix, digits) = match base {
        Base::Decimal => (10, s),
        Base::Hex if hex_prefixed(s) => (16, &s[2..]),
        Base::Hex => (16, s),
        Base::C if hex_prefixed(s) => (16, &s[2..]),
        Base::C if s.starts_with('0') => (8, s),
        Base::C => (10, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    // A byte at a time: a byte of a multi-byte character is no digit, as that character is not.
    for b in digits.bytes() {
        let d = char::from(b).to_digit(radix)?;
        value = value.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some((negative, value))
}

// == Scaled sizes: `virParseScaledValue` and `virDomainParseMemory`

/// Why a size is not one libvirt accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// The value is not a decimal number without a sign (`virStrToLong_ullp`).
    NotANumber,
    /// libvirt knows no such unit.
    Unit,
    /// The value in bytes does not fit libvirt's limit.
    TooLarge,
}

/// Bytes per unit, as `virScaleInteger` reads a `unit`: `b`, `byte`, `bytes`; then `k`,
/// `m`, `g`, `t`, `p`, `e` alone or with `iB` (powers of 1024) or with `B` (powers of
/// 1000), without regard to case and without white space. None for anything else.
pub fn unit_bytes(unit: &str) -> Option<u64> {
    let is = |word: &str| unit.eq_ignore_ascii_case(word);
    if is("b") || is("byte") || is("bytes") {
        return Some(1);
    }
    let (first, rest) = unit.as_bytes().split_first()?;
    let power = match first.to_ascii_lowercase() {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        b'e' => 6,
        _ => return None,
    };
    let base: u64 = if rest.is_empty() || rest.eq_ignore_ascii_case(b"ib") {
        1024
    } else if rest.eq_ignore_ascii_case(b"b") {
        1000
    } else {
        return None;
    };
    Some(base.pow(power))
}

/// `virParseScaledValue`: `value` (decimal, no sign) times the unit's bytes, or times
/// `default_scale` when the unit is absent or empty; at most `max_bytes`. `Ok(None)` for
/// an empty value, which libvirt reads as absent.
pub fn scaled_bytes(
    value: &str,
    unit: Option<&str>,
    default_scale: u64,
    max_bytes: u64,
) -> Result<Option<u64>, SizeError> {
    if value.is_empty() {
        return Ok(None);
    }
    let rule = Rule {
        width: u64::MAX,
        max: u64::MAX,
        ..prop_uint(Base::Decimal, 0, 0)
    };
    let n = read(&rule, value).map_err(|_| SizeError::NotANumber)?.unwrap_or(0);
    let scale = match unit.filter(|u| !u.is_empty()) {
        None => default_scale,
        Some(u) => unit_bytes(u).ok_or(SizeError::Unit)?,
    };
    if n > 0 && n > max_bytes / scale {
        return Err(SizeError::TooLarge);
    }
    Ok(Some(n * scale))
}

/// libvirt keeps sizes in bytes up to `LLONG_MAX` (`virMemoryMaxValue` on 64-bit hosts).
pub const MAX_BYTES: u64 = i64::MAX as u64;

/// `virDomainParseMemory`: a size in KiB unless `unit` says otherwise, in KiB rounded up,
/// below 2⁵³ KiB (`LLONG_MAX` bytes). `Ok(None)` for an empty value.
pub fn memory_kib(value: &str, unit: Option<&str>) -> Result<Option<u64>, SizeError> {
    let Some(bytes) = scaled_bytes(value, unit, 1024, MAX_BYTES)? else {
        return Ok(None);
    };
    let kib = bytes.div_ceil(1024);
    if kib >= MAX_BYTES.div_ceil(1024) {
        return Err(SizeError::TooLarge);
    }
    Ok(Some(kib))
}

#[cfg(test)]
mod tests;
