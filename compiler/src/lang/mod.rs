//! What each statement may contain, per context, and typed access to what it holds.

pub mod fields;
pub mod shape;
pub mod spec;
pub mod suggest;
pub mod table;

pub use fields::{Fields, Typed};
pub use shape::{
    ARGUMENTS, BLOCK, DUPLICATE, MISSING, SI_UNIT, UNKNOWN_PROPERTY, UNKNOWN_STATEMENT, UNKNOWN_VALUE, WRONG_KIND,
    check, check_repeats,
};
pub use spec::{Context, Kind, PropSpec, StmtSpec};
pub use suggest::suggest;
pub use table::{POLICIES, SCHEMA, lookup};
