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
//! - Table sheets over [`STREAMED_ROWS`] rows have their data rows written by [`stream`]
//!   (a million-row 已匹配 sheet took seconds cell by cell).

mod stream;

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

/// Sheets longer than this are written in rust_xlsxwriter's constant-memory mode, or,
/// when they are tables, by [`stream`].
const CONSTANT_MEMORY_ROWS: usize = 20_000;
const STREAMED_ROWS: usize = CONSTANT_MEMORY_ROWS;

/// The workbook as bytes.
pub fn workbook(book: &Book) -> std::io::Result<Vec<u8>> {
    workbook_streaming_over(book, STREAMED_ROWS)
}

/// [`workbook`] with table sheets over `rows` rows streamed (the tests stream small ones).
fn workbook_streaming_over(book: &Book, rows: usize) -> std::io::Result<Vec<u8>> {
    let mut streamed = Vec::new();
    let bytes = cells(book, &mut streamed, rows).map_err(std::io::Error::other)?;
    if streamed.is_empty() {
        return Ok(bytes);
    }
    let streamed: Vec<(usize, &super::view::Sheet)> = streamed.into_iter().map(|i| (i + 1, &book.sheets[i])).collect();
    stream::splice(bytes, &streamed).map_err(std::io::Error::other)
}

/// The workbook rust_xlsxwriter writes, with only the header and a probe row of the
/// sheets listed in `streamed` (their indexes), for [`stream::splice`] to fill.
fn cells(book: &Book, streamed: &mut Vec<usize>, stream_over: usize) -> Result<Vec<u8>, XlsxError> {
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
    for (index, sheet) in book.sheets.iter().enumerate() {
        let stream = sheet.layout == Layout::Table && sheet.rows.len() > stream_over;
        // A big sheet streams its rows to a temporary file as they are written (rows go in
        // order here) instead of keeping every cell in memory a second time.
        let ws = if sheet.rows.len() > CONSTANT_MEMORY_ROWS && !stream {
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
        // A streamed sheet: the header here, a probe row for its styles, the rest later.
        let written = if stream { sheet.rows.get(..1).unwrap_or_default() } else { &sheet.rows[..] };
        if stream {
            stream::write_probe(ws, &f)?;
            streamed.push(index);
        }
        for (r, row) in written.iter().enumerate() {
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
            rows.push(vec![Cell::Text(text.into()), Cell::Amount(Decimal::new(i as i64 * 100 + 1, 2))]);
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

    /// Every cell kind and awkward text, as a table sheet and a form sheet.
    fn mixed_book() -> Book<'static> {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let texts = [
            "plain 文本",
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "a<b & c>d \"q\" 'a'",
            " leading and trailing ",
            "tab\there\nnewline",
            "bell\u{7}cr\r",
            "_x0041_ __x0042_ _x12",
            "non\u{fffe}char",
            "😀 astral",
            "",
        ];
        let mut rows = vec![vec![
            Cell::Label("参考号 ref".into()),
            Cell::Label("金额 amount".into()),
            Cell::Label("日期 date".into()),
            Cell::Label("n".into()),
            Cell::Label("label".into()),
            Cell::Empty,
            Cell::Label("heading".into()),
        ]];
        for i in 0..40usize {
            rows.push(vec![
                Cell::Text(texts[i % texts.len()].into()),
                Cell::Amount(Decimal::new(i as i64 * 1234567 - 9_999_999, 2)),
                if i % 7 == 3 {
                    Cell::Empty
                } else {
                    Cell::Date(d(2024 + i as i32 % 3, 1 + i as u32 % 12, 1 + i as u32 % 28))
                },
                Cell::Int(i as i64 - 5),
                Cell::Label(texts[(i + 3) % texts.len()].to_string()),
                Cell::Empty,
                Cell::Heading(texts[(i + 5) % texts.len()].to_string()),
            ]);
        }
        rows.push(vec![Cell::Date(d(1899, 12, 31)), Cell::Amount(Decimal::new(-1, 2))]);
        rows.push(vec![Cell::Text("x".repeat(MAX_CELL_CHARS + 10).into())]);
        let form = vec![vec![Cell::Heading("余额".into()), Cell::Amount(Decimal::new(100, 0))]];
        Book {
            title: "t".into(),
            as_of: d(2024, 3, 22),
            lang: Lang::Zh,
            sheets: vec![
                crate::report::view::Sheet { name: "表", layout: Layout::Form, widths: vec![10.0, 10.0], rows: form },
                crate::report::view::Sheet {
                    name: "明细",
                    layout: Layout::Table,
                    widths: vec![20.0, 14.0, 11.0, 6.0, 10.0, 4.0, 10.0],
                    rows,
                },
            ],
        }
    }

    fn file_of(bytes: &[u8], name: &str) -> String {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name(name).unwrap(), &mut s).unwrap();
        s
    }

    /// Each `<c>` of a sheet's XML with its style index replaced by what the style is
    /// (number format and bold), so two workbooks that number their styles differently
    /// compare equal when their cells are the same.
    fn cells_described(bytes: &[u8], sheet: usize) -> Vec<String> {
        let styles = file_of(bytes, "xl/styles.xml");
        let fonts: Vec<bool> = {
            let f = &styles[styles.find("<fonts").unwrap()..styles.find("</fonts>").unwrap()];
            f.split("<font>").skip(1).map(|x| x.contains("<b/>")).collect()
        };
        let xfs: Vec<String> = {
            let x = &styles[styles.find("<cellXfs").unwrap()..styles.find("</cellXfs>").unwrap()];
            x.split("<xf ")
                .skip(1)
                .map(|x| {
                    let attr = |k: &str| {
                        let at = x.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
                        x[at..].split('"').next().unwrap().to_string()
                    };
                    let fmt = attr("numFmtId");
                    let code = match styles.find(&format!("numFmtId=\"{fmt}\" formatCode=\"")) {
                        Some(at) => styles[at..].split('"').nth(3).unwrap().to_string(),
                        None => format!("builtin {fmt}"),
                    };
                    let bold = fonts[attr("fontId").parse::<usize>().unwrap()];
                    format!("{code}{}", if bold { " bold" } else { "" })
                })
                .collect()
        };
        let xml = file_of(bytes, &format!("xl/worksheets/sheet{sheet}.xml"));
        let data = &xml[xml.find("<sheetData>").unwrap()..xml.find("</sheetData>").unwrap()];
        data.split("<c ")
            .skip(1)
            .map(|c| {
                let c = &c[..c.find("</c>").or_else(|| c.find("/>").map(|i| i + 2)).unwrap()];
                match c.find(" s=\"") {
                    Some(at) => {
                        let n: usize = c[at + 4..].split('"').next().unwrap().parse().unwrap();
                        let end = at + 4 + n.to_string().len() + 1;
                        format!("{}[{}]{}", &c[..at], xfs[n], &c[end..])
                    }
                    None => c.to_string(),
                }
            })
            .collect()
    }

    /// A streamed table sheet holds, cell for cell, what rust_xlsxwriter writes in its
    /// constant-memory mode (same XML, same escapes, styles with the same formats), and
    /// reads back the same through calamine; the sheet's frame (dimension, autofilter,
    /// frozen pane, widths) is the same too.
    #[test]
    fn a_streamed_sheet_is_the_sheet_rust_xlsxwriter_writes() {
        let book = mixed_book();
        let streamed = workbook_streaming_over(&book, 0).unwrap();
        // Constant-memory mode is rust_xlsxwriter's inline-string writer: force it.
        let mut plain_book = book.clone();
        let pad = CONSTANT_MEMORY_ROWS + 1 - plain_book.sheets[1].rows.len();
        plain_book.sheets[1].rows.extend(std::iter::repeat_n(vec![Cell::Empty], pad));
        let plain = workbook_streaming_over(&plain_book, usize::MAX).unwrap();
        // The header row is rust_xlsxwriter's in both (a shared string in one, inline in
        // the other): the data rows are compared.
        let data = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .filter(|c| !c.split('"').nth(1).unwrap().trim_start_matches(char::is_alphabetic).eq("1"))
                .collect()
        };
        let (a, b) = (data(cells_described(&streamed, 2)), data(cells_described(&plain, 2)));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y);
        }
        assert!(a.iter().any(|c| c.contains("[#,##0.00]")) && a.iter().any(|c| c.contains("[yyyy-mm-dd]")));
        assert!(a.iter().any(|c| c.contains("[@]")) && a.iter().any(|c| c.contains(" bold]")), "{:?}", &a[..12]);
        // The frame: the same apart from the padding rows of the plain one.
        let frame = |bytes: &[u8]| {
            let xml = file_of(bytes, "xl/worksheets/sheet2.xml");
            let head = xml[..xml.find("<sheetData>").unwrap()].to_string();
            let tail = xml[xml.find("</sheetData>").unwrap()..].to_string();
            (head, tail)
        };
        let (sh, st) = frame(&streamed);
        assert!(sh.contains("<dimension ref=\"A1:G43\"/>"), "{sh}");
        assert!(st.contains("<autoFilter ref=\"A1:G43\"/>"), "{st}");
        assert!(sh.contains("<pane ySplit=\"1\""), "{sh}");
        assert!(sh.contains("<col min=\"1\" max=\"1\" width=\"20.7109375\""), "{sh}");
        // Everything read back the same.
        let read = |bytes: Vec<u8>| {
            let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
            let r = wb.worksheet_range("明细").unwrap();
            (0..43).map(|i| (0..7).map(|j| r.get((i, j)).cloned()).collect::<Vec<_>>()).collect::<Vec<_>>()
        };
        let (ra, rb) = (read(streamed.clone()), read(plain));
        assert_eq!(ra, rb);
        assert_eq!(ra[2][0], Some(Data::String("=HYPERLINK(\"http://evil.example\",\"x\")".into())));
        assert!(matches!(ra[1][2], Some(Data::DateTime(_))), "{:?}", ra[1][2]);
        // The other sheet and the rest of the archive are rust_xlsxwriter's, untouched.
        assert_eq!(
            file_of(&streamed, "xl/worksheets/sheet1.xml"),
            file_of(&workbook(&book).unwrap(), "xl/worksheets/sheet1.xml")
        );
    }

    /// The same book gives the same bytes (the report is archived and compared).
    #[test]
    fn a_streamed_workbook_is_reproducible() {
        let book = mixed_book();
        assert_eq!(workbook_streaming_over(&book, 0).unwrap(), workbook_streaming_over(&book, 0).unwrap());
    }
}
