//! The `.args` format's shell words: splitting a POSIX-quoted command line, and quoting back.

/// Characters a POSIX shell would interpret; the format (and libvirt) quotes every word holding one.
pub const SHELL_SPECIAL: &str = "$`;|&<>()*?[]{}!^";

/// Splits a shell-quoted command into words: `'...'`, `'\''`, `"..."` (with `\"` `\\` `\$` `` \` ``),
/// backslash escapes and backslash-newline continuations. Unquoted specials are an error.
pub fn shell_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => w.push(ch),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => w.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                w.push('\\');
                                w.push(ch);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(ch @ ('$' | '`')) => {
                            return Err(format!("unescaped {ch} inside double quotes"));
                        }
                        Some(ch) => w.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(ch) => word.get_or_insert_with(String::new).push(ch),
                None => return Err("backslash at the end of the text".into()),
            },
            c if c.is_whitespace() => words.extend(word.take()),
            '#' | '~' if word.is_none() => {
                return Err(format!("unquoted {c} at the start of a word"));
            }
            c if SHELL_SPECIAL.contains(c) => {
                return Err(format!("unquoted shell-special character {c:?}"));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// Quotes a word the way the `.args` format (and libvirt) does, so that a line in a message
/// can be pasted into a shell.
pub fn shell_quote(word: &str) -> String {
    let needs = word.is_empty()
        || word
            .chars()
            .any(|c| c.is_whitespace() || "\\\"'#~".contains(c) || SHELL_SPECIAL.contains(c));
    if needs {
        format!("'{}'", word.replace('\'', "'\\''"))
    } else {
        word.to_owned()
    }
}

/// An argv as one shell-quoted line.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}
