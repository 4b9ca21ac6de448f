//! The one-pass reader against quick-xml's events: whatever it reads, the event reader
//! reads alike (the same facts, offsets included), and it reads the documents libvirt
//! writes without giving up.

use super::super::reading::{Caps, read_events};
use super::read;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// Every XML document of the repository that a host could be read from, or that looks
/// like one: the example hosts (the shared hosts among them), the domain capabilities and
/// the test fixtures.
fn documents() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut dirs = vec![root.join("../examples/hosts"), root.join("tests/fixtures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "xml") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

/// The one-pass reader gives nothing the event reader would not: a document it reads is
/// read alike by the events; one it refuses is the event reader's alone to judge.
fn agrees(xml: &str) -> Result<Option<Caps>, String> {
    let Some(plain) = read(xml) else {
        return Ok(None);
    };
    match read_events(xml) {
        Ok(events) if events == plain => Ok(Some(plain)),
        Ok(events) => Err(format!("{xml:?}:\nplain {plain:?}\nevents {events:?}")),
        Err(e) => Err(format!("{xml:?}: plain read it, the events say {e:?}")),
    }
}

#[test]
fn every_capabilities_document_is_read_in_one_pass_alike() {
    let docs = documents();
    let caps: Vec<_> = docs
        .iter()
        .filter(|(p, _)| p.to_string_lossy().ends_with(".caps.xml"))
        .collect();
    assert_eq!(caps.len(), 10);
    for (path, xml) in caps {
        let plain = agrees(xml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(plain.is_some(), "{} is not read in one pass", path.display());
    }
    // libvirt's own test capabilities (with cache banks) too, and whatever else is there.
    for (path, xml) in &docs {
        agrees(xml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if path.to_string_lossy().contains("vircaps") {
            assert!(read(xml).is_some(), "{}", path.display());
        }
    }
}

/// What a mutation puts in a document: markup, quotes, references, white space.
const PIECES: &[&str] = &[
    "<",
    ">",
    "/",
    "'",
    "\"",
    "&",
    "&#48;",
    "&amp;",
    "!",
    "?",
    " ",
    "\r",
    "\r\n",
    "\t",
    "-",
    "=",
    "<!-- c -->",
    "<!---->",
    "<!-->",
    "<?x?>",
    "<?>",
    "<![CDATA[7]]>",
    "<!DOCTYPE c>",
    "</cell>",
    "</x>",
    "<x>",
    "<x/>",
    "</ x>",
    "</cpus >",
    "\u{feff}",
    "é",
    "<cpu id='9'/>",
    "7",
];

#[test]
fn mutated_documents_are_read_alike_or_left_to_the_events() {
    // Of the mutated documents the event reader accepts, how many were read in one pass.
    let (mut read_plainly, mut accepted) = (0, 0);
    for (path, xml) in documents() {
        // A few hundred places in each document, whatever its size.
        let step = (xml.len() / 150).max(1);
        let cuts = (0..xml.len()).step_by(step).filter(|&i| xml.is_char_boundary(i));
        for (n, at) in cuts.enumerate() {
            let piece = PIECES[n % PIECES.len()];
            let inserted = format!("{}{piece}{}", &xml[..at], &xml[at..]);
            let next = xml[at..].chars().next().map_or(0, char::len_utf8);
            let removed = format!("{}{}", &xml[..at], &xml[at + next..]);
            for doc in [inserted, removed, xml[..at].to_string()] {
                match agrees(&doc) {
                    Ok(Some(_)) => (read_plainly, accepted) = (read_plainly + 1, accepted + 1),
                    Ok(None) => accepted += usize::from(read_events(&doc).is_ok()),
                    Err(e) => panic!("{}: {e}", path.display()),
                }
            }
        }
    }
    // Not vacuous: most of what the events accept is read in one pass.
    assert!(read_plainly * 3 > accepted * 2, "{read_plainly} of {accepted}");
}

/// A start tag of a read element, with attributes written one of several ways.
fn tag(name: &'static str, attrs: Vec<(&'static str, String)>, quote: char, gap: &'static str) -> String {
    let attrs: String = attrs
        .iter()
        .map(|(k, v)| format!("{gap}{k}={quote}{v}{quote}"))
        .collect();
    format!("<{name}{attrs}")
}

/// Documents made of the elements the reader looks at and a few it skips, with text,
/// comments, declarations and the odd piece of markup it must leave to the events.
fn document() -> impl Strategy<Value = String> {
    let quote = prop_oneof![Just('\''), Just('"')];
    let gap = prop_oneof![Just(" "), Just("  "), Just("\n  "), Just("\t"), Just(" \r\n")];
    let id = prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("7".to_string()),
        Just(" 2".to_string()),
        Just("x".to_string())
    ];
    let siblings = prop_oneof![Just("0,1"), Just("0-1"), Just("1,0"), Just("7"), Just("0,^0"), Just("")];
    let cpu = (id.clone(), siblings, quote.clone(), gap.clone()).prop_map(|(id, s, q, g)| {
        let attrs = vec![
            ("id", id),
            ("socket_id", "0".into()),
            ("core_id", "1".into()),
            ("siblings", s.into()),
        ];
        format!("{}/>", tag("cpu", attrs, q, g))
    });
    let text = prop_oneof![
        Just(""),
        Just("\n  "),
        Just("1024"),
        Just("1&#48;"),
        Just(" 5 "),
        Just("4\r\n")
    ];
    let extra = prop_oneof![
        Just(""),
        Just("<!-- note -->"),
        Just("<?pi x?>"),
        Just("<x a='>'/>"),
        Just("<y>t</y>"),
        Just("<![CDATA[9]]>"),
        Just("<z b=\"1\"></z >"),
        Just("</q>"),
    ];
    let cell = (
        id,
        prop::collection::vec(cpu, 0..4),
        text.clone(),
        text,
        extra.clone(),
        quote,
        gap,
    )
        .prop_map(|(id, cpus, memory, pages, extra, q, g)| {
            format!(
                "{}>{extra}<memory unit='KiB'>{memory}</memory><pages size='2048' unit='KiB'>{pages}</pages>\
                 <distances><sibling id='0' value='10'/></distances><cpus num='{}'>{}</cpus></cell>",
                tag("cell", vec![("id", id)], q, g),
                cpus.len(),
                cpus.concat()
            )
        });
    let head = prop_oneof![
        Just(""),
        Just("<?xml version='1.0'?>\n"),
        Just("\u{feff}"),
        Just("<!DOCTYPE c>")
    ];
    (head, prop::collection::vec(cell, 0..3), extra).prop_map(|(head, cells, extra)| {
        format!(
            "{head}<capabilities>\n<host>{extra}<topology><cells num='{}'>{}</cells></topology>\
             <cache><bank id='0' level='3' type='both' size='8' unit='MiB' cpus='0-1'/></cache></host></capabilities>\n",
            cells.len(),
            cells.concat()
        )
    })
}

proptest! {
    #[test]
    fn generated_documents_are_read_alike(doc in document(), cut in 0usize..2000) {
        agrees(&doc).map_err(TestCaseError::fail)?;
        let mut at = cut.min(doc.len());
        while !doc.is_char_boundary(at) {
            at -= 1;
        }
        agrees(&doc[..at]).map_err(TestCaseError::fail)?;
    }
}
