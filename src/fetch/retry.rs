//! Backoff for transient failures: exponential from a base delay, capped, with jitter so
//! that several channels hitting the same outage do not retry in step.

use std::time::Duration;

/// The longest single wait, whatever the attempt number.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Retries after the first attempt.
    pub retries: u32,
    pub base: Duration,
}

impl Policy {
    /// The wait after failed attempt `attempt` (1-based): `base · 2^(attempt-1)`, capped
    /// at [`MAX_DELAY`], then scaled by a random factor in [0.5, 1.5).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20)).min(MAX_DELAY);
        exp.mul_f64(0.5 + jitter())
    }
}

/// A number in [0, 1) that differs between processes and calls. Not for cryptography.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_bounds() {
        let p = Policy { retries: 5, base: Duration::from_millis(100) };
        for attempt in 1..=12 {
            let d = p.delay(attempt);
            let exp = Duration::from_millis(100 * (1u64 << (attempt - 1))).min(MAX_DELAY);
            assert!(d >= exp / 2 && d < exp.mul_f64(1.5), "attempt {attempt}: {d:?}");
        }
        let many: std::collections::HashSet<_> = (0..20).map(|_| p.delay(3)).collect();
        assert!(many.len() > 1, "jittered");
    }
}
