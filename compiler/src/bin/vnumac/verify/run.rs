//! `vnumac verify`: compile the file, reach each running guest, compare, print the marked
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

/// Exit 0 when every guest is as intended, 1 when anything differs, 2 when the file has
/// errors or a guest cannot be reached or read.
pub(crate) fn verify(o: &Options, reach: &mut dyn Reach, out: Out) -> ExitCode {
    let compiled = match compile(&o.file, out) {
        Ok((_, _, c)) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(2);
    }
    let Some(guests) = pick(&compiled, o, reach.by_name(), out) else {
        return ExitCode::from(2);
    };
    let several = guests.len() > 1;
    let mut watched: Vec<Watched<'_>> = guests
        .into_iter()
        .enumerate()
        .map(|(index, guest)| Watched {
            guest,
            index,
            several,
            shown: None,
        })
        .collect();
    for look_no in 1u64.. {
        // 0 as intended, 1 a difference, 2 a guest that could not be verified.
        let mut worst = 0u8;
        let mut found = 0;
        for w in &mut watched {
            match w.look(&compiled, reach, o.window_ms, out) {
                Some(n) => {
                    found += n;
                    worst = worst.max(u8::from(n > 0));
                }
                None => worst = 2,
            }
        }
        let Some(every) = o.watch.filter(|_| worst < 2) else {
            return ExitCode::from(worst);
        };
        if out.verbose {
            let _ = write_stdout(format!("look {look_no}: {found} difference(s)\n").as_bytes());
        }
        std::thread::sleep(Duration::from_secs(every));
    }
    ExitCode::from(2)
}

/// One guest being verified, and what differed at its last look, so that `--watch` prints
/// each difference once.
struct Watched<'c> {
    guest: &'c Guest,
    /// Its place among the guests verified: maps after the first are set apart.
    index: usize,
    /// Several guests are verified: errors and messages name the guest.
    several: bool,
    shown: Option<BTreeSet<(&'static str, Subject)>>,
}

impl Watched<'_> {
    /// One look: the map the first time, then each new difference and each that is gone.
    /// The number of differences, or None when the guest cannot be reached or read (the
    /// error is reported) or stdout is gone.
    fn look(&mut self, compiled: &Compiled, reach: &mut dyn Reach, window_ms: u64, out: Out) -> Option<usize> {
        let g = self.guest;
        let (observed, diffs) = match look(g, reach, window_ms) {
            Ok(found) => found,
            Err(f) => {
                out.error(f.code, None, &self.named(&f.message));
                return None;
            }
        };
        if self.shown.is_none() {
            let gap = if self.index > 0 { "\n" } else { "" };
            let text = format!("{gap}{}", map(g, &observed, &diffs));
            if write_stdout(vnumac::terminal::escape(&text).as_bytes()) != ExitCode::SUCCESS {
                return None;
            }
        }
        let now: BTreeSet<(&'static str, Subject)> = diffs.iter().map(|d| (d.code, d.subject.clone())).collect();
        let new: Vec<&Difference> = diffs
            .iter()
            .filter(|d| {
                self.shown
                    .as_ref()
                    .is_none_or(|s| !s.contains(&(d.code, d.subject.clone())))
            })
            .collect();
        print_differences(compiled, g, &new, out);
        if let Some(before) = &self.shown {
            for (code, subject) in before.difference(&now) {
                let line = format!("{}\n", self.named(&format!("{subject} is as intended again ({code})")));
                let _ = write_stdout(vnumac::terminal::escape(&line).as_bytes());
            }
        }
        self.shown = Some(now);
        Some(diffs.len())
    }

    /// `message`, with the guest's name when several guests are verified.
    fn named(&self, message: &str) -> String {
        if self.several {
            format!("guest `{}`: {message}", self.guest.name)
        } else {
            message.to_string()
        }
    }
}

/// Differences on stderr, as diagnostics of the file: rendered, or JSON lines that also
/// carry the guest, the subject, what was intended and what the guest shows.
fn print_differences(compiled: &Compiled, g: &Guest, diffs: &[&Difference], out: Out) {
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
                json["guest"] = g.name.clone().into();
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

/// The guests to verify: `--guest`, or the file's only guest, or, when each guest is reached
/// by its name (`every`), all of them.
fn pick<'c>(compiled: &'c Compiled, o: &Options, every: bool, out: Out) -> Option<Vec<&'c Guest>> {
    let guests = &compiled.checked.build.guests;
    let file = Some(o.file.as_path());
    match (&o.guest, guests.as_slice()) {
        (Some(name), _) => {
            let g = guests.iter().find(|g| g.name == *name);
            if g.is_none() {
                let message = format!("no guest named `{name}` in {}", o.file.display());
                out.error(codes::USAGE, file, &message);
            }
            g.map(|g| vec![g])
        }
        (None, []) => {
            out.error(codes::USAGE, file, &format!("{} has no guest", o.file.display()));
            None
        }
        (None, [g]) => Some(vec![g]),
        (None, many) if every => Some(many.iter().collect()),
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
