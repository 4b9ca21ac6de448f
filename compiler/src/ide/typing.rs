//! The statement being typed on the cursor's line, read from the line's tokens (so it holds
//! while the text does not parse): where it starts, what the cursor is typing in it, and the
//! block it is in.

use crate::lang::{self, Context};
use crate::syntax::lexer::{self, Kind as Tok};

/// Where the cursor is on its line.
pub(super) enum Slot<'t> {
    /// Typing a statement keyword.
    Keyword,
    /// After a keyword: a property or an argument.
    Property { keyword: &'t str, args: usize },
    /// After `key=`.
    Value { keyword: &'t str, key: &'t str },
}

/// A word of the statement being typed: a run of tokens with no space between them
/// (`key=value`, `"a b"`), by its byte range in the line, and where its first `=` is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Word {
    start: usize,
    end: usize,
    equals: Option<usize>,
}

/// The statement being typed on the cursor's line (`line` ends at the cursor): where it
/// starts (after the line's last `{`, `;` or `}`), and its words. None when the cursor is in
/// a comment or a string.
pub(super) fn typed(line: &str) -> Option<(usize, Vec<Word>)> {
    let mut start = 0;
    let mut words: Vec<Word> = Vec::new();
    let mut in_word = false;
    let mut last = None;
    for t in lexer::tokens(line) {
        match t.kind {
            Tok::Open | Tok::Close | Tok::Semicolon => {
                start = t.end;
                words.clear();
                in_word = false;
            }
            Tok::Space | Tok::Newline | Tok::Comment => in_word = false,
            Tok::Word | Tok::String { .. } | Tok::Equals => {
                let equals = (t.kind == Tok::Equals).then_some(t.start);
                match words.last_mut() {
                    Some(w) if in_word => {
                        w.end = t.end;
                        w.equals = w.equals.or(equals);
                    }
                    _ => words.push(Word {
                        start: t.start,
                        end: t.end,
                        equals,
                    }),
                }
                in_word = true;
            }
        }
        last = Some(t.kind);
    }
    if matches!(last, Some(Tok::Comment | Tok::String { closed: false })) {
        return None;
    }
    if !in_word {
        words.push(Word {
            start: line.len(),
            end: line.len(),
            equals: None,
        });
    }
    Some((start, words))
}

/// What the cursor is typing, and where the word it replaces starts in `line`.
pub(super) fn slot<'t>(line: &'t str, words: &[Word]) -> (Slot<'t>, usize) {
    let text = |w: &Word| &line[w.start..w.end];
    let Some(last) = words.last() else {
        return (Slot::Keyword, line.len());
    };
    match words.iter().position(|w| w.end > w.start) {
        None => (Slot::Keyword, line.len()),
        Some(k) if k == words.len() - 1 => (Slot::Keyword, last.start),
        Some(k) => {
            let keyword = text(&words[k]);
            if let Some(eq) = last.equals {
                (
                    Slot::Value {
                        keyword,
                        key: &line[last.start..eq],
                    },
                    eq + 1,
                )
            } else {
                let args = words[k + 1..words.len() - 1]
                    .iter()
                    .filter(|w| w.equals.is_none())
                    .count();
                (Slot::Property { keyword, args }, last.start)
            }
        }
    }
}

/// The block context at the end of `text`, from its tokens alone (so it holds while the
/// text being typed does not parse): each `{` opens the block of the statement it ends.
pub(super) fn context_at(text: &str) -> Context {
    let mut stack = vec![Context::File];
    // The first token of the statement the next `{` ends.
    let mut first: Option<lexer::Token> = None;
    for t in lexer::tokens(text) {
        match t.kind {
            Tok::Space | Tok::Comment => {}
            Tok::Newline | Tok::Semicolon => first = None,
            Tok::Open => {
                let here = stack.last().copied().unwrap_or(Context::File);
                let kw = first.filter(|f| f.kind == Tok::Word).map_or("", |f| f.text(text));
                let inner = lang::lookup(here, kw).and_then(|s| s.block).unwrap_or(here);
                stack.push(inner);
                first = None;
            }
            Tok::Close => {
                if stack.len() > 1 {
                    stack.pop();
                }
                first = None;
            }
            _ => {
                first.get_or_insert(t);
            }
        }
    }
    stack.last().copied().unwrap_or(Context::File)
}
