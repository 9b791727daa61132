//! HTML by hand: every text that comes from data goes through [`esc`]; the page frame,
//! the style sheet and small builders. No JavaScript anywhere (the CSP forbids it too).

use crate::config::ServeRole;
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values: `& < > " '`
/// (the one escape of the crate, `report::cell::html`, which the HTML report uses too).
pub fn esc(s: &str) -> String {
    crate::report::cell::html(s).into_owned()
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A Chinese label with its English name in small type.
pub fn label(zh: &str, en: &str) -> String {
    format!("{} <small>{}</small>", esc(zh), esc(en))
}

/// The one style sheet, served as `/app.css` (no inline styles: the CSP allows only 'self').
pub const CSS: &str = r#"
:root { --fg:#1d2430; --muted:#5b6574; --line:#d8dde5; --bg:#f6f7f9; --accent:#0b5cad; --bad:#a4262c; --ok:#1e6f3d; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.55 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei","Source Han Sans SC",system-ui,sans-serif; color:var(--fg); background:var(--bg); }
header { background:#14365d; color:#fff; padding:.5rem 1.2rem; display:flex; align-items:center; gap:1.2rem; flex-wrap:wrap; }
header .brand { font-weight:600; letter-spacing:.05em; }
header a { color:#fff; text-decoration:none; padding:.2rem .4rem; border-radius:3px; }
header a:hover, header a.here { background:rgba(255,255,255,.16); }
header .who { margin-left:auto; font-size:.9em; opacity:.9; }
header form { display:inline; margin:0; }
header button { background:transparent; color:#fff; border:1px solid rgba(255,255,255,.5); border-radius:3px; cursor:pointer; padding:.15rem .6rem; }
main { padding:1rem 1.2rem 3rem; max-width:1400px; }
h1 { font-size:1.35rem; margin:.3rem 0 .8rem; }
h2 { font-size:1.1rem; margin:1.4rem 0 .5rem; border-bottom:1px solid var(--line); padding-bottom:.2rem; }
small { color:var(--muted); font-size:.78em; font-weight:normal; }
header small { color:#cfd8e3; }
table { border-collapse:collapse; background:#fff; width:100%; }
th, td { border:1px solid var(--line); padding:.3rem .5rem; text-align:left; vertical-align:top; }
th { background:#eef1f5; font-weight:600; white-space:nowrap; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.key { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:.92em; white-space:nowrap; }
tr:hover td { background:#f9fbfe; }
.filters { display:flex; gap:.8rem; flex-wrap:wrap; align-items:flex-end; background:#fff; border:1px solid var(--line); padding:.6rem .8rem; margin-bottom:.8rem; }
.filters label { display:flex; flex-direction:column; font-size:.9em; }
input, select, textarea, button { font:inherit; }
input[type=number] { width:6em; }
input[type=text], input[type=number], input[type=password], select, textarea { border:1px solid #b9c1cc; border-radius:3px; padding:.2rem .4rem; background:#fff; }
textarea { width:100%; min-height:3.2em; }
button { background:var(--accent); color:#fff; border:0; border-radius:3px; padding:.3rem .9rem; cursor:pointer; }
button.danger { background:var(--bad); }
button small { color:#dce7f5; }
.actions { display:grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap:.8rem; }
.actions form { background:#fff; border:1px solid var(--line); padding:.6rem .8rem; margin:0; }
.actions h3 { margin:0 0 .4rem; font-size:1rem; }
.note { background:#fff8e1; border:1px solid #f0d58c; padding:.5rem .8rem; margin:.6rem 0; }
.error { background:#fdecea; border:1px solid #e3a19c; padding:.5rem .8rem; margin:.6rem 0; color:var(--bad); }
.done { background:#e8f5ec; border:1px solid #9fd0ae; padding:.5rem .8rem; margin:.6rem 0; color:var(--ok); }
ul.explain { background:#fff; border:1px solid var(--line); padding:.5rem 1.6rem; margin:0; }
ul.explain li { white-space:pre-wrap; word-break:break-word; }
.count { color:var(--muted); margin:.3rem 0; }
.login { max-width:360px; margin:4rem auto; background:#fff; border:1px solid var(--line); padding:1.2rem 1.5rem; }
.login label { display:block; margin:.6rem 0; }
.login input { width:100%; }
.hash { font-family: ui-monospace, monospace; font-size:.8em; color:var(--muted); }
"#;

/// Who is looking, for the page frame: name, role and the session's CSRF token (logout form).
pub struct Viewer<'a> {
    pub name: &'a str,
    pub role: ServeRole,
    pub csrf: &'a str,
}

/// The whole page: frame, navigation (when logged in) and `body` (already HTML).
pub fn page(title: &str, here: &str, who: Option<&Viewer>, body: &str) -> String {
    let mut nav = String::new();
    if let Some(v) = who {
        for (href, zh, en) in
            [("/", "待处理事项", "Open items"), ("/runs", "批次", "Runs"), ("/decisions", "审核记录", "Decisions")]
        {
            let class = if href == here { " class=\"here\"" } else { "" };
            let _ = write!(nav, "<a href=\"{href}\"{class}>{}</a>", label(zh, en));
        }
        let role = match v.role {
            ServeRole::Reviewer => label("审核员", "reviewer"),
            ServeRole::Viewer => label("只读", "viewer"),
        };
        let _ = write!(
            nav,
            "<span class=\"who\">{} · {role}</span><form method=\"post\" action=\"/logout\">{}<button type=\"submit\" id=\"logout\">退出 <small>Log out</small></button></form>",
            esc(v.name),
            csrf_field(v.csrf)
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · fundrecon</title><link rel=\"stylesheet\" href=\"/app.css\"></head>\n<body><header><span class=\"brand\">专户对账 <small>fundrecon</small></span>{nav}</header>\n<main>{body}</main></body></html>\n",
        esc(title)
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(token))
}

/// A hidden field.
pub fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(name), esc(value))
}

/// `<option>`s with one selected.
pub fn options(items: &[(String, String)], selected: &str) -> String {
    let mut out = String::new();
    for (value, text) in items {
        let sel = if value == selected { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", esc(value), esc(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_neutralises_markup_and_attributes() {
        assert_eq!(esc("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(esc("\" onmouseover='x' a=\"&"), "&quot; onmouseover=&#39;x&#39; a=&quot;&amp;");
        assert_eq!(esc("收入户归集 R-1"), "收入户归集 R-1");
        assert_eq!(esc(""), "");
        // Already-escaped text is escaped again (shown as typed, never interpreted).
        assert_eq!(esc("&lt;"), "&amp;lt;");
    }

    #[test]
    fn url_encodes_everything_but_unreserved() {
        assert_eq!(url("disbursement:V 1&x=<y>"), "disbursement%3AV%201%26x%3D%3Cy%3E");
        assert_eq!(url("BK24032100501#1"), "BK24032100501%231");
        assert_eq!(url("张"), "%E5%BC%A0");
    }

    #[test]
    fn page_escapes_the_title_and_user() {
        let v = Viewer { name: "<b>x</b>", role: ServeRole::Viewer, csrf: "t\"k" };
        let p = page("<i>", "/", Some(&v), "");
        assert!(p.contains("&lt;b&gt;x&lt;/b&gt;") && !p.contains("<b>x"));
        assert!(p.contains("<title>&lt;i&gt; · fundrecon</title>"));
        assert!(p.contains("value=\"t&quot;k\""));
        assert!(!p.contains("<script"));
    }
}
