//! Resource control from a sysfs tree: the caches of `ROOT/devices/system/cpu/cpuN/cache/
//! indexK/{id,level,type,size,shared_cpu_list}` and what Linux's resctrl file system says it
//! can allocate of them (`ROOT/fs/resctrl/info/{L3,L3CODE,L3DATA,L2,...}/{cbm_mask,
//! min_cbm_bits,num_closids}`, `info/MB/{bandwidth_gran,min_bandwidth,num_closids}`), as
//! libvirt reads them for its capabilities. Nothing is read when resctrl is not mounted.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::resctrl::{BandwidthControl, BandwidthNode, CacheBank, CacheControl, CacheType, Resctrl};
use crate::sets::IdSet;

/// A file that could not be read or understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResctrlError {
    pub path: PathBuf,
    pub message: String,
}

fn error(path: &Path, message: impl Into<String>) -> ResctrlError {
    ResctrlError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The most bytes read of one file: every file read here holds one short line.
const MAX_FILE_BYTES: u64 = 4096;
/// The most cache index directories of one CPU.
const MAX_INDEXES: u32 = 64;

/// The banks of levels 2 and 3 of the CPUs in `cpus` with the controls resctrl has for
/// them, and the memory-bandwidth nodes (one per L3 bank, numbered by its id). Empty when
/// `ROOT/fs/resctrl/info` is not there.
pub fn read(root: &Path, cpus: &IdSet, warnings: &mut Vec<String>) -> Result<Resctrl, ResctrlError> {
    let info = root.join("fs/resctrl/info");
    if !info.is_dir() {
        return Ok(Resctrl::default());
    }
    let mut banks = caches(&root.join("devices/system/cpu"), cpus)?;
    for bank in &mut banks {
        controls(&info, bank, warnings)?;
    }
    let mut out = Resctrl {
        banks,
        bandwidth: Vec::new(),
    };
    if let Some(control) = bandwidth(&info.join("MB"))? {
        let l3 = out.banks.iter().filter(|b| b.level == 3 && b.kind != CacheType::Code);
        out.bandwidth = l3
            .map(|b| BandwidthNode {
                id: b.id,
                cpus: b.cpus.clone(),
                control,
            })
            .collect();
        if out.bandwidth.is_empty() {
            warnings.push("resctrl limits memory bandwidth, but no L3 cache ids are listed: left out".into());
        }
    }
    Ok(out)
}

/// Every cache of level 2 or 3 with an id, once, with the CPUs of `cpus` sharing it.
fn caches(dir: &Path, cpus: &IdSet) -> Result<Vec<CacheBank>, ResctrlError> {
    let mut found: BTreeMap<(u32, CacheType, u32), CacheBank> = BTreeMap::new();
    for cpu in cpus.iter() {
        let cache = dir.join(format!("cpu{cpu}/cache"));
        if !cache.is_dir() {
            continue;
        }
        for k in 0..MAX_INDEXES {
            let index = cache.join(format!("index{k}"));
            let Some(level) = number(&index.join("level"))? else {
                break;
            };
            let kind = match read_opt(&index.join("type"))?.as_deref().map(str::trim) {
                Some("Unified") => CacheType::Both,
                Some("Data") => CacheType::Data,
                Some("Instruction") => CacheType::Code,
                _ => continue,
            };
            let Some(id) = number(&index.join("id"))? else { continue };
            if !(2..=3).contains(&level) || found.contains_key(&(level, kind, id)) {
                continue;
            }
            let size = size(&index.join("size"))?;
            let list = index.join("shared_cpu_list");
            let shared = match read_opt(&list)? {
                Some(text) => IdSet::parse(text.trim()).map_err(|e| error(&list, e.message))?,
                None => IdSet::single(cpu),
            };
            let bank = CacheBank {
                id,
                level,
                kind,
                size,
                cpus: shared.intersection(cpus),
                controls: Vec::new(),
            };
            found.insert((level, kind, id), bank);
        }
    }
    Ok(found.into_values().collect())
}

/// The controls of `bank`: `info/L{level}` without code and data prioritisation, or
/// `info/L{level}CODE` and `info/L{level}DATA` with it.
fn controls(info: &Path, bank: &mut CacheBank, warnings: &mut Vec<String>) -> Result<(), ResctrlError> {
    let level = bank.level;
    let dirs = [
        (format!("L{level}"), CacheType::Both),
        (format!("L{level}CODE"), CacheType::Code),
        (format!("L{level}DATA"), CacheType::Data),
    ];
    for (name, kind) in dirs {
        let dir = info.join(&name);
        let Some(mask) = read_opt(&dir.join("cbm_mask"))? else {
            continue;
        };
        let mask_path = dir.join("cbm_mask");
        let bits = u64::from_str_radix(mask.trim(), 16)
            .map_err(|_| error(&mask_path, format!("`{}` is not a hexadecimal mask", mask.trim())))?
            .count_ones();
        let min_bits = number(&dir.join("min_cbm_bits"))?.unwrap_or(1).max(1);
        let closids = number(&dir.join("num_closids"))?.unwrap_or(0);
        if bits == 0 || !bank.size.is_multiple_of(u64::from(bits)) || closids == 0 {
            warnings.push(format!(
                "{name}: a {bits}-bit mask over a {}-byte cache and {closids} allocations describe no control; cache {} of level {level} left uncontrolled",
                bank.size, bank.id
            ));
            continue;
        }
        let granularity = bank.size / u64::from(bits);
        bank.controls.push(CacheControl {
            kind,
            granularity,
            min: granularity.saturating_mul(u64::from(min_bits)),
            max_allocs: closids,
        });
    }
    Ok(())
}

/// `info/MB`: the step and smallest limit in percent, and how many limits it takes.
fn bandwidth(dir: &Path) -> Result<Option<BandwidthControl>, ResctrlError> {
    let Some(granularity) = number(&dir.join("bandwidth_gran"))? else {
        return Ok(None);
    };
    Ok(Some(BandwidthControl {
        granularity,
        min: number(&dir.join("min_bandwidth"))?.unwrap_or(granularity),
        max_allocs: number(&dir.join("num_closids"))?.unwrap_or(0),
    }))
}

fn read_opt(path: &Path) -> Result<Option<String>, ResctrlError> {
    match crate::source::read_input_capped(path, MAX_FILE_BYTES) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(error(path, e.to_string())),
    }
}

fn number(path: &Path) -> Result<Option<u32>, ResctrlError> {
    match read_opt(path)? {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| error(path, format!("`{}` is not a number", s.trim()))),
    }
}

/// A cache size as sysfs writes it: `15360K`, `32M`, or bytes.
fn size(path: &Path) -> Result<u64, ResctrlError> {
    let text = read_opt(path)?.unwrap_or_default();
    let t = text.trim();
    let (digits, shift) = match t.as_bytes().last() {
        Some(b'K') => (&t[..t.len() - 1], 10),
        Some(b'M') => (&t[..t.len() - 1], 20),
        Some(b'G') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|&n| n <= crate::syntax::value::MAX_SIZE)
        .ok_or_else(|| error(path, format!("`{t}` is not a cache size")))
}
