use super::*;

fn sample(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/hosts/domcaps")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn this_machines_libvirt_9_0_and_qemu_7_2_read_as_they_print() {
    let q35 = from_domcaps_xml(&sample("libvirt-9.0-qemu-7.2-q35.xml")).unwrap();
    assert_eq!(q35.machine.as_deref(), Some("pc-q35-7.2"));
    assert_eq!(q35.max_vcpus, Some(288));
    assert_eq!(
        q35.backing_sources,
        Some(vec!["file".to_string(), "anonymous".into(), "memfd".into()])
    );
    // libvirt 9.0 lists no memory device models.
    assert_eq!(q35.memory_models, None);
    let pc = from_domcaps_xml(&sample("libvirt-9.0-qemu-7.2-pc.xml")).unwrap();
    assert_eq!(pc.machine.as_deref(), Some("pc-i440fx-7.2"));
    assert_eq!(pc.max_vcpus, Some(255));
}

#[test]
fn memory_models_are_read_only_under_devices_memory() {
    let xml = "<domainCapabilities><vcpu max='4096'/>\
        <devices><memory supported='yes'><enum name='model'><value>dimm</value>\
        <value>virtio-mem</value><value>dimm</value></enum></memory>\
        <disk><enum name='model'><value>virtio</value></enum></disk></devices>\
        <memoryBacking supported='yes'><enum name='other'><value>x</value></enum></memoryBacking>\
        </domainCapabilities>";
    let caps = from_domcaps_xml(xml).unwrap();
    assert_eq!(caps.max_vcpus, Some(4096));
    assert_eq!(caps.memory_models, Some(vec!["dimm".to_string(), "virtio-mem".into()]));
    assert_eq!(caps.backing_sources, Some(vec![]));
    assert_eq!(caps.machine, None);
}

#[test]
fn what_is_not_domcapabilities_is_refused_with_a_position() {
    for (xml, want) in [
        ("<capabilities><host/></capabilities>", "not a `virsh domcapabilities`"),
        ("<domainCapabilities><vcpu/></domainCapabilities>", "no `max`"),
        (
            "<domainCapabilities><vcpu max='0x10'/></domainCapabilities>",
            "not a count",
        ),
        (
            "<domainCapabilities><vcpu max='-1'/></domainCapabilities>",
            "not a count",
        ),
        ("<domainCapabilities><machine>q35", "ends inside <machine>"),
        ("<domainCapabilities><a></b></domainCapabilities>", "malformed XML"),
        ("", "not a `virsh domcapabilities`"),
    ] {
        let e = from_domcaps_xml(xml).unwrap_err();
        assert!(e.message.contains(want), "{xml:?}: {}", e.message);
    }
}

#[test]
fn lists_and_words_are_bounded() {
    let values: String = (0..=MAX_ENUM_VALUES).map(|i| format!("<value>v{i}</value>")).collect();
    let xml = format!(
        "<domainCapabilities><memoryBacking><enum name='sourceType'>{values}</enum></memoryBacking></domainCapabilities>"
    );
    assert!(
        from_domcaps_xml(&xml)
            .unwrap_err()
            .message
            .contains("more than 64 values")
    );
    // The same value again and again is one value.
    let same = "<value>memfd</value>".repeat(10_000);
    let xml = format!(
        "<domainCapabilities><memoryBacking><enum name='sourceType'>{same}</enum></memoryBacking></domainCapabilities>"
    );
    assert_eq!(
        from_domcaps_xml(&xml).unwrap().backing_sources,
        Some(vec!["memfd".to_string()])
    );
    let long = "x".repeat(MAX_WORD + 1);
    let xml = format!("<domainCapabilities><machine>{long}</machine></domainCapabilities>");
    assert!(from_domcaps_xml(&xml).unwrap_err().message.contains("longer than"));
}

#[test]
fn references_in_values_are_read_as_characters() {
    let xml = "<domainCapabilities><machine>pc-q35&#45;7.2</machine><memoryBacking>\
        <enum name='sourceType'><value>&#x6d;emfd</value><value>a&amp;b</value></enum></memoryBacking>\
        </domainCapabilities>";
    let caps = from_domcaps_xml(xml).unwrap();
    assert_eq!(caps.machine.as_deref(), Some("pc-q35-7.2"));
    assert_eq!(caps.backing_sources, Some(vec!["memfd".to_string(), "a&b".into()]));
    let xml = "<domainCapabilities><machine>&nope;</machine></domainCapabilities>";
    assert!(
        from_domcaps_xml(xml)
            .unwrap_err()
            .message
            .contains("unknown entity `&nope;`")
    );
}
