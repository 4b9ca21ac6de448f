//! Editing a 1,000-guest file in `vnuma-lsp`, measured as an editor sees it: the time from
//! sending a change to receiving the diagnostics published for that version, over the real
//! stdio transport, with the server built in release mode.
//!
//! The file: 1,000 automatic guests (`vnuma mode=node`, 4 vCPUs each) on a 64-node,
//! 8,192-CPU host. The edit: one character typed into the last guest's `vcpus 4` (making it
//! `vcpus 94`, which takes the CPUs other guests' emulator threads need: errors on other
//! guests), then deleted again (everything fits). Then the edits that make a guest not fit:
//! the last guest's `memory 4GiB` made `memory 40004GiB` (more than the host's 32 TiB) and
//! back, half of the edits breaking it, once as ranged edits and once as full-text
//! replacements of the same change. Last, edits in the middle of the file: guest 500's
//! `vcpus 4` made `vcpus 2` and back, so that the 500 guests after it are placed again.
//! `cargo bench -p vnumac-lsp --bench edit`; figures go in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lsp, position, scratch};
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::Instant;

fn fleet() -> String {
    let mut s = String::from("host big {\n  smt split\n");
    for n in 0..64u32 {
        let a = n * 64;
        let _ = writeln!(
            s,
            "  node {n} cpus={}-{},{}-{} memory=512GiB",
            a,
            a + 63,
            a + 4096,
            a + 4096 + 63
        );
    }
    for a in 0..64u32 {
        for b in (a + 1)..64 {
            let d = if a / 32 == b / 32 { 16 } else { 32 };
            let _ = writeln!(s, "  distance {a} {b} {d}");
        }
    }
    s.push_str("}\n");
    for i in 0..1000 {
        let dist = if i % 2 == 0 { "" } else { " distribution=siblings" };
        let _ = writeln!(
            s,
            "guest g{i} on=big {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node{dist}\n}}"
        );
    }
    s
}

fn errors(d: &[Value]) -> usize {
    d.iter().filter(|d| d["severity"] == 1).count()
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// p50 and p99 of `times`, in ms.
fn percentiles(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (pct(0.5), pct(0.99))
}

/// `rounds` pairs of edits to the last guest's memory, the first of each making it not
/// fit; ranged or full-text. Returns (all, breaking, mending) times in ms.
fn memory_edits(lsp: &mut Lsp, u: &str, text: &str, version: &mut i64, ranged: bool) -> [Vec<f64>; 3] {
    let at = text.rfind("memory 4GiB").unwrap() + "memory 4".len();
    let p = position(text, at);
    let p4 = json!({ "line": p["line"], "character": p["character"].as_u64().unwrap() + 4 });
    let broken_text = format!("{}0004{}", &text[..at], &text[at..]);
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..200 {
        *version += 1;
        let broken = round % 2 == 0;
        let change = match (ranged, broken) {
            (true, true) => json!({ "range": { "start": p, "end": p }, "text": "0004" }),
            (true, false) => json!({ "range": { "start": p, "end": p4 }, "text": "" }),
            (false, true) => json!({ "text": broken_text }),
            (false, false) => json!({ "text": text }),
        };
        let t = Instant::now();
        lsp.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": u, "version": *version }, "contentChanges": [change] }),
        );
        let d = lsp.diagnostics(u, *version);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(errors(&d) > 0, broken, "round {round}");
        out[0].push(ms);
        out[if broken { 1 } else { 2 }].push(ms);
        lsp.stash.clear();
    }
    out
}

/// 100 pairs of edits to the middle guest (`g500`): its `vcpus 4` made `vcpus 2` and
/// back, ranged edits. Each changes what the guest takes of the host, so every guest after
/// it is placed again. Returns the times in ms.
fn middle_edits(lsp: &mut Lsp, u: &str, text: &str, version: &mut i64) -> Vec<f64> {
    let at = text.find("guest g500 ").unwrap();
    let at = at + text[at..].find("vcpus 4").unwrap() + "vcpus ".len();
    let p = position(text, at);
    let p1 = json!({ "line": p["line"], "character": p["character"].as_u64().unwrap() + 1 });
    let mut times = Vec::new();
    for round in 0..200 {
        *version += 1;
        let new = if round % 2 == 0 { "2" } else { "4" };
        let change = json!({ "range": { "start": p, "end": p1 }, "text": new });
        let t = Instant::now();
        lsp.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": u, "version": *version }, "contentChanges": [change] }),
        );
        let d = lsp.diagnostics(u, *version);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(errors(&d), 0, "round {round}");
        lsp.stash.clear();
    }
    times
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = scratch("bench");
    let text = fleet();
    let path = dir.0.join("fleet.vnuma");
    std::fs::write(&path, &text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);

    let t0 = Instant::now();
    let u = lsp.open(&path, &text);
    let first = lsp.diagnostics(&u, 1);
    let cold = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(errors(&first), 0, "{:?}", first.iter().find(|d| d["severity"] == 1));

    let at = text.rfind("vcpus 4").unwrap() + "vcpus ".len();
    let p = position(&text, at);
    let p9 = json!({ "line": p["line"], "character": p["character"].as_u64().unwrap() + 1 });
    let mut times = Vec::new();
    let mut version = 1;
    let rounds = 100;
    for round in 0..rounds * 2 {
        version += 1;
        let (range, new) = if round % 2 == 0 {
            (json!({ "start": p, "end": p }), "9")
        } else {
            (json!({ "start": p, "end": p9 }), "")
        };
        let t = Instant::now();
        lsp.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": u, "version": version }, "contentChanges": [{ "range": range, "text": new }] }),
        );
        let d = lsp.diagnostics(&u, version);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let broken = round % 2 == 0;
        assert_eq!(errors(&d) > 0, broken, "round {round}");
        lsp.stash.clear();
    }
    let (p50, p99) = percentiles(&mut times);
    let mut memory = Vec::new();
    for ranged in [true, false] {
        memory.push((ranged, memory_edits(&mut lsp, &u, &text, &mut version, ranged)));
    }
    let mut middle = middle_edits(&mut lsp, &u, &text, &mut version);
    println!("1,000-guest file on the 64-node, 8,192-CPU host, {} edits", times.len());
    println!("open → diagnostics (cold):          {cold:8.1} ms");
    println!("edit → diagnostics, p50:            {p50:8.2} ms");
    println!("edit → diagnostics, p99:            {p99:8.2} ms");
    println!("cold / p50:                         {:8.1}×", cold / p50);
    for (ranged, mut m) in memory {
        let how = if ranged { "ranged" } else { "full-text" };
        for (what, times) in ["all", "breaking", "mending"].iter().zip(m.iter_mut()) {
            let (p50, p99) = percentiles(times);
            println!("memory edits, {how:<9} {what:<8}: p50 {p50:7.2} ms, p99 {p99:7.2} ms");
        }
    }
    let (p50, p99) = percentiles(&mut middle);
    println!("middle guest (g500) edits: p50 {p50:7.2} ms, p99 {p99:7.2} ms");
    let hwm = status_kib(lsp.pid(), "VmHWM:") as f64 / 1024.0;
    let rss = status_kib(lsp.pid(), "VmRSS:") as f64 / 1024.0;
    println!("server memory, peak / now:          {hwm:8.1} / {rss:.1} MiB");
    lsp.shutdown();
}
