//! The fuzz targets (`vnumac::fuzz`) on stable: every target runs over its seeds (built
//! from examples/, golden/ and the sysfs fixtures, or written here), over every saved crashing input in
//! fuzz/regressions/TARGET/, and over a few seconds of deterministic mutations of the
//! seeds. The coverage-guided runs are in fuzz/ (nightly, see docs/fuzzing.md).
//!
//! `cargo test -p vnumac --test fuzz_smoke -- --ignored write_corpus` writes the seeds to
//! fuzz/corpus/TARGET/, the starting corpus of those runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vnumac::fuzz;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Files under `dir` (recursively) whose names end in `suffix`, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return out };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p, suffix));
        } else if p.to_string_lossy().ends_with(suffix) {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The quoted paths a .vnuma text reads: `include "…"` and `from="…"`.
fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["from=\"", "include \""] {
        let mut rest = text;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_string());
            }
        }
    }
    out
}

/// A `check` bundle: the file, then every file it reads (one level of includes deeper),
/// under the relative paths it names them by.
fn bundle(path: &Path) -> Vec<u8> {
    let text = fs::read_to_string(path).unwrap();
    let dir = path.parent().unwrap();
    let mut out = text.clone().into_bytes();
    let mut seen = Vec::new();
    let mut queue = references(&text);
    while let Some(rel) = queue.pop() {
        if seen.contains(&rel) {
            continue;
        }
        seen.push(rel.clone());
        let Ok(body) = fs::read_to_string(dir.join(&rel)) else {
            continue;
        };
        if rel.ends_with(".vnuma") {
            queue.extend(references(&body));
        }
        out.push(0);
        out.extend(rel.as_bytes());
        out.push(0);
        out.extend(body.as_bytes());
    }
    out
}

/// A sysfs tree as the `sysfs` target's archive.
fn archive(root: &Path) -> Vec<u8> {
    fn walk(root: &Path, dir: &Path, out: &mut String) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if fs::read_dir(&p).unwrap().next().is_none() {
                    out.push_str(&format!(">{rel}/\n"));
                }
                walk(root, &p, out);
            } else {
                out.push_str(&format!(">{rel}\n"));
                let body = fs::read_to_string(&p).unwrap();
                out.push_str(&body);
                // A `>` line must start a line; sysfs files end in one anyway.
                if !body.is_empty() && !body.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    let mut out = String::new();
    walk(root, root, &mut out);
    out.into_bytes()
}

fn vnuma_sources() -> Vec<PathBuf> {
    let mut v = files(&repo().join("examples"), ".vnuma");
    v.extend(files(&repo().join("golden/errors"), ".vnuma"));
    v
}

/// The seeds of one target.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let read = |p: &PathBuf| fs::read(p).unwrap();
    match target {
        "parse" => vnuma_sources().iter().map(read).collect(),
        "check" => vnuma_sources().iter().map(|p| bundle(p)).collect(),
        "domcaps" => files(&repo().join("examples/hosts/domcaps"), ".xml")
            .iter()
            .chain(files(&repo().join("golden/errors"), ".domcaps.xml").iter())
            .map(read)
            .collect(),
        "caps" => files(&repo().join("examples/hosts"), ".caps.xml")
            .iter()
            .map(read)
            .collect(),
        "sysfs" => {
            let dir = repo().join("compiler/tests/fixtures/sysfs");
            let mut roots: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
            roots.sort();
            roots.iter().map(|r| archive(r)).collect()
        }
        "domain" => files(&repo().join("golden/examples"), ".xml")
            .iter()
            .map(read)
            .collect(),
        "lsp_edits" => {
            let mut out = Vec::new();
            for (i, p) in vnuma_sources().iter().enumerate() {
                let b = bundle(p);
                let n = i as u16;
                out.push(fuzz::encode_edits(&b, &[]));
                out.push(fuzz::encode_edits(
                    &b,
                    &[
                        (0, n.wrapping_mul(37), 3, ""),
                        (0, n.wrapping_mul(37), 0, "}"),
                        (0, n.wrapping_mul(37), 1, ""),
                        (1, n.wrapping_mul(101), 4, "7"),
                        (0, u16::MAX, 0, "\nguest z on=peppi { memory 1GiB\n vcpus 2 }\n"),
                    ],
                ));
            }
            out
        }
        "lsp_requests" => vnuma_sources()
            .iter()
            .enumerate()
            .map(|(i, p)| fuzz::encode_requests(&bundle(p), i % 2 == 1, &request_script(i as u8)))
            .collect(),
        "import_numbers" => {
            // Each carrier attribute with the renderings libvirt reads differently by rule.
            let texts = [
                "010",
                "0x10",
                "0X1f",
                "08",
                " 9",
                "9 ",
                "+9",
                "-0",
                "-1",
                "",
                "0x",
                "1e3",
                "255",
                "256",
                "11",
                "6553600000",
                "0x100000000",
                "4294967295",
                "4294967296",
                "18446744073709551616",
                "\t\n 7",
            ];
            let mut out = Vec::new();
            for carrier in 0u8..4 {
                for t in texts {
                    out.push([&[carrier][..], t.as_bytes()].concat());
                }
                // Rendered values: every style, small and large.
                for style in 0u8..12 {
                    for (high, value) in [(0u8, 10u64), (0, 255), (4, 0x1_0000_0000), (7, 0x65_5360_0000)] {
                        let mut input = vec![0x80 | carrier, style | high << 5];
                        input.extend(value.to_le_bytes());
                        out.push(input);
                    }
                }
            }
            out
        }
        _ => panic!("unknown target {target}"),
    }
}

/// A session's requests: open the root, ask everything, edit by ranges (two at once) and
/// ask again, open and edit the second file, replace the root's text, close and reopen.
fn request_script(n: u8) -> Vec<u8> {
    let mut s = Vec::new();
    // Hover, completion and definition at a line and column.
    let at = |s: &mut Vec<u8>, file: u8, line: u8, col: u8| {
        for q in [4, 5, 6] {
            s.extend([q, file, line, col]);
        }
    };
    s.extend([0, 0]);
    for (line, col) in [(0, 2), (1, 4), (2, 9), (n % 7, n % 13)] {
        at(&mut s, 0, line, col);
    }
    s.extend([7, 0, 8, 0, 9, 0]);
    // Two ranges in one change: a comment line above, then a character replaced.
    s.extend([2, 0, 1, 0, 0, 0, 0, 4]);
    s.extend(b"# c\n");
    s.extend([2, 2, 2, 5, 1, b'8']);
    at(&mut s, 0, 2, 3);
    s.extend([8, 0]);
    // The second file: opened, a brace typed at its start, asked.
    s.extend([0, 1, 2, 1, 0, 0, 0, 0, 0, 1, b'}']);
    at(&mut s, 1, 0, 5);
    s.extend([7, 1]);
    // The root replaced, closed and opened again.
    let z = b"guest z {\n  vcpus 2\n  memory 1GiB\n}\n";
    s.extend([1, 0, z.len() as u8]);
    s.extend(z);
    s.extend([7, 0, 8, 0, 3, 0, 0, 0]);
    at(&mut s, 0, 1, 3);
    s.extend([9, 0]);
    s
}

/// The saved crashing inputs of one target.
fn regressions(target: &str) -> Vec<PathBuf> {
    files(&repo().join("fuzz/regressions").join(target), "")
}

/// xorshift64*: a fixed sequence, so a failure here is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that make or break structure in the inputs' languages.
const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"=",
    b"\"",
    b"#",
    b";",
    b"\n",
    b"\\",
    b"<",
    b">",
    b"/>",
    b"</",
    b"&amp;",
    b"'",
    b"0",
    b"-1",
    b"4294967296",
    b"18446744073709551616",
    b"\xc3\xa9",
    b"\0",
    b">devices/",
    b"0-1048575",
];

/// One mutation of `seed`, with a splice partner `other`.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.truncate(at),
            2 => {
                let end = (at + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(at..at, piece.iter().copied());
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + rng.below(256)).min(other.len());
                v.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                let end = (at + rng.below(32)).min(v.len());
                let copy = v[at..end].to_vec();
                v.splice(at..at, copy);
            }
        }
    }
    v
}

/// Every seed and regression, then mutations for about `budget`.
fn smoke(target: &str, budget: Duration) {
    // An editor session checks the program after every edit: a sample of its seeds.
    let step = if target.starts_with("lsp_") { 8 } else { 1 };
    let seeds: Vec<Vec<u8>> = seeds(target).into_iter().step_by(step).collect();
    assert!(!seeds.is_empty(), "{target} has no seeds");
    let t0 = Instant::now();
    for s in &seeds {
        assert!(fuzz::run(target, s));
    }
    eprintln!("{target}: seeds in {:?}", t0.elapsed());
    for r in regressions(target) {
        let data = fs::read(&r).unwrap();
        eprintln!("{target}: {}", r.display());
        fuzz::run(target, &data);
    }
    let start = Instant::now();
    let mut rng = Rng(0x5eed_0000 + target.len() as u64);
    let mut n = 0;
    while start.elapsed() < budget || n < 5 {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed, other);
        fuzz::run(target, &input);
        n += 1;
    }
    eprintln!("{target}: {} seeds, {n} mutations", seeds.len());
}

const BUDGET: Duration = Duration::from_secs(2);

#[test]
fn every_target_has_a_smoke_test() {
    assert_eq!(
        fuzz::TARGETS,
        [
            "parse",
            "check",
            "caps",
            "sysfs",
            "domain",
            "lsp_edits",
            "lsp_requests",
            "import_numbers",
            "domcaps"
        ]
    );
    assert!(!fuzz::run("no-such-target", b""));
}

#[test]
fn parse() {
    smoke("parse", BUDGET);
}

#[test]
fn check() {
    smoke("check", BUDGET);
}

#[test]
fn caps() {
    smoke("caps", BUDGET);
}

#[test]
fn sysfs() {
    smoke("sysfs", BUDGET);
}

#[test]
fn domain() {
    smoke("domain", BUDGET);
}

#[test]
fn lsp_edits() {
    smoke("lsp_edits", BUDGET);
}

#[test]
fn lsp_requests() {
    smoke("lsp_requests", BUDGET);
}

#[test]
fn import_numbers() {
    smoke("import_numbers", BUDGET);
}

/// The sysfs archive reads back as the tree it was made from.
#[test]
fn sysfs_archive_round_trips() {
    let root = repo().join("compiler/tests/fixtures/sysfs/linux-test4");
    let entries = fuzz::sysfs_entries(&String::from_utf8(archive(&root)).unwrap());
    assert_eq!(entries.len(), files(&root, "").len());
    for (rel, body) in entries {
        assert_eq!(
            body.unwrap().trim_end(),
            fs::read_to_string(root.join(rel)).unwrap().trim_end()
        );
    }
}

/// Writes every target's seeds to fuzz/corpus/TARGET/ for cargo-fuzz.
#[test]
#[ignore]
fn write_corpus() {
    for target in fuzz::TARGETS {
        let dir = repo().join("fuzz/corpus").join(target);
        fs::create_dir_all(&dir).unwrap();
        for (i, s) in seeds(target).iter().enumerate() {
            fs::write(dir.join(format!("seed-{i:03}")), s).unwrap();
        }
    }
}

#[test]
fn domcaps() {
    smoke("domcaps", BUDGET);
}
