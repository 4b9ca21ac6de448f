//! Cache banks and memory-bandwidth nodes: on CPUs of the host, each declared once, with
//! controls a host can have.

use super::{HostBuilder, cpus_are};
use crate::host::decl::{BuildError, DeclRef, error};
use crate::host::resctrl::{Resctrl, bank_problems, node_problems};
use crate::sets::IdSet;
use std::collections::BTreeMap;

impl HostBuilder {
    /// The resource control of the host, sorted; every problem an error naming its line.
    pub(super) fn resctrl_checked(&self, cpus: &IdSet, errors: &mut Vec<BuildError>) -> Resctrl {
        let r = &self.resctrl;
        let mut seen = BTreeMap::new();
        for (i, b) in r.banks.iter().enumerate() {
            let here = DeclRef::CacheBank(i);
            if let Some(&first) = seen.get(&(b.level, b.id)) {
                let message = format!("cache bank {} of level {} is declared twice", b.id, b.level);
                errors.push(error(here, message).other(DeclRef::CacheBank(first)));
            } else {
                seen.insert((b.level, b.id), i);
            }
            unknown(&b.cpus, cpus, here, errors);
            errors.extend(bank_problems(b).into_iter().map(|m| error(here, m)));
        }
        let mut seen = BTreeMap::new();
        for (i, n) in r.bandwidth.iter().enumerate() {
            let here = DeclRef::BandwidthNode(i);
            if let Some(&first) = seen.get(&n.id) {
                let message = format!("memory-bandwidth node {} is declared twice", n.id);
                errors.push(error(here, message).other(DeclRef::BandwidthNode(first)));
            } else {
                seen.insert(n.id, i);
            }
            unknown(&n.cpus, cpus, here, errors);
            errors.extend(node_problems(n).map(|m| error(here, m)));
        }
        let mut out = r.clone();
        out.banks.sort_by_key(|b| (b.level, b.id));
        out.bandwidth.sort_by_key(|n| n.id);
        out
    }
}

fn unknown(set: &IdSet, cpus: &IdSet, decl: DeclRef, errors: &mut Vec<BuildError>) {
    let unknown = set.difference(cpus);
    if !unknown.is_empty() {
        let message = format!("{} not on any node", cpus_are(&unknown));
        errors.push(error(decl, message).help("CPUs are declared by `node ... cpus=`"));
    }
}
