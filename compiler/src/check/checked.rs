//! What checking a program produces: the model of every guest, and the hosts they run on.

use crate::host::HostProfile;
use crate::ir;
use crate::span::Span;

/// A host profile with the place it was defined.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostDef {
    pub name: String,
    pub span: Span,
    /// Shared: the query that places a host in its file copies the rest.
    pub profile: std::sync::Arc<HostProfile>,
    /// The libvirt and QEMU the host runs (`libvirt=`, `qemu=`, `domcaps=`).
    pub target: crate::host::target::Target,
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
