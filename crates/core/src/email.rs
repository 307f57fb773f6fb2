//! Email addresses.

use crate::ValueError;
use std::fmt;

/// An email address in the common `local@domain.tld` form. `Debug` masks it.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address: one `@`, a local part of at most 64 characters, a domain with a dot,
    /// no spaces or control characters, 254 characters at most. The domain is lowercased.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        const CODE: &str = "invalid_email";
        const SUBJECT: &str = "电子邮箱";
        let s = input.trim();
        if s.is_empty() || s.len() > 254 {
            return Err(ValueError::new(CODE, SUBJECT, "长度应在1到254个字符之间"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')) {
            return Err(ValueError::new(CODE, SUBJECT, "不能包含空格或特殊符号"));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(ValueError::new(CODE, SUBJECT, "缺少“@”"));
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(ValueError::new(CODE, SUBJECT, "“@”前的部分不正确"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
            return Err(ValueError::new(CODE, SUBJECT, "“@”后的域名不正确"));
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For display and logs: `z***@example.com`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::value_conversions!(EmailAddress);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Coded;
    use proptest::prelude::*;

    #[test]
    fn rules() {
        assert_eq!(EmailAddress::parse(" Zhang.San@Example.GOV.cn ").unwrap().as_str(), "Zhang.San@example.gov.cn");
        assert_eq!(EmailAddress::parse("zhangsan@example.com").unwrap().masked(), "z***@example.com");
        for bad in ["", "zhangsan", "@example.com", "a@b", "a b@example.com", "a@-x.com", "a@x..com", "<a@x.com>"] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_email", "{bad}");
            assert!(err.message().starts_with("电子邮箱"));
        }
    }

    proptest! {
        #[test]
        fn common_addresses_parse(local in "[a-z0-9._%+-]{1,20}", domain in "[a-z0-9]{1,10}\\.[a-z]{2,6}") {
            let address = format!("{local}@{domain}");
            let parsed = EmailAddress::parse(&address).unwrap();
            prop_assert_eq!(parsed.as_str(), address.as_str());
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = EmailAddress::parse(&s);
        }
    }
}
