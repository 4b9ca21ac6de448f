//! `$0` cursor fixtures over the plain functions. Files are written as `### path` sections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::db::{MemLoader, Program, SourceFile, Workspace};
use crate::span::Span;
use std::path::Path;

mod lenses;

const HOST: &str = "host h {
  node 0 cpus=0-3,8-11 memory=16GiB
  node 1 cpus=4-7,12-15 memory=16GiB
  smt split
}
";

/// Load a fixture: the first file is the root; `$0` marks the cursor in it.
fn fixture(text: &str) -> (Workspace, Program, SourceFile, u32) {
    let mut files = MemLoader::default();
    let mut cursor = None;
    let mut root = None;
    let sections: Vec<&str> = if text.starts_with("### ") {
        text.split("### ").skip(1).collect()
    } else {
        vec![]
    };
    let sections = if sections.is_empty() {
        vec![("main.vnuma".to_string(), text.to_string())]
    } else {
        sections
            .iter()
            .map(|s| {
                let (name, body) = s.split_once('\n').unwrap();
                (name.trim().to_string(), body.to_string())
            })
            .collect()
    };
    for (name, mut body) in sections {
        if let Some(at) = body.find("$0") {
            body.replace_range(at..at + 2, "");
            cursor = Some(at as u32);
            root.get_or_insert(name.clone());
        }
        root.get_or_insert(name.clone());
        files = files.with(&name, body);
    }
    let root = root.unwrap();
    let mut ws = Workspace::default();
    let program = ws.load(Path::new(&root), &files).unwrap();
    let file = ws.file(Path::new(&root)).unwrap();
    (ws, program, file, cursor.unwrap_or(0))
}

fn hover_at(text: &str) -> String {
    let (ws, p, f, at) = fixture(text);
    hover(&ws.db, p, f, at).map(|h| h.markdown).unwrap_or_default()
}

#[test]
fn hover_documents_statements_and_properties() {
    let h = hover_at("guest g {\n  vc$0pus 4\n  memory 4GiB\n}\n");
    assert!(h.starts_with("**vcpus** N"), "{h}");
    assert!(h.contains("`boot=`"), "{h}");
    let h = hover_at("guest g {\n  vcpus 4\n  memory 4GiB lo$0cked=true\n}\n");
    assert!(h.contains("Lock guest memory"), "{h}");
}

#[test]
fn hover_on_a_pin_shows_where_each_vcpu_runs() {
    let text = format!("{HOST}guest g on=h {{\n  vcpus 2\n  memory 4GiB\n  pi$0n vcpus=0-1 cpus=1,9\n}}\n");
    let h = hover_at(&text);
    assert!(h.contains("vCPU 0 → CPUs 1,9 (core 1 of socket 0, node 0)"), "{h}");
    assert!(h.contains("vCPU 1 → CPUs 1,9"), "{h}");
}

#[test]
fn hover_on_vnuma_shows_cells_nodes_and_free_memory() {
    let text = format!("{HOST}guest g on=h {{\n  vcpus 8\n  memory 8GiB\n  vnu$0ma mode=host\n}}\n");
    let h = hover_at(&text);
    assert!(
        h.contains("| cell | vCPUs | host CPUs | memory | on host node |"),
        "{h}"
    );
    // Two cells, one per node, each 4 GiB, bound strictly, 12GiB left of 16.
    assert!(h.contains("| 0 | 0-3 |"), "{h}");
    assert!(h.contains("| 1 | 4-7 |"), "{h}");
    assert!(h.contains("0 (strict, 12GiB left)"), "{h}");
    assert!(h.contains("1 (strict, 12GiB left)"), "{h}");
}

#[test]
fn hover_on_a_host_reference_lists_its_nodes() {
    let text = format!("{HOST}guest g on=$0h {{\n  vcpus 2\n  memory 4GiB\n}}\n");
    let h = hover_at(&text);
    assert!(h.contains("host `h`: 2 node(s), 16 CPUs, 32GiB memory"), "{h}");
    assert!(h.contains("| 1 | 4-7,12-15 | 16GiB |"), "{h}");
}

#[test]
fn hover_and_completion_know_sched() {
    let text = format!(
        "{HOST}guest g on=h {{\n  vcpus 2\n  memory 4GiB\n  pin vcpus=0 cpus=1\n  sch$0ed vcpus=0-1 policy=fifo priority=1\n}}\n"
    );
    let h = hover_at(&text);
    assert!(h.starts_with("**sched** [emulator]"), "{h}");
    assert!(h.contains("`priority=`"), "{h}");
    assert!(h.contains("vCPU 0 → CPU 1 (core 1 of socket 0, node 0)"), "{h}");
    assert!(h.contains("vCPU 1 → not pinned: any host CPU"), "{h}");
    let h = hover_at("guest g {\n  vcpus 2\n  memory 4GiB\n  sched vcpus=0 policy=fifo prio$0rity=1\n}\n");
    assert!(h.contains("1 (lowest) to 99"), "{h}");
    let l = labels("guest g {\n  vcpus 2\n  sched vcpus=0 policy=$0\n}\n");
    assert_eq!(l, vec!["fifo", "rr", "batch", "idle"]);
    let l = labels("guest g {\n  vcpus 2\n  sched $0\n}\n");
    for want in ["emulator", "vcpus=", "iothreads=", "policy=", "priority="] {
        assert!(l.contains(&want.to_string()), "{want}: {l:?}");
    }
    // `sched` repeats: still offered after one.
    let l = labels("guest g {\n  vcpus 2\n  sched emulator policy=idle\n  $0\n}\n");
    assert!(l.contains(&"sched".to_string()), "{l:?}");
}

#[test]
fn hover_and_completion_know_target_versions() {
    let h = hover_at("host h libvirt=\"10.0\" dom$0caps=\"h.xml\" {\n  node 0 cpus=0-3 memory=8GiB\n}\n");
    assert!(h.contains("`virsh domcapabilities`"), "{h}");
    let l = labels("host h $0 {\n  node 0 cpus=0-3 memory=8GiB\n}\n");
    for want in ["libvirt=", "qemu=", "domcaps="] {
        assert!(l.contains(&want.to_string()), "{want}: {l:?}");
    }
    // `domcaps=` goes to its file, as `from=` does.
    let text = "### main.vnuma\nhost h domcaps=\"h.domcaps$0.xml\" {\n  node 0 cpus=0-3 memory=8GiB\n}\n\
                ### h.domcaps.xml\n<domainCapabilities><vcpu max='8'/></domainCapabilities>\n";
    let (ws, p, f, at) = fixture(text);
    let t = definition(&ws.db, p, f, at).unwrap();
    assert_eq!(t.file.path(&ws.db), Path::new("h.domcaps.xml"));
}

fn labels(text: &str) -> Vec<String> {
    let (ws, p, f, at) = fixture(text);
    completions(&ws.db, p, f, at).into_iter().map(|c| c.label).collect()
}

#[test]
fn completion_offers_what_the_checker_accepts() {
    // Statements of a guest block, without the ones already there and not repeatable.
    let l = labels("guest g {\n  vcpus 4\n  $0\n}\n");
    assert!(l.contains(&"memory".to_string()), "{l:?}");
    assert!(l.contains(&"pin".to_string()), "{l:?}");
    assert!(!l.contains(&"vcpus".to_string()), "{l:?}");
    assert!(!l.contains(&"node".to_string()), "{l:?}");
    // Properties not yet written.
    let l = labels("guest g {\n  memory 4GiB locked=true $0\n}\n");
    assert!(l.contains(&"hugepages=".to_string()), "{l:?}");
    assert!(!l.contains(&"locked=".to_string()), "{l:?}");
    // Enum words.
    let l = labels("guest g {\n  vnuma mode=$0\n}\n");
    assert_eq!(l, vec!["host", "node"]);
    // Host names and host node ids.
    let l = labels(&format!("{HOST}guest g on=$0"));
    assert_eq!(l, vec!["h"]);
    let l = labels(&format!("{HOST}guest g on=h {{\n  pin vcpus=0 node=$0\n}}\n"));
    assert_eq!(l, vec!["0", "1"]);
    // Guest cells for HMAT lines, host nodes for a DIMM's own.
    let cells = "guest g {\n  numa {\n    cell 0 cpus=0 memory=1GiB\n    cell 1 memory=1GiB\n";
    let l = labels(&format!("{cells}    latency initiator=0 target=$0\n  }}\n}}\n"));
    assert_eq!(l, vec!["0", "1"]);
    let l = labels(&format!("{cells}    cache cell=$0\n  }}\n}}\n"));
    assert_eq!(l, vec!["0", "1"]);
    let l = labels(&format!(
        "{HOST}guest g on=h {{\n  dimm size=1GiB node=0 host-node=$0\n}}\n"
    ));
    assert_eq!(l, vec!["0", "1"]);
    // Nothing in comments.
    assert!(labels("# vc$0").is_empty());
}

#[test]
fn definition_and_references_follow_host_names_and_files() {
    let text = "### main.vnuma\ninclude \"hosts.vnuma\"\nguest a on=$0h {\n  vcpus 2\n  memory 2GiB\n}\nguest b on=h {\n  vcpus 2\n  memory 2GiB\n}\n### hosts.vnuma\nhost h {\n  node 0 cpus=0-3 memory=8GiB\n}\n";
    let (ws, p, f, at) = fixture(text);
    let t = definition(&ws.db, p, f, at).unwrap();
    assert_eq!(t.file.path(&ws.db), Path::new("hosts.vnuma"));
    assert_eq!(&t.file.text(&ws.db)[t.span.start as usize..t.span.end as usize], "h");
    let refs = references(&ws.db, p, f, at);
    assert_eq!(refs.len(), 3, "{refs:?}");
    // The include goes to the file.
    let at = f.text(&ws.db).find("hosts.vnuma").unwrap() as u32;
    let t = definition(&ws.db, p, f, at).unwrap();
    assert_eq!(t.file.path(&ws.db), Path::new("hosts.vnuma"));
    // A file analysed in the program that includes it sees the guests' diagnostics.
    let hosts = ws.file(Path::new("hosts.vnuma")).unwrap();
    assert!(diagnostics(&ws.db, p, hosts).is_empty());
}

#[test]
fn symbols_are_a_tree_and_folds_cover_blocks() {
    let text = "# a\n# b\nhost h {\n  node 0 cpus=0-3 memory=8GiB\n}\nguest g on=h {\n  numa {\n    cell 0 cpus=0-1 memory=1GiB\n  }\n}\n";
    let (ws, _, f, _) = fixture(text);
    let syms = document_symbols(&ws.db, f);
    assert_eq!(syms.len(), 2);
    assert_eq!(syms[0].kind, SymbolKind::Host);
    assert_eq!(syms[0].children[0].name, "node 0");
    assert_eq!(syms[1].children[0].children[0].kind, SymbolKind::Cell);
    let folds = folding_ranges(&ws.db, f);
    assert_eq!(folds.iter().filter(|f| f.comment).count(), 1);
    assert_eq!(folds.iter().filter(|f| !f.comment).count(), 3);
    let toks = semantic_tokens(&ws.db, f);
    assert_eq!(toks[0].kind, TokenKind::Comment);
    assert!(toks.windows(2).all(|w| w[0].span.end <= w[1].span.start));
}

#[test]
fn quick_fixes_come_from_the_diagnostics() {
    let text = "guest g {\n  vcpus 4\n  memory 4GB lokced=true\n}\n";
    let (ws, p, f, _) = fixture(text);
    let all = Span::new(f.id(&ws.db), 0, text.len());
    let actions = code_actions(&ws.db, p, f, all);
    let titles: Vec<&str> = actions.iter().map(|a| a.title.as_str()).collect();
    assert!(titles.contains(&"Replace with `4GiB`"), "{titles:?}");
    assert!(titles.contains(&"Replace with `locked`"), "{titles:?}");
    // A machine type QEMU 7.2 lacks: the nearest it has; a name of no family: no guess.
    for (machine, fix) in [
        ("pc-q35-7.3", Some("\"pc-q35-7.2\"")),
        ("pc-q35-8.0", Some("\"pc-q35-7.2\"")),
        ("foo", None),
    ] {
        let text = format!("guest g {{\n  machine \"{machine}\"\n  vcpus 2\n  memory 2GiB\n}}\n");
        let (ws, p, f, _) = fixture(&text);
        let actions = code_actions(&ws.db, p, f, Span::new(f.id(&ws.db), 0, text.len()));
        let edit = actions
            .iter()
            .find(|a| a.title.starts_with("Use machine type"))
            .map(|a| &a.edits[0]);
        assert_eq!(edit.map(|(_, new)| new.as_str()), fix, "{machine}: {actions:?}");
        if let Some((span, _)) = edit {
            assert_eq!(&text[span.start as usize..span.end as usize], format!("\"{machine}\""));
        }
    }
    // Keep the nodes `vnuma mode=node` picked.
    let text = format!("{HOST}guest g on=h {{\n  vcpus 4\n  memory 4GiB\n  vnuma mode=node\n}}\n");
    let (ws, p, f, _) = fixture(&text);
    let all = Span::new(f.id(&ws.db), 0, text.len());
    let keep = code_actions(&ws.db, p, f, all);
    let keep = keep
        .iter()
        .find(|a| a.title.starts_with("Keep this placement"))
        .expect("keep action");
    let (span, new) = &keep.edits[0];
    assert_eq!(span.start as usize, text.find("mode=node").unwrap() + 9);
    assert_eq!(new, " nodeset=0");
}

#[test]
fn inlay_hints_show_resolved_pins_and_cells() {
    let text = format!(
        "{HOST}guest g on=h {{\n  vcpus 2\n  memory 4GiB\n  pin vcpus=0-1 node=1\n}}\nguest v on=h {{\n  vcpus 4\n  memory 4GiB\n  vnuma mode=node\n}}\n"
    );
    let (ws, p, f, _) = fixture(&text);
    let hints = inlay_hints(&ws.db, p, f);
    let labels: Vec<&str> = hints.iter().map(|h| h.label.as_str()).collect();
    assert!(labels.contains(&"→ CPUs 4-7,12-15 node 1"), "{labels:?}");
    assert!(
        labels.iter().any(|l| l.starts_with("→ cell 0: vCPUs 0-3 4GiB node ")),
        "{labels:?}"
    );
}

#[test]
fn lowered_and_explain_come_from_the_checked_model() {
    let text = format!("{HOST}guest g on=h {{\n  vcpus 2\n  mem$0ory 4GiB\n}}\n");
    let (ws, p, f, at) = fixture(&text);
    let (name, xml) = lowered(&ws.db, p, f, at, false).unwrap();
    assert_eq!(name, "g");
    assert!(xml.contains("<name>g</name>"), "{xml}");
    let (_, args) = lowered(&ws.db, p, f, at, true).unwrap();
    assert!(args.contains("-smp"), "{args}");
    assert!(explain(&ws.db, p, true).starts_with("<svg"));
}

#[test]
fn a_syntax_error_in_one_guest_leaves_the_others_checked() {
    let text = "### main.vnuma\ninclude \"other.vnuma\"\nguest a {\n  vcpus = 4\n  memory 4GiB\n  numa {\n    cell 0 cpus=0-9 memory=4GiB\n}\nguest b {\n  vcpus 2\n  memory 2GiB lokced=true\n}\n### other.vnuma\nguest c {\n  vcpus 2\n  memroy 2GiB\n}\n";
    let (ws, p, f, _) = fixture(text);
    let codes: Vec<&str> = diagnostics(&ws.db, p, f).iter().map(|d| d.code).collect();
    // `vcpus = 4` and the unclosed `numa {`; then guest a's own check (cell 0 names vCPUs
    // 4-9 of 4) and guest b's unknown property.
    assert_eq!(codes.iter().filter(|c| **c == "vnuma::E0101").count(), 2, "{codes:?}");
    assert!(codes.contains(&"vnuma::E0307"), "{codes:?}");
    assert!(codes.contains(&"vnuma::E0202"), "{codes:?}");
    // The included file's guest is checked too.
    let other = ws.file(Path::new("other.vnuma")).unwrap();
    let codes: Vec<&str> = diagnostics(&ws.db, p, other).iter().map(|d| d.code).collect();
    // `memroy` is no statement, so guest c has no memory either.
    assert_eq!(codes, vec!["vnuma::E0312", "vnuma::E0201"]);
}

fn token_kinds(text: &str) -> Vec<(TokenKind, String)> {
    let (ws, _, f, _) = fixture(text);
    semantic_tokens(&ws.db, f)
        .into_iter()
        .map(|t| (t.kind, text[t.span.start as usize..t.span.end as usize].to_string()))
        .collect()
}

#[test]
fn highlighting_ends_comments_and_strings_at_a_lone_carriage_return() {
    use TokenKind::*;
    let t = token_kinds("a 1 # c\rb 2 # d\r");
    let want = [
        (Keyword, "a"),
        (Number, "1"),
        (Comment, "# c"),
        (Keyword, "b"),
        (Number, "2"),
        (Comment, "# d"),
    ];
    assert_eq!(t, want.map(|(k, s)| (k, s.to_string())));
    // An unterminated string ends at a lone `\r`; the `#` on the next line starts a comment.
    let t = token_kinds("a \"x\r# c\r");
    assert_eq!(t.last(), Some(&(Comment, "# c".to_string())), "{t:?}");
}

#[test]
fn highlighting_knows_escaped_quotes_in_strings() {
    let t = token_kinds("a \"x\\\"# y\" # z\n");
    let comments: Vec<&str> = t
        .iter()
        .filter(|(k, _)| *k == TokenKind::Comment)
        .map(|(_, s)| s.as_str())
        .collect();
    assert_eq!(comments, ["# z"]);
}

#[test]
fn highlighting_reads_separators_and_braces_in_strings_as_text() {
    let t = token_kinds("a \"#;{}\" { b \"}#\" } # z\n");
    let comments: Vec<&str> = t
        .iter()
        .filter(|(k, _)| *k == TokenKind::Comment)
        .map(|(_, s)| s.as_str())
        .collect();
    assert_eq!(comments, ["# z"]);
    assert!(t.contains(&(TokenKind::Keyword, "b".to_string())), "{t:?}");
}

const DISK: &str = "guest g {\n  devices {\n    disk d path=";

#[test]
fn completion_ends_lines_at_a_lone_carriage_return() {
    // The line being typed starts after the `\r`.
    let l = labels("guest g {\r  vcpus 4\r  $0\r}\r");
    assert!(l.contains(&"memory".to_string()), "{l:?}");
    assert!(!l.contains(&"vcpus".to_string()), "{l:?}");
    // A comment ends at a lone `\r`: the block after it is the guest's.
    let l = labels("# a {\rguest g {\n  $0\n}\n");
    assert!(l.contains(&"memory".to_string()), "{l:?}");
    // Nothing inside a comment or a string that a lone `\r` has not ended yet.
    assert!(labels("guest g {\r  # vc$0").is_empty());
}

#[test]
fn completion_knows_escaped_quotes_in_strings() {
    let l = labels(&format!("{DISK}\"/a\\\"b\" $0\n  }}\n}}\n"));
    assert!(l.contains(&"format=".to_string()), "{l:?}");
    // Still inside the string.
    assert!(labels(&format!("{DISK}\"/a\\\" $0\n  }}\n}}\n")).is_empty());
    // A block opened after a string with an escaped quote is a block.
    let l = labels("guest g {\n  devices {\n    disk d path=\"\\\"{\" format=raw\n    $0\n  }\n}\n");
    assert!(l.contains(&"nic".to_string()), "{l:?}");
}

#[test]
fn completion_reads_separators_and_braces_in_strings_as_text() {
    for s in ["\"/a;b\"", "\"/a{b\"", "\"/a}b\"", "\"; { } #\""] {
        let l = labels(&format!("{DISK}{s} $0\n  }}\n}}\n"));
        assert!(l.contains(&"format=".to_string()), "{s}: {l:?}");
        assert!(!l.contains(&"path=".to_string()), "{s}: {l:?}");
        let l = labels(&format!("{DISK}{s} format=$0\n  }}\n}}\n"));
        assert_eq!(l, ["qcow2", "raw"], "{s}");
    }
    // A string with a `;` before the statement being typed.
    let l = labels("guest g {\n  machine \"a;b\"; $0\n}\n");
    assert!(l.contains(&"memory".to_string()), "{l:?}");
    assert!(!l.contains(&"machine".to_string()), "{l:?}");
}

#[test]
fn emulator_and_io_threads_complete_and_hover_from_the_placement() {
    let l = labels("guest g {\n  emulator policy=$0\n}\n");
    assert_eq!(l, vec!["share", "isolate"]);
    let l = labels("guest g {\n  iothreads $0\n}\n");
    assert_eq!(l.first().map(String::as_str), Some("per-cell"), "{l:?}");
    let l = labels(&format!("{HOST}guest g on=h {{\n  iothread 1 node=$0\n}}\n"));
    assert_eq!(l, vec!["0", "1"]);
    let l = labels("guest g {\n  vnuma mode=host $0\n}\n");
    assert!(l.contains(&"shared-vcpus=".to_string()), "{l:?}");
    let l = labels("guest g {\n  devices {\n    disk d path=\"/d\" $0\n  }\n}\n");
    assert!(l.contains(&"iothread=".to_string()), "{l:?}");
    let guest = format!(
        "{HOST}guest g on=h {{\n  vcpus 2\n  memory 4GiB\n  vnuma mode=host\n  emulator policy=isolate\n  \
         iothreads per-cell policy=isolate\n  devices {{\n    disk a path=\"/a\" bus=virtio node=1\n  }}\n}}\n"
    );
    let h = hover_at(&guest.replace("  emulator policy", "  emu$0lator policy"));
    assert!(
        h.contains("- emulator threads → CPUs 1,9 (core 1 of socket 0, node 0), a core of its own (isolated)"),
        "{h}"
    );
    let h = hover_at(&guest.replace("  iothreads per-cell", "  iothr$0eads per-cell"));
    assert!(
        h.contains("- I/O thread 1 → CPUs 2,10 (core 2 of socket 0, node 0), a core of its own"),
        "{h}"
    );
    assert!(h.contains("- I/O thread 2 → CPUs 5,13"), "{h}");
    let h = hover_at(&guest.replace("disk a path", "disk $0a path"));
    assert!(h.contains("Served by I/O thread 2"), "{h}");
}

#[test]
fn device_affinity_completes_and_hovers() {
    let host = "host h {\n  node 0 cpus=0-3 memory=16GiB\n  node 1 cpus=4-7 memory=16GiB\n  pci 0000:3b:00.0 node=1 name=\"pf\"\n  pci 0000:00:14.0 node=none\n}\n";
    let devices =
        |line: &str| format!("{host}guest g on=h {{\n  vcpus 2\n  memory 4GiB\n  devices {{\n    {line}\n  }}\n}}\n");
    let l = labels(&devices("hostdev 0000:3b:00.0 node=auto policy=$0"));
    assert_eq!(l, vec!["required", "preferred", "socket", "legacy"]);
    let l = labels(&devices("nic n bridge=br0 node=$0"));
    assert_eq!(l, vec!["auto"]);
    let l = labels(&devices("nic n bridge=br0 uplink=$0"));
    assert_eq!(l, vec!["0000:3b:00.0", "0000:00:14.0"]);
    let l = labels(&devices("nic n bridge=br0 $0"));
    for want in ["uplink=", "policy=", "node="] {
        assert!(l.contains(&want.to_string()), "{want}: {l:?}");
    }
    let h = hover_at(&devices("hostdev 0000:3b:00.0 node=auto pol$0icy=socket"));
    assert!(h.contains("a cell in the device's host package"), "{h}");
}

#[test]
fn on_offers_expanders_to_devices_of_an_i440fx_guest() {
    let devs = "  devices {\n    expander x node=0\n    root-port r on=x\n    nic n bridge=br0 on=$0\n  }\n}\n";
    assert_eq!(labels(&format!("guest g {{\n  machine pc\n{devs}")), vec!["x"]);
    assert_eq!(labels(&format!("guest g {{\n{devs}")), vec!["r"]);
}
