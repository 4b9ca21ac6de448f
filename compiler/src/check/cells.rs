//! A guest's cells while it is checked: written in `numa` or placed by `vnuma`, with
//! where each came from, and the most cells QEMU takes.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, Hmat};
use crate::span::Span;

/// The most NUMA nodes QEMU 7.2 starts a guest with (`MAX_NODES`: "Max number of NUMA
/// nodes reached").
pub const MAX_CELLS: usize = 128;

/// More than [`MAX_CELLS`] cells, reported at `span`.
pub fn too_many_cells(count: u64, span: Span, label: &str) -> Diagnostic {
    Diagnostic::error(
        CELL_COUNT,
        format!("{count} guest cells are more than QEMU takes"),
        span,
        label.to_string(),
    )
    .with_help(format!(
        "QEMU 7.2 starts a guest with at most {MAX_CELLS} NUMA nodes (\"Max number of NUMA nodes reached\"); use at most {MAX_CELLS} cells"
    ))
}

/// The guest's cells, as written in `numa` or placed by `vnuma`, with where each came from.
#[derive(Default)]
pub struct Cells {
    /// Sorted by id; ids are 0..k-1 when there are no errors.
    pub cells: Vec<GuestCell>,
    /// The span of each cell's statement head.
    pub cell_spans: Vec<Span>,
    /// The span of each cell's `host-node=`.
    pub binding_spans: Vec<Option<Span>>,
    /// Each cell's own `hugepages=` (its size is in the cell's `hugepage_kib`) and its span.
    pub page_spans: Vec<Option<Span>>,
    pub distances: Option<Vec<Vec<u32>>>,
    pub hmat: Hmat,
}
