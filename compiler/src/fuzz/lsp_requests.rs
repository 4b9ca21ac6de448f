//! The language server's request mix on one [`Session`], as an editor sends it: documents
//! opened, changed (whole, or by ranges given as line and column) and closed, and hover,
//! completion, definition, folding, symbols and formatting asked at line and column
//! positions, answered from a snapshot as the server answers.
//!
//! After every change the document's text is what applying the changes one at a time to a
//! plain string gives; every answer equals the answer of a fresh workspace that loads the
//! same program from the same texts; every span answered converts to a position and back.

use super::common::{Bundle, ROOT, inside};
use crate::db::{Loader, Program, Snapshot, SourceFile, Workspace};
use crate::host::HostProfile;
use crate::ide;
use crate::ide::document::{self, Change};
use crate::ide::session::{Files, Session};
use crate::source::{Encoding, LineIndex};
use crate::span::Span;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The bundle as the disk: files, and the `.vnuma` files beside each other.
struct Shelf(BTreeMap<PathBuf, String>);

impl Files for Shelf {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }
    fn neighbours(&self, dir: &Path, limit: usize) -> Vec<PathBuf> {
        let beside = |p: &&PathBuf| p.parent() == Some(dir) && p.extension().is_some_and(|x| x == "vnuma");
        self.0.keys().filter(beside).take(limit).cloned().collect()
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("the fuzz targets do not probe".into())
    }
}

/// Open documents over the bundle: what a fresh workspace reads.
struct Texts<'a> {
    docs: &'a BTreeMap<PathBuf, (i32, String)>,
    disk: &'a BTreeMap<PathBuf, String>,
}

impl Loader for Texts<'_> {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        match (self.docs.get(path), self.disk.get(path)) {
            (Some((_, t)), _) | (None, Some(t)) => Ok(t.clone()),
            _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")),
        }
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("the fuzz targets do not probe".into())
    }
}

/// One request of the script.
#[derive(Debug)]
enum Op {
    Open(usize),
    Replace(usize, String),
    Edit(usize, Vec<Change>),
    Close(usize),
    /// Hover, completion or definition (0, 1, 2) at a line and column.
    At(u8, usize, (u32, u32)),
    Folding(usize),
    Symbols(usize),
    Format(usize),
}

/// Bytes taken from the front of a script.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn text(&mut self) -> Option<String> {
        let n = usize::from(self.byte()?).min(self.0.len());
        let (t, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(String::from_utf8_lossy(t).into_owned())
    }
    fn pos(&mut self) -> Option<(u32, u32)> {
        Some((u32::from(self.byte()?), u32::from(self.byte()?)))
    }
}

/// `L (u16 LE) SCRIPT[L] BUNDLE`, the bundle as [`super::check::check`]'s. The script's
/// first byte chooses the encoding (even: UTF-16, odd: UTF-8); then requests, each an opcode byte
/// (taken modulo 10) and a file byte (an index into the bundle's files, root first):
/// `0` open, `1 N TEXT[N]` replace the whole text, `2 K` then `K % 8 + 1` ranges
/// `LINE COL LINE COL N TEXT[N]`, `3` close, `4 LINE COL` hover, `5 LINE COL` completion,
/// `6 LINE COL` definition, `7` folding, `8` document and workspace symbols, `9` formatting.
fn decode(data: &[u8]) -> (Encoding, Vec<Op>, Bundle) {
    let len = match data {
        [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])),
        _ => 0,
    };
    let rest = data.get(2..).unwrap_or_default();
    let (script, bundle) = rest.split_at(len.min(rest.len()));
    let mut r = Reader(script);
    let enc = match r.byte() {
        Some(b) if b % 2 == 1 => Encoding::Utf8,
        _ => Encoding::Utf16,
    };
    let mut ops = Vec::new();
    while let (Some(op), Some(file)) = (r.byte(), r.byte()) {
        let file = usize::from(file);
        let next = match op % 10 {
            0 => Some(Op::Open(file)),
            1 => r.text().map(|t| Op::Replace(file, t)),
            2 => r.byte().and_then(|k| {
                let changes: Option<Vec<Change>> = (0..=k % 8)
                    .map(|_| {
                        let (start, end) = (r.pos()?, r.pos()?);
                        Some(Change {
                            range: Some((start, end)),
                            text: r.text()?,
                        })
                    })
                    .collect();
                changes.map(|c| Op::Edit(file, c))
            }),
            3 => Some(Op::Close(file)),
            q @ 4..=6 => r.pos().map(|p| Op::At(q - 4, file, p)),
            7 => Some(Op::Folding(file)),
            8 => Some(Op::Symbols(file)),
            _ => Some(Op::Format(file)),
        };
        let Some(next) = next else { break };
        ops.push(next);
    }
    (enc, ops, Bundle::decode(bundle))
}

/// A file's path, or `-` for a file no workspace knows.
fn path(db: &dyn salsa::Database, file: SourceFile) -> String {
    file.path(db).display().to_string()
}

/// What one request answers, with file ids replaced by paths, so that two workspaces
/// compare equal; every span answered converts to a position and back.
fn answer(db: &dyn salsa::Database, program: Program, file: SourceFile, op: &Op, enc: Encoding) -> String {
    let text = file.text(db);
    let index = LineIndex::new(text);
    let round_trip = |s: Span, in_file: SourceFile| {
        let t = in_file.text(db);
        inside(s, t.len(), &s);
        let idx = LineIndex::new(t);
        for o in [s.start, s.end] {
            let (l, c) = idx.position(t, o, enc);
            assert_eq!(idx.offset(t, l, c, enc), o, "{s:?} in {}", path(db, in_file));
        }
    };
    match op {
        Op::At(q, _, (l, c)) => {
            let at = index.offset(text, *l, *c, enc);
            match q {
                0 => {
                    let h = ide::hover(db, program, file, at);
                    h.as_ref().inspect(|h| round_trip(h.span, file));
                    format!("{:?}", h.map(|h| (h.span.start, h.span.end, h.markdown)))
                }
                1 => format!("{:?}", ide::completions(db, program, file, at)),
                _ => {
                    let t = ide::definition(db, program, file, at);
                    t.inspect(|t| round_trip(t.span, t.file));
                    format!("{:?}", t.map(|t| (path(db, t.file), t.span.start, t.span.end)))
                }
            }
        }
        Op::Folding(_) => format!("{:?}", ide::folding_ranges(db, file)),
        Op::Symbols(_) => {
            let mut out = String::new();
            fn flat(s: &ide::Symbol, out: &mut String) {
                out.push_str(&format!(
                    "{} {:?} {:?} {}-{};",
                    s.name, s.kind, s.detail, s.span.start, s.span.end
                ));
                s.children.iter().for_each(|c| flat(c, out));
            }
            for s in ide::document_symbols(db, file) {
                round_trip(s.name_span, file);
                flat(&s, &mut out);
            }
            for (f, s) in ide::workspace_symbols(db, &[program], "") {
                out.push_str(&format!("{} {} {};", path(db, f), s.name, s.name_span.start));
            }
            for d in ide::diagnostics(db, program, file) {
                let s = d.primary_span();
                round_trip(s, file);
                out.push_str(&format!("{} {} {}-{};", d.code, d.message, s.start, s.end));
            }
            out
        }
        Op::Format(_) => format!("{:?}", ide::format(db, file)),
        _ => String::new(),
    }
}

/// An editor's requests on one [`Session`] (see [`decode`]). Nothing panics; documents
/// hold what plain strings edited the same way hold; answers from the session's snapshot
/// equal a fresh workspace's.
pub fn lsp_requests(data: &[u8]) {
    let (enc, ops, bundle) = decode(data);
    let disk = bundle.files;
    let paths: Vec<PathBuf> = std::iter::once(PathBuf::from(ROOT))
        .chain(disk.keys().filter(|p| p.as_path() != Path::new(ROOT)).cloned())
        .collect();
    let mut session = Session::new(Box::new(Shelf(disk.clone())));
    // The documents as plain strings, edited one change at a time.
    let mut docs: BTreeMap<PathBuf, (i32, String)> = BTreeMap::new();
    for op in ops.iter().take(48) {
        let file = match op {
            Op::Open(f) | Op::Replace(f, _) | Op::Edit(f, _) | Op::Close(f) => *f,
            Op::At(_, f, _) | Op::Folding(f) | Op::Symbols(f) | Op::Format(f) => *f,
        };
        let path = &paths[file % paths.len()];
        match op {
            Op::Open(_) => {
                let text = disk.get(path).cloned().unwrap_or_default();
                let version = docs.get(path).map_or(1, |d| d.0 + 1);
                assert!(session.open(path, version, text.clone()));
                docs.insert(path.clone(), (version, text));
            }
            Op::Replace(_, _) | Op::Edit(_, _) => {
                let Some((version, model)) = docs.get_mut(path) else {
                    continue;
                };
                let changes = match op {
                    Op::Replace(_, t) => vec![Change {
                        range: None,
                        text: t.clone(),
                    }],
                    Op::Edit(_, c) => c.clone(),
                    _ => Vec::new(),
                };
                *version += 1;
                assert!(session.change(path, *version, &changes, enc));
                for c in &changes {
                    document::apply(model, std::slice::from_ref(c), enc);
                }
                let held = session.doc(path).map(|d| d.text.as_str());
                assert_eq!(held, Some(model.as_str()), "{changes:?}");
            }
            Op::Close(_) => {
                session.close(path);
                docs.remove(path);
            }
            _ if docs.contains_key(path) => compare(&mut session, &docs, &disk, path, op, enc),
            _ => {}
        }
    }
}

/// One request answered from the session's snapshot and by a fresh workspace.
fn compare(
    session: &mut Session,
    docs: &BTreeMap<PathBuf, (i32, String)>,
    disk: &BTreeMap<PathBuf, String>,
    path: &Path,
    op: &Op,
    enc: Encoding,
) {
    let Some((program, file)) = session.context(path) else {
        panic!("an open document has a program: {}", path.display());
    };
    let snap: Snapshot = session.snapshot();
    let root = program.root(&snap.db).path(&snap.db).clone();
    let live = answer(&snap.db, program, file, op, enc);
    drop(snap);
    let mut fresh = Workspace::default();
    let Ok(fresh_program) = fresh.load(&root, &Texts { docs, disk }) else {
        panic!("the root {} is readable", root.display());
    };
    let Some(fresh_file) = fresh.file(path) else {
        panic!("{} is in its program", path.display());
    };
    let expected = answer(&fresh.db, fresh_program, fresh_file, op, enc);
    assert_eq!(
        live,
        expected,
        "{op:?} on {}: the session answers differently from a fresh workspace",
        path.display()
    );
}

/// An `lsp_requests` input from a bundle and a script (see [`decode`]), for seeds and tests.
pub fn encode_requests(bundle: &[u8], utf8: bool, script: &[u8]) -> Vec<u8> {
    let mut s = vec![u8::from(utf8)];
    s.extend(script);
    s.truncate(usize::from(u16::MAX));
    let mut out = (s.len() as u16).to_le_bytes().to_vec();
    out.extend(s);
    out.extend(bundle);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_decodes_to_its_requests_and_runs() {
        let bundle = b"include \"h.vnuma\"\nguest g on=h {\n  vcpus 1\n  memory 1GiB\n}\n\0h.vnuma\0host h {\n  node 0 cpus=0-3 memory=4GiB\n}\n";
        let mut script = vec![0, 0, 2, 0, 1, 2, 2, 2, 3, 1, b'2', 0, 0, 0, 0, 2, b'#', b'\n'];
        script.extend([4, 0, 2, 3, 6, 0, 2, 13, 0, 1, 8, 1, 3, 0, 9, 0]);
        let data = encode_requests(bundle, false, &script);
        let (enc, ops, b) = decode(&data);
        assert_eq!(enc, Encoding::Utf16);
        assert_eq!(b.files.len(), 2);
        let shown: Vec<String> = ops.iter().map(|o| format!("{o:?}")).collect();
        assert_eq!(
            shown,
            [
                "Open(0)",
                "Edit(0, [Change { range: Some(((2, 2), (2, 3))), text: \"2\" }, Change { range: Some(((0, 0), (0, 0))), text: \"#\\n\" }])",
                "At(0, 0, (2, 3))",
                "At(2, 0, (2, 13))",
                "Open(1)",
                "Symbols(1)",
                "Close(0)",
                "Format(0)",
            ]
        );
        lsp_requests(&data);
    }
}
