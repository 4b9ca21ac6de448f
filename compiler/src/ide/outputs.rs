//! What a file or a program comes to: its diagnostics, its text formatted, a guest's
//! libvirt XML or QEMU command line, and the placement map.

use super::cursor::locate;
use super::resolve::resolve;
use crate::db::{self, Program, SourceFile};
use crate::diagnostics::Diagnostic;

/// The diagnostics of a program whose primary span is in `file`, as `vnumac check` reports them.
pub fn diagnostics(db: &dyn salsa::Database, program: Program, file: SourceFile) -> Vec<Diagnostic> {
    let id = file.id(db);
    db::program_diagnostics(db, program)
        .iter()
        .filter(|d| d.primary_span().file == id)
        .cloned()
        .collect()
}

/// The file formatted as `vnumac fmt` would; `None` when it does not parse.
pub fn format(db: &dyn salsa::Database, file: SourceFile) -> Option<String> {
    crate::fmt::format(file.text(db)).ok()
}

/// The XML or QEMU command line of the guest at `offset`: (guest name, text).
pub fn lowered(
    db: &dyn salsa::Database,
    program: Program,
    file: SourceFile,
    offset: u32,
    qemu: bool,
) -> Option<(String, String)> {
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset);
    let top = cursor.top().filter(|s| s.keyword.text == "guest")?;
    let checked = &db::check_program(db, program).checked;
    let g = resolve(checked, Some(top)).guest?;
    let text = if qemu {
        crate::lower::qemu::command_line(g)
    } else {
        crate::lower::libvirt::domain_xml(g)
    };
    Some((g.name.clone(), text))
}

/// The placement map of every guest of the program, as text or SVG.
pub fn explain(db: &dyn salsa::Database, program: Program, svg: bool) -> String {
    let checked = &db::check_program(db, program).checked;
    if svg {
        crate::explain::svg(checked, None)
    } else {
        crate::explain::text(checked, None)
    }
}
