//! The pages people read: login, open items (the main page), batches, one item with its
//! explanation, candidates and actions, and the audit rows.

use super::candidates::{self, Side};
use super::html::{self, Viewer, esc, label, url};
use super::{App, Fields, html as respond, see_other};
use crate::config::ServeRole;
use crate::discrepancy::Kind;
use crate::money::grouped;
use crate::review::{Action, Decision, Item};
use crate::store::OpenItem;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Most rows a table shows (the count says how many there are).
pub const MAX_ROWS: usize = 500;

fn viewer(s: &super::auth::Session) -> Viewer<'_> {
    Viewer { name: &s.user, role: s.role, csrf: &s.csrf }
}

fn internal(s: &super::auth::Session, what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(user = %s.user, error = %e, "web: {what} failed");
    super::message(
        StatusCode::INTERNAL_SERVER_ERROR,
        Some(s),
        "error",
        "内部错误",
        "Internal error",
        &format!("{what} failed; the server log has the details"),
    )
}

/// The login form, with a fresh one-time token (cookie + hidden field).
pub fn login_page(app: &App, peer: IpAddr, status: StatusCode, error: Option<&str>) -> Response {
    let t = app.auth.login_form(peer);
    let err = error.map(|e| format!("<div class=\"error\" id=\"message\">{}</div>", esc(e))).unwrap_or_default();
    let body = format!(
        "<form class=\"login\" method=\"post\" action=\"/login\"><h1>{}</h1>{err}{}\
         <label>{}<input type=\"text\" name=\"user\" id=\"user\" maxlength=\"100\" autocomplete=\"username\" required autofocus></label>\
         <label>{}<input type=\"password\" name=\"password\" id=\"password\" maxlength=\"1024\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\" id=\"login\">登录 <small>Log in</small></button></form>",
        label("专户对账审核", "Reconciliation review"),
        html::csrf_field(&t),
        label("用户名", "User"),
        label("密码", "Password"),
    );
    let mut r = respond(status, html::page("登录", "/login", None, &body));
    if let Ok(v) = HeaderValue::from_str(&super::auth::set_cookie(super::LOGIN_COOKIE, &t, super::auth::LOGIN_FORM_TTL))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn login_form(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if app.current(&headers).is_some() {
        return see_other("/", &[]);
    }
    login_page(&app, peer.ip(), StatusCode::OK, None)
}

fn account_label(app: &App, number: &str) -> String {
    match app.cfg.account(number) {
        Some(a) => format!("{} {}", number, a.name),
        None => number.to_string(),
    }
}

fn bank_of(app: &App, number: &str) -> Option<String> {
    app.cfg.account(number).map(|a| a.bank.clone())
}

fn bank_name(app: &App, id: &str) -> String {
    app.cfg.banks.iter().find(|b| b.id == id).map(|b| b.name.clone()).unwrap_or_else(|| id.to_string())
}

fn kind_label(kind: &str) -> String {
    match Kind::parse(kind) {
        Some(k) => label(k.label_zh(), k.as_str()),
        None => esc(kind),
    }
}

fn action_label(a: Action) -> String {
    label(a.label_zh(), a.as_str())
}

/// Ages count to the latest business date a batch ran for (else today in the configured
/// time zone), like the reports.
async fn as_of(app: &App) -> anyhow::Result<NaiveDate> {
    let runs = app.store.runs(false).await?;
    Ok(match runs.iter().map(|r| r.business_date).max() {
        Some(d) => d,
        None => {
            let tz = app.cfg.tz();
            chrono::Utc::now().with_timezone(&tz).date_naive()
        }
    })
}

/// The item page of an open item, if it names an entry or a record.
fn item_link(i: &OpenItem) -> Option<String> {
    let (kind, key) = match (&i.entry_key, &i.record_key) {
        (Some(e), _) => ("entry", e),
        (None, Some(r)) => ("record", r),
        _ => return None,
    };
    Some(format!("/item?account={}&{kind}={}", url(&i.account_no), url(key)))
}

fn amount_of(i: &OpenItem) -> Option<Decimal> {
    i.amount.or(i.expected)
}

/// Filters of the open-items page, from the query string.
#[derive(Default)]
struct Filters {
    account: String,
    kind: String,
    bank: String,
    min_age: Option<i64>,
    max_age: Option<i64>,
    min_amount: Option<Decimal>,
    max_amount: Option<Decimal>,
    problems: Vec<String>,
}

impl Filters {
    fn parse(f: &Fields) -> Filters {
        let mut out = Filters {
            account: f.opt("account").unwrap_or("").to_string(),
            kind: f.opt("kind").unwrap_or("").to_string(),
            bank: f.opt("bank").unwrap_or("").to_string(),
            ..Default::default()
        };
        for (key, slot) in [("min_age", &mut out.min_age), ("max_age", &mut out.max_age)] {
            if let Some(a) = f.opt(key) {
                match a.parse::<i64>() {
                    Ok(n) if (0..=100_000).contains(&n) => *slot = Some(n),
                    _ => out.problems.push(format!("账龄 {key} {a:?} is not a whole number of days")),
                }
            }
        }
        for (key, slot) in [("min_amount", &mut out.min_amount), ("max_amount", &mut out.max_amount)] {
            if let Some(a) = f.opt(key) {
                match crate::money::parse_plain(&a.replace(',', "")) {
                    Some(d) => *slot = Some(d.abs()),
                    None => out.problems.push(format!("{key} {a:?} is not an amount")),
                }
            }
        }
        out
    }

    fn keep(&self, app: &App, i: &OpenItem, age: i64) -> bool {
        let amount = amount_of(i).map(|a| a.abs());
        (self.account.is_empty() || i.account_no == self.account)
            && (self.kind.is_empty() || i.kind == self.kind)
            && (self.bank.is_empty() || bank_of(app, &i.account_no).as_deref() == Some(self.bank.as_str()))
            && self.min_age.is_none_or(|m| age >= m)
            && self.max_age.is_none_or(|m| age <= m)
            && self.min_amount.is_none_or(|m| amount.is_some_and(|a| a >= m))
            && self.max_amount.is_none_or(|m| amount.is_some_and(|a| a <= m))
    }
}

/// The main page: open items with filters.
pub async fn open_items(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let s = match super::viewer_or_login(&app, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = match super::query(q) {
        Ok(q) => q,
        Err(e) => return super::message(StatusCode::BAD_REQUEST, Some(&s), "error", "请求无效", "Bad request", &e),
    };
    let f = Filters::parse(&q);
    let (items, as_of) = match (app.store.open_items(None).await, as_of(&app).await) {
        (Ok(i), Ok(d)) => (i, d),
        (Err(e), _) => return internal(&s, "reading open items", e),
        (_, Err(e)) => return internal(&s, "reading batches", e),
    };
    let accounts: Vec<(String, String)> = std::iter::once((String::new(), "全部 all".to_string()))
        .chain(app.cfg.accounts.iter().map(|a| (a.number.clone(), format!("{} {}", a.number, a.name))))
        .collect();
    let kinds: Vec<(String, String)> = std::iter::once((String::new(), "全部 all".to_string()))
        .chain(Kind::ALL.iter().map(|k| (k.as_str().to_string(), format!("{} {}", k.label_zh(), k.as_str()))))
        .collect();
    let banks: Vec<(String, String)> = std::iter::once((String::new(), "全部 all".to_string()))
        .chain(app.cfg.banks.iter().map(|b| (b.id.clone(), b.name.clone())))
        .collect();
    let num = |v: Option<String>| esc(&v.unwrap_or_default());
    let mut body = format!(
        "<h1>{}</h1><form class=\"filters\" method=\"get\" action=\"/\" id=\"filters\">\
         <label>{}<select name=\"account\" id=\"f-account\">{}</select></label>\
         <label>{}<select name=\"kind\" id=\"f-kind\">{}</select></label>\
         <label>{}<select name=\"bank\" id=\"f-bank\">{}</select></label>\
         <label>{}<input type=\"number\" name=\"min_age\" id=\"f-min-age\" min=\"0\" size=\"5\" value=\"{}\"></label>\
         <label>{}<input type=\"number\" name=\"max_age\" id=\"f-max-age\" min=\"0\" size=\"5\" value=\"{}\"></label>\
         <label>{}<input type=\"text\" name=\"min_amount\" id=\"f-min-amount\" size=\"12\" value=\"{}\"></label>\
         <label>{}<input type=\"text\" name=\"max_amount\" id=\"f-max-amount\" size=\"12\" value=\"{}\"></label>\
         <button type=\"submit\" id=\"filter\">筛选 <small>Filter</small></button> <a href=\"/\">清除 <small>clear</small></a></form>",
        label("待处理事项", "Open items"),
        label("账户", "Account"),
        html::options(&accounts, &f.account),
        label("类型", "Type"),
        html::options(&kinds, &f.kind),
        label("银行", "Bank"),
        html::options(&banks, &f.bank),
        label("账龄 ≥ 天", "Age ≥ days"),
        num(f.min_age.map(|d| d.to_string())),
        label("账龄 ≤ 天", "Age ≤ days"),
        num(f.max_age.map(|d| d.to_string())),
        label("金额 ≥", "Amount ≥"),
        num(f.min_amount.map(crate::money::canonical)),
        label("金额 ≤", "Amount ≤"),
        num(f.max_amount.map(crate::money::canonical)),
    );
    for p in &f.problems {
        let _ = write!(body, "<div class=\"error\">{}</div>", esc(p));
    }
    let shown: Vec<(&OpenItem, i64)> = items
        .iter()
        .map(|i| (i, (as_of - i.date).num_days().max(0)))
        .filter(|(i, age)| f.keep(&app, i, *age))
        .collect();
    let _ = write!(
        body,
        "<p class=\"count\" id=\"count\">共 {} 项 <small>{} items; ages as of {as_of}{}</small></p>",
        shown.len(),
        shown.len(),
        if shown.len() > MAX_ROWS { format!("; the first {MAX_ROWS} shown") } else { String::new() }
    );
    body.push_str("<table id=\"open-items\"><thead><tr>");
    for (zh, en) in [
        ("账户", "Account"),
        ("类型", "Type"),
        ("账龄(天)", "Age"),
        ("日期", "Date"),
        ("金额", "Amount"),
        ("银行流水号 / 凭证号", "Bank ref / voucher"),
        ("说明", "Why"),
        ("", ""),
    ] {
        let _ = write!(body, "<th>{}</th>", if zh.is_empty() { String::new() } else { label(zh, en) });
    }
    body.push_str("</tr></thead><tbody>");
    for (i, age) in shown.iter().take(MAX_ROWS) {
        let refs =
            [i.bank_ref.as_deref(), i.voucher_no.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" / ");
        let open = item_link(i)
            .map(|l| format!("<a href=\"{}\" class=\"open-item\">查看 <small>open</small></a>", esc(&l)))
            .unwrap_or_default();
        let rule = if i.rule == "acknowledged" { label("已接受", "acknowledged") } else { esc(&i.rule) };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{age}</td><td class=\"key\">{}</td><td class=\"num\">{}</td><td class=\"key\">{}</td><td>{} <small>({rule})</small></td><td>{open}</td></tr>",
            esc(&account_label(&app, &i.account_no)),
            kind_label(&i.kind),
            i.date,
            amount_of(i).map(grouped).unwrap_or_else(|| "-".into()),
            esc(&refs),
            esc(&i.detail),
        );
    }
    body.push_str("</tbody></table>");
    respond(StatusCode::OK, html::page("待处理事项", "/", Some(&viewer(&s)), &body))
}

/// Batches and their state.
pub async fn runs(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let s = match super::viewer_or_login(&app, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let runs = match app.store.runs(false).await {
        Ok(r) => r,
        Err(e) => return internal(&s, "reading batches", e),
    };
    let mut body = format!(
        "<h1>{}</h1><p class=\"count\">共 {} 个批次 <small>{} batches, newest first</small></p><table id=\"runs\"><thead><tr>",
        label("批次", "Runs"),
        runs.len(),
        runs.len()
    );
    for (zh, en) in [
        ("编号", "Id"),
        ("业务日期", "Business date"),
        ("渠道", "Channel"),
        ("银行", "Bank"),
        ("状态", "State"),
        ("运行次数", "Runs"),
        ("完成时间", "Finished (UTC)"),
        ("错误", "Error"),
    ] {
        let _ = write!(body, "<th>{}</th>", label(zh, en));
    }
    body.push_str("</tr></thead><tbody>");
    for r in runs.iter().rev().take(MAX_ROWS) {
        let state = match r.state.as_str() {
            "done" => label("完成", "done"),
            "failed" => label("失败", "failed"),
            "running" => label("运行中", "running"),
            "pending" => label("待运行", "pending"),
            other => esc(other),
        };
        let _ = write!(
            body,
            "<tr><td class=\"num\">{}</td><td class=\"key\">{}</td><td>{}</td><td>{}</td><td>{state}</td><td class=\"num\">{}</td><td class=\"key\">{}</td><td>{}</td></tr>",
            r.id,
            r.business_date,
            esc(&r.channel),
            esc(&bank_name(&app, &r.bank)),
            r.attempts,
            r.finished_at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "-".into()),
            esc(r.error.as_deref().and_then(|e| e.lines().next()).unwrap_or("")),
        );
    }
    body.push_str("</tbody></table>");
    respond(StatusCode::OK, html::page("批次", "/runs", Some(&viewer(&s)), &body))
}

/// Audit rows as a table (newest first).
fn decisions_table(rows: &[&Decision], id: &str) -> String {
    let mut out = format!("<table id=\"{id}\"><thead><tr>");
    for (zh, en) in [
        ("编号", "#"),
        ("时间", "When (UTC)"),
        ("审核人", "By"),
        ("操作", "Action"),
        ("账户", "Account"),
        ("涉及项目", "Items"),
        ("理由", "Reason"),
        ("哈希", "Row hash"),
    ] {
        let _ = write!(out, "<th>{}</th>", label(zh, en));
    }
    out.push_str("</tr></thead><tbody>");
    for d in rows.iter().rev().take(MAX_ROWS) {
        let mut items: Vec<String> = d.new.entries.iter().chain(&d.new.records).map(|k| esc(k)).collect();
        if let Some(r) = &d.new.rule {
            items.push(format!("<small>rule {}</small>", esc(r)));
        }
        if let Some(u) = d.new.undoes {
            items.push(format!("<small>撤销 withdraws #{u}</small>"));
        }
        let _ = write!(
            out,
            "<tr class=\"decision\"><td class=\"num\">{}</td><td class=\"key\">{}</td><td>{}</td><td>{}</td><td class=\"key\">{}</td><td class=\"key\">{}</td><td>{}</td><td class=\"hash\">{}</td></tr>",
            d.id,
            d.at.format("%Y-%m-%d %H:%M:%S"),
            esc(&d.new.by),
            action_label(d.new.action),
            esc(&d.new.account_no),
            items.join("<br>"),
            esc(&d.new.reason),
            esc(d.row_hash.get(..12).unwrap_or(&d.row_hash)),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// Every audit row, with the chain check.
pub async fn decisions(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let s = match super::viewer_or_login(&app, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let all = match app.store.decisions(None).await {
        Ok(a) => a,
        Err(e) => return internal(&s, "reading decisions", e),
    };
    let chain = match crate::review::verify(&all) {
        Ok(()) => format!(
            "<div class=\"done\" id=\"chain\">审计链完整 <small>audit trail intact: {} decisions</small></div>",
            all.len()
        ),
        Err((id, why)) => format!(
            "<div class=\"error\" id=\"chain\">审计链在 #{id} 处断开 <small>audit trail broken at decision #{id}: {}</small></div>",
            esc(&why)
        ),
    };
    let rows: Vec<&Decision> = all.iter().collect();
    let body = format!(
        "<h1>{}</h1>{chain}{}",
        label("审核记录", "Decisions (audit rows)"),
        decisions_table(&rows, "decisions")
    );
    respond(StatusCode::OK, html::page("审核记录", "/decisions", Some(&viewer(&s)), &body))
}

fn side_of_entry(e: &crate::store::StoredEntry) -> Side {
    Side {
        key: e.item.entry_key.clone(),
        date: e.item.booking_date,
        amount: e.item.amount,
        counterparty_account: e.item.counterparty_account.clone(),
        counterparty_name: e.item.counterparty_name.clone(),
        text: e.item.narrative.clone(),
    }
}

fn side_of_record(r: &crate::store::StoredRecord) -> Side {
    Side {
        key: crate::review::record_key(r.direction, &r.item.voucher_no),
        date: r.item.date,
        amount: r.item.amount,
        counterparty_account: r.item.counterparty_account.clone(),
        counterparty_name: r.item.counterparty_name.clone(),
        text: r.item.purpose.clone().unwrap_or_default(),
    }
}

/// A form posting one action on this page's item.
fn action_form(csrf: &str, account: &str, item: &Item, action: Action, zh: &str, en: &str, extra: &str) -> String {
    let (kind, key, field) = match item {
        Item::Entry(k) => ("entry", k, "entry"),
        Item::Record(k) => ("record", k, "voucher"),
    };
    let danger = if matches!(action, Action::Reject | Action::Unmatch) { " class=\"danger\"" } else { "" };
    format!(
        "<form method=\"post\" action=\"/action\" id=\"form-{act}\"><h3>{}</h3>{}{}{}{}{}{}{extra}\
         <label>{}<textarea name=\"why\" id=\"why-{act}\" maxlength=\"{}\" required></textarea></label>\
         <p><button type=\"submit\" id=\"do-{act}\"{danger}>{} <small>{}</small></button></p></form>",
        label(zh, en),
        html::csrf_field(csrf),
        html::hidden("account", account),
        html::hidden("action", action.as_str()),
        html::hidden("item_kind", kind),
        html::hidden("item_key", key),
        html::hidden(field, key),
        label("理由", "Reason (recorded)"),
        crate::review::MAX_REASON_CHARS,
        esc(zh),
        esc(en),
        act = action.as_str(),
    )
}

/// One item: what it is, why it is open, its match, the explanation, the candidates, the
/// actions (reviewers) and its audit rows.
pub async fn item(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let s = match super::viewer_or_login(&app, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bad = |why: &str| super::message(StatusCode::BAD_REQUEST, Some(&s), "error", "请求无效", "Bad request", why);
    let q = match super::query(q) {
        Ok(q) => q,
        Err(e) => return bad(&e),
    };
    let account = q.opt("account").unwrap_or("").to_string();
    if app.cfg.account(&account).is_none() {
        return bad("unknown account");
    }
    let item = match (q.opt("entry"), q.opt("record")) {
        (Some(e), None) => Item::Entry(e.to_string()),
        (None, Some(r)) => Item::Record(r.to_string()),
        _ => return bad("name one entry or one record"),
    };
    match item_page(&app, &s, &account, &item, q.opt("done")).await {
        Ok(Some(body)) => respond(StatusCode::OK, html::page("事项", "", Some(&viewer(&s)), &body)),
        Ok(None) => {
            super::message(StatusCode::NOT_FOUND, Some(&s), "error", "没有这个事项", "No such item", &item.to_string())
        }
        Err(e) => internal(&s, "reading the item", e),
    }
}

async fn item_page(
    app: &App,
    s: &super::auth::Session,
    account: &str,
    item: &Item,
    done: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let store = &app.store;
    let open = store.open_items(Some(account)).await?;
    // Keyed reads: the item, and the open items of the other side (the candidates' pool),
    // never the whole account.
    let open_entries: Vec<String> = open.iter().filter_map(|o| o.entry_key.clone()).collect();
    let open_records: Vec<String> = open.iter().filter_map(|o| o.record_key.clone()).collect();
    let (me, explain_key, others, is_entry): (Side, String, Vec<Side>, bool) = match item {
        Item::Entry(k) => {
            let Some(e) = store.entries_by_keys(account, std::slice::from_ref(k)).await?.pop() else {
                return Ok(None);
            };
            let others = store.records_by_keys(account, &open_records).await?.iter().map(side_of_record).collect();
            (side_of_entry(&e), e.item.entry_key.clone(), others, true)
        }
        Item::Record(k) => {
            let Some(r) = store.records_by_keys(account, std::slice::from_ref(k)).await?.pop() else {
                return Ok(None);
            };
            let others = store.entries_by_keys(account, &open_entries).await?.iter().map(side_of_entry).collect();
            (side_of_record(&r), r.item.voucher_no.clone(), others, false)
        }
    };
    let mine: Vec<&OpenItem> = open
        .iter()
        .filter(|o| match item {
            Item::Entry(k) => o.entry_key.as_deref() == Some(k),
            Item::Record(k) => o.record_key.as_deref() == Some(k),
        })
        .collect();
    let auto = store.match_of(account, item).await?;
    let all = store.decisions(Some(account)).await?;
    let st = crate::review::replay(&all);
    let mut explain = store.explain(&explain_key).await?;
    explain.extend(crate::job::review::explain(store, &explain_key).await?);

    let (zh, en) = if is_entry { ("银行流水", "Bank entry") } else { ("账簿记录", "Book record") };
    let mut b = format!(
        "<h1>{} <span class=\"key\" id=\"item-key\">{}</span></h1><p>{} · {}</p>",
        label(zh, en),
        esc(&me.key),
        esc(&account_label(app, account)),
        esc(&bank_of(app, account).map(|b| bank_name(app, &b)).unwrap_or_default()),
    );
    if let Some(id) = done.and_then(|d| d.parse::<i64>().ok()) {
        let _ = write!(
            b,
            "<div class=\"done\" id=\"message\">已记录审核 #{id} <small>decision #{id} recorded</small></div>"
        );
    }
    let _ = write!(
        b,
        "<table id=\"facts\"><tr><th>{}</th><td class=\"key\">{}</td><th>{}</th><td class=\"num\">{}</td></tr>\
         <tr><th>{}</th><td colspan=\"3\">{}</td></tr><tr><th>{}</th><td colspan=\"3\" id=\"narrative\">{}</td></tr></table>",
        label("日期", "Date"),
        me.date,
        label("金额", "Amount"),
        grouped(me.amount),
        label("对方", "Counterparty"),
        esc(&[me.counterparty_name.as_deref(), me.counterparty_account.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")),
        label(if is_entry { "摘要" } else { "用途" }, if is_entry { "Narrative" } else { "Purpose" }),
        esc(&me.text),
    );

    let _ = write!(b, "<h2>{}</h2>", label("差异", "Open items"));
    if mine.is_empty() {
        let _ = write!(b, "<p id=\"not-open\">不是待处理事项 <small>not open</small></p>");
    } else {
        b.push_str("<ul class=\"explain\" id=\"open\">");
        for o in &mine {
            let _ = write!(
                b,
                "<li>{}: {} <small>(rule {})</small></li>",
                kind_label(&o.kind),
                esc(&o.detail),
                esc(&o.rule)
            );
        }
        b.push_str("</ul>");
    }
    if let Some(m) = &auto {
        let _ = write!(
            b,
            "<h2>{}</h2><p id=\"match\">{} <span class=\"key\">{}</span>: {}</p><p class=\"key\">{}</p>",
            label("当前匹配", "Current match"),
            label("规则", "rule"),
            esc(&m.rule),
            esc(&m.detail),
            esc(&m.entries.iter().chain(&m.records).cloned().collect::<Vec<_>>().join(" · ")),
        );
    }
    let _ = write!(b, "<h2>{}</h2><ul class=\"explain\" id=\"explain\">", label("说明", "Explanation"));
    for l in &explain {
        let _ = write!(b, "<li>{}</li>", esc(l));
    }
    b.push_str("</ul>");

    let group = st.group_of(item).map(|g| g.decision);
    let holder = st.holder(item);
    let reviewer = s.role == ServeRole::Reviewer;
    let can_match = group.is_none() && auto.is_none() && !mine.is_empty();
    let cands = if can_match {
        // Matching's suggestion: the other half of this item's amount_mismatch.
        let suggested = mine
            .iter()
            .find(|o| o.kind == "amount_mismatch")
            .and_then(|o| if is_entry { o.record_key.as_deref() } else { o.entry_key.as_deref() });
        candidates::candidates(&me, is_entry, &others, app.cfg.matching.date_window_days, suggested)
    } else {
        vec![]
    };
    let mut forms = Vec::new();
    if reviewer {
        if auto.is_some() && holder.is_none() {
            forms.push(action_form(&s.csrf, account, item, Action::Confirm, "确认", "Confirm this match", ""));
            forms.push(action_form(&s.csrf, account, item, Action::Reject, "否决", "Reject this match", ""));
        }
        if holder.is_some() {
            forms.push(action_form(&s.csrf, account, item, Action::Unmatch, "撤销", "Withdraw the decision", ""));
        }
        if holder.is_none() && auto.is_none() && !mine.is_empty() {
            forms.push(action_form(&s.csrf, account, item, Action::Confirm, "接受说明", "Accept as explained", ""));
        }
        if can_match {
            let field = if is_entry { "voucher" } else { "entry" };
            let mut t = String::from("<table id=\"candidates\"><tr><th></th>");
            for (zh, en) in
                [("项目", "Item"), ("日期", "Date"), ("金额", "Amount"), ("对方", "Counterparty"), ("依据", "Why")]
            {
                let _ = write!(t, "<th>{}</th>", label(zh, en));
            }
            t.push_str("</tr>");
            for (n, (i, why)) in cands.iter().enumerate() {
                let o = &others[*i];
                let _ = write!(
                    t,
                    "<tr><td><input type=\"checkbox\" name=\"{field}\" value=\"{}\" id=\"cand-{n}\"></td><td class=\"key\"><label for=\"cand-{n}\">{}</label></td><td class=\"key\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&o.key),
                    esc(&o.key),
                    o.date,
                    grouped(o.amount),
                    esc(&[o.counterparty_name.as_deref(), o.counterparty_account.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ")),
                    label(why.label_zh(), why.label_en()),
                );
            }
            if cands.is_empty() {
                let _ = write!(t, "<tr><td colspan=\"6\">没有候选 <small>no candidates</small></td></tr>");
            }
            t.push_str("</table>");
            forms.push(action_form(
                &s.csrf,
                account,
                item,
                Action::Match,
                "手工勾对",
                "Match by hand (amounts must agree)",
                &t,
            ));
        }
        forms.push(action_form(&s.csrf, account, item, Action::Annotate, "备注", "Add a note", ""));
    } else if can_match && !cands.is_empty() {
        // Viewers see the candidates, without a form.
        let _ =
            write!(b, "<h2>{}</h2><ul class=\"explain\" id=\"candidates\">", label("候选匹配", "Candidate matches"));
        for (i, why) in &cands {
            let o = &others[*i];
            let _ = write!(b, "<li>{} {} {} ({})</li>", esc(&o.key), o.date, grouped(o.amount), why.label_zh());
        }
        b.push_str("</ul>");
    }
    if !forms.is_empty() {
        let _ = write!(b, "<h2>{}</h2><div class=\"actions\">{}</div>", label("操作", "Actions"), forms.concat());
    }
    let rows: Vec<&Decision> = all.iter().filter(|d| d.items().any(|i| &i == item)).collect();
    let _ = write!(b, "<h2>{}</h2>", label("审核记录", "Audit rows"));
    if rows.is_empty() {
        b.push_str("<p id=\"no-decisions\">尚无审核记录 <small>no decisions yet</small></p>");
    } else {
        b.push_str(&decisions_table(&rows, "item-decisions"));
    }
    Ok(Some(b))
}
