//! `type`, `machine` and `cpu`: what the guest runs as.

use super::body::Body;
use super::cx::Cx;
use crate::ir::{CpuMode, CpuOptions, DomainType, MachineFamily};

pub(super) struct Platform {
    pub(super) domain_type: DomainType,
    pub(super) machine: String,
    pub(super) cpu: CpuMode,
    pub(super) cpu_options: CpuOptions,
}

impl Platform {
    /// A KVM guest: the only kind libvirt gives cache and memory-bandwidth allocation.
    pub(super) fn kvm(&self) -> bool {
        self.domain_type == crate::ir::DomainType::Kvm
    }

    /// A q35 machine: PCIe, and the chipset on the root bus's last slot.
    pub(super) fn q35(&self) -> bool {
        self.family() == MachineFamily::Q35
    }

    pub(super) fn family(&self) -> MachineFamily {
        MachineFamily::of(&self.machine)
    }
}

pub(super) fn check(body: &Body<'_>, cx: &mut Cx<'_, '_>) -> Platform {
    let domain_type = match body.find("type").and_then(|f| f.arg_text(0)) {
        Some("qemu") => DomainType::Qemu,
        _ => DomainType::Kvm,
    };
    let machine = body
        .find("machine")
        .and_then(|f| f.arg_text(0))
        .unwrap_or("q35")
        .to_string();
    if let Some(f) = body.find("machine")
        && super::values::machine(&machine, f.arg_span(0), cx.diags)
    {
        super::machine_type::check(&machine, f.arg_span(0), cx);
    }
    let (cpu, cpu_options) = super::cpu::check(body.find("cpu"), domain_type, cx.diags);
    Platform {
        domain_type,
        machine,
        cpu,
        cpu_options,
    }
}
