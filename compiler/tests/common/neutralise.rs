//! Neutralising: make a host-specific QEMU line start anywhere under TCG (no KVM, no host
//! placement or preallocation, no hugepages, null disks, user networking, no host devices).

use serde_json::{Value, json};

use super::Scratch;
use super::qemu::{Props, QemuOption, qemu_size};

/// What the neutralised line is run for.
#[derive(Clone, Copy)]
pub enum Run<'a> {
    /// Paused (`-S`) with QMP on stdio, to ask QEMU what it built. nvdimm-style file backends
    /// get a sparse file of their size in the scratch dir, so their sizes stay as written.
    Paused(&'a Scratch),
    /// A real boot: serial console on stdio, no reboot, every memory backend plain RAM, host
    /// devices left out. The caller adds the kernel, initrd and command line.
    Boot,
}

/// Rewrites host-specific options and appends the plumbing of `run`: `-display none -nodefaults
/// -S -qmp stdio` for [`Run::Paused`], `-serial stdio -no-reboot -display none -nodefaults` for
/// [`Run::Boot`].
pub fn neutralise(options: &[QemuOption], run: Run<'_>) -> Result<Vec<String>, String> {
    let boot = matches!(run, Run::Boot);
    let mut argv = Vec::new();
    for opt in options {
        let name = opt.name.as_str();
        let value = opt.value.as_deref().unwrap_or("");
        let new_value = match name {
            // KVM → TCG; any CPU model → one TCG can run, wide enough for terabyte guests.
            "accel" => Some("tcg".to_owned()),
            "machine" | "M" => {
                let mut p = Props::parse(value, Some("type"))?;
                if p.has("accel") {
                    p.set("accel", json!("tcg"));
                }
                p.remove(&["kernel_irqchip", "kernel-irqchip"]);
                Some(p.render())
            }
            // TCG's default vendor (AMD) hides SMT siblings from Linux; Intel's leaf 0xB shows them.
            "cpu" if boot => Some("max,phys-bits=48,vendor=GenuineIntel".to_owned()),
            "cpu" => Some("max,phys-bits=48".to_owned()),
            "object" => neutralise_object(Props::parse(value, Some("qom-type"))?, run)?,
            "device" => {
                let mut p = Props::parse(value, Some("driver"))?;
                let driver = p.get_str("driver").unwrap_or_default();
                let host_device = driver.starts_with("vfio") || driver.starts_with("vhost-user");
                if driver.ends_with("-x86_64-cpu") {
                    p.set("driver", json!("max-x86_64-cpu"));
                } else if host_device && boot {
                    // Needs host hardware; nothing the guest's NUMA view depends on.
                    continue;
                } else if driver == "vfio-pci" {
                    // A passed-through host device: a plain PCIe endpoint in the same slot stands in.
                    p.set("driver", json!("virtio-rng-pci"));
                    p.remove(&["host"]);
                } else if host_device {
                    return Err(format!(
                        "-device {driver} needs host resources; the oracle cannot stand it in"
                    ));
                }
                Some(p.render())
            }
            // Any host network → user-mode networking with the same id.
            "netdev" => {
                let p = Props::parse(value, Some("type"))?;
                match p.get_str("type").as_deref() {
                    Some("user") => Some(p.render()),
                    _ => {
                        let id = p.get("id").cloned().ok_or(format!("-netdev without id: {value}"))?;
                        Some(
                            p.new_like(vec![("type".into(), json!("user")), ("id".into(), id)])
                                .render(),
                        )
                    }
                }
            }
            // Disks read nothing: protocol layers become `null-co`, formats `raw` on top.
            "blockdev" => Some(neutralise_blockdev(Props::parse(value, None)?).render()),
            "drive" => {
                let p = Props::parse(value, None)?;
                if p.has("file") {
                    let keep = [
                        "if", "id", "index", "bus", "unit", "media", "readonly", "werror", "rerror",
                    ];
                    let mut entries = vec![("driver".to_owned(), json!("null-co"))];
                    entries.extend(p.entries.iter().filter(|(k, _)| keep.contains(&k.as_str())).cloned());
                    Some(p.new_like(entries).render())
                } else {
                    Some(p.render())
                }
            }
            // Character devices (pty consoles, sockets) keep their id but lead nowhere.
            "chardev" => {
                let p = Props::parse(value, Some("backend"))?;
                let id = p.get("id").cloned().ok_or(format!("-chardev without id: {value}"))?;
                Some(
                    p.new_like(vec![("backend".into(), json!("null")), ("id".into(), id)])
                        .render(),
                )
            }
            // A boot's console is the `-serial stdio` added below (COM1, before any -device serial).
            "serial" | "parallel" if boot => None,
            "serial" | "parallel" if !value.starts_with("chardev:") => Some("null".to_owned()),
            // mem-lock=on would lock all guest RAM; cpu-pm needs KVM.
            "overcommit" if value.contains("mem-lock=on") || value.contains("cpu-pm=on") => None,
            "enable-kvm" | "mem-prealloc" | "mem-path" | "realtime" | "daemonize" | "pidfile" | "runas" | "chroot"
            | "display" | "nographic" | "vnc" | "spice" | "monitor" | "qmp" | "qmp-pretty" | "add-fd" | "incoming" => {
                None
            }
            // A boot brings its own.
            "no-shutdown" | "S" | "kernel" | "initrd" | "append" | "boot" if boot => None,
            _ => Some(value.to_owned()),
        };
        if let Some(v) = new_value {
            argv.push(format!("-{name}"));
            if opt.value.is_some() {
                argv.push(v);
            }
        }
    }
    let plumbing: &[&str] = match run {
        Run::Paused(_) => &["-display", "none", "-nodefaults", "-S", "-qmp", "stdio"],
        Run::Boot => &["-serial", "stdio", "-no-reboot", "-display", "none", "-nodefaults"],
    };
    argv.extend(plumbing.iter().map(|s| (*s).to_owned()));
    Ok(argv)
}

/// Memory backends lose host placement and preallocation and reserve nothing (thread-context
/// objects, which name host nodes, go). For a paused run, hugepage/dir files become RAM and
/// nvdimm-style files get a scratch file of the right size; for a boot, every backend becomes
/// plain RAM (the guest touches only what it uses).
fn neutralise_object(mut p: Props, run: Run<'_>) -> Result<Option<String>, String> {
    let qom_type = p.get_str("qom-type").unwrap_or_default();
    if qom_type == "thread-context" {
        return Ok(None); // its node-affinity names host nodes; the backends lose their prealloc-context below
    }
    if !qom_type.starts_with("memory-backend-") {
        return Ok(Some(p.render()));
    }
    p.remove(&[
        "host-nodes",
        "policy",
        "prealloc",
        "prealloc-threads",
        "prealloc-context",
    ]);
    p.set("reserve", json!(false));
    const FILE_KEYS: &[&str] = &["mem-path", "discard-data", "align", "pmem", "readonly", "rom", "offset"];
    match run {
        Run::Boot => {
            p.remove(FILE_KEYS);
            p.remove(&["hugetlb", "hugetlbsize", "seal"]);
            p.set("qom-type", json!("memory-backend-ram"));
        }
        Run::Paused(scratch) => match qom_type.as_str() {
            "memory-backend-file" => {
                let id = p.get_str("id").unwrap_or_default();
                if p.has("pmem") || id.starts_with("mem") {
                    let size = p.get_str("size").ok_or(format!("backend {id} has no size"))?;
                    let path = scratch.file(qemu_size(&size)?)?;
                    p.set("mem-path", json!(path.to_string_lossy()));
                } else {
                    p.set("qom-type", json!("memory-backend-ram"));
                    p.remove(FILE_KEYS);
                }
            }
            "memory-backend-memfd" => p.remove(&["hugetlb", "hugetlbsize"]),
            _ => {}
        },
    }
    Ok(Some(p.render()))
}

/// Block nodes: protocol layers become `null-co`, format layers `raw` on top of them.
pub fn neutralise_blockdev(p: Props) -> Props {
    const NODE_KEYS: &[&str] = &[
        "node-name",
        "read-only",
        "auto-read-only",
        "discard",
        "detect-zeroes",
        "force-share",
        "cache",
    ];
    const FORMATS: &[&str] = &[
        "raw",
        "qcow2",
        "qcow",
        "qed",
        "vmdk",
        "vdi",
        "vhdx",
        "vpc",
        "luks",
        "parallels",
        "dmg",
        "cloop",
        "bochs",
    ];
    const KEEP: &[&str] = &[
        "null-co",
        "null-aio",
        "throttle",
        "copy-on-read",
        "blkdebug",
        "blkverify",
        "quorum",
        "compress",
        "preallocate",
    ];
    let driver = p.get_str("driver").unwrap_or_default();
    if KEEP.contains(&driver.as_str()) {
        return p;
    }
    let node_key = |k: &str| NODE_KEYS.contains(&k) || k.starts_with("cache.");
    let mut entries: Vec<(String, Value)> = p.entries.iter().filter(|(k, _)| node_key(k)).cloned().collect();
    if FORMATS.contains(&driver.as_str()) {
        entries.insert(0, ("driver".into(), json!("raw")));
        match p.get("file") {
            Some(Value::Object(inner)) => {
                let inner = neutralise_blockdev(Props {
                    json: true,
                    implied: None,
                    entries: inner.clone().into_iter().collect(),
                });
                entries.push(("file".into(), Value::Object(inner.entries.into_iter().collect())));
            }
            Some(file) => entries.push(("file".into(), file.clone())),
            None if p.has("file.driver") => {
                entries.push(("file.driver".into(), json!("null-co")));
                entries.extend(p.entries.iter().filter(|(k, _)| k == "file.node-name").cloned());
            }
            None => {}
        }
    } else {
        entries.insert(0, ("driver".into(), json!("null-co")));
    }
    p.new_like(entries)
}
