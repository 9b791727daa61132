//! The interest check beside matching: end-of-day balances from the stored statements,
//! the expected interest of a settlement window under the account's agreement, and the
//! bank's credit compared with it to the fen.
//!
//! A bank interest credit (`interest_credit` after matching) is checked against the
//! window that closed the day before it was booked (credit on the 21st for the window
//! ending the 20th). Equal: it becomes a match with rule `interest`. Different: it stays
//! `interest_credit` with the expected amount and the difference, and the agreement
//! variant that would explain it, if one does. Not checkable (no agreement, statements
//! missing for part of the window): it stays open and says why.
//!
//! A credit the books already hold (matched with a booked interest voucher, rule
//! `kind_amount_date` or a reference) is checked all the same: equal, its match says so;
//! different, an `interest_credit` discrepancy with rule `interest_check` names the
//! shortfall (it is no 未达账项: the 调节表 leaves matched entries out).

use crate::discrepancy::{Discrepancy, Kind};
use crate::interest::{self, Agreement, Posting};
use crate::matching::{Match, Rule};
use crate::money::canonical;
use crate::report::InterestRow;
use crate::store::StoredEntry;
use crate::validate::StatementFacts;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The days a statement covers: from the day after its opening balance's date to its
/// closing date (MT940 dates the opening at the previous close); a statement whose
/// opening and closing carry the same date (camt OPBD/CLBD of one day) covers that day.
pub fn coverage(s: &StatementFacts) -> Option<(NaiveDate, NaiveDate)> {
    let (od, _) = s.opening?;
    let (cd, _) = s.closing?;
    let start = if od < cd { od.checked_add_days(Days::new(1))? } else { cd };
    Some((start, cd))
}

/// End-of-day interest-bearing balances (by value date) for every day of `from..=to`,
/// from stored statements and entries. Errors say what is missing.
pub fn balances(
    facts: &[StatementFacts],
    entries: &[StoredEntry],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, Decimal>, String> {
    let day_before = from.pred_opt().ok_or("date out of range")?;
    // The balance at the end of the day before `from`: a statement closing then, or the
    // opening of a statement whose coverage starts on `from`.
    let opening = facts
        .iter()
        .find_map(|s| s.closing.filter(|c| c.0 == day_before).map(|c| c.1))
        .or_else(|| facts.iter().find_map(|s| (coverage(s)?.0 == from).then_some(s.opening?.1)))
        .ok_or_else(|| format!("no statement gives the balance at the end of {day_before}"))?;
    let covered: Vec<(NaiveDate, NaiveDate)> = facts.iter().filter_map(coverage).collect();
    let postings: Vec<Posting> = entries
        .iter()
        .filter(|e| e.item.booking_date >= from && e.item.booking_date <= to)
        .map(|e| Posting {
            booking: e.item.booking_date,
            value: e.value_date.unwrap_or(e.item.booking_date),
            amount: e.item.amount,
        })
        .collect();
    let daily = interest::daily_balances(opening, from, to, &postings, &covered).map_err(|e| e.to_string())?;
    Ok(daily.accrual.iter().enumerate().map(|(i, b)| (from + Days::new(i as u64), *b)).collect())
}

/// The row of the interest section for credit `e`, before its check.
fn unchecked_row(e: &StoredEntry) -> InterestRow {
    InterestRow {
        credit_date: e.item.booking_date,
        bank_ref: e.item.bank_ref.clone(),
        credited: e.item.amount,
        window: None,
        expected: None,
        gain: None,
        balance_days: None,
        status: "not_checked",
        detail: String::new(),
    }
}

/// What a check found, into the row (its status and words are the caller's).
fn checked(row: &mut InterestRow, c: &Checked) {
    (row.window, row.expected, row.gain) = (Some((c.from, c.to)), Some(c.expected), Some(c.gain));
    row.balance_days = Some(c.balance_days);
}

/// Checks every open `interest_credit` of one account; moves the confirmed ones to
/// matches and annotates the others. Returns what it found, for the reports.
pub fn check_credits(
    agreements: &[Agreement],
    account_no: &str,
    facts: &[StatementFacts],
    entries: &[StoredEntry],
    matches: &mut Vec<Match>,
    discrepancies: &mut Vec<Discrepancy>,
) -> Vec<InterestRow> {
    let mut rows = Vec::new();
    let by_id: BTreeMap<i64, &StoredEntry> = entries.iter().map(|e| (e.item.id, e)).collect();
    let mut keep = Vec::with_capacity(discrepancies.len());
    for mut d in std::mem::take(discrepancies) {
        if d.kind != Kind::InterestCredit || d.amount.is_none_or(|a| a <= Decimal::ZERO) {
            keep.push(d);
            continue;
        }
        let Some(e) = d.entry.and_then(|id| by_id.get(&id)) else {
            keep.push(d);
            continue;
        };
        let mut row = unchecked_row(e);
        match check_one(agreements, account_no, facts, entries, e) {
            Ok(c) => {
                checked(&mut row, &c);
                if c.equal {
                    row.status = "equal";
                    row.detail = format!(
                        "interest for {}…{} is {} under the agreement, as credited",
                        c.from,
                        c.to,
                        canonical(c.expected)
                    );
                    matches.push(Match {
                        rule: Rule::Interest,
                        entries: vec![e.item.id],
                        records: vec![],
                        detail: row.detail.clone(),
                    });
                } else {
                    d.expected = Some(c.expected);
                    d.rule = "interest_check".into();
                    d.detail = format!(
                        "interest for {}…{}: expected {} under the agreement, credited {} (difference {}){}",
                        c.from,
                        c.to,
                        canonical(c.expected),
                        canonical(c.credited),
                        canonical(c.credited - c.expected),
                        if c.explained_by.is_empty() {
                            "; no agreement variant explains it".to_string()
                        } else {
                            format!("; explained by: {}", c.explained_by.join(" or "))
                        }
                    );
                    row.status = "discrepancy";
                    row.detail = d.detail.clone();
                    keep.push(d);
                }
            }
            Err(why) => {
                d.detail = format!("interest credit not checked: {why}");
                row.detail = d.detail.clone();
                keep.push(d);
            }
        }
        rows.push(row);
    }
    *discrepancies = keep;
    // Credits already paired with a voucher in the books: still checked.
    let booked: Vec<(usize, i64)> = matches
        .iter()
        .enumerate()
        .filter(|(_, m)| !matches!(m.rule, Rule::Interest | Rule::Return))
        .flat_map(|(mi, m)| m.entries.iter().map(move |&id| (mi, id)))
        .filter(|(_, id)| {
            by_id
                .get(id)
                .is_some_and(|e| e.item.kind == crate::statement::EntryKind::Interest && e.item.amount > Decimal::ZERO)
        })
        .collect();
    for (mi, id) in booked {
        let Some(e) = by_id.get(&id) else { continue };
        let mut row = unchecked_row(e);
        match check_one(agreements, account_no, facts, entries, e) {
            Ok(c) => {
                checked(&mut row, &c);
                if c.equal {
                    row.status = "equal";
                    row.detail = format!(
                        "interest for {}…{} is {} under the agreement, as credited and booked",
                        c.from,
                        c.to,
                        canonical(c.expected)
                    );
                    matches[mi].detail.push_str(&format!("; {}", row.detail));
                } else {
                    row.status = "discrepancy";
                    row.detail = format!(
                        "interest for {}…{}: expected {} under the agreement, credited and booked {} (difference {})",
                        c.from,
                        c.to,
                        canonical(c.expected),
                        canonical(c.credited),
                        canonical(c.credited - c.expected)
                    );
                    discrepancies.push(Discrepancy {
                        kind: Kind::InterestCredit,
                        account_no: account_no.to_string(),
                        entry: Some(e.item.id),
                        record: None,
                        statement: None,
                        bank_ref: e.item.bank_ref.clone(),
                        voucher_no: None,
                        date: e.item.booking_date,
                        amount: Some(e.item.amount),
                        expected: Some(c.expected),
                        rule: "interest_check".into(),
                        detail: row.detail.clone(),
                    });
                }
            }
            Err(why) => row.detail = format!("interest credit booked, not checked: {why}"),
        }
        rows.push(row);
    }
    rows
}

struct Checked {
    from: NaiveDate,
    to: NaiveDate,
    expected: Decimal,
    credited: Decimal,
    equal: bool,
    explained_by: Vec<String>,
    gain: Decimal,
    /// 积数: the sum of the window's end-of-day balances.
    balance_days: Decimal,
}

fn check_one(
    agreements: &[Agreement],
    account_no: &str,
    facts: &[StatementFacts],
    entries: &[StoredEntry],
    e: &StoredEntry,
) -> Result<Checked, String> {
    let settle = e.item.booking_date.pred_opt().ok_or("date out of range")?;
    let a = interest::terms::agreement_on(agreements, account_no, settle)
        .ok_or_else(|| format!("no agreement in force on {settle}"))?;
    if !a.product.is_windowed() {
        return Err(format!("the agreement's product {} is not settled on daily balances", a.product.name()));
    }
    let w = a.settlement.window_containing(settle).map_err(|x| x.to_string())?;
    if w.credit != e.item.booking_date {
        return Err(format!(
            "booked {} but the window {}…{} is credited on {}",
            e.item.booking_date, w.start, w.end, w.credit
        ));
    }
    let bal = balances(facts, entries, w.start, w.end)?;
    let daily: Vec<Decimal> = bal.values().copied().collect();
    let spec = interest::AccrualSpec::of(a).map_err(|x| x.to_string())?;
    let period = interest::Period { from: w.start, to: w.end, settlement: w.end };
    let day_balances = interest::DayBalances { first: w.start, balances: &daily };
    let c = interest::check_credit(&spec, &period, &day_balances, e.item.amount).map_err(|x| x.to_string())?;
    // The gain of the agreement: what it yields over the demand rate alone on the same
    // balances (for a demand agreement, zero).
    let demand_spec = interest::AccrualSpec { product: interest::Product::Demand, base_amount: Decimal::ZERO, ..spec };
    let demand = interest::accrue(&demand_spec, &period, &day_balances).map_err(|x| x.to_string())?.expected;
    let explained_by = c.to_json()["explained_by"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_object())
                .map(|o| {
                    o.iter().map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(", ")
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Checked {
        from: w.start,
        to: w.end,
        expected: c.expected,
        credited: c.credited,
        equal: c.equal,
        explained_by,
        gain: c.expected - demand,
        balance_days: daily.iter().sum(),
    })
}

/// `fundrecon interest --account`: the auditor's report over balances from the stored
/// statements, with what the bank credited on each window's credit date.
pub async fn account_report(
    cfg: &crate::config::Config,
    store: &crate::store::Store,
    account: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<serde_json::Value> {
    let acct = cfg.account(account).ok_or_else(|| anyhow::anyhow!("{account:?} is not a configured account"))?;
    let all = all_agreements(cfg, store).await?;
    let agreement = interest::terms::agreement_on(&all, &acct.number, to)
        .or_else(|| interest::terms::agreement_on(&all, &acct.number, from))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "account {account} has no agreement in force on {from} or {to} (add one under [[agreements]])"
            )
        })?;
    let facts = store.statement_facts(&acct.number).await?;
    let entries = store.entries(&acct.number).await?;
    let bal = balances(&facts, &entries, from, to).map_err(|e| anyhow::anyhow!("account {account}: {e}"))?;
    let mut report = interest::agreement_json(agreement, &bal, from, to, &interest::AuditOptions::default())?;
    if let Some(windows) = report["windows"].as_array_mut() {
        for w in windows {
            let credit_date: Option<NaiveDate> = w["window"]["credit_date"].as_str().and_then(|d| d.parse().ok());
            let credited: Option<Decimal> = credit_date.map(|cd| {
                entries
                    .iter()
                    .filter(|e| e.item.booking_date == cd && e.item.kind == crate::statement::EntryKind::Interest)
                    .map(|e| e.item.amount)
                    .sum()
            });
            let expected: Option<Decimal> = w["expected"].as_str().and_then(crate::money::parse_plain);
            let complete = w["complete"].as_bool().unwrap_or(false);
            w["credited"] = credited.filter(|c| !c.is_zero()).map(canonical).into();
            w["difference"] = match (credited.filter(|c| !c.is_zero()), expected, complete) {
                (Some(c), Some(e), true) => canonical(c - e).into(),
                _ => serde_json::Value::Null,
            };
        }
    }
    Ok(report)
}

/// The report as a table for people.
pub fn report_text(r: &serde_json::Value) -> String {
    use std::fmt::Write;
    let s = |v: &serde_json::Value| {
        v.as_str().map(str::to_string).unwrap_or_else(|| if v.is_null() { "-".into() } else { v.to_string() })
    };
    let mut out = String::new();
    let _ = writeln!(out, "{} {}…{}", s(&r["product"]), s(&r["from"]), s(&r["to"]));
    for w in r["windows"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "window {}…{} ({} days{}): 积数 {}  expected {}  credited {}  difference {}  gain over demand {}",
            s(&w["from"]),
            s(&w["to"]),
            s(&w["days"]),
            if w["complete"].as_bool() == Some(false) { ", partial" } else { "" },
            s(&w["balance_sum"]),
            s(&w["expected"]),
            s(&w["credited"]),
            s(&w["difference"]),
            s(&w["gain"])
        );
        for seg in w["segments"].as_array().into_iter().flatten() {
            for leg in seg["legs"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "  {}…{} {:<8} rate {:>6}%  积数 {:>22}  interest {}",
                    s(&seg["from"]),
                    s(&seg["to"]),
                    s(&leg["leg"]),
                    s(&leg["rate"]),
                    s(&leg["sum"]),
                    s(&leg["interest"])
                );
            }
        }
    }
    for d in r["deposit"].as_object().into_iter() {
        let _ = writeln!(out, "deposit: {}", serde_json::Value::Object(d.clone()));
    }
    for w in r["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "warning {}: {}", s(&w["code"]), s(&w["message"]));
    }
    out
}

/// The agreements in force for the daily job: the config's and those loaded into the
/// database, validated together (two agreements of one account on the same day is an
/// error, wherever each came from).
pub async fn all_agreements(
    cfg: &crate::config::Config,
    store: &crate::store::Store,
) -> anyhow::Result<Vec<Agreement>> {
    let mut all = cfg.agreements.clone();
    for (id, account, terms, _, _) in store.agreements().await? {
        let mut a = Agreement::from_toml(&terms).map_err(|e| anyhow::anyhow!("stored agreement {id}: {e}"))?;
        a.account.get_or_insert(account);
        all.push(a);
    }
    let problems = interest::terms::check_set(&all);
    if !problems.is_empty() {
        anyhow::bail!(
            "deposit agreements (config, then database, in that order): {}",
            problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>().join("; ")
        );
    }
    Ok(all)
}

/// `fundrecon agreements load`: validates one agreement (TOML, the shape of the config's
/// `[[agreements]]`) against the config and what is stored, then stores it.
pub async fn load_agreement(
    cfg: &crate::config::Config,
    store: &crate::store::Store,
    file: &std::path::Path,
    by: &str,
) -> anyhow::Result<(String, bool)> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let a = Agreement::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let account = a.account.clone().ok_or_else(|| {
        anyhow::anyhow!("{}: account: required (the account the agreement belongs to)", file.display())
    })?;
    if cfg.account(&account).is_none() {
        anyhow::bail!("{}: account: {account:?} is not a configured account", file.display());
    }
    // The same text again is a no-op, not an overlap with itself.
    if store.agreements().await?.iter().any(|row| row.2 == text) {
        return Ok((account, false));
    }
    let mut all = all_agreements(cfg, store).await?;
    all.push(a);
    let problems = interest::terms::check_set(&all);
    if !problems.is_empty() {
        anyhow::bail!(
            "{}: refused: {}",
            file.display(),
            problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>().join("; ")
        );
    }
    let new = store.load_agreement(&account, &text, by).await?;
    Ok((account, new))
}
