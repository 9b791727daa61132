//! MT940 in three hands. Common grammar: SWIFT MT940 (User Handbook, Category 9): `:20:`
//! 16x, `:25:` 35x, `:28C:` 5n[/5n], `:60F:`/`:62F:`/`:64:` `1!a6!n3!a15d`, `:61:`
//! `6!n[4!n]2a[1!a]15d1!a3!c16x[//16x][<CRLF>34x]`, `:86:` 6*65x.
//!
//! - `MtJpm`: J.P. Morgan ACCESS MT940/MT942 Format Guide (H2H Direct Transmission, updated
//!   Feb 2013): customer reference (tag 61 sub-element 7) carries the reference the client
//!   sent, bank reference sub-element 8, the 34x supplementary details line; tag 86 with
//!   SWIFT codewords (`/BENM/`, `/ORDP/`, `/ACCT/`, `/REMI/`, `/EREF/`; returns `/RTRN/`
//!   with the ISO reason code, as in the SWIFT MT940 usage rules for field 86).
//! - `MtSwiss`: Swiss banks' MT940 (UBS / Credit Suisse host-to-host descriptions, SIX
//!   conventions): basic header blocks, `NONREF`, `NMSC`/`NTRF` codes, amounts such as
//!   `1000,`, unstructured English field 86, STORNO bookings with the RD/RC marks.
//! - `MtCnBank`: a Chinese bank's MT940 (domain notes §4.2 and TC-13; BOC/BOCOM
//!   银企直联 deliveries): `:25:BIC/account`, Chinese field 86 with 收款人/付款人/账号/用途/附言.

use super::{Account, Act, BatchShow, DD_REASONS, Dialect, Ent, FEES, REASONS, Rng, per_day, wrap};
use chrono::NaiveDate;

fn amount(fen: i64, whole_short: bool) -> String {
    let a = fen.unsigned_abs();
    if whole_short && a.is_multiple_of(100) { format!("{},", a / 100) } else { format!("{},{:02}", a / 100, a % 100) }
}

fn bal(tag: &str, d: NaiveDate, fen: i64, short: bool) -> String {
    let m = if fen < 0 { 'D' } else { 'C' };
    format!(":{tag}:{m}{}CNY{}", d.format("%y%m%d"), amount(fen, short))
}

pub(super) fn render(a: &Account, days: &[NaiveDate], rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut prev = days[0].pred_opt().unwrap_or(days[0]);
    let stmt0 = rng.range(20, 300);
    let short = a.dialect == Dialect::MtSwiss;
    for (k, (d, open, es, close)) in per_day(a, days).into_iter().enumerate() {
        let mut s = String::new();
        let n = stmt0 + k as i64;
        // J.P. Morgan splits a long statement into pages (`:28C:` n/page, `:60M:`/`:62M:`
        // on the pages in between); the others send one message a day.
        let per_page = if a.dialect == Dialect::MtJpm { 8 } else { usize::MAX };
        let pages: Vec<&[&Ent]> = if es.is_empty() { vec![&es[..]] } else { es.chunks(per_page).collect() };
        let mut page_open = open;
        for (pi, page) in pages.iter().enumerate() {
            let first = pi == 0;
            let last = pi + 1 == pages.len();
            match a.dialect {
                Dialect::MtSwiss => {
                    s.push_str(&format!(
                        "{{1:F01{}XXXX0000000000}}{{2:O940{}{}{}XXXX00000000002{}1800N}}{{4:\r\n",
                        &a.bic[..8],
                        "1800",
                        d.format("%y%m%d"),
                        &a.bic[..8],
                        d.format("%y%m%d")
                    ));
                    s.push_str(&format!(":20:STMT{}\r\n:25:{}\r\n:28C:{n:05}/001\r\n", d.format("%y%m%d"), a.no));
                }
                Dialect::MtJpm => {
                    s.push_str(&format!(
                        ":20:{}{:04}\r\n:25:{}\r\n:28C:{n}/{}\r\n",
                        d.format("%y%m%d"),
                        n,
                        a.no,
                        pi + 1
                    ));
                }
                _ => {
                    s.push_str(&format!(
                        ":20:{}{}\r\n:25:{}/{}\r\n:28C:{n:05}/001\r\n",
                        &a.bic[..4],
                        d.format("%Y%m%d"),
                        &a.bic[..8],
                        a.no
                    ));
                }
            }
            if first {
                s.push_str(&bal("60F", prev, page_open, short));
            } else {
                s.push_str(&bal("60M", d, page_open, short));
            }
            s.push_str("\r\n");
            for e in page.iter() {
                let (line61, supp, text) = match a.dialect {
                    Dialect::MtJpm => jpm(e),
                    Dialect::MtSwiss => swiss(e),
                    _ => cnbank(e),
                };
                s.push_str(&format!(":61:{line61}\r\n"));
                if let Some(sp) = supp {
                    s.push_str(&format!("{}\r\n", sp.chars().take(34).collect::<String>()));
                }
                for (i, l) in wrap(&text, 65).into_iter().take(6).enumerate() {
                    if i == 0 {
                        s.push_str(":86:");
                    }
                    s.push_str(&l);
                    s.push_str("\r\n");
                }
            }
            let page_close = page_open + page.iter().map(|e| e.amt).sum::<i64>();
            if last {
                debug_assert_eq!(page_close, close);
                s.push_str(&bal("62F", d, close, short));
                s.push_str("\r\n");
                s.push_str(&bal("64", d, close, short));
                s.push_str("\r\n");
            } else {
                s.push_str(&bal("62M", d, page_close, short));
                s.push_str("\r\n-\r\n");
            }
            page_open = page_close;
        }
        if a.dialect == Dialect::MtSwiss {
            s.push_str("-}");
        }
        let name = match a.dialect {
            Dialect::MtJpm => format!("JPM_{}_{}.mt940", a.no, d.format("%Y%m%d")),
            Dialect::MtSwiss => format!("{}.{}.sta", a.no, d.format("%Y%m%d")),
            _ => format!("{}_MT940_{}.txt", &a.bic[..4], d.format("%Y%m%d")),
        };
        out.push((name, s.into_bytes()));
        prev = d;
    }
    out
}

/// `:61:` up to the customer reference's start: value date, entry date, mark, amount.
fn head(e: &Ent, mark: &str, short: bool) -> String {
    format!("{}{}{}{}", e.date.format("%y%m%d"), e.date.format("%m%d"), mark, amount(e.amt, short))
}

fn party_of(e: &Ent) -> (String, String) {
    match &e.party {
        Some(p) if e.mask => (p.masked_name(), p.masked_acct()),
        Some(p) => (p.name.clone(), p.acct.clone()),
        None => (String::new(), String::new()),
    }
}

fn reason(e: &Ent, dd: bool) -> (&'static str, &'static str, &'static str) {
    let i = e.reason.unwrap_or(0);
    if dd { DD_REASONS[i % DD_REASONS.len()] } else { REASONS[i % REASONS.len()] }
}

fn jpm(e: &Ent) -> (String, Option<String>, String) {
    let (name, acct) = party_of(e);
    let cref = if e.slot { e.our_ref.clone().unwrap_or_else(|| "NONREF".into()) } else { "NONREF".into() };
    let text_ref = match (&e.our_ref, e.slot) {
        (Some(r), false) => match e.variant % 2 {
            0 => format!(" REF {r}"),
            _ => format!("/EREF/{r}"),
        },
        _ => String::new(),
    };
    let b = &e.bref;
    match &e.act {
        Act::Out => (
            format!("{}NTRF{cref}//{b}", head(e, "D", false)),
            Some(name.clone()),
            format!("/BENM/{name}/ACCT/{acct}/REMI/{}{text_ref}", e.purpose),
        ),
        Act::In => {
            let pr = e.payer_ref.as_ref().map(|r| format!("/EREF/{r}")).unwrap_or_default();
            (
                format!("{}NTRF{cref}//{b}", head(e, "C", false)),
                Some(name.clone()),
                format!("/ORDP/{name}/ACCT/{acct}{pr}/REMI/{}", e.purpose),
            )
        }
        Act::Batch { items, show, planned, .. } => {
            let r = if *show == BatchShow::RefInText && !e.slot { text_ref.clone() } else { String::new() };
            (
                format!("{}NTRF{cref}//{b}", head(e, "D", false)),
                Some(format!("BULK {} ITEMS", items.len())),
                format!("/REMI/{} BULK PAYMENT {} OF {} ITEMS{r}", e.purpose, items.len(), planned),
            )
        }
        Act::Fee(f) => {
            (format!("{}NCHG{cref}//{b}", head(e, "D", false)), None, format!("/REMI/{} {}", FEES[*f].1, FEES[*f].0))
        }
        Act::Interest { from, to } => (
            format!("{}NINTNONREF//{b}", head(e, "C", false)),
            None,
            format!("/REMI/CREDIT INTEREST {}-{} 活期结息", from.format("%Y%m%d"), to.format("%Y%m%d")),
        ),
        Act::Return => {
            let (code, _, en) = reason(e, false);
            let orig = e.orig.clone().unwrap_or_default();
            // Returns booked as reversal of the debit with the return code, or as a credit
            // with the NRTI transaction type.
            let (mark, ty) = if e.variant.is_multiple_of(2) { ("RD", "NTRF") } else { ("C", "NRTI") };
            (
                format!("{}{ty}NONREF//{b}", head(e, mark, false)),
                Some(name.clone()),
                format!("/RTRN/{code}/EREF/{orig}/ORDP/{name}/REMI/RETURN {en} {}", e.purpose),
            )
        }
        Act::Collect => {
            let ts = e.payer_ref.clone().unwrap_or_default();
            (
                format!("{}NDDT{cref}//{b}", head(e, "C", false)),
                Some(name.clone()),
                format!("/ORDP/{name}/ACCT/{acct}/EREF/{ts}/REMI/{} DIRECT DEBIT", e.purpose),
            )
        }
        Act::DdReturn => {
            let (code, _, en) = reason(e, true);
            let orig = e.orig.clone().unwrap_or_default();
            (
                format!("{}NDDTNONREF//{b}", head(e, "RC", false)),
                Some(name.clone()),
                format!("/RTRN/{code}/EREF/{orig}/BENM/{name}/REMI/RETURNED DIRECT DEBIT {en}"),
            )
        }
        Act::Reversal => {
            let orig = e.orig.clone().unwrap_or_default();
            (
                format!("{}NMSCNONREF//{b}", head(e, "RD", false)),
                None,
                format!("/REMI/REVERSAL OF ENTRY {orig} BOOKED IN ERROR"),
            )
        }
    }
}

fn swiss(e: &Ent) -> (String, Option<String>, String) {
    let (name, acct) = party_of(e);
    let b = &e.bref;
    let r = e.our_ref.clone().map(|r| match e.variant % 3 {
        0 => format!("ORDER REF {r} "),
        1 => format!("YOUR REFERENCE: {r} "),
        _ => format!("REF. {r} "),
    });
    let r = r.unwrap_or_default();
    let h = |mark: &str| head(e, mark, true);
    match &e.act {
        Act::Out => (
            format!("{}NMSCNONREF//{b}", h("D")),
            None,
            format!("E-BANKING PAYMENT {r}BENEFICIARY {name} ACCOUNT {acct} {}", e.purpose),
        ),
        Act::In => {
            let pr = e.payer_ref.as_ref().map(|r| format!("REFERENCE {r} ")).unwrap_or_default();
            (
                format!("{}NMSCNONREF//{b}", h("C")),
                None,
                format!("CREDIT {pr}ORDERING PARTY {name} ACCOUNT {acct} {}", e.purpose),
            )
        }
        Act::Batch { items, .. } => (
            format!("{}NMSCNONREF//{b}", h("D")),
            None,
            format!("COLLECTIVE ORDER {r}{} PAYMENTS {}", items.len(), e.purpose),
        ),
        Act::Fee(f) => (format!("{}NCHGNONREF//{b}", h("D")), None, format!("CHARGES {}", FEES[*f].1)),
        Act::Interest { from, to } => (
            format!("{}NINTNONREF//{b}", h("C")),
            None,
            format!("INTEREST CREDIT PERIOD {} - {}", from.format("%d.%m.%Y"), to.format("%d.%m.%Y")),
        ),
        Act::Return => {
            let (code, _, en) = reason(e, false);
            let orig = e.orig.clone().unwrap_or_default();
            (
                format!("{}NRTINONREF//{b}", h("C")),
                None,
                format!("RETURN OF PAYMENT ORIG REF {orig} REASON {code} {en} {name}"),
            )
        }
        Act::Collect => {
            let ts = e.payer_ref.clone().unwrap_or_default();
            (
                format!("{}NMSCNONREF//{b}", h("C")),
                None,
                format!("DIRECT DEBIT COLLECTION {ts} DEBTOR {name} ACCOUNT {acct}"),
            )
        }
        Act::DdReturn => {
            let (code, _, en) = reason(e, true);
            let orig = e.orig.clone().unwrap_or_default();
            (
                format!("{}NRTINONREF//{b}", h("D")),
                None,
                format!("DIRECT DEBIT RETURNED {orig} REASON {code} {en} {name}"),
            )
        }
        Act::Reversal => {
            let orig = e.orig.clone().unwrap_or_default();
            (format!("{}NMSCNONREF//{b}", h("RD")), None, format!("STORNO OF BOOKING {orig}"))
        }
    }
}

fn cnbank(e: &Ent) -> (String, Option<String>, String) {
    let (name, acct) = party_of(e);
    let b = &e.bref;
    let r = e.our_ref.clone().map(|r| match e.variant % 3 {
        0 => format!(" 附言:{r}"),
        1 => format!(" 凭证号{r}"),
        _ => format!("({r})"),
    });
    let r = r.unwrap_or_default();
    let h = |mark: &str| head(e, mark, false);
    match &e.act {
        Act::Out => (
            format!("{}NTRFNONREF//{b}", h("D")),
            None,
            format!("汇出汇款 收款人:{name} 账号:{acct} 用途:{}{r}", e.purpose),
        ),
        Act::In => {
            let pr = e.payer_ref.as_ref().map(|p| format!(" {p}")).unwrap_or_default();
            (
                format!("{}NTRFNONREF//{b}", h("C")),
                None,
                format!("汇入汇款 付款人:{name} 账号:{acct} 用途:{}{pr}", e.purpose),
            )
        }
        Act::Batch { items, show, planned, .. } => {
            let t = if *show == BatchShow::Bare {
                format!("批量代发 {} 共{}笔 成功{}笔", e.purpose, planned, items.len())
            } else {
                format!("批量代发 {} 批次号{} 共{}笔", e.purpose, e.our_ref.clone().unwrap_or_default(), items.len())
            };
            (format!("{}NTRFNONREF//{b}", h("D")), None, t)
        }
        Act::Fee(f) => (format!("{}NCHGNONREF//{b}", h("D")), None, FEES[*f].0.to_string()),
        Act::Interest { from, to } => (
            format!("{}NINTNONREF//{b}", h("C")),
            None,
            format!(
                "{} {}-{}",
                if e.variant.is_multiple_of(2) { "活期结息" } else { "存息" },
                from.format("%Y%m%d"),
                to.format("%Y%m%d")
            ),
        ),
        Act::Return => {
            let (_, zh, _) = reason(e, false);
            let orig = e.orig.clone().unwrap_or_default();
            let t = if e.variant.is_multiple_of(2) {
                format!("退汇 原交易{orig} 收款人{name} 原因:{zh}")
            } else {
                format!("汇款退回 {name} {zh} 原凭证{orig}")
            };
            (format!("{}NTRFNONREF//{b}", h("C")), None, t)
        }
        Act::Collect => {
            let ts = e.payer_ref.clone().unwrap_or_default();
            (format!("{}NTRFNONREF//{b}", h("C")), None, format!("委托收款 付款人:{name} 账号:{acct} 托收号{ts}"))
        }
        Act::DdReturn => {
            let (_, zh, _) = reason(e, true);
            let orig = e.orig.clone().unwrap_or_default();
            (format!("{}NTRFNONREF//{b}", h("D")), None, format!("委托收款退回 原托收号{orig} {name} 原因:{zh}"))
        }
        Act::Reversal => {
            let orig = e.orig.clone().unwrap_or_default();
            (format!("{}NTRFNONREF//{b}", h("C")), None, format!("冲正 原流水号{orig}"))
        }
    }
}
