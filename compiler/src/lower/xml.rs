//! A small XML element tree, written the way libvirt formats its own XML.

use std::fmt::{self, Display, Write as _};

/// An element: its attributes and text are kept as they will be written (escaped), so a
/// value is formatted once, straight into its element's one buffer.
#[derive(Debug, Clone, Default)]
pub struct Element {
    name: &'static str,
    /// ` key='value'` for each attribute, in order, the values escaped.
    attrs: String,
    /// The text, escaped.
    text: Option<String>,
    children: Vec<Element>,
}

/// Formatting into a string through [`push_escaped`].
struct Escaping<'a> {
    out: &'a mut String,
    attr: bool,
}

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.out, s, self.attr);
        Ok(())
    }
}

/// `value` formatted and escaped onto `out`.
fn push_display(out: &mut String, value: impl Display, attr: bool) {
    // Writing to a String cannot fail; a Display impl that reports an error writes less.
    let _ = write!(Escaping { out, attr }, "{value}");
}

/// A value an attribute or an element's text can hold, written escaped onto the
/// element's buffer (`attr`: as an attribute's value): text as it is, a number digit by
/// digit, anything else through its `Display`.
pub trait XmlValue {
    fn push_escaped(&self, out: &mut String, attr: bool);
}

impl XmlValue for str {
    fn push_escaped(&self, out: &mut String, attr: bool) {
        push_escaped(out, self, attr);
    }
}

impl XmlValue for String {
    fn push_escaped(&self, out: &mut String, attr: bool) {
        push_escaped(out, self, attr);
    }
}

impl<T: XmlValue + ?Sized> XmlValue for &T {
    fn push_escaped(&self, out: &mut String, attr: bool) {
        (**self).push_escaped(out, attr);
    }
}

/// Unsigned integers written digit by digit (nothing in them to escape).
macro_rules! unsigned_values {
    ($($t:ty),*) => {$(
        impl XmlValue for $t {
            fn push_escaped(&self, out: &mut String, _attr: bool) {
                crate::text::push_decimal(out, u64::from(*self));
            }
        }
    )*};
}
unsigned_values!(u8, u16, u32, u64);

impl XmlValue for usize {
    fn push_escaped(&self, out: &mut String, _attr: bool) {
        // A usize has at most 64 bits on every target vnumac builds for.
        crate::text::push_decimal(out, u64::try_from(*self).unwrap_or(u64::MAX));
    }
}

/// Values written through their `Display`, escaped.
macro_rules! display_values {
    ($($t:ty),*) => {$(
        impl XmlValue for $t {
            fn push_escaped(&self, out: &mut String, attr: bool) {
                push_display(out, self, attr);
            }
        }
    )*};
}
display_values!(i32, f64);

impl XmlValue for crate::sets::IdSet {
    fn push_escaped(&self, out: &mut String, _attr: bool) {
        self.push_to(out);
    }
}

impl Element {
    pub fn new(name: &'static str) -> Self {
        Element {
            name,
            ..Element::default()
        }
    }

    pub fn attr(mut self, key: &'static str, value: impl XmlValue) -> Self {
        // Room for the attributes of most elements at once (one to four, short); a longer
        // list grows as a string does.
        if self.attrs.capacity() == 0 {
            self.attrs.reserve(64);
        }
        self.attrs.push(' ');
        self.attrs.push_str(key);
        self.attrs.push_str("='");
        value.push_escaped(&mut self.attrs, true);
        self.attrs.push('\'');
        self
    }

    pub fn text(mut self, text: impl XmlValue) -> Self {
        let mut escaped = String::new();
        text.push_escaped(&mut escaped, false);
        self.text = Some(escaped);
        self
    }

    pub fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    pub fn push(&mut self, child: Element) {
        self.children.push(child);
    }

    pub fn has_children(&self) -> bool {
        !self.children.is_empty()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        push_pad(out, depth);
        out.push('<');
        out.push_str(self.name);
        out.push_str(&self.attrs);
        match (&self.text, self.children.is_empty()) {
            (None, true) => out.push_str("/>\n"),
            (Some(t), true) => {
                out.push('>');
                out.push_str(t);
                out.push_str("</");
                out.push_str(self.name);
                out.push_str(">\n");
            }
            (_, false) => {
                out.push_str(">\n");
                for c in &self.children {
                    c.write(out, depth + 1);
                }
                push_pad(out, depth);
                out.push_str("</");
                out.push_str(self.name);
                out.push_str(">\n");
            }
        }
    }
}

/// Escape text or a single-quoted attribute value.
pub fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s, attr);
    out
}

/// Two spaces a level.
fn push_pad(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// [`escape`] appended to `out`.
fn push_escaped(out: &mut String, s: &str, attr: bool) {
    // Most values need nothing escaped: copied whole.
    let plain = |c: char| c >= ' ' && !matches!(c, '&' | '<' | '>' | '\'' | '"' | '\u{fffe}' | '\u{ffff}');
    if s.chars().all(plain) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' if attr => out.push_str("&apos;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            // A literal CR is read back as a line feed (or, in an attribute, a space).
            '\r' => out.push_str("&#13;"),
            c if ((c as u32) < 0x20 && c != '\n' && c != '\t') || c == '\u{fffe}' || c == '\u{ffff}' => {
                // Not representable in XML 1.0; make it visible instead of invalid.
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let e = Element::new("name").attr("a", "it's <&>").text("x<y & \"z\"");
        assert_eq!(
            e.render(),
            "<name a='it&apos;s &lt;&amp;&gt;'>x&lt;y &amp; \"z\"</name>\n"
        );
        let e = Element::new("path").attr("a", "1\r\n\t2").text("3\r\n\t4");
        assert_eq!(e.render(), "<path a='1&#13;&#10;&#9;2'>3&#13;\n\t4</path>\n");
        // U+FFFE and U+FFFF are not XML 1.0 characters: shown, never written raw.
        let e = Element::new("text").attr("a", "\u{fffe}").text("x\u{ffff}");
        assert_eq!(e.render(), "<text a='\\u{fffe}'>x\\u{ffff}</text>\n");
    }

    /// Numbers, sets and text are written as their `Display` writes them, escaped for where
    /// they stand.
    #[test]
    fn values_are_written_as_displayed() {
        use crate::sets::IdSet;
        let shown = |e: Element| e.render();
        for n in [0u64, 7, 10, 99, 4_294_967_295, u64::MAX] {
            assert_eq!(shown(Element::new("a").attr("n", n)), format!("<a n='{n}'/>\n"));
        }
        assert_eq!(shown(Element::new("a").attr("n", 42usize)), "<a n='42'/>\n");
        let id = 3u32;
        let by_ref: &dyn Fn(&u32) -> Element = &|n| Element::new("a").attr("n", n);
        assert_eq!(shown(by_ref(&id)), "<a n='3'/>\n");
        assert_eq!(shown(Element::new("a").attr("n", -5i32)), "<a n='-5'/>\n");
        for text in ["0", "0-14,60-74", "3,5-6,1048576", ""] {
            let set = if text.is_empty() {
                IdSet::new()
            } else {
                IdSet::parse(text).unwrap()
            };
            assert_eq!(shown(Element::new("a").attr("s", &set)), format!("<a s='{set}'/>\n"));
            assert_eq!(set.to_string(), text);
        }
        let owned = String::from("a'b");
        assert_eq!(shown(Element::new("a").attr("t", &owned)), "<a t='a&apos;b'/>\n");
        // As text: the same values, text escaped as text.
        assert_eq!(shown(Element::new("a").text(8_388_608u64)), "<a>8388608</a>\n");
        assert_eq!(shown(Element::new("a").text(&owned)), "<a>a'b</a>\n");
        assert_eq!(shown(Element::new("a").text(1.5f64)), "<a>1.5</a>\n");
    }
}
