//! `vnuma-lsp` driven over its real stdio transport, with files on disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Lsp, position, scratch, uri, write_fixture};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// (code, 0-based line, 0-based column, severity) of each diagnostic of `root` that
/// `vnumac check` reports in that file.
fn expected(root: &Path, notes: bool) -> Vec<(String, u64, u64, u64)> {
    let db = vnumac::db::Database::default();
    let loader = vnumac::db::FsLoader {
        sysfs_root: PathBuf::from("/sys"),
    };
    let program = vnumac::db::load_program(&db, root, &loader).unwrap();
    let c = vnumac::db::compile(&db, program);
    let root_id = program.root(&db).id(&db);
    let mut out: Vec<(String, u64, u64, u64)> = c
        .diagnostics
        .iter()
        .filter(|d| d.primary_span().file == root_id)
        .filter(|d| notes || d.severity != vnumac::diagnostics::Severity::Note)
        .map(|d| {
            let s = d.primary_span();
            let (l, col) = c.sources.line_col(s.file, s.start);
            let sev = match d.severity {
                vnumac::diagnostics::Severity::Error => 1,
                vnumac::diagnostics::Severity::Warning => 2,
                vnumac::diagnostics::Severity::Note => 3,
            };
            (d.code.to_string(), l as u64 - 1, col as u64 - 1, sev)
        })
        .collect();
    out.sort();
    out
}

fn got(diags: &[Value]) -> Vec<(String, u64, u64, u64)> {
    let mut out: Vec<(String, u64, u64, u64)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["range"]["start"]["line"].as_u64().unwrap(),
                d["range"]["start"]["character"].as_u64().unwrap(),
                d["severity"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn diagnostics_equal_vnumac_check_on_every_example_and_error_case() {
    for notes in [false, true] {
        same_as_check(notes);
    }
}

/// Errors and warnings; notes too when asked for.
fn same_as_check(notes: bool) {
    let root = repo();
    let mut lsp = Lsp::start_with(&root, false, json!({ "notes": notes }));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["examples", "golden/errors"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "vnuma") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 40, "{}", files.len());
    let mut with_errors = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let u = lsp.open(f, &text);
        let diags = lsp.diagnostics(&u, 1);
        let want = expected(f, notes);
        assert_eq!(got(&diags), want, "{}", f.display());
        if want.iter().any(|d| d.3 == 1) {
            with_errors += 1;
            // Coded, with help and a link to the code's entry.
            let d = diags.iter().find(|d| d["severity"] == 1).unwrap();
            assert_eq!(d["source"], "vnumac");
            let href = d["codeDescription"]["href"].as_str().unwrap();
            assert!(
                href.ends_with(&format!(
                    "diagnostics.md#{}",
                    d["code"].as_str().unwrap().replace("::", "").to_lowercase()
                )),
                "{href}"
            );
        }
        lsp.notify("textDocument/didClose", json!({ "textDocument": { "uri": u } }));
    }
    assert!(with_errors > 30, "{with_errors}");
    if notes {
        assert!(
            files.iter().any(|f| expected(f, true).iter().any(|d| d.3 == 3)),
            "no case has notes"
        );
    }
    lsp.shutdown();
}

const FIXTURE: &str = r#"### host.vnuma
host h {
  node 0 cpus=0-3,8-11 memory=16GiB
  node 1 cpus=4-7,12-15 memory=16GiB
  smt split
}
### main.vnuma
include "host.vnuma"

# Two guests on h.
guest web on=h {
  vcpus 2
  memory 4GiB
  pin vcpus=0-1 cpus=12-13
}

guest db on=$0h {
  vcpus 8
  memory 8GiB
  vnuma mode=host pinning=node
}
"#;

#[test]
#[allow(clippy::too_many_lines)] // one session, every feature asked in turn
fn every_feature_answers_on_a_two_file_program() {
    let dir = scratch("features");
    let (files, cursor) = write_fixture(&dir.0, FIXTURE);
    let (main, text) = files[1].clone();
    let (_, at) = cursor.unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&main, &text);
    assert!(lsp.diagnostics(&u, 1).iter().all(|d| d["severity"] != 1));
    let doc = json!({ "uri": u });
    let at_text = |s: &str| position(&text, text.find(s).unwrap());

    // Hover on `on=h`: the host's nodes; on `vnuma`: the cells it resolved to.
    let h = lsp.request(
        "textDocument/hover",
        json!({ "textDocument": doc, "position": position(&text, at) }),
    );
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("host `h`: 2 node(s), 16 CPUs"),
        "{h}"
    );
    let h = lsp.request(
        "textDocument/hover",
        json!({ "textDocument": doc, "position": at_text("vnuma mode") }),
    );
    let md = h["contents"]["value"].as_str().unwrap();
    assert!(md.contains("| 0 | 0-3 |") && md.contains("| 1 | 4-7 |"), "{md}");

    // Definition of `on=h`: the host in the other file; references: the host and both guests.
    let d = lsp.request(
        "textDocument/definition",
        json!({ "textDocument": doc, "position": position(&text, at) }),
    );
    assert_eq!(d["uri"], uri(&files[0].0));
    assert_eq!(d["range"]["start"], json!({ "line": 0, "character": 5 }));
    let r = lsp.request(
        "textDocument/references",
        json!({ "textDocument": doc, "position": position(&text, at), "context": { "includeDeclaration": true } }),
    );
    assert_eq!(r.as_array().unwrap().len(), 3, "{r}");

    // Completion of a property value.
    let c = lsp.request(
        "textDocument/completion",
        json!({ "textDocument": doc, "position": at_text("=host") }),
    );
    let labels: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"mode="), "{labels:?}");

    // Symbols, folding, semantic tokens, inlay hints.
    let s = lsp.request("textDocument/documentSymbol", json!({ "textDocument": doc }));
    let names: Vec<&str> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["host.vnuma", "web", "db"]);
    let w = lsp.request("workspace/symbol", json!({ "query": "we" }));
    assert_eq!(w[0]["name"], "web", "{w}");
    let f = lsp.request("textDocument/foldingRange", json!({ "textDocument": doc }));
    assert_eq!(f.as_array().unwrap().len(), 2, "{f}");
    let t = lsp.request("textDocument/semanticTokens/full", json!({ "textDocument": doc }));
    let data = t["data"].as_array().unwrap();
    // The first token is `include` (keyword, type 0) at 0:0, 7 long.
    assert_eq!(&data[..5], &[json!(0), json!(0), json!(7), json!(0), json!(0)]);
    let ih = lsp.request(
        "textDocument/inlayHint",
        json!({ "textDocument": doc, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 99, "character": 0 } } }),
    );
    let labels: Vec<&str> = ih
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"→ CPUs 12-13 node 1"), "{labels:?}");

    // Custom requests.
    let l = lsp.request(
        "vnuma/showLowered",
        json!({ "textDocument": doc, "position": at_text("vnuma mode"), "format": "xml" }),
    );
    assert_eq!(l["guest"], "db");
    assert!(l["text"].as_str().unwrap().contains("<numa>"), "{l}");
    let l = lsp.request(
        "vnuma/showLowered",
        json!({ "textDocument": doc, "position": at_text("pin"), "format": "qemu" }),
    );
    assert_eq!(l["guest"], "web");
    assert!(l["text"].as_str().unwrap().contains("-smp"), "{l}");
    let e = lsp.request("vnuma/explain", json!({ "textDocument": doc, "format": "svg" }));
    assert!(e["text"].as_str().unwrap().starts_with("<svg"), "{e}");

    // The included file opened on its own is analysed in the program that includes it:
    // its hover knows the guests' use of the host.
    let (host_path, host_text) = files[0].clone();
    let hu = lsp.open(&host_path, &host_text);
    assert!(lsp.diagnostics(&hu, 1).is_empty());
    let h = lsp.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": hu }, "position": position(&host_text, host_text.find("node 0").unwrap()) }),
    );
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("| 0 | 0-3,8-11 | 16GiB | 4GiB | 12GiB |"),
        "{h}"
    );
    lsp.shutdown();
}

#[test]
fn formatting_and_quick_fixes_edit_the_text() {
    let dir = scratch("edits");
    let text = "guest g {\n    vcpus 2\n  memory 4GB  lokced=true\n}\n";
    let path = dir.0.join("g.vnuma");
    std::fs::write(&path, text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, text);
    let codes: Vec<String> = lsp
        .diagnostics(&u, 1)
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, vec!["vnuma::E0205", "vnuma::E0202"]);
    let a = lsp.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": u }, "range": { "start": { "line": 2, "character": 0 }, "end": { "line": 2, "character": 30 } }, "context": { "diagnostics": [] } }),
    );
    let titles: Vec<&str> = a
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Replace with `4GiB`", "Replace with `locked`"]);
    let edit = &a[0]["edit"]["changes"][&u][0];
    assert_eq!(edit["newText"], "4GiB");
    assert_eq!(edit["range"]["start"], json!({ "line": 2, "character": 9 }));
    let f = lsp.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": u }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(f[0]["newText"], "guest g {\n  vcpus 2\n  memory 4GB lokced=true\n}\n");
    lsp.shutdown();
}

#[test]
fn positions_are_utf16_unless_utf8_is_agreed() {
    let dir = scratch("utf16");
    // "é" is 2 bytes and 1 UTF-16 unit, "𝄞" 4 bytes and 2 units, before the error.
    let bad = "guest g { vcpus 2; memory 2GiB }\ninclude \"é𝄞.inc\"; guest h { vcpus 2; memory 2GiB; memroy 1GiB }\n";
    let line = bad.lines().nth(1).unwrap();
    let byte = line.find("memroy").unwrap();
    let units = line[..byte].encode_utf16().count();
    assert_eq!((byte, units), (54, 51));
    let path = dir.0.join("u.vnuma");
    std::fs::write(&path, bad).unwrap();
    for (utf8, col) in [(false, units), (true, byte)] {
        let mut lsp = Lsp::start(&dir.0, utf8);
        let u = lsp.open(&path, bad);
        let d = lsp.diagnostics(&u, 1);
        let e = d
            .iter()
            .find(|d| d["code"] == "vnuma::E0201")
            .unwrap_or_else(|| panic!("{d:?}"));
        assert_eq!(
            e["range"]["start"],
            json!({ "line": 1, "character": col }),
            "utf8={utf8}"
        );
        // A hover at the same position lands on the same word.
        let h = lsp.request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": u }, "position": { "line": 1, "character": col + 1 } }),
        );
        assert!(
            h.is_null() || !h["contents"]["value"].as_str().unwrap_or("").contains("**memory**"),
            "{h}"
        );
        lsp.shutdown();
    }
}

#[test]
fn hundreds_of_rapid_edits_converge_on_the_right_diagnostics() {
    let dir = scratch("rapid");
    let path = dir.0.join("r.vnuma");
    let start = "guest g {\n  vcpus 4\n  memory 4GiB\n}\n";
    std::fs::write(&path, start).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, start);
    lsp.diagnostics(&u, 1);
    // Type a new guest character by character at the end (incremental changes), with a
    // typo on the way that is fixed later; then a stale change (old version) is dropped.
    let typed = "guest h {\n  vcpus 2\n  memroy 1GiB\n}\n";
    let mut text = start.to_string();
    let mut version = 1;
    let mut edits = 0;
    // Typed three times and deleted twice (backspace from the end), every change its own
    // version: the server sees each intermediate, broken text.
    for round in 0..3 {
        for ch in typed.chars() {
            version += 1;
            let at = position(&text, text.len());
            text.push(ch);
            lsp.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": u, "version": version }, "contentChanges": [{ "range": { "start": at, "end": at }, "text": ch.to_string() }] }),
            );
            edits += 1;
        }
        if round < 2 {
            for _ in 0..typed.chars().count() {
                version += 1;
                let last = text.char_indices().last().map(|(i, _)| i).unwrap();
                let (a, b) = (position(&text, last), position(&text, text.len()));
                text.truncate(last);
                lsp.notify(
                    "textDocument/didChange",
                    json!({ "textDocument": { "uri": u, "version": version }, "contentChanges": [{ "range": { "start": a, "end": b }, "text": "" }] }),
                );
                edits += 1;
            }
        }
    }
    assert!(edits > 150, "{edits}");
    // Fix `memroy` with a ranged replacement.
    let i = text.find("memroy").unwrap();
    let (a, b) = (position(&text, i), position(&text, i + 6));
    text.replace_range(i..i + 6, "memory");
    version += 1;
    lsp.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u, "version": version }, "contentChanges": [{ "range": { "start": a, "end": b }, "text": "memory" }] }),
    );
    // A stale version must change nothing.
    lsp.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u, "version": 3 }, "contentChanges": [{ "text": "garbage = = =" }] }),
    );
    let final_diags = lsp.diagnostics(&u, version);
    assert!(final_diags.is_empty(), "{final_diags:?}");
    // Versions were published in order, never an older one after a newer one.
    let versions: Vec<i64> = lsp
        .stash
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .filter_map(|m| m["params"]["version"].as_i64())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    // Formatting sees the converged text.
    let f = lsp.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": u }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(f, json!([]), "the typed text is already canonical: {text}");
    lsp.shutdown();
}

#[test]
fn a_watched_capabilities_file_change_is_seen() {
    let dir = scratch("watch");
    let caps = std::fs::read_to_string(repo().join("examples/hosts/peppi.caps.xml")).unwrap();
    std::fs::write(dir.0.join("h.caps.xml"), &caps).unwrap();
    let text = "host h from=\"h.caps.xml\"\nguest g on=h {\n  vcpus 2\n  memory 2GiB\n  pin vcpus=0-1 node=3\n}\n";
    let path = dir.0.join("w.vnuma");
    std::fs::write(&path, text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, text);
    assert!(lsp.diagnostics(&u, 1).iter().all(|d| d["severity"] != 1));
    // The host loses its nodes 2 and 3: node=3 is now an error.
    let start = caps
        .find("<cell id='2'")
        .or_else(|| caps.find("<cell id=\"2\""))
        .unwrap();
    let end = caps.rfind("</cell>").unwrap() + "</cell>".len();
    let mut smaller = caps.clone();
    smaller.replace_range(start..end, "");
    let smaller = smaller.replace("<cells num='4'>", "<cells num='2'>");
    std::fs::write(dir.0.join("h.caps.xml"), &smaller).unwrap();
    lsp.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri(&dir.0.join("h.caps.xml")), "type": 2 }] }),
    );
    let d = lsp.diagnostics(&u, 1);
    assert!(d.iter().any(|d| d["severity"] == 1), "{d:?}");
    lsp.shutdown();
}

#[test]
fn bad_positions_and_unknown_documents_answer_without_dying() {
    let dir = scratch("robust");
    let path = dir.0.join("x.vnuma");
    let text = "guest g {\n  vcpus 2\n}\n";
    std::fs::write(&path, text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, text);
    lsp.diagnostics(&u, 1);
    for pos in [
        json!({ "line": 999, "character": 999 }),
        json!({ "line": 1, "character": 99999 }),
        json!({ "line": 0, "character": 0 }),
    ] {
        for m in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            let r = lsp.request(m, json!({ "textDocument": { "uri": u }, "position": pos }));
            assert!(r.get("code").is_none(), "{m} {pos}: {r}");
        }
    }
    let r = lsp.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": "file:///no/such/file.vnuma" }, "position": { "line": 0, "character": 0 } }),
    );
    assert!(r.is_null(), "{r}");
    // Still alive.
    let h = lsp.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": u }, "position": { "line": 1, "character": 3 } }),
    );
    assert!(h["contents"]["value"].as_str().unwrap().contains("**vcpus**"));
    lsp.shutdown();
}

#[test]
fn a_file_with_hundreds_of_errors_publishes_the_first_200_and_a_count() {
    let dir = scratch("many");
    let path = dir.0.join("m.vnuma");
    let mut text = String::from("guest g {\n  vcpus 4\n  memory 4GiB\n");
    for i in 0..300 {
        text.push_str(&format!("  bogus{i} 1\n"));
    }
    text.push_str("}\n");
    std::fs::write(&path, &text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, &text);
    let diags = lsp.diagnostics(&u, 1);
    assert_eq!(diags.len(), 201, "{}", diags.len());
    assert!(
        diags[..200].iter().all(|d| d["code"] == "vnuma::E0201"),
        "{:?}",
        diags[0]
    );
    // The first 200 in file order: bogus0 to bogus199.
    assert_eq!(diags[199]["range"]["start"]["line"], 202);
    assert_eq!(diags[200]["code"], "vnuma::more");
    assert!(
        diags[200]["message"]
            .as_str()
            .unwrap()
            .starts_with("and 100 more diagnostics"),
        "{}",
        diags[200]
    );
    lsp.shutdown();
}
