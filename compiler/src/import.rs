//! `vnumac import`: existing libvirt domain XML → a .vnuma guest.
//!
//! Everything the language can say is carried over; everything else (graphics, USB,
//! tuning knobs, …) becomes a note, listed in [`Imported::notes`] and as `#` comment lines
//! at the top of the text, so nothing is dropped without a word. Values vnumac derives
//! itself (controller indices, the hotplug order, disk names) are recomputed, with a note
//! when the XML said something else.

mod align;
mod cells;
mod devices;
mod dom;
mod draft;
mod error;
mod guest;
mod hmat;
mod inventory;
mod memdev;
mod memory;
mod notes;
mod pages;
mod plan;
mod quote;
mod read;
mod resctrl;
mod sched;
mod tune;
mod vcpus;
mod write;

pub use error::ImportError;
use notes::Notes;

/// How to import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The guest's host, written as `on=HOST`.
    pub host: Option<String>,
}

/// The imported guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Comment lines with the notes, then a `guest NAME [on=HOST] { ... }` block.
    pub text: String,
    /// What was not imported, or was approximated.
    pub notes: Vec<String>,
}

/// Import one libvirt domain.
pub fn import_domain(xml: &str, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let root = dom::parse(xml)?;
    let mut notes = Notes::default();
    let mut draft = guest::read(&root, &mut notes)?;
    if let Some(devs) = root.child("devices") {
        devices::read(devs, &mut draft, &mut notes)?;
    }
    memory::settle_memory(&root, &mut draft, &mut notes)?;
    cells::rectify_cells(&mut draft, &mut notes)?;
    cells::check_derived(&root, &mut draft);
    let text = write::render(&draft, opts.host.as_deref(), &notes.list);
    Ok(Imported {
        text,
        notes: notes.list,
    })
}

#[cfg(test)]
mod tests;
