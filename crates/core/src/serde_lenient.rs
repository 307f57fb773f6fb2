//! Serde helpers for configuration read from the environment, where `GOVHALL_SITE__HOTLINE=12345`
//! arrives as a number although the setting is text.

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// Deserializes a string, accepting a number or boolean as its text.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match StringOrNumber::deserialize(d)? {
        StringOrNumber::String(s) => s,
        StringOrNumber::Int(n) => n.to_string(),
        StringOrNumber::Float(n) => n.to_string(),
        StringOrNumber::Bool(b) => b.to_string(),
    })
}

/// Like [`string`], for an optional setting.
pub fn option_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string(d).map(Some)
}
