//! Text that goes into a cell someone opens in Excel or a browser.
//!
//! Names, narratives and references come from banks and finance systems, not from us. A
//! spreadsheet takes a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
//! as a formula (CSV or formula injection: `=HYPERLINK("http://evil.example","x")`), so
//! every such text is written as text, never as a formula:
//! - CSV: prefixed with a single quote `'` (OWASP, "CSV Injection"), see [`csv_text`];
//! - XLSX: written with `write_string` (never `write_formula` for data), see `xlsx`;
//! - HTML: escaped, see [`html`].
//!
//! Amounts are not text: a negative amount is a number (`-12.50`), so the guard is applied
//! to text columns only and amount columns keep their canonical, parseable decimals.

use std::borrow::Cow;

/// UTF-8 byte order mark: Excel reads a CSV file as UTF-8 only when it starts with one
/// (without it, Chinese text shows as mojibake in the ANSI code page).
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// True when a spreadsheet would read `s` as the start of a formula.
pub fn is_formula_like(s: &str) -> bool {
    matches!(s.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
}

/// A text cell for CSV: `'` in front when it would be read as a formula, unchanged
/// otherwise. Only for text columns (names, narratives, references, details).
pub fn csv_text(s: &str) -> Cow<'_, str> {
    if is_formula_like(s) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

/// HTML text and attribute escaping: the five characters that could end a text node or
/// an attribute value. Everything else, Chinese included, goes through as UTF-8.
pub fn html(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Which columns of a CSV row are text (guarded) and which are amounts or dates (left as
/// they are, so `-12.50` stays a number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Text,
    Number,
}

/// A CSV file for Excel: BOM, header, rows, CRLF line ends; the text columns of every row
/// guarded with [`csv_text`]. The header is ours and never guarded.
pub fn csv_for_excel<S: AsRef<str>, const N: usize>(header: &[&str; N], cols: &[Col; N], rows: Vec<[S; N]>) -> Vec<u8> {
    // Writing to a Vec cannot fail.
    let mut w = ExcelCsv::new(Vec::new(), header, *cols).expect("write to memory");
    for r in &rows {
        w.row(r.each_ref().map(AsRef::as_ref)).expect("write to memory");
    }
    w.finish().expect("write to memory")
}

/// [`csv_for_excel`] row by row into any writer (a report of millions of rows goes to
/// its file as it is made, not through memory first).
pub struct ExcelCsv<W: std::io::Write, const N: usize> {
    w: csv::Writer<W>,
    cols: [Col; N],
}

impl<W: std::io::Write, const N: usize> ExcelCsv<W, N> {
    /// Writes the BOM and the header.
    pub fn new(mut out: W, header: &[&str; N], cols: [Col; N]) -> std::io::Result<Self> {
        out.write_all(BOM)?;
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
        w.write_record(header)?;
        Ok(ExcelCsv { w, cols })
    }

    pub fn row(&mut self, r: [&str; N]) -> std::io::Result<()> {
        let cols = &self.cols;
        let guarded: [Cow<'_, str>; N] =
            std::array::from_fn(|i| if cols[i] == Col::Text { csv_text(r[i]) } else { Cow::Borrowed(r[i]) });
        self.w.write_record(guarded.iter().map(|s| s.as_bytes()))?;
        Ok(())
    }

    /// Flushes the CSV writer's buffer and hands back the writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.w.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_recognised() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://evil.example\",\"x\")"] {
            assert!(is_formula_like(s), "{s:?}");
            assert_eq!(csv_text(s), format!("'{s}"));
        }
        for s in ["", "张三", "a=1", " =1", "1-2", "'=1", "＝1"] {
            assert!(!is_formula_like(s), "{s:?}");
            assert_eq!(csv_text(s), s);
        }
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(html("社保 <b>&\"'</b>"), "社保 &lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;");
        assert_eq!(html("plain 文本"), "plain 文本");
        assert!(matches!(html("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn csv_guards_text_columns_only() {
        let got = csv_for_excel::<String, 2>(
            &["name", "amount"],
            &[Col::Text, Col::Number],
            vec![["=HYPERLINK(\"http://evil.example\",\"x\")".into(), "-12.50".into()], ["-x".into(), "3.00".into()]],
        );
        assert!(got.starts_with(BOM));
        let text = std::str::from_utf8(&got[3..]).unwrap();
        assert_eq!(
            text,
            "name,amount\r\n\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",-12.50\r\n'-x,3.00\r\n"
        );
    }
}
