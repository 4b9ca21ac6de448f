//! Names and text values as .vnuma words and strings.

/// A name or text value: a bare word when it is one, else a quoted string.
pub(super) fn word_or_string(s: &str) -> String {
    crate::syntax::write::token(s)
}

/// A .vnuma string literal (see [`crate::syntax::write::string`]).
pub(super) fn quoted(s: &str) -> String {
    crate::syntax::write::string(s)
}
