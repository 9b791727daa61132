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

fn cell_text(c: &Cell) -> &str {
    match c {
        Cell::Label(s) | Cell::Heading(s) | Cell::Text(s) => s,
        _ => "",
    }
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
        let _ = write!(out, "<section id=\"s{i}\">\n<h2>{}</h2>\n", esc(s.name));
        match s.layout {
            Layout::Table => {
                out.push_str("<table>\n<thead><tr>");
                for c in s.rows.first().map(Vec::as_slice).unwrap_or_default() {
                    let _ = write!(out, "<th scope=\"col\">{}</th>", esc(cell_text(c)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                if s.rows.len() <= 1 {
                    let span = s.rows.first().map_or(1, Vec::len);
                    let _ = writeln!(out, "<tr><td colspan=\"{span}\">{}</td></tr>", esc(l.none));
                }
                for r in s.rows.iter().skip(1) {
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
                let width = s.rows.iter().map(Vec::len).max().unwrap_or(1);
                for r in &s.rows {
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
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}
