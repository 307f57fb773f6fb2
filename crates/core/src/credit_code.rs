//! Unified social credit code (统一社会信用代码), GB 32100-2015.

use crate::ValueError;
use std::fmt;

const SUBJECT: &str = "统一社会信用代码";
const CODE: &str = "invalid_credit_code";

/// The 31 characters a code may use: digits and capitals without I, O, Z, S, V. A character's
/// value is its index here.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the first 17 characters (3^i mod 31).
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A valid 18-character unified social credit code of an enterprise or other organisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses and checks a code: 18 characters of the GB 32100 alphabet, digits 3–8 a division
    /// code, and the check character (MOD 31). Lowercase letters are accepted.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let s = input.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18 {
            return Err(ValueError::new(CODE, SUBJECT, "应为18位"));
        }
        if let Some(bad) = bytes.iter().find(|b| !ALPHABET.contains(b)) {
            return Err(ValueError::new(
                CODE,
                SUBJECT,
                format!("含有不允许的字符“{}”（不使用I、O、Z、S、V）", *bad as char),
            ));
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new(CODE, SUBJECT, "第3至8位应为行政区划代码（数字）"));
        }
        if check_char(&bytes[..17]) != bytes[17] {
            return Err(ValueError::new(CODE, SUBJECT, "校验位不正确，请核对"));
        }
        Ok(Self(s))
    }

    /// The code as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit division code of the registration authority (characters 3–8).
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }
}

/// The check character of the first 17 characters, which must all be in the alphabet.
pub fn check_char(first17: &[u8]) -> u8 {
    let value = |c: &u8| ALPHABET.iter().position(|a| a == c).unwrap_or(0) as u32;
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(c, w)| value(c) * w).sum();
    ALPHABET[((31 - sum % 31) % 31) as usize]
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::value_conversions!(CreditCode);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Coded;
    use proptest::prelude::*;

    #[test]
    fn accepts_published_codes() {
        // Codes printed on public business licences.
        for code in ["91350100M000100Y43", "91110108551385082Q", "91440300708461136T"] {
            let parsed = CreditCode::parse(code).unwrap();
            assert_eq!(parsed.as_str(), code);
        }
        assert_eq!(CreditCode::parse("91350100m000100y43").unwrap().division_code(), "350100");
    }

    #[test]
    fn explains_each_failure() {
        let msg = |s: &str| CreditCode::parse(s).unwrap_err().message();
        assert_eq!(msg("9135010"), "统一社会信用代码应为18位");
        assert!(msg("91350100M000100I43").contains("“I”"));
        assert_eq!(msg("91A50100M000100Y43"), "统一社会信用代码第3至8位应为行政区划代码（数字）");
        assert_eq!(msg("91350100M000100Y44"), "统一社会信用代码校验位不正确，请核对");
        assert_eq!(CreditCode::parse("").unwrap_err().code(), "invalid_credit_code");
    }

    fn first17() -> impl Strategy<Value = String> {
        let ch = proptest::sample::select(ALPHABET.to_vec());
        (proptest::collection::vec(ch.clone(), 2), "[0-9]{6}", proptest::collection::vec(ch, 9))
            .prop_map(|(a, div, b)| format!("{}{div}{}", String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap()))
    }

    proptest! {
        #[test]
        fn every_code_with_its_check_char_parses(f in first17()) {
            let c = check_char(f.as_bytes()) as char;
            let code = format!("{f}{c}");
            prop_assert!(CreditCode::parse(&code).is_ok());
        }

        #[test]
        fn a_single_changed_character_is_caught(f in first17(), pos in 0usize..17, delta in 1usize..31) {
            let c = check_char(f.as_bytes()) as char;
            let mut bytes = format!("{f}{c}").into_bytes();
            let idx = ALPHABET.iter().position(|a| *a == bytes[pos]).unwrap();
            bytes[pos] = ALPHABET[(idx + delta) % 31];
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(CreditCode::parse(&changed).is_err());
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = CreditCode::parse(&s);
        }
    }
}
