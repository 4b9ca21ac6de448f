//! Moving a guest to another host of its program: a lens on each guest for each other host
//! (listing hosts, never moving), and the move itself, run only when asked.

use super::cursor::locate;
use crate::db::{self, Program, SourceFile};
use crate::diagnostics::{Diagnostic, plain};
use crate::migrate::{Failure, To};
use crate::source::LineCache;
use crate::span::Span;

/// Destination hosts offered per guest: the first hosts of the program other than its own.
pub const LENS_HOSTS: usize = 8;
/// Lenses per file, guests in file order.
pub const LENSES: usize = 1024;

/// "migrate to HOST" on a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateLens {
    /// The whole guest statement.
    pub span: Span,
    pub guest: String,
    pub host: String,
    pub title: String,
}

/// What a move came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migrated {
    /// The destination domain XML, as `vnumac migrate FILE --guest G --to HOST` prints it,
    /// and the move's warnings rendered plainly (empty when there are none).
    Moved { xml: String, warnings: String },
    /// Why the guest does not move: the refusal's diagnostics rendered plainly, or what is
    /// wrong with the question (a program with errors, a name that is not there).
    Refused(String),
}

/// One lens per guest of `file` that runs on a host and per other host of the program (at
/// most [`LENS_HOSTS`] per guest and [`LENSES`] in all), for a program without errors.
/// Only names are read: no move is planned here.
pub fn migrate_lenses(db: &dyn salsa::Database, program: Program, file: SourceFile) -> Vec<MigrateLens> {
    let r = db::check_program(db, program);
    if r.has_errors() {
        return Vec::new();
    }
    let checked = &r.checked;
    // Enough loaded hosts that each guest has LENS_HOSTS others among them.
    let hosts: Vec<(usize, &str)> = checked
        .hosts
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some((i, h.as_ref()?.name.as_str())))
        .take(LENS_HOSTS + 1)
        .collect();
    let id = file.id(db);
    let mut out = Vec::new();
    for (gi, g) in checked.build.guests.iter().enumerate() {
        if g.spans.guest.file != id {
            continue;
        }
        let Some(src) = checked.guest_hosts.get(gi).copied().flatten() else {
            continue;
        };
        for &(_, host) in hosts.iter().filter(|(i, _)| *i != src).take(LENS_HOSTS) {
            if out.len() == LENSES {
                return out;
            }
            out.push(MigrateLens {
                span: g.spans.guest,
                guest: g.name.clone(),
                host: host.to_string(),
                title: format!("migrate to {host}"),
            });
        }
    }
    out
}

/// Move guest `guest` of the program to its host `host`, as `vnumac migrate --to HOST`.
pub fn migrate(db: &dyn salsa::Database, program: Program, guest: &str, host: &str) -> Migrated {
    if db::check_program(db, program).has_errors() {
        return Migrated::Refused(format!(
            "the program has errors: fix them before moving guest `{guest}`"
        ));
    }
    let render = |diags: &[Diagnostic]| {
        let sources = db::source_map(db, program);
        rendered(diags, &LineCache::new(&sources))
    };
    match crate::migrate::migrate(db, program, guest, To::Host(host)) {
        Ok(m) => Migrated::Moved {
            xml: crate::lower::libvirt::domain_xml(&m.moved.guest),
            warnings: render(&m.moved.warnings),
        },
        Err(Failure::Refused(r)) => Migrated::Refused(render(&r.errors)),
        Err(Failure::UnknownGuest { name, .. }) => Migrated::Refused(format!("no guest named `{name}` in the program")),
        Err(Failure::UnknownHost { name, .. }) => Migrated::Refused(format!("no host named `{name}` in the program")),
        Err(Failure::NoSource { guest }) => Migrated::Refused(format!(
            "guest `{guest}` runs on no host, so it has nowhere to move from"
        )),
        Err(Failure::SameHost { guest, host }) => {
            Migrated::Refused(format!("guest `{guest}` already runs on host `{host}`"))
        }
    }
}

/// [`migrate`] for the guest statement at `offset`: its name and the move, or `None` when
/// the offset is in no guest statement.
pub fn migrate_at(
    db: &dyn salsa::Database,
    program: Program,
    file: SourceFile,
    offset: u32,
    host: &str,
) -> Option<(String, Migrated)> {
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset);
    let top = cursor.top().filter(|s| s.keyword.text == "guest")?;
    let name = top.args.first()?.text.clone();
    let moved = migrate(db, program, &name, host);
    Some((name, moved))
}

/// Diagnostics one after another, each as [`plain`] renders it.
fn rendered(diags: &[Diagnostic], lines: &LineCache<'_>) -> String {
    diags.iter().map(|d| plain(d, lines)).collect()
}
