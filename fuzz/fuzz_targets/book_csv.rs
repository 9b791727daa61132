//! Any bytes as a book CSV, in both directions.
#![no_main]

use fundrecon::book::{Direction, read_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_csv("fuzz.csv", data, Direction::Disbursement);
    let _ = read_csv("fuzz.csv", data, Direction::Receipt);
});
