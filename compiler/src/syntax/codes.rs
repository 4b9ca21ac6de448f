//! The codes of the errors the syntax reports.

/// A syntax error (also a file read only in part).
pub const SYNTAX: &str = "vnuma::E0101";
/// An invalid escape in a string.
pub const BAD_ESCAPE: &str = "vnuma::E0102";
