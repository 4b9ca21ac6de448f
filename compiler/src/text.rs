//! Text rules that every layer may use: how a word is written for a POSIX shell, and a
//! number written in decimal without the formatting machinery.

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

/// `n` in decimal appended to `out`: what `write!(out, "{n}")` writes, digit by digit.
pub fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut m = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    for &d in digits.get(at..).unwrap_or_default() {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_formatted() {
        let mut values = vec![0u64, 1, 9, 10, 11, 99, 100, u64::from(u32::MAX), u64::MAX, u64::MAX - 1];
        values.extend((0..20).map(|p| 10u64.pow(p)));
        values.extend((1..20).map(|p| 10u64.pow(p) - 1));
        for n in values {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("-numa"), "-numa");
        assert_eq!(shell_quote("node,nodeid=0,cpus=0-3"), "node,nodeid=0,cpus=0-3");
        assert_eq!(shell_quote("guest=it's"), "'guest=it'\\''s'");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
