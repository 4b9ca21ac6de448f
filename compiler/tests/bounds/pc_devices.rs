//! An i440fx guest's expanders: a domain XML with tens of thousands of devices on `pxb`
//! expanders and on pci.0 imports under the limit (the slots are compared through maps
//! built once), and a guest with as many devices on one expander is refused with a
//! diagnostic, not by exhaustion.

use std::fmt::Write as _;

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

const DEVICES: usize = 20_000;
const EXPANDERS: usize = 20;

#[test]
fn many_devices_on_pxb_expanders_import_under_the_limit() {
    let mut xml = String::from(
        "<domain type='kvm'><name>x</name><memory unit='GiB'>4</memory><vcpu>2</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><cpu mode='host-passthrough'><numa>\
         <cell id='0' cpus='0' memory='2' unit='GiB'/><cell id='1' cpus='1' memory='2' unit='GiB'/></numa></cpu><devices>",
    );
    for e in 1..=EXPANDERS {
        let _ = write!(
            xml,
            "<controller type='pci' index='{e}' model='pci-expander-bus'><model name='pxb'/>\
             <target busNr='{}'><node>{}</node></target><address type='pci' bus='0' slot='{}'/></controller>",
            256 - 2 * e,
            e % 2,
            e + 1
        );
    }
    for i in 0..DEVICES {
        let bus = i % (EXPANDERS + 1);
        let _ = write!(
            xml,
            "<interface type='bridge'><source bridge='br0'/><model type='virtio'/>\
             <address type='pci' bus='{bus}' slot='{}'/></interface>",
            i % 32
        );
    }
    xml.push_str("</devices></domain>");
    let dir = scratch("pc-devices-import");
    std::fs::write(dir.join("domain.xml"), &xml).unwrap();
    let run = vnumac_limited(&dir, &["import", "domain.xml"], LIMIT_MIB);
    run.assert_code(0);
    assert_eq!(
        run.stdout.matches("\n    nic ").count(),
        DEVICES,
        "every NIC is written"
    );
    assert!(run.stdout.contains("PCI addresses"), "the slots differ: noted");
}

#[test]
fn as_many_devices_on_one_expander_are_refused() {
    let mut text = String::from(
        "guest g {\n  machine pc\n  memory 4GiB\n  vcpus 2\n  numa {\n    cell 0 cpus=0 memory=2GiB\n    \
         cell 1 cpus=1 memory=2GiB\n  }\n  devices {\n    expander near node=1\n",
    );
    for i in 0..DEVICES {
        let _ = writeln!(text, "    nic n{i} bridge=br0 on=near");
    }
    text.push_str("  }\n}\n");
    let dir = scratch("pc-devices-check");
    std::fs::write(dir.join("g.vnuma"), &text).unwrap();
    let run = vnumac_limited(&dir, &["check", "g.vnuma"], LIMIT_MIB);
    run.assert_code(1).assert_diag("vnuma::E0328");
    assert!(
        run.stderr.contains("has 20000 devices; it has 32 slots"),
        "{}",
        run.stderr
    );
}
