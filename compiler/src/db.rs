//! The incremental pipeline: salsa inputs (files, the program) and tracked queries
//! parse → compile (check) → lower. I/O happens only in [`load_program`], before queries run.

use crate::check::{self, Checked, HostSources, LoadedFile};
use crate::diagnostics::{self, Diagnostic};
use crate::host::HostProfile;
use crate::source::SourceMap;
use crate::span::{FileId, Span};
use crate::syntax::{self, ast};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// One source file's text.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(copy)]
    pub id: FileId,
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
}

/// Everything a build reads: the root file and every file it reaches, with read errors.
#[salsa::input(debug)]
pub struct Program {
    #[returns(copy)]
    pub root: SourceFile,
    #[returns(ref)]
    pub files: BTreeMap<PathBuf, Result<SourceFile, String>>,
    /// This machine's host profile when some host says `probe=true`.
    #[returns(ref)]
    pub probed: Option<Result<HostProfile, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Parsed {
    pub ast: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn salsa::Database, file: SourceFile) -> Parsed {
    let (ast, diagnostics) = syntax::parse(file.id(db), file.text(db));
    Parsed { ast, diagnostics }
}

/// The result of checking a program: the model, every diagnostic, and the sources to render them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Compiled {
    pub sources: SourceMap,
    pub checked: Checked,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// One guest's outputs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestOutput {
    pub name: String,
    pub xml: String,
    pub args: String,
}

#[salsa::tracked(returns(ref))]
pub fn compile(db: &dyn salsa::Database, program: Program) -> Compiled {
    let files = program.files(db);
    let mut sources = SourceMap::default();
    let mut all: Vec<SourceFile> = files.values().filter_map(|f| f.as_ref().ok().copied()).collect();
    all.sort_by_key(|f| f.id(db));
    for f in &all {
        sources.add(f.path(db).clone(), f.text(db).clone());
    }
    let mut diags = Vec::new();
    // Staged: includes and syntax first; semantics only when every file parsed.
    let order = include_order(db, program, &mut diags);
    for f in &order {
        diags.extend(parse(db, *f).diagnostics.iter().cloned());
    }
    let mut checked = Checked::default();
    if diags.iter().all(|d| !d.is_error()) {
        let loaded: Vec<LoadedFile<'_>> = order
            .iter()
            .map(|f| LoadedFile {
                id: f.id(db),
                path: f.path(db),
                ast: &parse(db, *f).ast,
            })
            .collect();
        let hs = ProgramSources { db, program };
        checked = check::check_program(&loaded, &hs, &mut diags);
    }
    diagnostics::sort(&mut diags);
    Compiled {
        sources,
        checked,
        diagnostics: diags,
    }
}

#[salsa::tracked(returns(ref))]
pub fn lower(db: &dyn salsa::Database, program: Program) -> Vec<GuestOutput> {
    let compiled = compile(db, program);
    if compiled.has_errors() {
        return Vec::new();
    }
    compiled
        .checked
        .build
        .guests
        .iter()
        .map(|g| GuestOutput {
            name: g.name.clone(),
            xml: crate::lower::libvirt::domain_xml(g),
            args: crate::lower::qemu::command_line(g),
        })
        .collect()
}

struct ProgramSources<'d> {
    db: &'d dyn salsa::Database,
    program: Program,
}

impl HostSources for ProgramSources<'_> {
    fn read_text(&self, path: &Path) -> Result<String, String> {
        match self.program.files(self.db).get(&normalize(path)) {
            Some(Ok(f)) => Ok(f.text(self.db).clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not loaded".into()),
        }
    }

    fn probe(&self, name: &str) -> Result<HostProfile, String> {
        match self.program.probed(self.db) {
            Some(Ok(p)) => Ok(HostProfile {
                name: name.to_string(),
                ..p.clone()
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Err("this machine was not probed".into()),
        }
    }
}

/// Files in statement order with includes expanded in place; reports missing files and cycles.
fn include_order(db: &dyn salsa::Database, program: Program, diags: &mut Vec<Diagnostic>) -> Vec<SourceFile> {
    let mut order = Vec::new();
    let mut stack = Vec::new();
    visit(db, program, program.root(db), None, &mut stack, &mut order, diags);
    order
}

/// Depth-first over includes; `stack` holds the files being included and the include that led to each.
fn visit(
    db: &dyn salsa::Database,
    program: Program,
    file: SourceFile,
    via: Option<Span>,
    stack: &mut Vec<(SourceFile, Option<Span>)>,
    order: &mut Vec<SourceFile>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(pos) = stack.iter().position(|(f, _)| *f == file) {
        let chain: Vec<String> = stack[pos..]
            .iter()
            .map(|(f, _)| f.path(db).display().to_string())
            .chain(std::iter::once(file.path(db).display().to_string()))
            .collect();
        if let Some(span) = via {
            let mut d = Diagnostic::error(
                check::codes::INCLUDE_CYCLE,
                format!("include cycle: {}", chain.join(" → ")),
                span,
                "this include closes the cycle",
            );
            for s in stack[pos + 1..].iter().filter_map(|(_, s)| *s) {
                d = d.with_label(s, "included here");
            }
            diags.push(d.with_help("remove one of the includes in the chain"));
        }
        return;
    }
    if order.contains(&file) {
        return; // Included before: its definitions are not repeated.
    }
    order.push(file);
    stack.push((file, via));
    for stmt in &parse(db, file).ast.statements {
        if stmt.keyword.text != "include" {
            continue;
        }
        let Some(arg) = stmt.args.first().filter(|a| a.quoted) else {
            continue;
        };
        let path = normalize(&check::resolve_relative(file.path(db), &arg.text));
        match program.files(db).get(&path) {
            Some(Ok(next)) => visit(db, program, *next, Some(arg.span), stack, order, diags),
            Some(Err(e)) => diags.push(
                Diagnostic::error(
                    check::codes::INCLUDE_NOT_FOUND,
                    format!("cannot read {}: {e}", path.display()),
                    arg.span,
                    "included here",
                )
                .with_help("the path is relative to the including file"),
            ),
            None => {}
        }
    }
    stack.pop();
}

/// Lexically clean a path (`a/./b/../c` → `a/c`) so one file has one key.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The concrete database.
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for Database {}

/// How the loader reaches the outside world.
pub trait Loader {
    fn read(&self, path: &Path) -> std::io::Result<String>;
    fn probe(&self) -> Result<HostProfile, String>;
}

/// The real file system and /sys.
pub struct FsLoader {
    pub sysfs_root: PathBuf,
}

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn probe(&self) -> Result<HostProfile, String> {
        crate::host::sysfs::probe("probed", &self.sysfs_root)
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    }
}

/// Read the root file and everything it reaches (includes, capabilities files, /sys when asked).
/// Only the root file's absence is an error here; the rest becomes diagnostics in [`compile`].
pub fn load_program(db: &Database, root: &Path, loader: &dyn Loader) -> std::io::Result<Program> {
    let root = normalize(root);
    let text = loader.read(&root)?;
    let mut next_id = 0u32;
    let mut new_file = |path: PathBuf, text: String| {
        let f = SourceFile::new(db, FileId(next_id), path, text);
        next_id += 1;
        f
    };
    let root_file = new_file(root.clone(), text);
    let mut files: BTreeMap<PathBuf, Result<SourceFile, String>> = BTreeMap::new();
    files.insert(root, Ok(root_file));
    let mut queue = vec![root_file];
    let mut wants_probe = false;
    while let Some(file) = queue.pop() {
        let base = file.path(db).clone();
        for stmt in &parse(db, file).ast.statements {
            let target = match stmt.keyword.text.as_str() {
                "include" => stmt.args.first().filter(|a| a.quoted).map(|a| (a.text.clone(), true)),
                "host" => {
                    if stmt.prop("probe").is_some_and(|p| p.value.text == "true") {
                        wants_probe = true;
                    }
                    stmt.prop("from")
                        .filter(|p| p.value.quoted)
                        .map(|p| (p.value.text.clone(), false))
                }
                _ => None,
            };
            let Some((rel, is_source)) = target else { continue };
            let path = normalize(&check::resolve_relative(&base, &rel));
            if files.contains_key(&path) {
                continue;
            }
            match loader.read(&path) {
                Ok(text) => {
                    let f = new_file(path.clone(), text);
                    files.insert(path, Ok(f));
                    if is_source {
                        queue.push(f);
                    }
                }
                Err(e) => {
                    files.insert(path, Err(e.to_string()));
                }
            }
        }
    }
    let probed = wants_probe.then(|| loader.probe());
    Ok(Program::new(db, root_file, files, probed))
}
