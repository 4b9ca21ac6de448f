//! No input makes the compiler panic: random token soup, arbitrary text and mutated
//! examples all end in outputs or diagnostics whose spans lie inside their files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::path::Path;
use vnumac::db::{self, Database, Loader};
use vnumac::host::HostProfile;

struct Mem(String);

impl Loader for Mem {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path.to_string_lossy().ends_with("peppi.caps.xml") {
            return std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts/peppi.caps.xml"),
            );
        }
        if path == Path::new("input.vnuma") {
            return Ok(self.0.clone());
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
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(idx in proptest::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: String = idx.iter().map(|i| TOKENS[*i]).collect::<Vec<_>>().join(" ");
        compile(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        compile(&text);
    }

    #[test]
    fn mutated_example_never_panics(cut in 0usize..2000, insert in 0..TOKENS.len()) {
        let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/talk-manual-cells.vnuma"))
            .unwrap()
            .replace("hosts/peppi.caps.xml", "peppi.caps.xml");
        let mut at = cut.min(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let text = format!("{}{}{}", &base[..at], TOKENS[insert], &base[at..]);
        compile(&text);
    }
}
