//! The `vnumac` command line.

mod args;
mod build;
mod compile;
mod fmt;
mod host;
mod import;
mod inspect;
mod libvirt;
mod migrate;
mod out;
mod verify;

use args::{Cli, ColorChoice, Command, QemuSyntax};
use clap::{CommandFactory, Parser};
use out::{Out, codes, usage_error, write_stdout};
use std::io::IsTerminal;
use std::process::ExitCode;

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
        } => build::build(
            &file,
            emit,
            guest.as_deref(),
            out_dir.as_deref(),
            syntax_of(qemu_syntax),
            out,
        ),
        Command::Check { files } => check(&files, out),
        Command::Explain { file, guest, format } => inspect::explain(&file, guest.as_deref(), format, out),
        Command::Plan { file, guest, vcpus } => inspect::plan(&file, &guest, vcpus, out),
        Command::Import { file, host, caps } => import::import(&file, host, caps.as_deref(), out),
        Command::Fmt { check, files } => fmt::fmt_files(&files, check, out),
        Command::Host { command } => host::host(command, out),
        Command::Verify {
            file,
            guest,
            qmp,
            connect,
            window,
            watch,
            timeout,
        } => {
            let options = verify::Options {
                file,
                guest,
                window_ms: window,
                watch,
            };
            verify::command(&options, qmp, connect, std::time::Duration::from_millis(timeout), out)
        }
        Command::Migrate {
            file,
            guest,
            to,
            to_caps,
            emit,
            diff,
            out_dir,
            qemu_syntax,
        } => {
            let options = migrate::Options {
                file,
                guest,
                to,
                to_caps,
                emit,
                out_dir,
                syntax: syntax_of(qemu_syntax),
                diff,
            };
            migrate::migrate(&options, out)
        }
        Command::LibvirtFacts {
            connect,
            domain,
            timeout,
        } => libvirt::print_facts(&connect, &domain, std::time::Duration::from_millis(timeout), out),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(out),
    }
}

/// Shell completions, generated from the same definitions as the parser.
fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vnumac", &mut buf);
    write_stdout(&buf)
}

/// `vnumac check`: every file checked; the worst exit code.
fn check(files: &[std::path::PathBuf], out: Out) -> ExitCode {
    let mut code = 0u8;
    for (i, f) in files.iter().enumerate() {
        let compiled = compile::compile(f, out);
        match compiled.as_ref().map(|(_, _, c)| c) {
            Ok(c) if c.has_errors() => code = code.max(1),
            Ok(_) => {}
            Err(c) => code = code.max(*c),
        }
        if i + 1 == files.len() {
            compile::release_at_exit(compiled);
        }
    }
    ExitCode::from(code)
}

/// The man page, generated from the same definitions as the parser.
fn man(out: Out) -> ExitCode {
    let mut buf = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut buf) {
        Ok(()) => write_stdout(&buf),
        Err(e) => {
            out.error(codes::IO, None, &format!("cannot render the man page: {e}"));
            ExitCode::from(2)
        }
    }
}

fn syntax_of(s: QemuSyntax) -> vnumac::lower::qemu_args::Syntax {
    match s {
        QemuSyntax::Keyval => vnumac::lower::qemu_args::Syntax::Keyval,
        QemuSyntax::Json => vnumac::lower::qemu_args::Syntax::Json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
