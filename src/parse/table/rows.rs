//! From a sheet whose header is known to records: noise rows skipped, every cell of a data
//! row read strictly, every error naming file, line, column and the offending text.

use super::detect::Match;
use super::layout::{AmountStyle, Layout, LayoutKind};
use super::source::{Row, Sheet};
use super::value::{self, Cell, TitleMonth, clean, header_key, is_placeholder, quote};
use crate::money::Currency;
use crate::parse::{Limits, Location, ParseError};
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;

/// Rows whose first cell starts like this are totals, titles or footers, never entries.
const NOISE: [&str; 26] = [
    "合计",
    "小计",
    "累计",
    "总计",
    "本页",
    "本月",
    "本日",
    "本期合计",
    "共计",
    "汇总",
    "笔数",
    "总笔数",
    "期初余额",
    "期末余额",
    "承前页",
    "过次页",
    "上日余额",
    "打印",
    "制表",
    "经办",
    "复核",
    "以上数据",
    "说明",
    "注:",
    "备注:",
    "导出",
];
/// Rows containing these end the table: what follows is footer.
const END: [&str; 4] = ["以下空白", "以下无数据", "以下无记录", "以下无交易"];
// `classify` looks for an END mark only in cells containing 以: every mark must start with
// it (checked when compiling; 以 is E4 BB A5 in UTF-8).
const _: () = {
    let mut i = 0;
    while i < END.len() {
        let b = END[i].as_bytes();
        assert!(b.len() >= 3 && b[0] == 0xE4 && b[1] == 0xBB && b[2] == 0xA5, "an END mark must start with 以");
        i += 1;
    }
};
/// A summary/narrative cell exactly equal to one of these marks a total row.
const TOTAL_CELLS: [&str; 12] = [
    "合计",
    "小计",
    "累计",
    "总计",
    "本页小计",
    "本页合计",
    "本月合计",
    "本日合计",
    "期初余额",
    "期末余额",
    "承前页",
    "过次页",
];

/// The first characters of [`TOTAL_CELLS`] (checked by a test).
const TOTAL_STARTS: [char; 8] = ['合', '小', '累', '总', '本', '期', '承', '过'];

/// One table ready to read: the sheet, its header match and what the rows above told.
pub(crate) struct Table<'a> {
    pub file: &'a str,
    pub sheet: &'a Sheet,
    pub layout: &'a Layout,
    pub m: &'a Match,
    pub spreadsheet: bool,
    pub meta_account: Option<String>,
    pub meta_currency: Option<Currency>,
    pub title: Option<TitleMonth>,
}

/// How a row after the header is treated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Data,
    Blank,
    /// Totals, titles, footers, text-only rows; the reason for `scan`.
    Skip(String),
    /// `以下空白`: the end of the table.
    End,
}

/// A row read into typed values. Statement and book fields share it.
#[derive(Clone, Debug)]
pub(crate) struct Rec {
    pub line: u64,
    pub location: String,
    pub date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub other_date: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
    /// Signed: money in positive.
    pub amount: Decimal,
    pub balance: Option<Decimal>,
    pub currency: Currency,
    pub account: Option<String>,
    pub bank_ref: Option<String>,
    pub customer_ref: Option<String>,
    pub end_to_end_id: Option<String>,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    pub counterparty_bank: Option<String>,
    pub text: String,
    pub type_code: Option<String>,
    pub voucher_no: Option<String>,
    pub batch_ref: Option<String>,
    /// Book layouts: the voucher's status (作废 …) and the voucher a negating row cancels.
    pub status: Option<String>,
    pub voids: Option<String>,
}

impl Table<'_> {
    fn err(&self, line: u64, field: Option<String>, message: String) -> ParseError {
        let message = match &self.sheet.name {
            Some(s) if self.spreadsheet => format!("{message} [sheet {s:?}]"),
            _ => message,
        };
        ParseError { file: self.file.to_string(), location: Location::Line(line), field, message }
    }

    pub(crate) fn location(&self, line: u64) -> String {
        match &self.sheet.name {
            Some(s) if self.spreadsheet => format!("sheet {s} row {line}"),
            _ => format!("line {line}"),
        }
    }

    fn header(&self) -> &Row {
        &self.sheet.rows[self.m.header]
    }

    /// `debit (借方发生额)`: the field and its header as written in the file.
    fn label(&self, field: &str, idx: usize) -> String {
        let h = self.header().cells.get(idx).map(|c| clean(&c.text()).to_string()).unwrap_or_default();
        format!("{field} ({h})")
    }

    fn col(&self, field: &str) -> Option<usize> {
        self.m.cols.get(field).and_then(|v| v.first().copied())
    }

    fn cell<'r>(&self, row: &'r Row, field: &str) -> Option<(&'r Cell, usize)> {
        let i = self.col(field)?;
        Some((row.cells.get(i).unwrap_or(&Cell::Empty), i))
    }

    /// The kind-specific names of the roles.
    fn names(&self) -> Names {
        match self.layout.kind {
            LayoutKind::Statement => Names {
                date: if self.m.cols.contains_key("booking_date") { "booking_date" } else { "transaction_date" },
                out: "debit",
                inn: "credit",
                flag: "flag",
                text: "narrative",
            },
            LayoutKind::Book => {
                Names { date: "date", out: "disbursement", inn: "receipt", flag: "direction", text: "purpose" }
            }
        }
    }

    pub(crate) fn classify(&self, row: &Row) -> Class {
        if row.cells.iter().all(Cell::is_blank) {
            return Class::Blank;
        }
        // Every NOISE word and total mark has a non-ASCII character, which header_key
        // keeps: a first cell of ASCII text only (a date, a number: nearly every data row)
        // needs no key unless the layout has markers of its own.
        let first = row
            .cells
            .iter()
            .find(|c| !c.is_blank())
            .map(|c| c.text_cow())
            .filter(|t| !t.is_ascii() || !self.layout.skip_markers.is_empty())
            .map(|t| header_key(&t))
            .unwrap_or_default();
        // Every END mark starts with 以, which header_key keeps: a cell without it (nearly
        // all) needs no key.
        let any_end = row.cells.iter().any(|c| {
            let t = c.text_cow();
            t.contains('以') && {
                let k = header_key(&t);
                END.iter().any(|e| k.contains(e))
            }
        });
        if any_end {
            return Class::End;
        }
        let layout_noise = self.layout.skip_markers.iter().any(|m| first.starts_with(m.as_str()));
        if layout_noise
            || NOISE.iter().any(|n| first.starts_with(n))
            || ["合计", "小计", "累计", "总计"].iter().any(|n| first.contains(n))
        {
            return Class::Skip(format!("total/title/footer row ({})", quote(&first)));
        }
        let n = self.names();
        for f in [n.text, "type_code"] {
            for i in self.m.cols.get(f).into_iter().flatten() {
                let t = row.cells.get(*i).map(Cell::text_cow).unwrap_or_default();
                // A total mark's first character survives header_key: without one of them
                // (nearly every narrative) the cell is no total.
                if !t.contains(TOTAL_STARTS) {
                    continue;
                }
                let k = header_key(&t);
                if TOTAL_CELLS.contains(&k.as_str()) {
                    return Class::Skip(format!("total row ({})", quote(&k)));
                }
            }
        }
        // A row with neither a date nor an amount carries no transaction: a footnote.
        let blank = |f: &str| self.cell(row, f).is_none_or(|(c, _)| c.is_blank());
        let amount_fields: &[&str] = match &self.layout.amount {
            AmountStyle::Split => &[n.out, n.inn],
            _ => &["amount"],
        };
        let date_blank = blank(n.date) && blank("transaction_date") && blank("booking_date");
        if date_blank && amount_fields.iter().all(|f| blank(f)) {
            return Class::Skip("text row without date or amount".into());
        }
        Class::Data
    }

    /// Reads one data row.
    pub(crate) fn record(&self, row: &Row, opts_account: Option<&str>, limits: &Limits) -> Result<Rec, ParseError> {
        let line = row.line;
        let n = self.names();
        let fail = |field: &str, idx: usize, msg: String| self.err(line, Some(self.label(field, idx)), msg);
        // Cells beyond the header must be empty: a longer row is a shifted row.
        let width = self.header().cells.len();
        if let Some((i, c)) = row.cells.iter().enumerate().skip(width).find(|(_, c)| !c.is_blank()) {
            return Err(self.err(
                line,
                None,
                format!("row has a value {} in column {} beyond the {width} header columns", quote(&c.text()), i + 1),
            ));
        }
        // Dates.
        let date_of = |field: &str| -> Result<Option<(NaiveDate, Option<NaiveTime>)>, ParseError> {
            match self.cell(row, field) {
                None => Ok(None),
                Some((c, i)) => {
                    value::date(c, self.title.filter(|_| self.layout.year_from_title)).map_err(|m| fail(field, i, m))
                }
            }
        };
        let main = date_of(n.date)?;
        let other = if self.layout.kind == LayoutKind::Statement && n.date == "booking_date" {
            date_of("transaction_date")?
        } else {
            None
        };
        let (date, dtime) = match (main, other) {
            (Some(d), _) => d,
            (None, Some(d)) if self.layout.kind == LayoutKind::Statement => d,
            _ => {
                let i = self.col(n.date).unwrap_or(0);
                return Err(fail(n.date, i, "no date on this row".into()));
            }
        };
        let value_date =
            if self.layout.kind == LayoutKind::Statement { date_of("value_date")?.map(|d| d.0) } else { None };
        let time = match self.cell(row, "time") {
            Some((c, i)) if self.layout.kind == LayoutKind::Statement => {
                value::time(c).map_err(|m| fail("time", i, m))?
            }
            _ => None,
        }
        .or(dtime)
        .or(other.and_then(|o| o.1));
        // Amount.
        let amt = |field: &str| -> Result<Option<(Decimal, Option<Currency>, usize)>, ParseError> {
            match self.cell(row, field) {
                None => Ok(None),
                Some((c, i)) => value::amount(c).map(|v| v.map(|(d, cur)| (d, cur, i))).map_err(|m| fail(field, i, m)),
            }
        };
        let book = self.layout.kind == LayoutKind::Book;
        let (amount, amount_ccy) = match &self.layout.amount {
            AmountStyle::Split => {
                let out = amt(n.out)?.filter(|(d, _, _)| !(d.is_zero() && book));
                let inn = amt(n.inn)?.filter(|(d, _, _)| !(d.is_zero() && book));
                match (out, inn) {
                    (None, None) => {
                        let i = self.col(n.out).unwrap_or(0);
                        let j = self.col(n.inn).unwrap_or(0);
                        return Err(self.err(
                            line,
                            None,
                            format!("no amount: both {} and {} are blank", self.label(n.out, i), self.label(n.inn, j)),
                        ));
                    }
                    (Some((o, _, oi)), Some((c, _, ci))) if !o.is_zero() && !c.is_zero() => {
                        return Err(self.err(
                            line,
                            None,
                            format!(
                                "both {} = {o} and {} = {c} are given; one of them must be blank or zero",
                                self.label(n.out, oi),
                                self.label(n.inn, ci)
                            ),
                        ));
                    }
                    (o, c) => {
                        if book {
                            for (v, f) in [(&o, n.out), (&c, n.inn)] {
                                if let Some((d, _, i)) = v
                                    && d.is_sign_negative()
                                {
                                    return Err(fail(
                                        f,
                                        *i,
                                        format!("{d}: book amounts are positive; the column gives the direction"),
                                    ));
                                }
                            }
                        }
                        let od = o.as_ref().map(|x| x.0).unwrap_or_default();
                        let cd = c.as_ref().map(|x| x.0).unwrap_or_default();
                        let ccy = o.and_then(|x| x.1).or(c.and_then(|x| x.1));
                        (cd - od, ccy)
                    }
                }
            }
            AmountStyle::Signed { positive_is_in } => {
                let Some((d, cur, _)) = amt("amount")? else {
                    let i = self.col("amount").unwrap_or(0);
                    return Err(fail("amount", i, "no amount on this row".into()));
                };
                (if *positive_is_in { d } else { -d }, cur)
            }
            AmountStyle::Flag { out_flags, in_flags, prefix } => {
                let Some((d, cur, ai)) = amt("amount")? else {
                    let i = self.col("amount").unwrap_or(0);
                    return Err(fail("amount", i, "no amount on this row".into()));
                };
                let (fc, fi) = self.cell(row, n.flag).unwrap_or((&Cell::Empty, 0));
                let k = header_key(&fc.text());
                let hit =
                    |list: &[String]| list.iter().any(|f| if *prefix { k.starts_with(f.as_str()) } else { k == *f });
                let sign = match (hit(out_flags), hit(in_flags)) {
                    (true, false) => -1,
                    (false, true) => 1,
                    _ => {
                        return Err(fail(
                            n.flag,
                            fi,
                            format!(
                                "{} is neither a money-out flag ({}) nor a money-in flag ({})",
                                quote(clean(&fc.text())),
                                out_flags.join(", "),
                                in_flags.join(", ")
                            ),
                        ));
                    }
                };
                if book && d.is_sign_negative() {
                    return Err(fail(
                        "amount",
                        ai,
                        format!("{d}: book amounts are positive; the direction column gives the sign"),
                    ));
                }
                (if sign < 0 { -d } else { d }, cur)
            }
        };
        if book && amount.is_zero() {
            let i = self.col("amount").or(self.col(n.out)).unwrap_or(0);
            return Err(fail("amount", i, "book amount is zero".into()));
        }
        let balance = if self.layout.kind == LayoutKind::Statement { amt("balance")?.map(|b| b.0) } else { None };
        // Currency: the row's column, or the amount's own code, or metadata, or the layout.
        let row_ccy = match self.cell(row, "currency") {
            None => None,
            Some((c, i)) => {
                let raw = c.text_cow();
                let t = clean(&raw);
                if is_placeholder(t) {
                    None
                } else {
                    Some(
                        value::currency_name(t)
                            .ok_or_else(|| fail("currency", i, format!("{} is not a currency", quote(t))))?,
                    )
                }
            }
        };
        if let (Some(a), Some(b)) = (row_ccy, amount_ccy)
            && a != b
        {
            let i = self.col("currency").unwrap_or(0);
            return Err(fail("currency", i, format!("the currency column says {a} but the amount is written in {b}")));
        }
        let currency =
            row_ccy.or(amount_ccy).or(self.meta_currency).or(self.layout.default_currency).unwrap_or(Currency::CNY);
        // Identifiers and text.
        let ident = |field: &str| -> Result<Option<String>, ParseError> {
            match self.cell(row, field) {
                None => Ok(None),
                Some((c, i)) => value::identifier(c).map_err(|m| fail(field, i, m)),
            }
        };
        let text = |field: &str| -> Result<Option<String>, ParseError> {
            let Some(idxs) = self.m.cols.get(field) else { return Ok(None) };
            let mut parts: Vec<String> = Vec::new();
            for &i in idxs {
                let c = row.cells.get(i).unwrap_or(&Cell::Empty);
                if let Cell::Error(e) = c {
                    return Err(fail(field, i, format!("spreadsheet error value {e}")));
                }
                let raw = c.text_cow();
                let t = value::single_spaced(clean(&raw));
                if !is_placeholder(&t) && !parts.iter().any(|p| *p == t) {
                    parts.push(t.into_owned());
                }
            }
            let joined = parts.join(" ");
            if joined.len() > limits.max_text_bytes {
                let i = idxs.first().copied().unwrap_or(0);
                return Err(fail(
                    field,
                    i,
                    format!("text is {} bytes, over the limit of {}", joined.len(), limits.max_text_bytes),
                ));
            }
            Ok(if joined.is_empty() { None } else { Some(joined) })
        };
        let account = ident("account")?
            .or_else(|| self.meta_account.clone())
            .or_else(|| self.layout.default_account.clone())
            .or_else(|| opts_account.map(str::to_string));
        Ok(Rec {
            line,
            location: self.location(line),
            date,
            value_date,
            other_date: other.map(|o| o.0),
            time,
            amount,
            balance,
            currency,
            account,
            bank_ref: ident("bank_ref")?,
            customer_ref: ident("customer_ref")?,
            end_to_end_id: ident("end_to_end_id")?,
            counterparty_account: ident("counterparty_account")?,
            counterparty_name: text("counterparty_name")?,
            counterparty_bank: text("counterparty_bank")?,
            text: text(n.text)?.unwrap_or_default(),
            type_code: text("type_code")?,
            voucher_no: if book { ident("voucher_no")? } else { None },
            batch_ref: if book { ident("batch_ref")? } else { None },
            status: if book { text("status")? } else { None },
            voids: if book { ident("voids")? } else { None },
        })
    }

    /// Reads every data row; stops at `以下空白` (a dated row after it is an error).
    pub(crate) fn records(&self, opts_account: Option<&str>, limits: &Limits) -> Result<Vec<Rec>, ParseError> {
        let mut out = Vec::new();
        let mut ended: Option<u64> = None;
        let mut prev_cells: Option<usize> = None;
        for row in &self.sheet.rows[self.m.header + 1..] {
            match self.classify(row) {
                // A cut entry row can look like a footnote (`10001,2024-03-0`): ASCII only.
                Class::Skip(why) if why.starts_with("text row") && ended.is_none() => {
                    if row.cells.iter().all(|c| c.text_cow().is_ascii()) {
                        self.not_cut(row, prev_cells)?;
                    }
                    continue;
                }
                Class::Blank | Class::Skip(_) => continue,
                Class::End => {
                    ended.get_or_insert(row.line);
                    continue;
                }
                Class::Data => {}
            }
            if let Some(end) = ended {
                let n = self.names();
                let dated =
                    self.cell(row, n.date).is_some_and(|(c, _)| value::date(c, self.title).is_ok_and(|d| d.is_some()));
                if dated {
                    return Err(self.err(
                        row.line,
                        None,
                        format!("a dated row follows the end-of-table marker at line {end}"),
                    ));
                }
                continue;
            }
            if out.len() >= limits.max_entries_per_statement {
                return Err(self.err(row.line, None, format!("more than {} rows", limits.max_entries_per_statement)));
            }
            self.not_cut(row, prev_cells)?;
            prev_cells = Some(row.cells.len());
            out.push(self.record(row, opts_account, limits)?);
        }
        Ok(out)
    }

    /// A text file that ends inside an entry row: the last line is an entry with fewer cells
    /// than the header and than the entry before it (a file whose rows all leave off empty
    /// trailing cells is not cut). A spreadsheet cannot end inside a row.
    fn not_cut(&self, row: &Row, prev_cells: Option<usize>) -> Result<(), ParseError> {
        let width = self.header().cells.len();
        let last = self.sheet.rows.last().is_some_and(|r| r.line == row.line);
        if !self.spreadsheet && last && row.cells.len() < width && prev_cells.is_none_or(|p| row.cells.len() < p) {
            return Err(self.err(
                row.line,
                None,
                format!(
                    "the file ends inside this row: {} of the {width} header columns (the row before has {}): the file is cut off",
                    row.cells.len(),
                    prev_cells.map_or_else(|| "none".to_string(), |p| p.to_string())
                ),
            ));
        }
        Ok(())
    }

    /// The data rows' lines and the skipped rows with a reason, reading no cell value.
    pub(crate) fn scan(&self) -> (Vec<u64>, Vec<(u64, String)>) {
        let mut data = Vec::new();
        let mut skipped = Vec::new();
        let mut ended = false;
        for row in &self.sheet.rows[self.m.header + 1..] {
            match self.classify(row) {
                Class::Blank => {}
                Class::Skip(why) => skipped.push((row.line, why)),
                Class::End => {
                    ended = true;
                    skipped.push((row.line, "end-of-table marker".into()));
                }
                Class::Data if ended => skipped.push((row.line, "after the end-of-table marker".into())),
                Class::Data => data.push(row.line),
            }
        }
        (data, skipped)
    }
}

struct Names {
    date: &'static str,
    out: &'static str,
    inn: &'static str,
    flag: &'static str,
    text: &'static str,
}

/// What metadata rows say: account, currency (each possibly unreadable), title month.
pub(crate) type Metadata = (Option<Result<String, String>>, Option<Result<Currency, String>>, Option<TitleMonth>);

/// Account and currency from the metadata rows above the header (`账号: 6222…`,
/// `账　　号：` `6222…` in the next cell), and the `YYYY年MM月` of a title.
pub(crate) fn metadata(layout: &Layout, rows: &[Row]) -> Metadata {
    let mut account = None;
    let mut currency = None;
    let mut title = None;
    for row in rows {
        for (i, c) in row.cells.iter().enumerate() {
            let raw = c.text();
            if title.is_none() {
                title = value::title_month(&raw);
            }
            let t = clean(&raw);
            // `key: value` in one cell, or `key:` / `key` with the value in the next cell.
            let (k, v) = match t.find([':', '：']) {
                Some(p) => (header_key(&t[..p]), clean(t[p..].trim_start_matches([':', '：'])).to_string()),
                None => (header_key(t), String::new()),
            };
            if k.is_empty() {
                continue;
            }
            let next = || row.cells.get(i + 1..).and_then(|r| r.iter().find(|c| !c.is_blank()));
            if account.is_none() && layout.meta_account.contains(&k) {
                account = if !v.is_empty() {
                    Some(value::identifier(&Cell::Text(v.clone())))
                } else {
                    next().map(value::identifier)
                }
                .and_then(|r| r.transpose());
            }
            if currency.is_none() && layout.meta_currency.contains(&k) {
                let v = if v.is_empty() { next().map(|c| clean(&c.text()).to_string()).unwrap_or_default() } else { v };
                if !is_placeholder(&v) {
                    currency = Some(value::currency_name(&v).ok_or_else(|| format!("{} is not a currency", quote(&v))));
                }
            }
        }
    }
    (account, currency, title)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `classify` skips header_key for cells that cannot hold a mark: that is only right
    /// while every mark keeps the character it is recognised by.
    #[test]
    fn the_fast_paths_of_classify_see_every_mark() {
        for t in TOTAL_CELLS {
            assert!(t.starts_with(TOTAL_STARTS), "{t} must start with one of TOTAL_STARTS");
        }
        for n in NOISE.iter().chain(["合计", "小计", "累计", "总计"].iter()) {
            assert!(!n.is_ascii(), "{n}: an ASCII noise word would need the key of ASCII cells");
            assert_eq!(
                header_key(n).chars().filter(|c| !c.is_ascii()).collect::<String>(),
                n.chars().filter(|c| !c.is_ascii()).collect::<String>()
            );
        }
    }
}
