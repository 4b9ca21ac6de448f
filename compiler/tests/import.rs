//! `vnumac import`: every golden domain XML imports to a guest that compiles back to the
//! same XML byte for byte; foreign libvirt XML imports with notes and compiles; broken XML
//! is an error with an offset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use vnumac::db::{self, Database, MemLoader};
use vnumac::diagnostics;
use vnumac::import::{ImportOptions, Imported, import_domain};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

const ROOT: &str = "/virtual/imported.vnuma";

/// Serves the source under test as ROOT and reads everything else from disk.
/// Compile `text`; the one guest's domain XML, or the rendered diagnostics.
fn compile(text: &str) -> Result<String, String> {
    let db = Database::default();
    let program = db::load_program(&db, Path::new(ROOT), &MemLoader::new(ROOT, text).or_from(".")).unwrap();
    let compiled = db::compile(&db, program);
    let rendered: String = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| diagnostics::render(d, &compiled.sources, false, 100))
        .collect();
    if compiled.has_errors() {
        return Err(rendered);
    }
    let guests = &compiled.checked.build.guests;
    assert_eq!(guests.len(), 1, "{text}");
    Ok(vnumac::lower::libvirt::domain_xml(&guests[0]))
}

/// The example's `host` statements (with their blocks), `from=` made absolute; and the host's name.
fn host_statements(example: &str) -> (String, String) {
    let dir = workspace().join("examples");
    let mut out = String::new();
    let mut name = String::new();
    let mut in_block = false;
    for line in example.lines() {
        if line.starts_with("host ") {
            name = line.split_whitespace().nth(1).unwrap().to_string();
            in_block = line.trim_end().ends_with('{');
        } else if !in_block {
            continue;
        } else if line.starts_with('}') {
            in_block = false;
        }
        // The files a host reads, made absolute: the source is compiled from elsewhere.
        let line = ["from=\"", "domcaps=\""].iter().fold(line.to_string(), |l, key| {
            l.replace(key, &format!("{key}{}/", dir.display()))
        });
        out.push_str(&line);
        out.push('\n');
    }
    assert!(!name.is_empty(), "no host in\n{example}");
    (out, name)
}

fn import(xml: &str, host: &str) -> Imported {
    let opts = ImportOptions {
        host: Some(host.to_string()),
    };
    import_domain(xml, &opts).unwrap_or_else(|e| panic!("{e:?}\n{xml}"))
}

#[test]
fn every_golden_domain_round_trips() {
    let mut failures = Vec::new();
    let mut guests = 0;
    let mut examples: Vec<PathBuf> = fs::read_dir(workspace().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vnuma"))
        .collect();
    examples.sort();
    for ex in examples {
        let stem = ex.file_stem().unwrap().to_string_lossy().to_string();
        let (hosts, host) = host_statements(&fs::read_to_string(&ex).unwrap());
        let dir = workspace().join("golden/examples").join(&stem);
        let mut xmls: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        xmls.sort();
        for path in xmls {
            guests += 1;
            let golden = fs::read_to_string(&path).unwrap();
            let imported = import(&golden, &host);
            let source = format!("{hosts}\n{}", imported.text);
            let label = format!("{stem}/{}", path.file_name().unwrap().to_string_lossy());
            if !imported.notes.is_empty() {
                failures.push(format!("{label}: notes on vnumac's own XML:\n{source}"));
            }
            match compile(&source) {
                Ok(xml) if xml == golden => {}
                Ok(xml) => failures.push(format!(
                    "{label} differs:\n{source}\n--- golden\n{golden}\n--- round trip\n{xml}"
                )),
                Err(d) => failures.push(format!("{label} does not compile:\n{source}\n{d}")),
            }
        }
    }
    assert_eq!(guests, 55, "every guest of every example");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The talk's starting point as virt-manager writes it, with its NUMA slides filled in:
/// sizes in GiB, a versioned machine, multifunction root ports, and everything vnumac does
/// not model (graphics, video, USB, channels, sound, rng, timers, …).
const TALK: &str = r#"<?xml version="1.0"?>
<!-- virsh dumpxml OL8-vnuma -->
<domain type='kvm'>
  <name>OL8-vnuma</name>
  <uuid>6a1f4f7e-2d0e-4bb8-9d1e-0c4a5d3c9f11</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://oracle.com/ol/8.6"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='GiB'>32</memory>
  <currentMemory unit='GiB'>32</currentMemory>
  <memoryBacking>
    <locked/>
  </memoryBacking>
  <vcpu placement='static'>16</vcpu>
  <iothreads>2</iothreads>
  <cputune>
    <shares>2048</shares>
    <vcpupin vcpu='0' cpuset='0-14,60-74'/>
    <vcpupin vcpu='1' cpuset='0-14,60-74'/>
    <vcpupin vcpu='2' cpuset='0-14,60-74'/>
    <vcpupin vcpu='3' cpuset='0-14,60-74'/>
    <vcpupin vcpu='4' cpuset='15-29,75-89'/>
    <vcpupin vcpu='5' cpuset='15-29,75-89'/>
    <vcpupin vcpu='6' cpuset='15-29,75-89'/>
    <vcpupin vcpu='7' cpuset='15-29,75-89'/>
    <vcpupin vcpu='8' cpuset='30-44,90-104'/>
    <vcpupin vcpu='9' cpuset='30-44,90-104'/>
    <vcpupin vcpu='10' cpuset='30-44,90-104'/>
    <vcpupin vcpu='11' cpuset='30-44,90-104'/>
    <vcpupin vcpu='12' cpuset='45-59,105-119'/>
    <vcpupin vcpu='13' cpuset='45-59,105-119'/>
    <vcpupin vcpu='14' cpuset='45-59,105-119'/>
    <vcpupin vcpu='15' cpuset='45-59,105-119'/>
  </cputune>
  <numatune>
    <memnode cellid='0' mode='strict' nodeset='0'/>
    <memnode cellid='1' mode='strict' nodeset='1'/>
    <memnode cellid='2' mode='preferred' nodeset='2'/>
    <memnode cellid='3' mode='strict' nodeset='3'/>
  </numatune>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <vmport state='off'/>
  </features>
  <cpu mode='host-passthrough' check='none' migratable='on'>
    <topology sockets='4' dies='1' cores='2' threads='2'/>
    <numa>
      <cell id='0' cpus='0-3' memory='8' unit='GiB'>
        <distances>
          <sibling id='0' value='10'/>
          <sibling id='1' value='21'/>
          <sibling id='2' value='21'/>
          <sibling id='3' value='21'/>
        </distances>
      </cell>
      <cell id='1' cpus='4-7' memory='8192' unit='MiB'>
        <distances>
          <sibling id='0' value='21'/>
          <sibling id='1' value='10'/>
          <sibling id='2' value='21'/>
          <sibling id='3' value='21'/>
        </distances>
      </cell>
      <cell id='2' cpus='8-11' memory='8388608' unit='KiB' memAccess='shared'>
        <distances>
          <sibling id='0' value='21'/>
          <sibling id='1' value='21'/>
          <sibling id='2' value='10'/>
          <sibling id='3' value='21'/>
        </distances>
      </cell>
      <cell id='3' cpus='12-15' memory='8589934592' unit='b'>
        <distances>
          <sibling id='0' value='21'/>
          <sibling id='1' value='21'/>
          <sibling id='2' value='21'/>
          <sibling id='3' value='10'/>
        </distances>
      </cell>
    </numa>
  </cpu>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <pm>
    <suspend-to-mem enabled='no'/>
    <suspend-to-disk enabled='no'/>
  </pm>
  <devices>
    <emulator>/usr/libexec/qemu-kvm</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='/local/ocfs2/images/repos/OL8-vnuma.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='usb' index='0' model='qemu-xhci' ports='15'>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </controller>
    <controller type='sata' index='0'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'>
      <model name='pcie-root-port'/>
      <target chassis='1' port='0x10'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>
    </controller>
    <controller type='pci' index='2' model='pcie-root-port'>
      <model name='pcie-root-port'/>
      <target chassis='2' port='0x11'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x1'/>
    </controller>
    <controller type='pci' index='3' model='pcie-root-port'>
      <model name='pcie-root-port'/>
      <target chassis='3' port='0x12'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x2'/>
    </controller>
    <controller type='pci' index='4' model='pcie-root-port'>
      <model name='pcie-root-port'/>
      <target chassis='4' port='0x13'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x3'/>
    </controller>
    <controller type='pci' index='5' model='pcie-expander-bus'>
      <model name='pxb-pcie'/>
      <target busNr='254'>
        <node>1</node>
      </target>
      <alias name='ua-numa1'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </controller>
    <controller type='pci' index='6' model='pcie-root-port'>
      <model name='pcie-root-port'/>
      <target chassis='6' port='0x0'/>
      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
    </controller>
    <controller type='virtio-serial' index='0'>
      <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
    </controller>
    <interface type='bridge'>
      <mac address='52:54:00:0F:FB:22'/>
      <source bridge='uteng0'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>
    </interface>
    <serial type='pty'>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
      <address type='virtio-serial' controller='0' bus='0' port='1'/>
    </channel>
    <input type='tablet' bus='usb'>
      <address type='usb' bus='0' port='1'/>
    </input>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='address'/>
    </graphics>
    <sound model='ich9'/>
    <video>
      <model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/>
    </video>
    <watchdog model='itco' action='reset'/>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
    </memballoon>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
  </devices>
</domain>
"#;

fn peppi() -> String {
    format!(
        "host peppi from=\"{}/examples/hosts/peppi.caps.xml\"\n",
        workspace().display()
    )
}

#[test]
fn the_talks_domain_imports_with_notes_and_compiles() {
    let imported = import(TALK, "peppi");
    let text = &imported.text;
    for want in [
        "guest OL8-vnuma on=peppi {",
        "machine \"pc-q35-7.2\"",
        "memory 32GiB locked=true",
        "topology sockets=4 cores=2 threads=2",
        "cell 0 cpus=0-3   memory=8GiB host-node=0",
        "cell 2 cpus=8-11  memory=8GiB host-node=2 policy=preferred access=shared",
        "cell 3 cpus=12-15 memory=8GiB host-node=3",
        "distance 0 1 21",
        "pin vcpus=0-3   cpus=0-14,60-74",
        "pin vcpus=12-15 cpus=45-59,105-119",
        "expander numa1 node=1 bus-nr=254",
        "root-port pci6 on=numa1",
        "disk disk0 path=\"/local/ocfs2/images/repos/OL8-vnuma.qcow2\" format=qcow2 bus=virtio on=pci4",
        "nic nic0 bridge=uteng0 model=virtio mac=52:54:00:0f:fb:22 on=pci6",
        "serial pty",
        "console pty",
    ] {
        assert!(text.contains(want), "missing `{want}` in\n{text}");
    }
    for dropped in [
        "<uuid>",
        "<metadata>",
        "<shares> in <cputune>",
        "<boot> in <os>",
        "<vmport> in <features>",
        "<timer name='rtc'> in <clock>",
        "<pm>",
        "<controller type='usb' model='qemu-xhci'>",
        "<controller type='virtio-serial'>",
        "<disk type='file' device='cdrom'> (sda)",
        "<channel type='unix'>",
        "<input type='tablet'>",
        "<graphics type='vnc'>",
        "<sound model='ich9'>",
        "<video>",
        "<watchdog model='itco'>",
        "<memballoon model='virtio'>",
        "<rng model='virtio'>",
        "<driver discard='unmap'>",
    ] {
        let note = format!("not imported: {dropped}");
        assert!(
            imported.notes.iter().any(|n| n.starts_with(&note)),
            "no note `{note}` in {:#?}",
            imported.notes
        );
        assert!(
            text.contains(&format!("# {note}")),
            "no comment for `{note}` in\n{text}"
        );
    }
    assert!(imported.notes.iter().any(|n| n.contains("/usr/libexec/qemu-kvm")));
    assert!(imported.notes.iter().any(|n| n.starts_with("changed: PCI controllers")));
    let xml = compile(&format!("{}{text}", peppi())).unwrap_or_else(|d| panic!("{text}\n{d}"));
    assert!(xml.contains("<memory unit='KiB'>33554432</memory>"), "{xml}");
    assert!(text.contains("  iothreads 2\n"), "{text}");
    assert!(xml.contains("<iothreads>2</iothreads>"), "{xml}");
    assert!(
        xml.contains("<memnode cellid='2' mode='preferred' nodeset='2'/>"),
        "{xml}"
    );
    assert!(xml.contains("<vcpupin vcpu='15' cpuset='45-59,105-119'/>"), "{xml}");
    assert!(
        xml.contains("<type arch='x86_64' machine='pc-q35-7.2'>hvm</type>"),
        "{xml}"
    );
}

/// A TCG guest on the i440fx machine with no NUMA: a custom CPU model, a default pin from
/// `<vcpu cpuset>`, a whole-guest memory policy, and devices vnumac does not have.
const PC: &str = r#"<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>legacy box &amp; friends</name>
  <memory unit='MiB'>3072</memory>
  <vcpu placement='static' cpuset='2-5'>4</vcpu>
  <cputune>
    <vcpupin vcpu='0' cpuset='2'/>
  </cputune>
  <numatune>
    <memory mode='interleave' nodeset='0'/>
  </numatune>
  <os>
    <type arch='x86_64' machine='pc-i440fx-8.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
  </os>
  <features>
    <acpi/>
  </features>
  <cpu mode='custom' match='exact' check='partial'>
    <model fallback='allow'>Skylake-Client</model>
    <feature policy='require' name='vmx'/>
  </cpu>
  <clock offset='localtime'/>
  <on_crash>coredump-restart</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='block' device='disk'>
      <source dev='/dev/vg0/legacy'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <controller type='pci' index='0' model='pci-root'/>
    <controller type='ide' index='0'/>
    <interface type='user'>
      <model type='rtl8139'/>
    </interface>
    <serial type='pty'>
      <target port='0'/>
    </serial>
    <serial type='pty'>
      <target port='1'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-no-hpet'/>
  </qemu:commandline>
</domain>
"#;

#[test]
fn a_legacy_tcg_domain_imports_with_notes_and_compiles() {
    let imported = import(PC, "laptop");
    let text = &imported.text;
    for want in [
        "guest \"legacy box & friends\" on=laptop {",
        "  type qemu\n",
        "  machine \"pc-i440fx-8.2\"\n",
        "  cpu custom model=Skylake-Client require=vmx\n",
        "  memory 3GiB\n",
        "  vcpus 4\n",
        "  pin vcpus=0   cpus=2\n",
        "  pin vcpus=1-3 cpus=2-5\n",
        "  emulator cpus=2-5\n",
        "  memory-policy mode=interleave nodeset=0\n",
        "    serial pty\n",
    ] {
        assert!(text.contains(want), "missing `{want}` in\n{text}");
    }
    for note in [
        "not imported: <loader type='pflash'> in <os>",
        "not imported: <clock offset='localtime'>",
        "not imported: <on_crash>coredump-restart</on_crash>",
        "not imported: <disk type='block' device='disk'> (hda)",
        "not imported: <controller type='ide'>",
        "not imported: <interface type='user'>",
        "not imported: <serial type='pty'>",
        "not imported: <qemu:commandline>",
        "changed: vnumac always enables <acpi/> and <apic/>",
        "changed: <vcpu cpuset='2-5'>",
        "kept, but QEMU 7.2 has no such machine type (E0373): machine `pc-i440fx-8.2` is QEMU 8.2's: \
         give its host `qemu=\"8.2\"` or newer",
    ] {
        assert!(
            imported.notes.iter().any(|n| n.starts_with(note)),
            "no note `{note}` in {:#?}",
            imported.notes
        );
    }
    // The machine type is kept as the domain says: the default target, QEMU 7.2, lacks it,
    // and a host that says QEMU 8.2 takes it.
    let host = |qemu: &str| {
        format!(
            "host laptop from=\"{}/examples/hosts/laptop.caps.xml\"{qemu}\n",
            workspace().display()
        )
    };
    let refused = compile(&format!("{}{text}", host(""))).unwrap_err();
    assert!(refused.contains("E0373"), "{refused}");
    let xml = compile(&format!("{}{text}", host(" qemu=\"8.2\""))).unwrap_or_else(|d| panic!("{text}\n{d}"));
    assert!(xml.contains("<domain type='qemu'>"), "{xml}");
    assert!(xml.contains("<model fallback='forbid'>Skylake-Client</model>"), "{xml}");
    assert!(xml.contains("<memory mode='interleave' nodeset='0'/>"), "{xml}");
}

/// Hot-pluggable vCPUs whose online set is not the balanced one, memory hotplug in other
/// units, and devices plugged straight into pcie.0.
const HOTPLUG: &str = r#"<domain type='kvm'>
  <name>grow</name>
  <maxMemory slots='8' unit='GiB'>64</maxMemory>
  <memory unit='MiB'>20480</memory>
  <vcpu placement='static' current='4'>8</vcpu>
  <vcpus>
    <vcpu id='0' enabled='yes' hotpluggable='no'/>
    <vcpu id='1' enabled='yes' hotpluggable='no'/>
    <vcpu id='2' enabled='yes' hotpluggable='no'/>
    <vcpu id='3' enabled='yes' hotpluggable='no'/>
    <vcpu id='4' enabled='no' hotpluggable='yes'/>
    <vcpu id='5' enabled='no' hotpluggable='yes'/>
    <vcpu id='6' enabled='no' hotpluggable='yes'/>
    <vcpu id='7' enabled='no' hotpluggable='yes'/>
  </vcpus>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='host-model' check='partial'>
    <numa>
      <cell id='0' cpus='0-3' memory='8' unit='GiB'/>
      <cell id='1' cpus='4-7' memory='8192' unit='MiB'/>
    </numa>
  </cpu>
  <devices>
    <interface type='network'>
      <source network='default'/>
      <model type='e1000e'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x0000' bus='0x3b' slot='0x00' function='0x1'/>
      </source>
    </hostdev>
    <memory model='dimm'>
      <target>
        <size unit='GiB'>4</size>
        <node>1</node>
      </target>
      <address type='dimm' slot='0'/>
    </memory>
  </devices>
</domain>
"#;

#[test]
fn hotplug_and_memory_devices_import_with_notes_and_compile() {
    let imported = import(HOTPLUG, "peppi");
    let text = &imported.text;
    for want in [
        "  cpu host-model\n",
        "  memory 16GiB max=64GiB slots=8\n",
        "  vcpus 8 current=4\n",
        "    cell 0 cpus=0-3 memory=8GiB\n",
        "  dimm size=4GiB node=1\n",
        "    nic nic0 network=default model=e1000e\n",
        "    hostdev 0000:3b:00.1\n",
    ] {
        assert!(text.contains(want), "missing `{want}` in\n{text}");
    }
    let notes = imported.notes.join("\n");
    // libvirt's own shape (vCPUs 0-3 fixed, the rest offline) is kept as it is.
    assert!(!notes.contains("<vcpus>"), "{notes}");
    // libvirt gives every vCPU a socket when there is no <topology>; vnumac would give
    // each of these equal cells one, so the topology is written out.
    assert!(text.contains("  topology sockets=8 cores=1 threads=1\n"), "{text}");
    assert!(
        notes.contains("the NIC on `default`: vnumac gives it a root port"),
        "{notes}"
    );
    let host = format!(
        "host peppi from=\"{}/examples/hosts/peppi.caps.xml\" {{\n  pci 0000:3b:00.1 node=3\n}}\n",
        workspace().display()
    );
    let xml = compile(&format!("{host}{text}")).unwrap_or_else(|d| panic!("{text}\n{d}"));
    assert!(xml.contains("<memory unit='KiB'>20971520</memory>"), "{xml}");
    assert!(
        xml.contains(
            "<vcpu id='3' enabled='yes' hotpluggable='no'/>\n    <vcpu id='4' enabled='no' hotpluggable='yes'/>"
        ),
        "{xml}"
    );
}

#[test]
fn broken_xml_is_an_error_with_an_offset() {
    let opts = ImportOptions::default();
    for (xml, offset) in [
        ("<domain type='kvm'><name>x</name>", 33),
        ("<domain><name>x</nam></domain>", 15),
        ("<capabilities><host/></capabilities>", 0),
        ("\n  <domain type='kvm' type='qemu'/>", 3),
        ("<domain><name>a&bogus;</name></domain>", 15),
        ("<domain/><domain/>", 9),
    ] {
        let e = import_domain(xml, &opts).expect_err(xml);
        let at = e.offset.unwrap_or_else(|| panic!("no offset for {xml}: {e:?}"));
        assert!(at <= xml.len(), "{xml}: {e:?}");
        assert_eq!(at, offset, "{xml}: {e:?}");
    }
    let e = import_domain("", &opts).expect_err("empty");
    assert!(e.message.contains("no root element"), "{e:?}");
}

/// Cut and mangled golden XML never panics the importer: every prefix, and single-byte
/// substitutions that break names, numbers and quoting.
#[test]
fn mangled_xml_never_panics() {
    let dir = workspace().join("golden/examples");
    let xmls = [
        "vnuma-hotplug-devices/OL8-vnuma.xml",
        "talk-nic-expander/OL8-vnuma.xml",
        "asymmetric-distances/asym.xml",
    ];
    let opts = ImportOptions::default();
    let mut imported = 0;
    for x in xmls {
        let xml = fs::read_to_string(dir.join(x)).unwrap();
        let end = xml.rfind("</domain>").unwrap() + "</domain>".len();
        for cut in (0..end).step_by(4) {
            if let Ok(r) = import_domain(&xml[..cut], &opts) {
                imported += usize::from(!r.text.is_empty());
            }
        }
        let bytes = xml.as_bytes();
        for (i, _) in bytes.iter().enumerate().step_by(7) {
            for sub in [b"x", b"9", b"'", b"<", b"0"] {
                let mut m = bytes.to_vec();
                m[i] = sub[0];
                if let Ok(text) = String::from_utf8(m) {
                    let _ = import_domain(&text, &opts);
                }
            }
        }
    }
    assert!(imported == 0, "a cut document imported");
}

#[test]
fn numad_placement_imports_and_compiles_back_to_auto() {
    let domain = |numatune: &str| {
        format!(
            "<domain type='kvm'><name>n</name><memory unit='GiB'>2</memory><vcpu>2</vcpu>\
             <numatune>{numatune}</numatune></domain>"
        )
    };
    let imported = import(
        &domain("<memory mode='interleave' placement='auto' nodeset='0-9'/>"),
        "peppi",
    );
    assert!(
        imported
            .text
            .contains("  memory-policy mode=interleave placement=auto\n"),
        "{}",
        imported.text
    );
    assert!(
        imported.notes.iter().any(|n| n.contains("libvirt ignores the nodeset")),
        "{:?}",
        imported.notes
    );
    let xml = compile(&format!("{}{}", peppi(), imported.text)).unwrap_or_else(|d| panic!("{d}"));
    assert!(
        xml.contains("<numatune>\n    <memory mode='interleave' placement='auto'/>\n  </numatune>"),
        "{xml}"
    );
    // libvirt rejects these; so does the import.
    for bad in [
        "<memory mode='strict' placement='static'/>",
        "<memory mode='strict' nodeset='0,^0'/>",
        "<memnode cellid='0' mode='strict' nodeset='0'/>",
    ] {
        let opts = ImportOptions {
            host: Some("peppi".into()),
        };
        assert!(import_domain(&domain(bad), &opts).is_err(), "{bad}");
    }
}

#[test]
fn cell_access_and_discard_import_and_compile_back() {
    let xml = "<domain type='kvm'><name>c</name><vcpu>2</vcpu><cpu><numa>\
               <cell id='0' cpus='0' memory='1' unit='GiB' memAccess='shared' discard='no'/>\
               <cell id='1' cpus='1' memory='1' unit='GiB' discard='yes'/>\
               </numa></cpu></domain>";
    let imported = import(xml, "peppi");
    let text = &imported.text;
    assert!(
        text.contains("cell 0 cpus=0 memory=1GiB access=shared discard=false\n"),
        "{text}"
    );
    assert!(text.contains("cell 1 cpus=1 memory=1GiB discard=true\n"), "{text}");
    let out = compile(&format!("{}{text}", peppi())).unwrap_or_else(|d| panic!("{d}"));
    assert!(
        out.contains("<cell id='0' cpus='0' memory='1048576' unit='KiB' memAccess='shared' discard='no'/>"),
        "{out}"
    );
    assert!(
        out.contains("<cell id='1' cpus='1' memory='1048576' unit='KiB' discard='yes'/>"),
        "{out}"
    );
    let bad = xml.replace("memAccess='shared'", "memAccess='both'");
    let opts = ImportOptions {
        host: Some("peppi".into()),
    };
    assert!(import_domain(&bad, &opts).is_err());
}

#[test]
fn cell_page_sizes_and_dimm_sources_round_trip() {
    let mut host = String::from("host h {\n");
    for n in 0..4 {
        host.push_str(&format!(
            "  node {n} cpus={}-{} memory=64GiB\n  hugepages node={n} size=2MiB count=4096\n  hugepages node={n} size=1GiB count=8\n",
            n * 2,
            n * 2 + 1
        ));
    }
    host.push_str("}\n");
    let text = format!(
        "{host}guest d on=h {{\n  memory 4GiB max=16GiB slots=4 hugepages=1GiB\n  vcpus 2\n  numa {{\n\
         \x20   cell 0 cpus=0 memory=2GiB\n    cell 1 cpus=1 memory=2GiB hugepages=2MiB\n  }}\n\
         \x20 dimm size=1GiB node=0 host-node=1-3 hugepages=2MiB access=shared discard=false slot=2 base=6GiB\n\
         \x20 dimm size=1GiB node=1 hugepages=4KiB\n}}\n"
    );
    let xml = compile(&text).unwrap_or_else(|d| panic!("{d}"));
    for want in [
        "<hugepages>\n      <page size='1048576' unit='KiB' nodeset='0'/>\n      <page size='2048' unit='KiB' nodeset='1'/>\n    </hugepages>",
        "<memory model='dimm' access='shared' discard='no'>\n      <source>\n        <nodemask>1-3</nodemask>\n        <pagesize unit='KiB'>2048</pagesize>\n      </source>",
        "<address type='dimm' slot='2' base='0x180000000'/>",
        // The lowest free slot goes to the DIMM without one.
        "<address type='dimm' slot='0'/>",
    ] {
        assert!(xml.contains(want), "missing {want} in\n{xml}");
    }
    // Imported back, it compiles to the same XML.
    let imported = import(&xml, "h");
    let again = compile(&format!("{host}{}", imported.text)).unwrap_or_else(|d| panic!("{}\n{d}", imported.text));
    assert_eq!(xml, again, "{}", imported.text);
}

#[test]
fn virtio_memory_devices_round_trip() {
    let host = "host h {\n  node 0 cpus=0-3 memory=64GiB\n  node 1 cpus=4-7 memory=64GiB\n  hugepages node=1 size=2MiB count=4096\n}\n";
    let text = format!(
        "{host}guest vm on=h {{\n  machine pc\n  memory 4GiB max=64GiB slots=2\n  vcpus 4\n  numa {{\n    cell 0 cpus=0-3 memory=4GiB\n  }}\n\
         \x20 virtio-mem size=2GiB node=0 block=2MiB requested=1GiB host-node=1 hugepages=2MiB\n\
         \x20 virtio-pmem path=\"/tmp/pmem\" size=1GiB access=shared\n}}\n"
    );
    let xml = compile(&text).unwrap_or_else(|d| panic!("{d}"));
    for want in [
        // libvirt 9.0 takes neither <maxMemory> without slots nor a virtio device's address,
        // and gives each memory device a slot, virtio ones too.
        "<maxMemory slots='2' unit='KiB'>67108864</maxMemory>",
        "<block unit='KiB'>2048</block>\n        <requested unit='KiB'>1048576</requested>\n      </target>",
        // `pc`: slot 1 is the chipset's.
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>",
        "<memory model='virtio-pmem' access='shared'>",
    ] {
        assert!(xml.contains(want), "missing {want} in\n{xml}");
    }
    let imported = import(&xml, "h");
    assert!(
        imported
            .text
            .contains("  virtio-pmem path=\"/tmp/pmem\" size=1GiB access=shared\n"),
        "{}",
        imported.text
    );
    let again = compile(&format!("{host}{}", imported.text)).unwrap_or_else(|d| panic!("{}\n{d}", imported.text));
    assert_eq!(xml, again, "{}", imported.text);
    // libvirt refuses a private virtio-pmem device, and so does import.
    let private = xml.replace(
        "<memory model='virtio-pmem' access='shared'>",
        "<memory model='virtio-pmem' access='private'>",
    );
    assert_ne!(private, xml);
    let e = import_domain(&private, &ImportOptions::default()).expect_err("a private virtio-pmem");
    assert!(format!("{e:?}").contains("requires shared access"), "{e:?}");
}

#[test]
fn hmat_round_trips() {
    let host = "host h {\n  node 0 cpus=0-3 memory=64GiB\n  node 1 cpus=4-7 memory=64GiB\n}\n";
    let text = format!(
        "{host}guest hm on=h {{\n  memory 8GiB\n  vcpus 4\n  numa {{\n    cell 0 cpus=0-3 memory=4GiB\n    cell 1 memory=4GiB\n\
         \x20   cache cell=1 level=1 size=10KiB line=64B associativity=full policy=writethrough\n\
         \x20   latency initiator=0 target=1 type=read value=120\n\
         \x20   bandwidth initiator=0 target=1 cache=1 type=access value=200MiB\n  }}\n}}\n"
    );
    let xml = compile(&text).unwrap_or_else(|d| panic!("{d}"));
    for want in [
        "<cell id='1' memory='4194304' unit='KiB'>\n        <cache level='1' associativity='full' policy='writethrough'>\n          <size value='10' unit='KiB'/>\n          <line value='64' unit='B'/>\n        </cache>\n      </cell>",
        "<interconnects>\n        <latency initiator='0' target='1' type='read' value='120'/>\n        <bandwidth initiator='0' target='1' cache='1' type='access' value='204800' unit='KiB'/>\n      </interconnects>",
    ] {
        assert!(xml.contains(want), "missing {want} in\n{xml}");
    }
    let imported = import(&xml, "h");
    let again = compile(&format!("{host}{}", imported.text)).unwrap_or_else(|d| panic!("{}\n{d}", imported.text));
    assert_eq!(xml, again, "{}", imported.text);
}

#[test]
fn readonly_nvdimm_is_unarmed() {
    let text = format!(
        "{}guest ro on=peppi {{\n  memory 2GiB max=8GiB slots=2\n  vcpus 2\n  numa {{\n    cell 0 cpus=0-1 memory=2GiB\n  }}\n\
         \x20 nvdimm path=\"/tmp/nvdimm\" size=512MiB node=0 access=private readonly=true\n}}\n",
        peppi()
    );
    let db = Database::default();
    let program = db::load_program(&db, Path::new(ROOT), &MemLoader::new(ROOT, text.clone()).or_from(".")).unwrap();
    let compiled = db::compile(&db, program);
    assert!(!compiled.has_errors(), "{text}");
    let guest = &compiled.checked.build.guests[0];
    let line = vnumac::lower::qemu::command_line_in(guest, vnumac::lower::qemu_args::Syntax::Json);
    assert!(
        line.contains(r#"{"driver":"nvdimm","node":0,"unarmed":true,"memdev":"memnvdimm0","id":"nvdimm0","slot":0}"#),
        "{line}"
    );
    let xml = vnumac::lower::libvirt::domain_xml(guest);
    assert!(
        xml.contains("<node>0</node>\n        <readonly/>\n      </target>"),
        "{xml}"
    );
    let imported = import(&xml, "peppi");
    assert!(imported.text.contains(" readonly=true"), "{}", imported.text);
    let again = compile(&format!("{}{}", peppi(), imported.text)).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(xml, again);
}

#[test]
fn prealloc_threads_round_trip() {
    let text = format!(
        "{}guest pt on=peppi {{\n  memory 2GiB prealloc=true prealloc-threads=8\n  vcpus 2\n  numa {{\n    cell 0 cpus=0-1 memory=2GiB host-node=1\n  }}\n}}\n",
        peppi()
    );
    let xml = compile(&text).unwrap_or_else(|d| panic!("{d}"));
    assert!(xml.contains("<allocation mode='immediate' threads='8'/>"), "{xml}");
    let imported = import(&xml, "peppi");
    assert!(
        imported.text.contains("prealloc=true prealloc-threads=8"),
        "{}",
        imported.text
    );
    assert_eq!(
        compile(&format!("{}{}", peppi(), imported.text)).unwrap_or_else(|d| panic!("{d}")),
        xml
    );
}

#[test]
fn cpu_features_and_migratable_round_trip() {
    let text = format!(
        "{}guest c on=peppi {{\n  cpu host-passthrough migratable=false require=\"invtsc,pdpe1gb\" disable=svm\n  memory 2GiB\n  vcpus 2\n}}\n",
        peppi()
    );
    let xml = compile(&text).unwrap_or_else(|d| panic!("{d}"));
    assert!(
        xml.contains("<cpu mode='host-passthrough' check='none' migratable='off'>"),
        "{xml}"
    );
    assert!(
        xml.contains("<feature policy='require' name='invtsc'/>\n    <feature policy='require' name='pdpe1gb'/>\n    <feature policy='disable' name='svm'/>"),
        "{xml}"
    );
    let imported = import(&xml, "peppi");
    assert!(
        imported
            .text
            .contains("  cpu host-passthrough migratable=false require=\"invtsc,pdpe1gb\" disable=svm\n"),
        "{}",
        imported.text
    );
    assert_eq!(
        compile(&format!("{}{}", peppi(), imported.text)).unwrap_or_else(|d| panic!("{d}")),
        xml
    );
}

#[test]
fn pinned_iothreads_round_trip() {
    let text = format!(
        "{}guest io on=peppi {{\n  memory 2GiB\n  vcpus 2\n  iothreads 2 cpus=0-1\n}}\n",
        peppi()
    );
    let xml = compile(&text).unwrap_or_else(|d| panic!("{d}"));
    assert!(xml.contains("<iothreads>2</iothreads>"), "{xml}");
    assert!(
        xml.contains("<iothreadpin iothread='1' cpuset='0-1'/>\n    <iothreadpin iothread='2' cpuset='0-1'/>"),
        "{xml}"
    );
    let imported = import(&xml, "peppi");
    assert!(imported.text.contains("  iothreads 2 cpus=0-1\n"), "{}", imported.text);
    assert_eq!(
        compile(&format!("{}{}", peppi(), imported.text)).unwrap_or_else(|d| panic!("{d}")),
        xml
    );
}

/// Each I/O thread pinned on CPUs of its own (`<iothreadpin>` per thread) and a disk's
/// `<driver iothread>` come back as `iothread K cpus=` lines and `iothread=` on the disk,
/// and compile to the same XML; a thread left unpinned stays unpinned.
#[test]
fn per_thread_iothread_pins_and_disk_threads_round_trip() {
    let text = format!(
        "{}guest io on=peppi {{\n  memory 2GiB\n  vcpus 2\n  iothreads 3\n  iothread 1 cpus=0-1\n  \
         iothread 3 node=1\n  devices {{\n    disk a path=\"/a.qcow2\" bus=virtio iothread=3\n  }}\n}}\n",
        peppi()
    );
    let xml = compile(&text).unwrap_or_else(|d| panic!("{d}"));
    assert!(xml.contains("<iothreads>3</iothreads>"), "{xml}");
    assert!(
        xml.contains(
            "<iothreadpin iothread='1' cpuset='0-1'/>\n    <iothreadpin iothread='3' cpuset='15-29,75-89'/>\n  </cputune>"
        ),
        "{xml}"
    );
    assert!(xml.contains("<driver name='qemu' type='qcow2' iothread='3'/>"), "{xml}");
    let imported = import(&xml, "peppi");
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    assert!(
        imported
            .text
            .contains("  iothreads 3\n  iothread 1 cpus=0-1\n  iothread 3 cpus=15-29,75-89\n"),
        "{}",
        imported.text
    );
    assert!(imported.text.contains(" bus=virtio iothread=3"), "{}", imported.text);
    assert_eq!(
        compile(&format!("{}{}", peppi(), imported.text)).unwrap_or_else(|d| panic!("{d}")),
        xml
    );
}

/// What libvirt refuses of I/O threads is an error at its element: a thread pinned twice,
/// a disk thread on a SATA disk or beyond the guest's threads.
#[test]
fn iothread_settings_libvirt_refuses_are_errors() {
    let domain = |iothreads: &str, pins: &str, disk: &str| {
        format!(
            "<domain type='kvm'><name>g</name><memory unit='KiB'>2097152</memory><vcpu>2</vcpu>\
             {iothreads}<cputune>{pins}</cputune><devices>{disk}</devices></domain>"
        )
    };
    let virtio = |k: u32| {
        format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='{k}'/>\
             <source file='/a.raw'/><target dev='vda' bus='virtio'/></disk>"
        )
    };
    let sata = "<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='1'/>\
                <source file='/a.raw'/><target dev='sda' bus='sata'/></disk>";
    let twice = "<iothreadpin iothread='1' cpuset='0'/><iothreadpin iothread='1' cpuset='1'/>";
    for (xml, says) in [
        (domain("<iothreads>2</iothreads>", twice, ""), "pinned twice"),
        (domain("<iothreads>2</iothreads>", "", sata), "virtio disks only"),
        (domain("<iothreads>2</iothreads>", "", &virtio(3)), "has 2 I/O threads"),
        (domain("", "", &virtio(1)), "has 0 I/O threads"),
    ] {
        let e = import_domain(&xml, &ImportOptions::default()).expect_err(says);
        assert!(format!("{e:?}").contains(says), "{says}: {e:?}");
    }
    let ok = import_domain(
        &domain("<iothreads>2</iothreads>", "", &virtio(2)),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(ok.text.contains("iothread=2"), "{}", ok.text);
}
