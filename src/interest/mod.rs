//! Interest under the negotiated deposit terms (存款优惠协议). See issue 6.
//!
//! The agreement is data ([`terms::Agreement`]): product, dated rate table per leg, day
//! basis, what a mid-period rate change does (分段计息 or the settlement-day rate), where
//! rounding happens, the 协定 base amount and its variants, the settlement calendar. From
//! end-of-day balances the module computes the expected interest per settlement window
//! (积数 per leg and segment), the gain over the demand rate, checks a bank's credit
//! against the expectation and names the variant that would explain a difference, and
//! raises warnings (expiry, missing agreement, rates above the self-discipline cap or below
//! the benchmark). Everything here is pure: no database, no clock, no files.
//!
//! Map, in pipeline order:
//! - [`terms`]: the agreement, its rate table, TOML loading and validation;
//! - [`calendar`]: settlement windows (20th/21st of Mar/Jun/Sep/Dec by default);
//! - [`balances`]: end-of-day balances from postings (积数调整, statement gaps) or a CSV;
//! - [`accrual`]: 积数 per leg and segment, interest per part, rounding;
//! - [`rounding`]: exact interest fractions and half-up rounding to the fen;
//! - [`compare`]: the bank's credit against the expectation, variants that explain it;
//! - [`notice`], [`time_deposit`]: 通知存款 and 定期 placed from the account;
//! - [`benchmark`]: PBOC benchmark rates and self-discipline caps as data;
//! - [`warnings`]: expiry, coverage, cap and benchmark checks;
//! - [`auditor`]: balances CSV + terms TOML → the auditor's JSON.

pub mod accrual;
pub mod auditor;
pub mod balances;
pub mod benchmark;
pub mod calendar;
pub mod compare;
mod error;
pub mod notice;
pub mod rounding;
pub mod terms;
pub mod time_deposit;
pub mod warnings;

pub use accrual::{Accrual, AccrualSpec, DayBalances, Period, Variant, accrue, aggregate};
pub use auditor::{AuditOptions, agreement_json, auditor_json, auditor_json_with};
pub use balances::{DailyBalances, Posting, daily_balances, read_balances_csv};
pub use compare::{CreditCheck, check_credit};
pub use error::{CsvProblem, DateRange, InterestError, TermsProblem};
pub use notice::{NoticeDeposit, NoticeResult, NoticeWithdrawal, notice_interest};
pub use terms::{Agreement, Leg, Product, RateChange, RateRow, Rounding};
pub use time_deposit::{TimeDeposit, TimeResult, time_deposit_interest};
pub use warnings::Warning;

/// At most this many days (about ten years) in one computation.
pub const MAX_DAYS: i64 = 3660;

/// Largest balance or amount accepted (¥10^15); keeps every 积数 and product exact.
pub const MAX_AMOUNT: rust_decimal::Decimal = rust_decimal::dec!(1_000_000_000_000_000);

/// Earliest and latest dates accepted anywhere in the module.
pub const MIN_DATE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(d) => d,
    None => chrono::NaiveDate::MIN,
};
pub const MAX_DATE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => chrono::NaiveDate::MAX,
};
