//! The context every guest pass shares: where diagnostics go, the host the guest is
//! checked against, and the errors more than one pass reports.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::sets::IdSet;
use crate::span::Span;

/// The host a guest is checked against.
pub struct HostRef<'h> {
    pub index: usize,
    pub name: &'h str,
    pub profile: &'h HostProfile,
    /// The libvirt and QEMU the host runs.
    pub target: &'h crate::host::target::Target,
}

pub(super) struct Cx<'a, 'h> {
    pub(super) diags: &'a mut Vec<Diagnostic>,
    pub(super) host: Option<&'a HostRef<'h>>,
    pub(super) guest_span: Span,
}

impl Cx<'_, '_> {
    pub(super) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The host, or an error saying this statement needs one.
    pub(super) fn need_host(&mut self, what: &str, span: Span) -> Option<&HostProfile> {
        match self.host {
            Some(h) => Some(h.profile),
            None => {
                self.diags.push(
                    Diagnostic::error(HOST_NEEDED, format!("{what} needs a host"), span, "host-dependent")
                        .with_label(self.guest_span, "this guest has no host")
                        .with_help("define a host (`host NAME from=\"caps.xml\"`) and give the guest `on=NAME`"),
                );
                None
            }
        }
    }

    pub(super) fn check_nodes(&mut self, nodes: &IdSet, span: Span) -> bool {
        let Some(h) = self.host else { return false };
        let missing = nodes.difference(&h.profile.node_ids());
        if missing.is_empty() {
            return true;
        }
        self.diags.push(
            Diagnostic::error(
                HOST_NODE,
                format!("host `{}` has no node {missing}", h.name),
                span,
                "no such host node",
            )
            .with_help(format!("host `{}` has nodes {}", h.name, h.profile.node_ids())),
        );
        false
    }

    pub(super) fn check_cpus(&mut self, cpus: &IdSet, span: Span) -> bool {
        let Some(h) = self.host else { return false };
        // A look-up per CPU named: the host's whole set is built only for the help.
        let missing: IdSet = cpus.iter().filter(|&c| h.profile.cpu(c).is_none()).collect();
        if missing.is_empty() {
            return true;
        }
        let all = h.profile.cpu_ids();
        self.diags.push(
            Diagnostic::error(
                HOST_CPU,
                format!("host `{}` has no CPU {missing}", h.name),
                span,
                "no such host CPU",
            )
            .with_help(format!("host `{}` has CPUs {all}", h.name)),
        );
        false
    }
}

/// Whether a diagnostic from index `before` on is an error. Only errors stop a step's
/// output; warnings and notes never do.
pub(crate) fn errors_since(diags: &[Diagnostic], before: usize) -> bool {
    diags.get(before..).is_some_and(|d| d.iter().any(Diagnostic::is_error))
}

pub fn preferred_error(nodes: &IdSet, span: Span) -> Diagnostic {
    Diagnostic::error(
        PREFERRED_ONE_NODE,
        format!("`preferred` takes one node, found {nodes}"),
        span,
        "several nodes",
    )
    .with_help(format!(
        "name a single node (e.g. `{}`), or use `interleave` to spread memory over {nodes}",
        nodes.first().unwrap_or(0)
    ))
}
