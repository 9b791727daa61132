//! Hostile and broken input through the parsers and the binary (issue 15, points 8, 14, 15
//! and 16): cut-off files, files that are no regular files, encodings that cannot be told,
//! and values that cannot be right. Every refusal names the file and the place.

mod common;

use common::*;
use fundrecon::parse::{self, Limits};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with a deadline: a hang is killed and fails the test.
fn fundrecon(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fundrecon"))
        .args(args)
        .env_remove("FUNDRECON_CONFIG")
        .env_remove("FUNDRECON_DATABASE_URL")
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("fundrecon {args:?} did not finish within 60 s (hangs)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(ROOT).join(rel)).unwrap()
}

// ---------------------------------------------------------------------------------------
// Point 8: truncation

/// Every prefix of a good file is refused, except the file itself less trailing white space
/// (its last line end): that is the same statement.
fn sweep(name: &str, bytes: &[u8], allowed: &dyn Fn(usize) -> bool) -> Vec<usize> {
    let limits = Limits::default();
    assert!(parse::parse(name, bytes, None, &limits).is_ok(), "{name}: the whole file parses");
    let mut accepted = Vec::new();
    for k in 0..bytes.len() {
        let whole = bytes[k..].iter().all(u8::is_ascii_whitespace);
        if let Ok(s) = parse::parse(name, &bytes[..k], None, &limits)
            && !whole
            && !allowed(k)
        {
            accepted.push(k);
            let _ = s;
        }
    }
    accepted
}

#[test]
fn no_prefix_of_a_good_file_is_a_complete_statement() {
    for f in ["fixtures/demo/boc/BOC_MT940_20240321.sta", "fixtures/demo/icbc/ICBC_camt053_20240321.xml"] {
        let bytes = fixture(f);
        let accepted = sweep(f, &bytes, &|_| false);
        assert!(accepted.is_empty(), "{f}: prefixes accepted as complete: {accepted:?}");
    }
    // BAI2: the 99 record's closing `/` is optional (real files end `99,282030196,2,20`,
    // corpus moj-bai2/svb_us_example.bai2), so the file less its final `/` is the same
    // complete file: its counts and control total all still agree. That one prefix only.
    let f = "fixtures/parse/bai2/tc14.bai2";
    let bytes = fixture(f);
    let last_slash = bytes.iter().rposition(|&b| b == b'/').unwrap();
    let accepted = sweep(f, &bytes, &|k| k == last_slash);
    assert!(accepted.is_empty(), "{f}: prefixes accepted as complete: {accepted:?}");
}

/// The demo's MT940 cut just before its third `:61:` (the case): `parse` used to
/// print `closing -, 2 entries` and exit 0.
#[test]
fn a_cut_mt940_is_refused_by_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = fixture("fixtures/demo/boc/BOC_MT940_20240321.sta");
    let third = bytes.windows(5).enumerate().filter(|(_, w)| w == b":61:2").nth(2).unwrap().0;
    let cut = tmp.path().join("cut.sta");
    std::fs::write(&cut, &bytes[..third]).unwrap();
    let out = fundrecon(&["parse", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}:2: field :62F: closing balance: MT940 statement has no closing balance (:62F:/:62M:): the file is cut off or incomplete\n",
            cut.display()
        )
    );
    // Cut after the closing balance, before the envelope's end `-}`.
    let end = bytes.windows(2).rposition(|w| w == b"-}").unwrap();
    std::fs::write(&cut, &bytes[..end]).unwrap();
    let out = fundrecon(&["parse", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}:1: field {{4: block: the file ends inside the message opened on line 1 (no closing -}}): the file is cut off\n",
            cut.display()
        )
    );
    // An MT942 interim report has no closing balance by design and stays readable.
    let out = fundrecon(&["parse", "fixtures/parse/mt940/mt942-intraday.sta"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

// ---------------------------------------------------------------------------------------
// Point 14: what is no regular file, or too big, is refused before it is read

/// `reconcile` of `statements` against the demo's books (`receipts` given).
fn reconcile_args(statements: &Path, receipts: &str, out: &Path) -> Vec<String> {
    let demo = ["--disbursements", "fixtures/demo/books/disbursements.csv", "--receipts", receipts, "--out"];
    let mut args = vec!["reconcile".to_string(), "--statements".into(), statements.display().to_string()];
    args.extend(demo.iter().map(|a| a.to_string()));
    args.push(out.display().to_string());
    args
}

fn refused_at_once(args: &[&str], file: &Path, why: &str) {
    let t = Instant::now();
    let out = fundrecon(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}: {why}", file.display())), "{args:?}: {err}");
    assert!(t.elapsed() < Duration::from_secs(20), "{args:?} took {:?}", t.elapsed());
}

#[test]
fn a_device_a_fifo_and_an_oversized_file_are_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("statements");
    std::fs::create_dir(&dir).unwrap();
    // A sparse file over the 2 GiB default limit: no disk, and never read.
    let big = tmp.path().join("big.sta");
    std::fs::File::create(&big).unwrap().set_len((2u64 << 30) + 1).unwrap();
    let zero = dir.join("zero.sta");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = tmp.path().join("fifo.sta");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());

    let over = "file is 2147483649 bytes, over the limit of 2147483648 bytes";
    let device = "is a device, not a regular file: refused without reading it";
    let pipe = "is a FIFO (named pipe), not a regular file: refused without reading it";
    refused_at_once(&["parse", big.to_str().unwrap()], &big, over);
    refused_at_once(&["parse", zero.to_str().unwrap()], &zero, device);
    refused_at_once(&["parse", fifo.to_str().unwrap()], &fifo, pipe);

    let reconcile = |statements: &Path, receipts: &str| reconcile_args(statements, receipts, &tmp.path().join("out"));
    let args = reconcile(&dir, "fixtures/demo/books/receipts.csv");
    refused_at_once(&args.iter().map(String::as_str).collect::<Vec<_>>(), &zero, device);
    std::fs::remove_file(&zero).unwrap();
    let args = reconcile(&dir, fifo.to_str().unwrap());
    refused_at_once(&args.iter().map(String::as_str).collect::<Vec<_>>(), &fifo, pipe);
    let args = reconcile(&big, "fixtures/demo/books/receipts.csv");
    refused_at_once(&args.iter().map(String::as_str).collect::<Vec<_>>(), &big, over);
}

// ---------------------------------------------------------------------------------------
// Point 15: encodings

/// GBK bytes in a UTF-8 MT940 were decoded as Latin-1 without a word.
#[test]
fn mixed_encodings_in_mt940_are_refused_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = fixture("fixtures/demo/boc/BOC_MT940_20240321.sta");
    // The narrative of line 9 (`:86:拨付…` in UTF-8) becomes GBK; line 7 stays UTF-8.
    let utf8 = "拨付".as_bytes();
    let at = bytes.windows(utf8.len()).position(|w| w == utf8).unwrap();
    bytes.splice(at..at + utf8.len(), b"\xB4\xFA\xB7\xA2".iter().copied());
    let p = tmp.path().join("mixed.sta");
    std::fs::write(&p, &bytes).unwrap();
    let out = fundrecon(&["parse", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: {}:9: mixed encodings: line 7 holds UTF-8 Chinese text, line 9 holds text that is not UTF-8 (GBK?)",
            p.display()
        )),
        "{err}"
    );
    // All of it GBK: decoded as GB18030, Chinese intact.
    let utf8 = read(&Path::new(ROOT).join("fixtures/demo/boc/BOC_MT940_20240321.sta"));
    std::fs::write(&p, encoding_rs::GBK.encode(&utf8).0).unwrap();
    let out = fundrecon(&["parse", p.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("拨付"), "{}", text(&out.stdout));
}

/// UTF-8 text in a GBK BAI2 was decoded without a word (garbled either way).
#[test]
fn utf8_text_in_a_gbk_bai2_is_refused_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let gbk = fixture("fixtures/parse/bai2/gbk.bai2");
    let text_gbk = encoding_rs::GB18030.encode("利息入账").0;
    let at = gbk.windows(text_gbk.len()).position(|w| w == &text_gbk[..]).unwrap();
    let mut bytes = gbk[..at].to_vec();
    bytes.extend_from_slice("利息入账".as_bytes());
    bytes.extend_from_slice(&gbk[at + text_gbk.len()..]);
    let p = tmp.path().join("mixed.bai2");
    std::fs::write(&p, &bytes).unwrap();
    let out = fundrecon(&["parse", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: {}:4: mixed encodings: line 4 holds UTF-8 Chinese text and text that is not UTF-8 (GBK?)",
            p.display()
        )),
        "{err}"
    );
}

/// GBK bytes in a UTF-8 camt: `parse`, `reconcile` (and the daily job, through the same
/// `parse::stream`) name the same byte and line; `reconcile` used to say "at byte 0".
#[test]
fn a_camt_encoding_error_has_one_place_on_every_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("statements");
    std::fs::create_dir(&dir).unwrap();
    let xml = read(&Path::new(ROOT).join("fixtures/demo/icbc/ICBC_camt053_20240321.xml"));
    let at = xml.find("代发养老金").unwrap();
    let line = 1 + xml[..at].matches('\n').count();
    let mut bytes = xml.as_bytes()[..at].to_vec();
    bytes.extend_from_slice(&encoding_rs::GBK.encode("代发养老金").0);
    bytes.extend_from_slice(&xml.as_bytes()[at + "代发养老金".len()..]);
    let p = dir.join("gbk-in-utf8.xml");
    std::fs::write(&p, &bytes).unwrap();
    let want = format!("{}: invalid UTF-8 at byte {at} (line {line}); ", p.display());
    let out = fundrecon(&["parse", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&want), "parse: {}", text(&out.stderr));
    let args = reconcile_args(&dir, "fixtures/demo/books/receipts.csv", &tmp.path().join("out"));
    let out = fundrecon(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&want), "reconcile: {}", text(&out.stderr));
    // The daily job's path: the library's stream, as the worker and `run` call it.
    let mut sink = |_| Ok(());
    let e = parse::stream(&p.display().to_string(), &mut &bytes[..], None, None, &Limits::default(), &mut sink)
        .unwrap_err();
    assert!(e.to_string().contains(&want), "stream: {e}");
}

// ---------------------------------------------------------------------------------------
// Point 16: values that cannot be right

#[test]
fn impossible_values_are_refused_at_parse_time_with_the_place() {
    let tmp = tempfile::tempdir().unwrap();
    let mt940 = read(&Path::new(ROOT).join("fixtures/demo/boc/BOC_MT940_20240321.sta"));
    let xml = read(&Path::new(ROOT).join("fixtures/demo/icbc/ICBC_camt053_20240321.xml"));
    let cases: Vec<(&str, String, String)> = vec![
        (
            "three-decimals.sta",
            mt940.replacen("D12000000,00NTRF", "D12000000,001NTRF", 1),
            ":8: field amount: -12000000.001 has 3 decimals; CNY has 2 (an amount cannot be right)".into(),
        ),
        (
            "nul.sta",
            mt940.replacen("20231221-20240320", "20231221\0-20240320", 1),
            ":6: field narrative: control character U+0000 at character".into(),
        ),
        (
            "three-decimals.xml",
            xml.replacen(">7056.00<", ">7056.001<", 1),
            " at /Document/BkToCstmrStmt/Stmt[1]/Ntry[2]: field amount: -7056.001 has 3 decimals; CNY has 2".into(),
        ),
        (
            "year-zero.xml",
            xml.replacen("<BookgDt><Dt>2024-03-21</Dt>", "<BookgDt><Dt>0000-01-01</Dt>", 1),
            " at /Document/BkToCstmrStmt/Stmt[1]/Ntry[1]: field booking date: date 0000-01-01 is outside the years 1900..=2200"
                .into(),
        ),
    ];
    for (name, content, want) in cases {
        assert_ne!(&content, if name.ends_with(".sta") { &mt940 } else { &xml }, "{name}: the case changes the file");
        let p = tmp.path().join(name);
        std::fs::write(&p, &content).unwrap();
        let out = fundrecon(&["parse", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{}{want}", p.display())), "{name}: {err}");
    }
}

/// A bank CSV export (the ICBC corporate layout, GB18030): a cut inside an entry row is
/// refused (the last line has fewer cells than the header and the row before). What a CSV
/// cannot show, and so is allowed, exactly:
/// (a) a cut at a line end: a shorter export is a complete file (no end mark is required);
/// (b) a cut inside the last cell of a row (附言, free text): a shorter text is still text;
/// (c) a cut in the footer after the last entry (合计, 以下空白): every entry is there.
#[test]
fn no_cut_bank_export_is_a_complete_statement() {
    let f = "fixtures/parse/table/icbc-corporate.csv";
    let bytes = fixture(f);
    let opts = parse::table::Options { layout: None, account: Some("3100019009000099999") };
    let limits = Limits::default();
    let read = |b: &[u8]| parse::table::layouts().parse_with(f, b, &opts, &limits);
    assert_eq!(read(&bytes).unwrap()[0].entries.len(), 5);
    let total = encoding_rs::GB18030.encode("合计").0;
    let footer = bytes.windows(total.len()).position(|w| w == &total[..]).unwrap();
    let mut accepted = Vec::new();
    for k in 0..bytes.len() {
        let Ok(stmts) = read(&bytes[..k]) else { continue };
        let line_end = k == 0 || matches!(bytes[k - 1], b'\n' | b'\r');
        let last_cell = !bytes[k..].iter().take_while(|&&b| b != b'\n').any(|&b| b == b',');
        if stmts.is_empty() || line_end || last_cell || k > footer {
            continue;
        }
        accepted.push(k);
    }
    assert!(accepted.is_empty(), "{f}: prefixes accepted as complete: {accepted:?}");
    // Through the binary: a file cut inside its last entry row.
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.csv");
    let at = footer - 30;
    std::fs::write(&cut, &bytes[..at]).unwrap();
    let out = fundrecon(&["parse", cut.to_str().unwrap(), "--account", "3100019009000099999"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("the file is cut off"), "{}", text(&out.stderr));
}

/// A NUL in a narrative used to pass SQLite and fail a PostgreSQL batch with `invalid byte
/// sequence … 0x00`, naming no place. Now the daily run refuses the file at parse time on
/// both backends with the same words: file, line, field.
#[test]
fn the_daily_run_refuses_impossible_values_alike_on_both_backends() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for b in rt.block_on(backends(tmp.path(), "nul")) {
        let dir = tmp.path().join(b.name);
        std::fs::create_dir_all(&dir).unwrap();
        let url = if b.name == "sqlite" { String::new() } else { b.url.clone() };
        let cfg = demo_copy(&dir, &url);
        let sta = dir.join("demo/boc/BOC_MT940_20240322.sta");
        let good = read(&sta);
        std::fs::write(&sta, good.replacen("省级调剂金", "省级\0调剂金", 1)).unwrap();
        let out = fundrecon(&["run", "--config", cfg.to_str().unwrap(), "--date", "2024-03-22"]);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_ne!(out.status.code(), Some(0), "{}: {all}", b.name);
        assert!(
            all.contains("BOC_MT940_20240322.sta:6: field narrative: control character U+0000 at character 12"),
            "{}: {all}",
            b.name
        );
        assert!(!all.contains("invalid byte sequence"), "{}: {all}", b.name);
    }
}
