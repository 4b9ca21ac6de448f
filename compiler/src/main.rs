//! The `vnumac` command line.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vnumac::db::{self, Compiled, Database, FsLoader};
use vnumac::diagnostics;

#[derive(Parser)]
#[command(
    name = "vnumac",
    version,
    about = "Compile .vnuma guest descriptions into libvirt domain XML and QEMU command lines, checked against the host's NUMA topology",
    after_help = "Examples:\n  vnumac build examples/talk-manual-cells.vnuma          print the domain XML\n  vnumac build guest.vnuma --emit qemu                  print the QEMU command line\n  vnumac build fleet.vnuma -o out/                      write out/NAME.xml and out/NAME.args for every guest\n  vnumac check *.vnuma                                  diagnostics only\n  vnumac fmt --check *.vnuma                            are the files in canonical form?\n  vnumac explain fleet.vnuma                            where every vCPU and cell landed on the host\n  vnumac plan guest.vnuma --guest web --vcpus 12        balanced vCPU hotplug commands\n  vnumac host import /path/to/capabilities.xml         print a host profile as .vnuma\n  vnumac host probe                                     the same for this machine\n  vnumac import dumpxml.xml --host peppi                an existing domain as a .vnuma guest\n\nExit codes: 0 ok (warnings allowed), 1 errors in the input, 2 usage or I/O errors."
)]
struct Cli {
    /// How diagnostics are printed on stderr.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, global = true)]
    message_format: MessageFormat,
    /// Also print notes (which nodes `vnuma` picked, ...); JSON output always has them.
    #[arg(long, short, global = true)]
    verbose: bool,
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
        /// The .vnuma file.
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
        /// The .vnuma files.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let fmt = cli.message_format;
    VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
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
            build(&file, emit, guest.as_deref(), out_dir.as_deref(), syntax, fmt)
        }
        Command::Check { files } => {
            let mut code = 0u8;
            for f in &files {
                match compile(f, fmt) {
                    Ok(c) if c.has_errors() => code = code.max(1),
                    Ok(_) => {}
                    Err(c) => code = code.max(c),
                }
            }
            ExitCode::from(code)
        }
        Command::Explain { file, guest, format } => explain(&file, guest.as_deref(), format, fmt),
        Command::Plan { file, guest, vcpus } => plan(&file, &guest, vcpus, fmt),
        Command::Import { file, host, caps } => import(&file, host, caps.as_deref(), cli.message_format),
        Command::Fmt { check, files } => fmt_files(&files, check, fmt),
        Command::Host { command } => host(command),
    }
}

/// Compile a file and print its diagnostics; `Err(2)` on I/O errors.
fn compile(file: &Path, fmt: MessageFormat) -> Result<Compiled, u8> {
    let db = Database::default();
    let loader = FsLoader {
        sysfs_root: PathBuf::from("/sys"),
    };
    let program = match db::load_program(&db, file, &loader) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Err(2);
        }
    };
    let compiled = db::compile(&db, program).clone();
    print_diagnostics(&compiled, fmt);
    Ok(compiled)
}

/// `--verbose`: notes are printed too.
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Diagnostics on stderr. A clean build is silent: notes only with `--verbose` (or as JSON).
fn print_diagnostics(c: &Compiled, fmt: MessageFormat) {
    let stderr = std::io::stderr();
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let verbose = VERBOSE.load(std::sync::atomic::Ordering::Relaxed);
    let mut out = stderr.lock();
    for d in &c.diagnostics {
        if fmt == MessageFormat::Human && d.severity == diagnostics::Severity::Note && !verbose {
            continue;
        }
        let text = match fmt {
            MessageFormat::Human => diagnostics::render(d, &c.sources, color, 100),
            MessageFormat::Json => format!("{}\n", diagnostics::to_json(d, &c.sources)),
        };
        let _ = out.write_all(text.as_bytes());
    }
    if fmt == MessageFormat::Human {
        let errors = c.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = c
            .diagnostics
            .iter()
            .filter(|d| d.severity == diagnostics::Severity::Warning)
            .count();
        if errors > 0 {
            let _ = writeln!(out, "error: {errors} error(s), {warnings} warning(s); nothing written");
        }
    }
}

fn build(
    file: &Path,
    emit: Emit,
    only: Option<&str>,
    out_dir: Option<&Path>,
    syntax: vnumac::lower::qemu_args::Syntax,
    fmt: MessageFormat,
) -> ExitCode {
    let db = Database::default();
    let loader = FsLoader {
        sysfs_root: PathBuf::from("/sys"),
    };
    let program = match db::load_program(&db, file, &loader) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let compiled = db::compile(&db, program);
    print_diagnostics(&compiled, fmt);
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
                eprintln!(
                    "error: no guest named `{name}` in {} (guests: {})",
                    file.display(),
                    names.join(", ")
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
            files.push((dir.join(format!("{}.xml", o.name)), o.xml.clone()));
            files.push((dir.join(format!("{}.args", o.name)), args_of(i)));
        }
        return match write_all_atomically(dir, &files) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}; nothing written");
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
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        [] => {
            eprintln!("error: {} defines no guest", file.display());
            ExitCode::from(1)
        }
        _ => {
            let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
            eprintln!(
                "error: {} defines {} guests ({}); choose one with --guest NAME, or write them all with -o DIR",
                file.display(),
                names.len(),
                names.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

fn explain(file: &Path, only: Option<&str>, format: ExplainFormat, fmt: MessageFormat) -> ExitCode {
    let compiled = match compile(file, fmt) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    if let Some(name) = only
        && !compiled.checked.build.guests.iter().any(|g| g.name == name)
    {
        eprintln!("error: no guest named `{name}` in {}", file.display());
        return ExitCode::from(2);
    }
    let text = match format {
        ExplainFormat::Text => vnumac::explain::text(&compiled.checked, only),
        ExplainFormat::Svg => vnumac::explain::svg(&compiled.checked, only),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn plan(file: &Path, name: &str, vcpus: u32, fmt: MessageFormat) -> ExitCode {
    let compiled = match compile(file, fmt) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let Some(g) = compiled.checked.build.guests.iter().find(|g| g.name == name) else {
        eprintln!("error: no guest named `{name}` in {}", file.display());
        return ExitCode::from(2);
    };
    match vnumac::hotplug::plan_text(g, vcpus) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn import(file: &Path, host: Option<String>, caps: Option<&Path>, fmt: MessageFormat) -> ExitCode {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| eprintln!("error: cannot read {}: {e}", path.display()))
    };
    let Ok(text) = read(file) else {
        return ExitCode::from(2);
    };
    // With --caps, the host block comes first and the guest runs on it.
    let mut host_block = String::new();
    let mut host = host;
    if let Some(caps) = caps {
        let Ok(caps_text) = read(caps) else {
            return ExitCode::from(2);
        };
        let name = host.clone().unwrap_or_else(|| host_name_from_path(caps));
        match vnumac::host::caps::from_capabilities_xml(&name, &caps_text) {
            Ok(p) => host_block = format!("{}\n", vnumac::host::print::to_vnuma(&p)),
            Err(e) => {
                import_message(fmt, "error", caps, &caps_text, e.offset, &e.message);
                return ExitCode::from(1);
            }
        }
        host = Some(name);
    }
    match vnumac::import::import_domain(&text, &vnumac::import::ImportOptions { host }) {
        Ok(imported) => {
            for n in &imported.notes {
                import_message(fmt, "note", file, &text, None, n);
            }
            print!("{host_block}{}", imported.text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            import_message(fmt, "error", file, &text, e.offset, &e.message);
            ExitCode::from(1)
        }
    }
}

/// A note or error of `vnumac import` on stderr, as text or as one JSON line.
fn import_message(fmt: MessageFormat, severity: &str, file: &Path, text: &str, offset: Option<usize>, message: &str) {
    match (fmt, severity) {
        (MessageFormat::Human, "error") => input_error(file, text, offset, message),
        (MessageFormat::Human, _) => eprintln!("{severity}: {message}"),
        (MessageFormat::Json, _) => {
            let (line, column) = offset.map(|o| vnumac::source::line_col(text, o)).unzip();
            let json = serde_json::json!({
                "severity": severity,
                "message": message,
                "file": file.display().to_string(),
                "line": line,
                "column": column,
            });
            eprintln!("{json}");
        }
    }
}

fn fmt_files(files: &[PathBuf], check: bool, fmt: MessageFormat) -> ExitCode {
    let mut code = 0u8;
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
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
                print_diagnostics(&compiled, fmt);
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
        let dir = file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Err(e) = write_all_atomically(dir, &[(file.clone(), formatted)]) {
            eprintln!("error: {e}");
            code = 2;
        }
    }
    ExitCode::from(code)
}

/// Write every file to a temporary name first, then rename them all; on failure remove what was written.
fn write_all_atomically(dir: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut temps: Vec<(PathBuf, &PathBuf)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, &PathBuf)]| {
        for (t, _) in temps {
            let _ = std::fs::remove_file(t);
        }
    };
    for (path, text) in files {
        let tmp = path.with_extension(format!(
            "{}.{}.tmp",
            path.extension().and_then(|e| e.to_str()).unwrap_or(""),
            std::process::id()
        ));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            cleanup(&temps);
            return Err(format!("cannot write {}: {e}", tmp.display()));
        }
        temps.push((tmp, path));
    }
    for (tmp, path) in &temps {
        if let Err(e) = std::fs::rename(tmp, path) {
            cleanup(&temps);
            return Err(format!("cannot write {}: {e}", path.display()));
        }
    }
    Ok(())
}

fn host(command: HostCommand) -> ExitCode {
    let (profile, source) = match command {
        HostCommand::Probe { sysfs_root, name } => match vnumac::host::sysfs::probe(&name, &sysfs_root) {
            Ok((p, warnings)) => {
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                (p, format!("probed from {}", sysfs_root.display()))
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        HostCommand::Import { file, name } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            let name = name.unwrap_or_else(|| host_name_from_path(&file));
            match vnumac::host::caps::from_capabilities_xml(&name, &text) {
                Ok(p) => (p, format!("imported from {}", file.display())),
                Err(e) => {
                    input_error(&file, &text, e.offset, &e.message);
                    return ExitCode::from(1);
                }
            }
        }
    };
    print!(
        "# {}\n{}",
        vnumac::syntax::write::comment(&source),
        vnumac::host::print::to_vnuma(&profile)
    );
    ExitCode::SUCCESS
}

/// An error in an input file that is not .vnuma: `error: PATH[:LINE:COL]: message`.
fn input_error(file: &Path, text: &str, offset: Option<usize>, message: &str) {
    let at = offset
        .map(|o| {
            let (l, c) = vnumac::source::line_col(text, o);
            format!(":{l}:{c}")
        })
        .unwrap_or_default();
    eprintln!("error: {}{at}: {message}", file.display());
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
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
