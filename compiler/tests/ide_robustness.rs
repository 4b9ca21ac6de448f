//! No text and no position makes an editor feature panic: every `ide` function at every
//! kind of offset (inside and past the text, inside multi-byte characters) of mutated
//! examples and arbitrary text, and every answer's spans lie inside the text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::path::Path;
use vnumac::db::{Loader, Workspace};
use vnumac::host::HostProfile;
use vnumac::ide;
use vnumac::span::Span;

struct Mem(String);

impl Loader for Mem {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path == Path::new("input.vnuma") {
            return Ok(self.0.clone());
        }
        let name = path.to_string_lossy().to_string();
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        if name.ends_with(".caps.xml") {
            let rel = if name.starts_with("hosts/") {
                name
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

fn examples() -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vnuma"))
        .collect();
    v.sort();
    v.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

#[test]
fn every_offset_of_every_example() {
    for text in examples() {
        let offsets: Vec<u32> = (0..=text.len() as u32 + 2).collect();
        exercise(&text, &offsets);
    }
}

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
        let examples = examples();
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
