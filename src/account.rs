//! Account numbers are text (never numbers: leading zeros and 19-digit card numbers must
//! survive) and are written many ways. This module turns each way into one key and maps
//! statement accounts onto the accounts we know.

/// The comparable form of an account identifier:
/// upper-case; spaces, dashes, dots and the `="…"`/apostrophe/tab wrappers that
/// spreadsheets add removed; a leading BIC (`BKCHCNBJ/…`, 8 or 11 characters) dropped;
/// leading zeros trimmed. `"BKCHCNBJ/0045-0012 3456"` → `"4500123456"`.
pub fn normalize(raw: &str) -> String {
    let mut s = raw.trim().trim_start_matches('\'').trim();
    if let Some(inner) = s.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        s = inner;
    }
    if let Some((head, tail)) = s.split_once('/') {
        let h = head.trim();
        if (h.len() == 8 || h.len() == 11)
            && h.chars().all(|c| c.is_ascii_alphanumeric())
            && h[..6].chars().all(|c| c.is_ascii_alphabetic())
        {
            s = tail;
        }
    }
    let mut out: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '\t' | '/' | '\u{3000}'))
        .map(|c| match c {
            // Full-width digits and letters (００１ → 001).
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .to_ascii_uppercase();
    let zeros = out.len() - out.trim_start_matches('0').len();
    if zeros > 0 && zeros < out.len() {
        out.drain(..zeros);
    }
    out
}

/// Looks like an IBAN: two letters, two digits, then 11–30 alphanumerics.
pub fn is_iban(norm: &str) -> bool {
    let b = norm.as_bytes();
    b.len() >= 15
        && b.len() <= 34
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric())
}

/// Maps statement accounts to known accounts.
pub struct AccountMap {
    /// (normalised key, configured account number), one per number and alias.
    keys: Vec<(String, String)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum MapError {
    Unknown(String),
    Ambiguous(String, Vec<String>),
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MapError::Unknown(raw) => write!(
                f,
                "statement account {raw:?} matches no known account (configure it or an alias; in `reconcile`, the book files name the accounts)"
            ),
            MapError::Ambiguous(raw, c) => {
                write!(f, "statement account {raw:?} matches several accounts: {}", c.join(", "))
            }
        }
    }
}

/// Currency codes a bank may write after the account in `:25:` (ING): the currencies a
/// special account or its partner banks' statements are kept in.
const CURRENCY_SUFFIXES: [&str; 13] =
    ["CNY", "EUR", "USD", "HKD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "AUD", "CAD", "SGD"];

impl AccountMap {
    /// `accounts`: (account number, aliases).
    pub fn new<'a>(accounts: impl IntoIterator<Item = (&'a str, &'a [String])>) -> AccountMap {
        let mut keys = Vec::new();
        for (number, aliases) in accounts {
            keys.push((normalize(number), number.to_string()));
            for a in aliases {
                keys.push((normalize(a), number.to_string()));
            }
        }
        AccountMap { keys }
    }

    /// The configured account number for a statement's account text.
    /// Exact key first; then, for an IBAN, the one account whose number ends its BBAN.
    pub fn resolve(&self, raw: &str) -> Result<String, MapError> {
        match self.resolve_key(raw, &normalize(raw)) {
            // ING's structured MT940 writes `:25:` as the account followed by its currency
            // (`NL62INGB0001212121EUR`, `450012345678901234CNY`): when nothing matches, the
            // account without a trailing currency code is tried before giving up.
            Err(MapError::Unknown(_)) => {
                let key = normalize(raw);
                let cut = key.len().saturating_sub(3);
                match key.get(cut..).filter(|c| CURRENCY_SUFFIXES.contains(c)) {
                    Some(_) if cut >= 6 && key.as_bytes()[cut - 1].is_ascii_digit() => {
                        self.resolve_key(raw, &key[..cut]).map_err(|e| match e {
                            MapError::Unknown(_) => MapError::Unknown(raw.to_string()),
                            other => other,
                        })
                    }
                    _ => Err(MapError::Unknown(raw.to_string())),
                }
            }
            other => other,
        }
    }

    /// The account in `key` (normalised), exactly, or as the end of an IBAN's BBAN.
    fn resolve_key(&self, raw: &str, key: &str) -> Result<String, MapError> {
        let key = key.to_string();
        let mut exact: Vec<&String> = self.keys.iter().filter(|(k, _)| *k == key).map(|(_, n)| n).collect();
        exact.dedup();
        match exact.len() {
            1 => return Ok(exact[0].clone()),
            n if n > 1 => return Err(MapError::Ambiguous(raw.to_string(), exact.into_iter().cloned().collect())),
            _ => {}
        }
        if is_iban(&key) {
            let bban = &key[4..];
            let mut hits: Vec<&String> = self
                .keys
                .iter()
                .filter(|(k, _)| k.len() >= 8 && bban.trim_start_matches('0').ends_with(k.as_str()))
                .map(|(_, n)| n)
                .collect();
            hits.sort();
            hits.dedup();
            match hits.len() {
                1 => return Ok(hits[0].clone()),
                n if n > 1 => return Err(MapError::Ambiguous(raw.to_string(), hits.into_iter().cloned().collect())),
                _ => {}
            }
        }
        Err(MapError::Unknown(raw.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        assert_eq!(normalize("4500 1234-5678"), "450012345678");
        assert_eq!(normalize("BKCHCNBJ/450012345678"), "450012345678");
        assert_eq!(normalize("BKCHCNBJXXX/0450012345678"), "450012345678");
        assert_eq!(normalize("000450012345678"), "450012345678");
        assert_eq!(normalize("=\"6222020200001234567\""), "6222020200001234567");
        assert_eq!(normalize("'6222020200001234567"), "6222020200001234567");
        assert_eq!(normalize("４５００１２"), "450012");
        assert_eq!(normalize("0000"), "0000");
        assert_eq!(normalize("de89 3704 0044 0532 0130 00"), "DE89370400440532013000");
        // A slash that is not behind a BIC is just removed, the digits stay.
        assert_eq!(normalize("28020050/1426292700"), "280200501426292700");
    }

    #[test]
    fn resolves_accounts() {
        let aliases = vec!["DE89370400440532013000".to_string()];
        let none: Vec<String> = vec![];
        let map = AccountMap::new([("450012345678901234", none.as_slice()), ("532013000", aliases.as_slice())]);
        assert_eq!(map.resolve("BKCHCNBJ/4500-1234-5678-9012-34").unwrap(), "450012345678901234");
        assert_eq!(map.resolve("0450012345678901234").unwrap(), "450012345678901234");
        assert_eq!(map.resolve("DE89 3704 0044 0532 0130 00").unwrap(), "532013000");
        assert_eq!(map.resolve("999").unwrap_err(), MapError::Unknown("999".into()));
        // IBAN whose BBAN ends with a configured number.
        let map2 = AccountMap::new([("450012345678", none.as_slice())]);
        assert_eq!(map2.resolve("CN12 0000 4500 1234 5678").unwrap(), "450012345678");
        // ING's :25: (the account followed by its currency), also after an IBAN.
        assert_eq!(map.resolve("450012345678901234CNY").unwrap(), "450012345678901234");
        assert_eq!(map.resolve("DE89370400440532013000EUR").unwrap(), "532013000");
        assert_eq!(
            map.resolve("999CNY").unwrap_err(),
            MapError::Unknown("999CNY".into()),
            "too short to be an account"
        );
        assert_eq!(
            map.resolve("450012345678901234XYZ").unwrap_err(),
            MapError::Unknown("450012345678901234XYZ".into())
        );
    }
}
