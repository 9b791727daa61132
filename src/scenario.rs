//! Matching scenarios: statements (as [`BankItem`]s) + books ([`BookItem`]s) + the truth —
//! which entries and records belong together, and which planted discrepancy each leftover
//! is. Deterministic (SplitMix64, seeded; no crate), so a scenario is a test fixture and a
//! benchmark input at any size (`Config::entries` from a few hundred to millions).
//!
//! Planted, in proportions fixed by [`generate`]: payments with the voucher in the text
//! (plain, `NO.`, `凭证号：` full-width, lower case, customer reference, end-to-end id);
//! payments found by amount + counterparty + date only, with round amounts that repeat
//! (never twice to one counterparty inside one window: that would be undecidable);
//! identical same-day payments (twins); 代发 batches paid in full, with failed payees
//! (the debit is the sum of the rest; large ones carry the bank's batch detail), with
//! returns (退汇) next month naming the voucher, the end-to-end id, or only the batch and
//! amount, and a 代发余额退款 of two persons; returns of single payments by counterparty;
//! payments the bank split in two or three (same voucher or same counterparty); reversal
//! pairs; and the discrepancies `missing_in_bank`, `in_transit`, `missing_in_books`,
//! `amount_mismatch`, `bank_fee`, `interest_credit`, `duplicate_entry`.

use crate::discrepancy::Kind;
use crate::matching::subset::{self, Found};
use crate::matching::{BankItem, BatchDetail, BatchLine, BookItem, Input, Outcome, Params, Rule};
use crate::statement::EntryKind;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The same deterministic generator as the statement files' (SplitMix64).
pub use crate::generate::Rng;

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// About this many bank entries (records come out about as many).
    pub entries: usize,
    /// Business days the statements cover.
    pub days: u32,
    pub window_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config { seed: 2024, entries: 2_000, days: 60, window_days: 3 }
    }
}

/// Entries and records that belong together (one expected match).
#[derive(Clone, Debug)]
pub struct Group {
    pub rule: Rule,
    pub entries: Vec<i64>,
    pub records: Vec<i64>,
    /// Non-zero: interchangeable with the other groups of the same twin id (identical
    /// same-day payments: any pairing is right).
    pub twin: u32,
}

/// A leftover and what it is.
#[derive(Clone, Debug)]
pub struct Planted {
    pub kind: Kind,
    pub entry: Option<i64>,
    pub record: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Truth {
    pub groups: Vec<Group>,
    pub planted: Vec<Planted>,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub account_no: String,
    pub entries: Vec<BankItem>,
    pub records: Vec<BookItem>,
    pub batch_details: Vec<BatchDetail>,
    pub params: Params,
    pub truth: Truth,
}

impl Scenario {
    pub fn input(&self) -> Input<'_> {
        Input { entries: &self.entries, records: &self.records, batch_details: &self.batch_details }
    }
}

/// [`Truth`] in a few flat vectors: what a benchmark keeps beside a large matching run
/// (one block per vector instead of two small heap blocks per group).
#[derive(Clone, Debug, Default)]
pub struct FlatTruth {
    /// (rule, twin, end of its entries in `entries`, end of its records in `records`)
    groups: Vec<(Rule, u32, u32, u32)>,
    entries: Vec<i64>,
    records: Vec<i64>,
    planted: Vec<Planted>,
}

impl Truth {
    pub fn flatten(&self) -> FlatTruth {
        let mut f = FlatTruth {
            groups: Vec::with_capacity(self.groups.len()),
            entries: Vec::with_capacity(self.groups.iter().map(|g| g.entries.len()).sum()),
            records: Vec::with_capacity(self.groups.iter().map(|g| g.records.len()).sum()),
            planted: self.planted.clone(),
        };
        for g in &self.groups {
            f.entries.extend_from_slice(&g.entries);
            f.records.extend_from_slice(&g.records);
            f.groups.push((g.rule, g.twin, f.entries.len() as u32, f.records.len() as u32));
        }
        f
    }
}

impl FlatTruth {
    pub fn expand(&self) -> Truth {
        let (mut e0, mut r0) = (0usize, 0usize);
        let groups = self
            .groups
            .iter()
            .map(|&(rule, twin, e1, r1)| {
                let g = Group {
                    rule,
                    entries: self.entries[e0..e1 as usize].to_vec(),
                    records: self.records[r0..r1 as usize].to_vec(),
                    twin,
                };
                (e0, r0) = (e1 as usize, r1 as usize);
                g
            })
            .collect();
        Truth { groups, planted: self.planted.clone() }
    }
}

struct Gen {
    rng: Rng,
    days: Vec<NaiveDate>,
    window: u32,
    s: Scenario,
    seq: u64,
    twin: u32,
    /// (counterparty, amount) → last business-day index used, for undecidable pairs.
    used: HashMap<(usize, i64), Vec<usize>>,
    pool_cps: Vec<String>,
}

fn money(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

fn full_width(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c }).collect()
}

impl Gen {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
    fn fresh_cp(&mut self) -> String {
        let n = self.next_seq();
        format!("6222{:012}", n.wrapping_mul(7919) % 1_000_000_000_000)
    }
    fn day(&self, i: usize) -> NaiveDate {
        self.days[i.min(self.days.len() - 1)]
    }
    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        day: usize,
        fen: i64,
        bank_ref: String,
        occurrence: u32,
        cp: Option<String>,
        narrative: String,
        kind: EntryKind,
    ) -> i64 {
        let id = self.s.entries.len() as i64 + 1;
        self.s.entries.push(BankItem {
            id,
            entry_key: format!("{bank_ref}#{occurrence}"),
            booking_date: self.day(day),
            amount: money(fen),
            bank_ref: Some(bank_ref),
            customer_ref: None,
            end_to_end_id: None,
            counterparty_account: cp,
            counterparty_name: None,
            narrative,
            kind,
        });
        id
    }
    fn record(&mut self, voucher: String, day: usize, fen: i64, cp: Option<String>, batch: Option<String>) -> i64 {
        let id = self.s.records.len() as i64 + 1;
        self.s.records.push(BookItem {
            id,
            voucher_no: voucher,
            date: self.day(day),
            amount: money(fen),
            counterparty_account: cp,
            counterparty_name: None,
            purpose: None,
            batch_ref: batch,
        });
        id
    }
    fn bank_ref(&mut self) -> String {
        format!("BK{:010}", self.next_seq())
    }
    fn group(&mut self, rule: Rule, entries: Vec<i64>, records: Vec<i64>) {
        self.s.truth.groups.push(Group { rule, entries, records, twin: 0 });
    }
    fn plant(&mut self, kind: Kind, entry: Option<i64>, record: Option<i64>) {
        self.s.truth.planted.push(Planted { kind, entry, record });
    }
    fn amount(&mut self, round: bool) -> i64 {
        if round {
            self.rng.range(1, 10) * 1_000_000 // 10,000.00 … 100,000.00: repeats a lot
        } else {
            self.rng.range(10_000, 100_000_000)
        }
    }
    /// A day for a book record whose bank entry follows within the window.
    fn pay_day(&mut self) -> usize {
        self.rng.range(0, (self.days.len() - 1 - self.window as usize - 2) as i64) as usize
    }
    fn lag(&mut self) -> usize {
        self.rng.range(0, self.window as i64) as usize
    }

    /// Voucher in the entry (several spellings), same amount.
    fn reference_payment(&mut self) -> (i64, i64, String, usize, i64) {
        let n = self.next_seq();
        let v = format!("V{n:08}");
        let round = self.rng.chance(20);
        let sign = if self.rng.chance(80) { -1 } else { 1 };
        let f = sign * self.amount(round);
        let d = self.pay_day();
        let cp = self.fresh_cp();
        let r = self.record(v.clone(), d, f, Some(cp.clone()), None);
        let br = self.bank_ref();
        let lag = self.lag();
        let variant = self.rng.range(0, 5);
        let text = match variant {
            0 => format!("拨付 {v} 用款"),
            1 => format!("用途:NO.{v}"),
            2 => format!("凭证号：{}拨付", full_width(&v)),
            3 | 4 => "拨付".to_string(),
            _ => format!("pay {}", v.to_lowercase()),
        };
        let e = self.entry(d + lag, f, br, 1, Some(cp.clone()), text, EntryKind::Transfer);
        let item = &mut self.s.entries[e as usize - 1];
        match variant {
            3 => item.customer_ref = Some(v.clone()),
            4 => item.end_to_end_id = Some(v.clone()),
            _ => {}
        }
        self.group(Rule::Reference, vec![e], vec![r]);
        (e, r, cp, d + lag, f)
    }

    /// Amount + counterparty + date only; round amounts to a pool of counterparties.
    fn acd_payment(&mut self) {
        let round = self.rng.chance(50);
        let sign = if self.rng.chance(70) { -1 } else { 1 };
        let f = sign * self.amount(round);
        let d = self.pay_day();
        let lag = self.lag();
        let pi = self.rng.range(0, self.pool_cps.len() as i64 - 1) as usize;
        let gap = 2 * self.window as usize + 2;
        let clash = self.used.get(&(pi, f)).is_some_and(|ds| ds.iter().any(|&u| u + gap > d && d + gap > u));
        let cp = if clash { self.fresh_cp() } else { self.pool_cps[pi].clone() };
        if !clash {
            self.used.entry((pi, f)).or_default().push(d);
        }
        // The books write the account with spaces now and then.
        let book_cp = if self.rng.chance(25) { format!("{} {}", &cp[..4], &cp[4..]) } else { cp.clone() };
        let n = self.next_seq();
        let r = self.record(format!("Z{n:08}"), d, f, Some(book_cp), None);
        let br = self.bank_ref();
        let text = if f < 0 { "养老金拨付" } else { "保费收入" }.to_string();
        let e = self.entry(d + lag, f, br, 1, Some(cp), text, EntryKind::Transfer);
        self.group(Rule::AmountCounterpartyDate, vec![e], vec![r]);
    }

    fn twins(&mut self) {
        let f = -self.amount(true);
        let d = self.pay_day();
        let cp = self.fresh_cp();
        let br = self.bank_ref();
        self.twin += 1;
        for occ in 1..=2 {
            let n = self.next_seq();
            let r = self.record(format!("T{n:08}"), d, f, Some(cp.clone()), None);
            let e = self.entry(d, f, br.clone(), occ, Some(cp.clone()), "工资".into(), EntryKind::Transfer);
            self.s.truth.groups.push(Group {
                rule: Rule::AmountCounterpartyDate,
                entries: vec![e],
                records: vec![r],
                twin: self.twin,
            });
        }
    }

    /// Member amounts for a batch, redrawn until the planted subset is the only one the
    /// matcher can find (so that the truth is decidable).
    fn batch_amounts(&mut self, m: usize) -> Vec<i64> {
        (0..m).map(|_| -self.rng.range(80_000, 600_000)).collect()
    }

    fn batch(&mut self, failed: usize, with_detail: bool) {
        let big = with_detail || self.rng.chance(10);
        let m = if big { self.rng.range(40, 150) as usize } else { self.rng.range(3, 25) as usize };
        let m = m.max(failed + 2);
        let mut amounts;
        let mut fail_idx: Vec<usize>;
        loop {
            amounts = self.batch_amounts(m);
            fail_idx = (0..failed).map(|k| k * (m / failed.max(1)) + 1).filter(|&i| i < m).collect();
            let target: i64 = (0..m).filter(|i| !fail_idx.contains(i)).map(|i| amounts[i]).sum();
            if failed == 0 || with_detail {
                break;
            }
            let want: Vec<usize> = (0..m).filter(|i| !fail_idx.contains(i)).collect();
            if subset::keep_for_sum(&amounts, target) == Found::One(want) {
                break;
            }
        }
        let n = self.next_seq();
        let b = format!("DF{n:07}");
        let d = self.pay_day();
        let mut recs = Vec::new();
        for (k, &f) in amounts.iter().enumerate() {
            let cp = self.fresh_cp();
            recs.push(self.record(format!("{b}-{:03}", k + 1), d, f, Some(cp), Some(b.clone())));
        }
        let paid: Vec<usize> = (0..m).filter(|i| !fail_idx.contains(i)).collect();
        let total: i64 = paid.iter().map(|&i| amounts[i]).sum();
        let br = self.bank_ref();
        let lag = self.rng.range(0, 1) as usize;
        let e = self.entry(d + lag, total, br, 1, None, format!("代发 批次 {b}"), EntryKind::Batch);
        if with_detail {
            self.s.batch_details.push(BatchDetail {
                entry_id: e,
                lines: paid
                    .iter()
                    .map(|&i| BatchLine { reference: format!("{b}-{:03}", i + 1), amount: money(amounts[i]) })
                    .collect(),
            });
        }
        self.group(Rule::Batch, vec![e], paid.iter().map(|&i| recs[i]).collect());
        for &i in &fail_idx {
            self.plant(Kind::MissingInBank, None, Some(recs[i]));
        }
        // Returns of paid persons, later (often next month).
        if failed == 0 && self.rng.chance(40) {
            let back = d + self.rng.range(5, 30) as usize;
            let pi = paid[self.rng.range(0, paid.len() as i64 - 1) as usize];
            let voucher = format!("{b}-{:03}", pi + 1);
            let unique_amount = amounts.iter().filter(|&&a| a == amounts[pi]).count() == 1;
            let br = self.bank_ref();
            let two = self.rng.chance(15) && (4..=subset::EXACT_MAX).contains(&m);
            if two {
                // 代发余额退款 of two persons: only when no other set fits.
                let (i, j) = (paid[0], paid[paid.len() - 1]);
                let sum = amounts[i] + amounts[j];
                let single = amounts.contains(&sum);
                if !single && subset::unique_subset(&amounts, sum, 2) == Found::One(vec![i, j]) {
                    let e = self.entry(back, -sum, br, 1, None, format!("代发余额退款 {b}"), EntryKind::Return);
                    self.group(Rule::Return, vec![e], vec![recs[i], recs[j]]);
                    self.plant(Kind::ReturnedPayment, Some(e), None);
                    return;
                }
            }
            let variant = self.rng.range(0, 2);
            let (text, e2e) = match variant {
                0 => (format!("退汇 原凭证{voucher} 户名不符"), None),
                1 => ("退汇 账户已销户".to_string(), Some(voucher.clone())),
                _ if unique_amount => (format!("代发退款 批次{b} 户名不符"), None),
                _ => (format!("退汇 {voucher}"), None),
            };
            let e = self.entry(back, -amounts[pi], br, 1, None, text, EntryKind::Return);
            self.s.entries[e as usize - 1].end_to_end_id = e2e;
            self.group(Rule::Return, vec![e], vec![recs[pi]]);
            self.plant(Kind::ReturnedPayment, Some(e), None);
        }
    }

    fn split(&mut self) {
        let parts = self.rng.range(2, 3) as usize;
        let fs: Vec<i64> = (0..parts).map(|_| -self.rng.range(100_000, 50_000_000)).collect();
        let total: i64 = fs.iter().sum();
        let d = self.pay_day();
        let cp = self.fresh_cp();
        let n = self.next_seq();
        let v = format!("S{n:08}");
        let by_ref = self.rng.chance(50);
        let r = self.record(v.clone(), d, total, Some(cp.clone()), None);
        let mut es = Vec::new();
        for (k, &f) in fs.iter().enumerate() {
            let br = self.bank_ref();
            let text = if by_ref { format!("拨付 {v} 分笔{}", k + 1) } else { "拨付 分笔".to_string() };
            let lag = self.lag();
            es.push(self.entry(d + lag, f, br, 1, Some(cp.clone()), text, EntryKind::Transfer));
        }
        self.group(Rule::Split, es, vec![r]);
    }

    fn reversal(&mut self) {
        let f = -{
            let round = self.rng.chance(50);
            self.amount(round)
        };
        let d = self.pay_day();
        let cp = self.fresh_cp();
        let (b1, b2) = (self.bank_ref(), self.bank_ref());
        let a = self.entry(d, f, b1, 1, Some(cp.clone()), "错账".into(), EntryKind::Transfer);
        let lag = self.rng.range(0, 1) as usize;
        let b = self.entry(d + lag, -f, b2, 1, Some(cp), "冲正".into(), EntryKind::Reversal);
        self.group(Rule::Reversal, vec![a, b], vec![]);
    }

    fn leftover(&mut self, which: u64) {
        let last = self.days.len() - 1;
        match which {
            0 => {
                let d = self.rng.range(0, (last - self.window as usize - 3) as i64) as usize;
                let n = self.next_seq();
                let f = -{
                    let round = self.rng.chance(30);
                    self.amount(round)
                };
                let cp = self.fresh_cp();
                let r = self.record(format!("MB{n:08}"), d, f, Some(cp), None);
                self.plant(Kind::MissingInBank, None, Some(r));
            }
            1 => {
                let d = last - self.rng.range(0, 1) as usize;
                let n = self.next_seq();
                let f = -{
                    let round = self.rng.chance(30);
                    self.amount(round)
                };
                let cp = self.fresh_cp();
                let r = self.record(format!("IT{n:08}"), d, f, Some(cp), None);
                self.plant(Kind::InTransit, None, Some(r));
            }
            2 => {
                let d = self.rng.range(0, last as i64) as usize;
                let f = {
                    let round = self.rng.chance(30);
                    self.amount(round)
                };
                let cp = self.fresh_cp();
                let br = self.bank_ref();
                let e = self.entry(d, f, br, 1, Some(cp), "上级财政划入".into(), EntryKind::Transfer);
                self.plant(Kind::MissingInBooks, Some(e), None);
            }
            3 => {
                let n = self.next_seq();
                let v = format!("AM{n:08}");
                let d = self.pay_day();
                let f = -self.amount(false);
                let (cp1, cp2) = (self.fresh_cp(), self.fresh_cp());
                let r = self.record(v.clone(), d, f, Some(cp1), None);
                let br = self.bank_ref();
                let e = self.entry(d, f - 30_000, br, 1, Some(cp2), format!("拨付 {v}"), EntryKind::Transfer);
                self.plant(Kind::AmountMismatch, Some(e), Some(r));
            }
            4 => {
                let d = self.rng.range(0, last as i64) as usize;
                let br = self.bank_ref();
                let e = self.entry(d, -2_000, br, 1, None, "手续费".into(), EntryKind::Fee);
                self.plant(Kind::BankFee, Some(e), None);
            }
            5 => {
                let d = self.rng.range(0, last as i64) as usize;
                let br = self.bank_ref();
                let f = self.rng.range(100_000, 10_000_000);
                let e = self.entry(d, f, br, 1, None, "活期结息".into(), EntryKind::Interest);
                self.plant(Kind::InterestCredit, Some(e), None);
            }
            _ => {
                // The bank posted a payment twice.
                let (e, _, cp, day, f) = self.reference_payment();
                let first = &self.s.entries[e as usize - 1];
                let (br, text, cref, e2e) = (
                    first.bank_ref.clone().unwrap_or_default(),
                    first.narrative.clone(),
                    first.customer_ref.clone(),
                    first.end_to_end_id.clone(),
                );
                let e2 = self.entry(day, f, br, 2, Some(cp), text, EntryKind::Transfer);
                let item = &mut self.s.entries[e2 as usize - 1];
                item.customer_ref = cref;
                item.end_to_end_id = e2e;
                self.plant(Kind::DuplicateEntry, Some(e2), None);
            }
        }
    }

    /// A single payment returned later by the counterparty (no voucher in the credit).
    fn single_return(&mut self) {
        let (_, r, cp, day, f) = self.reference_payment();
        let back = day + self.rng.range(1, 25) as usize;
        if back >= self.days.len() {
            return;
        }
        let br = self.bank_ref();
        let e = self.entry(back, -f, br, 1, Some(cp), "退汇 收款人户名不符".into(), EntryKind::Return);
        if f < 0 {
            self.group(Rule::Return, vec![e], vec![r]);
            self.plant(Kind::ReturnedPayment, Some(e), None);
        } else {
            // A receipt cannot come back as a credit: the credit is just unexplained.
            self.s.entries[e as usize - 1].counterparty_account = Some(self.fresh_cp());
            self.s.entries[e as usize - 1].kind = EntryKind::Transfer;
            self.s.entries[e as usize - 1].narrative = "来账".into();
            self.plant(Kind::MissingInBooks, Some(e), None);
        }
    }
}

/// Builds a scenario. Per 1,000 units: 450 reference payments (30 of them posted twice by
/// the bank, 30 returned later by the counterparty), 250 amount + counterparty + date
/// payments, 10 twin pairs, 30 batches (27 paid in full, about 40 % with a return; 3 with
/// failed payees, one of them large with its batch detail), 10 splits, 10 reversal pairs,
/// and 40 each of missing_in_bank, in_transit, missing_in_books, amount_mismatch,
/// bank_fee, interest_credit.
pub fn generate(cfg: &Config) -> Scenario {
    let base: NaiveDate = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default();
    let days: Vec<NaiveDate> =
        (0..cfg.days.max(cfg.window_days + 10)).map(|i| crate::calendar::add_business_days(base, i)).collect();
    let end = *days.last().unwrap_or(&base);
    let mut g = Gen {
        rng: Rng::new(cfg.seed),
        days,
        window: cfg.window_days,
        s: Scenario {
            account_no: "450012345678901234".into(),
            entries: Vec::with_capacity(cfg.entries + 16),
            records: Vec::with_capacity(cfg.entries + 16),
            batch_details: Vec::new(),
            params: Params { window_days: cfg.window_days, statements_end: Some(end) },
            truth: Truth::default(),
        },
        seq: 0,
        twin: 0,
        used: HashMap::new(),
        pool_cps: Vec::new(),
    };
    g.pool_cps = (0..(cfg.entries / 40).max(8)).map(|_| g.fresh_cp()).collect();
    let mut unit = 0u64;
    while g.s.entries.len() < cfg.entries {
        match unit % 1000 {
            0..450 => {
                if unit % 1000 < 30 {
                    g.leftover(6);
                } else if unit % 1000 < 60 {
                    g.single_return();
                } else {
                    g.reference_payment();
                }
            }
            450..700 => g.acd_payment(),
            700..710 => g.twins(),
            710..737 => g.batch(0, false),
            737..739 => {
                let f = 1 + (unit / 1000 % 2) as usize;
                g.batch(f, false)
            }
            739..740 => g.batch(2, true),
            740..750 => g.split(),
            750..760 => g.reversal(),
            u => g.leftover((u - 760) / 10 % 6),
        }
        unit += 1;
    }
    // In the order the store delivers them (ORDER BY date, key); ids stay.
    g.s.entries.sort_by(|a, b| (a.booking_date, &a.entry_key).cmp(&(b.booking_date, &b.entry_key)));
    g.s.records.sort_by(|a, b| (a.date, &a.voucher_no).cmp(&(b.date, &b.voucher_no)));
    g.s
}

/// How matching did against the truth.
#[derive(Clone, Debug, Default)]
pub struct Score {
    pub matches: usize,
    pub correct: usize,
    /// Per rule: (expected groups, found exactly).
    pub groups: BTreeMap<&'static str, (usize, usize)>,
    /// Per discrepancy type: (planted, found with that type on that item).
    pub planted: BTreeMap<&'static str, (usize, usize)>,
    /// Matches that are not in the truth, for the report.
    pub wrong: Vec<String>,
}

impl Score {
    pub fn precision(&self) -> f64 {
        if self.matches == 0 { 1.0 } else { self.correct as f64 / self.matches as f64 }
    }
    pub fn table(&self) -> String {
        let mut s = format!(
            "matches {} correct {} precision {:.4}\n{:<26} {:>9} {:>9} {:>8}\n",
            self.matches,
            self.correct,
            self.precision(),
            "expected",
            "truth",
            "found",
            "recall"
        );
        for (k, (t, f)) in self
            .groups
            .iter()
            .map(|(k, v)| (format!("match {k}"), v))
            .chain(self.planted.iter().map(|(k, v)| (format!("discrepancy {k}"), v)))
        {
            s.push_str(&format!("{k:<26} {t:>9} {f:>9} {:>7.2}%\n", 100.0 * *f as f64 / (*t).max(1) as f64));
        }
        s
    }
}

/// Scores an outcome against the scenario's truth. A match is correct when its entries
/// and records are exactly one truth group's (rule aside), or it pairs two twins.
pub fn score(s: &Scenario, out: &Outcome) -> Score {
    let mut sc = Score::default();
    let key = |e: &[i64], r: &[i64]| {
        let (mut e, mut r) = (e.to_vec(), r.to_vec());
        e.sort_unstable();
        r.sort_unstable();
        (e, r)
    };
    let mut truth: HashMap<(Vec<i64>, Vec<i64>), usize> = HashMap::new();
    let mut twin_of_entry: HashMap<i64, u32> = HashMap::new();
    let mut twin_of_record: HashMap<i64, u32> = HashMap::new();
    for (i, g) in s.truth.groups.iter().enumerate() {
        truth.insert(key(&g.entries, &g.records), i);
        sc.groups.entry(g.rule.as_str()).or_default().0 += 1;
        if g.twin != 0 {
            twin_of_entry.insert(g.entries[0], g.twin);
            twin_of_record.insert(g.records[0], g.twin);
        }
    }
    let mut found_groups: HashSet<usize> = HashSet::new();
    for m in &out.matches {
        sc.matches += 1;
        let k = key(&m.entries, &m.records);
        let ok = if let Some(&gi) = truth.get(&k) {
            found_groups.insert(gi);
            true
        } else if m.entries.len() == 1 && m.records.len() == 1 {
            let t = twin_of_entry.get(&m.entries[0]);
            t.is_some() && t == twin_of_record.get(&m.records[0])
        } else {
            false
        };
        if ok {
            sc.correct += 1;
        } else if sc.wrong.len() < 20 {
            sc.wrong.push(format!("{} {:?} {:?}: {}", m.rule.as_str(), m.entries, m.records, m.detail));
        }
    }
    // Twins found in a crossed pairing count as found.
    for (gi, g) in s.truth.groups.iter().enumerate() {
        if g.twin != 0 && !found_groups.contains(&gi) {
            let crossed = out.matches.iter().any(|m| {
                m.entries.len() == 1
                    && m.entries[0] == g.entries[0]
                    && m.records.len() == 1
                    && twin_of_record.get(&m.records[0]) == Some(&g.twin)
            });
            if crossed {
                found_groups.insert(gi);
            }
        }
    }
    for gi in found_groups {
        sc.groups.entry(s.truth.groups[gi].rule.as_str()).or_default().1 += 1;
    }
    let mut got: HashSet<(Kind, Option<i64>, Option<i64>)> = HashSet::new();
    for d in &out.discrepancies {
        got.insert((d.kind, d.entry, d.record));
        if d.entry.is_some() && d.record.is_some() {
            got.insert((d.kind, d.entry, None));
            got.insert((d.kind, None, d.record));
        }
    }
    for p in &s.truth.planted {
        let slot = sc.planted.entry(p.kind.as_str()).or_default();
        slot.0 += 1;
        if got.contains(&(p.kind, p.entry, p.record)) {
            slot.1 += 1;
        }
    }
    sc
}
