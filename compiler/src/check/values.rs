//! What a value may contain, by where it goes (docs/language.md, "What values may contain").
//!
//! QEMU's `-machine` and `-cpu` parsers take no escapes, and ids, node names and libvirt's
//! aliases have grammars of their own, so identifiers are validated, never escaped. Paths
//! and other text are escaped for each output (keyval `,,`, JSON, XML, shell), but must be
//! text XML 1.0 can carry, so that the XML and the QEMU line hold the same value.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{MachineLine, MachineType};
use crate::span::Span;

/// The characters of an identifier.
pub const IDENT_CHARS: &str = "letters, digits, `.`, `_` and `-` (`[A-Za-z0-9._-]`)";

/// Linux interface names (and so bridge names) are at most 15 bytes (IFNAMSIZ - 1).
pub const MAX_BRIDGE: usize = 15;

/// QEMU block node names are at most 31 characters; a disk's are `disk-NAME-storage`.
pub const MAX_NODE_NAME: usize = 31;

pub fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A character XML 1.0 cannot hold: controls other than tab, LF and CR, surrogates
/// (impossible in a Rust string), U+FFFE and U+FFFF.
pub fn not_xml_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// The first character of `text` that cannot be in a value that goes to `what`, if any.
fn first_bad(text: &str, bad: impl Fn(char) -> bool) -> Option<char> {
    text.chars().find(|c| bad(*c))
}

fn shown(c: char) -> String {
    if c == ' ' {
        "a space".into()
    } else if c.is_control() || c.is_whitespace() || not_xml_char(c) {
        format!("`\\u{{{:x}}}`", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

/// `what` (e.g. "a CPU model") must be an identifier; `help` ends the diagnostic's help.
pub fn identifier(text: &str, span: Span, what: &str, help: &str, diags: &mut Vec<Diagnostic>) -> bool {
    if is_identifier(text) {
        return true;
    }
    let why = match first_bad(text, |c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(c) => format!("{} is not allowed here", shown(c)),
        None => "empty".into(),
    };
    diags.push(
        Diagnostic::error(
            IDENTIFIER,
            format!("\"{}\" cannot be {what}", text.escape_debug()),
            span,
            why,
        )
        .with_help(format!(
            "{what} is an identifier: {IDENT_CHARS}, because it reaches QEMU options that cannot escape anything else{help}"
        )),
    );
    false
}

/// A machine type: an identifier, `q35` or `pc-q35-X.Y` in practice.
pub fn machine(text: &str, span: Span, diags: &mut Vec<Diagnostic>) -> bool {
    identifier(
        text,
        span,
        "a machine type",
        "; machine types look like `q35` or `pc-q35-8.2` (`qemu-system-x86_64 -machine help` lists them)",
        diags,
    )
}

/// The most vCPUs QEMU 7.2 starts a machine type with (`MachineClass::max_cpus`): 288 for q35
/// (255 for its versions before 2.8), 255 for i440fx. None for a machine type QEMU 7.2 does not
/// have, such as a newer versioned q35 (QEMU 9.0's `pc-q35-9.0` takes 4,096).
pub fn machine_max_vcpus(machine: &str) -> Option<u32> {
    let t = MachineType::parse(machine);
    match (t.line, t.alias) {
        (MachineLine::Q35, true) => Some(288),
        (MachineLine::I440fx, true) => Some(255),
        (MachineLine::Q35, false) => match t.version? {
            v if v > (7, 2) => None,
            v if v < (2, 8) => Some(255),
            _ => Some(288),
        },
        (MachineLine::I440fx, false) => t.version.filter(|v| *v <= (7, 2)).map(|_| 255),
        _ => None,
    }
}

/// A CPU model: an identifier such as `Skylake-Server-v4` or `qemu64`.
pub fn cpu_model(text: &str, span: Span, diags: &mut Vec<Diagnostic>) {
    identifier(
        text,
        span,
        "a CPU model",
        "; models look like `Skylake-Server` or `EPYC-v4` (`qemu-system-x86_64 -cpu help` lists them)",
        diags,
    );
}

/// A bridge name: an identifier Linux accepts as an interface name.
pub fn bridge(text: &str, span: Span, diags: &mut Vec<Diagnostic>) {
    let bad = first_bad(text, |c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
    let why = match (text.is_empty(), bad) {
        (true, _) => "empty".to_string(),
        (_, Some(c)) => format!("{} is not allowed here", shown(c)),
        _ if text.len() > MAX_BRIDGE => format!("{} characters; at most {MAX_BRIDGE}", text.len()),
        _ => return,
    };
    diags.push(
        Diagnostic::error(
            BRIDGE_NAME,
            format!("\"{}\" cannot be a bridge name", text.escape_debug()),
            span,
            why,
        )
        .with_help(format!(
            "a host bridge is a Linux interface: at most {MAX_BRIDGE} {IDENT_CHARS}, as in `br0` or `virbr-lan`"
        )),
    );
}

/// A host path for a disk or an NVDIMM: absolute, and text the XML can carry on one line.
pub fn path(text: &str, span: Span, what: &str, diags: &mut Vec<Diagnostic>) {
    if let Some(c) = first_bad(text, |c| not_xml_char(c) || c == '\n' || c == '\r') {
        diags.push(
            Diagnostic::error(
                XML_TEXT,
                format!("{what} \"{}\" contains {}", text.escape_debug(), shown(c)),
                span,
                "not a character XML can carry here",
            )
            .with_help(
                "of the control characters, a path may hold only tab: XML 1.0 cannot carry the others \
                 and libvirt's schema allows no line breaks in paths; rename the file",
            ),
        );
        return;
    }
    if !text.starts_with('/') {
        diags.push(
            Diagnostic::error(
                RELATIVE_PATH,
                format!("{what} \"{}\" is not absolute", text.escape_debug()),
                span,
                "a relative path",
            )
            .with_help(
                "libvirt requires absolute paths and QEMU resolves relative ones against a directory \
                 nobody chose: write the whole path, starting with `/`",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_limits_follow_qemu_7_2() {
        // QEMU 7.2: "The max CPUs supported by machine 'pc-q35-7.2' is 288", i440fx 255.
        for (machine, max) in [
            ("q35", Some(288)),
            ("pc-q35-7.2", Some(288)),
            ("pc-q35-2.8", Some(288)),
            // QEMU 7.2: "The max CPUs supported by machine 'pc-q35-4.0.1' is 288".
            ("pc-q35-4.0.1", Some(288)),
            ("pc-q35-2.7", Some(255)),
            ("pc", Some(255)),
            ("pc-i440fx-7.2", Some(255)),
            ("pc-q35-9.0", None),
            ("pc-i440fx-9.0", None),
            ("pc-q35-x", None),
            ("microvm", None),
        ] {
            assert_eq!(machine_max_vcpus(machine), max, "{machine}");
        }
    }

    #[test]
    fn identifiers_and_xml_characters() {
        for ok in ["q35", "pc-q35-7.2", "486", "Skylake-Server-v4", "a_b.c"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "qemu64,model-id=X", "smm=off", "a b", "é", "a\"b", "x\n"] {
            assert!(!is_identifier(bad), "{bad}");
        }
        for c in ['\u{0}', '\u{8}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
            assert!(not_xml_char(c), "{c:?}");
        }
        for c in ['\t', '\n', '\r', ' ', 'é', '\u{7f}', '\u{fffd}', '\u{10000}'] {
            assert!(!not_xml_char(c), "{c:?}");
        }
    }

    #[test]
    fn paths() {
        let mut d = Vec::new();
        path(
            "/var/lib/a <b> & 'c' \"d\" é,e",
            Span::default(),
            "the disk path",
            &mut d,
        );
        assert!(d.is_empty());
        path("images/a.qcow2", Span::default(), "the disk path", &mut d);
        path("/a\nb", Span::default(), "the disk path", &mut d);
        path("/a\u{1}b", Span::default(), "the disk path", &mut d);
        let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, [RELATIVE_PATH, XML_TEXT, XML_TEXT]);
    }
}
