//! Helpers shared by the oracle suites (`oracles`, `guest_boot`, `libvirt_driver`,
//! `placement_props`), written once here and pulled in by each with `mod common;`:
//!
//! * [`shell`]: the `.args` format's POSIX shell words and quoting;
//! * [`qemu`]: QEMU options and keyval/JSON properties;
//! * [`neutralise`]: making a host-specific QEMU line start anywhere under TCG;
//! * [`qmp`]: running QEMU with a deadline and asking it over QMP;
//! * [`peripherals`]: the devices an XML declares against the ones a started QEMU holds;
//! * [`iothreads`]: the I/O threads an XML declares and the disks they serve, against QEMU's;
//! * [`spec`]: what a domain XML declares against what a started QEMU reports over QMP;
//! * [`guest`]: booting a real guest kernel with a busybox initramfs;
//! * [`view`]: what that guest kernel sees of itself, against what the domain XML declares;
//! * [`xml`]: a small quick-xml element tree, libvirt's scaled sizes and CPU sets, and
//!   what a domain XML declares (read independently of vnumac);
//! * [`libvirtd`]: libvirtd on a faked NUMA host, and `virsh` against it;
//! * [`hosts`]: the fixture hosts of the property suites, and a build compiled from text;
//! * [`native`]: libvirt's own QEMU line against vnumac's, and libvirt's capabilities
//!   against a host profile;
//! * here: paths, scratch directories and the tool gating (`VNUMAC_REQUIRE_ORACLES`).
// Each integration test is its own crate and uses only part of this module.
#![allow(dead_code)]

pub mod guest;
pub mod hosts;
pub mod iothreads;
pub mod libvirtd;
pub mod native;
pub mod neutralise;
pub mod peripherals;
pub mod qemu;
pub mod qmp;
pub mod shell;
pub mod spec;
pub mod view;
pub mod xml;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const QEMU: &str = "qemu-system-x86_64";
pub const VALIDATOR: &str = "virt-xml-validate";

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// The workspace root (the parent of the `compiler` crate).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

pub fn golden_dir() -> PathBuf {
    workspace().join("golden")
}

// ---------------------------------------------------------------------------
// Gating: missing tools skip, unless VNUMAC_REQUIRE_ORACLES=1
// ---------------------------------------------------------------------------

pub fn require_oracles() -> bool {
    std::env::var("VNUMAC_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

/// A tool (or anything else an oracle needs) is missing: fails under VNUMAC_REQUIRE_ORACLES=1,
/// else says the test is skipped.
pub fn skip_or_fail(problem: &str) {
    assert!(!require_oracles(), "{problem} (VNUMAC_REQUIRE_ORACLES=1 requires it)");
    eprintln!("skipping: {problem} (set VNUMAC_REQUIRE_ORACLES=1 to make this a failure)");
}

/// Runs `cmd --version` (`cmd` runs `tool`): the first line it prints (on stdout, else on
/// stderr, where xmllint prints it), or why it cannot run.
pub fn tool_version(tool: &str, mut cmd: Command) -> Result<String, String> {
    match cmd.arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {
            let text = [&out.stdout, &out.stderr].map(|b| String::from_utf8_lossy(b).into_owned());
            let version = text.iter().flat_map(|t| t.lines()).next().unwrap_or(tool);
            Ok(version.trim().to_owned())
        }
        Ok(out) => Err(format!(
            "`{tool} --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("{tool} cannot be run: {e}")),
    }
}

/// True when `tool --version` runs (and, for virt-xml-validate, the `xmllint` its Debian script
/// runs). A missing tool skips the test, or fails it under VNUMAC_REQUIRE_ORACLES=1.
pub fn oracle_available(tool: &str) -> bool {
    if tool == VALIDATOR && !oracle_available("xmllint") {
        return false;
    }
    match tool_version(tool, Command::new(tool)) {
        Ok(version) => {
            eprintln!("using {tool}: {version}");
            true
        }
        Err(problem) => {
            skip_or_fail(&problem);
            false
        }
    }
}

/// Ends an oracle test: fails on any failure, and on an empty tree when oracles are required.
pub fn finish(oracle: &str, root: &Path, checked: usize, failures: &[String]) {
    finish_with(require_oracles(), oracle, root, checked, failures);
}

pub fn finish_with(required: bool, oracle: &str, root: &Path, checked: usize, failures: &[String]) {
    if checked == 0 && failures.is_empty() {
        let msg = format!("{oracle}: no golden cases found under {}", root.display());
        assert!(
            !required,
            "{msg} (VNUMAC_REQUIRE_ORACLES=1: an oracle that checks nothing is a defect)"
        );
        eprintln!("skipping: {msg}");
        return;
    }
    eprintln!("{oracle}: {checked} case(s) checked, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{oracle}: {} failure(s) in {checked} case(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Runs `virt-xml-validate FILE domain`.
pub fn validate_xml(path: &Path) -> Result<(), String> {
    let out = Command::new(VALIDATOR)
        .arg(path)
        .arg("domain")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: cannot run {VALIDATOR}: {e}", path.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}: {VALIDATOR} rejected it ({}):\n{}{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    ))
}

// ---------------------------------------------------------------------------
// Small things
// ---------------------------------------------------------------------------

pub fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what}: not a number: {text:?}"))
}

/// A temporary directory, `vnumac-<tag>-<pid>-<n>`, removed on drop; [`Scratch::file`] makes
/// sparse files in it (nvdimm backing files for one QEMU run).
pub struct Scratch {
    pub dir: PathBuf,
    next: Cell<usize>,
}

impl Scratch {
    pub fn new(tag: &str) -> Result<Scratch, String> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vnumac-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch {
            dir,
            next: Cell::new(0),
        })
    }

    /// A sparse file of `size` bytes.
    pub fn file(&self, size: u64) -> Result<PathBuf, String> {
        let n = self.next.get();
        self.next.set(n + 1);
        let path = self.dir.join(format!("backing-{n}"));
        let file = std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        file.set_len(size)
            .map_err(|e| format!("cannot size {}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
