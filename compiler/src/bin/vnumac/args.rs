//! The command line's arguments, as clap reads them (and as the completions and the man
//! page describe them).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "vnumac",
    version,
    about = "Compile .vnuma guest descriptions into libvirt domain XML and QEMU command lines, checked against the host's NUMA topology",
    after_help = "Examples:\n  vnumac build examples/talk-manual-cells.vnuma          print the domain XML\n  vnumac build guest.vnuma --emit qemu                  print the QEMU command line\n  vnumac build fleet.vnuma -o out/                      write out/NAME.xml and out/NAME.args for every guest\n  vnumac check *.vnuma                                  diagnostics only\n  vnumac fmt --check *.vnuma                            are the files in canonical form?\n  vnumac explain fleet.vnuma                            where every vCPU and cell landed on the host\n  vnumac plan guest.vnuma --guest web --vcpus 12        balanced vCPU hotplug commands\n  vnumac host import /path/to/capabilities.xml         print a host profile as .vnuma\n  vnumac host probe                                     the same for this machine\n  vnumac import dumpxml.xml --host peppi                an existing domain as a .vnuma guest\n  vnumac verify guest.vnuma --qmp /run/qmp.sock         does the running guest do what the file says?\n  vnumac verify fleet.vnuma --connect qemu:///system    the same for every guest of the file, through libvirt\n  vnumac migrate fleet.vnuma --guest db --to other      db's domain XML for host other (virsh migrate --xml)\n\nExit codes: 0 ok (warnings allowed), 1 errors in the input, 2 usage or I/O errors."
)]
pub(crate) struct Cli {
    /// How diagnostics and errors are printed on stderr.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, global = true)]
    pub(crate) message_format: MessageFormat,
    /// Also print notes (which nodes `vnuma` picked, ...); JSON output always has them.
    #[arg(long, short, global = true)]
    pub(crate) verbose: bool,
    /// When to colour diagnostics: auto (stderr is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub(crate) enum MessageFormat {
    /// Rendered with the source line and labels.
    Human,
    /// One JSON object per line.
    Json,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub(crate) enum Emit {
    /// libvirt domain XML.
    Xml,
    /// A QEMU command line, one option per line.
    Qemu,
    /// The checked model as JSON.
    Json,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub(crate) enum QemuSyntax {
    Keyval,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Check a file and print a guest's XML or QEMU line, or write every guest with -o.
    Build {
        /// The .vnuma file (`-`: standard input).
        file: PathBuf,
        /// What to print when writing to stdout.
        #[arg(long, value_enum, default_value_t = Emit::Xml)]
        emit: Emit,
        /// Only this guest.
        #[arg(long)]
        guest: Option<String>,
        /// Write DIR/NAME.xml and DIR/NAME.args for every guest instead of printing.
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// How `-object`/`-device`/`-netdev`/`-blockdev` are written in QEMU command lines:
        /// QEMU's key=value syntax, or the JSON form libvirt itself prints.
        #[arg(long, value_enum, default_value_t = QemuSyntax::Keyval)]
        qemu_syntax: QemuSyntax,
    },
    /// Check files and print diagnostics only.
    Check {
        /// The .vnuma files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Rewrite files in canonical form (comments kept); with --check, only report.
    Fmt {
        /// Report files that are not formatted (exit 1) instead of rewriting them.
        #[arg(long)]
        check: bool,
        /// The .vnuma files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show where every vCPU and every cell's memory landed on the host.
    Explain {
        /// The .vnuma file.
        file: PathBuf,
        /// Only this guest.
        #[arg(long)]
        guest: Option<String>,
        /// Text (an affinity map and a per-node summary) or an SVG picture of the host.
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
    },
    /// Print the commands that bring a running guest to N online vCPUs, cells balanced at every step.
    Plan {
        /// The .vnuma file.
        file: PathBuf,
        /// The guest.
        #[arg(long)]
        guest: String,
        /// The number of vCPUs to have online.
        #[arg(long)]
        vcpus: u32,
    },
    /// Turn an existing libvirt domain XML into a .vnuma guest (printed on stdout).
    Import {
        /// The domain XML (`virsh dumpxml NAME`).
        file: PathBuf,
        /// Write `on=HOST` on the guest.
        #[arg(long)]
        host: Option<String>,
        /// The host's `virsh capabilities`: write its `host { }` block before the guest.
        #[arg(long)]
        caps: Option<PathBuf>,
    },
    /// Compare a running guest with what its file intends: pins, boot vCPUs, memory policy
    /// and placement, memory devices. Exit 0 when it matches, 1 when it differs, 2 when it
    /// cannot be reached.
    #[command(group = clap::ArgGroup::new("reach").required(true))]
    Verify {
        /// The .vnuma file.
        file: PathBuf,
        /// The guest (needed with --qmp when the file has several; with --connect, every
        /// guest of the file is verified when it is left out).
        #[arg(long)]
        guest: Option<String>,
        /// The QMP socket of a QEMU started from `vnumac build --emit qemu`.
        #[arg(long, value_name = "SOCKET", group = "reach")]
        qmp: Option<PathBuf>,
        /// The libvirt URI (`qemu:///system`, `qemu:///session`) whose domain of the
        /// guest's name runs the guest. Needs a vnumac built with the `libvirt` feature.
        #[arg(long, value_name = "URI", group = "reach")]
        connect: Option<String>,
        /// How long to watch where threads run, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=60_000))]
        window: u64,
        /// Keep verifying every SECONDS and print each new difference as it appears, until
        /// interrupted.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        watch: Option<u64>,
        /// How long to wait for each answer of the monitor (or of libvirt), in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
        timeout: u64,
    },
    /// Print a guest's domain XML for another host: what the guest sees stays as built on
    /// its own host; its pins and memory bindings are planned again on the destination,
    /// after the guests already there. For `virsh migrate --live --xml`.
    #[command(group = clap::ArgGroup::new("destination").required(true).multiple(true))]
    Migrate {
        /// The .vnuma file declaring the guest, its host and (with --to) the destination.
        file: PathBuf,
        /// The guest to move.
        #[arg(long)]
        guest: String,
        /// The destination: another host of the file (with --to-caps, the name it gets).
        #[arg(long, value_name = "HOST", group = "destination")]
        to: Option<String>,
        /// The destination's `virsh capabilities` XML, carrying no guests of the file.
        #[arg(long, value_name = "CAPS.xml", group = "destination")]
        to_caps: Option<PathBuf>,
        /// What to print when writing to stdout.
        #[arg(long, value_enum, default_value_t = Emit::Xml)]
        emit: Emit,
        /// Print a table of what moves (vCPU → CPUs, cell → node) instead.
        #[arg(long, conflicts_with = "out_dir")]
        diff: bool,
        /// Write DIR/NAME.xml and DIR/NAME.args of the destination instead of printing.
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// How QEMU options are written: key=value or JSON.
        #[arg(long, value_enum, default_value_t = QemuSyntax::Keyval)]
        qemu_syntax: QemuSyntax,
    },
    /// Print what libvirt says about a running domain as JSON: every vCPU's pin, state and
    /// thread, the emulator's and every I/O thread's pin and thread, the memory policy, QEMU's
    /// process. Needs a vnumac built with the `libvirt` feature.
    #[command(hide = true)]
    LibvirtFacts {
        /// The libvirt URI (`qemu:///system`, `qemu:///system?socket=PATH`, ...).
        #[arg(long, value_name = "URI")]
        connect: String,
        /// The running domain.
        domain: String,
        /// How long to wait for each answer of libvirt, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
        timeout: u64,
    },
    /// Host profiles: print one as a .vnuma `host { }` block.
    Host {
        #[command(subcommand)]
        command: HostCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `vnumac man > vnumac.1`.
    Man,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExplainFormat {
    Text,
    Svg,
}

#[derive(Subcommand)]
pub(crate) enum HostCommand {
    /// Read this machine's /sys and print its profile.
    Probe {
        /// Where sysfs is mounted (reads DIR/devices/system/{node,cpu}).
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs_root: PathBuf,
        /// The host's name in the printed block.
        #[arg(long, default_value = "this-host")]
        name: String,
    },
    /// Read `virsh capabilities` XML and print its profile.
    Import {
        /// The capabilities XML file.
        file: PathBuf,
        /// The host's name in the printed block (default: from the file name).
        #[arg(long)]
        name: Option<String>,
    },
}
