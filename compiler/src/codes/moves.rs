//! The codes of `vnumac migrate`: why a guest cannot move to another host, and what
//! changes under it.

// Why a guest cannot move to another host without changing what it sees (`migrate/`):
// errors, exit code 1; and what changes under it: warnings.
pub const MOVE_PASSTHROUGH: &str = "vnuma::M0801";
pub const MOVE_PAGE_POOL: &str = "vnuma::M0802";
pub const MOVE_NO_ROOM: &str = "vnuma::M0803";
pub const MOVE_SIBLINGS: &str = "vnuma::M0804";
pub const MOVE_THREADS: &str = "vnuma::M0805";
pub const MOVE_DISTANCES: &str = "vnuma::M0806";
pub const MOVE_ALLOCATIONS: &str = "vnuma::M0807";

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
