//! Turning bank bytes into text without ever inventing a character.
//!
//! Order of trust: a UTF-8 BOM; strict UTF-8; strict GB18030 (encoding_rs's GBK decoder is
//! GB18030); and for the Latin-script formats (MT940, BAI2) Latin-1 as the last resort,
//! because every byte is a valid Latin-1 character. Nothing is ever replaced by U+FFFD here,
//! and nothing is guessed where a guess could garble text ([`decode_checked`]):
//!
//! - a file mixing UTF-8 Chinese on one line with bytes that are not UTF-8 on another (GBK
//!   text pasted into a UTF-8 file) is refused, naming the line where the encoding changes;
//! - Latin-1 is never used for a file that holds GB2312-style Chinese (two bytes in
//!   0xB0..=0xF7, 0xA1..=0xFE): such a file is GB18030, or refused at its first bad byte.
//!   In Latin text a byte above 0x7F is a letter between ASCII letters, so its pairs with
//!   a following ASCII byte (`Müller` is valid GBK) do not count as Chinese.

use std::borrow::Cow;

/// Which decoding produced the text (reported by `parse --json` consumers and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gb18030,
    Latin1,
}

/// Why bytes could not be decoded, and where (offsets count from the first byte given,
/// BOM included; lines as [`Lines`] counts them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub line: u64,
    pub message: String,
    /// UTF-8 and another encoding in one file: no other decoding can help.
    pub mixed: bool,
}

impl DecodeError {
    /// The parse error of `file` at this line.
    pub fn into_parse(self, file: &str) -> super::ParseError {
        super::ParseError::new(file, super::Location::Line(self.line), None, self.message)
    }
}

/// Decodes for formats whose text is Latin or Chinese (MT940, BAI2, bank CSV).
/// Returns `None` only when the bytes cannot be decoded (see [`decode_checked`]).
pub fn decode(bytes: &[u8], allow_latin1: bool) -> Option<(Cow<'_, str>, Encoding)> {
    decode_checked(bytes, allow_latin1).ok()
}

/// [`decode`] with the place and reason of a refusal.
pub fn decode_checked(bytes: &[u8], allow_latin1: bool) -> Result<(Cow<'_, str>, Encoding), DecodeError> {
    decode_at(bytes, allow_latin1, 0, 0)
}

/// [`decode_checked`] for a piece of a file that starts at byte `byte_base`, after
/// `line_base` lines: offsets and lines in the error count from the file's start.
pub fn decode_at(
    bytes: &[u8],
    allow_latin1: bool,
    byte_base: usize,
    line_base: u64,
) -> Result<(Cow<'_, str>, Encoding), DecodeError> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let body = &bytes[bom..];
    if let Ok(s) = std::str::from_utf8(body) {
        return Ok((Cow::Borrowed(s), Encoding::Utf8));
    }
    let line_of = |i: usize| line_base + line_of(body, i);
    let bom = bom + byte_base;
    let at = |i: usize, message: String| DecodeError { offset: i + bom, line: line_of(i), message, mixed: false };
    if let Some((utf8_at, other_at)) = mixed(body) {
        let (first, second) = if utf8_at < other_at {
            ("UTF-8 Chinese text", "text that is not UTF-8 (GBK?)")
        } else {
            ("text that is not UTF-8 (GBK?)", "UTF-8 Chinese text")
        };
        let later = utf8_at.max(other_at);
        let (l1, l2) = (line_of(utf8_at.min(other_at)), line_of(later));
        let what = if l1 == l2 {
            format!("line {l1} holds UTF-8 Chinese text and text that is not UTF-8 (GBK?)")
        } else {
            format!("line {l1} holds {first}, line {l2} holds {second}")
        };
        return Err(DecodeError {
            mixed: true,
            ..at(later, format!("mixed encodings: {what} (byte {}): re-export the file in one encoding", later + bom))
        });
    }
    // Only where Latin-1 is allowed does it matter whether GB2312-style Chinese is there.
    let chinese = || if allow_latin1 { gb2312_pair(body) } else { None };
    match gb18030(body) {
        Ok(s) if !allow_latin1 || chinese().is_some() => Ok((Cow::Owned(s), Encoding::Gb18030)),
        Ok(_) => Ok((latin1(body), Encoding::Latin1)),
        Err(bad) => match chinese() {
            Some(c) if allow_latin1 => Err(at(
                bad,
                format!(
                    "neither UTF-8 nor GB18030: byte 0x{:02X} at offset {} starts no valid character, and the GB18030 Chinese text at offset {} (line {}) rules out Latin-1",
                    body.get(bad).copied().unwrap_or(0),
                    bad + bom,
                    c + bom,
                    line_of(c)
                ),
            )),
            _ if allow_latin1 => Ok((latin1(body), Encoding::Latin1)),
            _ => Err(at(
                bad,
                format!(
                    "neither UTF-8 nor GB18030: byte 0x{:02X} at offset {} starts no valid character",
                    body.get(bad).copied().unwrap_or(0),
                    bad + bom
                ),
            )),
        },
    }
}

fn latin1(b: &[u8]) -> Cow<'static, str> {
    Cow::Owned(b.iter().map(|&c| c as char).collect())
}

/// Strict GB18030; on failure the offset of the first malformed byte.
pub fn gb18030(b: &[u8]) -> Result<String, usize> {
    let mut dec = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let cap = dec.max_utf8_buffer_length_without_replacement(b.len()).ok_or(0usize)?;
    let mut out = String::with_capacity(cap);
    let (res, read) = dec.decode_to_string_without_replacement(b, &mut out, true);
    match res {
        encoding_rs::DecoderResult::InputEmpty => Ok(out),
        encoding_rs::DecoderResult::Malformed(bad, consumed) => {
            Err(read.saturating_sub(usize::from(bad) + usize::from(consumed)))
        }
        encoding_rs::DecoderResult::OutputFull => Err(read),
    }
}

/// 1-based line of byte `at`, counting CRLF, LF and a lone CR as [`Lines`] does.
pub fn line_of(b: &[u8], at: usize) -> u64 {
    let b = &b[..at.min(b.len())];
    let mut n = 1u64;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// The offset of the first GB2312-style Chinese character (two bytes in 0xB0..=0xF7 and
/// 0xA1..=0xFE, walked in GB18030 steps), if any.
fn gb2312_pair(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(0);
        if (0xB0..=0xF7).contains(&c) && (0xA1..=0xFE).contains(&next) {
            return Some(i);
        }
        i += if next.is_ascii_digit() { 4 } else { 2 };
    }
    None
}

/// The offset of a run of three or more UTF-8 encoded CJK ideographs (U+4E00..=U+9FFF,
/// `E4..=E9` and two continuation bytes each). GBK text forms such a run by chance about
/// once in 10^7 characters; two UTF-8 characters alone would match GBK far too often.
fn utf8_cjk_run(b: &[u8]) -> Option<usize> {
    let cjk = |i: usize| {
        b.get(i..i + 3).is_some_and(|w| {
            (0xE4..=0xE9).contains(&w[0]) && (0x80..=0xBF).contains(&w[1]) && (0x80..=0xBF).contains(&w[2])
        })
    };
    (0..b.len()).find(|&i| cjk(i) && cjk(i + 3) && cjk(i + 6))
}

/// A line that is valid UTF-8 with characters of three or more bytes (CJK) and a line that
/// is not UTF-8: the offsets of the first of each.
fn mixed(b: &[u8]) -> Option<(usize, usize)> {
    let (mut utf8_cjk, mut other) = (None, None);
    let mut start = 0;
    for line in b.split(|&c| c == b'\n') {
        if !line.is_ascii() {
            match std::str::from_utf8(line) {
                Ok(s) if utf8_cjk.is_none() && s.chars().any(|c| c as u32 >= 0x800) => utf8_cjk = Some(start),
                Ok(_) => {}
                Err(e) => {
                    if other.is_none() {
                        other = Some(start + e.valid_up_to());
                    }
                    // UTF-8 Chinese inside a line that is not UTF-8 (GBK around it).
                    if utf8_cjk.is_none() {
                        utf8_cjk = utf8_cjk_run(line).map(|i| start + i);
                    }
                }
            }
            if let (Some(u), Some(o)) = (utf8_cjk, other) {
                return Some((u, o));
            }
        }
        start += line.len() + 1;
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
    fn no_silent_guess() {
        // UTF-8 Chinese on one line, GBK on the next: refused at the GBK line.
        let mut b = ":86:拨付\n".as_bytes().to_vec();
        b.extend_from_slice(b":86:\xB2\xA6\xB8\xB6\n");
        let e = decode_checked(&b, true).unwrap_err();
        assert_eq!((e.line, e.offset), (2, 15));
        assert!(e.message.starts_with("mixed encodings: line 1 holds UTF-8 Chinese text, line 2"), "{}", e.message);
        // GBK Chinese with one broken byte: not Latin-1.
        let e = decode_checked(b"\xB2\xA6\xB8\xB6\nabc\x81", true).unwrap_err();
        assert_eq!((e.line, e.offset), (2, 8));
        assert!(e.message.contains("rules out Latin-1"), "{}", e.message);
        // UTF-8 Chinese inside a GBK line (the UTF-8 bytes also read as GB18030).
        let mut b = b"16,\xBC\xBE\xB6\xC8 ".to_vec();
        b.extend_from_slice("利息入账/\n".as_bytes());
        let e = decode_checked(&b, true).unwrap_err();
        assert!(e.message.starts_with("mixed encodings"), "{}", e.message);
        // Valid GB18030 Chinese is GB18030 even where Latin-1 is allowed.
        assert_eq!(decode_checked(b"\xB2\xA6\xB8\xB6", true).unwrap().1, Encoding::Gb18030);
        // `Müller` is valid GBK (FC 6C) but Latin text.
        let (s, e) = decode_checked(b"M\xFCller", true).unwrap();
        assert_eq!((s.as_ref(), e), ("Müller", Encoding::Latin1));
    }

    #[test]
    fn latin1_fallback() {
        let (s, e) = decode(b"Gr\xFC\xDFe", true).unwrap();
        assert_eq!(e, Encoding::Latin1);
        assert_eq!(s, "Grüße");
    }
}
