use super::ast::{File, Statement};
use super::*;
use crate::span::{FileId, Span};

#[test]
fn a_statement_keeps_at_most_max_fields() {
    let src = format!("guest g {{\n  cpu x {}\n}}\n", "a=1 ".repeat(MAX_FIELDS + 40));
    let (f, diags) = parse(FileId(0), &src);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].message.contains("more than 256"), "{diags:?}");
    // The error points at the first field left out.
    let cut = diags[0].primary_span();
    assert_eq!(&src[cut.start as usize..cut.end as usize], "a=1");
    assert_eq!(cut.start as usize, src.find("a=1").unwrap_or(0) + 4 * (MAX_FIELDS - 1));
    let body = f.statements[0].block.as_ref().map(|b| &b.statements[0]);
    assert_eq!(body.map(|s| s.args.len() + s.props.len()), Some(MAX_FIELDS));
}

#[test]
fn parses_nested_statements_with_spans() {
    let src = "guest a on=h {\n  vcpus 4 # four\n  numa { cell 0 cpus=0-3 memory=1GiB }\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(f.statements.len(), 1);
    let g = &f.statements[0];
    assert_eq!(g.keyword.text, "guest");
    assert_eq!(g.args[0].text, "a");
    assert_eq!(g.props[0].key.text, "on");
    let body = &g.block.as_ref().unwrap().statements;
    assert_eq!(body.len(), 2);
    let cell = &body[1].block.as_ref().unwrap().statements[0];
    assert_eq!(cell.props[1].value.text, "1GiB");
    let s = cell.props[0].value.span;
    assert_eq!(&src[s.start as usize..s.end as usize], "0-3");
}

#[test]
fn strings_unescape_and_bad_escapes_are_reported() {
    let (f, d) = parse(FileId(0), "include \"a\\\"b\\u{41}\"\n");
    assert!(d.is_empty());
    assert_eq!(f.statements[0].args[0].text, "a\"bA");
    let (_, d) = parse(FileId(0), "include \"a\\qb\"\n");
    assert_eq!(d[0].code, BAD_ESCAPE);
}

fn text(src: &str, s: Span) -> &str {
    &src[s.start as usize..s.end as usize]
}

fn body(f: &File) -> &[Statement] {
    f.statements[0].block.as_ref().map_or(&[], |b| &b.statements)
}

fn keywords(ss: &[Statement]) -> Vec<&str> {
    ss.iter().map(|s| s.keyword.text.as_str()).collect()
}

#[test]
fn spaces_around_equals_keep_the_statement() {
    let src = "guest a {\n  vcpus = 4\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, SYNTAX);
    assert_eq!(d[0].message, "syntax error: unexpected `=`");
    assert_eq!(d[0].primary_span().start, 18);
    let vcpus = &body(&f)[0];
    assert_eq!(vcpus.keyword.text, "vcpus");
    assert_eq!(vcpus.args.len(), 1);
    assert_eq!(vcpus.args[0].text, "4");
    assert_eq!(f.errors.len(), 1);
    assert_eq!(text(src, f.errors[0]), "=");
}

#[test]
fn two_broken_statements_are_two_errors_and_the_rest_survives() {
    let src = "guest a {\n  memory 4GiB\n  4 vcpus\n  vcpus 4\n  -numa x { cell 0 }\n  emulator node=0\n}\nhost h {}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d.iter().all(|d| d.code == SYNTAX));
    assert_eq!(text(src, d[0].primary_span()), "4");
    assert_eq!(text(src, d[1].primary_span()), "-");
    assert_eq!(keywords(body(&f)), ["memory", "vcpus", "emulator"]);
    assert_eq!(keywords(&f.statements), ["guest", "host"]);
    assert_eq!(f.errors.len(), 2);
    assert_eq!(text(src, f.errors[0]), "4 vcpus");
    assert_eq!(text(src, f.errors[1]), "-numa x { cell 0 }");
}

#[test]
fn a_key_without_a_value_drops_the_property() {
    let src = "guest a {\n  numa { cell 0 cpus= memory=1GiB }\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].message, "syntax error: `cpus=` has no value");
    assert_eq!(text(src, d[0].primary_span()), "cpus=");
    let cell = &body_of(&body(&f)[0])[0];
    assert_eq!(cell.args[0].text, "0");
    assert_eq!(cell.props.len(), 1);
    assert_eq!(cell.props[0].key.text, "memory");
}

#[test]
fn an_unterminated_string_ends_at_its_line() {
    let src = "host h from=\"x.xml {\n  smt none\n}\nguest g { vcpus \"a }\n  memory 1GiB\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(d[0].message, "syntax error: unterminated string");
    assert_eq!(d[0].primary_span().start, 12);
    // The `{` was in the string, so this `}` closes nothing.
    assert_eq!(d[1].message, "syntax error: unexpected `}`");
    assert_eq!(d[2].message, "syntax error: unterminated string");
    assert_eq!(text(src, f.errors[0]), "from=\"x.xml {");
    assert_eq!(text(src, f.errors[2]), "\"a }");
    assert_eq!(keywords(&f.statements), ["host", "smt", "guest"]);
    assert!(f.statements[0].props.is_empty());
    assert_eq!(keywords(body_of(&f.statements[2])), ["vcpus", "memory"]);
}

#[test]
fn an_unclosed_block_ends_before_the_next_guest() {
    let src = "guest a {\n  numa {\n    cell 0 cpus=0\n  vcpus 2\n}\nguest b {\n  vcpus 4\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].message, "syntax error: unclosed `{`");
    let numa_open = src.find("numa {").unwrap_or(0) + 5;
    assert_eq!(d[0].primary_span(), Span::new(FileId(0), numa_open, numa_open + 1));
    assert_eq!(f.errors, [Span::new(FileId(0), numa_open, numa_open + 1)]);
    assert!(
        d[0].help
            .as_deref()
            .unwrap_or("")
            .contains("before the `}` that lines up with an outer block"),
        "{d:?}"
    );
    assert_eq!(keywords(&f.statements), ["guest", "guest"]);
    let b = &f.statements[1];
    assert_eq!(text(src, b.span), "guest b {\n  vcpus 4\n}");
    assert_eq!(keywords(body_of(b)), ["vcpus"]);
    // numa keeps what it had; the `}` on line 5 closes guest a, as its indentation says.
    let numa = &body(&f)[0];
    assert_eq!(keywords(body_of(numa)), ["cell", "vcpus"]);
}

#[test]
fn an_unclosed_block_at_the_column_zero_guest() {
    let src = "guest a {\n  numa {\n    cell 0\nguest b {\n  vcpus 4\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0].primary_span().start, 8);
    assert_eq!(d[1].primary_span().start, 17);
    assert!(
        d[1].help
            .as_deref()
            .unwrap_or("")
            .contains("before the next top-level `guest`"),
        "{d:?}"
    );
    assert_eq!(keywords(&f.statements), ["guest", "guest"]);
    let b = &f.statements[1];
    assert_eq!(text(src, b.span), "guest b {\n  vcpus 4\n}");
    assert_eq!(text(src, b.args[0].span), "b");
    // guest a's block ends where guest b starts.
    let a = f.statements[0].block.as_ref().map(|b| b.span);
    assert_eq!(a.map(|s| s.end as usize), src.find("guest b"));
}

#[test]
fn an_unclosed_block_at_the_end_of_the_file() {
    let src = "guest a {\n  vcpus 4";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].primary_span().start, 8);
    assert!(d[0].help.as_deref().unwrap_or("").contains("end of the file"), "{d:?}");
    assert_eq!(keywords(body(&f)), ["vcpus"]);
    assert_eq!(text(src, f.statements[0].span), src);
}

#[test]
fn a_stray_close_at_the_top_level() {
    let src = "guest a {\n  vcpus 4\n}\n}\nhost h {}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].message, "syntax error: unexpected `}`");
    assert_eq!(d[0].primary_span().start, 22);
    assert_eq!(f.errors, [Span::new(FileId(0), 22, 23)]);
    assert_eq!(keywords(&f.statements), ["guest", "host"]);
}

#[test]
fn braces_in_strings_and_comments_do_not_count() {
    let src = "guest a { # {\n  disk d path=\"{\"\n  vcpus \"{\\\\\"\n}\nhost h {}\n";
    let (f, d) = parse(FileId(0), src);
    assert!(d.is_empty(), "{d:?}");
    assert!(f.errors.is_empty());
    assert_eq!(keywords(body(&f)), ["disk", "vcpus"]);
    assert_eq!(keywords(&f.statements), ["guest", "host"]);
}

#[test]
fn spans_after_an_insertion_point_are_original_offsets() {
    let src =
        "guest a {\n  numa {\n    cell 0 memory=1GiB\n}\nguest b on=h {\n  memory 2GiB # x\n  vcpus \"é\\q\"\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0].code, SYNTAX);
    assert_eq!(d[1].code, BAD_ESCAPE);
    assert_eq!(text(src, d[1].primary_span()), "\\q");
    let b = &f.statements[1];
    assert_eq!(text(src, b.props[0].span), "on=h");
    let body = body_of(b);
    assert_eq!(text(src, body[0].span), "memory 2GiB");
    assert_eq!(text(src, body[1].args[0].span), "\"é\\q\"");
    let cell = &body_of(&body_of(&f.statements[0])[0])[0];
    assert_eq!(text(src, cell.props[0].value.span), "1GiB");
}

fn body_of(s: &Statement) -> &[Statement] {
    s.block.as_ref().map_or(&[], |b| &b.statements)
}

#[test]
fn text_after_a_block_is_dropped() {
    let src = "guest a {\n  numa { cell 0 } x { 4 } y\n  vcpus 4\n}\n";
    let (f, d) = parse(FileId(0), src);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0].message, "syntax error: unexpected `x` after a block");
    let (_, d2) = parse(FileId(0), "a { } junk\nb {} {}\n");
    assert_eq!(d2[0].message, "syntax error: unexpected `junk` after a block");
    assert_eq!(d2[1].message, "syntax error: unexpected `{` after a block");
    assert_eq!(text(src, d[0].primary_span()), "x");
    // The error inside the dropped block is reported too.
    assert_eq!(text(src, d[1].primary_span()), "4");
    assert_eq!(text(src, f.errors[0]), "x { 4 } y");
    assert_eq!(text(src, f.errors[1]), "4");
    assert_eq!(keywords(body(&f)), ["numa", "vcpus"]);
    assert_eq!(keywords(body_of(&body(&f)[0])), ["cell"]);
}

#[test]
fn deep_blocks_are_skipped() {
    let src = format!("guest a {{{}\n{}\nhost h {{}}\n", "a {".repeat(99), "}".repeat(100));
    let (f, d) = parse(FileId(0), &src);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].message, "syntax error: blocks nested too deeply");
    assert_eq!(d[0].primary_span().start as usize, 9 + 63 * 3 + 2);
    assert_eq!(keywords(&f.statements), ["guest", "host"]);
}

#[test]
fn valid_text_parses_as_before() {
    let src = "guest a {\n  vcpus 4\n}\n";
    let (f, d, fell_back) = parse_reporting_fallback(FileId(0), src);
    assert!(d.is_empty() && f.errors.is_empty() && !fell_back);
    let (_, d) = parse(FileId(0), "guest a {\n  vcpus 4\n");
    assert_eq!(d[0].message, "syntax error: unclosed `{`");
}

#[test]
fn semicolons_separate_statements() {
    let (f, d) = parse(FileId(0), "host h { node 0 cpus=0-3 memory=1GiB; smt none }");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(f.statements[0].block.as_ref().unwrap().statements.len(), 2);
}
