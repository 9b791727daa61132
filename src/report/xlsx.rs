//! The Excel workbook (rust_xlsxwriter) of a [`view::Book`].
//!
//! - Text cells go through `write_string`: text is never a formula, whatever it starts
//!   with (`=HYPERLINK(…)` from a counterparty name stays a string). This module never
//!   calls `write_formula`.
//! - Amounts are numbers with the format `#,##0.00`. Excel stores a double, so a cell is
//!   exact to the fen for any amount below 2^53 fen; the CSV reports keep the exact
//!   decimal text.
//! - Dates are Excel dates (`yyyy-mm-dd`), so they sort and filter as dates.
//! - Table sheets: header row frozen and bold, an autofilter over the data; widths fixed
//!   per column. The file's creation time is the report date, so the same data gives the
//!   same bytes.

use super::view::{Book, Cell, Layout};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

/// Excel's limit on one cell, in UTF-16 units; longer text is cut (the CSV reports
/// keep it whole).
const MAX_CELL_CHARS: usize = 32_767;

struct Formats {
    amount: Format,
    amount_bold: Format,
    date: Format,
    header: Format,
    bold: Format,
    text: Format,
}

fn formats() -> Formats {
    Formats {
        amount: Format::new().set_num_format("#,##0.00"),
        amount_bold: Format::new().set_num_format("#,##0.00").set_bold(),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        header: Format::new().set_bold().set_text_wrap().set_background_color("#DDEBF7"),
        bold: Format::new().set_bold(),
        // Text cells are marked as text (`@`) as well: typed over in Excel, they stay text.
        text: Format::new().set_num_format("@"),
    }
}

/// `s` cut to Excel's cell limit, counted as Excel counts: UTF-16 units (a character
/// outside the BMP is two; rust_xlsxwriter refuses a longer string).
fn cut(s: &str) -> &str {
    // A UTF-16 unit takes at least one UTF-8 byte: short in bytes is short enough (most
    // cells; no walk).
    if s.len() <= MAX_CELL_CHARS {
        return s;
    }
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > MAX_CELL_CHARS {
            return &s[..i];
        }
    }
    s
}

fn amount(x: Decimal) -> f64 {
    // Decimal's range fits in f64's (with rounding beyond 15–17 significant digits).
    x.to_f64().unwrap_or(0.0)
}

/// `header`: a row of column headings; `strong`: a balance or total line (amounts bold).
fn write_cell(
    ws: &mut Worksheet,
    (row, col): (u32, u16),
    c: &Cell,
    f: &Formats,
    header: bool,
    strong: bool,
) -> Result<(), XlsxError> {
    match c {
        Cell::Empty => {}
        Cell::Label(s) if header => {
            ws.write_string_with_format(row, col, cut(s), &f.header)?;
        }
        Cell::Label(s) => {
            ws.write_string(row, col, cut(s))?;
        }
        Cell::Heading(s) => {
            ws.write_string_with_format(row, col, cut(s), &f.bold)?;
        }
        Cell::Text(s) => {
            ws.write_string_with_format(row, col, cut(s), &f.text)?;
        }
        Cell::Int(n) => {
            ws.write_number(row, col, *n as f64)?;
        }
        Cell::Amount(x) => {
            ws.write_number_with_format(row, col, amount(*x), if strong { &f.amount_bold } else { &f.amount })?;
        }
        Cell::Date(d) => {
            use chrono::Datelike;
            match u16::try_from(d.year())
                .ok()
                .and_then(|y| ExcelDateTime::from_ymd(y, d.month() as u8, d.day() as u8).ok())
            {
                Some(x) => {
                    ws.write_datetime_with_format(row, col, &x, &f.date)?;
                }
                // Before 1900 Excel has no dates: the ISO text instead.
                None => {
                    ws.write_string(row, col, d.to_string())?;
                }
            }
        }
    }
    Ok(())
}

/// Sheets longer than this are written in rust_xlsxwriter's constant-memory mode.
const CONSTANT_MEMORY_ROWS: usize = 20_000;

/// The workbook as bytes.
pub fn workbook(book: &Book) -> Result<Vec<u8>, XlsxError> {
    let f = formats();
    let mut wb = Workbook::new();
    let mut props = DocProperties::new().set_title(format!("{} {}", book.title, book.as_of));
    use chrono::Datelike;
    if let Some(d) = u16::try_from(book.as_of.year())
        .ok()
        .and_then(|y| ExcelDateTime::from_ymd(y, book.as_of.month() as u8, book.as_of.day() as u8).ok())
    {
        props = props.set_creation_datetime(&d);
    }
    wb.set_properties(&props);
    // A big workbook is compressed at zip level 1 instead of 6: most of the time of writing
    // a million-row sheet went to deflate, and the file is ~25 % larger at most.
    if book.sheets.iter().any(|s| s.rows.len() > CONSTANT_MEMORY_ROWS) {
        wb.set_zip_compression_level(1);
    }
    for sheet in &book.sheets {
        // A big sheet streams its rows to a temporary file as they are written (rows go in
        // order here) instead of keeping every cell in memory a second time.
        let ws = if sheet.rows.len() > CONSTANT_MEMORY_ROWS {
            wb.add_worksheet_with_constant_memory()?
        } else {
            wb.add_worksheet()
        };
        ws.set_name(sheet.name)?;
        if sheet.layout == Layout::Table {
            // Before the rows: a streamed sheet writes each row out once the next begins.
            ws.set_row_height(0, 30)?;
        }
        for (i, w) in sheet.widths.iter().enumerate() {
            ws.set_column_width(i as u16, *w)?;
        }
        let last_col = sheet.rows.iter().map(|r| r.len()).max().unwrap_or(1).saturating_sub(1) as u16;
        for (r, row) in sheet.rows.iter().enumerate() {
            let r32 = u32::try_from(r).map_err(|_| XlsxError::RowColumnLimitError)?;
            // A form's column headings: a line of our own labels only.
            let header = match sheet.layout {
                Layout::Table => r == 0,
                Layout::Form => row.len() >= 4 && row.iter().all(|c| matches!(c, Cell::Label(_) | Cell::Empty)),
            };
            // In a form, a line that starts with a heading is a balance or total line.
            let strong = sheet.layout == Layout::Form && matches!(row.first(), Some(Cell::Heading(_)));
            for (c, cell) in row.iter().enumerate() {
                let c16 = u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)?;
                write_cell(ws, (r32, c16), cell, &f, header, strong)?;
            }
        }
        if sheet.layout == Layout::Table {
            ws.set_freeze_panes(1, 0)?;
            let last_row = sheet.rows.len().saturating_sub(1).max(1) as u32;
            ws.autofilter(0, 0, last_row, last_col)?;
        }
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::labels::Lang;
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    #[test]
    fn cells_are_cut_at_excels_limit_in_utf16_units() {
        assert_eq!(cut("短"), "短");
        let bmp = "账".repeat(MAX_CELL_CHARS + 3);
        assert_eq!(cut(&bmp).chars().count(), MAX_CELL_CHARS);
        // 😀 is two UTF-16 units: half as many fit.
        let astral = "😀".repeat(MAX_CELL_CHARS);
        assert_eq!(cut(&astral).chars().count(), MAX_CELL_CHARS / 2);
        assert!(cut(&astral).encode_utf16().count() <= MAX_CELL_CHARS);
        let exact = "a".repeat(MAX_CELL_CHARS);
        assert_eq!(cut(&exact), exact);
    }

    /// A sheet past the constant-memory threshold reads back like a small one: every row,
    /// text as text (a formula-looking text too), amounts as numbers, the header first.
    #[test]
    fn a_streamed_sheet_reads_back_whole() {
        let n = CONSTANT_MEMORY_ROWS + 5;
        let mut rows = vec![vec![Cell::Label("参考号 ref".into()), Cell::Label("金额 amount".into())]];
        for i in 0..n {
            let text = if i == 7 { "=HYPERLINK(\"http://evil.example\",\"x\")".to_string() } else { format!("R{i}") };
            rows.push(vec![Cell::Text(text), Cell::Amount(Decimal::new(i as i64 * 100 + 1, 2))]);
        }
        let book = Book {
            title: "t".into(),
            as_of: NaiveDate::from_ymd_opt(2024, 3, 22).unwrap(),
            lang: Lang::Zh,
            sheets: vec![crate::report::view::Sheet {
                name: "明细",
                layout: Layout::Table,
                widths: vec![20.0, 14.0],
                rows,
            }],
        };
        let bytes = workbook(&book).unwrap();
        let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("明细").unwrap();
        assert_eq!(range.height(), n + 1);
        assert_eq!(range.get((0, 0)), Some(&Data::String("参考号 ref".into())));
        assert_eq!(range.get((8, 0)), Some(&Data::String("=HYPERLINK(\"http://evil.example\",\"x\")".into())));
        assert_eq!(range.get((n, 0)), Some(&Data::String(format!("R{}", n - 1))));
        assert_eq!(range.get((3, 1)), Some(&Data::Float(2.01)));
    }
}
