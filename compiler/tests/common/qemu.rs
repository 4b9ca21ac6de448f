//! The QEMU side of an `.args` line: options, keyval syntax and option properties in either
//! syntax (keyval or JSON), and QEMU's sizes.

use serde_json::{Map, Value};

use super::{QEMU, number};

/// QEMU options that take no value (everything else takes exactly one).
#[rustfmt::skip]
pub const FLAG_OPTIONS: &[&str] = &[
    "S", "nodefaults", "no-user-config", "nodefconfig", "no-shutdown", "no-reboot", "enable-kvm",
    "daemonize", "mem-prealloc", "no-hpet", "no-acpi", "nographic", "snapshot", "full-screen",
    "no-fd-bootchk", "only-migratable", "preconfig", "enable-fips", "s", "usb", "win2k-hack",
    "no-quit", "alt-grab", "ctrl-grab", "no-frame", "portrait", "curses", "enable-sync-profile",
    "semihosting", "version", "h", "help",
];

/// One option of the line: its name without the dash, and its value unless it is a flag.
#[derive(Debug)]
pub struct QemuOption {
    pub name: String,
    pub value: Option<String>,
}

/// Groups argv into options, after leading `VAR=value` words and the program itself.
pub fn qemu_options(words: &[String]) -> Result<Vec<QemuOption>, String> {
    let is_env = |w: &str| {
        w.split_once('=')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()))
    };
    let mut rest = words.iter().skip_while(|w| is_env(w));
    let program = rest.next().ok_or("empty command line")?;
    if !program.rsplit('/').next().is_some_and(|p| p.starts_with(QEMU)) {
        return Err(format!("the program is {program:?}, not {QEMU}"));
    }
    let mut options = Vec::new();
    while let Some(word) = rest.next() {
        let name = word
            .strip_prefix('-')
            .ok_or(format!("stray argument {word:?} where an option was expected"))?;
        let name = name.strip_prefix('-').unwrap_or(name).to_owned();
        let value = if FLAG_OPTIONS.contains(&name.as_str()) {
            None
        } else {
            Some(rest.next().ok_or(format!("-{name} has no value"))?.clone())
        };
        options.push(QemuOption { name, value });
    }
    Ok(options)
}

/// A keyval value: `bare` is the leading token without `=` (the type), `pairs` the rest in order.
#[derive(Debug, PartialEq)]
pub struct Keyval {
    pub bare: Option<String>,
    pub pairs: Vec<(String, String)>,
}

/// Splits QEMU keyval syntax on single commas; `,,` is a literal comma. A later token without `=` is `key=on`.
pub fn split_keyval(text: &str) -> Keyval {
    let mut tokens = vec![String::new()];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ',' if chars.peek() == Some(&',') => {
                chars.next();
                tokens.last_mut().expect("never empty").push(',');
            }
            ',' => tokens.push(String::new()),
            c => tokens.last_mut().expect("never empty").push(c),
        }
    }
    // Each token splits at its first '=' (keys never hold one; values may).
    let mut bare = None;
    let mut pairs = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        match token.split_once('=') {
            Some((k, v)) => pairs.push((k.to_owned(), v.to_owned())),
            None if i == 0 => bare = Some(token).filter(|t| !t.is_empty()),
            None => pairs.push((token, "on".to_owned())),
        }
    }
    Keyval { bare, pairs }
}

/// The inverse of [`split_keyval`]: commas in the bare token, keys and values doubled.
pub fn join_keyval(bare: Option<&str>, pairs: &[(String, String)]) -> String {
    let esc = |s: &str| s.replace(',', ",,");
    let mut parts: Vec<String> = bare.map(esc).into_iter().collect();
    parts.extend(pairs.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))));
    parts.join(",")
}

/// The properties of an `-object`/`-device`/`-netdev`/`-blockdev`/... value, in either syntax.
#[derive(Debug)]
pub struct Props {
    pub json: bool,
    /// Keyval only: the key written as the bare leading token.
    pub implied: Option<String>,
    pub entries: Vec<(String, Value)>,
}

impl Props {
    pub fn parse(text: &str, implied: Option<&str>) -> Result<Props, String> {
        if text.trim_start().starts_with('{') {
            let map: Map<String, Value> =
                serde_json::from_str(text).map_err(|e| format!("bad JSON option {text}: {e}"))?;
            return Ok(Props {
                json: true,
                implied: None,
                entries: map.into_iter().collect(),
            });
        }
        let kv = split_keyval(text);
        let mut entries: Vec<(String, Value)> = kv.pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        let implied = match (kv.bare, implied) {
            (Some(bare), Some(key)) => {
                entries.insert(0, (key.to_owned(), Value::String(bare)));
                Some(key.to_owned())
            }
            (Some(bare), None) => return Err(format!("unexpected bare {bare:?} in {text}")),
            (None, _) => None,
        };
        Ok(Props {
            json: false,
            implied,
            entries,
        })
    }

    /// Other entries in the same syntax.
    pub fn new_like(&self, entries: Vec<(String, Value)>) -> Props {
        Props {
            json: self.json,
            implied: self.implied.clone(),
            entries,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_str(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn remove(&mut self, keys: &[&str]) {
        self.entries.retain(|(k, _)| !keys.contains(&k.as_str()));
    }

    /// Sets `key` in place (or appends it); a boolean is `on`/`off` in keyval syntax.
    pub fn set(&mut self, key: &str, value: Value) {
        let value = match value {
            Value::Bool(b) if !self.json => Value::String(if b { "on" } else { "off" }.to_owned()),
            other => other,
        };
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    /// The value in its own syntax; in keyval, a JSON array is the key repeated.
    pub fn render(&self) -> String {
        if self.json {
            return Value::Object(self.entries.iter().cloned().collect()).to_string();
        }
        let mut bare = None;
        let mut pairs = Vec::new();
        for (k, v) in &self.entries {
            let values = match v {
                Value::Array(items) => items.iter().map(keyval_scalar).collect(),
                other => vec![keyval_scalar(other)],
            };
            if bare.is_none() && self.implied.as_deref() == Some(k.as_str()) {
                bare = values.into_iter().next();
            } else {
                pairs.extend(values.into_iter().map(|v| (k.clone(), v)));
            }
        }
        join_keyval(bare.as_deref(), &pairs)
    }
}

fn keyval_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "on" } else { "off" }.to_owned(),
        other => other.to_string(),
    }
}

/// QEMU sizes: bytes, or with a k/M/G/T/P/E suffix (powers of 1024).
pub fn qemu_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, scale) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let exp = "kmgtpe"
                .find(c.to_ascii_lowercase())
                .ok_or(format!("bad size suffix in {text:?}"))?;
            (&text[..i], 1024u64.pow(exp as u32 + 1))
        }
        _ => (text, 1),
    };
    number::<u64>(digits, "size")?
        .checked_mul(scale)
        .ok_or(format!("size {text} overflows"))
}
