//! The `vnumac` command line.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vnumac::db::{self, Compiled, Database, FsLoader};
use vnumac::diagnostics;
use vnumac::write::Output;

#[derive(Parser)]
#[command(
    name = "vnumac",
    version,
    about = "Compile .vnuma guest descriptions into libvirt domain XML and QEMU command lines, checked against the host's NUMA topology",
    after_help = "Examples:\n  vnumac build examples/talk-manual-cells.vnuma          print the domain XML\n  vnumac build guest.vnuma --emit qemu                  print the QEMU command line\n  vnumac build fleet.vnuma -o out/                      write out/NAME.xml and out/NAME.args for every guest\n  vnumac check *.vnuma                                  diagnostics only\n  vnumac fmt --check *.vnuma                            are the files in canonical form?\n  vnumac explain fleet.vnuma                            where every vCPU and cell landed on the host\n  vnumac plan guest.vnuma --guest web --vcpus 12        balanced vCPU hotplug commands\n  vnumac host import /path/to/capabilities.xml         print a host profile as .vnuma\n  vnumac host probe                                     the same for this machine\n  vnumac import dumpxml.xml --host peppi                an existing domain as a .vnuma guest\n\nExit codes: 0 ok (warnings allowed), 1 errors in the input, 2 usage or I/O errors."
)]
struct Cli {
    /// How diagnostics and errors are printed on stderr.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, global = true)]
    message_format: MessageFormat,
    /// Also print notes (which nodes `vnuma` picked, ...); JSON output always has them.
    #[arg(long, short, global = true)]
    verbose: bool,
    /// When to colour diagnostics: auto (stderr is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    /// Rendered with the source line and labels.
    Human,
    /// One JSON object per line.
    Json,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// libvirt domain XML.
    Xml,
    /// A QEMU command line, one option per line.
    Qemu,
    /// The checked model as JSON.
    Json,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum QemuSyntax {
    Keyval,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check a file and print a guest's XML or QEMU line, or write every guest with -o.
    Build {
        /// The .vnuma file (`-`: standard input).
        file: PathBuf,
        /// What to print when writing to stdout.
        #[arg(long, value_enum, default_value_t = Emit::Xml)]
        emit: Emit,
        /// Only this guest.
        #[arg(long)]
        guest: Option<String>,
        /// Write DIR/NAME.xml and DIR/NAME.args for every guest instead of printing.
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// How `-object`/`-device`/`-netdev`/`-blockdev` are written in QEMU command lines:
        /// QEMU's key=value syntax, or the JSON form libvirt itself prints.
        #[arg(long, value_enum, default_value_t = QemuSyntax::Keyval)]
        qemu_syntax: QemuSyntax,
    },
    /// Check files and print diagnostics only.
    Check {
        /// The .vnuma files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Rewrite files in canonical form (comments kept); with --check, only report.
    Fmt {
        /// Report files that are not formatted (exit 1) instead of rewriting them.
        #[arg(long)]
        check: bool,
        /// The .vnuma files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show where every vCPU and every cell's memory landed on the host.
    Explain {
        /// The .vnuma file.
        file: PathBuf,
        /// Only this guest.
        #[arg(long)]
        guest: Option<String>,
        /// Text (an affinity map and a per-node summary) or an SVG picture of the host.
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
    },
    /// Print the commands that bring a running guest to N online vCPUs, cells balanced at every step.
    Plan {
        /// The .vnuma file.
        file: PathBuf,
        /// The guest.
        #[arg(long)]
        guest: String,
        /// The number of vCPUs to have online.
        #[arg(long)]
        vcpus: u32,
    },
    /// Turn an existing libvirt domain XML into a .vnuma guest (printed on stdout).
    Import {
        /// The domain XML (`virsh dumpxml NAME`).
        file: PathBuf,
        /// Write `on=HOST` on the guest.
        #[arg(long)]
        host: Option<String>,
        /// The host's `virsh capabilities`: write its `host { }` block before the guest.
        #[arg(long)]
        caps: Option<PathBuf>,
    },
    /// Host profiles: print one as a .vnuma `host { }` block.
    Host {
        #[command(subcommand)]
        command: HostCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `vnumac man > vnumac.1`.
    Man,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Text,
    Svg,
}

#[derive(Subcommand)]
enum HostCommand {
    /// Read this machine's /sys and print its profile.
    Probe {
        /// Where sysfs is mounted (reads DIR/devices/system/{node,cpu}).
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs_root: PathBuf,
        /// The host's name in the printed block.
        #[arg(long, default_value = "this-host")]
        name: String,
    },
    /// Read `virsh capabilities` XML and print its profile.
    Import {
        /// The capabilities XML file.
        file: PathBuf,
        /// The host's name in the printed block (default: from the file name).
        #[arg(long)]
        name: Option<String>,
    },
}

/// Codes of the errors that are not diagnostics of a `.vnuma` file (see the README).
mod codes {
    /// A file that cannot be read or written (exit 2).
    pub const IO: &str = "vnuma::io";
    /// Arguments that do not make sense (exit 2).
    pub const USAGE: &str = "vnuma::usage";
    /// A domain XML that `vnumac import` cannot turn into a guest (exit 1).
    pub const IMPORT: &str = "vnuma::import";
}

/// How errors and diagnostics reach stderr.
#[derive(Copy, Clone)]
struct Out {
    format: MessageFormat,
    color: bool,
    /// `--verbose`: print notes too.
    verbose: bool,
}

impl Out {
    /// An error that is not a diagnostic: `error: message`, or a JSON line with its code.
    fn error(&self, code: &str, file: Option<&Path>, message: &str) {
        self.error_at(code, file, None, message);
    }

    /// The same, at a position in a file (`text` and a byte offset).
    fn error_at(&self, code: &str, file: Option<&Path>, at: Option<(&str, usize)>, message: &str) {
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

/// How many diagnostics are printed for one file; the rest are counted.
const MAX_DIAGNOSTICS_PER_FILE: usize = 200;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let out = Out {
        format: cli.message_format,
        color,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Build {
            file,
            emit,
            guest,
            out_dir,
            qemu_syntax,
        } => {
            let syntax = match qemu_syntax {
                QemuSyntax::Keyval => vnumac::lower::qemu_args::Syntax::Keyval,
                QemuSyntax::Json => vnumac::lower::qemu_args::Syntax::Json,
            };
            build(&file, emit, guest.as_deref(), out_dir.as_deref(), syntax, out)
        }
        Command::Check { files } => {
            let mut code = 0u8;
            for f in &files {
                match compile(f, out).map(|(_, _, c)| c) {
                    Ok(c) if c.has_errors() => code = code.max(1),
                    Ok(_) => {}
                    Err(c) => code = code.max(c),
                }
            }
            ExitCode::from(code)
        }
        Command::Explain { file, guest, format } => explain(&file, guest.as_deref(), format, out),
        Command::Plan { file, guest, vcpus } => plan(&file, &guest, vcpus, out),
        Command::Import { file, host, caps } => import(&file, host, caps.as_deref(), out),
        Command::Fmt { check, files } => fmt_files(&files, check, out),
        Command::Host { command } => host(command, out),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "vnumac", &mut buf);
            write_stdout(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut buf) {
                Ok(()) => write_stdout(&buf),
                Err(e) => {
                    out.error(codes::IO, None, &format!("cannot render the man page: {e}"));
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// A command line clap refused: its message, or with `--message-format json` a JSON line.
fn usage_error(e: clap::Error) -> ExitCode {
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

fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(bytes).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// The path that means standard input.
fn is_stdin(path: &Path) -> bool {
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
fn compile(file: &Path, out: Out) -> Result<(Database, db::Program, Compiled), u8> {
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

/// Diagnostics on stderr. A clean build is silent: notes only with `--verbose` (or as JSON).
fn print_diagnostics(c: &Compiled, out: Out) {
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
        if *n > MAX_DIAGNOSTICS_PER_FILE {
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
        let message = format!(
            "and {k} more diagnostics in {} (the first {MAX_DIAGNOSTICS_PER_FILE} are shown)",
            c.sources.display_path(file)
        );
        let _ = match out.format {
            MessageFormat::Human => writeln!(w, "{}", vnumac::terminal::escape(&message)),
            MessageFormat::Json => writeln!(
                w,
                "{}",
                serde_json::json!({"severity": "note", "code": "vnuma::more", "message": message, "help": null, "labels": []})
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

fn build(
    file: &Path,
    emit: Emit,
    only: Option<&str>,
    out_dir: Option<&Path>,
    syntax: vnumac::lower::qemu_args::Syntax,
    out: Out,
) -> ExitCode {
    let (db, program, compiled) = match compile(file, out) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let outputs = db::lower(&db, program);
    let guests = &compiled.checked.build.guests;
    // The keyval form is what the pipeline caches; the JSON form is rendered on request.
    let args_of = |i: usize| -> String {
        match syntax {
            vnumac::lower::qemu_args::Syntax::Keyval => outputs[i].args.clone(),
            vnumac::lower::qemu_args::Syntax::Json => vnumac::lower::qemu::command_line_in(&guests[i], syntax),
        }
    };
    let selected: Vec<usize> = match only {
        Some(name) => match outputs.iter().position(|o| o.name == name) {
            Some(i) => vec![i],
            None => {
                let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
                out.error(
                    codes::USAGE,
                    Some(file),
                    &format!(
                        "no guest named `{name}` in {} (guests: {})",
                        file.display(),
                        names.join(", ")
                    ),
                );
                return ExitCode::from(2);
            }
        },
        None => (0..outputs.len()).collect(),
    };
    if let Some(dir) = out_dir {
        let mut files = Vec::new();
        for &i in &selected {
            let o = &outputs[i];
            files.push(Output::new(dir.join(format!("{}.xml", o.name)), o.xml.clone()));
            files.push(Output::new(dir.join(format!("{}.args", o.name)), args_of(i)));
        }
        if let Err(e) = std::fs::create_dir_all(dir) {
            out.error(
                codes::IO,
                Some(dir),
                &format!("cannot create {}: {e}; nothing written", dir.display()),
            );
            return ExitCode::from(2);
        }
        return match vnumac::write::write_all(&files) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                out.error(codes::IO, Some(&e.path), &format!("{e}; nothing written"));
                ExitCode::from(2)
            }
        };
    }
    match selected.as_slice() {
        [i] => {
            let text = match emit {
                Emit::Xml => outputs[*i].xml.clone(),
                Emit::Qemu => args_of(*i),
                Emit::Json => {
                    let v = vnumac::lower::json::guest_json(&guests[*i]);
                    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
            };
            write_stdout(text.as_bytes())
        }
        [] => {
            out.error(
                codes::USAGE,
                Some(file),
                &format!("{} defines no guest", file.display()),
            );
            ExitCode::from(1)
        }
        _ => {
            let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
            out.error(
                codes::USAGE,
                Some(file),
                &format!(
                    "{} defines {} guests ({}); choose one with --guest NAME, or write them all with -o DIR",
                    file.display(),
                    names.len(),
                    names.join(", ")
                ),
            );
            ExitCode::from(2)
        }
    }
}

fn explain(file: &Path, only: Option<&str>, format: ExplainFormat, out: Out) -> ExitCode {
    let compiled = match compile(file, out) {
        Ok((_, _, c)) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    if let Some(name) = only
        && !compiled.checked.build.guests.iter().any(|g| g.name == name)
    {
        out.error(
            codes::USAGE,
            Some(file),
            &format!("no guest named `{name}` in {}", file.display()),
        );
        return ExitCode::from(2);
    }
    let text = match format {
        ExplainFormat::Text => vnumac::terminal::escape(&vnumac::explain::text(&compiled.checked, only)).into_owned(),
        ExplainFormat::Svg => vnumac::explain::svg(&compiled.checked, only),
    };
    write_stdout(text.as_bytes())
}

fn plan(file: &Path, name: &str, vcpus: u32, out: Out) -> ExitCode {
    let compiled = match compile(file, out) {
        Ok((_, _, c)) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let Some(g) = compiled.checked.build.guests.iter().find(|g| g.name == name) else {
        out.error(
            codes::USAGE,
            Some(file),
            &format!("no guest named `{name}` in {}", file.display()),
        );
        return ExitCode::from(2);
    };
    match vnumac::hotplug::plan_text(g, vcpus) {
        Ok(text) => write_stdout(text.as_bytes()),
        Err(e) => {
            out.error(codes::USAGE, Some(file), &e.to_string());
            ExitCode::from(2)
        }
    }
}

/// Read a file that is not a `.vnuma` source; on failure report it (exit 2).
fn read_or_report(file: &Path, out: Out) -> Result<String, ExitCode> {
    vnumac::source::read_input(file).map_err(|e| {
        out.error(codes::IO, Some(file), &format!("cannot read {}: {e}", file.display()));
        ExitCode::from(2)
    })
}

/// A host name given on the command line, refused (exit code 2) as a `host` statement's
/// would be (E0415).
fn bad_host_name(name: Option<&str>, out: Out) -> Option<ExitCode> {
    let name = name?;
    if name.is_empty() || name.chars().any(vnumac::check::host_name_refuses) {
        let message = format!(
            "`{}` cannot be a host name: leave out control characters",
            name.escape_debug()
        );
        out.error(codes::USAGE, None, &message);
        return Some(ExitCode::from(2));
    }
    None
}

fn import(file: &Path, host: Option<String>, caps: Option<&Path>, out: Out) -> ExitCode {
    if let Some(code) = bad_host_name(host.as_deref(), out) {
        return code;
    }
    let text = match read_or_report(file, out) {
        Ok(t) => t,
        Err(code) => return code,
    };
    // With --caps, the host block comes first and the guest runs on it.
    let mut host_block = String::new();
    let mut host = host;
    if let Some(caps) = caps {
        let caps_text = match read_or_report(caps, out) {
            Ok(t) => t,
            Err(code) => return code,
        };
        let name = host.clone().unwrap_or_else(|| host_name_from_path(caps));
        match vnumac::host::caps::from_capabilities_xml(&name, &caps_text) {
            Ok(p) => host_block = format!("{}\n", vnumac::host::print::to_vnuma(&p)),
            Err(e) => {
                out.error_at(
                    vnumac::check::codes::CAPS_XML,
                    Some(caps),
                    e.offset.map(|o| (caps_text.as_str(), o)),
                    &e.message,
                );
                return ExitCode::from(1);
            }
        }
        host = Some(name);
    }
    match vnumac::import::import_domain(&text, &vnumac::import::ImportOptions { host }) {
        Ok(imported) => {
            for n in &imported.notes {
                import_note(out, file, n);
            }
            write_stdout(format!("{host_block}{}", imported.text).as_bytes())
        }
        Err(e) => {
            out.error_at(
                codes::IMPORT,
                Some(file),
                e.offset.map(|o| (text.as_str(), o)),
                &e.message,
            );
            ExitCode::from(1)
        }
    }
}

/// A note of `vnumac import` on stderr, as text or as one JSON line.
fn import_note(out: Out, file: &Path, message: &str) {
    match out.format {
        MessageFormat::Human => eprintln!("note: {}", vnumac::terminal::escape(message)),
        MessageFormat::Json => eprintln!(
            "{}",
            serde_json::json!({
                "severity": "note",
                "code": codes::IMPORT,
                "message": message,
                "help": null,
                "file": file.display().to_string(),
                "labels": [],
            })
        ),
    }
}

fn fmt_files(files: &[PathBuf], check: bool, out: Out) -> ExitCode {
    let mut code = 0u8;
    for file in files {
        let text = match read_or_report(file, out) {
            Ok(t) => t,
            Err(_) => {
                code = 2;
                continue;
            }
        };
        let formatted = match vnumac::fmt::format(&text) {
            Ok(f) => f,
            Err(d) => {
                let mut sources = vnumac::source::SourceMap::default();
                sources.add(file.clone(), text);
                let compiled = Compiled {
                    sources,
                    diagnostics: vec![d],
                    ..Compiled::default()
                };
                print_diagnostics(&compiled, out);
                code = code.max(1);
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if check {
            println!("would reformat {}", file.display());
            code = code.max(1);
            continue;
        }
        if let Err(e) = rewrite(file, formatted) {
            out.error(codes::IO, Some(&e.path), &e.to_string());
            code = 2;
        }
    }
    ExitCode::from(code)
}

/// Replace a file's text in place: through a symlink, the file it points to is rewritten
/// (the link stays); the file keeps its permissions.
fn rewrite(file: &Path, text: String) -> Result<(), vnumac::write::WriteError> {
    let target = std::fs::canonicalize(file).map_err(|error| vnumac::write::WriteError {
        path: file.to_path_buf(),
        action: "resolve",
        error,
    })?;
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    vnumac::write::write_all(&[Output {
        path: target,
        text,
        permissions,
    }])
}

fn host(command: HostCommand, out: Out) -> ExitCode {
    let given = match &command {
        HostCommand::Probe { name, .. } => Some(name.as_str()),
        HostCommand::Import { name, .. } => name.as_deref(),
    };
    if let Some(code) = bad_host_name(given, out) {
        return code;
    }
    let (profile, source) = match command {
        HostCommand::Probe { sysfs_root, name } => match vnumac::host::sysfs::probe(&name, &sysfs_root) {
            Ok((p, warnings)) => {
                for w in warnings {
                    eprintln!("warning: {}", vnumac::terminal::escape(&w));
                }
                (p, format!("probed from {}", sysfs_root.display()))
            }
            Err(e) => {
                out.error(codes::IO, Some(&sysfs_root), &e.to_string());
                return ExitCode::from(2);
            }
        },
        HostCommand::Import { file, name } => {
            let text = match read_or_report(&file, out) {
                Ok(t) => t,
                Err(code) => return code,
            };
            let name = name.unwrap_or_else(|| host_name_from_path(&file));
            match vnumac::host::caps::from_capabilities_xml(&name, &text) {
                Ok(p) => (p, format!("imported from {}", file.display())),
                Err(e) => {
                    out.error_at(
                        vnumac::check::codes::CAPS_XML,
                        Some(&file),
                        e.offset.map(|o| (text.as_str(), o)),
                        &e.message,
                    );
                    return ExitCode::from(1);
                }
            }
        }
    };
    write_stdout(
        format!(
            "# {}\n{}",
            vnumac::syntax::write::comment(&source),
            vnumac::host::print::to_vnuma(&profile)
        )
        .as_bytes(),
    )
}

/// `peppi.caps.xml` → `peppi`; anything that is not a word becomes `-`.
fn host_name_from_path(path: &Path) -> String {
    let stem = path.file_name().and_then(|s| s.to_str()).unwrap_or("host");
    let stem = stem.split('.').next().unwrap_or("host");
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "host-");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
