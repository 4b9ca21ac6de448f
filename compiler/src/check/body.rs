//! A block's statements checked against the schema, looked up by keyword.

use crate::diagnostics::Diagnostic;
use crate::lang::{self, Context, Fields};
use crate::syntax::ast::Statement;

pub(super) struct Body<'s> {
    /// Every statement as written, whether its shape passed or not.
    pub(super) written: &'s [Statement],
    /// The statements whose shape passed, in order.
    pub(super) fields: Vec<Fields<'s>>,
}

impl<'s> Body<'s> {
    /// The block of `stmt`: statements given twice that may not be, then each one's shape.
    pub(super) fn check(stmt: &Fields<'s>, context: Context, diags: &mut Vec<Diagnostic>) -> Body<'s> {
        let written: &'s [Statement] = stmt.stmt.block.as_ref().map(|b| b.statements.as_slice()).unwrap_or(&[]);
        lang::check_repeats(written, context, diags);
        let fields = written.iter().filter_map(|s| lang::check(s, context, diags)).collect();
        Body { written, fields }
    }

    /// The first statement `kw` whose shape passed.
    pub(super) fn find(&self, kw: &str) -> Option<&Fields<'s>> {
        self.fields.iter().find(|f| f.keyword() == kw)
    }

    /// Every statement `kw` whose shape passed.
    pub(super) fn all<'b>(&'b self, kw: &'b str) -> impl Iterator<Item = &'b Fields<'s>> {
        self.fields.iter().filter(move |f| f.keyword() == kw)
    }

    /// Whether a statement `kw` is written at all, even one whose shape did not pass.
    pub(super) fn writes(&self, kw: &str) -> bool {
        self.written.iter().any(|s| s.keyword.text == kw)
    }
}
