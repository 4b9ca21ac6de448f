//! Text rules that every layer may use: how a word is written for a POSIX shell.

/// Quote a word for a POSIX shell only when it needs it (as libvirt's .args files do).
pub fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    push_shell_quoted(&mut out, word);
    out
}

/// [`shell_quote`] appended to `out`.
pub fn push_shell_quoted(out: &mut String, word: &str) {
    let special = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\\' | '!'
                    | '"'
                    | '#'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | ';'
                    | '<'
                    | '>'
                    | '?'
                    | '['
                    | ']'
                    | '^'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
                    | '~'
            )
    };
    if !word.is_empty() && !word.chars().any(special) {
        out.push_str(word);
        return;
    }
    out.push('\'');
    out.push_str(&word.replace('\'', "'\\''"));
    out.push('\'');
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
