//! MT940 in seven house styles. Each function names the guide or the real file it follows.

use super::{Acct, Config, Dialect, Tx, TxKind, day_balances, day_txs, reversed_ref, swift};
use chrono::NaiveDate;

pub(crate) fn render(a: &Acct, days: &[NaiveDate], cfg: &Config) -> Vec<(String, Vec<u8>)> {
    let bal = day_balances(a, days);
    let mut out = Vec::with_capacity(days.len());
    for (i, d) in days.iter().enumerate() {
        let prev = if i == 0 { d.pred_opt().expect("date") } else { days[i - 1] };
        let (open, close) = bal[i];
        let mut s = String::new();
        header(&mut s, a, *d, i, cfg.include_known_parser_gaps);
        let opening_date = match a.dialect {
            Dialect::Mt940Rabo | Dialect::Mt940Ing | Dialect::Mt940FreeZh => prev,
            _ => *d,
        };
        s.push_str(&format!(":60F:{}\n", balance(open, opening_date, a.dialect)));
        for k in day_txs(a, *d) {
            entry(&mut s, a, &a.txs[k]);
        }
        s.push_str(&format!(":62F:{}\n", balance(close, *d, a.dialect)));
        match a.dialect {
            Dialect::Mt940Ing | Dialect::Mt940FreeEn => {
                s.push_str(&format!(":64:{}\n", balance(close, *d, a.dialect)));
            }
            _ => {}
        }
        trailer(&mut s, a.dialect);
        let ymd = d.format("%Y%m%d");
        let (name, bytes) = match a.dialect {
            // A Chinese bank's MT940 in GBK (fixtures/parse/mt940/tc13-gbk.sta).
            Dialect::Mt940FreeZh => (format!("{}/{}_{ymd}.sta", a.dialect.name(), a.no), gbk(&s)),
            // ING, ABN AMRO and the German banks deliver CR LF.
            Dialect::Mt940Ing | Dialect::Mt940Abn | Dialect::Mt940Gvc => {
                (format!("{}/{}_{ymd}.940", a.dialect.name(), a.no), s.replace('\n', "\r\n").into_bytes())
            }
            _ => (format!("{}/{}_{ymd}.sta", a.dialect.name(), a.no), s.into_bytes()),
        };
        out.push((name, bytes));
    }
    out
}

fn gbk(s: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::GBK.encode(s);
    debug_assert!(!bad, "text outside GBK");
    b.into_owned()
}

fn header(s: &mut String, a: &Acct, d: NaiveDate, i: usize, gaps: bool) {
    let ymd = d.format("%y%m%d");
    let seq = i + 1;
    match a.dialect {
        // Rabobank MT940 Structured §2: the file starts with ":940:", :20: "940S" + date.
        Dialect::Mt940Rabo => {
            s.push_str(&format!(":940:\n:20:940S{ymd}\n:25:{}\n:28C:{seq}\n", a.no));
        }
        // ING Structured MT940 V.4: SWIFT basic/application header, :25: account + currency.
        Dialect::Mt940Ing => {
            s.push_str("{1:F01INGBCNSHXXXX0000000000}\n{2:I940INGBCNSHXXXXN}\n{4:\n");
            // The guide's account + currency (read since the account map tries the account
            // without a trailing currency code).
            let _ = gaps;
            s.push_str(&format!(":20:P{ymd}{:09}\n:25:{}CNY\n:28C:{seq:05}\n", a.idx, a.no));
        }
        // zilverline/mt940 spec/fixtures/abn/*.txt: "ABNANL2A / 940 / ABNANL2A" lines, :28:.
        Dialect::Mt940Abn => {
            s.push_str(&format!("ABNANL2A\n940\nABNANL2A\n:20:ABN AMRO BANK NV\n:25:{}\n:28:{seq}/1\n", a.no));
        }
        // Sparkasse/Deutsche Bank: :20:STARTUMSE, :25: bank code/account (here the BIC).
        Dialect::Mt940Gvc => {
            s.push_str(&format!(":20:STARTUMSE\n:25:DEUTCNSH/{}\n:28C:{seq:05}/001\n", a.no));
        }
        // fixtures/demo/boc: SWIFT blocks, :25: BIC/account.
        Dialect::Mt940FreeZh => {
            s.push_str(&format!(
                "{{1:F01BKCHCNBJAXXX0000000000}}{{2:O9401630{ymd}BKCHCNBJAXXX00000000002{ymd}1630N}}{{4:\n:20:BOC{}\n:25:BKCHCNBJ/{}\n:28C:{seq:05}/001\n",
                d.format("%Y%m%d"),
                a.no
            ));
        }
        // php-mt940 Hsbc_sample.sta.
        Dialect::Mt940FreeEn => {
            s.push_str(&format!(":20:AIU{ymd}{:07}\n:25:{}\n:28C:{seq:05}/00001\n", a.idx, a.no));
        }
        Dialect::Mt940Supp => {
            s.push_str(&format!(":20:{ymd}STMT{}\n:25:{}\n:28C:{seq}/1\n", a.idx, a.no));
        }
        // mt940-rs danskebank MT940_FI_Example.sta: :25: BIC/account.
        Dialect::Mt940Danske => {
            s.push_str(&format!(":20:{ymd}-{:08}\n:25:DABACNSH/{}\n:28C:{seq:05}/001\n", a.idx, a.no));
        }
        _ => unreachable!("not an MT940 dialect"),
    }
}

fn trailer(s: &mut String, d: Dialect) {
    match d {
        Dialect::Mt940Ing | Dialect::Mt940FreeZh => s.push_str("-}\n"),
        _ => s.push_str("-\n"),
    }
}

fn balance(fen: i64, d: NaiveDate, dialect: Dialect) -> String {
    let mark = if fen < 0 { 'D' } else { 'C' };
    let amt = match dialect {
        // Rabobank pads the amount to 15 characters.
        Dialect::Mt940Rabo => format!("{:0>15}", swift(fen)),
        _ => swift(fen),
    };
    format!("{mark}{}CNY{amt}", d.format("%y%m%d"))
}

/// The amount as the dialect writes it in `:61:`.
fn amount61(fen: i64, dialect: Dialect) -> String {
    let s = swift(fen);
    match dialect {
        Dialect::Mt940Rabo => format!("{s:0>15}"),
        // ABN AMRO drops a trailing zero of the cents ("10,5"; zilverline abn fixtures).
        Dialect::Mt940Abn => {
            let t = s.trim_end_matches('0');
            if t.ends_with(',') { format!("{t}0") } else { t.to_string() }
        }
        _ => s,
    }
}

/// Debit/credit mark: C, D, or RC/RD for a reversal (RD = reversal of a debit, a credit).
fn mark(t: &Tx, dialect: Dialect) -> String {
    let credit = t.amount > 0;
    let base = match (&t.kind, credit) {
        (TxKind::Reversal { .. }, true) => "RD",
        (TxKind::Reversal { .. }, false) => "RC",
        (_, true) => "C",
        (_, false) => "D",
    };
    // The German banks write the third letter of the currency as funds code (DK spec, the
    // "DR"/"CR" of the Sparkasse files is D/C plus the R of EUR).
    if dialect == Dialect::Mt940Gvc { format!("{base}Y") } else { base.to_string() }
}

/// GVC (Geschäftsvorfallcode) of the DK specification.
fn gvc(t: &Tx, a: &Acct) -> &'static str {
    let credit = t.amount > 0;
    match &t.kind {
        TxKind::Transfer => {
            if credit {
                "166"
            } else {
                "116"
            }
        }
        TxKind::Batch { .. } => "191",
        TxKind::Fee(_) | TxKind::Interest(_) => "805",
        TxKind::Return { .. } => "159",
        TxKind::DdCollection { .. } => "171",
        TxKind::DdReturn { .. } => "109",
        TxKind::Reversal { of } => gvc(&a.txs[*of], a),
    }
}

/// The transaction type of `:61:` (N + 3 characters).
fn type_code(t: &Tx, a: &Acct) -> String {
    let credit = t.amount > 0;
    match a.dialect {
        Dialect::Mt940Gvc => format!("N{}", gvc(t, a)),
        // Rabobank appendix 1: numeric transaction type codes.
        Dialect::Mt940Rabo | Dialect::Mt940Abn => {
            let c = match &t.kind {
                TxKind::Transfer if credit => "541",
                TxKind::Transfer => "544",
                TxKind::Batch { .. } => "547",
                TxKind::Fee(_) => "093",
                TxKind::Interest(_) => "080",
                TxKind::Return { .. } => "546",
                TxKind::DdCollection { .. } => "067",
                TxKind::DdReturn { .. } => "069",
                TxKind::Reversal { .. } => "208",
            };
            format!("N{c}")
        }
        _ => {
            let c = match &t.kind {
                TxKind::Transfer | TxKind::Batch { .. } => "TRF",
                TxKind::Fee(_) => "CHG",
                TxKind::Interest(_) => "INT",
                TxKind::Return { .. } | TxKind::DdReturn { .. } => "RTI",
                TxKind::DdCollection { .. } => "DDT",
                TxKind::Reversal { of } => return type_code(&a.txs[*of], a),
            };
            format!("N{c}")
        }
    }
}

fn party_name(t: &Tx) -> String {
    t.cp.as_ref().map(|p| p.name.clone()).unwrap_or_default()
}
fn party_acct(t: &Tx) -> String {
    t.cp.as_ref().map(|p| p.acct.clone()).unwrap_or_default()
}

/// The free text of an entry, with the reversed entry's reference for a reversal.
fn text(a: &Acct, t: &Tx) -> String {
    match reversed_ref(a, t) {
        Some(r) => format!("冲正 原流水号{r}"),
        None => t.remit.clone(),
    }
}

/// Splits `s` into lines of at most `n` characters wherever the text falls (also inside a
/// code word: Rabobank/ING guides, "field 86 is 6*65x", continuation lines without a tag).
fn wrap(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("\n")
}

fn entry(s: &mut String, a: &Acct, t: &Tx) {
    let d = a.dialect;
    let vd = t.date.format("%y%m%d");
    let ed = t.date.format("%m%d");
    let amt = amount61(t.amount, d);
    let mk = mark(t, d);
    let code = type_code(t, a);
    let e2e = t.e2e.clone();
    let pmtinf = match &t.kind {
        TxKind::Batch { pmtinf, .. } => pmtinf.clone(),
        _ => None,
    };
    let r = &t.bank_ref;
    match d {
        Dialect::Mt940Rabo => {
            // Rabobank MT940S: no entry date; subfield 7 says which code word holds the
            // reference (EREF/PREF/MARF/NONREF); the counterparty account on the next line.
            let sub7 = if pmtinf.is_some() {
                "PREF"
            } else if matches!(t.kind, TxKind::DdCollection { .. }) {
                "MARF"
            } else if e2e.is_some() {
                "EREF"
            } else {
                "NONREF"
            };
            s.push_str(&format!(":61:{vd}{mk}{amt}{code}{sub7}//{r}\n"));
            if let Some(p) = &t.cp {
                s.push_str(&format!("{}\n", p.acct));
            }
            s.push_str(&format!(":86:{}\n", wrap(&rabo86(a, t), 65)));
        }
        Dialect::Mt940Ing => {
            let sub7 = if pmtinf.is_some() {
                "PREF"
            } else if e2e.is_some() {
                "EREF"
            } else {
                "NONREF"
            };
            let trcd = match &t.kind {
                TxKind::Batch { .. } => "00150",
                TxKind::Fee(_) => "00600",
                TxKind::Interest(_) => "00700",
                TxKind::Return { .. } => "00190",
                TxKind::DdCollection { .. } => "01016",
                TxKind::DdReturn { .. } => "01019",
                _ => "00100",
            };
            s.push_str(&format!(":61:{vd}{ed}{mk}{amt}{code}{sub7}//{r}\n/TRCD/{trcd}/\n"));
            s.push_str(&format!(":86:{}\n", wrap(&ing86(a, t), 65)));
        }
        Dialect::Mt940Abn => {
            s.push_str(&format!(":61:{vd}{ed}{mk}{amt}{code}NONREF//{r}\n"));
            s.push_str(&format!(":86:{}\n", wrap(&abn86(a, t), 65)));
        }
        Dialect::Mt940Gvc => {
            s.push_str(&format!(":61:{vd}{ed}{mk}{amt}{code}NONREF//{r}\n"));
            s.push_str(&format!(":86:{}\n", wrap(&gvc86(a, t), 65)));
        }
        Dialect::Mt940FreeZh => {
            // BOC demo: customer reference in subfield 7 when the payer gave one.
            let sub7 = t.cust_ref.clone().unwrap_or_else(|| "NONREF".into());
            s.push_str(&format!(":61:{vd}{ed}{mk}{amt}{code}{sub7}//{r}\n"));
            s.push_str(&format!(":86:{}\n", wrap(&free_zh(a, t), 65)));
        }
        Dialect::Mt940FreeEn => {
            // HSBC: subfield 7 padded with blanks before "//" (php-mt940 Hsbc_sample.sta).
            let sub7 = t.cust_ref.clone().unwrap_or_else(|| "NONREF".into());
            s.push_str(&format!(":61:{vd}{ed}{mk}{amt}{code}{sub7:<16}//{r}\n"));
            s.push_str(&format!(":86:{}\n", free_en(a, t)));
        }
        Dialect::Mt940Supp => {
            // The reference (or, without one, the counterparty account) only in the
            // supplementary details of :61: (subfield 9, 34x).
            let supp = t
                .cust_ref
                .clone()
                .or_else(|| e2e.clone())
                .or_else(|| t.cp.as_ref().map(|p| p.acct.clone()))
                .unwrap_or_default();
            s.push_str(&format!(":61:{vd}{ed}{mk}{amt}{code}NONREF//{r}\n"));
            if !supp.is_empty() {
                s.push_str(&format!("{}\n", supp.chars().take(34).collect::<String>()));
            }
            let mut txt = text(a, t);
            if let Some(p) = &t.cp {
                txt = format!("{txt} {}", p.name);
            }
            s.push_str(&format!(":86:{}\n", wrap(&txt, 65)));
        }
        Dialect::Mt940Danske => {
            // Danske: the reference in subfield 7, then one :86: per line of information.
            let sub7 = t.cust_ref.clone().or_else(|| e2e.clone()).unwrap_or_else(|| "NONREF".into());
            s.push_str(&format!(":61:{vd}{ed}{mk}{amt}{code}{sub7}//{r}\n"));
            for line in danske86(a, t) {
                s.push_str(&format!(":86:{line}\n"));
            }
        }
        _ => unreachable!(),
    }
}

/// Rabobank MT940 Structured, field 86 (§3.2/3.3 of the format description).
/// With an odd account index the party's name follows the code word directly
/// (`/BENM/name`, as php-mt940 Kbs_sample.sta writes `/BENM/…`), else the Rabobank
/// sub-field form `/BENM//NAME/name` (with `/ID/` and `/ADDR/` sub-fields where known).
fn rabo86(a: &Acct, t: &Tx) -> String {
    let credit = t.amount > 0;
    let date = t.date.format("%Y-%m-%d");
    let who = if credit { "ORDP" } else { "BENM" };
    let direct = a.idx % 2 == 1;
    let named =
        |who: &str, name: String| if direct { format!("/{who}/{name}") } else { format!("/{who}//NAME/{name}") };
    match &t.kind {
        TxKind::Batch { pmtinf, items } => {
            let pref = pmtinf.clone().map(|p| format!("/PREF/{p}")).unwrap_or_default();
            format!("{pref}/NRTX/{}/REMI/{}", items.len(), t.remit)
        }
        TxKind::Fee(_) | TxKind::Interest(_) => format!("/REMI/{}", t.remit),
        TxKind::Return { reason, orig, .. } => format!(
            "/RTRN/{reason}/EREF/{}{}/REMI/{}/ISDT/{date}",
            orig.clone().unwrap_or_else(|| "NOTPROVIDED".into()),
            named(who, party_name(t)),
            t.remit
        ),
        TxKind::DdCollection { mandate } | TxKind::DdReturn { mandate, .. } => {
            let rtrn = match &t.kind {
                TxKind::DdReturn { reason, .. } => format!("/RTRN/{reason}"),
                _ => String::new(),
            };
            format!(
                "{rtrn}/EREF/{}/MARF/{mandate}/CSID/CN88ZZZ{:010}{}/ID/{}/REMI/{}",
                t.e2e.clone().unwrap_or_else(|| "NOTPROVIDED".into()),
                a.idx,
                named("ORDP", party_name(t)),
                party_acct(t),
                t.remit
            )
        }
        TxKind::Reversal { .. } => format!("{}/REMI/{}", named(who, party_name(t)), text(a, t)),
        TxKind::Transfer => {
            let addr = if credit && t.bank_ref.ends_with(['1', '4', '7']) {
                "/ADDR/中国 广西".to_string()
            } else {
                String::new()
            };
            format!(
                "/EREF/{}{}{addr}/REMI/{}/ISDT/{date}",
                t.e2e.clone().unwrap_or_else(|| "NOTPROVIDED".into()),
                named(who, party_name(t)),
                t.remit
            )
        }
    }
}

/// ING Structured MT940 (V.4): every code word a segment `/CODE/subfields/`, segments
/// written one after the other (so `//` between them), `/CNTP/account/BIC/name/city/`,
/// `/REMI/USTD//text/` (zilverline ing_purp.txt, ing_references.txt).
fn ing86(a: &Acct, t: &Tx) -> String {
    let mut seg: Vec<String> = Vec::new();
    let cntp = t.cp.as_ref().map(|p| format!("/CNTP/{}/{}/{}/NANNING/", p.acct, p.bic, p.name));
    let remi = format!("/REMI/USTD//{}/", text(a, t));
    match &t.kind {
        TxKind::Batch { pmtinf, items } => {
            if let Some(p) = pmtinf {
                seg.push(format!("/PREF/{p}/"));
            }
            seg.push(format!("/NRTX/{}/", items.len()));
        }
        TxKind::Fee(_) | TxKind::Interest(_) => {}
        TxKind::Return { reason, orig, .. } => {
            seg.push(format!("/RTRN/{reason}/"));
            if let Some(o) = orig {
                seg.push(format!("/EREF/{o}/"));
            }
        }
        TxKind::DdCollection { mandate } | TxKind::DdReturn { mandate, .. } => {
            if let TxKind::DdReturn { reason, .. } = &t.kind {
                seg.push(format!("/RTRN/{reason}/"));
            }
            if let Some(e) = &t.e2e {
                seg.push(format!("/EREF/{e}/"));
            }
            seg.push(format!("/MARF/{mandate}/"));
            seg.push(format!("/CSID/CN88ZZZ{:010}/", a.idx));
        }
        _ => {
            if let Some(e) = &t.e2e {
                seg.push(format!("/EREF/{e}/"));
            }
        }
    }
    seg.extend(cntp);
    seg.push(remi);
    if t.amount < 0 && matches!(t.kind, TxKind::Transfer) && t.bank_ref.ends_with(['0', '3', '6']) {
        seg.push("/PURP/SSBE/".into());
    }
    seg.concat()
}

/// ABN AMRO structured SEPA field 86 (zilverline abn_structured_sepa_overboeking.txt).
fn abn86(a: &Acct, t: &Tx) -> String {
    let p = t.cp.as_ref();
    let party = p.map(|p| format!("/IBAN/{}/BIC/{}/NAME/{}", p.acct, p.bic, p.name)).unwrap_or_default();
    let eref = t.e2e.clone().unwrap_or_else(|| "NOTPROVIDED".into());
    match &t.kind {
        TxKind::Batch { pmtinf, items } => format!(
            "/TRTP/SEPA OVERBOEKING BATCH/PREF/{}/NRTX/{}/REMI/{}",
            pmtinf.clone().unwrap_or_else(|| "NOTPROVIDED".into()),
            items.len(),
            t.remit
        ),
        TxKind::Fee(_) => format!("/TRTP/KOSTEN/REMI/{}", t.remit),
        TxKind::Interest(_) => format!("/TRTP/RENTE/REMI/{}", t.remit),
        TxKind::Return { reason, .. } => {
            format!("/TRTP/SEPA OVERBOEKING RETOUR{party}/RTRN/{reason}/REMI/{}/EREF/{eref}", t.remit)
        }
        TxKind::DdCollection { mandate } => {
            format!("/TRTP/SEPA INCASSO{party}/MARF/{mandate}/REMI/{}/EREF/{eref}", t.remit)
        }
        TxKind::DdReturn { reason, mandate, .. } => {
            format!("/TRTP/SEPA INCASSO STORNO{party}/MARF/{mandate}/RTRN/{reason}/REMI/{}/EREF/{eref}", t.remit)
        }
        TxKind::Reversal { .. } => format!("/TRTP/STORNO{party}/REMI/{}", text(a, t)),
        TxKind::Transfer => format!("/TRTP/SEPA OVERBOEKING{party}/REMI/{}/EREF/{eref}", t.remit),
    }
}

/// DK field 86: GVC, ?00 posting text, ?10 primanota, ?20–?29 purpose in 27-character
/// pieces with SEPA prefixes (EREF+, MREF+, SVWZ+), ?30 BIC, ?31 account, ?32/?33 name,
/// ?34 text key extension (jejik sparkasse.txt, WoLpH sparkassen.sta).
fn gvc86(a: &Acct, t: &Tx) -> String {
    let g = gvc(t, a);
    let posting = match &t.kind {
        TxKind::Transfer if t.amount > 0 => "SEPA-GUTSCHRIFT",
        TxKind::Transfer => "SEPA-UEBERWEISUNG",
        TxKind::Batch { .. } => "SAMMLER-UEBERWEISUNG",
        TxKind::Fee(_) => "ENTGELTABSCHLUSS",
        TxKind::Interest(_) => "ABSCHLUSS ZINSEN",
        TxKind::Return { .. } => "RETOURE",
        TxKind::DdCollection { .. } => "SEPA-LASTSCHRIFT",
        TxKind::DdReturn { .. } => "RUECKLASTSCHRIFT",
        TxKind::Reversal { .. } => "STORNO",
    };
    let mut purpose = String::new();
    match &t.kind {
        TxKind::Return { orig: Some(o), .. } | TxKind::DdReturn { orig: Some(o), .. } => {
            purpose.push_str(&format!("EREF+{o} "));
        }
        TxKind::Batch { pmtinf: Some(p), items } => purpose.push_str(&format!("PREF+{p} ANZ {} ", items.len())),
        _ => {
            if let Some(e) = &t.e2e {
                purpose.push_str(&format!("EREF+{e} "));
            }
        }
    }
    if let TxKind::DdCollection { mandate } | TxKind::DdReturn { mandate, .. } = &t.kind {
        purpose.push_str(&format!("MREF+{mandate} CRED+CN88ZZZ{:010} ", a.idx));
    }
    if let TxKind::Return { reason, .. } | TxKind::DdReturn { reason, .. } = &t.kind {
        purpose.push_str(&format!("RTRN+{reason} "));
    }
    purpose.push_str(&format!("SVWZ+{}", text(a, t)));
    let chars: Vec<char> = purpose.chars().collect();
    let mut out = format!("{g}?00{posting}?10{}", 9000 + a.idx);
    for (i, c) in chars.chunks(27).take(10).enumerate() {
        out.push_str(&format!("?{}{}", 20 + i, c.iter().collect::<String>()));
    }
    if let Some(p) = &t.cp {
        let name: Vec<char> = p.name.chars().collect();
        out.push_str(&format!("?30{}?31{}?32{}", p.bic, p.acct, name.iter().take(27).collect::<String>()));
        if name.len() > 27 {
            out.push_str(&format!("?33{}", name[27..].iter().collect::<String>()));
        }
    }
    out.push_str("?34000");
    out
}

/// A Chinese bank's free text: 摘要 words, the counterparty, references wherever the
/// payer wrote them.
fn free_zh(a: &Acct, t: &Tx) -> String {
    let body = text(a, t);
    match &t.kind {
        TxKind::Fee(_) | TxKind::Interest(_) => body,
        TxKind::Batch { .. } => format!("批量代发 {body}"),
        TxKind::Reversal { .. } => body,
        _ => match &t.cp {
            Some(p) if t.amount > 0 => format!("{body} 付款人:{} 账号:{}", p.name, p.acct),
            Some(p) => format!("{body} 收款人:{} 账号:{}", p.name, p.acct),
            None => body,
        },
    }
}

/// HSBC/Citi: English words around the payer's text, lines of up to 65 characters.
fn free_en(a: &Acct, t: &Tx) -> String {
    let body = text(a, t);
    let mut lines: Vec<String> = Vec::new();
    match &t.kind {
        TxKind::Fee(n) => lines.push(format!("CHARGES {n}")),
        TxKind::Interest(p) => lines.push(format!("CREDIT INTEREST {p}")),
        TxKind::Batch { items, pmtinf } => {
            lines.push(format!("BULK PAYMENT {} ITEMS", items.len()));
            if let Some(p) = pmtinf {
                lines.push(format!("BATCH REF {p}"));
            }
            lines.push(body);
        }
        TxKind::Return { reason, orig, .. } => {
            lines.push(format!("RETURNED PAYMENT REASON {reason}"));
            if let Some(o) = orig {
                lines.push(format!("ORIG REF {o}"));
            }
            lines.push(body);
        }
        TxKind::DdReturn { reason, orig, .. } => {
            lines.push(format!("DIRECT DEBIT RETURNED {reason}"));
            if let Some(o) = orig {
                lines.push(format!("ORIG REF {o}"));
            }
            lines.push(body);
        }
        TxKind::Reversal { of } => lines.push(format!("REVERSAL OF {}", a.txs[*of].bank_ref)),
        _ => {
            let dir = if t.amount > 0 { "TRANSFER CREDIT FROM" } else { "PAYMENT TO" };
            lines.push(dir.to_string());
            lines.push(body);
        }
    }
    if let Some(p) = &t.cp
        && !matches!(t.kind, TxKind::Reversal { .. })
    {
        lines.push(format!("/BENM/{}", p.name));
        lines.push(format!("A/C {}", p.acct));
    }
    lines.iter().map(|l| wrap(l, 65)).collect::<Vec<_>>().join("\n")
}

fn danske86(a: &Acct, t: &Tx) -> Vec<String> {
    let mut v = vec![text(a, t).chars().take(65).collect::<String>()];
    match &t.kind {
        TxKind::Batch { items, pmtinf } => {
            v.push(format!("BULK PAYMENT {} TRANSACTIONS", items.len()));
            if let Some(p) = pmtinf {
                v.push(format!("PAYMENT INFORMATION ID {p}"));
            }
        }
        TxKind::Return { reason, orig, .. } | TxKind::DdReturn { reason, orig, .. } => {
            v.push(format!("RETURN REASON {reason}"));
            if let Some(o) = orig {
                v.push(format!("ORIGINAL REFERENCE {o}"));
            }
        }
        _ => {}
    }
    if let Some(p) = &t.cp {
        v.push(p.name.chars().take(65).collect());
        v.push(p.acct.clone());
    }
    v
}
