//! Compiles every `formats/*.toml` bank layout into the binary, so that adding a bank
//! export variant is adding a file: no Rust code, no list to update.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=formats");
    let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("formats");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("formats/ folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut out = String::from("&[\n");
    for n in &names {
        println!("cargo:rerun-if-changed=formats/{n}");
        let path = dir.join(n);
        writeln!(out, "    ({n:?}, include_str!({:?})),", path.display().to_string()).expect("write to string");
    }
    out.push_str("]\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets it")).join("formats.rs");
    std::fs::write(dest, out).expect("write OUT_DIR/formats.rs");
}
