//! Diagnostic codes of the semantic checks. Syntax and schema codes live next to their checks.

pub const INCLUDE_NOT_FOUND: &str = "vnuma::E0103";
pub const INCLUDE_CYCLE: &str = "vnuma::E0104";
pub const DUPLICATE_NAME: &str = "vnuma::E0105";

pub const VCPU_COVERAGE: &str = "vnuma::E0301";
pub const CELL_MEMORY_SUM: &str = "vnuma::E0302";
pub const CELL_IDS: &str = "vnuma::E0303";
pub const TOPOLOGY_PRODUCT: &str = "vnuma::E0304";
pub const DISTANCE_VALUE: &str = "vnuma::E0305";
pub const VNUMA_CONFLICT: &str = "vnuma::E0306";
pub const VCPU_RANGE: &str = "vnuma::E0307";
pub const DISTANCE_CELL: &str = "vnuma::E0308";
pub const DISTANCES_UNBOUND: &str = "vnuma::E0309";
pub const PREFERRED_ONE_NODE: &str = "vnuma::E0310";
pub const NO_CPU_CELL: &str = "vnuma::E0311";
pub const MISSING_STATEMENT: &str = "vnuma::E0312";
pub const MEMORY_GRANULE: &str = "vnuma::E0313";
pub const VCPU_COUNT: &str = "vnuma::E0314";
pub const POLICY_WITHOUT_NODE: &str = "vnuma::E0315";
pub const PIN_TARGET: &str = "vnuma::E0316";
pub const PINNED_TWICE: &str = "vnuma::E0317";
pub const DISTANCE_TWICE: &str = "vnuma::E0318";

pub const UNKNOWN_HOST: &str = "vnuma::E0401";
pub const HOST_NEEDED: &str = "vnuma::E0402";
pub const HOST_NODE: &str = "vnuma::E0403";
pub const HOST_CPU: &str = "vnuma::E0404";
pub const HOST_PAGE_SIZE: &str = "vnuma::E0405";
pub const NODE_MEMORY: &str = "vnuma::E0406";
pub const NODE_HUGEPAGES: &str = "vnuma::E0407";
pub const RESERVED_CPU: &str = "vnuma::E0408";
pub const CAPS_XML: &str = "vnuma::E0409";
pub const PROBE: &str = "vnuma::E0410";
pub const HOST_SOURCE: &str = "vnuma::E0411";
pub const HOST_BLOCK: &str = "vnuma::E0412";

pub const PIN_SPANS_NODES: &str = "vnuma::W0501";
pub const PIN_OFF_CELL_NODE: &str = "vnuma::W0502";
pub const SOCKET_SPANS_CELLS: &str = "vnuma::W0503";
pub const HOST_DISTANCE_RANGE: &str = "vnuma::W0504";

pub const NOT_YET: &str = "vnuma::E0901";
