//! What a host can allocate of its caches and memory bandwidth (Intel RDT, AMD PQoS, as
//! Linux's resctrl file system exposes them and libvirt's capabilities report them):
//! cache banks with their allocation controls, and memory-bandwidth nodes.

use crate::sets::IdSet;

/// Which part of a cache an allocation takes: the whole of it, or with code and data
/// prioritisation (CDP) its code or its data half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CacheType {
    Both,
    Code,
    Data,
}

impl CacheType {
    pub const WORDS: &'static [&'static str] = &["both", "code", "data"];

    pub fn from_word(word: &str) -> Option<CacheType> {
        match word {
            "both" => Some(CacheType::Both),
            "code" => Some(CacheType::Code),
            "data" => Some(CacheType::Data),
            _ => None,
        }
    }

    /// libvirt's `type` attribute.
    pub fn word(self) -> &'static str {
        match self {
            CacheType::Both => "both",
            CacheType::Code => "code",
            CacheType::Data => "data",
        }
    }
}

/// How one part of a bank can be allocated (`<control>`): in whole granules, at least `min`
/// bytes, by at most `max_allocs` allocations (resctrl's `num_closids`, the default group's
/// included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheControl {
    pub kind: CacheType,
    pub granularity: u64,
    pub min: u64,
    pub max_allocs: u32,
}

/// One cache of the host (`<cache><bank>`): its id within its level, its size in bytes,
/// the CPUs sharing it, and its controls (none: it cannot be allocated; one of type `both`
/// without CDP; `code` and `data` with it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheBank {
    pub id: u32,
    pub level: u32,
    pub kind: CacheType,
    pub size: u64,
    pub cpus: IdSet,
    pub controls: Vec<CacheControl>,
}

impl CacheBank {
    /// The control of `kind`, if the bank can be allocated that way.
    pub fn control(&self, kind: CacheType) -> Option<&CacheControl> {
        self.controls.iter().find(|c| c.kind == kind)
    }

    /// With code and data prioritisation: the bank has `code` and `data` controls.
    pub fn cdp(&self) -> bool {
        self.controls.iter().any(|c| c.kind != CacheType::Both)
    }
}

/// How the memory bandwidth of a node can be limited (`<memory_bandwidth><node><control>`):
/// in percent of its bandwidth, in steps of `granularity`, at least `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BandwidthControl {
    pub granularity: u32,
    pub min: u32,
    pub max_allocs: u32,
}

/// One memory-bandwidth domain (`<memory_bandwidth><node>`): its id (the L3 cache id of
/// its CPUs, as resctrl numbers it) and the CPUs behind it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BandwidthNode {
    pub id: u32,
    pub cpus: IdSet,
    pub control: BandwidthControl,
}

/// The host's resource control: empty when the source says nothing of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Resctrl {
    /// Sorted by (level, id).
    pub banks: Vec<CacheBank>,
    /// Sorted by id.
    pub bandwidth: Vec<BandwidthNode>,
}

impl Resctrl {
    /// The bank of `level` and `id`, found in the sorted list.
    pub fn bank(&self, level: u32, id: u32) -> Option<&CacheBank> {
        let i = self
            .banks
            .binary_search_by_key(&(level, id), |b| (b.level, b.id))
            .ok()?;
        self.banks.get(i)
    }

    /// The bandwidth node `id`, found in the sorted list.
    pub fn bandwidth_node(&self, id: u32) -> Option<&BandwidthNode> {
        let i = self.bandwidth.binary_search_by_key(&id, |n| n.id).ok()?;
        self.bandwidth.get(i)
    }

    pub fn is_empty(&self) -> bool {
        self.banks.is_empty() && self.bandwidth.is_empty()
    }
}

/// What no memory-bandwidth node can have: percentages outside 1 to 100, no allocation.
pub fn node_problems(n: &BandwidthNode) -> Option<String> {
    let c = n.control;
    let bad = c.granularity == 0 || c.granularity > 100 || c.min == 0 || c.min > 100 || c.max_allocs == 0;
    bad.then(|| {
        format!(
            "memory-bandwidth node {}: granularity {}%, minimum {}% and {} allocations: the percentages are 1 to 100 and at least one allocation is needed",
            n.id, c.granularity, c.min, c.max_allocs
        )
    })
}

/// What no cache bank can have: no CPUs, controls that mix `both` with `code`/`data` or
/// give one of them twice, a control of no granule, a minimum that is no whole number of
/// granules within the bank.
pub fn bank_problems(b: &CacheBank) -> Vec<String> {
    let mut problems = Vec::new();
    let name = format!("cache bank {} of level {}", b.id, b.level);
    if b.cpus.is_empty() {
        problems.push(format!("{name} has no CPUs"));
    }
    let both = b.controls.iter().filter(|c| c.kind == CacheType::Both).count();
    let code = b.controls.iter().filter(|c| c.kind == CacheType::Code).count();
    let data = b.controls.iter().filter(|c| c.kind == CacheType::Data).count();
    if both > 1 || code > 1 || data > 1 || (both == 1 && code + data > 0) || code != data {
        problems.push(format!(
            "{name}: its controls are `both` alone, or `code` and `data` together (code and data prioritisation)"
        ));
    }
    if let [a, rest @ ..] = b.controls.as_slice()
        && rest
            .iter()
            .any(|c| (c.granularity, c.min, c.max_allocs) != (a.granularity, a.min, a.max_allocs))
    {
        problems.push(format!(
            "{name}: its `code` and `data` controls differ (Linux gives both halves one capacity mask and one count of allocations)"
        ));
    }
    if b.size > crate::syntax::value::MAX_SIZE {
        problems.push(format!("{name}: {} bytes is larger than 1 PiB", b.size));
    }
    for c in &b.controls {
        if c.granularity == 0 || c.max_allocs == 0 {
            problems.push(format!(
                "{name}: a control needs a granularity and at least one allocation"
            ));
        } else if c.min < c.granularity || !c.min.is_multiple_of(c.granularity) || c.min > b.size {
            problems.push(format!(
                "{name}: its minimum allocation, {} bytes, is not a whole number of {}-byte granules within the bank",
                c.min, c.granularity
            ));
        }
    }
    problems
}

/// The `cache-bank` and `bandwidth-node` lines that declare `r` in a host block.
pub(super) fn statements(r: &Resctrl) -> Vec<String> {
    let mut out = Vec::new();
    for b in &r.banks {
        let mut s = format!(
            "cache-bank {} level={} size={} cpus={}",
            b.id,
            b.level,
            format_bytes(b.size),
            b.cpus
        );
        if b.kind != CacheType::Both {
            s.push_str(&format!(" type={}", b.kind.word()));
        }
        if let Some(c) = b.controls.first() {
            let control = if b.cdp() { "cdp" } else { "both" };
            s.push_str(&format!(
                " control={control} granularity={}",
                format_bytes(c.granularity)
            ));
            if c.min != c.granularity {
                s.push_str(&format!(" min={}", format_bytes(c.min)));
            }
            s.push_str(&format!(" allocs={}", c.max_allocs));
        }
        out.push(s);
    }
    for n in &r.bandwidth {
        let c = n.control;
        let mut s = format!("bandwidth-node {} cpus={} granularity={}", n.id, n.cpus, c.granularity);
        if c.min != c.granularity {
            s.push_str(&format!(" min={}", c.min));
        }
        s.push_str(&format!(" allocs={}", c.max_allocs));
        out.push(s);
    }
    out
}

/// A size in bytes in the largest binary unit that divides it (`B` below a KiB).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u32); 4] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    if bytes != 0 {
        for (unit, shift) in UNITS {
            if bytes.trailing_zeros() >= shift {
                return format!("{}{unit}", bytes >> shift);
            }
        }
    }
    format!("{bytes}B")
}
