//! `vnumac build`: a guest's XML, QEMU line or model on stdout, or every guest's files.

use super::args::Emit;
use super::compile::compile;
use super::out::{Out, codes, write_stdout};
use std::path::Path;
use std::process::ExitCode;
use vnumac::ir::Guest;
use vnumac::lower::qemu_args::Syntax;
use vnumac::write::Output;

pub(crate) fn build(
    file: &Path,
    emit: Emit,
    only: Option<&str>,
    out_dir: Option<&Path>,
    syntax: Syntax,
    out: Out,
) -> ExitCode {
    let (db, _, compiled) = match compile(file, out) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let built = Built {
        guests: &compiled.checked.build.guests,
        syntax,
    };
    let selected = match select(file, only, built.guests, out) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let code = match out_dir {
        Some(dir) => write_dir(dir, &built, &selected, out),
        None => print_one(file, emit, &built, &selected, out),
    };
    super::compile::release_at_exit((db, compiled));
    code
}

/// The checked guests, and the syntax their QEMU lines are wanted in. A guest is lowered
/// only to what is asked of it: printing its XML writes no QEMU line.
struct Built<'a> {
    guests: &'a [Guest],
    syntax: Syntax,
}

impl Built<'_> {
    fn xml_of(&self, i: usize) -> String {
        vnumac::lower::libvirt::domain_xml(&self.guests[i])
    }

    fn args_of(&self, i: usize) -> String {
        vnumac::lower::qemu::command_line_in(&self.guests[i], self.syntax)
    }
}

/// The guests asked for: the one `--guest` names, or all.
fn select(file: &Path, only: Option<&str>, guests: &[Guest], out: Out) -> Result<Vec<usize>, ExitCode> {
    match only {
        Some(name) => match guests.iter().position(|g| g.name == name) {
            Some(i) => Ok(vec![i]),
            None => {
                let names: Vec<&str> = guests.iter().map(|g| g.name.as_str()).collect();
                out.error(
                    codes::USAGE,
                    Some(file),
                    &format!(
                        "no guest named `{name}` in {} (guests: {})",
                        file.display(),
                        names.join(", ")
                    ),
                );
                Err(ExitCode::from(2))
            }
        },
        None => Ok((0..guests.len()).collect()),
    }
}

/// `-o DIR`: DIR/NAME.xml and DIR/NAME.args for every guest selected, all or nothing.
fn write_dir(dir: &Path, built: &Built, selected: &[usize], out: Out) -> ExitCode {
    let mut files = Vec::new();
    for &i in selected {
        let name = &built.guests[i].name;
        files.push(Output::new(dir.join(format!("{name}.xml")), built.xml_of(i)));
        files.push(Output::new(dir.join(format!("{name}.args")), built.args_of(i)));
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        out.error(
            codes::IO,
            Some(dir),
            &format!("cannot create {}: {e}; nothing written", dir.display()),
        );
        return ExitCode::from(2);
    }
    match vnumac::write::write_all(&files) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(codes::IO, Some(&e.path), &format!("{e}; nothing written"));
            ExitCode::from(2)
        }
    }
}

/// One guest's output on stdout; none or several guests are a usage error.
fn print_one(file: &Path, emit: Emit, built: &Built, selected: &[usize], out: Out) -> ExitCode {
    match selected {
        [i] => {
            let text = match emit {
                Emit::Xml => built.xml_of(*i),
                Emit::Qemu => built.args_of(*i),
                Emit::Json => {
                    let v = vnumac::lower::json::guest_json(&built.guests[*i]);
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
            let names: Vec<&str> = built.guests.iter().map(|g| g.name.as_str()).collect();
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
