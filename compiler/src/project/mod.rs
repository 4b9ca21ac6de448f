//! The project model: which files make a program and how they are read. A program is its
//! root file and every file it reaches through `include` and `from=`; loading reads them
//! ([`discover`]) through a [`Loader`], the only place with I/O, and the include order
//! ([`include_order`]) is walked over whatever holds the files (the database does). Which
//! program an editor's file belongs to is found by the files that include it
//! ([`Includers::root_of`]).

mod discover;
mod fs;
mod includers;
mod includes;
mod paths;

pub use discover::{Discovered, Inputs, MAX_PROGRAM_BYTES, MAX_PROGRAM_FILES, discover};
pub use fs::{Disk, Files, FsLoader, Loader, MemLoader};
pub use includers::{Includers, MAX_NEIGHBOURS, MAX_SCAN_BYTES, MAX_SCAN_FILES};
pub use includes::{Tree, include_order, include_path, references};
pub use paths::normalize;
