//! The bank's interest credit against the expected amount.
//!
//! Equal to the fen, or a discrepancy: the difference (credited − expected) and the
//! calculation variants that would reproduce the credited amount. The variants are the
//! choices banks are known to make differently (domain §1.4–1.5): split at a rate change or
//! the settlement-day rate, the rounding point, the day basis (360/365), and for 协定 the
//! excess counted in full or only in whole ¥10,000s. Every combination is recomputed; the
//! explanations reported are the minimal ones (a variant that changes more than another
//! matching one is left out), so "the bank used the settlement-day rate" is not drowned in
//! "…and also rounded per part".

use super::InterestError;
use super::accrual::{AccrualSpec, DayBalances, Period, Variant, accrue};
use super::terms::{Product, RateChange, Rounding};
use crate::money::canonical;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashSet;

/// One changed choice: field, the agreement's value, the alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub agreed: String,
    pub alternative: String,
}

/// A variant that reproduces the credited amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub variant: Variant,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCheck {
    pub expected: Decimal,
    pub credited: Decimal,
    /// Credited − expected.
    pub difference: Decimal,
    pub equal: bool,
    /// Minimal variants reproducing the credit; empty when equal or when none does.
    pub explained_by: Vec<Explanation>,
    pub variants_tried: usize,
}

fn unit_name(u: Option<Decimal>) -> String {
    u.map(canonical).unwrap_or_else(|| "none".into())
}

fn changes(agreed: &Variant, alt: &Variant) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |field, a: String, b: String| {
        if a != b {
            out.push(Change { field, agreed: a, alternative: b })
        }
    };
    push("rate_change", agreed.rate_change.name().into(), alt.rate_change.name().into());
    push("rounding", agreed.rounding.name().into(), alt.rounding.name().into());
    push("day_basis", agreed.day_basis.to_string(), alt.day_basis.to_string());
    push("excess_unit", unit_name(agreed.excess_unit), unit_name(alt.excess_unit));
    out
}

/// Compares `credited` with the interest `spec` expects for `period`.
pub fn check_credit(
    spec: &AccrualSpec,
    period: &Period,
    balances: &DayBalances,
    credited: Decimal,
) -> Result<CreditCheck, InterestError> {
    let agreed = spec.variant;
    let expected = accrue(spec, period, balances)?.expected;
    let difference = credited - expected;
    if difference.is_zero() {
        return Ok(CreditCheck {
            expected,
            credited,
            difference,
            equal: true,
            explained_by: Vec::new(),
            variants_tried: 0,
        });
    }
    let units: Vec<Option<Decimal>> = if spec.product == Product::Agreed {
        let mut u = vec![agreed.excess_unit, None, Some(Decimal::from(10_000))];
        u.dedup();
        u.into_iter().collect::<Vec<_>>()
    } else {
        vec![agreed.excess_unit]
    };
    let mut seen = HashSet::new();
    let mut matches = Vec::new();
    let mut tried = 0;
    for rate_change in RateChange::ALL {
        for day_basis in [agreed.day_basis, 360, 365] {
            for &excess_unit in &units {
                let base = Variant { rate_change, rounding: agreed.rounding, day_basis, excess_unit };
                if !seen.insert((rate_change, day_basis, excess_unit)) {
                    continue;
                }
                let alt_spec = AccrualSpec { variant: base, ..*spec };
                let acc = accrue(&alt_spec, period, balances)?;
                for rounding in Rounding::ALL {
                    let v = Variant { rounding, ..base };
                    if v == agreed {
                        continue;
                    }
                    tried += 1;
                    if acc.rounded(rounding)? == credited {
                        matches.push(Explanation { variant: v, changes: changes(&agreed, &v) });
                    }
                }
            }
        }
    }
    // Keep the minimal explanations: drop one whose changed fields include another's.
    let fields = |e: &Explanation| e.changes.iter().map(|c| c.field).collect::<HashSet<_>>();
    let minimal: Vec<Explanation> = matches
        .iter()
        .filter(|e| {
            let f = fields(e);
            !matches.iter().any(|o| {
                let g = fields(o);
                g.len() < f.len() && g.is_subset(&f)
            })
        })
        .cloned()
        .collect();
    Ok(CreditCheck { expected, credited, difference, equal: false, explained_by: minimal, variants_tried: tried })
}

impl CreditCheck {
    /// `{expected, credited, difference, status, explained_by: [{rate_change: …}, …]}`.
    pub fn to_json(&self) -> Value {
        json!({
            "expected": canonical(self.expected),
            "credited": canonical(self.credited),
            "difference": canonical(self.difference),
            "status": if self.equal { "equal" } else { "discrepancy" },
            "explained_by": self.explained_by.iter().map(|e| {
                let mut m = serde_json::Map::new();
                for c in &e.changes {
                    m.insert(c.field.to_string(), Value::String(c.alternative.clone()));
                }
                Value::Object(m)
            }).collect::<Vec<_>>(),
            "variants_tried": self.variants_tried,
        })
    }
}
