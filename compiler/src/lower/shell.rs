//! QEMU keyval escaping and shell quoting for printed command lines.

/// QEMU keyval: a comma inside a value is written `,,`.
pub fn keyval(value: &str) -> String {
    value.replace(',', ",,")
}

/// Quote a word for a POSIX shell only when it needs it (as libvirt's .args files do).
pub fn quote(word: &str) -> String {
    let special = |c: char| c.is_whitespace() || "\\!\"#$&'()*;<>?[]^`{|}~".contains(c);
    if !word.is_empty() && !word.chars().any(special) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// One option per line: `prog \` then `  -opt value \` ...
pub fn render_command(program: &str, options: &[(String, Option<String>)]) -> String {
    let mut lines = vec![quote(program)];
    for (opt, val) in options {
        match val {
            Some(v) => lines.push(format!("  {} {}", quote(opt), quote(v))),
            None => lines.push(format!("  {}", quote(opt))),
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
    fn quoting_and_keyval() {
        assert_eq!(quote("-numa"), "-numa");
        assert_eq!(quote("node,nodeid=0,cpus=0-3"), "node,nodeid=0,cpus=0-3");
        assert_eq!(quote("guest=it's"), "'guest=it'\\''s'");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(keyval("a,b"), "a,,b");
    }
}
