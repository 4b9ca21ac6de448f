//! The shape of a statement: where it may appear, its arguments, its properties and
//! the kinds of value they take.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    File,
    Guest,
    Numa,
    Host,
    Devices,
}

impl Context {
    pub fn describe(self) -> &'static str {
        match self {
            Context::File => "at the top level of a file",
            Context::Guest => "in a `guest` block",
            Context::Numa => "in a `numa` block",
            Context::Host => "in a `host` block",
            Context::Devices => "in a `devices` block",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Size,
    Set,
    Bool,
    Str,
    Name,
    Mac,
    Pci,
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// An integer, or one of the listed words.
    IntOr(&'static [&'static str]),
    /// Any word or string (machine types, cpu models).
    Text,
}

impl Kind {
    pub fn describe(self) -> String {
        match self {
            Kind::Int => "an integer like `16`".into(),
            Kind::Size => "a size like `8GiB`".into(),
            Kind::Set => "a set like `0-3,8`".into(),
            Kind::Bool => "`true` or `false`".into(),
            Kind::Str => "a string like \"/path\"".into(),
            Kind::Name => "a name".into(),
            Kind::Mac => "a MAC address".into(),
            Kind::Pci => "a PCI address like `0000:3b:00.0`".into(),
            Kind::OneOf(w) => one_of(w),
            Kind::IntOr(w) => format!("an integer or {}", one_of(w)),
            Kind::Text => "a word or a string".into(),
        }
    }
}

pub(super) fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PropSpec {
    pub key: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct StmtSpec {
    pub keyword: &'static str,
    pub context: Context,
    /// Positional arguments; the last may be optional when `optional_last`.
    pub args: &'static [(&'static str, Kind)],
    pub optional_last: bool,
    pub props: &'static [PropSpec],
    pub block: Option<Context>,
    /// May appear more than once in its block.
    pub repeatable: bool,
    pub doc: &'static str,
}

impl StmtSpec {
    /// The arguments as written in a synopsis: `N`, or `[emulator]` for an optional one.
    pub fn usage(&self) -> String {
        let last = self.args.len().saturating_sub(1);
        self.args
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                if self.optional_last && i == last {
                    format!("[{name}]")
                } else {
                    (*name).to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}
