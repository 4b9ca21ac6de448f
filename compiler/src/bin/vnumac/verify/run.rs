//! `vnumac verify`: compile the file, reach the running guest, compare, print the marked
//! map and a diagnostic per difference; with `--watch`, again and again, printing each new
//! difference as it appears.

use super::super::args::MessageFormat;
use super::super::compile::compile;
use super::super::out::{Out, codes, write_stdout};
use super::failure::Failure;
use super::procfs::observe;
use super::reach::Reach;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vnumac::db::Compiled;
use vnumac::diagnostics;
use vnumac::ir::Guest;
use vnumac::verify::{Difference, Observed, Subject, differences, map};

/// What `vnumac verify` was asked.
pub(crate) struct Options {
    pub(crate) file: PathBuf,
    pub(crate) guest: Option<String>,
    /// How long threads are sampled, in milliseconds.
    pub(crate) window_ms: u64,
    /// `--watch SECONDS`.
    pub(crate) watch: Option<u64>,
}

/// Exit 0 when the guest is as intended, 1 when anything differs, 2 when the file has
/// errors or the guest cannot be reached or read.
pub(crate) fn verify(o: &Options, reach: &mut dyn Reach, out: Out) -> ExitCode {
    let compiled = match compile(&o.file, out) {
        Ok((_, _, c)) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(2);
    }
    let Some(g) = pick(&compiled, o, out) else {
        return ExitCode::from(2);
    };
    // What differed at the last look, so that --watch prints each difference once.
    let mut shown: Option<BTreeSet<(&'static str, Subject)>> = None;
    for look_no in 1u64.. {
        let (observed, diffs) = match look(g, reach, o.window_ms) {
            Ok(found) => found,
            Err(f) => {
                out.error(f.code, None, &f.message);
                return ExitCode::from(2);
            }
        };
        if shown.is_none() {
            let text = map(g, &observed, &diffs);
            if write_stdout(vnumac::terminal::escape(&text).as_bytes()) != ExitCode::SUCCESS {
                return ExitCode::from(2);
            }
        }
        let now: BTreeSet<(&'static str, Subject)> = diffs.iter().map(|d| (d.code, d.subject.clone())).collect();
        let new: Vec<&Difference> = diffs
            .iter()
            .filter(|d| shown.as_ref().is_none_or(|s| !s.contains(&(d.code, d.subject.clone()))))
            .collect();
        print_differences(&compiled, &new, out);
        if let Some(before) = &shown {
            for (code, subject) in before.difference(&now) {
                let line = format!("{subject} is as intended again ({code})\n");
                let _ = write_stdout(vnumac::terminal::escape(&line).as_bytes());
            }
        }
        let Some(every) = o.watch else {
            return ExitCode::from(u8::from(!diffs.is_empty()));
        };
        if out.verbose {
            let _ = write_stdout(format!("look {look_no}: {} difference(s)\n", diffs.len()).as_bytes());
        }
        shown = Some(now);
        std::thread::sleep(Duration::from_secs(every));
    }
    ExitCode::from(2)
}

/// Differences on stderr, as diagnostics of the file: rendered, or JSON lines that also
/// carry the subject, what was intended and what the guest shows.
fn print_differences(compiled: &Compiled, diffs: &[&Difference], out: Out) {
    let stderr = std::io::stderr();
    let mut w = std::io::BufWriter::new(stderr.lock());
    let renderer = diagnostics::Renderer::new(&compiled.sources, out.color, 100);
    let lines = vnumac::source::LineCache::new(&compiled.sources);
    for d in diffs {
        let diag = d.diagnostic();
        let text = match out.format {
            MessageFormat::Human => renderer.render(&diag),
            MessageFormat::Json => {
                let mut json = diagnostics::to_json_with(&diag, &lines);
                json["subject"] = d.subject.key().into();
                json["intended"] = d.intended.clone().into();
                json["actual"] = d.actual.clone().into();
                format!("{json}\n")
            }
        };
        let _ = w.write_all(text.as_bytes());
    }
    let _ = w.flush();
}

/// The guest to verify: `--guest`, or the file's only guest.
fn pick<'c>(compiled: &'c Compiled, o: &Options, out: Out) -> Option<&'c Guest> {
    let guests = &compiled.checked.build.guests;
    let file = Some(o.file.as_path());
    match (&o.guest, guests.as_slice()) {
        (Some(name), _) => {
            let g = guests.iter().find(|g| g.name == *name);
            if g.is_none() {
                let message = format!("no guest named `{name}` in {}", o.file.display());
                out.error(codes::USAGE, file, &message);
            }
            g
        }
        (None, [g]) => Some(g),
        (None, []) => {
            out.error(codes::USAGE, file, &format!("{} has no guest", o.file.display()));
            None
        }
        (None, many) => {
            let names: Vec<&str> = many.iter().map(|g| g.name.as_str()).collect();
            let message = format!(
                "{} has several guests ({}): say which with --guest",
                o.file.display(),
                names.join(", ")
            );
            out.error(codes::USAGE, file, &message);
            None
        }
    }
}

/// One look at the running guest and what differs.
fn look(g: &Guest, reach: &mut dyn Reach, window_ms: u64) -> Result<(Observed, Vec<Difference>), Failure> {
    let facts = reach.facts(g)?;
    let observed = observe(&facts, window_ms)?;
    let diffs = differences(g, &observed);
    Ok((observed, diffs))
}
