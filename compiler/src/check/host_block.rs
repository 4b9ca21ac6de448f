//! An inline `host NAME { ... }` block → the same host profile as any other source.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::host::builder::*;
use crate::lang::{self, Context, Fields};
use crate::span::Span;

pub fn build_inline(name: &str, host: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> Option<HostProfile> {
    let body = host.stmt.block.as_ref().map(|b| b.statements.as_slice()).unwrap_or(&[]);
    lang::check_repeats(body, Context::Host, diags);
    let before = diags.len();
    let fields: Vec<Fields<'_>> = body
        .iter()
        .filter_map(|s| lang::check(s, Context::Host, diags))
        .collect();
    if super::cx::errors_since(diags, before) {
        return None;
    }
    let mut b = HostBuilder {
        name: name.to_string(),
        ..HostBuilder::default()
    };
    let mut spans = Spans::default();
    for f in &fields {
        declare(f, &mut b, &mut spans, diags);
    }
    if b.nodes.is_empty() {
        diags.push(
            Diagnostic::error(
                HOST_BLOCK,
                format!("host `{name}` has no nodes"),
                host.arg_span(0),
                "empty host",
            )
            .with_help("add `node 0 cpus=0-7 memory=32GiB`"),
        );
        return None;
    }
    let fallback = host.arg_span(0);
    match b.build() {
        Ok(p) => Some(p),
        Err(errors) => {
            for e in errors {
                // L3 domains have a code of their own: a wrong one only misleads placement.
                let code = match e.decl {
                    DeclRef::L3(_) => HOST_L3,
                    DeclRef::CacheBank(_) | DeclRef::BandwidthNode(_) => HOST_RESCTRL,
                    _ => HOST_BLOCK,
                };
                let mut d = Diagnostic::error(code, e.message.clone(), spans.at(&e.decl, fallback), "here")
                    .maybe_help(e.help.clone());
                if let Some(o) = &e.other {
                    d = d.with_label(spans.at(o, fallback), "the other place involved");
                }
                diags.push(d);
            }
            None
        }
    }
}

/// Where each declaration of the block was written.
#[derive(Default)]
struct Spans {
    nodes: Vec<Span>,
    siblings: Vec<Span>,
    cpu_groups: Vec<Span>,
    distances: Vec<Span>,
    hugepages: Vec<Span>,
    pci: Vec<Span>,
    l3: Vec<Span>,
    banks: Vec<Span>,
    bandwidth: Vec<Span>,
    reserve: Option<Span>,
    smt: Option<Span>,
}

impl Spans {
    /// Where a declaration was written; the host's name when it is not known.
    fn at(&self, r: &DeclRef, fallback: Span) -> Span {
        match r {
            DeclRef::Node(i) => self.nodes.get(*i).copied(),
            DeclRef::Siblings(i) => self.siblings.get(*i).copied(),
            DeclRef::CpuGroup(i) => self.cpu_groups.get(*i).copied(),
            DeclRef::Distance(i) => self.distances.get(*i).copied(),
            DeclRef::Hugepages(i) => self.hugepages.get(*i).copied(),
            DeclRef::Pci(i) => self.pci.get(*i).copied(),
            DeclRef::Reserve => self.reserve,
            DeclRef::Smt => self.smt,
            DeclRef::L3(i) => self.l3.get(*i).copied(),
            DeclRef::CacheBank(i) => self.banks.get(*i).copied(),
            DeclRef::BandwidthNode(i) => self.bandwidth.get(*i).copied(),
        }
        .unwrap_or(fallback)
    }
}

/// `pci ADDR node=N|none`: None when the device reports no NUMA affinity.
fn pci_node(f: &Fields<'_>) -> Option<u32> {
    (f.text("node") != Some("none")).then(|| id32(f.int("node")))
}

fn id32(v: Option<u64>) -> u32 {
    v.and_then(|v| u32::try_from(v).ok()).unwrap_or(u32::MAX)
}

/// One line of the block, declared to the builder with its span.
fn declare(f: &Fields<'_>, b: &mut HostBuilder, spans: &mut Spans, diags: &mut Vec<Diagnostic>) {
    match f.keyword() {
        "node" => node(f, b, spans, diags),
        "smt" => {
            b.smt = Some(match f.arg_text(0) {
                Some("split") => SmtRule::Split,
                Some("adjacent") => SmtRule::Adjacent,
                _ => SmtRule::None,
            });
            spans.smt = Some(f.span());
        }
        "siblings" => {
            b.siblings.push(SiblingsDecl {
                cpus: f.arg_set(0).cloned().unwrap_or_default(),
                core: f.int("core").map(|v| id32(Some(v))),
            });
            spans.siblings.push(f.span());
        }
        "cpu" => {
            b.cpu_groups.push(CpuGroupDecl {
                cpus: f.arg_set(0).cloned().unwrap_or_default(),
                socket: f.int("socket").map(|v| id32(Some(v))),
                die: f.int("die").map(|v| id32(Some(v))),
            });
            spans.cpu_groups.push(f.span());
        }
        "l3" => {
            b.l3.push(f.arg_set(0).cloned().unwrap_or_default());
            spans.l3.push(f.span());
        }
        "distance" => {
            b.distances.push(DistanceDecl {
                from: id32(f.arg_int(0)),
                to: id32(f.arg_int(1)),
                value: id32(f.arg_int(2)),
            });
            spans.distances.push(f.span());
        }
        "hugepages" => {
            b.hugepages.push(HugepagesDecl {
                node: id32(f.int("node")),
                size_kib: f.size("size").unwrap_or(0) / 1024,
                count: f.int("count").unwrap_or(0),
            });
            spans.hugepages.push(f.span());
        }
        "reserve" => reserve(f, b, spans, diags),
        "cache-bank" => {
            b.resctrl.banks.push(super::host_resctrl::cache_bank(f, diags));
            spans.banks.push(f.span());
        }
        "bandwidth-node" => {
            b.resctrl.bandwidth.push(super::host_resctrl::bandwidth_node(f));
            spans.bandwidth.push(f.span());
        }
        "pci" => {
            b.pci.push(PciDecl {
                address: f.arg_text(0).unwrap_or_default().to_string(),
                node: pci_node(f),
                name: f.text("name").map(str::to_string),
            });
            spans.pci.push(f.span());
        }
        _ => {}
    }
}

fn node(f: &Fields<'_>, b: &mut HostBuilder, spans: &mut Spans, diags: &mut Vec<Diagnostic>) {
    if !f.size("memory").unwrap_or(0).is_multiple_of(1024) || !f.size("free").unwrap_or(0).is_multiple_of(1024) {
        diags.push(
            Diagnostic::error(
                MEMORY_GRANULE,
                "node memory must be a whole number of KiB",
                f.span_of("memory"),
                "not a whole KiB",
            )
            .with_help("write it in `KiB`, `MiB` or `GiB`"),
        );
    }
    b.nodes.push(NodeDecl {
        id: id32(f.arg_int(0)),
        cpus: f.set("cpus").cloned().unwrap_or_default(),
        memory_kib: f.size("memory").unwrap_or(0) / 1024,
        free_kib: f.size("free").map(|v| v / 1024),
    });
    spans.nodes.push(f.stmt.head_span());
}

fn reserve(f: &Fields<'_>, b: &mut HostBuilder, spans: &mut Spans, diags: &mut Vec<Diagnostic>) {
    if !reserve_is_complete(f, diags) {
        return;
    }
    if let Some(c) = f.set("cpus") {
        b.reserved = b.reserved.union(c);
    }
    if let Some(m) = f.size("memory") {
        b.reserved_memory.push((f.int("node").map(|n| id32(Some(n))), m / 1024));
    }
    spans.reserve = Some(f.span());
}

/// `host NAME from="caps.xml" { reserve ...; pci ... }`: additions to an imported profile.
pub fn overlay(mut profile: HostProfile, host: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> Option<HostProfile> {
    let body = host.stmt.block.as_ref().map(|b| b.statements.as_slice()).unwrap_or(&[]);
    let before = diags.len();
    for stmt in body {
        let Some(f) = lang::check(stmt, Context::Host, diags) else {
            continue;
        };
        match f.keyword() {
            "reserve" => {
                if !reserve_is_complete(&f, diags) {
                    continue;
                }
                if let Some(m) = f.size("memory").map(|m| m / 1024) {
                    match f.int("node").map(|n| u32::try_from(n).unwrap_or(u32::MAX)) {
                        Some(id) => match profile.nodes.iter_mut().find(|n| n.id == id) {
                            Some(n) => n.reserved_kib = n.reserved_kib.saturating_add(m),
                            None => {
                                diags.push(
                                    Diagnostic::error(HOST_BLOCK, format!("the host has no node {id}"), f.span_of("node"), "no such node")
                                        .with_help(format!("the host has nodes {}", profile.node_ids())),
                                );
                                continue;
                            }
                        },
                        None => {
                            for n in profile.nodes.iter_mut().filter(|n| n.memory_kib > 0) {
                                n.reserved_kib = n.reserved_kib.saturating_add(m);
                            }
                        }
                    }
                }
                let Some(cpus) = f.set("cpus") else { continue };
                let missing = cpus.difference(&profile.cpu_ids());
                if !missing.is_empty() {
                    diags.push(
                        Diagnostic::error(HOST_BLOCK, format!("the host has no CPU {missing}"), f.span_of("cpus"), "no such CPU")
                            .with_help(format!("the host has CPUs {}", profile.cpu_ids())),
                    );
                    continue;
                }
                profile.reserved = profile.reserved.union(cpus);
            }
            "pci" => {
                let node = pci_node(&f);
                if let Some(node) = node
                    && profile.node(node).is_none()
                {
                    diags.push(
                        Diagnostic::error(HOST_BLOCK, format!("the host has no node {node}"), f.span_of("node"), "no such node")
                            .with_help(format!("the host has nodes {}", profile.node_ids())),
                    );
                    continue;
                }
                profile.pci.push(crate::host::HostPci {
                    address: f.arg_text(0).unwrap_or_default().to_string(),
                    node,
                    name: f.text("name").map(str::to_string),
                });
            }
            other => diags.push(
                Diagnostic::error(
                    HOST_SOURCE,
                    format!("`{other}` cannot be added to a host read with `from=` or `probe=`"),
                    f.stmt.keyword.span,
                    "the imported profile already says this",
                )
                .with_help("only `reserve` and `pci` may follow an imported host; write the whole host inline to change anything else"),
            ),
        }
    }
    profile.pci.sort_by(|a, b| a.address.cmp(&b.address));
    (!super::cx::errors_since(diags, before)).then_some(profile)
}

/// A `reserve` names CPUs, memory or both; `node=` goes with `memory=`.
fn reserve_is_complete(f: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> bool {
    if !f.has("cpus") && !f.has("memory") {
        diags.push(
            Diagnostic::error(
                HOST_BLOCK,
                "`reserve` names nothing to reserve",
                f.span(),
                "no cpus= or memory=",
            )
            .with_help("write `reserve cpus=0-1`, `reserve memory=4GiB` or `reserve memory=4GiB node=0`"),
        );
        return false;
    }
    if f.has("node") && !f.has("memory") {
        diags.push(
            Diagnostic::error(
                HOST_BLOCK,
                "`node=` says where `memory=` is reserved",
                f.span_of("node"),
                "no memory= to place",
            )
            .with_help("write `reserve memory=4GiB node=0`; reserved CPUs name their node by their ids"),
        );
        return false;
    }
    true
}
