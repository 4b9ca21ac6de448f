//! `vnuma-lsp` keeps answering while an expensive request runs, and a newer version of a
//! document cancels the work still running on the older one. Order of answers only: no
//! clock is read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Lsp, scratch};
use serde_json::json;
use std::fmt::Write;

/// A host of 64 nodes and `n` automatic guests: placing them all takes a while.
fn fleet(n: usize) -> String {
    let mut s = String::from("host big {\n  smt split\n");
    for node in 0..64u32 {
        let a = node * 64;
        let _ = writeln!(
            s,
            "  node {node} cpus={}-{},{}-{} memory=512GiB",
            a,
            a + 63,
            a + 4096,
            a + 4096 + 63
        );
    }
    s.push_str("}\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "guest g{i} on=big {{\n  memory 2GiB\n  vcpus 2\n  vnuma mode=node\n}}"
        );
    }
    s
}

const TINY: &str = "guest t {\n  vcpus 2\n  memory 1GiB\n}\n";

/// Opens a tiny document (and waits for it), then a large one, and asks for the large
/// program's placement map: the expensive request.
fn start_expensive(name: &str) -> (Lsp, common::Scratch, String, String, i64) {
    let dir = scratch(name);
    let tiny = dir.0.join("tiny.vnuma");
    let big = dir.0.join("big.vnuma");
    let text = fleet(2_000);
    std::fs::write(&tiny, TINY).unwrap();
    std::fs::write(&big, &text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let t = lsp.open(&tiny, TINY);
    lsp.diagnostics(&t, 1);
    let b = lsp.open(&big, &text);
    let explain = lsp.send_request("vnuma/explain", json!({ "textDocument": { "uri": b } }));
    (lsp, dir, t, b, explain)
}

#[test]
fn a_hover_is_answered_while_an_expensive_request_runs() {
    let (mut lsp, _dir, tiny, _, explain) = start_expensive("hover-while");
    let hover = lsp.send_request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": tiny }, "position": { "line": 1, "character": 3 } }),
    );
    let answers = lsp.answers(&[explain, hover]);
    let order: Vec<i64> = answers.iter().map(|(id, _)| *id).collect();
    assert_eq!(order, [hover, explain], "the hover waited for the placement map");
    assert!(
        answers[0].1["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("**vcpus**"),
        "{:?}",
        answers[0]
    );
    assert!(
        answers[1].1["text"]
            .as_str()
            .unwrap()
            .contains("guest g1999 on host big"),
        "the map is whole"
    );
    lsp.shutdown();
}

#[test]
fn a_newer_version_cancels_work_on_the_older_one() {
    let (mut lsp, _dir, _, big, explain) = start_expensive("cancel");
    // The first guest's vcpus typed over while the map of version 1 is being drawn.
    let at = json!({ "line": 69, "character": 8 });
    lsp.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": big, "version": 2 }, "contentChanges": [{ "range": { "start": at, "end": { "line": 69, "character": 9 } }, "text": "8" }] }),
    );
    let answers = lsp.answers(&[explain]);
    assert_eq!(
        answers[0].1["code"],
        -32801,
        "{}",
        answers[0].1.to_string().chars().take(300).collect::<String>()
    );
    // Version 2 is analysed and published, and the map is drawn for it when asked again.
    lsp.diagnostics(&big, 2);
    let again = lsp.request("vnuma/explain", json!({ "textDocument": { "uri": big } }));
    assert!(again["text"].as_str().unwrap().contains("guest g1999 on host big"));
    lsp.shutdown();
}

#[test]
fn a_newer_version_cancels_a_move_on_the_older_one() {
    let dir = scratch("cancel-move");
    let big = dir.0.join("big.vnuma");
    let text = format!("{}host other {{\n  node 0 cpus=0-63 memory=512GiB\n}}\n", fleet(2_000));
    std::fs::write(&big, &text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let b = lsp.open(&big, &text);
    let args = json!([b, "g0", "other"]);
    let moving = lsp.send_request(
        "workspace/executeCommand",
        json!({ "command": "vnuma.migrate", "arguments": args }),
    );
    // The first guest's vcpus typed over while the program of version 1 is checked.
    let at = json!({ "line": 69, "character": 8 });
    lsp.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": b, "version": 2 }, "contentChanges": [{ "range": { "start": at, "end": { "line": 69, "character": 9 } }, "text": "8" }] }),
    );
    let answers = lsp.answers(&[moving]);
    assert_eq!(answers[0].1["code"], -32801, "{}", answers[0].1);
    lsp.diagnostics(&b, 2);
    let again = lsp.request(
        "workspace/executeCommand",
        json!({ "command": "vnuma.migrate", "arguments": args }),
    );
    assert_eq!(again["moved"], true, "{again}");
    assert!(
        again["text"]
            .as_str()
            .unwrap()
            .contains("<vcpu placement='static'>8</vcpu>"),
        "{again}"
    );
    lsp.shutdown();
}
