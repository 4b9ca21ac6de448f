//! `vnumac import`: existing libvirt domain XML → a .vnuma guest.
