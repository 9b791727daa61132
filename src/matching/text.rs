//! Text normalisation for reference search.
//!
//! [`normalize`] folds full-width forms to ASCII (ＶＯ１２ → VO12), the ideographic space to
//! a space, and upper-cases ASCII; nothing else changes.
//!
//! [`canonical_ref`] is the form both book keys (voucher numbers, batch references) and bank
//! texts are searched in: [`normalize`], then the common prefixes that stand before a
//! number (`NO.`, `NO:`, `VOUCHER`, `VOUCHER NO.`, `凭证号:`, `凭证:`…) are dropped where a
//! token starts, and every run of separators (space, tab, `-`, `_`, `/`, `.`, `\`) becomes
//! one `-`. So `凭证号：ｖ－００１２`, `NO. V-0012` and `v 0012` all read `V-0012`. A key
//! is found only where it is not glued to ASCII letters or digits ([`at_boundary`]), so
//! voucher `0007` is not found inside `00071`.

/// Prefixes that announce a reference, in canonical (folded, upper-case) spelling; longer
/// first so that `VOUCHER NO.` wins over `VOUCHER`.
pub const PREFIXES: [&str; 14] = [
    "VOUCHER NO.",
    "VOUCHER NO:",
    "VOUCHER NO ",
    "VOUCHER:",
    "VOUCHER ",
    "VOUCHER",
    "NO.",
    "NO:",
    "凭证号码:",
    "凭证号:",
    "凭证号",
    "凭证编号:",
    "凭证编号",
    "凭证:",
];

pub fn normalize(s: &str) -> String {
    s.chars().map(fold).collect()
}

fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c).to_ascii_uppercase(),
        '\u{3000}' => ' ',
        _ => c.to_ascii_uppercase(),
    }
}

fn is_sep(c: char) -> bool {
    matches!(c, ' ' | '\t' | '-' | '_' | '/' | '.' | '\\')
}

/// Appends the canonical search form of `s` to `out` (see the module text). `_scratch` is
/// kept for callers; the text is folded as it is read, without a copy.
///
/// Hot: every voucher number and every text of every entry passes here once. So it reads
/// ASCII bytes directly, decodes only non-ASCII characters, and looks for a prefix only
/// where one could start (a folded `V`, `N` or `凭` not glued to a letter or digit).
pub fn canonical_into(s: &str, _scratch: &mut String, out: &mut String) {
    let b = s.as_bytes();
    // Already canonical (upper-case letters and digits only, the usual voucher or bank
    // reference): copied, once no prefix stands at its start.
    if b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        let glued = out.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric);
        if glued || !matches!(b.first(), Some(b'V' | b'N')) || prefix_at(s).is_none() {
            out.push_str(s);
            return;
        }
    }
    let mut i = 0;
    let mut prev_alnum = out.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric);
    let mut pending_sep = false;
    while i < b.len() {
        let (c, len) = if b[i] < 0x80 {
            (b[i].to_ascii_uppercase() as char, 1)
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            (fold(c), c.len_utf8())
        };
        if !prev_alnum
            && matches!(c, 'V' | 'N' | '凭')
            && let Some(n) = prefix_at(&s[i..])
        {
            i += n;
            pending_sep = true;
            continue;
        }
        i += len;
        if is_sep(c) {
            pending_sep = true;
            prev_alnum = false;
            continue;
        }
        if pending_sep {
            out.push('-');
            pending_sep = false;
        }
        out.push(c);
        prev_alnum = c.is_ascii_alphanumeric();
    }
    if pending_sep {
        out.push('-');
    }
}

/// The source length in bytes of the first of [`PREFIXES`] that `s` starts with once
/// folded.
fn prefix_at(s: &str) -> Option<usize> {
    // Every prefix starts `VO`, `NO` or `凭证`: most texts are told apart by two characters.
    let mut two = s.chars().map(fold);
    if !matches!((two.next(), two.next()), (Some('V' | 'N'), Some('O')) | (Some('凭'), Some('证'))) {
        return None;
    }
    PREFIXES.iter().find_map(|p| {
        let mut src = s.char_indices();
        for want in p.chars() {
            let (_, c) = src.next()?;
            if fold(c) != want {
                return None;
            }
        }
        Some(src.next().map_or(s.len(), |(at, _)| at))
    })
}

/// The canonical form of one key: [`canonical_into`] without leading or trailing `-`.
pub fn canonical_ref(s: &str) -> String {
    let mut scratch = String::new();
    let mut out = String::new();
    canonical_into(s.trim(), &mut scratch, &mut out);
    out.trim_matches('-').to_string()
}

/// False when `s` cannot hold a key's token: no ASCII letter or digit, and no full-width
/// form (U+FF00…U+FF5F, UTF-8 `EF BC ..` / `EF BD ..`) that folds to one.
pub fn may_hold_token(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().any(u8::is_ascii_alphanumeric) || b.windows(2).any(|w| w[0] == 0xEF && (w[1] == 0xBC || w[1] == 0xBD))
}

/// True when `hay[start..end]` is not glued to letters or digits on either side, so that
/// voucher `0007` is not found inside `00071` or `A0007`.
pub fn at_boundary(hay: &str, start: usize, end: usize) -> bool {
    let before = hay[..start].chars().next_back();
    let after = hay[end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Byte spans of the maximal runs of ASCII letters and digits in `hay`.
pub fn tokens(hay: &str, out: &mut Vec<(u32, u32)>) {
    out.clear();
    let b = hay.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphanumeric() {
            let s = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            out.push((s as u32, i as u32));
        } else {
            i += 1;
        }
    }
}

/// A credit's text says it is our payment coming back (退汇): by the return words of
/// `formats/kinds/entry-kinds.toml` (so `退回多付款`, a refund of an overpayment, is not),
/// or a Latin `RETURN`/`RTRN` with an ISO return reason code (`RETURNED PAYMENT AC04`).
pub fn says_return(narrative: &str) -> bool {
    // Most texts hold no word of a return at all: one pass of an automaton over every
    // return word (all banks' lists) rules them out before the full classification.
    static WORDS: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> = std::sync::LazyLock::new(|| {
        let words: Vec<String> = crate::statement::kinds()
            .listed_words()
            .into_iter()
            .filter(|(_, _, k)| *k == Some(crate::statement::EntryKind::Return))
            .map(|(_, w, _)| w.to_string())
            .chain(["RETURN".to_string(), "RTRN".to_string()])
            .collect();
        aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(words).ok()
    });
    if let Some(ac) = WORDS.as_ref()
        && !ac.is_match(narrative)
    {
        return false;
    }
    let kinds = crate::statement::kinds();
    if kinds.text_kind(narrative, None) == Some(crate::statement::EntryKind::Return) {
        return true;
    }
    let upper = narrative.to_ascii_uppercase();
    (upper.contains("RETURN") || upper.contains("RTRN")) && kinds.names_return_reason(&upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_and_case() {
        assert_eq!(normalize("ｖｏ－１２　拨付"), "VO-12 拨付");
        assert_eq!(normalize("abc"), "ABC");
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_ref("凭证号：ｖ－００１２"), "V-0012");
        assert_eq!(canonical_ref("NO. V-0012"), "V-0012");
        assert_eq!(canonical_ref("v 0012"), "V-0012");
        assert_eq!(canonical_ref("Voucher No.20240321-0007"), "20240321-0007");
        assert_eq!(canonical_ref("VOUCHER20240321_0007"), "20240321-0007");
        // A prefix only counts where a token starts.
        assert_eq!(canonical_ref("ANO.5"), "ANO-5");
        let mut s = String::new();
        let mut out = String::new();
        canonical_into("拨付  NO.V-0007 用款", &mut s, &mut out);
        assert_eq!(out, "拨付-V-0007-用款");
    }

    /// The straightforward form (fold the whole text, then scan it), which the fast
    /// `canonical_into` must equal.
    fn canonical_slow(s: &str, out: &mut String) {
        let src: String = s.chars().map(fold).collect();
        let mut i = 0;
        let mut prev_alnum = out.chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
        let mut pending_sep = false;
        while i < src.len() {
            if !prev_alnum && let Some(p) = PREFIXES.iter().find(|p| src[i..].starts_with(**p)) {
                i += p.len();
                pending_sep = true;
                continue;
            }
            let c = src[i..].chars().next().unwrap_or(' ');
            i += c.len_utf8();
            if is_sep(c) {
                pending_sep = true;
                prev_alnum = false;
                continue;
            }
            if pending_sep {
                out.push('-');
                pending_sep = false;
            }
            out.push(c);
            prev_alnum = c.is_ascii_alphanumeric();
        }
        if pending_sep {
            out.push('-');
        }
    }

    #[test]
    fn fast_form_equals_the_plain_one() {
        let texts = [
            "",
            "凭证号：ｖ－００１２",
            "NO. V-0012",
            "no.v 0012",
            "Voucher No.20240321-0007",
            "VOUCHER20240321_0007",
            "voucher no:ＡＢ１２",
            "ANO.5",
            "拨付  NO.V-0007 用款",
            "凭证编号:X1　凭证:Y2",
            "ＮＯ．５５５",
            "NOVEMBER V",
            "V",
            "N",
            "凭",
            "a/b\\c.d_e-f  g",
            "养老金拨付",
            "退汇 DF202403-0011 户名不符",
            "pay v00000042",
            "é NO.1 ü",
            "NO1",
            "VOUCHER12",
            "VOUCHERNO",
            "V0001",
            "BK0000000001",
            "Ｖ0001",
        ];
        for t in texts {
            assert_eq!(may_hold_token(t), t.chars().map(fold).any(|c| c.is_ascii_alphanumeric()), "{t:?}");
        }
        for t in texts {
            for start in ["", "A", "-", "拨"] {
                let (mut fast, mut slow) = (start.to_string(), start.to_string());
                canonical_into(t, &mut String::new(), &mut fast);
                canonical_slow(t, &mut slow);
                assert_eq!(fast, slow, "{t:?} after {start:?}");
            }
        }
    }

    #[test]
    fn every_prefix_starts_as_prefix_at_expects() {
        for p in PREFIXES {
            assert!(p.starts_with("VO") || p.starts_with("NO") || p.starts_with("凭证"), "{p}");
        }
    }

    #[test]
    fn boundaries() {
        let h = "REF 20240321-0007 X";
        let s = h.find("20240321-0007").unwrap();
        assert!(at_boundary(h, s, s + 13));
        let h = "A0007B";
        assert!(!at_boundary(h, 1, 5));
        let h = "拨付0007，";
        let s = h.find("0007").unwrap();
        assert!(at_boundary(h, s, s + 4));
    }

    #[test]
    fn return_words_from_the_data() {
        for (_, w, k) in crate::statement::kinds().listed_words() {
            if k == Some(crate::statement::EntryKind::Return) {
                assert!(says_return(&format!("代发 {w} 张三")), "{w}");
            }
        }
        for (t, want) in [
            ("退回多付款 张三", false),
            ("拨付 用款计划", false),
            ("RETURN ORIG REF X1", true),
            ("returned payment AC04", true),
            ("退回 张三 户名不符", true),
        ] {
            assert_eq!(says_return(t), want, "{t}");
        }
        assert!(!says_return("RETURN OF GOODS"), "RETURN without a reason or ORIG");
    }

    #[test]
    fn token_spans() {
        let mut v = Vec::new();
        tokens("拨付-V-0007|X", &mut v);
        assert_eq!(v, [(7, 8), (9, 13), (14, 15)]);
    }
}
