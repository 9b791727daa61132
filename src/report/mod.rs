//! Reports of one reconciliation: `matches.csv`, `discrepancies.csv`, `summary.json`,
//! `reconciliation.csv/json`, and for people `report.xlsx` and `report.html`.
//! Column sets and names are a stable interface (README). Rows are sorted by stable keys
//! so that the same data always gives byte-identical files, and every row names the
//! entries and records (by reference and voucher) that make its numbers.
//!
//! CSV files are for Excel: UTF-8 with a BOM, CRLF, and text cells that Excel would take
//! for a formula written as text (`cell`).

pub mod cell;
pub mod html;
pub mod labels;
pub mod month;
pub mod reconciliation;
pub mod staged;
pub mod view;
pub mod xlsx;

use crate::discrepancy::{Discrepancy, Kind};
use crate::matching::{Match, Rule};
use crate::money::canonical;
use crate::store::{StoredEntry, StoredRecord};
use cell::Col;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// One bank interest credit as the interest check saw it (the report's interest section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterestRow {
    pub credit_date: NaiveDate,
    pub bank_ref: Option<String>,
    pub credited: Decimal,
    /// The settlement window, when one could be determined.
    pub window: Option<(NaiveDate, NaiveDate)>,
    pub expected: Option<Decimal>,
    /// Expected minus what the agreement's demand rate alone would have paid.
    pub gain: Option<Decimal>,
    /// 积数 of the window: the sum of its end-of-day balances.
    pub balance_days: Option<Decimal>,
    /// `equal`, `discrepancy` or `not_checked`.
    pub status: &'static str,
    pub detail: String,
}

/// Everything known about one account after matching.
#[derive(Clone, Debug)]
pub struct AccountResult {
    pub account_no: String,
    pub name: String,
    pub currency: String,
    pub bank: String,
    pub entries: Vec<StoredEntry>,
    pub records: Vec<StoredRecord>,
    pub matches: Vec<Match>,
    pub discrepancies: Vec<Discrepancy>,
    /// Latest closing balance from the bank's statements.
    pub bank_closing: Option<(NaiveDate, Decimal)>,
    /// Book balance at the bank closing date, when the config gives an opening book balance.
    pub book_balance: Option<Decimal>,
    /// The interest check of every bank interest credit of the account.
    pub interest: Vec<InterestRow>,
    /// The date the result is reported as of (the business date of the run, or the last
    /// statement date in `reconcile`): open items' ages count to it.
    pub as_of: NaiveDate,
}

impl AccountResult {
    /// Entries paired with book records (a `return` link is not a pairing: the returned
    /// credit is also a `returned_payment` item, and its record is counted by its batch).
    pub fn matched_entries(&self) -> usize {
        self.matches.iter().filter(|m| !m.records.is_empty() && m.rule != Rule::Return).map(|m| m.entries.len()).sum()
    }
    pub fn matched_records(&self) -> usize {
        self.matches.iter().filter(|m| m.rule != Rule::Return).map(|m| m.records.len()).sum()
    }
    /// Days an open item has been open as of `as_of`, counted from its own date (the
    /// entry's booking date, the record's book date, the statement's date), so a rerun
    /// never resets it; never negative.
    pub fn age_days(&self, d: &Discrepancy) -> i64 {
        (self.as_of - d.date).num_days().max(0)
    }
    pub fn open_by_kind(&self) -> BTreeMap<Kind, usize> {
        let mut m = BTreeMap::new();
        for d in &self.discrepancies {
            *m.entry(d.kind).or_insert(0) += 1;
        }
        m
    }
}

/// Discrepancies that need a person. An item a person accepted as explained does not. `in_transit` is expected to clear by itself; an
/// `interest_credit` needs one only when the interest check found a difference (an
/// unchecked credit is reported, and does not by itself make a run "dirty").
pub fn needs_attention(d: &Discrepancy) -> bool {
    // Accepted as explained by a person (`fundrecon review confirm`): still reported.
    if d.rule == "acknowledged" {
        return false;
    }
    match d.kind {
        Kind::InTransit => false,
        Kind::InterestCredit => d.rule == "interest_check",
        _ => true,
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

/// One row of `matches.csv` before it is written: texts borrowed from the results, the
/// amount's text in a shared buffer (at two million rows, allocations per row were most
/// of the time).
struct MatchRow<'a> {
    account: &'a str,
    bank_ref: &'a str,
    date: NaiveDate,
    /// `canonical(amount)` in [`MatchRows::amounts`].
    amount: std::ops::Range<usize>,
    vouchers: std::borrow::Cow<'a, str>,
    rule: &'static str,
}

struct MatchRows<'a> {
    rows: Vec<MatchRow<'a>>,
    amounts: String,
}

/// Orders two dates as their ISO texts order: as dates for years 0 to 9999 (four digits,
/// no sign), by the texts otherwise.
fn date_text_order(a: NaiveDate, b: NaiveDate) -> std::cmp::Ordering {
    use chrono::Datelike;
    let plain = |d: NaiveDate| (0..=9999).contains(&d.year());
    if plain(a) && plain(b) { a.cmp(&b) } else { a.to_string().cmp(&b.to_string()) }
}

/// Every matched bank entry with its vouchers and rule, sorted as the written texts sort:
/// (account, bank reference, booking date, amount, vouchers, rule).
fn match_rows(results: &[AccountResult]) -> MatchRows<'_> {
    use std::borrow::Cow;
    use std::fmt::Write as _;
    // Sized at once: grown by doubling, each step copied millions of rows into freshly
    // faulted memory.
    let n: usize = results.iter().flat_map(|a| &a.matches).map(|m| m.entries.len()).sum();
    let mut out = MatchRows { rows: Vec::with_capacity(n), amounts: String::with_capacity(n * 12) };
    for a in results {
        let ents: crate::matching::FxMap<i64, &StoredEntry> = a.entries.iter().map(|e| (e.item.id, e)).collect();
        let recs: crate::matching::FxMap<i64, &StoredRecord> = a.records.iter().map(|r| (r.item.id, r)).collect();
        for m in &a.matches {
            let mut vouchers: Vec<&str> =
                m.records.iter().filter_map(|r| recs.get(r)).map(|r| r.item.voucher_no.as_str()).collect();
            vouchers.sort();
            let vouchers: Cow<'_, str> = match vouchers[..] {
                [one] => Cow::Borrowed(one),
                _ => Cow::Owned(vouchers.join(";")),
            };
            for e in m.entries.iter().filter_map(|e| ents.get(e)) {
                let at = out.amounts.len();
                // Writing into a String cannot fail.
                let _ = write!(out.amounts, "{}", crate::money::canonical_value(e.item.amount));
                out.rows.push(MatchRow {
                    account: a.account_no.as_str(),
                    bank_ref: opt(&e.item.bank_ref),
                    date: e.item.booking_date,
                    amount: at..out.amounts.len(),
                    vouchers: vouchers.clone(),
                    rule: m.rule.as_str(),
                });
            }
        }
    }
    let amounts = &out.amounts;
    out.rows.sort_unstable_by(|x, y| {
        (x.account, x.bank_ref)
            .cmp(&(y.account, y.bank_ref))
            .then_with(|| date_text_order(x.date, y.date))
            .then_with(|| amounts[x.amount.clone()].cmp(&amounts[y.amount.clone()]))
            .then_with(|| (&x.vouchers, x.rule).cmp(&(&y.vouchers, y.rule)))
    });
    out
}

/// `matches.csv`: one row per matched bank entry, written to `out` as it goes.
pub fn write_matches_csv<W: std::io::Write>(out: W, results: &[AccountResult]) -> std::io::Result<W> {
    use std::fmt::Write as _;
    let m = match_rows(results);
    // Text columns are guarded against formula injection; booking_date and amount are not
    // (a negative amount must stay a parseable number).
    use Col::{Number as N, Text as T};
    let mut csv = cell::ExcelCsv::new(
        out,
        &["account_no", "bank_ref", "booking_date", "amount", "voucher_nos", "rule"],
        [T, T, N, N, T, T],
    )?;
    let mut date = String::new();
    for r in &m.rows {
        date.clear();
        // Writing into a String cannot fail.
        let _ = write!(date, "{}", r.date);
        csv.row([r.account, r.bank_ref, &date, &m.amounts[r.amount.clone()], &r.vouchers, r.rule])?;
    }
    csv.finish()
}

pub fn discrepancies_csv(results: &[AccountResult]) -> Vec<u8> {
    let mut rows: Vec<[String; 10]> = Vec::new();
    for a in results {
        for d in &a.discrepancies {
            rows.push([
                d.kind.as_str().to_string(),
                a.account_no.clone(),
                opt(&d.bank_ref).to_string(),
                opt(&d.voucher_no).to_string(),
                d.date.to_string(),
                d.amount.map(canonical).unwrap_or_default(),
                d.expected.map(canonical).unwrap_or_default(),
                d.detail.clone(),
                d.rule.clone(),
                a.age_days(d).to_string(),
            ]);
        }
    }
    rows.sort_by(|x, y| (&x[1], &x[4], &x[0], &x[2], &x[3], &x[7]).cmp(&(&y[1], &y[4], &y[0], &y[2], &y[3], &y[7])));
    // Text columns guarded; date, amount, expected_amount and age_days left as they are.
    // `rule` and `age_days` came after the first eight (columns are only ever added).
    use Col::{Number as N, Text as T};
    cell::csv_for_excel(
        &[
            "type",
            "account_no",
            "bank_ref",
            "voucher_no",
            "date",
            "amount",
            "expected_amount",
            "detail",
            "rule",
            "age_days",
        ],
        &[T, T, T, T, N, N, N, T, T, N],
        rows,
    )
}

pub fn summary_json(results: &[AccountResult]) -> Value {
    let accounts: Vec<Value> = results
        .iter()
        .map(|a| {
            let open: serde_json::Map<String, Value> =
                a.open_by_kind().into_iter().map(|(k, n)| (k.as_str().to_string(), json!(n))).collect();
            json!({
                "account_no": a.account_no,
                "name": a.name,
                "bank": a.bank,
                "currency": a.currency,
                "entries": a.entries.len(),
                "matched_entries": a.matched_entries(),
                "book_records": a.records.len(),
                "matched_records": a.matched_records(),
                "open": open,
                "bank_closing": a.bank_closing.map(|(d, x)| json!({"date": d.to_string(), "amount": canonical(x)})),
                "book_balance": a.book_balance.map(canonical),
                "interest": a.interest.iter().map(interest_row_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for a in results {
        for (k, n) in a.open_by_kind() {
            *totals.entry(k.as_str()).or_insert(0) += n;
        }
    }
    json!({
        "accounts": accounts,
        "interest_by_bank": interest_totals(results),
        "open_totals": totals,
        "matches": results.iter().map(|a| a.matches.len()).sum::<usize>(),
    })
}

fn interest_row_json(r: &InterestRow) -> Value {
    json!({
        "credit_date": r.credit_date.to_string(),
        "bank_ref": r.bank_ref,
        "window": r.window.map(|(f, t)| json!({"from": f.to_string(), "to": t.to_string()})),
        "credited": canonical(r.credited),
        "expected": r.expected.map(canonical),
        "difference": r.expected.map(|e| canonical(r.credited - e)),
        "gain": r.gain.map(canonical),
        "balance_days": r.balance_days.map(canonical),
        "status": r.status,
        "detail": r.detail,
    })
}

/// Checked interest summed per bank and quarter (by settlement date) and per bank and
/// year: expected, credited, difference and the agreements' gain over the demand rate.
/// Only credits that could be checked count (a `not_checked` credit has no expectation).
pub fn interest_totals(results: &[AccountResult]) -> Value {
    let mut by: BTreeMap<(String, String), [Decimal; 3]> = BTreeMap::new();
    for a in results {
        for r in &a.interest {
            let (Some((_, to)), Some(expected), Some(gain)) = (r.window, r.expected, r.gain) else { continue };
            use chrono::Datelike;
            let quarter = format!("{}Q{}", to.year(), (to.month() - 1) / 3 + 1);
            for period in [quarter, to.year().to_string()] {
                let t = by.entry((a.bank.clone(), period)).or_insert([Decimal::ZERO; 3]);
                t[0] += expected;
                t[1] += r.credited;
                t[2] += gain;
            }
        }
    }
    Value::Array(
        by.into_iter()
            .map(|((bank, period), [e, c, g])| {
                json!({"bank": bank, "period": period, "expected": canonical(e), "credited": canonical(c), "difference": canonical(c - e), "gain": canonical(g)})
            })
            .collect(),
    )
}

/// A report file format (`[report] formats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `matches.csv`, `discrepancies.csv`, `reconciliation.csv`
    Csv,
    /// `summary.json`, `reconciliation.json`
    Json,
    /// `report.xlsx`
    Xlsx,
    /// `report.html`
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Json, Format::Xlsx, Format::Html];
}

/// What to write and in which language (`[report]` in the config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub lang: labels::Lang,
    pub formats: Vec<Format>,
}

impl Default for Options {
    fn default() -> Self {
        Options { lang: labels::Lang::Zh, formats: Format::ALL.to_vec() }
    }
}

/// Writes every report file into `dir` (created if needed), in Chinese.
pub fn write_all(dir: &Path, results: &[AccountResult], extra: Option<Value>) -> std::io::Result<()> {
    write_with(dir, results, extra, &Options::default())
}

/// One report file (the test hook [`staged::fail_point`] first).
fn put(path: &Path, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    staged::fail_point(path)?;
    std::fs::write(path, bytes)
}

/// Writes the report files `opts` asks for into `dir` (created if needed).
pub fn write_with(dir: &Path, results: &[AccountResult], extra: Option<Value>, opts: &Options) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let want = |f: Format| opts.formats.contains(&f);
    // How long each part takes, for `bench-reconcile` (FUNDRECON_LOG=fundrecon::report=debug).
    let mut clock = std::time::Instant::now();
    let mut lap = |part: &str| {
        tracing::debug!(part, seconds = clock.elapsed().as_secs_f64(), "report part {part}");
        clock = std::time::Instant::now();
    };
    // The daily job's extras (batches, errors, warnings) also make the 运行情况 sheet.
    let run_sheet = extra.as_ref().and_then(|e| view::run_sheet(e, opts.lang));
    std::thread::scope(|scope| -> std::io::Result<()> {
        // The CSV reports on their own thread, beside the workbook: at a million matches
        // each takes seconds, and neither needs the other.
        let csv = want(Format::Csv).then(|| {
            scope.spawn(|| -> std::io::Result<()> {
                let t = std::time::Instant::now();
                let path = dir.join("matches.csv");
                staged::fail_point(&path)?;
                let file = std::fs::File::create(path)?;
                // into_inner flushes, and reports a failed last write.
                write_matches_csv(std::io::BufWriter::with_capacity(1 << 20, file), results)?
                    .into_inner()
                    .map_err(|e| e.into_error())?;
                put(&dir.join("discrepancies.csv"), discrepancies_csv(results))?;
                tracing::debug!(part = "csv", seconds = t.elapsed().as_secs_f64(), "report part csv");
                Ok(())
            })
        });
        if want(Format::Json) {
            let mut s = summary_json(results);
            if let Some(Value::Object(m)) = extra {
                for (k, v) in m {
                    s[k] = v;
                }
            }
            put(&dir.join("summary.json"), serde_json::to_string_pretty(&s).expect("json") + "\n")?;
        }
        // 银行存款余额调节表 of every account with a book balance.
        let stmts: Vec<reconciliation::Statement> = results.iter().filter_map(reconciliation::build).collect();
        if !stmts.is_empty() {
            if want(Format::Csv) {
                put(&dir.join("reconciliation.csv"), reconciliation::to_csv(&stmts))?;
            }
            if want(Format::Json) {
                let v: Vec<Value> = stmts.iter().map(reconciliation::to_json).collect();
                put(&dir.join("reconciliation.json"), serde_json::to_string_pretty(&v).expect("json") + "\n")?;
            }
        }
        lap("json");
        if want(Format::Xlsx) || want(Format::Html) {
            let mut book = view::book(results, opts.lang, opts.lang.labels().title);
            book.sheets.extend(run_sheet);
            lap("book");
            if want(Format::Html) {
                put(&dir.join("report.html"), html::page(&book))?;
                lap("html");
            }
            if want(Format::Xlsx) {
                let bytes = xlsx::workbook(&book)?;
                put(&dir.join("report.xlsx"), bytes)?;
                lap("xlsx");
            }
            // Freed beside the CSV thread instead of after it (a million rows of cells).
            scope.spawn(move || drop(book));
        }
        match csv.map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(std::io::Error::other("writing the CSV reports stopped")),
            None => Ok(()),
        }
    })
}

/// The per-account table printed at the end of a run.
pub fn summary_text(results: &[AccountResult]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for a in results {
        let _ = writeln!(s, "{} {} ({}, {})", a.account_no, a.name, a.bank, a.currency);
        let _ = writeln!(
            s,
            "  entries read {:>6}   matched {:>6}   book records {:>6}   matched {:>6}",
            a.entries.len(),
            a.matched_entries(),
            a.records.len(),
            a.matched_records()
        );
        let open = a.open_by_kind();
        if open.is_empty() {
            let _ = writeln!(s, "  open: none");
        } else {
            let parts: Vec<String> = open.iter().map(|(k, n)| format!("{} {n}", k.as_str())).collect();
            let _ = writeln!(s, "  open: {}", parts.join(", "));
        }
        let bank = a
            .bank_closing
            .map(|(d, x)| format!("{} on {d}", crate::money::grouped(x)))
            .unwrap_or_else(|| "no statement".into());
        let book = a
            .book_balance
            .map(crate::money::grouped)
            .unwrap_or_else(|| "n/a (no opening book balance configured)".into());
        let _ = writeln!(s, "  bank closing balance {bank}   book balance {book}");
        for r in &a.interest {
            let what = match (r.status, r.expected) {
                ("equal", _) => "equals the agreement".to_string(),
                ("discrepancy", Some(e)) => format!(
                    "expected {} (difference {})",
                    crate::money::grouped(e),
                    crate::money::grouped(r.credited - e)
                ),
                _ => "not checked".to_string(),
            };
            let _ =
                writeln!(s, "  interest credited {} on {}: {what}", crate::money::grouped(r.credited), r.credit_date);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::date_text_order;
    use chrono::NaiveDate;

    /// matches.csv sorts dates as their written texts sort, also where chrono writes a
    /// sign or five digits.
    #[test]
    fn dates_sort_as_their_texts() {
        let years = [-262_000, -10_000, -1, 0, 1, 999, 1000, 1969, 2024, 9999, 10_000, 99_999, 262_000];
        let mut dates = Vec::new();
        for y in years {
            for (m, d) in [(1, 1), (2, 28), (12, 31)] {
                dates.push(NaiveDate::from_ymd_opt(y, m, d).unwrap());
            }
        }
        for a in &dates {
            for b in &dates {
                assert_eq!(date_text_order(*a, *b), a.to_string().cmp(&b.to_string()), "{a} vs {b}");
            }
        }
    }
}
