//! Licence types and licences as read.

use crate::LicenceId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who holds licences of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// A person, by resident ID number.
    Person,
    /// An enterprise, by unified social credit code.
    Enterprise,
}

impl HolderKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::Person => "person",
            HolderKind::Enterprise => "enterprise",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<HolderKind> {
        match s {
            "person" => Some(HolderKind::Person),
            "enterprise" => Some(HolderKind::Enterprise),
            _ => None,
        }
    }

    /// What the holder's number is called.
    pub fn number_label(self) -> &'static str {
        match self {
            HolderKind::Person => "身份证号码",
            HolderKind::Enterprise => "统一社会信用代码",
        }
    }
}

/// One field a licence of a type carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Its key (letters, digits, `_`).
    pub key: String,
    /// Its label on the licence.
    pub label: String,
    /// Where its value comes from: the key of an answer in the application form, or
    /// `@serial_number`, `@item_name`, `@decided_on` (the case's).
    pub from: String,
    /// Whether a licence cannot be issued without it.
    #[serde(default)]
    pub required: bool,
}

/// A licence type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenceType {
    /// Its code (证照类型代码).
    pub code: String,
    /// Its name.
    pub name: String,
    /// The issuing department.
    pub department_id: Uuid,
    /// The department's name.
    pub department_name: String,
    /// The department's region.
    pub region_code: String,
    /// The issuing authority's unified social credit code.
    pub issuer_code: String,
    /// Who holds it.
    pub holder_kind: HolderKind,
    /// Years valid from issue; `None`: no end.
    pub valid_years: Option<i32>,
    /// The fields.
    pub fields: Vec<FieldSpec>,
}

/// Where a licence stands, as its registry records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceState {
    /// Issued and not revoked.
    Valid,
    /// Revoked by its issuer.
    Revoked,
}

/// Where a licence stands on a day: the state with its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Usable.
    Valid,
    /// Not valid yet.
    NotYetValid,
    /// Past its last day.
    Expired,
    /// Revoked.
    Revoked,
    /// Re-issued (换发): revoked, with a successor.
    Replaced,
}

impl Status {
    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Status::Valid => "有效",
            Status::NotYetValid => "尚未生效",
            Status::Expired => "已过期",
            Status::Revoked => "已注销",
            Status::Replaced => "已换发",
        }
    }
}

/// A licence as its holder and its issuer see it.
#[derive(Debug, Clone, Serialize)]
pub struct Licence {
    /// Id.
    pub id: LicenceId,
    /// The identifier (证照标识).
    pub identifier: String,
    /// The type's code.
    pub type_code: String,
    /// The type's name.
    pub type_name: String,
    /// The licence number (证照编号).
    pub number: String,
    /// Person or enterprise.
    pub holder_kind: HolderKind,
    /// The holder's name.
    pub holder_name: String,
    /// The holder's number.
    pub holder_number: String,
    /// The holder's name, masked.
    pub holder_name_masked: String,
    /// The holder's number, masked.
    pub holder_number_masked: String,
    /// The issuing department.
    pub issuer_name: String,
    /// The issuing authority's credit code.
    pub issuer_code: String,
    /// The issuing department.
    pub department_id: Uuid,
    /// Its region.
    pub region_code: String,
    /// First day valid.
    pub valid_from: NaiveDate,
    /// Last day valid; `None`: no end.
    pub valid_until: Option<NaiveDate>,
    /// Key, label, value.
    pub fields: Vec<(String, String, String)>,
    /// The signature (hex r ‖ s).
    pub signature: String,
    /// The key that signed.
    pub key_id: String,
    /// Valid or revoked.
    pub state: LicenceState,
    /// When and why revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why revoked.
    pub revoked_reason: String,
    /// The identifier of the licence that replaced it (换发).
    pub replaced_by: Option<String>,
    /// The case that issued it.
    pub case_id: Option<Uuid>,
    /// The account it was issued to (a person's, or who applied for an enterprise).
    pub account_id: Option<Uuid>,
    /// The enterprise holding it.
    pub enterprise_id: Option<Uuid>,
    /// When issued.
    pub issued_at: DateTime<Utc>,
}

impl Licence {
    /// Where it stands on `today` (China's date).
    pub fn status_on(&self, today: NaiveDate) -> Status {
        match self.state {
            LicenceState::Revoked if self.replaced_by.is_some() => Status::Replaced,
            LicenceState::Revoked => Status::Revoked,
            LicenceState::Valid if today < self.valid_from => Status::NotYetValid,
            LicenceState::Valid if self.valid_until.is_some_and(|end| today > end) => Status::Expired,
            LicenceState::Valid => Status::Valid,
        }
    }

    /// The validity as printed: 2026-12-06 至 2031-12-05, or 2026-12-06 起长期有效.
    pub fn validity(&self) -> String {
        match self.valid_until {
            Some(end) => format!("{} 至 {}", self.valid_from, end),
            None => format!("{} 起长期有效", self.valid_from),
        }
    }
}

/// A holder's number masked for public pages: a resident ID as 3701**********123X, a credit
/// code with its middle hidden.
pub fn mask_number(kind: HolderKind, number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    match kind {
        HolderKind::Person if chars.len() == 18 => {
            format!("{}**********{}", chars[..4].iter().collect::<String>(), chars[14..].iter().collect::<String>())
        }
        _ if chars.len() > 8 => format!(
            "{}{}{}",
            chars[..4].iter().collect::<String>(),
            "*".repeat(chars.len() - 8),
            chars[chars.len() - 4..].iter().collect::<String>()
        ),
        _ => "*".repeat(chars.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_for_public_pages() {
        assert_eq!(mask_number(HolderKind::Person, "37010219900307123X"), "3701**********123X");
        assert_eq!(mask_number(HolderKind::Enterprise, "91370100MA3C5XXX0Y"), "9137**********XX0Y");
        assert_eq!(mask_number(HolderKind::Enterprise, "123"), "***");
    }
}
