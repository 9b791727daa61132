//! Synthetic statement files for benchmarks and scale tests: MT940 and camt.053 with
//! realistic fund-account content, deterministic for a seed. Every generated statement
//! balances (opening + entries = closing), so parsers and validation run their full path.

use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::io::{self, Write};

/// A small deterministic generator (SplitMix64): no dependency, same output everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo) as u64 + 1)) as i64
    }
    /// True with the given chance in percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

const PAYEES: [&str; 6] =
    ["社会保险基金支出户", "市第一人民医院", "张三", "李四", "省社会保险事业管理局", "县人力资源和社会保障局"];
const PURPOSES: [&str; 5] = ["拨付 用款计划", "代发养老金", "医保结算", "失业保险金", "收入户归集"];

/// One synthetic entry: signed amount in fen, reference, counterparty, text.
struct Gen {
    amount_fen: i64,
    reference: String,
    counterparty: String,
    cp_account: String,
    text: String,
}

fn entry(rng: &mut Rng, day: u32, n: u64) -> Gen {
    let credit = rng.below(3) == 0;
    let fen = (rng.below(5_000_000) as i64 + 1) * if rng.below(4) == 0 { 100 } else { 1 };
    Gen {
        amount_fen: if credit { fen } else { -fen },
        reference: format!("BK{day:04}{n:08}"),
        counterparty: PAYEES[rng.below(PAYEES.len() as u64) as usize].to_string(),
        cp_account: format!("62220202{:011}", rng.below(100_000_000_000)),
        text: format!("{} V{:06}-{:04}", PURPOSES[rng.below(PURPOSES.len() as u64) as usize], day, n % 10_000),
    }
}

/// One generated entry as a statement file carries it, for callers that also write the
/// books the entry executes (`write_set`).
pub struct Item<'a> {
    pub account: &'a str,
    pub date: chrono::NaiveDate,
    /// Signed: credits positive.
    pub amount_fen: i64,
    pub counterparty: &'a str,
    pub cp_account: &'a str,
    pub text: &'a str,
    /// The voucher number the text names.
    pub voucher: &'a str,
    /// The bank's reference of the entry (流水号, `//ref`, `AcctSvcrRef`).
    pub bank_ref: &'a str,
}

/// Receives each generated entry.
pub type Sink<'s> = &'s mut dyn FnMut(&Item);

impl Gen {
    fn item<'a>(&'a self, account: &'a str, date: chrono::NaiveDate) -> Item<'a> {
        let voucher = self.text.rsplit(' ').next().unwrap_or("");
        Item {
            account,
            date,
            amount_fen: self.amount_fen,
            counterparty: &self.counterparty,
            cp_account: &self.cp_account,
            text: &self.text,
            voucher,
            bank_ref: &self.reference,
        }
    }
}

/// Where a generated file starts: its first day number (references and vouchers carry
/// it, so files of one account never share one) and the account's balance before it
/// (carried from file to file so that the statements chain). Day numbers above 0 also
/// shift the dates: `first_day / 250` days from 2024-01-01.
#[derive(Clone, Copy, Debug)]
pub struct Part {
    pub first_day: u32,
    pub balance: i64,
}

impl Part {
    pub const FIRST: Part = Part { first_day: 0, balance: 8_000_000_000 };
    fn date(&self, day: u32) -> chrono::NaiveDate {
        let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
        base + chrono::Days::new(u64::from((day - self.first_day) % 3000 + self.first_day / 250))
    }
}

/// The account the generated MT940 files are for.
pub const MT940_ACCOUNT: &str = "450012345678901234";
/// The account the generated camt.053 and bank-export files are for.
pub const CAMT_ACCOUNT: &str = "1202020209000012345";

/// A running balance: `-` before an overdrawn one (the amount columns carry no sign).
fn signed(fen: i64) -> String {
    if fen < 0 { format!("-{}", money(fen, false)) } else { money(fen, false) }
}

fn money(fen: i64, comma: bool) -> String {
    let d = Decimal::new(fen.abs(), 2);
    let s = crate::money::canonical(d);
    if comma { s.replace('.', ",") } else { s }
}

/// Writes MT940 statements (one per day, `per_statement` entries each) until at least
/// `target_bytes` are written. Returns (bytes, statements, entries).
pub fn mt940<W: Write>(w: &mut W, target_bytes: u64, per_statement: usize, seed: u64) -> io::Result<(u64, u64, u64)> {
    mt940_with(w, target_bytes, per_statement, seed, &mut Part::FIRST.clone(), &mut |_| {})
}

/// [`mt940`] starting after day `first_day` (so that files of one account cover different
/// days and carry different references), handing each entry to `sink`.
pub fn mt940_with<W: Write>(
    w: &mut W,
    target_bytes: u64,
    per_statement: usize,
    seed: u64,
    part: &mut Part,
    sink: Sink,
) -> io::Result<(u64, u64, u64)> {
    let mut rng = Rng::new(seed);
    let (mut written, mut stmts, mut entries) = (0u64, 0u64, 0u64);
    let mut balance: i64 = part.balance;
    let mut day = part.first_day;
    let mut buf = String::with_capacity(1 << 20);
    while written < target_bytes {
        day += 1;
        let date = part.date(day);
        let ymd = date.format("%y%m%d").to_string();
        let md = date.format("%m%d").to_string();
        buf.clear();
        let _ = write!(buf, ":20:GEN{day:08}\r\n:25:{MT940_ACCOUNT}\r\n:28C:{day}/1\r\n");
        let _ = write!(buf, ":60F:{}{ymd}CNY{}\r\n", if balance < 0 { 'D' } else { 'C' }, money(balance, true));
        for n in 0..per_statement {
            // The last statement ends where the target is reached (files stay near it).
            if n > 0 && written + buf.len() as u64 >= target_bytes {
                break;
            }
            let g = entry(&mut rng, day, n as u64);
            sink(&g.item(MT940_ACCOUNT, date));
            balance += g.amount_fen;
            let mark = if g.amount_fen < 0 { "D" } else { "C" };
            let _ = write!(
                buf,
                ":61:{ymd}{md}{mark}{}NTRFV{:06}-{:04}//{}\r\n",
                money(g.amount_fen, true),
                day,
                n % 10_000,
                g.reference
            );
            let _ = write!(buf, ":86:/NAME/{}/ACCW/{}/REMI/{}\r\n", g.counterparty, g.cp_account, g.text);
            entries += 1;
        }
        let _ = write!(buf, ":62F:{}{ymd}CNY{}\r\n-\r\n", if balance < 0 { 'D' } else { 'C' }, money(balance, true));
        w.write_all(buf.as_bytes())?;
        written += buf.len() as u64;
        stmts += 1;
    }
    part.balance = balance;
    Ok((written, stmts, entries))
}

/// Writes one camt.053 document with one `Stmt` per day until at least `target_bytes`.
pub fn camt053<W: Write>(w: &mut W, target_bytes: u64, per_statement: usize, seed: u64) -> io::Result<(u64, u64, u64)> {
    camt053_with(w, target_bytes, per_statement, seed, &mut Part::FIRST.clone(), &mut |_| {})
}

/// [`camt053`] starting after day `first_day`, handing each entry to `sink`.
pub fn camt053_with<W: Write>(
    w: &mut W,
    target_bytes: u64,
    per_statement: usize,
    seed: u64,
    part: &mut Part,
    sink: Sink,
) -> io::Result<(u64, u64, u64)> {
    let mut rng = Rng::new(seed);
    let (mut written, mut stmts, mut entries) = (0u64, 0u64, 0u64);
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><GrpHdr><MsgId>GEN</MsgId><CreDtTm>2024-01-01T00:00:00</CreDtTm></GrpHdr>\n";
    w.write_all(head.as_bytes())?;
    written += head.len() as u64;
    let mut balance: i64 = part.balance;
    let mut day = part.first_day;
    let mut buf = String::with_capacity(1 << 20);
    let bal = |code: &str, fen: i64, date: &str| {
        format!(
            "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"CNY\">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>\n",
            money(fen, false),
            if fen < 0 { "DBIT" } else { "CRDT" }
        )
    };
    while written < target_bytes {
        day += 1;
        let day_date = part.date(day);
        let date = day_date.to_string();
        buf.clear();
        let _ = writeln!(
            buf,
            "<Stmt><Id>GEN{day:08}</Id><ElctrncSeqNb>{day}</ElctrncSeqNb><Acct><Id><Othr><Id>{CAMT_ACCOUNT}</Id></Othr></Id><Ccy>CNY</Ccy></Acct>"
        );
        buf.push_str(&bal("OPBD", balance, &date));
        let mut body = String::with_capacity(per_statement * 600);
        for n in 0..per_statement {
            if n > 0 && written + (buf.len() + body.len()) as u64 >= target_bytes {
                break;
            }
            let g = entry(&mut rng, day, n as u64);
            sink(&g.item(CAMT_ACCOUNT, day_date));
            balance += g.amount_fen;
            let (cd, side) = if g.amount_fen < 0 { ("DBIT", "Cdtr") } else { ("CRDT", "Dbtr") };
            let _ = writeln!(
                body,
                "<Ntry><NtryRef>{n}</NtryRef><Amt Ccy=\"CNY\">{}</Amt><CdtDbtInd>{cd}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt><AcctSvcrRef>{}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E2E{day}-{n}</EndToEndId></Refs><RltdPties><{side}><Pty><Nm>{}</Nm></Pty></{side}><{side}Acct><Id><Othr><Id>{}</Id></Othr></Id></{side}Acct></RltdPties><RmtInf><Ustrd>{}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>",
                money(g.amount_fen, false),
                g.reference,
                g.counterparty,
                g.cp_account,
                g.text
            );
            entries += 1;
        }
        buf.push_str(&bal("CLBD", balance, &date));
        buf.push_str(&body);
        buf.push_str("</Stmt>\n");
        w.write_all(buf.as_bytes())?;
        written += buf.len() as u64;
        stmts += 1;
    }
    let tail = "</BkToCstmrStmt></Document>\n";
    w.write_all(tail.as_bytes())?;
    part.balance = balance;
    Ok((written + tail.len() as u64, stmts, entries))
}

/// Writes an ICBC corporate history export (`[HISTORYDETAIL]`, GBK-encoded CSV with a
/// running balance) until at least `target_bytes`. Returns (bytes, statements = 1, entries).
pub fn gbk_csv<W: Write>(w: &mut W, target_bytes: u64, seed: u64) -> io::Result<(u64, u64, u64)> {
    gbk_csv_with(w, target_bytes, seed, &mut Part::FIRST.clone(), &mut |_| {})
}

/// [`gbk_csv`] starting after day `first_day`, handing each entry to `sink`.
pub fn gbk_csv_with<W: Write>(
    w: &mut W,
    target_bytes: u64,
    seed: u64,
    part: &mut Part,
    sink: Sink,
) -> io::Result<(u64, u64, u64)> {
    let mut rng = Rng::new(seed);
    let mut balance: i64 = part.balance;
    let mut written = 0u64;
    let mut entries = 0u64;
    let mut text = String::with_capacity(1 << 20);
    let head =
        "[HISTORYDETAIL]\r\n本方账号,凭证号,交易时间,对方单位,对方账号,转入金额,转出金额,余额,用途,摘要,附言\r\n";
    let mut flush = |text: &mut String, written: &mut u64| -> io::Result<()> {
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        debug_assert!(!unmappable, "generated text is GBK");
        w.write_all(&bytes)?;
        *written += bytes.len() as u64;
        text.clear();
        Ok(())
    };
    text.push_str(head);
    let mut n = 0u64;
    while written + text.len() as u64 * 3 / 4 < target_bytes {
        let day = part.first_day + 1 + (n / 2000) as u32 % 3000;
        let date = part.date(day);
        let g = entry(&mut rng, day, n);
        sink(&g.item(CAMT_ACCOUNT, date));
        balance += g.amount_fen;
        let (cr, dr) = if g.amount_fen >= 0 {
            (money(g.amount_fen, false), String::new())
        } else {
            (String::new(), money(g.amount_fen, false))
        };
        let _ = write!(
            text,
            "{CAMT_ACCOUNT},{},{} 09:{:02}:{:02},{},{},{cr},{dr},{},{},转账,\r\n",
            g.reference,
            date,
            n % 60,
            (n / 60) % 60,
            g.counterparty,
            g.cp_account,
            signed(balance),
            g.text
        );
        n += 1;
        entries += 1;
        if text.len() > 1 << 20 {
            flush(&mut text, &mut written)?;
        }
    }
    flush(&mut text, &mut written)?;
    part.balance = balance;
    Ok((written, 1, entries))
}

/// What [`write_set`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetSummary {
    pub files: u64,
    pub bytes: u64,
    pub entries: u64,
    pub records: u64,
}

/// Book CSV rows per file: bounds what `reconcile` reads into memory at once.
const BOOK_ROWS_PER_FILE: u64 = 100_000;

/// Book CSV files of one direction, a new file every [`BOOK_ROWS_PER_FILE`] rows.
struct Books {
    dir: std::path::PathBuf,
    name: &'static str,
    rows: u64,
    out: Option<io::BufWriter<std::fs::File>>,
}

impl Books {
    fn row(&mut self, voucher: &str, it: &Item, fen: i64) -> io::Result<()> {
        if self.rows.is_multiple_of(BOOK_ROWS_PER_FILE) {
            if let Some(mut w) = self.out.take() {
                w.flush()?;
            }
            let path = self.dir.join(format!("{}-{:04}.csv", self.name, self.rows / BOOK_ROWS_PER_FILE + 1));
            let mut w = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
            w.write_all(b"voucher_no,account_no,pay_date,amount,currency,counterparty_account,counterparty_name,purpose,batch_ref\n")?;
            self.out = Some(w);
        }
        self.rows += 1;
        let w = self.out.as_mut().ok_or_else(|| io::Error::other("book file not open"))?;
        writeln!(
            w,
            "{voucher},{},{},{},CNY,{},{},{},",
            it.account,
            it.date,
            money(fen, false),
            it.cp_account,
            it.counterparty,
            it.text
        )
    }
    fn finish(mut self) -> io::Result<()> {
        match self.out.take() {
            Some(mut w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// Writes a delivery as `reconcile` reads it: `files` statement files of `total_bytes`
/// together under `dir/statements` (MT940, camt.053 and the GBK bank export in turn, each
/// file its own days and references), and under `dir/books` the book records they
/// execute (`disbursements-NNNN.csv`, `receipts-NNNN.csv`): 97 in 100 entries have their
/// record (the rest are `missing_in_books`), and 1 record in 100 has no entry
/// (`missing_in_bank`). Deterministic for a seed. `dir/truth.csv` lists the pairs
/// (`account,bank_ref,voucher`: the entries that have their record), for `bench-reconcile`
/// to count the pairs `reconcile` finds.
pub fn write_set(dir: &std::path::Path, files: u64, total_bytes: u64, seed: u64) -> io::Result<SetSummary> {
    let stmts = dir.join("statements");
    let books = dir.join("books");
    std::fs::create_dir_all(&stmts)?;
    std::fs::create_dir_all(&books)?;
    let mut out = Books { dir: books.clone(), name: "disbursements", rows: 0, out: None };
    let mut inc = Books { dir: books, name: "receipts", rows: 0, out: None };
    let mut truth = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("truth.csv"))?);
    truth.write_all(b"account,bank_ref,voucher\n")?;
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut sum = SetSummary::default();
    let per_file = (total_bytes / files.max(1)).max(1);
    let mut err: Option<io::Error> = None;
    // One balance per account (camt.053 and the bank export are for the same account).
    let (mut mt940_part, mut camt_part) = (Part::FIRST, Part::FIRST);
    for i in 0..files {
        let mut sink = |it: &Item| {
            if err.is_some() {
                return;
            }
            let r = rng.below(100);
            let mut book = |voucher: &str| {
                let (w, fen) = if it.amount_fen < 0 { (&mut out, -it.amount_fen) } else { (&mut inc, it.amount_fen) };
                sum.records += 1;
                w.row(voucher, it, fen)
            };
            let res = if r < 97 {
                book(it.voucher).and_then(|_| writeln!(truth, "{},{},{}", it.account, it.bank_ref, it.voucher))
            } else {
                Ok(())
            };
            let res = res.and_then(|_| if r == 0 { book(&format!("X{}", it.voucher)) } else { Ok(()) });
            if let Err(e) = res {
                err = Some(e);
            }
        };
        // Days: each file its own range (a file is well under 1,000 days of entries).
        let first_day = i as u32 * 1000;
        let part = if i % 3 == 0 { &mut mt940_part } else { &mut camt_part };
        part.first_day = first_day;
        let (ext, fmt) = [("sta", 0), ("xml", 1), ("csv", 2)][(i % 3) as usize];
        let path = stmts.join(format!("f{i:05}.{ext}"));
        let mut w = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        let (bytes, _, entries) = match fmt {
            // Two statements a file (~160 and ~950 bytes an entry).
            0 => mt940_with(&mut w, per_file, (per_file / 320).max(1) as usize, seed + i, part, &mut sink)?,
            1 => camt053_with(&mut w, per_file, (per_file / 1900).max(1) as usize, seed + i, part, &mut sink)?,
            _ => gbk_csv_with(&mut w, per_file, seed + i, part, &mut sink)?,
        };
        w.flush()?;
        if let Some(e) = err.take() {
            return Err(e);
        }
        sum.files += 1;
        sum.bytes += bytes;
        sum.entries += entries;
    }
    out.finish()?;
    inc.finish()?;
    truth.flush()?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{self, Format, Limits};

    #[test]
    fn generated_files_parse_and_balance() {
        for fmt in [Format::Mt940, Format::Camt] {
            let mut v = Vec::new();
            let (bytes, stmts, entries) = match fmt {
                Format::Mt940 => mt940(&mut v, 20_000, 25, 7).unwrap(),
                _ => camt053(&mut v, 20_000, 25, 7).unwrap(),
            };
            assert_eq!(bytes as usize, v.len());
            let parsed = parse::parse("gen", &v, Some(fmt), &Limits::default()).unwrap();
            assert_eq!(parsed.len() as u64, stmts, "{fmt:?}");
            assert_eq!(parsed.iter().map(|s| s.entries.len() as u64).sum::<u64>(), entries);
            for s in &parsed {
                let open = s.opening.as_ref().unwrap().amount.amount;
                let close = s.closing.as_ref().unwrap().amount.amount;
                assert_eq!(open + s.entry_sum().unwrap(), close, "{fmt:?} {}", s.location);
            }
            // Same seed, same bytes.
            let mut again = Vec::new();
            match fmt {
                Format::Mt940 => mt940(&mut again, 20_000, 25, 7).unwrap(),
                _ => camt053(&mut again, 20_000, 25, 7).unwrap(),
            };
            assert_eq!(again, v);
        }
        let mut v = Vec::new();
        let (bytes, _, entries) = gbk_csv(&mut v, 30_000, 7).unwrap();
        assert_eq!(bytes as usize, v.len());
        let parsed = parse::parse_named("gen.csv", &v, Some("icbc-corporate"), &Limits::default()).unwrap();
        assert_eq!(parsed.iter().map(|s| s.entries.len() as u64).sum::<u64>(), entries);
        assert!(parsed.iter().all(|s| s.flags.is_empty()), "running balance holds");
    }
}
