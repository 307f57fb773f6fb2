//! Mainland mobile numbers and postal codes.

use crate::ValueError;
use std::fmt;

/// A mainland China mobile number: 11 digits starting 13–19. `Debug` masks it.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a mobile number. Spaces and dashes people type between groups are removed; a
    /// leading +86 or 86 country code is dropped.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        const CODE: &str = "invalid_phone";
        const SUBJECT: &str = "手机号码";
        let mut s: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if let Some(rest) = s.strip_prefix("+86") {
            s = rest.to_owned();
        } else if s.len() == 13 && s.starts_with("86") {
            s = s[2..].to_owned();
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new(CODE, SUBJECT, "只能包含数字"));
        }
        if s.len() != 11 {
            return Err(ValueError::new(CODE, SUBJECT, "应为11位"));
        }
        if !(s.starts_with('1') && (b'3'..=b'9').contains(&s.as_bytes()[1])) {
            return Err(ValueError::new(CODE, SUBJECT, "应以13至19开头"));
        }
        Ok(Self(s))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For display and logs: `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 6-digit postal code (邮政编码).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PostalCode(String);

impl PostalCode {
    /// Parses a postal code: exactly 6 digits.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new("invalid_postal_code", "邮政编码", "应为6位数字"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The 6 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::value_conversions!(Phone);
crate::value_conversions!(PostalCode);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Coded;
    use proptest::prelude::*;

    #[test]
    fn phone_rules() {
        assert_eq!(Phone::parse("138 0013-8000").unwrap().as_str(), "13800138000");
        assert_eq!(Phone::parse("+8613800138000").unwrap().as_str(), "13800138000");
        assert_eq!(Phone::parse("8613800138000").unwrap().as_str(), "13800138000");
        assert_eq!(Phone::parse("12800138000").unwrap_err().message(), "手机号码应以13至19开头");
        assert_eq!(Phone::parse("1380013800").unwrap_err().message(), "手机号码应为11位");
        assert_eq!(Phone::parse("1380013800a").unwrap_err().code(), "invalid_phone");
        assert_eq!(format!("{:?}", Phone::parse("13800138000").unwrap()), "Phone(138****8000)");
    }

    #[test]
    fn postal_code_rules() {
        assert_eq!(PostalCode::parse("250001").unwrap().as_str(), "250001");
        assert_eq!(PostalCode::parse("25000").unwrap_err().message(), "邮政编码应为6位数字");
        assert!(PostalCode::parse("25000a").is_err());
    }

    proptest! {
        #[test]
        fn every_mainland_mobile_parses(n in "1[3-9][0-9]{9}") {
            let phone = Phone::parse(&n).unwrap();
            prop_assert_eq!(phone.as_str(), n.as_str());
        }

        #[test]
        fn other_prefixes_are_refused(n in "1[0-2][0-9]{9}|[02-9][0-9]{10}") {
            prop_assert!(Phone::parse(&n).is_err());
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = Phone::parse(&s);
            let _ = PostalCode::parse(&s);
        }
    }
}
