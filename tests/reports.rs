//! The reports people open: report.xlsx read back with calamine and compared with golden
//! dumps (fixtures/reports/*.golden, `FUNDRECON_BLESS=1` rewrites them), its sheet XML
//! checked for frozen headers, filters, the amount format and the absence of formulas;
//! report.html checked for external references; CSV for Excel (BOM); and formula
//! injection through names, narratives and references ending as text everywhere.

mod common;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::NaiveDate;
use common::*;
use fundrecon::book::Direction;
use fundrecon::config::Config;
use fundrecon::discrepancy::{Discrepancy, Kind};
use fundrecon::job::daily::{self, Options};
use fundrecon::matching::{BankItem, BookItem};
use fundrecon::report::{self, AccountResult};
use fundrecon::statement::EntryKind;
use fundrecon::store::{Store, StoredEntry, StoredRecord};
use rust_decimal::{Decimal, dec};
use std::io::Read;
use std::path::Path;

const PAYLOADS: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
];

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn col_name(mut c: u32) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (c % 26) as u8) as char);
        if c < 26 {
            return s;
        }
        c = c / 26 - 1;
    }
}

fn sheets(bytes: &[u8]) -> Vec<(String, calamine::Range<Data>)> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("the workbook opens");
    let names = wb.sheet_names();
    names.into_iter().map(|n| (n.clone(), wb.worksheet_range(&n).expect("sheet reads"))).collect()
}

/// A stable text form of every non-empty cell: `A1 s"text"` (a string, quoted and
/// escaped), `n:12.5` (a number), `d:2024-03-22` (a date).
fn dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (name, range) in sheets(bytes) {
        out.push_str(&format!("== {name}\n"));
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (i, row) in range.rows().enumerate() {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .filter(|(_, c)| !matches!(c, Data::Empty))
                .map(|(j, c)| {
                    let v = match c {
                        Data::String(s) => format!("s{s:?}"),
                        Data::Float(f) => format!("n:{f}"),
                        Data::Int(n) => format!("n:{n}"),
                        Data::DateTime(x) => {
                            let serial = x.as_f64();
                            let date = d("1899-12-30") + chrono::Days::new(serial as u64);
                            format!("d:{date}")
                        }
                        other => format!("{other:?}"),
                    };
                    format!("{}{} {v}", col_name(c0 + j as u32), r0 + i as u32 + 1)
                })
                .collect();
            if !cells.is_empty() {
                out.push_str(&cells.join(" | "));
                out.push('\n');
            }
        }
    }
    out
}

/// The raw XML of every part of the workbook, by name.
fn parts(bytes: &[u8]) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            (f.name().unwrap().to_string(), s)
        })
        .collect()
}

/// Frozen header row and autofilter on the table sheets, the amount format in the styles,
/// and not one formula anywhere.
fn check_structure(bytes: &[u8]) {
    let parts = parts(bytes);
    let part = |n: &str| parts.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("{n}"));
    assert!(part("xl/styles.xml").contains("formatCode=\"#,##0.00\""), "amount format");
    // Sheets 1, 2, 3, 5 (and 6, 运行情况, in a daily run) are tables; 4 is the 调节表 form.
    for i in [1, 2, 3, 5, 6] {
        let Some((_, x)) = parts.iter().find(|(k, _)| *k == format!("xl/worksheets/sheet{i}.xml")) else {
            assert_eq!(i, 6, "sheet {i} missing");
            continue;
        };
        assert!(x.contains("ySplit=\"1\"") && x.contains("state=\"frozen\""), "sheet {i}: frozen header\n{x}");
        assert!(x.contains("<autoFilter ref=\"A1:"), "sheet {i}: autofilter");
        assert!(x.contains("<col "), "sheet {i}: column widths");
    }
    for (name, x) in &parts {
        assert!(!x.contains("<f>") && !x.contains("<f "), "{name} holds a formula");
    }
}

/// What must never be in the HTML report: anything the browser would fetch or run.
fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_lowercase();
    let mut found: Vec<String> = [
        "src=", "srcset=", "url(", "@import", "<link", "<script", "<iframe", "<img", "<object", "<embed", "<base",
        "action=", "xlink:",
    ]
    .iter()
    .filter(|p| lower.contains(*p))
    .map(|p| p.to_string())
    .collect();
    for (i, _) in lower.match_indices("href=") {
        let v = lower[i + 5..].trim_start_matches(['"', '\'']);
        if !v.starts_with('#') {
            found.push(lower[i..(i + 40).min(lower.len())].to_string());
        }
    }
    found
}

#[test]
fn the_external_reference_check_can_fail() {
    for bad in [
        "<link rel=stylesheet href=\"https://cdn.example/x.css\">",
        "<img src=\"//evil.example/x.png\">",
        "<a href=\"http://evil.example\">x</a>",
        "<style>body{background:url(https://x)}</style>",
        "<script>1</script>",
    ] {
        assert!(!external_references(bad).is_empty(), "{bad}");
    }
    assert!(external_references("<a href=\"#s1\">x</a> http://text.example").is_empty());
}

/// A batch that failed shows in the report people read (运行情况), with its error.
#[tokio::test]
async fn failed_batch_shows_in_the_run_sheet_and_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("broken");
    let cfg = Config::load(&demo_copy(&dir, &format!("sqlite://{}", dir.join("b.db").display()))).unwrap();
    let sta = dir.join("demo/boc/BOC_MT940_20240322.sta");
    let good = read(&sta);
    std::fs::write(&sta, good.replace(":61:2403220322D3000000,00NTRF", ":61:2403220322D3000x00,00NTRF")).unwrap();
    let store = Store::open(&cfg.database_url()).await.unwrap();
    let out = daily::run(&cfg, &store, &Options { date: d("2024-03-22"), rerun: None, progress: false }).await.unwrap();
    store.close().await;
    assert_eq!(out.exit_code, 2);
    let xlsx = std::fs::read(out.report_dir.join("report.xlsx")).unwrap();
    check_structure(&xlsx);
    let (_, run) = sheets(&xlsx).into_iter().find(|(n, _)| n == "运行情况").expect("运行情况 sheet");
    let row = run
        .rows()
        .find(|r| r[1] == Data::String("boc-drop (boc)".into()))
        .unwrap_or_else(|| panic!("{run:?}"))
        .to_vec();
    assert_eq!(row[2], Data::String("失败".into()));
    assert!(row[3].to_string().starts_with("BOC_MT940_20240322.sta:"), "{:?}", row[3]);
    let html = read(&out.report_dir.join("report.html"));
    assert!(html.contains("运行情况") && html.contains("失败") && html.contains("BOC_MT940_20240322.sta:"));
}

async fn demo_run(dir: &Path, url: &str, extra_config: &str, books_edit: Option<(&str, &str)>) -> daily::Outcome {
    let cfg_path = demo_copy(dir, url);
    if !extra_config.is_empty() {
        // `extra_config` is a `[report]` table; should the demo config get one, its keys go
        // in there (a second `[report]` would be a TOML error).
        let mut t = read(&cfg_path);
        match t.find("\n[report]\n") {
            Some(i) => {
                t.insert_str(i + "\n[report]\n".len(), extra_config.trim_start().trim_start_matches("[report]\n"))
            }
            None => t.push_str(extra_config),
        }
        std::fs::write(&cfg_path, t).unwrap();
    }
    if let Some((from, to)) = books_edit {
        let p = dir.join("demo/books/disbursements.csv");
        let t = read(&p);
        assert!(t.contains(from));
        std::fs::write(&p, t.replace(from, to)).unwrap();
    }
    let cfg = Config::load(&cfg_path).unwrap();
    let store = Store::open(&cfg.database_url()).await.unwrap();
    let out = daily::run(&cfg, &store, &Options { date: d("2024-03-22"), rerun: None, progress: false })
        .await
        .expect("daily run");
    store.close().await;
    out
}

#[tokio::test]
async fn demo_workbook_holds_the_golden_cells_in_chinese_and_english() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "reports").await {
        let out = demo_run(&tmp.path().join(b.name), &b.url, "", None).await;
        let xlsx = std::fs::read(out.report_dir.join("report.xlsx")).unwrap();
        check_structure(&xlsx);
        let text = dump(&xlsx);
        golden("fixtures/reports/demo-zh.golden", &text);
        assert!(text.starts_with("== 汇总\n"), "{text}");
        for sheet in ["== 差异明细", "== 已匹配", "== 银行存款余额调节表", "== 利息核对"] {
            assert!(text.contains(sheet), "{sheet}");
        }
        // A rerun writes the same bytes (the creation time is the business date).
        let again = demo_run(&tmp.path().join(format!("{}-again", b.name)), &b.url, "", None).await;
        if b.name == "sqlite" {
            assert_eq!(std::fs::read(again.report_dir.join("report.xlsx")).unwrap(), xlsx, "reproducible bytes");
        }

        let html = read(&out.report_dir.join("report.html"));
        assert_eq!(external_references(&html), Vec::<String>::new());
        assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("<meta charset=\"utf-8\">"));
        assert!(
            html.contains("银行存款余额调节表") && html.contains("调节后的存款余额") && html.contains("74,270,727.78")
        );
        // CSV for Excel: UTF-8 with a BOM.
        for f in ["matches.csv", "discrepancies.csv", "reconciliation.csv"] {
            assert!(std::fs::read(out.report_dir.join(f)).unwrap().starts_with(b"\xEF\xBB\xBF"), "{f}");
        }
    }
    // English by the setting; the machine reports do not change with it.
    let dir = tmp.path().join("en");
    let out =
        demo_run(&dir, &format!("sqlite://{}", dir.join("en.db").display()), "\n[report]\nlanguage = \"en\"\n", None)
            .await;
    let xlsx = std::fs::read(out.report_dir.join("report.xlsx")).unwrap();
    check_structure(&xlsx);
    let text = dump(&xlsx);
    golden("fixtures/reports/demo-en.golden", &text);
    assert!(text.starts_with("== Summary\n") && text.contains("== Bank reconciliation"), "{text}");
    let html = read(&out.report_dir.join("report.html"));
    assert!(html.contains("<html lang=\"en\">") && html.contains("Adjusted balance"));
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert_eq!(
        read(&out.report_dir.join("discrepancies.csv")),
        read(&Path::new(ROOT).join("fixtures/demo/expected/discrepancies.csv"))
    );
}

#[tokio::test]
async fn formats_setting_limits_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("f");
    let url = format!("sqlite://{}", dir.join("f.db").display());
    let out = demo_run(&dir, &url, "\n[report]\nformats = [\"xlsx\"]\n", None).await;
    let mut files: Vec<String> = std::fs::read_dir(&out.report_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(files, ["report.xlsx"]);
}

/// A counterparty named `=HYPERLINK(…)` in the books, through the whole daily job.
#[tokio::test]
async fn hyperlink_counterparty_from_the_books_stays_text() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("inj");
    let url = format!("sqlite://{}", dir.join("inj.db").display());
    let evil = PAYLOADS[0];
    let quoted = format!("\"{}\"", evil.replace('"', "\"\""));
    let out =
        demo_run(&dir, &url, "", Some(("社会保险基金支出户,拨付 用款计划2024-04 预拨", &format!("{quoted},{quoted}"))))
            .await;
    let xlsx = std::fs::read(out.report_dir.join("report.xlsx")).unwrap();
    check_structure(&xlsx);
    let (_, open) = sheets(&xlsx).into_iter().find(|(n, _)| n == "差异明细").unwrap();
    let hits: Vec<&Data> =
        open.used_cells().map(|(_, _, c)| c).filter(|c| c.to_string().contains("HYPERLINK")).collect();
    // Counterparty and narrative (purpose) of the in-transit voucher 20240322-0012.
    assert_eq!(hits, [&Data::String(evil.into()), &Data::String(evil.into())]);
    let html = read(&out.report_dir.join("report.html"));
    assert!(html.contains("=HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)"));
    assert!(!html.contains(evil));
    assert_eq!(external_references(&html), Vec::<String>::new());
}

fn entry(id: i64, text: &str, amount: Decimal) -> StoredEntry {
    StoredEntry {
        item: BankItem {
            id,
            entry_key: format!("k{id}"),
            booking_date: d("2024-03-20"),
            amount,
            bank_ref: Some(text.into()),
            customer_ref: None,
            end_to_end_id: None,
            counterparty_account: None,
            counterparty_name: Some(text.into()),
            narrative: text.into(),
            kind: EntryKind::Transfer,
        },
        statement_id: 1,
        currency: fundrecon::money::Currency::CNY,
        value_date: None,
        batch: None,
        location: format!("line {id}"),
    }
}

fn record(id: i64, text: &str, amount: Decimal) -> StoredRecord {
    StoredRecord {
        item: BookItem {
            id,
            voucher_no: text.into(),
            date: d("2024-03-19"),
            amount,
            counterparty_account: None,
            counterparty_name: Some(text.into()),
            purpose: Some(text.into()),
            batch_ref: None,
        },
        direction: Direction::Disbursement,
        currency: fundrecon::money::Currency::CNY,
        source: "books".into(),
        location: format!("line {id}"),
    }
}

fn hostile_account() -> AccountResult {
    let mut a = AccountResult {
        account_no: "4500".into(),
        name: "=cmd|' /C calc'!A0".into(),
        currency: "CNY".into(),
        bank: "boc".into(),
        entries: vec![],
        records: vec![],
        matches: vec![],
        discrepancies: vec![],
        bank_closing: Some((d("2024-03-22"), dec!(1000.00))),
        book_balance: Some(dec!(1000.00)),
        interest: vec![],
        as_of: d("2024-03-22"),
    };
    for (i, p) in PAYLOADS.iter().enumerate() {
        let id = i as i64 + 1;
        a.entries.push(entry(id, p, dec!(-12.50)));
        a.records.push(record(id, p, dec!(-7.25)));
        let base = Discrepancy {
            kind: Kind::MissingInBooks,
            account_no: "4500".into(),
            entry: Some(id),
            record: None,
            statement: None,
            bank_ref: Some(p.to_string()),
            voucher_no: None,
            date: d("2024-03-20"),
            amount: Some(dec!(-12.50)),
            expected: None,
            rule: "classify".into(),
            detail: p.to_string(),
        };
        a.discrepancies.push(base.clone());
        a.discrepancies.push(Discrepancy {
            kind: Kind::MissingInBank,
            entry: None,
            record: Some(id),
            bank_ref: None,
            voucher_no: Some(p.to_string()),
            date: d("2024-03-19"),
            amount: None,
            expected: Some(dec!(-7.25)),
            ..base
        });
    }
    a
}

/// Every formula start (`=`, `+`, `-`, `@`, tab, CR) in names, narratives, references and
/// details: a string in XLSX equal to the input, `'`-prefixed in CSV with the amounts
/// untouched, escaped in HTML.
#[test]
fn formula_injection_is_text_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    report::write_all(tmp.path(), &[hostile_account()], None).unwrap();

    let xlsx = std::fs::read(tmp.path().join("report.xlsx")).unwrap();
    check_structure(&xlsx);
    let all = sheets(&xlsx);
    let (_, open) = all.iter().find(|(n, _)| n == "差异明细").unwrap();
    for p in PAYLOADS {
        // bank_ref, counterparty, narrative, reason of the entry's item; voucher,
        // counterparty, purpose, reason of the record's item.
        let n = open.used_cells().filter(|(_, _, c)| **c == Data::String(p.into())).count();
        assert_eq!(n, 8, "{p:?}");
    }
    assert!(open.used_cells().any(|(_, _, c)| *c == Data::Float(-12.5)), "amounts stay numbers");
    let (_, summary) = all.iter().find(|(n, _)| n == "汇总").unwrap();
    assert!(summary.used_cells().any(|(_, _, c)| *c == Data::String("=cmd|' /C calc'!A0".into())));
    for (_, r) in &all {
        assert!(!r.used_cells().any(|(_, _, c)| matches!(c, Data::Error(_))));
    }

    let csv_bytes = std::fs::read(tmp.path().join("discrepancies.csv")).unwrap();
    let body = csv_bytes.strip_prefix(b"\xEF\xBB\xBF").expect("BOM");
    let mut rd = csv::Reader::from_reader(body);
    let mut seen = 0;
    for row in rd.records() {
        let row = row.unwrap();
        let (bank_ref, voucher, amount, expected, detail) = (&row[2], &row[3], &row[5], &row[6], &row[7]);
        for text in [bank_ref, voucher, detail].into_iter().filter(|t| !t.is_empty()) {
            let original = text.strip_prefix('\'').unwrap_or_else(|| panic!("not guarded: {text:?}"));
            assert!(PAYLOADS.contains(&original), "{text:?}");
        }
        // Amount columns keep canonical decimals: a negative amount is not text.
        assert!(amount == "-12.50" || expected == "-7.25", "{amount} {expected}");
        seen += 1;
    }
    assert_eq!(seen, 12);
    let matches = read(&tmp.path().join("reconciliation.csv"));
    assert!(matches.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",12.50,"), "{matches}");

    let html = read(&tmp.path().join("report.html"));
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert!(html.contains("=HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)"));
    assert!(html.contains("@SUM(1+1)*cmd|&#39; /C calc&#39;!A0"));
    assert!(!html.contains(PAYLOADS[0]) && !html.contains("<script"));
}

/// `fundrecon report --month`: the month's workbook from the database after the daily run.
#[tokio::test]
async fn month_report_from_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    let url = format!("sqlite://{}", dir.join("m.db").display());
    demo_run(&dir, &url, "", None).await;
    let cfg = dir.join("fundrecon.toml");
    let bin = env!("CARGO_BIN_EXE_fundrecon");
    let out_dir = tmp.path().join("month");
    let run = |args: &[&str]| {
        std::process::Command::new(bin).arg("--config").arg(&cfg).args(args).output().expect("fundrecon runs")
    };
    let o = run(&["report", "--month", "2024-03", "--out", out_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let xlsx = std::fs::read(out_dir.join("report-2024-03.xlsx")).unwrap();
    check_structure(&xlsx);
    golden("fixtures/reports/month-2024-03.golden", &dump(&xlsx));

    let o = run(&["report", "--month", "2024-03", "--format", "html", "--out", out_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = read(&out_dir.join("report-2024-03.html"));
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert!(html.contains("资金对账报告 2024-03"));

    // A month before any data: the accounts with nothing in them, no made-up balance.
    let o = run(&["report", "--month", "2024-02", "--out", out_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let feb = dump(&std::fs::read(out_dir.join("report-2024-02.xlsx")).unwrap());
    assert!(!feb.contains("n:74270727.78"), "{feb}");

    for bad in ["2024-13", "March", "2024-3"] {
        let o = run(&["report", "--month", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("not a month"), "{bad}");
    }
    let o = run(&["report", "--month", "2024-03", "--format", "pdf"]);
    assert_eq!(o.status.code(), Some(2));
}
