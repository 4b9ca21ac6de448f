//! `vnumac plan`: the hot-plug plan ([`crate::place::hotplug`]) written out as virsh and
//! QMP commands.

use crate::ir::Guest;
use crate::lower::qemu_devices::cpu_driver;
pub use crate::place::hotplug::{fixed_states, order, states, steps, unit};

/// One QMP command of `vnumac plan`, written by serde_json so that every value is a JSON
/// string or number whatever it contains. Fields are in the order QMP users expect.
#[derive(serde::Serialize)]
struct Qmp<'a> {
    execute: &'static str,
    arguments: QmpArgs<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "kebab-case")]
struct QmpArgs<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<&'a str>,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    socket_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    die_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    core_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<u32>,
}

/// `vnumac plan`: the commands that take the running guest from its boot count to `to`
/// vCPUs, one unit per step, every cell balanced after each step.
pub fn plan_text(g: &Guest, to: u32) -> Result<String, String> {
    if g.vcpu_states.is_empty() {
        return Err(format!(
            "guest `{}` has no hotpluggable vCPUs; give it `vcpus {} boot=N` or `hotpluggable=true`",
            g.name, g.vcpus
        ));
    }
    if to == 0 || to > g.vcpus {
        return Err(format!(
            "--vcpus {to} is out of range: guest `{}` has 1 to {} vCPUs",
            g.name, g.vcpus
        ));
    }
    let from = g.boot_vcpus();
    let unit = unit(g);
    let mut out = String::new();
    let name = crate::text::shell_quote(&g.name);
    out.push_str(&format!(
        "# guest {}: {from} → {to} vCPUs online, {} at a time; every cell stays within one unit of its share\n",
        crate::syntax::write::comment(&g.name),
        if unit == 1 {
            "one vCPU".to_string()
        } else {
            format!("one guest core ({unit} vCPUs)")
        }
    ));
    let steps = steps(g, from, to);
    if steps.is_empty() {
        out.push_str("# nothing to do\n");
        return Ok(out);
    }
    for (enable, set) in &steps {
        out.push_str(&format!(
            "virsh setvcpu {name} {set} --{} --live\n",
            if *enable { "enable" } else { "disable" }
        ));
    }
    out.push_str("\n# the same over QMP (the `id`s are those libvirt gives hot-plugged vCPUs)\n");
    let driver = cpu_driver(g);
    let topology = g.effective_topology();
    let dies = topology.dies > 1;
    for (enable, set) in &steps {
        for id in set.iter() {
            let command = if *enable {
                let (s, d, c, t) = topology.position(id);
                Qmp {
                    execute: "device_add",
                    arguments: QmpArgs {
                        driver: Some(&driver),
                        id: format!("vcpu{id}"),
                        socket_id: Some(s),
                        die_id: dies.then_some(d),
                        core_id: Some(c),
                        thread_id: Some(t),
                    },
                }
            } else {
                Qmp {
                    execute: "device_del",
                    arguments: QmpArgs {
                        driver: None,
                        id: format!("vcpu{id}"),
                        socket_id: None,
                        die_id: None,
                        core_id: None,
                        thread_id: None,
                    },
                }
            };
            let line = serde_json::to_string(&command).map_err(|e| format!("cannot write QMP: {e}"))?;
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::*;
    use crate::place::hotplug::tests::guest;

    /// Every QMP line is JSON whose values are the literal strings, whatever a model holds.
    #[test]
    fn qmp_lines_carry_odd_models_literally() {
        let mut g = guest(&["0-1", "2-3"], 1);
        let model = "Sky\"lake\\\",\"x\":\"y";
        g.cpu = CpuMode::Custom(model.into());
        g.vcpu_states = states(&g, 2);
        let up = plan_text(&g, 4).unwrap();
        let down = plan_text(&g, 1).unwrap();
        let lines: Vec<&str> = up.lines().chain(down.lines()).filter(|l| l.starts_with('{')).collect();
        assert_eq!(lines.len(), 3, "{up}{down}");
        for line in &lines {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let args = v["arguments"].as_object().unwrap();
            match v["execute"].as_str() {
                Some("device_add") => {
                    assert_eq!(args["driver"], format!("{model}-x86_64-cpu"));
                    let keys: Vec<&str> = args.keys().map(String::as_str).collect();
                    assert_eq!(keys.len(), 5, "no property is added: {line}");
                    assert!(!args.contains_key("x"));
                }
                Some("device_del") => assert_eq!(args.len(), 1, "{line}"),
                other => panic!("unexpected command {other:?}"),
            }
        }
    }
}
