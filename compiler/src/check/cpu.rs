//! `cpu`: the CPU mode and model, `migratable=`, and the features a guest requires or disables.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{CpuMode, CpuOptions, DomainType};
use crate::lang::{self, Fields};
use std::collections::HashMap;

/// The guest's CPU mode and options; errors reported.
pub fn check(f: Option<&Fields<'_>>, domain_type: DomainType, diags: &mut Vec<Diagnostic>) -> (CpuMode, CpuOptions) {
    let cpu = match f {
        Some(f) => mode(f, diags),
        None if domain_type == DomainType::Qemu => CpuMode::Maximum,
        None => CpuMode::HostPassthrough,
    };
    let mut options = CpuOptions::default();
    let Some(f) = f else {
        return (cpu, options);
    };
    if let Some(m) = f.bool("migratable") {
        if matches!(cpu, CpuMode::HostPassthrough | CpuMode::Maximum) {
            options.migratable = m;
        } else {
            diags.push(
                Diagnostic::error(
                    CPU_OPTION,
                    "`migratable=` is for `cpu host-passthrough`",
                    f.span_of("migratable"),
                    "not for this mode",
                )
                .with_help("libvirt takes `migratable` only on host-passthrough and maximum CPUs"),
            );
        }
    }
    options.features = features(f, diags);
    (cpu, options)
}

fn mode(f: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> CpuMode {
    match f.arg_text(0) {
        Some("host-model") => CpuMode::HostModel,
        Some("custom") => match f.text("model") {
            Some(m) => {
                super::values::cpu_model(m, f.span_of("model"), diags);
                CpuMode::Custom(m.to_string())
            }
            None => {
                diags.push(
                    Diagnostic::error(
                        lang::MISSING,
                        "`cpu custom` needs `model=`",
                        f.stmt.head_span(),
                        "no model",
                    )
                    .with_help("write `cpu custom model=\"Skylake-Server\"`"),
                );
                CpuMode::HostPassthrough
            }
        },
        _ => CpuMode::HostPassthrough,
    }
}

/// `require=` and `disable=`, in written order (required ones first); each feature once.
fn features(f: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> Vec<(String, bool)> {
    let mut features: Vec<(String, bool)> = Vec::new();
    // Each feature's policy so far: one look-up per feature, whatever the list's length.
    let mut seen: HashMap<&str, bool> = HashMap::new();
    for (key, required) in [("require", true), ("disable", false)] {
        let Some(list) = f.text(key) else { continue };
        for name in list.split(',') {
            let name = name.trim();
            if !super::values::identifier(
                name,
                f.span_of(key),
                "a CPU feature",
                "; features look like `invtsc` or `pdpe1gb` (`qemu-system-x86_64 -cpu help` lists them)",
                diags,
            ) {
                continue;
            }
            if let Some(&was) = seen.get(name) {
                diags.push(
                    Diagnostic::error(
                        CPU_OPTION,
                        format!("CPU feature `{name}` is given twice"),
                        f.span_of(key),
                        "again",
                    )
                    .with_help(if was == required {
                        "name each feature once"
                    } else {
                        "a feature is either required or disabled"
                    }),
                );
                continue;
            }
            seen.insert(name, required);
            features.push((name.to_string(), required));
        }
    }
    features
}
