//! The project model: which files make a program and how they are read. A program is its
//! root file and every file it reaches through `include` and `from=`; loading reads them
//! ([`discover`]) through a [`Loader`], the only place with I/O, and the include order
//! ([`include_order`]) is walked over whatever holds the files (the database does).

mod discover;
mod fs;
mod includes;
mod paths;

pub use discover::{Discovered, Inputs, discover};
pub use fs::{FsLoader, Loader};
pub use includes::{Tree, include_order, include_path, references};
pub use paths::normalize;
