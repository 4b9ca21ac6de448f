//! Classifying a written value as the kind the schema expects.

use super::ast::Value;
use crate::sets::IdSet;

/// Why a value is not of the expected kind: message, optional fix, and the
/// byte range inside the value to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub message: String,
    pub help: Option<String>,
    /// True when the value is a size with a non-IEC unit (its own diagnostic code).
    pub si_unit: bool,
}

fn err(message: impl Into<String>, help: impl Into<String>) -> ValueError {
    ValueError {
        message: message.into(),
        help: Some(help.into()),
        si_unit: false,
    }
}

/// `16`, `0xfe`, `1_000`.
pub fn integer(v: &Value) -> Result<u64, ValueError> {
    let help = "write a whole number such as `16`, `0xfe` or `1_000`";
    if v.quoted {
        return Err(err(
            format!("expected an integer, found the string \"{}\"", v.text),
            help,
        ));
    }
    let n = match digits_of(&v.text).map(|(d, radix)| u64::from_str_radix(&d, radix)) {
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(too_large(&v.text)),
        None => return Err(err(format!("expected an integer, found `{}`", v.text), help)),
    };
    // Every integer of the language is an id, a count or a distance: 32 bits. A number
    // that does not fit is an error, never clamped.
    if n > u64::from(u32::MAX) {
        return Err(too_large(&v.text));
    }
    Ok(n)
}

fn too_large(text: &str) -> ValueError {
    err(
        format!("`{text}` is too large for an integer here (at most 4294967295)"),
        "ids, counts and distances are 32-bit numbers",
    )
}

fn parse_integer(text: &str) -> Option<u64> {
    let (digits, radix) = digits_of(text)?;
    u64::from_str_radix(&digits, radix).ok()
}

/// The digits of a well-formed integer (underscores dropped) and their radix.
fn digits_of(text: &str) -> Option<(String, u32)> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (text, 10),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if !clean.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some((clean, radix))
}

const IEC: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("PiB", 1 << 50),
];

/// Units that look like sizes but are not IEC, with the IEC unit the writer most likely meant.
const NOT_IEC: &[(&str, &str)] = &[
    ("KB", "KiB"),
    ("kB", "KiB"),
    ("kb", "KiB"),
    ("K", "KiB"),
    ("k", "KiB"),
    ("MB", "MiB"),
    ("M", "MiB"),
    ("m", "MiB"),
    ("mb", "MiB"),
    ("GB", "GiB"),
    ("G", "GiB"),
    ("g", "GiB"),
    ("gb", "GiB"),
    ("TB", "TiB"),
    ("T", "TiB"),
    ("t", "TiB"),
    ("tb", "TiB"),
    ("Gib", "GiB"),
    ("gib", "GiB"),
    ("Mib", "MiB"),
    ("mib", "MiB"),
    ("kib", "KiB"),
    ("Kib", "KiB"),
    ("b", "B"),
];

/// The largest size accepted: 1 PiB.
pub const MAX_SIZE: u64 = 1 << 50;

/// `32GiB`, `8388608KiB`, `4096B` → bytes.
pub fn size(v: &Value) -> Result<u64, ValueError> {
    let example = "a size like `8GiB`, `512MiB` or `4096B`";
    if v.quoted {
        return Err(err(
            format!("expected {example}, found a string"),
            "write the size without quotes",
        ));
    }
    let text = v.text.as_str();
    let (number, unit) = split_unit(text).unwrap_or(("", text));
    let Some(n) = parse_integer(number) else {
        return Err(err(
            format!("expected {example}, found `{text}`"),
            "write a number directly followed by an IEC unit: `B`, `KiB`, `MiB`, `GiB` or `TiB`",
        ));
    };
    if unit.is_empty() {
        return Err(err(
            format!("`{text}` has no unit"),
            format!("sizes need a unit: write `{n}MiB`, `{n}GiB` or `{n}B`"),
        ));
    }
    if let Some((_, mult)) = IEC.iter().find(|(u, _)| *u == unit) {
        // Far beyond any machine, and small enough that sums over many cells cannot overflow.
        return n
            .checked_mul(*mult)
            .filter(|b| *b <= MAX_SIZE)
            .ok_or_else(|| err(format!("`{text}` is too large"), "sizes go up to 1PiB"));
    }
    if let Some((_, fix)) = NOT_IEC.iter().find(|(u, _)| *u == unit) {
        return Err(ValueError {
            message: format!("`{unit}` is not an IEC unit"),
            help: Some(format!(
                "write `{n}{fix}`: vnumac takes IEC units only (`KiB`, `MiB`, `GiB`, `TiB`), because libvirt reads `{unit}` differently from what most people mean"
            )),
            si_unit: true,
        });
    }
    Err(err(
        format!("unknown size unit `{unit}`"),
        "use one of `B`, `KiB`, `MiB`, `GiB`, `TiB`",
    ))
}

fn split_unit(text: &str) -> Option<(&str, &str)> {
    let idx = text.rfind(|c: char| c.is_ascii_digit() || c == '_')?;
    // A hex number's own letters stay with the number.
    if text.starts_with("0x") || text.starts_with("0X") {
        let end = text[2..]
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '_'))
            .map(|i| i + 2)
            .unwrap_or(text.len());
        // `0x10B` is ambiguous; treat a trailing `B` as the byte unit.
        if text[..end].ends_with('B') && end == text.len() {
            return Some((&text[..end - 1], "B"));
        }
        return Some((&text[..end], &text[end..]));
    }
    Some((&text[..=idx], &text[idx + 1..]))
}

/// `0-3,^2,8` or a single id.
pub fn set(v: &Value) -> Result<IdSet, ValueError> {
    if v.quoted {
        return Err(err(
            "expected a set like `0-3,8`, found a string",
            "write the set without quotes",
        ));
    }
    IdSet::parse(&v.text).map_err(|e| {
        err(
            format!("invalid set `{}`: {}", v.text, e.message),
            "write ids and ranges separated by commas, `^` to exclude: `0-14,60-74` or `0-3,^2`",
        )
    })
}

/// Letters, digits, `-`, `_`, starting with a letter.
pub fn is_word(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn word(v: &Value) -> Result<String, ValueError> {
    if !v.quoted && is_word(&v.text) {
        Ok(v.text.clone())
    } else {
        Err(err(
            format!("expected a word, found `{}`", v.text),
            "a word is letters, digits, `-` and `_`, starting with a letter",
        ))
    }
}

/// A name: a word or a string.
pub fn name(v: &Value) -> Result<String, ValueError> {
    if v.quoted {
        if v.text.is_empty() {
            return Err(err("a name cannot be empty", "give it a name such as \"web-1\""));
        }
        Ok(v.text.clone())
    } else {
        word(v)
    }
}

pub fn string(v: &Value) -> Result<String, ValueError> {
    if v.quoted {
        Ok(v.text.clone())
    } else {
        Err(err(
            format!("expected a string, found `{}`", v.text),
            format!("put it in double quotes: \"{}\"", v.text),
        ))
    }
}

pub fn boolean(v: &Value) -> Result<bool, ValueError> {
    match (v.quoted, v.text.as_str()) {
        (false, "true") => Ok(true),
        (false, "false") => Ok(false),
        (false, "yes" | "on") => Err(err(
            format!("expected `true` or `false`, found `{}`", v.text),
            "write `true`",
        )),
        (false, "no" | "off") => Err(err(
            format!("expected `true` or `false`, found `{}`", v.text),
            "write `false`",
        )),
        _ => Err(err(
            format!("expected `true` or `false`, found `{}`", v.text),
            "write `true` or `false`",
        )),
    }
}

/// `52:54:00:0f:fb:22`, lower-cased.
pub fn mac(v: &Value) -> Result<String, ValueError> {
    let parts: Vec<&str> = v.text.split(':').collect();
    let ok = !v.quoted
        && parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(v.text.to_ascii_lowercase())
    } else {
        Err(err(
            format!("expected a MAC address, found `{}`", v.text),
            "write six hex pairs: `52:54:00:0f:fb:22`",
        ))
    }
}

/// `0000:3b:00.0` or `3b:00.0` → canonical `dddd:bb:ss.f`.
pub fn pci_address(v: &Value) -> Result<String, ValueError> {
    let bad = || {
        err(
            format!("expected a PCI address, found `{}`", v.text),
            "write `domain:bus:slot.function`, e.g. `0000:3b:00.0` or `3b:00.0`",
        )
    };
    if v.quoted {
        return Err(bad());
    }
    let (head, func) = v.text.rsplit_once('.').ok_or_else(bad)?;
    let parts: Vec<&str> = head.split(':').collect();
    let (dom, bus, slot) = match parts.as_slice() {
        [d, b, s] => (*d, *b, *s),
        [b, s] => ("0", *b, *s),
        _ => return Err(bad()),
    };
    let hex = |s: &str, max: u32| -> Option<u32> {
        if s.is_empty() || s.len() > 4 {
            return None;
        }
        u32::from_str_radix(s, 16).ok().filter(|v| *v <= max)
    };
    match (hex(dom, 0xffff), hex(bus, 0xff), hex(slot, 0x1f), hex(func, 7)) {
        (Some(d), Some(b), Some(s), Some(f)) => Ok(format!("{d:04x}:{b:02x}:{s:02x}.{f:x}")),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    fn v(t: &str) -> Value {
        Value {
            text: t.into(),
            quoted: false,
            span: Span::default(),
        }
    }

    #[test]
    fn integers() {
        assert_eq!(integer(&v("16")).unwrap(), 16);
        assert_eq!(integer(&v("0xfe")).unwrap(), 254);
        assert_eq!(integer(&v("1_000")).unwrap(), 1000);
        assert!(integer(&v("1__")).is_err());
        assert!(integer(&v("abc")).is_err());
        assert!(integer(&v("99999999999999999999999")).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size(&v("32GiB")).unwrap(), 32 << 30);
        assert_eq!(size(&v("8388608KiB")).unwrap(), 8 << 30);
        assert_eq!(size(&v("4096B")).unwrap(), 4096);
        assert_eq!(size(&v("1_024MiB")).unwrap(), 1 << 30);
        let e = size(&v("8GB")).unwrap_err();
        assert!(e.si_unit);
        assert!(e.help.unwrap().contains("`8GiB`"));
        assert!(size(&v("8G")).unwrap_err().si_unit);
        assert!(!size(&v("8")).unwrap_err().si_unit);
        assert!(size(&v("99999999999TiB")).is_err());
        assert_eq!(size(&v("1024TiB")).unwrap(), MAX_SIZE);
        assert!(size(&v("1025TiB")).is_err());
    }

    #[test]
    fn macs_and_pci() {
        assert_eq!(mac(&v("52:54:00:0F:fb:22")).unwrap(), "52:54:00:0f:fb:22");
        assert!(mac(&v("52:54:00:0f:fb")).is_err());
        assert_eq!(pci_address(&v("3b:00.0")).unwrap(), "0000:3b:00.0");
        assert_eq!(pci_address(&v("0000:3b:1f.7")).unwrap(), "0000:3b:1f.7");
        assert!(pci_address(&v("3b:20.0")).is_err());
    }
}
