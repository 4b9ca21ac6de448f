//! The language table: every statement and property, with its docs; what each statement
//! may contain, per context; and typed access to what a statement holds. Below `check`,
//! which checks statements against it, and `ide`, which documents and completes from it.

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
