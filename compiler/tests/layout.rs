//! The shape of the code base, checked: no source file over 600 lines (test modules
//! excepted), no two modules importing each other, and no module importing one above it in
//! the layer order of ARCHITECTURE.md. Functions over 100 lines are clippy's
//! `too_many_lines` (clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of a file before its `#[cfg(test)]` module (a file that is only tests counts 0).
fn code_lines(text: &str) -> usize {
    let mut n = 0;
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        n += 1;
    }
    n
}

/// `compiler/src/check/guest.rs` → `check::guest`; `mod.rs` and `lib.rs` name their directory.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts.join("::")
}

/// Every module path a file names through `crate::`, `super::` or `self::` (in `use` trees,
/// groups expanded, or inline), made absolute for the module `me`.
fn named_paths(text: &str, me: &str, children: &[String]) -> BTreeSet<String> {
    let code: String = text.lines().take(code_lines(text)).collect::<Vec<_>>().join("\n");
    // `self::` in `a/b.rs` or `a/b/mod.rs` is `a::b`, and `super::` in either is `a`.
    let this: Vec<&str> = if me.is_empty() {
        Vec::new()
    } else {
        me.split("::").collect()
    };
    let parent = |levels: usize| -> Vec<&str> { this[..this.len().saturating_sub(levels)].to_vec() };
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let rest = &code[i..];
        let child = children.iter().find(|c| rest.starts_with(&format!("{c}::")));
        let base: Option<(Vec<&str>, usize)> = if !boundary {
            None
        } else if let Some(c) = child.filter(|_| i < 2 || &code[i - 2..i] != "::") {
            // A child module named from its parent (`guest::check_guest` in check/mod.rs).
            let mut path = this.clone();
            path.push(c.as_str());
            Some((path, c.len() + 2))
        } else if rest.starts_with("crate::") {
            Some((Vec::new(), 7))
        } else if rest.starts_with("self::") {
            Some((this.clone(), 6))
        } else if rest.starts_with("super::") {
            let mut levels = 0;
            let mut at = 0;
            while rest[at..].starts_with("super::") {
                levels += 1;
                at += 7;
            }
            Some((parent(levels), at))
        } else {
            None
        };
        match base {
            Some((base, skip)) => {
                let prefix = base.join("::");
                expand(&rest[skip..], &prefix, &mut out);
                i += skip;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// `a::b::{c, d::e}` after a prefix: every path it names.
fn expand(rest: &str, prefix: &str, out: &mut BTreeSet<String>) {
    let join = |p: &str| {
        if prefix.is_empty() {
            p.to_string()
        } else if p.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}::{p}")
        }
    };
    let head: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let after = &rest[head.len()..];
    let head = head.trim_end_matches(':');
    if after.starts_with('{') {
        let mut depth = 0;
        let mut item = String::new();
        let inner_prefix = join(head);
        for c in after.chars() {
            match c {
                '{' => {
                    depth += 1;
                    if depth > 1 {
                        item.push(c);
                    }
                }
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        expand(item.trim(), &inner_prefix, out);
                        break;
                    }
                    item.push(c);
                }
                ',' if depth == 1 => {
                    expand(item.trim(), &inner_prefix, out);
                    item.clear();
                }
                c => item.push(c),
            }
        }
    } else if !head.is_empty() && head != "self" {
        out.insert(join(head));
    } else {
        out.insert(prefix.to_string());
    }
}

/// The module (of `modules`) a path names: its longest prefix that is a module.
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|k| parts[..k].join("::"))
        .find(|m| modules.contains(m))
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    for dir in ["compiler/src", "lsp/src"] {
        sources(&workspace().join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = code_lines(&std::fs::read_to_string(f).unwrap());
            (n > 600).then(|| format!("{}: {n} lines", f.strip_prefix(workspace()).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by meaning:\n{}", long.join("\n"));
}

#[test]
fn no_two_modules_import_each_other() {
    for dir in ["compiler/src", "lsp/src"] {
        let root = workspace().join(dir);
        let mut files = Vec::new();
        sources(&root, &mut files);
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(&root, f)).collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &files {
            let from = module_of(&root, f);
            let children: Vec<String> = modules
                .iter()
                .filter_map(|m| {
                    let rest = if from.is_empty() {
                        Some(m.as_str())
                    } else {
                        m.strip_prefix(&format!("{from}::"))
                    };
                    rest.filter(|r| !r.is_empty() && !r.contains("::")).map(str::to_string)
                })
                .collect();
            for path in named_paths(&std::fs::read_to_string(f).unwrap(), &from, &children) {
                if let Some(to) = resolve(&path, &modules).filter(|to| *to != from) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        let mut circles = Vec::new();
        for (a, targets) in &edges {
            for b in targets {
                // A parent re-exporting its child is not a circle; a child using its parent's
                // items is: only exact pairs count, both directions named.
                if a < b && edges.get(b).is_some_and(|t| t.contains(a)) {
                    circles.push(format!("{a} <-> {b}"));
                }
            }
        }
        assert!(
            circles.is_empty(),
            "{dir}: modules that import each other:\n{}",
            circles.join("\n")
        );
    }
}

/// The layers of ARCHITECTURE.md, lowest first: a module may use its own layer and those
/// below, never one above.
const LAYERS: &[&[&str]] = &[
    &["span", "units", "sets", "terminal", "text", "names", "numbers", "write"],
    &["source", "diagnostics", "codes"],
    &["syntax", "lang"],
    &["host", "ir"],
    &["place"],
    &["check"],
    &["lower", "hotplug"],
    &["project"],
    &["db"],
    &["explain", "import", "fmt", "verify", "migrate"],
    &["ide"],
    &["fuzz"],
];

fn layer_of(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().position(|l| l.contains(&top))
}

#[test]
fn no_module_imports_one_above_it() {
    let root = workspace().join("compiler/src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    // The binary sits on top of everything; test modules may reach anywhere.
    files.retain(|f| !f.starts_with(root.join("bin")) && f.file_stem().is_none_or(|s| s != "tests"));
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&root, f)).collect();
    let unknown: Vec<&String> = modules
        .iter()
        .filter(|m| !m.is_empty() && layer_of(m).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "modules in no layer (add them to LAYERS and ARCHITECTURE.md): {unknown:?}"
    );
    let mut up = Vec::new();
    for f in &files {
        let from = module_of(&root, f);
        let Some(low) = layer_of(&from) else { continue };
        for path in named_paths(&std::fs::read_to_string(f).unwrap(), &from, &[]) {
            let Some(to) = resolve(&path, &modules) else { continue };
            if layer_of(&to).is_some_and(|high| high > low) {
                up.push(format!("{from} -> {to}"));
            }
        }
    }
    up.sort();
    up.dedup();
    assert!(up.is_empty(), "imports up the layers:\n{}", up.join("\n"));
}
