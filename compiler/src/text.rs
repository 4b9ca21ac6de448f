//! Text rules that every layer may use: how a word is written for a POSIX shell, and a
//! number written in decimal without the formatting machinery.

/// Quote a word for a POSIX shell only when it needs it (as libvirt's .args files do).
pub fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    push_shell_quoted(&mut out, word);
    out
}

/// The characters a POSIX shell gives a meaning to, besides white space.
const SHELL_SPECIAL: &str = "\\!\"#$&'()*;<>?[]^`{|}~";

/// [`SHELL_SPECIAL`] and ASCII white space (as `char::is_whitespace` has it), by byte.
const SHELL_SPECIAL_ASCII: [bool; 128] = {
    let mut table = [false; 128];
    let special = SHELL_SPECIAL.as_bytes();
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = true;
        i += 1;
    }
    let space = b"\t\n\x0b\x0c\r ";
    let mut i = 0;
    while i < space.len() {
        table[space[i] as usize] = true;
        i += 1;
    }
    table
};

/// [`shell_quote`] appended to `out`.
pub fn push_shell_quoted(out: &mut String, word: &str) {
    // Nearly every word is ASCII: a look-up a byte; any other is read a character at a time.
    let special = if word.is_ascii() {
        word.bytes()
            .any(|b| SHELL_SPECIAL_ASCII.get(usize::from(b)).copied().unwrap_or(true))
    } else {
        word.chars().any(|c| c.is_whitespace() || SHELL_SPECIAL.contains(c))
    };
    if !word.is_empty() && !special {
        out.push_str(word);
        return;
    }
    out.push('\'');
    out.push_str(&word.replace('\'', "'\\''"));
    out.push('\'');
}

/// `n` in decimal appended to `out`: what `write!(out, "{n}")` writes, digit by digit.
pub fn push_decimal(out: &mut String, n: u64) {
    // Writing to a String cannot fail.
    let _ = write_decimal(out, n);
}

/// `n` in decimal onto `w`, a digit at a time, without the formatting machinery.
pub fn write_decimal<W: std::fmt::Write>(w: &mut W, n: u64) -> std::fmt::Result {
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
        w.write_char(char::from(d))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word is quoted exactly when it holds white space or a character the shell reads.
    #[test]
    fn quoted_when_special() {
        let special = |c: char| c.is_whitespace() || "\\!\"#$&'()*;<>?[]^`{|}~".contains(c);
        let chars = (0u32..0x3100).filter_map(char::from_u32);
        for c in chars {
            for word in [format!("a{c}b"), format!("é{c}")] {
                let quoted = word.chars().any(special);
                let mut out = String::new();
                push_shell_quoted(&mut out, &word);
                assert_eq!(out != word, quoted, "{word:?} gave {out:?}");
            }
        }
    }

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
