//! Semantic checks: files → hosts and guests → the checked model (`ir::Build`).

pub mod codes;
pub mod cpu;
pub mod devices;
pub mod fit;
pub mod guest;
pub mod hmat;
pub mod host_block;
pub mod memdev;
pub mod numa;
pub mod pins;
pub mod policy;
pub mod schema;
pub mod step;
pub mod values;
pub mod vnuma;

use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir;
use crate::place::topo::Ledger;
use crate::sets::IdSet;
use crate::span::Span;
use crate::syntax::ast;
use codes::*;
use schema::Fields;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

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
    /// Where each node of `profile.nodes` was written: its `node` line, or the `from=`/`probe=`
    /// that brought it in.
    pub node_spans: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Checked {
    pub build: ir::Build,
    /// Every host statement in order; `None` where the profile could not be loaded.
    pub hosts: Vec<Option<HostDef>>,
    /// For each guest in `build`, the index of its host in `hosts`.
    pub guest_hosts: Vec<Option<usize>>,
}

impl Checked {
    /// The host of the guest at `index` in `build`, when it has one that loaded.
    pub fn host_of(&self, index: usize) -> Option<&HostDef> {
        self.guest_hosts
            .get(index)
            .copied()
            .flatten()
            .and_then(|h| self.hosts.get(h))
            .and_then(Option::as_ref)
    }
}

/// Whether a diagnostic from index `before` on is an error. Only errors stop a step's
/// output; warnings and notes never do.
pub(crate) fn errors_since(diags: &[Diagnostic], before: usize) -> bool {
    diags.get(before..).is_some_and(|d| d.iter().any(Diagnostic::is_error))
}

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

/// Guests named by a warning of their own when they share a `pin` statement's CPUs; any
/// more are summed up in one further warning.
pub const SHARERS_NAMED: usize = 8;

/// A hand-written guest's pinned CPUs go into the host's ledger: automatic guests placed
/// later never land on them (vCPUs or emulator threads), and automatic emulator threads
/// never run on its vCPUs' CPUs. Returns a warning for each earlier guest whose CPUs a
/// `pin` statement shares (the first [`SHARERS_NAMED`] of them, and one for the rest),
/// unless the statement says `shared=true`.
///
/// The cost is the CPUs of the guest's distinct pins, a few earlier guests per CPU and the
/// warnings: never every earlier guest per pin.
pub fn record_pins(
    ledger: &mut Ledger,
    topo: &crate::place::topo::HostTopo,
    guest: &crate::ir::Guest,
    diags: &mut Vec<Diagnostic>,
) {
    let shared: HashSet<Span> = guest.spans.shared_pins.iter().copied().collect();
    // A statement's vCPUs all have its CPUs: each (statement, CPUs) once, at its first vCPU.
    let mut seen: HashSet<(Span, &IdSet)> = HashSet::new();
    let mut warned: HashSet<(Span, &str)> = HashSet::new();
    let mut summed: HashSet<Span> = HashSet::new();
    let mut sets: Vec<&IdSet> = Vec::new();
    for (p, span) in guest.pins.iter().zip(&guest.spans.pins) {
        if !seen.insert((*span, &p.cpus)) {
            continue;
        }
        sets.push(&p.cpus);
        if shared.contains(span) {
            continue;
        }
        let (named, more) = ledger.owners.sharing(&p.cpus, &guest.name, SHARERS_NAMED);
        for (other, cpus) in named {
            if warned.insert((*span, other)) {
                diags.push(shared_with(guest, p, *span, other, &p.cpus.intersection(cpus)));
            }
        }
        if more && summed.insert(*span) {
            diags.push(shared_with_more(
                guest,
                p,
                *span,
                &p.cpus.intersection(ledger.owners.cpus()),
            ));
        }
    }
    let vcpu_cpus = sets.iter().fold(IdSet::new(), |all, s| all.union(s));
    let mut all = vcpu_cpus.clone();
    if let Some(e) = &guest.emulator_pin {
        all = all.union(e);
    }
    if all.is_empty() {
        return;
    }
    ledger.take(topo, &all);
    ledger.dedicated = ledger.dedicated.union(&vcpu_cpus);
    if !vcpu_cpus.is_empty() {
        std::sync::Arc::make_mut(&mut ledger.owners).add(&guest.name, vcpu_cpus);
    }
}

fn shared_with(guest: &crate::ir::Guest, p: &crate::ir::VcpuPin, span: Span, other: &str, both: &IdSet) -> Diagnostic {
    Diagnostic::warning(
        PINS_SHARED,
        format!("vCPU {} runs on host CPUs {both}, which guest `{other}` also runs on", p.vcpu),
        span,
        format!("shared with `{other}`"),
    )
    .with_help(format!(
        "guests `{}` and `{other}` compete for these CPUs; pin to others, or write `shared=true` on this `pin` if the sharing is intended",
        guest.name
    ))
}

fn shared_with_more(guest: &crate::ir::Guest, p: &crate::ir::VcpuPin, span: Span, cpus: &IdSet) -> Diagnostic {
    Diagnostic::warning(
        PINS_SHARED,
        format!(
            "vCPU {} runs on host CPUs {cpus}, which more guests than the {SHARERS_NAMED} named also run on",
            p.vcpu
        ),
        span,
        "shared with more guests",
    )
    .with_help(format!(
        "`{}` competes with all of them; only the first {SHARERS_NAMED} guests sharing a `pin` get a warning each; pin to others, or write `shared=true` on this `pin` if the sharing is intended",
        guest.name
    ))
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
            d = match schema::suggest(on, names.iter().copied()) {
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
    let origin = if f.has("from") {
        f.span_of("from")
    } else if probe {
        f.span_of("probe")
    } else {
        f.span()
    };
    let node_lines: Vec<&ast::Statement> = f
        .stmt
        .block
        .iter()
        .flat_map(|b| &b.statements)
        .filter(|s| s.keyword.text == "node")
        .collect();
    let node_spans = profile
        .nodes
        .iter()
        .map(|n| {
            node_lines
                .iter()
                .find(|s| s.args.first().is_some_and(|a| a.text.parse() == Ok(n.id)))
                .map(|s| s.span)
                .unwrap_or(origin)
        })
        .collect();
    Some(HostDef {
        name,
        span: f.arg_span(0),
        profile,
        node_spans,
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
pub fn record_claims(ledger: &mut Ledger, host: &HostProfile, claims: &[guest::NodeClaim]) {
    for c in claims {
        let Some(i) = host.node_index(c.node) else { continue };
        match c.page_kib {
            Some(size) => ledger.add_pages(i, size, c.kib / size.max(1)),
            None => ledger.memory_used[i] += c.kib,
        }
    }
}

/// A placed guest whose emulator threads still need CPUs.
pub struct Emulator {
    /// Index of the guest in the build.
    pub guest: usize,
    pub host: usize,
    /// The host node of its cell 0.
    pub node: u32,
    /// The guest's name, to report at.
    pub span: Span,
}

/// Emulator threads of a placed guest: a reserved CPU of cell 0's node when the host
/// reserves any there, else that node's CPUs that no dedicated vCPU of the build uses;
/// an error when there are none.
pub fn emulator_pin(host: &HostDef, ledger: &Ledger, e: &Emulator, guest: &str) -> Option<Result<IdSet, Diagnostic>> {
    let node = e.node;
    let n = host.profile.node(node)?;
    let reserved = n.cpus.intersection(&host.profile.reserved);
    let pin = if reserved.is_empty() {
        n.cpus.difference(&ledger.dedicated).difference(&ledger.taken)
    } else {
        reserved
    };
    if !pin.is_empty() {
        return Some(Ok(pin));
    }
    Some(Err(Diagnostic::error(
        EMULATOR_NO_CPU,
        format!("every CPU of host node {node} runs a dedicated vCPU, leaving none for `{guest}`'s emulator threads"),
        e.span,
        "emulator threads need a CPU",
    )
    .with_help(format!(
        "reserve a CPU on node {node} for the host (`reserve cpus=…`), or write `emulator cpus=…`"
    ))))
}

/// [`emulator_pin`] for every placed guest of the build.
pub fn place_emulators(
    checked: &mut Checked,
    hosts: &[Option<&HostDef>],
    ledgers: &[Option<&Ledger>],
    emulators: &[Emulator],
    diags: &mut Vec<Diagnostic>,
) {
    for e in emulators {
        let (Some(Some(host)), Some(Some(ledger))) = (hosts.get(e.host), ledgers.get(e.host)) else {
            continue;
        };
        let Some(guest) = checked.build.guests.get_mut(e.guest) else {
            continue;
        };
        match emulator_pin(host, ledger, e, &guest.name) {
            Some(Ok(pin)) => guest.emulator_pin = Some(pin),
            Some(Err(d)) => diags.push(d),
            None => {}
        }
    }
}
