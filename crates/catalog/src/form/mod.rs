//! An item's application form (申请表) as data: sections (each a part of the applicant's task
//! list), typed fields with help, conditions and limits, and rules across fields. The form is
//! part of the item's guide, so it is versioned, reviewed and published with the item.
//!
//! - this module: the schema; `checks`: its structural check ([`FormSchema::check`]);
//! - [`answers`]: reading and validating what an applicant typed, on the server;
//! - [`eligibility`]: the self-check (条件自检) questions and rules.

pub mod answers;
mod checks;
pub mod delivery;
pub mod eligibility;

use serde::{Deserialize, Serialize};

pub use answers::{Answers, FieldError, RegionLookup};
pub use eligibility::{Eligibility, Outcome};

/// What kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    #[default]
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole number.
    Number,
    /// A date (YYYY-MM-DD).
    Date,
    /// One of the options.
    Choice,
    /// Any of the options.
    Multi,
    /// A resident ID number (居民身份证号码), checked with its check digit.
    ResidentId,
    /// A unified social credit code (统一社会信用代码), checked with its check character.
    CreditCode,
    /// A mainland mobile number.
    Mobile,
    /// Province / city / county from the division codes, then the street.
    Address,
    /// An amount in yuan with at most two decimals.
    Money,
    /// A table of rows of simple fields (家庭成员 …), with a maximum of rows.
    Group,
    /// A box to tick (承诺 …).
    Consent,
}

impl FieldKind {
    /// The Chinese name, for editors.
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Text => "单行文本",
            FieldKind::Textarea => "多行文本",
            FieldKind::Number => "整数",
            FieldKind::Date => "日期",
            FieldKind::Choice => "单选",
            FieldKind::Multi => "多选",
            FieldKind::ResidentId => "居民身份证号码",
            FieldKind::CreditCode => "统一社会信用代码",
            FieldKind::Mobile => "手机号码",
            FieldKind::Address => "地址（省市县+详细地址）",
            FieldKind::Money => "金额（元）",
            FieldKind::Group => "重复组（表格）",
            FieldKind::Consent => "勾选确认",
        }
    }

    /// Every kind, in the order editors see them.
    pub const ALL: [FieldKind; 13] = [
        FieldKind::Text,
        FieldKind::Textarea,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::Choice,
        FieldKind::Multi,
        FieldKind::ResidentId,
        FieldKind::CreditCode,
        FieldKind::Mobile,
        FieldKind::Address,
        FieldKind::Money,
        FieldKind::Group,
        FieldKind::Consent,
    ];

    /// The name used in the schema (`resident_id` …).
    pub fn code(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Textarea => "textarea",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
            FieldKind::Multi => "multi",
            FieldKind::ResidentId => "resident_id",
            FieldKind::CreditCode => "credit_code",
            FieldKind::Mobile => "mobile",
            FieldKind::Address => "address",
            FieldKind::Money => "money",
            FieldKind::Group => "group",
            FieldKind::Consent => "consent",
        }
    }

    /// Whether the value is one string (and can sit in a group's row).
    pub fn is_simple(self) -> bool {
        !matches!(self, FieldKind::Multi | FieldKind::Address | FieldKind::Group | FieldKind::Consent)
    }
}

/// Where a field's value can come from, with the applicant's verified profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefill {
    /// The real name of the account (实名).
    RealName,
    /// The resident ID number of the account.
    IdNumber,
    /// The mobile number confirmed by SMS.
    Phone,
    /// The enterprise's name (when applying for one).
    EnterpriseName,
    /// The enterprise's credit code.
    CreditCode,
}

impl Prefill {
    /// Where the value comes from, as the applicant reads it.
    pub fn source(self) -> &'static str {
        match self {
            Prefill::RealName | Prefill::IdNumber => "来自实名认证信息",
            Prefill::Phone => "来自已验证的手机号码",
            Prefill::EnterpriseName | Prefill::CreditCode => "来自企业认证信息",
        }
    }
}

/// Show a field only when an earlier choice has one of some values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowIf {
    /// The key of the earlier field (single choice or consent).
    pub field: String,
    /// The values that show this field (for a consent: "是"); one value may be written alone.
    #[serde(deserialize_with = "one_or_many")]
    pub equals: Vec<String>,
}

/// One field of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Field {
    /// The key answers are stored under (a–z, 0–9, _).
    pub key: String,
    /// The question, as the applicant reads it.
    pub label: String,
    /// The kind of value.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Whether it must be answered.
    pub required: bool,
    /// Help shown under the label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// The options of a choice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// The least value (number), length (text) or rows (group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The greatest value (number), length (text) or rows (group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Filled from the applicant's verified profile, read-only when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
    /// Shown only when this holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_if: Option<ShowIf>,
    /// The columns of a group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
}

impl Field {
    /// The most characters a text answer may have.
    pub fn max_chars(&self) -> usize {
        let default = if self.kind == FieldKind::Textarea { 2000 } else { 200 };
        self.max.and_then(|m| usize::try_from(m).ok()).filter(|m| *m > 0).unwrap_or(default).min(10_000)
    }

    /// The most rows of a group.
    pub fn max_rows(&self) -> usize {
        self.max.and_then(|m| usize::try_from(m).ok()).filter(|m| *m > 0).unwrap_or(10).min(50)
    }
}

/// A part of the form: one entry of the applicant's task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Section {
    /// Its key (a–z, 0–9, _), used in addresses.
    pub key: String,
    /// Its title (申请人信息 …).
    pub title: String,
    /// Its fields.
    pub fields: Vec<Field>,
}

/// A rule across fields: `field` must come after `other` (dates or numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossRule {
    /// The later field.
    pub field: String,
    /// The earlier field.
    pub after: String,
    /// What the applicant is told, beside `field`.
    pub message: String,
}

/// An item's application form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FormSchema {
    /// Its sections, in order.
    pub sections: Vec<Section>,
    /// Rules across fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<CrossRule>,
}

/// A list, or one value written alone (`"是"` for `["是"]`): editors write both.
pub(crate) fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 40
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && key.as_bytes()[0].is_ascii_lowercase()
}

impl FormSchema {
    /// The form every item without its own has: who applies, how to reach them, what they
    /// ask for and their promise.
    pub fn standard() -> FormSchema {
        let field = |key: &str, label: &str, kind: FieldKind, prefill: Option<Prefill>| Field {
            key: key.into(),
            label: label.into(),
            kind,
            required: true,
            prefill,
            ..Field::default()
        };
        FormSchema {
            sections: vec![
                Section {
                    key: "applicant".into(),
                    title: "申请人信息".into(),
                    fields: vec![
                        field("applicant_name", "申请人姓名", FieldKind::Text, Some(Prefill::RealName)),
                        field("applicant_id", "身份证号码", FieldKind::ResidentId, Some(Prefill::IdNumber)),
                        field("contact_phone", "联系电话", FieldKind::Mobile, Some(Prefill::Phone)),
                        Field {
                            help: "用于邮寄结果和联系您，请选择省、市、县（区）后填写街道门牌".into(),
                            ..field("address", "联系地址", FieldKind::Address, None)
                        },
                    ],
                },
                Section {
                    key: "request".into(),
                    title: "申请内容".into(),
                    fields: vec![
                        Field {
                            help: "简要说明您要办理的内容和理由".into(),
                            max: Some(1000),
                            ..field("description", "申请事项说明", FieldKind::Textarea, None)
                        },
                        field("promise", "本人承诺所填写的信息和提交的材料真实、有效", FieldKind::Consent, None),
                    ],
                },
            ],
            rules: Vec::new(),
        }
    }

    /// Every field of every section, groups' columns not included.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    /// The field with this key.
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields().find(|f| f.key == key)
    }

    /// The section with this key.
    pub fn section(&self, key: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.key == key)
    }
}
