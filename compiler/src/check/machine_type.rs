//! `machine`: a type the host's QEMU has. Without a word from the host that is QEMU 7.2;
//! `qemu="X.Y"` on the host takes the types of that QEMU, and a machine the host's
//! domcapabilities name is taken as they say.

use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::target::{DEFAULT_QEMU, Version};
use crate::ir::{Availability, MachineLine, MachineType, availability, nearest, newest, oldest};
use crate::span::Span;

pub(super) fn check(machine: &str, span: Span, cx: &mut Cx<'_, '_>) {
    let target = cx.host.map(|h| h.target);
    if target
        .and_then(|t| t.domcaps.as_ref())
        .and_then(|c| c.machine.as_deref())
        .is_some_and(|m| m == machine)
    {
        return;
    }
    let qemu = target.map_or(DEFAULT_QEMU, |t| t.qemu);
    let said = if target.is_some_and(|t| t.qemu != DEFAULT_QEMU) {
        "the host's"
    } else {
        "the default target's"
    };
    let line = MachineType::parse(machine).line;
    let types = known(qemu);
    let error = |label: String, help: String| {
        Diagnostic::error(
            MACHINE_UNKNOWN,
            format!("QEMU {qemu} ({said} QEMU) has no machine type `{machine}`"),
            span,
            label,
        )
        .with_help(help)
    };
    let d = match availability(machine, qemu) {
        Availability::Has => return,
        Availability::Deprecated { gone } => Diagnostic::warning(
            MACHINE_DEPRECATED,
            format!("QEMU {qemu} marks machine type `{machine}` deprecated, and QEMU {gone} no longer has it"),
            span,
            "deprecated",
        )
        .with_help(format!(
            "QEMU {gone} and later refuse it: move the guest to a newer type, such as `{}`",
            newest(line, qemu)
        )),
        Availability::Newer { since } => error(
            format!("first in QEMU {since}"),
            format!(
                "the newest of this family QEMU {qemu} has is `{}`; if the host runs QEMU {since} or newer, \
                 say so on its block: `qemu=\"{since}\"`",
                newest(line, qemu)
            ),
        ),
        Availability::Removed { gone } => error(
            format!("removed by QEMU {gone}"),
            format!(
                "the oldest of this family QEMU {qemu} has is `{}`, the newest `{}`",
                oldest(line, qemu),
                newest(line, qemu)
            ),
        ),
        Availability::NoSuchVersion => error(
            "no QEMU release has this version".into(),
            match MachineType::parse(machine).version.and_then(|v| nearest(line, v, qemu)) {
                Some(near) => format!("the nearest QEMU {qemu} has is `{near}`; it has {types}"),
                None => format!("QEMU {qemu} has {types}"),
            },
        ),
        Availability::Unknown => error("not a QEMU machine type".into(), format!("QEMU {qemu} has {types}")),
        Availability::NotPcOrQ35 => Diagnostic::error(
            MACHINE_NOT_PC,
            format!("vnumac writes pc and q35 guests, not QEMU's `{machine}`"),
            span,
            "not a pc or q35 machine type",
        )
        .with_help(format!(
            "the cells, memory devices and expander buses vnumac writes are laid out for the pc and q35 \
             machines' buses and memory map; use one of these: {types}"
        )),
    };
    cx.diags.push(d);
}

/// The pc and q35 types of a QEMU, as ranges.
fn known(qemu: Version) -> String {
    let range = |line| format!("`{}` to `{}`", oldest(line, qemu), newest(line, qemu));
    format!(
        "`q35`, {}, `pc`, and {}; `qemu-system-x86_64 -machine help` lists them",
        range(MachineLine::Q35),
        range(MachineLine::I440fx)
    )
}
