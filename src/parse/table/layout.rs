//! The layout file: one TOML file per bank export variant (`formats/*.toml`), validated on
//! load. The schema is documented, with an annotated example, in `formats/README.md`.

use super::value::{currency_name, header_key};
use crate::money::Currency;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// What a layout file describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// A bank statement export (对账单 / 交易明细) → [`crate::statement::Statement`]s.
    Statement,
    /// A book-record export of the fund's own accounting system → [`crate::book::BookRecord`]s.
    Book,
}

/// How the amount of a row is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountStyle {
    /// Two columns, money out (`debit` / `disbursement`) and money in (`credit` / `receipt`);
    /// the idle one blank, `0`, `0.00` or `-`.
    Split,
    /// One signed column. `positive_is_in` false for credit-card exports, where a positive
    /// number is spending.
    Signed { positive_is_in: bool },
    /// One amount column and a flag column (`借`/`贷`, `D`/`C`, `1`/`2`, `收`/`付`…).
    Flag { out_flags: Vec<String>, in_flags: Vec<String>, prefix: bool },
}

/// A column: the header names it may have, first found wins (compared after
/// normalisation: no blanks, full-width folded, no trailing colon, ASCII lower case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// As written in the layout file (for messages).
    pub names: Vec<String>,
    /// Normalised forms, same order.
    pub(crate) keys: Vec<String>,
}

/// A validated layout.
#[derive(Clone, Debug)]
pub struct Layout {
    pub name: String,
    pub kind: LayoutKind,
    pub bank: Option<String>,
    pub description: Option<String>,
    /// Where it was loaded from (`formats/icbc-corporate.toml`, `<builtin>/…`).
    pub source: String,
    pub(crate) encoding: Encoding,
    pub(crate) delimiter: Option<u8>,
    pub(crate) markers: Vec<String>,
    pub(crate) require_headers: Vec<String>,
    pub(crate) exclude_headers: Vec<String>,
    pub(crate) priority: i32,
    pub(crate) auto_detect: bool,
    /// Field name → column. Field names are those of [`STATEMENT_FIELDS`] or [`BOOK_FIELDS`].
    pub(crate) columns: BTreeMap<String, Column>,
    pub(crate) ignore: Vec<String>,
    pub(crate) required: Vec<String>,
    pub(crate) amount: AmountStyle,
    pub(crate) year_from_title: bool,
    pub(crate) meta_account: Vec<String>,
    pub(crate) meta_currency: Vec<String>,
    pub(crate) default_currency: Option<Currency>,
    pub(crate) default_account: Option<String>,
    pub(crate) skip_markers: Vec<String>,
    pub(crate) max_header_row: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Auto,
    Utf8,
    Gb18030,
}

/// Fields a statement layout may map. `narrative` joins every listed column that exists.
pub const STATEMENT_FIELDS: [&str; 19] = [
    "booking_date",
    "transaction_date",
    "value_date",
    "time",
    "debit",
    "credit",
    "amount",
    "flag",
    "balance",
    "currency",
    "account",
    "bank_ref",
    "customer_ref",
    "end_to_end_id",
    "counterparty_account",
    "counterparty_name",
    "counterparty_bank",
    "narrative",
    "type_code",
];

/// Fields a book layout may map. `purpose` joins every listed column that exists.
pub const BOOK_FIELDS: [&str; 14] = [
    "voucher_no",
    "date",
    "amount",
    "disbursement",
    "receipt",
    "direction",
    "account",
    "currency",
    "counterparty_account",
    "counterparty_name",
    "purpose",
    "batch_ref",
    "status",
    "voids",
];

/// Fields whose every listed column is used (joined with a space), not just the first found.
pub(crate) const JOINED_FIELDS: [&str; 2] = ["narrative", "purpose"];

/// A layout file that cannot be used: the file and what is wrong, with the TOML key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutError {
    pub source: String,
    /// TOML path of the offending key (`amount.style`, `columns.debit`), if any.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(k) = &self.key {
            write!(f, ": {k}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LayoutError {}

// ---------------------------------------------------------------------------------------
// Raw TOML shape

#[derive(Deserialize)]
#[serde(untagged)]
enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    fn into_vec(self) -> Vec<String> {
        match self {
            Names::One(s) => vec![s],
            Names::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: String,
    kind: Option<String>,
    bank: Option<String>,
    description: Option<String>,
    encoding: Option<String>,
    delimiter: Option<String>,
    #[serde(default)]
    detect: RawDetect,
    #[serde(default)]
    columns: BTreeMap<String, Names>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    amount: RawAmount,
    #[serde(default)]
    dates: RawDates,
    #[serde(default)]
    metadata: RawMetadata,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    rows: RawRows,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDetect {
    #[serde(default)]
    markers: Vec<String>,
    #[serde(default)]
    require_headers: Vec<String>,
    #[serde(default)]
    exclude_headers: Vec<String>,
    priority: Option<i32>,
    auto: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAmount {
    style: Option<String>,
    positive: Option<String>,
    debit_flags: Option<Vec<String>>,
    credit_flags: Option<Vec<String>>,
    disbursement_flags: Option<Vec<String>>,
    receipt_flags: Option<Vec<String>>,
    flag_match: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDates {
    year_from_title: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    account: Option<Vec<String>>,
    currency: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    currency: Option<String>,
    account: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRows {
    #[serde(default)]
    skip_markers: Vec<String>,
    max_header_row: Option<usize>,
}

/// Metadata keys used when a layout names none: `账号: 6222…`, `币种: 人民币`.
const DEFAULT_META_ACCOUNT: [&str; 7] = ["账号", "帐号", "账户", "帐户", "卡号", "账户号", "账号/卡号"];
const DEFAULT_META_CURRENCY: [&str; 4] = ["币种", "币别", "货币", "币种名称"];

/// Parses and validates one layout file. `source` names it in every error.
pub fn parse_layout(source: &str, text: &str) -> Result<Layout, LayoutError> {
    let err = |key: Option<&str>, message: String| LayoutError {
        source: source.to_string(),
        key: key.map(str::to_string),
        message,
    };
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_string();
        let line = e.span().map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
        match line {
            Some(l) => err(None, format!("line {l}: {msg}")),
            None => err(None, msg),
        }
    })?;
    if raw.name.is_empty() || !raw.name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
        return Err(err(Some("name"), format!("{:?}: use letters, digits, '-' and '_' only", raw.name)));
    }
    let kind = match raw.kind.as_deref().unwrap_or("statement") {
        "statement" => LayoutKind::Statement,
        "book" => LayoutKind::Book,
        other => return Err(err(Some("kind"), format!("{other:?}: expected \"statement\" or \"book\""))),
    };
    let fields: &[&str] = match kind {
        LayoutKind::Statement => &STATEMENT_FIELDS,
        LayoutKind::Book => &BOOK_FIELDS,
    };
    let encoding = match raw.encoding.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("auto") => Encoding::Auto,
        Some("utf-8" | "utf8" | "utf-8-bom") => Encoding::Utf8,
        Some("gb18030" | "gbk" | "gb2312" | "cp936") => Encoding::Gb18030,
        Some(other) => {
            return Err(err(
                Some("encoding"),
                format!("{other:?}: expected \"auto\", \"utf-8\", \"gbk\" or \"gb18030\""),
            ));
        }
    };
    let delimiter = match raw.delimiter.as_deref() {
        None | Some("auto") => None,
        Some("\t" | "tab") => Some(b'\t'),
        Some(d) if d.len() == 1 && matches!(d.as_bytes()[0], b',' | b';' | b'|') => Some(d.as_bytes()[0]),
        Some(other) => {
            return Err(err(
                Some("delimiter"),
                format!("{other:?}: expected \",\", \"tab\", \";\", \"|\" or \"auto\""),
            ));
        }
    };
    let mut columns = BTreeMap::new();
    for (field, names) in raw.columns {
        let key = format!("columns.{field}");
        if !fields.contains(&field.as_str()) {
            return Err(err(
                Some(&key),
                format!("unknown field; a {} layout knows: {}", kind_name(kind), fields.join(", ")),
            ));
        }
        let names = names.into_vec();
        if names.is_empty() || names.iter().any(|n| header_key(n).is_empty()) {
            return Err(err(Some(&key), "needs at least one non-empty header name".into()));
        }
        let keys = names.iter().map(|n| header_key(n)).collect();
        columns.insert(field, Column { names, keys });
    }
    let has = |f: &str| columns.contains_key(f);
    let date_field = match kind {
        LayoutKind::Statement => {
            if !has("booking_date") && !has("transaction_date") {
                return Err(err(Some("columns"), "needs a booking_date or transaction_date column".into()));
            }
            if has("booking_date") { "booking_date" } else { "transaction_date" }
        }
        LayoutKind::Book => {
            for f in ["voucher_no", "date"] {
                if !has(f) {
                    return Err(err(Some("columns"), format!("a book layout needs a {f} column")));
                }
            }
            "date"
        }
    };
    let (out_col, in_col, flag_col, out_flags_key, in_flags_key) = match kind {
        LayoutKind::Statement => ("debit", "credit", "flag", "debit_flags", "credit_flags"),
        LayoutKind::Book => ("disbursement", "receipt", "direction", "disbursement_flags", "receipt_flags"),
    };
    let a = raw.amount;
    let any_flags = a.flag_match.is_some()
        || a.debit_flags.is_some()
        || a.credit_flags.is_some()
        || a.disbursement_flags.is_some()
        || a.receipt_flags.is_some();
    let style_name = a.style.clone().unwrap_or_else(|| {
        if has(out_col) || has(in_col) {
            "split".into()
        } else if has(flag_col) {
            "flag".into()
        } else {
            "signed".into()
        }
    });
    let (wrong_out, wrong_in) = match kind {
        LayoutKind::Statement => (a.disbursement_flags.is_some(), a.receipt_flags.is_some()),
        LayoutKind::Book => (a.debit_flags.is_some(), a.credit_flags.is_some()),
    };
    if wrong_out || wrong_in {
        return Err(err(
            Some("amount"),
            format!("a {} layout names its flags {out_flags_key} / {in_flags_key}", kind_name(kind)),
        ));
    }
    let amount_cols: Vec<&str>;
    let amount = match style_name.as_str() {
        "split" => {
            amount_cols = vec![out_col, in_col];
            AmountStyle::Split
        }
        "signed" => {
            amount_cols = vec!["amount"];
            let positive_is_in = match (kind, a.positive.as_deref()) {
                (_, None) => true,
                (LayoutKind::Statement, Some("credit")) | (LayoutKind::Book, Some("receipt")) => true,
                (LayoutKind::Statement, Some("debit")) | (LayoutKind::Book, Some("disbursement")) => false,
                (_, Some(other)) => {
                    let want = if kind == LayoutKind::Statement {
                        "\"credit\" or \"debit\""
                    } else {
                        "\"receipt\" or \"disbursement\""
                    };
                    return Err(err(Some("amount.positive"), format!("{other:?}: expected {want}")));
                }
            };
            AmountStyle::Signed { positive_is_in }
        }
        "flag" => {
            amount_cols = vec!["amount", flag_col];
            let (out_flags, in_flags) = match kind {
                LayoutKind::Statement => (a.debit_flags.unwrap_or_default(), a.credit_flags.unwrap_or_default()),
                LayoutKind::Book => (a.disbursement_flags.unwrap_or_default(), a.receipt_flags.unwrap_or_default()),
            };
            if out_flags.is_empty() || in_flags.is_empty() {
                return Err(err(Some("amount"), format!("style \"flag\" needs {out_flags_key} and {in_flags_key}")));
            }
            let prefix = match a.flag_match.as_deref() {
                None | Some("exact") => false,
                Some("prefix") => true,
                Some(other) => {
                    return Err(err(Some("amount.flag_match"), format!("{other:?}: expected \"exact\" or \"prefix\"")));
                }
            };
            let norm = |v: Vec<String>| v.iter().map(|s| header_key(s)).collect::<Vec<_>>();
            let (out_flags, in_flags) = (norm(out_flags), norm(in_flags));
            if let Some(both) = out_flags.iter().find(|f| in_flags.contains(f)) {
                return Err(err(
                    Some("amount"),
                    format!("flag {both:?} is listed as both {out_flags_key} and {in_flags_key}"),
                ));
            }
            AmountStyle::Flag { out_flags, in_flags, prefix }
        }
        other => {
            return Err(err(Some("amount.style"), format!("{other:?}: expected \"split\", \"signed\" or \"flag\"")));
        }
    };
    if style_name != "flag" && any_flags {
        return Err(err(
            Some("amount"),
            format!("flags are only used with style = \"flag\" (this layout is {style_name:?})"),
        ));
    }
    if style_name != "signed" && a.positive.is_some() {
        return Err(err(Some("amount.positive"), "only used with style = \"signed\"".into()));
    }
    for c in &amount_cols {
        if !has(c) {
            return Err(err(Some("columns"), format!("amount style {style_name:?} needs a {c} column")));
        }
    }
    // Required columns: the amount columns always, the date column of a book layout (a
    // statement needs booking_date or transaction_date, checked on matching); plus what
    // the layout lists.
    let mut required: Vec<String> = Vec::new();
    if kind == LayoutKind::Book {
        required.push(date_field.to_string());
    }
    required.extend(amount_cols.iter().map(|s| s.to_string()));
    for r in raw.required {
        if !has(&r) {
            return Err(err(Some("required"), format!("{r:?} is not a mapped column of this layout")));
        }
        if !required.contains(&r) {
            required.push(r);
        }
    }
    let default_currency = match raw.defaults.currency {
        None => None,
        Some(c) => {
            Some(currency_name(&c).ok_or_else(|| err(Some("defaults.currency"), format!("{c:?} is not a currency")))?)
        }
    };
    let max_header_row = raw.rows.max_header_row.unwrap_or(60);
    if max_header_row == 0 || max_header_row > 1000 {
        return Err(err(Some("rows.max_header_row"), format!("{max_header_row}: expected 1 to 1000")));
    }
    let keys = |v: Vec<String>| v.iter().map(|s| header_key(s)).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    let meta_account =
        keys(raw.metadata.account.unwrap_or_else(|| DEFAULT_META_ACCOUNT.iter().map(|s| s.to_string()).collect()));
    let meta_currency =
        keys(raw.metadata.currency.unwrap_or_else(|| DEFAULT_META_CURRENCY.iter().map(|s| s.to_string()).collect()));
    let year_from_title = raw.dates.year_from_title.unwrap_or(false);
    if year_from_title && kind == LayoutKind::Book {
        return Err(err(Some("dates.year_from_title"), "not supported for book layouts".into()));
    }
    Ok(Layout {
        name: raw.name,
        kind,
        bank: raw.bank,
        description: raw.description,
        source: source.to_string(),
        encoding,
        delimiter,
        markers: keys(raw.detect.markers),
        require_headers: keys(raw.detect.require_headers),
        exclude_headers: keys(raw.detect.exclude_headers),
        priority: raw.detect.priority.unwrap_or(0),
        auto_detect: raw.detect.auto.unwrap_or(true),
        columns,
        ignore: keys(raw.ignore),
        required,
        amount,
        year_from_title,
        meta_account,
        meta_currency,
        default_currency,
        default_account: raw.defaults.account.filter(|s| !s.trim().is_empty()),
        skip_markers: keys(raw.rows.skip_markers),
        max_header_row,
    })
}

fn kind_name(k: LayoutKind) -> &'static str {
    match k {
        LayoutKind::Statement => "statement",
        LayoutKind::Book => "book",
    }
}

impl Layout {
    /// The header names this layout knows for a field, as written in the layout file.
    pub fn column_names(&self, field: &str) -> Option<&[String]> {
        self.columns.get(field).map(|c| c.names.as_slice())
    }

    /// `"icbc-corporate (ICBC)"` for messages.
    pub fn label(&self) -> String {
        match &self.bank {
            Some(b) => format!("{} ({b})", self.name),
            None => self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_errors() {
        let l = parse_layout(
            "t.toml",
            "name = \"t\"\n[columns]\nbooking_date = \"交易日期\"\ndebit = [\"借方发生额（支取）\"]\ncredit = \"贷方\"\n",
        )
        .unwrap();
        assert_eq!(l.amount, AmountStyle::Split);
        assert_eq!(l.columns["debit"].keys, vec!["借方发生额(支取)".to_string()]);
        assert_eq!(l.required, vec!["debit", "credit"]);
        let bad = [
            ("name = \"t\"\n[columns]\nbooking_date = \"a\"\nfoo = \"b\"\namount = \"c\"\n", "columns.foo"),
            ("name = \"t\"\n[columns]\nbooking_date = \"a\"\n", "columns"),
            ("name = \"t\"\n[columns]\nbooking_date = \"a\"\namount = \"b\"\n[amount]\nstyle = \"flag\"\n", "amount"),
            ("name = \"t\"\nkind = \"ledger\"\n", "kind"),
            ("name = \"t t\"\n", "name"),
            (
                "name = \"t\"\n[columns]\nbooking_date = \"a\"\namount = \"b\"\n[defaults]\ncurrency = \"火星币\"\n",
                "defaults.currency",
            ),
        ];
        for (text, key) in bad {
            let e = parse_layout("t.toml", text).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{e}");
            assert!(e.to_string().starts_with("t.toml: "), "{e}");
        }
        let e = parse_layout("t.toml", "name = \"t\"\nbogus = 1\n").unwrap_err();
        assert!(e.message.contains("line 2"), "{e}");
    }
}
