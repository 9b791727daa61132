//! Chinese web-banking exports, three hands. Header names are the ones the shipped layouts
//! name (formats/*.toml); the shapes follow the domain notes §3.1 (title and metadata rows,
//! 合计 and 以下空白 rows, GBK text, `1,234.56` amounts) and the public samples in the shared
//! corpus.
//!
//! - `CnSplit`: a corporate 账户明细 (ABC/BOC/BOCOM 企业网银 have no layout of their own: the
//!   formats README says `generic-split` reads them): GBK CSV per week, metadata above the
//!   header, 借方发生额/贷方发生额, 交易流水号 and 企业流水号, 摘要/用途/附言, a 合计 row and
//!   以下空白.
//! - `CnFlag`: a corporate export with 交易金额 and 借贷标志 (`generic-flag`), tab separated,
//!   newest row first, one file for the period, GBK.
//! - `CnAbc`: the 农业银行 借记卡 export (`abc-personal`, corpus sample
//!   double-entry-generator/abc_debit_example): a personal-card layout (signed 交易金额,
//!   本次余额, 对手信息 holding a name or an account, 日 志 号, 交易附言); used here for a
//!   专户 as a site would when only that export is to hand. UTF-8 like the sample.

use super::{Account, Act, BatchShow, DD_REASONS, Dialect, Ent, FEES, REASONS, Rng, per_day, yuan, yuan_grouped};
use chrono::NaiveDate;

fn gbk(s: &str) -> Vec<u8> {
    let (b, _, _) = encoding_rs::GBK.encode(s);
    b.into_owned()
}

fn hms(t: u32) -> (u32, u32, u32) {
    (t / 3600, t / 60 % 60, t % 60)
}

fn party(e: &Ent) -> (String, String, String) {
    match &e.party {
        Some(p) if e.mask => (p.masked_name(), p.masked_acct(), p.bank.clone()),
        Some(p) => (p.name.clone(), p.acct.clone(), p.bank.clone()),
        None => (String::new(), String::new(), String::new()),
    }
}

fn reason(e: &Ent) -> &'static str {
    let i = e.reason.unwrap_or(0);
    if matches!(e.act, Act::DdReturn) { DD_REASONS[i % DD_REASONS.len()].1 } else { REASONS[i % REASONS.len()].1 }
}

/// CSV cell: quoted when it holds a comma or a quote.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub(super) fn render(a: &Account, days: &[NaiveDate], _rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    match a.dialect {
        Dialect::CnSplit => split(a, days),
        Dialect::CnFlag => flag(a, days),
        _ => abc(a, days),
    }
}

/// (摘要, 用途, 附言, 企业流水号) as a corporate export words them.
fn split_texts(e: &Ent) -> (String, String, String, String) {
    let slot = if e.slot { e.our_ref.clone().unwrap_or_default() } else { String::new() };
    let r = match (&e.our_ref, e.slot) {
        (Some(r), false) => match e.variant % 3 {
            0 => r.clone(),
            1 => format!("凭证号:{r}"),
            _ => format!("付款编号{r}"),
        },
        _ => String::new(),
    };
    match &e.act {
        Act::Out => {
            (if e.variant.is_multiple_of(2) { "转账支出" } else { "跨行汇款" }.into(), e.purpose.clone(), r, slot)
        }
        Act::In => ("转账收入".into(), e.purpose.clone(), e.payer_ref.clone().unwrap_or_default(), String::new()),
        Act::Batch { items, show, planned, .. } => {
            let u = if *show == BatchShow::Bare && *planned != items.len() {
                format!("{} 共{}笔 成功{}笔", e.purpose, planned, items.len())
            } else {
                format!("{} 共{}笔", e.purpose, items.len())
            };
            ("代发".into(), u, r, slot)
        }
        Act::Fee(f) => ("收费".into(), FEES[*f].0.into(), String::new(), String::new()),
        Act::Interest { from, to } => (
            "结息".into(),
            format!("{}至{}活期利息", from.format("%Y%m%d"), to.format("%Y%m%d")),
            String::new(),
            String::new(),
        ),
        Act::Return => {
            let o = e.orig.clone().unwrap_or_default();
            ("退汇".into(), e.purpose.clone(), format!("原交易{o} 退汇原因:{}", reason(e)), String::new())
        }
        Act::Collect => (
            "委托收款".into(),
            e.purpose.clone(),
            format!("托收号{}", e.payer_ref.clone().unwrap_or_default()),
            String::new(),
        ),
        Act::DdReturn => (
            "委托收款退回".into(),
            e.purpose.clone(),
            format!("原托收号{} {}", e.orig.clone().unwrap_or_default(), reason(e)),
            String::new(),
        ),
        Act::Reversal => {
            ("冲正".into(), String::new(), format!("冲正原流水{}", e.orig.clone().unwrap_or_default()), String::new())
        }
    }
}

fn split(a: &Account, days: &[NaiveDate]) -> Vec<(String, Vec<u8>)> {
    let all = per_day(a, days);
    let mut out = Vec::new();
    for week in all.chunks(5) {
        let (from, to) = (week[0].0, week[week.len() - 1].0);
        let mut s = String::new();
        s.push_str(&format!("{}对公账户交易明细\r\n", a.bank));
        s.push_str(&format!("账号:,{}\r\n户名:,{}\r\n币种:,人民币\r\n", a.no, a.name));
        s.push_str(&format!("查询期间:,{} 至 {}\r\n", from.format("%Y-%m-%d"), to.format("%Y-%m-%d")));
        s.push_str("交易日期,交易时间,交易流水号,企业流水号,借方发生额,贷方发生额,余额,对方账号,对方户名,对方开户行,摘要,用途,附言\r\n");
        let (mut dsum, mut csum) = (0i64, 0i64);
        for (d, open, es, _) in week {
            let mut bal = *open;
            for e in es {
                bal += e.amt;
                let (h, m, sec) = hms(e.time);
                let (name, acct, bank) = party(e);
                let (zy, yt, fy, qy) = split_texts(e);
                // 红字冲正: some banks write a reversal as a negative amount in the column of
                // the posting it undoes.
                let red = matches!(e.act, Act::Reversal) && e.variant.is_multiple_of(2);
                let (dr, cr) = if red || e.amt < 0 {
                    (yuan_grouped(-e.amt), String::new())
                } else {
                    (String::new(), yuan_grouped(e.amt))
                };
                if e.amt < 0 || red {
                    dsum -= e.amt;
                } else {
                    csum += e.amt;
                }
                let row = [
                    d.format("%Y-%m-%d").to_string(),
                    format!("{h:02}:{m:02}:{sec:02}"),
                    e.bref.clone(),
                    qy,
                    dr,
                    cr,
                    yuan_grouped(bal),
                    acct,
                    name,
                    bank,
                    zy,
                    yt,
                    fy,
                ];
                s.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
                s.push_str("\r\n");
            }
        }
        s.push_str(&format!("合计,,,,{},{},,,,,,,\r\n", yuan_grouped(dsum), yuan_grouped(csum)));
        s.push_str("以下空白\r\n");
        out.push((format!("对公明细_{}_{}-{}.csv", a.no, from.format("%Y%m%d"), to.format("%Y%m%d")), gbk(&s)));
    }
    out
}

fn flag(a: &Account, days: &[NaiveDate]) -> Vec<(String, Vec<u8>)> {
    let all = per_day(a, days);
    let mut rows = Vec::new();
    for (d, open, es, _) in &all {
        let mut bal = *open;
        for e in es {
            bal += e.amt;
            let (name, acct, bank) = party(e);
            let r = e
                .our_ref
                .clone()
                .map(|r| if e.variant.is_multiple_of(2) { format!(" {r}") } else { format!(" 附言:{r}") })
                .unwrap_or_default();
            let (zy, fy) = match &e.act {
                Act::Out => ("网银转账".to_string(), format!("{}{r}", e.purpose)),
                Act::In => {
                    ("汇兑来账".to_string(), format!("{} {}", e.purpose, e.payer_ref.clone().unwrap_or_default()))
                }
                Act::Batch { items, planned, .. } => {
                    ("批量代发".to_string(), format!("{} 提交{}笔 成功{}笔{r}", e.purpose, planned, items.len()))
                }
                Act::Fee(f) => (FEES[*f].0.to_string(), String::new()),
                Act::Interest { .. } => ("利息".to_string(), "单位活期存款季度结息".to_string()),
                Act::Return => (
                    "汇款退回".to_string(),
                    format!("{} 原交易{} {}", e.purpose, e.orig.clone().unwrap_or_default(), reason(e)),
                ),
                Act::Collect => {
                    ("托收".to_string(), format!("{} 托收号{}", e.purpose, e.payer_ref.clone().unwrap_or_default()))
                }
                Act::DdReturn => {
                    ("托收退回".to_string(), format!("原托收号{} {}", e.orig.clone().unwrap_or_default(), reason(e)))
                }
                Act::Reversal => ("抹账".to_string(), format!("抹账 原流水{}", e.orig.clone().unwrap_or_default())),
            };
            let row = [
                format!("{} {:02}:{:02}:{:02}", d.format("%Y%m%d"), hms(e.time).0, hms(e.time).1, hms(e.time).2),
                e.bref.clone(),
                if e.amt < 0 { "借".into() } else { "贷".into() },
                yuan(e.amt.abs()),
                yuan(bal),
                acct,
                name,
                bank,
                zy,
                fy,
            ];
            rows.push(row.join("\t"));
        }
    }
    rows.reverse();
    let mut s = String::new();
    s.push_str(&format!("账号\t{}\r\n账户名称\t{}\r\n币种\t人民币\r\n", a.no, a.name));
    s.push_str("交易日期\t流水号\t借贷标志\t交易金额\t余额\t对方账号\t对方户名\t对方开户行\t摘要\t附言\r\n");
    for r in rows {
        s.push_str(&r);
        s.push_str("\r\n");
    }
    let (from, to) = (days[0], days[days.len() - 1]);
    vec![(format!("交易明细{}_{}_{}.txt", a.no, from.format("%Y%m%d"), to.format("%Y%m%d")), gbk(&s))]
}

fn abc(a: &Account, days: &[NaiveDate]) -> Vec<(String, Vec<u8>)> {
    let all = per_day(a, days);
    // The download carries 户名/账号/起止日期 above the header (the corpus sample was cut
    // to the table by its converter).
    let (from, to) = (days[0], days[days.len() - 1]);
    let mut s = format!(
        "中国农业银行账户明细\n户名：{},,,,,,,,\n账号：{},,,,,,,,\n起止日期：{}-{},,,,,,,,\n",
        a.name,
        a.no,
        from.format("%Y%m%d"),
        to.format("%Y%m%d")
    );
    s.push_str("交易日期,交易时间,交易摘要,交易金额,本次余额,对手信息,日 志 号,交易渠道,交易附言\n");
    for (d, open, es, _) in &all {
        let mut bal = *open;
        for e in es {
            bal += e.amt;
            let (name, acct, _) = party(e);
            // 对手信息 holds the name, or the account where the channel gives only that.
            let who = if e.variant.is_multiple_of(3) && !acct.is_empty() { acct.clone() } else { name.clone() };
            let r = e.our_ref.clone().map(|r| format!(" {r}")).unwrap_or_default();
            let (zy, fy, ch) = match &e.act {
                Act::Out => ("转账".to_string(), format!("{}{r}", e.purpose), "企业网银"),
                Act::In => (
                    "转存".to_string(),
                    format!("{} {}", e.purpose, e.payer_ref.clone().unwrap_or_default()),
                    "超级网银",
                ),
                Act::Batch { items, .. } => ("代发".to_string(), format!("{} {}笔{r}", e.purpose, items.len()), "批量"),
                Act::Fee(f) => (FEES[*f].0.to_string(), String::new(), "柜面"),
                Act::Interest { .. } => ("结息".to_string(), "单位活期结息".to_string(), ""),
                Act::Return => (
                    "退汇".to_string(),
                    format!("{} 原{} {}", e.purpose, e.orig.clone().unwrap_or_default(), reason(e)),
                    "大额支付",
                ),
                Act::Collect => {
                    ("委托收款".to_string(), format!("托收号{}", e.payer_ref.clone().unwrap_or_default()), "托收")
                }
                Act::DdReturn => (
                    "委托收款退回".to_string(),
                    format!("原托收号{} {}", e.orig.clone().unwrap_or_default(), reason(e)),
                    "托收",
                ),
                Act::Reversal => {
                    ("冲正".to_string(), format!("原日志号{}", e.orig.clone().unwrap_or_default()), "柜面")
                }
            };
            let (h, m, sec) = hms(e.time);
            let amt = if e.amt < 0 { yuan(e.amt) } else { format!("+{}", yuan(e.amt)) };
            let row = [
                d.format("%Y%m%d").to_string(),
                format!("{h:02}{m:02}{sec:02}"),
                zy,
                amt,
                yuan(bal),
                who,
                e.bref.clone(),
                ch.to_string(),
                fy,
            ];
            s.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
            s.push('\n');
        }
    }
    vec![(format!("abc_{}_{}-{}.csv", a.no, from.format("%Y%m%d"), to.format("%Y%m%d")), s.into_bytes())]
}
