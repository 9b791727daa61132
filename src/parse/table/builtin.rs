//! The layouts shipped in `formats/`, compiled in: `build.rs` lists every `formats/*.toml`,
//! so a new file there is picked up by the next build with no code change.

pub(crate) const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/formats.rs"));
