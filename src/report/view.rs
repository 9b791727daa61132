//! What the people-facing reports show, independent of the file format: a workbook of
//! sheets of typed cells. `xlsx` and `html` render the same [`Book`], so the Excel file
//! and the HTML page never disagree, and the XLSX golden test (read back with calamine)
//! checks the cells this module decides.
//!
//! Sheets: 汇总 (per account), 差异明细 (every open item), 已匹配 (every match),
//! 银行存款余额调节表 (two-column layout per account), 利息核对 (every interest credit).
//! Rows are sorted by stable keys, like the CSV reports.

use super::labels::{Labels, Lang, kind_en};
use super::reconciliation::{self, Item};
use super::{AccountResult, InterestRow};
use crate::discrepancy::{Discrepancy, Kind};
use crate::matching::FxMap;
use crate::store::{StoredEntry, StoredRecord};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::HashMap;

/// One cell. `Text` is data from outside (bank, books) and is always written as text,
/// never as a formula (see `cell`); `Label` is our own wording (headings, sections).
/// `Text` borrows from the results where it can: the 已匹配 sheet has a million rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    Empty,
    Label(String),
    /// A label shown in bold: section lines and balances of the 调节表.
    Heading(String),
    Text(Cow<'a, str>),
    Int(i64),
    Amount(Decimal),
    Date(NaiveDate),
}

impl<'a> Cell<'a> {
    /// The words of a label, heading or text cell; `None` for the others.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Label(s) | Cell::Heading(s) => Some(s),
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
    fn text(s: impl Into<Cow<'a, str>>) -> Cell<'a> {
        let s = s.into();
        if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
    }
    fn opt_text(s: &'a Option<String>) -> Cell<'a> {
        s.as_deref().map(Cell::text).unwrap_or(Cell::Empty)
    }
    fn opt_amount(x: Option<Decimal>) -> Cell<'a> {
        x.map(Cell::Amount).unwrap_or(Cell::Empty)
    }
    fn opt_date(x: Option<NaiveDate>) -> Cell<'a> {
        x.map(Cell::Date).unwrap_or(Cell::Empty)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Row 0 is the header: frozen, with an autofilter over the data.
    Table,
    /// A printed form (the 调节表): no filter, headings in bold.
    Form,
}

#[derive(Clone, Debug)]
pub struct Sheet<'a> {
    pub name: &'static str,
    pub layout: Layout,
    /// Column widths in Excel character units.
    pub widths: Vec<f64>,
    pub rows: Vec<Vec<Cell<'a>>>,
}

#[derive(Clone, Debug)]
pub struct Book<'a> {
    pub title: String,
    pub as_of: NaiveDate,
    pub lang: Lang,
    pub sheets: Vec<Sheet<'a>>,
}

/// Bound on one sheet (Excel's own limit is 1,048,576 rows): a report beyond it says so
/// in its last row instead of failing or writing a file Excel refuses.
pub const MAX_ROWS: usize = 1_000_000;

/// The date a set of results is reported as of: the latest `as_of`.
pub fn as_of(results: &[AccountResult]) -> NaiveDate {
    results.iter().map(|a| a.as_of).max().unwrap_or(NaiveDate::MIN)
}

pub fn book<'a>(results: &'a [AccountResult], lang: Lang, title: &str) -> Book<'a> {
    let l = lang.labels();
    let cut = |s: Sheet<'a>| Sheet { rows: bounded(s.rows, MAX_ROWS, lang), ..s };
    Book {
        title: title.to_string(),
        as_of: as_of(results),
        lang,
        sheets: vec![
            cut(summary(results, l, lang)),
            cut(open_items(results, l, lang)),
            // Cut already: it builds only the rows it keeps.
            matched(results, l, lang),
            cut(reconciliation_sheet(results, l, lang)),
            cut(interest(results, l, lang)),
        ],
    }
}

/// The run's own sheet (运行情况), from the daily job's summary extras: every batch with
/// its state and error, book import errors, agreement warnings, missing statements. A
/// mailed report must show a failed batch, not just the accounts that did reconcile.
pub fn run_sheet(extra: &serde_json::Value, lang: Lang) -> Option<Sheet<'static>> {
    let l = lang.labels();
    let str_of = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let list = |k: &str| extra.get(k).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    let batches = extra.get("batches")?.as_array()?;
    let mut rows = vec![labels(&[l.run_what, l.run_object, l.run_state, l.run_detail])];
    for b in batches {
        rows.push(vec![
            Cell::Label(l.run_batch.into()),
            Cell::text(format!("{} ({})", str_of(b, "channel"), str_of(b, "bank"))),
            Cell::Label(lang.state(&str_of(b, "state"))),
            // A batch done without its statement shows why here (`warning`).
            Cell::text(Some(str_of(b, "error")).filter(|e| !e.is_empty()).unwrap_or_else(|| str_of(b, "warning"))),
        ]);
    }
    for e in list("book_errors") {
        rows.push(vec![
            Cell::Label(l.run_book_error.into()),
            Cell::Empty,
            Cell::Label(lang.state("failed")),
            Cell::text(e.as_str().unwrap_or("").to_owned()),
        ]);
    }
    for w in list("book_withdrawn") {
        rows.push(vec![
            Cell::Label(l.run_book_withdrawn.into()),
            Cell::Empty,
            Cell::Empty,
            Cell::text(w.as_str().unwrap_or("").to_owned()),
        ]);
    }
    for w in list("interest_warnings") {
        rows.push(vec![
            Cell::Label(l.run_warning.into()),
            Cell::Empty,
            Cell::Empty,
            Cell::text(w.as_str().unwrap_or("").to_owned()),
        ]);
    }
    for m in list("missing_statements") {
        rows.push(vec![
            Cell::Label(l.run_missing.into()),
            Cell::text(format!("{} ({})", str_of(&m, "account_no"), str_of(&m, "channel"))),
            Cell::Label(lang.state(&str_of(&m, "status"))),
            Cell::text(format!("{} {} {}", str_of(&m, "date"), l.run_deadline, str_of(&m, "deadline"))),
        ]);
    }
    Some(Sheet { name: l.sheet_run, layout: Layout::Table, widths: vec![16.0, 30.0, 10.0, 80.0], rows })
}

fn labels(v: &[&str]) -> Vec<Cell<'static>> {
    v.iter().map(|s| if s.is_empty() { Cell::Empty } else { Cell::Label(s.to_string()) }).collect()
}

/// At most `max` rows, the last saying how many were left out and where they are.
pub fn bounded(mut rows: Vec<Vec<Cell<'_>>>, max: usize, lang: Lang) -> Vec<Vec<Cell<'_>>> {
    if rows.len() > max {
        let left_out = rows.len() - max;
        rows.truncate(max);
        rows.push(over_limit(max, left_out, lang));
    }
    rows
}

/// The last row of a sheet cut at `max` rows.
fn over_limit(max: usize, left_out: usize, lang: Lang) -> Vec<Cell<'static>> {
    vec![Cell::Label(match lang {
        Lang::Zh => format!("行数超过上限 {max}，另有 {left_out} 行未列出，见 CSV 报告"),
        Lang::En => format!("over the limit of {max} rows: {left_out} more rows are in the CSV reports"),
    })]
}

fn summary<'a>(results: &'a [AccountResult], l: &Labels, lang: Lang) -> Sheet<'a> {
    let mut header = labels(&[
        l.account_no,
        l.account_name,
        l.bank,
        l.currency,
        l.entries,
        l.matched_entries,
        l.book_records,
        l.matched_records,
    ]);
    header.extend(Kind::ALL.iter().map(|k| Cell::Label(lang.kind(*k).to_string())));
    header.extend(labels(&[l.open_total, l.bank_balance_date, l.bank_balance, l.book_balance]));
    let mut rows = vec![header];
    for a in results {
        let open = a.open_by_kind();
        let mut r = vec![
            Cell::text(a.account_no.as_str()),
            Cell::text(a.name.as_str()),
            Cell::text(a.bank.as_str()),
            Cell::text(a.currency.as_str()),
            Cell::Int(a.entries.len() as i64),
            Cell::Int(a.matched_entries() as i64),
            Cell::Int(a.records.len() as i64),
            Cell::Int(a.matched_records() as i64),
        ];
        r.extend(Kind::ALL.iter().map(|k| Cell::Int(open.get(k).copied().unwrap_or(0) as i64)));
        r.push(Cell::Int(a.discrepancies.len() as i64));
        r.push(Cell::opt_date(a.bank_closing.map(|(d, _)| d)));
        r.push(Cell::opt_amount(a.bank_closing.map(|(_, x)| x)));
        r.push(Cell::opt_amount(a.book_balance));
        rows.push(r);
    }
    let mut widths = vec![22.0, 24.0, 10.0, 6.0, 10.0, 10.0, 10.0, 10.0];
    widths.extend([10.0; 10]);
    widths.extend([10.0, 12.0, 18.0, 18.0]);
    Sheet { name: l.sheet_summary, layout: Layout::Table, widths, rows }
}

struct Lookup<'a> {
    entries: FxMap<i64, &'a StoredEntry>,
    records: FxMap<i64, &'a StoredRecord>,
}

impl<'a> Lookup<'a> {
    fn of(a: &'a AccountResult) -> Self {
        Lookup {
            entries: a.entries.iter().map(|e| (e.item.id, e)).collect(),
            records: a.records.iter().map(|r| (r.item.id, r)).collect(),
        }
    }
    /// Counterparty and narrative of an open item: from its bank entry, else its record.
    fn who_and_why(&self, d: &Discrepancy) -> (Option<String>, String) {
        let e = d.entry.and_then(|id| self.entries.get(&id));
        let r = d.record.and_then(|id| self.records.get(&id));
        let who = e
            .and_then(|e| e.item.counterparty_name.clone())
            .or_else(|| r.and_then(|r| r.item.counterparty_name.clone()));
        let why = match (e, r) {
            (Some(e), _) if !e.item.narrative.is_empty() => e.item.narrative.clone(),
            (_, Some(r)) => r.item.purpose.clone().unwrap_or_default(),
            _ => String::new(),
        };
        (who, why)
    }
}

fn open_items<'a>(results: &'a [AccountResult], l: &Labels, lang: Lang) -> Sheet<'a> {
    let header = labels(&[
        l.type_zh,
        l.type_en,
        l.account_no,
        l.date,
        l.amount,
        l.expected_amount,
        l.bank_ref,
        l.voucher_no,
        l.counterparty,
        l.narrative,
        l.age_days,
        l.rule,
        l.reason,
        l.action,
    ]);
    let mut items: Vec<(&AccountResult, &Discrepancy)> =
        results.iter().flat_map(|a| a.discrepancies.iter().map(move |d| (a, d))).collect();
    // The order of discrepancies.csv: account, date, type, references, detail.
    items.sort_by(|(a, x), (b, y)| {
        (&a.account_no, x.date, x.kind.as_str(), &x.bank_ref, &x.voucher_no, &x.detail).cmp(&(
            &b.account_no,
            y.date,
            y.kind.as_str(),
            &y.bank_ref,
            &y.voucher_no,
            &y.detail,
        ))
    });
    let lookups: HashMap<&str, Lookup> = results.iter().map(|a| (a.account_no.as_str(), Lookup::of(a))).collect();
    let mut rows = vec![header];
    for (a, d) in items {
        let (who, why) = lookups[a.account_no.as_str()].who_and_why(d);
        rows.push(vec![
            Cell::Label(d.kind.label_zh().to_string()),
            Cell::Label(kind_en(d.kind).to_string()),
            Cell::text(a.account_no.as_str()),
            Cell::Date(d.date),
            Cell::opt_amount(d.amount),
            Cell::opt_amount(d.expected),
            Cell::opt_text(&d.bank_ref),
            Cell::opt_text(&d.voucher_no),
            who.map(Cell::text).unwrap_or(Cell::Empty),
            Cell::text(why),
            Cell::Int(a.age_days(d)),
            Cell::text(d.rule.as_str()),
            Cell::text(d.detail.as_str()),
            Cell::Label(lang.action(d.kind).to_string()),
        ]);
    }
    Sheet {
        name: l.sheet_open,
        layout: Layout::Table,
        widths: vec![12.0, 18.0, 22.0, 11.0, 16.0, 16.0, 20.0, 18.0, 22.0, 28.0, 8.0, 16.0, 50.0, 40.0],
        rows,
    }
}

/// The texts of a match's entries or records: the one text borrowed (most matches),
/// several sorted and joined with `;`, none empty.
fn joined<'a>(mut it: impl Iterator<Item = &'a str>) -> Cow<'a, str> {
    let Some(first) = it.next() else { return Cow::Borrowed("") };
    let Some(second) = it.next() else { return Cow::Borrowed(first) };
    let mut v: Vec<&str> = [first, second].into_iter().chain(it).collect();
    v.sort_unstable();
    Cow::Owned(v.join(";"))
}

/// Every match, sorted by (account, bank date, references, vouchers, rule), cut at
/// [`MAX_ROWS`] like [`bounded`]. Only the keys of all matches are built; the rows only
/// for the matches kept (at two million matches, half of them are not).
fn matched<'a>(results: &'a [AccountResult], l: &Labels, lang: Lang) -> Sheet<'a> {
    let header = labels(&[
        l.account_no,
        l.rule,
        l.bank_date,
        l.bank_ref,
        l.bank_amount,
        l.book_date,
        l.voucher_no,
        l.book_amount,
        l.counterparty,
        l.reason,
    ]);
    let lookups: Vec<Lookup> = results.iter().map(Lookup::of).collect();
    // A match's entries and records, as stored (no allocation: most have one of each).
    let ents = |a: usize, m: usize| {
        let lk = &lookups[a];
        results[a].matches[m].entries.iter().filter_map(|id| lk.entries.get(id).copied())
    };
    let recs = |a: usize, m: usize| {
        let lk = &lookups[a];
        results[a].matches[m].records.iter().filter_map(|id| lk.records.get(id).copied())
    };
    // (account, bank date, refs, vouchers, rule) → (account index, match index)
    type Key<'a> = (&'a str, Option<NaiveDate>, Cow<'a, str>, Cow<'a, str>, &'static str);
    let mut keyed: Vec<(Key, (usize, usize))> = Vec::with_capacity(results.iter().map(|a| a.matches.len()).sum());
    for (ai, a) in results.iter().enumerate() {
        for (mi, m) in a.matches.iter().enumerate() {
            let refs = joined(ents(ai, mi).filter_map(|e: &'a StoredEntry| e.item.bank_ref.as_deref()));
            let vouchers = joined(recs(ai, mi).map(|r: &'a StoredRecord| r.item.voucher_no.as_str()));
            let bank_date = ents(ai, mi).map(|e| e.item.booking_date).min();
            keyed.push(((a.account_no.as_str(), bank_date, refs, vouchers, m.rule.as_str()), (ai, mi)));
        }
    }
    keyed.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
    let total = keyed.len() + 1;
    keyed.truncate(MAX_ROWS - 1);
    let mut rows = Vec::with_capacity(keyed.len() + 2);
    rows.push(header);
    let sum = |it: &mut dyn Iterator<Item = Decimal>| it.reduce(|x, y| x + y).map_or(Cell::Empty, Cell::Amount);
    for ((account, bank_date, refs, vouchers, rule), (ai, mi)) in keyed {
        let m = &results[ai].matches[mi];
        let who = ents(ai, mi)
            .find_map(|e| e.item.counterparty_name.as_deref())
            .or_else(|| recs(ai, mi).find_map(|r| r.item.counterparty_name.as_deref()));
        rows.push(vec![
            Cell::text(account),
            Cell::text(rule),
            Cell::opt_date(bank_date),
            Cell::text(refs),
            sum(&mut ents(ai, mi).map(|e| e.item.amount)),
            Cell::opt_date(recs(ai, mi).map(|r| r.item.date).min()),
            Cell::text(vouchers),
            sum(&mut recs(ai, mi).map(|r| r.item.amount)),
            who.map_or(Cell::Empty, Cell::text),
            Cell::text(m.detail.as_str()),
        ]);
    }
    if total > MAX_ROWS {
        rows.push(over_limit(MAX_ROWS, total - MAX_ROWS, lang));
    }
    Sheet {
        name: l.sheet_matched,
        layout: Layout::Table,
        widths: vec![22.0, 22.0, 11.0, 22.0, 16.0, 11.0, 28.0, 16.0, 22.0, 50.0],
        rows,
    }
}

/// The 调节表 of every account, one block under the other, in the usual two-column
/// layout: the bank statement side on the left, the books side on the right.
fn reconciliation_sheet<'a>(results: &'a [AccountResult], l: &Labels, lang: Lang) -> Sheet<'a> {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for a in results {
        rows.push(vec![
            Cell::Heading(l.sheet_reconciliation.to_string()),
            Cell::Empty,
            Cell::text(a.account_no.as_str()),
            Cell::Empty,
            Cell::Empty,
            Cell::text(a.name.as_str()),
        ]);
        let Some(s) = reconciliation::build(a) else {
            rows.push(vec![Cell::Label(l.rec_unavailable.to_string())]);
            rows.push(vec![]);
            continue;
        };
        rows.push(vec![Cell::Label(l.as_of.to_string()), Cell::Date(s.date)]);
        rows.push(vec![
            Cell::Heading(l.rec_bank_side.to_string()),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Heading(l.rec_book_side.to_string()),
        ]);
        rows.push(labels(&[
            l.rec_item,
            l.date,
            l.rec_reference,
            l.rec_amount,
            "",
            l.rec_item,
            l.date,
            l.rec_reference,
            l.rec_amount,
        ]));
        let line = |left: Vec<Cell<'a>>, right: Vec<Cell<'a>>| {
            let mut r = left;
            r.resize(4, Cell::Empty);
            r.push(Cell::Empty);
            r.extend(right);
            r
        };
        rows.push(line(
            vec![
                Cell::Heading(l.rec_bank_balance.to_string()),
                Cell::Date(s.date),
                Cell::Empty,
                Cell::Amount(s.bank_balance),
            ],
            vec![
                Cell::Heading(l.rec_book_balance.to_string()),
                Cell::Date(s.date),
                Cell::Empty,
                Cell::Amount(s.book_balance),
            ],
        ));
        // The two sides hold different numbers of items: each section is as tall as its
        // longer side.
        for (left_label, left, right_label, right) in [
            (l.rec_books_in, &s.books_in, l.rec_bank_in, &s.bank_in),
            (l.rec_books_out, &s.books_out, l.rec_bank_out, &s.bank_out),
        ] {
            let total = |v: &[Item]| Cell::Amount(v.iter().map(|i| i.amount).sum());
            rows.push(line(
                vec![Cell::Heading(left_label.to_string()), Cell::Empty, Cell::Empty, total(left)],
                vec![Cell::Heading(right_label.to_string()), Cell::Empty, Cell::Empty, total(right)],
            ));
            let item = |i: Option<&Item>| match i {
                Some(i) => vec![
                    Cell::Label(format!("  {}", lang.kind(i.kind))),
                    Cell::Date(i.date),
                    Cell::text(i.reference.clone()),
                    Cell::Amount(i.amount),
                ],
                None => vec![],
            };
            for k in 0..left.len().max(right.len()) {
                let mut r = line(item(left.get(k)), item(right.get(k)));
                r.resize(9, Cell::Empty);
                rows.push(r);
            }
        }
        rows.push(line(
            vec![Cell::Heading(l.rec_adjusted.to_string()), Cell::Empty, Cell::Empty, Cell::Amount(s.adjusted_bank())],
            vec![Cell::Heading(l.rec_adjusted.to_string()), Cell::Empty, Cell::Empty, Cell::Amount(s.adjusted_book())],
        ));
        rows.push(vec![
            Cell::Heading(l.rec_difference.to_string()),
            Cell::Empty,
            Cell::Label(if s.difference().is_zero() { l.rec_agrees } else { l.rec_disagrees }.to_string()),
            Cell::Amount(s.difference()),
        ]);
        rows.push(vec![]);
    }
    for r in &mut rows {
        while r.last() == Some(&Cell::Empty) {
            r.pop();
        }
    }
    Sheet {
        name: l.sheet_reconciliation,
        layout: Layout::Form,
        widths: vec![30.0, 11.0, 22.0, 18.0, 3.0, 30.0, 11.0, 22.0, 18.0],
        rows,
    }
}

fn interest<'a>(results: &'a [AccountResult], l: &Labels, lang: Lang) -> Sheet<'a> {
    let header = labels(&[
        l.account_no,
        l.credit_date,
        l.bank_ref,
        l.window_from,
        l.window_to,
        l.product,
        l.expected_interest,
        l.credited,
        l.difference,
        l.gain,
        l.status,
        l.reason,
    ]);
    let mut rows = vec![header];
    let mut all: Vec<(&str, &InterestRow)> =
        results.iter().flat_map(|a| a.interest.iter().map(move |r| (a.account_no.as_str(), r))).collect();
    all.sort_by(|(a, x), (b, y)| (a, x.credit_date, &x.bank_ref).cmp(&(b, y.credit_date, &y.bank_ref)));
    for (acct, r) in all {
        rows.push(vec![
            Cell::text(acct),
            Cell::Date(r.credit_date),
            Cell::opt_text(&r.bank_ref),
            Cell::opt_date(r.window.map(|(f, _)| f)),
            Cell::opt_date(r.window.map(|(_, t)| t)),
            Cell::opt_amount(r.balance_days),
            Cell::opt_amount(r.expected),
            Cell::Amount(r.credited),
            Cell::opt_amount(r.expected.map(|e| r.credited - e)),
            Cell::opt_amount(r.gain),
            Cell::Label(lang.interest_status(r.status).to_string()),
            Cell::text(r.detail.as_str()),
        ]);
    }
    Sheet {
        name: l.sheet_interest,
        layout: Layout::Table,
        widths: vec![22.0, 11.0, 20.0, 11.0, 11.0, 20.0, 16.0, 16.0, 14.0, 14.0, 10.0, 60.0],
        rows,
    }
}
