//! The codes of `vnumac verify` and `vnumac migrate`, with their summaries: part of the
//! registry in `codes.rs`, which re-exports them.

// Differences between a running guest and its file (`verify/`): exit code 1.
pub const VCPU_AFFINITY: &str = "vnuma::V0701";
pub const VCPU_PRESENCE: &str = "vnuma::V0702";
pub const EMULATOR_AFFINITY: &str = "vnuma::V0703";
pub const IOTHREAD_AFFINITY: &str = "vnuma::V0704";
pub const IOTHREAD_PRESENCE: &str = "vnuma::V0705";
pub const MEMORY_POLICY: &str = "vnuma::V0706";
pub const PAGES_OFF_NODE: &str = "vnuma::V0707";
pub const MEMORY_BACKEND: &str = "vnuma::V0708";
pub const MEMORY_DEVICE_PRESENCE: &str = "vnuma::V0709";
pub const THREAD_SCHED: &str = "vnuma::V0710";

// Why a guest cannot move to another host without changing what it sees (`migrate/`):
// errors, exit code 1; and what changes under it: warnings.
pub const MOVE_PASSTHROUGH: &str = "vnuma::M0801";
pub const MOVE_PAGE_POOL: &str = "vnuma::M0802";
pub const MOVE_NO_ROOM: &str = "vnuma::M0803";
pub const MOVE_SIBLINGS: &str = "vnuma::M0804";
pub const MOVE_THREADS: &str = "vnuma::M0805";
pub const MOVE_DISTANCES: &str = "vnuma::M0806";
pub const MOVE_ALLOCATIONS: &str = "vnuma::M0807";

/// What `vnumac verify` reports where a running guest differs from its file, with a
/// one-line summary; each points at the statement that intended what differs.
pub const DRIFT: &[(&str, &str)] = &[
    (
        VCPU_AFFINITY,
        "a vCPU thread may run, or ran, on host CPUs other than its `pin` names",
    ),
    (
        VCPU_PRESENCE,
        "a vCPU present that the file keeps offline at boot, or absent that it brings online",
    ),
    (
        EMULATOR_AFFINITY,
        "QEMU's main (emulator) thread may run on host CPUs other than `emulator` names",
    ),
    (
        IOTHREAD_AFFINITY,
        "an I/O thread may run on host CPUs other than `iothreads cpus=` names",
    ),
    (
        IOTHREAD_PRESENCE,
        "an I/O thread the file declares is missing, or one it does not declare is there",
    ),
    (
        MEMORY_POLICY,
        "a memory backend whose kernel policy or nodes are not the ones its cell or device is bound with",
    ),
    (
        PAGES_OFF_NODE,
        "a memory backend with resident pages on host nodes outside its binding",
    ),
    (
        MEMORY_BACKEND,
        "a memory backend the QEMU line creates that is missing or not mapped in the guest",
    ),
    (
        MEMORY_DEVICE_PRESENCE,
        "a memory device the file declares that is missing, or one it does not declare that is there",
    ),
    (
        THREAD_SCHED,
        "a vCPU, emulator or I/O thread a `sched` statement sets that runs under another scheduling policy or real-time priority",
    ),
];

/// What `vnumac migrate` reports when a guest cannot move, or when what it sees no longer
/// matches its host, with a one-line summary; each points at the guest.
pub const MOVES: &[(&str, &str)] = &[
    (
        MOVE_PASSTHROUGH,
        "the guest has a host device passed through, which cannot move with it",
    ),
    (
        MOVE_PAGE_POOL,
        "the destination has no hugepage pool of a size the guest's memory comes in",
    ),
    (
        MOVE_NO_ROOM,
        "the destination has too few free cores or CPUs, or too little memory, for the guest",
    ),
    (
        MOVE_SIBLINGS,
        "guest thread siblings on one host core, and destination cores with fewer threads",
    ),
    (
        MOVE_THREADS,
        "the guest's emulator or I/O threads find no CPU on the destination",
    ),
    (
        MOVE_DISTANCES,
        "a warning: guest distances that matched the source host no longer match the destination",
    ),
    (
        MOVE_ALLOCATIONS,
        "the guest allocates cache or memory bandwidth, which names the source host's cache banks and nodes by id",
    ),
];
