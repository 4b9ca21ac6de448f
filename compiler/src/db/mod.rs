//! The incremental pipeline: salsa inputs (files, programs) and tracked queries at the
//! grain of the language. Parsing is per file; each host profile is one query (a
//! capabilities file is read and parsed once, and again only when it changes); each guest
//! is one placement step, a fold over its host's guests in file order (a guest sees what the
//! guests before it took, and a step whose result did not change stops the ripple); the
//! program's model and diagnostics gather the steps; lowering is per guest, on demand.
//!
//! I/O happens only in [`Workspace::load`] and [`load_program`], never inside a query.

mod guests;
mod hosts;
mod inputs;
mod load;
mod parsed;
mod program;
mod toplevel;

pub use crate::check::step::{GuestStep, HandLedger};
pub use crate::project::{FsLoader, Loader, MemLoader, normalize};
pub use guests::{GuestSlot, guest_slots, guest_step, hand_ledger, host_ledger, ledger_after};
pub use hosts::{HostLoaded, host, host_topo};
pub use inputs::{Database, ItemKey, ItemKind, Program, SourceFile};
pub use load::{Snapshot, Workspace, load_program};
pub use parsed::{Parsed, Piece, parse, parse_piece, pieces, word_cut};
pub use program::{CheckResult, Compiled, GuestOutput, check_program, compile, lower, program_diagnostics, source_map};
pub use toplevel::{ItemRef, Items, host_names, item, item_at, item_piece, items};
