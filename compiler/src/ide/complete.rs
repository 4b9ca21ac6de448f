//! Completion from the schema: statements valid in the block, properties the statement does
//! not have yet, enum words, host names, host node ids, guest cell ids and device names.

use super::{locate, spec};
use crate::check::schema::{self, Context, Kind, SCHEMA};
use crate::db::{self, Program, SourceFile};
use crate::syntax::ast::Statement;

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
    /// In a comment or a string.
    None,
}

fn slot(line: &str) -> (Slot<'_>, usize) {
    // Inside a comment or an open string: nothing to complete.
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return (Slot::None, 0),
            _ => {}
        }
    }
    if quoted {
        return (Slot::None, 0);
    }
    let mut words: Vec<(usize, &str)> = line
        .split_inclusive([' ', '\t', '{', ';'])
        .scan(0usize, |at, w| {
            let start = *at;
            *at += w.len();
            Some((start, w))
        })
        .map(|(start, w)| (start, w.trim_end_matches([' ', '\t', '{', ';'])))
        .collect();
    if line.ends_with([' ', '\t']) || words.is_empty() {
        words.push((line.len(), ""));
    }
    let last_start = words.last().map(|(s, _)| *s).unwrap_or(0);
    let last = words.last().map(|(_, w)| *w).unwrap_or("");
    let keyword_at = words.iter().position(|(_, w)| !w.is_empty());
    match keyword_at {
        None => (Slot::Keyword, line.len()),
        Some(k) if k == words.len() - 1 => (Slot::Keyword, last_start),
        Some(k) => {
            let keyword = words[k].1;
            if let Some((key, _)) = last.split_once('=') {
                (Slot::Value { keyword, key }, last_start + key.len() + 1)
            } else {
                let args = words[k + 1..words.len() - 1]
                    .iter()
                    .filter(|(_, w)| !w.is_empty() && !w.contains('='))
                    .count();
                (Slot::Property { keyword, args }, last_start)
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
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = &text[line_start..offset];
    // A line's text may end in `{` or `;`: only what follows the last of them counts.
    let (piece_start, piece) = match line.rfind(['{', ';', '}']) {
        Some(i) => (line_start + i + 1, &line[i + 1..]),
        None => (line_start, line),
    };
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset as u32);
    let (slot, word_at) = slot(piece);
    let from = (piece_start + word_at) as u32;
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
        Slot::None => {}
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
                .and_then(|n| super::host_named(checked, &n));
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

/// The block context at the end of `text`, from its braces alone (so it holds while the
/// text being typed does not parse): each `{` opens the block of the statement it ends.
fn context_at(text: &str) -> Context {
    let mut stack = vec![Context::File];
    let mut stmt_start = 0usize;
    let mut quoted = false;
    let mut comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if comment {
            if c == '\n' {
                comment = false;
                stmt_start = i + 1;
            }
            continue;
        }
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '#' => comment = true,
            '"' => quoted = true,
            '\n' | ';' => stmt_start = i + 1,
            '{' => {
                let here = stack.last().copied().unwrap_or(Context::File);
                let kw = text[stmt_start..i].split_whitespace().next().unwrap_or("");
                let inner = schema::lookup(here, kw).and_then(|s| s.block).unwrap_or(here);
                stack.push(inner);
                stmt_start = i + 1;
            }
            '}' => {
                if stack.len() > 1 {
                    stack.pop();
                }
                stmt_start = i + 1;
            }
            _ => {}
        }
    }
    stack.last().copied().unwrap_or(Context::File)
}
