//! The grammar reads the language as vnumac does: every example and golden file parses
//! with no ERROR or MISSING node, every file vnumac rejects with a syntax error (E0101)
//! has one, and on any text the two parsers agree on whether it has a syntax error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{errors, files, parse, repo};
use proptest::prelude::*;
use vnumac::span::FileId;

/// Whether vnumac's parser reports a syntax error (E0101) in `text`.
fn pest_rejects(text: &str) -> bool {
    let (_, diags) = vnumac::syntax::parse(FileId(0), text);
    diags.iter().any(|d| d.code == vnumac::syntax::SYNTAX)
}

#[test]
fn every_example_and_golden_file_parses_without_errors() {
    let mut seen = 0;
    for dir in ["examples", "golden"] {
        for path in files(&repo().join(dir), ".vnuma") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // E0101 is a syntax error; E0102, a bad escape, is in a string that both
            // parsers read as a string, and is checked here.
            if path.parent().unwrap().ends_with("golden/errors") && name.starts_with("E0101-") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!pest_rejects(&text), "vnumac rejects {}", path.display());
            let tree = parse(&text);
            assert_eq!(errors(&tree), Vec::<String>::new(), "{}", path.display());
            assert!(!tree.root_node().has_error(), "{}", path.display());
            seen += 1;
        }
    }
    // examples/ has 31 files and golden/ 130 more: a moved directory must not pass.
    assert!(seen > 150, "only {seen} files");
}

#[test]
fn every_golden_syntax_error_has_an_error_node() {
    let mut seen = 0;
    for path in files(&repo().join("golden/errors"), ".vnuma") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("E0101-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(pest_rejects(&text), "{}", path.display());
        assert!(parse(&text).root_node().has_error(), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 2, "only {seen} files");
}

/// Texts on each side of the line, each read the same way by both parsers.
const ACCEPTED: &[&str] = &[
    "",
    "\n\n;;\n",
    "guest g\n",
    "guest g",
    "a b;c d;\n",
    "a { b; c { d } }",
    "a {}\n",
    "a {\n}\n",
    "a{b}",
    "a\r\nb\r\n",
    "a\rb {\r c\r}\r",
    "a b=c \"d\" e=\"f\\\"g\" # h\n",
    "a b=\"\"",
    "a\"b\"c=d\"e\"",
    "a.b",
    "a \\q",
    "a \"\\q \\u{41} # ; { }\"",
    "a b=c#d\n",
    "a b-c_d=0x1f e=1_000 f=4GiB g=0-3,^2 h=52:54:00:12:34:56 i=0000:3b:00.0",
    "# only a comment",
    "a # { unclosed in a comment\n",
    "a \u{c}b\n",
    "a b=é c=ü€",
];

const REJECTED: &[&str] = &[
    "4 b\n",
    ".a\n",
    "\"a\" b\n",
    "a = b\n",
    "a =b\n",
    "a b =c\n",
    "a b= c\n",
    "a b=\n",
    "a b=",
    "a b=#c\n",
    "a b=c=d\n",
    "a 4=b\n",
    "a.b=c\n",
    "a b=;\n",
    "a \"b\n",
    "a \"b\rc\"\n",
    "a \"b\\\n\"\n",
    "a b=\"c\n",
    "a {} b\n",
    "a {} {}\n",
    "a { b\n",
    "a { b }\n}\n",
    "}\n",
    "{ a }\n",
    "a\n{ b }\n",
    "a { 4 }\n",
    "a=b\n",
];

#[test]
fn both_parsers_accept_and_reject_the_same_texts() {
    for text in ACCEPTED {
        assert!(!pest_rejects(text), "vnumac rejects {text:?}");
        let tree = parse(text);
        assert_eq!(errors(&tree), Vec::<String>::new(), "{text:?}");
    }
    for text in REJECTED {
        assert!(pest_rejects(text), "vnumac accepts {text:?}");
        assert!(parse(text).root_node().has_error(), "tree-sitter accepts {text:?}");
    }
}

/// One of `options`, as a String.
fn one_of(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(options).prop_map(str::to_string)
}

/// A value, mostly well formed.
fn value() -> impl Strategy<Value = String> {
    one_of(&[
        "a",
        "b-c",
        "4",
        "0x1f",
        "2GiB",
        "0-3,^2",
        "x.y",
        "é",
        "52:54:00:12:34:56",
        "\"s\"",
        "\"\\\"# ;{}\"",
        "\"",
        "\"s",
        "\\",
        "",
    ])
}

/// An argument or a property, mostly well formed: `=` with spaces around it, twice,
/// or with nothing on a side now and then.
fn item() -> impl Strategy<Value = String> {
    let eq = prop_oneof![8 => Just("="), 1 => Just(" ="), 1 => Just("= "), 1 => Just("==")];
    let key = one_of(&["a", "b-c", "d4", "4", "x.y", "\"s\"", ""]);
    prop_oneof![value(), (key, eq, value()).prop_map(|(k, e, v)| format!("{k}{e}{v}")),]
}

/// What stands between two items: a space mostly, nothing or a comment now and then.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![6 => Just(" "), 1 => Just("\t"), 1 => Just(""), 1 => Just(" # c\n")].prop_map(str::to_string)
}

/// What ends a statement: a line end of any kind or `;` mostly.
fn separator() -> impl Strategy<Value = String> {
    one_of(&["\n", "\n", "\r\n", "\r", ";", "\n\n", " # c {\n", " ", ""])
}

/// A statement: a keyword (or not), items, and a block now and then.
fn statement(block: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    let keyword = prop_oneof![
        8 => Just("a"), 2 => Just("b-c"), 1 => Just("4"), 1 => Just("\"s\""), 1 => Just("}"),
        1 => Just(""),
    ];
    let items = proptest::collection::vec((gap(), item()), 0..4)
        .prop_map(|items| items.into_iter().map(|(g, i)| g + &i).collect::<String>());
    let block = proptest::option::weighted(0.3, (gap(), block).prop_map(|(g, b)| g + &b));
    (keyword, items, block).prop_map(|(k, i, b)| format!("{k}{i}{}", b.unwrap_or_default()))
}

/// Statements joined by separators, with blocks up to 3 deep.
fn statements() -> impl Strategy<Value = String> {
    let leaf = Just(String::new()).boxed();
    leaf.prop_recursive(3, 16, 4, |inner| {
        let block = (separator(), inner, separator())
            .prop_map(|(a, s, b)| format!("{{{a}{s}{b}}}"))
            .boxed();
        proptest::collection::vec((statement(block), separator()), 0..4)
            .prop_map(|v| v.into_iter().map(|(s, sep)| s + &sep).collect::<String>())
            .boxed()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

    /// Texts made like files, with mistakes now and then: tree-sitter has an error node
    /// exactly when vnumac reports a syntax error.
    #[test]
    fn both_parsers_agree_on_any_file(text in statements()) {
        let tree = parse(&text);
        proptest::prop_assert_eq!(
            tree.root_node().has_error(),
            pest_rejects(&text),
            "{:?}: {}",
            text,
            tree.root_node().to_sexp()
        );
    }

    /// The same for short texts of single characters.
    #[test]
    fn both_parsers_agree_on_any_text(text in "[ab4x_.=\" \\\\\n\r\t{};#^,-]{0,24}") {
        let tree = parse(&text);
        proptest::prop_assert_eq!(
            tree.root_node().has_error(),
            pest_rejects(&text),
            "{:?}: {}",
            text,
            tree.root_node().to_sexp()
        );
    }
}

/// Where the two differ: not in the grammar but in what vnumac reads at all. A leading
/// byte-order mark is skipped by tree-sitter's runtime, and vnumac's limits (blocks 64
/// deep, 256 arguments and properties in a statement, words of 64 KiB) are its own.
#[test]
fn the_parsers_differ_only_at_a_byte_order_mark_and_vnumacs_limits() {
    let deep = format!("{}{}\n", "a {".repeat(65), "}".repeat(65));
    let wide = format!("a{}\n", " b".repeat(257));
    let long = format!("a {}\n", "b".repeat(64 << 10 | 1));
    for text in ["\u{feff}a\n", &deep, &wide, &long] {
        let short: String = text.chars().take(40).collect();
        assert!(pest_rejects(text), "vnumac accepts {short:?}");
        assert!(!parse(text).root_node().has_error(), "tree-sitter rejects {short:?}");
    }
    let deep_enough = format!("{}{}\n", "a {".repeat(64), "}".repeat(64));
    let wide_enough = format!("a{}\n", " b".repeat(256));
    for text in [&deep_enough, &wide_enough] {
        assert!(!pest_rejects(text));
        assert!(!parse(text).root_node().has_error());
    }
}

/// The parser is generated for ABI 14 (`tree-sitter generate --abi 14`): Neovim before
/// 0.11 (Debian 12's 0.7.2 among them) and older Helix releases load no newer one.
#[test]
fn the_parser_is_abi_14() {
    let language: tree_sitter::Language = tree_sitter_vnuma::LANGUAGE.into();
    assert_eq!(language.abi_version(), 14);
}
