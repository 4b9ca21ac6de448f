//! One statement checked against the table: its arguments, properties and block, each
//! value converted to its kind.

use super::fields::{Fields, Typed};
use super::spec::{Context, Kind, StmtSpec, one_of};
use super::suggest::suggest;
use super::table::{SCHEMA, lookup};
use crate::diagnostics::Diagnostic;
use crate::span::Span;
use crate::syntax::ast::{Statement, Value};
use crate::syntax::value;

pub use crate::codes::{
    ARGUMENTS, BLOCK, DUPLICATE, MISSING, SI_UNIT, UNKNOWN_PROPERTY, UNKNOWN_STATEMENT, UNKNOWN_VALUE, WRONG_KIND,
};

fn convert(kind: Kind, v: &Value) -> Result<Typed, Diagnostic> {
    let to_diag = |e: value::ValueError| {
        let code = if e.si_unit { SI_UNIT } else { WRONG_KIND };
        Diagnostic::error(code, e.message, v.span, format!("expected {}", kind.describe())).maybe_help(e.help)
    };
    let unknown_word = |words: &[&str]| {
        let mut d = Diagnostic::error(
            UNKNOWN_VALUE,
            format!("unknown value `{}`", v.text),
            v.span,
            format!("expected {}", one_of(words)),
        );
        if let Some(s) = suggest(&v.text, words.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else {
            d = d.with_help(format!("write {}", one_of(words)));
        }
        d
    };
    Ok(match kind {
        Kind::Int => Typed::Int(value::integer(v).map_err(to_diag)?),
        Kind::Size => Typed::Size(value::size(v).map_err(to_diag)?),
        Kind::Set => Typed::Set(value::set(v).map_err(to_diag)?),
        Kind::Bool => Typed::Bool(value::boolean(v).map_err(to_diag)?),
        Kind::Str => Typed::Text(value::string(v).map_err(to_diag)?),
        Kind::Name => Typed::Text(value::name(v).map_err(to_diag)?),
        Kind::Mac => Typed::Text(value::mac(v).map_err(to_diag)?),
        Kind::Pci => Typed::Text(value::pci_address(v).map_err(to_diag)?),
        Kind::Text => {
            if v.quoted || value::is_word(&v.text) {
                Typed::Text(v.text.clone())
            } else {
                return Err(to_diag(value::ValueError {
                    message: format!("expected a word or a string, found `{}`", v.text),
                    help: Some(format!("put it in double quotes: \"{}\"", v.text)),
                    si_unit: false,
                }));
            }
        }
        Kind::OneOf(words) => {
            if !v.quoted && words.contains(&v.text.as_str()) {
                Typed::Text(v.text.clone())
            } else {
                return Err(unknown_word(words));
            }
        }
        Kind::IntOr(words) => {
            if !v.quoted && words.contains(&v.text.as_str()) {
                Typed::Text(v.text.clone())
            } else if let Ok(i) = value::integer(v) {
                Typed::Int(i)
            } else {
                return Err(unknown_word(words));
            }
        }
    })
}

/// Check one statement's shape in `context`; `None` when it has errors (already reported).
pub fn check<'a>(stmt: &'a Statement, context: Context, diags: &mut Vec<Diagnostic>) -> Option<Fields<'a>> {
    let Some(spec) = lookup(context, &stmt.keyword.text) else {
        diags.push(unknown_statement(stmt, context));
        return None;
    };
    let before = diags.len();
    argument_count(stmt, spec, diags);
    let args = arguments(stmt, spec, diags);
    let props = properties(stmt, spec, diags);
    required(stmt, spec, diags);
    block(stmt, spec, diags);
    // Only errors stop a statement; the table itself leans on no other part of the checker.
    if diags[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(Fields {
        stmt,
        spec,
        args,
        props,
    })
}

/// A statement not known in `context`: a near miss, the context it belongs to, or the
/// statements known here.
fn unknown_statement(stmt: &Statement, context: Context) -> Diagnostic {
    let kw = &stmt.keyword;
    let here: Vec<&str> = SCHEMA
        .iter()
        .filter(|s| s.context == context)
        .map(|s| s.keyword)
        .collect();
    let mut d = Diagnostic::error(
        UNKNOWN_STATEMENT,
        format!("unknown statement `{}` {}", kw.text, context.describe()),
        kw.span,
        "not known here",
    );
    d = match suggest(&kw.text, here.iter().copied()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => match SCHEMA.iter().find(|s| s.keyword == kw.text) {
            Some(other) => d.with_help(format!("`{}` belongs {}", kw.text, other.context.describe())),
            None => d.with_help(format!("statements {}: {}", context.describe(), one_of(&here))),
        },
    };
    d
}

fn argument_count(stmt: &Statement, spec: &StmtSpec, diags: &mut Vec<Diagnostic>) {
    let min = spec.args.len() - usize::from(spec.optional_last && !spec.args.is_empty());
    if stmt.args.len() < min || stmt.args.len() > spec.args.len() {
        let expected: Vec<&str> = spec.args.iter().map(|(n, _)| *n).collect();
        let usage = if expected.is_empty() {
            format!("`{}` takes no arguments, only `key=value` properties", spec.keyword)
        } else {
            format!("write `{} {}`", spec.keyword, expected.join(" "))
        };
        let span = if stmt.args.len() > spec.args.len() {
            stmt.args[spec.args.len()].span.to(stmt.args[stmt.args.len() - 1].span)
        } else {
            stmt.head_span()
        };
        diags.push(
            Diagnostic::error(
                ARGUMENTS,
                format!(
                    "`{}` takes {} argument{}, found {}",
                    spec.keyword,
                    spec.args.len(),
                    if spec.args.len() == 1 { "" } else { "s" },
                    stmt.args.len()
                ),
                span,
                if stmt.args.len() > spec.args.len() {
                    "unexpected"
                } else {
                    "arguments missing"
                },
            )
            .with_help(usage),
        );
    }
}

/// Each argument converted to its kind.
fn arguments(stmt: &Statement, spec: &StmtSpec, diags: &mut Vec<Diagnostic>) -> Vec<(Typed, Span)> {
    let mut args = Vec::new();
    for (v, (_, kind)) in stmt.args.iter().zip(spec.args) {
        match convert(*kind, v) {
            Ok(t) => args.push((t, v.span)),
            Err(d) => diags.push(d),
        }
    }
    args
}

/// Each property known to the statement, given once, converted to its kind.
fn properties(stmt: &Statement, spec: &StmtSpec, diags: &mut Vec<Diagnostic>) -> Vec<(&'static str, Typed, Span)> {
    let mut props: Vec<(&'static str, Typed, Span)> = Vec::new();
    for prop in &stmt.props {
        let Some(ps) = spec.props.iter().find(|ps| ps.key == prop.key.text) else {
            let keys: Vec<&str> = spec.props.iter().map(|p| p.key).collect();
            let mut d = Diagnostic::error(
                UNKNOWN_PROPERTY,
                format!("unknown property `{}` for `{}`", prop.key.text, spec.keyword),
                prop.key.span,
                "not a property of this statement",
            );
            d = match suggest(&prop.key.text, keys.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None if keys.is_empty() => d.with_help(format!("`{}` takes no properties", spec.keyword)),
                None => d.with_help(format!("`{}` takes {}", spec.keyword, one_of(&keys))),
            };
            diags.push(d);
            continue;
        };
        if let Some((_, _, first)) = props.iter().find(|(k, _, _)| *k == ps.key) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE,
                    format!("`{}` is given twice", ps.key),
                    prop.key.span,
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help("remove one of them"),
            );
            continue;
        }
        match convert(ps.kind, &prop.value) {
            Ok(t) => props.push((ps.key, t, prop.value.span)),
            Err(d) => diags.push(d),
        }
    }
    props
}

fn required(stmt: &Statement, spec: &StmtSpec, diags: &mut Vec<Diagnostic>) {
    for ps in spec.props.iter().filter(|ps| ps.required) {
        if !stmt.props.iter().any(|p| p.key.text == ps.key) {
            diags.push(
                Diagnostic::error(
                    MISSING,
                    format!("`{}` needs `{}=`", spec.keyword, ps.key),
                    stmt.head_span(),
                    format!("`{}` missing", ps.key),
                )
                .with_help(format!("add `{}=` with {}: {}", ps.key, ps.kind.describe(), ps.doc)),
            );
        }
    }
}

/// A block where the statement takes one, and none where it does not.
fn block(stmt: &Statement, spec: &StmtSpec, diags: &mut Vec<Diagnostic>) {
    match (&stmt.block, spec.block) {
        (Some(b), None) => diags.push(
            Diagnostic::error(
                BLOCK,
                format!("`{}` takes no block", spec.keyword),
                b.span,
                "unexpected block",
            )
            .with_help("remove the `{ ... }`"),
        ),
        (None, Some(_)) if spec.keyword != "host" => diags.push(
            Diagnostic::error(
                BLOCK,
                format!("`{}` needs a block", spec.keyword),
                stmt.head_span(),
                "no `{ ... }` follows",
            )
            .with_help(format!("write `{} {{ ... }}`", spec.keyword)),
        ),
        _ => {}
    }
}

/// Report statements that may appear only once in a block.
pub fn check_repeats(stmts: &[Statement], context: Context, diags: &mut Vec<Diagnostic>) {
    for (i, s) in stmts.iter().enumerate() {
        let Some(spec) = lookup(context, &s.keyword.text) else {
            continue;
        };
        if spec.repeatable {
            continue;
        }
        if let Some(first) = stmts[..i].iter().find(|o| o.keyword.text == s.keyword.text) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE,
                    format!("`{}` is given twice", spec.keyword),
                    s.keyword.span,
                    "again here",
                )
                .with_label(first.keyword.span, "first here")
                .with_help(format!(
                    "a {} holds one `{}`; merge them",
                    context_noun(context),
                    spec.keyword
                )),
            );
        }
    }
}

fn context_noun(c: Context) -> &'static str {
    match c {
        Context::File => "file",
        Context::Guest => "guest",
        Context::Numa => "`numa` block",
        Context::Host => "host",
        Context::Devices => "`devices` block",
    }
}
