//! Hostile documents in `vnuma-lsp`, measured as an editor sees them: each scenario starts
//! the release server, drives it over its real stdio transport and reports the time of the
//! expensive step and the server's peak memory (`VmHWM` of the server process).
//!
//! - `fold-64k-comments`: `foldingRange` on 64,000 comment lines;
//! - `symbols-12k-guests`: `workspace/symbol` on a file of 12,000 guests;
//! - `edits-4k-ranged`: one `didChange` of 4,000 ranged edits on a 1 MB document, until its
//!   diagnostics are published;
//! - `cycle-open-close`: a file in a directory of a 1,000-file include cycle, opened and
//!   closed 60 times (the time is one open, until its diagnostics are published);
//! - `doc-64mb`: a document of one 64 MiB word opened (the time is until its diagnostics
//!   are published; the result is the size of their JSON);
//! - `word-16mib`: one word of 16 MiB less a byte, opened (the same);
//! - `lenses-12k-guests`: `codeLens` on a file of 12 hosts and 12,000 guests (the result
//!   is the size of the lenses' JSON).
//!
//! `VNUMA_LSP=path/to/vnuma-lsp` measures another build of the server.
//!
//! `cargo bench -p vnumac-lsp --bench hostile`; figures go in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lsp, scratch, uri};
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::Instant;

const SCENARIOS: &[&str] = &[
    "fold-64k-comments",
    "symbols-12k-guests",
    "edits-4k-ranged",
    "cycle-open-close",
    "doc-64mb",
    "word-16mib",
    "lenses-12k-guests",
];

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn guests(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let _ = writeln!(s, "guest g{i} {{\n  vcpus 1\n  memory 1GiB\n}}");
    }
    s
}

/// (input bytes, result, seconds) of one scenario, with the server it ran in.
fn scenario(name: &str, lsp: &mut Lsp) -> (usize, usize, f64) {
    let dir = lsp.dir.clone();
    let path = dir.join(format!("{name}.vnuma"));
    match name {
        "fold-64k-comments" => {
            let text = "# a comment line\n".repeat(64_000);
            let u = lsp.open(&path, &text);
            lsp.diagnostics(&u, 1);
            let t = Instant::now();
            let r = lsp.request("textDocument/foldingRange", json!({ "textDocument": { "uri": u } }));
            (text.len(), r.as_array().map_or(0, Vec::len), t.elapsed().as_secs_f64())
        }
        "symbols-12k-guests" => {
            let text = guests(12_000);
            let u = lsp.open(&path, &text);
            lsp.diagnostics(&u, 1);
            let t = Instant::now();
            let r = lsp.request("workspace/symbol", json!({ "query": "g" }));
            (text.len(), r.as_array().map_or(0, Vec::len), t.elapsed().as_secs_f64())
        }
        "edits-4k-ranged" => {
            let text = guests(40_000);
            let text = &text[..text[..1_000_000].rfind("guest").unwrap()];
            let u = lsp.open(&path, text);
            lsp.diagnostics(&u, 1);
            let lines = text.lines().count();
            let changes: Vec<Value> = (0..4_000)
                .map(|i| {
                    let p = json!({ "line": (i * 7919) % lines, "character": 2 });
                    json!({ "range": { "start": p, "end": p }, "text": "x" })
                })
                .collect();
            let t = Instant::now();
            lsp.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": u, "version": 2 }, "contentChanges": changes }),
            );
            let d = lsp.diagnostics(&u, 2);
            (text.len(), d.len(), t.elapsed().as_secs_f64())
        }
        "cycle-open-close" => {
            let n = 1_000;
            for i in 0..n {
                let body = format!(
                    "include \"c{}.vnuma\"\n{}",
                    (i + 1) % n,
                    guests(1).replace("g0", &format!("c{i}"))
                );
                std::fs::write(dir.join(format!("c{i}.vnuma")), body).unwrap();
            }
            let mut times = Vec::new();
            let mut result = 0;
            for round in 0..60 {
                let p = dir.join(format!("c{}.vnuma", round * 7 % n));
                let text = std::fs::read_to_string(&p).unwrap();
                let t = Instant::now();
                let u = lsp.open(&p, &text);
                result = lsp.diagnostics(&u, 1).len();
                times.push(t.elapsed().as_secs_f64());
                lsp.notify("textDocument/didClose", json!({ "textDocument": { "uri": u } }));
                lsp.stash.clear();
            }
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            (n, result, times[times.len() / 2])
        }
        "doc-64mb" => {
            let text = "a".repeat(64 << 20);
            let t = Instant::now();
            let u = lsp.open(&path, &text);
            let d = lsp.diagnostics(&u, 1);
            (text.len(), Value::Array(d).to_string().len(), t.elapsed().as_secs_f64())
        }
        "word-16mib" => {
            let text = "a".repeat((16 << 20) - 1);
            let t = Instant::now();
            let u = lsp.open(&path, &text);
            let d = lsp.diagnostics(&u, 1);
            (text.len(), Value::Array(d).to_string().len(), t.elapsed().as_secs_f64())
        }
        "lenses-12k-guests" => {
            let mut text = String::new();
            for i in 0..12 {
                let _ = writeln!(text, "host h{i} {{\n  node 0 cpus=0-63 memory=16384GiB\n}}");
            }
            text.push_str(&guests(12_000).replace(" {\n  vcpus", " on=h0 {\n  vcpus"));
            let u = lsp.open(&path, &text);
            lsp.diagnostics(&u, 1);
            let t = Instant::now();
            let r = lsp.request("textDocument/codeLens", json!({ "textDocument": { "uri": u } }));
            (text.len(), r.to_string().len(), t.elapsed().as_secs_f64())
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let only: Vec<&String> = args.iter().skip(1).filter(|a| !a.starts_with('-')).collect();
    println!(
        "{:<20} {:>12} {:>10} {:>10} {:>14}",
        "scenario", "input", "result", "time (s)", "peak RSS (MiB)"
    );
    for name in SCENARIOS {
        if !only.is_empty() && !only.iter().any(|o| o.as_str() == *name) {
            continue;
        }
        let dir = scratch(&format!("hostile-{name}"));
        let mut lsp = Lsp::start(&dir.0, false);
        let (input, result, secs) = scenario(name, &mut lsp);
        let rss = status_kib(lsp.pid(), "VmHWM:") as f64 / 1024.0;
        println!("{name:<20} {input:>12} {result:>10} {secs:>10.3} {rss:>14.1}");
        let _ = uri(&dir.0);
        lsp.shutdown();
    }
}
