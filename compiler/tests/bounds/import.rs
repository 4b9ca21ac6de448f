//! `vnumac import`: a count in the domain XML is bounded before anything is sized by it,
//! and what the import writes at the bound is a guest `vnumac check` reads.

use super::harness::{LIMIT_MIB, Run, scratch, vnumac_limited};

/// A domain with `vcpu` as the `<vcpu>` element, `machine` and `cpu` inside `<cpu>`.
fn domain(vcpu: &str, machine: &str, cpu: &str) -> String {
    format!(
        "<domain type='kvm'><name>x</name><memory unit='GiB'>4</memory>{vcpu}\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os><cpu mode='host-passthrough'>{cpu}</cpu></domain>"
    )
}

const ONE_CELL: &str = "<numa><cell id='0' cpus='0' memory='4' unit='GiB'/></numa>";

/// `vnumac import` of `xml` under the address-space limit.
fn import(tag: &str, xml: &str) -> (std::path::PathBuf, Run) {
    let dir = scratch(tag);
    std::fs::write(dir.join("domain.xml"), xml).unwrap();
    let run = vnumac_limited(&dir, &["import", "domain.xml"], LIMIT_MIB);
    (dir, run)
}

/// 176 bytes asked for 4,294,967,295 vCPUs: the import built a list of every one of them
/// (4 GiB) before any check, and aborted.
#[test]
fn a_huge_vcpu_count_is_refused_before_it_is_used() {
    let xml = domain("<vcpu>4294967295</vcpu>", "q35", ONE_CELL);
    assert!(xml.len() < 300, "{}", xml.len());
    let (_, run) = import("import-vcpus-max", &xml);
    run.assert_code(1).assert_diag("4294967295");
    assert!(run.stderr.contains("4096"), "{}", run.stderr);
    // libvirt reads `-1` as 4294967295 vCPUs.
    let (_, run) = import("import-vcpus-minus", &domain("<vcpu>-1</vcpu>", "q35", ""));
    run.assert_code(1).assert_diag("4294967295");
}

/// 100,000,000 vCPUs and one cell: the import wrote `cell 0 cpus=0-99999999`, which
/// vnumac's own reader refuses.
#[test]
fn a_vcpu_count_vnumac_cannot_say_is_refused() {
    let (_, run) = import(
        "import-vcpus-cell",
        &domain("<vcpu>100000000</vcpu>", "pc-q35-9.0", ONE_CELL),
    );
    run.assert_code(1).assert_diag("100000000");
    assert!(run.stdout.is_empty(), "nothing is written: {}", run.stdout);
    // Over what QEMU 7.2 starts the machine with (288 for q35): refused too.
    let (_, run) = import("import-vcpus-q35", &domain("<vcpu>289</vcpu>", "q35", ONE_CELL));
    run.assert_code(1).assert_diag("288");
}

/// At the bounds, the import writes a guest that checks: every vCPU libvirt adds to cell
/// 0, as `cpus=0-4095` (and 0-287 on q35). QEMU 9.0's machine needs a host that says it
/// runs QEMU 9.0.
#[test]
fn at_the_bound_the_imported_guest_checks() {
    for (tag, vcpus, machine, last, host) in [
        (
            "import-vcpus-4096",
            4096,
            "pc-q35-9.0",
            4095,
            "host h qemu=\"9.0\" {\n  node 0 cpus=0-3 memory=64GiB\n}\n",
        ),
        ("import-vcpus-288", 288, "q35", 287, ""),
    ] {
        let (dir, run) = import(tag, &domain(&format!("<vcpu>{vcpus}</vcpu>"), machine, ONE_CELL));
        run.assert_code(0);
        assert!(run.stdout.contains(&format!("cpus=0-{last} ")), "{}", run.stdout);
        let guest = if host.is_empty() {
            run.stdout.clone()
        } else {
            format!("{host}{}", run.stdout.replacen("guest x {", "guest x on=h {", 1))
        };
        std::fs::write(dir.join("guest.vnuma"), guest).unwrap();
        let check = vnumac_limited(&dir, &["check", "guest.vnuma"], LIMIT_MIB);
        check.assert_code(0);
    }
    let (_, run) = import(
        "import-vcpus-4097",
        &domain("<vcpu>4097</vcpu>", "pc-q35-9.0", ONE_CELL),
    );
    run.assert_code(1).assert_diag("4096");
}
