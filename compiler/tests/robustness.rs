//! No input makes the compiler panic: random token soup, arbitrary text and mutated
//! examples all end in outputs or diagnostics whose spans lie inside their files.
//! Editor features answer at any offset of any text without panicking, inside the text.
//! The parser always recovers: it never falls back to an empty tree, every span in its
//! tree lies on character boundaries of the text, and unchanged examples parse clean.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::path::Path;
use vnumac::db::{self, Database, Loader, Workspace};
use vnumac::diagnostics::Diagnostic;
use vnumac::host::HostProfile;
use vnumac::ide;
use vnumac::span::{FileId, Span};
use vnumac::syntax::{self, ast};

struct Mem(String);

impl Loader for Mem {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path == Path::new("input.vnuma") {
            return Ok(self.0.clone());
        }
        // Host files the examples name (`hosts/…`) resolve in examples/; `peppi.caps.xml` too.
        let name = path.to_string_lossy();
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        if name.ends_with(".caps.xml") {
            let rel = if name.starts_with("hosts/") {
                name.to_string()
            } else {
                format!("hosts/{name}")
            };
            return std::fs::read_to_string(examples.join(rel));
        }
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("no probe".into())
    }
}

/// Compile and lower; every diagnostic must point inside its file.
fn compile(text: &str) {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("input.vnuma"), &Mem(text.to_string())).unwrap();
    let c = db::compile(&db, program);
    for d in &c.diagnostics {
        for l in &d.labels {
            let len = c.sources.text(l.span.file).len() as u32;
            assert!(l.span.start <= l.span.end && l.span.end <= len, "{d:?}");
        }
        let _ = vnumac::diagnostics::render(d, &c.sources, false, 80);
    }
    let _ = db::lower(&db, program);
}

const TOKENS: &[&str] = &[
    "guest",
    "host",
    "include",
    "g",
    "peppi",
    "on=peppi",
    "from=\"peppi.caps.xml\"",
    "{",
    "}",
    "\n",
    ";",
    " ",
    "memory",
    "8GiB",
    "32GB",
    "vcpus",
    "0",
    "4",
    "16",
    "99999999999999999999",
    "numa",
    "cell",
    "cpus=0-3",
    "cpus=4-7",
    "cpus=3-1",
    "memory=4GiB",
    "host-node=0",
    "host-node=9",
    "policy=preferred",
    "distance",
    "0 1 21",
    "1 0 10",
    "distances",
    "from=host",
    "pin",
    "vcpus=0-3",
    "node=0",
    "cpus=0-119",
    "emulator",
    "topology",
    "sockets=2",
    "cores=2",
    "threads=1",
    "dies=0",
    "\"str\\u{zz}\"",
    "\"",
    "#c",
    "=",
    "^",
    "0x",
    "1_0",
    "memory-policy",
    "mode=strict",
    "nodeset=0-3,^2",
    "hugepages=1GiB",
    "locked=true",
    "vnuma",
    "mode=host",
    "node 0 cpus=0-3 memory=1GiB",
    "smt split",
    "siblings 0,2",
    "reserve cpus=0",
    "é",
    "\t",
    "devices",
    "expander e node=0",
    "bus-nr=4294967297",
    "bus-nr=0",
    "root-port p",
    "on=e",
    "on=p",
    "nic n bridge=br0",
    "network=default",
    "node=0",
    "node=auto",
    "disk d path=\"/x\"",
    "bus=virtio",
    "hostdev 0000:3b:00.0",
    "serial pty",
    "console pty",
    "dimm size=2MiB node=0",
    "dimm size=1GiB node=9",
    "nvdimm path=\"/p\" size=4MiB node=0 label=128KiB",
    "max=16GiB",
    "slots=2",
    "slots=99999999999",
    "boot=3",
    "boot=0",
    "hotpluggable=true",
    "cells=3",
    "cells=99999",
    "distribution=siblings",
    "distribution=interleave",
    "pinning=node",
    "nodeset=0-1",
    "mode=node",
];

/// Parse with recovery; it must not fall back, and every span must be a range of `text`.
fn parse(text: &str) -> (ast::File, Vec<Diagnostic>) {
    let (file, diags, fell_back) = syntax::parse_reporting_fallback(FileId(0), text);
    assert!(!fell_back, "recovery failed on {text:?}: {diags:?}");
    let mut spans = Vec::new();
    collect_spans(&file.statements, &mut spans);
    spans.extend(&file.errors);
    spans.extend(diags.iter().flat_map(|d| d.labels.iter().map(|l| l.span)));
    for s in spans {
        let (start, end) = (s.start as usize, s.end as usize);
        assert!(
            start <= end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end),
            "span {s:?} is not a range of {text:?}"
        );
    }
    assert!(file.errors.is_sorted_by_key(|s| (s.start, s.end)), "{:?}", file.errors);
    let syntax_errors = diags.iter().any(|d| d.code == syntax::SYNTAX);
    assert_eq!(
        syntax_errors,
        !file.errors.is_empty(),
        "{text:?}: {diags:?} {:?}",
        file.errors
    );
    (file, diags)
}

fn collect_spans(statements: &[ast::Statement], out: &mut Vec<Span>) {
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

/// Characters that make or break structure, for mutations.
const MUTATIONS: &[&str] = &["{", "}", "=", "\"", "#", ";", "\n", "\r", "\\", " ", "é", "x", "0"];

#[test]
fn examples_parse_clean() {
    for ex in examples() {
        let text = std::fs::read_to_string(&ex).unwrap();
        let (file, diags) = parse(&text);
        assert!(
            diags.is_empty() && file.errors.is_empty(),
            "{}: {diags:?}",
            ex.display()
        );
        assert!(!file.statements.is_empty());
    }
}

// Deep or long nesting neither overflows the stack nor takes exponential time
// (text after each closing brace would make a backtracking grammar parse blocks twice).
#[test]
fn deep_nesting_is_fast_and_does_not_overflow() {
    let texts = [
        "{".repeat(3000),
        "a {\n".repeat(1500),
        "}".repeat(3000),
        "x {} ".repeat(2000),
        format!("{}{}", "a { ".repeat(60), "} y ".repeat(60)),
        format!("{}{}", "a { ".repeat(2000), "} y\n".repeat(2000)),
    ];
    for text in texts {
        let (_, diags) = parse(&text);
        assert!(!diags.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]

    #[test]
    fn parse_recovers_from_arbitrary_text(text in "\\PC{0,300}") {
        parse(&text);
    }

    #[test]
    fn parse_recovers_from_structural_soup(text in "[a-z0-9 {}=\"#;\\\\\t\r\n]{0,200}") {
        parse(&text);
    }

    // Delete characters from an example and insert structural ones; no edits at all
    // leaves a valid file, which must parse without errors.
    #[test]
    fn parse_recovers_from_mutated_examples(
        which in 0usize..64,
        edits in proptest::collection::vec((0usize..6000, proptest::option::of(0..MUTATIONS.len())), 0..6),
    ) {
        let examples = examples();
        let mut text = std::fs::read_to_string(&examples[which % examples.len()]).unwrap();
        let unchanged = edits.is_empty();
        for (at, insert) in edits {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match insert {
                Some(m) => text.insert_str(at, MUTATIONS[m]),
                None => {
                    if let Some(c) = text[at..].chars().next() {
                        text.replace_range(at..at + c.len_utf8(), "");
                    }
                }
            }
        }
        let (file, diags) = parse(&text);
        if unchanged {
            prop_assert!(diags.is_empty() && file.errors.is_empty(), "{diags:?}");
        }
    }

    #[test]
    fn token_soup_never_panics(idx in proptest::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: String = idx.iter().map(|i| TOKENS[*i]).collect::<Vec<_>>().join(" ");
        compile(&text);
    }

    #[test]
    fn guest_bodies_never_panic(
        heads in proptest::collection::vec(0..GUEST_LINES.len(), 0..6),
        devs in proptest::collection::vec((0..DEVICE_LINES.len(), 0..NUMBERS.len(), 0..NUMBERS.len()), 0..8),
        vnuma in proptest::bool::ANY,
    ) {
        let mut text = String::from("host peppi from=\"peppi.caps.xml\" { pci 0000:3b:00.0 node=1 }\nguest g on=peppi {\n  memory 8GiB max=64GiB slots=4\n  vcpus 4 boot=2\n");
        if vnuma {
            text.push_str("  vnuma mode=host\n");
        } else {
            text.push_str("  numa {\n    cell 0 cpus=0-1 memory=4GiB host-node=0\n    cell 1 cpus=2-3 memory=4GiB host-node=1\n  }\n");
        }
        for h in heads {
            text.push_str(&format!("  {}\n", GUEST_LINES[h]));
        }
        text.push_str("  devices {\n");
        for (d, a, b) in devs {
            let line = DEVICE_LINES[d].replace("{a}", NUMBERS[a]).replace("{b}", NUMBERS[b]);
            text.push_str(&format!("    {line}\n"));
        }
        text.push_str("  }\n}\n");
        compile(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        compile(&text);
    }

    #[test]
    fn mutated_example_never_panics(which in 0usize..64, cut in 0usize..2000, insert in 0..TOKENS.len()) {
        let examples = examples();
        let base = std::fs::read_to_string(&examples[which % examples.len()]).unwrap();
        let mut at = cut.min(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let text = format!("{}{}{}", &base[..at], TOKENS[insert], &base[at..]);
        compile(&text);
    }
}

fn examples() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vnuma"))
        .collect();
    v.sort();
    v
}

/// Numbers at the edges: zero, small, id limits, past u32 and u64-sized.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "31",
    "32",
    "254",
    "255",
    "256",
    "4096",
    "4294967295",
    "4294967297",
    "18446744073709551615",
];

const GUEST_LINES: &[&str] = &[
    "dimm size=2MiB node=0",
    "dimm size=64GiB node=1",
    "dimm size=3MiB node=0",
    "nvdimm path=\"/p\" size=4MiB node=1 label=128KiB align=2MiB pmem=true",
    "nvdimm path=\"/p\" size=4MiB node=7 label=8MiB",
    "emulator node=0",
    "emulator cpus=0-200",
    "pin vcpus=0-3 node=0",
    "topology sockets=2 cores=2 threads=1",
    "memory-policy mode=preferred nodeset=0-1",
];

const DEVICE_LINES: &[&str] = &[
    "expander e{a} node={b}",
    "expander e node=0 bus-nr={a}",
    "expander f node=1 bus-nr={b}",
    "root-port p{a} on=e",
    "root-port q on=e{b}",
    "root-port r",
    "nic n{a} bridge=br0 node={b}",
    "nic m bridge=br0 on=p{a}",
    "nic o network=default on=r",
    "disk d{a} path=\"/x\" bus=virtio node={b}",
    "disk s{a} path=\"/x\"",
    "hostdev 0000:3b:00.0 node=auto",
    "hostdev 0000:3b:00.0 node={a}",
    "serial pty",
    "console pty",
];

// == editor features

fn inside(span: Span, len: usize) {
    assert!(span.start <= span.end && span.end as usize <= len, "{span:?} in {len}");
}

/// Every feature at `offsets`; answers must lie inside the text.
fn exercise(text: &str, offsets: &[u32]) {
    let mut ws = Workspace::default();
    let program = ws.load(Path::new("input.vnuma"), &Mem(text.to_string())).unwrap();
    let file = ws.file(Path::new("input.vnuma")).unwrap();
    let db = &ws.db;
    let len = text.len();
    for d in ide::diagnostics(db, program, file) {
        d.labels
            .iter()
            .filter(|l| l.span.file == file.id(db))
            .for_each(|l| inside(l.span, len));
    }
    for s in ide::document_symbols(db, file) {
        inside(s.span, len);
        inside(s.name_span, len);
    }
    for t in ide::semantic_tokens(db, file) {
        inside(t.span, len);
    }
    for f in ide::folding_ranges(db, file) {
        assert!(f.start <= f.end && f.end as usize <= len);
    }
    for h in ide::inlay_hints(db, program, file) {
        assert!(h.offset as usize <= len);
    }
    let _ = ide::format(db, file);
    let _ = ide::explain(db, program, false);
    let _ = ide::workspace_symbols(db, &[program], "g");
    for &at in offsets {
        if let Some(h) = ide::hover(db, program, file, at) {
            inside(h.span, len);
        }
        for c in ide::completions(db, program, file, at) {
            assert!(c.replace_from as usize <= len);
        }
        if let Some(t) = ide::definition(db, program, file, at) {
            inside(t.span, t.file.text(db).len());
        }
        for t in ide::references(db, program, file, at) {
            inside(t.span, t.file.text(db).len());
        }
        let range = Span {
            file: file.id(db),
            start: at.saturating_sub(40),
            end: at,
        };
        for a in ide::code_actions(db, program, file, range) {
            for (s, _) in a.edits {
                inside(s, len);
            }
        }
        let _ = ide::lowered(db, program, file, at, true);
    }
}

fn example_texts() -> Vec<String> {
    examples().iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

#[test]
fn every_offset_of_every_example() {
    for text in example_texts() {
        let offsets: Vec<u32> = (0..=text.len() as u32 + 2).collect();
        exercise(&text, &offsets);
    }
}

/// Editor features at every offset, for what the ide functions get: no panic, answers inside the text.
const SNIPPETS: &[&str] = &[
    "{",
    "}",
    "=",
    "\"",
    "#",
    "\n",
    " on=",
    " node=",
    "é𝄞",
    "vnuma mode=",
    "pin vcpus=0 ",
    "guest x {",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mutated_examples_at_random_offsets(which in 0usize..64, at in 0usize..4000, snippet in 0..SNIPPETS.len(), offsets in proptest::collection::vec(0u32..5000, 1..24)) {
        let examples = example_texts();
        let base = &examples[which % examples.len()];
        let mut at = at.min(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let text = format!("{}{}{}", &base[..at], SNIPPETS[snippet], &base[at..]);
        exercise(&text, &offsets);
    }

    #[test]
    fn arbitrary_text_at_random_offsets(text in "\\PC{0,200}", offsets in proptest::collection::vec(0u32..300, 1..16)) {
        exercise(&text, &offsets);
    }
}
