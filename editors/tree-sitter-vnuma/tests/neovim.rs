//! A real editor: headless Neovim 0.7 (Debian's) loads the parser built as a shared
//! library, parses a file without an error, starts its highlighter, and finds the
//! queries on its runtimepath; the captures it reports, its own predicates applied,
//! are the ones the tests read with the tree-sitter crate (editors/nvim/treesitter.lua).
//! Skips when `nvim` is missing, unless VNUMAC_REQUIRE_ORACLES=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, grammar_dir, parse, repo};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use tree_sitter::{Query, QueryCursor, StreamingIterator};

type Capture = (u64, u64, u64, u64, String);

/// The captures of `source` on `text`, as Neovim's report writes them.
fn crate_captures(source: &str, text: &str) -> BTreeSet<Capture> {
    let query = Query::new(&tree_sitter_vnuma::LANGUAGE.into(), source).unwrap();
    let tree = parse(text);
    let mut cursor = QueryCursor::new();
    let mut out = BTreeSet::new();
    let mut it = cursor.captures(&query, tree.root_node(), text.as_bytes());
    while let Some((m, i)) = it.next() {
        let c = m.captures[*i];
        let (s, e) = (c.node.start_position(), c.node.end_position());
        let name = query.capture_names()[c.index as usize].to_string();
        let n = |x: usize| x as u64;
        out.insert((n(s.row), n(s.column), n(e.row), n(e.column), name));
    }
    out
}

fn reported(list: &Value) -> BTreeSet<Capture> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let n = |i: usize| c[i].as_u64().unwrap();
            (n(0), n(1), n(2), n(3), c[4].as_str().unwrap().to_string())
        })
        .collect()
}

/// Builds the parser as a shared library and a runtimepath with the queries in `dir`.
fn build(dir: &Path) -> std::path::PathBuf {
    let so = dir.join("vnuma.so");
    let src = grammar_dir().join("src");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(cc)
        .args(["-shared", "-fPIC", "-O1", "-I"])
        .arg(&src)
        .arg(src.join("parser.c"))
        .arg("-o")
        .arg(&so)
        .status()
        .unwrap();
    assert!(status.success(), "cc: {status}");
    let queries = dir.join("rtp/queries/vnuma");
    std::fs::create_dir_all(&queries).unwrap();
    for q in files(&grammar_dir().join("queries"), ".scm") {
        if q.parent() == Some(&grammar_dir().join("queries")) {
            std::fs::copy(&q, queries.join(q.file_name().unwrap())).unwrap();
        }
    }
    so
}

/// Runs editors/nvim/treesitter.lua on `file`: its JSON report, or None when nvim is
/// missing and not required.
fn neovim(file: &Path) -> Option<Value> {
    if Command::new("nvim").arg("--version").output().is_err() {
        assert!(
            std::env::var("VNUMAC_REQUIRE_ORACLES").is_err(),
            "nvim is required (apt-get install neovim)"
        );
        eprintln!("skipped: nvim not found");
        return None;
    }
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = std::env::temp_dir().join(format!("vnuma-ts-nvim-{}-{stem}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let so = build(&dir);
    let out = dir.join("out.json");
    let status = Command::new("timeout")
        .arg("60")
        .arg("nvim")
        .args(["--headless", "--clean", "-c"])
        .arg(format!(
            "luafile {}",
            repo().join("editors/nvim/treesitter.lua").display()
        ))
        .arg(file)
        .env("PARSER", &so)
        .env("QUERIES", dir.join("rtp"))
        .env("OUT_JSON", &out)
        .status()
        .unwrap();
    let report = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "{status}: {report}");
    let r: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    Some(r)
}

#[test]
fn neovim_parses_and_highlights_with_the_grammar() {
    let file = grammar_dir().join("test/highlight/statements.vnuma");
    let Some(r) = neovim(&file) else { return };
    assert_eq!(r["root"], "source_file", "{r}");
    assert_eq!(r["has_error"], false, "{r}");
    assert_eq!(r["highlighter"], true, "{r}");
    let text = std::fs::read_to_string(&file).unwrap();
    let highlights = reported(&r["highlights"]);
    // A few by hand: `host peppi from=...` on line 7, `locked=true` on line 31.
    for want in [
        (6, 0, 6, 4, "keyword"),
        (6, 5, 6, 10, "type"),
        (6, 11, 6, 15, "property"),
        (6, 16, 6, 38, "string"),
        (30, 9, 30, 14, "number"),
        (30, 22, 30, 26, "boolean"),
    ] {
        let want = (want.0, want.1, want.2, want.3, want.4.to_string());
        assert!(highlights.contains(&want), "{want:?} not in {highlights:?}");
    }
    // `true` is a boolean and not also a constant: Neovim applies `#not-any-of?`.
    assert!(!highlights.contains(&(30, 22, 30, 26, "constant".to_string())));
    assert_eq!(highlights, crate_captures(tree_sitter_vnuma::HIGHLIGHTS_QUERY, &text));
    assert_eq!(
        reported(&r["folds"]),
        crate_captures(tree_sitter_vnuma::FOLDS_QUERY, &text)
    );
    assert_eq!(reported(&r["folds"]).len(), 2);
    assert_eq!(
        reported(&r["indents"]),
        crate_captures(tree_sitter_vnuma::INDENTS_QUERY, &text)
    );
}
