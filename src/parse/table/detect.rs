//! Finding the header row and choosing the layout that explains it best.

use super::layout::{JOINED_FIELDS, Layout, LayoutKind};
use super::source::Row;
use super::value::{Cell, header_key, is_placeholder, looks_scientific};
use std::collections::BTreeMap;

/// Where a layout's header is, and which column holds which field.
#[derive(Clone, Debug)]
pub(crate) struct Match {
    /// Index into the sheet's rows.
    pub header: usize,
    /// Field → column indices (one, or several for `narrative` / `purpose`).
    pub cols: BTreeMap<String, Vec<usize>>,
    /// Header cells the layout explains (mapped or listed under `ignore`).
    pub recognized: usize,
    /// `recognized` minus the header cells it does not explain.
    pub score: i64,
}

/// Normalised header keys of the first rows (computed once for all layouts).
pub(crate) fn keys(rows: &[Row], max: usize) -> Vec<Vec<String>> {
    rows.iter().take(max).map(|r| r.cells.iter().map(|c| header_key(&c.text())).collect()).collect()
}

/// The first row (within `max_header_row`) that has every required column of `layout`,
/// its markers above it and none of its excluded headers.
pub(crate) fn match_layout(layout: &Layout, keys: &[Vec<String>]) -> Option<Match> {
    let mut marker_seen = vec![false; layout.markers.len()];
    for (r, row) in keys.iter().enumerate().take(layout.max_header_row) {
        if let Some(m) = match_row(layout, row, &marker_seen) {
            return Some(Match { header: r, ..m });
        }
        for (i, m) in layout.markers.iter().enumerate() {
            if row.iter().any(|k| k.contains(m.as_str())) {
                marker_seen[i] = true;
            }
        }
    }
    None
}

fn match_row(layout: &Layout, row: &[String], markers: &[bool]) -> Option<Match> {
    if !markers.iter().all(|m| *m) {
        return None;
    }
    let find = |key: &str| row.iter().position(|k| k == key);
    // Required columns first, without building anything: every layout is tried on every
    // top row of every file, and nearly all of those tries fail here.
    let has = |field: &str| layout.columns.get(field).is_some_and(|c| c.keys.iter().any(|k| find(k).is_some()));
    if !layout.required.iter().all(|f| has(f)) {
        return None;
    }
    if layout.kind == LayoutKind::Statement && !has("booking_date") && !has("transaction_date") {
        return None;
    }
    let mut cols = BTreeMap::new();
    for (field, col) in &layout.columns {
        let found: Vec<usize> = if JOINED_FIELDS.contains(&field.as_str()) {
            let mut v = Vec::new();
            for k in &col.keys {
                if let Some(i) = find(k)
                    && !v.contains(&i)
                {
                    v.push(i);
                }
            }
            v
        } else {
            col.keys.iter().find_map(|k| find(k)).into_iter().collect()
        };
        if !found.is_empty() {
            cols.insert(field.clone(), found);
        }
    }
    // What the pre-check above decided, from the map (a field is in it exactly when one
    // of its keys was found).
    debug_assert!(layout.required.iter().all(|f| cols.contains_key(f)));
    debug_assert!(
        layout.kind != LayoutKind::Statement
            || cols.contains_key("booking_date")
            || cols.contains_key("transaction_date")
    );
    if layout.exclude_headers.iter().any(|h| find(h).is_some()) {
        return None;
    }
    if !layout.require_headers.iter().all(|h| find(h).is_some()) {
        return None;
    }
    let mut used = vec![false; row.len()];
    for idx in cols.values().flatten() {
        used[*idx] = true;
    }
    for (i, k) in row.iter().enumerate() {
        if layout.ignore.contains(k) {
            used[i] = true;
        }
    }
    let total = row.iter().filter(|k| !k.is_empty()).count();
    let recognized = row.iter().zip(&used).filter(|(k, u)| **u && !k.is_empty()).count();
    Some(Match { header: 0, cols, recognized, score: recognized as i64 - (total - recognized) as i64 })
}

/// The best of the matching layouts: most header cells explained and fewest unexplained,
/// then the layout's priority, then its name (so the choice never depends on load order).
pub(crate) fn best<'a>(layouts: impl Iterator<Item = &'a Layout>, keys: &[Vec<String>]) -> Option<(&'a Layout, Match)> {
    let mut best: Option<(&Layout, Match)> = None;
    for l in layouts {
        let Some(m) = match_layout(l, keys) else { continue };
        let better = match &best {
            None => true,
            Some((bl, bm)) => {
                (m.score, l.priority, m.recognized, std::cmp::Reverse(&l.name))
                    > (bm.score, bl.priority, bm.recognized, std::cmp::Reverse(&bl.name))
            }
        };
        if better {
            best = Some((l, m));
        }
    }
    best
}

/// The row that looks most like a header (most short text cells that are neither numbers
/// nor dates), for "unknown layout" messages.
pub(crate) fn header_like(rows: &[Row], max: usize) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, r) in rows.iter().take(max).enumerate() {
        let n = r
            .cells
            .iter()
            .filter(|c| match c {
                Cell::Text(s) => {
                    let k = header_key(s);
                    !is_placeholder(&k)
                        && k.chars().count() <= 24
                        && k.chars().any(|ch| !ch.is_ascii_digit() && !matches!(ch, '.' | ',' | '-' | '/' | ':' | '+'))
                        && !looks_scientific(&k)
                }
                _ => false,
            })
            .count();
        if n >= 2 && best.is_none_or(|(_, bn)| n > bn) {
            best = Some((i, n));
        }
    }
    best.map(|(i, _)| i)
}

/// Header cells typical of payment-platform and securities exports, which are no bank
/// statements: used to explain a refusal.
const NOT_A_BANK: [(&str, &str); 12] = [
    ("交易订单号", "a payment-platform export (Alipay/JD)"),
    ("商家订单号", "a payment-platform export (Alipay/JD)"),
    ("交易单号", "a payment-platform export (WeChat Pay/Meituan)"),
    ("商户单号", "a payment-platform export (WeChat Pay)"),
    ("收/付款方式", "a payment-platform export (Alipay/JD)"),
    ("支付方式", "a payment-platform export (WeChat Pay/Meituan)"),
    ("当前状态", "a payment-platform export (WeChat Pay)"),
    ("交易状态", "a payment-platform export (Alipay/JD)"),
    ("实付金额", "a payment-platform export (Meituan)"),
    ("证券代码", "a securities-account export"),
    ("成交数量", "a securities-account export"),
    ("交收日期", "a securities-account export"),
];

/// "This looks like …" for a header row, if it has a tell-tale column.
pub(crate) fn not_a_bank(keys: &[String]) -> Option<&'static str> {
    NOT_A_BANK.iter().find(|(h, _)| keys.iter().any(|k| k == &header_key(h))).map(|(_, what)| *what)
}
