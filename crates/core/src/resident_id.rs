//! Resident ID number (居民身份证号码), GB 11643-1999.

use crate::ValueError;
use chrono::{Datelike, NaiveDate, Utc};
use std::fmt;

const SUBJECT: &str = "身份证号码";
const CODE: &str = "invalid_resident_id";

/// ISO 7064 MOD 11-2 weights of the first 17 digits (GB 11643-1999, 2^(17-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum mod 11.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// First two digits of a division code (GB/T 2260) that a resident ID number may start with:
/// the 31 mainland provinces, and 81/82/83 for the residence permits of Hong Kong, Macao and
/// Taiwan residents. Old numbers can carry county codes that no longer exist, so only the
/// province part is checked.
const PROVINCE_PREFIXES: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83",
];

/// A valid 18-character resident ID number. `Debug` masks it: it is personal data.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId(String);

impl ResidentId {
    /// Parses and checks a resident ID number: 18 characters, a known province prefix, a real
    /// birth date not after today in China (UTC+8), and the check character. A lowercase `x` is
    /// accepted. Use [`ResidentId::parse_on`] where the date comes from a [`crate::Clock`].
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let china_today = (Utc::now() + chrono::Duration::hours(8)).date_naive();
        Self::parse_on(input, china_today)
    }

    /// [`ResidentId::parse`] with `today` (China's date) given.
    pub fn parse_on(input: &str, today: NaiveDate) -> Result<Self, ValueError> {
        let s = input.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18 {
            return Err(ValueError::new(CODE, SUBJECT, "应为18位"));
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new(CODE, SUBJECT, "前17位应为数字"));
        }
        let last = bytes[17];
        if !(last.is_ascii_digit() || last == b'X') {
            return Err(ValueError::new(CODE, SUBJECT, "最后一位应为数字或X"));
        }
        if !PROVINCE_PREFIXES.contains(&&s[..2]) {
            return Err(ValueError::new(CODE, SUBJECT, "前两位不是有效的行政区划代码"));
        }
        let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
            .ok()
            .filter(|d| d.year() >= 1900)
            .ok_or_else(|| ValueError::new(CODE, SUBJECT, "中的出生日期不正确"))?;
        if birth > today {
            return Err(ValueError::new(CODE, SUBJECT, "中的出生日期晚于今天"));
        }
        if check_char(&bytes[..17]) != last {
            return Err(ValueError::new(CODE, SUBJECT, "校验位不正确，请核对"));
        }
        Ok(Self(s))
    }

    /// The number as printed on the card.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in digits 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        // Checked by `parse`, so the fallback is never taken.
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").unwrap_or_default()
    }

    /// The sex encoded in digit 17: odd for male.
    pub fn is_male(&self) -> bool {
        self.0.as_bytes()[16] % 2 == 1
    }

    /// The 6-digit division code of the place where the number was first issued.
    pub fn division_code(&self) -> &str {
        &self.0[..6]
    }

    /// For display where the full number is not needed: `3701**********123X` (region to the
    /// prefecture and the last four; the birth date stays hidden).
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }
}

/// The check character for 17 digits (ISO 7064 MOD 11-2).
pub fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::value_conversions!(ResidentId);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Coded;
    use proptest::prelude::*;

    #[test]
    fn accepts_known_valid_numbers() {
        // The GB 11643-1999 worked example, and one ending in X.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert!(!id.is_male());
        assert!(ResidentId::parse("440524188001010014").is_err(), "before 1900");
        let lower = ResidentId::parse(" 11010519491231002x ").unwrap();
        assert_eq!(lower.as_str(), "11010519491231002X");
        assert_eq!(lower.masked(), "1101**********002X");
        assert!(!format!("{lower:?}").contains("19491231"), "Debug must mask");
        // Born today in China is fine, tomorrow is not.
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let born_today = "11010520261127001";
        let id = format!("{born_today}{}", check_char(born_today.as_bytes()) as char);
        assert!(ResidentId::parse_on(&id, today).is_ok());
        assert!(ResidentId::parse_on(&id, today.pred_opt().unwrap()).is_err());
        let json: ResidentId = serde_json::from_str("\"11010519491231002X\"").unwrap();
        assert_eq!(json, lower);
        assert!(serde_json::from_str::<ResidentId>("\"11010519491231002Y\"").is_err());
    }

    #[test]
    fn explains_each_failure() {
        let msg = |s: &str| ResidentId::parse(s).unwrap_err().message();
        assert_eq!(msg("1101051949123100"), "身份证号码应为18位");
        assert_eq!(msg("11010519491231002Y"), "身份证号码最后一位应为数字或X");
        assert_eq!(msg("1101A519491231002X"), "身份证号码前17位应为数字");
        assert_eq!(msg("99010519491231002X"), "身份证号码前两位不是有效的行政区划代码");
        assert_eq!(msg("11010519490231002X"), "身份证号码中的出生日期不正确");
        assert_eq!(msg("110105194912310021"), "身份证号码校验位不正确，请核对");
        assert_eq!(ResidentId::parse("x").unwrap_err().code(), "invalid_resident_id");
    }

    fn valid_first17() -> impl Strategy<Value = String> {
        (proptest::sample::select(PROVINCE_PREFIXES.to_vec()), 0u32..10_000, 0i64..(365 * 100), 0u32..1000).prop_map(
            |(p, county, days, seq)| {
                let date = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Days::new(days as u64);
                format!("{p}{county:04}{}{seq:03}", date.format("%Y%m%d"))
            },
        )
    }

    proptest! {
        #[test]
        fn every_number_with_its_check_char_parses(first17 in valid_first17()) {
            let check = check_char(first17.as_bytes()) as char;
            let id = ResidentId::parse(&format!("{first17}{check}")).unwrap();
            prop_assert_eq!(&id.as_str()[..17], first17.as_str());
        }

        #[test]
        fn any_other_check_char_is_refused(first17 in valid_first17(), other in proptest::sample::select(b"0123456789X".to_vec())) {
            let check = check_char(first17.as_bytes());
            prop_assume!(other != check);
            let candidate = format!("{first17}{}", other as char);
            let err = ResidentId::parse(&candidate).unwrap_err();
            prop_assert_eq!(err.code(), "invalid_resident_id");
        }

        #[test]
        fn a_single_changed_digit_is_caught(first17 in valid_first17(), pos in 0usize..17, delta in 1u8..10) {
            let check = check_char(first17.as_bytes()) as char;
            let mut bytes = format!("{first17}{check}").into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            // MOD 11-2 detects every single-digit error.
            prop_assert!(ResidentId::parse(&changed).is_err());
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = ResidentId::parse(&s);
        }
    }
}
