//! A holdout delivery generator: bank statements, the fund's books and the truth, written by
//! a third hand from banks' published guides and real bookkeeping habits, to measure the
//! matcher on data that nobody who tuned it has shaped.
//!
//! `write` lays out `dir/statements/**` (bank files in the dialects of [`Kind`]),
//! `dir/books/disbursements.csv`, `dir/books/receipts.csv` (the plain book CSV) and
//! `dir/truth.jsonl` in the form `bankgen::score` reads:
//! `{"group": {"account", "bank_refs", "vouchers", "class"}}` for what belongs together and
//! `{"open": {"account", "bank_ref", "voucher", "type"}}` for what must stay open.
//!
//! Planting rules (see the planners below): every amount is unique within its account
//! unless a case plants the repeat on purpose (same round sum from one body on other days,
//! equal contract instalments, duplicates, reversal pairs, returns); so a careful person
//! can always decide, and the hard cases are the ones planted.
//!
//! Money is integer fen throughout. The PRNG is the generator's own (SplitMix64): the same
//! config writes the same bytes.

mod camt;
mod cn;
mod mt940;

use crate::calendar::Calendar;
use chrono::{Datelike, Days, NaiveDate};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Mt940,
    Camt053,
    Cn,
    Mixed,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub accounts: usize,
    /// Business days of statements.
    pub days: usize,
    /// Bank entries per account and business day (about).
    pub per_day: usize,
    pub kind: Kind,
}

/// Dialects that are written per their guide but that the parser refuses are kept out of
/// deliveries unless this is set (none at the moment: see `Dialect::parses`).
pub const INCLUDE_UNPARSED_DIALECTS: bool = false;

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub files: usize,
    pub entries: usize,
    pub vouchers: usize,
    pub groups: usize,
    pub opens: usize,
    /// Account number → dialect name.
    pub dialects: Vec<(String, String)>,
}

// ---------------------------------------------------------------------------------------
// PRNG

pub(crate) struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------
// Model

/// How one bank writes its statements. Each variant cites the guide or sample it follows
/// in its renderer (mt940.rs, camt.rs, cn.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// J.P. Morgan ACCESS MT940 (format guide, Feb 2013): customer reference in `:61:`
    /// subfield 7, supplementary details line, `:86:` with SWIFT codewords.
    MtJpm,
    /// Swiss bank MT940 (UBS / Credit Suisse style, SIX conventions): NONREF, unstructured
    /// English `:86:` lines, `1000,` amounts, storno as RD/RC.
    MtSwiss,
    /// A Chinese bank's MT940 (domain notes TC-13, BOC/ICBC 银企直联): Chinese `:86:` free
    /// text (摘要 收款人 账号 用途 附言).
    MtCnBank,
    /// camt.053.001.08 per Swiss Payment Standards (SIX IG camt.053, 2022).
    CamtSps,
    /// camt.053.001.02 per the DK guide (Anlage 3 DFÜ-Abkommen): Domn + Prtry codes,
    /// AddtlNtryInf booking text, batch as PmtInfId without details.
    CamtDk,
    /// camt.053.001.02 as Nordic banks (Nordea / SEB MIGs) send it: NtryRef, batch TxDtls
    /// with per-payee EndToEndIds and no batch id, RtrInf on returns.
    CamtNordea,
    /// Corporate web-banking export with 借方/贷方 columns (read by `generic-split`).
    CnSplit,
    /// Corporate export with 交易金额 + 借贷标志, tab separated, newest first (`generic-flag`).
    CnFlag,
    /// 农业银行 个人 export layout (`abc-personal`): personal-card style, signed amount.
    CnAbc,
}

impl Dialect {
    pub fn name(&self) -> &'static str {
        match self {
            Dialect::MtJpm => "mt940-jpm-access",
            Dialect::MtSwiss => "mt940-swiss",
            Dialect::MtCnBank => "mt940-cn-bank",
            Dialect::CamtSps => "camt053-sps",
            Dialect::CamtDk => "camt053-dk",
            Dialect::CamtNordea => "camt053-nordic",
            Dialect::CnSplit => "cn-corporate-split",
            Dialect::CnFlag => "cn-corporate-flag",
            Dialect::CnAbc => "cn-abc-personal-layout",
        }
    }
    /// Whether the project's parser reads this dialect's files (checked by tests/holdout.rs).
    pub fn parses(&self) -> bool {
        true
    }
    fn is_camt(&self) -> bool {
        matches!(self, Dialect::CamtSps | Dialect::CamtDk | Dialect::CamtNordea)
    }
    fn is_mt(&self) -> bool {
        matches!(self, Dialect::MtJpm | Dialect::MtSwiss | Dialect::MtCnBank)
    }
    /// A structured place for the reference we sent (`:61:` customer ref, EndToEndId,
    /// 企业流水号).
    fn has_ref_slot(&self) -> bool {
        matches!(self, Dialect::MtJpm | Dialect::CamtSps | Dialect::CamtDk | Dialect::CamtNordea | Dialect::CnSplit)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Party {
    pub name: String,
    /// 简称 as clerks write it.
    pub short: String,
    pub acct: String,
    pub bank: String,
    pub person: bool,
}

impl Party {
    /// `6217****1234`
    pub fn masked_acct(&self) -> String {
        let n = self.acct.chars().count();
        if n < 8 {
            return self.acct.clone();
        }
        let head: String = self.acct.chars().take(4).collect();
        let tail: String = self.acct.chars().skip(n - 4).collect();
        format!("{head}****{tail}")
    }
    /// `张*` / `欧阳**`
    pub fn masked_name(&self) -> String {
        let mut cs = self.name.chars();
        let first = cs.next().unwrap_or('*');
        let rest = cs.count();
        format!("{first}{}", "*".repeat(rest.max(1)))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub id: String,
    pub amt: i64,
    pub party: Party,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchShow {
    /// The batch reference in the text (or the customer-reference slot).
    RefInText,
    /// camt `Btch/PmtInfId` (with or without items).
    PmtInfId,
    /// camt TxDtls per payee with EndToEndIds, no batch id.
    ItemsNoId,
    /// No reference at all: only "代发… 共N笔".
    Bare,
}

#[derive(Clone, Debug)]
pub(crate) enum Act {
    Out,
    In,
    /// 代发: `items` are what the bank executed; `planned` how many the file held.
    Batch {
        items: Vec<Item>,
        show: BatchShow,
        batch_ref: String,
        planned: usize,
        with_items: bool,
    },
    Fee(usize),
    Interest {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// Our payment came back (credit).
    Return,
    /// 委托收款 credit (we collected).
    Collect,
    /// The collection sent back (debit).
    DdReturn,
    /// 冲正 of an earlier posting of the bank's own.
    Reversal,
}

#[derive(Clone, Debug)]
pub(crate) struct Ent {
    pub date: NaiveDate,
    /// Signed fen: credits positive.
    pub amt: i64,
    pub bref: String,
    pub act: Act,
    pub party: Option<Party>,
    /// Show the party masked (card `6217****1234`, name `张*`).
    pub mask: bool,
    /// The reference we sent (voucher, batch ref), if the bank carries it.
    pub our_ref: Option<String>,
    /// `our_ref` in the structured slot (else in the text).
    pub slot: bool,
    /// The payer's own reference (缴费单号, 托收号…).
    pub payer_ref: Option<String>,
    /// 用途 as the bank received it.
    pub purpose: String,
    /// For returns and reversals: the reference they quote (voucher, end-to-end id or the
    /// original bank reference).
    pub orig: Option<String>,
    pub reason: Option<usize>,
    /// Seconds after midnight: orders a day's entries.
    pub time: u32,
    /// Wording variant (each dialect has its own list).
    pub variant: u8,
}

/// ISO return reasons with Chinese and English wording.
pub(crate) const REASONS: [(&str, &str, &str); 6] = [
    ("AC04", "账户已销户", "ACCOUNT CLOSED"),
    ("AC01", "账号不存在", "INCORRECT ACCOUNT NUMBER"),
    // BE01 (inconsistent with end customer) is how ISO codes 户名不符.
    ("BE01", "户名不符", "NAME DOES NOT MATCH ACCOUNT"),
    ("MD07", "收款人已身故", "BENEFICIARY DECEASED"),
    ("AG01", "账户状态异常", "TRANSACTION FORBIDDEN"),
    ("AC06", "账户已冻结", "ACCOUNT BLOCKED"),
];
/// Returned direct debits (委托收款 sent back).
pub(crate) const DD_REASONS: [(&str, &str, &str); 3] = [
    ("MS02", "付款人拒付", "REFUSAL BY DEBTOR"),
    ("AM04", "余额不足", "INSUFFICIENT FUNDS"),
    ("MD01", "无有效授权", "NO VALID MANDATE"),
];
/// Bank charges as Chinese fee schedules name them, with English equivalents.
pub(crate) const FEES: [(&str, &str); 12] = [
    ("跨行汇划手续费", "INTERBANK TRANSFER FEE"),
    ("账户管理费", "ACCOUNT MANAGEMENT FEE"),
    ("网银服务费", "E-BANKING SERVICE FEE"),
    ("短信通知费", "SMS NOTIFICATION FEE"),
    ("回单柜费", "RECEIPT BOX FEE"),
    ("对账服务费", "STATEMENT SERVICE FEE"),
    ("支付密码器工本费", "PAYMENT PASSWORD DEVICE"),
    ("对公账户维护费", "ACCOUNT UPKEEP CHARGE"),
    ("跨行转账费用", "TRANSFER CHARGES"),
    ("单位结算卡年费", "CARD ANNUAL FEE"),
    ("电子汇划费", "ELECTRONIC REMITTANCE FEE"),
    ("数字证书年费", "DIGITAL CERTIFICATE FEE"),
];

#[derive(Clone, Debug)]
pub(crate) struct Vch {
    pub no: String,
    pub acct: String,
    pub date: NaiveDate,
    pub amt: i64,
    pub receipt: bool,
    pub cp_acct: String,
    pub cp_name: String,
    pub purpose: String,
    pub batch_ref: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub no: String,
    pub name: String,
    pub dialect: Dialect,
    pub bank: &'static str,
    pub bic: &'static str,
    pub opening: i64,
    pub entries: Vec<Ent>,
}

/// Money as `12345.67` (fen → yuan).
pub(crate) fn yuan(fen: i64) -> String {
    let s = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{s}{}.{:02}", a / 100, a % 100)
}

/// `1,234,567.89`
pub(crate) fn yuan_grouped(fen: i64) -> String {
    let s = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    let int = (a / 100).to_string();
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{s}{out}.{:02}", a % 100)
}

// ---------------------------------------------------------------------------------------
// Counterparties

const SURNAMES: [&str; 24] = [
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高", "郑", "梁", "谢", "欧阳",
];
const GIVEN: [&str; 30] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建华", "国强", "淑珍", "玉兰", "志明", "海燕", "德胜",
];
const CITIES: [&str; 6] = ["临江", "青州", "安平", "宁远", "云溪", "南屏"];

pub(crate) struct Parties {
    pub fiscal: Party,
    pub upper: Party,
    pub tax: Party,
    pub hospitals: Vec<Party>,
    pub employers: Vec<Party>,
    pub suppliers: Vec<Party>,
    pub agencies: Vec<Party>,
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|i| char::from(b'0' + if i == 0 { 1 + rng.below(9) } else { rng.below(10) } as u8)).collect()
}

fn person(rng: &mut Rng, used: &mut HashSet<String>) -> Party {
    loop {
        let name = format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN));
        let bin = *rng.pick(&["6217", "6222", "6228", "6214", "6230"]);
        let acct = format!("{bin}{}", digits(rng, 15));
        if used.insert(acct.clone()) {
            let bank =
                (*rng.pick(&["中国建设银行", "中国农业银行", "中国银行", "中国工商银行", "邮储银行"])).to_string();
            return Party { short: name.clone(), name, acct, bank, person: true };
        }
    }
}

fn org(rng: &mut Rng, name: String, short: String, used: &mut HashSet<String>) -> Party {
    loop {
        let len = *rng.pick(&[17usize, 19, 20, 21]);
        let acct = digits(rng, len);
        if used.insert(acct.clone()) {
            let bank = (*rng.pick(&["工商银行城东支行", "建设银行新区支行", "农业银行营业部", "中国银行分行营业部"]))
                .to_string();
            return Party { name, short, acct, bank, person: false };
        }
    }
}

impl Parties {
    fn new(rng: &mut Rng, city: &str, used: &mut HashSet<String>) -> Parties {
        let fiscal = org(rng, format!("{city}市社会保险基金财政专户"), "财政专户".into(), used);
        let upper = org(rng, "省社会保险基金财政专户".into(), "省财政专户".into(), used);
        let tax = org(rng, format!("国家税务总局{city}市税务局"), format!("{city}税务"), used);
        let hospitals = [
            ("市第一人民医院", "市一院"),
            ("市中医医院", "市中医院"),
            ("市妇幼保健院", "妇幼保健院"),
            ("城南社区卫生服务中心", "城南社区"),
            ("市第二人民医院", "市二院"),
            ("仁和大药房连锁有限公司", "仁和药房"),
        ]
        .iter()
        .map(|(n, s)| org(rng, format!("{city}{n}"), s.to_string(), used))
        .collect();
        let employers = [
            ("机械制造有限公司", "机械厂"),
            ("市政工程有限公司", "市政公司"),
            ("电子科技股份有限公司", "电子科技"),
            ("纺织集团有限公司", "纺织集团"),
            ("物流有限责任公司", "物流公司"),
            ("食品有限公司", "食品公司"),
            ("建筑安装工程有限公司", "建安公司"),
        ]
        .iter()
        .map(|(n, s)| org(rng, format!("{city}{n}"), format!("{city}{s}"), used))
        .collect();
        let suppliers = [
            ("信息技术有限公司", "信息技术"),
            ("软件股份有限公司", "软件公司"),
            ("印务有限公司", "印务公司"),
            ("物业服务有限公司", "物业公司"),
        ]
        .iter()
        .map(|(n, s)| org(rng, format!("{city}{n}"), format!("{city}{s}"), used))
        .collect();
        let agencies = [
            ("市社会保险事业管理中心支出户", "社保中心支出户"),
            ("市医疗保障事务中心", "医保中心"),
            ("县社会保险基金财政专户", "县财政专户"),
            ("市社会保险事业管理中心收入户", "社保中心收入户"),
        ]
        .iter()
        .map(|(n, s)| org(rng, format!("{city}{n}"), s.to_string(), used))
        .collect();
        Parties { fiscal, upper, tax, hospitals, employers, suppliers, agencies }
    }
}

// ---------------------------------------------------------------------------------------
// Planning

struct Plan<'a> {
    rng: &'a mut Rng,
    days: &'a [NaiveDate],
    /// Index of the account (for voucher numbers).
    ai: usize,
    acct: String,
    dialect: Dialect,
    used_amounts: HashSet<i64>,
    ents: Vec<Ent>,
    vchs: Vec<Vch>,
    truth: Vec<Value>,
    bseq: u64,
    vseq: u32,
    bseq_base: u64,
    people: HashSet<String>,
    p: &'a Parties,
    /// Entries already placed per day.
    load: Vec<usize>,
    books_interest: bool,
}

impl Plan<'_> {
    fn date(&self, di: usize) -> NaiveDate {
        self.days[di]
    }
    fn last(&self) -> usize {
        self.days.len() - 1
    }
    /// A fresh amount in fen in [lo, hi] yuan, unique within the account.
    fn fresh(&mut self, lo: i64, hi: i64) -> i64 {
        loop {
            let a = self.rng.range(lo * 100, hi * 100);
            if a > 0 && self.used_amounts.insert(a) {
                return a;
            }
        }
    }
    fn round(&mut self, lo: i64, hi: i64, step: i64) -> i64 {
        let mut step = step;
        for tries in 1u32.. {
            let a = self.rng.range(lo / step, hi / step) * step * 100;
            if a > 0 && self.used_amounts.insert(a) {
                return a;
            }
            if tries.is_multiple_of(50) {
                step = (step / 10).max(1);
            }
        }
        unreachable!("the loop returns")
    }
    fn bref(&mut self, d: NaiveDate) -> String {
        self.bseq += 1;
        let n = self.bseq;
        let ymd = d.format("%Y%m%d").to_string();
        let yymmdd = d.format("%y%m%d").to_string();
        match self.dialect {
            Dialect::MtJpm => format!("JP{yymmdd}{:05}", n),
            Dialect::MtSwiss => format!("ZV{ymd}{:04}", n),
            Dialect::MtCnBank => format!("BK{yymmdd}{:05}", n),
            Dialect::CamtSps => format!("{ymd}{:03}{:05}", self.ai + 100, n),
            Dialect::CamtDk => format!("DK{yymmdd}{:06}", (self.bseq_base + n * 7) % 1_000_000),
            Dialect::CamtNordea => format!("NDEA{ymd}{:06}", n),
            Dialect::CnSplit => format!("33010{ymd}{:07}", n),
            Dialect::CnFlag => format!("{yymmdd}{:08}", self.bseq_base + n),
            Dialect::CnAbc => format!("{:09}", self.bseq_base * 10 + n * 13),
        }
    }
    fn vno(&mut self, receipt: bool, d: NaiveDate) -> String {
        self.vseq += 1;
        let letter = char::from(b'A' + (self.ai % 26) as u8);
        let p = if receipt { "SK" } else { "FK" };
        format!("{p}{letter}{}-{:04}", d.format("%y%m%d"), self.vseq)
    }
    fn time(&mut self) -> u32 {
        self.rng.range(8 * 3600, 17 * 3600) as u32
    }
    fn ent(&mut self, di: usize, amt: i64, act: Act, party: Option<Party>, purpose: &str) -> Ent {
        let date = self.date(di);
        let bref = self.bref(date);
        let time = self.time();
        let variant = self.rng.below(4) as u8;
        Ent {
            date,
            amt,
            bref,
            act,
            party,
            mask: false,
            our_ref: None,
            slot: false,
            payer_ref: None,
            purpose: purpose.to_string(),
            orig: None,
            reason: None,
            time,
            variant,
        }
    }
    fn push(&mut self, e: Ent) -> String {
        let di = self.days.iter().position(|d| *d == e.date).unwrap_or(0);
        self.load[di] += 1;
        let r = e.bref.clone();
        self.ents.push(e);
        r
    }
    #[allow(clippy::too_many_arguments)]
    fn voucher(
        &mut self,
        no: &str,
        di: usize,
        amt: i64,
        receipt: bool,
        cp: Option<&Party>,
        short: bool,
        purpose: &str,
    ) {
        let (cp_acct, cp_name) = match cp {
            Some(p) if short => (String::new(), p.short.clone()),
            Some(p) => (p.acct.clone(), p.name.clone()),
            None => (String::new(), String::new()),
        };
        self.vchs.push(Vch {
            no: no.to_string(),
            acct: self.acct.clone(),
            date: self.date(di),
            amt,
            receipt,
            cp_acct,
            cp_name,
            purpose: purpose.to_string(),
            batch_ref: String::new(),
        });
    }
    fn group(&mut self, class: &str, refs: Vec<String>, vs: Vec<String>) {
        self.truth.push(json!({"group": {"account": self.acct, "bank_refs": refs, "vouchers": vs, "class": class}}));
    }
    fn open(&mut self, ty: &str, bref: Option<&str>, v: Option<&str>) {
        self.truth.push(json!({"open": {"account": self.acct, "bank_ref": bref, "voucher": v, "type": ty}}));
    }
    /// Puts our reference in the slot or the text, as the dialect allows.
    fn with_ref(&mut self, e: &mut Ent, r: &str) {
        e.our_ref = Some(r.to_string());
        e.slot = self.dialect.has_ref_slot() && self.rng.chance(60);
    }
    fn later(&mut self, di: usize, lo: usize, hi: usize) -> Option<usize> {
        let k = self.rng.range(lo as i64, hi as i64) as usize;
        (di + k <= self.last()).then_some(di + k)
    }
    fn any_org(&mut self) -> Party {
        let pool: Vec<&Party> = self.p.hospitals.iter().chain(&self.p.suppliers).chain(&self.p.agencies).collect();
        (*self.rng.pick(&pool)).clone()
    }
    fn new_person(&mut self) -> Party {
        person(self.rng, &mut self.people)
    }

    // ---- the cases ------------------------------------------------------------------

    /// Our voucher in the bank's reference fields or text.
    fn reference(&mut self, di: usize) {
        let party = self.any_org();
        let amt = self.fresh(3_000, 2_500_000);
        let bdi = if self.rng.chance(25) { self.later(di, 1, 2).unwrap_or(di) } else { di };
        let v = self.vno(false, self.date(di));
        let purpose = self
            .rng
            .pick(&[
                "拨付医保结算款",
                "拨付用款计划",
                "支付定点医院结算款",
                "拨付失业保险金",
                "支付工伤医疗费",
                "拨付养老金支出户",
            ])
            .to_string();
        self.voucher(&v.clone(), di, amt, false, Some(&party), false, &purpose);
        let mut e = self.ent(bdi, -amt, Act::Out, Some(party), &purpose);
        self.with_ref(&mut e, &v);
        // Some banks' systems drop the punctuation of a reference they pass on.
        let class = if !e.slot && self.rng.chance(15) {
            e.our_ref = Some(v.replace('-', ""));
            "reference_reformatted"
        } else {
            "reference"
        };
        let b = self.push(e);
        self.group(class, vec![b], vec![v]);
    }

    /// The same amount to (or from) different parties on one day: only the counterparty
    /// tells them apart.
    fn twins(&mut self, di: usize) {
        let receipt = self.rng.chance(40);
        let amt = self.round(5_000, 300_000, 1_000);
        let n = self.rng.range(2, 3) as usize;
        let pool: Vec<Party> = if receipt { self.p.employers.clone() } else { self.p.hospitals.clone() };
        let start = self.rng.below(pool.len() as u64) as usize;
        for k in 0..n {
            let party = pool[(start + k) % pool.len()].clone();
            let v = self.vno(receipt, self.date(di));
            let bp = if receipt {
                format!("收{}社保费", party.short)
            } else {
                format!("付{}医保预付款", party.short)
            };
            self.voucher(&v.clone(), di, amt, receipt, Some(&party), false, &bp);
            let e = self.ent(
                di,
                if receipt { amt } else { -amt },
                if receipt { Act::In } else { Act::Out },
                Some(party),
                if receipt { "社会保险费" } else { "医保基金预付款" },
            );
            let b = self.push(e);
            self.group("same_amount_twins", vec![b], vec![v]);
        }
    }

    /// One party, the same amount twice on one day, each payment carrying its voucher.
    fn twins_by_reference(&mut self, di: usize) {
        let party = self.any_org();
        let amt = self.fresh(10_000, 500_000);
        for _ in 0..2 {
            let v = self.vno(false, self.date(di));
            self.voucher(&v.clone(), di, amt, false, Some(&party), false, "拨付结算款");
            let mut e = self.ent(di, -amt, Act::Out, Some(party.clone()), "结算款");
            self.with_ref(&mut e, &v);
            let b = self.push(e);
            self.group("same_amount_by_reference", vec![b], vec![v]);
        }
    }

    /// The payer's reference: in the books' purpose, and in the bank's entry.
    fn payer_reference(&mut self, di: usize) {
        let from_tax = self.rng.chance(40);
        let party = if from_tax { self.p.tax.clone() } else { self.rng.pick(&self.p.employers).clone() };
        let amt = self.fresh(800, 900_000);
        let pref = format!("JF{}{}", self.date(di).format("%Y%m%d"), digits(self.rng, 8));
        let v = self.vno(true, self.date(di));
        let bdi_book = di;
        let purpose_bank = if from_tax { "社保费入库划转" } else { "单位社保费缴纳" };
        let book_purpose = format!("收{} 社保费 缴费单号{pref}", party.short);
        self.voucher(&v.clone(), bdi_book, amt, true, Some(&party), false, &book_purpose);
        let mut e = self.ent(di, amt, Act::In, Some(party), purpose_bank);
        e.payer_ref = Some(pref);
        let b = self.push(e);
        self.group("payer_reference", vec![b], vec![v]);
    }

    /// No reference: counterparty account, amount, date.
    fn counterparty(&mut self, di: usize) {
        let receipt = self.rng.chance(45);
        let party = if receipt { self.rng.pick(&self.p.employers).clone() } else { self.any_org() };
        let amt = self.fresh(1_000, 1_800_000);
        let v = self.vno(receipt, self.date(di));
        let (purpose, bp) = if receipt {
            ("缴纳社会保险费", format!("收{}社保费", party.short))
        } else {
            ("结算款", format!("付{}结算款", party.short))
        };
        let bdi = if !receipt && self.rng.chance(30) { self.later(di, 1, 1).unwrap_or(di) } else { di };
        self.voucher(&v.clone(), di, amt, receipt, Some(&party), false, &bp);
        let e = self.ent(
            bdi,
            if receipt { amt } else { -amt },
            if receipt { Act::In } else { Act::Out },
            Some(party),
            purpose,
        );
        let b = self.push(e);
        self.group("counterparty", vec![b], vec![v]);
    }

    /// Names only: books with a blank account and a 简称 (the bank has the full party), or
    /// the bank masks the card and the name (the books have them in full).
    fn name_only(&mut self, di: usize) {
        let v;
        let b;
        if self.rng.chance(50) {
            let party = self.rng.pick(&self.p.hospitals).clone();
            let amt = self.fresh(2_000, 600_000);
            v = self.vno(false, self.date(di));
            self.voucher(&v.clone(), di, amt, false, Some(&party), true, &format!("付{}医保结算款", party.short));
            let e = self.ent(di, -amt, Act::Out, Some(party), "医保结算");
            b = self.push(e);
        } else {
            let party = self.new_person();
            let amt = self.fresh(300, 60_000);
            v = self.vno(false, self.date(di));
            let purpose =
                self.rng.pick(&["丧葬补助金", "失业保险金", "工伤待遇", "医疗费报销", "生育津贴"]).to_string();
            self.voucher(&v.clone(), di, amt, false, Some(&party), false, &purpose);
            let mut e = self.ent(di, -amt, Act::Out, Some(party), &purpose);
            e.mask = true;
            b = self.push(e);
        }
        self.group("name_only", vec![b], vec![v]);
    }

    /// A receipt booked 1–3 business days after the credit.
    fn late_receipt(&mut self, di: usize) {
        let Some(bdi) = self.later(di, 1, 3) else { return self.counterparty(di) };
        let party = if self.rng.chance(50) { self.p.fiscal.clone() } else { self.rng.pick(&self.p.agencies).clone() };
        let amt = self.fresh(10_000, 3_000_000);
        let v = self.vno(true, self.date(bdi));
        self.voucher(&v.clone(), bdi, amt, true, Some(&party), false, &format!("收{}划入资金", party.short));
        let e = self.ent(di, amt, Act::In, Some(party), "资金划拨");
        let b = self.push(e);
        self.group("late_receipt", vec![b], vec![v]);
    }

    /// The same round amount from one body on different days.
    fn round_repeat(&mut self, di: usize) {
        let party = if self.rng.chance(50) { self.p.fiscal.clone() } else { self.p.upper.clone() };
        let amt = self.round(500_000, 8_000_000, 500_000);
        let mut at = vec![di];
        let mut cur = di;
        for _ in 0..self.rng.range(1, 2) {
            match self.later(cur, 1, 3) {
                Some(n) => {
                    at.push(n);
                    cur = n;
                }
                None => break,
            }
        }
        for d in at {
            let v = self.vno(true, self.date(d));
            self.voucher(&v.clone(), d, amt, true, Some(&party), false, &format!("收{}预拨资金", party.short));
            let e = self.ent(d, amt, Act::In, Some(party.clone()), "预拨社保基金");
            let b = self.push(e);
            self.group("round_repeat", vec![b], vec![v]);
        }
    }

    /// A contract number shared by several instalments.
    fn contract(&mut self, di: usize) {
        let party = self.rng.pick(&self.p.suppliers).clone();
        let hn = format!("HT2025-{}{:03}", char::from(b'A' + (self.ai % 26) as u8), self.rng.range(1, 999));
        let equal = self.rng.chance(40);
        let first = self.fresh(20_000, 400_000);
        let mut at = vec![di];
        let mut cur = di;
        for _ in 0..self.rng.range(1, 2) {
            match self.later(cur, 2, 5) {
                Some(n) => {
                    at.push(n);
                    cur = n;
                }
                None => break,
            }
        }
        let what =
            self.rng.pick(&["信息系统运维服务费", "社保卡制卡费", "档案数字化服务费", "办公场所物业费"]).to_string();
        for (k, d) in at.into_iter().enumerate() {
            let amt = if k == 0 || equal { first } else { self.fresh(20_000, 400_000) };
            let v = self.vno(false, self.date(d));
            self.voucher(&v.clone(), d, amt, false, Some(&party), false, &format!("{hn} 第{}期 {what}", k + 1));
            let e = self.ent(d, -amt, Act::Out, Some(party.clone()), &format!("合同号{hn} {what}"));
            let b = self.push(e);
            self.group("contract_instalment", vec![b], vec![v]);
        }
    }

    /// 退回多付款: an overpayment refunded, booked as an ordinary receipt.
    fn refund(&mut self, di: usize) {
        let party = self.rng.pick(&self.p.hospitals).clone();
        let amt = self.fresh(500, 90_000);
        let v = self.vno(true, self.date(di));
        let month = self.date(di).month().saturating_sub(1).max(1);
        self.voucher(
            &v.clone(),
            di,
            amt,
            true,
            Some(&party),
            false,
            &format!("收回{}多付{month}月结算款", party.short),
        );
        let bank_purpose = if self.rng.chance(50) {
            format!("退回多付款 {month}月医保结算")
        } else {
            "多付款退回".to_string()
        };
        let e = self.ent(di, amt, Act::In, Some(party), &bank_purpose);
        let b = self.push(e);
        self.group("refund_overpayment", vec![b], vec![v]);
    }

    /// A hospital sends back as 退回多付款 exactly what we paid it days before (it had been
    /// paid twice by two vouchers); the books hold the receipt. Not a return.
    fn refund_of_whole_payment(&mut self, di: usize) {
        let Some(rdi) = self.later(di, 2, 6) else { return self.refund(di) };
        let party = self.rng.pick(&self.p.hospitals).clone();
        let amt = self.fresh(5_000, 300_000);
        let v = self.vno(false, self.date(di));
        self.voucher(&v.clone(), di, amt, false, Some(&party), false, &format!("付{}医保结算款", party.short));
        let mut e = self.ent(di, -amt, Act::Out, Some(party.clone()), "医保结算款");
        if self.rng.chance(50) {
            self.with_ref(&mut e, &v);
        }
        let class = if e.our_ref.is_some() { "reference" } else { "counterparty" };
        let b = self.push(e);
        self.group(class, vec![b], vec![v]);
        let r = self.vno(true, self.date(rdi));
        self.voucher(
            &r.clone(),
            rdi,
            amt,
            true,
            Some(&party),
            false,
            &format!("收回{}重复结算款(退回多付款)", party.short),
        );
        let e = self.ent(rdi, amt, Act::In, Some(party), "退回多付款 重复支付结算款");
        let rb = self.push(e);
        self.group("refund_equal_to_payment", vec![rb], vec![r]);
    }

    /// A bank fee and a small payment to a person of the same amount on one day.
    fn fee_beside_small_payment(&mut self, di: usize) {
        let party = self.new_person();
        let amt = self.fresh(5, 200);
        let v = self.vno(false, self.date(di));
        // Mostly a neutral purpose; sometimes a reimbursement whose text names a fee (报销
        // 社保卡工本费): the payee and the account still say it is a payment.
        let (purpose, class) = if self.rng.chance(25) {
            ("报销社保卡工本费", "small_payment_fee_word")
        } else {
            (*self.rng.pick(&["报销交通费", "慰问金", "独生子女父母奖励金"]), "small_payment_beside_fee")
        };
        self.voucher(&v.clone(), di, amt, false, Some(&party), false, purpose);
        let e = self.ent(di, -amt, Act::Out, Some(party), purpose);
        let b = self.push(e);
        self.group(class, vec![b], vec![v]);
        let f = self.rng.below(FEES.len() as u64) as usize;
        let e = self.ent(di, -amt, Act::Fee(f), None, FEES[f].0);
        let fb = self.push(e);
        self.open("bank_fee", Some(&fb), None);
    }

    /// 代发: one debit for a batch, possibly with failed payees.
    fn batch(&mut self, di: usize) {
        self.batch_with(di, None);
    }

    /// Two batches of the same count and standard sum on different days (two groups of
    /// payees): only the date (or the batch reference, where the bank carries it) tells.
    fn batch_repeat(&mut self, di: usize) {
        let Some(d2) = self.later(di, 2, 5) else { return self.batch(di) };
        let n = self.rng.range(4, 8) as usize;
        let std = self.round(600, 3_000, 10);
        let what = self.rng.pick(&["代发城乡居民养老金", "代发失业保险金"]).to_string();
        if !self.used_amounts.insert(std * n as i64) {
            return self.batch(di);
        }
        self.used_amounts.remove(&(std * n as i64));
        self.batch_with(di, Some((n, std, what.clone())));
        self.batch_with(d2, Some((n, std, what)));
    }

    fn batch_with(&mut self, di: usize, forced: Option<(usize, i64, String)>) {
        let n = forced.as_ref().map(|f| f.0).unwrap_or_else(|| self.rng.range(4, 9) as usize);
        let bref =
            format!("DF{}-{}{:03}", self.date(di).format("%y%m"), char::from(b'A' + (self.ai % 26) as u8), self.vseq);
        let what = match &forced {
            Some(f) => f.2.clone(),
            None => self.rng.pick(&["代发养老金", "代发失业保险金", "代发工伤待遇", "代发城乡居民养老金"]).to_string(),
        };
        let mut items: Vec<Item> = Vec::new();
        // 城乡居民养老金 and similar benefits are often one standard sum for everybody.
        let standard = match &forced {
            Some(f) => Some(f.1),
            None if self.rng.chance(35) => Some(self.round(600, 3_000, 10)),
            None => None,
        };
        for _ in 0..n {
            let mut party = self.new_person();
            while items.iter().any(|x| x.party.name == party.name) {
                party = self.new_person();
            }
            let amt = match standard {
                Some(a) => a,
                None => self.fresh(800, 6_000),
            };
            self.vseq += 1;
            let id = format!("{bref}-{:03}", self.vseq);
            items.push(Item { id, amt, party });
        }
        // Failure: the bank debits only the successful payees (early in the period, so the
        // failed vouchers are overdue), or debits all and returns the failed one later.
        let end = *self.days.last().unwrap_or(&self.date(di));
        let early = (end - self.date(di)).num_days() >= 10;
        let mode = if forced.is_some() { 9 } else { self.rng.below(10) };
        // Which payee failed must be decidable from the sum: never with equal amounts.
        let partial = mode < 2 && early && standard.is_none();
        let returned = !partial && mode < 4 && self.later(di, 2, 6).is_some();
        let failed = self.rng.below(n as u64) as usize;
        let executed: Vec<Item> = if partial {
            items.iter().enumerate().filter(|(i, _)| *i != failed).map(|(_, x)| x.clone()).collect()
        } else {
            items.clone()
        };
        let total: i64 = executed.iter().map(|x| x.amt).sum();
        if !self.used_amounts.insert(total) && forced.is_none() {
            // A collision with another amount: plant something else.
            return self.reference(di);
        }
        for it in &items {
            self.vchs.push(Vch {
                no: it.id.clone(),
                acct: self.acct.clone(),
                date: self.date(di),
                amt: it.amt,
                receipt: false,
                cp_acct: it.party.acct.clone(),
                cp_name: it.party.name.clone(),
                purpose: what.clone(),
                batch_ref: bref.clone(),
            });
        }
        let show = match self.dialect {
            d if d.is_camt() => *self.rng.pick(&[BatchShow::PmtInfId, BatchShow::ItemsNoId, BatchShow::RefInText]),
            _ => *self.rng.pick(&[BatchShow::RefInText, BatchShow::RefInText, BatchShow::Bare]),
        };
        let with_items = show == BatchShow::ItemsNoId || (show == BatchShow::PmtInfId && self.rng.chance(50));
        let mut e = self.ent(
            di,
            -total,
            Act::Batch { items: executed.clone(), show, batch_ref: bref.clone(), planned: n, with_items },
            None,
            &what,
        );
        if show == BatchShow::RefInText {
            self.with_ref(&mut e, &bref);
        }
        let b = self.push(e);
        let vs: Vec<String> = executed.iter().map(|x| x.id.clone()).collect();
        self.group(if partial { "batch_partial" } else { "batch" }, vec![b.clone()], vs);
        if partial {
            let f = items[failed].id.clone();
            self.open("missing_in_bank", None, Some(&f));
        } else if returned {
            let rdi = self.later(di, 2, 6).unwrap_or(self.last());
            let it = items[failed].clone();
            let mut r = self.ent(rdi, it.amt, Act::Return, Some(it.party.clone()), &format!("{what}退回"));
            r.reason = Some(self.rng.below(REASONS.len() as u64) as usize);
            r.orig = Some(if show == BatchShow::ItemsNoId || self.rng.chance(50) { it.id.clone() } else { b.clone() });
            let rb = self.push(r);
            self.group("return", vec![rb.clone()], vec![it.id.clone()]);
            self.open("returned_payment", Some(&rb), Some(&it.id));
        }
    }

    /// A payment that comes back days or weeks later, quoting what it returns.
    fn returned(&mut self, di: usize) {
        let Some(rdi) = self.later(di, 2, 12) else { return self.reference(di) };
        let party = if self.rng.chance(60) { self.new_person() } else { self.any_org() };
        let amt = if party.person { self.fresh(500, 50_000) } else { self.fresh(5_000, 500_000) };
        let v = self.vno(false, self.date(di));
        let purpose = if party.person { "一次性丧葬补助金" } else { "医保结算款" };
        self.voucher(&v.clone(), di, amt, false, Some(&party), false, purpose);
        let mut e = self.ent(di, -amt, Act::Out, Some(party.clone()), purpose);
        let carried = self.rng.chance(60);
        if carried {
            self.with_ref(&mut e, &v);
        }
        let b = self.push(e);
        self.group(if carried { "reference" } else { "counterparty" }, vec![b.clone()], vec![v.clone()]);
        let mut r = self.ent(rdi, amt, Act::Return, Some(party), purpose);
        r.reason = Some(self.rng.below(REASONS.len() as u64) as usize);
        r.orig = Some(if carried && self.rng.chance(60) { v.clone() } else { b });
        let rb = self.push(r);
        self.group("return", vec![rb.clone()], vec![v.clone()]);
        self.open("returned_payment", Some(&rb), Some(&v));
    }

    /// A return of a payment made before this delivery: only the entry is known.
    fn returned_unlinkable(&mut self, di: usize) {
        let party = self.new_person();
        let amt = self.fresh(500, 30_000);
        let old = self.date(0) - Days::new(self.rng.range(20, 60) as u64);
        let oldv = format!(
            "FK{}{}-{:04}",
            char::from(b'A' + (self.ai % 26) as u8),
            old.format("%y%m%d"),
            9000 + self.rng.range(0, 999)
        );
        let mut r = self.ent(di, amt, Act::Return, Some(party), "失业保险金");
        r.reason = Some(self.rng.below(REASONS.len() as u64) as usize);
        r.orig = Some(oldv);
        let rb = self.push(r);
        self.open("returned_payment", Some(&rb), None);
    }

    /// 委托收款: we collect, the payer's bank sends it back.
    fn returned_dd(&mut self, di: usize) {
        let Some(rdi) = self.later(di, 2, 8) else { return self.counterparty(di) };
        let party = self.rng.pick(&self.p.employers).clone();
        let amt = self.fresh(3_000, 300_000);
        let ts = format!("TS{}{}", self.date(di).format("%y%m%d"), digits(self.rng, 6));
        let v = self.vno(true, self.date(di));
        self.voucher(&v.clone(), di, amt, true, Some(&party), false, &format!("委托收款 {} 托收号{ts}", party.short));
        let mut e = self.ent(di, amt, Act::Collect, Some(party.clone()), "社保费委托收款");
        e.payer_ref = Some(ts.clone());
        let b = self.push(e);
        self.group("collection", vec![b], vec![v.clone()]);
        let mut r = self.ent(rdi, -amt, Act::DdReturn, Some(party), "社保费委托收款");
        r.reason = Some(self.rng.below(DD_REASONS.len() as u64) as usize);
        r.orig = Some(ts);
        let rb = self.push(r);
        self.group("returned_direct_debit", vec![rb.clone()], vec![v.clone()]);
        self.open("returned_payment", Some(&rb), Some(&v));
    }

    /// 冲正: the bank books something wrongly and takes it back.
    fn reversal(&mut self, di: usize) {
        let rdi = if self.rng.chance(50) { di } else { self.later(di, 1, 1).unwrap_or(di) };
        let (first, amt) = if self.rng.chance(30) {
            let f = self.rng.below(FEES.len() as u64) as usize;
            let amt = self.fresh(5, 300);
            (self.ent(di, -amt, Act::Fee(f), None, FEES[f].0), amt)
        } else {
            let party = self.any_org();
            let amt = self.fresh(1_000, 400_000);
            (self.ent(di, -amt, Act::Out, Some(party), "转账支出"), amt)
        };
        let first_time = first.time;
        let b1 = self.push(first);
        let mut r = self.ent(rdi, amt, Act::Reversal, None, "冲正");
        r.orig = Some(b1.clone());
        if rdi == di {
            r.time = first_time + 600;
        }
        let b2 = self.push(r);
        self.group("reversal", vec![b1, b2], vec![]);
    }

    /// One voucher paid in two or three debits.
    fn split(&mut self, di: usize) {
        let party = self.any_org();
        let parts = self.rng.range(2, 3) as usize;
        let mut amts = Vec::new();
        for _ in 0..parts {
            amts.push(self.fresh(50_000, 900_000));
        }
        let total: i64 = amts.iter().sum();
        if !self.used_amounts.insert(total) {
            return self.reference(di);
        }
        let v = self.vno(false, self.date(di));
        let with_ref = self.rng.chance(60);
        self.voucher(&v.clone(), di, total, false, Some(&party), false, "拨付医保结算款(分笔)");
        let mut bs = Vec::new();
        for (k, a) in amts.iter().enumerate() {
            let d = if k > 0 && self.rng.chance(30) { self.later(di, 1, 1).unwrap_or(di) } else { di };
            let mut e =
                self.ent(d, -a, Act::Out, Some(party.clone()), &format!("医保结算款 分{parts}笔 第{}笔", k + 1));
            if with_ref {
                self.with_ref(&mut e, &v);
            }
            bs.push(self.push(e));
        }
        self.group("split", bs, vec![v]);
    }

    fn fee(&mut self, di: usize) {
        let f = self.rng.below(FEES.len() as u64) as usize;
        let amt = self.fresh(1, 200);
        let e = self.ent(di, -amt, Act::Fee(f), None, FEES[f].0);
        let b = self.push(e);
        self.open("bank_fee", Some(&b), None);
    }

    /// The bank posts one payment twice.
    fn duplicate(&mut self, di: usize) {
        let party = self.any_org();
        let amt = self.fresh(2_000, 600_000);
        let v = self.vno(false, self.date(di));
        self.voucher(&v.clone(), di, amt, false, Some(&party), false, "拨付结算款");
        let mut e = self.ent(di, -amt, Act::Out, Some(party), "结算款");
        if self.rng.chance(60) {
            self.with_ref(&mut e, &v);
        }
        let mut d2 = e.clone();
        let ddi = if self.rng.chance(60) { di } else { self.later(di, 1, 1).unwrap_or(di) };
        d2.date = self.date(ddi);
        d2.bref = self.bref(d2.date);
        d2.time = if ddi == di { e.time + 1800 } else { self.time() };
        let b1 = self.push(e);
        let b2 = self.push(d2);
        self.group("duplicated_payment", vec![b1], vec![v]);
        self.open("duplicate_entry", Some(&b2), None);
    }

    /// The books hold a slip of the bank's amount; no reference is shared.
    fn slip(&mut self, di: usize) {
        let receipt = self.rng.chance(40);
        let party = if receipt { self.rng.pick(&self.p.employers).clone() } else { self.any_org() };
        let bank = self.fresh(1_000, 900_000);
        let book = loop {
            let c = slip_of(self.rng, bank);
            if c > 0 && c != bank && self.used_amounts.insert(c) {
                break c;
            }
        };
        let v = self.vno(receipt, self.date(di));
        let bp = if receipt { format!("收{}社保费", party.short) } else { format!("付{}款", party.short) };
        self.voucher(&v.clone(), di, book, receipt, Some(&party), false, &bp);
        let e = self.ent(
            di,
            if receipt { bank } else { -bank },
            if receipt { Act::In } else { Act::Out },
            Some(party),
            if receipt { "社保费" } else { "结算款" },
        );
        let b = self.push(e);
        self.open("amount_mismatch", Some(&b), Some(&v));
    }

    fn missing_in_books(&mut self, di: usize) {
        let (amt, party, purpose) = if self.rng.chance(70) {
            (self.fresh(50_000, 5_000_000), self.p.upper.clone(), "上级补助资金")
        } else {
            (-self.fresh(1_000, 80_000), self.rng.pick(&self.p.employers).clone(), "法院协助扣划")
        };
        let e = self.ent(di, amt, if amt > 0 { Act::In } else { Act::Out }, Some(party), purpose);
        let b = self.push(e);
        self.open("missing_in_books", Some(&b), None);
    }

    fn missing_in_bank(&mut self, di: usize) {
        let party = self.any_org();
        let amt = self.fresh(5_000, 900_000);
        let v = self.vno(false, self.date(di));
        self.voucher(&v.clone(), di, amt, false, Some(&party), false, "拨付结算款");
        self.open("missing_in_bank", None, Some(&v));
    }

    fn in_transit(&mut self) {
        let di = self.last();
        let receipt = self.rng.chance(30);
        let party = if receipt { self.p.fiscal.clone() } else { self.any_org() };
        let amt = self.fresh(5_000, 900_000);
        let v = self.vno(receipt, self.date(di));
        self.voucher(
            &v.clone(),
            di,
            amt,
            receipt,
            Some(&party),
            false,
            if receipt { "收预拨资金" } else { "拨付结算款" },
        );
        self.open("in_transit", None, Some(&v));
    }

    /// The bank's quarterly interest credit (the 21st of Mar/Jun/Sep/Dec), booked by the
    /// books beside it on some accounts.
    fn interest(&mut self, di: usize) {
        let d = self.date(di);
        let to = d - Days::new(1);
        let from = NaiveDate::from_ymd_opt(
            if to.month() == 3 { to.year() - 1 } else { to.year() },
            if to.month() == 3 { 12 } else { to.month() - 3 },
            21,
        )
        .unwrap_or(to);
        let amt = self.fresh(20_000, 160_000);
        let e = self.ent(di, amt, Act::Interest { from, to }, None, "结息");
        let b = self.push(e);
        if self.books_interest {
            let bdi = if self.rng.chance(50) { di } else { self.later(di, 1, 2).unwrap_or(di) };
            let v = self.vno(true, self.date(bdi));
            self.voucher(&v.clone(), bdi, amt, true, None, false, &format!("{}季度活期利息收入", quarter_zh(to)));
            self.group("interest_booked", vec![b], vec![v]);
        } else {
            self.open("interest_credit", Some(&b), None);
        }
    }
}

fn quarter_zh(d: NaiveDate) -> &'static str {
    match d.month() {
        1..=3 => "一",
        4..=6 => "二",
        7..=9 => "三",
        _ => "四",
    }
}

/// A clerk's slip of `a`: two adjacent digits swapped, one digit wrong, or a small
/// difference.
fn slip_of(rng: &mut Rng, a: i64) -> i64 {
    let s: Vec<u8> = a.to_string().into_bytes();
    match rng.below(3) {
        0 if s.len() >= 3 => {
            let i = rng.below((s.len() - 1) as u64) as usize;
            let mut t = s.clone();
            t.swap(i, i + 1);
            if t[0] == b'0' {
                return a + 100;
            }
            String::from_utf8(t).ok().and_then(|x| x.parse().ok()).unwrap_or(a + 100)
        }
        1 => {
            let i = rng.below(s.len() as u64) as usize;
            let mut t = s.clone();
            let old = t[i] - b'0';
            let new = (old + 1 + rng.below(8) as u8) % 10;
            t[i] = b'0' + new;
            if t[0] == b'0' {
                return a + 1000;
            }
            String::from_utf8(t).ok().and_then(|x| x.parse().ok()).unwrap_or(a + 1000)
        }
        _ => a + *rng.pick(&[1, -1, 10, -10, 100, -100, 50]),
    }
}

// ---------------------------------------------------------------------------------------
// Writing

fn dialects_for(kind: Kind, seed: u64) -> Vec<Dialect> {
    let all = match kind {
        Kind::Mt940 => vec![Dialect::MtJpm, Dialect::MtSwiss, Dialect::MtCnBank],
        Kind::Camt053 => vec![Dialect::CamtSps, Dialect::CamtDk, Dialect::CamtNordea],
        Kind::Cn => vec![Dialect::CnSplit, Dialect::CnFlag, Dialect::CnAbc],
        Kind::Mixed => vec![
            Dialect::MtJpm,
            Dialect::CamtSps,
            Dialect::CnSplit,
            Dialect::MtCnBank,
            Dialect::CamtNordea,
            Dialect::CnFlag,
            Dialect::MtSwiss,
            Dialect::CamtDk,
            Dialect::CnAbc,
        ],
    };
    let mut all: Vec<Dialect> = all.into_iter().filter(|d| INCLUDE_UNPARSED_DIALECTS || d.parses()).collect();
    if kind == Kind::Mixed && !all.is_empty() {
        // Each seed starts elsewhere in the list, so that two seeds cover every dialect.
        let n = all.len();
        all.rotate_left((seed as usize * 3) % n);
    }
    all
}

fn bank_of(d: Dialect, rng: &mut Rng) -> (&'static str, &'static str) {
    match d {
        Dialect::MtJpm => ("JPMorgan Chase Bank (China)", "CHASCNBJXXX"),
        Dialect::MtSwiss => ("UBS Switzerland AG", "UBSWCHZH80A"),
        Dialect::MtCnBank => *rng.pick(&[("中国银行", "BKCHCNBJ"), ("交通银行", "COMMCNSH")]),
        Dialect::CamtSps => ("Credit Suisse (Schweiz) AG", "CRESCHZZ80A"),
        Dialect::CamtDk => ("Commerzbank AG", "COBADEFFXXX"),
        Dialect::CamtNordea => ("Nordea Bank Abp", "NDEAFIHH"),
        Dialect::CnSplit => ("中国农业银行", "ABOCCNBJ"),
        Dialect::CnFlag => ("交通银行", "COMMCNSH"),
        Dialect::CnAbc => ("中国农业银行", "ABOCCNBJ"),
    }
}

/// The first business day on or after 2025-03-10 and the next `n - 1`.
fn business_days(n: usize) -> Vec<NaiveDate> {
    let cal = Calendar::china();
    let mut d = NaiveDate::from_ymd_opt(2025, 3, 10).expect("valid date");
    let mut out = Vec::new();
    while out.len() < n {
        if cal.is_business_day(d) {
            out.push(d);
        }
        d = d.succ_opt().expect("date in range");
    }
    out
}

pub fn write(dir: &Path, cfg: &Config) -> io::Result<Summary> {
    let mut rng = Rng(cfg.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x484F_4C44_4F55_5421);
    let days = business_days(cfg.days.max(12));
    let dialects = dialects_for(cfg.kind, cfg.seed);
    let mut used_accts = HashSet::new();
    let city = *rng.pick(&CITIES);
    let parties = Parties::new(&mut rng, city, &mut used_accts);
    let names = [
        "社会保险基金财政专户",
        "社会保险事业管理中心支出户",
        "社会保险事业管理中心收入户",
        "医疗保障基金支出户",
        "失业保险基金支出户",
        "工伤保险基金收入户",
    ];

    let mut accounts = Vec::new();
    let mut vchs = Vec::new();
    let mut truth = Vec::new();
    for ai in 0..cfg.accounts {
        let dialect = dialects[ai % dialects.len()];
        let (bank, bic) = bank_of(dialect, &mut rng);
        let len = *rng.pick(&[18usize, 19, 21]);
        let no = digits(&mut rng, len);
        let name = format!("{city}市{}", names[ai % names.len()]);
        let mut plan = Plan {
            rng: &mut rng,
            days: &days,
            ai,
            acct: no.clone(),
            dialect,
            used_amounts: HashSet::new(),
            ents: Vec::new(),
            vchs: Vec::new(),
            truth: Vec::new(),
            bseq: 0,
            vseq: 0,
            bseq_base: 0,
            people: HashSet::new(),
            p: &parties,
            load: vec![0; days.len()],
            books_interest: ai.is_multiple_of(2),
        };
        plan.bseq_base = plan.rng.range(100_000, 900_000) as u64;
        // Fixed plants: interest on the quarter's 21st, overdue and in-transit vouchers, and
        // an unlinkable return early on.
        if let Some(di) = days.iter().position(|d| d.day() == 21 && d.month() % 3 == 0) {
            plan.interest(di);
        }
        let last_early = days.iter().rposition(|d| (*days.last().unwrap() - *d).num_days() >= 10).unwrap_or(0);
        for _ in 0..plan.rng.range(1, 2) {
            let di = plan.rng.range(0, last_early as i64) as usize;
            plan.missing_in_bank(di);
        }
        for _ in 0..plan.rng.range(1, 2) {
            plan.in_transit();
        }
        for di in 0..days.len() {
            let mut guard = 0;
            while plan.load[di] < cfg.per_day && guard < 100 {
                guard += 1;
                // Weights per case (out of 100).
                let r = plan.rng.below(100);
                match r {
                    0..=15 => plan.reference(di),
                    16..=23 => plan.payer_reference(di),
                    24..=33 => plan.counterparty(di),
                    34..=36 => plan.twins(di),
                    37..=38 => plan.twins_by_reference(di),
                    39..=43 => plan.name_only(di),
                    44..=49 => plan.late_receipt(di),
                    50..=52 => plan.round_repeat(di),
                    53..=55 => plan.contract(di),
                    56..=57 => plan.refund(di),
                    58 => plan.refund_of_whole_payment(di),
                    59..=62 => plan.batch(di),
                    63 => plan.batch_repeat(di),
                    64 => plan.fee_beside_small_payment(di),
                    65..=68 => plan.returned(di),
                    69 => plan.returned_unlinkable(di),
                    70..=71 => plan.returned_dd(di),
                    72..=74 => plan.reversal(di),
                    75..=78 => plan.split(di),
                    79..=85 => plan.fee(di),
                    86..=88 => plan.duplicate(di),
                    89..=92 => plan.slip(di),
                    _ => plan.missing_in_books(di),
                }
            }
        }
        let mut ents = std::mem::take(&mut plan.ents);
        ents.sort_by(|a, b| (a.date, a.time, &a.bref).cmp(&(b.date, b.time, &b.bref)));
        vchs.append(&mut plan.vchs);
        truth.append(&mut plan.truth);
        accounts.push(Account {
            no,
            name,
            dialect,
            bank,
            bic,
            opening: 15_000_000_000 + rng.range(0, 99_999_999),
            entries: ents,
        });
    }

    // Files.
    let sdir = dir.join("statements");
    std::fs::create_dir_all(&sdir)?;
    std::fs::create_dir_all(dir.join("books"))?;
    let mut summary = Summary::default();
    for (ai, a) in accounts.iter().enumerate() {
        let sub = sdir.join(format!("{:02}-{}", ai + 1, a.dialect.name()));
        std::fs::create_dir_all(&sub)?;
        let files = match a.dialect {
            d if d.is_mt() => mt940::render(a, &days, &mut rng),
            d if d.is_camt() => camt::render(a, &days, &mut rng),
            _ => cn::render(a, &days, &mut rng),
        };
        for (name, bytes) in files {
            std::fs::write(sub.join(name), bytes)?;
            summary.files += 1;
        }
        summary.entries += a.entries.len();
        summary.dialects.push((a.no.clone(), a.dialect.name().to_string()));
    }
    write_books(dir, &vchs)?;
    summary.vouchers = vchs.len();
    let mut t = String::new();
    for v in &truth {
        if v.get("group").is_some() {
            summary.groups += 1;
        } else {
            summary.opens += 1;
        }
        t.push_str(&v.to_string());
        t.push('\n');
    }
    std::fs::write(dir.join("truth.jsonl"), t)?;
    Ok(summary)
}

fn write_books(dir: &Path, vchs: &[Vch]) -> io::Result<()> {
    for (file, receipt) in [("disbursements.csv", false), ("receipts.csv", true)] {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "voucher_no",
            "account_no",
            "pay_date",
            "amount",
            "currency",
            "counterparty_account",
            "counterparty_name",
            "purpose",
            "batch_ref",
        ])?;
        let mut rows: Vec<&Vch> = vchs.iter().filter(|v| v.receipt == receipt).collect();
        rows.sort_by(|a, b| (&a.acct, a.date, &a.no).cmp(&(&b.acct, b.date, &b.no)));
        for v in rows {
            w.write_record([
                v.no.as_str(),
                v.acct.as_str(),
                &v.date.format("%Y-%m-%d").to_string(),
                &yuan(v.amt),
                "CNY",
                v.cp_acct.as_str(),
                v.cp_name.as_str(),
                v.purpose.as_str(),
                v.batch_ref.as_str(),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
        std::fs::write(dir.join("books").join(file), bytes)?;
    }
    Ok(())
}

/// Statement days of an account grouped as the dialect delivers them, with running
/// balances: (opening, entries of the days, closing) per day.
pub(crate) fn per_day<'a>(a: &'a Account, days: &[NaiveDate]) -> Vec<(NaiveDate, i64, Vec<&'a Ent>, i64)> {
    let mut bal = a.opening;
    let mut out = Vec::new();
    for d in days {
        let es: Vec<&Ent> = a.entries.iter().filter(|e| e.date == *d).collect();
        let open = bal;
        bal += es.iter().map(|e| e.amt).sum::<i64>();
        out.push((*d, open, es, bal));
    }
    out
}

/// Splits text into lines of at most `n` characters, preferring to break at a space or `/`.
pub(crate) fn wrap(s: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    for c in s.chars() {
        cur.push(c);
        if cur.len() == n {
            let cut = cur.iter().rposition(|c| *c == ' ' || *c == '/').filter(|p| *p > n / 2);
            match cut {
                Some(p) => {
                    let rest: Vec<char> = cur.split_off(p + 1);
                    out.push(cur.iter().collect::<String>().trim_end().to_string());
                    cur = rest;
                }
                None => {
                    out.push(cur.iter().collect());
                    cur.clear();
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur.iter().collect());
    }
    out
}
