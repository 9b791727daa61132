//! Bytes to rows of cells: CSV/TXT (UTF-8 with or without BOM, or GB18030/GBK, decided by
//! content, never by the file name) and Excel workbooks (.xls BIFF, .xlsx) through calamine.

use super::guard;
use super::value::Cell;
use crate::parse::text;
use crate::parse::{Limits, Location, ParseError};
use calamine::{Data, DataRef, Reader, Xls, Xlsx};
use std::io::Cursor;

/// No bank export has more columns than this; a row with more is refused.
pub(crate) const MAX_CELLS_PER_ROW: usize = 512;
/// Sheets of a workbook we look at.
pub(crate) const MAX_SHEETS: usize = 64;
/// Rows above and below the table (titles, metadata, footers) allowed on top of
/// `Limits::max_entries_per_statement`.
pub(crate) const EXTRA_ROWS: usize = 10_000;

/// One row: its 1-based line (text) or row number (spreadsheet), and its cells.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub line: u64,
    pub cells: Vec<Cell>,
}

/// One table: the whole of a CSV file, or one worksheet.
#[derive(Clone, Debug)]
pub(crate) struct Sheet {
    /// Worksheet name; `None` for text files.
    pub name: Option<String>,
    pub rows: Vec<Row>,
}

/// What the file is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Container {
    Text,
    /// OLE2 compound file: BIFF .xls.
    Xls,
    /// ZIP: .xlsx.
    Xlsx,
}

pub(crate) fn sniff(bytes: &[u8]) -> Container {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Container::Xls
    } else if bytes.starts_with(b"PK\x03\x04") {
        Container::Xlsx
    } else {
        Container::Text
    }
}

fn file_err(file: &str, message: String) -> ParseError {
    ParseError::new(file, Location::File, None, message)
}

fn row_limit(limits: &Limits) -> usize {
    limits.max_entries_per_statement.saturating_add(EXTRA_ROWS)
}

// ---------------------------------------------------------------------------------------
// Text

/// Which text encoding to accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    Auto,
    Utf8,
    Gb18030,
}

/// Decodes a text export strictly; the error names the first byte that fits no encoding.
pub(crate) fn decode(file: &str, bytes: &[u8], want: Want) -> Result<(String, text::Encoding), ParseError> {
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &bytes[3..] } else { bytes };
    let offset = if bom { 3 } else { 0 };
    let utf8_err = |valid: usize| {
        let (line, b) = place(body, valid);
        format!("as UTF-8, byte 0x{b:02X} at offset {} (line {line}) starts no valid character", valid + offset)
    };
    let gb_err = |bad: usize| {
        let (line, b) = place(body, bad);
        let next = body
            .get(bad + 1)
            .map(|n| format!(" followed by 0x{n:02X}"))
            .unwrap_or_else(|| " at the end of the file".into());
        format!(
            "as GB18030/GBK, byte 0x{b:02X}{next} at offset {} (line {line}) starts no valid character",
            bad + offset
        )
    };
    match want {
        Want::Utf8 => match std::str::from_utf8(body) {
            Ok(s) => Ok((s.to_string(), text::Encoding::Utf8)),
            Err(e) => Err(file_err(file, format!("the layout says UTF-8, but {}", utf8_err(e.valid_up_to())))),
        },
        Want::Gb18030 => match gb18030(body) {
            Ok(s) => Ok((s, text::Encoding::Gb18030)),
            Err(bad) => Err(file_err(file, format!("the layout says GB18030/GBK, but {}", gb_err(bad)))),
        },
        Want::Auto => {
            match text::decode_checked(bytes, false) {
                Ok((s, enc)) => return Ok((s.into_owned(), enc)),
                Err(e) if e.mixed => return Err(e.into_parse(file)),
                Err(_) => {}
            }
            let u = std::str::from_utf8(body).err().map(|e| e.valid_up_to()).unwrap_or(0);
            let g = gb18030(body).err().unwrap_or(0);
            // Report the reading that got further: that is most likely the file's encoding.
            let msg = if g >= u {
                format!("cannot decode the file: it is neither UTF-8 nor GB18030/GBK; {}", gb_err(g))
            } else {
                format!("cannot decode the file: it is neither UTF-8 nor GB18030/GBK; {}", utf8_err(u))
            };
            let (line, _) = place(body, g.max(u));
            Err(ParseError::new(file, Location::Line(line), None, msg))
        }
    }
}

/// 1-based line of byte `at`, and the byte there.
fn place(b: &[u8], at: usize) -> (u64, u8) {
    let at = at.min(b.len());
    (1 + b[..at].iter().filter(|&&c| c == b'\n').count() as u64, b.get(at).copied().unwrap_or(0))
}

use text::gb18030;

/// Refuses lines over `Limits::max_line_bytes` before any tokenising.
pub(crate) fn check_lines(file: &str, text: &str, limits: &Limits) -> Result<(), ParseError> {
    for (i, line) in text.split('\n').enumerate() {
        if line.len() > limits.max_line_bytes {
            return Err(ParseError::new(
                file,
                Location::Line(i as u64 + 1),
                None,
                format!("line is {} bytes, over the limit of {} bytes", line.len(), limits.max_line_bytes),
            ));
        }
    }
    Ok(())
}

/// Splits decoded text into rows. `max_rows` stops early (header detection reads only the
/// top of the file).
pub(crate) fn tokenize(
    file: &str,
    text: &str,
    delimiter: u8,
    limits: &Limits,
    max_rows: Option<usize>,
) -> Result<Vec<Row>, ParseError> {
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    let limit = row_limit(limits);
    // The csv crate does not count newlines inside quoted fields: lines come from offsets.
    let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let bytes = text.as_bytes();
    let line_of = |byte: u64| {
        // A record's position may point at the blank lines skipped before it.
        let mut b = byte as usize;
        while matches!(bytes.get(b), Some(b'\n' | b'\r')) {
            b += 1;
        }
        starts.partition_point(|&s| s <= b) as u64
    };
    loop {
        if max_rows.is_some_and(|m| rows.len() >= m) {
            break;
        }
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| line_of(p.byte())).unwrap_or(0);
                return Err(ParseError::new(file, Location::Line(line), None, format!("malformed CSV: {e}")));
            }
        }
        let line = rec.position().map(|p| line_of(p.byte())).unwrap_or(0);
        if rows.len() >= limit {
            return Err(ParseError::new(file, Location::Line(line), None, format!("more than {limit} rows")));
        }
        if rec.len() > MAX_CELLS_PER_ROW {
            return Err(ParseError::new(
                file,
                Location::Line(line),
                None,
                format!("row has {} cells, over the limit of {MAX_CELLS_PER_ROW}", rec.len()),
            ));
        }
        let mut cells = Vec::with_capacity(rec.len());
        for f in rec.iter() {
            if f.len() > limits.max_line_bytes {
                return Err(ParseError::new(
                    file,
                    Location::Line(line),
                    None,
                    format!("a cell is {} bytes, over the limit of {} bytes", f.len(), limits.max_line_bytes),
                ));
            }
            cells.push(if f.is_empty() { Cell::Empty } else { Cell::Text(f.to_string()) });
        }
        rows.push(Row { line, cells });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// Workbooks

/// Reads every worksheet of an .xls or .xlsx. The guard refuses, before calamine sees the
/// bytes, workbooks whose sheets or compressed parts would blow past the limits.
pub(crate) fn workbook(file: &str, bytes: &[u8], kind: Container, limits: &Limits) -> Result<Vec<Sheet>, ParseError> {
    let max_cells = row_limit(limits).saturating_mul(32).min(guard::MAX_SHEET_CELLS);
    match kind {
        Container::Xls => guard::check_xls(bytes, max_cells),
        Container::Xlsx => guard::check_xlsx(bytes, limits.max_file_bytes),
        Container::Text => Ok(()),
    }
    .map_err(|m| file_err(file, format!("refused spreadsheet: {m}")))?;
    // calamine is a large parser of a hostile format: a panic inside it must not take the
    // process down, it becomes this file's error.
    let res = std::panic::catch_unwind(|| match kind {
        Container::Xls => read_xls(bytes, limits),
        _ => read_xlsx(bytes, limits),
    });
    match res {
        Ok(r) => r.map_err(|m| file_err(file, m)),
        Err(_) => Err(file_err(file, "the spreadsheet reader failed on this file (malformed workbook)".into())),
    }
}

fn convert(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => {
            if s.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s.clone())
            }
        }
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Int(*i),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => excel_date(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(format!("{e}")),
    }
}

fn convert_ref(d: &DataRef<'_>) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => {
            if s.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s.clone())
            }
        }
        DataRef::SharedString(s) => {
            if s.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s.to_string())
            }
        }
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => excel_date(dt),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(format!("{e}")),
    }
}

fn excel_date(dt: &calamine::ExcelDateTime) -> Cell {
    let serial = dt.as_f64();
    if dt.is_duration() || !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return Cell::Number(serial);
    }
    let (y, m, d, hh, mm, ss, _) = dt.to_ymd_hms_milli();
    Cell::Date { ymd_hms: (y, m, d, hh, mm, ss), serial }
}

fn read_xls(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, String> {
    let mut wb = Xls::new(Cursor::new(bytes)).map_err(|e| format!("not a readable .xls workbook: {e}"))?;
    let names = wb.sheet_names();
    let mut sheets = Vec::new();
    for name in names.into_iter().take(MAX_SHEETS) {
        let range = wb.worksheet_range(&name).map_err(|e| format!("sheet {name:?}: {e}"))?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        if c0 as usize >= MAX_CELLS_PER_ROW || range.width().saturating_add(c0 as usize) > MAX_CELLS_PER_ROW {
            return Err(format!(
                "sheet {name:?} is {} columns wide, over the limit of {MAX_CELLS_PER_ROW}",
                range.width()
            ));
        }
        if range.height() > row_limit(limits) {
            return Err(format!("sheet {name:?} has more than {} rows", row_limit(limits)));
        }
        let mut rows = Vec::with_capacity(range.height());
        for (i, r) in range.rows().enumerate() {
            let mut cells = vec![Cell::Empty; c0 as usize];
            cells.extend(r.iter().map(convert));
            while cells.last() == Some(&Cell::Empty) {
                cells.pop();
            }
            rows.push(Row { line: u64::from(r0) + i as u64 + 1, cells });
        }
        sheets.push(Sheet { name: Some(name), rows });
    }
    Ok(sheets)
}

fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, String> {
    let mut wb = Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("not a readable .xlsx workbook: {e}"))?;
    let names = wb.sheet_names();
    let max_rows = row_limit(limits);
    let mut sheets = Vec::new();
    for name in names.into_iter().take(MAX_SHEETS) {
        let mut reader = wb.worksheet_cells_reader(&name).map_err(|e| format!("sheet {name:?}: {e}"))?;
        // Streamed cell by cell: a sheet that claims A1:XFD1048576 costs nothing.
        let mut rows: Vec<Row> = Vec::new();
        let mut n = 0usize;
        loop {
            let cell = match reader.next_cell() {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Err(format!("sheet {name:?}: {e}")),
            };
            n += 1;
            if n > max_rows.saturating_mul(MAX_CELLS_PER_ROW) {
                return Err(format!("sheet {name:?} has too many cells"));
            }
            let (r, c) = cell.get_position();
            let value = convert_ref(cell.get_value());
            if value == Cell::Empty {
                continue;
            }
            if c as usize >= MAX_CELLS_PER_ROW {
                return Err(format!(
                    "sheet {name:?} has a cell in column {}, over the limit of {MAX_CELLS_PER_ROW}",
                    c + 1
                ));
            }
            let line = u64::from(r) + 1;
            if rows.last().is_none_or(|last| last.line != line) {
                if rows.last().is_some_and(|last| last.line > line) {
                    return Err(format!("sheet {name:?}: rows out of order at row {line}"));
                }
                if rows.len() >= max_rows {
                    return Err(format!("sheet {name:?} has more than {max_rows} rows"));
                }
                rows.push(Row { line, cells: Vec::new() });
            }
            if let Some(row) = rows.last_mut() {
                if row.cells.len() <= c as usize {
                    row.cells.resize(c as usize + 1, Cell::Empty);
                }
                row.cells[c as usize] = value;
            }
        }
        sheets.push(Sheet { name: Some(name), rows });
    }
    Ok(sheets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_the_byte() {
        // "拨付" in GBK, a newline, then a lone lead byte.
        let e = decode("a.csv", b"\xB2\xA6\xB8\xB6\nabc\x81", Want::Auto).unwrap_err();
        assert_eq!(e.location, Location::Line(2));
        assert!(e.message.contains("byte 0x81 at the end of the file at offset 8 (line 2)"), "{e}");
        let e = decode("a.csv", b"ok\n\xE6\x8B\xA8\xFF", Want::Auto).unwrap_err();
        assert!(e.message.contains("0xFF"), "{e}");
        let (s, enc) = decode("a.csv", b"\xEF\xBB\xBFa,b", Want::Auto).unwrap();
        assert_eq!((s.as_str(), enc), ("a,b", text::Encoding::Utf8));
        assert!(decode("a.csv", b"\xB2\xA6", Want::Utf8).is_err());
    }

    #[test]
    fn tokenizes_with_lines() {
        let rows = tokenize("a.csv", "a,b\n\"x\ny\",2\n\nz", b',', &Limits::default(), None).unwrap();
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 2, 5]);
        assert_eq!(rows[1].cells[0], Cell::Text("x\ny".into()));
    }
}
