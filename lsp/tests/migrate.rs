//! The migrate lenses and command of `vnuma-lsp`, over its real stdio transport: the
//! destination XML is what `vnumac migrate` gives, planned on the destination.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Lsp, position, scratch};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// `web` and `db` on `a`; `b` is `a` with more memory and `filler` on its CPUs 0-1; `tiny`
/// has one small node.
const HOSTS: &str = "host a {
  node 0 cpus=0-3,8-11 memory=16GiB
  node 1 cpus=4-7,12-15 memory=16GiB
  smt split
}

host b {
  node 0 cpus=0-3,8-11 memory=32GiB
  node 1 cpus=4-7,12-15 memory=32GiB
  smt split
}

host tiny {
  node 0 cpus=0-1 memory=2GiB
}
";

const GUESTS: &str = "
guest web on=a {
  vcpus 4
  memory 4GiB
  pin vcpus=0-3 cpus=8-11
}

guest db on=a {
  vcpus 8
  memory 8GiB
  vnuma mode=host pinning=node
}

guest filler on=b {
  vcpus 2
  memory 2GiB
  pin vcpus=0-1 cpus=0-1
}
";

/// The destination XML as `vnumac migrate FILE --guest GUEST --to HOST` computes it.
fn cli_xml(file: &Path, guest: &str, host: &str) -> String {
    let db = vnumac::db::Database::default();
    let loader = vnumac::db::FsLoader {
        sysfs_root: PathBuf::from("/sys"),
    };
    let program = vnumac::db::load_program(&db, file, &loader).unwrap();
    assert!(!vnumac::db::compile(&db, program).has_errors());
    let m = vnumac::migrate::migrate(&db, program, guest, vnumac::migrate::To::Host(host)).unwrap();
    vnumac::lower::libvirt::domain_xml(&m.moved.guest)
}

/// Every `<vcpupin>`'s cpuset, in order.
fn cpusets(xml: &str) -> Vec<&str> {
    xml.lines()
        .filter(|l| l.contains("<vcpupin"))
        .map(|l| l.split("cpuset='").nth(1).unwrap().split('\'').next().unwrap())
        .collect()
}

fn lenses(lsp: &mut Lsp, uri: &str) -> Vec<Value> {
    let r = lsp.request("textDocument/codeLens", json!({ "textDocument": { "uri": uri } }));
    r.as_array().cloned().unwrap_or_else(|| panic!("{r}"))
}

fn execute(lsp: &mut Lsp, args: Value) -> Value {
    lsp.request(
        "workspace/executeCommand",
        json!({ "command": "vnuma.migrate", "arguments": args }),
    )
}

#[test]
fn each_guest_has_a_lens_per_other_host_and_its_command_gives_the_destination_xml() {
    let dir = scratch("migrate-lens");
    let text = format!("{HOSTS}{GUESTS}");
    let path = dir.0.join("fleet.vnuma");
    std::fs::write(&path, &text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    assert_eq!(lsp.capabilities["codeLensProvider"]["resolveProvider"], false);
    assert_eq!(
        lsp.capabilities["executeCommandProvider"]["commands"],
        json!(["vnuma.migrate"])
    );
    let u = lsp.open(&path, &text);
    assert!(lsp.diagnostics(&u, 1).is_empty());
    let got = lenses(&mut lsp, &u);
    // Each lens spans its whole guest statement, from `guest` to the closing brace.
    let range = |name: &str| {
        let start = text.find(&format!("guest {name} ")).unwrap();
        let end = start + text[start..].find("\n}").unwrap() + 2;
        json!({ "start": position(&text, start), "end": position(&text, end) })
    };
    let want: Vec<Value> = [
        ("web", "b"),
        ("web", "tiny"),
        ("db", "b"),
        ("db", "tiny"),
        ("filler", "a"),
        ("filler", "tiny"),
    ]
    .iter()
    .map(|(g, h)| {
        json!({
            "range": range(g),
            "command": { "title": format!("migrate to {h}"), "command": "vnuma.migrate", "arguments": [u, g, h] },
        })
    })
    .collect();
    assert_eq!(got, want);

    // The command a lens carries: web's destination XML on b, as the CLI prints it.
    let r = execute(&mut lsp, got[0]["command"]["arguments"].clone());
    assert_eq!(r["moved"], true, "{r}");
    assert_eq!(r["guest"], "web");
    assert_eq!(r["host"], "b");
    assert_eq!(r["format"], "xml");
    assert_eq!(r["warnings"], "");
    let xml = r["text"].as_str().unwrap();
    assert_eq!(xml, cli_xml(&path, "web", "b"));
    // On a, web shared CPUs 8-11; on b it shares the CPUs of the same node that filler
    // does not hold: node 0's 0-3,8-11 without 0-1.
    let source = lsp.request(
        "vnuma/showLowered",
        json!({ "textDocument": { "uri": u }, "position": position(&text, text.find("guest web").unwrap()) }),
    );
    assert_eq!(cpusets(source["text"].as_str().unwrap()), ["8-11"; 4]);
    assert_eq!(cpusets(xml), ["2-3,8-11"; 4]);
    // What the guest sees is unchanged.
    let seen = |x: &str| {
        x.lines()
            .filter(|l| !l.contains("<vcpupin"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(seen(xml), seen(source["text"].as_str().unwrap()));

    // The same through the request, at a position in db.
    let r = lsp.request(
        "vnuma/migrate",
        json!({ "textDocument": { "uri": u }, "position": position(&text, text.find("vnuma mode").unwrap()), "host": "b" }),
    );
    assert_eq!(
        (r["guest"].as_str(), r["moved"].as_bool()),
        (Some("db"), Some(true)),
        "{r}"
    );
    assert_eq!(r["text"].as_str().unwrap(), cli_xml(&path, "db", "b"));
    lsp.shutdown();
}

#[test]
fn a_guest_that_cannot_move_gets_the_refusal() {
    let dir = scratch("migrate-refused");
    let text = format!("{HOSTS}{GUESTS}");
    let path = dir.0.join("fleet.vnuma");
    std::fs::write(&path, &text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, &text);
    lsp.diagnostics(&u, 1);
    // db needs 4GiB on each of its two nodes; tiny has one node of 2GiB.
    let r = execute(&mut lsp, json!([u, "db", "tiny"]));
    assert_eq!(r["moved"], false, "{r}");
    let refusal = r["text"].as_str().unwrap();
    let line = text.lines().position(|l| l.starts_with("guest db")).unwrap() + 1;
    assert!(
        refusal.starts_with("error[vnuma::M0803]: no node of host `tiny` has room for cell 0"),
        "{refusal}"
    );
    assert!(
        refusal.contains(&format!("fleet.vnuma:{line}:7: does not fit `tiny`")),
        "{refusal}"
    );
    assert!(refusal.contains("help: it fits on host `b` of this file"), "{refusal}");
    // A name that is not there, or the guest's own host: said, not moved.
    let r = execute(&mut lsp, json!([u, "web", "a"]));
    assert_eq!(r["moved"], false);
    assert!(r["text"].as_str().unwrap().contains("already runs on host `a`"), "{r}");
    let r = execute(&mut lsp, json!([u, "web", "nowhere"]));
    assert!(r["text"].as_str().unwrap().contains("no host named `nowhere`"), "{r}");
    // Arguments that are not [uri, guest, host]: invalid params.
    for bad in [json!([u, "web"]), json!([u, 1, "b"]), json!(["not a uri", "web", "b"])] {
        let r = execute(&mut lsp, bad.clone());
        assert_eq!(r["code"], -32602, "{bad}: {r}");
    }
    let r = lsp.request(
        "workspace/executeCommand",
        json!({ "command": "vnuma.other", "arguments": [] }),
    );
    assert_eq!(r["code"], -32602, "{r}");
    lsp.shutdown();
}

#[test]
fn no_lens_with_one_host_or_with_errors() {
    let dir = scratch("migrate-none");
    let one = "host a {\n  node 0 cpus=0-3 memory=8GiB\n}\nguest g on=a {\n  vcpus 2\n  memory 1GiB\n}\n";
    let path = dir.0.join("one.vnuma");
    std::fs::write(&path, one).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, one);
    lsp.diagnostics(&u, 1);
    assert_eq!(lenses(&mut lsp, &u), Vec::<Value>::new());
    // Two hosts, and an error: no lens, and the command says why it does not move.
    let broken = format!("{HOSTS}{GUESTS}").replace("vcpus 8", "vcpus 8\n  memroy 1GiB");
    let path = dir.0.join("broken.vnuma");
    std::fs::write(&path, &broken).unwrap();
    let u = lsp.open(&path, &broken);
    assert!(lsp.diagnostics(&u, 1).iter().any(|d| d["severity"] == 1));
    assert_eq!(lenses(&mut lsp, &u), Vec::<Value>::new());
    let r = execute(&mut lsp, json!([u, "web", "b"]));
    assert_eq!(r["moved"], false, "{r}");
    assert!(r["text"].as_str().unwrap().contains("the program has errors"), "{r}");
    lsp.shutdown();
}

#[test]
fn lenses_are_bounded_per_guest_and_per_file() {
    let dir = scratch("migrate-bound");
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!("host h{i} {{\n  node 0 cpus=0-63 memory=1024GiB\n}}\n"));
    }
    // 8 destination hosts each, of 11: 160 guests would have 1,280 lenses.
    for i in 0..160 {
        text.push_str(&format!("guest g{i} on=h0 {{\n  vcpus 1\n  memory 1GiB\n}}\n"));
    }
    let path = dir.0.join("many.vnuma");
    std::fs::write(&path, &text).unwrap();
    let mut lsp = Lsp::start(&dir.0, false);
    let u = lsp.open(&path, &text);
    assert!(lsp.diagnostics(&u, 1).is_empty());
    let got = lenses(&mut lsp, &u);
    assert_eq!(got.len(), 1_024);
    let first: Vec<&str> = got[..8]
        .iter()
        .map(|l| l["command"]["arguments"][2].as_str().unwrap())
        .collect();
    assert_eq!(first, ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"]);
    // Guests in file order: the 128th is the last with lenses.
    assert_eq!(got[1_023]["command"]["arguments"][1], "g127");
    lsp.shutdown();
}
