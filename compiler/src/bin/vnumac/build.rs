//! `vnumac build`: a guest's XML, QEMU line or model on stdout, or every guest's files.

use super::args::Emit;
use super::compile::compile;
use super::out::{Out, codes, write_stdout};
use std::path::Path;
use std::process::ExitCode;
use vnumac::db;
use vnumac::write::Output;

pub(crate) fn build(
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
