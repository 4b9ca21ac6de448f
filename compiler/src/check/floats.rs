//! vCPUs that float over host CPUs another guest has as dedicated: a guest's unpinned
//! vCPUs (over every CPU of its host) or a `vnuma pinning=node` guest's (over its nodes),
//! against the cores `vnuma pinning=cpu` guests hold for their vCPUs and isolated threads.
//! Checked once every guest of a host is placed, so file order does not matter.

use super::ledger::SHARERS_NAMED;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::place::topo::PinOwners;
use crate::sets::IdSet;
use crate::span::{FileId, Span};
use std::collections::{BTreeMap, HashMap};

/// vCPUs that float over a set of host CPUs, and the statement that lets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Float {
    pub vcpus: IdSet,
    pub cpus: IdSet,
    pub span: Span,
}

/// What a guest holds of its host as dedicated, and where its vCPUs float.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holds {
    /// Every CPU of the cores its dedicated vCPUs and isolated threads hold.
    pub held: IdSet,
    pub floats: Vec<Float>,
}

impl Holds {
    /// Its spans moved into their file ([`Span::relocate`]).
    pub fn relocated(&self, file: FileId, at: u32) -> Holds {
        Holds {
            held: self.held.clone(),
            floats: self
                .floats
                .iter()
                .map(|f| Float {
                    span: f.span.relocate(file, at),
                    ..f.clone()
                })
                .collect(),
        }
    }
}

/// One guest of a build, for [`floating_warnings`]: its host, its name and where it is
/// named, and what it holds; spans in place.
pub struct OnHost<'a> {
    pub host: u32,
    pub name: &'a str,
    pub name_span: Span,
    pub holds: Holds,
}

/// A warning for each guest whose vCPUs float over CPUs another guest of its host holds,
/// naming the first [`SHARERS_NAMED`] such guests and counting the rest in one more. Costs
/// the held CPUs once, and each distinct set of floating CPUs once per host; a host none
/// of whose guests float costs nothing.
pub fn floating_warnings(guests: &[OnHost<'_>]) -> Vec<Diagnostic> {
    let mut by_host: BTreeMap<u32, Vec<&OnHost<'_>>> = BTreeMap::new();
    for g in guests {
        by_host.entry(g.host).or_default().push(g);
    }
    let mut out = Vec::new();
    for list in by_host.values() {
        // No guest of the host floats: nothing to index (a fleet of dedicated guests
        // costs nothing here on every edit).
        if list.iter().all(|g| g.holds.floats.is_empty()) {
            continue;
        }
        let mut owners = PinOwners::default();
        let mut named: HashMap<&str, Span> = HashMap::new();
        for g in list.iter().filter(|g| !g.holds.held.is_empty()) {
            owners.add(g.name, g.holds.held.clone());
            named.insert(g.name, g.name_span);
        }
        if named.is_empty() {
            continue;
        }
        type Found = (Vec<(String, IdSet)>, bool);
        let mut seen: HashMap<&IdSet, Found> = HashMap::new();
        for g in list {
            // Per guest, each other guest once: the vCPUs and CPUs of all its floats.
            let mut met: Vec<(String, IdSet, IdSet)> = Vec::new();
            let mut more = false;
            for f in &g.holds.floats {
                let (others, beyond) = seen.entry(&f.cpus).or_insert_with(|| {
                    let (named, more) = owners.sharing(&f.cpus, "", SHARERS_NAMED);
                    let named = named
                        .into_iter()
                        .map(|(n, c)| (n.to_string(), c.intersection(&f.cpus)))
                        .collect();
                    (named, more)
                });
                more |= *beyond;
                for (other, both) in others.iter().filter(|(o, _)| o != g.name) {
                    let full = met.len() >= SHARERS_NAMED;
                    match met.iter_mut().find(|(o, ..)| o == other) {
                        Some((_, vcpus, cpus)) => {
                            *vcpus = vcpus.union(&f.vcpus);
                            *cpus = cpus.union(both);
                        }
                        None if full => more = true,
                        None => met.push((other.clone(), f.vcpus.clone(), both.clone())),
                    }
                }
            }
            let Some(span) = g.holds.floats.first().map(|f| f.span) else {
                continue;
            };
            for (other, vcpus, both) in &met {
                out.push(floats_over(
                    g.name,
                    vcpus,
                    span,
                    other,
                    both,
                    named.get(other.as_str()).copied(),
                ));
            }
            if more {
                out.push(floats_over_more(g.name, span));
            }
        }
    }
    out
}

fn floats_over(
    guest: &str,
    vcpus: &IdSet,
    span: Span,
    other: &str,
    both: &IdSet,
    other_span: Option<Span>,
) -> Diagnostic {
    let mut d = Diagnostic::warning(
        FLOATS_ON_DEDICATED,
        format!("vCPUs {vcpus} of `{guest}` float over host CPUs {both}, which guest `{other}` has as dedicated"),
        span,
        format!("floats over `{other}`'s cores"),
    );
    if let Some(s) = other_span {
        d = d.with_label(s, "dedicated cores here");
    }
    d.with_help(format!(
        "`{other}`'s vCPUs were given cores of their own, and `{guest}`'s may run there; pin `{guest}`'s vCPUs elsewhere (`pin …`, or `vnuma … pinning=cpu`), or place `{other}` on other nodes"
    ))
}

fn floats_over_more(guest: &str, span: Span) -> Diagnostic {
    Diagnostic::warning(
        FLOATS_ON_DEDICATED,
        format!("vCPUs of `{guest}` float over the dedicated cores of more guests than the {SHARERS_NAMED} named"),
        span,
        "floats over more guests' cores",
    )
    .with_help(format!(
        "only the first {SHARERS_NAMED} guests get a warning each; pin `{guest}`'s vCPUs away from the dedicated cores"
    ))
}
