//! A move inside a checked program: the guest by name, its source host, and the
//! destination as another host of the program (with the guests it carries) or a
//! capabilities file's profile (carrying none).

use super::dest::Dest;
use super::plan::{Moved, Refused, move_guest};
use crate::check::HostDef;
use crate::db::{ItemKey, ItemKind, Program, check_program, host_ledger, host_topo};
use crate::host::HostProfile;
use crate::ir::Guest;
use crate::place::topo::{HostTopo, Ledger};

/// Where the guest goes.
pub enum To<'a> {
    /// A host of the program, by name.
    Host(&'a str),
    /// A profile read elsewhere (`--to-caps`), named, with no guests on it.
    Profile(&'a str, &'a HostProfile),
}

/// Why there is no move to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No guest of that name; the names there are.
    UnknownGuest { name: String, known: Vec<String> },
    /// No host of that name (or one that did not load); the names there are.
    UnknownHost { name: String, known: Vec<String> },
    /// The guest has no host to move from.
    NoSource { guest: String },
    /// The destination is the guest's own host.
    SameHost { guest: String, host: String },
    /// The guest cannot move without changing what it sees.
    Refused(Refused),
}

/// A move, with both hosts and the guest as built on the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub before: Guest,
    pub source: String,
    pub source_profile: HostProfile,
    pub destination: String,
    pub destination_profile: HostProfile,
    pub moved: Moved,
}

/// The hosts a refused guest would fit, at most this many looked at.
const ELSEWHERE_TRIED: usize = 32;

/// Move guest `name` of a program without errors to `to`.
pub fn migrate(db: &dyn salsa::Database, program: Program, name: &str, to: To<'_>) -> Result<Migration, Failure> {
    let checked = &check_program(db, program).checked;
    let guests = &checked.build.guests;
    let Some(gi) = guests.iter().position(|g| g.name == name) else {
        return Err(Failure::UnknownGuest {
            name: name.to_string(),
            known: guests.iter().map(|g| g.name.clone()).collect(),
        });
    };
    let g = &guests[gi];
    let (Some(shi), Some(src)) = (checked.guest_hosts.get(gi).copied().flatten(), checked.host_of(gi)) else {
        return Err(Failure::NoSource {
            guest: name.to_string(),
        });
    };
    let known: Vec<String> = checked.hosts.iter().flatten().map(|h| h.name.clone()).collect();
    let (dest_name, profile, dhi) = match to {
        To::Host(h) => {
            let Some(i) = checked
                .hosts
                .iter()
                .position(|d| d.as_ref().is_some_and(|d| d.name == h))
            else {
                return Err(Failure::UnknownHost {
                    name: h.to_string(),
                    known,
                });
            };
            if i == shi {
                return Err(Failure::SameHost {
                    guest: name.to_string(),
                    host: h.to_string(),
                });
            }
            let Some(def) = &checked.hosts[i] else {
                return Err(Failure::UnknownHost {
                    name: h.to_string(),
                    known,
                });
            };
            (def.name.clone(), HostProfile::clone(&def.profile), Some(i))
        }
        To::Profile(n, p) => (n.to_string(), p.clone(), None),
    };
    let (topo, ledger) = host_state(db, program, dhi, &profile);
    let dest = Dest {
        name: &dest_name,
        host: &profile,
        topo: &topo,
        ledger: &ledger,
    };
    // Other hosts of the file are tried only when the guest does not fit, for the help.
    let fits = || elsewhere(db, program, g, &src.profile, [Some(shi), dhi]);
    let mut moved = move_guest(g, &src.profile, &dest, &fits).map_err(Failure::Refused)?;
    // The destination's libvirt decides which nodes preallocate the moved guest's memory.
    let libvirt = dhi
        .and_then(|i| checked.hosts.get(i)?.as_ref())
        .map_or(crate::host::target::DEFAULT_LIBVIRT, |d| d.target.libvirt);
    moved.guest.emulator_nodes = crate::check::emulator_nodes(&profile, libvirt, moved.guest.emulator_pin.as_ref());
    let made;
    let dest_def: &HostDef = match dhi.and_then(|i| checked.hosts.get(i)?.as_ref()) {
        Some(d) => d,
        None => {
            made = HostDef {
                name: dest_name.clone(),
                span: g.spans.name,
                profile: std::sync::Arc::new(profile.clone()),
                target: Default::default(),
                node_spans: Vec::new(),
            };
            &made
        }
    };
    let realtime = super::realtime::warnings(checked, gi, dhi, dest_def, &moved.guest);
    moved.warnings.extend(realtime);
    Ok(Migration {
        before: g.clone(),
        source: src.name.clone(),
        source_profile: HostProfile::clone(&src.profile),
        destination: dest_name,
        destination_profile: profile,
        moved,
    })
}

/// The cores and ledger of host `index` of the program, or of a profile that carries no
/// guests.
fn host_state(
    db: &dyn salsa::Database,
    program: Program,
    index: Option<usize>,
    profile: &HostProfile,
) -> (HostTopo, Ledger) {
    let from_program = index.and_then(|i| {
        let key = ItemKey::new(db, program, ItemKind::Host, i as u32);
        let topo = host_topo(db, key).clone()?;
        let ledger = host_ledger(db, program, i as u32)?;
        Some((topo, ledger))
    });
    from_program.unwrap_or_else(|| {
        let topo = HostTopo::new(profile);
        let ledger = Ledger::new(&topo, profile.nodes.len());
        (topo, ledger)
    })
}

/// The other hosts of the program the guest would fit, for the help of a refusal.
fn elsewhere(
    db: &dyn salsa::Database,
    program: Program,
    g: &Guest,
    src: &HostProfile,
    not: [Option<usize>; 2],
) -> Vec<String> {
    let checked = &check_program(db, program).checked;
    checked
        .hosts
        .iter()
        .enumerate()
        .filter(|(i, _)| !not.contains(&Some(*i)))
        .filter_map(|(i, d)| Some((i, d.as_ref()?)))
        .take(ELSEWHERE_TRIED)
        .filter(|(i, def)| {
            let (topo, ledger) = host_state(db, program, Some(*i), &def.profile);
            let dest = Dest {
                name: &def.name,
                host: &def.profile,
                topo: &topo,
                ledger: &ledger,
            };
            move_guest(g, src, &dest, &Vec::new).is_ok()
        })
        .map(|(_, def)| def.name.clone())
        .collect()
}
