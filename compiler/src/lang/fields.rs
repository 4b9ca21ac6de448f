//! A statement the schema accepted, with typed access to what it holds.

use super::spec::StmtSpec;
use crate::sets::IdSet;
use crate::span::Span;
use crate::syntax::ast::Statement;

/// A value converted to its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    Int(u64),
    Size(u64),
    Set(IdSet),
    Bool(bool),
    Text(String),
}

/// A statement whose shape the schema accepted, with typed values.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    pub stmt: &'a Statement,
    pub spec: &'static StmtSpec,
    pub(super) args: Vec<(Typed, Span)>,
    pub(super) props: Vec<(&'static str, Typed, Span)>,
}

impl<'a> Fields<'a> {
    pub fn keyword(&self) -> &'static str {
        self.spec.keyword
    }
    pub fn span(&self) -> Span {
        self.stmt.span
    }
    pub fn arg(&self, i: usize) -> Option<&Typed> {
        self.args.get(i).map(|(t, _)| t)
    }
    pub fn arg_span(&self, i: usize) -> Span {
        self.args.get(i).map(|(_, s)| *s).unwrap_or(self.stmt.keyword.span)
    }
    pub fn arg_int(&self, i: usize) -> Option<u64> {
        match self.arg(i)? {
            Typed::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub fn arg_text(&self, i: usize) -> Option<&str> {
        match self.arg(i)? {
            Typed::Text(v) => Some(v),
            _ => None,
        }
    }
    pub fn arg_set(&self, i: usize) -> Option<&IdSet> {
        match self.arg(i)? {
            Typed::Set(v) => Some(v),
            _ => None,
        }
    }
    pub fn arg_size(&self, i: usize) -> Option<u64> {
        match self.arg(i)? {
            Typed::Size(v) => Some(*v),
            _ => None,
        }
    }
    fn get(&self, key: &str) -> Option<&Typed> {
        self.props.iter().find(|(k, _, _)| *k == key).map(|(_, t, _)| t)
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// The span of a property's value, or of the statement head when absent.
    pub fn span_of(&self, key: &str) -> Span {
        self.props
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, s)| *s)
            .unwrap_or_else(|| self.stmt.head_span())
    }
    pub fn int(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Typed::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub fn size(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Typed::Size(v) => Some(*v),
            _ => None,
        }
    }
    pub fn set(&self, key: &str) -> Option<&IdSet> {
        match self.get(key)? {
            Typed::Set(v) => Some(v),
            _ => None,
        }
    }
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Typed::Bool(v) => Some(*v),
            _ => None,
        }
    }
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Typed::Text(v) => Some(v),
            _ => None,
        }
    }
    /// An integer property as a set of one, or a set property.
    pub fn set_or_int(&self, key: &str) -> Option<IdSet> {
        match self.get(key)? {
            Typed::Set(v) => Some(v.clone()),
            Typed::Int(v) => u32::try_from(*v).ok().map(IdSet::single),
            _ => None,
        }
    }
}
