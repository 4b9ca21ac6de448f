//! Text rules that every layer may use: how a word is written for a POSIX shell.

/// Quote a word for a POSIX shell only when it needs it (as libvirt's .args files do).
pub fn shell_quote(word: &str) -> String {
    let special = |c: char| c.is_whitespace() || "\\!\"#$&'()*;<>?[]^`{|}~".contains(c);
    if !word.is_empty() && !word.chars().any(special) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("-numa"), "-numa");
        assert_eq!(shell_quote("node,nodeid=0,cpus=0-3"), "node,nodeid=0,cpus=0-3");
        assert_eq!(shell_quote("guest=it's"), "'guest=it'\\''s'");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
