//! The attributes of the guest itself: vCPUs, cells, HMAT, memory, tuning.

use crate::cases::Case;
use crate::domains::*;
use crate::probes::*;

/// vCPUs and topology.
pub fn vcpu_counts() -> Vec<Case> {
    vec![
        Case {
            name: "<vcpu>",
            xml: flat(GIB4, "<vcpu>@V@</vcpu>", ""),
            values: &["010", "0x10", "08", " 8", "8 ", "+8", "-0", "0009", "", "0"],
            probe: Some(vcpus),
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpu current>",
            xml: flat(GIB4, "<vcpu current='@V@'>8</vcpu>", ""),
            values: &["02", "0x2", "-0", "2 ", " 2", "+2", "0", "9", ""],
            probe: Some(vcpus_online),
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpus><vcpu id>",
            xml: flat(
                GIB4,
                "<vcpu current='1'>4</vcpu><vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/>\
                 <vcpu id='@V@' enabled='no' hotpluggable='yes'/></vcpus>",
                "",
            ),
            values: &["01", "0x1", "-0", " 1", "1 ", "+1", "4"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology sockets>",
            xml: topology("@V@", "1", "4", "1"),
            values: &["02", "0x2", "2 ", " 2", "+2", "-0", "0"],
            probe: Some(sockets),
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology dies>",
            xml: topology("1", "@V@", "4", "1"),
            values: &["02", "0x2", "2 ", " 2", "+2", "-0", "0"],
            probe: Some(dies),
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology cores>",
            xml: topology("2", "1", "@V@", "1"),
            values: &["04", "0x4", "4 ", " 4", "+4", "-0", "0"],
            probe: Some(cores),
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology threads>",
            xml: topology("4", "1", "1", "@V@"),
            values: &["02", "0x2", "2 ", " 2", "+2", "-0", "0"],
            probe: Some(threads),
            vnumac_refuses: &[],
        },
    ]
}

/// Cells and distances.
pub fn cells() -> Vec<Case> {
    vec![
        Case {
            name: "<cell id>",
            xml: domain(
                GIB4,
                VCPU4,
                "",
                "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='@V@' cpus='2-3' memory='2' unit='GiB'/></numa>",
                "",
            ),
            values: &["1", "01", "0x1", " 1", "+1", "1 ", "2", "-0"],
            probe: Some(node1_cpus),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cell memory>",
            xml: domain(
                GIB4,
                VCPU4,
                "",
                "<numa><cell id='0' cpus='0-1' memory='2048' unit='MiB'/><cell id='1' cpus='2-3' memory='@V@' unit='MiB'/></numa>",
                "",
            ),
            values: &["01024", "0x400", " 1024", "1024 ", "+1024", "-0", "2048"],
            probe: Some(node1_size),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cell unit>",
            xml: domain(
                GIB4,
                VCPU4,
                "",
                "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='1' unit='@V@'/></numa>",
                "",
            ),
            values: &["GiB", "G", "gib", "GB", "byte", "bytes", " GiB", "GiB ", "Ki", "e"],
            probe: Some(node1_size),
            vnumac_refuses: &[("e", "vnumac takes sizes up to 1 PiB")],
        },
        Case {
            name: "<sibling value>",
            xml: cells_with(
                "<distances><sibling id='0' value='10'/><sibling id='1' value='@V@'/></distances>",
                "",
            ),
            values: &["021", "0x15", "+21", " 21", "21 ", "9", "10", "255", "256", "-0"],
            probe: Some(distance_0_1),
            vnumac_refuses: &[],
        },
        Case {
            name: "<sibling id>",
            xml: cells_with(
                "<distances><sibling id='0' value='10'/><sibling id='@V@' value='31'/></distances>",
                "",
            ),
            values: &["1", "01", "0x1", "2", " 1", "1 "],
            probe: Some(distance_0_1),
            vnumac_refuses: &[],
        },
    ]
}

/// HMAT caches.
pub fn hmat_caches() -> Vec<Case> {
    vec![
        Case {
            name: "<cache level>",
            xml: hmat(
                "@V@",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["01", "0x1", "0", "4", " 1", "1 ", "+1"],
            probe: Some(cache_level),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><size value>",
            xml: hmat(
                "1",
                "value='@V@' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["0256", "0x100", " 256", "256 ", "+256", "-0", "512"],
            probe: Some(cache_size),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><size unit>",
            xml: hmat(
                "1",
                "value='256' unit='@V@'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["KiB", "MiB", "B", "bytes", "x", ""],
            probe: Some(cache_size),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><line value>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='@V@' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["064", "0x40", " 64", "64 ", "+64", "-0", "128"],
            probe: Some(cache_line),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><line unit>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='@V@'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["B", "KiB", "x", ""],
            probe: Some(cache_line),
            vnumac_refuses: &[],
        },
    ]
}

/// HMAT latencies and bandwidths.
pub fn hmat_interconnects() -> Vec<Case> {
    vec![
        Case {
            name: "<latency value>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|@V@",
                "value='200' unit='GiB'",
            ),
            values: &["010", "0x10", " 10", "10 ", "+10", "-0", "-1"],
            probe: Some(latency),
            vnumac_refuses: &[],
        },
        Case {
            name: "<latency initiator>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "@V@|5",
                "value='200' unit='GiB'",
            ),
            values: &["00", "01", "0x1", " 1", "1 ", "2", "-0"],
            probe: Some(latency_initiator),
            vnumac_refuses: &[],
        },
        Case {
            name: "<bandwidth value unit>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='@V@' unit='GiB'",
            ),
            values: &["0200", "0xc8", " 200", "200 ", "+200", "-0"],
            probe: Some(bandwidth),
            vnumac_refuses: &[],
        },
        Case {
            name: "<bandwidth unit>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='@V@'",
            ),
            values: &["GiB", "G", "gib", "MiB", " GiB", "x", ""],
            probe: Some(bandwidth),
            // No unit is KiB: 200 KiB/s, which QEMU refuses ("should be 1MB aligned").
            vnumac_refuses: &[("", "a bandwidth that is not whole MiB per second")],
        },
    ]
}

/// Memory sizes, slots, allocation threads and page sizes.
pub fn memory_sizes() -> Vec<Case> {
    vec![
        Case {
            name: "<memory>",
            xml: flat("<memory unit='MiB'>@V@</memory>", VCPU4, ""),
            values: &["01024", "0x400", " 1024", "1024 ", "+1024", "-0", "2048"],
            probe: Some(memory),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory unit>",
            xml: flat("<memory unit='@V@'>2</memory>", VCPU4, ""),
            values: &["GiB", "G", "gb", "byte", "bytes", " GiB", "GiB ", "Ki", "m", ""],
            probe: Some(memory),
            vnumac_refuses: &[],
        },
        Case {
            name: "<maxMemory slots>",
            xml: domain(
                "<maxMemory slots='@V@' unit='GiB'>16</maxMemory><memory unit='GiB'>4</memory>",
                VCPU4,
                "",
                TWO_CELLS,
                "",
            ),
            values: &["010", "0x10", "-0", "+2", " 2", "2 ", "0", "08"],
            probe: Some(slots),
            vnumac_refuses: &[],
        },
        Case {
            name: "<maxMemory>",
            xml: domain(
                "<maxMemory slots='4' unit='GiB'>@V@</maxMemory><memory unit='GiB'>4</memory>",
                VCPU4,
                "",
                TWO_CELLS,
                "",
            ),
            values: &["016", "0x10", " 16", "16 ", "+16", "-0"],
            probe: Some(maxmem),
            vnumac_refuses: &[],
        },
        Case {
            name: "<currentMemory>",
            xml: flat(
                "<memory unit='KiB'>4194304</memory><currentMemory unit='KiB'>@V@</currentMemory>",
                VCPU4,
                "",
            ),
            values: &["04194304", "0x10", " 4194304", "4194304 ", "", "-0"],
            probe: Some(memory),
            vnumac_refuses: &[],
        },
        Case {
            name: "<allocation threads>",
            xml: flat(
                GIB4,
                VCPU4,
                "<memoryBacking><allocation mode='immediate' threads='@V@'/></memoryBacking>",
            ),
            values: &["010", "0x10", "+2", " 2", "2 ", "", "0", "-0"],
            probe: Some(prealloc_threads),
            vnumac_refuses: &[],
        },
        Case {
            name: "<hugepages><page size>",
            xml: domain(
                GIB4,
                VCPU4,
                "<memoryBacking><hugepages><page size='@V@' unit='KiB'/></hugepages></memoryBacking>",
                TWO_CELLS,
                "",
            ),
            values: &["02048", "0x800", " 2048", "2048 ", "+2048", "1048576", "-0"],
            probe: Some(pages),
            vnumac_refuses: &[],
        },
        Case {
            name: "<hugepages><page unit>",
            xml: domain(
                GIB4,
                VCPU4,
                "<memoryBacking><hugepages><page size='2' unit='@V@'/></hugepages></memoryBacking>",
                TWO_CELLS,
                "",
            ),
            values: &["M", "MiB", "mib", " M", "M ", "mb"],
            probe: Some(pages),
            vnumac_refuses: &[],
        },
    ]
}

/// I/O threads, pins and memory binding.
pub fn tuning() -> Vec<Case> {
    let numatune = |memnode: &str| {
        domain(
            GIB4,
            VCPU4,
            &format!("<numatune><memnode cellid='0' mode='strict' nodeset='0'/>{memnode}</numatune>"),
            TWO_CELLS,
            "",
        )
    };
    vec![
        Case {
            name: "<iothreads>",
            xml: flat(GIB4, VCPU4, "<iothreads>@V@</iothreads>"),
            values: &["02", "0x2", "-0", "+2", " 2", "2 ", "", "0"],
            probe: Some(iothreads),
            vnumac_refuses: &[],
        },
        Case {
            name: "<iothreadpin iothread>",
            xml: flat(
                GIB4,
                VCPU4,
                "<iothreads>2</iothreads><cputune><iothreadpin iothread='1' cpuset='1'/><iothreadpin iothread='@V@' cpuset='1'/></cputune>",
            ),
            values: &["02", "0x2", "-0", "+2", " 2", "2 ", "0", "3"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpupin vcpu>",
            xml: flat(GIB4, VCPU4, "<cputune><vcpupin vcpu='@V@' cpuset='1'/></cputune>"),
            values: &["01", "0x1", "-0", "+1", " 1", "1 ", "010", "4"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<memnode cellid>",
            xml: numatune("<memnode cellid='@V@' mode='strict' nodeset='1'/>"),
            values: &["01", "0x1", "-0", "+1", " 1", "1 ", "2"],
            probe: Some(node1_host_nodes),
            vnumac_refuses: &[],
        },
    ]
}

/// `<vcpusched>`, `<iothreadsched>` and `<emulatorsched>`: libvirt applies them when the
/// guest starts, so they are not on the QEMU line; what each side refuses is compared.
/// libvirt's parser takes a real-time priority of any int, which Linux refuses outside 1 to
/// 99 when libvirt starts the guest: vnumac refuses those at import.
pub fn sched() -> Vec<Case> {
    let cputune = |inner: &str| {
        flat(
            GIB4,
            VCPU4,
            &format!("<iothreads>2</iothreads><cputune>{inner}</cputune>"),
        )
    };
    const PRIORITY_RANGE: &str =
        "Linux takes real-time priorities 1 to 99 and refuses this one when libvirt starts the guest";
    vec![
        Case {
            name: "<vcpusched priority>",
            xml: cputune("<vcpusched vcpus='0' scheduler='fifo' priority='@V@'/>"),
            values: &[
                "1", "01", "+1", " 1", "99", "1 ", "0x1", "", "x", "0", "100", "-0", "-1",
            ],
            probe: None,
            vnumac_refuses: &[
                ("0", PRIORITY_RANGE),
                ("100", PRIORITY_RANGE),
                ("-0", PRIORITY_RANGE),
                ("-1", PRIORITY_RANGE),
            ],
        },
        Case {
            name: "<emulatorsched priority>",
            xml: cputune("<emulatorsched scheduler='rr' priority='@V@'/>"),
            values: &["2", "02", " 2", "2 ", "", "0"],
            probe: None,
            vnumac_refuses: &[("0", PRIORITY_RANGE)],
        },
        Case {
            name: "<vcpusched scheduler>",
            xml: cputune("<vcpusched vcpus='0-1' scheduler='@V@' priority='5'/>"),
            values: &["fifo", "rr", "batch", "idle", "none", "FIFO", "other", ""],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpusched vcpus>",
            xml: cputune("<vcpusched vcpus='@V@' scheduler='fifo' priority='1'/>"),
            values: &["0", "3", "0-3", " 1", "1,3", "4", "0-4", "0,^0", "x", ""],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpusched vcpus> twice",
            xml: cputune(
                "<vcpusched vcpus='0-1' scheduler='fifo' priority='1'/><vcpusched vcpus='@V@' scheduler='rr' priority='2'/>",
            ),
            values: &["2", "2-3", "1", "0-3", "1-2"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<iothreadsched iothreads>",
            xml: cputune("<iothreadsched iothreads='@V@' scheduler='batch'/>"),
            values: &["1", "2", "1-2", "02", "0", "3", "1-3", "1,^1"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<iothreadsched iothreads> twice",
            xml: cputune(
                "<iothreadsched iothreads='1' scheduler='idle'/><iothreadsched iothreads='@V@' scheduler='batch'/>",
            ),
            values: &["2", "1", "1-2"],
            probe: None,
            vnumac_refuses: &[],
        },
    ]
}
