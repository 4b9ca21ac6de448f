//! Domain XML → a small element tree with byte offsets, read with quick-xml.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::error::ImportError;

/// Deeper nesting than this is not libvirt XML; the limit keeps recursion bounded.
const MAX_DEPTH: usize = 64;

/// One element: its attributes, its text (all text children joined) and its child elements.
#[derive(Debug, Default)]
pub(super) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
    /// Byte offset of the element's `<`.
    pub at: usize,
}

impl Node {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// `<graphics type='vnc'>`: the element with the attribute that says what it is.
    pub fn describe(&self) -> String {
        let key = ["type", "model", "name", "mode"]
            .into_iter()
            .find(|k| self.attr(k).is_some());
        match key.and_then(|k| self.attr(k).map(|v| (k, v))) {
            Some((k, v)) => format!("<{} {k}='{v}'>", self.name),
            None => format!("<{}>", self.name),
        }
    }
}

fn err(at: usize, message: impl Into<String>) -> ImportError {
    ImportError {
        message: message.into(),
        offset: Some(at),
    }
}

fn element(e: &BytesStart<'_>, at: usize) -> Result<Node, ImportError> {
    let mut attrs = Vec::new();
    // quick-xml's duplicate check compares each attribute with every earlier one
    // (quadratic); a set does it in linear time.
    let mut seen = std::collections::HashSet::new();
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|x| err(at, format!("malformed XML: {x}")))?;
        let key: &str = a.key.as_ref();
        if !seen.insert(key.to_string()) {
            return Err(err(at, format!("malformed XML: attribute `{key}` given twice")));
        }
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|x| err(at, format!("malformed XML: attribute `{key}`: {x}")))?;
        attrs.push((key.to_string(), value.into_owned()));
    }
    let qname = e.name();
    let name: &str = qname.as_ref();
    Ok(Node {
        name: name.to_string(),
        attrs,
        at,
        ..Node::default()
    })
}

/// Parse `xml` into its root element, which must be `<domain>`.
pub(super) fn parse(xml: &str) -> Result<Node, ImportError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let pos = usize::try_from(reader.error_position()).unwrap_or(at);
            err(pos, format!("malformed XML: {e}"))
        })?;
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() && stack.is_empty() => {
                let qname = e.name();
                let name: &str = qname.as_ref();
                return Err(err(at, format!("a second root element <{name}> after </domain>")));
            }
            Event::Start(e) => {
                let node = element(&e, at)?;
                if stack.is_empty() && node.name != "domain" {
                    return Err(not_domain(&node.name, at));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err(at, format!("elements nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(node);
            }
            Event::Empty(e) => {
                let node = element(&e, at)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if node.name == "domain" => root = Some(node),
                    None => return Err(not_domain(&node.name, at)),
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(err(at, "malformed XML: a closing tag without an opening one"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(err(at, "text outside the root element")),
                }
            }
            Event::CData(t) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                // A character reference or a predefined entity; libvirt never writes others.
                let Some(c) = crate::host::caps::reference(&r) else {
                    let name: &str = &r;
                    return Err(err(at, format!("malformed XML: unknown entity `&{name};`")));
                };
                match stack.last_mut() {
                    Some(node) => node.text.push(c),
                    None => return Err(err(at, "text outside the root element")),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            xml.len(),
            format!("malformed XML: the document ends inside <{}>", open.name),
        ));
    }
    root.ok_or_else(|| ImportError {
        message: "not a libvirt domain: the document has no root element".into(),
        offset: None,
    })
}

fn not_domain(name: &str, at: usize) -> ImportError {
    err(
        at,
        format!("not a libvirt domain: the root element is <{name}>, not <domain>"),
    )
}
