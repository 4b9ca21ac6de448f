//! The queries: they compile, the highlights capture what `test/highlight` says where it
//! says it (the assertions `tree-sitter test` checks, read here too so that they are
//! checked without the CLI), no node gets two names, Helix's highlights capture the same
//! nodes under Helix's names, and folds and indents capture every block.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, grammar_dir, parse, repo};
use std::collections::{BTreeMap, BTreeSet};
use tree_sitter::{Query, QueryCursor, StreamingIterator};
use tree_sitter_vnuma as vnuma;

/// A node's range: start row and column, end row and column.
type Range = (usize, usize, usize, usize);

/// Captures: a node's range and the capture's name.
type Captures = BTreeSet<(Range, String)>;

/// Byte ranges.
type Spans = BTreeSet<(usize, usize)>;

fn query(source: &str) -> Query {
    Query::new(&vnuma::LANGUAGE.into(), source).unwrap()
}

/// Every capture of `source` on `text` whose name does not start with `_`, predicates
/// applied: `((row, start column, end row, end column), name)`, sorted, each once.
fn captures(source: &str, text: &str) -> Captures {
    let query = query(source);
    let tree = parse(text);
    let mut cursor = QueryCursor::new();
    let mut out = BTreeSet::new();
    let mut it = cursor.captures(&query, tree.root_node(), text.as_bytes());
    while let Some((m, i)) = it.next() {
        let c = m.captures[*i];
        let name = query.capture_names()[c.index as usize];
        if name.starts_with('_') {
            continue;
        }
        let (s, e) = (c.node.start_position(), c.node.end_position());
        out.insert(((s.row, s.column, e.row, e.column), name.to_string()));
    }
    out
}

/// One assertion of a `test/highlight` file: on `row`, the columns `columns` are
/// captured as `name`.
#[derive(Debug)]
struct Assertion {
    row: usize,
    columns: std::ops::Range<usize>,
    name: String,
}

/// The assertions of a highlight test file, in the CLI's form: a comment line
/// `# <- NAME` speaks of the column of its `#`, and `#   ^^^ NAME` of the columns of
/// its carets, on the last line above that is not an assertion.
fn assertions(text: &str) -> Vec<Assertion> {
    let mut out = Vec::new();
    let mut code_row = None;
    for (row, line) in text.lines().enumerate() {
        let Some(hash) = line.find('#').filter(|&h| line[..h].trim().is_empty()) else {
            code_row = Some(row);
            continue;
        };
        let rest = line[hash + 1..].trim_start();
        let (columns, name) = if let Some(name) = rest.strip_prefix("<-") {
            (hash..hash + 1, name)
        } else if rest.starts_with('^') {
            let start = line.find('^').unwrap();
            let len = line[start..].chars().take_while(|&c| c == '^').count();
            (start..start + len, &line[start + len..])
        } else {
            code_row = Some(row);
            continue;
        };
        let name = name.trim();
        assert!(!name.starts_with('!'), "negative assertions are not read here: {line}");
        let row = code_row.unwrap_or_else(|| panic!("nothing above {line:?}"));
        out.push(Assertion {
            row,
            columns,
            name: name.to_string(),
        });
    }
    out
}

#[test]
fn the_highlights_capture_what_the_highlight_tests_say() {
    let mut count = 0;
    for path in files(&grammar_dir().join("test/highlight"), ".vnuma") {
        let text = std::fs::read_to_string(&path).unwrap();
        let caps = captures(vnuma::HIGHLIGHTS_QUERY, &text);
        for a in assertions(&text) {
            let covering: Vec<&String> = caps
                .iter()
                .filter(|((r, c, er, ec), _)| {
                    (*r, *c) <= (a.row, a.columns.start) && (*er, *ec) >= (a.row, a.columns.end)
                })
                .map(|(_, name)| name)
                .collect();
            assert!(
                covering.contains(&&a.name),
                "{}:{}:{}: expected {}, captured {covering:?}",
                path.display(),
                a.row + 1,
                a.columns.start + 1,
                a.name
            );
            count += 1;
        }
    }
    assert!(count >= 40, "only {count} assertions");
}

#[test]
fn the_assertion_reader_reads_carets_and_arrows() {
    let text = "a b=c\n# <- x\n#   ^^ y.z\n\n  # a note\n";
    let a = assertions(text);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!((a[0].row, a[0].columns.clone(), a[0].name.as_str()), (0, 0..1, "x"));
    assert_eq!((a[1].row, a[1].columns.clone(), a[1].name.as_str()), (0, 4..6, "y.z"));
}

/// A real example, located by its text so that edits elsewhere in it do not matter.
#[test]
fn an_example_is_highlighted() {
    let text = std::fs::read_to_string(repo().join("examples/vnuma-epyc.vnuma")).unwrap();
    let caps = captures(vnuma::HIGHLIGHTS_QUERY, &text);
    let at = |needle: &str, offset: usize, len: usize| -> Vec<String> {
        let (row, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} is not in the example"));
        let col = line.find(needle).unwrap() + offset;
        let want = (row, col, row, col + len);
        caps.iter()
            .filter(|(r, _)| *r == want)
            .map(|(_, n)| n.clone())
            .collect()
    };
    let host = "host epyc from=\"hosts/epyc-2s-nps4.caps.xml\"";
    assert_eq!(at(host, 0, 4), ["keyword"]);
    assert_eq!(at(host, 5, 4), ["type"]);
    assert_eq!(at(host, 10, 4), ["property"]);
    assert_eq!(at(host, 14, 1), ["operator"]);
    assert_eq!(at(host, 15, host.len() - 15), ["string"]);
    let memory = "memory 16GiB hugepages=1GiB";
    assert_eq!(at(memory, 0, 6), ["keyword"]);
    assert_eq!(at(memory, 7, 5), ["number"]);
    assert_eq!(at(memory, 13, 9), ["property"]);
    assert_eq!(at(memory, 23, 4), ["number"]);
    assert_eq!(at("vcpus 24", 6, 2), ["number"]);
    let vnuma = "vnuma mode=node cells=2 distribution=siblings";
    assert_eq!(at(vnuma, 11, 4), ["constant"]);
    assert_eq!(at(vnuma, 37, 8), ["constant"]);
    let comment = "# 1 GiB pages, checked against each node's free pages.";
    assert_eq!(at(comment, 0, comment.len()), ["comment"]);
}

/// Every file of the repository and the tests, with the captures of `source`.
fn everywhere(source: &str) -> Vec<(String, Captures)> {
    let mut paths = files(&repo().join("examples"), ".vnuma");
    paths.extend(files(&repo().join("golden"), ".vnuma"));
    paths.extend(files(&grammar_dir().join("test/highlight"), ".vnuma"));
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.display().to_string(), captures(source, &text))
        })
        .collect()
}

#[test]
fn no_node_gets_two_highlight_names() {
    for (path, caps) in everywhere(vnuma::HIGHLIGHTS_QUERY) {
        let mut names: BTreeMap<_, Vec<&String>> = BTreeMap::new();
        for (range, name) in &caps {
            names.entry(range).or_default().push(name);
        }
        for (range, n) in names {
            assert_eq!(n.len(), 1, "{path}: {range:?} is {n:?}");
        }
    }
}

/// The highlight names of Neovim (and the tree-sitter CLI) and the Helix scope each
/// stands for in queries/helix/highlights.scm.
const HELIX_NAMES: &[(&str, &str)] = &[
    ("boolean", "constant.builtin.boolean"),
    ("comment", "comment"),
    ("constant", "constant"),
    ("keyword", "keyword"),
    ("number", "constant.numeric.integer"),
    ("operator", "operator"),
    ("property", "variable.other.member"),
    ("punctuation.bracket", "punctuation.bracket"),
    ("punctuation.delimiter", "punctuation.delimiter"),
    ("string", "string"),
    ("string.escape", "constant.character.escape"),
    ("type", "type"),
];

#[test]
fn helix_highlights_capture_the_same_nodes_with_helix_names() {
    let names: BTreeMap<&str, &str> = HELIX_NAMES.iter().copied().collect();
    let standard = everywhere(vnuma::HIGHLIGHTS_QUERY);
    let helix = everywhere(vnuma::HELIX_HIGHLIGHTS_QUERY);
    let mut used = BTreeSet::new();
    for ((path, caps), (_, helix_caps)) in standard.iter().zip(&helix) {
        let mapped: BTreeSet<_> = caps
            .iter()
            .map(|(range, name)| {
                let helix = names.get(name.as_str()).unwrap_or_else(|| panic!("{name}"));
                used.insert(name.clone());
                (*range, (*helix).to_string())
            })
            .collect();
        assert_eq!(&mapped, helix_caps, "{path}");
    }
    // Every name of the table is used somewhere, so the comparison covers it.
    let all: BTreeSet<String> = names.keys().map(|n| n.to_string()).collect();
    assert_eq!(used, all);
}

/// The blocks and the `}` of a text, as ranges.
fn blocks_and_closes(text: &str) -> (Spans, Spans) {
    let tree = parse(text);
    let mut blocks = BTreeSet::new();
    let mut closes = BTreeSet::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "block" {
            blocks.insert((node.start_byte(), node.end_byte()));
        }
        if node.kind() == "}" {
            closes.insert((node.start_byte(), node.end_byte()));
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    (blocks, closes)
}

/// The byte ranges `source` captures as `name` in `text`.
fn captured(source: &str, name: &str, text: &str) -> Spans {
    let query = query(source);
    let tree = parse(text);
    let mut cursor = QueryCursor::new();
    let mut out = BTreeSet::new();
    let mut it = cursor.captures(&query, tree.root_node(), text.as_bytes());
    while let Some((m, i)) = it.next() {
        let c = m.captures[*i];
        if query.capture_names()[c.index as usize] == name {
            out.insert((c.node.start_byte(), c.node.end_byte()));
        }
    }
    out
}

#[test]
fn folds_and_indents_capture_every_block() {
    let text = std::fs::read_to_string(repo().join("examples/passthrough-far.vnuma")).unwrap();
    let (blocks, closes) = blocks_and_closes(&text);
    assert!(blocks.len() >= 3 && closes.len() == blocks.len(), "{blocks:?}");
    assert_eq!(captured(vnuma::FOLDS_QUERY, "fold", &text), blocks);
    assert_eq!(captured(vnuma::INDENTS_QUERY, "indent.begin", &text), blocks);
    assert_eq!(captured(vnuma::INDENTS_QUERY, "indent.branch", &text), closes);
    assert_eq!(captured(vnuma::HELIX_INDENTS_QUERY, "indent", &text), blocks);
    assert_eq!(captured(vnuma::HELIX_INDENTS_QUERY, "outdent", &text), closes);
}

#[test]
fn every_query_file_compiles_and_is_known_to_the_crate() {
    let mut seen = Vec::new();
    for path in files(&grammar_dir().join("queries"), ".scm") {
        let text = std::fs::read_to_string(&path).unwrap();
        query(&text);
        seen.push(text);
    }
    let exported = [
        vnuma::HIGHLIGHTS_QUERY,
        vnuma::FOLDS_QUERY,
        vnuma::INDENTS_QUERY,
        vnuma::HELIX_HIGHLIGHTS_QUERY,
        vnuma::HELIX_INDENTS_QUERY,
    ];
    assert_eq!(seen.len(), exported.len());
    for q in exported {
        assert!(seen.iter().any(|s| s == q));
    }
}
