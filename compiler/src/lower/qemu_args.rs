//! QEMU options as data, rendered in keyval syntax (`a=b,c=d`, commas doubled) or, for
//! `-object`/`-device`/`-netdev`/`-blockdev`, in the JSON syntax libvirt prints.

use super::shell::keyval;
use crate::sets::IdSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(String),
    Int(u64),
    Bool(bool),
    /// A set of ids: keyval repeats the key per run, JSON writes an array.
    Ids(IdSet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Written the same in both syntaxes (`-numa`, `-smp`, `-m`, …).
    Plain(String),
    /// `type_key` names the type property: `qom-type` (objects), `driver` (devices, blockdevs), `type` (netdevs).
    Props {
        type_key: &'static str,
        props: Vec<(&'static str, Val)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    pub name: &'static str,
    pub arg: Option<Arg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Keyval,
    Json,
}

impl Opt {
    pub fn plain(name: &'static str, value: impl Into<String>) -> Opt {
        Opt {
            name,
            arg: Some(Arg::Plain(value.into())),
        }
    }

    /// An option without a value (`-mem-prealloc`).
    pub fn flag(name: &'static str) -> Opt {
        Opt { name, arg: None }
    }

    /// `props` starts with the type property.
    pub fn props(name: &'static str, type_key: &'static str, props: Vec<(&'static str, Val)>) -> Opt {
        Opt {
            name,
            arg: Some(Arg::Props { type_key, props }),
        }
    }

    pub fn render(&self, syntax: Syntax) -> (String, Option<String>) {
        let value = match &self.arg {
            None => None,
            Some(Arg::Plain(s)) => Some(s.clone()),
            Some(Arg::Props { type_key, props }) => Some(match syntax {
                // `-blockdev` has no implied key: its driver is written `driver=…`.
                Syntax::Keyval if self.name == "-blockdev" => keyval_props("", props),
                Syntax::Keyval => keyval_props(type_key, props),
                Syntax::Json => json_props(props),
            }),
        };
        (self.name.to_string(), value)
    }
}

fn keyval_props(type_key: &str, props: &[(&'static str, Val)]) -> String {
    let mut parts = Vec::new();
    for (i, (k, v)) in props.iter().enumerate() {
        let first = i == 0 && *k == type_key;
        match v {
            Val::Str(s) if first => parts.push(keyval(s)),
            Val::Str(s) => parts.push(format!("{k}={}", keyval(s))),
            Val::Int(n) => parts.push(format!("{k}={n}")),
            Val::Bool(b) => parts.push(format!("{k}={}", if *b { "on" } else { "off" })),
            Val::Ids(set) => parts.extend(set.run_strings().iter().map(|r| format!("{k}={r}"))),
        }
    }
    parts.join(",")
}

fn json_props(props: &[(&'static str, Val)]) -> String {
    let fields: Vec<String> = props
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Val::Str(s) => serde_json::Value::String(s.clone()).to_string(),
                Val::Int(n) => n.to_string(),
                Val::Bool(b) => b.to_string(),
                Val::Ids(set) => format!("[{}]", set.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")),
            };
            format!("{}:{v}", serde_json::Value::String((*k).to_string()))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

pub fn s(v: impl Into<String>) -> Val {
    Val::Str(v.into())
}

pub fn n(v: impl Into<u64>) -> Val {
    Val::Int(v.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_syntaxes() {
        let o = Opt::props(
            "-object",
            "qom-type",
            vec![
                ("qom-type", s("memory-backend-file")),
                ("id", s("ram-node0")),
                ("mem-path", s("/a,b")),
                ("prealloc", Val::Bool(true)),
                ("size", n(1024u64)),
                ("host-nodes", Val::Ids(IdSet::from_ids([0, 2, 3]))),
            ],
        );
        assert_eq!(
            o.render(Syntax::Keyval).1.unwrap(),
            "memory-backend-file,id=ram-node0,mem-path=/a,,b,prealloc=on,size=1024,host-nodes=0,host-nodes=2-3"
        );
        assert_eq!(
            o.render(Syntax::Json).1.unwrap(),
            r#"{"qom-type":"memory-backend-file","id":"ram-node0","mem-path":"/a,b","prealloc":true,"size":1024,"host-nodes":[0,2,3]}"#
        );
    }
}
