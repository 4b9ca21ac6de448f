//! The tokens of .vnuma text, read as the grammar (`grammar/vnuma.pest`) reads it. Every
//! scanner of the text goes through here — the repair of unclosed blocks, the cutting into
//! pieces, the word budget, the formatter's gaps, and the editor's comments and completion —
//! so they agree with each other and with the parser on what a line, a comment and a string
//! are:
//!
//! - a line ends at `\n`, `\r\n` or a lone `\r`;
//! - `#` starts a comment that runs to the end of its line;
//! - `"` starts a string that ends at the next `"` not escaped by `\`, or else at the end of
//!   its line (an unclosed string: the parser reports it); `\` escapes any character but a
//!   line end, so `;`, `{`, `}`, `#` and `\"` in a string are text;
//! - spaces and tabs separate; `{`, `}`, `;` and `=` stand alone; any other run of
//!   characters is one word.
//!
//! The tokens cover the text without gaps. [`tokens`] is an iterator that looks at each byte
//! once and holds nothing but its position, so reading any text costs time linear in it and
//! no memory; a token is as long as the text allows (the word budget,
//! [`super::MAX_WORD_BYTES`], is what stops reading at a long one).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Spaces and tabs.
    Space,
    /// A line end: `\n`, `\r\n` or a lone `\r`.
    Newline,
    /// `#` up to the end of its line (the line end is not part of it).
    Comment,
    /// `"` up to the next `"` not escaped by `\` (`closed`), or up to the end of its line.
    String { closed: bool },
    /// Any other run of characters: a keyword, a key, a bare value.
    Word,
    /// `=`.
    Equals,
    /// `;`.
    Semicolon,
    /// `{`.
    Open,
    /// `}`.
    Close,
}

/// One token: its kind and its byte range in the text (on character boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The token's text.
    pub fn text<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// The tokens of a text, in order.
#[derive(Debug, Clone)]
pub struct Lexer<'t> {
    bytes: &'t [u8],
    at: usize,
}

/// The tokens of `text`, in order, covering it.
pub fn tokens(text: &str) -> Lexer<'_> {
    Lexer {
        bytes: text.as_bytes(),
        at: 0,
    }
}

fn is_line_end(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Whether a byte ends a word (every such byte is ASCII, so words end on character boundaries).
fn ends_word(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b'{' | b'}' | b';' | b'#' | b'"' | b'='
    )
}

impl Lexer<'_> {
    /// The end of the run from `from` of bytes for which `more` holds.
    fn run(&self, from: usize, more: impl Fn(u8) -> bool) -> usize {
        self.bytes[from..]
            .iter()
            .position(|&b| !more(b))
            .map_or(self.bytes.len(), |n| from + n)
    }

    /// The end of the string whose `"` is at `start`, and whether a `"` closes it.
    fn string(&self, start: usize) -> (usize, bool) {
        let mut i = start + 1;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'"' => return (i + 1, true),
                b'\\' if self.bytes.get(i + 1).is_some_and(|&c| !is_line_end(c)) => i += 2,
                b'\\' => return (i + 1, false),
                b if is_line_end(b) => return (i, false),
                _ => i += 1,
            }
        }
        (self.bytes.len(), false)
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let start = self.at;
        let first = *self.bytes.get(start)?;
        let (kind, end) = match first {
            b' ' | b'\t' => (Kind::Space, self.run(start, |b| b == b' ' || b == b'\t')),
            b'\r' if self.bytes.get(start + 1) == Some(&b'\n') => (Kind::Newline, start + 2),
            b'\n' | b'\r' => (Kind::Newline, start + 1),
            b'#' => (Kind::Comment, self.run(start, |b| !is_line_end(b))),
            b'"' => {
                let (end, closed) = self.string(start);
                (Kind::String { closed }, end)
            }
            b'=' => (Kind::Equals, start + 1),
            b';' => (Kind::Semicolon, start + 1),
            b'{' => (Kind::Open, start + 1),
            b'}' => (Kind::Close, start + 1),
            _ => (Kind::Word, self.run(start, |b| !ends_word(b))),
        };
        self.at = end;
        Some(Token { kind, start, end })
    }
}

/// Where the line holding `offset` starts: after the last line end before it.
pub fn line_start(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .rposition(|&b| is_line_end(b))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        tokens(text).map(|t| (t.kind, t.text(text))).collect()
    }

    #[test]
    fn tokens_cover_the_text() {
        use Kind::*;
        let text = "guest g on=h {\tvcpus 4; # c {\r\n}\rx\"a\"b\n";
        assert_eq!(
            kinds(text),
            [
                (Word, "guest"),
                (Space, " "),
                (Word, "g"),
                (Space, " "),
                (Word, "on"),
                (Equals, "="),
                (Word, "h"),
                (Space, " "),
                (Open, "{"),
                (Space, "\t"),
                (Word, "vcpus"),
                (Space, " "),
                (Word, "4"),
                (Semicolon, ";"),
                (Space, " "),
                (Comment, "# c {"),
                (Newline, "\r\n"),
                (Close, "}"),
                (Newline, "\r"),
                (Word, "x"),
                (String { closed: true }, "\"a\""),
                (Word, "b"),
                (Newline, "\n"),
            ]
        );
        assert_eq!(kinds(""), []);
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line_a_comment_and_a_string() {
        use Kind::*;
        assert_eq!(
            kinds("# a\r\"b\rc"),
            [
                (Comment, "# a"),
                (Newline, "\r"),
                (String { closed: false }, "\"b"),
                (Newline, "\r"),
                (Word, "c"),
            ]
        );
        assert_eq!(line_start("a\rb\r\nc\nd", 3), 2);
        assert_eq!(line_start("a\rb\r\nc\nd", 6), 5);
        assert_eq!(line_start("a\rb\r\nc\nd", 99), 7);
        assert_eq!(line_start("ab", 1), 0);
    }

    #[test]
    fn an_escaped_quote_does_not_end_a_string() {
        use Kind::*;
        assert_eq!(
            kinds(r#""a\"b" c"#),
            [(String { closed: true }, r#""a\"b""#), (Space, " "), (Word, "c")]
        );
        assert_eq!(kinds(r#""a\\" c"#)[0], (String { closed: true }, r#""a\\""#));
        assert_eq!(kinds("\"a\\é\"")[0], (String { closed: true }, "\"a\\é\""));
        // A `\` before a line end escapes nothing: the string ends with its line.
        assert_eq!(kinds("\"a\\\nb")[0], (String { closed: false }, "\"a\\"));
        assert_eq!(kinds("\"a\\\r\nb")[0], (String { closed: false }, "\"a\\"));
        assert_eq!(kinds("\"a\\")[0], (String { closed: false }, "\"a\\"));
    }

    #[test]
    fn separators_and_braces_in_a_string_are_text() {
        use Kind::*;
        assert_eq!(
            kinds(r#""; { } # =" x"#)[0],
            (String { closed: true }, r#""; { } # =""#)
        );
        assert_eq!(kinds(r#""; { } #"#), [(String { closed: false }, r#""; { } #"#)]);
    }

    #[test]
    fn words_end_on_character_boundaries() {
        let text = "é\u{0}x=ü{\"€\"}";
        for t in tokens(text) {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end), "{t:?}");
        }
        assert_eq!(tokens(text).map(|t| t.len()).sum::<usize>(), text.len());
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_covered_by_tokens_on_character_boundaries(
            text in "[a-z \"\\\\\n\r\t{};#=é]{0,40}"
        ) {
            let mut at = 0;
            for t in tokens(&text) {
                proptest::prop_assert_eq!(t.start, at);
                proptest::prop_assert!(t.end > t.start);
                proptest::prop_assert!(text.is_char_boundary(t.end));
                at = t.end;
            }
            proptest::prop_assert_eq!(at, text.len());
        }
    }
}
