//! Emulator threads of automatically placed guests: CPUs of cell 0's node that no
//! dedicated vCPU uses.

use super::checked::{Checked, HostDef};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::host::target::{LIBVIRT_THREAD_CONTEXT_EMULATOR_NODES, Version};
use crate::place::topo::Ledger;
use crate::sets::IdSet;
use crate::span::Span;

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

/// The host nodes the emulator threads pinned to `pin` run on, when a host with `libvirt`
/// preallocates memory only from those ([`LIBVIRT_THREAD_CONTEXT_EMULATOR_NODES`] and
/// later, as libvirt reads `<emulatorpin>`); None without a pin or with an older libvirt.
pub fn emulator_nodes(profile: &HostProfile, libvirt: Version, pin: Option<&IdSet>) -> Option<IdSet> {
    if libvirt < LIBVIRT_THREAD_CONTEXT_EMULATOR_NODES {
        return None;
    }
    let pin = pin?;
    Some(
        profile
            .nodes
            .iter()
            .filter(|n| !n.cpus.intersection(pin).is_empty())
            .map(|n| n.id)
            .collect(),
    )
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
            Some(Ok(pin)) => {
                guest.emulator_nodes = emulator_nodes(&host.profile, host.target.libvirt, Some(&pin));
                guest.emulator_pin = Some(pin);
            }
            Some(Err(d)) => diags.push(d),
            None => {}
        }
    }
}
