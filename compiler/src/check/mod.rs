//! Semantic checks: files → hosts and guests → the checked model (`ir::Build`).

pub mod codes;
pub mod devices;
pub mod fit;
pub mod guest;
pub mod host_block;
pub mod memdev;
pub mod numa;
pub mod pins;
pub mod schema;
pub mod vnuma;

use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir;
use crate::span::{FileId, Span};
use crate::syntax::ast;
use codes::*;
use schema::{Context, Fields};
use std::path::{Path, PathBuf};

/// A parsed file taking part in the build.
pub struct LoadedFile<'a> {
    pub id: FileId,
    pub path: &'a Path,
    pub ast: &'a ast::File,
}

/// Where host profiles come from: files next to the sources, and this machine.
pub trait HostSources {
    fn read_text(&self, path: &Path) -> Result<String, String>;
    fn probe(&self, name: &str) -> Result<HostProfile, String>;
}

/// A host profile with the place it was defined.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostDef {
    pub name: String,
    pub span: Span,
    pub profile: HostProfile,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Checked {
    pub build: ir::Build,
    /// Every host statement in order; `None` where the profile could not be loaded.
    pub hosts: Vec<Option<HostDef>>,
    /// For each guest in `build`, the index of its host in `hosts`.
    pub guest_hosts: Vec<Option<usize>>,
}

pub fn check_program(files: &[LoadedFile<'_>], sources: &dyn HostSources, diags: &mut Vec<Diagnostic>) -> Checked {
    let mut host_stmts: Vec<(Fields<'_>, &Path)> = Vec::new();
    let mut guest_stmts: Vec<Fields<'_>> = Vec::new();
    for file in files {
        for stmt in &file.ast.statements {
            let Some(f) = schema::check(stmt, Context::File, diags) else {
                continue;
            };
            match f.keyword() {
                "host" => host_stmts.push((f, file.path)),
                "guest" => guest_stmts.push(f),
                _ => {}
            }
        }
    }
    duplicate_names(host_stmts.iter().map(|(f, _)| f), "host", diags);
    duplicate_names(guest_stmts.iter(), "guest", diags);

    let mut hosts: Vec<Option<HostDef>> = Vec::new();
    for (f, path) in &host_stmts {
        hosts.push(load_host(f, path, sources, diags));
    }

    let mut checked = Checked::default();
    let mut claims = Vec::new();
    let mut states: Vec<Option<vnuma::PlaceState>> = hosts.iter().map(|_| None).collect();
    let mut emulators: Vec<(usize, usize, u32)> = Vec::new();
    for g in &guest_stmts {
        let host_index = match resolve_host(g, &host_stmts, diags) {
            Ok(i) => i,
            Err(()) => continue,
        };
        // A host that failed to load has been reported; its guests are not checked further.
        let host_ref = match host_index {
            Some(i) => match &hosts[i] {
                Some(h) => Some(guest::HostRef {
                    index: i,
                    name: &h.name,
                    profile: &h.profile,
                }),
                None => continue,
            },
            None => None,
        };
        let state = match (host_index, &host_ref) {
            (Some(i), Some(h)) => Some(&mut *states[i].get_or_insert_with(|| vnuma::PlaceState::new(h.profile))),
            _ => None,
        };
        let r = guest::check_guest(g, host_ref.as_ref(), state, diags);
        if let (false, Some(i)) = (r.placed, host_index)
            && let Some(st) = states[i].as_mut()
        {
            record_claims(st, hosts[i].as_ref().map(|h| &h.profile), &r.claims);
        }
        claims.extend(r.claims);
        if let Some(guest) = r.guest {
            if let (Some(node), Some(h)) = (r.emulator_node, host_index) {
                emulators.push((checked.build.guests.len(), h, node));
            }
            checked.build.guests.push(guest);
            checked.guest_hosts.push(host_index);
        }
    }
    place_emulators(&mut checked, &hosts, &states, &emulators, &guest_stmts, diags);
    let loaded: Vec<Option<&HostProfile>> = hosts.iter().map(|h| h.as_ref().map(|h| &h.profile)).collect();
    fit::check_fit(&loaded, &host_names(&host_stmts), &claims, diags);
    checked.hosts = hosts;
    checked
}

fn host_names(host_stmts: &[(Fields<'_>, &Path)]) -> Vec<String> {
    host_stmts
        .iter()
        .map(|(f, _)| f.arg_text(0).unwrap_or_default().to_string())
        .collect()
}

fn duplicate_names<'a, 'b: 'a>(stmts: impl Iterator<Item = &'a Fields<'b>>, what: &str, diags: &mut Vec<Diagnostic>) {
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for f in stmts {
        let Some(name) = f.arg_text(0) else { continue };
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE_NAME,
                    format!("{what} `{name}` is defined twice"),
                    f.arg_span(0),
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help(format!("give each {what} its own name")),
            );
        } else {
            seen.push((name, f.arg_span(0)));
        }
    }
}

fn resolve_host(
    g: &Fields<'_>,
    hosts: &[(Fields<'_>, &Path)],
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<usize>, ()> {
    let names: Vec<&str> = hosts.iter().filter_map(|(f, _)| f.arg_text(0)).collect();
    match g.text("on") {
        Some(on) => match hosts.iter().position(|(f, _)| f.arg_text(0) == Some(on)) {
            Some(i) => Ok(Some(i)),
            None => {
                let mut d = Diagnostic::error(
                    UNKNOWN_HOST,
                    format!("no host named `{on}`"),
                    g.span_of("on"),
                    "unknown host",
                );
                d = match schema::suggest(on, names.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None if names.is_empty() => d.with_help(format!("define it: `host {on} from=\"{on}.caps.xml\"`")),
                    None => d.with_help(format!("hosts defined: {}", names.join(", "))),
                };
                diags.push(d);
                Err(())
            }
        },
        None => match hosts.len() {
            0 => Ok(None),
            1 => Ok(Some(0)),
            _ => {
                diags.push(
                    Diagnostic::error(
                        UNKNOWN_HOST,
                        "several hosts are defined; say which one this guest runs on",
                        g.arg_span(0),
                        "which host?",
                    )
                    .with_help(format!("add `on=` with one of: {}", names.join(", "))),
                );
                Err(())
            }
        },
    }
}

fn load_host(f: &Fields<'_>, file: &Path, sources: &dyn HostSources, diags: &mut Vec<Diagnostic>) -> Option<HostDef> {
    let name = f.arg_text(0).unwrap_or_default().to_string();
    let probe = f.bool("probe").unwrap_or(false);
    let external = usize::from(f.has("from")) + usize::from(probe);
    // A block next to `from=`/`probe=` only adds to the imported profile (reserve, pci).
    let n_sources = external + usize::from(f.stmt.block.is_some() && external == 0);
    if n_sources != 1 {
        diags.push(
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
            .with_help("write `host NAME from=\"caps.xml\"`, `host NAME probe=true` or `host NAME { node ... }`; a block after `from=` or `probe=` may add `reserve` and `pci` lines"),
        );
        return None;
    }
    let profile = if let Some(rel) = f.text("from") {
        let path = resolve_relative(file, rel);
        let text = match sources.read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        CAPS_XML,
                        format!("cannot read {}: {e}", path.display()),
                        f.span_of("from"),
                        "host capabilities file",
                    )
                    .with_help(
                        "the path is relative to this .vnuma file; `virsh capabilities > host.caps.xml` makes one",
                    ),
                );
                return None;
            }
        };
        match crate::host::caps::from_capabilities_xml(&name, &text) {
            Ok(p) => p,
            Err(e) => {
                let at = e
                    .offset
                    .map(|o| {
                        let (l, c) = crate::source::line_col(&text, o);
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
                return None;
            }
        }
    } else if probe {
        match sources.probe(&name) {
            Ok(p) => p,
            Err(e) => {
                diags.push(
                    Diagnostic::error(PROBE, format!("cannot probe this machine: {e}"), f.span_of("probe"), "probe failed")
                        .with_help("run `vnumac host probe` to see what /sys holds, or use `from=` with `virsh capabilities` output"),
                );
                return None;
            }
        }
    } else {
        host_block::build_inline(&name, f, diags)?
    };
    let profile = if external > 0 && f.stmt.block.is_some() {
        host_block::overlay(profile, f, diags)?
    } else {
        profile
    };
    Some(HostDef {
        name,
        span: f.arg_span(0),
        profile,
    })
}

/// A path written in a file, relative to that file's directory.
pub fn resolve_relative(file: &Path, rel: &str) -> PathBuf {
    let rel = Path::new(rel);
    if rel.is_absolute() {
        return rel.to_path_buf();
    }
    file.parent().map(|d| d.join(rel)).unwrap_or_else(|| rel.to_path_buf())
}

/// A hand-placed guest's memory claims, so `vnuma` guests placed later see them.
fn record_claims(state: &mut vnuma::PlaceState, host: Option<&HostProfile>, claims: &[guest::NodeClaim]) {
    let Some(host) = host else { return };
    for c in claims {
        let Some(i) = host.node_index(c.node) else { continue };
        match c.page_kib {
            Some(size) => state.ledger.add_pages(i, size, c.kib / size.max(1)),
            None => state.ledger.memory_used[i] += c.kib,
        }
    }
}

/// Emulator threads of placed guests: a reserved CPU of cell 0's node when the host
/// reserves any there, else that node's CPUs that no dedicated vCPU of the build uses.
fn place_emulators(
    checked: &mut Checked,
    hosts: &[Option<HostDef>],
    states: &[Option<vnuma::PlaceState>],
    emulators: &[(usize, usize, u32)],
    guest_stmts: &[Fields<'_>],
    diags: &mut Vec<Diagnostic>,
) {
    for &(gi, hi, node) in emulators {
        let (Some(Some(host)), Some(Some(state))) = (hosts.get(hi), states.get(hi)) else {
            continue;
        };
        let Some(n) = host.profile.node(node) else { continue };
        let reserved = n.cpus.intersection(&host.profile.reserved);
        let pin = if reserved.is_empty() {
            n.cpus.difference(&state.ledger.dedicated)
        } else {
            reserved
        };
        let Some(guest) = checked.build.guests.get_mut(gi) else {
            continue;
        };
        if pin.is_empty() {
            let span = guest_stmts
                .iter()
                .find(|g| g.arg_text(0) == Some(guest.name.as_str()))
                .map(|g| g.arg_span(0))
                .unwrap_or_default();
            diags.push(
                Diagnostic::error(
                    EMULATOR_NO_CPU,
                    format!(
                        "every CPU of host node {node} runs a dedicated vCPU, leaving none for `{}`'s emulator threads",
                        guest.name
                    ),
                    span,
                    "emulator threads need a CPU",
                )
                .with_help(format!(
                    "reserve a CPU on node {node} for the host (`reserve cpus=…`), or write `emulator cpus=…`"
                )),
            );
            continue;
        }
        guest.emulator_pin = Some(pin);
    }
}
