//! Target versions: a `virsh domcapabilities` file crafted to be expensive is read in one
//! pass, keeping at most a bounded list of values.

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

/// A host that reads `h.domcaps.xml`, and a guest on it.
const HOST: &str = "host h domcaps=\"h.domcaps.xml\" {\n  node 0 cpus=0-3 memory=8GiB\n}\nguest g on=h {\n  memory 1GiB\n  vcpus 2\n}\n";

/// 600,000 copies of one memory backing source (12 MB): read as one value.
#[test]
fn one_value_repeated_is_kept_once() {
    let dir = scratch("domcaps-repeat");
    let values = "<value>memfd</value>".repeat(600_000);
    let xml = format!(
        "<domainCapabilities><memoryBacking><enum name='sourceType'>{values}</enum></memoryBacking></domainCapabilities>"
    );
    std::fs::write(dir.join("h.domcaps.xml"), xml).unwrap();
    std::fs::write(dir.join("h.vnuma"), HOST).unwrap();
    vnumac_limited(&dir, &["check", "h.vnuma"], LIMIT_MIB).assert_code(0);
}

/// 400,000 distinct sources (7 MB): refused at the 65th, by position.
#[test]
fn distinct_values_past_the_bound_are_refused() {
    let dir = scratch("domcaps-distinct");
    let values: String = (0..400_000).map(|i| format!("<value>s{i}</value>")).collect();
    let xml = format!(
        "<domainCapabilities><memoryBacking><enum name='sourceType'>{values}</enum></memoryBacking></domainCapabilities>"
    );
    std::fs::write(dir.join("h.domcaps.xml"), xml).unwrap();
    std::fs::write(dir.join("h.vnuma"), HOST).unwrap();
    let run = vnumac_limited(&dir, &["check", "h.vnuma"], LIMIT_MIB);
    run.assert_code(1).assert_diag("E0418");
    assert!(run.stderr.contains("more than 64 values"), "{}", run.stderr);
}

/// 1,000,000 nested unknown elements (7 MB): skipped, the nesting kept as one name each.
#[test]
fn deep_unknown_nesting_is_skipped() {
    let dir = scratch("domcaps-deep");
    let n = 1_000_000;
    let xml = format!(
        "<domainCapabilities><vcpu max='8'/>{}{}</domainCapabilities>",
        "<x>".repeat(n),
        "</x>".repeat(n)
    );
    std::fs::write(dir.join("h.domcaps.xml"), xml).unwrap();
    std::fs::write(dir.join("h.vnuma"), HOST).unwrap();
    vnumac_limited(&dir, &["check", "h.vnuma"], LIMIT_MIB).assert_code(0);
}
