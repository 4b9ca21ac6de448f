//! Navigation and edits: definitions, references, symbols, inlay hints and quick fixes.

use super::cursor::{At, locate, spec};
use super::outputs;
use crate::db::{self, Program, SourceFile};
use crate::lang::Context;
use crate::sets::IdSet;
use crate::span::Span;
use crate::syntax::ast::{Prop, Statement};
use crate::units::human_kib;

/// A place in a file: what an answer points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub file: SourceFile,
    pub span: Span,
}

/// The file a path written in `file` names, among the program's files.
fn file_named(db: &dyn salsa::Database, program: Program, file: SourceFile, rel: &str) -> Option<SourceFile> {
    let path = db::normalize(&crate::check::resolve_relative(file.path(db), rel));
    program.files(db).get(&path).and_then(|f| f.as_ref().ok().copied())
}

/// Every top-level statement of the program, with its file.
fn top_level(db: &dyn salsa::Database, program: Program) -> Vec<(SourceFile, &Statement)> {
    db::items(db, program)
        .order
        .iter()
        .flat_map(|f| db::parse(db, *f).ast.statements.iter().map(move |s| (*f, s)))
        .collect()
}

fn host_def(db: &dyn salsa::Database, program: Program, name: &str) -> Option<Target> {
    top_level(db, program)
        .into_iter()
        .find(|(_, s)| s.keyword.text == "host" && s.args.first().is_some_and(|a| a.text == name))
        .and_then(|(f, s)| s.args.first().map(|a| Target { file: f, span: a.span }))
}

/// The statement in the same `devices` block named `name`.
fn device_def<'a>(siblings: &'a [Statement], name: &str) -> Option<&'a Statement> {
    siblings.iter().find(|s| {
        matches!(s.keyword.text.as_str(), "expander" | "root-port") && s.args.first().is_some_and(|a| a.text == name)
    })
}

fn siblings<'a>(chain: &[(&'a Statement, Context)]) -> &'a [Statement] {
    chain
        .iter()
        .rev()
        .nth(1)
        .and_then(|(s, _)| s.block.as_ref())
        .map(|b| b.statements.as_slice())
        .unwrap_or(&[])
}

/// Where what is under the cursor is defined: `on=HOST`, `include`, `from=`, device `on=`.
pub fn definition(db: &dyn salsa::Database, program: Program, file: SourceFile, offset: u32) -> Option<Target> {
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset);
    let (stmt, context) = cursor.innermost()?;
    let whole = |f: SourceFile| Target {
        file: f,
        span: Span::new(f.id(db), 0, 0),
    };
    match cursor.at {
        At::Value(p) if p.key.text == "on" && context == Context::File => host_def(db, program, &p.value.text),
        At::Value(p) if matches!(p.key.text.as_str(), "from" | "domcaps") && context == Context::File => {
            file_named(db, program, file, &p.value.text).map(whole)
        }
        At::Value(p) if p.key.text == "on" && context == Context::Devices => {
            let def = device_def(siblings(&cursor.chain), &p.value.text)?;
            def.args.first().map(|a| Target { file, span: a.span })
        }
        At::Arg(0, a) if stmt.keyword.text == "include" => file_named(db, program, file, &a.text).map(whole),
        _ => None,
    }
}

/// Every place that names what is under the cursor (a host or an expander/root port),
/// the definition included.
pub fn references(db: &dyn salsa::Database, program: Program, file: SourceFile, offset: u32) -> Vec<Target> {
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset);
    let Some((stmt, context)) = cursor.innermost() else {
        return Vec::new();
    };
    let host_name = match cursor.at {
        At::Value(p) if p.key.text == "on" && context == Context::File => Some(p.value.text.as_str()),
        At::Arg(0, a) if stmt.keyword.text == "host" && context == Context::File => Some(a.text.as_str()),
        _ => None,
    };
    if let Some(name) = host_name {
        let mut out: Vec<Target> = host_def(db, program, name).into_iter().collect();
        for (f, s) in top_level(db, program) {
            if s.keyword.text == "guest"
                && let Some(p) = s.prop("on").filter(|p| p.value.text == name)
            {
                out.push(Target {
                    file: f,
                    span: p.value.span,
                });
            }
        }
        return out;
    }
    let device = match cursor.at {
        At::Value(p) if p.key.text == "on" && context == Context::Devices => Some(p.value.text.as_str()),
        At::Arg(0, a) if matches!(stmt.keyword.text.as_str(), "expander" | "root-port") => Some(a.text.as_str()),
        _ => None,
    };
    let Some(name) = device else { return Vec::new() };
    let sibs = siblings(&cursor.chain);
    let mut out: Vec<Target> = device_def(sibs, name)
        .and_then(|d| d.args.first())
        .map(|a| Target { file, span: a.span })
        .into_iter()
        .collect();
    for s in sibs {
        if let Some(p) = s.prop("on").filter(|p| p.value.text == name) {
            out.push(Target {
                file,
                span: p.value.span,
            });
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Host,
    Guest,
    Include,
    Block,
    Node,
    Cell,
    Device,
    Statement,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    /// The whole statement.
    pub span: Span,
    /// Its name (or keyword).
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

fn symbol(s: &Statement, context: Context) -> Symbol {
    let kw = s.keyword.text.as_str();
    let kind = match (context, kw) {
        (Context::File, "host") => SymbolKind::Host,
        (Context::File, "guest") => SymbolKind::Guest,
        (Context::File, "include") => SymbolKind::Include,
        (Context::Host, "node") => SymbolKind::Node,
        (Context::Numa, "cell") => SymbolKind::Cell,
        (Context::Devices, _) => SymbolKind::Device,
        _ if s.block.is_some() => SymbolKind::Block,
        _ => SymbolKind::Statement,
    };
    let first = s.args.first();
    let name = match kind {
        SymbolKind::Host | SymbolKind::Guest | SymbolKind::Include => {
            first.map(|a| a.text.clone()).unwrap_or_else(|| kw.to_string())
        }
        _ => match first {
            Some(a) => format!("{kw} {}", a.text),
            None => kw.to_string(),
        },
    };
    let props: Vec<String> = s
        .props
        .iter()
        .map(|p| format!("{}={}", p.key.text, p.value.text))
        .collect();
    let inner = spec(s, context).and_then(|sp| sp.block);
    let children = match (&s.block, inner) {
        (Some(b), Some(ctx)) => b.statements.iter().map(|c| symbol(c, ctx)).collect(),
        _ => Vec::new(),
    };
    Symbol {
        name,
        detail: (!props.is_empty()).then(|| props.join(" ")),
        kind,
        span: s.span,
        name_span: first.map(|a| a.span).unwrap_or(s.keyword.span),
        children,
    }
}

/// Hosts, guests and includes, with their nodes, cells, devices and statements as children.
pub fn document_symbols(db: &dyn salsa::Database, file: SourceFile) -> Vec<Symbol> {
    db::parse(db, file)
        .ast
        .statements
        .iter()
        .map(|s| symbol(s, Context::File))
        .collect()
}

/// Hosts and guests of every program whose name contains `query` (case-insensitive).
pub fn workspace_symbols(db: &dyn salsa::Database, programs: &[Program], query: &str) -> Vec<(SourceFile, Symbol)> {
    let q = query.to_lowercase();
    let mut out: Vec<(SourceFile, Symbol)> = Vec::new();
    let mut seen: std::collections::HashSet<(SourceFile, u32)> = std::collections::HashSet::new();
    for &p in programs {
        for (f, s) in top_level(db, p) {
            if !matches!(s.keyword.text.as_str(), "host" | "guest") || seen.contains(&(f, s.span.start)) {
                continue;
            }
            let name = s.args.first().map_or(s.keyword.text.as_str(), |a| a.text.as_str());
            if name.to_lowercase().contains(&q) {
                seen.insert((f, s.span.start));
                out.push((f, symbol(s, Context::File)));
            }
        }
    }
    out
}

/// A label shown after a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub offset: u32,
    pub label: String,
}

/// Beside each `pin`, the host CPUs it resolved to; beside `vnuma`, the cells, nodes and
/// memory split it chose.
pub fn inlay_hints(db: &dyn salsa::Database, program: Program, file: SourceFile) -> Vec<Hint> {
    let checked = &db::check_program(db, program).checked;
    let id = file.id(db);
    let mut out = Vec::new();
    for (gi, g) in checked.build.guests.iter().enumerate() {
        if g.spans.guest.file != id {
            continue;
        }
        let host = checked.host_of(gi);
        // Pins written by hand: one hint per statement.
        let mut seen: Vec<Span> = Vec::new();
        for (p, span) in g.pins.iter().zip(&g.spans.pins) {
            if Some(*span) == g.spans.vnuma || seen.contains(span) {
                continue;
            }
            seen.push(*span);
            let cpus: IdSet = g
                .pins
                .iter()
                .zip(&g.spans.pins)
                .filter(|(_, s)| *s == span)
                .fold(IdSet::new(), |acc, (q, _)| acc.union(&q.cpus));
            let nodes = host
                .map(|h| format!(" node {}", h.profile.nodes_of_cpus(&cpus)))
                .unwrap_or_default();
            let _ = p;
            let noun = if cpus.len() == 1 { "CPU" } else { "CPUs" };
            out.push(Hint {
                offset: span.end,
                label: format!("→ {noun} {cpus}{nodes}"),
            });
        }
        if let Some(v) = g.spans.vnuma {
            let cells: Vec<String> = g
                .cells
                .iter()
                .map(|c| {
                    let nodes = c
                        .binding
                        .as_ref()
                        .map(|b| format!(" node {}", b.nodes))
                        .unwrap_or_default();
                    format!("cell {}: vCPUs {} {}{nodes}", c.id, c.vcpus, human_kib(c.memory_kib))
                })
                .collect();
            out.push(Hint {
                offset: v.end,
                label: format!("→ {}", cells.join("; ")),
            });
        }
    }
    out.sort_by_key(|h| h.offset);
    out
}

/// A quick fix: edits in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub title: String,
    pub edits: Vec<(Span, String)>,
    /// The diagnostic it fixes.
    pub code: Option<&'static str>,
    pub preferred: bool,
}

/// The machine type a diagnostic on a `machine` value proposes instead: the nearest, newest
/// or oldest type of its family the target QEMU has (E0373), or a newer one for a deprecated
/// type (W0524). Not for a name of no family, whose help lists every range.
fn machine_fix<'h>(code: &str, help: &str, quotes: &[&'h str]) -> Option<&'h str> {
    let first = *quotes.first()?;
    let proposes = match code {
        crate::codes::MACHINE_UNKNOWN => ["the nearest ", "the newest ", "the oldest "]
            .iter()
            .any(|p| help.starts_with(p)),
        crate::codes::MACHINE_DEPRECATED => true,
        _ => false,
    };
    proposes.then_some(first)
}

/// Text between backticks in a help message.
fn quoted(help: &str) -> Vec<&str> {
    help.split('`').skip(1).step_by(2).collect()
}

/// The edit that gives statement `s` the property `key=value`.
fn set_prop(s: &Statement, key: &str, value: &str) -> (Span, String) {
    match s.prop(key) {
        Some(Prop { value: v, .. }) => (v.span, value.to_string()),
        None => {
            let end = s
                .props
                .iter()
                .map(|p| p.span.end)
                .chain(s.args.iter().map(|a| a.span.end))
                .chain(std::iter::once(s.keyword.span.end))
                .max()
                .unwrap_or(s.keyword.span.end);
            (
                Span {
                    start: end,
                    end,
                    ..s.keyword.span
                },
                format!(" {key}={value}"),
            )
        }
    }
}

/// Every fix the diagnostics overlapping `range` propose: a did-you-mean, an IEC unit, a
/// machine type the target QEMU has, a `cells=` or `nodeset=` that fits, and "keep this
/// placement" for nodes `vnuma` picked.
pub fn code_actions(db: &dyn salsa::Database, program: Program, file: SourceFile, range: Span) -> Vec<Action> {
    let parsed = db::parse(db, file);
    let mut out = Vec::new();
    for d in outputs::diagnostics(db, program, file) {
        let span = d.primary_span();
        if span.end < range.start || span.start > range.end {
            continue;
        }
        let Some(help) = d.help.as_deref() else { continue };
        let quotes = quoted(help);
        if let Some(machine) = machine_fix(d.code, help, &quotes) {
            out.push(Action {
                title: format!("Use machine type `{machine}`"),
                edits: vec![(span, format!("\"{machine}\""))],
                code: Some(d.code),
                preferred: true,
            });
            continue;
        }
        if help.starts_with("did you mean `") || (d.code == crate::lang::SI_UNIT && help.starts_with("write `")) {
            if let Some(q) = quotes.first() {
                out.push(Action {
                    title: format!("Replace with `{q}`"),
                    edits: vec![(span, q.to_string())],
                    code: Some(d.code),
                    preferred: true,
                });
            }
            continue;
        }
        // `key=value` suggestions on the statement the diagnostic points at.
        let cursor = locate(&parsed.ast, span.start);
        let Some((stmt, context)) = cursor.innermost() else {
            continue;
        };
        let Some(sp) = spec(stmt, context) else { continue };
        for q in quotes {
            let Some((key, value)) = q.split_once('=') else {
                continue;
            };
            if value.is_empty() || value.contains(['.', '…']) || !sp.props.iter().any(|p| p.key == key) {
                continue;
            }
            let keep = d.code == crate::codes::PICKED_NODES;
            out.push(Action {
                title: if keep {
                    format!("Keep this placement: `{key}={value}`")
                } else {
                    format!("Use `{key}={value}`")
                },
                edits: vec![set_prop(stmt, key, value)],
                code: Some(d.code),
                preferred: !keep,
            });
        }
    }
    out
}
