//! `vnumac build`: a guest's XML, QEMU line or model on stdout, or every guest's files.

use super::args::Emit;
use super::compile::compile;
use super::out::{Out, codes, write_stdout};
use std::path::Path;
use std::process::ExitCode;
use vnumac::db::{self, GuestOutput};
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
    let (db, program, compiled) = match compile(file, out) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let built = Built {
        outputs: db::lower(&db, program),
        guests: &compiled.checked.build.guests,
        syntax,
    };
    let selected = match select(file, only, built.outputs, out) {
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

/// Every guest's outputs, and the syntax its QEMU line is wanted in.
struct Built<'a> {
    outputs: &'a [GuestOutput],
    guests: &'a [Guest],
    syntax: Syntax,
}

impl Built<'_> {
    /// The keyval form is what the pipeline caches; the JSON form is rendered on request.
    fn args_of(&self, i: usize) -> String {
        match self.syntax {
            Syntax::Keyval => self.outputs[i].args.clone(),
            Syntax::Json => vnumac::lower::qemu::command_line_in(&self.guests[i], self.syntax),
        }
    }
}

/// The guests asked for: the one `--guest` names, or all.
fn select(file: &Path, only: Option<&str>, outputs: &[GuestOutput], out: Out) -> Result<Vec<usize>, ExitCode> {
    match only {
        Some(name) => match outputs.iter().position(|o| o.name == name) {
            Some(i) => Ok(vec![i]),
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
                Err(ExitCode::from(2))
            }
        },
        None => Ok((0..outputs.len()).collect()),
    }
}

/// `-o DIR`: DIR/NAME.xml and DIR/NAME.args for every guest selected, all or nothing.
fn write_dir(dir: &Path, built: &Built, selected: &[usize], out: Out) -> ExitCode {
    let mut files = Vec::new();
    for &i in selected {
        let o = &built.outputs[i];
        files.push(Output::new(dir.join(format!("{}.xml", o.name)), o.xml.clone()));
        files.push(Output::new(dir.join(format!("{}.args", o.name)), built.args_of(i)));
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
    let outputs = &built.outputs;
    match selected {
        [i] => {
            let text = match emit {
                Emit::Xml => outputs[*i].xml.clone(),
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
