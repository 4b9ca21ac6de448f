//! The `domain` target: domain XML import.

use super::common::text;
use crate::diagnostics::Diagnostic;
use crate::span::FileId;
use crate::syntax;

/// Domain XML import: what it writes parses back without a syntax error (`import`
/// escapes every outside text, `docs/language.md` §1), and notes are comments.
pub fn domain(data: &[u8]) {
    let xml = text(data);
    let opts = crate::import::ImportOptions { host: Some("h".into()) };
    if let Ok(imported) = crate::import::import_domain(&xml, &opts) {
        let (file, diags) = syntax::parse(FileId(0), &imported.text);
        let syntax_errors: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| d.code == syntax::SYNTAX || d.code == syntax::BAD_ESCAPE)
            .collect();
        assert!(
            syntax_errors.is_empty() && file.errors.is_empty(),
            "{}\n{syntax_errors:?}",
            imported.text
        );
        let guests = file.statements.iter().filter(|s| s.keyword.text == "guest").count();
        assert_eq!(guests, 1, "{}", imported.text);
    }
}
