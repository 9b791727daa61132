//! [`Compact`]: what matching found, as item positions and small codes; the words (each
//! match's `detail`, each discrepancy's texts) are built only when asked for
//! ([`Compact::outcome`], [`Compact::render_match`]).
//!
//! Why: a million matches with their detail strings and two id vectors each cost ~250
//! bytes a match; here a match is 16 bytes plus 4 per item it pairs. Every detail is a
//! function of the items it names, the rule and a one-byte "how" (plus, for a batch with
//! failed payees, the records left out), so nothing is lost by building it later.

use super::items::Items;
use super::text::canonical_ref;
use super::{Match, NONE, Outcome, Params, Rule};
use crate::calendar::add_business_days;
use crate::discrepancy::{Discrepancy, Kind};
use crate::money::canonical;

/// One match: its entries are `ents[previous e_end..e_end]`, its records likewise.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CMatch {
    pub rule: Rule,
    pub how: u8,
    e_end: u32,
    r_end: u32,
    pub aux: u32,
}

/// Which rule left a discrepancy (the report's `rule` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DRule {
    Classify,
    Batch,
    Return,
}

/// One discrepancy: entry and/or record positions, and `aux` by kind (the duplicate's
/// matched entry, the batch debit, the voucher's record, or the return match).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CDisc {
    pub kind: Kind,
    pub rule: DRule,
    pub entry: u32,
    pub record: u32,
    pub aux: u32,
}

// `how` codes.
pub(crate) const REVERSAL_SAME_CP: u8 = 1;
/// `reference`: a token shared by the record's purpose and the entry (aux: the note).
pub(crate) const REFERENCE_SHARED: u8 = 1;
/// `batch`: paired by the bank's item details alone (no batch reference).
pub(crate) const BATCH_BY_ITEMS: u8 = 1;
/// `batch`: by the sum of one batch's vouchers alone (no reference, no item details).
pub(crate) const BATCH_BY_SUM: u8 = 2;
/// `amount_counterparty_date`: a masked account whose visible digits fit.
pub(crate) const ACD_MASKED: u8 = 1;
/// `amount_counterparty_date`: the record's account is written in the entry's text.
pub(crate) const ACD_TEXT: u8 = 2;
/// `return`: a token of the payment record's purpose found in the credit.
pub(crate) const RETURN_PURPOSE: u8 = 6;
/// `return`: the original posting's bank reference in the credit's text (aux: that entry).
pub(crate) const RETURN_BANK_REF: u8 = 7;
pub(crate) const SPLIT_BY_CP: u8 = 1;
pub(crate) const TOLERANCE_BY_VOUCHER: u8 = 1;
pub(crate) const RETURN_E2E_VOUCHER: u8 = 0;
pub(crate) const RETURN_E2E_DEBIT: u8 = 1;
pub(crate) const RETURN_VOUCHER: u8 = 2;
pub(crate) const RETURN_BATCH_ONE: u8 = 3;
pub(crate) const RETURN_BATCH_SET: u8 = 4;
pub(crate) const RETURN_COUNTERPARTY: u8 = 5;
/// `amount_mismatch` found by a slip (the discrepancy's `aux`; `NONE`: by voucher).
pub(crate) const SLIP_DIGIT: u32 = 1;
pub(crate) const SLIP_TRANSPOSED: u32 = 2;
pub(crate) const SLIP_LENGTH: u32 = 3;
pub(crate) const SLIP_SMALL: u32 = 4;
/// `amount_mismatch` by a reference token only the two hold: this bit | the note id.
pub(crate) const MISMATCH_SHARED: u32 = 0x4000_0000;
/// Set on a return's `how` when its (first) record was still open when linked.
pub(crate) const RETURN_RECORD_OPEN: u8 = 0x80;

/// Matching's result for one account, compact. See the module text.
#[derive(Clone, Debug)]
pub struct Compact {
    account_no: String,
    params: Params,
    pub(crate) matches: Vec<CMatch>,
    ents: Vec<u32>,
    recs: Vec<u32>,
    /// Batch matches with records left out: [by the detail (0/1), open members, left…].
    aux: Vec<u32>,
    pub(crate) discs: Vec<CDisc>,
    /// Short texts a detail names (the shared token of a match), one arena.
    notes: String,
    note_ends: Vec<u32>,
    /// Open items left so because candidates tied: (is a record, position) → the tied
    /// candidates on the other side (positions).
    pub(crate) ties: super::FxMap<(bool, u32), Vec<u32>>,
}

impl Compact {
    pub(crate) fn new(account_no: &str, params: &Params) -> Compact {
        Compact {
            account_no: account_no.to_string(),
            params: params.clone(),
            matches: Vec::new(),
            ents: Vec::new(),
            recs: Vec::new(),
            aux: Vec::new(),
            discs: Vec::new(),
            notes: String::new(),
            note_ends: Vec::new(),
            ties: super::FxMap::default(),
        }
    }

    /// Keeps a short text for a detail; returns its id for a match's `aux`.
    pub(crate) fn note(&mut self, s: &str) -> u32 {
        self.notes.push_str(s);
        self.note_ends.push(self.notes.len() as u32);
        (self.note_ends.len() - 1) as u32
    }

    fn note_str(&self, id: u32) -> &str {
        let i = id as usize;
        let Some(&end) = self.note_ends.get(i) else { return "" };
        let start = if i == 0 { 0 } else { self.note_ends[i - 1] };
        &self.notes[start as usize..end as usize]
    }

    pub(crate) fn push(
        &mut self,
        rule: Rule,
        how: u8,
        entries: impl IntoIterator<Item = usize>,
        records: impl IntoIterator<Item = usize>,
        aux: u32,
    ) -> usize {
        self.ents.extend(entries.into_iter().map(|i| i as u32));
        self.recs.extend(records.into_iter().map(|i| i as u32));
        self.matches.push(CMatch { rule, how, e_end: self.ents.len() as u32, r_end: self.recs.len() as u32, aux });
        self.matches.len() - 1
    }

    /// Stores the records a batch debit left out; returns the `aux` for its match.
    pub(crate) fn batch_left(&mut self, by_detail: bool, members: usize, left: &[usize]) -> u32 {
        let at = self.aux.len() as u32;
        self.aux.push(u32::from(by_detail));
        self.aux.push(members as u32);
        self.aux.push(left.len() as u32);
        self.aux.extend(left.iter().map(|&r| r as u32));
        at
    }

    pub(crate) fn disc(&mut self, kind: Kind, rule: DRule, entry: usize, record: usize, aux: u32) {
        self.discs.push(CDisc { kind, rule, entry: entry as u32, record: record as u32, aux });
    }

    pub fn match_count(&self) -> usize {
        self.matches.len()
    }
    pub fn discrepancy_count(&self) -> usize {
        self.discs.len()
    }

    /// Entry positions of match `m`.
    pub(crate) fn entries_of(&self, m: usize) -> &[u32] {
        let s = if m == 0 { 0 } else { self.matches[m - 1].e_end as usize };
        &self.ents[s..self.matches[m].e_end as usize]
    }
    /// Record positions of match `m`.
    pub(crate) fn records_of(&self, m: usize) -> &[u32] {
        let s = if m == 0 { 0 } else { self.matches[m - 1].r_end as usize };
        &self.recs[s..self.matches[m].r_end as usize]
    }

    /// Bytes held, for the benchmark's account of memory.
    pub fn heap_bytes(&self) -> usize {
        self.matches.capacity() * std::mem::size_of::<CMatch>()
            + (self.ents.capacity() + self.recs.capacity() + self.aux.capacity()) * 4
            + self.discs.capacity() * std::mem::size_of::<CDisc>()
    }

    /// The full outcome, details in words, ids instead of positions.
    pub fn outcome(&self, items: &Items) -> Outcome {
        Outcome {
            matches: (0..self.matches.len()).map(|m| self.render_match(items, m)).collect(),
            discrepancies: (0..self.discs.len()).map(|d| self.render_discrepancy(items, d)).collect(),
        }
    }

    /// Match `m` with its ids and detail.
    pub fn render_match(&self, items: &Items, m: usize) -> Match {
        let c = self.matches[m];
        let es = self.entries_of(m);
        let rs = self.records_of(m);
        let e = |k: usize| items.e(es[k] as usize);
        let r = |k: usize| items.r(rs[k] as usize);
        let keys = |list: &[u32]| list.iter().map(|&i| items.e(i as usize).key()).collect::<Vec<_>>().join(", ");
        let window = self.params.window_days;
        let detail = match c.rule {
            Rule::Reversal => format!(
                "{} reverses {} ({}{})",
                e(1).key(),
                e(0).key(),
                canonical(e(0).amount()),
                if c.how & REVERSAL_SAME_CP != 0 { ", same counterparty" } else { "" }
            ),
            Rule::Reference if c.how == REFERENCE_SHARED => format!(
                "reference {} in the purpose of voucher {} and in entry {}, held by no other record or entry; amount {} equal",
                self.note_str(c.aux),
                r(0).voucher(),
                e(0).key(),
                canonical(e(0).amount())
            ),
            Rule::Reference => format!(
                "voucher {} found in entry {}; amount {} equal",
                r(0).voucher(),
                e(0).key(),
                canonical(e(0).amount())
            ),
            Rule::Batch if c.how == BATCH_BY_ITEMS => format!(
                "the {} items of entry {} name vouchers {} by end-to-end id, each of its amount; together {}",
                rs.len(),
                e(0).key(),
                rs.iter().map(|&ri| items.r(ri as usize).voucher()).collect::<Vec<_>>().join(", "),
                canonical(e(0).amount())
            ),
            Rule::Batch => {
                let batch = r(0).batch().map(canonical_ref).unwrap_or_default();
                let mut d = if c.how == BATCH_BY_SUM {
                    format!(
                        "entry {} names no batch; {} records of batch {batch} sum to {} within {} business days, the only such batch and the only such debit",
                        e(0).key(),
                        rs.len(),
                        canonical(e(0).amount()),
                        self.params.window_days
                    )
                } else {
                    format!(
                        "batch {batch} found in entry {}; {} records sum to {}",
                        e(0).key(),
                        rs.len(),
                        canonical(e(0).amount())
                    )
                };
                if c.aux != NONE {
                    let a = c.aux as usize;
                    let (by_detail, members, n) = (self.aux[a], self.aux[a + 1], self.aux[a + 2] as usize);
                    let left = &self.aux[a + 3..a + 3 + n];
                    d.push_str(&format!(
                        "{}; {} of {} open records not in the debit: {}",
                        if by_detail != 0 { " by the batch detail" } else { "" },
                        n,
                        members,
                        left.iter().map(|&ri| items.r(ri as usize).voucher()).collect::<Vec<_>>().join(", ")
                    ));
                }
                d
            }
            Rule::Return => {
                let vouchers = rs.iter().map(|&ri| items.r(ri as usize).voucher()).collect::<Vec<_>>().join(";");
                format!(
                    "{} returns {} of voucher {vouchers} ({}; {})",
                    e(0).key(),
                    canonical(e(0).amount()),
                    self.return_how(items, m),
                    if c.how & RETURN_RECORD_OPEN != 0 { "not matched to a payment" } else { "its payment matched" }
                )
            }
            Rule::AmountCounterpartyDate if c.how == ACD_MASKED => format!(
                "amount {} equal; counterparty {} fits the masked {}; booked {} within {} business days of {}, the only such pair",
                canonical(r(0).amount()),
                r(0).cp().unwrap_or(""),
                e(0).cp().unwrap_or(""),
                e(0).date(),
                window,
                r(0).date()
            ),
            Rule::AmountCounterpartyDate if c.how == ACD_TEXT => format!(
                "amount {} equal; counterparty {} written in the text of entry {}; booked {} within {} business days of {}, the only such pair",
                canonical(r(0).amount()),
                r(0).cp().unwrap_or(""),
                e(0).key(),
                e(0).date(),
                window,
                r(0).date()
            ),
            Rule::AmountCounterpartyDate => format!(
                "amount {} and counterparty {} equal; booked {} within {} business days of {}, the only such pair",
                canonical(r(0).amount()),
                r(0).cp().unwrap_or(""),
                e(0).date(),
                window,
                r(0).date()
            ),
            Rule::AmountNameDate => format!(
                "amount {} equal; counterparty {} (bank) fits {} (books); booked {} within {} business days of {}, the only such pair",
                canonical(r(0).amount()),
                e(0).cp_name().unwrap_or(e(0).narrative()),
                r(0).cp_name().unwrap_or(""),
                e(0).date(),
                window,
                r(0).date()
            ),
            Rule::AmountReferenceDate => format!(
                "amount {} equal; entry {} and voucher {} share a reference that other records hold too ({}); booked {} within {} business days of {}, the only such pair",
                canonical(r(0).amount()),
                e(0).key(),
                r(0).voucher(),
                r(0).purpose().unwrap_or(""),
                e(0).date(),
                window,
                r(0).date()
            ),
            Rule::KindAmountDate => format!(
                "{} of {} booked as voucher {} ({}); {} within {} business days of {}, the only such pair",
                if e(0).kind() == crate::statement::EntryKind::Interest { "interest" } else { "bank fee" },
                canonical(e(0).amount()),
                r(0).voucher(),
                r(0).purpose().unwrap_or(""),
                e(0).date(),
                window,
                r(0).date()
            ),
            Rule::Split if c.how == SPLIT_BY_CP => format!(
                "{} entries to counterparty {} within {} business days of {} sum to {} ({})",
                es.len(),
                r(0).cp().unwrap_or(""),
                window,
                r(0).date(),
                canonical(r(0).amount()),
                keys(es)
            ),
            Rule::Split => format!(
                "voucher {} found in {} entries ({}) that sum to {}",
                r(0).voucher(),
                es.len(),
                keys(es),
                canonical(r(0).amount())
            ),
            Rule::AmountTolerance => {
                let by = if c.how == TOLERANCE_BY_VOUCHER {
                    format!("voucher {} found in entry {}", r(0).voucher(), e(0).key())
                } else {
                    "counterparty".to_string()
                };
                format!(
                    "{by} equal; bank {} vs books {}: difference {} within tolerance",
                    canonical(e(0).amount()),
                    canonical(r(0).amount()),
                    canonical(e(0).amount() - r(0).amount())
                )
            }
            // Made beside the cascade (the interest check, people), never by it.
            Rule::Interest | Rule::Manual => String::new(),
        };
        Match {
            rule: c.rule,
            entries: es.iter().map(|&i| items.e_id[i as usize]).collect(),
            records: rs.iter().map(|&i| items.r_id[i as usize]).collect(),
            detail,
        }
    }

    /// How return match `m` was linked, in words.
    fn return_how(&self, items: &Items, m: usize) -> String {
        let c = self.matches[m];
        let e = items.e(self.entries_of(m)[0] as usize);
        let rs = self.records_of(m);
        let x = || e.e2e().map(canonical_ref).unwrap_or_default();
        let batch = || rs.first().and_then(|&ri| items.r(ri as usize).batch()).map(canonical_ref).unwrap_or_default();
        match c.how & !RETURN_RECORD_OPEN {
            RETURN_E2E_VOUCHER => format!("end-to-end id {} is its voucher", x()),
            RETURN_E2E_DEBIT => format!("same end-to-end id {} as debit {}", x(), items.e(c.aux as usize).key()),
            RETURN_VOUCHER => "voucher in its text".to_string(),
            RETURN_BATCH_ONE => format!("batch {} in its text, the one item of that amount", batch()),
            RETURN_BATCH_SET => format!("batch {} in its text, the one set of items adding up to it", batch()),
            RETURN_PURPOSE => format!("reference {} of the payment's purpose in its text", self.note_str(c.aux)),
            RETURN_BANK_REF => {
                format!("the bank reference of the original posting {} in its text", items.e(c.aux as usize).key())
            }
            _ => "same counterparty and amount, the only such payment before it".to_string(),
        }
    }

    /// Discrepancy `d` with its ids and texts.
    pub fn render_discrepancy(&self, items: &Items, d: usize) -> Discrepancy {
        let c = self.discs[d];
        let mut out = Discrepancy {
            kind: c.kind,
            account_no: self.account_no.clone(),
            entry: None,
            record: None,
            statement: None,
            bank_ref: None,
            voucher_no: None,
            date: chrono::NaiveDate::MIN,
            amount: None,
            expected: None,
            rule: match c.rule {
                DRule::Classify => "classify",
                DRule::Batch => "batch",
                DRule::Return => Rule::Return.as_str(),
            }
            .to_string(),
            detail: String::new(),
        };
        if c.entry != NONE {
            let e = items.e(c.entry as usize);
            out.entry = Some(e.id());
            out.bank_ref = e.bank_ref().map(str::to_string);
            out.date = e.date();
            out.amount = Some(e.amount());
        }
        if c.record != NONE {
            let r = items.r(c.record as usize);
            out.record = Some(r.id());
            out.voucher_no = Some(r.voucher().to_string());
            if c.entry == NONE {
                out.date = r.date();
            }
            out.expected = Some(r.amount());
        }
        out.detail = match (c.kind, c.rule) {
            (Kind::AmountMismatch, _) if c.aux != NONE && c.aux & MISMATCH_SHARED != 0 => {
                let (e, r) = (items.e(c.entry as usize), items.r(c.record as usize));
                format!(
                    "reference {} in the purpose of voucher {} and in entry {}, held by no other record or entry: bank {} vs books {} (difference {})",
                    self.note_str(c.aux & !MISMATCH_SHARED),
                    r.voucher(),
                    e.key(),
                    canonical(e.amount()),
                    canonical(r.amount()),
                    canonical(e.amount() - r.amount())
                )
            }
            (Kind::AmountMismatch, _) if c.aux != NONE => {
                let (e, r) = (items.e(c.entry as usize), items.r(c.record as usize));
                let slip = match c.aux {
                    SLIP_DIGIT => "one digit differs",
                    SLIP_TRANSPOSED => "two digits transposed",
                    SLIP_LENGTH => "a digit missing or added",
                    _ => "a small difference",
                };
                format!(
                    "same counterparty, {} and {} within {} business days, no other candidate on either side: bank {} ({}) vs books {} ({}), difference {} ({slip})",
                    e.date(),
                    r.date(),
                    self.params.window_days,
                    canonical(e.amount()),
                    e.key(),
                    canonical(r.amount()),
                    r.voucher(),
                    canonical(e.amount() - r.amount())
                )
            }
            (Kind::AmountMismatch, _) => {
                let (e, r) = (items.e(c.entry as usize), items.r(c.record as usize));
                format!(
                    "voucher {} found in entry {}: bank {} vs books {} (difference {})",
                    r.voucher(),
                    e.key(),
                    canonical(e.amount()),
                    canonical(r.amount()),
                    canonical(e.amount() - r.amount())
                )
            }
            (Kind::ReturnedPayment, DRule::Return) => {
                let m = c.aux as usize;
                let vouchers =
                    self.records_of(m).iter().map(|&ri| items.r(ri as usize).voucher()).collect::<Vec<_>>().join(";");
                let how = self.return_how(items, m);
                let detail = if self.matches[m].how & !RETURN_RECORD_OPEN == RETURN_VOUCHER {
                    format!("returned payment naming voucher {vouchers}")
                } else {
                    format!("returned payment of voucher {vouchers} ({how})")
                };
                out.voucher_no = Some(vouchers);
                detail
            }
            (Kind::ReturnedPayment, _) => {
                if c.aux != NONE {
                    let v = items.r(c.aux as usize).voucher();
                    out.voucher_no = Some(v.to_string());
                    format!("returned payment naming voucher {v}")
                } else {
                    "returned payment; original voucher not found in its text".to_string()
                }
            }
            (Kind::BankFee, _) => "bank fee not in the books".to_string(),
            (Kind::InterestCredit, _) => "interest posted by the bank; checked by the interest module".to_string(),
            (Kind::DuplicateEntry, _) => format!("repeats entry {} (already matched)", items.e(c.aux as usize).key()),
            (Kind::MissingInBooks, _) => "no book record found".to_string(),
            (_, DRule::Batch) => {
                let r = items.r(c.record as usize);
                let b = items.e(c.aux as usize);
                format!(
                    "batch {} debited by entry {} ({}) without this item",
                    r.batch().unwrap_or(""),
                    b.key(),
                    canonical(b.amount())
                )
            }
            (kind, _) => {
                let deadline = add_business_days(items.r(c.record as usize).date(), self.params.window_days);
                match (kind, self.params.statements_end) {
                    (Kind::MissingInBank, Some(end)) => format!("not executed by {deadline}; statements run to {end}"),
                    (_, Some(end)) => format!("bank may execute until {deadline}; statements run to {end}"),
                    (_, None) => "no statement for this account yet".to_string(),
                }
            }
        };
        // Candidates that tied: listed so that a person can decide.
        let tie = if c.entry != NONE && c.record == NONE {
            self.ties.get(&(false, c.entry)).map(|t| (t, true))
        } else if c.record != NONE && c.entry == NONE {
            self.ties.get(&(true, c.record)).map(|t| (t, false))
        } else {
            None
        };
        if let Some((cands, records)) = tie {
            let names: Vec<&str> = cands
                .iter()
                .map(|&i| if records { items.r(i as usize).voucher() } else { items.e(i as usize).key() })
                .collect();
            out.detail.push_str(&format!("; equally good candidates, not paired: {}", names.join(", ")));
        }
        out
    }
}
