//! The deposit agreement (存款优惠协议) as data, its dated rate table, and validation.
//!
//! An [`Agreement`] names the product (活期, 协定 with its 基本存款额度, 1-/7-day 通知, 定期
//! placed from the account), a rate table with one row per effective date (each row gives
//! the % p.a. of every leg the product needs), the day basis, what a mid-period rate change
//! does (分段计息 or the settlement-day rate without split), where rounding happens, the 协定
//! excess unit, the settlement calendar, dates of effect and expiry, and the bank.
//!
//! Two ways in, both validated the same way ([`Agreement::check`]):
//! - serde (`deny_unknown_fields`) for agreements embedded in the config or stored in the
//!   database, then [`Agreement::validate`];
//! - [`Agreement::from_toml`], which walks the TOML itself so that it reports *every*
//!   problem at once (unknown keys, wrong types, numbers that are not numbers, rates out of
//!   order, missing legs), each with its TOML path and line (the walker is in `terms/load.rs`).
//!
//! Money and rates are strings in TOML (`"1.25"`): floats are not exact and are refused.

use super::calendar::SettlementCalendar;
use super::error::TermsProblem;
use super::notice::NoticeWithdrawal;
use super::time_deposit::TimeMethod;
use super::{InterestError, MAX_AMOUNT, MAX_DATE, MIN_DATE};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

mod load;
pub use load::MAX_TOML_BYTES;

/// The deposit product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Product {
    /// 单位活期: the whole balance at the demand rate.
    #[serde(rename = "demand")]
    Demand,
    /// 协定存款: up to the base amount at the demand rate, the excess at the agreed rate.
    #[serde(rename = "agreed")]
    Agreed,
    /// 1-day 通知存款.
    #[serde(rename = "notice_1d")]
    Notice1d,
    /// 7-day 通知存款.
    #[serde(rename = "notice_7d")]
    Notice7d,
    /// 定期 placed from the account.
    #[serde(rename = "time")]
    Time,
}

impl Product {
    pub const ALL: [Product; 5] =
        [Product::Demand, Product::Agreed, Product::Notice1d, Product::Notice7d, Product::Time];

    pub fn name(self) -> &'static str {
        match self {
            Product::Demand => "demand",
            Product::Agreed => "agreed",
            Product::Notice1d => "notice_1d",
            Product::Notice7d => "notice_7d",
            Product::Time => "time",
        }
    }

    pub fn parse(s: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Accrues on daily balances per settlement window (活期, 协定)?
    pub fn is_windowed(self) -> bool {
        matches!(self, Product::Demand | Product::Agreed)
    }

    /// The notice period in days, for notice deposits.
    pub fn notice_days(self) -> Option<i64> {
        match self {
            Product::Notice1d => Some(1),
            Product::Notice7d => Some(7),
            _ => None,
        }
    }

    /// The product's own rate leg (besides the demand leg every product may fall back to).
    pub fn own_leg(self) -> Leg {
        match self {
            Product::Demand => Leg::Demand,
            Product::Agreed => Leg::Agreed,
            Product::Notice1d => Leg::Notice1d,
            Product::Notice7d => Leg::Notice7d,
            Product::Time => Leg::Time,
        }
    }
}

/// A rate column of the rate table (and a leg of an interest computation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    Demand,
    Agreed,
    #[serde(rename = "notice_1d")]
    Notice1d,
    #[serde(rename = "notice_7d")]
    Notice7d,
    Time,
}

impl Leg {
    pub const ALL: [Leg; 5] = [Leg::Demand, Leg::Agreed, Leg::Notice1d, Leg::Notice7d, Leg::Time];

    pub fn name(self) -> &'static str {
        match self {
            Leg::Demand => "demand",
            Leg::Agreed => "agreed",
            Leg::Notice1d => "notice_1d",
            Leg::Notice7d => "notice_7d",
            Leg::Time => "time",
        }
    }
}

/// What a rate change inside a settlement window does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateChange {
    /// 分段计息: each part of the window at the rate in force on its days (unit deposits).
    #[default]
    Split,
    /// The rate in force on the settlement day for the whole window, no split.
    SettlementDay,
}

impl RateChange {
    pub const ALL: [RateChange; 2] = [RateChange::Split, RateChange::SettlementDay];

    pub fn name(self) -> &'static str {
        match self {
            RateChange::Split => "split",
            RateChange::SettlementDay => "settlement_day",
        }
    }

    pub fn parse(s: &str) -> Option<RateChange> {
        RateChange::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Where interest is rounded half-up to the fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Once per settlement window (the sum of all parts).
    #[default]
    PerSettlement,
    /// Each rate segment (all legs together), then summed.
    PerSegment,
    /// Each leg (demand, agreed) over the whole window, then summed.
    PerLeg,
    /// Each leg in each segment, then summed.
    PerPart,
    /// Legacy: each part to the 厘 (0.001), summed, then to the fen.
    MillsThenFen,
}

impl Rounding {
    pub const ALL: [Rounding; 5] =
        [Rounding::PerSettlement, Rounding::PerSegment, Rounding::PerLeg, Rounding::PerPart, Rounding::MillsThenFen];

    pub fn name(self) -> &'static str {
        match self {
            Rounding::PerSettlement => "per_settlement",
            Rounding::PerSegment => "per_segment",
            Rounding::PerLeg => "per_leg",
            Rounding::PerPart => "per_part",
            Rounding::MillsThenFen => "mills_then_fen",
        }
    }

    pub fn parse(s: &str) -> Option<Rounding> {
        Rounding::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Which self-discipline cap applies (big state banks +10bp, others +20bp since 2023-05-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankClass {
    /// 工农中建交邮 (ICBC, ABC, BOC, CCB, BOCOM, PSBC).
    BigState,
    Other,
}

impl BankClass {
    pub fn name(self) -> &'static str {
        match self {
            BankClass::BigState => "big_state",
            BankClass::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<BankClass> {
        [BankClass::BigState, BankClass::Other].into_iter().find(|v| v.name() == s)
    }

    /// Recognises the six big state banks by code or Chinese name; `None` when unsure.
    pub fn of_bank(bank: &str) -> Option<BankClass> {
        let b = bank.trim();
        const CODES: [&str; 6] = ["ICBC", "ABC", "BOC", "CCB", "BOCOM", "PSBC"];
        const NAMES: [&str; 6] = ["工商银行", "农业银行", "中国银行", "建设银行", "交通银行", "邮政储蓄银行"];
        if CODES.iter().any(|c| c.eq_ignore_ascii_case(b)) || NAMES.iter().any(|n| b.contains(n)) {
            Some(BankClass::BigState)
        } else {
            None
        }
    }
}

/// One row of the rate table: % p.a. per leg, in force from `from` until the next row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRow {
    pub from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreed: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_1d: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_7d: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Decimal>,
}

impl RateRow {
    pub fn get(&self, leg: Leg) -> Option<Decimal> {
        match leg {
            Leg::Demand => self.demand,
            Leg::Agreed => self.agreed,
            Leg::Notice1d => self.notice_1d,
            Leg::Notice7d => self.notice_7d,
            Leg::Time => self.time,
        }
    }

    fn set(&mut self, leg: Leg, v: Option<Decimal>) {
        match leg {
            Leg::Demand => self.demand = v,
            Leg::Agreed => self.agreed = v,
            Leg::Notice1d => self.notice_1d = v,
            Leg::Notice7d => self.notice_7d = v,
            Leg::Time => self.time = v,
        }
    }
}

/// The row in force on `date` (the last row with `from ≤ date`; rows ascending).
pub fn row_on(rows: &[RateRow], date: NaiveDate) -> Option<&RateRow> {
    rows.iter().rev().find(|r| r.from <= date)
}

/// The rate of `leg` in force on `date`, or [`InterestError::NoRate`].
pub fn rate_on(rows: &[RateRow], leg: Leg, date: NaiveDate) -> Result<Decimal, InterestError> {
    row_on(rows, date).and_then(|r| r.get(leg)).ok_or(InterestError::NoRate { leg: leg.name(), date })
}

/// A 通知存款 placed from the account, with its withdrawals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeTerms {
    pub principal: Decimal,
    pub placed: NaiveDate,
    /// Minimum balance (起存/留存金额): a remainder below it closes the deposit.
    #[serde(default = "default_min_balance")]
    pub min_balance: Decimal,
    /// Minimum withdrawal; smaller withdrawals earn the demand rate.
    #[serde(default = "default_min_withdrawal")]
    pub min_withdrawal: Decimal,
    #[serde(default)]
    pub withdrawals: Vec<NoticeWithdrawal>,
}

pub fn default_min_balance() -> Decimal {
    Decimal::from(500_000)
}

pub fn default_min_withdrawal() -> Decimal {
    Decimal::from(100_000)
}

/// A 定期 placed from the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeTerms {
    pub principal: Decimal,
    pub placed: NaiveDate,
    pub term_months: u32,
    #[serde(default)]
    pub method: TimeMethod,
    /// Withdrawal day; absent = at maturity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<NaiveDate>,
    /// The rate fixed at placement; absent = the table's `time` rate on the placement day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
}

/// One deposit agreement of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    pub product: Product,
    /// The account the agreement belongs to (needed when several are stored together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// Cap class; absent = recognised from `bank` when possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_class: Option<BankClass>,
    /// First day the agreement is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts: Option<NaiveDate>,
    /// Last day the agreement is in force (到期日).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// 协定: 基本存款额度; the part of the balance up to it earns the demand rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_amount: Option<Decimal>,
    /// 协定 variant: the excess counts only in whole multiples of this (e.g. 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excess_unit: Option<Decimal>,
    /// Days per year in the daily rate (360 unless the agreement says otherwise).
    #[serde(default = "default_day_basis")]
    pub day_basis: u32,
    #[serde(default)]
    pub rate_change: RateChange,
    #[serde(default)]
    pub rounding: Rounding,
    #[serde(default)]
    pub settlement: SettlementCalendar,
    pub rates: Vec<RateRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<NoticeTerms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeTerms>,
}

pub fn default_day_basis() -> u32 {
    360
}

/// Rows in a rate table, withdrawals of a notice deposit: at most this many.
pub const MAX_ROWS: usize = 1000;

impl Agreement {
    /// Cap class: the explicit one, else recognised from the bank's name.
    pub fn bank_class(&self) -> Option<BankClass> {
        self.bank_class.or_else(|| self.bank.as_deref().and_then(BankClass::of_bank))
    }

    /// Is the agreement in force on `d`?
    pub fn in_force(&self, d: NaiveDate) -> bool {
        self.starts.is_none_or(|s| s <= d) && self.expires.is_none_or(|e| d <= e)
    }

    /// The rate legs each row of the table must give.
    pub fn needed_legs(&self) -> Vec<Leg> {
        match self.product {
            Product::Demand => vec![Leg::Demand],
            Product::Agreed => vec![Leg::Demand, Leg::Agreed],
            Product::Notice1d => vec![Leg::Demand, Leg::Notice1d],
            Product::Notice7d => vec![Leg::Demand, Leg::Notice7d],
            Product::Time if self.time.as_ref().is_some_and(|t| t.rate.is_some()) => vec![Leg::Demand],
            Product::Time => vec![Leg::Demand, Leg::Time],
        }
    }

    /// Every semantic problem, paths prefixed with `prefix` (e.g. `agreements[2]`).
    pub fn check(&self, prefix: &str) -> Vec<TermsProblem> {
        let mut out = Vec::new();
        check(self, prefix, &BTreeSet::new(), &mut out);
        out
    }

    /// `Ok` when [`Agreement::check`] finds nothing.
    pub fn validate(&self) -> Result<(), InterestError> {
        let problems = self.check("");
        if problems.is_empty() { Ok(()) } else { Err(InterestError::Terms(problems)) }
    }

    /// Reads and validates an agreement from TOML, reporting every problem with its path
    /// and line.
    pub fn from_toml(text: &str) -> Result<Agreement, InterestError> {
        load::load(text)
    }
}

/// The agreement of `account` in force on `date`, among several stored together.
pub fn agreement_on<'a>(agreements: &'a [Agreement], account: &str, date: NaiveDate) -> Option<&'a Agreement> {
    agreements.iter().find(|a| a.account.as_deref() == Some(account) && a.in_force(date))
}

/// Problems of a set of agreements stored together (`agreements[i]…` paths): each one's own
/// problems, a missing `account`, and two agreements of one account in force on the same day.
pub fn check_set(agreements: &[Agreement]) -> Vec<TermsProblem> {
    let mut out = Vec::new();
    for (i, a) in agreements.iter().enumerate() {
        let prefix = format!("agreements[{i}]");
        out.extend(a.check(&prefix));
        if a.account.is_none() {
            out.push(TermsProblem {
                path: format!("{prefix}.account"),
                line: None,
                message: "required when agreements are stored together".into(),
            });
        }
        for (j, b) in agreements.iter().enumerate().take(i) {
            let overlap = a.starts.max(b.starts).unwrap_or(MIN_DATE) <= a.expires.min_or(b.expires).unwrap_or(MAX_DATE);
            if a.account.is_some() && a.account == b.account && overlap {
                out.push(TermsProblem {
                    path: format!("{prefix}.starts"),
                    line: None,
                    message: format!("overlaps agreements[{j}] of the same account"),
                });
            }
        }
    }
    out
}

/// `min` of two optional end dates where `None` means open-ended.
trait MinOr {
    fn min_or(self, other: Self) -> Self;
}

impl MinOr for Option<NaiveDate> {
    fn min_or(self, other: Self) -> Self {
        match (self, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (x, None) | (None, x) => x,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Semantic checks, shared by both ways in. `broken` holds paths whose value could not be
// read (already reported); checks touching them are skipped to avoid follow-on noise.

fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() { rest.to_string() } else { format!("{prefix}.{rest}") }
}

fn money_problem(d: Decimal, allow_zero: bool) -> Option<String> {
    if d.scale() > 2 && d.normalize().scale() > 2 {
        Some(format!("{d} has more than two decimals (amounts are to the fen)"))
    } else if d.is_sign_negative() && !d.is_zero() || (!allow_zero && d.is_zero()) {
        Some(format!("{d} must be {}", if allow_zero { "zero or more" } else { "more than zero" }))
    } else if d > MAX_AMOUNT {
        Some(format!("{d} is larger than {MAX_AMOUNT}"))
    } else {
        None
    }
}

fn rate_problem(r: Decimal) -> Option<String> {
    if r.is_sign_negative() && !r.is_zero() || r > Decimal::from(20) {
        Some(format!("{r} is not a rate in % p.a. between 0 and 20"))
    } else if r.normalize().scale() > 6 {
        Some(format!("{r} has more than six decimals"))
    } else {
        None
    }
}

fn date_problem(d: NaiveDate) -> Option<String> {
    (!(MIN_DATE..=MAX_DATE).contains(&d)).then(|| format!("{d} is outside {MIN_DATE}…{MAX_DATE}"))
}

fn check(a: &Agreement, prefix: &str, broken: &BTreeSet<String>, out: &mut Vec<TermsProblem>) {
    let ok = |p: &str| !broken.contains(p);
    let mut push = |path: String, message: String| {
        if ok(&path) {
            out.push(TermsProblem { path, line: None, message })
        }
    };
    let product_ok = ok(&join(prefix, "product"));
    let agreed = a.product == Product::Agreed;

    match (a.base_amount, agreed) {
        (Some(b), true) => {
            if let Some(m) = money_problem(b, true) {
                push(join(prefix, "base_amount"), m)
            }
        }
        (None, true) => push(join(prefix, "base_amount"), "required for product \"agreed\"".into()),
        (Some(_), false) if product_ok => {
            push(join(prefix, "base_amount"), format!("only for product \"agreed\", not {:?}", a.product.name()))
        }
        _ => {}
    }
    if let Some(u) = a.excess_unit {
        if !agreed && product_ok {
            push(join(prefix, "excess_unit"), "only for product \"agreed\"".into());
        } else if let Some(m) = money_problem(u, false) {
            push(join(prefix, "excess_unit"), m);
        }
    }
    if ![360, 365].contains(&a.day_basis) {
        push(join(prefix, "day_basis"), format!("{} is not 360 or 365", a.day_basis));
    }
    for (key, d) in [("starts", a.starts), ("expires", a.expires)] {
        if let Some(m) = d.and_then(date_problem) {
            push(join(prefix, key), m);
        }
    }
    if let (Some(s), Some(e)) = (a.starts, a.expires)
        && s > e
    {
        push(join(prefix, "expires"), format!("{e} is before `starts` ({s})"));
    }
    for (field, m) in a.settlement.problems() {
        push(join(prefix, &format!("settlement.{field}")), m);
    }

    // The rate table.
    let rates_path = join(prefix, "rates");
    if a.rates.is_empty() {
        push(rates_path.clone(), "needs at least one row".into());
    }
    if a.rates.len() > MAX_ROWS {
        push(rates_path.clone(), format!("{} rows; at most {MAX_ROWS}", a.rates.len()));
    }
    let needed = if product_ok { a.needed_legs() } else { Vec::new() };
    let mut prev: Option<(usize, NaiveDate)> = None;
    for (i, row) in a.rates.iter().enumerate() {
        let rp = format!("{rates_path}[{i}]");
        let from_path = format!("{rp}.from");
        if ok(&from_path) {
            if let Some(m) = date_problem(row.from) {
                push(from_path.clone(), m);
            }
            if let Some((j, pd)) = prev
                && row.from <= pd
            {
                push(from_path.clone(), format!("{} is not after rates[{j}].from ({pd}); rows must ascend", row.from));
            }
            prev = Some((i, row.from));
        }
        for leg in Leg::ALL {
            let lp = format!("{rp}.{}", leg.name());
            match row.get(leg) {
                Some(r) => {
                    if let Some(m) = rate_problem(r) {
                        push(lp, m);
                    }
                }
                None if needed.contains(&leg) => push(
                    lp,
                    format!(
                        "missing: product {:?} needs {} in every row",
                        a.product.name(),
                        needed.iter().map(|l| l.name()).collect::<Vec<_>>().join(" and ")
                    ),
                ),
                None => {}
            }
        }
    }

    // Deposit tables.
    let notice_path = join(prefix, "notice");
    match (&a.notice, a.product.notice_days()) {
        (Some(_), None) if product_ok => push(notice_path.clone(), "only for notice products".into()),
        (Some(n), _) => {
            let np = |k: &str| format!("{notice_path}.{k}");
            if let Some(m) = money_problem(n.principal, false) {
                push(np("principal"), m);
            }
            if let Some(m) = date_problem(n.placed) {
                push(np("placed"), m);
            }
            for (k, v) in [("min_balance", n.min_balance), ("min_withdrawal", n.min_withdrawal)] {
                if let Some(m) = money_problem(v, true) {
                    push(np(k), m);
                }
            }
            if ok(&np("principal")) && ok(&np("min_balance")) && n.principal < n.min_balance {
                push(np("principal"), format!("{} is below the minimum balance {}", n.principal, n.min_balance));
            }
            if n.withdrawals.len() > MAX_ROWS {
                push(np("withdrawals"), format!("{} withdrawals; at most {MAX_ROWS}", n.withdrawals.len()));
            }
            let mut prev: Option<NaiveDate> = None;
            for (i, w) in n.withdrawals.iter().enumerate() {
                let wp = |k: &str| format!("{notice_path}.withdrawals[{i}].{k}");
                if ok(&wp("date")) {
                    if w.date < n.placed && ok(&np("placed")) {
                        push(wp("date"), format!("{} is before the deposit was placed ({})", w.date, n.placed));
                    }
                    if prev.is_some_and(|p| w.date < p) {
                        push(wp("date"), "withdrawals must be in date order".into());
                    }
                    prev = Some(w.date);
                }
                if let Some(m) = money_problem(w.amount, false) {
                    push(wp("amount"), m);
                }
                if let Some(m) = w.notice_amount.and_then(|v| money_problem(v, false)) {
                    push(wp("notice_amount"), m);
                }
                if let Some(g) = w.notice_given {
                    if ok(&wp("date")) && g > w.date {
                        push(wp("notice_given"), format!("{g} is after the withdrawal ({})", w.date));
                    }
                    if let Some(nd) = w.notice_date
                        && nd < g
                    {
                        push(wp("notice_date"), format!("{nd} is before the notice was given ({g})"));
                    }
                } else if w.notice_amount.is_some() || w.notice_date.is_some() {
                    push(wp("notice_given"), "required with notice_amount or notice_date".into());
                }
            }
        }
        (None, _) => {}
    }
    let time_path = join(prefix, "time");
    match (&a.time, a.product) {
        (Some(_), p) if p != Product::Time && product_ok => push(time_path.clone(), "only for product \"time\"".into()),
        (Some(t), _) => {
            let tp = |k: &str| format!("{time_path}.{k}");
            if let Some(m) = money_problem(t.principal, false) {
                push(tp("principal"), m);
            }
            if let Some(m) = date_problem(t.placed) {
                push(tp("placed"), m);
            }
            if !(1..=120).contains(&t.term_months) {
                push(tp("term_months"), format!("{} is not 1 to 120 months", t.term_months));
            }
            if let Some(w) = t.withdrawn
                && w < t.placed
                && ok(&tp("placed"))
            {
                push(tp("withdrawn"), format!("{w} is before the deposit was placed ({})", t.placed));
            }
            if let Some(m) = t.rate.and_then(rate_problem) {
                push(tp("rate"), m);
            }
        }
        (None, _) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    const GOOD: &str = r#"
product = "agreed"
base_amount = "30000000.00"
day_basis = 360
rate_change = "split"
rounding = "per_settlement"
[[rates]]
from = "2025-03-21"
demand = "0.35"
agreed = "1.25"
[[rates]]
from = 2025-05-20
demand = "0.25"
agreed = "1.05"
"#;

    #[test]
    fn loads_the_issue_example() {
        let a = Agreement::from_toml(GOOD).unwrap();
        assert_eq!(a.product, Product::Agreed);
        assert_eq!(a.base_amount, Some(dec!(30000000.00)));
        assert_eq!(a.rates.len(), 2);
        assert_eq!(rate_on(&a.rates, Leg::Agreed, "2025-05-19".parse().unwrap()).unwrap(), dec!(1.25));
        assert_eq!(rate_on(&a.rates, Leg::Agreed, "2025-05-20".parse().unwrap()).unwrap(), dec!(1.05));
        assert!(rate_on(&a.rates, Leg::Agreed, "2025-03-20".parse().unwrap()).is_err());
        assert_eq!(a.settlement, SettlementCalendar::default());
        // Serde round trip (config / database path) gives the same agreement, still valid.
        let json = serde_json::to_string(&a).unwrap();
        let back: Agreement = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        back.validate().unwrap();
    }

    #[test]
    fn reports_every_problem_with_path_and_line() {
        let text = r#"product = "agreed"
colour = "blue"
day_basis = 366
[[rates]]
from = "2025-05-20"
demand = 0.35
agreed = "abc"
[[rates]]
from = "2025-03-21"
demand = "0.25"
agred = "1.05"
"#;
        let Err(InterestError::Terms(ps)) = Agreement::from_toml(text) else { panic!("should fail") };
        let shown: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
        let all = shown.join("\n");
        for want in [
            "`base_amount`: required for product \"agreed\"",
            "line 2, `colour`: unknown key",
            "line 3, `day_basis`: 366 is not 360 or 365",
            "line 6, `rates[0].demand`: expected a decimal number as a string, found float",
            "line 7, `rates[0].agreed`: \"abc\" is not a number",
            "line 9, `rates[1].from`: 2025-03-21 is not after rates[0].from",
            "line 11, `rates[1].agred`: unknown key",
            "line 8, `rates[1].agreed`: missing: product \"agreed\" needs demand and agreed",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        assert_eq!(ps.len(), 8, "{all}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Agreement::from_toml("product = \"demand\"\nrates = [\n").unwrap_err().to_string();
        assert!(err.contains("line 3") || err.contains("line 2"), "{err}");
    }

    #[test]
    fn serde_path_is_strict_too() {
        let text = GOOD.replace("rounding", "roundng");
        assert!(toml::from_str::<Agreement>(&text).is_err());
        let mut a = Agreement::from_toml(GOOD).unwrap();
        a.rates.swap(0, 1);
        a.excess_unit = Some(dec!(-1));
        let ps = a.check("agreements[3]");
        let paths: Vec<&str> = ps.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["agreements[3].excess_unit", "agreements[3].rates[1].from"]);
    }

    #[test]
    fn agreement_sets() {
        let mut a = Agreement::from_toml(GOOD).unwrap();
        a.account = Some("4500".into());
        a.starts = Some("2025-01-01".parse().unwrap());
        a.expires = Some("2025-12-31".parse().unwrap());
        let mut b = a.clone();
        b.starts = Some("2026-01-01".parse().unwrap());
        b.expires = None;
        assert!(check_set(&[a.clone(), b.clone()]).is_empty());
        assert_eq!(agreement_on(&[a.clone(), b.clone()], "4500", "2026-05-01".parse().unwrap()), Some(&b));
        assert_eq!(agreement_on(&[a.clone(), b.clone()], "4501", "2026-05-01".parse().unwrap()), None);
        b.starts = Some("2025-12-31".parse().unwrap());
        let ps = check_set(&[a.clone(), b]);
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].to_string(), "`agreements[1].starts`: overlaps agreements[0] of the same account");
        a.account = None;
        assert_eq!(check_set(&[a])[0].path, "agreements[0].account");
    }

    #[test]
    fn bank_classes() {
        assert_eq!(BankClass::of_bank("icbc"), Some(BankClass::BigState));
        assert_eq!(BankClass::of_bank("中国建设银行广西分行"), Some(BankClass::BigState));
        assert_eq!(BankClass::of_bank("广西北部湾银行"), None);
    }
}
