//! Each rule against what libvirt 9.0 did with the same text (`virsh define` and
//! `domxml-to-native` on this machine's libvirt; the end-to-end comparison is
//! `compiler/tests/import_libvirt.rs`).

use super::*;

const NAN: Result<Option<u64>, NumError> = Err(NumError::NotANumber);

fn some(v: u64) -> Result<Option<u64>, NumError> {
    Ok(Some(v))
}

fn range(v: u64) -> Result<Option<u64>, NumError> {
    Err(NumError::OutOfRange(v))
}

fn table(rule: &Rule, cases: &[(&str, Result<Option<u64>, NumError>)]) {
    for (text, want) in cases {
        assert_eq!(&read(rule, text), want, "{text:?} under {rule:?}");
    }
}

#[test]
fn pci_address_parts_are_c_notation() {
    table(
        &PCI_BUS,
        &[
            ("010", some(8)),
            ("0x10", some(16)),
            ("0X1f", some(31)),
            ("0x00000001f", some(31)),
            (" 9", some(9)),
            ("+9", some(9)),
            ("0", some(0)),
            ("08", NAN),
            ("a", NAN),
            ("9 ", NAN),
            ("-0", NAN),
            ("-1", NAN),
            ("", NAN),
            ("0x", NAN),
            ("4294967296", NAN),
            ("4294967295", range(4294967295)),
            ("256", range(256)),
            ("0377", some(255)),
        ],
    );
    table(&PCI_SLOT, &[("040", range(32)), ("037", some(31)), ("32", range(32))]);
    table(&PCI_FUNCTION, &[("07", some(7)), ("010", range(8)), ("0x7", some(7))]);
    table(
        &PCI_DOMAIN,
        &[("0x10000", some(65536)), ("4294967295", some(4294967295))],
    );
}

#[test]
fn memory_base_is_hexadecimal() {
    table(
        &MEMORY_BASE,
        &[
            ("6553600000", some(0x65_5360_0000)),
            ("0x100000000", some(1 << 32)),
            ("100000000", some(1 << 32)),
            ("010", some(16)),
            ("a", some(10)),
            ("1e3", some(0x1e3)),
            ("0X1f", some(31)),
            ("ffffffffffffffff", some(u64::MAX)),
            ("10000000000000000", NAN),
            ("9 ", NAN),
            ("-0", NAN),
            ("9.0", NAN),
            ("0x", NAN),
            ("0xg", NAN),
            ("", NAN),
        ],
    );
}

#[test]
fn decimal_ids_read_leading_zeros_as_decimal() {
    table(
        &DECIMAL_ID,
        &[
            ("010", some(10)),
            ("08", some(8)),
            (" 9", some(9)),
            ("\t\n\r9", some(9)),
            ("+9", some(9)),
            ("0x10", NAN),
            ("a", NAN),
            ("9 ", NAN),
            ("-0", NAN),
            ("- 1", NAN),
            ("+-1", NAN),
            ("", NAN),
            ("4294967295", some(4294967295)),
            ("4294967296", NAN),
            ("٣", NAN),
        ],
    );
    table(&TOPOLOGY, &[("0", range(0)), ("1", some(1))]);
    table(&CACHE_LEVEL, &[("0", range(0)), ("4", range(4)), ("01", some(1))]);
    table(&DISTANCE, &[("9", range(9)), ("021", some(21)), ("256", range(256))]);
    table(
        &LATENCY,
        &[("18446744073709551615", some(u64::MAX)), ("18446744073709551616", NAN)],
    );
}

#[test]
fn minus_signs_follow_the_c_function() {
    // `<vcpu>-1</vcpu>` is 4294967295 vCPUs to libvirt 9.0 (which then tries to allocate them).
    table(
        &VCPUS,
        &[
            ("-1", some(4294967295)),
            ("-4294967295", some(1)),
            ("-4294967296", NAN),
            ("-0", range(0)),
            ("0009", some(9)),
            ("", NAN),
        ],
    );
    // A memory device's node: `-0` is node 0, `-1` no u32.
    table(
        &MEMORY_NODE,
        &[("-0", some(0)), ("-1", NAN), ("", Ok(None)), ("0 ", NAN)],
    );
    // Controller indices and chassis are ints: `-0` is 0, anything negative refused.
    table(
        &CONTROLLER_INDEX,
        &[("-0", some(0)), ("-1", NAN), ("2147483648", NAN), ("010", some(10))],
    );
    table(
        &CHASSIS_PORT,
        &[
            ("010", some(8)),
            ("0x10", some(16)),
            ("08", NAN),
            ("-0", some(0)),
            ("256", range(256)),
        ],
    );
    table(&BUS_NR, &[("-0", range(0)), ("255", range(255)), ("0xfe", some(254))]);
    table(
        &EXPANDER_NODE,
        &[("-0", some(0)), ("-1", NAN), ("", Ok(None)), ("0x1", NAN)],
    );
}

#[test]
fn empty_texts() {
    table(&IOTHREADS, &[("", Ok(None)), (" ", NAN), ("-0", NAN), ("02", some(2))]);
    table(&ALLOCATION_THREADS, &[("", Ok(None)), ("0", some(0))]);
    table(&VCPU_CURRENT, &[("", NAN), ("0", range(0))]);
}

#[test]
fn units() {
    for (unit, bytes) in [
        ("b", Some(1)),
        ("B", Some(1)),
        ("byte", Some(1)),
        ("bytes", Some(1)),
        ("k", Some(1024)),
        ("KiB", Some(1024)),
        ("KIB", Some(1024)),
        ("kb", Some(1000)),
        ("GB", Some(1_000_000_000)),
        ("G", Some(1 << 30)),
        ("gib", Some(1 << 30)),
        ("e", Some(1 << 60)),
        ("EiB", Some(1 << 60)),
        (" GiB", None),
        ("GiB ", None),
        ("Ki", None),
        ("iB", None),
        ("x", None),
        ("", None),
        ("é", None),
    ] {
        assert_eq!(unit_bytes(unit), bytes, "{unit:?}");
    }
}

#[test]
fn memory_sizes() {
    assert_eq!(memory_kib("512", Some("MiB")), Ok(Some(524288)));
    assert_eq!(memory_kib("010", Some("MiB")), Ok(Some(10240)));
    assert_eq!(memory_kib(" 1", Some("")), Ok(Some(1)));
    assert_eq!(memory_kib("1", None), Ok(Some(1)));
    assert_eq!(memory_kib("1", Some("GB")), Ok(Some(976563)));
    assert_eq!(memory_kib("1", Some("b")), Ok(Some(1)));
    assert_eq!(memory_kib("", Some("MiB")), Ok(None));
    assert_eq!(memory_kib("0x10", None), Err(SizeError::NotANumber));
    assert_eq!(memory_kib("-0", None), Err(SizeError::NotANumber));
    assert_eq!(memory_kib("512 ", None), Err(SizeError::NotANumber));
    assert_eq!(memory_kib("1", Some(" GiB")), Err(SizeError::Unit));
    // libvirt's ceiling: below 2^53 KiB.
    assert_eq!(memory_kib("8796093022207", Some("MiB")), Ok(Some(9007199254739968)));
    assert_eq!(memory_kib("9007199254740991", Some("MiB")), Err(SizeError::TooLarge));
    assert_eq!(memory_kib("9007199254740992", None), Err(SizeError::TooLarge));
    assert_eq!(memory_kib("18446744073709551616", None), Err(SizeError::NotANumber));
    assert_eq!(scaled_bytes("64", None, 1, u64::MAX), Ok(Some(64)));
    assert_eq!(
        scaled_bytes("18446744073709551615", Some("b"), 1, u64::MAX),
        Ok(Some(u64::MAX))
    );
    assert_eq!(scaled_bytes("2", Some("EiB"), 1, u64::MAX), Ok(Some(1 << 61)));
    assert_eq!(scaled_bytes("16", Some("EiB"), 1, u64::MAX), Err(SizeError::TooLarge));
}

/// Capabilities XML: ids, distances, counts and sizes read as libvirt writes them (decimal).
#[test]
fn capabilities_numbers_are_decimal() {
    let caps = |cell: &str, body: &str| {
        format!(
            "<capabilities><host><topology><cells num='1'><cell {cell}>{body}</cell></cells></topology></host></capabilities>"
        )
    };
    let load = |xml: &str| crate::host::caps::from_capabilities_xml("h", xml);
    let cpu = "<cpus num='1'><cpu id='3' socket_id='0' core_id='03'/></cpus>";
    // A leading zero is decimal, leading space is skipped, `+` is a sign.
    let p = load(&caps("id='00'", &format!("<memory unit='KiB'> +010</memory>{cpu}"))).unwrap();
    assert_eq!((p.nodes[0].id, p.nodes[0].memory_kib), (0, 10));
    assert_eq!(p.cpu(3).unwrap().core, 3);
    let p = load(&caps(
        "id='0'",
        "<memory unit='byte'>2048</memory><pages unit='KiB' size='02048'>07</pages>",
    ))
    .unwrap();
    assert_eq!(p.nodes[0].memory_kib, 2);
    // Not libvirt's decimal numbers: hexadecimal, a sign, trailing space, a spaced unit.
    for (cell, body) in [
        ("id='0x1'", ""),
        ("id='-0'", ""),
        ("id='0 '", ""),
        ("id='0'", "<memory unit='KiB'>12 </memory>"),
        ("id='0'", "<memory unit=' KiB'>12</memory>"),
        ("id='0'", "<memory unit='KiB'>0x10</memory>"),
        ("id='0'", "<pages unit='KiB' size='2048'>-1</pages>"),
        ("id='0'", "<distances><sibling id='0' value='0xa'/></distances>"),
        ("id='0'", "<cpus num='1'><cpu id='3' socket_id='-1'/></cpus>"),
    ] {
        let xml = caps(cell, body);
        let e = load(&xml).unwrap_err();
        assert!(e.offset.is_some(), "{cell} {body}: {e:?}");
    }
}

#[test]
fn plain_digits_read_as_strtoul_reads_them() {
    for text in [
        "0",
        "7",
        "007",
        "4294967295",
        "4294967296",
        "1234567890123456789",
        "9999999999999999999",
        "18446744073709551615",
        "18446744073709551616",
    ] {
        let fast = plain_decimal(text, Base::Decimal).map(|v| (false, v));
        assert_eq!(
            fast.or_else(|| strtoul(text, Base::Decimal)),
            strtoul(text, Base::Decimal),
            "{text}"
        );
    }
    // Only decimal rules take the short way; the others read `010` and `0x10` their own way.
    assert_eq!(plain_decimal("010", Base::C), None);
    assert_eq!(plain_decimal("10", Base::Hex), None);
    for text in ["", " 1", "1 ", "+1", "-1", "1a", "１"] {
        assert_eq!(plain_decimal(text, Base::Decimal), None, "{text}");
    }
}
