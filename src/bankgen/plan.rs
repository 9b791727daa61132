//! What happens on one account: the fund's payments and receipts, the bank's own postings,
//! and how the clerks book them. Every case is decidable from the data a careful person
//! would use (references, counterparty, amount, date); the ambiguous ones are not planted.

use super::{Acct, BatchItem, Config, Dialect, Party, Rec, Rng, Truth, Tx, TxKind};
use chrono::{Datelike, NaiveDate};
use std::collections::HashSet;

const CITIES: [(&str, &str); 14] = [
    ("南宁市", "南宁"),
    ("柳州市", "柳州"),
    ("桂林市", "桂林"),
    ("梧州市", "梧州"),
    ("北海市", "北海"),
    ("玉林市", "玉林"),
    ("百色市", "百色"),
    ("钦州市", "钦州"),
    ("贵港市", "贵港"),
    ("河池市", "河池"),
    ("来宾市", "来宾"),
    ("崇左市", "崇左"),
    ("贺州市", "贺州"),
    ("防城港市", "防城港"),
];

/// (full name suffix, 简称 suffix, is a payee of benefits/settlements, is a payer)
const ORG_KINDS: [(&str, &str); 16] = [
    ("第一人民医院", "一院"),
    ("第二人民医院", "二院"),
    ("中医医院", "中医院"),
    ("妇幼保健院", "妇幼"),
    ("人民医院", "人民医院"),
    ("康复医院", "康复医院"),
    ("口腔医院", "口腔医院"),
    ("医药有限公司", "医药"),
    ("大药房连锁有限公司", "大药房"),
    ("社会保险事业管理中心", "社保中心"),
    ("医疗保障事务中心", "医保中心"),
    ("就业服务中心", "就业中心"),
    ("劳动能力鉴定中心", "鉴定中心"),
    ("机关事务管理局", "机关事务局"),
    ("城市建设投资有限公司", "城投"),
    ("公共交通有限公司", "公交公司"),
];

const SURNAMES: [&str; 36] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "潘",
];
const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "秀", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "兰",
    "霞", "平", "刚", "桂", "英", "华", "玉", "建", "国", "志", "红", "春", "文", "德", "海", "林", "云", "凤", "荣",
    "金", "宝",
];
const BANKS: [(&str, &str); 6] = [
    ("中国工商银行", "ICBKCNBJ"),
    ("中国建设银行", "PCBCCNBJ"),
    ("中国农业银行", "ABOCCNBJ"),
    ("中国银行", "BKCHCNBJ"),
    ("交通银行", "COMMCNSH"),
    ("广西北部湾银行", "BGBKCNBN"),
];

const DISB_PURPOSES: [&str; 10] = [
    "医保结算",
    "拨付 医疗保险待遇",
    "拨付 失业保险金",
    "工伤保险待遇 支付",
    "支付 定点医院结算款",
    "城乡居民养老保险待遇",
    "生育津贴",
    "丧葬补助金",
    "异地就医清算",
    "职业培训补贴",
];
const RECEIPT_PURPOSES: [&str; 6] =
    ["养老保险费收入", "医疗保险费收入", "失业保险费收入", "工伤保险费收入", "收入户归集", "上级补助收入"];

/// Fees under the names banks give them, with their usual amounts (fen).
pub(crate) const FEES: [(&str, &[i64]); 10] = [
    ("账户管理费", &[10_000, 30_000]),
    ("汇划费", &[50, 550, 1_550]),
    ("短信通知费", &[200, 1_000]),
    ("网银服务费", &[2_000, 5_000]),
    ("网银年费", &[30_000, 60_000]),
    ("工本费", &[1_000, 2_000]),
    ("回单柜费", &[10_000, 36_000]),
    ("对账服务费", &[5_000]),
    ("U盾费", &[4_000, 8_000]),
    ("手续费", &[50, 500, 2_000]),
];

/// SEPA/ISO return reasons of a credit transfer, with the wording a Chinese bank uses.
const CT_RETURNS: [(&str, &str); 5] = [
    ("AC04", "账户已销户"),
    ("AC01", "账号不存在"),
    ("MD07", "收款人已身故"),
    ("BE01", "户名与账号不符"),
    ("AG01", "账户状态异常 不允许入账"),
];
/// Returned direct debits (the debtor's side said no).
const DD_RETURNS: [(&str, &str); 4] =
    [("AM04", "余额不足"), ("MS02", "付款人拒付"), ("MD06", "付款人要求退款"), ("MD01", "无有效授权")];

struct Paid {
    day: usize,
    voucher: String,
    amount: i64,
    party: Party,
    /// The reference the bank knows the payment by (end-to-end id), if any.
    reference: Option<String>,
    used: bool,
}

struct Planner<'a> {
    cfg: &'a Config,
    rng: Rng,
    days: &'a [NaiveDate],
    a: Acct,
    used: HashSet<i64>,
    names: HashSet<String>,
    order: u32,
    vseq: u32,
    paid: Vec<Paid>,
    collected: Vec<Paid>,
    round_used: Vec<i64>,
    treasury: Party,
    voucher_style: u8,
}

pub(crate) fn plan_account(cfg: &Config, rng: Rng, idx: usize, dialect: Dialect, days: &[NaiveDate]) -> Acct {
    let mut p = Planner {
        cfg,
        rng,
        days,
        a: Acct {
            idx,
            no: String::new(),
            name: String::new(),
            dialect,
            opening: 0,
            txs: Vec::new(),
            recs: Vec::new(),
            truth: Vec::new(),
        },
        used: HashSet::new(),
        names: HashSet::new(),
        order: 0,
        vseq: 0,
        paid: Vec::new(),
        collected: Vec::new(),
        round_used: Vec::new(),
        treasury: Party::default(),
        voucher_style: 0,
    };
    p.a.no = format!(
        "{}{:014}",
        ["45001", "12020", "31000", "61050", "18100", "75590"][idx % 6],
        p.rng.below(10u64.pow(14))
    );
    let (city, cs) = CITIES[idx % CITIES.len()];
    p.a.name = format!("{city}社会保险基金{}", ["财政专户", "支出户", "收入户"][idx % 3]);
    p.a.opening = p.rng.range(150_000_000_00, 400_000_000_00);
    p.voucher_style = (p.rng.below(3)) as u8;
    let (bank, bic) = *p.rng.pick(&BANKS);
    p.treasury = Party {
        name: format!("{city}财政局社会保障资金专户"),
        short: format!("{cs}财政局"),
        acct: p.account_no(),
        bank: format!("{bank}{cs}分行"),
        bic: bic.to_string(),
        person: false,
    };
    p.run();
    p.a
}

impl Planner<'_> {
    fn date(&self, d: usize) -> NaiveDate {
        self.days[d]
    }
    fn last(&self) -> usize {
        self.days.len() - 1
    }
    /// Day index `n` business days after `d`, if the statements still cover it.
    fn after(&self, d: usize, n: usize) -> Option<usize> {
        (d + n <= self.last()).then_some(d + n)
    }
    /// Whether a voucher dated on day `d` may be planted as not executed (≥ 10 calendar
    /// days before the statements end).
    fn old_enough(&self, d: usize) -> bool {
        (self.date(self.last()) - self.date(d)).num_days() >= 10
    }

    fn account_no(&mut self) -> String {
        let pre = *self.rng.pick(&["4500", "3100", "1202", "6105", "2010", "4400"]);
        format!("{pre}{:015}", self.rng.below(10u64.pow(15)))
    }
    fn card_no(&mut self) -> String {
        let pre = *self.rng.pick(&["6217", "6222", "6228", "6214", "6230"]);
        format!("{pre}{:015}", self.rng.below(10u64.pow(15)))
    }

    fn org(&mut self) -> Party {
        let (city, cs) = *self.rng.pick(&CITIES);
        let (full, short) = *self.rng.pick(&ORG_KINDS);
        let (bank, bic) = *self.rng.pick(&BANKS);
        // One account per organisation name and account holder: derive it from the name so
        // that the same organisation always pays from the same account.
        let name = format!("{city}{full}");
        let h = name.bytes().fold(self.a.idx as u64 + 7, |h, b| h.wrapping_mul(131).wrapping_add(b as u64));
        Party {
            acct: format!("{}{:015}", ["4500", "3100", "2010"][(h % 3) as usize], h % 10u64.pow(15)),
            short: format!("{cs}{short}"),
            name,
            bank: format!("{bank}{cs}支行"),
            bic: bic.to_string(),
            person: false,
        }
    }
    /// A person not used before on this account (names are unique per account, so a
    /// return that carries only the name is decidable).
    fn person(&mut self) -> Party {
        loop {
            let s = *self.rng.pick(&SURNAMES);
            let g1 = *self.rng.pick(&GIVEN);
            let name = if self.rng.chance(30) {
                format!("{s}{g1}")
            } else {
                let g2 = *self.rng.pick(&GIVEN);
                format!("{s}{g1}{g2}")
            };
            if self.names.insert(name.clone()) {
                let (bank, bic) = *self.rng.pick(&BANKS);
                return Party {
                    short: name.clone(),
                    name,
                    acct: self.card_no(),
                    bank: bank.to_string(),
                    bic: bic.to_string(),
                    person: true,
                };
            }
            if self.names.len() > 50_000 {
                panic!("person pool exhausted");
            }
        }
    }

    /// An amount in fen in `lo..=hi` not used before on this account.
    fn fresh(&mut self, lo: i64, hi: i64) -> i64 {
        loop {
            let x = self.rng.range(lo, hi);
            if x % 100 != 0 && self.used.insert(x) {
                return x;
            }
        }
    }
    fn claim(&mut self, x: i64) -> bool {
        self.used.insert(x)
    }

    fn voucher(&mut self, kind: &str, d: usize) -> String {
        self.vseq += 1;
        let dt = self.date(d);
        let a = (b'A' + (self.a.idx % 26) as u8) as char;
        let n = self.vseq;
        let (y, m, dd) = (dt.year(), dt.month(), dt.day());
        match (kind, self.voucher_style) {
            ("DF", _) => format!("DF{a}{:02}{m:02}-{n:04}", y % 100),
            ("LX", _) => format!("LX{a}{y}{m:02}-{n:03}"),
            (k, 0) => format!("{k}{a}{:02}{m:02}{dd:02}-{n:04}", y % 100),
            (k, 1) => format!("{y}{m:02}{dd:02}-{a}{n:04}{}", if k == "SK" { "S" } else { "" }),
            (k, _) => format!("{k}{a}{y}{m:02}{n:05}"),
        }
    }

    fn tx(
        &mut self,
        d: usize,
        amount: i64,
        kind: TxKind,
        cp: Option<Party>,
        cust_ref: Option<String>,
        remit: String,
    ) -> usize {
        self.order += 1;
        let e2e = cust_ref.clone();
        self.a.txs.push(Tx {
            date: self.date(d),
            amount,
            kind,
            cp,
            cust_ref,
            e2e,
            remit,
            bank_ref: String::new(),
            order: self.order,
        });
        self.a.txs.len() - 1
    }
    #[allow(clippy::too_many_arguments)]
    fn rec(
        &mut self,
        voucher: &str,
        receipt: bool,
        d: usize,
        amount: i64,
        cp_acct: Option<String>,
        cp_name: Option<String>,
        purpose: String,
        batch_ref: Option<String>,
    ) {
        self.a.recs.push(Rec {
            voucher: voucher.to_string(),
            receipt,
            date: self.date(d),
            amount,
            cp_acct,
            cp_name,
            purpose,
            batch_ref,
        });
    }
    fn group(&mut self, txs: Vec<usize>, vouchers: Vec<String>, class: &'static str) {
        self.a.truth.push(Truth::Group { txs, vouchers, class });
    }
    fn open(&mut self, tx: Option<usize>, voucher: Option<String>, ty: &'static str) {
        self.a.truth.push(Truth::Open { tx, voucher, ty });
    }

    /// How a clerk writes the counterparty: the account most of the time, sometimes left
    /// blank; the full name or the 简称.
    fn book_party(&mut self, p: &Party, keep_acct: bool) -> (Option<String>, Option<String>) {
        let acct = (keep_acct || self.rng.chance(75)).then(|| p.acct.clone());
        let name = if self.rng.chance(40) { p.short.clone() } else { p.name.clone() };
        (acct, Some(name))
    }
    /// The day a receipt is booked: 1–3 business days after the credit when `late`.
    fn book_day(&mut self, d: usize, late: bool) -> usize {
        if !late {
            return d;
        }
        let max = self.cfg.window_days.clamp(1, 3) as usize;
        let n = self.rng.range(1, max as i64) as usize;
        self.after(d, n).unwrap_or(d)
    }
    /// The day the bank executes a disbursement voucher of day `d`.
    fn exec_day(&mut self, d: usize) -> usize {
        if self.rng.chance(15) { self.after(d, 1).unwrap_or(d) } else { d }
    }

    fn run(&mut self) {
        let n = self.days.len();
        for d in 0..n {
            let target = self.cfg.per_day.max(1);
            let target = (target as i64 + self.rng.range(-(target as i64) / 5, target as i64 / 5)).max(1) as usize;
            let mut made = 0;
            if d == self.last() {
                // Vouchers of the last day that the bank has not executed yet.
                for _ in 0..2 {
                    self.in_transit(d);
                }
            }
            self.interest(d);
            while made < target {
                made += self.event(d);
            }
        }
    }

    fn event(&mut self, d: usize) -> usize {
        const W: [u64; 21] = [10, 10, 7, 9, 6, 5, 2, 2, 1, 3, 2, 3, 2, 1, 2, 1, 6, 1, 2, 1, 1];
        let total: u64 = W.iter().sum();
        let mut x = self.rng.below(total);
        let mut k = 0;
        while x >= W[k] {
            x -= W[k];
            k += 1;
        }
        match k {
            0 => self.ref_customer(d),
            1 => self.ref_narrative(d),
            2 => self.payer_ref(d),
            3 => self.counterparty_only(d),
            4 => self.name_only(d),
            5 => self.late_booking(d),
            6 => self.shared_contract(d),
            7 => self.refund_receipt(d),
            8 => self.round_repeat(d),
            9 => self.batch(d, false),
            10 => self.batch(d, true),
            11 => self.ret(d),
            12 => self.dd_collection(d),
            13 => self.dd_return(d),
            14 => self.reversal(d),
            15 => self.split(d),
            16 => self.fee(d),
            17 => self.missing_in_books(d),
            18 => self.amount_mismatch(d),
            19 => self.duplicate(d),
            _ => self.missing_in_bank(d),
        }
    }

    /// A disbursement whose voucher number the bank carries as the customer reference
    /// (`:61:` subfield 7, EndToEndId, 企业流水号/业务参考号).
    fn ref_customer(&mut self, d: usize) -> usize {
        let p = self.org();
        let big = self.rng.chance(10);
        let amt = if big { self.fresh(5_000_000_00, 30_000_000_00) } else { self.fresh(1_000_00, 3_000_000_00) };
        let v = self.voucher("FK", d);
        let purpose = if big {
            format!("拨付 用款计划{}-{:02}", self.date(d).year(), self.date(d).month())
        } else {
            self.rng.pick(&DISB_PURPOSES).to_string()
        };
        let e = self.exec_day(d);
        let t = self.tx(e, -amt, TxKind::Transfer, Some(p.clone()), Some(v.clone()), purpose.clone());
        let (ca, cn) = self.book_party(&p, false);
        self.rec(&v, false, d, amt, ca, cn, purpose, None);
        self.group(vec![t], vec![v.clone()], "ref_customer_ref");
        self.paid.push(Paid { day: e, voucher: v.clone(), amount: amt, party: p, reference: Some(v), used: false });
        1
    }

    /// A disbursement whose voucher number is somewhere in the bank's narrative.
    fn ref_narrative(&mut self, d: usize) -> usize {
        let p = if self.rng.chance(20) { self.person() } else { self.org() };
        let amt = self.fresh(500_00, 2_000_000_00);
        let v = self.voucher("FK", d);
        let purpose = self.rng.pick(&DISB_PURPOSES).to_string();
        let remit = match self.rng.below(4) {
            0 => format!("{purpose} {v}"),
            1 => format!("{v} {purpose}"),
            2 => format!("付款凭证号:{v} {purpose}"),
            _ => format!("{purpose}(凭证{v})"),
        };
        let e = self.exec_day(d);
        let t = self.tx(e, -amt, TxKind::Transfer, Some(p.clone()), None, remit);
        let (ca, cn) = self.book_party(&p, false);
        self.rec(&v, false, d, amt, ca, cn, purpose, None);
        self.group(vec![t], vec![v.clone()], "ref_in_narrative");
        self.paid.push(Paid { day: e, voucher: v, amount: amt, party: p, reference: None, used: false });
        1
    }

    /// A receipt: the payer's own reference (a tax-bureau payment number) is in the bank's
    /// customer reference or narrative and in the clerk's purpose; the voucher number is
    /// the fund's own. Booked 1–3 business days after the credit.
    fn payer_ref(&mut self, d: usize) -> usize {
        let p = if self.rng.chance(60) {
            let (city, cs) = *self.rng.pick(&CITIES);
            Party {
                name: format!("国家税务总局{city}税务局"),
                short: format!("{cs}税务"),
                acct: format!("2010{:015}", (self.a.idx as u64 * 7919 + city.len() as u64 * 104_729) % 10u64.pow(15)),
                bank: format!("国家金库{cs}中心支库"),
                bic: "PBOCCNBJ".into(),
                person: false,
            }
        } else {
            self.org()
        };
        let amt = self.fresh(10_000_00, 20_000_000_00);
        self.vseq += 1;
        let dt = self.date(d);
        let pref = format!("SW{}-{:02}{:02}-{:03}", dt.year(), dt.month(), dt.day(), self.vseq % 1000);
        let what = self.rng.pick(&RECEIPT_PURPOSES[..4]).to_string();
        let (cust, remit) =
            if self.rng.chance(50) { (Some(pref.clone()), what.clone()) } else { (None, format!("{what} {pref}")) };
        let t = self.tx(d, amt, TxKind::Transfer, Some(p.clone()), cust, remit);
        let bd = self.book_day(d, true);
        let v = self.voucher("SK", bd);
        let (ca, cn) = self.book_party(&p, false);
        let ca = if self.rng.chance(30) { None } else { ca };
        self.rec(&v, true, bd, amt, ca, cn, format!("{what} {pref}"), None);
        self.group(vec![t], vec![v], "payer_ref_in_purpose");
        1
    }

    /// No reference on either side: counterparty account, amount and date decide.
    fn counterparty_only(&mut self, d: usize) -> usize {
        let p = self.org();
        let receipt = self.rng.chance(40);
        let amt = self.fresh(1_000_00, 5_000_000_00);
        let text = if receipt {
            self.rng.pick(&RECEIPT_PURPOSES).to_string()
        } else {
            self.rng.pick(&DISB_PURPOSES).to_string()
        };
        let (t, bd) = if receipt {
            let t = self.tx(d, amt, TxKind::Transfer, Some(p.clone()), None, text.clone());
            let late = self.rng.chance(50);
            (t, self.book_day(d, late))
        } else {
            let e = self.exec_day(d);
            (self.tx(e, -amt, TxKind::Transfer, Some(p.clone()), None, text.clone()), d)
        };
        let v = self.voucher(if receipt { "SK" } else { "FK" }, bd);
        let (ca, cn) = self.book_party(&p, true);
        self.rec(&v, receipt, bd, amt, ca, cn, text, None);
        self.group(vec![t], vec![v.clone()], "counterparty_only");
        if !receipt {
            let day = self.a.txs[t].date;
            let day = self.days.iter().position(|x| *x == day).unwrap_or(d);
            self.paid.push(Paid { day, voucher: v, amount: amt, party: p, reference: None, used: false });
        }
        1
    }

    /// The clerk left the counterparty account blank and wrote the 简称 (or the person's
    /// name); the bank has the full name, a masked card number in Chinese exports.
    fn name_only(&mut self, d: usize) -> usize {
        let receipt = self.rng.chance(50);
        let p = if self.rng.chance(50) { self.person() } else { self.org() };
        let amt = self.fresh(200_00, 800_000_00);
        let (text, book_text) = if receipt {
            if p.person {
                ("灵活就业人员社保费".to_string(), "灵活就业人员缴费".to_string())
            } else {
                ("单位补缴社保费".to_string(), "补缴收入".to_string())
            }
        } else if p.person {
            ("丧葬补助金".to_string(), "丧葬补助金 一次性".to_string())
        } else {
            ("医保结算".to_string(), "定点机构结算".to_string())
        };
        let (t, bd) = if receipt {
            let t = self.tx(d, amt, TxKind::Transfer, Some(p.clone()), None, text);
            let late = self.rng.chance(50);
            (t, self.book_day(d, late))
        } else {
            let e = self.exec_day(d);
            (self.tx(e, -amt, TxKind::Transfer, Some(p.clone()), None, text), d)
        };
        let v = self.voucher(if receipt { "SK" } else { "FK" }, bd);
        self.rec(&v, receipt, bd, amt, None, Some(p.short.clone()), book_text, None);
        self.group(vec![t], vec![v.clone()], "name_only");
        if !receipt {
            let day = self.days.iter().position(|x| *x == self.a.txs[t].date).unwrap_or(d);
            self.paid.push(Paid { day, voucher: v, amount: amt, party: p, reference: None, used: false });
        }
        1
    }

    /// A receipt booked 1–3 business days after the bank credit, counterparty account on both sides.
    fn late_booking(&mut self, d: usize) -> usize {
        let p = self.org();
        let amt = self.fresh(5_000_00, 3_000_000_00);
        let text = self.rng.pick(&RECEIPT_PURPOSES).to_string();
        let t = self.tx(d, amt, TxKind::Transfer, Some(p.clone()), None, text.clone());
        let bd = self.book_day(d, true);
        let v = self.voucher("SK", bd);
        let (ca, cn) = self.book_party(&p, true);
        self.rec(&v, true, bd, amt, ca, cn, text, None);
        self.group(vec![t], vec![v], if bd == d { "counterparty_only" } else { "late_booking" });
        1
    }

    /// Three payments to one supplier under one contract: the contract number is in every
    /// bank text and every purpose, and must pair nothing by itself (amounts decide).
    fn shared_contract(&mut self, d: usize) -> usize {
        let mut p = self.org();
        p.name = format!("{}信息技术有限公司", &p.name[..p.name.find('市').map(|i| i + 3).unwrap_or(0)]);
        p.short = format!("{}信息", &p.short);
        self.vseq += 1;
        let hct = format!("HT{}-{:03}", self.date(d).year(), self.vseq % 1000);
        let text = format!("信息系统运维费 合同号 {hct}");
        for _ in 0..3 {
            let amt = self.fresh(20_000_00, 600_000_00);
            let v = self.voucher("FK", d);
            let e = self.exec_day(d);
            let t = self.tx(e, -amt, TxKind::Transfer, Some(p.clone()), None, text.clone());
            let (ca, cn) = self.book_party(&p, false);
            self.rec(&v, false, d, amt, ca, cn, format!("支付{}{text}", p.short), None);
            self.group(vec![t], vec![v], "shared_contract");
        }
        3
    }

    /// 退回多付款: a round amount paid back, booked as an ordinary receipt (not a return).
    fn refund_receipt(&mut self, d: usize) -> usize {
        let p = self.org();
        // 299 round amounts per account: a long delivery can use them all; then no more
        // refunds (bounded: the planner must never spin).
        let mut amt = None;
        for _ in 0..64 {
            let x = self.rng.range(1, 300) * 1_000_00;
            if self.claim(x) {
                amt = Some(x);
                break;
            }
        }
        let Some(amt) = amt else { return 0 };
        let text = self.rng.pick(&["退回多付款", "退回多付医保结算款", "退回多拨款项"]).to_string();
        let t = self.tx(d, amt, TxKind::Transfer, Some(p.clone()), None, text.clone());
        let late = self.rng.chance(50);
        let bd = self.book_day(d, late);
        let v = self.voucher("SK", bd);
        let (ca, cn) = self.book_party(&p, true);
        self.rec(&v, true, bd, amt, ca, cn, format!("{text} {}", p.short), None);
        self.group(vec![t], vec![v], "refund_receipt");
        1
    }

    /// The same round amount from the 财政局 on two days at least five business days apart.
    fn round_repeat(&mut self, d: usize) -> usize {
        let gap = self.rng.range(5, 7) as usize;
        let Some(d2) = self.after(d, gap) else { return self.counterparty_only(d) };
        let Some(&k) = [1_000_000_00i64, 2_000_000_00, 5_000_000_00, 3_000_000_00]
            .iter()
            .find(|k| !self.round_used.contains(k) && !self.used.contains(k))
        else {
            return self.counterparty_only(d);
        };
        self.round_used.push(k);
        self.used.insert(k);
        let p = self.treasury.clone();
        for day in [d, d2] {
            let t = self.tx(day, k, TxKind::Transfer, Some(p.clone()), None, "财政补助 社保基金".into());
            let bd = if self.rng.chance(30) { self.after(day, 1).unwrap_or(day) } else { day };
            let v = self.voucher("SK", bd);
            let (ca, cn) = self.book_party(&p, true);
            self.rec(&v, true, bd, k, ca, cn, "财政补贴收入".into(), None);
            self.group(vec![t], vec![v], "round_repeat");
        }
        2
    }

    /// 代发: one debit for the batch's payees; `fail`: one or two payees failed before the
    /// debit (the debit is the sum of the rest, the failed vouchers stay missing_in_bank).
    fn batch(&mut self, d: usize, fail: bool) -> usize {
        let fail = fail && self.old_enough(d);
        let n = self.rng.range(3, 10) as usize;
        let dt = self.date(d);
        self.vseq += 1;
        let a = (b'A' + (self.a.idx % 26) as u8) as char;
        let bref = format!("PC{a}{:02}{:02}{:02}{:02}", dt.year() % 100, dt.month(), dt.day(), self.vseq % 100);
        let purpose =
            self.rng.pick(&["代发养老金", "代发失业保险金", "代发工伤保险待遇", "代发城乡居民养老金"]).to_string();
        let purpose = format!("{purpose} {}年{:02}月", dt.year(), dt.month());
        let items: Vec<(Party, i64, String)> = loop {
            let mut v = Vec::with_capacity(n);
            let mut seen = HashSet::new();
            for _ in 0..n {
                let p = self.person();
                let mut x = self.rng.range(800_00, 9_000_00);
                while x % 100 == 0 || self.used.contains(&x) || !seen.insert(x) {
                    x = self.rng.range(800_00, 9_000_00);
                }
                v.push((p, x, String::new()));
            }
            let amounts: Vec<i64> = v.iter().map(|x| x.1).collect();
            if subset_sums_unique(&amounts) {
                break v;
            }
        };
        let failed: Vec<usize> = if fail {
            let k = if n > 4 && self.rng.chance(30) { 2 } else { 1 };
            let mut f = Vec::new();
            while f.len() < k {
                let i = self.rng.below(n as u64) as usize;
                if !f.contains(&i) {
                    f.push(i);
                }
            }
            f
        } else {
            Vec::new()
        };
        let mut items = items;
        for it in &mut items {
            self.used.insert(it.1);
            it.2 = self.voucher("DF", d);
        }
        let total: i64 = items.iter().enumerate().filter(|(i, _)| !failed.contains(i)).map(|(_, x)| x.1).sum();
        if !self.claim(total) {
            // Practically impossible; keep the sum unique by not planting this batch.
            return 0;
        }
        let with_e2e = self.rng.chance(70);
        let carries_ref = self.rng.chance(80);
        let bitems: Vec<BatchItem> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| !failed.contains(i))
            .map(|(_, (p, x, v))| BatchItem { amount: *x, e2e: with_e2e.then(|| v.clone()), party: p.clone() })
            .collect();
        let count = bitems.len();
        let remit = if carries_ref {
            format!("{purpose} 批次号{bref} 共{count}笔")
        } else {
            format!("{purpose} 共{count}笔")
        };
        let t = self.tx(
            d,
            -total,
            TxKind::Batch { items: bitems, pmtinf: carries_ref.then(|| bref.clone()) },
            None,
            carries_ref.then(|| bref.clone()),
            remit,
        );
        if !carries_ref {
            self.a.txs[t].e2e = None;
        }
        let mut vouchers = Vec::new();
        for (i, (p, x, v)) in items.iter().enumerate() {
            let name = Some(p.name.clone());
            let acct = if self.rng.chance(90) { Some(p.acct.clone()) } else { None };
            self.rec(v, false, d, *x, acct, name, purpose.clone(), Some(bref.clone()));
            if failed.contains(&i) {
                self.open(None, Some(v.clone()), "missing_in_bank");
            } else {
                vouchers.push(v.clone());
                self.paid.push(Paid {
                    day: d,
                    voucher: v.clone(),
                    amount: *x,
                    party: p.clone(),
                    reference: with_e2e.then(|| v.clone()),
                    used: false,
                });
            }
        }
        self.group(vec![t], vouchers, if fail { "batch_failed_payee" } else { "batch" });
        1
    }

    /// 退汇: a payment of 2 to 20 business days ago comes back, with the original reference
    /// or only the payee's name.
    fn ret(&mut self, d: usize) -> usize {
        let cands: Vec<usize> = (0..self.paid.len())
            .filter(|&i| {
                let p = &self.paid[i];
                !p.used && p.day + 2 <= d && p.day + 20 >= d
            })
            .collect();
        if cands.is_empty() {
            return self.ref_narrative(d);
        }
        let i = cands[self.rng.below(cands.len() as u64) as usize];
        self.paid[i].used = true;
        let (v, amt, party, reference) = (
            self.paid[i].voucher.clone(),
            self.paid[i].amount,
            self.paid[i].party.clone(),
            self.paid[i].reference.clone(),
        );
        let (reason, reason_zh) = *self.rng.pick(&CT_RETURNS);
        let orig = if self.rng.chance(65) { Some(reference.unwrap_or_else(|| v.clone())) } else { None };
        let word = self.rng.pick(&["退汇", "退回", "退票"]).to_string();
        let remit = match &orig {
            Some(o) => format!("{word} 原凭证号{o} {reason_zh}"),
            None => format!("{word} {} {reason_zh}", party.name),
        };
        let t = self.tx(d, amt, TxKind::Return { reason, reason_zh, orig: orig.clone() }, Some(party), None, remit);
        self.a.txs[t].e2e = orig;
        self.group(vec![t], vec![v.clone()], "return");
        self.open(Some(t), Some(v), "returned_payment");
        1
    }

    /// A contribution collected by direct debit (委托收款): the fund is the creditor.
    fn dd_collection(&mut self, d: usize) -> usize {
        let p = self.org();
        let amt = self.fresh(10_000_00, 900_000_00);
        let v = self.voucher("SK", d);
        self.vseq += 1;
        let mandate = format!("MD{}{:06}", self.a.idx, self.vseq);
        let t = self.tx(
            d,
            amt,
            TxKind::DdCollection { mandate: mandate.clone() },
            Some(p.clone()),
            Some(v.clone()),
            "委托收款 社保费".into(),
        );
        let (ca, cn) = self.book_party(&p, false);
        self.rec(&v, true, d, amt, ca, cn, "社保费 委托收款".into(), None);
        self.group(vec![t], vec![v.clone()], "direct_debit");
        self.collected.push(Paid {
            day: d,
            voucher: v.clone(),
            amount: amt,
            party: p,
            reference: Some(v),
            used: false,
        });
        let _ = mandate;
        1
    }

    /// The debtor's bank returned a collection: a debit on the fund's account with RtrInf.
    fn dd_return(&mut self, d: usize) -> usize {
        let cands: Vec<usize> = (0..self.collected.len())
            .filter(|&i| !self.collected[i].used && self.collected[i].day + 2 <= d && self.collected[i].day + 25 >= d)
            .collect();
        if cands.is_empty() {
            return self.dd_collection(d);
        }
        let i = cands[self.rng.below(cands.len() as u64) as usize];
        self.collected[i].used = true;
        let (v, amt, party) =
            (self.collected[i].voucher.clone(), self.collected[i].amount, self.collected[i].party.clone());
        let (reason, reason_zh) = *self.rng.pick(&DD_RETURNS);
        let orig = if self.rng.chance(70) { Some(v.clone()) } else { None };
        self.vseq += 1;
        let mandate = format!("MD{}{:06}", self.a.idx, self.vseq);
        let remit = match &orig {
            Some(o) => format!("委托收款退回 原业务{o} {reason_zh}"),
            None => format!("委托收款退回 {} {reason_zh}", party.name),
        };
        let t = self.tx(
            d,
            -amt,
            TxKind::DdReturn { reason, reason_zh, mandate, orig: orig.clone() },
            Some(party),
            None,
            remit,
        );
        self.a.txs[t].e2e = orig;
        self.group(vec![t], vec![v.clone()], "return_direct_debit");
        self.open(Some(t), Some(v), "returned_payment");
        1
    }

    /// 冲正: the bank booked something wrong and undoes it (RD/RC in `:61:`, RvslInd).
    fn reversal(&mut self, d: usize) -> usize {
        let p = self.org();
        let amt = self.fresh(1_000_00, 900_000_00);
        let credit = self.rng.chance(30);
        let sign = if credit { 1 } else { -1 };
        let t1 = self.tx(d, sign * amt, TxKind::Transfer, Some(p.clone()), None, "转账".into());
        let d2 = if self.rng.chance(60) { d } else { self.after(d, 1).unwrap_or(d) };
        let t2 = self.tx(d2, -sign * amt, TxKind::Reversal { of: t1 }, Some(p), None, "冲正 错账".into());
        self.group(vec![t1, t2], vec![], "reversal");
        2
    }

    /// One voucher executed in two or three debits the same day (a limit per transfer).
    fn split(&mut self, d: usize) -> usize {
        let p = self.org();
        let k = self.rng.range(2, 3) as usize;
        let mut parts: Vec<i64> = Vec::new();
        for _ in 0..k {
            parts.push(self.fresh(100_000_00, 1_000_000_00));
        }
        let total: i64 = parts.iter().sum();
        if !self.claim(total) {
            return 0;
        }
        let v = self.voucher("FK", d);
        let purpose = self.rng.pick(&DISB_PURPOSES).to_string();
        let with_ref = self.rng.chance(60);
        let mut ts = Vec::new();
        for (i, x) in parts.iter().enumerate() {
            let remit = if with_ref { format!("{purpose} {v} 分笔{}/{k}", i + 1) } else { purpose.clone() };
            ts.push(self.tx(d, -x, TxKind::Transfer, Some(p.clone()), None, remit));
        }
        let (ca, cn) = self.book_party(&p, !with_ref);
        self.rec(&v, false, d, total, ca, cn, purpose, None);
        self.group(ts, vec![v], "split");
        k
    }

    fn fee(&mut self, d: usize) -> usize {
        let (name, amounts) = *self.rng.pick(&FEES);
        let amt = *self.rng.pick(amounts);
        let t = self.tx(d, -amt, TxKind::Fee(name), None, None, name.to_string());
        self.open(Some(t), None, "bank_fee");
        1
    }

    fn interest(&mut self, d: usize) {
        // 结息日 the 20th of Mar/Jun/Sep/Dec, credited the 21st (or the next business day).
        let dt = self.date(d);
        let prev = if d == 0 { dt.pred_opt().expect("date") } else { self.date(d - 1) };
        let credit_day = |m: u32, y: i32| NaiveDate::from_ymd_opt(y, m, 21).expect("date");
        let hit = [3, 6, 9, 12].iter().any(|&m| {
            let c = credit_day(m, dt.year());
            c > prev && c <= dt
        });
        if !hit {
            return;
        }
        let amt = self.fresh(30_000_00, 600_000_00);
        let q = (dt.month() - 1) / 3 + 1;
        let period = format!("{}Q{q}", dt.year());
        let t = self.tx(d, amt, TxKind::Interest(period.clone()), None, None, format!("活期结息 {period}"));
        if (self.a.idx + self.cfg.seed as usize).is_multiple_of(2) {
            let late = self.rng.chance(50);
            let bd = self.book_day(d, late);
            let v = self.voucher("LX", bd);
            self.rec(&v, true, bd, amt, None, None, format!("利息收入 {}年第{q}季度 活期结息", dt.year()), None);
            self.group(vec![t], vec![v], "booked_interest");
        } else {
            self.open(Some(t), None, "interest_credit");
        }
    }

    /// A credit nobody booked (来账待查).
    fn missing_in_books(&mut self, d: usize) -> usize {
        let p = if self.rng.chance(40) { self.person() } else { self.org() };
        let amt = self.fresh(100_00, 300_000_00);
        let t = self.tx(d, amt, TxKind::Transfer, Some(p), None, "汇入款项".into());
        self.open(Some(t), None, "missing_in_books");
        1
    }

    /// A slip in the amount, no shared reference: same counterparty, near date. The
    /// counterparty appears nowhere else on the account (a person, or an organisation's
    /// branch of its own), so that nothing but the slip can explain the pair.
    fn amount_mismatch(&mut self, d: usize) -> usize {
        let mut p = self.org();
        // A branch name not used before (97 per body: bounded tries, else a person).
        let branch =
            (0..64).map(|_| format!("{}第{}分部", p.name, self.rng.range(2, 99))).find(|b| !self.names.contains(b));
        let p = match branch {
            Some(b) if !self.rng.chance(40) => {
                self.names.insert(b.clone());
                p.short = format!("{}分部", p.short);
                p.name = b;
                p.acct = self.account_no();
                p
            }
            _ => self.person(),
        };
        let receipt = self.rng.chance(30);
        let book = self.fresh(10_000_00, 2_000_000_00);
        let bank = loop {
            let x = slip(&mut self.rng, book);
            if x > 0 && x != book && self.claim(x) {
                break x;
            }
        };
        let text = if receipt {
            self.rng.pick(&RECEIPT_PURPOSES).to_string()
        } else {
            self.rng.pick(&DISB_PURPOSES).to_string()
        };
        let e = if receipt { d } else { self.exec_day(d) };
        let t = self.tx(e, if receipt { bank } else { -bank }, TxKind::Transfer, Some(p.clone()), None, text.clone());
        let v = self.voucher(if receipt { "SK" } else { "FK" }, d);
        let (ca, cn) = self.book_party(&p, true);
        self.rec(&v, receipt, d, book, ca, cn, text, None);
        self.open(Some(t), Some(v), "amount_mismatch");
        1
    }

    /// The bank posted one payment twice.
    fn duplicate(&mut self, d: usize) -> usize {
        let p = self.org();
        let amt = self.fresh(1_000_00, 800_000_00);
        let v = self.voucher("FK", d);
        let purpose = self.rng.pick(&DISB_PURPOSES).to_string();
        let remit = format!("{purpose} {v}");
        let t1 = self.tx(d, -amt, TxKind::Transfer, Some(p.clone()), Some(v.clone()), remit.clone());
        let d2 = if self.rng.chance(50) { d } else { self.after(d, 1).unwrap_or(d) };
        let t2 = self.tx(d2, -amt, TxKind::Transfer, Some(p.clone()), Some(v.clone()), remit);
        let (ca, cn) = self.book_party(&p, false);
        self.rec(&v, false, d, amt, ca, cn, purpose, None);
        self.group(vec![t1], vec![v], "duplicated_payment");
        self.open(Some(t2), None, "duplicate_entry");
        2
    }

    /// A voucher the bank never executed (dated at least 10 calendar days before the end).
    fn missing_in_bank(&mut self, d: usize) -> usize {
        if !self.old_enough(d) {
            return self.counterparty_only(d);
        }
        let p = self.org();
        let amt = self.fresh(1_000_00, 900_000_00);
        let v = self.voucher("FK", d);
        let (ca, cn) = self.book_party(&p, false);
        let purpose = self.rng.pick(&DISB_PURPOSES).to_string();
        self.rec(&v, false, d, amt, ca, cn, purpose, None);
        self.open(None, Some(v), "missing_in_bank");
        1
    }

    fn in_transit(&mut self, d: usize) {
        let p = self.org();
        let amt = self.fresh(1_000_00, 5_000_000_00);
        let v = self.voucher("FK", d);
        let (ca, cn) = self.book_party(&p, false);
        let purpose = self.rng.pick(&DISB_PURPOSES).to_string();
        self.rec(&v, false, d, amt, ca, cn, purpose, None);
        self.open(None, Some(v), "in_transit");
    }
}

/// A clerk's or a bank's slip: one digit wrong, two digits transposed, or a small difference.
fn slip(rng: &mut Rng, x: i64) -> i64 {
    let s = x.to_string().into_bytes();
    match rng.below(3) {
        0 => {
            let mut s = s;
            let i = rng.below(s.len() as u64 - 1) as usize + 1;
            let old = s[i];
            let mut new = b'0' + rng.below(10) as u8;
            while new == old {
                new = b'0' + rng.below(10) as u8;
            }
            s[i] = new;
            String::from_utf8(s).expect("digits").parse().unwrap_or(x + 100)
        }
        1 => {
            let mut s = s;
            let i = rng.below(s.len() as u64 - 1) as usize;
            if s[i] == s[i + 1] {
                return x + 900;
            }
            s.swap(i, i + 1);
            String::from_utf8(s).expect("digits").parse().unwrap_or(x + 100)
        }
        _ => {
            let delta = rng.range(1, 1_000);
            if rng.chance(50) { x + delta } else { x - delta }
        }
    }
}

/// Whether every subset of the batch (of at least one item) has its own sum, so that the
/// payees paid are decided by the debit's amount.
fn subset_sums_unique(xs: &[i64]) -> bool {
    let n = xs.len();
    if n > 12 {
        return false;
    }
    let mut seen = HashSet::new();
    for mask in 1u32..(1 << n) {
        let s: i64 = (0..n).filter(|i| mask & (1 << i) != 0).map(|i| xs[i]).sum();
        if !seen.insert(s) {
            return false;
        }
    }
    true
}
