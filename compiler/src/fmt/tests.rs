//! The formatter on small texts: statements, comments, blank lines and column alignment.

use super::*;

fn fmt(s: &str) -> String {
    let out = format(s).unwrap();
    assert_eq!(format(&out).unwrap(), out, "not idempotent on {s:?}");
    out
}

#[test]
fn splits_semicolons_and_indents_blocks() {
    assert_eq!(
        fmt("guest web { memory 4GiB; vcpus 2 }\nguest   db{memory 8GiB\n\t\tvcpus 4;}"),
        "guest web {\n  memory 4GiB\n  vcpus 2\n}\nguest db {\n  memory 8GiB\n  vcpus 4\n}\n"
    );
}

#[test]
fn empty_blocks_and_files() {
    assert_eq!(fmt("host h {\n\n}"), "host h {}\n");
    assert_eq!(fmt("host h { ; }  # none"), "host h {}  # none\n");
    assert_eq!(fmt("host h { # why\n}"), "host h {  # why\n}\n");
    assert_eq!(fmt("host h {\n  # later\n}"), "host h {\n  # later\n}\n");
    assert_eq!(fmt(""), "");
    assert_eq!(fmt(" \n;\n\n"), "");
    assert_eq!(fmt("# only\n\n\n"), "# only\n");
}

#[test]
fn comments_are_kept_and_placed() {
    let src = "# head   \nguest g { # open\n# inside\n      memory 4GiB    # four\n  vcpus 2; topology sockets=1 cores=2 threads=1 # t\n\t# before close\n}   # close\n# tail";
    assert_eq!(
        fmt(src),
        "# head\nguest g {  # open\n  # inside\n  memory 4GiB  # four\n  vcpus 2\n  topology sockets=1 cores=2 threads=1  # t\n  # before close\n}  # close\n# tail\n"
    );
}

#[test]
fn consecutive_end_of_line_comments_share_a_column() {
    assert_eq!(
        fmt("guest g {\n  memory 4GiB # a\n  vcpus 2 # b\n  type kvm\n  machine q35 # c\n}"),
        "guest g {\n  memory 4GiB  # a\n  vcpus 2      # b\n  type kvm\n  machine q35  # c\n}\n"
    );
}

#[test]
fn blank_lines_collapse_and_never_open_or_close_blocks() {
    assert_eq!(
        fmt("\n\nhost h {\n\n\n  smt none\n\n\n\n  reserve cpus=0\n\n}\n\n\n\nguest g {}\n\n"),
        "host h {\n  smt none\n\n  reserve cpus=0\n}\n\nguest g {}\n"
    );
}

#[test]
fn runs_with_too_many_columns_keep_single_spaces() {
    // Two lines whose properties all differ: 2 × 40 columns, more than MAX_COLUMNS.
    let line = |n: usize| {
        // Line 1's names are longer: aligned, line 0 would be padded.
        let props: Vec<String> = (0..40).map(|j| format!("k{n}{}{j}=1", "x".repeat(n + 1))).collect();
        format!("cpu host-passthrough {}", props.join(" "))
    };
    let src = format!("guest g {{\n{}\n{}\n}}\n", line(0), line(1));
    let want = format!("guest g {{\n  {}\n  {}\n}}\n", line(0), line(1));
    assert_eq!(fmt(&src), want);
    // A few columns are still aligned.
    assert_eq!(
        fmt("guest g {\ncpu a x=1\ncpu bbb x=2\n}\n"),
        "guest g {\n  cpu a   x=1\n  cpu bbb x=2\n}\n"
    );
}

#[test]
fn aligns_runs_in_columns() {
    let src = "numa {\ncell 0 cpus=0-3 memory=8GiB host-node=0\ncell 3 cpus=12-15 memory=8GiB host-node=3\n\
               cell 4 memory=16GiB host-node=4\ndistances from=host\n}";
    assert_eq!(
        fmt(src),
        "numa {\n  cell 0 cpus=0-3   memory=8GiB  host-node=0\n  cell 3 cpus=12-15 memory=8GiB  host-node=3\n  \
         cell 4            memory=16GiB host-node=4\n  distances from=host\n}\n"
    );
}

#[test]
fn runs_end_at_blank_and_comment_lines_and_other_keywords() {
    let src = "pin vcpus=0 node=0\npin vcpus=10-11 node=1\n\npin vcpus=2 node=0\n# c\npin vcpus=3-30 node=1\n\
               emulator cpus=0\npin vcpus=4 node=0 # end-of-line comments do not end runs\npin vcpus=5-6 node=1";
    assert_eq!(
        fmt(src),
        "pin vcpus=0     node=0\npin vcpus=10-11 node=1\n\npin vcpus=2 node=0\n# c\npin vcpus=3-30 node=1\n\
         emulator cpus=0\npin vcpus=4   node=0  # end-of-line comments do not end runs\npin vcpus=5-6 node=1\n"
    );
}

#[test]
fn column_order_merges_lines_and_falls_back_to_single_spaces() {
    assert_eq!(fmt("x a=1 c=3\nx a=11 b=2 c=3"), "x a=1      c=3\nx a=11 b=2 c=3\n");
    assert_eq!(fmt("x a=1 b=22\nx b=2 a=11"), "x a=1 b=22\nx b=2 a=11\n");
    // Columns that never meet share a slot.
    assert_eq!(
        fmt("pin vcpus=0-7 cpus=8-11,56-59\npin vcpus=8-15 node=1\npin vcpus=16 node=2"),
        "pin vcpus=0-7  cpus=8-11,56-59\npin vcpus=8-15 node=1\npin vcpus=16   node=2\n"
    );
    assert_eq!(
        fmt("nic a bridge=br0 model=virtio\nnic bb network=default model=e1000"),
        "nic a  bridge=br0      model=virtio\nnic bb network=default model=e1000\n"
    );
    // A column goes to the first slot its lines leave free: `monitor=` under `cache=`,
    // not under `size=` past a blank `cache=`.
    assert_eq!(
        fmt("cachetune vcpus=0-3 cache=0 size=8MiB\ncachetune vcpus=0-3 monitor=0-3"),
        "cachetune vcpus=0-3 cache=0 size=8MiB\ncachetune vcpus=0-3 monitor=0-3\n"
    );
    assert_eq!(
        fmt("x a=1 b=2 c=3\nx a=1 d=4444 c=3"),
        "x a=1 b=2    c=3\nx a=1 d=4444 c=3\n"
    );
    assert_eq!(fmt("x 1 k=1 k=22 k=3\nx 22 k=1"), "x 1  k=1 k=22 k=3\nx 22 k=1\n");
    assert_eq!(fmt("x \"é\" k=1\nx ab k=2"), "x \"é\" k=1\nx ab  k=2\n");
    // Statements with blocks are never aligned and end runs.
    assert_eq!(
        fmt("x a=1\nx a=1111 {}\nx a=22\nx a=3 b=4"),
        "x a=1\nx a=1111 {}\nx a=22\nx a=3 b=4\n"
    );
}

#[test]
fn strings_and_odd_token_boundaries_are_kept_as_written() {
    assert_eq!(
        fmt("host h from=\"a b#c;{}\\\"\\u{41}\"   # real\n"),
        "host h from=\"a b#c;{}\\\"\\u{41}\"  # real\n"
    );
    assert_eq!(fmt("x\"a\"b c=\"d\"\"e\""), "x \"a\" b c=\"d\" \"e\"\n");
    assert_eq!(fmt("cell0.5 \"é\" k=ü"), "cell0 .5 \"é\" k=ü\n");
}

#[test]
fn crlf_and_cr_line_ends_become_lf() {
    assert_eq!(fmt("a 1\r\n\r\n\r\nb 2 # c\r\rc 3\r\n"), "a 1\n\nb 2  # c\n\nc 3\n");
}

#[test]
fn text_that_does_not_parse_is_an_error() {
    assert_eq!(format("guest g {\n  vcpus = 4\n}\n").unwrap_err().code, syntax::SYNTAX);
    assert_eq!(format("guest g {").unwrap_err().code, syntax::SYNTAX);
    assert_eq!(format("include \"a\\qb\"\n").unwrap_err().code, syntax::BAD_ESCAPE);
}

#[test]
fn a_lone_carriage_return_ends_a_comment_and_a_line() {
    assert_eq!(fmt("a 1 # c\rb 2 # d\r\r\rc 3\r"), "a 1  # c\nb 2  # d\n\nc 3\n");
    assert_eq!(fmt("a {\r# c\r}\r"), "a {\n  # c\n}\n");
}

#[test]
fn an_escaped_quote_does_not_end_a_string() {
    assert_eq!(fmt("a \"\\\"# x\" # y\r"), "a \"\\\"# x\"  # y\n");
    assert_eq!(
        fmt("a x=\"\\\"\" { b \"\\\"}\" }"),
        "a x=\"\\\"\" {\n  b \"\\\"}\"\n}\n"
    );
}

#[test]
fn separators_and_braces_in_a_string_are_text() {
    assert_eq!(
        fmt("a \"; b\" { c \"{\"; d \"}\" }"),
        "a \"; b\" {\n  c \"{\"\n  d \"}\"\n}\n"
    );
}
