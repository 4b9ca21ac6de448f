//! Compiles the generated parser (`src/parser.c`); the C sources are committed, so
//! building needs a C compiler and not the tree-sitter CLI.

fn main() {
    let src = std::path::Path::new("src");
    let parser = src.join("parser.c");
    println!("cargo:rerun-if-changed={}", parser.display());
    println!("cargo:rerun-if-changed={}", src.join("tree_sitter/parser.h").display());
    cc::Build::new()
        .std("c11")
        .include(src)
        .file(parser)
        // Generated code: its unused parameters and the like are not ours to fix.
        .warnings(false)
        .compile("tree-sitter-vnuma");
}
