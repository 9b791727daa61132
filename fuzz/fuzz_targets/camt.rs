//! Any bytes through the camt parser: an error is fine, a panic, hang or runaway
//! allocation is a bug. Small limits make the limit paths reachable too.
#![no_main]

use fundrecon::parse::{self, Format, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let small = Limits { max_line_bytes: 512, max_statements: 8, max_entries_per_statement: 64, max_xml_depth: 16, max_text_bytes: 256, ..Limits::default() };
    for limits in [Limits::default(), small] {
        if let Ok(stmts) = parse::parse("fuzz", data, Some(Format::Camt), &limits) {
            // Whatever parses must also serialise (the stable JSON interface).
            let _ = parse::json::statements(&stmts).to_string();
        }
    }
});
