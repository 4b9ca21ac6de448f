//! Text bound for a terminal. Anything vnumac prints for a person (diagnostics, notes,
//! `explain`) may quote what a file, a capabilities file, a domain or /sys said; a control
//! character in it would reach the terminal as a command (ESC sequences that hide output or
//! retitle the window, a CR that overwrites a line, a BEL), and bidirectional overrides would
//! reorder what is shown. These functions make such characters visible instead.

use std::borrow::Cow;

/// A character a terminal would act on or reorder by rather than show: C0 controls but tab
/// and line feed, DEL, C1 controls, and the Unicode bidirectional embeddings, overrides and
/// isolates.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character written as `\u{1b}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every unsafe character replaced by a visible one of the same length in UTF-8
/// (`?`, `¿` or `�`), so byte offsets into it stay valid: for source text shown under a
/// diagnostic. A CR that ends a line (CRLF) is kept.
pub fn mask(text: &str) -> Cow<'_, str> {
    let bad = |(i, c): (usize, char)| is_unsafe(c) && !(c == '\r' && text[i + 1..].starts_with('\n'));
    if !text.char_indices().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if bad((i, c)) {
            out.push(match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => '\u{fffd}',
            });
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_acts_on() {
        assert_eq!(escape("web-1 on peppi"), "web-1 on peppi");
        assert_eq!(
            escape("a\u{1b}]0;x\u{7}b\rc\u{9b}d\u{202e}e\n\tf"),
            "a\\u{1b}]0;x\\u{7}b\\u{d}c\\u{9b}d\\u{202e}e\n\tf"
        );
    }

    #[test]
    fn masks_keep_every_byte_offset() {
        let text = "a\u{1b}[8m\r\nb\rc\u{85}d\u{2067}e";
        let masked = mask(text);
        assert_eq!(masked.len(), text.len());
        assert_eq!(masked, "a?[8m\r\nb?c¿d\u{fffd}e");
        assert!(masked.chars().all(|c| !is_unsafe(c) || c == '\r'));
    }
}
