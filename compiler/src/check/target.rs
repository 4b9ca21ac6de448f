//! The host CPUs a `pin`, `emulator`, `iothreads` or `iothread` statement names with
//! `cpus=` or `node=`.

use super::cx::Cx;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::lang::Fields;
use crate::sets::IdSet;

/// The host CPUs a `pin`, `emulator` or I/O thread statement names with `cpus=` or `node=`;
/// errors reported.
pub(super) fn target(f: &Fields<'_>, what: &str, example: &str, cx: &mut Cx<'_, '_>) -> Option<IdSet> {
    match (f.set("cpus"), f.int("node")) {
        (Some(c), None) => {
            cx.need_host(&format!("`{what}`"), f.span())?;
            cx.check_cpus(c, f.span_of("cpus")).then(|| c.clone())
        }
        (None, Some(n)) => {
            let profile = cx.need_host(&format!("`{what}`"), f.span())?;
            let node = u32::try_from(n).unwrap_or(u32::MAX);
            match profile.node(node).map(|n| n.cpus.clone()) {
                Some(c) if !c.is_empty() => Some(c),
                Some(_) => {
                    cx.err(
                        Diagnostic::error(
                            HOST_NODE,
                            format!("host node {node} has no CPUs"),
                            f.span_of("node"),
                            "memory-only node",
                        )
                        .with_help(format!("use a node that has CPUs for `{what}`")),
                    );
                    None
                }
                None => {
                    cx.check_nodes(&IdSet::single(node), f.span_of("node"));
                    None
                }
            }
        }
        _ => {
            cx.err(
                Diagnostic::error(
                    PIN_TARGET,
                    format!("`{what}` needs exactly one of `cpus=` and `node=`"),
                    f.span(),
                    "ambiguous",
                )
                .with_help(format!("write {example}")),
            );
            None
        }
    }
}
