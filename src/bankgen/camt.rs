//! camt.053 in three dialects:
//! - `CamtFull`: camt.053.001.02 as the CGI-MP / DK / Swiss SPS guides show it: one TxDtls per
//!   entry with Refs (InstrId, EndToEndId, MndtId), RltdPties, RmtInf (Ustrd, or Strd/CdtrRefInf
//!   for a payer's structured reference), RtrInf with the ISO reason code; batches as
//!   `NtryDtls/Btch` (PmtInfId, NbOfTxs) plus one TxDtls per payee.
//! - `CamtAddtl`: camt.053.001.08 with only `AddtlNtryInf` and a proprietary BkTxCd, as many
//!   Asian banks fill it (fixtures/demo/icbc shows the v08 envelope).
//! - `CamtBatch`: camt.053.001.04, Nordea/SEB style: batch details without a PmtInfId, one
//!   TxDtls per payee carrying the payee's EndToEndId (viafintech/camt_parser
//!   spec/fixtures/053/valid_example_with_batch.xml; corpus camt/viafintech-camt_parser/053/).
//!
//! Returns (`RtrInf/Rsn/Cd`: AC04, AC01, MD07, BE01, AG01; for direct debits AM04, MS02,
//! MD06, MD01) follow the EPC "Guidance on reason codes for SCT/SDD R-transactions";
//! reversals carry `RvslInd` true; fees BkTxCd ACMT/MDOP/CHRG, interest ACMT/MDOP/INTR.

use super::{Acct, Dialect, Tx, TxKind, day_balances, day_txs, plain};
use chrono::NaiveDate;

pub(crate) fn render(a: &Acct, days: &[NaiveDate]) -> Vec<(String, Vec<u8>)> {
    let bal = day_balances(a, days);
    let (ns, v8) = match a.dialect {
        Dialect::CamtFull => ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.02", false),
        Dialect::CamtAddtl => ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", true),
        _ => ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.04", false),
    };
    let mut out = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let (open, close) = bal[i];
        let ymd = d.format("%Y-%m-%d");
        let mut s = String::new();
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.push_str(&format!("<Document xmlns=\"{ns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"));
        s.push_str("<BkToCstmrStmt>\n");
        s.push_str(&format!(
            "<GrpHdr><MsgId>{}-{}-{}</MsgId><CreDtTm>{ymd}T20:15:00+08:00</CreDtTm><MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn></GrpHdr>\n",
            a.dialect.name(),
            a.idx,
            d.format("%Y%m%d")
        ));
        s.push_str(&format!(
            "<Stmt>\n<Id>{}{}</Id>\n<ElctrncSeqNb>{}</ElctrncSeqNb>\n<CreDtTm>{ymd}T20:15:00+08:00</CreDtTm>\n",
            a.idx,
            d.format("%Y%m%d"),
            i + 1
        ));
        s.push_str(&format!(
            "<FrToDt><FrDtTm>{ymd}T00:00:00+08:00</FrDtTm><ToDtTm>{ymd}T23:59:59+08:00</ToDtTm></FrToDt>\n"
        ));
        let acct_id = match a.dialect {
            // Chinese banks print account numbers in groups of four.
            Dialect::CamtAddtl => {
                a.no.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(" ")
            }
            _ => a.no.clone(),
        };
        s.push_str(&format!(
            "<Acct><Id><Othr><Id>{}</Id></Othr></Id><Ccy>CNY</Ccy><Ownr><Nm>{}</Nm></Ownr></Acct>\n",
            esc(&acct_id),
            esc(&a.name)
        ));
        let (op, cl) = if a.dialect == Dialect::CamtAddtl { ("PRCD", "CLBD") } else { ("OPBD", "CLBD") };
        let prev = if i == 0 { d.pred_opt().expect("date") } else { days[i - 1] };
        let bal_date = if a.dialect == Dialect::CamtAddtl { prev } else { *d };
        s.push_str(&balance(op, open, bal_date));
        s.push_str(&balance(cl, close, *d));
        let range = day_txs(a, *d);
        if a.dialect != Dialect::CamtAddtl {
            let (mut nc, mut sc, mut nd, mut sd) = (0, 0i64, 0, 0i64);
            for t in &a.txs[range.clone()] {
                if t.amount > 0 {
                    nc += 1;
                    sc += t.amount;
                } else {
                    nd += 1;
                    sd -= t.amount;
                }
            }
            s.push_str(&format!(
                "<TxsSummry><TtlCdtNtries><NbOfNtries>{nc}</NbOfNtries><Sum>{}</Sum></TtlCdtNtries><TtlDbtNtries><NbOfNtries>{nd}</NbOfNtries><Sum>{}</Sum></TtlDbtNtries></TxsSummry>\n",
                plain(sc),
                plain(sd)
            ));
        }
        for k in range {
            entry(&mut s, a, &a.txs[k], v8);
        }
        s.push_str("</Stmt>\n</BkToCstmrStmt>\n</Document>\n");
        out.push((format!("{}/{}_{}.xml", a.dialect.name(), a.no, d.format("%Y%m%d")), s.into_bytes()));
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn balance(code: &str, fen: i64, d: NaiveDate) -> String {
    let ind = if fen < 0 { "DBIT" } else { "CRDT" };
    format!(
        "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"CNY\">{}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{}</Dt></Dt></Bal>\n",
        plain(fen.abs()),
        d.format("%Y-%m-%d")
    )
}

fn bktxcd(t: &Tx, a: &Acct) -> (&'static str, &'static str, &'static str) {
    let credit = t.amount > 0;
    match &t.kind {
        TxKind::Transfer if credit => ("PMNT", "RCDT", "ESCT"),
        TxKind::Transfer => ("PMNT", "ICDT", "ESCT"),
        TxKind::Batch { .. } => ("PMNT", "ICDT", "ESCT"),
        TxKind::Fee(_) => ("ACMT", "MDOP", "CHRG"),
        TxKind::Interest(_) => ("ACMT", "MDOP", "INTR"),
        TxKind::Return { .. } => ("PMNT", "ICDT", "RRTN"),
        TxKind::DdCollection { .. } => ("PMNT", "RDDT", "ESDD"),
        TxKind::DdReturn { .. } => ("PMNT", "RDDT", "UPDD"),
        TxKind::Reversal { of } => bktxcd(&a.txs[*of], a),
    }
}

/// A party: v02/v04 `<Dbtr><Nm>`, v08 `<Dbtr><Pty><Nm>`.
fn party(tag: &str, name: &str, acct: &str, v8: bool) -> String {
    let nm = if v8 {
        format!("<{tag}><Pty><Nm>{}</Nm></Pty></{tag}>", esc(name))
    } else {
        format!("<{tag}><Nm>{}</Nm></{tag}>", esc(name))
    };
    format!("{nm}<{tag}Acct><Id><Othr><Id>{}</Id></Othr></Id></{tag}Acct>", esc(acct))
}

fn entry(s: &mut String, a: &Acct, t: &Tx, v8: bool) {
    let credit = t.amount > 0;
    let ind = if credit { "CRDT" } else { "DBIT" };
    let date = t.date.format("%Y-%m-%d");
    s.push_str("<Ntry>\n");
    s.push_str(&format!("<Amt Ccy=\"CNY\">{}</Amt><CdtDbtInd>{ind}</CdtDbtInd>", plain(t.amount.abs())));
    if matches!(t.kind, TxKind::Reversal { .. }) {
        s.push_str("<RvslInd>true</RvslInd>");
    }
    if v8 {
        s.push_str("<Sts><Cd>BOOK</Cd></Sts>");
    } else {
        s.push_str("<Sts>BOOK</Sts>");
    }
    s.push_str(&format!("<BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt>"));
    s.push_str(&format!("<AcctSvcrRef>{}</AcctSvcrRef>\n", esc(&t.bank_ref)));
    let (dm, fm, sf) = bktxcd(t, a);
    match a.dialect {
        Dialect::CamtAddtl => {
            // A proprietary code only, the bank's own (as Chinese banks' camt do).
            let prtry = match &t.kind {
                TxKind::Fee(_) => "FEE",
                TxKind::Interest(_) => "INT",
                TxKind::Batch { .. } => "BAT",
                TxKind::Return { .. } | TxKind::DdReturn { .. } => "RTN",
                TxKind::Reversal { .. } => "REV",
                _ => "TRF",
            };
            s.push_str(&format!("<BkTxCd><Prtry><Cd>{prtry}</Cd><Issr>CN-BANK</Issr></Prtry></BkTxCd>\n"));
            s.push_str(&format!("<AddtlNtryInf>{}</AddtlNtryInf>\n", esc(&addtl(a, t))));
        }
        _ => {
            s.push_str(&format!(
                "<BkTxCd><Domn><Cd>{dm}</Cd><Fmly><Cd>{fm}</Cd><SubFmlyCd>{sf}</SubFmlyCd></Fmly></Domn></BkTxCd>\n"
            ));
            s.push_str(&details(a, t, v8));
            let info = match &t.kind {
                TxKind::Fee(n) => Some(n.to_string()),
                TxKind::Interest(_) => Some(t.remit.clone()),
                TxKind::Reversal { of } => Some(format!("冲正 {}", a.txs[*of].bank_ref)),
                _ => None,
            };
            if let Some(i) = info {
                s.push_str(&format!("<AddtlNtryInf>{}</AddtlNtryInf>\n", esc(&i)));
            }
        }
    }
    s.push_str("</Ntry>\n");
}

/// Everything in one text, as banks without TxDtls write it.
fn addtl(a: &Acct, t: &Tx) -> String {
    let cp = t.cp.as_ref().map(|p| format!(" 对方户名:{} 对方账号:{}", p.name, p.acct)).unwrap_or_default();
    match &t.kind {
        TxKind::Fee(n) => format!("收费 {n}"),
        TxKind::Interest(_) => format!("结息 {}", t.remit),
        TxKind::Batch { items, pmtinf } => {
            let p = pmtinf.clone().map(|p| format!(" 批次号:{p}")).unwrap_or_default();
            format!("代发 {}{p} 笔数:{}", t.remit, items.len())
        }
        TxKind::Reversal { of } => format!("冲正 原交易流水号:{}{cp}", a.txs[*of].bank_ref),
        TxKind::Return { reason, .. } | TxKind::DdReturn { reason, .. } => {
            format!("{} 原因代码:{reason}{cp}", t.remit)
        }
        _ => {
            let r = t.cust_ref.clone().map(|r| format!(" 客户参考号:{r}")).unwrap_or_default();
            format!("用途:{}{r}{cp}", t.remit)
        }
    }
}

fn details(a: &Acct, t: &Tx, v8: bool) -> String {
    let credit = t.amount > 0;
    let mut s = String::from("<NtryDtls>");
    match &t.kind {
        TxKind::Fee(_) | TxKind::Interest(_) | TxKind::Reversal { .. } if t.cp.is_none() => {
            s.clear();
            return s;
        }
        TxKind::Batch { items, pmtinf } => {
            // Full: Btch with PmtInfId; Batch dialect: Btch without PmtInfId (only NbOfTxs,
            // TtlAmt), the payees' EndToEndIds in the TxDtls.
            let pi = match (a.dialect, pmtinf) {
                (Dialect::CamtFull, Some(p)) => format!("<PmtInfId>{}</PmtInfId>", esc(p)),
                (Dialect::CamtBatch, Some(p)) if t.bank_ref.ends_with(['0', '2', '4', '6', '8']) => {
                    format!("<PmtInfId>{}</PmtInfId>", esc(p))
                }
                _ => String::new(),
            };
            s.push_str(&format!(
                "<Btch>{pi}<NbOfTxs>{}</NbOfTxs><TtlAmt Ccy=\"CNY\">{}</TtlAmt><CdtDbtInd>DBIT</CdtDbtInd></Btch>\n",
                items.len(),
                plain(-t.amount)
            ));
            for it in items {
                s.push_str("<TxDtls><Refs>");
                if let Some(p) = pmtinf {
                    s.push_str(&format!("<PmtInfId>{}</PmtInfId>", esc(p)));
                }
                s.push_str(&format!(
                    "<EndToEndId>{}</EndToEndId></Refs>",
                    esc(it.e2e.as_deref().unwrap_or("NOTPROVIDED"))
                ));
                s.push_str(&format!("<AmtDtls><TxAmt><Amt Ccy=\"CNY\">{}</Amt></TxAmt></AmtDtls>", plain(it.amount)));
                s.push_str(&format!(
                    "<RltdPties>{}</RltdPties><RmtInf><Ustrd>{}</Ustrd></RmtInf></TxDtls>\n",
                    party("Cdtr", &it.party.name, &it.party.acct, v8),
                    esc(&t.remit)
                ));
            }
            s.push_str("</NtryDtls>\n");
            return s;
        }
        _ => {}
    }
    s.push_str("<TxDtls><Refs>");
    if let Some(r) = &t.cust_ref
        && a.dialect == Dialect::CamtFull
    {
        s.push_str(&format!("<InstrId>{}</InstrId>", esc(r)));
    }
    let e2e = t.e2e.clone().unwrap_or_else(|| "NOTPROVIDED".into());
    s.push_str(&format!("<EndToEndId>{}</EndToEndId>", esc(&e2e)));
    if let TxKind::DdCollection { mandate } | TxKind::DdReturn { mandate, .. } = &t.kind {
        s.push_str(&format!("<MndtId>{}</MndtId>", esc(mandate)));
    }
    s.push_str("</Refs>");
    if v8 || a.dialect == Dialect::CamtBatch {
        s.push_str(&format!(
            "<Amt Ccy=\"CNY\">{}</Amt><CdtDbtInd>{}</CdtDbtInd>",
            plain(t.amount.abs()),
            if credit { "CRDT" } else { "DBIT" }
        ));
    } else {
        s.push_str(&format!("<AmtDtls><TxAmt><Amt Ccy=\"CNY\">{}</Amt></TxAmt></AmtDtls>", plain(t.amount.abs())));
    }
    if let Some(p) = &t.cp {
        // The counterparty: the debtor of a credit, the creditor of a debit; for a returned
        // direct debit the original debtor (it refused the collection).
        let tag = match &t.kind {
            TxKind::DdReturn { .. } => "Dbtr",
            _ if credit => "Dbtr",
            _ => "Cdtr",
        };
        s.push_str(&format!("<RltdPties>{}</RltdPties>", party(tag, &p.name, &p.acct, v8)));
    }
    // A payer's reference given as a structured creditor reference (CGI-MP: RmtInf/Strd).
    let strd = match (&t.kind, &t.cust_ref) {
        (TxKind::Transfer, Some(r)) if credit && a.dialect == Dialect::CamtFull => Some(r.clone()),
        _ => None,
    };
    let text = match &t.kind {
        TxKind::Reversal { of } => format!("冲正 原流水号{}", a.txs[*of].bank_ref),
        _ => t.remit.clone(),
    };
    match strd {
        Some(r) => s.push_str(&format!(
            "<RmtInf><Ustrd>{}</Ustrd><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{}</Ref></CdtrRefInf></Strd></RmtInf>",
            esc(&text),
            esc(&r)
        )),
        None => s.push_str(&format!("<RmtInf><Ustrd>{}</Ustrd></RmtInf>", esc(&text))),
    }
    if let TxKind::Return { reason, reason_zh, .. } | TxKind::DdReturn { reason, reason_zh, .. } = &t.kind {
        s.push_str(&format!("<RtrInf><Rsn><Cd>{reason}</Cd></Rsn><AddtlInf>{}</AddtlInf></RtrInf>", esc(reason_zh)));
    }
    s.push_str("</TxDtls>\n</NtryDtls>\n");
    s
}
