//! The checked guest or host a top-level statement became.

use crate::check::{Checked, HostDef};
use crate::ir::Guest;
use crate::syntax::ast::Statement;

/// The checked guest a top-level guest statement became, with its host.
pub(crate) struct Resolved<'c> {
    pub checked: &'c Checked,
    pub guest: Option<&'c Guest>,
    pub host: Option<&'c HostDef>,
}

pub(crate) fn resolve<'c>(checked: &'c Checked, top: Option<&Statement>) -> Resolved<'c> {
    let mut out = Resolved {
        checked,
        guest: None,
        host: None,
    };
    let Some(top) = top else { return out };
    let Some(name) = top.args.first().map(|a| a.text.as_str()) else {
        return out;
    };
    match top.keyword.text.as_str() {
        "guest" => {
            if let Some(i) = checked.build.guests.iter().position(|g| g.name == name) {
                out.guest = checked.build.guests.get(i);
                out.host = checked.host_of(i);
            }
        }
        "host" => out.host = host_named(checked, name),
        _ => {}
    }
    out
}

pub(crate) fn host_named<'c>(checked: &'c Checked, name: &str) -> Option<&'c HostDef> {
    checked.hosts.iter().flatten().find(|h| h.name == name)
}
