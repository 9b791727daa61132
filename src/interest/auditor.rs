//! The auditor's view: a balances CSV and one agreement in TOML → JSON.
//!
//! For 活期 and 协定: the settlement windows (Dec-21…Mar-20 etc.) cut to `[from, to]`; per
//! window the days, 积数 per leg and segment with the rates, interest per part (shown to six
//! decimals; the expected amount is rounded from the exact values as the agreement says),
//! what the agreement's own demand rate and the PBOC benchmark demand rate would have paid
//! on the same balances and the gain over each; totals and yearly sums; warnings. Every day
//! of `[from, to]` needs a balance: a missing day is an error naming it.
//!
//! For 通知 and 定期 the deposit and its withdrawals are in the TOML (`[notice]`, `[time]`);
//! the CSV may be empty or header-only and is not used, and `[from, to]` only bounds the
//! rate checks. Amounts are decimal strings in the canonical form of [`crate::money::canonical`].

use super::accrual::{AccrualSpec, Aggregate, DayBalances, Period, Variant, accrue, aggregate};
use super::balances::{balances_for, read_balances_csv};
use super::notice::{NoticeDeposit, notice_interest};
use super::rounding::Ratio;
use super::terms::{Agreement, Product, RateChange};
use super::time_deposit::{TimeDeposit, TimeMethod, time_deposit_interest};
use super::warnings::{self, Warning};
use super::{InterestError, MAX_DATE, MAX_DAYS, MIN_DATE, benchmark};
use crate::money::canonical;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Knobs of the auditor's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOptions {
    /// Warn when the agreement expires within this many days after `to`.
    pub expiry_warning_days: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions { expiry_warning_days: 30 }
    }
}

/// [`auditor_json_with`] with the default options.
pub fn auditor_json(
    balances_csv: &[u8],
    terms_toml: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Value, InterestError> {
    auditor_json_with(balances_csv, terms_toml, from, to, &AuditOptions::default())
}

/// A rate (% p.a.) in the same canonical form as amounts: `1.10`, `0.35`, `1.125`.
fn rate(r: Decimal) -> String {
    canonical(r)
}

fn shown(r: Ratio) -> Result<String, InterestError> {
    r.round(6).map(canonical).ok_or(InterestError::Overflow("formatting interest"))
}

fn opt_money(d: Option<Decimal>) -> Value {
    d.map(|d| Value::String(canonical(d))).unwrap_or(Value::Null)
}

fn opt_date(d: Option<NaiveDate>) -> Value {
    d.map(|d| Value::String(d.to_string())).unwrap_or(Value::Null)
}

/// The report for `[from, to]`.
pub fn auditor_json_with(
    balances_csv: &[u8],
    terms_toml: &str,
    from: NaiveDate,
    to: NaiveDate,
    opts: &AuditOptions,
) -> Result<Value, InterestError> {
    let agreement = Agreement::from_toml(terms_toml)?;
    check_range(from, to)?;
    let windowed = agreement.product.is_windowed();
    let empty = balances_csv.iter().all(|b| b.is_ascii_whitespace());
    let balances = if windowed || !empty { read_balances_csv(balances_csv)? } else { Default::default() };
    agreement_json(&agreement, &balances, from, to, opts)
}

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), InterestError> {
    if from > to {
        return Err(InterestError::Input(format!("`from` {from} is after `to` {to}")));
    }
    if from < MIN_DATE || to > MAX_DATE {
        return Err(InterestError::Input(format!("{from}…{to} is outside {MIN_DATE}…{MAX_DATE}")));
    }
    if (to - from).num_days() + 1 > MAX_DAYS {
        return Err(InterestError::Limit(format!("{from}…{to} is longer than {MAX_DAYS} days; split the period")));
    }
    Ok(())
}

/// The same report for an agreement already loaded and validated, over end-of-day
/// balances from anywhere (the daily job passes the ones computed from statements).
pub fn agreement_json(
    agreement: &Agreement,
    balances: &std::collections::BTreeMap<NaiveDate, Decimal>,
    from: NaiveDate,
    to: NaiveDate,
    opts: &AuditOptions,
) -> Result<Value, InterestError> {
    check_range(from, to)?;
    let agreement = agreement.clone();
    let windowed = agreement.product.is_windowed();
    let mut warnings: Vec<Warning> = Vec::new();
    warnings.extend(warnings::expiry(&agreement, from, to, opts.expiry_warning_days));
    let gaps = warnings::not_in_force(&agreement, from, to);
    if !gaps.is_empty() {
        let list = gaps.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(", ");
        warnings.push(Warning {
            code: "no_agreement",
            message: format!("the agreement is not in force on {list}; computed at its terms anyway"),
        });
    }
    warnings.extend(warnings::rate_checks(&agreement, from, to));

    let mut terms = json!({
        "bank": agreement.bank,
        "account": agreement.account,
        "starts": opt_date(agreement.starts),
        "expires": opt_date(agreement.expires),
        "day_basis": agreement.day_basis,
    });
    if windowed && let Value::Object(t) = &mut terms {
        t.insert("base_amount".into(), opt_money(agreement.base_amount));
        t.insert("excess_unit".into(), opt_money(agreement.excess_unit));
        t.insert("rate_change".into(), agreement.rate_change.name().into());
        t.insert("rounding".into(), agreement.rounding.name().into());
    }
    let mut out = json!({
        "product": agreement.product.name(),
        "from": from.to_string(),
        "to": to.to_string(),
        "terms": terms,
    });
    let body = if windowed {
        let daily = balances_for(balances, from, to)?;
        warnings.extend(warnings::negative_balances(from, &daily));
        windows_json(&agreement, from, to, &daily, &mut warnings)?
    } else {
        deposit_json(&agreement)?
    };
    if let (Value::Object(o), Value::Object(b)) = (&mut out, body) {
        o.extend(b);
        o.insert("warnings".into(), serde_json::to_value(&warnings).unwrap_or(Value::Null));
    }
    Ok(out)
}

fn windows_json(
    a: &Agreement,
    from: NaiveDate,
    to: NaiveDate,
    daily: &[Decimal],
    warnings: &mut Vec<Warning>,
) -> Result<Value, InterestError> {
    let spec = AccrualSpec::of(a)?;
    let demand_spec = AccrualSpec { product: Product::Demand, base_amount: Decimal::ZERO, ..spec };
    let bench_rates = benchmark::demand_table();
    let bench_spec = AccrualSpec {
        product: Product::Demand,
        base_amount: Decimal::ZERO,
        rates: &bench_rates,
        variant: Variant { rate_change: RateChange::Split, excess_unit: None, ..spec.variant },
    };
    let balances = DayBalances { first: from, balances: daily };
    let mut windows = Vec::new();
    let (mut expected, mut demand_total, mut bench_total) = (Vec::new(), Vec::new(), Vec::new());
    let mut bench_missing = false;
    for part in a.settlement.windows(from, to)? {
        let period = Period::from(&part);
        let acc = accrue(&spec, &period, &balances)?;
        let demand = accrue(&demand_spec, &period, &balances)?.expected;
        let bench = match accrue(&bench_spec, &period, &balances) {
            Ok(b) => Some(b.expected),
            Err(InterestError::NoRate { .. }) => {
                bench_missing = true;
                None
            }
            Err(e) => return Err(e),
        };
        expected.push((part.window.end, acc.expected));
        demand_total.push((part.window.end, demand));
        if let Some(b) = bench {
            bench_total.push((part.window.end, b));
        }
        let mut segments = Vec::new();
        for s in &acc.segments {
            let mut legs = Vec::new();
            for p in &s.parts {
                legs.push(json!({
                    "leg": p.leg.name(),
                    "rate": rate(p.rate),
                    "sum": canonical(p.sum),
                    "interest": shown(p.interest)?,
                }));
            }
            segments.push(json!({"from": s.from.to_string(), "to": s.to.to_string(), "days": s.days, "legs": legs}));
        }
        let mut legs = Vec::new();
        for (leg, sum, interest) in acc.legs() {
            legs.push(json!({"leg": leg.name(), "sum": canonical(sum), "interest": shown(interest)?}));
        }
        let unrounded = Ratio::sum(acc.segments.iter().flat_map(|s| s.parts.iter().map(|p| p.interest)))
            .ok_or(InterestError::Overflow("summing interest"))?;
        windows.push(json!({
            "from": part.from.to_string(),
            "to": part.to.to_string(),
            "days": part.days(),
            "window": {
                "from": part.window.start.to_string(),
                "to": part.window.end.to_string(),
                "settlement_date": part.window.end.to_string(),
                "credit_date": part.window.credit.to_string(),
            },
            "complete": part.complete(),
            "balance_sum": canonical(acc.balance_sum),
            "segments": segments,
            "legs": legs,
            "unrounded": shown(unrounded)?,
            "expected": canonical(acc.expected),
            "demand_rate_interest": canonical(demand),
            "gain": canonical(acc.expected - demand),
            "benchmark_demand_interest": opt_money(bench),
            "gain_over_benchmark": opt_money(bench.map(|b| acc.expected - b)),
        }));
    }
    if bench_missing {
        warnings.push(Warning {
            code: "no_benchmark",
            message: format!(
                "no benchmark demand rate on record before {}; not compared",
                benchmark::BENCHMARK[0].from
            ),
        });
    }
    let total = |v: &[(NaiveDate, Decimal)]| v.iter().map(|x| x.1).sum::<Decimal>();
    let (e, d, b) = (total(&expected), total(&demand_total), total(&bench_total));
    let years_e = aggregate(&expected, Aggregate::Year);
    let years_d = aggregate(&demand_total, Aggregate::Year);
    let by_year: Vec<Value> = years_e
        .iter()
        .zip(&years_d)
        .map(|((y, e), (_, d))| json!({"year": y, "expected": canonical(*e), "gain": canonical(*e - *d)}))
        .collect();
    Ok(json!({
        "windows": windows,
        "totals": {
            "days": daily.len(),
            "expected": canonical(e),
            "demand_rate_interest": canonical(d),
            "gain": canonical(e - d),
            "benchmark_demand_interest": if bench_missing { Value::Null } else { Value::String(canonical(b)) },
            "gain_over_benchmark": if bench_missing { Value::Null } else { Value::String(canonical(e - b)) },
        },
        "by_year": by_year,
    }))
}

fn deposit_json(a: &Agreement) -> Result<Value, InterestError> {
    match a.product {
        Product::Notice1d | Product::Notice7d => {
            let n = a.notice.as_ref().ok_or_else(|| {
                InterestError::terms(
                    "notice",
                    format!("required for product {}: the deposit and its withdrawals", a.product.name()),
                )
            })?;
            let dep = NoticeDeposit {
                product: a.product,
                principal: n.principal,
                placed: n.placed,
                min_balance: n.min_balance,
                min_withdrawal: n.min_withdrawal,
            };
            let r = notice_interest(&dep, &n.withdrawals, &a.rates, a.day_basis)?;
            let mut payments = Vec::new();
            for p in &r.payments {
                let mut parts = Vec::new();
                for x in &p.parts {
                    parts.push(json!({
                        "amount": canonical(x.amount),
                        "leg": x.leg.name(),
                        "rate": rate(x.rate),
                        "interest": shown(x.interest)?,
                        "reason": x.reason,
                    }));
                }
                payments.push(json!({
                    "date": p.date.to_string(),
                    "days": p.days,
                    "principal": canonical(p.principal),
                    "parts": parts,
                    "interest": canonical(p.interest),
                    "closes": p.closes,
                }));
            }
            Ok(json!({"deposit": {
                "principal": canonical(n.principal),
                "placed": n.placed.to_string(),
                "payments": payments,
                "interest": canonical(r.interest),
                "remaining": canonical(r.remaining),
                "closed_on": opt_date(r.closed_on),
            }}))
        }
        Product::Time => {
            let t = a.time.as_ref().ok_or_else(|| {
                InterestError::terms("time", "required for product time: principal, placed, term_months")
            })?;
            let dep = TimeDeposit::from_terms(t, &a.rates)?;
            let withdrawn = match t.withdrawn {
                Some(w) => w,
                None => dep.maturity()?,
            };
            let r = time_deposit_interest(&dep, withdrawn, t.method, &a.rates, a.day_basis)?;
            let mut parts = Vec::new();
            for p in &r.parts {
                parts.push(json!({
                    "from": p.from.to_string(),
                    "until": p.until.to_string(),
                    "days": p.days,
                    "months": p.months,
                    "leg": p.leg.name(),
                    "rate": rate(p.rate),
                    "interest": shown(p.interest)?,
                    "note": p.note,
                }));
            }
            let mut by_method = serde_json::Map::new();
            for m in [TimeMethod::Months, TimeMethod::Actual] {
                let x = time_deposit_interest(&dep, withdrawn, m, &a.rates, a.day_basis)?;
                by_method.insert(m.name().into(), Value::String(canonical(x.interest)));
            }
            Ok(json!({"deposit": {
                "principal": canonical(dep.principal),
                "placed": dep.placed.to_string(),
                "term_months": dep.term_months,
                "rate": rate(dep.rate),
                "maturity": r.maturity.to_string(),
                "withdrawn": r.withdrawn.to_string(),
                "status": r.status,
                "method": r.method.name(),
                "parts": parts,
                "interest": canonical(r.interest),
                "by_method": by_method,
            }}))
        }
        Product::Demand | Product::Agreed => Err(InterestError::Input("windowed product".into())),
    }
}
