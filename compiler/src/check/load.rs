//! `host NAME from= | probe= | { ... }`: a host profile loaded from its source.

use super::checked::HostDef;
use super::host_block;
use super::host_target;
use super::values;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::lang::Fields;
use crate::span::Span;
use crate::syntax::ast;
use std::path::{Path, PathBuf};

/// Where host profiles come from: files next to the sources, and this machine.
pub trait HostSources {
    /// A file's text, borrowed from where it is kept.
    fn read_text(&self, path: &Path) -> Result<&str, String>;
    fn probe(&self, name: &str) -> Result<HostProfile, String>;
}

/// A character a host name may not hold: what a terminal acts on (ESC, BEL, CR, bidi
/// overrides) and what XML 1.0 cannot carry (U+FFFE, U+FFFF).
pub fn host_name_refuses(c: char) -> bool {
    crate::terminal::is_unsafe(c) || c == '\n' || c == '\t' || values::not_xml_char(c)
}

pub fn load_host(
    f: &Fields<'_>,
    file: &Path,
    sources: &dyn HostSources,
    diags: &mut Vec<Diagnostic>,
) -> Option<HostDef> {
    let name = f.arg_text(0).unwrap_or_default().to_string();
    if let Some(c) = name.chars().find(|&c| host_name_refuses(c)) {
        diags.push(
            Diagnostic::error(
                HOST_NAME,
                format!("`{}` cannot be a host name", name.escape_debug()),
                f.arg_span(0),
                format!("holds `\\u{{{:x}}}`", u32::from(c)),
            )
            .with_help("host names are shown on terminals and in SVG pictures: leave out control characters"),
        );
    }
    let probe = f.bool("probe").unwrap_or(false);
    let external = usize::from(f.has("from")) + usize::from(probe);
    // A block next to `from=`/`probe=` only adds to the imported profile (reserve, pci).
    let n_sources = external + usize::from(f.stmt.block.is_some() && external == 0);
    if n_sources != 1 {
        diags.push(source_count_error(f, &name, n_sources));
        return None;
    }
    let profile = if let Some(rel) = f.text("from") {
        from_caps(f, &name, &resolve_relative(file, rel), sources, diags)?
    } else if probe {
        probe_machine(f, &name, sources, diags)?
    } else {
        host_block::build_inline(&name, f, diags)?
    };
    let profile = if external > 0 && f.stmt.block.is_some() {
        host_block::overlay(profile, f, diags)?
    } else {
        profile
    };
    let domcaps = f.text("domcaps").map(|rel| resolve_relative(file, rel));
    let target = host_target::load_target(f, domcaps, &|p| sources.read_text(p), diags)?;
    let origin = if f.has("from") {
        f.span_of("from")
    } else if probe {
        f.span_of("probe")
    } else {
        f.span()
    };
    Some(HostDef {
        name,
        span: f.arg_span(0),
        node_spans: node_spans(f, &profile, origin),
        profile: std::sync::Arc::new(profile),
        target,
    })
}

/// None or several of `from=`, `probe=true` and a block.
fn source_count_error(f: &Fields<'_>, name: &str, n_sources: usize) -> Diagnostic {
    Diagnostic::error(
            HOST_SOURCE,
            if n_sources == 0 {
                format!("host `{name}` has no source")
            } else {
                format!("host `{name}` has more than one source")
            },
            f.stmt.head_span(),
            "one of from=, probe=true or { ... }",
        )
        .with_help("write `host NAME from=\"caps.xml\"`, `host NAME probe=true` or `host NAME { node ... }`; a block after `from=` or `probe=` may add `reserve` and `pci` lines")
}

/// `from="caps.xml"`: `virsh capabilities` output, read and parsed.
fn from_caps(
    f: &Fields<'_>,
    name: &str,
    path: &Path,
    sources: &dyn HostSources,
    diags: &mut Vec<Diagnostic>,
) -> Option<HostProfile> {
    let text = match sources.read_text(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    CAPS_XML,
                    format!("cannot read {}: {e}", path.display()),
                    f.span_of("from"),
                    "host capabilities file",
                )
                .with_help("the path is relative to this .vnuma file; `virsh capabilities > host.caps.xml` makes one"),
            );
            return None;
        }
    };
    match crate::host::caps::from_capabilities_xml(name, text) {
        Ok(p) => Some(p),
        Err(e) => {
            let at = e
                .offset
                .map(|o| {
                    let (l, c) = crate::source::line_col(text, o);
                    format!(" (line {l}, column {c})")
                })
                .unwrap_or_default();
            diags.push(
                Diagnostic::error(
                    CAPS_XML,
                    format!("{}{at}: {}", path.display(), e.message),
                    f.span_of("from"),
                    "not usable host capabilities",
                )
                .with_help("give the output of `virsh capabilities`"),
            );
            None
        }
    }
}

/// `probe=true`: this machine's /sys.
fn probe_machine(
    f: &Fields<'_>,
    name: &str,
    sources: &dyn HostSources,
    diags: &mut Vec<Diagnostic>,
) -> Option<HostProfile> {
    match sources.probe(name) {
        Ok(p) => Some(p),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    PROBE,
                    format!("cannot probe this machine: {e}"),
                    f.span_of("probe"),
                    "probe failed",
                )
                .with_help(
                    "run `vnumac host probe` to see what /sys holds, or use `from=` with `virsh capabilities` output",
                ),
            );
            None
        }
    }
}

/// Where each node was written: its `node` line, or the source that brought it in.
fn node_spans(f: &Fields<'_>, profile: &HostProfile, origin: Span) -> Vec<Span> {
    let node_lines: Vec<&ast::Statement> = f
        .stmt
        .block
        .iter()
        .flat_map(|b| &b.statements)
        .filter(|s| s.keyword.text == "node")
        .collect();
    profile
        .nodes
        .iter()
        .map(|n| {
            node_lines
                .iter()
                .find(|s| s.args.first().is_some_and(|a| a.text.parse() == Ok(n.id)))
                .map(|s| s.span)
                .unwrap_or(origin)
        })
        .collect()
}

/// A path written in a file, relative to that file's directory.
pub fn resolve_relative(file: &Path, rel: &str) -> PathBuf {
    let rel = Path::new(rel);
    if rel.is_absolute() {
        return rel.to_path_buf();
    }
    file.parent().map(|d| d.join(rel)).unwrap_or_else(|| rel.to_path_buf())
}
