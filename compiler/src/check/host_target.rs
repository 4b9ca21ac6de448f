//! `host NAME … libvirt="10.0" qemu="8.2" domcaps="FILE.xml"`: the libvirt and QEMU the host
//! runs, and what its `virsh domcapabilities` says they offer.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::domcaps::from_domcaps_xml;
use crate::host::target::{DomCaps, Target, Version};
use crate::lang::Fields;
use std::path::{Path, PathBuf};

/// Reads a file named in the source, as the host sources do.
pub(super) type ReadText<'a> = &'a dyn Fn(&Path) -> Result<&'a str, String>;

/// The host's target; `None` (errors reported) when a version or the domcapabilities file
/// cannot be read.
pub(super) fn load_target(
    f: &Fields<'_>,
    domcaps: Option<PathBuf>,
    read: ReadText<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Target> {
    let mut target = Target::default();
    let mut ok = true;
    for key in ["libvirt", "qemu"] {
        let Some(text) = f.text(key) else { continue };
        match Version::parse(text) {
            Ok(v) if key == "libvirt" => target.libvirt = v,
            Ok(v) => target.qemu = v,
            Err(message) => {
                diags.push(
                    Diagnostic::error(
                        HOST_TARGET,
                        message,
                        f.span_of(key),
                        format!("the host's {key} version"),
                    )
                    .with_help(format!(
                        "write the version `virsh version` prints, major and minor: `{key}=\"{}\"`",
                        if key == "libvirt" { "10.0" } else { "8.2" }
                    )),
                );
                ok = false;
            }
        }
    }
    if let Some(path) = domcaps {
        let caps = read_domcaps(f, &path, read, diags)?;
        if ok {
            other_qemu(f, &caps, target.qemu, diags);
        }
        target.domcaps = Some(caps);
    }
    ok.then_some(target)
}

/// The QEMU version a domcapabilities machine type names (`pc-q35-8.2`: 8.2).
fn machine_version(machine: &str) -> Option<Version> {
    crate::ir::MachineType::parse(machine)
        .version
        .map(|(major, minor)| Version::new(major, minor))
}

/// domcapabilities whose machine is of another QEMU than the host's `qemu=` (W0521).
fn other_qemu(f: &Fields<'_>, caps: &DomCaps, qemu: Version, diags: &mut Vec<Diagnostic>) {
    let Some((machine, version)) = caps
        .machine
        .as_deref()
        .and_then(|m| machine_version(m).map(|v| (m, v)))
        .filter(|(_, v)| *v != qemu)
    else {
        return;
    };
    let said = if f.has("qemu") { "" } else { " (the default)" };
    diags.push(
        Diagnostic::warning(
            TARGET_OTHER_QEMU,
            format!("these domcapabilities are of QEMU {version}'s machine `{machine}`, and the host says QEMU {qemu}{said}"),
            f.span_of("domcaps"),
            "another QEMU",
        )
        .with_help(format!(
            "write the QEMU `virsh version` reports on that host: `qemu=\"{version}\"`, or give that QEMU's domcapabilities"
        )),
    );
}

fn read_domcaps(f: &Fields<'_>, path: &Path, read: ReadText<'_>, diags: &mut Vec<Diagnostic>) -> Option<DomCaps> {
    let error = |message: String| {
        Diagnostic::error(HOST_TARGET, message, f.span_of("domcaps"), "host domcapabilities file").with_help(
            "the path is relative to this .vnuma file; `virsh domcapabilities --machine q35 > host.domcaps.xml` makes one",
        )
    };
    let text = match read(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(error(format!("cannot read {}: {e}", path.display())));
            return None;
        }
    };
    match from_domcaps_xml(text) {
        Ok(caps) => Some(caps),
        Err(e) => {
            let at = e
                .offset
                .map(|o| {
                    let (l, c) = crate::source::line_col(text, o);
                    format!(" (line {l}, column {c})")
                })
                .unwrap_or_default();
            diags.push(error(format!("{}{at}: {}", path.display(), e.message)));
            None
        }
    }
}
