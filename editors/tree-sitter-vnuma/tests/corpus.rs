//! The corpus tests (`test/corpus/*.txt`), run as `tree-sitter test` runs them, so that
//! they are checked without the tree-sitter CLI: each case's input is parsed and its
//! tree, as an S-expression, compared with the expected one (field names compared only
//! when the expected tree has some); a case marked `:error` must have an error node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, grammar_dir, parse};

/// One case of a corpus file.
#[derive(Debug)]
struct Case {
    name: String,
    error: bool,
    input: String,
    expected: String,
}

fn is_rule(line: &str, c: char) -> bool {
    let line = line.trim_end_matches(['\r', '\n']);
    line.len() >= 3 && line.chars().all(|x| x == c)
}

/// The cases of a corpus file, read as the CLI reads them (without its suffixed
/// delimiters and markers other than `:error` and `:skip`, which no file here uses).
fn cases(text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        assert!(is_rule(lines[i], '='), "a header expected: {:?}", lines[i]);
        let (mut name, mut error, mut skip) = (String::new(), false, false);
        i += 1;
        while !is_rule(lines[i], '=') {
            match lines[i].trim() {
                ":error" => error = true,
                ":skip" => skip = true,
                m if m.starts_with(':') => panic!("marker {m} is not supported here"),
                n => name.push_str(n),
            }
            i += 1;
        }
        i += 1;
        let end = (i..lines.len())
            .find(|&j| is_rule(lines[j], '='))
            .unwrap_or(lines.len());
        let body = &lines[i..end];
        let divider = (0..body.len())
            .filter(|&j| is_rule(body[j], '-'))
            .max_by_key(|&j| body[j].trim_end().len())
            .unwrap_or_else(|| panic!("{name}: no divider"));
        let mut input = body[..divider].concat();
        input.pop();
        if input.ends_with('\r') {
            input.pop();
        }
        let expected = normalize(&body[divider + 1..].concat());
        if !skip {
            out.push(Case {
                name,
                error,
                input,
                expected,
            });
        }
        i = end;
    }
    out
}

/// The expected tree without `;` comment lines, its spaces collapsed.
fn normalize(sexp: &str) -> String {
    let text: Vec<&str> = sexp.lines().filter(|l| !l.trim_start().starts_with(';')).collect();
    text.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" )", ")")
}

/// `sexp` without its field names (` key: (` becomes ` (`).
fn strip_fields(sexp: &str) -> String {
    let mut out = String::new();
    for (n, piece) in sexp.split(": (").enumerate() {
        if n > 0 {
            // Drop the field name: the word after the last space.
            let cut = out.rfind(' ').map_or(0, |s| s + 1);
            out.truncate(cut);
            out.push('(');
        }
        out.push_str(piece);
    }
    out
}

fn has_fields(sexp: &str) -> bool {
    sexp.split(": (").count() > 1
}

#[test]
fn the_corpus_parses_as_it_says() {
    let mut failures = Vec::new();
    let mut count = 0;
    for path in files(&grammar_dir().join("test/corpus"), ".txt") {
        let text = std::fs::read_to_string(&path).unwrap();
        for case in cases(&text) {
            count += 1;
            let tree = parse(&case.input);
            let root = tree.root_node();
            if case.error {
                if !root.has_error() {
                    failures.push(format!("{}: no error in {}", case.name, root.to_sexp()));
                }
                continue;
            }
            let mut actual = root.to_sexp();
            if !has_fields(&case.expected) {
                actual = strip_fields(&actual);
            }
            if actual != case.expected {
                failures.push(format!(
                    "{}:\n  expected {}\n  actual   {actual}",
                    case.name, case.expected
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(count >= 19, "only {count} cases");
}

#[test]
fn the_corpus_reader_reads_cases_as_the_cli_does() {
    let text = "===\nfirst\n:error\n===\n\na b\n\n---\n\n===\nsecond\n===\na\r\n---\n---------\n; a note\n(source_file\n  (statement\n    keyword: (keyword)))\n";
    let c = cases(text);
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].name.as_str(), c[0].error, c[0].input.as_str()),
        ("first", true, "\na b\n")
    );
    assert_eq!(c[0].expected, "");
    // The longest line of dashes divides; the input loses one line end.
    assert_eq!((c[1].name.as_str(), c[1].input.as_str()), ("second", "a\r\n---"));
    assert_eq!(c[1].expected, "(source_file (statement keyword: (keyword)))");
    assert!(has_fields(&c[1].expected));
    assert_eq!(strip_fields(&c[1].expected), "(source_file (statement (keyword)))");
    assert_eq!(strip_fields("(a b: (c) d: (MISSING \"}\"))"), "(a (c) (MISSING \"}\"))");
}
