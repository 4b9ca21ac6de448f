//! Bounded cost: `vnuma-lsp` under an address-space limit (`ulimit -v`), driven over its
//! stdio as an editor drives it, with documents crafted to expand. A regression that
//! allocates without bound ends the server (an abort, a kill), which fails here. Time is
//! measured by `cargo bench -p vnumac-lsp --bench hostile`, never asserted here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Lsp, scratch};
use serde_json::{Value, json};

/// Far above what an ordinary session needs (tens of MiB), far below what the unbounded
/// cases took (gigabytes).
const LIMIT_MIB: u64 = 768;

fn guest(name: &str) -> String {
    format!("guest {name} {{\n  vcpus 1\n  memory 1GiB\n}}\n")
}

/// Each message's text is short: no diagnostic quotes a document back.
fn short(diags: &[Value]) -> bool {
    diags
        .iter()
        .all(|d| d["message"].as_str().is_some_and(|m| m.len() < 1024))
}

#[test]
fn a_64_mb_document_is_refused_like_a_file_that_large() {
    let dir = scratch("bounds-64mb");
    let path = dir.0.join("huge.vnuma");
    let mut lsp = Lsp::start_limited(&dir.0, LIMIT_MIB);
    let text = "a".repeat(64 << 20);
    let u = lsp.open(&path, &text);
    drop(text);
    let diags = lsp.diagnostics(&u, 1);
    assert_eq!(
        diags.len(),
        1,
        "{}",
        Value::Array(diags.clone())
            .to_string()
            .chars()
            .take(300)
            .collect::<String>()
    );
    assert_eq!(diags[0]["code"], "vnuma::io");
    let message = diags[0]["message"].as_str().unwrap();
    assert!(
        message.ends_with("is larger than the 16 MiB limit for input files"),
        "{message}"
    );
    // Ranged edits still apply: cutting it down to one guest makes it a document again.
    let end = json!({ "line": 0, "character": 64 << 20 });
    lsp.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u, "version": 2 }, "contentChanges": [{ "range": { "start": { "line": 0, "character": 0 }, "end": end }, "text": guest("g") }] }),
    );
    assert_eq!(lsp.diagnostics(&u, 2), Vec::<Value>::new());
    lsp.shutdown();
}

/// 500 `l3 0-1048575` lines (7.5 KB) once made the server expand half a billion CPU ids.
#[test]
fn a_small_document_of_wide_id_sets_stays_small() {
    let dir = scratch("bounds-sets");
    let mut lsp = Lsp::start_limited(&dir.0, LIMIT_MIB);
    let text = format!(
        "host h {{\n  node 0 cpus=0-3 memory=8GiB\n{}}}\n",
        "  l3 0-1048575\n".repeat(500)
    );
    assert!(text.len() < 8_000);
    let u = lsp.open(&dir.0.join("sets.vnuma"), &text);
    let diags = lsp.diagnostics(&u, 1);
    let wide = |d: &Value| {
        d["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("CPUs 4-1048575 are not on any node"))
    };
    assert!(
        diags.iter().any(wide),
        "{} diagnostics, none about the wide set",
        diags.len()
    );
    lsp.shutdown();
}

#[test]
fn one_16_mib_word_is_read_no_further_and_not_quoted() {
    let dir = scratch("bounds-word");
    for (name, text) in [
        ("word", "a".repeat((16 << 20) - 1)),
        ("nuls", "\0".repeat((16 << 20) - 1)),
        ("string", format!("guest \"{}", "a".repeat((16 << 20) - 8))),
    ] {
        let mut lsp = Lsp::start_limited(&dir.0, LIMIT_MIB);
        let u = lsp.open(&dir.0.join(format!("{name}.vnuma")), &text);
        let diags = lsp.diagnostics(&u, 1);
        assert!(
            !diags.is_empty() && short(&diags),
            "{name}: {} bytes of diagnostics",
            Value::Array(diags).to_string().len()
        );
        lsp.shutdown();
    }
}

#[test]
fn opening_and_closing_beside_an_include_cycle_frees_what_it_loaded() {
    let dir = scratch("bounds-cycle");
    let n = 1_000;
    for i in 0..n {
        let body = format!("include \"c{}.vnuma\"\n{}", (i + 1) % n, guest(&format!("c{i}")));
        std::fs::write(dir.0.join(format!("c{i}.vnuma")), body).unwrap();
    }
    let mut lsp = Lsp::start_limited(&dir.0, LIMIT_MIB);
    for round in 0..60 {
        let p = dir.0.join(format!("c{}.vnuma", round * 7 % n));
        let text = std::fs::read_to_string(&p).unwrap();
        let u = lsp.open(&p, &text);
        lsp.diagnostics(&u, 1);
        lsp.notify("textDocument/didClose", json!({ "textDocument": { "uri": u } }));
        lsp.stash.clear();
        assert!(lsp.exited().is_none(), "round {round}: the server ended");
    }
    lsp.shutdown();
}
