//! Loading and compiling a `.vnuma` file (or standard input), and printing its diagnostics.

use super::args::MessageFormat;
use super::out::{Out, codes};
use std::io::Write;
use std::path::{Path, PathBuf};
use vnumac::db::{self, Compiled, Database, FsLoader};
use vnumac::diagnostics;

/// The path that means standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The file system, except the root file `-`, read once from standard input.
struct CliLoader {
    fs: FsLoader,
    stdin: std::cell::RefCell<Option<std::io::Result<String>>>,
}

const STDIN_NAME: &str = "<stdin>";

impl CliLoader {
    fn new() -> CliLoader {
        CliLoader {
            fs: FsLoader {
                sysfs_root: PathBuf::from("/sys"),
            },
            stdin: std::cell::RefCell::new(None),
        }
    }
}

/// Standard input as text, bounded like any input file.
fn read_stdin() -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let cap = vnumac::source::MAX_INPUT_BYTES;
    let mut bytes = Vec::new();
    std::io::stdin().lock().take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("is larger than the {} MiB limit for input files", cap >> 20),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").map(<[u8]>::to_vec).unwrap_or(bytes);
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

impl db::Loader for CliLoader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path.as_os_str() == STDIN_NAME {
            let mut slot = self.stdin.borrow_mut();
            let r = slot.get_or_insert_with(read_stdin);
            return match r {
                Ok(t) => Ok(t.clone()),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            };
        }
        self.fs.read(path)
    }
    fn probe(&self) -> Result<vnumac::host::HostProfile, String> {
        self.fs.probe()
    }
}

/// Compile a file (`-`: standard input) and print its diagnostics; `Err(2)` on I/O errors.
pub(crate) fn compile(file: &Path, out: Out) -> Result<(Database, db::Program, Compiled), u8> {
    let db = Database::default();
    let root = if is_stdin(file) { Path::new(STDIN_NAME) } else { file };
    let program = match db::load_program(&db, root, &CliLoader::new()) {
        Ok(p) => p,
        Err(e) => {
            out.error(codes::IO, Some(root), &format!("cannot read {}: {e}", root.display()));
            return Err(2);
        }
    };
    let compiled = db::compile(&db, program);
    print_diagnostics(&compiled, out);
    Ok((db, program, compiled))
}

/// What a command holds once its output is written (standard output flushed, files made
/// durable) and the process is about to end: the system takes the memory back whole, where
/// freeing the query database piece by piece cost 8% of checking a 1,000-guest fleet and a
/// tenth of a small build's instructions.
pub(crate) fn release_at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Diagnostics on stderr. A clean build is silent: notes only with `--verbose` (or as JSON).
pub(crate) fn print_diagnostics(c: &Compiled, out: Out) {
    let stderr = std::io::stderr();
    let mut w = std::io::BufWriter::new(stderr.lock());
    let renderer = diagnostics::Renderer::new(&c.sources, out.color, 100);
    let lines = vnumac::source::LineCache::new(&c.sources);
    // Diagnostics are sorted by file: count each file's and print the first few.
    let mut shown: std::collections::HashMap<vnumac::span::FileId, usize> = Default::default();
    let mut hidden: Vec<(vnumac::span::FileId, usize)> = Vec::new();
    for d in &c.diagnostics {
        if out.format == MessageFormat::Human && d.severity == diagnostics::Severity::Note && !out.verbose {
            continue;
        }
        let file = d.primary_span().file;
        let n = shown.entry(file).or_default();
        *n += 1;
        if *n > vnumac::codes::SHOWN_PER_FILE {
            match hidden.iter_mut().find(|(f, _)| *f == file) {
                Some((_, k)) => *k += 1,
                None => hidden.push((file, 1)),
            }
            continue;
        }
        let text = match out.format {
            MessageFormat::Human => renderer.render(d),
            MessageFormat::Json => format!("{}\n", diagnostics::to_json_with(d, &lines)),
        };
        let _ = w.write_all(text.as_bytes());
    }
    for (file, k) in hidden {
        let message = vnumac::codes::more_note(k, &c.sources.display_path(file));
        let _ = match out.format {
            MessageFormat::Human => writeln!(w, "{}", vnumac::terminal::escape(&message)),
            MessageFormat::Json => writeln!(
                w,
                "{}",
                serde_json::json!({"severity": "note", "code": vnumac::codes::MORE, "message": message, "help": null, "labels": []})
            ),
        };
    }
    if out.format == MessageFormat::Human {
        let errors = c.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = c
            .diagnostics
            .iter()
            .filter(|d| d.severity == diagnostics::Severity::Warning)
            .count();
        if errors > 0 {
            let _ = writeln!(w, "error: {errors} error(s), {warnings} warning(s); nothing written");
        }
    }
    let _ = w.flush();
}
