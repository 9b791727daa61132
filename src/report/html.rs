//! The self-contained HTML report of a [`view::Book`]: one file, inline CSS, no script,
//! no image, no external reference (no `src`, no `url(`, links only to anchors of the
//! page), so it can be mailed or archived and still reads the same. Every text is
//! escaped with `cell::html`; amounts are grouped with two decimals (`money::grouped`).
//!
//! Built with plain string writing rather than a template engine: the page is a handful of
//! tables, and one tested escape function on every cell is easier to audit than a
//! template language's escaping rules.

use super::cell::html as esc;
use super::labels::Lang;
use super::view::{Book, Cell, Layout};
use std::fmt::Write;

/// Rows per table in the page: beyond this a browser crawls and nobody reads on; the
/// rest are in report.xlsx and the CSV reports (the last row says how many).
pub const MAX_ROWS: usize = 5_000;

const STYLE: &str = "\
body{font-family:\"PingFang SC\",\"Microsoft YaHei\",\"Noto Sans CJK SC\",\"Source Han Sans SC\",sans-serif;\
margin:1.5em;color:#1b1b1b;font-size:14px}\
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:2px solid #2f5597}\
nav a{margin-right:1.2em;color:#2f5597}\
table{border-collapse:collapse;margin-bottom:1em}\
th,td{border:1px solid #c8c8c8;padding:3px 6px;vertical-align:top;text-align:left}\
thead th{background:#ddebf7;position:sticky;top:0}\
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
td.d{white-space:nowrap}td.neg{color:#c00000}\
td.h{font-weight:bold}table.form td{border-color:#e0e0e0}table.form tr.strong td{font-weight:bold}\
td.t{white-space:pre-wrap}\
@media print{nav{display:none}thead th{position:static}}";

fn td(out: &mut String, c: &Cell) {
    let _ = match c {
        Cell::Empty => write!(out, "<td></td>"),
        Cell::Label(s) => write!(out, "<td>{}</td>", esc(s)),
        Cell::Heading(s) => write!(out, "<td class=\"h\">{}</td>", esc(s)),
        Cell::Text(s) => write!(out, "<td class=\"t\">{}</td>", esc(s)),
        Cell::Int(n) => write!(out, "<td class=\"n\">{n}</td>"),
        Cell::Amount(x) => write!(
            out,
            "<td class=\"n{}\">{}</td>",
            if x.is_sign_negative() && !x.is_zero() { " neg" } else { "" },
            crate::money::grouped(*x)
        ),
        Cell::Date(d) => write!(out, "<td class=\"d\">{d}</td>"),
    };
}

fn cell_text<'c>(c: &'c Cell<'_>) -> &'c str {
    c.as_text().unwrap_or("")
}

/// The page as UTF-8 text.
pub fn page(book: &Book) -> String {
    let l = book.lang.labels();
    let mut out = String::with_capacity(64 * 1024);
    let lang = match book.lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    let title = format!("{} {} {}", book.title, l.as_of, book.as_of);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{} {}</p>\n<nav>",
        esc(&title),
        esc(&book.title),
        esc(l.as_of),
        book.as_of
    );
    for (i, s) in book.sheets.iter().enumerate() {
        let _ = write!(out, "<a href=\"#s{i}\">{}</a>", esc(s.name));
    }
    out.push_str("</nav>\n");
    for (i, s) in book.sheets.iter().enumerate() {
        let rows = &s.rows[..s.rows.len().min(MAX_ROWS)];
        let _ = write!(out, "<section id=\"s{i}\">\n<h2>{}</h2>\n", esc(s.name));
        match s.layout {
            Layout::Table => {
                out.push_str("<table>\n<thead><tr>");
                for c in rows.first().map(Vec::as_slice).unwrap_or_default() {
                    let _ = write!(out, "<th scope=\"col\">{}</th>", esc(cell_text(c)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                if rows.len() <= 1 {
                    let span = rows.first().map_or(1, Vec::len);
                    let _ = writeln!(out, "<tr><td colspan=\"{span}\">{}</td></tr>", esc(l.none));
                }
                for r in rows.iter().skip(1) {
                    out.push_str("<tr>");
                    for c in r {
                        td(&mut out, c);
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Layout::Form => {
                out.push_str("<table class=\"form\">\n");
                let width = rows.iter().map(Vec::len).max().unwrap_or(1);
                for r in rows {
                    let strong = matches!(r.first(), Some(Cell::Heading(_)));
                    out.push_str(if strong { "<tr class=\"strong\">" } else { "<tr>" });
                    for c in r {
                        td(&mut out, c);
                    }
                    for _ in r.len()..width {
                        out.push_str("<td></td>");
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
        }
        if s.rows.len() > rows.len() {
            let n = s.rows.len() - rows.len();
            let _ = writeln!(
                out,
                "<p>{}</p>",
                match book.lang {
                    Lang::Zh => format!("另有 {n} 行未在此页列出，见 report.xlsx 与 CSV 报告。"),
                    Lang::En => format!("{n} more rows are not shown here: see report.xlsx and the CSV reports."),
                }
            );
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::view::{Book, Sheet};

    fn book(rows: usize) -> Book<'static> {
        let mut r = vec![vec![Cell::Label("名称".into()), Cell::Label("金额".into())]];
        for i in 0..rows {
            r.push(vec![
                Cell::Text(format!("<b>{i}</b>").into()),
                Cell::Amount(rust_decimal::Decimal::new(-1234567, 2)),
            ]);
        }
        Book {
            title: "资金对账报告".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2024, 3, 22).unwrap(),
            lang: Lang::Zh,
            sheets: vec![Sheet { name: "汇总", layout: Layout::Table, widths: vec![], rows: r }],
        }
    }

    #[test]
    fn cells_are_escaped_and_amounts_grouped() {
        let p = page(&book(1));
        assert!(p.contains("<td class=\"t\">&lt;b&gt;0&lt;/b&gt;</td><td class=\"n neg\">-12,345.67</td>"), "{p}");
        assert!(p.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
        assert!(page(&book(0)).contains("<td colspan=\"2\">无</td>"));
    }

    #[test]
    fn long_tables_are_cut_and_say_so() {
        let p = page(&book(MAX_ROWS + 10));
        assert_eq!(p.matches("<tr>").count(), MAX_ROWS, "the header row and MAX_ROWS - 1 data rows");
        assert!(p.contains("另有 11 行未在此页列出"), "the header counts as one of the rows");
    }
}
