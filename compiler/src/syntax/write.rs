//! Printing values and comments as `.vnuma` text, safely: whatever the value (from a
//! domain XML, a sysfs directory name, a capabilities file), it reads back as exactly
//! that one value and never ends its line, its string or its comment early.
//!
//! `import`, `host probe` and `host import` print through here.

use std::fmt::Write as _;

/// A value as a bare word when it is one (`[A-Za-z][A-Za-z0-9_-]*`, which always re-parses
/// as the same single token), else as a [`string`].
pub fn token(s: &str) -> String {
    if super::value::is_word(s) {
        s.to_string()
    } else {
        string(s)
    }
}

/// A `.vnuma` string literal: `\"`, `\\`, `\n`, `\t`, and `\u{..}` for every other control
/// character (line breaks included), so the literal stays on one line.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for a `# …` comment: control characters (line breaks included) are written as
/// `\n`, `\t` or `\u{..}`, so the comment ends only where the printer ends it.
pub fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Control characters, and the Unicode line and paragraph separators some editors break on.
fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;
    use proptest::prelude::*;

    /// Parses `prefix VALUE` plus a second statement and returns the first statement's
    /// single argument and the number of statements.
    fn read_back(printed: &str) -> (Vec<(String, bool)>, usize, usize) {
        let text = format!("x {printed}\ny 1\n");
        let (file, diags) = crate::syntax::parse(FileId(0), &text);
        let args = file
            .statements
            .first()
            .map(|s| s.args.iter().map(|a| (a.text.clone(), a.quoted)).collect())
            .unwrap_or_default();
        (args, file.statements.len(), diags.len())
    }

    #[test]
    fn words_stay_bare_and_the_rest_is_quoted() {
        assert_eq!(token("OL8-vnuma"), "OL8-vnuma");
        assert_eq!(token("pc-q35-7.2"), "\"pc-q35-7.2\"");
        assert_eq!(token(""), "\"\"");
        assert_eq!(string("a\"b\\c\nd\te\u{1}\r"), r#""a\"b\\c\nd\te\u{1}\u{d}""#);
        assert_eq!(comment("a\n}\nguest evil {"), "a\\n}\\nguest evil {");
    }

    #[test]
    fn a_newline_and_brace_stay_inside_the_string() {
        let (args, statements, errors) = read_back(&token("x\"\n}\nguest evil {\n"));
        assert_eq!(args, [("x\"\n}\nguest evil {\n".to_string(), true)]);
        assert_eq!((statements, errors), (2, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any string printed as a value reads back as exactly that string, and adds no statement.
        #[test]
        fn any_value_reads_back_as_itself(s in any::<String>()) {
            let (args, statements, errors) = read_back(&token(&s));
            prop_assert_eq!(errors, 0);
            prop_assert_eq!(statements, 2);
            prop_assert_eq!(args.len(), 1);
            prop_assert_eq!(&args[0].0, &s);
        }

        /// The same over strings made of the characters that matter to the grammar.
        #[test]
        fn grammar_characters_read_back(s in "[a-z0-9 \"\\\\\n\r\t{};#=,\u{0}\u{7f}\u{85}\u{2028}é]{0,24}") {
            let (args, statements, errors) = read_back(&token(&s));
            prop_assert_eq!(errors, 0);
            prop_assert_eq!(statements, 2);
            prop_assert_eq!(args.len(), 1);
            prop_assert_eq!(&args[0].0, &s);
        }

        /// A comment never ends its line early: `# TEXT` then a statement parses as that statement alone.
        #[test]
        fn comments_stay_on_their_line(s in any::<String>()) {
            let text = format!("# {}\ny 1\n", comment(&s));
            let (file, diags) = crate::syntax::parse(FileId(0), &text);
            prop_assert!(diags.is_empty());
            prop_assert_eq!(file.statements.len(), 1);
            prop_assert!(!comment(&s).contains(['\n', '\r']));
        }
    }
}
