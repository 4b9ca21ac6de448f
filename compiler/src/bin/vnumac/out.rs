//! How errors that are not diagnostics reach stderr and how results reach stdout.

use super::args::MessageFormat;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Codes of the errors that are not diagnostics of a `.vnuma` file (see the README).
pub(crate) use vnumac::codes;

/// How errors and diagnostics reach stderr.
#[derive(Copy, Clone)]
pub(crate) struct Out {
    pub(crate) format: MessageFormat,
    pub(crate) color: bool,
    /// `--verbose`: print notes too.
    pub(crate) verbose: bool,
}

impl Out {
    /// An error that is not a diagnostic: `error: message`, or a JSON line with its code.
    pub(crate) fn error(&self, code: &str, file: Option<&Path>, message: &str) {
        self.error_at(code, file, None, message);
    }

    /// The same, at a position in a file (`text` and a byte offset).
    pub(crate) fn error_at(&self, code: &str, file: Option<&Path>, at: Option<(&str, usize)>, message: &str) {
        let pos = at.map(|(text, o)| (vnumac::source::line_col(text, o), o));
        let line = match self.format {
            MessageFormat::Human => {
                let place = match (file, pos) {
                    (Some(f), Some(((l, c), _))) => format!("{}:{l}:{c}: ", f.display()),
                    _ => String::new(),
                };
                vnumac::terminal::escape(&format!("error: {place}{message}")).into_owned()
            }
            MessageFormat::Json => {
                let labels: Vec<serde_json::Value> = match (file, pos) {
                    (Some(f), Some(((l, c), o))) => vec![serde_json::json!({
                        "message": "",
                        "file": f.display().to_string(),
                        "line": l,
                        "column": c,
                        "start": o,
                        "end": o,
                        "primary": true,
                    })],
                    _ => Vec::new(),
                };
                serde_json::json!({
                    "severity": "error",
                    "code": code,
                    "message": message,
                    "help": null,
                    "file": file.map(|f| f.display().to_string()),
                    "labels": labels,
                })
                .to_string()
            }
        };
        eprintln!("{line}");
    }
}

/// A command line clap refused: its message, or with `--message-format json` a JSON line.
pub(crate) fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().collect();
    let json = args.windows(2).any(|w| w[0] == "--message-format" && w[1] == "json")
        || args.iter().any(|a| a == "--message-format=json");
    if json {
        let message = e.kind().as_str().map(str::to_string).unwrap_or_else(|| {
            e.render()
                .to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_string()
        });
        Out {
            format: MessageFormat::Json,
            color: false,
            verbose: false,
        }
        .error(codes::USAGE, None, &message);
    } else {
        // Arguments are quoted back: written out plainly when they hold control characters.
        let rendered = e.render().to_string();
        match vnumac::terminal::escape(&rendered) {
            std::borrow::Cow::Borrowed(_) => drop(e.print()),
            std::borrow::Cow::Owned(safe) => eprint!("{safe}"),
        }
    }
    ExitCode::from(2)
}

pub(crate) fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(bytes).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// Read a file that is not a `.vnuma` source; on failure report it (exit 2).
pub(crate) fn read_or_report(file: &Path, out: Out) -> Result<String, ExitCode> {
    vnumac::source::read_input(file).map_err(|e| {
        out.error(codes::IO, Some(file), &format!("cannot read {}: {e}", file.display()));
        ExitCode::from(2)
    })
}
