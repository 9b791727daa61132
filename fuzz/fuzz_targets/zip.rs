//! Any bytes as a delivered zip: an error is fine, a panic, hang or runaway allocation is
//! a bug. A small total and member bound make the limit paths reachable; whatever is
//! returned must be within them and hashed right.
#![no_main]

use fundrecon::unzip::{self, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let small = Limits { max_total_bytes: 64 << 10, max_members: 8, max_ratio: 50 };
    for limits in [Limits::new(16 << 20), small] {
        let r = unzip::extract("fuzz.zip", std::io::Cursor::new(data), &limits, |_| Ok(Vec::new()));
        if let Ok(members) = r {
            assert!(!members.is_empty() && members.len() <= limits.max_members);
            assert!(members.iter().map(|m| m.size).sum::<u64>() <= limits.max_total_bytes);
            for m in &members {
                assert_eq!(m.size, m.out.len() as u64);
                assert_eq!(m.sha256, fundrecon::archive::sha256_hex(&m.out));
                assert!(!m.path.contains("..") || m.path.split('/').all(|c| c != ".."));
            }
        }
    }
});
