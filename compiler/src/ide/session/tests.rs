use super::*;
use crate::db;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Files in memory, counting reads.
#[derive(Clone, Default)]
struct Mem {
    files: Arc<Mutex<BTreeMap<PathBuf, String>>>,
    reads: Arc<AtomicUsize>,
}

impl Mem {
    fn with(files: impl IntoIterator<Item = (String, String)>) -> Mem {
        let m = Mem::default();
        if let Ok(mut f) = m.files.lock() {
            f.extend(files.into_iter().map(|(p, t)| (PathBuf::from(p), t)));
        }
        m
    }
    fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

impl Files for Mem {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let files = self.files.lock().map_err(|e| e.to_string())?;
        files.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }
    fn neighbours(&self, dir: &Path, limit: usize) -> Vec<PathBuf> {
        let Ok(files) = self.files.lock() else {
            return Vec::new();
        };
        files
            .keys()
            .filter(|p| p.parent() == Some(dir) && p.extension().is_some_and(|x| x == "vnuma"))
            .take(limit)
            .cloned()
            .collect()
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("no probe in tests".into())
    }
}

fn session(mem: &Mem) -> Session {
    Session::new(Box::new(mem.clone()))
}

fn root_of(s: &mut Session, path: &str) -> PathBuf {
    let p = s.program_for(Path::new(path));
    p.map(|p| p.root(&s.ws.db).path(&s.ws.db).clone()).unwrap_or_default()
}

/// A cycle of `n` files `/c/cI.vnuma`, each including the next, each with a guest.
fn cycle(n: usize) -> Mem {
    Mem::with((0..n).map(|i| {
        (
            format!("/c/c{i}.vnuma"),
            format!(
                "include \"c{}.vnuma\"\nguest c{i} {{\n  vcpus 1\n  memory 1GiB\n}}\n",
                (i + 1) % n
            ),
        )
    }))
}

#[test]
fn an_opened_file_is_analysed_in_the_file_that_includes_it() {
    let mem = Mem::with([
        ("/w/main.vnuma".into(), "include \"parts/g.vnuma\"\nhost h {}\n".into()),
        (
            "/w/parts/g.vnuma".into(),
            "guest g on=h {\n  vcpus 1\n  memory 1GiB\n}\n".into(),
        ),
        (
            "/w/parts/alone.vnuma".into(),
            "guest a {\n  vcpus 1\n  memory 1GiB\n}\n".into(),
        ),
    ]);
    let mut s = session(&mem);
    s.workspace_root = Some(PathBuf::from("/w"));
    let g = "/w/parts/g.vnuma";
    assert!(s.open(Path::new(g), 1, mem.read(Path::new(g)).unwrap_or_default()));
    assert_eq!(root_of(&mut s, g), Path::new("/w/main.vnuma"));
    let alone = "/w/parts/alone.vnuma";
    assert!(s.open(Path::new(alone), 1, mem.read(Path::new(alone)).unwrap_or_default()));
    assert_eq!(root_of(&mut s, alone), Path::new(alone));
    // An older version is not opened again.
    assert!(!s.open(Path::new(g), 1, String::new()));
}

#[test]
fn the_search_for_an_includer_is_bounded_and_remembered() {
    let n = 4_000;
    let mem = cycle(n);
    let mut s = session(&mem);
    let first = "/c/c7.vnuma";
    let text = mem.read(Path::new(first)).unwrap_or_default();
    s.open(Path::new(first), 1, text.clone());
    // In a cycle every file includes every other: the file is its own root.
    assert_eq!(root_of(&mut s, first), Path::new(first));
    // The search read at most its budget; loading the program read it, up to the files one
    // program may read (`MAX_PROGRAM_FILES`), once.
    let after_open = mem.reads();
    assert!(after_open <= MAX_SCAN_FILES + n + 1, "{after_open}");
    // Each search reads at most its budget, and what it read is remembered: once the whole
    // cycle is known, opening reads only the program.
    let mut reads = Vec::new();
    for _ in 0..6 {
        s.close(Path::new(first));
        let before = mem.reads();
        s.open(Path::new(first), 1, text.clone());
        reads.push(mem.reads() - before);
    }
    assert!(reads.iter().all(|r| *r <= MAX_SCAN_FILES + n), "{reads:?}");
    let program = n.min(crate::project::MAX_PROGRAM_FILES);
    assert_eq!(reads.last(), Some(&(program - 1)), "{reads:?}");
}

#[test]
fn closing_frees_what_no_open_document_needs() {
    let mem = cycle(1_000);
    let mut s = session(&mem);
    let small = "/s/small.vnuma";
    s.open(Path::new(small), 1, "guest s {\n  vcpus 1\n  memory 1GiB\n}\n".into());
    for round in 0..5 {
        let p = format!("/c/c{}.vnuma", round * 37);
        let text = mem.read(Path::new(&p)).unwrap_or_default();
        s.open(Path::new(&p), 1, text);
        assert_eq!(s.ws.file_count(), 1_001);
        s.close(Path::new(&p));
        // Only the small document's file is left, and its program still answers.
        assert_eq!(s.ws.file_count(), 1, "round {round}");
        assert!(s.disk.is_empty());
        let (program, file) = s.context(Path::new(small)).unwrap_or_else(|| panic!("small is open"));
        assert_eq!(super::super::diagnostics(&s.ws.db, program, file), Vec::new());
    }
}

#[test]
fn a_document_over_the_input_cap_is_not_analysed() {
    let mem = Mem::default();
    let mut s = session(&mem);
    let main = "/b/main.vnuma";
    let big = "/b/big.vnuma";
    s.open(Path::new(main), 1, "include \"big.vnuma\"\n".into());
    s.open(Path::new(big), 1, "a".repeat(MAX_INPUT_BYTES as usize + 1));
    assert!(s.is_too_large(Path::new(big)));
    // It reads as a file that large: the includer says so, with the file's own message.
    let (program, file) = s.context(Path::new(main)).unwrap_or_else(|| panic!("main is open"));
    let diags = super::super::diagnostics(&s.ws.db, program, file);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0]
            .message
            .ends_with("is larger than the 16 MiB limit for input files"),
        "{diags:?}"
    );
    assert_eq!(
        too_large(Path::new(big)),
        "cannot read /b/big.vnuma: is larger than the 16 MiB limit for input files"
    );
    // Edits still apply: deleting all but a guest makes it analysable again.
    let edit = Change {
        range: Some(((0, 0), (0, u32::MAX))),
        text: "guest b {\n  vcpus 1\n  memory 1GiB\n}\n".into(),
    };
    assert!(s.change(Path::new(big), 2, &[edit], Encoding::Utf16));
    assert!(!s.is_too_large(Path::new(big)));
    let (program, file) = s.context(Path::new(main)).unwrap_or_else(|| panic!("main is open"));
    assert!(super::super::diagnostics(&s.ws.db, program, file).is_empty());
}

/// A write to the workspace cancels a query running on a snapshot in another thread: the
/// snapshot's thread is held inside its first query until the writer has raised the
/// cancellation flag, so the order is fixed, not a race.
#[test]
fn a_write_cancels_analysis_running_on_a_snapshot() {
    use std::sync::atomic::AtomicBool;
    let flag_set = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let (f, st) = (flag_set.clone(), started.clone());
    let db = db::Database::with_events(move |e| match e.kind {
        salsa::EventKind::DidSetCancellationFlag => f.store(true, Ordering::SeqCst),
        salsa::EventKind::WillExecute { .. } if std::thread::current().name() == Some("snapshot") => {
            st.store(true, Ordering::SeqCst);
            while !f.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
        _ => {}
    });
    let mut ws = Workspace::new(db);
    let mem = Mem::with([("/x/a.vnuma".into(), "guest a {\n  vcpus 1\n  memory 1GiB\n}\n".into())]);
    let mut disk = HashMap::new();
    let loader = Overlay {
        docs: &HashMap::new(),
        disk: std::cell::RefCell::new(&mut disk),
        files: &mem,
    };
    let Ok(program) = ws.load(Path::new("/x/a.vnuma"), &loader) else {
        panic!("loads")
    };
    let snap = ws.snapshot();
    let worker = std::thread::Builder::new()
        .name("snapshot".into())
        .spawn(move || salsa::Cancelled::catch(|| db::program_diagnostics(&snap.db, program).len()))
        .unwrap_or_else(|e| panic!("{e}"));
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    // The write waits for the snapshot to be dropped; it is, once its query unwinds.
    ws.set_file(
        Path::new("/x/a.vnuma"),
        "guest a {\n  vcpus 2\n  memory 1GiB\n}\n".into(),
    );
    let r = worker.join().unwrap_or_else(|_| panic!("the worker does not panic"));
    assert!(matches!(r, Err(salsa::Cancelled::PendingWrite)), "{r:?}");
}
