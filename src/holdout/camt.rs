//! camt.053 in three hands (ISO 20022 BankToCustomerStatement; element names per the
//! message definition of each version).
//!
//! - `CamtSps`: camt.053.001.08 per the Swiss Payment Standards implementation guidelines
//!   for cash management (SIX, 2022): `MsgPgntn`, OPBD/CLBD, `Sts/Cd`, Domn/Fmly/SubFmly
//!   codes, batch bookings with `Btch` and a `TxDtls` per transaction (`Refs/EndToEndId`,
//!   `InstrId`, `PmtInfId`), structured creditor references (`Strd/CdtrRefInf`, SCOR),
//!   returns as PMNT/ICDT/RRTN with `RtrInf/Rsn/Cd`, `AddtlTxInf`, reversals with `RvslInd`.
//! - `CamtDk`: camt.053.001.02 per the Deutsche Kreditwirtschaft specification (DFÜ-Abkommen
//!   Anlage 3, "camt.053 Kontoauszug"): PRCD + CLBD, `Sts` as text, `AmtDtls/TxAmt`, the
//!   bank transaction code twice (ISO `Domn` and the DK `Prtry` "NTRF+116+…" with
//!   `Issr` DK), `AddtlNtryInf` as the booking text, batches (Sammler) as one entry with
//!   `Btch/PmtInfId` and `NbOfTxs` and no transaction details unless ordered.
//! - `CamtNordea`: camt.053.001.02 as Nordic banks deliver it (Nordea / SEB camt.053 MIGs):
//!   `NtryRef`, OPBD/CLBD/CLAV, salary batches with `Btch/NbOfTxs` and a `TxDtls` per
//!   payee carrying its `EndToEndId` (no batch id), `RtrInf` with the ISO reason on returns.

use super::{Account, Act, BatchShow, DD_REASONS, Dialect, Ent, FEES, REASONS, Rng, per_day, yuan};
use chrono::NaiveDate;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

struct X {
    s: String,
    v08: bool,
}

impl X {
    fn line(&mut self, depth: usize, t: &str) {
        for _ in 0..depth {
            self.s.push_str("  ");
        }
        self.s.push_str(t);
        self.s.push('\n');
    }
    fn el(&mut self, depth: usize, name: &str, v: &str) {
        self.line(depth, &format!("<{name}>{}</{name}>", esc(v)));
    }
    fn amt(&mut self, depth: usize, name: &str, fen: i64) {
        self.line(depth, &format!("<{name} Ccy=\"CNY\">{}</{name}>", yuan(fen.abs())));
    }
    fn party(&mut self, depth: usize, role: &str, name: &str, acct: &str) {
        if !name.is_empty() {
            if self.v08 {
                self.line(depth, &format!("<{role}><Pty><Nm>{}</Nm></Pty></{role}>", esc(name)));
            } else {
                self.line(depth, &format!("<{role}><Nm>{}</Nm></{role}>", esc(name)));
            }
        }
        if !acct.is_empty() {
            self.line(depth, &format!("<{role}Acct><Id><Othr><Id>{}</Id></Othr></Id></{role}Acct>", esc(acct)));
        }
    }
    fn tx_amt(&mut self, depth: usize, fen: i64) {
        if self.v08 {
            self.amt(depth, "Amt", fen);
        } else {
            self.line(depth, "<AmtDtls><TxAmt>");
            self.amt(depth + 1, "Amt", fen);
            self.line(depth, "</TxAmt></AmtDtls>");
        }
    }
}

fn looks_like_our_ref(o: &str) -> bool {
    o.starts_with("FK") || o.starts_with("DF") || o.starts_with("TS")
}

pub(super) fn render(a: &Account, days: &[NaiveDate], rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let v08 = a.dialect == Dialect::CamtSps;
    let seq0 = rng.range(1, 200);
    let mut prev = days[0].pred_opt().unwrap_or(days[0]);
    for (k, (d, open, es, close)) in per_day(a, days).into_iter().enumerate() {
        let mut x = X { s: String::new(), v08 };
        let ns = if v08 {
            "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
        } else {
            "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
        };
        x.line(0, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        x.line(0, &format!("<Document xmlns=\"{ns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"));
        x.line(1, "<BkToCstmrStmt>");
        x.line(2, "<GrpHdr>");
        x.el(3, "MsgId", &format!("{}{}{:03}", &a.bic[..4], d.format("%Y%m%d"), seq0 + k as i64));
        x.el(3, "CreDtTm", &format!("{}T19:30:00+08:00", d.format("%Y-%m-%d")));
        if v08 {
            x.line(3, "<MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn>");
        }
        x.line(2, "</GrpHdr>");
        x.line(2, "<Stmt>");
        x.el(3, "Id", &format!("{}-{}", a.no, d.format("%Y%m%d")));
        x.el(3, "ElctrncSeqNb", &(seq0 + k as i64).to_string());
        if v08 {
            x.el(3, "LglSeqNb", &(seq0 + k as i64).to_string());
        }
        x.el(3, "CreDtTm", &format!("{}T19:30:00+08:00", d.format("%Y-%m-%d")));
        x.line(
            3,
            &format!(
                "<FrToDt><FrDtTm>{0}T00:00:00+08:00</FrDtTm><ToDtTm>{0}T23:59:59+08:00</ToDtTm></FrToDt>",
                d.format("%Y-%m-%d")
            ),
        );
        x.line(3, "<Acct>");
        x.line(4, &format!("<Id><Othr><Id>{}</Id></Othr></Id>", a.no));
        x.el(4, "Ccy", "CNY");
        x.line(4, &format!("<Ownr><Nm>{}</Nm></Ownr>", esc(&a.name)));
        let bic_tag = if v08 { "BICFI" } else { "BIC" };
        x.line(4, &format!("<Svcr><FinInstnId><{bic_tag}>{}</{bic_tag}></FinInstnId></Svcr>", a.bic));
        x.line(3, "</Acct>");
        let (open_code, open_date) = if a.dialect == Dialect::CamtDk { ("PRCD", prev) } else { ("OPBD", d) };
        balance(&mut x, open_code, open, open_date);
        balance(&mut x, "CLBD", close, d);
        if a.dialect == Dialect::CamtNordea {
            balance(&mut x, "CLAV", close, d);
        }
        let cr: Vec<&&Ent> = es.iter().filter(|e| e.amt > 0).collect();
        let db: Vec<&&Ent> = es.iter().filter(|e| e.amt < 0).collect();
        let sum = |v: &[&&Ent]| v.iter().map(|e| e.amt.abs()).sum::<i64>();
        x.line(3, "<TxsSummry>");
        x.line(
            4,
            &format!(
                "<TtlNtries><NbOfNtries>{}</NbOfNtries><Sum>{}</Sum></TtlNtries>",
                es.len(),
                yuan(sum(&cr) + sum(&db))
            ),
        );
        x.line(
            4,
            &format!("<TtlCdtNtries><NbOfNtries>{}</NbOfNtries><Sum>{}</Sum></TtlCdtNtries>", cr.len(), yuan(sum(&cr))),
        );
        x.line(
            4,
            &format!("<TtlDbtNtries><NbOfNtries>{}</NbOfNtries><Sum>{}</Sum></TtlDbtNtries>", db.len(), yuan(sum(&db))),
        );
        x.line(3, "</TxsSummry>");
        for (i, e) in es.iter().enumerate() {
            entry(&mut x, a.dialect, e, i + 1);
        }
        x.line(2, "</Stmt>");
        x.line(1, "</BkToCstmrStmt>");
        x.line(0, "</Document>");
        let name = match a.dialect {
            Dialect::CamtSps => format!("camt053_{}_{}.xml", a.no, d.format("%Y%m%d")),
            Dialect::CamtDk => format!("{}_{}_camt053.xml", d.format("%Y%m%d"), a.no),
            _ => format!("NDEA_CAMT053_{}_{}.xml", a.no, d.format("%y%m%d")),
        };
        out.push((name, x.s.into_bytes()));
        prev = d;
    }
    out
}

fn balance(x: &mut X, code: &str, fen: i64, d: NaiveDate) {
    x.line(3, "<Bal>");
    x.line(4, &format!("<Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"));
    x.amt(4, "Amt", fen);
    x.el(4, "CdtDbtInd", if fen < 0 { "DBIT" } else { "CRDT" });
    x.line(4, &format!("<Dt><Dt>{}</Dt></Dt>", d.format("%Y-%m-%d")));
    x.line(3, "</Bal>");
}

/// (Domn, Fmly, SubFmly, DK proprietary code)
fn codes(e: &Ent) -> (&'static str, &'static str, &'static str, &'static str) {
    match &e.act {
        Act::Out => ("PMNT", "ICDT", "DMCT", "NTRF+116+9310"),
        Act::In => ("PMNT", "RCDT", "DMCT", "NTRF+166+9310"),
        Act::Batch { .. } => ("PMNT", "ICDT", "SALA", "NTRF+191+9310"),
        Act::Fee(_) => ("ACMT", "MDOP", "CHRG", "NCHG+805+0000"),
        Act::Interest { .. } => ("ACMT", "MDOP", "INTR", "NINT+814+0000"),
        Act::Return => ("PMNT", "ICDT", "RRTN", "NRTI+159+9310"),
        Act::Collect => ("PMNT", "RDDT", "ESDD", "NDDT+171+9310"),
        Act::DdReturn => ("PMNT", "RDDT", "UPDD", "NRTI+109+9310"),
        Act::Reversal => ("PMNT", "ICDT", "DMCT", "NMSC+116+9310"),
    }
}

fn entry(x: &mut X, dia: Dialect, e: &Ent, n: usize) {
    let v08 = x.v08;
    x.line(3, "<Ntry>");
    if dia == Dialect::CamtNordea {
        x.el(4, "NtryRef", &n.to_string());
    }
    x.amt(4, "Amt", e.amt);
    x.el(4, "CdtDbtInd", if e.amt < 0 { "DBIT" } else { "CRDT" });
    if matches!(e.act, Act::Reversal) {
        x.el(4, "RvslInd", "true");
    }
    if v08 {
        x.line(4, "<Sts><Cd>BOOK</Cd></Sts>");
    } else {
        x.el(4, "Sts", "BOOK");
    }
    x.line(4, &format!("<BookgDt><Dt>{}</Dt></BookgDt>", e.date.format("%Y-%m-%d")));
    x.line(4, &format!("<ValDt><Dt>{}</Dt></ValDt>", e.date.format("%Y-%m-%d")));
    x.el(4, "AcctSvcrRef", &e.bref);
    let (dm, fm, sf, prtry) = codes(e);
    x.line(4, "<BkTxCd>");
    x.line(5, &format!("<Domn><Cd>{dm}</Cd><Fmly><Cd>{fm}</Cd><SubFmlyCd>{sf}</SubFmlyCd></Fmly></Domn>"));
    if dia == Dialect::CamtDk {
        x.line(5, &format!("<Prtry><Cd>{prtry}</Cd><Issr>DK</Issr></Prtry>"));
    }
    x.line(4, "</BkTxCd>");
    let (name, acct) = match &e.party {
        Some(p) if e.mask => (p.masked_name(), p.masked_acct()),
        Some(p) => (p.name.clone(), p.acct.clone()),
        None => (String::new(), String::new()),
    };
    let text_ref = match (&e.our_ref, e.slot) {
        (Some(r), false) => format!(" {r}"),
        _ => String::new(),
    };
    let e2e = match (&e.our_ref, e.slot) {
        (Some(r), true) => r.clone(),
        _ => "NOTPROVIDED".to_string(),
    };
    let addtl: String;
    match &e.act {
        Act::Batch { items, show, batch_ref, with_items, planned } => {
            x.line(4, "<NtryDtls>");
            x.line(5, "<Btch>");
            if *show == BatchShow::PmtInfId {
                x.el(6, "PmtInfId", batch_ref);
            }
            x.el(6, "NbOfTxs", &items.len().to_string());
            if *show != BatchShow::PmtInfId || dia != Dialect::CamtDk {
                x.amt(6, "TtlAmt", e.amt);
                x.el(6, "CdtDbtInd", "DBIT");
            }
            x.line(5, "</Btch>");
            if *with_items {
                for it in items {
                    x.line(5, "<TxDtls>");
                    x.line(6, "<Refs>");
                    if *show == BatchShow::PmtInfId && v08 {
                        x.el(7, "PmtInfId", batch_ref);
                    }
                    x.el(7, "EndToEndId", &it.id);
                    x.line(6, "</Refs>");
                    x.tx_amt(6, it.amt);
                    if v08 {
                        x.el(6, "CdtDbtInd", "DBIT");
                    }
                    x.line(6, "<RltdPties>");
                    x.party(7, "Cdtr", &it.party.name, &it.party.acct);
                    x.line(6, "</RltdPties>");
                    x.line(6, &format!("<RmtInf><Ustrd>{}</Ustrd></RmtInf>", esc(&e.purpose)));
                    x.line(5, "</TxDtls>");
                }
            } else if *show == BatchShow::RefInText {
                x.line(5, "<TxDtls>");
                x.line(6, &format!("<Refs><EndToEndId>{}</EndToEndId></Refs>", esc(&e2e)));
                x.tx_amt(6, e.amt);
                x.line(6, &format!("<RmtInf><Ustrd>{}{}</Ustrd></RmtInf>", esc(&e.purpose), esc(&text_ref)));
                x.line(5, "</TxDtls>");
            }
            x.line(4, "</NtryDtls>");
            addtl = match dia {
                Dialect::CamtDk => format!("SAMMLER-UEBERWEISUNG {} POSTEN", items.len()),
                Dialect::CamtSps => format!("Sammelauftrag {} Zahlungen / {} 共{}笔", items.len(), e.purpose, planned),
                _ => format!("SALARY BATCH {} PAYMENTS", items.len()),
            };
        }
        _ => {
            x.line(4, "<NtryDtls>");
            x.line(5, "<TxDtls>");
            x.line(6, "<Refs>");
            let mut quoted_in_text = None;
            match &e.act {
                Act::Return | Act::DdReturn => {
                    let o = e.orig.clone().unwrap_or_default();
                    if looks_like_our_ref(&o) {
                        x.el(7, "EndToEndId", &o);
                    } else {
                        x.el(7, "EndToEndId", "NOTPROVIDED");
                        quoted_in_text = Some(o);
                    }
                }
                Act::Collect | Act::In => {
                    let r =
                        e.payer_ref.clone().filter(|_| dia != Dialect::CamtSps).unwrap_or_else(|| "NOTPROVIDED".into());
                    x.el(7, "EndToEndId", &r);
                }
                Act::Reversal => {
                    x.el(7, "EndToEndId", "NOTPROVIDED");
                    quoted_in_text = e.orig.clone();
                }
                _ => {
                    if dia == Dialect::CamtSps && e2e != "NOTPROVIDED" {
                        x.el(7, "InstrId", &e2e);
                    }
                    x.el(7, "EndToEndId", &e2e);
                }
            }
            x.line(6, "</Refs>");
            x.tx_amt(6, e.amt);
            if v08 {
                x.el(6, "CdtDbtInd", if e.amt < 0 { "DBIT" } else { "CRDT" });
            }
            if !name.is_empty() || !acct.is_empty() {
                x.line(6, "<RltdPties>");
                let role = match &e.act {
                    Act::In | Act::Collect | Act::DdReturn => "Dbtr",
                    _ => "Cdtr",
                };
                x.party(7, role, &name, &acct);
                x.line(6, "</RltdPties>");
            }
            // Remittance information.
            match &e.act {
                Act::In | Act::Collect if dia == Dialect::CamtSps && e.payer_ref.is_some() => {
                    x.line(6, "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>");
                    x.line(
                        7,
                        &format!(
                            "<Ref>{}</Ref></CdtrRefInf></Strd></RmtInf>",
                            esc(e.payer_ref.as_deref().unwrap_or(""))
                        ),
                    );
                }
                Act::Fee(f) => x.line(6, &format!("<RmtInf><Ustrd>{} {}</Ustrd></RmtInf>", FEES[*f].1, FEES[*f].0)),
                Act::Interest { from, to } => x.line(
                    6,
                    &format!(
                        "<RmtInf><Ustrd>INTEREST {} - {} 活期结息</Ustrd></RmtInf>",
                        from.format("%Y-%m-%d"),
                        to.format("%Y-%m-%d")
                    ),
                ),
                Act::Reversal => {}
                _ => x.line(6, &format!("<RmtInf><Ustrd>{}{}</Ustrd></RmtInf>", esc(&e.purpose), esc(&text_ref))),
            }
            if let Act::Return | Act::DdReturn = &e.act {
                let (code, zh, en) = if matches!(e.act, Act::DdReturn) {
                    DD_REASONS[e.reason.unwrap_or(0) % DD_REASONS.len()]
                } else {
                    REASONS[e.reason.unwrap_or(0) % REASONS.len()]
                };
                x.line(6, "<RtrInf>");
                x.line(7, &format!("<Rsn><Cd>{code}</Cd></Rsn>"));
                let more = quoted_in_text.as_ref().map(|o| format!(" ORIGINAL BANK REF {o}")).unwrap_or_default();
                x.el(7, "AddtlInf", &format!("{en} {zh}{more}"));
                x.line(6, "</RtrInf>");
            }
            if let (true, Some(o), Act::Reversal) = (v08, &quoted_in_text, &e.act) {
                x.el(6, "AddtlTxInf", &format!("Storno Buchung {o}"));
            }
            x.line(5, "</TxDtls>");
            x.line(4, "</NtryDtls>");
            addtl = match (&e.act, dia) {
                (Act::Reversal, _) => format!("STORNO {}", e.orig.clone().unwrap_or_default()),
                (Act::Fee(f), Dialect::CamtDk) => format!("ENTGELT {}", FEES[*f].0),
                (Act::Fee(f), _) => FEES[*f].0.to_string(),
                (Act::Interest { .. }, _) => "结息 INTEREST".to_string(),
                (Act::Return, Dialect::CamtDk) => "RETOURE UEBERWEISUNG".to_string(),
                (Act::Return, _) => "RETURNED PAYMENT".to_string(),
                (Act::DdReturn, Dialect::CamtDk) => "RUECKLASTSCHRIFT".to_string(),
                (Act::DdReturn, _) => "RETURNED DIRECT DEBIT".to_string(),
                (Act::Collect, _) => "委托收款 DIRECT DEBIT".to_string(),
                (Act::In, Dialect::CamtDk) => "GUTSCHRIFT".to_string(),
                (Act::In, _) => "CREDIT TRANSFER".to_string(),
                (_, Dialect::CamtDk) => "UEBERWEISUNG".to_string(),
                _ => "PAYMENT".to_string(),
            };
        }
    }
    x.el(4, "AddtlNtryInf", &addtl);
    x.line(3, "</Ntry>");
}
