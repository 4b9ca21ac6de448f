//! Edits reuse work: one database for the life of a workspace, inputs updated in place,
//! and queries at the grain of the language (a host profile per host, a placement step per
//! guest). Salsa's own events say which queries ran.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use salsa::plumbing::AsId;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use vnumac::db::{self, Database, ItemKey, ItemKind, Loader, Workspace};
use vnumac::host::HostProfile;

#[derive(Default, Clone)]
struct Files(HashMap<PathBuf, String>);

impl Loader for Files {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("no probe".into())
    }
}

/// A workspace whose database logs every query execution.
fn workspace() -> (Workspace, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let db = Database::with_events(move |e| {
        if let salsa::EventKind::WillExecute { database_key } = e.kind {
            sink.lock().unwrap().push(format!("{database_key:?}"));
        }
    });
    (Workspace::new(db), log)
}

fn caps() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts/peppi.caps.xml");
    std::fs::read_to_string(p).unwrap()
}

const GUESTS: &str = "\
host peppi from=\"peppi.caps.xml\"

guest hand on=peppi {
  memory 4GiB
  vcpus 4
}

guest auto1 on=peppi {
  memory 8GiB
  vcpus 8
  vnuma mode=node
}

guest auto2 on=peppi {
  memory 8GiB
  vcpus 8
  vnuma mode=node
}
";

fn ran(log: &Arc<Mutex<Vec<String>>>, query: &str) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with(&format!("{query}(")))
        .cloned()
        .collect()
}

fn step_name(ws: &Workspace, program: db::Program, i: u32) -> String {
    format!(
        "guest_step({:?})",
        ItemKey::new(&ws.db, program, ItemKind::Guest, i).as_id()
    )
}

#[test]
fn an_edit_reuses_the_host_and_the_other_guests() {
    let (mut ws, log) = workspace();
    let mut files = Files::default();
    files.0.insert("fleet.vnuma".into(), GUESTS.to_string());
    files.0.insert("peppi.caps.xml".into(), caps());
    let program = ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    let first = db::check_program(&ws.db, program).clone();
    assert!(!first.has_errors(), "{:?}", first.diagnostics);
    assert_eq!(first.checked.build.guests.len(), 3);
    assert_eq!(ran(&log, "host_in_place").len(), 1);
    assert_eq!(ran(&log, "guest_step").len(), 3);
    log.lock().unwrap().clear();

    // Same-length edit in the last guest: only that guest is checked and placed again.
    let edited = GUESTS.replacen("vcpus 8\n  vnuma mode=node\n}\n", "vcpus 4\n  vnuma mode=node\n}\n", 2);
    let edited = {
        // Only the second occurrence (auto2) changes.
        let at = GUESTS.rfind("vcpus 8").unwrap();
        let mut s = GUESTS.to_string();
        s.replace_range(at..at + 7, "vcpus 4");
        assert_ne!(s, edited);
        s
    };
    files.0.insert("fleet.vnuma".into(), edited);
    let again = ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    assert_eq!(again, program, "a program keeps its input");
    let second = db::check_program(&ws.db, program).clone();
    assert!(!second.has_errors(), "{:?}", second.diagnostics);
    assert_eq!(second.checked.build.guests[2].vcpus, 4);
    assert!(
        ran(&log, "host_in_place").is_empty(),
        "the capabilities file was parsed again"
    );
    assert!(ran(&log, "host_topo").is_empty());
    assert_eq!(ran(&log, "guest_step"), vec![step_name(&ws, program, 2)]);
    log.lock().unwrap().clear();

    // An edit in the first guest that changes nothing on the host stops the ripple there.
    let at = GUESTS.find("memory 4GiB").unwrap();
    let mut s = files.0[Path::new("fleet.vnuma")].clone();
    s.replace_range(at..at + 11, "memory 2GiB");
    files.0.insert("fleet.vnuma".into(), s);
    ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    let third = db::check_program(&ws.db, program).clone();
    assert!(!third.has_errors(), "{:?}", third.diagnostics);
    assert_eq!(ran(&log, "guest_step"), vec![step_name(&ws, program, 0)]);
    log.lock().unwrap().clear();

    // An edit that moves the guests (a comment above them) places none of them again.
    let s = files.0[Path::new("fleet.vnuma")].replace("\nguest hand", "\n# three guests\nguest hand");
    files.0.insert("fleet.vnuma".into(), s.clone());
    ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    let moved = db::check_program(&ws.db, program).clone();
    assert!(!moved.has_errors(), "{:?}", moved.diagnostics);
    assert!(ran(&log, "guest_step").is_empty(), "{:?}", ran(&log, "guest_step"));
    // Their spans moved with them.
    let name = moved.checked.build.guests[1].spans.name;
    assert_eq!(&s[name.start as usize..name.end as usize], "auto1");
    log.lock().unwrap().clear();

    // A change to the capabilities file re-reads the host and re-places every guest on it.
    files.0.insert(
        "peppi.caps.xml".into(),
        caps().replace("<capabilities>", "<capabilities> "),
    );
    ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    db::check_program(&ws.db, program);
    assert_eq!(ran(&log, "host_in_place").len(), 1);
    log.lock().unwrap().clear();

    // Loading again with nothing changed runs nothing.
    ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    db::check_program(&ws.db, program);
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
}

#[test]
fn a_placement_change_ripples_to_later_guests_only() {
    let (mut ws, log) = workspace();
    let mut files = Files::default();
    files.0.insert("fleet.vnuma".into(), GUESTS.to_string());
    files.0.insert("peppi.caps.xml".into(), caps());
    let program = ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    db::check_program(&ws.db, program);
    log.lock().unwrap().clear();

    // auto1 takes fewer cores: auto2 sees a different ledger and is placed again; `hand` is not.
    let at = GUESTS.find("vcpus 8").unwrap();
    let mut s = GUESTS.to_string();
    s.replace_range(at..at + 7, "vcpus 2");
    files.0.insert("fleet.vnuma".into(), s);
    ws.load(Path::new("fleet.vnuma"), &files).unwrap();
    let r = db::check_program(&ws.db, program);
    assert!(!r.has_errors(), "{:?}", r.diagnostics);
    let steps = ran(&log, "guest_step");
    assert!(steps.contains(&step_name(&ws, program, 1)), "{steps:?}");
    assert!(steps.contains(&step_name(&ws, program, 2)), "{steps:?}");
    assert!(!steps.contains(&step_name(&ws, program, 0)), "{steps:?}");
}
