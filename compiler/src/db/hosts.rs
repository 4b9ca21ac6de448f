//! Host profiles, one query each.

use super::inputs::{ItemKey, Program};
use super::toplevel::{item, item_at};
use crate::check::{self, HostDef, HostSources};
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::lang;
use crate::place::topo::HostTopo;
use crate::project::normalize;
use std::path::Path;

/// One host profile, loaded once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HostLoaded {
    pub def: Option<HostDef>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A host as its piece says it, with spans relative to the piece: unchanged when the host
/// only moves in its file, so the guests placed on it are not placed again.
#[salsa::tracked(returns(ref))]
pub(super) fn host_in_place<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> HostLoaded {
    let (Some(stmt), Some((file, _))) = (item(db, key), item_at(db, key)) else {
        return HostLoaded::default();
    };
    let mut diagnostics = Vec::new();
    let mut shape = Vec::new();
    let def = lang::check(stmt, lang::Context::File, &mut shape).and_then(|f| {
        let sources = ProgramSources {
            db,
            program: key.program(db),
        };
        check::load_host(&f, file.path(db), &sources, &mut diagnostics)
    });
    HostLoaded { def, diagnostics }
}

/// One host profile, with its spans in its file.
#[salsa::tracked(returns(ref))]
pub fn host<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> HostLoaded {
    let Some((file, at)) = item_at(db, key) else {
        return HostLoaded::default();
    };
    let h = host_in_place(db, key);
    let id = file.id(db);
    HostLoaded {
        def: h.def.clone().map(|mut h| {
            h.span = h.span.relocate(id, at);
            for s in &mut h.node_spans {
                *s = s.relocate(id, at);
            }
            h
        }),
        diagnostics: h.diagnostics.iter().map(|d| d.relocated(id, at)).collect(),
    }
}

/// The host's cores in placement order, shared by every placement step on it.
#[salsa::tracked(returns(ref))]
pub fn host_topo<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<HostTopo> {
    host_in_place(db, key).def.as_ref().map(|h| HostTopo::new(&h.profile))
}

struct ProgramSources<'d> {
    db: &'d dyn salsa::Database,
    program: Program,
}

impl HostSources for ProgramSources<'_> {
    fn read_text(&self, path: &Path) -> Result<&str, String> {
        match self.program.files(self.db).get(&normalize(path)) {
            Some(Ok(f)) => Ok(f.text(self.db)),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not loaded".into()),
        }
    }

    fn probe(&self, name: &str) -> Result<HostProfile, String> {
        match self.program.probed(self.db) {
            Some(Ok(p)) => Ok(HostProfile {
                name: name.to_string(),
                ..p.clone()
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Err("this machine was not probed".into()),
        }
    }
}
