//! The `check` target: the whole pipeline on a bundle of files.

use std::path::Path;

use super::common::{Bundle, ROOT, inside};
use crate::db::{self, Database};
use crate::diagnostics::Diagnostic;
use crate::ide;
use crate::source::{LineCache, SourceMap};

/// The whole pipeline on a bundle of files (see [`Bundle::decode`]): load, check, render
/// every diagnostic, and lower every guest of a program without errors to domain XML and a
/// QEMU command line. Every diagnostic points inside its file.
pub fn check(data: &[u8]) {
    let bundle = Bundle::decode(data);
    let database = Database::default();
    let Ok(program) = db::load_program(&database, Path::new(ROOT), &bundle) else {
        panic!("the root file is always there");
    };
    let compiled = db::compile(&database, program);
    let lines = LineCache::new(&compiled.sources);
    for d in &compiled.diagnostics {
        check_diagnostic(d, &compiled.sources);
        let _ = crate::diagnostics::plain(d, &lines);
        let _ = crate::diagnostics::to_json(d, &compiled.sources);
    }
    let outputs = db::lower(&database, program);
    if !compiled.has_errors() {
        assert_eq!(outputs.len(), compiled.checked.build.guests.len());
        let _ = ide::explain(&database, program, false);
        let _ = ide::explain(&database, program, true);
        for g in &compiled.checked.build.guests {
            let _ = crate::lower::json::guest_json(g);
            let _ = crate::lower::qemu::command_line_in(g, crate::lower::qemu_args::Syntax::Json);
        }
    }
}

fn check_diagnostic(d: &Diagnostic, sources: &SourceMap) {
    assert!(!d.labels.is_empty(), "{d:?}");
    for l in &d.labels {
        assert!(sources.get(l.span.file).is_some(), "{d:?} points to an unknown file");
        inside(l.span, sources.text(l.span.file).len(), d);
    }
}
