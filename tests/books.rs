//! Vouchers that leave the books (issue 15 point 2), through the binary on every backend:
//! a voucher missing from a full export, a 作废 row, a negating record (红字冲销). Each
//! releases its matches and is named in the 运行情况 sheet; a voucher a person decided on
//! stays an item for review; a rerun changes nothing; bad void rows are refused with
//! file, line and field.

mod common;

use common::*;
use std::path::Path;
use std::process::Output;

const HEAD: &str =
    "voucher_no,account_no,pay_date,amount,currency,counterparty_account,counterparty_name,purpose,batch_ref";

fn fundrecon(args: &[&str]) -> std::process::Output {
    fundrecon_bin(args)
}

fn said(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn run(cfg: &str) -> Output {
    fundrecon(&["run", "--config", cfg, "--date", "2024-03-22"])
}

/// The demo's book file without the lines holding `drop`, with `extra` lines appended;
/// `status` adds the two void columns (empty on the demo's own rows).
fn rewrite(path: &Path, drop: &[&str], extra: &[&str], status: bool) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if i == 0 {
            lines.push(if status { format!("{HEAD},status,voids") } else { l.to_string() });
        } else if !drop.iter().any(|d| l.starts_with(&format!("{d},"))) {
            lines.push(if status { format!("{l},,") } else { l.to_string() });
        }
    }
    lines.extend(extra.iter().map(|s| s.to_string()));
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn report(dir: &Path, name: &str) -> String {
    read(&dir.join("reports/2024-03-22").join(name))
}

#[tokio::test]
async fn withdrawn_vouchers_release_their_matches_and_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "books_withdrawn").await {
        let dir = tmp.path().join(b.name);
        let cfg_path = demo_copy(&dir, &b.url);
        let cfg = cfg_path.to_str().unwrap();
        let books = dir.join("demo/books");
        let first = run(cfg);
        assert!(first.status.code().is_some_and(|c| c <= 1), "{}: {}", b.name, said(&first));
        let matches = report(&dir, "matches.csv");
        for v in ["ZR-240321-01", "ZC20240322-0031", "20240321-0007"] {
            assert!(matches.contains(v), "{}: {v} is matched before: {matches}", b.name);
        }
        let open = report(&dir, "discrepancies.csv");
        assert!(open.contains("20240322-0011"), "{}: 20240322-0011 is open before: {open}", b.name);
        // A person confirms the match of ZR-240321-01 before the finance system drops it.
        let c = review_cli(cfg, "confirm", "1202020209000012345", &[], &["ZR-240321-01"], "核对无误", "李会计");
        assert_eq!(c.status.code(), Some(0), "{}: {}", b.name, said(&c));

        // The next exports: ZR-240321-01 and ZC20240322-0031 are gone (full exports);
        // 20240321-0007 is 作废; 20240322-0011 is cancelled by a negating record (红字).
        rewrite(&books.join("receipts.csv"), &["ZR-240321-01"], &[], false);
        rewrite(
            &books.join("disbursements.csv"),
            &["ZC20240322-0031", "20240321-0007"],
            &[
                "20240321-0007,450012345678901234,2024-03-21,12000000.00,CNY,1202020209000012345,社会保险基金支出户,拨付 用款计划2024-03,,作废,",
                "20240322-0011-H,450012345678901234,2024-03-22,-3300000.00,CNY,1202020209000012345,社会保险基金支出户,红字冲销,,,20240322-0011",
            ],
            true,
        );
        let second = run(cfg);
        assert!(second.status.code().is_some_and(|c| c <= 1), "{}: {}", b.name, said(&second));
        let matches = report(&dir, "matches.csv");
        let open = report(&dir, "discrepancies.csv");
        for v in ["ZC20240322-0031", "20240321-0007", "20240322-0011", "20240322-0011-H"] {
            assert!(!matches.contains(v), "{}: withdrawn {v} is still matched: {matches}", b.name);
            assert!(!open.contains(&format!(",{v},")), "{}: withdrawn {v} is an open item: {open}", b.name);
        }
        // The withdrawn voucher someone confirmed stays an item for review.
        let review = open.lines().find(|l| l.contains("ICBC2403210001")).unwrap_or_default();
        assert!(
            review.contains("amount_mismatch")
                && review.contains("no longer in the books")
                && review.contains("decision #1"),
            "{}: the confirmed match of a withdrawn voucher is an item for review: {review:?}\n{open}",
            b.name
        );
        // The bank entries of the released matches are open again.
        assert!(
            open.lines().any(|l| l.contains("ICBC2403220004") && l.contains("missing_in_books")),
            "{}: the entry of ZC20240322-0031 is open again: {open}",
            b.name
        );
        let page = report(&dir, "report.html");
        for w in [
            "1202020209000012345 收款 ZR-240321-01: not in the full export",
            "1202020209000012345 拨付 ZC20240322-0031: not in the full export",
            "450012345678901234 拨付 20240321-0007: 作废 (voided by",
            "450012345678901234 拨付 20240322-0011: 红字冲销 by voucher 20240322-0011-H",
            "凭证已撤销",
        ] {
            assert!(page.contains(w), "{}: 运行情况 names {w:?}", b.name);
        }
        // A rerun gives the same reports.
        let (m, d) = (matches.clone(), open.clone());
        let third = run(cfg);
        assert!(third.status.code().is_some_and(|c| c <= 1), "{}: {}", b.name, said(&third));
        assert_eq!(report(&dir, "matches.csv"), m, "{}", b.name);
        assert_eq!(report(&dir, "discrepancies.csv"), d, "{}", b.name);

        // A voucher back in the export is back in the books.
        rewrite(
            &books.join("receipts.csv"),
            &[],
            &[
                "ZR-240321-01,1202020209000012345,2024-03-21,12000000.00,CNY,450012345678901234,社会保险基金财政专户,财政专户拨入,",
            ],
            false,
        );
        let fourth = run(cfg);
        assert!(fourth.status.code().is_some_and(|c| c <= 1), "{}: {}", b.name, said(&fourth));
        let open = report(&dir, "discrepancies.csv");
        assert!(!open.lines().any(|l| l.contains("ICBC2403210001")), "{}: reinstated: {open}", b.name);
    }
}

#[tokio::test]
async fn bad_void_rows_and_empty_full_exports_are_refused_with_their_place() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "unknown status",
            &["V-X,450012345678901234,2024-03-22,1.00,CNY,,,,,待定,"],
            "disbursements.csv:10: field status: status \"待定\" is not known",
        ),
        (
            "negating an unknown voucher",
            &["V-H,450012345678901234,2024-03-22,1.00,CNY,,,,,,NOPE"],
            "line 10: field voids: voucher \"NOPE\" is not in the books of account 450012345678901234",
        ),
        (
            "negating part of a voucher",
            &["V-H,450012345678901234,2024-03-22,1.00,CNY,,,,,,20240322-0011"],
            "line 10: field amount: 1.00 cancels voucher 20240322-0011 of 3300000.00",
        ),
    ];
    for b in backends(tmp.path(), "books_bad").await {
        for (i, (what, rows, want)) in cases.iter().enumerate() {
            let dir = tmp.path().join(format!("{}-{i}", b.name));
            let url = if b.name == "sqlite" { format!("sqlite://{}/t.db", dir.display()) } else { b.url.clone() };
            let cfg_path = demo_copy(&dir, &url);
            let cfg = cfg_path.to_str().unwrap();
            rewrite(&dir.join("demo/books/disbursements.csv"), &[], rows, true);
            let out = run(cfg);
            assert_eq!(out.status.code(), Some(2), "{} {what}: {}", b.name, said(&out));
            assert!(said(&out).contains(want), "{} {what}: want {want:?} in {}", b.name, said(&out));
            // Nothing of the refused file is stored: its vouchers stay as they were.
            assert!(!report(&dir, "matches.csv").contains("V-"), "{} {what}", b.name);
        }
        // A full export that is suddenly empty would withdraw everything: refused.
        let dir = tmp.path().join(format!("{}-empty", b.name));
        let url = if b.name == "sqlite" { format!("sqlite://{}/t.db", dir.display()) } else { b.url.clone() };
        let cfg_path = demo_copy(&dir, &url);
        let cfg = cfg_path.to_str().unwrap();
        assert!(run(cfg).status.code().is_some_and(|c| c <= 1));
        std::fs::write(dir.join("demo/books/receipts.csv"), format!("{HEAD}\n")).unwrap();
        let out = run(cfg);
        assert_eq!(out.status.code(), Some(2), "{}: {}", b.name, said(&out));
        assert!(
            said(&out).contains("a full export with no records would withdraw every voucher of book source receipts"),
            "{}: {}",
            b.name,
            said(&out)
        );
        assert!(report(&dir, "matches.csv").contains("ZR-240321-01"), "{}: the receipts stay in the books", b.name);
    }
}

/// The one-shot `reconcile` applies the same void rows as the database (the ledger keeps
/// the store's import rules): a 作废 voucher and a negated one are neither matched nor
/// open, and a negating record of an unknown voucher fails with the file and line.
#[test]
fn reconcile_applies_void_rows_like_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(ROOT);
    let d = tmp.path().join("disbursements.csv");
    std::fs::copy(root.join("fixtures/demo/books/disbursements.csv"), &d).unwrap();
    rewrite(
        &d,
        &["20240321-0007"],
        &[
            "20240321-0007,450012345678901234,2024-03-21,12000000.00,CNY,1202020209000012345,社会保险基金支出户,拨付 用款计划2024-03,,void,",
            "20240322-0011-H,450012345678901234,2024-03-22,3300000.00,CNY,1202020209000012345,社会保险基金支出户,红字冲销,,,20240322-0011",
        ],
        true,
    );
    let reconcile = |books: &Path, out: &Path| {
        fundrecon(&[
            "reconcile",
            "--statements",
            root.join("fixtures/demo/boc").to_str().unwrap(),
            root.join("fixtures/demo/icbc").to_str().unwrap(),
            "--disbursements",
            books.to_str().unwrap(),
            "--receipts",
            root.join("fixtures/demo/books/receipts.csv").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = tmp.path().join("out");
    let o = reconcile(&d, &out);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", said(&o));
    let all = read(&out.join("matches.csv")) + &read(&out.join("discrepancies.csv"));
    for v in ["20240321-0007", "20240322-0011"] {
        assert!(!all.contains(v), "withdrawn {v} is still reported: {all}");
    }
    assert!(all.contains("20240322-0012"), "the other vouchers stay");
    rewrite(&d, &[], &["X-H,450012345678901234,2024-03-22,5.00,CNY,,,,,,NOPE"], false);
    let o = reconcile(&d, &tmp.path().join("out2"));
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        said(&o).contains(&format!("{}: line 11: field voids: voucher \"NOPE\" is not in the books", d.display())),
        "{}",
        said(&o)
    );
}

/// A voucher that left the books cannot be matched by hand: the refusal says why.
#[tokio::test]
async fn a_withdrawn_voucher_cannot_be_matched_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "books_match_withdrawn").await {
        let dir = tmp.path().join(b.name);
        let cfg_path = demo_copy(&dir, &b.url);
        let cfg = cfg_path.to_str().unwrap();
        rewrite(&dir.join("demo/books/disbursements.csv"), &["ZC20240322-0031"], &[], false);
        let first = run(cfg);
        assert!(first.status.code().is_some_and(|c| c <= 1), "{}: {}", b.name, said(&first));
        // Not in the first full export at all: unknown. Delivered, then dropped: withdrawn.
        rewrite(
            &dir.join("demo/books/disbursements.csv"),
            &[],
            &["ZC20240322-0031,1202020209000012345,2024-03-22,500000.00,CNY,3100011009000056789,某医院,医疗费,"],
            false,
        );
        assert!(run(cfg).status.code().is_some_and(|c| c <= 1));
        let u = review_cli(cfg, "reject", "1202020209000012345", &["ICBC2403220004"], &[], "核对", "李会计");
        assert_eq!(u.status.code(), Some(0), "{}: {}", b.name, said(&u));
        rewrite(&dir.join("demo/books/disbursements.csv"), &["ZC20240322-0031"], &[], false);
        assert!(run(cfg).status.code().is_some_and(|c| c <= 1));
        let m = review_cli(
            cfg,
            "match",
            "1202020209000012345",
            &["ICBC2403220004"],
            &["ZC20240322-0031"],
            "手工勾对",
            "李会计",
        );
        assert_eq!(m.status.code(), Some(2), "{}: {}", b.name, said(&m));
        assert!(
            said(&m).contains("record disbursement:ZC20240322-0031 has left the books (not in the full export"),
            "{}: {}",
            b.name,
            said(&m)
        );
    }
}

/// A negating record outlives its voucher's re-delivery (a full export of another source
/// lists the voucher again every day); a full export withdraws only within its own period;
/// a negating record that is itself 作废 cancels nothing.
#[tokio::test]
async fn negations_hold_and_full_exports_keep_to_their_period() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "books_period").await {
        let dir = tmp.path().join(b.name);
        let cfg_path = demo_copy(&dir, &b.url);
        let books = dir.join("demo/books");
        std::fs::write(
            books.join("corrections.csv"),
            format!(
                "{HEAD},status,voids\n\
                 20240322-0011-H,450012345678901234,2024-03-22,3300000.00,CNY,,,红字冲销,,,20240322-0011\n\
                 20240322-0012-H,450012345678901234,2024-03-22,12000000.00,CNY,,,红字冲销 (作废),,作废,20240322-0012\n"
            ),
        )
        .unwrap();
        let mut text = std::fs::read_to_string(&cfg_path).unwrap();
        text.push_str(&format!(
            "\n[[books]]\nname = \"corrections\"\nkind = \"disbursement\"\npath = \"{}\"\ndelivery = \"incremental\"\n",
            books.join("corrections.csv").display()
        ));
        std::fs::write(&cfg_path, text).unwrap();
        let cfg = cfg_path.to_str().unwrap();
        for round in 0..2 {
            // The full disbursements export lists 20240322-0011 each time; the negation holds.
            let out = run(cfg);
            assert!(out.status.code().is_some_and(|c| c <= 1), "{} round {round}: {}", b.name, said(&out));
            let all = report(&dir, "matches.csv") + &report(&dir, "discrepancies.csv");
            assert!(!all.contains("20240322-0011"), "{} round {round}: negated voucher is back: {all}", b.name);
            assert!(all.contains("20240322-0012"), "{} round {round}: a voided 红字 cancels nothing", b.name);
            let page = report(&dir, "report.html");
            assert!(page.contains("20240322-0011: 红字冲销 by voucher 20240322-0011-H"), "{} round {round}", b.name);
            assert!(!page.contains("20240322-0011-H:"), "{}: the negating record itself is not listed", b.name);
            // The next incremental corrections file holds nothing new.
            std::fs::write(books.join("corrections.csv"), format!("{HEAD},status,voids\n")).unwrap();
        }
        // Next, the disbursements export holds only 2024-03-22 (a daily export), without
        // ZC20240322-0031: that one left the books; the earlier days' vouchers did not.
        let d = books.join("disbursements.csv");
        let kept: Vec<String> = std::fs::read_to_string(&d)
            .unwrap()
            .lines()
            .enumerate()
            .filter(|(i, l)| *i == 0 || (l.contains(",2024-03-22,") && !l.starts_with("ZC20240322-0031,")))
            .map(|(_, l)| l.to_string())
            .collect();
        std::fs::write(&d, kept.join("\n") + "\n").unwrap();
        let out = run(cfg);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{}: {}", b.name, said(&out));
        let all = report(&dir, "matches.csv") + &report(&dir, "discrepancies.csv");
        for v in ["20240318-0003", "20240321-0007", "DF202403-001"] {
            assert!(all.contains(v), "{}: {v} is outside the export's period and stays: {all}", b.name);
        }
        assert!(!all.contains("ZC20240322-0031"), "{}: {all}", b.name);
        assert!(
            report(&dir, "report.html").contains("ZC20240322-0031: not in the full export"),
            "{}: the withdrawal is named",
            b.name
        );
    }
}

/// A negating record is found in the other direction too: exports write a 红字 with the
/// voucher's sign or the opposite one, so a receipts row may cancel a disbursement.
#[tokio::test]
async fn a_negating_record_cancels_its_voucher_in_either_direction() {
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "books_either_way").await {
        let dir = tmp.path().join(b.name);
        let cfg_path = demo_copy(&dir, &b.url);
        let cfg = cfg_path.to_str().unwrap();
        assert!(run(cfg).status.code().is_some_and(|c| c <= 1));
        rewrite(
            &dir.join("demo/books/receipts.csv"),
            &[],
            &["HZ-0007,450012345678901234,2024-03-21,12000000.00,CNY,,,红字冲销,,,20240321-0007"],
            true,
        );
        let out = run(cfg);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{}: {}", b.name, said(&out));
        let all = report(&dir, "matches.csv") + &report(&dir, "discrepancies.csv");
        assert!(!all.contains("20240321-0007"), "{}: {all}", b.name);
        assert!(
            report(&dir, "report.html").contains("450012345678901234 拨付 20240321-0007: 红字冲销 by voucher HZ-0007"),
            "{}",
            b.name
        );
    }
}
