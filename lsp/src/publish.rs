//! The diagnostics published for the open documents: what `vnumac check` reports in each,
//! the first [`MAX_PUBLISHED`] of them and a count of the rest.

use crate::convert::{self, Lines, Locations};
use crate::settings::Settings;
use std::path::PathBuf;
use tower_lsp_server::ls_types::*;
use vnumac::db::{Program, Snapshot, SourceFile};
use vnumac::ide::session::{Session, too_large};

/// The most diagnostics published for one file, as the CLI shows: an editor gains nothing
/// from 40,000 markers, and the notification would be megabytes of JSON.
pub const MAX_PUBLISHED: usize = 200;

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
                code: Some(NumberOrString::String("vnuma::io".into())),
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
        .take(MAX_PUBLISHED)
        .map(|d| convert::diagnostic(&mut locations, &lines, d, settings.docs_url.as_deref()))
        .collect();
    if let Some(more) = wanted.len().checked_sub(MAX_PUBLISHED).filter(|n| *n > 0) {
        shown.push(Diagnostic {
            range: Range::default(),
            severity: Some(DiagnosticSeverity::INFORMATION),
            code: Some(NumberOrString::String("vnuma::more".into())),
            source: Some("vnumac".into()),
            message: format!(
                "and {more} more diagnostics in this file (the first {MAX_PUBLISHED} are shown; \
                 `vnumac check` counts them too)"
            ),
            ..Diagnostic::default()
        });
    }
    shown
}
