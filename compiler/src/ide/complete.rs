//! Completion from the schema: statements valid in the block, properties the statement does
//! not have yet, enum words, host names, host node ids, guest cell ids and device names.

use super::cursor::{locate, spec};
use super::resolve::host_named;
use crate::check::schema::{self, Context, Kind, SCHEMA};
use crate::db::{self, Program, SourceFile};
use crate::syntax::ast::Statement;
use crate::syntax::lexer::{self, Kind as Tok};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    Statement,
    Property,
    Value,
    Host,
    Node,
    Cell,
    Device,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    pub doc: Option<String>,
    /// The text that replaces the word before the cursor.
    pub insert: String,
    /// The start of the word the completion replaces.
    pub replace_from: u32,
}

/// Where the cursor is on its line.
enum Slot<'t> {
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
struct Word {
    start: usize,
    end: usize,
    equals: Option<usize>,
}

/// The statement being typed on the cursor's line (`line` ends at the cursor): where it
/// starts (after the line's last `{`, `;` or `}`), and its words. None when the cursor is in
/// a comment or a string.
fn typed(line: &str) -> Option<(usize, Vec<Word>)> {
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
fn slot<'t>(line: &'t str, words: &[Word]) -> (Slot<'t>, usize) {
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

pub fn completions(db: &dyn salsa::Database, program: Program, file: SourceFile, offset: u32) -> Vec<Completion> {
    let text = file.text(db);
    let offset = (offset as usize).min(text.len());
    if !text.is_char_boundary(offset) {
        return Vec::new();
    }
    let line_start = lexer::line_start(text, offset);
    let line = &text[line_start..offset];
    // A line's text may hold `{`, `;` or `}`: only what follows the last of them counts.
    let Some((at, words)) = typed(line) else {
        return Vec::new();
    };
    let (piece_start, piece) = (line_start + at, &line[at..]);
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset as u32);
    let (slot, word_at) = slot(line, &words);
    let from = (line_start + word_at) as u32;
    // The block the line is in: the statement under the cursor sits in it.
    let (context, siblings): (Context, &[Statement]) = {
        let typing = cursor.innermost().filter(|(s, _)| s.span.start as usize >= piece_start);
        let ctx = typing
            .map(|(_, c)| c)
            .unwrap_or_else(|| context_at(&text[..piece_start]));
        let owner = cursor.chain.iter().rev().find(|(s, _)| {
            s.block
                .as_ref()
                .is_some_and(|b| b.span.start as usize <= offset && typing.is_none_or(|(t, _)| !std::ptr::eq(*s, t)))
        });
        let sibs = owner
            .and_then(|(s, _)| s.block.as_ref())
            .map(|b| b.statements.as_slice())
            .unwrap_or(if ctx == Context::File {
                parsed.ast.statements.as_slice()
            } else {
                &[]
            });
        (ctx, sibs)
    };
    let checked = &db::check_program(db, program).checked;
    let mut out = Vec::new();
    let mut push = |label: String, kind, detail: Option<String>, doc: Option<String>, insert: String| {
        out.push(Completion {
            label,
            kind,
            detail,
            doc,
            insert,
            replace_from: from,
        })
    };
    match slot {
        Slot::Keyword => {
            for s in SCHEMA.iter().filter(|s| s.context == context) {
                let present = siblings
                    .iter()
                    .any(|x| x.keyword.text == s.keyword && x.span.start < from && x.span.end < from);
                if present && !s.repeatable {
                    continue;
                }
                let args: Vec<&str> = s.args.iter().map(|(n, _)| *n).collect();
                push(
                    s.keyword.to_string(),
                    CompletionKind::Statement,
                    Some(format!("{} {}", s.keyword, args.join(" ")).trim_end().to_string()),
                    Some(s.doc.to_string()),
                    s.keyword.to_string(),
                );
            }
        }
        Slot::Property { keyword, args } => {
            let Some(spec) = schema::lookup(context, keyword) else {
                return out;
            };
            let kw_at = piece_start + piece.len() - piece.trim_start().len();
            let here = locate(&parsed.ast, kw_at as u32);
            let stmt = here.innermost().map(|(s, _)| s).filter(|s| s.keyword.text == keyword);
            if let Some((name, kind)) = spec.args.get(args) {
                values(kind, &mut |w| {
                    push(
                        w.to_string(),
                        CompletionKind::Value,
                        Some(name.to_string()),
                        None,
                        w.to_string(),
                    )
                });
            }
            for p in spec.props {
                if stmt.is_some_and(|s| s.props.iter().any(|x| x.key.text == p.key && x.span.end < from)) {
                    continue;
                }
                push(
                    format!("{}=", p.key),
                    CompletionKind::Property,
                    Some(p.kind.describe()),
                    Some(p.doc.to_string()),
                    format!("{}=", p.key),
                );
            }
        }
        Slot::Value { keyword, key } => {
            let Some(spec) = schema::lookup(context, keyword) else {
                return out;
            };
            let Some(ps) = spec.props.iter().find(|p| p.key == key) else {
                return out;
            };
            let guest_top = cursor.top().filter(|t| t.keyword.text == "guest");
            let host = guest_top
                .and_then(|g| g.prop("on").map(|p| p.value.text.clone()))
                .or_else(|| {
                    (checked.hosts.len() == 1)
                        .then(|| checked.hosts[0].as_ref().map(|h| h.name.clone()))
                        .flatten()
                })
                .and_then(|n| host_named(checked, &n));
            match (context, keyword, key) {
                (Context::File, "guest", "on") => {
                    for h in checked.hosts.iter().flatten() {
                        let p = &h.profile;
                        push(
                            h.name.clone(),
                            CompletionKind::Host,
                            Some(format!("{} nodes, {} CPUs", p.nodes.len(), p.cpus.len())),
                            None,
                            h.name.clone(),
                        );
                    }
                }
                (Context::Guest, "pin" | "emulator" | "iothreads", "node")
                | (Context::Guest, "vnuma" | "memory-policy", "nodeset")
                | (Context::Guest, "dimm" | "virtio-mem", "host-node")
                | (Context::Numa, "cell", "host-node") => {
                    for n in host.iter().flat_map(|h| &h.profile.nodes) {
                        push(
                            n.id.to_string(),
                            CompletionKind::Node,
                            Some(format!(
                                "host node: CPUs {}, {}",
                                n.cpus,
                                crate::units::human_kib(n.memory_kib)
                            )),
                            None,
                            n.id.to_string(),
                        );
                    }
                }
                (Context::Devices, _, "node")
                | (Context::Guest, "dimm" | "nvdimm" | "virtio-mem", "node")
                | (Context::Numa, "cache", "cell")
                | (Context::Numa, "latency" | "bandwidth", "initiator" | "target") => {
                    for c in cell_ids(guest_top) {
                        push(c.clone(), CompletionKind::Cell, Some("guest cell".into()), None, c);
                    }
                }
                (Context::Devices, _, "on") => {
                    let wanted = if keyword == "root-port" {
                        "expander"
                    } else {
                        "root-port"
                    };
                    for s in siblings.iter().filter(|s| s.keyword.text == wanted) {
                        if let Some(a) = s.args.first() {
                            push(
                                a.text.clone(),
                                CompletionKind::Device,
                                Some(wanted.into()),
                                None,
                                a.text.clone(),
                            );
                        }
                    }
                }
                _ => values(&ps.kind, &mut |w| {
                    push(
                        w.to_string(),
                        CompletionKind::Value,
                        Some(ps.key.to_string()),
                        Some(ps.doc.to_string()),
                        w.to_string(),
                    )
                }),
            }
        }
    }
    let _ = spec;
    out
}

fn values(kind: &Kind, add: &mut dyn FnMut(&str)) {
    match kind {
        Kind::OneOf(words) | Kind::IntOr(words) => words.iter().for_each(|w| add(w)),
        Kind::Bool => ["true", "false"].iter().for_each(|w| add(w)),
        _ => {}
    }
}

/// The ids of the `cell` statements of a guest's `numa` block.
fn cell_ids(guest: Option<&Statement>) -> Vec<String> {
    guest
        .and_then(|g| g.block.as_ref())
        .into_iter()
        .flat_map(|b| &b.statements)
        .filter(|s| s.keyword.text == "numa")
        .filter_map(|s| s.block.as_ref())
        .flat_map(|b| &b.statements)
        .filter(|s| s.keyword.text == "cell")
        .filter_map(|s| s.args.first().map(|a| a.text.clone()))
        .collect()
}

/// The block context at the end of `text`, from its tokens alone (so it holds while the
/// text being typed does not parse): each `{` opens the block of the statement it ends.
fn context_at(text: &str) -> Context {
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
                let inner = schema::lookup(here, kw).and_then(|s| s.block).unwrap_or(here);
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
