//! Chinese web-banking exports in GBK, CR LF, one file per account and ten business days
//! (a clerk downloads a range), in four layouts read by `formats/*.toml`:
//! - ICBC 企业网银 历史明细: `[HISTORYDETAIL]` line, 凭证号/交易时间/对方单位/对方账号/转入金额/
//!   转出金额/余额/用途/摘要/附言 (domain.md §3.1, fixtures/parse/table/icbc-corporate.csv), with
//!   the 本方账号 column of the layout so that the file names its account.
//! - CCB 企业网银 账户明细: title and 查询期间 rows, full-width parentheses in the headers,
//!   account guarded by a tab, `20240401 09:01:02`, 企业流水号 (fixtures ccb-corporate.csv).
//! - CMB 企业网银 交易明细: `账号:`/`币种:` rows, 交易日/起息日/业务名称/用途/业务参考号/
//!   收/付方名称/收/付方帐号/冲帐标志 (formats/cmb-corporate.toml, fixtures cmb-corporate.xlsx).
//! - CMBC 企业网银 账户明细: `账户名称:`/`账号:`/`币种:`/`起止日期:` rows, newest first
//!   (fixtures cmbc-corporate.csv).
//!
//! Wording: 摘要 as banks write it (转账, 代发工资, 退汇/退票/退回, 冲正/冲账, 结息, fees under
//! their own names); masked card numbers (`6217****1234`) for persons; amounts `1,234.56`.

use super::{Acct, Dialect, Tx, TxKind, day_txs, grouped, time_of};
use chrono::NaiveDate;

pub(crate) fn render(a: &Acct, days: &[NaiveDate]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut bal = a.opening;
    for chunk in days.chunks(10) {
        // (day, n in day, entry, balance after)
        let mut rows: Vec<(usize, &Tx, i64)> = Vec::new();
        for d in chunk {
            for (n, k) in day_txs(a, *d).enumerate() {
                let t = &a.txs[k];
                bal += t.amount;
                rows.push((n, t, bal));
            }
        }
        if rows.is_empty() {
            continue;
        }
        let (from, to) = (chunk[0], chunk[chunk.len() - 1]);
        let text = match a.dialect {
            Dialect::GbkIcbc => icbc(a, &rows),
            Dialect::GbkCcb => ccb(a, &rows, from, to),
            Dialect::GbkCmb => cmb(a, &rows),
            _ => cmbc(a, &rows, from, to),
        };
        let text = text.replace('\n', "\r\n");
        let (bytes, _, bad) = encoding_rs::GBK.encode(&text);
        debug_assert!(!bad, "text outside GBK");
        let ext = if a.dialect == Dialect::GbkIcbc { "txt" } else { "csv" };
        out.push((
            format!("{}/{}_{}_{}.{ext}", a.dialect.name(), a.no, from.format("%Y%m%d"), to.format("%Y%m%d")),
            bytes.into_owned(),
        ));
    }
    out
}

fn q(s: &str) -> String {
    if s.contains([',', '"']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A card number as Chinese banks show a person's account: `6217****1234`.
fn mask(acct: &str) -> String {
    if acct.len() >= 12 { format!("{}****{}", &acct[..4], &acct[acct.len() - 4..]) } else { acct.to_string() }
}

fn cp_acct(t: &Tx) -> String {
    match &t.cp {
        Some(p) if p.person => mask(&p.acct),
        Some(p) => p.acct.clone(),
        None => String::new(),
    }
}
fn cp_name(t: &Tx) -> String {
    t.cp.as_ref().map(|p| p.name.clone()).unwrap_or_default()
}
fn cp_bank(t: &Tx) -> String {
    t.cp.as_ref().map(|p| p.bank.clone()).unwrap_or_default()
}

/// 摘要: the bank's word for the kind of posting.
fn summary(a: &Acct, t: &Tx) -> String {
    match &t.kind {
        TxKind::Transfer => {
            if t.amount > 0 {
                ["转账", "汇入汇款", "跨行来账"][a.idx % 3].to_string()
            } else {
                ["转账", "汇出汇款", "网银转账"][a.idx % 3].to_string()
            }
        }
        TxKind::Fee(n) => n.to_string(),
        TxKind::Interest(_) => ["结息", "利息", "活期结息"][a.idx % 3].to_string(),
        TxKind::Batch { .. } => ["代发工资", "批量代发", "代发"][a.idx % 3].to_string(),
        TxKind::Return { .. } => ["退汇", "退票", "退回"][a.idx % 3].to_string(),
        TxKind::DdCollection { .. } => "委托收款".into(),
        TxKind::DdReturn { .. } => "委托收款退回".into(),
        TxKind::Reversal { .. } => ["冲正", "冲账", "冲正"][a.idx % 3].to_string(),
    }
}

/// 附言/用途 text: the payer's words with its reference where the bank has no own column.
fn remark(a: &Acct, t: &Tx) -> String {
    match &t.kind {
        TxKind::Reversal { of } => {
            // Some banks name the entry they reverse, some only say it.
            if a.idx.is_multiple_of(2) {
                format!("冲正原交易 流水号{}", a.txs[*of].bank_ref)
            } else {
                "错账冲正".into()
            }
        }
        TxKind::Batch { items, pmtinf } => match pmtinf {
            Some(p) => format!("{} 批次{p} 共{}笔", first_words(&t.remit), items.len()),
            None => format!("{} 共{}笔", first_words(&t.remit), items.len()),
        },
        TxKind::Fee(_) => String::new(),
        _ => t.remit.clone(),
    }
}

fn first_words(s: &str) -> String {
    s.split(" 批次号").next().unwrap_or(s).split(" 共").next().unwrap_or(s).to_string()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn icbc(a: &Acct, rows: &[(usize, &Tx, i64)]) -> String {
    let mut s = String::from(
        "[HISTORYDETAIL]\n凭证号,本方账号,交易时间,对方单位,对方账号,转入金额,转出金额,余额,用途,摘要,附言\n",
    );
    for (n, t, bal) in rows {
        let (cr, dr) =
            if t.amount > 0 { (grouped(t.amount), String::new()) } else { (String::new(), grouped(-t.amount)) };
        // ICBC: 用途 is what the payer typed, 附言 the customer's reference when it gave one.
        let fuyan = t.cust_ref.clone().unwrap_or_default();
        s.push_str(&format!(
            "{},'{},{} {},{},{},{},{},{},{},{},{}\n",
            t.bank_ref,
            a.no,
            ymd(t.date),
            time_of(*n),
            q(&cp_name(t)),
            cp_acct(t),
            q(&cr),
            q(&dr),
            q(&grouped(*bal)),
            q(&remark(a, t)),
            summary(a, t),
            q(&fuyan)
        ));
    }
    s
}

fn ccb(a: &Acct, rows: &[(usize, &Tx, i64)], from: NaiveDate, to: NaiveDate) -> String {
    let mut s = format!(
        "中国建设银行单位账户交易明细\n查询期间：{} 至 {}\n账号,账户名称,交易时间,借方发生额（支取）,贷方发生额（收入）,余额,币种,对方户名,对方账号,对方开户机构,记账日期,摘要,备注,账户明细编号-交易流水号,企业流水号,凭证种类,凭证号\n",
        ymd(from),
        ymd(to)
    );
    let (mut tdr, mut tcr) = (0i64, 0i64);
    for (n, t, bal) in rows {
        let (dr, cr) = if t.amount > 0 {
            tcr += t.amount;
            ("0.00".to_string(), grouped(t.amount))
        } else {
            tdr -= t.amount;
            (grouped(-t.amount), "0.00".to_string())
        };
        let hms = time_of(*n);
        s.push_str(&format!(
            "\t{},{},{} {},{},{},{},人民币元,{},{},{},{},{},{},{},{},{},\n",
            a.no,
            q(&a.name),
            t.date.format("%Y%m%d"),
            hms,
            q(&dr),
            q(&cr),
            q(&grouped(*bal)),
            q(&cp_name(t)),
            cp_acct(t),
            q(&cp_bank(t)),
            t.date.format("%Y%m%d"),
            summary(a, t),
            q(&remark(a, t)),
            t.bank_ref,
            t.cust_ref.clone().unwrap_or_default(),
            if matches!(t.kind, TxKind::Fee(_)) { "收费凭证" } else { "电汇凭证" },
        ));
    }
    s.push_str(&format!("本页小计,,,{},{},,,,,,,,,,,,\n以下空白\n", q(&grouped(tdr)), q(&grouped(tcr))));
    s
}

fn cmb(a: &Acct, rows: &[(usize, &Tx, i64)]) -> String {
    let mut s = format!("账号:,{}\n币种:,人民币\n\n", a.no);
    s.push_str("交易日,交易时间,起息日,交易类型,借方金额,贷方金额,余额,摘要,流水号,业务名称,用途,业务参考号,收/付方名称,收/付方帐号,冲帐标志\n");
    for (n, t, bal) in rows {
        let (dr, cr) =
            if t.amount > 0 { (String::new(), grouped(t.amount)) } else { (grouped(-t.amount), String::new()) };
        let (ty, biz) = match &t.kind {
            TxKind::Transfer if t.amount > 0 => ("汇入", "汇入汇款"),
            TxKind::Transfer => ("汇出", "汇出汇款"),
            TxKind::Batch { .. } => ("汇出", "代发"),
            TxKind::Fee(_) => ("收费", "收费"),
            TxKind::Interest(_) => ("利息", "结息"),
            TxKind::Return { .. } => ("退票", "退票"),
            TxKind::DdCollection { .. } => ("托收", "委托收款"),
            TxKind::DdReturn { .. } => ("托收", "委托收款退回"),
            TxKind::Reversal { .. } => ("冲帐", "冲帐"),
        };
        let rf = match &t.kind {
            TxKind::Batch { pmtinf, .. } => pmtinf.clone().unwrap_or_default(),
            _ => t.cust_ref.clone().unwrap_or_default(),
        };
        let flag = if matches!(t.kind, TxKind::Reversal { .. }) { "*" } else { "" };
        s.push_str(&format!(
            "{},{},{},{ty},{},{},{},{},{},{biz},{},{},{},{},{flag}\n",
            t.date.format("%Y%m%d"),
            time_of(*n),
            t.date.format("%Y%m%d"),
            q(&dr),
            q(&cr),
            q(&grouped(*bal)),
            summary(a, t),
            t.bank_ref,
            q(&remark(a, t)),
            rf,
            q(&cp_name(t)),
            cp_acct(t),
        ));
    }
    s
}

fn cmbc(a: &Acct, rows: &[(usize, &Tx, i64)], from: NaiveDate, to: NaiveDate) -> String {
    let mut s = format!(
        "民生银行对公账户交易明细\n账户名称:,{}\n账号:,\t{}\n币种:,人民币\n起止日期:,{} 至 {}\n",
        q(&a.name),
        a.no,
        ymd(from),
        ymd(to)
    );
    s.push_str("交易时间,交易流水号,借方发生额,贷方发生额,账户余额,凭证号,客户附言,对方账号,对方账号名称,对方开户行\n");
    // Newest first, as CMBC lists them.
    for (n, t, bal) in rows.iter().rev() {
        let (dr, cr) =
            if t.amount > 0 { (String::new(), grouped(t.amount)) } else { (grouped(-t.amount), String::new()) };
        // No 摘要 column: the kind word leads the 客户附言, references follow the text.
        let mut note = summary(a, t);
        let r = remark(a, t);
        if !r.is_empty() && r != note {
            note = format!("{note} {r}");
        }
        if let Some(c) = &t.cust_ref
            && !note.contains(c.as_str())
        {
            note = format!("{note} {c}");
        }
        s.push_str(&format!(
            "{} {},{},{},{},{},,{},{},{},{}\n",
            ymd(t.date),
            time_of(*n),
            t.bank_ref,
            q(&dr),
            q(&cr),
            q(&grouped(*bal)),
            q(&note),
            cp_acct(t),
            q(&cp_name(t)),
            q(&cp_bank(t)),
        ));
    }
    s
}
