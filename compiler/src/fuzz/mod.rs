//! Fuzz target bodies, shared by the cargo-fuzz crate (`fuzz/`, nightly) and the stable
//! smoke test (`compiler/tests/fuzz_smoke.rs`). Each function takes arbitrary bytes and
//! must return normally: any panic, including a failed `assert!` below, is a bug in the
//! library. The input formats are described on each function and in `docs/fuzzing.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::{self, Database, Loader, Program, SourceFile, Workspace};
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ide;
use crate::source::{LineCache, SourceMap};
use crate::span::{FileId, Span};
use crate::syntax;

mod lsp_requests;

pub use lsp_requests::{encode_requests, lsp_requests};
mod import_numbers;
pub use import_numbers::import_numbers;

/// The root file of the `check` and `lsp_edits` inputs.
pub const ROOT: &str = "input.vnuma";

/// The names of the targets, as the `fuzz/` crate and the regression directories name them.
pub const TARGETS: &[&str] = &[
    "parse",
    "check",
    "caps",
    "sysfs",
    "domain",
    "lsp_edits",
    "lsp_requests",
    "import_numbers",
];

/// Run the target called `name` on `data`; false for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "parse" => parse(data),
        "check" => check(data),
        "caps" => caps(data),
        "sysfs" => sysfs(data),
        "domain" => domain(data),
        "lsp_edits" => lsp_edits(data),
        "lsp_requests" => lsp_requests(data),
        "import_numbers" => import_numbers(data),
        _ => return false,
    }
    true
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn inside(span: Span, len: usize, what: &dyn std::fmt::Debug) {
    assert!(
        span.start <= span.end && span.end as usize <= len,
        "span {span:?} outside a text of {len} bytes: {what:?}"
    );
}

// == parse

/// The parser on arbitrary text: it never falls back to an empty tree, every span is a
/// range of the text on character boundaries, and a file without syntax errors formats
/// idempotently.
pub fn parse(data: &[u8]) {
    let text = text(data);
    let (file, diags, fell_back) = syntax::parse_reporting_fallback(FileId(0), &text);
    assert!(!fell_back, "recovery failed: {diags:?}");
    let mut spans = file.errors.clone();
    collect_spans(&file.statements, &mut spans);
    spans.extend(diags.iter().flat_map(|d| d.labels.iter().map(|l| l.span)));
    for s in spans {
        let (start, end) = (s.start as usize, s.end as usize);
        assert!(
            start <= end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end),
            "span {s:?} is not a range of the text"
        );
    }
    if let Ok(out) = crate::fmt::format(&text) {
        match crate::fmt::format(&out) {
            Ok(again) => assert_eq!(again, out, "formatting is not idempotent"),
            Err(d) => panic!("formatted text does not parse: {d:?}\n{out}"),
        }
    }
}

fn collect_spans(statements: &[syntax::ast::Statement], out: &mut Vec<Span>) {
    for s in statements {
        out.extend([s.span, s.keyword.span]);
        out.extend(s.args.iter().map(|a| a.span));
        out.extend(s.props.iter().flat_map(|p| [p.span, p.key.span, p.value.span]));
        if let Some(b) = &s.block {
            out.push(b.span);
            collect_spans(&b.statements, out);
        }
    }
}

// == check

/// Files served from memory: `ROOT`, then the files named in the input.
struct Bundle {
    files: BTreeMap<PathBuf, String>,
}

impl Bundle {
    /// `ROOT text \0 path \0 text \0 path \0 text …`: the root file and further files
    /// (capabilities XML named by `from=`, included `.vnuma` files).
    fn decode(data: &[u8]) -> Bundle {
        let mut parts = data.split(|&b| b == 0);
        let mut files = BTreeMap::new();
        files.insert(PathBuf::from(ROOT), text(parts.next().unwrap_or_default()));
        while let (Some(path), Some(body)) = (parts.next(), parts.next()) {
            let path = db::normalize(Path::new(&text(path)));
            files.entry(path).or_insert_with(|| text(body));
        }
        Bundle { files }
    }
}

impl Loader for Bundle {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("the fuzz targets do not probe".into())
    }
}

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

// == caps

/// Capabilities XML import; a profile it accepts prints as a `host` block that reads back,
/// without a diagnostic, to the same profile (`docs/language.md`, host profiles).
pub fn caps(data: &[u8]) {
    let xml = text(data);
    if let Ok(profile) = crate::host::caps::from_capabilities_xml("h", &xml) {
        reads_back(&profile);
    }
}

/// `host print`'s round trip through the parser and checker.
fn reads_back(profile: &HostProfile) {
    let printed = crate::host::print::to_vnuma(profile);
    let bundle = Bundle {
        files: BTreeMap::from([(PathBuf::from(ROOT), printed.clone())]),
    };
    let database = Database::default();
    let Ok(program) = db::load_program(&database, Path::new(ROOT), &bundle) else {
        panic!("the root file is always there");
    };
    let compiled = db::compile(&database, program);
    assert!(compiled.diagnostics.is_empty(), "{printed}\n{:?}", compiled.diagnostics);
    match compiled.checked.hosts.first() {
        Some(Some(h)) => assert_eq!(&h.profile, profile, "{printed}"),
        _ => panic!("the printed host is missing: {printed}"),
    }
}

// == sysfs

/// Temporary trees of concurrent runs (the smoke test runs in threads) must not collide.
static TREE: AtomicU64 = AtomicU64::new(0);

/// At most this many files and directories per tree, so a run stays fast.
const MAX_ENTRIES: usize = 512;

/// The probe on a small sysfs tree written to a temporary directory. The input is a text
/// archive: a line `>REL/PATH` starts a file whose content is the following lines (up to
/// the next `>` line); a path ending in `/` is an empty directory. Path components are
/// `[A-Za-z0-9_.:-]+` other than `.` and `..`; other entries are skipped. A profile the
/// probe accepts reads back like an imported one.
pub fn sysfs(data: &[u8]) {
    let entries = sysfs_entries(&text(data));
    let n = TREE.fetch_add(1, Ordering::Relaxed);
    let root = scratch().join(format!("vnumac-fuzz-sysfs-{}-{n}", std::process::id()));
    if write_tree(&root, &entries).is_ok()
        && let Ok((profile, _warnings)) = crate::host::sysfs::probe("h", &root)
    {
        reads_back(&profile);
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// Where trees are written: `VNUMAC_FUZZ_TMPDIR`, else `/dev/shm` (a tmpfs: a disk makes
/// this target a hundred times slower), else the temporary directory.
fn scratch() -> PathBuf {
    if let Some(dir) = std::env::var_os("VNUMAC_FUZZ_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// (relative path, content; None for a directory) of a sysfs archive.
pub fn sysfs_entries(archive: &str) -> Vec<(PathBuf, Option<String>)> {
    let mut out: Vec<(PathBuf, Option<String>)> = Vec::new();
    let mut current: Option<(PathBuf, String)> = None;
    let mut lines = archive.split_inclusive('\n');
    let flush = |cur: &mut Option<(PathBuf, String)>, out: &mut Vec<(PathBuf, Option<String>)>| {
        if let Some((p, body)) = cur.take() {
            out.push((p, Some(body)));
        }
    };
    for line in lines.by_ref() {
        let Some(head) = line.strip_prefix('>') else {
            if let Some((_, body)) = current.as_mut() {
                body.push_str(line);
            }
            continue;
        };
        flush(&mut current, &mut out);
        if out.len() >= MAX_ENTRIES {
            break;
        }
        let head = head.trim_end_matches(['\n', '\r']);
        let dir = head.ends_with('/');
        let Some(path) = safe_path(head.trim_end_matches('/')) else {
            continue;
        };
        if dir {
            out.push((path, None));
        } else {
            current = Some((path, String::new()));
        }
    }
    flush(&mut current, &mut out);
    out
}

fn safe_path(rel: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for c in rel.split('/') {
        let ok = !c.is_empty()
            && c != "."
            && c != ".."
            && c.len() <= 64
            && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if !ok {
            return None;
        }
        path.push(c);
    }
    (path.components().count() <= 12).then_some(path)
}

fn write_tree(root: &Path, entries: &[(PathBuf, Option<String>)]) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    for (rel, body) in entries {
        let path = root.join(rel);
        // A later entry under an earlier file, or a file where a directory is: skipped.
        match body {
            None => {
                let _ = std::fs::create_dir_all(&path);
            }
            Some(body) => {
                if let Some(parent) = path.parent()
                    && std::fs::create_dir_all(parent).is_ok()
                    && !path.exists()
                {
                    let _ = std::fs::write(&path, body);
                }
            }
        }
    }
    Ok(())
}

// == domain

/// Domain XML import: what it writes parses back without a syntax error (`import`
/// escapes every outside text, `docs/language.md` §1), and notes are comments.
pub fn domain(data: &[u8]) {
    let xml = text(data);
    let opts = crate::import::ImportOptions { host: Some("h".into()) };
    if let Ok(imported) = crate::import::import_domain(&xml, &opts) {
        let (file, diags) = syntax::parse(FileId(0), &imported.text);
        let syntax_errors: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| d.code == syntax::SYNTAX || d.code == syntax::BAD_ESCAPE)
            .collect();
        assert!(
            syntax_errors.is_empty() && file.errors.is_empty(),
            "{}\n{syntax_errors:?}",
            imported.text
        );
        let guests = file.statements.iter().filter(|s| s.keyword.text == "guest").count();
        assert_eq!(guests, 1, "{}", imported.text);
    }
}

// == lsp_edits

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

/// `L (u16 LE) SCRIPT[L] BUNDLE`. The bundle is [`check`]'s; the script is a sequence of
/// edits `FILE (u8) AT (u16 LE) DELETE (u8) N (u8) TEXT[N]`, offsets taken modulo the
/// text and moved back to a character boundary.
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
