//! `vcpus N ...`: how many vCPUs, and which are online at boot.

use super::body::Body;
use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::lang::Fields;
use crate::span::Span;

pub(super) struct Vcpus {
    /// 0 after an error.
    pub(super) count: u32,
    /// The count as written, or the guest's name.
    pub(super) span: Span,
    /// libvirt's `current=M`: the first M vCPUs online and fixed, the rest offline.
    pub(super) current: Option<u32>,
    /// `boot=M` online at boot, or every vCPU online but hotpluggable.
    pub(super) boot: Option<u32>,
}

pub(super) fn check(body: &Body<'_>, name: &str, machine: &str, cx: &mut Cx<'_, '_>) -> Vcpus {
    let vcpus_f = body.find("vcpus");
    let count = count(vcpus_f, body, name, cx);
    machine_limit(vcpus_f, count, machine, cx);
    Vcpus {
        count,
        span: vcpus_f.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span),
        current: current(vcpus_f, count, cx),
        boot: boot(vcpus_f, count, cx),
    }
}

/// The count, 1 to 4096; 0 after an error.
fn count(vcpus_f: Option<&Fields<'_>>, body: &Body<'_>, name: &str, cx: &mut Cx<'_, '_>) -> u32 {
    match vcpus_f.and_then(|f| f.arg_int(0)) {
        Some(n) if (1..=4096).contains(&n) => n as u32,
        Some(n) => {
            let span = vcpus_f.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span);
            cx.err(
                Diagnostic::error(VCPU_COUNT, format!("{n} vCPUs is out of range"), span, "1 to 4096")
                    .with_help("a guest has between 1 and 4096 vCPUs"),
            );
            0
        }
        None => {
            if !body.writes("vcpus") {
                cx.err(
                    Diagnostic::error(
                        MISSING_STATEMENT,
                        format!("guest `{name}` has no `vcpus`"),
                        cx.guest_span,
                        "vcpus missing",
                    )
                    .with_help("add `vcpus 4` (or the count you need) to the guest"),
                );
            }
            0
        }
    }
}

/// Machine types that take fewer vCPUs than the guest has, by QEMU 7.2 (E0314).
/// The host's domcapabilities, when they give this machine's maximum, say it instead
/// (E0361).
fn machine_limit(vcpus_f: Option<&Fields<'_>>, vcpus: u32, machine: &str, cx: &mut Cx<'_, '_>) {
    let caps = cx.host.and_then(|h| h.target.domcaps.as_ref());
    if caps.is_some_and(|c| {
        c.max_vcpus.is_some()
            && c.machine
                .as_deref()
                .is_some_and(|m| super::versions::describes(m, machine))
    }) {
        return;
    }
    if let Some(max) = super::values::machine_max_vcpus(machine).filter(|max| vcpus > *max) {
        let span = vcpus_f.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span);
        cx.err(
            Diagnostic::error(
                VCPU_COUNT,
                format!("machine `{machine}` takes at most {max} vCPUs, and this guest has {vcpus}"),
                span,
                format!("more than {max}"),
            )
            .with_help(
                if max == 255 && crate::ir::MachineFamily::of(machine) != crate::ir::MachineFamily::Q35 {
                    format!(
                        "QEMU refuses to start `{machine}` with more than 255 vCPUs (\"Invalid SMP CPUs\"); \
                 use at most 255, or `machine q35`, which takes 288 in QEMU 7.2"
                    )
                } else {
                    format!(
                        "QEMU 7.2 refuses to start `{machine}` with more than {max} vCPUs (\"Invalid SMP CPUs\"); \
                 use at most {max}, or a newer machine type your QEMU has (QEMU 9.0 starts \
                 `machine \"pc-q35-9.0\"` with up to 4096, on a host that says `qemu=\"9.0\"`)"
                    )
                },
            ),
        );
    }
}

fn current(vcpus_f: Option<&Fields<'_>>, vcpus: u32, cx: &mut Cx<'_, '_>) -> Option<u32> {
    // libvirt's `current=M`: the first M vCPUs online and fixed, the rest offline.
    match vcpus_f {
        Some(f) if f.has("current") => {
            let m = f.int("current").unwrap_or(u64::from(vcpus));
            let other = ["boot", "hotpluggable"].into_iter().find(|k| f.has(k));
            if let Some(k) = other {
                cx.err(
                Diagnostic::error(
                    VCPU_COUNT,
                    format!("`current=` and `{k}=` both say which vCPUs are online"),
                    f.span_of(k),
                    "choose one",
                )
                .with_help("`current=M` keeps libvirt's order (vCPUs 0 to M−1 fixed); `boot=M` gives a balanced, hot-pluggable set"),
            );
                None
            } else if vcpus > 0 && !(1..=u64::from(vcpus)).contains(&m) {
                cx.err(
                    Diagnostic::error(
                        VCPU_COUNT,
                        format!("`current={m}` is out of range"),
                        f.span_of("current"),
                        format!("1 to {vcpus}"),
                    )
                    .with_help(format!("between 1 and the guest's {vcpus} vCPUs can be online at boot")),
                );
                None
            } else {
                Some(m as u32)
            }
        }
        _ => None,
    }
}

fn boot(vcpus_f: Option<&Fields<'_>>, vcpus: u32, cx: &mut Cx<'_, '_>) -> Option<u32> {
    // Hotplug: `boot=M` online at boot, or every vCPU online but hotpluggable.
    match vcpus_f {
        Some(f) if f.has("boot") || f.bool("hotpluggable") == Some(true) => {
            let boot = f.int("boot").unwrap_or(u64::from(vcpus));
            if vcpus > 0 && !(1..=u64::from(vcpus)).contains(&boot) {
                cx.err(
                    Diagnostic::error(
                        VCPU_COUNT,
                        format!("`boot={boot}` is out of range"),
                        f.span_of("boot"),
                        format!("1 to {vcpus}"),
                    )
                    .with_help(format!("between 1 and the guest's {vcpus} vCPUs can be online at boot")),
                );
            }
            Some(boot.clamp(1, u64::from(vcpus.max(1))) as u32)
        }
        _ => None,
    }
}
