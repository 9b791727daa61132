//! Exact interest amounts and half-up rounding.
//!
//! Interest is `积数 × rate% / (100 × day basis)`; dividing early would round at a point the
//! agreement does not name. A [`Ratio`] keeps the exact numerator (a decimal: 积数 × rate)
//! over an integer denominator, parts add exactly, and rounding happens only where the
//! agreement says, half-up (away from zero at the midpoint: 12.345 → 12.35), computed in
//! integers so no intermediate 28-digit quotient can move a result across a midpoint.
//! Banker's rounding never appears.

use rust_decimal::{Decimal, RoundingStrategy};

/// `num / den`, exactly. `den` is positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub num: Decimal,
    pub den: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    pub fn new(num: Decimal, den: u64) -> Ratio {
        Ratio { num, den: den.max(1) }
    }

    pub fn zero() -> Ratio {
        Ratio { num: Decimal::ZERO, den: 1 }
    }

    /// Exact sum; `None` only on overflow.
    pub fn checked_add(self, other: Ratio) -> Option<Ratio> {
        if self.den == other.den {
            return Some(Ratio { num: self.num.checked_add(other.num)?, den: self.den });
        }
        let g = gcd(self.den, other.den);
        let lcm = (self.den / g).checked_mul(other.den)?;
        let a = self.num.checked_mul(Decimal::from(lcm / self.den))?;
        let b = other.num.checked_mul(Decimal::from(lcm / other.den))?;
        Some(Ratio { num: a.checked_add(b)?, den: lcm })
    }

    /// Sum of many; `None` on overflow.
    pub fn sum<I: IntoIterator<Item = Ratio>>(items: I) -> Option<Ratio> {
        items.into_iter().try_fold(Ratio::zero(), |acc, r| acc.checked_add(r))
    }

    /// Rounded half-up (away from zero) to `dp` decimal places, exactly; `dp` ≤ 10.
    /// `None` only when the result does not fit a `Decimal`.
    pub fn round(self, dp: u32) -> Option<Decimal> {
        let dp = dp.min(10);
        let m = self.num.mantissa();
        let n = m.checked_mul(10i128.checked_pow(dp)?)?;
        let d = 10i128.checked_pow(self.num.scale())?.checked_mul(i128::from(self.den))?;
        let (q, r) = (n.abs() / d, n.abs() % d);
        let q = if r.checked_mul(2)? >= d { q + 1 } else { q };
        let q = if n < 0 { -q } else { q };
        Decimal::try_from_i128_with_scale(q, dp).ok()
    }
}

/// Half-up to the fen (2 places) of an already exact decimal.
pub fn half_up(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn tc6_half_up_not_bankers() {
        // 积数 1,234,500 at 0.36 % / 360 = 12.345 exactly → 12.35 (banker's would say 12.34).
        let r = Ratio::new(dec!(1234500) * dec!(0.36), 36000);
        assert_eq!(r.round(3), Some(dec!(12.345)));
        assert_eq!(r.round(2), Some(dec!(12.35)));
        assert_eq!(half_up(dec!(12.345), 2), dec!(12.35));
        assert_eq!(half_up(dec!(-12.345), 2), dec!(-12.35));
        assert_eq!(Ratio::new(dec!(-444420), 36000).round(2), Some(dec!(-12.35)));
    }

    #[test]
    fn tc7_per_segment_vs_once() {
        let a = Ratio::new(dec!(1234500) * dec!(0.36), 36000);
        let b = Ratio::new(dec!(2345500) * dec!(0.36), 36000);
        assert_eq!(b.round(2), Some(dec!(23.46)));
        assert_eq!(a.round(2).unwrap() + b.round(2).unwrap(), dec!(35.81));
        assert_eq!(a.checked_add(b).unwrap().round(2), Some(dec!(35.80)));
    }

    #[test]
    fn repeating_fractions_and_mixed_denominators() {
        // 1/3 rounds down, 2/3 up; a month-method part (/1200) adds exactly to a day part (/36000).
        assert_eq!(Ratio::new(dec!(1), 3).round(2), Some(dec!(0.33)));
        assert_eq!(Ratio::new(dec!(2), 3).round(2), Some(dec!(0.67)));
        let s = Ratio::new(dec!(1), 1200).checked_add(Ratio::new(dec!(1), 36000)).unwrap();
        assert_eq!(s, Ratio::new(dec!(31), 36000));
        assert_eq!(Ratio::new(dec!(1), 365).checked_add(Ratio::new(dec!(1), 360)).unwrap().den, 26280);
    }
}
