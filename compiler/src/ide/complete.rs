//! Completion from the schema: statements valid in the block, properties the statement does
//! not have yet, enum words, host names, host node ids, guest cell ids and device names.

use super::cursor::{Cursor, locate};
use super::resolve::host_named;
use super::typing::{Slot, context_at, slot, typed};
use crate::check::{Checked, HostDef};
use crate::db::{self, Program, SourceFile};
use crate::ir::MachineFamily;
use crate::lang::{self, Context, Kind, PropSpec, SCHEMA};
use crate::syntax::ast::{self, Statement};
use crate::syntax::lexer;

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

/// Where a completion is asked.
struct Here<'a> {
    parsed: &'a ast::File,
    cursor: Cursor<'a>,
    /// The block the line is in, and the statements in it.
    context: Context,
    siblings: &'a [Statement],
    /// The statement being typed: where it starts, and its text up to the cursor.
    piece_start: usize,
    piece: &'a str,
    checked: &'a Checked,
}

/// The completions found, each replacing the text from `from` to the cursor.
struct Found {
    items: Vec<Completion>,
    from: u32,
}

impl Found {
    fn push(&mut self, label: String, kind: CompletionKind, detail: Option<String>, doc: Option<String>) {
        self.items.push(Completion {
            insert: label.clone(),
            label,
            kind,
            detail,
            doc,
            replace_from: self.from,
        });
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
    let parsed = &db::parse(db, file).ast;
    let cursor = locate(parsed, offset as u32);
    let (slot, word_at) = slot(line, &words);
    let (context, siblings) = block_of(parsed, &cursor, &text[..piece_start], offset);
    let here = Here {
        parsed,
        cursor,
        context,
        siblings,
        piece_start,
        piece,
        checked: &db::check_program(db, program).checked,
    };
    let mut out = Found {
        items: Vec::new(),
        from: (line_start + word_at) as u32,
    };
    match slot {
        Slot::Keyword => statements(&here, &mut out),
        Slot::Property { keyword, args } => properties(&here, keyword, args, &mut out),
        Slot::Value { keyword, key } => values_of(&here, keyword, key, &mut out),
    }
    out.items
}

/// The block the line is in, and the statements in it: the statement under the cursor sits
/// in it. `before` is the text before the statement being typed.
fn block_of<'a>(parsed: &'a ast::File, cursor: &Cursor<'a>, before: &str, offset: usize) -> (Context, &'a [Statement]) {
    let piece_start = before.len();
    let typing = cursor.innermost().filter(|(s, _)| s.span.start as usize >= piece_start);
    let ctx = typing.map(|(_, c)| c).unwrap_or_else(|| context_at(before));
    let owner = cursor.chain.iter().rev().find(|(s, _)| {
        s.block
            .as_ref()
            .is_some_and(|b| b.span.start as usize <= offset && typing.is_none_or(|(t, _)| !std::ptr::eq(*s, t)))
    });
    let sibs = owner
        .and_then(|(s, _)| s.block.as_ref())
        .map(|b| b.statements.as_slice())
        .unwrap_or(if ctx == Context::File {
            parsed.statements.as_slice()
        } else {
            &[]
        });
    (ctx, sibs)
}

/// The statements of the block, without those already there that may not repeat.
fn statements(here: &Here<'_>, out: &mut Found) {
    let from = out.from;
    for s in SCHEMA.iter().filter(|s| s.context == here.context) {
        let present = here
            .siblings
            .iter()
            .any(|x| x.keyword.text == s.keyword && x.span.start < from && x.span.end < from);
        if present && !s.repeatable {
            continue;
        }
        out.push(
            s.keyword.to_string(),
            CompletionKind::Statement,
            Some(format!("{} {}", s.keyword, s.usage()).trim_end().to_string()),
            Some(s.doc.to_string()),
        );
    }
}

/// The words argument number `args` may be, and the properties the statement does not have yet.
fn properties(here: &Here<'_>, keyword: &str, args: usize, out: &mut Found) {
    let Some(spec) = lang::lookup(here.context, keyword) else {
        return;
    };
    let piece = here.piece;
    let kw_at = here.piece_start + piece.len() - piece.trim_start().len();
    let at = locate(here.parsed, kw_at as u32);
    let stmt = at.innermost().map(|(s, _)| s).filter(|s| s.keyword.text == keyword);
    if let Some((name, kind)) = spec.args.get(args) {
        values(kind, &mut |w| {
            out.push(w.to_string(), CompletionKind::Value, Some(name.to_string()), None)
        });
    }
    let from = out.from;
    for p in spec.props {
        if stmt.is_some_and(|s| s.props.iter().any(|x| x.key.text == p.key && x.span.end < from)) {
            continue;
        }
        out.push(
            format!("{}=", p.key),
            CompletionKind::Property,
            Some(p.kind.describe()),
            Some(p.doc.to_string()),
        );
    }
}

/// The values of `key=`: host names, host nodes, guest cells, devices to plug into, or the
/// words of the property's kind.
fn values_of(here: &Here<'_>, keyword: &str, key: &str, out: &mut Found) {
    let Some(ps) = lang::lookup(here.context, keyword).and_then(|spec| spec.props.iter().find(|p| p.key == key)) else {
        return;
    };
    let checked = here.checked;
    let guest_top = here.cursor.top().filter(|t| t.keyword.text == "guest");
    match (here.context, keyword, key) {
        (Context::File, "guest", "on") => {
            for h in checked.hosts.iter().flatten() {
                let p = &h.profile;
                let detail = format!("{} nodes, {} CPUs", p.nodes.len(), p.cpus.len());
                out.push(h.name.clone(), CompletionKind::Host, Some(detail), None);
            }
        }
        (Context::Guest, "pin" | "emulator" | "iothreads" | "iothread", "node")
        | (Context::Guest, "vnuma" | "memory-policy", "nodeset")
        | (Context::Guest, "dimm" | "virtio-mem", "host-node")
        | (Context::Numa, "cell", "host-node") => {
            for n in guest_host(here).iter().flat_map(|h| &h.profile.nodes) {
                let detail = format!("host node: CPUs {}, {}", n.cpus, crate::units::human_kib(n.memory_kib));
                out.push(n.id.to_string(), CompletionKind::Node, Some(detail), None);
            }
        }
        (Context::Devices, _, "node")
        | (Context::Guest, "dimm" | "nvdimm" | "virtio-mem", "node")
        | (Context::Numa, "cache", "cell")
        | (Context::Numa, "latency" | "bandwidth", "initiator" | "target") => {
            for c in cell_ids(guest_top) {
                out.push(c, CompletionKind::Cell, Some("guest cell".into()), None);
            }
            if matches!(keyword, "nic" | "hostdev") {
                kind_values(ps, out);
            }
        }
        (Context::Devices, "nic", "uplink") => {
            for p in guest_host(here).iter().flat_map(|h| &h.profile.pci) {
                let detail = match p.node {
                    Some(n) => format!("host PCI device on node {n}"),
                    None => "host PCI device, no NUMA node".to_string(),
                };
                out.push(p.address.clone(), CompletionKind::Device, Some(detail), p.name.clone());
            }
        }
        (Context::Devices, _, "on") => {
            // On the i440fx machines devices plug straight into an expander.
            let wanted = if keyword == "root-port" || machine_family(guest_top) == MachineFamily::Pc {
                "expander"
            } else {
                "root-port"
            };
            for s in here.siblings.iter().filter(|s| s.keyword.text == wanted) {
                if let Some(a) = s.args.first() {
                    out.push(a.text.clone(), CompletionKind::Device, Some(wanted.into()), None);
                }
            }
        }
        _ => kind_values(ps, out),
    }
}

/// The host of the guest at the cursor (`on=`), or the program's only host.
fn guest_host<'c>(here: &Here<'c>) -> Option<&'c HostDef> {
    let checked = here.checked;
    here.cursor
        .top()
        .filter(|t| t.keyword.text == "guest")
        .and_then(|g| g.prop("on").map(|p| p.value.text.clone()))
        .or_else(|| {
            (checked.hosts.len() == 1)
                .then(|| checked.hosts[0].as_ref().map(|h| h.name.clone()))
                .flatten()
        })
        .and_then(|n| host_named(checked, &n))
}

/// The words of a property's kind.
fn kind_values(ps: &PropSpec, out: &mut Found) {
    values(&ps.kind, &mut |w| {
        out.push(
            w.to_string(),
            CompletionKind::Value,
            Some(ps.key.to_string()),
            Some(ps.doc.to_string()),
        )
    });
}

fn values(kind: &Kind, add: &mut dyn FnMut(&str)) {
    match kind {
        Kind::OneOf(words) | Kind::IntOr(words) => words.iter().for_each(|w| add(w)),
        Kind::Bool => ["true", "false"].iter().for_each(|w| add(w)),
        _ => {}
    }
}

/// The ids of the `cell` statements of a guest's `numa` block.
/// The machine family of the guest at the cursor, from its `machine` line (q35 without one).
fn machine_family(guest: Option<&Statement>) -> MachineFamily {
    guest
        .and_then(|g| g.block.as_ref())
        .into_iter()
        .flat_map(|b| &b.statements)
        .find(|s| s.keyword.text == "machine")
        .and_then(|s| s.args.first())
        .map_or(MachineFamily::Q35, |a| MachineFamily::of(&a.text))
}

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
