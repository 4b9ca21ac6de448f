//! QEMU keyval escaping and printed command lines.

use crate::text::shell_quote;

/// QEMU keyval: a comma inside a value is written `,,`.
pub fn keyval(value: &str) -> String {
    value.replace(',', ",,")
}

/// One option per line: `prog \` then `  -opt value \` ...
pub fn render_command(program: &str, options: &[(String, Option<String>)]) -> String {
    let mut lines = vec![shell_quote(program)];
    for (opt, val) in options {
        match val {
            Some(v) => lines.push(format!("  {} {}", shell_quote(opt), shell_quote(v))),
            None => lines.push(format!("  {}", shell_quote(opt))),
        }
    }
    let mut out = lines.join(" \\\n");
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
