//! Long table sheets written as XML by this module instead of cell by cell through
//! rust_xlsxwriter, then put into the workbook rust_xlsxwriter made.
//!
//! Why: the 已匹配 sheet of a big run has a million rows. rust_xlsxwriter keeps each row
//! in a B-tree of cells, copies every text into an `Arc<str>` and hashes the whole
//! `Format` of every cell; writing the sheet took five seconds on one core, the longest
//! part of `fundrecon reconcile`. Here the rows are turned into XML on one thread while
//! another compresses them into the archive.
//!
//! How, so that the result reads as the workbook rust_xlsxwriter would have written
//! (the same cells, styles and frame; not the same bytes: the probe's string stays in
//! the shared-string table, unused):
//! 1. rust_xlsxwriter writes the sheet with its header row, widths, frozen pane and
//!    autofilter over the full range, and one *probe* row (row 2) holding one cell of
//!    each format a table cell can have ([`PROBE`]).
//! 2. [`splice`] reads that sheet's XML back, takes the style index (`s="…"`) of every
//!    probe cell, and writes the sheet again: everything before the probe row, the data
//!    rows, everything after it; `<dimension>` gets the real range. Every other file of
//!    the archive is copied as it is, compressed bytes and all.
//! 3. Cells are written as rust_xlsxwriter's constant-memory mode writes them (inline
//!    strings, the same escapes: `&<>`, control characters as `_xHHHH_`, a literal
//!    `_xHHHH_` protected as `_x005F_xHHHH_`), so Excel reads the same thing. The tests
//!    compare the two, cell by cell.

use super::{Formats, amount, cut};
use crate::report::view::{Cell, Sheet};
use rust_xlsxwriter::{ExcelDateTime, Worksheet, XlsxError};
use std::io::{Cursor, Read, Write};

/// Rows per piece handed from the XML thread to the compressing one: big enough that
/// the hand-over costs nothing, small enough that two pieces in flight are a few MiB.
const PIECE_ROWS: usize = 8192;

/// The probe row's cells, in this order from column A: one per style a data cell of a
/// table sheet can carry. Labels and counts carry none (style 0).
const PROBE: [Probe; 4] = [Probe::Text, Probe::Amount, Probe::Date, Probe::Heading];

#[derive(Clone, Copy)]
enum Probe {
    Text,
    Amount,
    Date,
    Heading,
}

/// Style indexes of the probe cells, as rust_xlsxwriter numbered them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Styles {
    text: u32,
    amount: u32,
    date: u32,
    heading: u32,
}

/// Writes the probe row (row index 1) of a streamed sheet.
pub(super) fn write_probe(ws: &mut Worksheet, f: &Formats) -> Result<(), XlsxError> {
    for (c, p) in PROBE.iter().enumerate() {
        let c = c as u16;
        match p {
            Probe::Text => ws.write_string_with_format(1, c, "p", &f.text)?,
            Probe::Amount => ws.write_number_with_format(1, c, 1.0, &f.amount)?,
            Probe::Date => {
                let d = ExcelDateTime::from_ymd(2024, 1, 1)?;
                ws.write_datetime_with_format(1, c, &d, &f.date)?
            }
            Probe::Heading => ws.write_string_with_format(1, c, "p", &f.bold)?,
        };
    }
    Ok(())
}

fn bad(what: String) -> XlsxError {
    // Only a change in rust_xlsxwriter's output can get here; the tests would fail first.
    XlsxError::ParameterError(format!("internal: streamed sheet: {what}"))
}

fn zip_err(e: zip::result::ZipError) -> XlsxError {
    bad(format!("zip: {e}"))
}

/// The workbook `bytes` with the data rows of `sheets` (sheet number from 1, the sheet)
/// put in place of their probe rows.
pub(super) fn splice(bytes: Vec<u8>, sheets: &[(usize, &Sheet)]) -> Result<Vec<u8>, XlsxError> {
    let capacity = bytes.len() + sheets.iter().map(|(_, s)| s.rows.len() * 120).sum::<usize>();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
    let mut done = 0;
    for i in 0..archive.len() {
        let name = archive.by_index_raw(i).map_err(zip_err)?.name().map_err(zip_err)?.to_string();
        let Some((_, sheet)) = sheets.iter().find(|(n, _)| name == format!("xl/worksheets/sheet{n}.xml")) else {
            let file = archive.by_index_raw(i).map_err(zip_err)?;
            out.raw_copy_file(file).map_err(zip_err)?;
            continue;
        };
        let mut xml = String::new();
        let mut file = archive.by_index(i).map_err(zip_err)?;
        let modified = file.last_modified();
        file.read_to_string(&mut xml).map_err(|e| bad(format!("{name}: {e}")))?;
        drop(file);
        let (head, styles, tail) = cut_probe(&xml).ok_or_else(|| bad(format!("{name}: no probe row")))?;
        let head = with_dimension(head, sheet).ok_or_else(|| bad(format!("{name}: no <dimension>")))?;
        let mut options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // As the rest of a big workbook (see `workbook`): level 1.
            .compression_level(Some(1))
            // Zip64 only when the sheet could pass 4 GiB (rust_xlsxwriter, as this
            // project uses it, never writes zip64: nothing else here is that big).
            .large_file(upper_bound(sheet) >= u32::MAX as u64)
            // As rust_xlsxwriter's own entries.
            .unix_permissions(0o600);
        if let Some(t) = modified {
            options = options.last_modified_time(t);
        }
        out.start_file(name.as_str(), options).map_err(zip_err)?;
        out.write_all(head.as_bytes())?;
        rows_into(&mut out, sheet, styles)?;
        out.write_all(tail.as_bytes())?;
        done += 1;
    }
    if done != sheets.len() {
        return Err(bad(format!("{} of {} sheets found in the archive", done, sheets.len())));
    }
    Ok(out.finish().map_err(zip_err)?.into_inner())
}

/// `xml` without its probe row (`<row r="2" …>…</row>`): what comes before, the probe's
/// styles, what comes after.
fn cut_probe(xml: &str) -> Option<(&str, Styles, &str)> {
    let start = xml.find("<row r=\"2\"")?;
    let len = xml[start..].find("</row>")? + "</row>".len();
    let row = &xml[start..start + len];
    let mut s = row.split("<c ").skip(1).map(|c| {
        let tag = &c[..c.find('>')?];
        let at = tag.find(" s=\"")? + 4;
        tag[at..].split('"').next()?.parse::<u32>().ok()
    });
    let mut next = || s.next().flatten();
    let styles = Styles { text: next()?, amount: next()?, date: next()?, heading: next()? };
    Some((&xml[..start], styles, &xml[start + len..]))
}

/// `head` with `<dimension ref="…"/>` set to the sheet's whole range.
fn with_dimension(head: &str, sheet: &Sheet) -> Option<String> {
    let at = head.find("<dimension ref=\"")? + "<dimension ref=\"".len();
    let end = at + head[at..].find('"')?;
    let cols = sheet.rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let range = format!("A1:{}{}", column_name(cols - 1), sheet.rows.len().max(1));
    Some(format!("{}{}{}", &head[..at], range, &head[end..]))
}

/// `A`, `B`, … `Z`, `AA`, … for a column index from 0 (rust_xlsxwriter's own naming).
fn column_name(col: usize) -> String {
    // Sheets here are at most a few dozen columns wide; Excel's limit is 16,384.
    u16::try_from(col).map_or_else(|_| String::new(), rust_xlsxwriter::utility::column_number_to_name)
}

/// More bytes than the sheet's XML can take (an escape is at most 7 bytes for 1).
fn upper_bound(sheet: &Sheet) -> u64 {
    let cell = |c: &Cell| 80 + 7 * c.as_text().map_or(0, str::len) as u64;
    sheet.rows.iter().map(|r| 40 + r.iter().map(cell).sum::<u64>()).sum()
}

/// The data rows (every row after the header) as XML into `out`: turned into XML on a
/// second thread, piece by piece, while this one compresses.
fn rows_into<W: Write>(out: &mut W, sheet: &Sheet, styles: Styles) -> Result<(), XlsxError> {
    let rows = sheet.rows.get(1..).unwrap_or_default();
    let names: Vec<String> = (0..sheet.rows.iter().map(Vec::len).max().unwrap_or(0)).map(column_name).collect();
    std::thread::scope(|scope| -> Result<(), XlsxError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<String>(2);
        let names = &names;
        let maker = scope.spawn(move || {
            for (p, piece) in rows.chunks(PIECE_ROWS).enumerate() {
                let mut buf = String::with_capacity(piece.len() * 256);
                for (i, row) in piece.iter().enumerate() {
                    // Row 1 is the header: data row k (from 0) is row k + 2.
                    row_xml(&mut buf, p * PIECE_ROWS + i + 2, row, names, styles);
                }
                if tx.send(buf).is_err() {
                    return; // the writer stopped: its error is reported
                }
            }
        });
        for piece in rx.iter() {
            out.write_all(piece.as_bytes())?;
        }
        maker.join().map_err(|_| bad("the XML thread stopped".into()))
    })
}

/// One `<row>` as rust_xlsxwriter's constant-memory mode writes it.
fn row_xml(out: &mut String, r: usize, row: &[Cell], names: &[String], s: Styles) {
    use std::fmt::Write as _;
    // Writing into a String cannot fail.
    // A row without cells is left out, as rust_xlsxwriter leaves it out.
    if row.iter().all(|c| matches!(c, Cell::Empty) || matches!(c, Cell::Label(t) if t.is_empty())) {
        return;
    }
    let _ = write!(out, "<row r=\"{r}\">");
    for (c, cell) in row.iter().enumerate() {
        let name = &names[c];
        match cell {
            Cell::Empty => {}
            Cell::Label(t) => text_cell(out, name, r, t, 0),
            Cell::Heading(t) => text_cell(out, name, r, t, s.heading),
            Cell::Text(t) => text_cell(out, name, r, t, s.text),
            Cell::Int(n) => number_cell(out, name, r, *n as f64, 0),
            Cell::Amount(x) => number_cell(out, name, r, amount(*x), s.amount),
            Cell::Date(d) => {
                use chrono::Datelike;
                match u16::try_from(d.year())
                    .ok()
                    .and_then(|y| ExcelDateTime::from_ymd(y, d.month() as u8, d.day() as u8).ok())
                {
                    Some(x) => number_cell(out, name, r, x.to_excel(), s.date),
                    // Before 1900 Excel has no dates: the ISO text, as `write_cell` does.
                    None => text_cell(out, name, r, &d.to_string(), 0),
                }
            }
        }
    }
    out.push_str("</row>");
}

fn number_cell(out: &mut String, col: &str, r: usize, x: f64, style: u32) {
    use std::fmt::Write as _;
    // Amounts are finite (Decimal's range); a NaN would be a bug, written as 0.
    let x = if x.is_finite() { x } else { 0.0 };
    let _ = if style > 0 {
        write!(out, "<c r=\"{col}{r}\" s=\"{style}\"><v>{x}</v></c>")
    } else {
        write!(out, "<c r=\"{col}{r}\"><v>{x}</v></c>")
    };
}

fn text_cell(out: &mut String, col: &str, r: usize, t: &str, style: u32) {
    use std::fmt::Write as _;
    let t = cut(t);
    if t.is_empty() {
        // rust_xlsxwriter: an empty string with a format is a blank cell, without one
        // nothing.
        if style > 0 {
            let _ = write!(out, "<c r=\"{col}{r}\" s=\"{style}\"/>");
        }
        return;
    }
    let _ = if style > 0 {
        write!(out, "<c r=\"{col}{r}\" s=\"{style}\" t=\"inlineStr\"><is><t")
    } else {
        write!(out, "<c r=\"{col}{r}\" t=\"inlineStr\"><is><t")
    };
    let ws = ['\t', '\n', ' '];
    if t.starts_with(ws) || t.ends_with(ws) {
        out.push_str(" xml:space=\"preserve\"");
    }
    out.push('>');
    escape_into(out, t);
    out.push_str("</t></is></c>");
}

/// rust_xlsxwriter's `escape_xml_escapes` then `escape_xml_data`: a literal `_xHHHH_`
/// gets `_x005F` in front (so Excel does not read it as an escape), then `&`, `<`, `>`,
/// the control characters other than tab and newline, U+FFFE and U+FFFF are escaped.
fn escape_into(out: &mut String, t: &str) {
    let plain = |b: u8| !matches!(b, b'&' | b'<' | b'>' | b'_' | 0..=8 | 11..=31 | 0xEF);
    if t.bytes().all(plain) {
        out.push_str(t);
        return;
    }
    let bytes = t.as_bytes();
    for (i, ch) in t.char_indices() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' => out.push(ch),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {
                use std::fmt::Write as _;
                let _ = write!(out, "_x{:04X}_", ch as u32);
            }
            '_' => {
                let is_escape = bytes.len() >= i + 7
                    && bytes[i + 1] == b'x'
                    && bytes[i + 2..i + 6].iter().all(u8::is_ascii_hexdigit)
                    && bytes[i + 6] == b'_';
                if is_escape {
                    out.push_str("_x005F");
                }
                out.push('_');
            }
            _ => out.push(ch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_count_like_excel() {
        let names: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702, 16383].into_iter().map(column_name).collect();
        assert_eq!(names, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "XFD"]);
    }

    #[test]
    fn text_is_escaped_as_rust_xlsxwriter_escapes_it() {
        let cases = [
            ("plain 文本", "plain 文本"),
            ("a<b & c>d", "a&lt;b &amp; c&gt;d"),
            ("tab\there\nnl", "tab\there\nnl"),
            ("bell\u{7}cr\r", "bell_x0007_cr_x000D_"),
            ("_x0041_ and _x00zz_ and _x12", "_x005F_x0041_ and _x00zz_ and _x12"),
            ("__x0041_", "__x005F_x0041_"),
            ("non\u{fffe}char\u{ffff}", "non_xFFFE_char_xFFFF_"),
            ("\u{feff}bom 龘", "\u{feff}bom 龘"),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            escape_into(&mut out, input);
            assert_eq!(out, want, "{input:?}");
        }
    }
}
