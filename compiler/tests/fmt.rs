//! `vnumac fmt` over the example corpus and mutated copies of it: the output parses to
//! the same tree (spans aside), keeps every comment in order, is a fixed point, and is
//! independent of the input's layout. Every file in examples/ is already canonical.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use vnumac::fmt::format;
use vnumac::span::FileId;
use vnumac::syntax::{self, ast};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(workspace().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no files in {dir}");
    v
}

/// A statement without spans: keyword, arguments (text, quoted), properties, block.
#[derive(Debug, PartialEq, Eq)]
struct Node {
    keyword: String,
    args: Vec<(String, bool)>,
    props: Vec<(String, String, bool)>,
    block: Option<Vec<Node>>,
}

fn strip(statements: &[ast::Statement]) -> Vec<Node> {
    statements
        .iter()
        .map(|s| Node {
            keyword: s.keyword.text.clone(),
            args: s.args.iter().map(|a| (a.text.clone(), a.quoted)).collect(),
            props: s
                .props
                .iter()
                .map(|p| (p.key.text.clone(), p.value.text.clone(), p.value.quoted))
                .collect(),
            block: s.block.as_ref().map(|b| strip(&b.statements)),
        })
        .collect()
}

/// The tree of a text that parses without errors, spans removed.
fn tree(text: &str) -> Option<Vec<Node>> {
    let (file, diags) = syntax::parse(FileId(0), text);
    if diags.iter().any(|d| d.is_error()) {
        return None;
    }
    Some(strip(&file.statements))
}

/// Split a line into its code and its comment (`#` outside strings to the end).
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return (&line[..i], Some(&line[i..])),
            _ => {}
        }
    }
    (line, None)
}

/// Every comment of a text, in order, without trailing whitespace.
fn comments(text: &str) -> Vec<String> {
    text.split(['\n', '\r'])
        .filter_map(|l| split_comment(l).1)
        .map(|c| c.trim_end().to_string())
        .collect()
}

/// The layout rules that hold for any output, whatever the input.
fn assert_shape(out: &str) {
    if out.is_empty() {
        return;
    }
    assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{out:?}");
    assert!(!out.contains('\r'), "{out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(!lines[0].is_empty(), "leading blank line: {out:?}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line.trim_end(), *line, "trailing whitespace: {out:?}");
        let indent = line.len() - line.trim_start_matches(' ').len();
        assert!(
            indent.is_multiple_of(2) && !line[indent..].starts_with('\t'),
            "indentation: {out:?}"
        );
        if line.is_empty() {
            let prev = split_comment(lines[i - 1]).0.trim_end();
            let next = lines.get(i + 1).map(|l| l.trim_start()).unwrap_or("");
            assert!(!next.is_empty(), "two blank lines: {out:?}");
            assert!(!prev.ends_with('{'), "blank line opening a block: {out:?}");
            assert!(!next.starts_with('}'), "blank line closing a block: {out:?}");
        }
    }
}

/// Everything `format` promises about one input that parses.
fn check(input: &str) -> String {
    let out = format(input).unwrap_or_else(|d| panic!("{d:?} for {input:?}"));
    assert_eq!(tree(&out), tree(input), "meaning changed:\n{input}\n---\n{out}");
    assert_eq!(
        comments(&out),
        comments(input),
        "comments changed:\n{input}\n---\n{out}"
    );
    assert_eq!(format(&out).unwrap(), out, "not idempotent:\n{input}\n---\n{out}");
    assert_shape(&out);
    out
}

/// examples/ and golden/errors/ (with its included files), those that parse.
fn corpus() -> Vec<(PathBuf, String)> {
    let mut v = files("examples", &["vnuma"]);
    v.extend(files("golden/errors", &["vnuma", "inc"]));
    v.into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .filter(|(_, t)| tree(t).is_some())
        .collect()
}

#[test]
fn every_corpus_file_keeps_its_meaning_and_comments() {
    let corpus = corpus();
    assert!(corpus.len() > 80, "{}", corpus.len());
    for (path, text) in &corpus {
        eprintln!("{}", path.display());
        check(text);
    }
}

#[test]
fn every_example_is_already_formatted() {
    for path in files("examples", &["vnuma"]) {
        let text = fs::read_to_string(&path).unwrap();
        let out = format(&text).unwrap();
        assert!(
            out == text,
            "{} is not canonical; `vnumac fmt` gives:\n{out}",
            path.display()
        );
    }
}

#[test]
fn files_that_do_not_parse_are_errors() {
    let text = fs::read_to_string(workspace().join("golden/errors/E0101-spaces-around-equals.vnuma")).unwrap();
    assert_eq!(format(&text).unwrap_err().code, syntax::SYNTAX);
}

/// A whitespace run of one to three spaces or tabs, chosen by `n`.
fn ws(n: u8) -> &'static str {
    [" ", "  ", "\t", " \t", "   ", " "][usize::from(n) % 6]
}

/// Rewrite a canonical text line by line as `ops` say. Layout-only edits (indentation,
/// spacing, trailing whitespace, `;`, joining lines with `;`, blank lines where they
/// vanish, CRLF) leave the formatted text unchanged. With `general`, also add comments
/// and blank lines anywhere and swap neighbouring statements.
#[allow(clippy::too_many_lines)] // one match arm per mutation, read as a table
fn mutate(base: &str, ops: &[(u8, u8, u8)], general: bool, crlf: bool) -> String {
    let mut lines: Vec<&str> = base.lines().collect();
    let op = |i: usize| ops[i % ops.len()];
    let simple = |l: &str| {
        let (code, comment) = split_comment(l);
        comment.is_none() && !code.trim().is_empty() && !code.contains(['{', '}'])
    };
    if general {
        for i in 0..lines.len().saturating_sub(1) {
            if op(i).0 % 7 == 3 && simple(lines[i]) && simple(lines[i + 1]) {
                lines.swap(i, i + 1);
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    if op(0).2 % 4 == 1 {
        out.push(String::new());
    }
    // Whether the last line pushed can take `; next statement`.
    let mut joinable = false;
    for (i, line) in lines.iter().enumerate() {
        let (a, b, c) = op(i);
        let (code, comment) = split_comment(line);
        let code = code.trim();
        if code.is_empty() && comment.is_none() {
            out.push(if a.is_multiple_of(2) {
                String::new()
            } else {
                " \t".to_string()
            });
            if a.is_multiple_of(3) {
                out.push(String::new());
            }
            joinable = false;
            continue;
        }
        let mut s: String = (0..a % 4).map(|k| ws(a / 4 + k)).collect();
        let mut parts = Vec::new();
        let mut rest = code;
        // Split the code at spaces outside strings.
        while !rest.is_empty() {
            let (mut in_string, mut escaped, mut end) = (false, false, rest.len());
            for (k, ch) in rest.char_indices() {
                match ch {
                    _ if escaped => escaped = false,
                    '\\' if in_string => escaped = true,
                    '"' => in_string = !in_string,
                    ' ' if !in_string => {
                        end = k;
                        break;
                    }
                    _ => {}
                }
            }
            parts.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
        for (k, p) in parts.iter().enumerate() {
            if k > 0 {
                s.push_str(ws(b.wrapping_add(k as u8)));
            }
            s.push_str(p);
        }
        if !code.is_empty() && comment.is_none() && b.is_multiple_of(4) {
            s.push_str(if b.is_multiple_of(8) { ";" } else { " ;;" });
        }
        let mut commented = comment.is_some();
        if let Some(cm) = comment {
            if !code.is_empty() {
                s.push_str(ws(c));
            }
            s.push_str(cm);
        } else if general && c.is_multiple_of(5) && !code.is_empty() {
            s.push_str(ws(c));
            s.push_str(&format!("# note {i}"));
            commented = true;
        }
        if c.is_multiple_of(3) {
            s.push_str(ws(c / 3));
        }
        let full_comment = code.is_empty();
        if joinable && !full_comment && b % 5 == 1 {
            let last = out.last_mut().unwrap();
            last.push(';');
            last.push_str(ws(a));
            last.push_str(s.trim_start());
        } else {
            out.push(s);
        }
        joinable = !commented;
        if general && a % 6 == 5 {
            out.push(format!("{}# inserted {i}", ws(b)));
            joinable = false;
        }
        // Blank lines after `{`, before `}` and at the end vanish; in general, anywhere.
        let next_closes = lines.get(i + 1).is_none_or(|l| l.trim_start().starts_with('}'));
        if (general || code.ends_with('{') || next_closes) && c % 4 == 2 {
            out.push(String::new());
            out.push(ws(c).to_string());
            joinable = false;
        }
    }
    let newline = if crlf { "\r\n" } else { "\n" };
    let mut text = out.join(newline);
    if !ops[0].1.is_multiple_of(3) {
        text.push_str(newline);
    }
    text
}

fn formatted_corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| corpus().into_iter().map(|(_, t)| format(&t).unwrap()).collect())
}

const KEYWORDS: &[&str] = &["guest", "cell", "pin", "a-b_c", "x"];
const FIELDS: &[&str] = &[
    "0",
    "12",
    "cpus=0-3",
    "memory=8GiB",
    "k=\"a b\\\"#;{}\"",
    "\"é\"",
    "x=1",
    "x=22",
    "vcpus=1",
    "node=0",
    "é",
    "0-15,^3",
];
const SEPARATORS: &[&str] = &["\n", ";", " # c\n", "\r\n", "\t;\n", "\n\n"];

/// A random file that parses: statements (some opening blocks), `}`, comments and blank
/// lines, with random spacing and separators.
fn random_file(items: &[(u8, Vec<u8>)]) -> String {
    let pick = |list: &'static [&'static str], n: u8| list[usize::from(n) % list.len()];
    let (mut text, mut depth) = (String::new(), 0);
    for (kind, fields) in items {
        let space = pick(&[" ", "  ", "\t"], kind / 8);
        match kind % 8 {
            0..=4 => {
                text.push_str(pick(KEYWORDS, kind / 8));
                for f in fields {
                    text.push_str(space);
                    text.push_str(pick(FIELDS, *f));
                }
                if kind % 8 == 4 {
                    text.push_str(space);
                    text.push('{');
                    depth += 1;
                }
                text.push_str(pick(SEPARATORS, kind / 3));
            }
            5 if depth > 0 => {
                text.push_str(space);
                text.push_str("}\n");
                depth -= 1;
            }
            6 => text.push_str(&format!("{space}# note {kind}\n")),
            _ => text.push_str(space),
        }
    }
    text + &"}".repeat(depth)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn layout_does_not_change_the_formatted_text(
        file in any::<prop::sample::Index>(),
        ops in prop::collection::vec(any::<(u8, u8, u8)>(), 1..64),
        crlf in any::<bool>(),
    ) {
        let corpus = formatted_corpus();
        let base = &corpus[file.index(corpus.len())];
        let text = mutate(base, &ops, false, crlf);
        let out = check(&text);
        prop_assert_eq!(&out, base, "input:\n{}", text);
    }

    #[test]
    fn random_files_format_correctly(
        items in prop::collection::vec((any::<u8>(), prop::collection::vec(any::<u8>(), 0..5)), 0..40),
    ) {
        let text = random_file(&items);
        prop_assert!(tree(&text).is_some(), "the random file does not parse:\n{}", text);
        check(&text);
    }

    #[test]
    fn mutated_examples_keep_meaning_and_comments(
        file in any::<prop::sample::Index>(),
        ops in prop::collection::vec(any::<(u8, u8, u8)>(), 1..64),
        crlf in any::<bool>(),
    ) {
        let corpus = formatted_corpus();
        let text = mutate(&corpus[file.index(corpus.len())], &ops, true, crlf);
        prop_assert!(tree(&text).is_some(), "the mutation does not parse:\n{}", text);
        check(&text);
    }
}
