//! The licence identifier (证照标识), modelled on GB/T 36904-2018: the root of China's
//! electronic licence object identifiers, the licence type's code, the issuing authority's
//! unified social credit code, the licence number, a three-digit version, and a check
//! character over all of it by ISO 7064 MOD 37,36 — so a mistyped identifier is told apart
//! from an unknown one before the registry is asked.

/// The root of the identifiers (电子证照根代码).
pub const ROOT: &str = "1.2.156.3005.2";

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()).and_then(|p| u32::try_from(p).ok())
}

/// The ISO 7064 MOD 37,36 check character of the letters and digits of `text` (other
/// characters, such as the dots, are skipped).
pub fn check_char(text: &str) -> char {
    let mut p = 36u32;
    for v in text.bytes().filter_map(value) {
        let mut s = (p + v) % 36;
        if s == 0 {
            s = 36;
        }
        p = (s * 2) % 37;
    }
    let check = (37 - p) % 36;
    char::from(ALPHABET[check as usize])
}

/// Makes the identifier of licence `number` of type `type_code`, issued by `issuer_code`.
pub fn make(type_code: &str, issuer_code: &str, number: &str, version: u16) -> String {
    let body = format!("{ROOT}.{type_code}.{issuer_code}.{number}.{version:03}");
    let check = check_char(&body);
    format!("{body}.{check}")
}

/// Whether `text` is well formed: the root, five parts of letters and digits, and a check
/// character that matches.
pub fn is_well_formed(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(ROOT).and_then(|r| r.strip_prefix('.')) else { return false };
    let parts: Vec<&str> = rest.split('.').collect();
    if parts.len() != 5
        || parts.iter().any(|p| p.is_empty() || p.len() > 40 || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
        || parts[3].len() != 3
        || parts[4].len() != 1
    {
        return false;
    }
    let (body, check) = text.split_at(text.len() - 1);
    check_char(body.trim_end_matches('.')).eq_ignore_ascii_case(&check.chars().next().unwrap_or(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_character_follows_iso_7064_mod_37_36() {
        // The hybrid system's rule: with p the running value after the last character,
        // (p + check) mod 36 is 1.
        for text in ["0", "A", "1.2.156.3005.2.L001.11370000MB285591XU.2026000001.001", "ZZZZ"] {
            let c = check_char(text);
            let mut p = 36u32;
            for v in text.bytes().filter_map(value) {
                let mut s = (p + v) % 36;
                if s == 0 {
                    s = 36;
                }
                p = (s * 2) % 37;
            }
            assert_eq!((p + value(c as u8).unwrap()) % 36, 1, "{text}: {c}");
        }
        // The published example of ISO 7064 MOD 37,36: "A12425GABC1234002" has check "M".
        assert_eq!(check_char("A12425GABC1234002"), 'M');
    }

    #[test]
    fn well_formed_identifiers_are_told_from_mistyped_ones() {
        let id = make("L001", "11370000MB285591XU", "2026000001", 1);
        assert!(id.starts_with("1.2.156.3005.2.L001.11370000MB285591XU.2026000001.001."));
        assert!(is_well_formed(&id));
        assert!(is_well_formed(&id.to_lowercase()));
        let mistyped = id.replace("2026000001", "2026000002");
        assert!(!is_well_formed(&mistyped));
        assert!(!is_well_formed("1.2.156.3005.2.L001"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&format!("{id}<script>")));
    }
}
