//! Migrate lenses and the move they run, over the plain functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// Hosts `a` and `b` alike, `tiny` with one small node; `web` and `db` on `a`.
const MOVES: &str = "host a {
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
";

fn lens_list(text: &str) -> Vec<(String, String, String)> {
    let (ws, p, f, _) = fixture(text);
    migrate_lenses(&ws.db, p, f)
        .into_iter()
        .map(|l| {
            let stmt = &text[l.span.start as usize..l.span.end as usize];
            let head = stmt.lines().next().unwrap_or_default().to_string();
            assert!(stmt.ends_with('}'), "{stmt}");
            assert_eq!(l.title, format!("migrate to {}", l.host));
            (l.guest, l.host, head)
        })
        .collect()
}

#[test]
fn a_guest_on_a_host_has_a_lens_for_each_other_host() {
    let got = lens_list(MOVES);
    let want: Vec<(String, String, String)> = [("web", "b"), ("web", "tiny"), ("db", "b"), ("db", "tiny")]
        .iter()
        .map(|(g, h)| (g.to_string(), h.to_string(), format!("guest {g} on=a {{")))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn no_lens_on_a_single_host_a_file_with_errors_or_another_file() {
    let single = format!("{HOST}guest g on=h {{\n  vcpus 2\n  memory 4GiB\n}}\n");
    assert_eq!(lens_list(&single), []);
    let broken = MOVES.replace("vcpus 8", "vcpus 8\n  memroy 1GiB");
    assert_eq!(lens_list(&broken), []);
    // An error elsewhere in the program: the move could not be planned either.
    let elsewhere = format!(
        "### main.vnuma\ninclude \"hosts.vnuma\"\n### hosts.vnuma\n{MOVES}guest x on=a {{\n  vcpus 999\n  memory 1GiB\n}}\n"
    );
    assert_eq!(lens_list(&elsewhere), []);
    // The guests are in the included file, not in the root.
    let included = format!("### main.vnuma\ninclude \"hosts.vnuma\"\n### hosts.vnuma\n{MOVES}");
    assert_eq!(lens_list(&included), []);
}

#[test]
fn lenses_offer_the_first_eight_other_hosts() {
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!("host h{i} {{\n  node 0 cpus=0-3 memory=8GiB\n}}\n"));
    }
    text.push_str("guest g on=h3 {\n  vcpus 2\n  memory 1GiB\n}\n");
    let hosts: Vec<String> = lens_list(&text).into_iter().map(|(_, h, _)| h).collect();
    assert_eq!(hosts, ["h0", "h1", "h2", "h4", "h5", "h6", "h7", "h8"]);
    assert_eq!(hosts.len(), LENS_HOSTS);
}

#[test]
fn migrate_gives_the_destination_xml_or_the_refusal() {
    let (ws, p, f, _) = fixture(MOVES);
    let Migrated::Moved { xml, warnings } = migrate(&ws.db, p, "web", "b") else {
        panic!("web does not move to b");
    };
    assert!(xml.starts_with("<domain") && xml.contains("<name>web</name>"), "{xml}");
    assert_eq!(warnings, "");
    // db needs 4GiB on a node; tiny has 2GiB.
    let Migrated::Refused(text) = migrate(&ws.db, p, "db", "tiny") else {
        panic!("db moved to tiny");
    };
    assert!(
        text.starts_with("error[vnuma::M0803]: no node of host `tiny`"),
        "{text}"
    );
    assert!(text.contains("main.vnuma:19:7: does not fit `tiny`"), "{text}");
    assert!(text.contains("help: it fits on host `b`"), "{text}");
    for (g, h, says) in [
        ("web", "a", "already runs on host `a`"),
        ("nope", "b", "no guest named `nope`"),
        ("web", "nope", "no host named `nope`"),
    ] {
        let Migrated::Refused(text) = migrate(&ws.db, p, g, h) else {
            panic!("{g} moved to {h}");
        };
        assert!(text.contains(says), "{text}");
    }
    // At a cursor: the guest statement around it.
    let at = MOVES.find("vnuma mode").unwrap() as u32;
    let (name, moved) = migrate_at(&ws.db, p, f, at, "b").unwrap();
    assert_eq!(name, "db");
    assert!(matches!(moved, Migrated::Moved { .. }), "{moved:?}");
    assert_eq!(migrate_at(&ws.db, p, f, 0, "b"), None);
}

#[test]
fn migrate_refuses_in_a_program_with_errors_or_without_hosts() {
    let broken = MOVES.replace("vcpus 8", "vcpus 8\n  memroy 1GiB");
    let (ws, p, _, _) = fixture(&broken);
    let Migrated::Refused(text) = migrate(&ws.db, p, "web", "b") else {
        panic!("moved with errors");
    };
    assert!(text.contains("the program has errors"), "{text}");
    // A program without hosts: the guest has nowhere to move from.
    let (ws, p, _, _) = fixture("guest free {\n  vcpus 2\n  memory 2GiB\n}\n");
    let Migrated::Refused(text) = migrate(&ws.db, p, "free", "b") else {
        panic!("moved from no host");
    };
    assert!(text.contains("runs on no host"), "{text}");
}

#[test]
fn lenses_stop_at_the_bound_of_a_file() {
    let mut text = String::new();
    for i in 0..9 {
        text.push_str(&format!("host h{i} {{\n  node 0 cpus=0-3 memory=64GiB\n}}\n"));
    }
    // 8 lenses each: the last guest gets none.
    let guests = LENSES / LENS_HOSTS + 1;
    for i in 0..guests {
        text.push_str(&format!("guest g{i} on=h0 {{\n  vcpus 1\n  memory 64MiB\n}}\n"));
    }
    let got = lens_list(&text);
    assert_eq!(got.len(), LENSES);
    assert_eq!(got[LENSES - 1].0, format!("g{}", guests - 2));
}

#[test]
fn a_move_onto_fewer_nodes_comes_with_its_warning() {
    let text = format!("{MOVES}host one {{\n  node 0 cpus=0-15 memory=64GiB\n}}\n");
    let (ws, p, _, _) = fixture(&text);
    let Migrated::Moved { xml, warnings } = migrate(&ws.db, p, "db", "one") else {
        panic!("db does not move to one");
    };
    // Both cells on node 0, and the guest still sees two cells.
    assert_eq!(xml.matches("<cell id=").count(), 2, "{xml}");
    assert!(xml.contains("<memnode cellid='1' mode='strict' nodeset='0'/>"), "{xml}");
    assert!(
        warnings.starts_with("warning[vnuma::M0806]: guest distances no longer match the host on `one`"),
        "{warnings}"
    );
}
