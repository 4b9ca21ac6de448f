//! One registry of codes (`vnumac::codes`): no code is written anywhere else in the code
//! base, every code of the registry is listed with a summary, and docs/diagnostics.md has an
//! entry for each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file before its test module (a `tests.rs` file is all tests).
fn code_of(path: &Path) -> String {
    if path.file_stem().is_some_and(|s| s == "tests") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `"vnuma::…"` string in `text`.
fn literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"vnuma::") {
        rest = &rest[at + 1..];
        let end = rest.find('"').unwrap_or(rest.len());
        out.push(rest[..end].to_string());
    }
    out
}

#[test]
fn codes_are_written_only_in_the_registry() {
    // The registry: codes.rs and its children under codes/.
    let registry = workspace().join("compiler/src/codes.rs");
    let children = workspace().join("compiler/src/codes");
    let mut files = Vec::new();
    for dir in ["compiler/src", "lsp/src"] {
        sources(&workspace().join(dir), &mut files);
    }
    let elsewhere: Vec<String> = files
        .iter()
        .filter(|f| **f != registry && !f.starts_with(&children))
        .flat_map(|f| {
            let shown = f.strip_prefix(workspace()).unwrap().display().to_string();
            literals(&code_of(f)).into_iter().map(move |c| format!("{shown}: {c}"))
        })
        .collect();
    assert!(
        elsewhere.is_empty(),
        "codes written outside compiler/src/codes.rs and codes/ (use its constants):\n{}",
        elsewhere.join("\n")
    );
}

#[test]
fn every_code_of_the_registry_is_listed_and_documented() {
    let mut text = code_of(&workspace().join("compiler/src/codes.rs"));
    let mut children = Vec::new();
    sources(&workspace().join("compiler/src/codes"), &mut children);
    for child in &children {
        text.push('\n');
        text.push_str(&code_of(child));
    }
    let docs = std::fs::read_to_string(workspace().join("docs/diagnostics.md")).unwrap();
    let defined: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("pub const "))
        .flat_map(literals)
        .collect();
    assert!(defined.len() > 80, "the registry defines {} codes", defined.len());
    let mut missing = Vec::new();
    for code in &defined {
        if !vnumac::codes::known(code) {
            missing.push(format!(
                "{code}: not in codes::ALL, codes::OTHER, codes::DRIFT or codes::MOVES"
            ));
        }
        if !docs.contains(&format!("\n## {code}\n")) {
            missing.push(format!("{code}: no entry in docs/diagnostics.md"));
        }
    }
    let listed =
        vnumac::codes::ALL.len() + vnumac::codes::OTHER.len() + vnumac::codes::DRIFT.len() + vnumac::codes::MOVES.len();
    assert_eq!(
        listed,
        defined.len(),
        "a code listed twice, or listed without a constant"
    );
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn anchors_and_the_more_note() {
    assert_eq!(vnumac::codes::anchor(vnumac::codes::VCPU_COVERAGE), "vnumae0301");
    assert_eq!(vnumac::codes::anchor(vnumac::codes::MORE), "vnumamore");
    assert_eq!(
        vnumac::codes::more_note(39_800, "many.vnuma"),
        "and 39800 more diagnostics in many.vnuma (the first 200 are shown)"
    );
}
