//! An item's application form (申请表) as data: sections (each a part of the applicant's task
//! list), typed fields with help, conditions and limits, and rules across fields. The form is
//! part of the item's guide, so it is versioned, reviewed and published with the item.
//!
//! - this module: the schema and its structural check ([`FormSchema::check`]);
//! - [`answers`]: reading and validating what an applicant typed, on the server;
//! - [`eligibility`]: the self-check (条件自检) questions and rules.

pub mod answers;
pub mod eligibility;

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

fn valid_key(key: &str) -> bool {
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

    /// Checks the schema an editor wrote; each problem in Chinese, naming the field.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.sections.is_empty() {
            problems.push("表单至少需要一个部分（sections）".to_owned());
        }
        if self.sections.len() > 20 {
            problems.push("表单最多 20 个部分".to_owned());
        }
        let mut keys = BTreeSet::new();
        let mut section_keys = BTreeSet::new();
        let mut seen: Vec<&Field> = Vec::new();
        for section in &self.sections {
            if !valid_key(&section.key) {
                problems.push(format!("部分“{}”的 key 应为小写字母开头的字母、数字或下划线", section.title));
            }
            if !section_keys.insert(section.key.as_str()) {
                problems.push(format!("部分 key“{}”重复", section.key));
            }
            if section.title.trim().is_empty() {
                problems.push(format!("部分“{}”缺少标题", section.key));
            }
            if section.fields.is_empty() {
                problems.push(format!("部分“{}”没有字段", section.title));
            }
            for field in &section.fields {
                check_field(field, false, &mut problems);
                if !keys.insert(field.key.as_str()) {
                    problems.push(format!("字段 key“{}”重复", field.key));
                }
                if let Some(show) = &field.show_if {
                    match seen.iter().find(|f| f.key == show.field) {
                        None => problems
                            .push(format!("字段“{}”的显示条件引用了前面不存在的字段“{}”", field.label, show.field)),
                        Some(f) if f.kind == FieldKind::Consent => {
                            if show.equals.iter().any(|v| v != "是" && v != "否") {
                                problems.push(format!("字段“{}”的显示条件应为“是”或“否”", field.label));
                            }
                        }
                        Some(f) if f.kind == FieldKind::Choice => {
                            if let Some(v) = show.equals.iter().find(|v| !f.options.contains(v)) {
                                problems.push(format!("字段“{}”的显示条件值“{v}”不是“{}”的选项", field.label, f.label));
                            }
                        }
                        Some(f) => problems
                            .push(format!("字段“{}”的显示条件只能引用单选或勾选字段，“{}”不是", field.label, f.label)),
                    }
                    if show.equals.is_empty() {
                        problems.push(format!("字段“{}”的显示条件缺少取值（equals）", field.label));
                    }
                }
                seen.push(field);
            }
        }
        if keys.len() > 200 {
            problems.push("表单最多 200 个字段".to_owned());
        }
        for rule in &self.rules {
            for key in [&rule.field, &rule.after] {
                match self.field(key) {
                    None => problems.push(format!("跨字段规则引用了不存在的字段“{key}”")),
                    Some(f) if !matches!(f.kind, FieldKind::Date | FieldKind::Number | FieldKind::Money) => {
                        problems.push(format!("跨字段规则只能比较日期、整数或金额，“{}”不是", f.label))
                    }
                    Some(_) => {}
                }
            }
            if let (Some(a), Some(b)) = (self.field(&rule.field), self.field(&rule.after))
                && a.kind != b.kind
            {
                problems.push(format!("跨字段规则比较的“{}”和“{}”类型不同", a.label, b.label));
            }
            if rule.message.trim().is_empty() {
                problems.push(format!("跨字段规则“{}”缺少提示语（message）", rule.field));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

fn check_field(field: &Field, in_group: bool, problems: &mut Vec<String>) {
    let name = if field.label.is_empty() { field.key.as_str() } else { field.label.as_str() };
    if !valid_key(&field.key) {
        problems.push(format!("字段“{name}”的 key 应为小写字母开头的字母、数字或下划线（至多 40 个）"));
    }
    if field.label.trim().is_empty() {
        problems.push(format!("字段“{}”缺少标题（label）", field.key));
    }
    if field.label.chars().count() > 200 || field.help.chars().count() > 500 {
        problems.push(format!("字段“{name}”的标题或说明过长"));
    }
    if in_group && !field.kind.is_simple() {
        problems.push(format!("重复组中的“{name}”不能是{}", field.kind.label()));
    }
    if in_group && (field.show_if.is_some() || field.prefill.is_some()) {
        problems.push(format!("重复组中的“{name}”不能有显示条件或预填"));
    }
    match field.kind {
        FieldKind::Choice | FieldKind::Multi => {
            if field.options.is_empty() {
                problems.push(format!("{}“{name}”需要选项（options）", field.kind.label()));
            }
            let unique: BTreeSet<&String> = field.options.iter().collect();
            if unique.len() != field.options.len() || field.options.iter().any(|o| o.trim().is_empty()) {
                problems.push(format!("“{name}”的选项不能为空或重复"));
            }
        }
        FieldKind::Group => {
            if field.fields.is_empty() {
                problems.push(format!("重复组“{name}”需要列（fields）"));
            }
            let mut keys = BTreeSet::new();
            for column in &field.fields {
                check_field(column, true, problems);
                if !keys.insert(column.key.as_str()) {
                    problems.push(format!("重复组“{name}”的列 key“{}”重复", column.key));
                }
            }
            if field.max.is_some_and(|m| !(1..=50).contains(&m)) {
                problems.push(format!("重复组“{name}”的最多行数（max）应在 1 到 50 之间"));
            }
        }
        _ => {}
    }
    if field.kind != FieldKind::Group && !field.fields.is_empty() {
        problems.push(format!("只有重复组才能有列，“{name}”不是重复组"));
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        problems.push(format!("“{name}”的最小值大于最大值"));
    }
    if let Some(prefill) = field.prefill {
        let fits = match prefill {
            Prefill::RealName | Prefill::EnterpriseName => field.kind == FieldKind::Text,
            Prefill::IdNumber => field.kind == FieldKind::ResidentId,
            Prefill::Phone => field.kind == FieldKind::Mobile,
            Prefill::CreditCode => field.kind == FieldKind::CreditCode,
        };
        if !fits {
            problems.push(format!("“{name}”的类型（{}）与预填来源不符", field.kind.label()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_form_passes_its_own_check() {
        FormSchema::standard().check().unwrap();
    }

    #[test]
    fn problems_are_named() {
        let mut form = FormSchema::standard();
        form.sections[0].fields[0].key = "Bad Key".into();
        form.sections[1].fields.push(Field {
            key: "kind".into(),
            label: "类别".into(),
            kind: FieldKind::Choice,
            ..Field::default()
        });
        form.sections[1].fields.push(Field {
            key: "later".into(),
            label: "说明".into(),
            show_if: Some(ShowIf { field: "nowhere".into(), equals: vec!["是".into()] }),
            ..Field::default()
        });
        form.rules.push(CrossRule { field: "description".into(), after: "x".into(), message: String::new() });
        let problems = form.check().unwrap_err().join("\n");
        assert!(problems.contains("申请人姓名”的 key"), "{problems}");
        assert!(problems.contains("单选“类别”需要选项"), "{problems}");
        assert!(problems.contains("不存在的字段“nowhere”"), "{problems}");
        assert!(problems.contains("不存在的字段“x”"), "{problems}");
        assert!(problems.contains("缺少提示语"), "{problems}");
    }

    #[test]
    fn the_schema_reads_as_editors_write_it() {
        let json = r#"{"sections":[{"key":"a","title":"基本信息","fields":[
            {"key":"start","label":"开始日期","type":"date","required":true},
            {"key":"end","label":"结束日期","type":"date"},
            {"key":"members","label":"家庭成员","type":"group","max":3,"fields":[
                {"key":"name","label":"姓名","type":"text","required":true}]}]}],
            "rules":[{"field":"end","after":"start","message":"结束日期应晚于开始日期"}]}"#;
        let form: FormSchema = serde_json::from_str(json).unwrap();
        form.check().unwrap();
        assert_eq!(form.field("members").unwrap().max_rows(), 3);
    }
}
