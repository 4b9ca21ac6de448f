//! `vnumac explain`: where every vCPU and every cell's memory landed, as text (in the
//! spirit of `virsh vcpuinfo`'s affinity map) or as an SVG picture of the host.

mod draw;
mod resctrl;
mod svg;
mod svg_resctrl;
mod text;
mod usage;

pub use svg::svg;
pub use text::text;
