//! What the host's target offers, from its `domcaps=`: a guest with more vCPUs than the
//! target's machine takes, a memory backing source or a memory device model the target does
//! not list. Nothing is checked against a list the document does not have.

use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::target::DomCaps;
use crate::ir::{MachineLine, MachineType};
use crate::lang::Fields;
use crate::span::Span;

/// The machine family of a machine type: `q35`, `i440fx`, or the name itself.
fn family(machine: &str) -> &str {
    match MachineType::parse(machine).line {
        MachineLine::Q35 => "q35",
        MachineLine::I440fx => "i440fx",
        MachineLine::OldPc | MachineLine::Other => machine,
    }
}

/// True when the domcapabilities of `caps_machine` describe the guest's `machine`: the same
/// name, or the bare alias (`q35`, `pc`) of the same family, which libvirt resolves to the
/// versioned machine domcapabilities reports.
pub(super) fn describes(caps_machine: &str, machine: &str) -> bool {
    caps_machine == machine || (matches!(machine, "q35" | "pc") && family(caps_machine) == family(machine))
}

/// Checks the guest against its host's domcapabilities, when the host has them.
pub(super) fn check(fields: &[Fields<'_>], machine: &str, vcpus: u32, vcpus_span: Span, cx: &mut Cx<'_, '_>) {
    let Some(caps) = cx.host.and_then(|h| h.target.domcaps.as_ref()) else {
        return;
    };
    let host = cx.host.map(|h| h.name).unwrap_or_default();
    vcpu_max(caps, host, machine, vcpus, vcpus_span, cx.guest_span, cx.diags);
    for f in fields {
        let (value, span, what, list) = match f.keyword() {
            "memory" => match f.text("source") {
                Some(s) => (s, f.span_of("source"), "memory backing source", &caps.backing_sources),
                None => continue,
            },
            kw @ ("dimm" | "nvdimm" | "virtio-mem" | "virtio-pmem") => {
                (kw, f.stmt.keyword.span, "memory device model", &caps.memory_models)
            }
            _ => continue,
        };
        if let Some(list) = list.as_ref().filter(|l| !l.iter().any(|v| v == value)) {
            cx.diags.push(
                Diagnostic::error(
                    TARGET_LACKS,
                    format!("host `{host}`'s domcapabilities list no {what} `{value}`"),
                    span,
                    format!("not offered by the host's libvirt and QEMU ({})", listed(list)),
                )
                .with_help(format!(
                    "use one the host lists, or a host whose libvirt and QEMU offer `{value}`"
                )),
            );
        }
    }
}

fn listed(values: &[String]) -> String {
    if values.is_empty() {
        "it lists none".into()
    } else {
        format!("it lists {}", values.join(", "))
    }
}

/// More vCPUs than the target's machine takes (E0361); domcapabilities of another machine
/// than the guest's say nothing about it (W0520).
fn vcpu_max(
    caps: &DomCaps,
    host: &str,
    machine: &str,
    vcpus: u32,
    span: Span,
    guest: Span,
    diags: &mut Vec<Diagnostic>,
) {
    let (Some(max), Some(caps_machine)) = (caps.max_vcpus, caps.machine.as_deref()) else {
        return;
    };
    if !describes(caps_machine, machine) {
        diags.push(
            Diagnostic::warning(
                TARGET_OTHER_MACHINE,
                format!("host `{host}`'s domcapabilities describe machine `{caps_machine}`, not `{machine}`"),
                guest,
                "its vCPU maximum is not checked",
            )
            .with_help(format!(
                "give the host the output of `virsh domcapabilities --machine {machine}`, or use machine `{caps_machine}`"
            )),
        );
        return;
    }
    if vcpus > max {
        diags.push(
            Diagnostic::error(
                TARGET_VCPUS,
                format!(
                    "machine `{caps_machine}` on host `{host}` takes at most {max} vCPUs, and this guest has {vcpus}"
                ),
                span,
                format!("more than {max}"),
            )
            .with_help(format!(
                "use at most {max} vCPUs, or a machine type the host's QEMU starts with more"
            )),
        );
    }
}
