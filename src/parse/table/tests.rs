use super::*;
use crate::money::canonical;

fn gbk(s: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::GBK.encode(s);
    assert!(!bad);
    b.into_owned()
}

fn parse(text: &str) -> Result<Vec<Statement>, ParseError> {
    Layouts::builtin().parse_with(
        "t.csv",
        text.as_bytes(),
        &Options { layout: None, account: Some("ACC") },
        &Limits::default(),
    )
}

#[test]
fn shipped_layouts_load() {
    let l = Layouts::try_builtin().unwrap();
    assert!(l.names().len() >= 8);
    for name in [
        "icbc-corporate",
        "ccb-corporate",
        "abc-personal",
        "boc-debit",
        "bocom-debit",
        "cmb-corporate",
        "cmbc-corporate",
        "generic-split",
    ] {
        assert!(l.get(name).is_some(), "{name}");
    }
}

#[test]
fn every_shipped_file_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("formats");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = builtin::FILES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, listed, "formats/*.toml and the compiled-in list (build.rs) disagree");
    for (name, text) in builtin::FILES {
        let l = parse_layout(name, text).unwrap();
        assert_eq!(format!("{}.toml", l.name), *name, "a layout's name is its file name");
    }
}

#[test]
fn split_columns_metadata_and_balance() {
    let text = "民生银行账户明细\n账户名称:,社保基金专户\n账号:,\t6226000012345678\n币种:,人民币\n\
                交易时间,交易流水号,借方发生额,贷方发生额,账户余额,凭证号,客户附言,对方账号,对方账号名称,对方开户行\n\
                2024-01-05 09:00:00,A1,,\"1,000.00\",\"11,000.00\",,拨入,6222,财政局,工行\n\
                2024-01-06 10:00:00,A2,200.00,-,\"10,800.00\",,拨付,6223,医院,建行\n\
                合计,,200.00,1000.00,,,,,,\n以下空白\n";
    let s = parse(text).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].account, "6226000012345678");
    assert_eq!(canonical(s[0].opening.as_ref().unwrap().amount.amount), "10000.00");
    assert_eq!(canonical(s[0].closing.as_ref().unwrap().amount.amount), "10800.00");
    assert_eq!(s[0].entries.len(), 2);
    assert_eq!(canonical(s[0].entries[1].amount.amount), "-200.00");
    assert_eq!(s[0].entries[1].location, "line 7");
    assert_eq!(s[0].entries[0].bank_ref.as_deref(), Some("A1"));
}

#[test]
fn running_balance_break_names_row_and_numbers() {
    let text = "交易时间,交易流水号,借方发生额,贷方发生额,账户余额\n\
                2024-01-05,A1,,100.00,1100.00\n2024-01-06,A2,10.00,,1080.00\n";
    // Parsed (it is what the bank sent) and flagged with the place and both numbers.
    let s = parse(text).unwrap();
    assert_eq!(s[0].entries.len(), 2);
    assert_eq!(s[0].flags.len(), 1);
    let f = &s[0].flags[0];
    assert!(f.starts_with("arithmetic_error: ") && f.contains(" at line 3: "), "{f}");
    assert!(f.contains("1090.00") && f.contains("1080.00"), "{f}");
}

#[test]
fn newest_first_is_reversed() {
    let text = "交易时间,交易流水号,借方发生额,贷方发生额,账户余额\n\
                2024-01-07,A3,5.00,,1085.00\n2024-01-06,A2,10.00,,1090.00\n2024-01-05,A1,,100.00,1100.00\n";
    let s = parse(text).unwrap();
    let refs: Vec<_> = s[0].entries.iter().map(|e| e.bank_ref.clone().unwrap()).collect();
    assert_eq!(refs, ["A1", "A2", "A3"]);
    assert_eq!(canonical(s[0].opening.as_ref().unwrap().amount.amount), "1000.00");
    assert_eq!(canonical(s[0].closing.as_ref().unwrap().amount.amount), "1085.00");
}

#[test]
fn gbk_and_full_width_headers() {
    let text = "账号,账户名称,交易时间,借方发生额（支取）,贷方发生额（收入）,余额,币种,对方户名,对方账号,对方开户机构,记账日期,摘要\n\
                '6222000000000001,专户,20240105 17:07:09,０.００,１，２３４．５６,\"1,234.56\",人民币元,张三,=\"6222000000000002\",建行,20240105,拨入\n";
    let s = Layouts::builtin().parse("t.csv", &gbk(text), None, &Limits::default()).unwrap();
    assert_eq!(s[0].account, "6222000000000001");
    assert_eq!(s[0].entries[0].counterparty_account.as_deref(), Some("6222000000000002"));
    assert_eq!(canonical(s[0].entries[0].amount.amount), "1234.56");
    assert_eq!(Layouts::builtin().detect(&gbk(text), "t.csv").map(|l| l.name.as_str()), Some("ccb-corporate"));
}

#[test]
fn refusals() {
    let l = Layouts::builtin();
    let lim = Limits::default();
    let alipay = "交易时间,交易分类,交易对方,对方账号,商品说明,收/支,金额,收/付款方式,交易状态,交易订单号,商家订单号,备注,\n\
                  2023-01-09 18:21:50,交通出行,一卡通,x,充值,支出,50.00,余额宝,交易成功,1,2,,\n";
    let e = l.parse("a.csv", alipay.as_bytes(), None, &lim).unwrap_err();
    assert!(e.message.starts_with("unknown layout"), "{e}");
    assert!(e.message.contains("交易订单号") && e.message.contains("payment-platform"), "{e}");
    let e = l.parse("a.csv", b"hello\nworld\n", None, &lim).unwrap_err();
    assert!(e.message.starts_with("unknown layout"), "{e}");
    let e = l.parse("a.csv", "交易日期,摘要\n2024-01-01,x\n".as_bytes(), Some("cmbc-corporate"), &lim).unwrap_err();
    assert!(e.message.contains("header missing a required column"), "{e}");
    assert!(l.parse("a.csv", b"", None, &lim).is_err());
    let small = Limits { max_file_bytes: 4, ..Limits::default() };
    assert!(l.parse("a.csv", b"12345", None, &small).unwrap_err().message.contains("over the limit"));
}

#[test]
fn never_panics_on_noise() {
    let l = Layouts::builtin();
    let lim = Limits::default();
    let mut seed = 0x2545F4914F6CDD1Du64;
    let base =
        "交易时间,交易流水号,借方发生额,贷方发生额,账户余额\n2024-01-05,A1,,100.00,1100.00\n".as_bytes().to_vec();
    for _ in 0..3000 {
        let mut b = base.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % b.len();
            b[i] = (seed >> 32) as u8;
        }
        let _ = l.parse("f.csv", &b, None, &lim);
        let _ = l.parse("f.xls", &[&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..], &b].concat(), None, &lim);
        let _ = l.parse("f.xlsx", &[&b"PK\x03\x04"[..], &b].concat(), None, &lim);
    }
}
