//! A guest's name: it becomes file names and the libvirt domain name.

use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;

/// The longest guest name: `NAME.args` and its temporary file must fit in a file name
/// (255 bytes on Linux file systems).
pub const MAX_GUEST_NAME: usize = 200;

pub(super) fn check(name: &str, cx: &mut Cx<'_, '_>) {
    if name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c.is_control() || super::values::not_xml_char(c))
    {
        cx.err(
            Diagnostic::error(GUEST_NAME, format!("`{}` cannot be a guest name", name.escape_debug()), cx.guest_span, "not usable as a name")
                .with_help("guest names become file names (`NAME.xml`) and libvirt domain names: leave out `/` and control characters"),
        );
    }
    if name.len() > MAX_GUEST_NAME {
        cx.err(
            Diagnostic::error(
                GUEST_NAME,
                format!("a guest name of {} bytes is too long for a file name", name.len()),
                cx.guest_span,
                "too long",
            )
            .with_help(format!(
                "guest names become file names (`NAME.args` under `-o`): at most {MAX_GUEST_NAME} bytes"
            )),
        );
    }
}
