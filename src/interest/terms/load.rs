//! Loading an [`Agreement`] from TOML text, reporting *every* problem at once.
//!
//! serde stops at the first error, so this walks the parsed document (`toml::de::DeTable`,
//! which keeps spans) itself: unknown keys, wrong types, numbers that are not numbers and
//! missing keys are collected with their TOML path and line, unreadable values are marked
//! "broken", and the semantic checks of [`super::check`] then run on what could be read,
//! skipping anything that touches a broken value so one typo yields one message.

use super::*;
use crate::money::parse_plain;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

const TOP_KEYS: &[&str] = &[
    "product",
    "account",
    "bank",
    "bank_class",
    "starts",
    "expires",
    "base_amount",
    "excess_unit",
    "day_basis",
    "rate_change",
    "rounding",
    "settlement",
    "rates",
    "notice",
    "time",
];
const RATE_KEYS: &[&str] = &["from", "demand", "agreed", "notice_1d", "notice_7d", "time"];
const SETTLEMENT_KEYS: &[&str] = &["months", "close_day"];
const NOTICE_KEYS: &[&str] = &["principal", "placed", "min_balance", "min_withdrawal", "withdrawals"];
const WITHDRAWAL_KEYS: &[&str] = &["date", "amount", "notice_given", "notice_amount", "notice_date"];
const TIME_KEYS: &[&str] = &["principal", "placed", "term_months", "method", "withdrawn", "rate"];

/// Largest terms text accepted.
pub const MAX_TOML_BYTES: usize = 1 << 20;

type Val<'i> = Spanned<DeValue<'i>>;

struct Tbl<'a, 'i> {
    path: String,
    table: &'a DeTable<'i>,
}

impl<'a, 'i> Tbl<'a, 'i> {
    fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

struct Loader<'t> {
    text: &'t str,
    problems: Vec<TermsProblem>,
    broken: BTreeSet<String>,
    lines: BTreeMap<String, usize>,
}

impl<'t> Loader<'t> {
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn fail(&mut self, path: String, line: Option<usize>, message: String) {
        self.broken.insert(path.clone());
        self.problems.push(TermsProblem { path, line, message });
    }

    /// Looks `key` up, remembering its line; `None` when absent.
    fn get<'a, 'i>(&mut self, t: &Tbl<'a, 'i>, key: &str) -> Option<&'a Val<'i>> {
        let v = t.table.get(key)?;
        let line = self.line(&v.span());
        self.lines.insert(t.at(key), line);
        Some(v)
    }

    fn wrong_type(&mut self, t: &Tbl, key: &str, v: &Val, want: &str) {
        let line = self.line(&v.span());
        let hint = if v.get_ref().is_float() || v.get_ref().is_integer() && want.contains("string") {
            " (write numbers as strings, e.g. \"1.25\": floats are not exact)"
        } else {
            ""
        };
        self.fail(t.at(key), Some(line), format!("expected {want}, found {}{hint}", v.get_ref().type_str()));
    }

    fn required<T>(&mut self, t: &Tbl, key: &str, got: Option<T>) -> Option<T> {
        if got.is_none() && !t.table.contains_key(key) {
            let line = self.lines.get(&t.path).copied();
            self.fail(t.at(key), line, "missing".into());
        }
        got
    }

    fn string(&mut self, t: &Tbl, key: &str) -> Option<String> {
        let v = self.get(t, key)?;
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.wrong_type(t, key, v, "a string");
                None
            }
        }
    }

    fn choice<T>(&mut self, t: &Tbl, key: &str, parse: fn(&str) -> Option<T>, names: &[&str]) -> Option<T> {
        let s = self.string(t, key)?;
        let parsed = parse(&s);
        if parsed.is_none() {
            let line = self.lines.get(&t.at(key)).copied();
            self.fail(t.at(key), line, format!("{s:?} is not one of {}", names.join(", ")));
        }
        parsed
    }

    fn decimal(&mut self, t: &Tbl, key: &str) -> Option<Decimal> {
        let v = self.get(t, key)?;
        let Some(s) = v.get_ref().as_str() else {
            self.wrong_type(t, key, v, "a decimal number as a string");
            return None;
        };
        let parsed = parse_plain(s.trim());
        if parsed.is_none() {
            let line = self.line(&v.span());
            self.fail(t.at(key), Some(line), format!("{s:?} is not a number (plain decimal, e.g. \"1.25\")"));
        }
        parsed
    }

    fn date(&mut self, t: &Tbl, key: &str) -> Option<NaiveDate> {
        let v = self.get(t, key)?;
        let line = self.line(&v.span());
        let parsed = match v.get_ref() {
            DeValue::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
                dt.date.and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()))
            }
            _ => {
                self.wrong_type(t, key, v, "a date (\"YYYY-MM-DD\")");
                return None;
            }
        };
        if parsed.is_none() {
            self.fail(t.at(key), Some(line), "not a date (\"YYYY-MM-DD\")".into());
        }
        parsed
    }

    fn uint(&mut self, t: &Tbl, key: &str) -> Option<u32> {
        let v = self.get(t, key)?;
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().and_then(|n| u32::try_from(n).ok()),
            _ => {
                self.wrong_type(t, key, v, "a whole number");
                return None;
            }
        };
        if parsed.is_none() {
            let line = self.line(&v.span());
            self.fail(t.at(key), Some(line), "not a whole number from 0 to 4294967295".into());
        }
        parsed
    }

    fn uints(&mut self, t: &Tbl, key: &str) -> Option<Vec<u32>> {
        let v = self.get(t, key)?;
        let Some(arr) = v.get_ref().as_array() else {
            self.wrong_type(t, key, v, "an array of whole numbers");
            return None;
        };
        let mut out = Vec::new();
        for item in arr.iter() {
            match item.get_ref() {
                DeValue::Integer(i) => {
                    match i64::from_str_radix(i.as_str(), i.radix()).ok().and_then(|n| u32::try_from(n).ok()) {
                        Some(n) => out.push(n),
                        None => {
                            let line = self.line(&item.span());
                            self.fail(t.at(key), Some(line), format!("{} is not a whole number", i.as_str()));
                            return None;
                        }
                    }
                }
                other => {
                    let line = self.line(&item.span());
                    self.fail(t.at(key), Some(line), format!("expected whole numbers, found {}", other.type_str()));
                    return None;
                }
            }
        }
        Some(out)
    }

    fn table<'a, 'i>(&mut self, t: &Tbl<'a, 'i>, key: &str) -> Option<Tbl<'a, 'i>> {
        let v = self.get(t, key)?;
        match v.get_ref() {
            DeValue::Table(table) => Some(Tbl { path: t.at(key), table }),
            _ => {
                self.wrong_type(t, key, v, "a table");
                None
            }
        }
    }

    fn tables<'a, 'i>(&mut self, t: &Tbl<'a, 'i>, key: &str) -> Option<Vec<Tbl<'a, 'i>>> {
        let v = self.get(t, key)?;
        let Some(arr) = v.get_ref().as_array() else {
            self.wrong_type(t, key, v, "an array of tables ([[...]])");
            return None;
        };
        if arr.len() > MAX_ROWS {
            let line = self.line(&v.span());
            self.fail(t.at(key), Some(line), format!("{} rows; at most {MAX_ROWS}", arr.len()));
            return None;
        }
        let mut out = Vec::new();
        for (i, item) in arr.iter().enumerate() {
            let path = format!("{}[{i}]", t.at(key));
            let line = self.line(&item.span());
            self.lines.insert(path.clone(), line);
            match item.get_ref() {
                DeValue::Table(table) => out.push(Tbl { path, table }),
                other => self.fail(path, Some(line), format!("expected a table, found {}", other.type_str())),
            }
        }
        Some(out)
    }

    /// Reports keys of `t` that are not in `known`.
    fn finish(&mut self, t: &Tbl, known: &[&str]) {
        for (k, v) in t.table.iter() {
            let key: &str = k.get_ref();
            if !known.contains(&key) {
                let line = self.line(&k.span());
                let _ = v;
                self.fail(t.at(key), Some(line), format!("unknown key (expected one of: {})", known.join(", ")));
            }
        }
    }

    fn placeholder_date() -> NaiveDate {
        MIN_DATE
    }

    fn rate_row(&mut self, t: &Tbl) -> RateRow {
        let from = self.date(t, "from");
        let from = self.required(t, "from", from).unwrap_or_else(Self::placeholder_date);
        let mut row = RateRow { from, demand: None, agreed: None, notice_1d: None, notice_7d: None, time: None };
        for leg in Leg::ALL {
            let v = self.decimal(t, leg.name());
            // A leg present but unreadable counts as present (already reported).
            let v = if v.is_none() && t.table.contains_key(leg.name()) { Some(Decimal::ZERO) } else { v };
            row.set(leg, v);
        }
        self.finish(t, RATE_KEYS);
        row
    }

    fn notice(&mut self, t: &Tbl) -> NoticeTerms {
        let principal = self.decimal(t, "principal");
        let principal = self.required(t, "principal", principal).unwrap_or(Decimal::ONE);
        let placed = self.date(t, "placed");
        let placed = self.required(t, "placed", placed).unwrap_or_else(Self::placeholder_date);
        let min_balance = self.decimal(t, "min_balance").unwrap_or_else(default_min_balance);
        let min_withdrawal = self.decimal(t, "min_withdrawal").unwrap_or_else(default_min_withdrawal);
        let mut withdrawals = Vec::new();
        for w in self.tables(t, "withdrawals").unwrap_or_default() {
            let date = self.date(&w, "date");
            let date = self.required(&w, "date", date).unwrap_or_else(Self::placeholder_date);
            let amount = self.decimal(&w, "amount");
            let amount = self.required(&w, "amount", amount).unwrap_or(Decimal::ONE);
            let notice_given = self.date(&w, "notice_given");
            let notice_amount = self.decimal(&w, "notice_amount");
            let notice_date = self.date(&w, "notice_date");
            self.finish(&w, WITHDRAWAL_KEYS);
            withdrawals.push(NoticeWithdrawal { date, amount, notice_given, notice_amount, notice_date });
        }
        self.finish(t, NOTICE_KEYS);
        NoticeTerms { principal, placed, min_balance, min_withdrawal, withdrawals }
    }

    fn time(&mut self, t: &Tbl) -> TimeTerms {
        let principal = self.decimal(t, "principal");
        let principal = self.required(t, "principal", principal).unwrap_or(Decimal::ONE);
        let placed = self.date(t, "placed");
        let placed = self.required(t, "placed", placed).unwrap_or_else(Self::placeholder_date);
        let term = self.uint(t, "term_months");
        let term_months = self.required(t, "term_months", term).unwrap_or(1);
        let method = self.choice(t, "method", TimeMethod::parse, &["months", "actual"]).unwrap_or_default();
        let withdrawn = self.date(t, "withdrawn");
        let rate = self.decimal(t, "rate");
        self.finish(t, TIME_KEYS);
        TimeTerms { principal, placed, term_months, method, withdrawn, rate }
    }
}

pub(super) fn load(text: &str) -> Result<Agreement, InterestError> {
    if text.len() > MAX_TOML_BYTES {
        return Err(InterestError::Limit(format!("terms: {} bytes; at most {MAX_TOML_BYTES}", text.len())));
    }
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e
                .span()
                .map(|s| text.as_bytes()[..s.start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1);
            return Err(InterestError::Terms(vec![TermsProblem {
                path: "(syntax)".into(),
                line,
                message: e.message().to_string(),
            }]));
        }
    };
    let mut l = Loader { text, problems: Vec::new(), broken: BTreeSet::new(), lines: BTreeMap::new() };
    let top = Tbl { path: String::new(), table: doc.get_ref() };

    let product = l.choice(&top, "product", Product::parse, &Product::ALL.map(|p| p.name()));
    let product = l.required(&top, "product", product).unwrap_or(Product::Demand);
    let account = l.string(&top, "account");
    let bank = l.string(&top, "bank");
    let bank_class = l.choice(&top, "bank_class", BankClass::parse, &["big_state", "other"]);
    let starts = l.date(&top, "starts");
    let expires = l.date(&top, "expires");
    let base_amount = l.decimal(&top, "base_amount");
    let excess_unit = l.decimal(&top, "excess_unit");
    let day_basis = l.uint(&top, "day_basis").unwrap_or_else(default_day_basis);
    let rate_change =
        l.choice(&top, "rate_change", RateChange::parse, &RateChange::ALL.map(|v| v.name())).unwrap_or_default();
    let rounding = l.choice(&top, "rounding", Rounding::parse, &Rounding::ALL.map(|v| v.name())).unwrap_or_default();
    let settlement = match l.table(&top, "settlement") {
        Some(t) => {
            let months = l.uints(&t, "months");
            let close_day = l.uint(&t, "close_day");
            l.finish(&t, SETTLEMENT_KEYS);
            let d = SettlementCalendar::default();
            SettlementCalendar { months: months.unwrap_or(d.months), close_day: close_day.unwrap_or(d.close_day) }
        }
        None => SettlementCalendar::default(),
    };
    let rate_tables = l.tables(&top, "rates");
    let rate_tables = l.required(&top, "rates", rate_tables);
    let rates = rate_tables.map(|ts| ts.iter().map(|t| l.rate_row(t)).collect()).unwrap_or_default();
    let notice = l.table(&top, "notice").map(|t| l.notice(&t));
    let time = l.table(&top, "time").map(|t| l.time(&t));
    l.finish(&top, TOP_KEYS);

    let agreement = Agreement {
        product,
        account,
        bank,
        bank_class,
        starts,
        expires,
        base_amount,
        excess_unit,
        day_basis,
        rate_change,
        rounding,
        settlement,
        rates,
        notice,
        time,
    };
    let mut semantic = Vec::new();
    check(&agreement, "", &l.broken, &mut semantic);
    for mut p in semantic {
        // The line of the value, else of the nearest enclosing table or row.
        let mut path = p.path.as_str();
        p.line = loop {
            if let Some(&line) = l.lines.get(path) {
                break Some(line);
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None => break None,
            }
        };
        l.problems.push(p);
    }
    if l.problems.is_empty() {
        return Ok(agreement);
    }
    l.problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    Err(InterestError::Terms(l.problems))
}
