//! The diagnostics published for the open documents: what `vnumac check` reports in each,
//! the first [`codes::SHOWN_PER_FILE`] of them and a count of the rest, as the CLI shows:
//! an editor gains nothing from 40,000 markers, and the notification would be megabytes of JSON.

use crate::convert::{self, Lines, Locations};
use crate::settings::Settings;
use std::path::PathBuf;
use tower_lsp_server::ls_types::*;
use vnumac::codes;
use vnumac::db::{Program, Snapshot, SourceFile};
use vnumac::ide::session::{Session, too_large};

/// An open document whose diagnostics are due.
pub struct Due {
    pub path: PathBuf,
    pub version: i32,
    what: What,
}

enum What {
    Analysed(Program, SourceFile),
    /// Larger than input files may be: one error, as for such a file.
    TooLarge,
}

/// Every open document, with the program it is analysed in (found now, which may load it).
pub fn due(s: &mut Session) -> Vec<Due> {
    let mut out = Vec::new();
    for (path, version) in s.open_documents() {
        let what = if s.is_too_large(&path) {
            What::TooLarge
        } else {
            match s.context(&path) {
                Some((program, file)) => What::Analysed(program, file),
                None => continue,
            }
        };
        out.push(Due { path, version, what });
    }
    out
}

/// The diagnostics of one document, computed on `snap`.
pub fn diagnostics(snap: &Snapshot, due: &Due, settings: &Settings) -> Vec<Diagnostic> {
    let (program, file) = match due.what {
        What::Analysed(p, f) => (p, f),
        What::TooLarge => {
            return vec![Diagnostic {
                range: Range::default(),
                severity: Some(DiagnosticSeverity::ERROR),
                code: Some(NumberOrString::String(codes::IO.into())),
                source: Some("vnumac".into()),
                message: too_large(&due.path),
                ..Diagnostic::default()
            }];
        }
    };
    let enc = settings.encoding;
    let lines = Lines::new(file.text(&snap.db), enc);
    let mut locations = Locations::new(snap, enc);
    let all = vnumac::ide::diagnostics(&snap.db, program, file);
    let wanted: Vec<_> = all
        .iter()
        .filter(|d| settings.notes || d.severity != vnumac::diagnostics::Severity::Note)
        .collect();
    let mut shown: Vec<Diagnostic> = wanted
        .iter()
        .take(codes::SHOWN_PER_FILE)
        .map(|d| convert::diagnostic(&mut locations, &lines, d, settings.docs_url.as_deref()))
        .collect();
    if let Some(more) = wanted.len().checked_sub(codes::SHOWN_PER_FILE).filter(|n| *n > 0) {
        shown.push(Diagnostic {
            range: Range::default(),
            severity: Some(DiagnosticSeverity::INFORMATION),
            code: Some(NumberOrString::String(codes::MORE.into())),
            source: Some("vnumac".into()),
            message: codes::more_note(more, "this file"),
            ..Diagnostic::default()
        });
    }
    shown
}
