//! Counterparty evidence beyond an equal account number: masked card numbers
//! (`6217****1234`) against full ones, and names written in full or short
//! (`…有限公司` vs the 简称, `张*` for a masked person).
//!
//! Everything here answers "could these be the same party?" conservatively: a `false`
//! costs an open item, a wrong `true` could cost a wrong match (the rules using it also
//! demand an equal amount and a pair that is unique both ways).

use super::text::normalize;

/// Digits of an account that a bank masked (`6217****1234`, `6217 **** **** 1234`,
/// `621700******1234`): the visible head and tail. `None` for an account that is not
/// masked or shows too little to tell (fewer than 4 digits on either side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masked {
    pub head: String,
    pub tail: String,
}

/// Characters banks mask digits with.
fn is_mask(c: char) -> bool {
    matches!(c, '*' | '＊' | '×' | 'X' | 'x')
}

/// The masked form of `raw`, if it is masked.
pub fn masked(raw: &str) -> Option<Masked> {
    // Hot: asked of every account; most hold no mask character at all.
    if !raw.contains(['*', '＊', '×']) {
        return None;
    }
    let s: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{3000}')).collect();
    if !s.chars().any(|c| c == '*' || c == '＊' || c == '×') {
        return None;
    }
    let head: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let tail: String = {
        let mut t: Vec<char> = s.chars().rev().take_while(|c| c.is_ascii_digit()).collect();
        t.reverse();
        t.into_iter().collect()
    };
    let middle = s.chars().count() - head.chars().count() - tail.chars().count();
    // The middle must be mask characters only: `6217**12**34` is not a masked account.
    let mid_ok = s.chars().skip(head.len()).take(middle).all(is_mask);
    if !mid_ok || head.len() < 4 || tail.len() < 4 {
        return None;
    }
    // The number of mask characters says nothing: banks show `6230****6970` for a card of
    // 19 digits as for one of 16.
    Some(Masked { head, tail })
}

/// The key both masked and full accounts share: the first four and the last four digits.
/// `None` for accounts too short to have one (under 10 digits unmasked).
pub fn mask_key(raw: &str) -> Option<(u32, u32)> {
    let four = |s: &str| -> Option<u32> { s.parse().ok() };
    if let Some(m) = masked(raw) {
        return Some((four(m.head.get(..4)?)?, four(m.tail.get(m.tail.len() - 4..)?)?));
    }
    // Hot (every account of a million rows): digits, blanks and dashes only, read in place.
    let b = raw.as_bytes();
    if !b.iter().all(|c| c.is_ascii_digit() || matches!(c, b' ' | b'-')) {
        return None;
    }
    let digits = || b.iter().filter(|c| c.is_ascii_digit()).map(|c| u32::from(c - b'0'));
    if digits().count() < 10 {
        return None;
    }
    let head = digits().take(4).fold(0, |a, d| a * 10 + d);
    let mut last: Vec<u32> = digits().rev().take(4).collect();
    last.reverse();
    Some((head, last.into_iter().fold(0, |a, d| a * 10 + d)))
}

/// A masked account against another account (masked or full): the same party as far as
/// the visible digits tell. Two full accounts are never compared here (equality is the
/// counterparty rule's own test).
pub fn mask_compatible(a: &str, b: &str) -> bool {
    match (masked(a), masked(b)) {
        (Some(x), Some(y)) => x == y,
        (Some(m), None) => full_fits(&m, b),
        (None, Some(m)) => full_fits(&m, a),
        (None, None) => false,
    }
}

fn full_fits(m: &Masked, full: &str) -> bool {
    let digits: String = full.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    digits.bytes().all(|b| b.is_ascii_digit())
        && digits.len() >= m.head.len() + m.tail.len()
        && digits.starts_with(&m.head)
        && digits.ends_with(&m.tail)
}

/// Words of a legal form or a branch that a short name drops, longest first.
const LEGAL_FORMS: [&str; 9] =
    ["股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司", "LIMITED", "LTD", "GMBH", "INC"];

/// Words that make a name an organisation's (a person's name must be equal to count).
const ORG_WORDS: [&str; 22] = [
    "公司",
    "银行",
    "医院",
    "局",
    "厅",
    "中心",
    "大学",
    "学校",
    "委员会",
    "院",
    "所",
    "站",
    "社",
    "户",
    "部",
    "处",
    "办",
    "会",
    "馆",
    "行",
    "BANK",
    "FUND",
];

/// A name in the form names are compared in: full-width folded, ASCII upper-cased, every
/// blank and punctuation mark dropped, the legal form at the end dropped
/// (`市第一人民医院有限公司` → `市第一人民医院`).
pub fn name_form(raw: &str) -> String {
    let mut s: String =
        normalize(raw).chars().filter(|c| c.is_alphanumeric() || is_mask(*c) || *c == '*' || *c == '＊').collect();
    loop {
        let before = s.len();
        for f in LEGAL_FORMS {
            if s.len() > f.len() + 3
                && let Some(t) = s.strip_suffix(f)
            {
                s.truncate(t.len());
            }
        }
        if s.len() == before {
            break;
        }
    }
    s
}

fn is_org(n: &str) -> bool {
    ORG_WORDS.iter().any(|w| n.contains(w))
}

/// Two names that could be the same party: equal in [`name_form`]; a masked person
/// (`张*`, `张**`) whose shown characters and length fit; or, for organisations, the
/// shorter contained in the longer (`第一人民医院` in `市第一人民医院`) or its short name
/// (简称: `工行` for `中国工商银行`, `桂林康复医院` for `桂林市康复医院`, `来宾城投` for
/// `来宾市城市建设投资有限公司`: every character of the short name in the long one, in
/// order, the first within its first three characters), never leaving out a numeral of
/// the long name (`桂林人民医院` is not `桂林市第二人民医院`). A person's name must be
/// equal.
pub fn names_compatible(a: &str, b: &str) -> bool {
    let org = is_org(&normalize(a)) || is_org(&normalize(b));
    let (a, b) = (name_form(a), name_form(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    if let Some(ok) = masked_name(&a, &b).or_else(|| masked_name(&b, &a)) {
        return ok;
    }
    if !org {
        return false;
    }
    let (short, long) = if a.chars().count() <= b.chars().count() { (&a, &b) } else { (&b, &a) };
    let (n, m) = (short.chars().count(), long.chars().count());
    // A numeral of the long name (第二, 三院, 2号) the short one leaves out names another body.
    if long.chars().filter(|c| is_numeral(*c)).any(|c| !short.contains(c)) {
        return false;
    }
    let cjk = short.chars().all(|c| !c.is_ascii());
    // Containment: a CJK short name of 3+ characters, an ASCII one of 5+.
    if long.contains(short.as_str()) && n >= if cjk { 3 } else { 5 } {
        return true;
    }
    // Abbreviation (简称): CJK only, at least 2 characters, shorter than the full name, in
    // order, starting near the start.
    if cjk && n >= 2 && n < m {
        let first = short.chars().next();
        if !long.chars().take(3).any(|c| Some(c) == first) {
            return false;
        }
        let mut it = long.chars();
        return short.chars().all(|c| it.any(|l| l == c));
    }
    false
}

fn is_numeral(c: char) -> bool {
    c.is_ascii_digit() || "一二三四五六七八九十〇零".contains(c)
}

/// `张*` against `张三`: `Some(fits)` when `m` holds a mask character, else `None`.
fn masked_name(m: &str, full: &str) -> Option<bool> {
    if !m.chars().any(is_mask_name) {
        return None;
    }
    if full.chars().any(is_mask_name) {
        return Some(false);
    }
    let (mc, fc): (Vec<char>, Vec<char>) = (m.chars().collect(), full.chars().collect());
    let shown = mc.iter().filter(|c| !is_mask_name(**c)).count();
    if shown == 0 {
        return Some(false);
    }
    // One mask character per hidden character, or one standing for the rest.
    let fits_len = mc.len() == fc.len() || (mc.last().is_some_and(|c| is_mask_name(*c)) && mc.len() <= fc.len());
    Some(fits_len && mc.iter().zip(&fc).all(|(m, f)| is_mask_name(*m) || m == f))
}

fn is_mask_name(c: char) -> bool {
    matches!(c, '*' | '＊')
}

/// Words of a free text that may be a party's name (the bank wrote no name field: `丧葬补助金
/// 宋霞杰`, `对方户名:张三`, a name on its own `:86:` line): the runs of Chinese characters
/// between blanks and punctuation, two characters or more, at most [`MAX_TEXT_NAMES`].
pub fn names_in_text(text: &str) -> impl Iterator<Item = &str> {
    // Split at everything but non-ASCII letters (Chinese characters) and mask stars.
    let name_char = |c: char| (c.is_alphanumeric() && !c.is_ascii()) || matches!(c, '*' | '＊');
    text.split(move |c: char| !name_char(c))
        .map(|w| {
            // `收款人刘勇`, `户名:…`: a label glued to the name is dropped.
            LABELS.iter().find_map(|l| w.strip_prefix(l)).filter(|rest| !rest.is_empty()).unwrap_or(w)
        })
        .filter(|w| {
            // Two Chinese characters, or a masked name (`吴**`, `陈*`).
            let cjk = w.chars().filter(|c| !c.is_ascii() && !matches!(c, '＊')).count();
            cjk >= 2 || (cjk >= 1 && w.chars().count() >= 2 && w.contains(['*', '＊']))
        })
        .take(MAX_TEXT_NAMES)
}

/// Labels banks write before a name in free text, longest first.
const LABELS: [&str; 14] = [
    "对方户名",
    "对方名称",
    "收款单位",
    "付款单位",
    "收款人",
    "付款人",
    "受益人",
    "汇款人",
    "收款方",
    "付款方",
    "户名",
    "对方",
    "名称",
    "单位",
];

/// Names taken from one text at most.
pub const MAX_TEXT_NAMES: usize = 16;

/// Account numbers a free text names (`… 北海市人民医院 4500021929459158640`, `ACCOUNT
/// 6214****9784`): runs of 10 to 34 digits, or a masked card number (digits, mask
/// characters, digits), at most [`MAX_TEXT_NAMES`].
pub fn accounts_in_text(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_digit() || matches!(c, '*' | '＊')))
        .filter(|w| {
            let digits = w.bytes().filter(u8::is_ascii_digit).count();
            if w.contains(['*', '＊']) { masked(w).is_some() } else { (10..=34).contains(&digits) }
        })
        .take(MAX_TEXT_NAMES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_accounts() {
        let m = masked("6217****1234").unwrap();
        assert_eq!((m.head.as_str(), m.tail.as_str()), ("6217", "1234"));
        assert_eq!(masked("6217 **** **** 1234").unwrap().head, "6217");
        assert!(masked("6217000012341234").is_none(), "not masked");
        assert!(masked("62**1234").is_none(), "too little shown");
        assert!(masked("6217**12**1234").is_none(), "digits inside the mask");
        assert!(mask_compatible("6217********1234", "6217000011111234"));
        assert!(mask_compatible("6217000011111234", "6217*1234"));
        assert!(mask_compatible("6230****6970", "6230417509663306970"), "four stars for fifteen digits");
        assert!(!mask_compatible("6217********1234", "6217000011111235"));
        assert!(!mask_compatible("6217000011111234", "6217000011111234"), "two full accounts: not this test");
        assert!(mask_compatible("6217****1234", "6217****1234"));
        assert_eq!(mask_key("6217****1234"), mask_key("6217000011111234"));
        assert_eq!(mask_key("123"), None);
    }

    #[test]
    fn names() {
        assert!(names_compatible("市第一人民医院有限公司", "市第一人民医院"));
        assert!(names_compatible("市第一人民医院", "第一人民医院"));
        assert!(names_compatible("中国工商银行股份有限公司", "工商银行"));
        assert!(names_compatible("中国工商银行", "工行"));
        assert!(names_compatible("某某市财政局", "市财政局"));
        assert!(names_compatible("ＡＢＣ　Trading Ltd.", "abc trading"));
        assert!(names_compatible("张三", "张三"));
        assert!(names_compatible("张*", "张三"));
        assert!(names_compatible("张**", "张三丰"));
        assert!(!names_compatible("张*", "李三"));
        assert!(!names_compatible("张三", "张三丰"), "a person's name must be equal");
        assert!(!names_compatible("张三", "李四"));
        assert!(!names_compatible("市第一人民医院", "市第二人民医院"));
        assert!(!names_compatible("", "张三"));
        assert!(!names_compatible("医院", "市第一人民医院"), "two characters contained is too little");
        assert!(names_compatible("市一院", "市第一人民医院"));
        assert!(!names_compatible("院一", "市第一人民医院"), "in order");
        // 简称 as clerks write them (the administrative 市 dropped, the legal form dropped).
        for (short, full) in [
            ("桂林康复医院", "桂林市康复医院"),
            ("河池大药房", "河池市大药房连锁有限公司"),
            ("来宾城投", "来宾市城市建设投资有限公司"),
            ("梧州中医院", "梧州市中医医院"),
            ("桂林公交公司", "桂林市公共交通有限公司"),
            ("桂林机关事务局", "桂林市机关事务管理局"),
            ("北海就业中心", "北海市就业服务中心"),
        ] {
            assert!(names_compatible(short, full), "{short} / {full}");
        }
        assert!(!names_compatible("桂林人民医院", "桂林市第二人民医院"), "a numeral left out");
        assert!(!names_compatible("柳州医药", "桂林市医药有限公司"));
    }

    #[test]
    fn names_and_accounts_in_free_text() {
        let t = "丧葬补助金 宋霞杰 对方户名:北海市人民医院,账号 4500021929459158640 REF 12345";
        assert_eq!(
            names_in_text(t).collect::<Vec<_>>(),
            ["丧葬补助金", "宋霞杰", "对方户名", "北海市人民医院", "账号"]
        );
        assert_eq!(accounts_in_text(t).collect::<Vec<_>>(), ["4500021929459158640"]);
        assert!(names_in_text("李").next().is_none(), "one Chinese character is no name");
        assert_eq!(names_in_text("BENEFICIARY 吴** ACCOUNT 6214****9784").collect::<Vec<_>>(), ["吴**"]);
        assert_eq!(accounts_in_text("BENEFICIARY 吴** ACCOUNT 6214****9784").collect::<Vec<_>>(), ["6214****9784"]);
        assert!(accounts_in_text("12**34 2024*5").next().is_none(), "too little shown to be a card");
        assert_eq!(names_in_text("退回 朱磊艳 收款人已身故").collect::<Vec<_>>(), ["退回", "朱磊艳", "已身故"]);
        assert_eq!(
            names_in_text("退汇 收款人刘勇 原因:账户已冻结").collect::<Vec<_>>(),
            ["退汇", "刘勇", "原因", "账户已冻结"]
        );
    }
}
