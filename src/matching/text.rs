//! Text normalisation for reference search: upper-case ASCII, full-width forms folded to
//! ASCII (ＶＯ１２ → VO12), the ideographic space to a space. Nothing else changes, so a
//! position in the normalised text is a position the user can find in the original.

pub fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// True when `hay[start..end]` is not glued to letters or digits on either side, so that
/// voucher `0007` is not found inside `00071` or `A0007`.
pub fn at_boundary(hay: &str, start: usize, end: usize) -> bool {
    let before = hay[..start].chars().next_back();
    let after = hay[end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
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
}
