//! Any bytes with the format detected, as `reconcile` does for every file it walks.
#![no_main]

use fundrecon::parse::{self, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse::parse("fuzz", data, None, &Limits::default());
});
