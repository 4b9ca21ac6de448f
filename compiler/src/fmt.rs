//! `vnumac fmt`: canonical formatting of .vnuma text, comments kept.
