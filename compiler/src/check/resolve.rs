//! Names across a program: hosts and guests defined twice, and the host each guest runs on.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::lang::{self, Fields};
use crate::span::Span;

/// Two hosts or two guests with one name.
pub fn duplicate_names(names: &[(String, Span)], what: &str, diags: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
    for (name, span) in names {
        if let Some(first) = seen.get(name.as_str()) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE_NAME,
                    format!("{what} `{name}` is defined twice"),
                    *span,
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help(format!("give each {what} its own name")),
            );
        } else {
            seen.insert(name, *span);
        }
    }
}

/// A guest names no host that exists, or several hosts exist and it names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoHost;

/// The index of the host a guest's `on=` names (or the only host); `Err` when there is none to pick.
pub fn host_index(on: Option<&str>, names: &[Option<String>]) -> Result<Option<u32>, NoHost> {
    match on {
        Some(on) => names
            .iter()
            .position(|n| n.as_deref() == Some(on))
            .map(|i| Some(i as u32))
            .ok_or(NoHost),
        None => match names.len() {
            0 => Ok(None),
            1 => Ok(Some(0)),
            _ => Err(NoHost),
        },
    }
}

/// [`host_index`] with the diagnostic for a guest whose host cannot be found.
pub fn resolve_host(
    g: &Fields<'_>,
    hosts: &[Option<String>],
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<u32>, NoHost> {
    let names: Vec<&str> = hosts.iter().filter_map(|n| n.as_deref()).collect();
    let found = host_index(g.text("on"), hosts);
    if found.is_ok() {
        return found;
    }
    match g.text("on") {
        Some(on) => {
            let mut d = Diagnostic::error(
                UNKNOWN_HOST,
                format!("no host named `{on}`"),
                g.span_of("on"),
                "unknown host",
            );
            d = match lang::suggest(on, names.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None if names.is_empty() => d.with_help(format!("define it: `host {on} from=\"{on}.caps.xml\"`")),
                None => d.with_help(format!("hosts defined: {}", names.join(", "))),
            };
            diags.push(d);
        }
        None => diags.push(
            Diagnostic::error(
                UNKNOWN_HOST,
                "several hosts are defined; say which one this guest runs on",
                g.arg_span(0),
                "which host?",
            )
            .with_help(format!("add `on=` with one of: {}", names.join(", "))),
        ),
    }
    Err(NoHost)
}
