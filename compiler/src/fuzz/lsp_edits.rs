//! The `lsp_edits` target: an editor session of edits, answered as a fresh workspace
//! answers the final texts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::common::{Bundle, ROOT, inside, text};
use crate::db::{self, Loader, Program, SourceFile, Workspace};
use crate::host::HostProfile;
use crate::ide;
use crate::span::{FileId, Span};

/// A bundle whose texts change, as an editor changes open documents.
struct Live<'a>(&'a BTreeMap<PathBuf, String>);

impl Loader for Live<'_> {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("the fuzz targets do not probe".into())
    }
}

/// One edit of the script.
struct Edit {
    /// 0: the root file; otherwise the other files, in path order.
    file: usize,
    at: usize,
    delete: usize,
    insert: String,
}

/// `L (u16 LE) SCRIPT[L] BUNDLE`. The bundle is [`super::check::check`]'s; the script is a
/// sequence of edits `FILE (u8) AT (u16 LE) DELETE (u8) N (u8) TEXT[N]`, offsets taken
/// modulo the text and moved back to a character boundary.
fn decode_edits(data: &[u8]) -> (Vec<Edit>, Bundle) {
    let len = match data {
        [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])),
        _ => 0,
    };
    let rest = data.get(2..).unwrap_or_default();
    let (mut script, bundle) = rest.split_at(len.min(rest.len()));
    let mut edits = Vec::new();
    while let [file, a, b, delete, n, tail @ ..] = script {
        let (insert, tail) = tail.split_at(usize::from(*n).min(tail.len()));
        edits.push(Edit {
            file: usize::from(*file),
            at: usize::from(u16::from_le_bytes([*a, *b])),
            delete: usize::from(*delete),
            insert: text(insert),
        });
        script = tail;
    }
    (edits, Bundle::decode(bundle))
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Every editor feature at `offset` of `file`; answers lie inside their texts.
fn query(ws: &Workspace, program: Program, file: SourceFile, offset: u32, delete: u32) {
    let db = &ws.db;
    let len = file.text(db).len();
    for d in db::program_diagnostics(db, program) {
        for l in &d.labels {
            let Some(f) = ws.file_by_id(l.span.file) else {
                panic!("{d:?} points to an unknown file");
            };
            inside(l.span, f.text(db).len(), &d);
        }
    }
    for d in ide::diagnostics(db, program, file) {
        inside(d.primary_span(), len, &d);
    }
    if let Some(h) = ide::hover(db, program, file, offset) {
        inside(h.span, len, &h);
    }
    for c in ide::completions(db, program, file, offset) {
        assert!(c.replace_from <= offset, "{c:?}");
    }
    for t in ide::definition(db, program, file, offset)
        .into_iter()
        .chain(ide::references(db, program, file, offset))
    {
        inside(t.span, t.file.text(db).len(), &t);
    }
    let end = floor_boundary(file.text(db), offset as usize + delete as usize) as u32;
    for a in ide::code_actions(db, program, file, Span::new(file.id(db), offset as usize, end as usize)) {
        for (s, _) in &a.edits {
            let Some(f) = ws.file_by_id(s.file) else {
                panic!("{a:?} edits an unknown file");
            };
            inside(*s, f.text(db).len(), &a);
        }
    }
    for h in ide::inlay_hints(db, program, file) {
        assert!(h.offset as usize <= len, "{h:?}");
    }
    for t in ide::semantic_tokens(db, file) {
        inside(t.span, len, &t);
    }
    for f in ide::folding_ranges(db, file) {
        assert!(f.start <= f.end && f.end as usize <= len, "{f:?}");
    }
    let _ = ide::document_symbols(db, file);
    let _ = ide::workspace_symbols(db, &[program], "g");
    let _ = ide::lowered(db, program, file, offset, false);
    let _ = ide::lowered(db, program, file, offset, true);
    let _ = ide::format(db, file);
}

/// What a workspace answers about the root file, with file ids replaced by paths so that
/// two workspaces that read files in different orders compare equal.
#[derive(Debug, PartialEq)]
struct Answers {
    diagnostics: Vec<(Option<PathBuf>, String)>,
    outputs: Vec<db::GuestOutput>,
    at: Vec<String>,
}

fn answers(ws: &Workspace, program: Program, offsets: &[u32]) -> Answers {
    let db = &ws.db;
    let path_of = |id: FileId| ws.file_by_id(id).map(|f| f.path(db).clone());
    let span = |s: Span| (path_of(s.file), s.start, s.end);
    // Sorted by file id, which depends on the order files were read: grouped by path here.
    let mut diagnostics: Vec<(Option<PathBuf>, String)> = db::program_diagnostics(db, program)
        .iter()
        .map(|d| {
            let labels: Vec<_> = d.labels.iter().map(|l| (span(l.span), &l.message, l.primary)).collect();
            let text = format!("{:?} {} {} {labels:?} {:?}", d.severity, d.code, d.message, d.help);
            (path_of(d.primary_span().file), text)
        })
        .collect();
    diagnostics.sort_by(|a, b| a.0.cmp(&b.0));
    let outputs = db::lower(db, program).clone();
    let mut at = Vec::new();
    if let Some(file) = ws.file(Path::new(ROOT)) {
        for &o in offsets {
            let hover = ide::hover(db, program, file, o).map(|h| (span(h.span), h.markdown));
            let completions = ide::completions(db, program, file, o);
            let definition = ide::definition(db, program, file, o).map(|t| span(t.span));
            let references: Vec<_> = ide::references(db, program, file, o)
                .into_iter()
                .map(|t| span(t.span))
                .collect();
            at.push(format!("{o}: {hover:?} {completions:?} {definition:?} {references:?}"));
        }
        let hints = ide::inlay_hints(db, program, file);
        let tokens: Vec<_> = ide::semantic_tokens(db, file)
            .into_iter()
            .map(|t| (span(t.span), t.kind))
            .collect();
        let symbols: Vec<_> = ide::document_symbols(db, file)
            .into_iter()
            .map(|s| (s.name, s.kind, s.span.start, s.span.end, s.children.len()))
            .collect();
        let folds = ide::folding_ranges(db, file);
        at.push(format!("{hints:?} {tokens:?} {symbols:?} {folds:?}"));
    }
    Answers {
        diagnostics,
        outputs,
        at,
    }
}

/// An editor session: the bundle is opened, then each edit of the script is applied to
/// its file in one [`Workspace`], the program is loaded again and every editor feature is
/// asked at the edit. Nothing panics, and at the end the workspace answers exactly what a
/// fresh workspace answers for the final texts.
pub fn lsp_edits(data: &[u8]) {
    let (edits, bundle) = decode_edits(data);
    let mut files = bundle.files;
    let root = Path::new(ROOT);
    let mut ws = Workspace::default();
    let Ok(mut program) = ws.load(root, &Live(&files)) else {
        panic!("the root file is always there");
    };
    let mut offsets = Vec::new();
    for edit in edits.iter().take(64) {
        let paths: Vec<PathBuf> = std::iter::once(root.to_path_buf())
            .chain(files.keys().filter(|p| p.as_path() != root).cloned())
            .collect();
        let path = paths[edit.file % paths.len()].clone();
        let Some(text) = files.get_mut(&path) else {
            break;
        };
        let at = floor_boundary(text, edit.at % (text.len() + 1));
        let end = floor_boundary(text, at + edit.delete);
        text.replace_range(at..end, &edit.insert);
        ws.set_file(&path, text.clone());
        let Ok(p) = ws.load(root, &Live(&files)) else {
            panic!("the root file is always there");
        };
        program = p;
        let Some(file) = ws.file(&path) else {
            panic!("an edited file has an input");
        };
        let offset = (at + edit.insert.len()) as u32;
        query(&ws, program, file, offset, edit.delete as u32);
        if path == root {
            offsets.push(offset);
        }
    }
    let mut fresh = Workspace::default();
    let Ok(fresh_program) = fresh.load(root, &Live(&files)) else {
        panic!("the root file is always there");
    };
    offsets.truncate(8);
    let edited = answers(&ws, program, &offsets);
    let expected = answers(&fresh, fresh_program, &offsets);
    assert_eq!(
        edited, expected,
        "an edited workspace answers differently from a fresh one"
    );
}

/// An `lsp_edits` input from a bundle and a script of `(file, at, delete, insert)` edits,
/// for seeds and tests.
pub fn encode_edits(bundle: &[u8], edits: &[(u8, u16, u8, &str)]) -> Vec<u8> {
    let mut script = Vec::new();
    for (file, at, delete, insert) in edits {
        let insert = &insert.as_bytes()[..insert.len().min(255)];
        script.push(*file);
        script.extend(at.to_le_bytes());
        script.push(*delete);
        script.push(insert.len() as u8);
        script.extend(insert);
    }
    let len = u16::try_from(script.len()).unwrap_or(u16::MAX);
    script.truncate(usize::from(len));
    let mut out = len.to_le_bytes().to_vec();
    out.extend(script);
    out.extend(bundle);
    out
}
