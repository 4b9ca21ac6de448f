//! Numbers, sizes and id sets of the domain XML, each read by libvirt's rule for it
//! ([`crate::numbers`]), with an error at the element when libvirt would refuse it.

use super::dom::Node;
use super::error::{ImportError, error_at};
use super::notes::Notes;
use crate::numbers::{self, Base, Minus, NumError, Rule, SizeError};
use crate::sets::IdSet;

/// The attribute `key` of `node` as `rule` reads it; None when it is absent (or empty,
/// where libvirt reads an empty value as absent).
pub(super) fn attr(node: &Node, key: &str, rule: &Rule) -> Result<Option<u64>, ImportError> {
    let Some(text) = node.attr(key) else {
        return Ok(None);
    };
    numbers::read(rule, text).map_err(|e| {
        let shown = format!("<{} {key}='{text}'>", node.name);
        error_at(node.at, refusal(&shown, &format!("`{key}`"), text, rule, &e))
    })
}

/// [`attr`] for a rule whose values fit in 32 bits.
pub(super) fn attr_u32(node: &Node, key: &str, rule: &Rule) -> Result<Option<u32>, ImportError> {
    Ok(attr(node, key, rule)?.map(narrow))
}

/// The text of `node` as `rule` reads it (all of it: libvirt trims nothing).
pub(super) fn text(node: &Node, rule: &Rule) -> Result<Option<u64>, ImportError> {
    numbers::read(rule, &node.text).map_err(|e| {
        let shown = format!("<{0}>{1}</{0}>", node.name, node.text);
        error_at(node.at, refusal(&shown, "it", &node.text, rule, &e))
    })
}

/// [`text`] for a rule whose values fit in 32 bits.
pub(super) fn text_u32(node: &Node, rule: &Rule) -> Result<Option<u32>, ImportError> {
    Ok(text(node, rule)?.map(narrow))
}

/// Every rule used with the `_u32` readers has a width of at most `u32::MAX`.
fn narrow(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn refusal(shown: &str, what: &str, text: &str, rule: &Rule, e: &NumError) -> String {
    match e {
        NumError::OutOfRange(v) => {
            format!(
                "{shown}: {v} is out of range; libvirt takes {} to {}",
                rule.min, rule.max
            )
        }
        NumError::NotANumber => {
            let base = match rule.base {
                Base::Decimal => "a decimal number",
                Base::Hex => "a hexadecimal number (`0x` optional)",
                Base::C => "a number in C notation (`0x…` hexadecimal, a leading `0` octal, else decimal)",
            };
            let hint = if text.ends_with(|c: char| c.is_whitespace()) {
                " (libvirt allows no space after the number)"
            } else if text.contains('-') && rule.minus != Minus::Wraps32 && rule.minus != Minus::Wraps64 {
                " (libvirt takes no minus sign here)"
            } else if text.is_empty() {
                " (it is empty)"
            } else {
                ""
            };
            format!(
                "{shown}: libvirt reads {what} as {base} of at most {}, and `{text}` is not one{hint}",
                rule.width
            )
        }
    }
}

/// The largest size a `.vnuma` file can say (1 PiB), in KiB.
const MAX_KIB: u64 = crate::syntax::value::MAX_SIZE / 1024;

/// `value` in `unit` (KiB when absent or empty) as KiB, read as `virDomainParseMemory`
/// reads it: decimal, rounded up to a whole KiB (with a note), below 2⁵³ KiB; and at most
/// the 1 PiB a `.vnuma` file can say. None for an empty value, which libvirt reads as absent.
pub(super) fn size_kib(
    node: &Node,
    value: &str,
    unit: Option<&str>,
    what: &str,
    notes: &mut Notes,
) -> Result<Option<u64>, ImportError> {
    let shown = unit.map_or(String::new(), |u| format!(" `{u}`"));
    let bad = |e: SizeError| {
        let message = match e {
            SizeError::NotANumber => format!(
                "{what} is `{value}`: libvirt reads a size as a decimal number without a sign, and this is not one"
            ),
            SizeError::Unit => format!(
                "{what}: libvirt knows no unit{shown} (it takes b, bytes, and k, m, g, t, p, e alone or with iB or B)"
            ),
            SizeError::TooLarge => format!("{what} of {value}{shown} is more than libvirt takes (2^63 bytes)"),
        };
        error_at(node.at, message)
    };
    let Some(bytes) = numbers::scaled_bytes(value, unit, 1024, numbers::MAX_BYTES).map_err(bad)? else {
        return Ok(None);
    };
    let kib = numbers::memory_kib(value, unit).map_err(bad)?.unwrap_or(0);
    if !bytes.is_multiple_of(1024) {
        notes.change(format!(
            "{what} of {value}{shown} is not a whole KiB; rounded up to {kib} KiB as libvirt does"
        ));
    }
    if kib > MAX_KIB {
        return Err(error_at(
            node.at,
            format!("{what} of {kib} KiB is larger than the 1 PiB a .vnuma file can say"),
        ));
    }
    Ok(Some(kib))
}

/// The text of `node` as a size in KiB, with its `unit` attribute.
pub(super) fn text_kib(node: &Node, what: &str, notes: &mut Notes) -> Result<Option<u64>, ImportError> {
    size_kib(node, &node.text, node.attr("unit"), what, notes)
}

/// [`text_kib`] for a size libvirt requires.
pub(super) fn required_kib(node: &Node, what: &str, notes: &mut Notes) -> Result<u64, ImportError> {
    text_kib(node, what, notes)?.ok_or_else(|| error_at(node.at, format!("{what} is empty")))
}

/// A page size in KiB must be a power of two of at least 4 KiB, as vnumac reads one.
pub(super) fn page_kib(node: &Node, kib: u64) -> Result<u64, ImportError> {
    if kib < 4 || !kib.is_power_of_two() {
        return Err(error_at(
            node.at,
            format!(
                "<{}>: {kib} KiB is not a page size (a power of two of at least 4 KiB)",
                node.name
            ),
        ));
    }
    Ok(kib)
}

/// `value` must be at most `max`, the most vnumac can say (`why`).
pub(super) fn at_most<T: PartialOrd + std::fmt::Display>(
    node: &Node,
    value: T,
    max: T,
    why: impl std::fmt::Display,
) -> Result<T, ImportError> {
    if value > max {
        return Err(error_at(
            node.at,
            format!("<{}>: {value} is more than {why}", node.name),
        ));
    }
    Ok(value)
}

/// A libvirt id set (`0-3,^2`); spaces are allowed around the parts.
pub(super) fn id_set(node: &Node, key: &str, text: &str) -> Result<IdSet, ImportError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let set = IdSet::parse(&compact)
        .map_err(|e| error_at(node.at, format!("<{} {key}='{text}'>: {}", node.name, e.message)))?;
    if set.is_empty() {
        // libvirt rejects a set that names nothing ("Invalid value of 'nodeset'").
        return Err(error_at(node.at, format!("<{} {key}='{text}'> names no id", node.name)));
    }
    Ok(set)
}
