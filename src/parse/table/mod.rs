//! Declarative readers for Chinese web-banking exports (对账单 / 交易明细) and for book-record
//! exports: CSV/TXT in UTF-8 (with or without BOM) or GB18030/GBK, and Excel .xls/.xlsx.
//!
//! A bank export variant is a TOML *layout* (`formats/*.toml`, schema in
//! `formats/README.md`): which header names hold which field, how the amount is written
//! (debit + credit columns, one signed column, or amount + 借/贷 flag), which metadata rows
//! give the account and currency. A new variant needs a new file, no Rust code: the shipped
//! ones are compiled in ([`Layouts::builtin`]), more are read at run time
//! ([`Layouts::load_dir`]).
//!
//! Reading a file: the encoding is detected (never the file name: a `.xls` that is really
//! tab-separated text is read as text), the header row is found among the first rows and the
//! layout that explains it best is chosen (or the one named by the caller); title, metadata,
//! total and footer rows (`合计`, `以下空白`…) are skipped; every data cell is read strictly
//! (`1,234.56`, `￥`, `-`, full-width digits, all usual date forms and Excel serials);
//! account numbers stay text, and ones a spreadsheet already rounded (`6.22202E+18`) are
//! refused. Rows newest-first are detected (balance chain, then dates) and reversed, and
//! where the file has a balance column every row is checked: `prev + credit − debit =
//! balance`, a break being an error starting with `arithmetic_error: `.

mod build;
mod builtin;
mod detect;
mod guard;
mod layout;
mod rows;
mod source;
mod value;

pub use layout::{AmountStyle, BOOK_FIELDS, Layout, LayoutError, LayoutKind, STATEMENT_FIELDS, parse_layout};

use crate::book::BookRecord;
use crate::parse::{Limits, Location, ParseError};
use crate::statement::Statement;
use detect::Match;
use rows::Table;
use source::{Container, Sheet, Want};
use std::path::Path;

static LAYOUTS: std::sync::OnceLock<Layouts> = std::sync::OnceLock::new();

/// The layouts in use: the shipped ones, plus a site's folder when [`install`] was called
/// before the first use.
pub fn layouts() -> &'static Layouts {
    LAYOUTS.get_or_init(Layouts::builtin)
}

/// Adds the layouts of `dir` (a site's own, or corrections of shipped ones) to the shipped
/// ones, for the whole process. Must run before the first parse; later calls fail.
pub fn install(dir: &Path) -> Result<usize, String> {
    let mut l = Layouts::builtin();
    let n = l.load_dir(dir).map_err(|e| e.to_string())?;
    LAYOUTS.set(l).map_err(|_| "layouts were already in use before the formats folder was loaded".to_string())?;
    Ok(n)
}

/// True when the bytes are an Excel workbook (.xls OLE2 or .xlsx ZIP), whatever the file's
/// name: such files can only be read through layouts.
pub fn is_spreadsheet(bytes: &[u8]) -> bool {
    source::sniff(bytes) != Container::Text
}

/// What the caller knows about a file beyond its bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Use this layout instead of detecting one from the header row.
    pub layout: Option<&'a str>,
    /// The account the file belongs to (from the channel's configuration), used only when
    /// the file itself names none (no 账号 metadata row, no account column).
    pub account: Option<&'a str>,
}

/// What [`Layouts::scan`] found: the layout and, per table, which rows are data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub layout: String,
    pub tables: Vec<ScanTable>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanTable {
    /// Worksheet name (`None` for text files).
    pub sheet: Option<String>,
    /// Line (text) or row number (spreadsheet) of the header, 1-based.
    pub header_line: u64,
    /// Lines of the rows that will be read as entries / records.
    pub data_lines: Vec<u64>,
    /// Lines skipped after the header, with the reason (totals, footers…).
    pub skipped: Vec<(u64, String)>,
}

impl Scan {
    pub fn data_rows(&self) -> usize {
        self.tables.iter().map(|t| t.data_lines.len()).sum()
    }
}

/// The sheets a layout reads, each with its header match.
type Tables = Vec<(Sheet, Match)>;

/// The known layouts.
#[derive(Clone, Debug, Default)]
pub struct Layouts {
    layouts: Vec<Layout>,
}

/// Decoded/parsed input, kept between detection and reading.
struct Input<'b> {
    bytes: &'b [u8],
    sheets: Vec<Sheet>,
    spreadsheet: bool,
    text: Option<(String, crate::parse::text::Encoding)>,
}

impl Layouts {
    /// No layouts at all (add some with [`Layouts::add`] or [`Layouts::load_dir`]).
    pub fn empty() -> Layouts {
        Layouts { layouts: Vec::new() }
    }

    /// The layouts shipped in `formats/`, compiled into the binary.
    pub fn builtin() -> Layouts {
        // The shipped files are validated by this module's tests; a broken one is a build
        // defect, not an input error.
        Layouts::try_builtin().unwrap_or_else(|e| panic!("shipped layout is invalid: {e}"))
    }

    /// [`Layouts::builtin`] without the panic.
    pub fn try_builtin() -> Result<Layouts, LayoutError> {
        let mut l = Layouts::empty();
        for (name, text) in builtin::FILES {
            l.add(parse_layout(&format!("formats/{name}"), text)?)?;
        }
        Ok(l)
    }

    /// Adds a layout. A layout with the name of one already known replaces it (so a site can
    /// correct a shipped layout without a new release); two of the same name from one
    /// folder are an error.
    pub fn add(&mut self, layout: Layout) -> Result<(), LayoutError> {
        match self.layouts.iter_mut().find(|l| l.name == layout.name) {
            Some(old) => {
                tracing::info!(layout = %layout.name, from = %layout.source, replaces = %old.source, "layout replaced");
                *old = layout;
            }
            None => self.layouts.push(layout),
        }
        Ok(())
    }

    /// Adds every `*.toml` of a folder (not recursive), in file-name order. Any invalid file
    /// fails the whole load, naming the file.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, LayoutError> {
        let io = |e: std::io::Error, p: &Path| LayoutError {
            source: p.display().to_string(),
            key: None,
            message: e.to_string(),
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(e, dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        paths.sort();
        let mut seen: Vec<(String, String)> = Vec::new();
        for p in &paths {
            let text = std::fs::read_to_string(p).map_err(|e| io(e, p))?;
            let layout = parse_layout(&p.display().to_string(), &text)?;
            if let Some((_, other)) = seen.iter().find(|(n, _)| *n == layout.name) {
                return Err(LayoutError {
                    source: p.display().to_string(),
                    key: Some("name".into()),
                    message: format!("{:?} is also the name of {other}", layout.name),
                });
            }
            seen.push((layout.name.clone(), layout.source.clone()));
            self.add(layout)?;
        }
        Ok(paths.len())
    }

    pub fn get(&self, name: &str) -> Option<&Layout> {
        self.layouts.iter().find(|l| l.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Layout> {
        self.layouts.iter()
    }

    pub fn names(&self) -> Vec<&str> {
        self.layouts.iter().map(|l| l.name.as_str()).collect()
    }

    /// The statement layout whose header this file has, if any. Reads only the top rows of
    /// a text file; a workbook is opened (it cannot be read in part).
    pub fn detect(&self, bytes: &[u8], file_name: &str) -> Option<&Layout> {
        self.detect_kind(bytes, file_name, LayoutKind::Statement)
    }

    /// Like [`Layouts::detect`], for book layouts.
    pub fn detect_book(&self, bytes: &[u8], file_name: &str) -> Option<&Layout> {
        self.detect_kind(bytes, file_name, LayoutKind::Book)
    }

    fn detect_kind(&self, bytes: &[u8], file_name: &str, kind: LayoutKind) -> Option<&Layout> {
        let limits = Limits::default();
        let opts = Options::default();
        let input = self.input(file_name, bytes, &limits).ok()?;
        self.choose(file_name, &input, &opts, kind, &limits).ok().map(|(l, _)| l)
    }

    /// Reads a bank statement export. `layout_name = None`: detect it from the header row.
    pub fn parse(
        &self,
        file: &str,
        bytes: &[u8],
        layout_name: Option<&str>,
        limits: &Limits,
    ) -> Result<Vec<Statement>, ParseError> {
        self.parse_with(file, bytes, &Options { layout: layout_name, account: None }, limits)
    }

    /// [`Layouts::parse`] with everything the caller knows.
    pub fn parse_with(
        &self,
        file: &str,
        bytes: &[u8],
        opts: &Options<'_>,
        limits: &Limits,
    ) -> Result<Vec<Statement>, ParseError> {
        let input = self.input(file, bytes, limits)?;
        let (layout, tables) = self.choose(file, &input, opts, LayoutKind::Statement, limits)?;
        let mut out = Vec::new();
        for (sheet, m) in &tables {
            let t = table(file, sheet, layout, m, input.spreadsheet)?;
            let recs = t.records(opts.account, limits)?;
            let origin = build::Origin {
                file,
                suffix: suffix(&t),
                spreadsheet: input.spreadsheet,
                bank: layout.bank.as_deref(),
            };
            out.extend(build::statements(&origin, recs, limits)?);
            if out.len() > limits.max_statements {
                return Err(ParseError::new(
                    file,
                    Location::File,
                    None,
                    format!("more than {} statements", limits.max_statements),
                ));
            }
        }
        Ok(out)
    }

    /// Reads a book-record export through a `kind = "book"` layout. Amounts come out signed
    /// from the account's point of view (receipts positive), as [`crate::book::read_csv`]'s.
    pub fn read_book(
        &self,
        file: &str,
        bytes: &[u8],
        opts: &Options<'_>,
        limits: &Limits,
    ) -> Result<Vec<BookRecord>, ParseError> {
        let input = self.input(file, bytes, limits)?;
        let (layout, tables) = self.choose(file, &input, opts, LayoutKind::Book, limits)?;
        let mut out = Vec::new();
        for (sheet, m) in &tables {
            let t = table(file, sheet, layout, m, input.spreadsheet)?;
            let recs = t.records(opts.account, limits)?;
            let origin = build::Origin {
                file,
                suffix: suffix(&t),
                spreadsheet: input.spreadsheet,
                bank: layout.bank.as_deref(),
            };
            out.extend(build::books(&origin, recs)?);
        }
        Ok(out)
    }

    /// Finds the layout, the header and the data rows without reading any value: what
    /// [`Layouts::parse`] would read. `kind` chooses statement or book layouts.
    pub fn scan(
        &self,
        file: &str,
        bytes: &[u8],
        opts: &Options<'_>,
        kind: LayoutKind,
        limits: &Limits,
    ) -> Result<Scan, ParseError> {
        let input = self.input(file, bytes, limits)?;
        let (layout, tables) = self.choose(file, &input, opts, kind, limits)?;
        let mut out = Scan { layout: layout.name.clone(), tables: Vec::new() };
        for (sheet, m) in &tables {
            let t = Table {
                file,
                sheet,
                layout,
                m,
                spreadsheet: input.spreadsheet,
                meta_account: None,
                meta_currency: None,
                title: None,
            };
            let (data_lines, skipped) = t.scan();
            out.tables.push(ScanTable {
                sheet: sheet.name.clone(),
                header_line: sheet.rows[m.header].line,
                data_lines,
                skipped,
            });
        }
        Ok(out)
    }

    /// Decodes the bytes. Text files are tokenised later, once the delimiter is known.
    fn input<'b>(&self, file: &str, bytes: &'b [u8], limits: &Limits) -> Result<Input<'b>, ParseError> {
        crate::parse::check_size(file, bytes, limits)?;
        match source::sniff(bytes) {
            Container::Text => {
                let (text, enc) = source::decode(file, bytes, Want::Auto)?;
                source::check_lines(file, &text, limits)?;
                Ok(Input { bytes, sheets: Vec::new(), spreadsheet: false, text: Some((text, enc)) })
            }
            kind => {
                Ok(Input { bytes, sheets: source::workbook(file, bytes, kind, limits)?, spreadsheet: true, text: None })
            }
        }
    }

    /// Chooses the layout and the tables it reads (one per matching sheet).
    fn choose<'s>(
        &'s self,
        file: &str,
        input: &Input<'_>,
        opts: &Options<'_>,
        kind: LayoutKind,
        limits: &Limits,
    ) -> Result<(&'s Layout, Tables), ParseError> {
        let candidates: Vec<&Layout> = match opts.layout {
            Some(name) => {
                let l = self.get(name).ok_or_else(|| {
                    ParseError::new(
                        file,
                        Location::File,
                        None,
                        format!("no layout named {name:?}; known: {}", self.names().join(", ")),
                    )
                })?;
                if l.kind != kind {
                    return Err(ParseError::new(
                        file,
                        Location::File,
                        None,
                        format!("layout {name:?} describes a {} export, not a {}", kind_word(l.kind), kind_word(kind)),
                    ));
                }
                vec![l]
            }
            None => self.layouts.iter().filter(|l| l.kind == kind && l.auto_detect).collect(),
        };
        let max_header = candidates.iter().map(|l| l.max_header_row).max().unwrap_or(60);
        let mut delimiter = b',';
        let sheets: Vec<Sheet> = match &input.text {
            None => input.sheets.clone(),
            Some((text, _)) => {
                // Try the delimiters; keep the one whose header the layouts explain best.
                let mut best: Option<(u8, i64)> = None;
                let mut delims: Vec<u8> = candidates.iter().filter_map(|l| l.delimiter).collect();
                delims.extend([b',', b'\t', b'|', b';']);
                delims.dedup();
                for d in delims.iter().copied() {
                    let Ok(rows) = source::tokenize(file, text, d, limits, Some(max_header + 1)) else { continue };
                    let keys = detect::keys(&rows, max_header + 1);
                    let cands = candidates.iter().copied().filter(|l| l.delimiter.is_none_or(|x| x == d));
                    if let Some((_, m)) = detect::best(cands, &keys)
                        && best.is_none_or(|(_, s)| m.score > s)
                    {
                        best = Some((d, m.score));
                    }
                }
                delimiter = match best {
                    Some((d, _)) => d,
                    // No layout fits: tokenise as the delimiter that gives the most rows of
                    // one width, so that the refusal shows the real column names.
                    None => {
                        // Score: how many rows share the most common width (of at least 2).
                        let mut widest = (b',', 0usize);
                        for d in delims.iter().copied() {
                            let Ok(rows) = source::tokenize(file, text, d, limits, Some(max_header + 200)) else {
                                continue;
                            };
                            let mut counts = std::collections::BTreeMap::new();
                            for r in rows.iter().filter(|r| r.cells.len() >= 2) {
                                *counts.entry(r.cells.len()).or_insert(0usize) += 1;
                            }
                            let w = counts.values().copied().max().unwrap_or(0);
                            if w > widest.1 {
                                widest = (d, w);
                            }
                        }
                        widest.0
                    }
                };
                vec![Sheet { name: None, rows: source::tokenize(file, text, delimiter, limits, None)? }]
            }
        };
        // Pick the layout over all sheets, then every sheet it matches.
        let mut chosen: Option<(&Layout, i64)> = None;
        let mut all_keys = Vec::with_capacity(sheets.len());
        for s in &sheets {
            let keys = detect::keys(&s.rows, max_header + 1);
            if let Some((l, m)) = detect::best(candidates.iter().copied(), &keys)
                && chosen.is_none_or(|(_, sc)| m.score > sc)
            {
                chosen = Some((l, m.score));
            }
            all_keys.push(keys);
        }
        let Some((layout, _)) = chosen else {
            return Err(no_layout(
                file,
                &sheets,
                &all_keys,
                &candidates,
                opts.layout.is_some(),
                kind,
                input.spreadsheet,
                max_header,
            ));
        };
        // A layout that names its encoding: a text file must decode that way.
        let (sheets, all_keys) = match (&input.text, layout.encoding) {
            (Some((_, have)), want) if !same_encoding(*have, want) => {
                let want = if want == layout::Encoding::Utf8 { Want::Utf8 } else { Want::Gb18030 };
                let (text, _) = source::decode(file, input.bytes, want)?;
                let rows = source::tokenize(file, &text, delimiter, limits, None)?;
                let keys = detect::keys(&rows, max_header + 1);
                (vec![Sheet { name: None, rows }], vec![keys])
            }
            _ => (sheets, all_keys),
        };
        let mut tables = Vec::new();
        for (s, keys) in sheets.into_iter().zip(&all_keys) {
            if let Some(m) = detect::match_layout(layout, keys) {
                tables.push((s, m));
            }
        }
        if tables.is_empty() {
            return Err(ParseError::new(
                file,
                Location::File,
                None,
                format!(
                    "layout {}: its header is not found once the file is decoded as the layout's encoding",
                    layout.name
                ),
            ));
        }
        Ok((layout, tables))
    }
}

fn kind_word(k: LayoutKind) -> &'static str {
    match k {
        LayoutKind::Statement => "bank statement",
        LayoutKind::Book => "book-record",
    }
}

fn same_encoding(have: crate::parse::text::Encoding, want: layout::Encoding) -> bool {
    use crate::parse::text::Encoding as E;
    match want {
        layout::Encoding::Auto => true,
        layout::Encoding::Gb18030 => have == E::Gb18030,
        layout::Encoding::Utf8 => have == E::Utf8,
    }
}

fn suffix(t: &Table<'_>) -> String {
    match &t.sheet.name {
        Some(s) if t.spreadsheet => format!(" [sheet {s:?}]"),
        _ => String::new(),
    }
}

/// The table of one sheet, with what its rows above the header say.
fn table<'a>(
    file: &'a str,
    sheet: &'a Sheet,
    layout: &'a Layout,
    m: &'a Match,
    spreadsheet: bool,
) -> Result<Table<'a>, ParseError> {
    let (acct, ccy, title) = rows::metadata(layout, &sheet.rows[..m.header]);
    let line = sheet.rows[m.header].line;
    let sfx = match &sheet.name {
        Some(s) if spreadsheet => format!(" [sheet {s:?}]"),
        _ => String::new(),
    };
    let meta_account = acct
        .transpose()
        .map_err(|e| ParseError::new(file, Location::Line(line), Some("account (metadata)"), format!("{e}{sfx}")))?;
    let meta_currency = ccy
        .transpose()
        .map_err(|e| ParseError::new(file, Location::Line(line), Some("currency (metadata)"), format!("{e}{sfx}")))?;
    Ok(Table { file, sheet, layout, m, spreadsheet, meta_account, meta_currency, title })
}

/// "unknown layout" (no layout named) or "header missing a required column" (one named).
#[allow(clippy::too_many_arguments)]
fn no_layout(
    file: &str,
    sheets: &[Sheet],
    keys: &[Vec<Vec<String>>],
    candidates: &[&Layout],
    named: bool,
    kind: LayoutKind,
    spreadsheet: bool,
    max_header: usize,
) -> ParseError {
    // A row with a tell-tale payment-platform column, else the most header-like row of the
    // first sheet that has one.
    let telltale = keys
        .iter()
        .enumerate()
        .find_map(|(si, rows)| rows.iter().position(|r| detect::not_a_bank(r).is_some()).map(|ri| (si, ri)));
    let found = telltale.or_else(|| {
        sheets.iter().enumerate().find_map(|(si, s)| detect::header_like(&s.rows, max_header + 1).map(|r| (si, r)))
    });
    let Some((si, ri)) = found else {
        return ParseError::new(
            file,
            Location::File,
            None,
            format!(
                "unknown layout: the file has no header row (no row of column names in its first {max_header} rows)"
            ),
        );
    };
    let sheet = &sheets[si];
    let row = &sheet.rows[ri];
    let shown: Vec<String> =
        row.cells.iter().map(|c| value::clean(&c.text()).to_string()).filter(|s| !s.is_empty()).collect();
    let mut shown_text = shown.join(" | ");
    if shown_text.chars().count() > 200 {
        shown_text = shown_text.chars().take(200).collect::<String>() + "…";
    }
    let where_ = match &sheet.name {
        Some(n) if spreadsheet => format!(" of sheet {n:?}"),
        _ => String::new(),
    };
    let row_keys = &keys[si][ri];
    if named && let Some(l) = candidates.first() {
        let has = |f: &str| l.columns.get(f).is_some_and(|c| c.keys.iter().any(|k| row_keys.contains(k)));
        let names = |f: &str| l.columns.get(f).map(|c| c.names.join(" / ")).unwrap_or_default();
        let mut missing: Vec<String> =
            l.required.iter().filter(|f| !has(f.as_str())).map(|f| format!("{f} ({})", names(f))).collect();
        if l.kind == LayoutKind::Statement && !has("booking_date") && !has("transaction_date") {
            let n: Vec<String> =
                ["booking_date", "transaction_date"].iter().map(|f| names(f)).filter(|n| !n.is_empty()).collect();
            missing.insert(0, format!("date ({})", n.join(" / ")));
        }
        let msg = if missing.is_empty() {
            format!(
                "header does not fit layout {}: its markers, required or excluded headers do not match; the row that looks most like a header reads: {shown_text}",
                l.name
            )
        } else {
            format!(
                "header missing a required column for layout {}: {}; the row that looks most like a header reads: {shown_text}",
                l.name,
                missing.join(", ")
            )
        };
        return ParseError::new(file, Location::Line(row.line), None, format!("{msg}{where_}"));
    }
    let hint = match detect::not_a_bank(row_keys) {
        Some(what) if kind == LayoutKind::Statement => {
            format!("; this looks like {what}, which is not a bank statement")
        }
        _ => String::new(),
    };
    ParseError::new(
        file,
        Location::Line(row.line),
        None,
        format!(
            "unknown layout: no {} layout matches this file; the row that looks most like a header{where_} reads: {shown_text}{hint}",
            kind_word(kind)
        ),
    )
}

#[cfg(test)]
mod tests;
