//! Any bytes as a Chinese bank export (CSV/TXT in any encoding, .xls, .xlsx) through the
//! shipped layouts, detected and by name, and as a book export.
#![no_main]

use fundrecon::parse::table::{Options, layouts};
use fundrecon::parse::{Limits, json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    for layout in [None, Some("icbc-corporate"), Some("generic-flag")] {
        let opts = Options { layout, account: Some("FUZZ") };
        if let Ok(s) = layouts().parse_with("fuzz", data, &opts, &limits) {
            let _ = json::statements(&s).to_string();
        }
    }
    let _ = layouts().read_book("fuzz", data, &Options { layout: Some("book-generic"), account: None }, &limits);
});
