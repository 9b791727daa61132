//! What a bank says happened: statements (对账单) and their entries.
//!
//! These types are the single output of every parser (`parse::*`) and the input of
//! validation, storage and matching. They hold no database ids: identity of an entry is
//! decided later (`entry_key`), from the bank reference plus an occurrence number.

use crate::money::{Currency, Money};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// A booked balance on a date. The amount is signed: negative means overdrawn (debit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    pub date: NaiveDate,
    pub amount: Money,
}

/// One statement of one account as the bank sent it (one MT940 `:20:`…`:62:` block, one
/// camt `Stmt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The account exactly as written in the file (`:25:`, `Acct/Id`): mapping to a
    /// configured account happens in `validate::accounts`, never here.
    pub account: String,
    pub currency: Currency,
    /// Statement number / sequence (`:28C:`, `ElctrncSeqNb` or `LglSeqNb`).
    pub sequence: Option<String>,
    /// The bank's id for the statement (`:20:`, `Stmt/Id`).
    pub statement_id: Option<String>,
    pub opening: Option<Balance>,
    pub closing: Option<Balance>,
    pub entries: Vec<Entry>,
    /// Where the statement starts in its file (`line 12`, `/Document/BkToCstmrStmt/Stmt[2]`),
    /// so that errors found after parsing can still point at the source.
    pub location: String,
    /// Problems that do not stop the import because the statement is still what the bank
    /// said (a running-balance break in a bank export): each becomes an `arithmetic_error`
    /// discrepancy naming its place. Nothing the bank sent is hidden or dropped.
    pub flags: Vec<String>,
}

impl Statement {
    /// Σ entries, in the statement currency. `None` only on overflow, which the parsers'
    /// limits make impossible in practice.
    pub fn entry_sum(&self) -> Option<Decimal> {
        self.entries.iter().try_fold(Decimal::ZERO, |acc, e| acc.checked_add(e.amount.amount))
    }

    /// What the statement says, as a SHA-256 (hex): account, currency, statement id and
    /// sequence, balances, and every entry's dates, amount, references, counterparty,
    /// text, kind, codes and batch items (amounts in canonical form). Not where things
    /// are in the file (`location`) nor the bytes around them: the same statement sent
    /// again with CRLF line ends, another file name or encoding has the same fingerprint.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        fn put(h: &mut Sha256, s: Option<&str>) {
            match s {
                // Length-prefixed, so no two sequences of fields run together alike.
                Some(s) => {
                    h.update([1u8]);
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
                None => h.update([0u8]),
            }
        }
        let money = crate::money::canonical;
        let balance = |b: &Option<Balance>| {
            b.as_ref().map(|b| format!("{} {} {}", b.date, money(b.amount.amount), b.amount.currency.as_str()))
        };
        let mut h = Sha256::new();
        put(&mut h, Some("statement v1"));
        put(&mut h, Some(&self.account));
        put(&mut h, Some(self.currency.as_str()));
        put(&mut h, self.sequence.as_deref());
        put(&mut h, self.statement_id.as_deref());
        put(&mut h, balance(&self.opening).as_deref());
        put(&mut h, balance(&self.closing).as_deref());
        put(&mut h, Some(&self.entries.len().to_string()));
        for e in &self.entries {
            put(&mut h, Some(&e.booking_date.to_string()));
            put(&mut h, e.value_date.map(|d| d.to_string()).as_deref());
            put(&mut h, Some(&money(e.amount.amount)));
            put(&mut h, Some(e.amount.currency.as_str()));
            for f in [
                &e.bank_ref,
                &e.customer_ref,
                &e.end_to_end_id,
                &e.counterparty_account,
                &e.counterparty_name,
                &e.counterparty_bank,
                &e.type_code,
                &e.return_reason,
            ] {
                put(&mut h, f.as_deref());
            }
            put(&mut h, Some(&e.narrative));
            put(&mut h, Some(e.kind.as_str()));
            match &e.batch {
                None => put(&mut h, None),
                Some(b) => {
                    put(&mut h, b.count.map(|c| c.to_string()).as_deref());
                    put(&mut h, b.total.map(money).as_deref());
                    put(&mut h, Some(&b.items.len().to_string()));
                    for i in &b.items {
                        put(&mut h, i.amount.map(money).as_deref());
                        for f in [&i.end_to_end_id, &i.counterparty_account, &i.counterparty_name, &i.narrative] {
                            put(&mut h, f.as_deref());
                        }
                    }
                }
            }
        }
        hex::encode(h.finalize())
    }
}

/// What kind of movement an entry is, as far as the bank's own codes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An ordinary transfer in or out.
    Transfer,
    /// 手续费: a bank charge (`NCHG`, BkTxCd `CHRG`, "手续费").
    Fee,
    /// 结息: an interest credit or debit (`NINT`, BkTxCd `INTR`, "结息").
    Interest,
    /// 退汇: a payment coming back (`NRTI`, `RtrInf`, "退汇").
    Return,
    /// 冲正: a reversal of an earlier posting (`RC`/`RD`, `RvslInd`).
    Reversal,
    /// 代发: one entry for a batch of payments.
    Batch,
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Transfer => "transfer",
            EntryKind::Fee => "fee",
            EntryKind::Interest => "interest",
            EntryKind::Return => "return",
            EntryKind::Reversal => "reversal",
            EntryKind::Batch => "batch",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "transfer" => EntryKind::Transfer,
            "fee" => EntryKind::Fee,
            "interest" => EntryKind::Interest,
            "return" => EntryKind::Return,
            "reversal" => EntryKind::Reversal,
            "batch" => EntryKind::Batch,
            _ => return None,
        })
    }
}

/// One line of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Signed: credits (money in) positive, debits negative.
    pub amount: Money,
    /// The bank's own reference (流水号, `//…` in `:61:`, `AcctSvcrRef`).
    pub bank_ref: Option<String>,
    /// The account owner's reference (`:61:` customer ref, `InstrId`/`PmtInfId`).
    pub customer_ref: Option<String>,
    pub end_to_end_id: Option<String>,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    pub counterparty_bank: Option<String>,
    /// Free text: `:86:`, `AddtlNtryInf`, `RmtInf/Ustrd` (用途/附言/摘要), joined with spaces.
    pub narrative: String,
    pub kind: EntryKind,
    /// The bank's transaction code as sent (`NTRF`, `PMNT/RCDT/ESCT`…).
    pub type_code: Option<String>,
    /// Return reason code (`RtrInf/Rsn/Cd`), if the bank gave one.
    pub return_reason: Option<String>,
    /// Batch details (代发) when one entry stands for several transactions.
    pub batch: Option<BatchDetails>,
    /// Where the entry is in its file: `line 17` or an XML path.
    pub location: String,
}

/// The parts of a batch entry (`NtryDtls/Btch` with several `TxDtls`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BatchDetails {
    pub count: Option<u32>,
    pub total: Option<Decimal>,
    pub items: Vec<BatchItem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchItem {
    /// Unsigned amount of the item, in the entry's currency.
    pub amount: Option<Decimal>,
    pub end_to_end_id: Option<String>,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    pub narrative: Option<String>,
}

/// Classifies text that carries no bank code: Chinese narratives say what the entry is.
/// The words are data (`formats/kinds/entry-kinds.toml`); see [`decide`] for how parsers
/// combine them with the bank's codes.
pub fn kind_from_text(text: &str) -> Option<EntryKind> {
    kinds().text_kind(text, None)
}

// ---------------------------------------------------------------------------------------
// Entry kinds as data

/// The compiled-in word and code lists (`formats/kinds/entry-kinds.toml`).
pub const ENTRY_KINDS_TOML: &str = include_str!("../formats/kinds/entry-kinds.toml");

/// Which bank code list a code belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// MT940 `:61:` transaction type (`NCHG`).
    Mt940,
    /// camt `BkTxCd` family or sub-family (`CHRG`).
    Camt,
    /// BAI2 detail type code (`398`).
    Bai2,
    /// A bank export's `type_code` column.
    Table,
}

#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, default)]
struct WordsRaw {
    reversal: Vec<String>,
    fee: Vec<String>,
    #[serde(rename = "return")]
    returned: Vec<String>,
    interest: Vec<String>,
    ordinary: Vec<String>,
    return_phrases: Vec<Vec<String>>,
}

#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, default)]
struct CodesRaw {
    reversal: Vec<String>,
    fee: Vec<String>,
    #[serde(rename = "return")]
    returned: Vec<String>,
    interest: Vec<String>,
}

#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, default)]
struct ReasonsRaw {
    codes: Vec<String>,
}

#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, default)]
struct BankRaw {
    bic: Vec<String>,
    text: WordsRaw,
    mt940: CodesRaw,
    camt: CodesRaw,
    bai2: CodesRaw,
    table: CodesRaw,
}

#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, default)]
struct KindsRaw {
    text: WordsRaw,
    mt940: CodesRaw,
    camt: CodesRaw,
    bai2: CodesRaw,
    table: CodesRaw,
    return_reasons: ReasonsRaw,
    bank: std::collections::BTreeMap<String, BankRaw>,
}

/// Text kinds in the order they are tried: a 冲正 of a fee is a reversal, a 退汇手续费 a fee.
const TEXT_ORDER: [EntryKind; 4] = [EntryKind::Reversal, EntryKind::Fee, EntryKind::Return, EntryKind::Interest];
const CODE_ORDER: [EntryKind; 4] = [EntryKind::Reversal, EntryKind::Return, EntryKind::Fee, EntryKind::Interest];

#[derive(Debug, Default)]
struct Words {
    /// Per kind of [`TEXT_ORDER`].
    words: [Vec<String>; 4],
    ordinary: Vec<String>,
    phrases: Vec<Vec<String>>,
}

impl Words {
    fn new(w: WordsRaw) -> Words {
        let upper = |v: Vec<String>| v.into_iter().map(|s| s.to_ascii_uppercase()).collect::<Vec<_>>();
        Words {
            words: [w.reversal, w.fee, w.returned, w.interest],
            ordinary: w.ordinary,
            phrases: w.return_phrases.into_iter().map(upper).filter(|p| !p.is_empty()).collect(),
        }
    }
}

#[derive(Debug, Default)]
struct Codes {
    /// Per kind of [`CODE_ORDER`], upper-case.
    codes: [Vec<String>; 4],
}

impl Codes {
    fn new(c: CodesRaw) -> Codes {
        let upper = |v: Vec<String>| v.into_iter().map(|s| s.trim().to_ascii_uppercase()).collect::<Vec<_>>();
        Codes { codes: [upper(c.reversal), upper(c.returned), upper(c.fee), upper(c.interest)] }
    }

    fn kind(&self, code: &str) -> Option<EntryKind> {
        CODE_ORDER.into_iter().zip(&self.codes).find(|(_, list)| list.iter().any(|c| c == code)).map(|(k, _)| k)
    }
}

#[derive(Debug, Default)]
struct Lists {
    text: Words,
    /// Mt940, Camt, Bai2, Table.
    codes: [Codes; 4],
}

impl Lists {
    fn new(text: WordsRaw, mt940: CodesRaw, camt: CodesRaw, bai2: CodesRaw, table: CodesRaw) -> Lists {
        Lists {
            text: Words::new(text),
            codes: [Codes::new(mt940), Codes::new(camt), Codes::new(bai2), Codes::new(table)],
        }
    }
}

#[derive(Debug)]
struct Bank {
    name: String,
    bics: Vec<String>,
    lists: Lists,
}

/// The entry-kind lists, read once from [`ENTRY_KINDS_TOML`]. Immutable.
#[derive(Debug)]
pub struct Kinds {
    all: Lists,
    banks: Vec<Bank>,
    return_reasons: Vec<String>,
    /// Every word and phrase word of every section, case-insensitive: a text that holds
    /// none of them has no kind by its words, found in one pass (most texts).
    any_word: Option<aho_corasick::AhoCorasick>,
}

static KINDS: std::sync::LazyLock<Kinds> = std::sync::LazyLock::new(|| {
    // The shipped file is checked by this module's tests: a broken one is a build defect.
    Kinds::parse(ENTRY_KINDS_TOML).unwrap_or_else(|e| panic!("formats/kinds/entry-kinds.toml: {e}"))
});

/// The compiled-in lists.
pub fn kinds() -> &'static Kinds {
    &KINDS
}

fn code_index(s: Scheme) -> usize {
    match s {
        Scheme::Mt940 => 0,
        Scheme::Camt => 1,
        Scheme::Bai2 => 2,
        Scheme::Table => 3,
    }
}

/// `FCHG` is read as `NCHG`; anything else upper-cased and trimmed.
fn normal_code(scheme: Scheme, code: &str) -> String {
    let mut c = code.trim().to_ascii_uppercase();
    if scheme == Scheme::Mt940 && c.len() == 4 && c.starts_with('F') {
        c.replace_range(..1, "N");
    }
    c
}

/// The whole words of `s` (runs of ASCII letters and digits).
fn latin_words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty())
}

impl Kinds {
    /// Reads a lists file (the shipped one, or one a test writes).
    pub fn parse(text: &str) -> Result<Kinds, String> {
        let raw: KindsRaw = toml::from_str(text).map_err(|e| e.to_string())?;
        let all = Lists::new(raw.text, raw.mt940, raw.camt, raw.bai2, raw.table);
        let mut banks = Vec::new();
        for (name, b) in raw.bank {
            let bics = b.bic.iter().map(|x| x.trim().to_ascii_uppercase()).collect::<Vec<_>>();
            if let Some(bad) = bics.iter().find(|x| x.len() < 4 || !x.bytes().all(|c| c.is_ascii_alphanumeric())) {
                return Err(format!("bank.{name}.bic: {bad:?} is not the start of a BIC"));
            }
            banks.push(Bank { name, bics, lists: Lists::new(b.text, b.mt940, b.camt, b.bai2, b.table) });
        }
        let return_reasons = raw.return_reasons.codes.iter().map(|c| c.trim().to_ascii_uppercase()).collect();
        let lists = std::iter::once(&all).chain(banks.iter().map(|b| &b.lists));
        let words: Vec<String> = lists
            .flat_map(|l| l.text.words.iter().flatten().chain(l.text.phrases.iter().flatten()))
            .filter(|w| !w.is_empty())
            .cloned()
            .collect();
        let any_word = aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(words).ok();
        Ok(Kinds { all, banks, return_reasons, any_word })
    }

    fn bank(&self, name: Option<&str>) -> Option<&Bank> {
        let name = name?;
        self.banks.iter().find(|b| b.name.eq_ignore_ascii_case(name))
    }

    /// The bank section a BIC (8 or 11 characters) belongs to.
    pub fn bank_of_bic(&self, bic: &str) -> Option<&str> {
        let bic = bic.trim();
        if bic.len() < 8 {
            return None;
        }
        self.banks
            .iter()
            .find(|b| b.bics.iter().any(|p| bic.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))))
            .map(|b| b.name.as_str())
    }

    /// What a bank code says: fee, interest, return or reversal (the bank's section first).
    pub fn code_kind(&self, scheme: Scheme, code: &str, bank: Option<&str>) -> Option<EntryKind> {
        let code = normal_code(scheme, code);
        if code.is_empty() {
            return None;
        }
        let i = code_index(scheme);
        self.bank(bank).and_then(|b| b.lists.codes[i].kind(&code)).or_else(|| self.all.codes[i].kind(&code))
    }

    /// Whether `code` is an ISO return reason code (`AC04`).
    pub fn is_return_reason(&self, code: &str) -> bool {
        let c = code.trim();
        self.return_reasons.iter().any(|r| r.eq_ignore_ascii_case(c))
    }

    /// An ISO return reason code standing as a word in the text.
    pub fn names_return_reason(&self, text: &str) -> bool {
        latin_words(text).any(|w| w.len() == 4 && self.return_reasons.iter().any(|r| r == w))
    }

    /// What the text says: the first of reversal, fee, return, interest with a word in it.
    pub fn text_kind(&self, text: &str, bank: Option<&str>) -> Option<EntryKind> {
        if text.is_empty() || self.any_word.as_ref().is_some_and(|ac| !ac.is_match(text)) {
            return None;
        }
        let lists = [Some(&self.all.text), self.bank(bank).map(|b| &b.lists.text)];
        let lists = || lists.iter().flatten();
        // Ordinary phrases are blanked out first.
        let mut masked: Option<String> = None;
        for w in lists().flat_map(|l| &l.ordinary) {
            let cur = masked.as_deref().unwrap_or(text);
            if !w.is_empty() && cur.contains(w.as_str()) {
                masked = Some(cur.replace(w.as_str(), " "));
            }
        }
        let t = masked.as_deref().unwrap_or(text);
        let ascii = t.is_ascii();
        for (n, kind) in TEXT_ORDER.into_iter().enumerate() {
            let hit = lists()
                .flat_map(|l| &l.words[n])
                .any(|w| !w.is_empty() && (!ascii || w.is_ascii()) && t.contains(w.as_str()));
            if hit {
                return Some(kind);
            }
            if kind == EntryKind::Return && lists().flat_map(|l| &l.phrases).any(|p| has_phrase(t, p)) {
                return Some(EntryKind::Return);
            }
        }
        None
    }

    /// Every listed word with the kind its list gives it (`None`: an ordinary phrase).
    pub fn listed_words(&self) -> Vec<(Option<&str>, &str, Option<EntryKind>)> {
        let mut out = Vec::new();
        let sections =
            std::iter::once((None, &self.all)).chain(self.banks.iter().map(|b| (Some(b.name.as_str()), &b.lists)));
        for (bank, l) in sections {
            for (n, kind) in TEXT_ORDER.into_iter().enumerate() {
                out.extend(l.text.words[n].iter().map(|w| (bank, w.as_str(), Some(kind))));
            }
            out.extend(l.text.ordinary.iter().map(|w| (bank, w.as_str(), None)));
        }
        out
    }

    /// Every listed code with its scheme and kind.
    pub fn listed_codes(&self) -> Vec<(Option<&str>, Scheme, &str, EntryKind)> {
        let mut out = Vec::new();
        let sections =
            std::iter::once((None, &self.all)).chain(self.banks.iter().map(|b| (Some(b.name.as_str()), &b.lists)));
        for (bank, l) in sections {
            for (scheme, codes) in [Scheme::Mt940, Scheme::Camt, Scheme::Bai2, Scheme::Table].into_iter().zip(&l.codes)
            {
                for (kind, list) in CODE_ORDER.into_iter().zip(&codes.codes) {
                    out.extend(list.iter().map(|c| (bank, scheme, c.as_str(), kind)));
                }
            }
        }
        out
    }
}

/// The words of `phrase` appear in `text` in that order, as whole words, in any case.
fn has_phrase(text: &str, phrase: &[String]) -> bool {
    let mut want = phrase.iter();
    let mut next = want.next();
    for w in latin_words(text) {
        match next {
            Some(p) if w.eq_ignore_ascii_case(p) => next = want.next(),
            Some(_) => {}
            None => break,
        }
    }
    next.is_none()
}

/// What a parser knows about an entry when it decides its kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct Evidence<'a> {
    /// The bank marked the entry as a reversal: MT940 `RC`/`RD`, camt `RvslInd`.
    pub reversal_mark: bool,
    /// The bank gave a return reason: `:86:` `/RTRN/`, camt `RtrInf`.
    pub return_reason: bool,
    /// What the bank's transaction code says ([`Kinds::code_kind`], or `Batch`).
    pub code: Option<EntryKind>,
    /// The entry's text (narrative, and the type text of a bank export).
    pub text: &'a str,
    /// The bank's section in the lists, if known.
    pub bank: Option<&'a str>,
}

/// The kind of an entry from everything the bank said, the same way for every format:
/// 1. structured return evidence (a return code, a return reason) → return;
/// 2. a reversal mark (or reversal code) → return when the text says return (its words, or an
///    ISO return reason code such as `AC04`), else reversal: a 退汇 booked as `RD` is a return,
///    a plain `RD`/`RvslInd`/冲正 a reversal;
/// 3. the bank's code (fee, interest, batch);
/// 4. the text; 5. a transfer.
pub fn decide(ev: &Evidence<'_>) -> EntryKind {
    let k = kinds();
    if ev.code == Some(EntryKind::Return) || ev.return_reason {
        return EntryKind::Return;
    }
    if ev.reversal_mark || ev.code == Some(EntryKind::Reversal) {
        return match k.text_kind(ev.text, ev.bank) {
            Some(EntryKind::Return) => EntryKind::Return,
            Some(EntryKind::Reversal) => EntryKind::Reversal,
            _ if k.names_return_reason(ev.text) => EntryKind::Return,
            _ => EntryKind::Reversal,
        };
    }
    if let Some(c) = ev.code {
        return c;
    }
    k.text_kind(ev.text, ev.bank).unwrap_or(EntryKind::Transfer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [
            EntryKind::Transfer,
            EntryKind::Fee,
            EntryKind::Interest,
            EntryKind::Return,
            EntryKind::Reversal,
            EntryKind::Batch,
        ] {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EntryKind::parse("nonsense"), None);
    }

    #[test]
    fn shipped_lists_parse_and_every_word_classifies() {
        let k = Kinds::parse(ENTRY_KINDS_TOML).unwrap();
        let words = k.listed_words();
        assert!(words.len() > 40, "{}", words.len());
        for (bank, w, kind) in words {
            assert_eq!(k.text_kind(w, bank), kind, "{w:?} ({bank:?})");
        }
        for (bank, scheme, c, kind) in k.listed_codes() {
            assert_eq!(k.code_kind(scheme, c, bank), Some(kind), "{c:?} {scheme:?} ({bank:?})");
        }
        for r in
            ["AC01", "AC04", "AC06", "AG01", "AM04", "AM05", "BE04", "MD07", "MS02", "MS03", "RC01", "RR01", "RR04"]
        {
            assert!(k.is_return_reason(r), "{r}");
            assert!(k.names_return_reason(&format!("RETURNED {r} X")), "{r}");
        }
        assert!(!k.names_return_reason("NARR AC4 XAC04"));
        assert_eq!(k.bank_of_bic("CMBCCNBS"), Some("CMB"));
        assert_eq!(k.bank_of_bic("cmbccnbsXXX"), Some("CMB"));
        assert_eq!(k.bank_of_bic("ICBKCNBJ"), None);
        assert_eq!(k.bank_of_bic("CMB"), None);
    }

    #[test]
    fn over_broad_words_are_not_returns() {
        // The payee refunds an overpayment, a deposit comes back, a contribution is refunded:
        // ordinary transfers, not our payment coming back.
        for t in ["退回多付款", "收到 退回多付款 张三", "退回押金", "保证金退回", "社保费退款", "退款", "退回"]
        {
            assert_eq!(kind_from_text(t), None, "{t}");
        }
        for t in ["退汇 原凭证 V1", "代发余额退款 DF-001", "汇款退回 户名不符", "原渠道退回", "代发失败退回"]
        {
            assert_eq!(kind_from_text(t), Some(EntryKind::Return), "{t}");
        }
        // A masked ordinary phrase does not hide a real return word beside it.
        assert_eq!(kind_from_text("退回多付款 退汇"), Some(EntryKind::Return));
        // The charge for a return is a charge; the reversal of a return is a reversal.
        assert_eq!(kind_from_text("退汇手续费"), Some(EntryKind::Fee));
        assert_eq!(kind_from_text("退票费"), Some(EntryKind::Fee));
        assert_eq!(kind_from_text("退汇冲正"), Some(EntryKind::Reversal));
        assert_eq!(kind_from_text("利息冲正"), Some(EntryKind::Reversal));
        // Latin phrases: whole words, in order.
        assert_eq!(kind_from_text("RETURN OF PAYMENT ORIG REF V1"), Some(EntryKind::Return));
        assert_eq!(kind_from_text("returned item, original ref V1"), Some(EntryKind::Return));
        assert_eq!(kind_from_text("ORIG RETURN"), None);
        assert_eq!(kind_from_text("RETURNS ORIGAMI"), None);
    }

    fn ev(text: &str) -> Evidence<'_> {
        Evidence { text, ..Evidence::default() }
    }

    #[test]
    fn returns_and_reversals_in_every_encoding() {
        let k = kinds();
        let rev = |e: Evidence<'_>| decide(&Evidence { reversal_mark: true, ..e });
        // MT940: `RD`/`RC` alone is a reversal; with NRTI, /RTRN/, return text or an ISO
        // reason it is a return.
        assert_eq!(rev(ev("")), EntryKind::Reversal);
        assert_eq!(rev(ev("CORRECTION")), EntryKind::Reversal);
        assert_eq!(rev(Evidence { code: k.code_kind(Scheme::Mt940, "NRTI", None), ..ev("") }), EntryKind::Return);
        assert_eq!(rev(Evidence { return_reason: true, ..ev("") }), EntryKind::Return);
        assert_eq!(rev(ev("RETURN OF PAYMENT ORIG REF V1")), EntryKind::Return);
        assert_eq!(rev(ev("退汇 原凭证 V1")), EntryKind::Return);
        assert_eq!(rev(ev("/RTRN/ AC04 closed")), EntryKind::Return);
        assert_eq!(rev(ev("冲正")), EntryKind::Reversal);
        assert_eq!(rev(ev("退汇冲正")), EntryKind::Reversal);
        // `NRTI` without a mark; the code `FRTI` reads as `NRTI`.
        assert_eq!(decide(&Evidence { code: k.code_kind(Scheme::Mt940, "FRTI", None), ..ev("") }), EntryKind::Return);
        // camt: RvslInd + RtrInf is a return; RvslInd alone a reversal (over a charge code);
        // a return sub-family is a return.
        assert_eq!(
            rev(Evidence { return_reason: true, code: k.code_kind(Scheme::Camt, "CHRG", None), ..ev("") }),
            EntryKind::Return
        );
        assert_eq!(rev(Evidence { code: k.code_kind(Scheme::Camt, "CHRG", None), ..ev("") }), EntryKind::Reversal);
        assert_eq!(decide(&Evidence { code: k.code_kind(Scheme::Camt, "UPDD", None), ..ev("") }), EntryKind::Return);
        // BAI2: a reversal code is a mark, a return code a return.
        assert_eq!(decide(&Evidence { code: k.code_kind(Scheme::Bai2, "552", None), ..ev("") }), EntryKind::Reversal);
        assert_eq!(decide(&Evidence { code: k.code_kind(Scheme::Bai2, "552", None), ..ev("退汇") }), EntryKind::Return);
        assert_eq!(decide(&Evidence { code: k.code_kind(Scheme::Bai2, "555", None), ..ev("") }), EntryKind::Return);
        // Chinese exports: words, and the bank's own codes for its bank only.
        assert_eq!(decide(&ev("冲账")), EntryKind::Reversal);
        assert_eq!(decide(&ev("代发余额退款")), EntryKind::Return);
        assert_eq!(
            decide(&Evidence { code: k.code_kind(Scheme::Table, "AGRD", Some("CMB")), ..ev("") }),
            EntryKind::Return
        );
        assert_eq!(
            decide(&Evidence { code: k.code_kind(Scheme::Table, "AGRD", Some("ICBC")), ..ev("") }),
            EntryKind::Transfer
        );
        // A fee or interest code wins over text; text decides without a code.
        assert_eq!(decide(&Evidence { code: k.code_kind(Scheme::Mt940, "NCHG", None), ..ev("结息") }), EntryKind::Fee);
        assert_eq!(decide(&ev("季度结息")), EntryKind::Interest);
        assert_eq!(decide(&ev("拨付 支出户")), EntryKind::Transfer);
        assert_eq!(decide(&Evidence { code: Some(EntryKind::Batch), ..ev("手续费") }), EntryKind::Batch);
    }

    #[test]
    fn bank_sections_add_to_the_common_lists() {
        let k = Kinds::parse(
            "[mt940]\nfee = [\"NCHG\"]\n[bank.X]\nbic = [\"XBANCNBJ\"]\n[bank.X.mt940]\nfee = [\"NMSC\"]\n\
             [bank.X.text]\nreturn = [\"退回\"]\nordinary = [\"退回多付款\"]\n",
        )
        .unwrap();
        assert_eq!(k.code_kind(Scheme::Mt940, "NMSC", Some("X")), Some(EntryKind::Fee));
        assert_eq!(k.code_kind(Scheme::Mt940, "NMSC", None), None);
        assert_eq!(k.code_kind(Scheme::Mt940, "NCHG", Some("X")), Some(EntryKind::Fee));
        assert_eq!(k.bank_of_bic("XBANCNBJ123"), Some("X"));
        assert_eq!(k.text_kind("汇款退回", Some("X")), Some(EntryKind::Return));
        assert_eq!(k.text_kind("退回多付款", Some("X")), None);
        assert_eq!(k.text_kind("汇款退回", None), None);
        assert!(Kinds::parse("[text]\nwords = []\n").is_err());
        assert!(Kinds::parse("[bank.Y]\nbic = [\"??\"]\n").is_err());
    }

    #[test]
    fn text_classification() {
        assert_eq!(kind_from_text("活期结息 20231221-20240320"), Some(EntryKind::Interest));
        assert_eq!(kind_from_text("跨行汇款手续费"), Some(EntryKind::Fee));
        assert_eq!(kind_from_text("退汇 原凭证 V1"), Some(EntryKind::Return));
        assert_eq!(kind_from_text("冲正"), Some(EntryKind::Reversal));
        assert_eq!(kind_from_text("拨付 支出户"), None);
    }
}
