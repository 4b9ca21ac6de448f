//! What a file is read for: at most [`MAX_WORDS`] words, none longer than
//! [`MAX_WORD_BYTES`]. Past either, reading stops at the start of a line, with one error.

use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};

use super::lexer::{self, Kind};
use crate::codes::SYNTAX;

/// The most words (keywords, values, `key=value` pairs, strings and braces) a file is read
/// for. Past them vnumac reads no further: the syntax tree, the parser's own token queue and
/// the diagnostics all grow with the words of a file, so this bounds what any input can cost.
/// The 1,000-guest fleet of the placement benchmark has about 20,000.
pub const MAX_WORDS: usize = 250_000;

/// The longest word, string or comment a file is read for: 64 KiB, sixteen times the
/// longest path, and room for a list of ten thousand single CPUs. A longer one is not
/// parsed (the parser spends about 100 ns on each of its bytes, and some errors would
/// quote it), and reading stops at the start of its line.
pub const MAX_WORD_BYTES: usize = 64 << 10;

/// Where a file stops being read, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cut {
    /// The start of the line where reading stops.
    pub at: usize,
    /// Where the word longer than [`MAX_WORD_BYTES`] starts; None when the file has more
    /// than [`MAX_WORDS`] words.
    pub long_word: Option<usize>,
}

/// Where a file stops being read: the start of the line holding its word number
/// [`MAX_WORDS`]` + 1`, or holding a word, string or comment longer than [`MAX_WORD_BYTES`];
/// None when there is neither. One pass over the lexer's tokens: a word is a run of words,
/// strings and `=` with nothing between them (`key="value"` is one), and each brace is one.
pub fn read_cut(text: &str) -> Option<Cut> {
    // Every word counted takes a byte of its own, and every word, string or comment lies
    // within one line: a text of at most MAX_WORDS bytes whose lines are all at most
    // MAX_WORD_BYTES long is read whole, known without lexing it (an editor cuts its
    // document on every edit, and the parser each top-level piece).
    if text.len() <= MAX_WORDS
        && text
            .as_bytes()
            .split(|&b| b == b'\n' || b == b'\r')
            .all(|line| line.len() <= MAX_WORD_BYTES)
    {
        return None;
    }
    let (mut words, mut in_word, mut line_start, mut word_start) = (0usize, false, 0usize, 0usize);
    let long = |start: usize, end: usize, line_start: usize| {
        (end - start > MAX_WORD_BYTES).then_some(Cut {
            at: line_start,
            long_word: Some(start),
        })
    };
    let too_many = |words: usize, line_start: usize| {
        (words > MAX_WORDS).then_some(Cut {
            at: line_start,
            long_word: None,
        })
    };
    for t in lexer::tokens(text) {
        match t.kind {
            Kind::Space | Kind::Semicolon => in_word = false,
            Kind::Newline => {
                in_word = false;
                line_start = t.end;
            }
            Kind::Comment => {
                in_word = false;
                if let Some(cut) = long(t.start, t.end, line_start) {
                    return Some(cut);
                }
            }
            Kind::Open | Kind::Close => {
                in_word = false;
                words += 1;
            }
            Kind::Word | Kind::String { .. } | Kind::Equals => {
                if !in_word {
                    words += 1;
                    in_word = true;
                    word_start = t.start;
                    if let Some(cut) = too_many(words, line_start) {
                        return Some(cut);
                    }
                }
                if let Some(cut) = long(word_start, t.end, line_start) {
                    return Some(cut);
                }
            }
        }
        if let Some(cut) = too_many(words, line_start) {
            return Some(cut);
        }
    }
    None
}

/// The error for a file cut by [`read_cut`]: it points at the file's start, so that it
/// comes first among the file's diagnostics, and at where reading stopped (the long word's
/// first byte, or the line's).
pub fn cut_error(file: FileId, text: &str, cut: Cut) -> Diagnostic {
    let at = cut.at.min(text.len());
    // The file's first character, or nothing when its first line is empty.
    let first_end = usize::from(!text.is_empty() && !text.starts_with(['\n', '\r']));
    let from = cut.long_word.unwrap_or(at).min(text.len());
    let mut end = (from + 1).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let (message, help) = match cut.long_word {
        None => (
            format!("syntax error: this file has more than {MAX_WORDS} words"),
            "split the file with `include`, or check that it is what you meant to read",
        ),
        Some(_) => (
            format!(
                "syntax error: a word, string or comment longer than {} KiB",
                MAX_WORD_BYTES >> 10
            ),
            "check that the file is what you meant to read",
        ),
    };
    let label = match cut.long_word {
        None => "vnumac read no further than here",
        Some(_) => "vnumac read no further than the line of this",
    };
    Diagnostic::error(
        SYNTAX,
        message,
        Span::new(file, 0, first_end),
        "this file is read only in part",
    )
    .with_label(Span::new(file, from, end), label)
    .with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn the_word_budget_counts_words_braces_and_strings_not_comments() {
        // 1,000 words per line: `x`, 997 × `a`, `y="a b; c"` and `}`; a comment and `;` count
        // nothing.
        let line = format!("x {}; y=\"a b; c\" }} # not {{ words\n", "a ".repeat(997));
        let text = line.repeat(MAX_WORDS / 1000);
        assert_eq!(read_cut(&text), None);
        let more = format!("{text}{line}");
        // Word MAX_WORDS + 1 is on the next line, which is where reading stops.
        assert_eq!(read_cut(&more).map(|c| c.at), Some(text.len()));
        let (f, diags) = parse(FileId(0), &more);
        let d = diags.iter().find(|d| d.message.contains("more than 250000 words"));
        let labels = d.map(|d| (d.labels[0].span.start, d.labels[1].span.start));
        assert_eq!(labels, Some((0, text.len() as u32)), "{diags:?}");
        // Nothing past the cut is in the tree.
        assert!(f.statements.iter().all(|s| (s.span.end as usize) <= text.len()));
    }

    #[test]
    fn a_word_string_or_comment_over_the_limit_stops_reading_at_its_line() {
        let head = "guest g {\n  vcpus 1\n}\n";
        let long = "x".repeat(MAX_WORD_BYTES + 1);
        for (line, start) in [
            (format!("{long}\n"), 0),
            (format!("host h from=\"{long}\"\n"), 7),
            (format!("  # {long}\n"), 2),
            (format!("{}\n", "\0".repeat(MAX_WORD_BYTES + 1)), 0),
            (format!("guest \"{long}"), 6),
        ] {
            let text = format!("{head}{line}guest h {{}}\n");
            let cut = read_cut(&text);
            assert_eq!(
                cut,
                Some(Cut {
                    at: head.len(),
                    long_word: Some(head.len() + start)
                }),
                "{}",
                &line[..20]
            );
            let (f, diags) = parse(FileId(0), &text);
            assert_eq!(f.statements.len(), 1, "only what comes before is read");
            assert_eq!(diags.len(), 1, "{diags:?}");
            assert_eq!(
                diags[0].message,
                "syntax error: a word, string or comment longer than 64 KiB"
            );
            assert_eq!(diags[0].labels[1].span.start as usize, head.len() + start);
            assert_eq!(diags[0].labels[1].span.end as usize, head.len() + start + 1);
        }
        // A word of exactly the limit is read.
        let text = format!("{head}{}\n", "x".repeat(MAX_WORD_BYTES));
        assert_eq!(read_cut(&text), None);
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        // Reading stops at the start of the line, and a lone `\r` starts one; a comment ends there.
        let head = "guest g {\r  vcpus 1 # c\r}\r";
        let text = format!("{head}{}\rguest h {{}}\r", "x".repeat(MAX_WORD_BYTES + 1));
        assert_eq!(
            read_cut(&text),
            Some(Cut {
                at: head.len(),
                long_word: Some(head.len())
            })
        );
        let (f, diags) = parse(FileId(0), &text);
        assert_eq!(f.statements.len(), 1);
        assert_eq!(diags[0].labels[0].span, Span::new(FileId(0), 0, 1));
        // An empty first line: the error points at its end.
        let d = cut_error(FileId(0), "\rx", Cut { at: 1, long_word: None });
        assert_eq!(d.labels[0].span, Span::new(FileId(0), 0, 0));
        // Words after a comment on a line that ends with a lone `\r` count.
        let line = format!("# c\r{}\n", "a ".repeat(1000));
        let text = line.repeat(MAX_WORDS / 1000 + 1);
        // Word MAX_WORDS + 1 is the first after the last comment: its line starts after the `\r`.
        assert_eq!(read_cut(&text).map(|c| c.at), Some(line.len() * (MAX_WORDS / 1000) + 4));
    }

    /// [`MAX_WORDS`] words in lines of 1,000, with `string` as one word of each line.
    fn words(string: &str) -> String {
        format!("x {}y={string} }}\n", "a ".repeat(997)).repeat(MAX_WORDS / 1000)
    }

    #[test]
    fn an_escaped_quote_does_not_end_a_string() {
        let text = words("\"a\\\" b c\"");
        assert_eq!(read_cut(&text), None);
        assert!(read_cut(&format!("{text}z\n")).is_some());
    }

    #[test]
    fn separators_and_braces_in_a_string_are_text() {
        let text = words("\"a; { b } c\"");
        assert_eq!(read_cut(&text), None);
        assert!(read_cut(&format!("{text}z\n")).is_some());
    }
}
