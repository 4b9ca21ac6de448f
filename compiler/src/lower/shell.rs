//! QEMU keyval escaping and printed command lines.

use crate::text::{push_shell_quoted, shell_quote};

/// QEMU keyval: a comma inside a value is written `,,`.
pub fn keyval(value: &str) -> String {
    value.replace(',', ",,")
}

/// One option per line: `prog \` then `  -opt value \` ...
pub fn render_command(program: &str, options: &[(String, Option<String>)]) -> String {
    let mut out = shell_quote(program);
    for (opt, val) in options {
        out.push_str(" \\\n  ");
        push_shell_quoted(&mut out, opt);
        if let Some(v) = val {
            out.push(' ');
            push_shell_quoted(&mut out, v);
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyval_doubles_commas() {
        assert_eq!(keyval("a,b"), "a,,b");
    }
}
