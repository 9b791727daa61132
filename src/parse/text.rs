//! Turning bank bytes into text without ever inventing a character.
//!
//! Order of trust: a UTF-8 BOM; strict UTF-8; strict GB18030 (encoding_rs's GBK decoder is
//! GB18030); and for the Latin-script formats (MT940) Latin-1 as the last resort, because
//! every byte is a valid Latin-1 character. Nothing is ever replaced by U+FFFD here.

use std::borrow::Cow;

/// Which decoding produced the text (reported by `parse --json` consumers and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gb18030,
    Latin1,
}

/// Decodes for formats whose text is Latin or Chinese (MT940, BAI2, bank CSV).
/// Returns `None` only when `allow_latin1` is false and neither UTF-8 nor GB18030 fits.
pub fn decode(bytes: &[u8], allow_latin1: bool) -> Option<(Cow<'_, str>, Encoding)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some((Cow::Borrowed(s), Encoding::Utf8));
    }
    if let Some(s) = encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        // GB18030 maps every byte sequence of the right shape; Latin-1 text with accented
        // letters often happens to be valid GB18030 too. A Chinese bank file carries CJK;
        // if the decoded text has none, prefer Latin-1 where allowed.
        let has_cjk = s.chars().any(|c| {
            ('\u{4E00}'..='\u{9FFF}').contains(&c)
                || ('\u{3000}'..='\u{303F}').contains(&c)
                || ('\u{FF00}'..='\u{FFEF}').contains(&c)
        });
        if has_cjk || !allow_latin1 {
            return Some((s, Encoding::Gb18030));
        }
    }
    if allow_latin1 {
        return Some((Cow::Owned(bytes.iter().map(|&b| b as char).collect()), Encoding::Latin1));
    }
    None
}

/// Splits on CRLF, LF or a lone CR; yields 1-based line numbers.
pub struct Lines<'a> {
    s: &'a str,
    pos: usize,
    n: u64,
}

impl<'a> Lines<'a> {
    pub fn new(s: &'a str) -> Self {
        Lines { s, pos: 0, n: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, &'a str);

    fn next(&mut self) -> Option<(u64, &'a str)> {
        let rest = self.s.as_bytes().get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let (len, advance) = match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                let crlf = rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n');
                (i, if crlf { i + 2 } else { i + 1 })
            }
            None => (rest.len(), rest.len()),
        };
        // CR and LF are ASCII, so both ends are char boundaries.
        let line = self.s.get(self.pos..self.pos + len).unwrap_or("");
        self.pos += advance;
        self.n += 1;
        Some((self.n, line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode("拨付".as_bytes(), false).unwrap().1, Encoding::Utf8);
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice("拨付".as_bytes());
        let (s, e) = decode(&b, false).unwrap();
        assert_eq!((s.as_ref(), e), ("拨付", Encoding::Utf8));
    }

    #[test]
    fn gbk_is_decoded_strictly() {
        // "拨付" in GBK.
        let (s, e) = decode(b"\xB2\xA6\xB8\xB6", false).unwrap();
        assert_eq!((s.as_ref(), e), ("拨付", Encoding::Gb18030));
        // A lone lead byte is not GB18030 and must not become U+FFFD.
        assert!(decode(b"abc\x81", false).is_none());
    }

    #[test]
    fn lines_split_on_every_line_end() {
        let got: Vec<(u64, &str)> = Lines::new("a\r\nb\nc\rd").collect();
        assert_eq!(got, [(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
        assert_eq!(Lines::new("").count(), 0);
        assert_eq!(Lines::new("x\n\n").collect::<Vec<_>>(), [(1, "x"), (2, "")]);
    }

    #[test]
    fn latin1_fallback() {
        let (s, e) = decode(b"Gr\xFC\xDFe", true).unwrap();
        assert_eq!(e, Encoding::Latin1);
        assert_eq!(s, "Grüße");
    }
}
