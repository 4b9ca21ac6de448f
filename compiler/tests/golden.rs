//! Golden tests: every example and every failing input, compiled and compared with
//! the expected XML, QEMU command line, placement map and rendered diagnostics under golden/.
//! Bless new output with `UPDATE_GOLDEN=1 cargo test -p vnumac --test golden`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use vnumac::db::{self, Database, Loader};
use vnumac::diagnostics;
use vnumac::host::HostProfile;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Reads files relative to the workspace, so rendered paths are stable; never probes.
struct RepoLoader;

impl Loader for RepoLoader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        fs::read_to_string(workspace().join(path))
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("golden tests do not probe this machine".into())
    }
}

fn vnuma_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(workspace().join(dir))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "vnuma"))
        .map(|p| Path::new(dir).join(p.file_name().unwrap()))
        .collect();
    v.sort();
    v
}

struct Outcome {
    explain: String,
    rendered: String,
    has_errors: bool,
    outputs: Vec<db::GuestOutput>,
    codes: Vec<&'static str>,
}

fn compile(rel: &Path) -> Outcome {
    let db = Database::default();
    let program = db::load_program(&db, rel, &RepoLoader).unwrap();
    let compiled = db::compile(&db, program);
    let rendered: String = compiled
        .diagnostics
        .iter()
        .map(|d| diagnostics::render(d, &compiled.sources, false, 100))
        .collect();
    Outcome {
        explain: vnumac::explain::text(&compiled.checked, None),
        rendered,
        has_errors: compiled.has_errors(),
        outputs: db::lower(&db, program).clone(),
        codes: compiled.diagnostics.iter().map(|d| d.code).collect(),
    }
}

/// Compare with the golden file, or write it when blessing. Returns a mismatch message.
fn expect_file(path: &Path, actual: &str) -> Option<String> {
    let full = workspace().join(path);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, actual).unwrap();
        return None;
    }
    match fs::read_to_string(&full) {
        Ok(expected) if expected == actual => None,
        Ok(expected) => Some(format!(
            "{} differs:\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )),
        Err(_) => Some(format!("{} is missing (bless with UPDATE_GOLDEN=1)", path.display())),
    }
}

// Every example compiles without errors; its XML, QEMU line and warnings match golden/examples.
#[test]
fn examples_match_golden() {
    let mut failures = Vec::new();
    let examples = vnuma_files("examples");
    assert!(examples.len() >= 8, "examples/ should hold the talk's configurations");
    for ex in examples {
        let stem = ex.file_stem().unwrap().to_string_lossy().to_string();
        let out = compile(&ex);
        if out.has_errors {
            failures.push(format!("{} has errors:\n{}", ex.display(), out.rendered));
            continue;
        }
        let dir = Path::new("golden/examples").join(&stem);
        for g in &out.outputs {
            failures.extend(expect_file(&dir.join(format!("{}.xml", g.name)), &g.xml));
            failures.extend(expect_file(&dir.join(format!("{}.args", g.name)), &g.args));
        }
        failures.extend(expect_file(&dir.join("explain.txt"), &out.explain));
        let warn = dir.join("diagnostics.txt");
        if !out.rendered.is_empty() || workspace().join(&warn).exists() {
            failures.extend(expect_file(&warn, &out.rendered));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// Every failing input reports at least one error whose code is in its file name,
// and the rendered diagnostics match golden/errors/NAME.txt.
#[test]
fn errors_match_golden() {
    let mut failures = Vec::new();
    for input in vnuma_files("golden/errors") {
        let stem = input.file_stem().unwrap().to_string_lossy().to_string();
        let out = compile(&input);
        let code = stem.split('-').next().unwrap_or("");
        if !out.codes.iter().any(|c| c.ends_with(code)) {
            failures.push(format!(
                "{} should report {code}, got {:?}:\n{}",
                input.display(),
                out.codes,
                out.rendered
            ));
        }
        if code.starts_with('E') && (!out.has_errors || !out.outputs.is_empty()) {
            failures.push(format!("{} must fail with no output", input.display()));
        }
        failures.extend(expect_file(&input.with_extension("txt"), &out.rendered));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// Every code the compiler knows has a failing example and an entry in docs/diagnostics.md.
#[test]
fn every_code_has_an_example_and_docs() {
    let docs = fs::read_to_string(workspace().join("docs/diagnostics.md")).unwrap_or_default();
    let inputs: Vec<String> = vnuma_files("golden/errors")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    let mut missing = Vec::new();
    for (code, _) in vnumac::codes::ALL {
        let short = code.trim_start_matches("vnuma::");
        if !inputs.iter().any(|i| i.starts_with(short)) {
            missing.push(format!("{code}: no golden/errors/{short}-*.vnuma"));
        }
        if !docs.contains(code) {
            missing.push(format!("{code}: not in docs/diagnostics.md"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

// docs/diagnostics.md is the catalogue of every code with its failing example and
// the exact output; it is generated from golden/errors and must stay current.
#[test]
fn diagnostics_catalogue_is_current() {
    let inputs = vnuma_files("golden/errors");
    let mut md = String::from(
        "# Diagnostics\n\n\
         Every diagnostic vnumac reports has a stable code. Errors (`E…`) stop the build: exit code 1, \
         nothing written. Warnings (`W…`) are printed and the build goes on.\n\n\
         Each entry shows a failing input from `golden/errors/` and exactly what `vnumac check` prints for it. \
         This page is generated: `UPDATE_GOLDEN=1 cargo test -p vnumac --test golden` rewrites it.\n\n\
         | code | meaning |\n|---|---|\n",
    );
    let listed = vnumac::codes::ALL
        .iter()
        .chain(vnumac::codes::OTHER)
        .chain(vnumac::codes::DRIFT)
        .chain(vnumac::codes::MOVES);
    for (code, summary) in listed {
        let anchor = vnumac::codes::anchor(code);
        md.push_str(&format!("| [`{code}`](#{anchor}) | {summary} |\n"));
    }
    for (code, summary) in vnumac::codes::ALL {
        md.push_str(&format!("\n## {code}\n\n{summary}.\n"));
        let short = code.trim_start_matches("vnuma::");
        for input in inputs
            .iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(short))
        {
            let src = fs::read_to_string(workspace().join(input)).unwrap();
            let out = compile(input).rendered;
            md.push_str(&format!(
                "\n`{}`:\n\n```vnuma\n{}```\n\n```text\n{}```\n",
                input.display(),
                src,
                out
            ));
        }
    }
    md.push_str(
        "\n# Codes that are not about a file's text\n\n\
         These come with `--message-format json` as they do in a file's diagnostics, and the \
         language server reports `vnuma::io` (a document too large to read) and `vnuma::more` \
         the same way.\n",
    );
    for (code, summary) in vnumac::codes::OTHER {
        md.push_str(&format!("\n## {code}\n\n{summary}.\n"));
    }
    md.push_str(
        "\n# Differences a running guest shows\n\n\
         `vnumac verify` reports these where a running guest differs from what its file builds \
         for it (exit code 1), each at the statement that intended what differs. \
         [verify.md](verify.md) says what is compared and where each fact comes from.\n",
    );
    for (code, summary) in vnumac::codes::DRIFT {
        md.push_str(&format!("\n## {code}\n\n{summary}.\n"));
    }
    md.push_str(
        "\n# Why a guest cannot move\n\n\
         `vnumac migrate` reports these when a guest cannot move to the destination without \
         changing what it sees (errors: exit code 1, nothing printed on stdout), and warns when \
         what it sees no longer matches its host. [migrate.md](migrate.md) says what stays and \
         what is planned again. Each entry shows a case from `golden/migrate/` (its first line \
         is the command) and exactly what `vnumac migrate` prints on stderr for it.\n",
    );
    let moves = vnuma_files("golden/migrate");
    for (code, summary) in vnumac::codes::MOVES {
        md.push_str(&format!("\n## {code}\n\n{summary}.\n"));
        let short = code.trim_start_matches("vnuma::");
        for input in moves
            .iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(short))
        {
            let src = fs::read_to_string(workspace().join(input)).unwrap();
            let out = migrate_case(input).rendered;
            md.push_str(&format!(
                "\n`{}`:\n\n```vnuma\n{}```\n\n```text\n{}```\n",
                input.display(),
                src,
                out
            ));
        }
    }
    if let Some(diff) = expect_file(Path::new("docs/diagnostics.md"), &md) {
        panic!("{diff}");
    }
}

/// Hover and completion document the language from the schema table; docs/language.md
/// must name every statement and property in it, so the two never drift apart.
#[test]
fn language_reference_covers_the_schema() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md")).unwrap();
    let mut missing = Vec::new();
    for s in vnumac::lang::SCHEMA {
        let named = doc.contains(&format!("`{}", s.keyword))
            || doc
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{} ", s.keyword)));
        if !named {
            missing.push(s.keyword.to_string());
        }
        for p in s.props {
            if !doc.contains(&format!("{}=", p.key)) {
                missing.push(format!("{} {}=", s.keyword, p.key));
            }
        }
    }
    assert!(missing.is_empty(), "docs/language.md does not name: {missing:?}");
}

/// What an editor shows on a few examples: the hover at every statement's keyword, the
/// inlay hints and the symbol outline, as snapshots under golden/ide/.
#[test]
fn editor_answers_on_examples() {
    use vnumac::ide;
    let mut failures = Vec::new();
    for name in [
        "talk-smt-pins",
        "vnuma-host",
        "talk-nic-expander",
        "snc-cxl",
        "vnuma-fleet",
        "cache-allocation",
    ] {
        let rel = PathBuf::from(format!("examples/{name}.vnuma"));
        let mut ws = db::Workspace::default();
        let program = ws.load(&rel, &RepoLoader).unwrap();
        let file = ws.file(&rel).unwrap();
        let db = &ws.db;
        let text = file.text(db);
        let index = vnumac::source::LineIndex::new(text);
        let at = |o: u32| {
            let (l, c) = index.position(text, o, vnumac::source::Encoding::Utf8);
            format!("{}:{}", l + 1, c + 1)
        };
        let mut out = String::new();
        fn walk(stmts: &[vnumac::syntax::ast::Statement], out: &mut Vec<(u32, String)>, text: &str) {
            for s in stmts {
                let head = text[s.head_span().start as usize..]
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches(['{', ' '])
                    .to_string();
                out.push((s.keyword.span.start, head));
                if let Some(b) = &s.block {
                    walk(&b.statements, out, text);
                }
            }
        }
        let mut heads = Vec::new();
        walk(&db::parse(db, file).ast.statements, &mut heads, text);
        for (offset, head) in heads {
            if let Some(h) = ide::hover(db, program, file, offset) {
                out.push_str(&format!(
                    "== hover {} `{head}`\n{}\n",
                    at(offset),
                    h.markdown.trim_end()
                ));
            }
        }
        out.push_str("== inlay hints\n");
        for h in ide::inlay_hints(db, program, file) {
            out.push_str(&format!("{} {}\n", at(h.offset), h.label));
        }
        out.push_str("== symbols\n");
        fn outline(syms: &[ide::Symbol], depth: usize, out: &mut String) {
            for s in syms {
                out.push_str(&format!("{}{:?} {}\n", "  ".repeat(depth), s.kind, s.name));
                outline(&s.children, depth + 1, out);
            }
        }
        outline(&ide::document_symbols(db, file), 0, &mut out);
        if let Some(f) = expect_file(&Path::new("golden/ide").join(format!("{name}.txt")), &out) {
            failures.push(f);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `explain --format svg` outlines each L3 domain's cores on a host that has domains, and
/// draws no outline on one without.
#[test]
fn explain_svg_outlines_l3_domains() {
    let svg = |rel: &str| {
        let db = Database::default();
        let program = db::load_program(&db, Path::new(rel), &RepoLoader).unwrap();
        let compiled = db::compile(&db, program);
        vnumac::explain::svg(&compiled.checked, None)
    };
    let amd = svg("examples/amd-l3.vnuma");
    // Eight domains, and the legend's key for them.
    assert_eq!(amd.matches("stroke='#2a7f62'").count(), 9, "{amd}");
    assert!(amd.contains(">cores sharing an L3 cache<"));
    assert!(amd.contains("<title>L3 0: CPUs 0,4,8,12,16,20,24,28,64,68,72,76,80,84,88,92</title>"));
    assert!(amd.contains("<title>L3 7: CPUs 35,39,43,47,51,55,59,63,99,103,107,111,115,119,123,127</title>"));
    // Domain 0's cores come first on node 0, although its CPU ids are 0, 4, 8 …
    let first = amd.find("<title>CPU 0: a vCPU of db").unwrap();
    assert!(first < amd.find("<title>CPU 4: a vCPU of db").unwrap());
    assert!(amd.find("<title>CPU 28: a vCPU of db").unwrap() < amd.find("<title>CPU 1: a vCPU of web").unwrap());
    let fleet = svg("examples/vnuma-fleet.vnuma");
    assert!(!fleet.contains("#2a7f62"));
}

/// `explain --format svg` marks each isolated thread's core and the CPUs I/O threads run
/// on, by name in each tooltip, with both marks in the legend.
#[test]
fn explain_svg_marks_isolated_and_io_threads() {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("examples/isolated-threads.vnuma"), &RepoLoader).unwrap();
    let compiled = db::compile(&db, program);
    let svg = vnumac::explain::svg(&compiled.checked, None);
    // nfv's emulator core (4, 64) and its I/O threads' cores (5, 65 and 19, 79).
    for (cpu, what) in [
        (4, "the emulator threads"),
        (64, "the emulator threads"),
        (5, "the I/O thread 1"),
        (79, "the I/O thread 2"),
    ] {
        let title = format!("<title>CPU {cpu}: a core of its own for {what} of nfv (isolated)");
        assert!(svg.contains(&title), "{title}");
    }
    // Three cores, two threads each, one corner mark each, plus the legend's.
    assert_eq!(svg.matches("<polygon").count(), 7, "{svg}");
    assert!(svg.contains(">an isolated thread's own core<") && svg.contains(">I/O threads<"));
    assert!(
        svg.contains("<title>CPU 51: free; I/O threads of db</title>"),
        "db pins thread 2 on CPU 51"
    );
}

/// One `golden/migrate/` case: its first line says `# vnumac migrate --guest G --to H`.
struct MoveCase {
    /// The diagnostics of the move (warnings, or the refusal), rendered.
    rendered: String,
    /// The codes of those diagnostics.
    codes: Vec<&'static str>,
    /// The migration, when the guest moves.
    moved: Option<vnumac::migrate::Migration>,
}

fn migrate_case(input: &Path) -> MoveCase {
    let text = fs::read_to_string(workspace().join(input)).unwrap();
    let words: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    let arg = |name: &str| words[words.iter().position(|w| *w == name).unwrap() + 1];
    let db = Database::default();
    let program = db::load_program(&db, input, &RepoLoader).unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{} does not check", input.display());
    let to = vnumac::migrate::To::Host(arg("--to"));
    let render = |ds: &[diagnostics::Diagnostic]| -> String {
        ds.iter()
            .map(|d| diagnostics::render(d, &compiled.sources, false, 100))
            .collect()
    };
    match vnumac::migrate::migrate(&db, program, arg("--guest"), to) {
        Ok(m) => MoveCase {
            rendered: render(&m.moved.warnings),
            codes: m.moved.warnings.iter().map(|d| d.code).collect(),
            moved: Some(m),
        },
        Err(vnumac::migrate::Failure::Refused(r)) => MoveCase {
            rendered: render(&r.errors),
            codes: r.errors.iter().map(|d| d.code).collect(),
            moved: None,
        },
        Err(other) => panic!("{}: {other:?}", input.display()),
    }
}

/// The domain XML without what a move may change: `<cputune>` and `<numatune>`.
fn guest_visible(xml: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for line in xml.lines() {
        let t = line.trim();
        if t == "<cputune>" || t == "<numatune>" {
            skip = true;
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
        if t == "</cputune>" || t == "</numatune>" {
            skip = false;
        }
    }
    out
}

// Every move under golden/migrate: a refusal (`M08xx-…`, an error of that code) renders as
// NAME.txt; a move prints NAME.xml, NAME.args and the NAME.diff table, its warnings (an
// `M0806-…` case has that warning) in NAME.txt, and what the guest sees is the source's.
#[test]
fn migrations_match_golden() {
    let mut failures = Vec::new();
    let cases = vnuma_files("golden/migrate");
    assert!(cases.len() >= 9, "a move of each kind and every refusal");
    for input in cases {
        let stem = input.file_stem().unwrap().to_string_lossy().to_string();
        let case = migrate_case(&input);
        let code = stem.split('-').next().unwrap_or("");
        if code.starts_with('M') && !case.codes.iter().any(|c| c.ends_with(code)) {
            failures.push(format!("{stem} should report {code}, got {:?}", case.codes));
        }
        let warning_only = code == vnumac::codes::MOVE_DISTANCES.trim_start_matches("vnuma::");
        let refused = code.starts_with('M') && !warning_only;
        if refused != case.moved.is_none() {
            failures.push(format!(
                "{stem}: refused is {}, expected {refused}",
                case.moved.is_none()
            ));
        }
        let dir = Path::new("golden/migrate");
        if let Some(m) = &case.moved {
            let g = &m.moved.guest;
            let xml = vnumac::lower::libvirt::domain_xml(g);
            let before = vnumac::lower::libvirt::domain_xml(&m.before);
            if guest_visible(&xml) != guest_visible(&before) {
                failures.push(format!("{stem}: what the guest sees changed"));
            }
            failures.extend(expect_file(&dir.join(format!("{stem}.xml")), &xml));
            failures.extend(expect_file(
                &dir.join(format!("{stem}.args")),
                &vnumac::lower::qemu::command_line(g),
            ));
            let table = vnumac::migrate::diff(
                &m.before,
                (&m.source, &m.source_profile),
                g,
                (&m.destination, &m.destination_profile),
            );
            failures.extend(expect_file(&dir.join(format!("{stem}.diff")), &table));
        }
        let txt = dir.join(format!("{stem}.txt"));
        if !case.rendered.is_empty() || workspace().join(&txt).exists() {
            failures.extend(expect_file(&txt, &case.rendered));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
