//! Stable machine codes with Chinese messages: how every error names itself to programs and to people.

use std::fmt;

/// An error that can tell a program what happened (a stable snake_case code) and a person (a Chinese message).
pub trait Coded {
    /// Stable machine code, e.g. `invalid_resident_id`. Never changes once published.
    fn code(&self) -> &'static str;
    /// What went wrong, in Simplified Chinese, for the person who caused it.
    fn message(&self) -> String;
}

/// A value that failed to parse: which kind of value, the stable code, and why, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    code: &'static str,
    /// The name of the kind of value, in Chinese (身份证号码, 手机号码 …).
    subject: &'static str,
    reason: String,
}

impl ValueError {
    /// An error for a value of kind `subject` (Chinese name), with a stable `code` and a Chinese `reason`.
    pub fn new(code: &'static str, subject: &'static str, reason: impl Into<String>) -> Self {
        Self { code, subject, reason: reason.into() }
    }

    /// The reason alone, without the subject (for a message placed beside a labelled field).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl Coded for ValueError {
    fn code(&self) -> &'static str {
        self.code
    }

    fn message(&self) -> String {
        format!("{}{}", self.subject, self.reason)
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ValueError {}

/// `TryFrom<&str>`, `TryFrom<String>` and `From<T> for String` for a validated value with a
/// `parse` constructor and `as_str`, so that forms and JSON convert through `parse`.
#[macro_export]
macro_rules! value_conversions {
    ($name:ident) => {
        impl TryFrom<&str> for $name {
            type Error = $crate::ValueError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }
    };
}
